// @ts-check
'use strict';
// Find: the nodes panel searched for "Evergage" lists every node of the package with its icon, and
// the Account Export shows its actions.
const assert = require('node:assert/strict');
const E = require('../editor');

module.exports = {
	name: 'Find: every node in the nodes panel, with its icon and actions',
	/** @param {import('../run').Journey} journey */
	async run({ page, editor, workflow }) {
		const nodes = E.packageNodes();
		await E.openWorkflow(page, editor, await workflow([]));
		const panel = await E.searchNodesPanel(page, 'Evergage');
		for (const node of nodes) {
			const item = panel.locator(`[data-keyboard-nav-id^="${E.nodeType(node.name)}-"]`);
			await item.waitFor();
			// n8n lists a trigger without the word "Trigger".
			assert.equal((await item.locator('[data-test-id=node-creator-item-name]').innerText()).trim(), node.displayName.replace(/ Trigger$/, ''));
			const icon = item.locator('img').first();
			assert.match(String(await icon.getAttribute('src')), /\/icons\/n8n-nodes-evergage\/.+\.svg$/, `${node.displayName}: icon`);
			assert.ok(await icon.evaluate((/** @type {any} */ img) => img.complete && img.naturalWidth > 0), `${node.displayName}: the icon did not load`);
		}
		assert.equal(await panel.locator('[data-test-id=item-iterator-item]').count(), nodes.length, 'other nodes are listed too');

		const accountExport = nodes.find((node) => node.name === 'evergageAccountExport');
		await panel.locator('[data-test-id=node-creator-item-name]', { hasText: accountExport.displayName }).click();
		const actions = accountExport.actions;
		for (const action of actions) await panel.getByText(action, { exact: true }).waitFor();
		assert.match(await panel.innerText(), new RegExp(`Actions \\(${actions.length}\\)`));
	},
};
