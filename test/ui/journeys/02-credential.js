// @ts-check
'use strict';
// Credential: created from the node and tested: success, a wrong secret (the credential's own
// message), a bad account name (the rule named under the field).
const assert = require('node:assert/strict');
const E = require('../editor');
const L = require('../../e2e/lib');
const { DEFAULT_CREDENTIALS } = require('../../support/standin');

module.exports = {
	name: 'Credential: create from the node, Test: success, wrong secret, bad account name',
	/** @param {import('../run').Journey} journey */
	async run({ page, editor, workflow }) {
		const node = 'Evergage Account Export';
		await E.openWorkflow(page, editor, await workflow([{ name: node, type: L.NODE_TYPE, typeVersion: 1.1, parameters: { operation: 'export' } }]));
		await E.openNode(page, node);
		await page.click('[data-test-id=node-credentials-select]');
		await page.click('[data-test-id=node-credentials-select-item-new]');
		const modal = page.locator('[data-test-id=editCredential-modal]');
		await modal.waitFor();
		const field = (/** @type {string} */ name) => modal.locator(`[data-test-id=parameter-input-${name}] input`);
		await field('accountName').fill('demo');
		await field('instance').fill('us-1');
		await field('apiKeyId').fill(DEFAULT_CREDENTIALS.apiKeyId);
		await field('apiSecretKey').fill(DEFAULT_CREDENTIALS.apiSecretKey);
		await field('baseUrl').fill(editor.standin.url);
		await modal.locator('[data-test-id=credential-save-button]').click();
		// Saved and tested: n8n closes the form; opened again, it tests once more and says so.
		await modal.waitFor({ state: 'hidden' });
		await page.click('[data-test-id=credential-edit-button]');
		await modal.getByText('Connection tested successfully').waitFor();

		await field('apiSecretKey').fill('not-the-secret');
		await modal.locator('[data-test-id=credential-save-button]').click();
		await modal.getByText('Couldn’t connect with these settings').waitFor();
		await modal.getByText('More details').click();
		await modal.getByText('Wrong API Key ID or API Secret Key: check both against the API token').waitFor();

		await field('apiSecretKey').fill(DEFAULT_CREDENTIALS.apiSecretKey);
		await field('baseUrl').fill('');
		await field('accountName').fill('https://demo.us-1.evergage.com/');
		const rule = modal.getByText('Account Name must be letters, digits and hyphens only', { exact: false });
		await rule.waitFor();
		assert.match(await rule.innerText(), /it is "demo"/);
		await field('accountName').fill('demo');
		await rule.waitFor({ state: 'hidden' });
	},
};
