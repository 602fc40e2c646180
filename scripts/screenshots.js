#!/usr/bin/env node
'use strict';
// README pictures from the real editor (test/ui/editor.js: n8n 2.41.1 with the packed package
// installed, a credential pointing at the local stand-in, headless Chromium; nothing is downloaded).
//
//   npm run screenshots [-- --skip-build]      writes docs/screenshots/*.png
//   --action-node   only the Evergage action node's picture (evergage-actions.png)
//
// Needs the cached n8n 2.41.1 (bash test/e2e/install-n8n.sh --only 2) and `apt-get install chromium`.

const fs = require('node:fs');
const path = require('node:path');
const L = require('../test/e2e/lib');
const E = require('../test/ui/editor');

const OUT = path.join(L.ROOT, 'docs', 'screenshots');
const WORKFLOW_ID = 'shotsAccounts001';
const SCRATCH_ID = 'shotsScratch0001';
const NODE_NAME = 'Evergage Account Export';
const say = (...a) => console.log('[screenshots]', ...a);

const WORKFLOWS = [
	// In Berlin, so that the dates in the output show an offset.
	E.workflowOf(WORKFLOW_ID, 'Export accounts', [
		{
			name: NODE_NAME,
			type: L.NODE_TYPE,
			typeVersion: 1.1,
			parameters: { operation: 'export', datasetId: 'engage', format: 'json', returnAll: false, limit: 20, options: {} },
		},
	], { timezone: 'Europe/Berlin' }),
	E.workflowOf(SCRATCH_ID, 'My workflow', []),
];

function saved(file) {
	say(`${path.relative(L.ROOT, file)} (${Math.round(fs.statSync(file).size / 1024)} kB)`);
}

async function save(locator, file, clip) {
	const target = path.join(OUT, file);
	if (clip) {
		const box = await locator.boundingBox();
		await locator.page().screenshot({ path: target, clip: { x: box.x, y: box.y, width: box.width, height: Math.min(box.height, clip.maxHeight) } });
	} else {
		await locator.screenshot({ path: target });
	}
	saved(target);
}

/** The node's parameters down to the bottom of an open list below them. */
async function saveWithList(page, file) {
	const parameters = page.locator('[data-test-id=node-parameters]');
	const list = page.locator('.el-select-dropdown:visible, .el-popper:visible').last();
	await list.waitFor();
	await page.waitForTimeout(500);
	const [a, b] = [await parameters.boundingBox(), await list.boundingBox()];
	const bottom = Math.max(b.y + b.height, a.y + 40) + 8;
	const target = path.join(OUT, file);
	await page.screenshot({ path: target, clip: { x: a.x, y: a.y, width: a.width, height: bottom - a.y } });
	saved(target);
	await page.keyboard.press('Escape');
}

async function lightTheme(browser, editor) {
	const page = await E.signIn(browser, editor, { colorScheme: 'light' });
	await E.openWorkflow(page, editor, SCRATCH_ID);
	const panel = await E.searchNodesPanel(page, 'Evergage');
	await page.waitForTimeout(800); // the panel slides in
	await save(panel, 'nodes-panel.png', { maxHeight: 300 });

	// the node's actions, then the action added: a new node's parameters with their defaults
	await page.locator('[data-test-id=node-creator-item-name]', { hasText: NODE_NAME }).click();
	await page.waitForTimeout(800);
	await save(panel, 'actions.png', { maxHeight: 420 });
	await page.locator('[data-test-id=node-creator-item-name]', { hasText: 'Export accounts' }).click();
	await page.waitForSelector('[data-test-id=node-parameters]');
	await page.waitForTimeout(800);
	// with the Options list open below the parameters, then with the Dates list open
	await page.click('[data-test-id=collection-parameter-add]');
	await saveWithList(page, 'parameters.png');
	await page.click('[data-test-id=parameter-input-dates]');
	await saveWithList(page, 'dates.png');

	// a run against the stand-in: the output table, dates as ISO 8601 (a new node's default)
	await E.openWorkflow(page, editor, WORKFLOW_ID);
	await page.click('[data-test-id=execute-workflow-button]');
	await page.waitForFunction(() => document.querySelectorAll('[data-test-id=canvas-node-status-success]').length >= 2, null, { timeout: 60_000 });
	await E.openNode(page, NODE_NAME);
	const output = page.locator('[data-test-id=output-panel]');
	await output.locator('[data-test-id=radio-button-table]').click();
	await E.closeToasts(page); // "Workflow executed successfully"
	await page.waitForTimeout(800);
	await save(output, 'output.png', { maxHeight: 640 });

	// the credential form, as a new credential shows it
	await page.click('[data-test-id=node-credentials-select]');
	await page.click('[data-test-id=node-credentials-select-item-new]');
	const modal = page.locator('[data-test-id=editCredential-modal]');
	await modal.waitFor();
	await page.waitForTimeout(800);
	await save(modal, 'credential.png');
	await page.context().close();
}

/** The Evergage action node in the nodes panel: its resources and operations. */
async function actionNode(browser, editor) {
	const page = await E.signIn(browser, editor, { colorScheme: 'light' });
	await E.openWorkflow(page, editor, SCRATCH_ID);
	const panel = await E.searchNodesPanel(page, 'Evergage');
	await page.locator('[data-test-id=node-creator-item-name]', { hasText: /^Evergage$/ }).click();
	await page.waitForTimeout(800);
	await save(panel, 'evergage-actions.png', { maxHeight: 600 });
	await page.context().close();
}

/** The icon on the dark theme: n8n follows the system's colour scheme by default. */
async function darkTheme(browser, editor) {
	const page = await E.signIn(browser, editor, { colorScheme: 'dark' });
	await E.openWorkflow(page, editor, SCRATCH_ID);
	const panel = await E.searchNodesPanel(page, 'Evergage');
	await page.waitForTimeout(800);
	await save(panel, 'nodes-panel-dark.png', { maxHeight: 300 });
	await page.context().close();
}

async function main() {
	L.installCleanup();
	const work = L.mkTmp('evg-shots-');
	L.onCleanup(() => L.rmrf(work));
	const editor = await E.startEditor({ work, skipBuild: process.argv.includes('--skip-build'), workflows: WORKFLOWS, say });
	const browser = await E.launchChromium();
	try {
		fs.mkdirSync(OUT, { recursive: true });
		if (!process.argv.includes('--action-node')) {
			await lightTheme(browser, editor);
			await darkTheme(browser, editor);
		}
		await actionNode(browser, editor);
	} finally {
		await browser.close();
		await editor.stop();
	}
}

main().catch((err) => {
	console.error('[screenshots] failed:', err.stack || err.message);
	L.killAll('SIGTERM');
	process.exitCode = 1;
	setTimeout(() => process.exit(1), 3000).unref();
});
