// @ts-check
'use strict';
// CSV: the Binary view of the output shows the file's name, MIME type and size.
const assert = require('node:assert/strict');
const E = require('../editor');
const L = require('../../e2e/lib');

module.exports = {
	name: 'CSV: the Binary view shows file name, MIME type and size',
	/** @param {import('../run').Journey} journey */
	async run({ page, editor, workflow }) {
		const node = 'Evergage Account Export';
		const parameters = { operation: 'export', datasetId: 'engage', format: 'csv', returnAll: true };
		await E.openWorkflow(page, editor, await workflow([{ name: node, type: L.NODE_TYPE, typeVersion: 1.1, parameters }]));
		await E.openNode(page, node);
		const output = await E.executeStep(page);
		assert.equal(await output.locator('[data-test-id=run-data-item-count]').innerText(), '1 item');
		await output.locator('[data-test-id=radio-button-binary]').click();
		const file = output.locator('[data-test-id=ndv-binary-data_0]');
		const text = (await file.innerText()).replace(/\s+/g, ' ');
		assert.match(text, /File Name: engage-accounts\.csv/);
		assert.match(text, /Mime Type: text\/csv/);
		const [, size] = /File Size: ([\d.]+ (?:B|kB|MB))/.exec(text) ?? [];
		assert.ok(size && Number.parseFloat(size) > 0, `no file size in: ${text}`);
	},
};
