// @ts-check
'use strict';
// Export: Dataset ID and Limit set in the node, Execute step: the output pane counts the items and
// its table has the record's fields, the dates as ISO 8601 (a new node's default).
const assert = require('node:assert/strict');
const E = require('../editor');
const L = require('../../e2e/lib');

module.exports = {
	name: 'Export: Dataset ID and Limit, Execute step, items in the output table',
	/** @param {import('../run').Journey} journey */
	async run({ page, editor, workflow }) {
		const node = 'Evergage Account Export';
		await E.openWorkflow(page, editor, await workflow([{ name: node, type: L.NODE_TYPE, typeVersion: 1.1, parameters: { operation: 'export' } }]));
		await E.openNode(page, node);
		assert.equal(await page.locator('[data-test-id=parameter-input-dates] input').inputValue(), 'ISO 8601');
		await page.locator('[data-test-id=parameter-input-datasetId] input').fill('engage');
		const limit = page.locator('[data-test-id=parameter-input-limit] input');
		await limit.fill('7');
		await limit.press('Tab');
		const output = await E.executeStep(page);
		assert.equal(await output.locator('[data-test-id=run-data-item-count]').innerText(), '7 items');
		await output.locator('[data-test-id=radio-button-table]').click();
		const headers = (await output.locator('table th').allInnerTexts()).map((text) => text.trim());
		for (const column of ['name', 'engagementScore', 'lastActivity']) assert.ok(headers.includes(column), `no ${column} column in ${headers.join(', ')}`);
		assert.equal(await output.locator('table tbody tr').count(), 7);
		const lastActivity = await output.locator(`table tbody tr:first-child td:nth-child(${headers.indexOf('lastActivity') + 1})`).innerText();
		assert.match(lastActivity.trim(), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/);
	},
};
