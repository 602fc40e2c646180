// @ts-check
'use strict';
// Error: an unknown dataset shows the node's own message and description in the output pane, no
// raw stack where a person reads, and the secret nowhere, not even in the expanded details.
const assert = require('node:assert/strict');
const E = require('../editor');
const L = require('../../e2e/lib');

module.exports = {
	name: 'Error: an unknown dataset, the message and description in the output pane',
	/** @param {import('../run').Journey} journey */
	async run({ page, editor, workflow }) {
		const node = 'Evergage Account Export';
		await E.openWorkflow(page, editor, await workflow([{ name: node, type: L.NODE_TYPE, typeVersion: 1.1, parameters: { operation: 'export', datasetId: 'no-such-dataset' } }]));
		await E.openNode(page, node);
		const output = await E.executeStep(page);
		assert.equal(await output.locator('[data-test-id=node-error-message]').innerText(), 'Dataset "no-such-dataset" was not found (404) when exporting accounts');
		assert.equal(
			await output.locator('[data-test-id=node-error-description]').innerText(),
			'Check the Dataset ID: the name or identifier of the dataset in Personalization.',
		);
		// What is shown before a person opens n8n's own "Other info" (where n8n puts every node's stack).
		const shown = await output.innerText();
		assert.doesNotMatch(shown, /\bat \S+ \(|\.[jt]s:\d+|NodeApiError|Error:/, 'a stack or an error class is shown');
		await output.getByText(`From ${node}`).click();
		await output.getByText('Other info').click();
		await output.getByText('Stack trace').waitFor();
		// The run checks the secret against the whole page after every journey; here, with everything open.
	},
};
