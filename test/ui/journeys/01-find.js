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
		// n8n lists a trigger without the word "Trigger", and inside the node of that name when there is one.
		const listedName = (/** @type {{ displayName: string }} */ node) => node.displayName.replace(/ Trigger$/, '');
		const merged = nodes.filter((node) => node.displayName.endsWith(' Trigger') && nodes.some((other) => other.displayName === listedName(node)));
		const listed = nodes.filter((node) => !merged.includes(node));
		await E.openWorkflow(page, editor, await workflow([]));
		let panel = await E.searchNodesPanel(page, 'Evergage');
		for (const node of listed) {
			const item = panel.locator(`[data-keyboard-nav-id^="${E.nodeType(node.name)}-"]`);
			await item.waitFor();
			assert.equal((await item.locator('[data-test-id=node-creator-item-name]').innerText()).trim(), listedName(node));
			const icon = item.locator('img').first();
			assert.match(String(await icon.getAttribute('src')), /\/icons\/n8n-nodes-evergage\/.+\.svg$/, `${node.displayName}: icon`);
			assert.ok(await icon.evaluate((/** @type {any} */ img) => img.complete && img.naturalWidth > 0), `${node.displayName}: the icon did not load`);
		}
		assert.equal(await panel.locator('[data-test-id=item-iterator-item]').count(), listed.length, 'other nodes are listed too');

		for (const trigger of merged) {
			await panel.locator(`[data-keyboard-nav-id^="${E.nodeType(nodes.find((node) => node.displayName === listedName(trigger)).name)}-"]`).click();
			await panel.getByText(/Triggers/i).first().waitFor();
		}
		if (merged.length > 0) {
			await page.keyboard.press('Escape');
			panel = await E.searchNodesPanel(page, 'Evergage');
		}

		const accountExport = nodes.find((node) => node.name === 'evergageAccountExport');
		await panel.locator('[data-test-id=node-creator-item-name]', { hasText: accountExport.displayName }).click();
		const actions = accountExport.actions;
		for (const action of actions) await panel.getByText(action, { exact: true }).waitFor();
		assert.match(await panel.innerText(), new RegExp(`Actions \\(${actions.length}\\)`));
	},
};
