// @ts-check
'use strict';
// Trigger: Fetch Test Event shows sample items, each carrying `event`.
const assert = require('node:assert/strict');
const E = require('../editor');
const L = require('../../e2e/lib');

module.exports = {
	name: 'Trigger: Fetch Test Event shows sample items carrying event',
	/** @param {import('../run').Journey} journey */
	async run({ page, editor, workflow }) {
		const node = 'Evergage Trigger';
		const parameters = { datasetId: 'engage', events: ['entered', 'left', 'changed'] };
		await E.openWorkflow(page, editor, await workflow([{ name: node, type: L.TRIGGER_NODE_TYPE, typeVersion: 1.1, parameters }], { trigger: false }));
		await E.openNode(page, node);
		assert.equal((await page.locator('[data-test-id=node-execute-button]').innerText()).trim(), 'Fetch Test Event');
		const output = await E.executeStep(page);
		const count = await output.locator('[data-test-id=run-data-item-count]').innerText();
		const items = Number(/^(\d+) items?$/.exec(count)?.[1]);
		assert.ok(items > 0, `no sample items: ${count}`);
		await output.locator('[data-test-id=radio-button-table]').click();
		const headers = (await output.locator('table th').allInnerTexts()).map((text) => text.trim());
		const column = headers.indexOf('event') + 1;
		assert.ok(column > 0, `no event column in ${headers.join(', ')}`);
		const events = (await output.locator(`table tbody tr td:nth-child(${column})`).allInnerTexts()).map((text) => text.trim());
		assert.equal(events.length, items);
		assert.deepEqual([...new Set(events)].sort(), ['changed', 'entered', 'left']);
	},
};
