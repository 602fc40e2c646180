#!/usr/bin/env node
'use strict';
// README pictures from the real editor: n8n 2.41.1 from the e2e cache with the packed package
// installed as the Community Nodes screen installs it, a credential pointing at the local stand-in,
// driven in headless Chromium (the system's /usr/bin/chromium: nothing is downloaded).
//
//   npm run screenshots [-- --skip-build] [--explore]      writes docs/screenshots/*.png
//   --action-node   only the Evergage action node's picture (evergage-actions.png)
//
// Needs the cached n8n 2.41.1 (bash test/e2e/install-n8n.sh --only 2) and `apt-get install chromium`.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');
const L = require('../test/e2e/lib');

const OUT = path.join(L.ROOT, 'docs', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const N8N_VERSION = '2.41.1';
const WORKFLOW_ID = 'shotsAccounts001';
const SCRATCH_ID = 'shotsScratch0001';
const TRIGGER = 'When clicking ‘Execute workflow’';
const NODE_NAME = 'Evergage Account Export';
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const say = (...a) => console.log('[screenshots]', ...a);

async function prepareN8n(work) {
	const inst = L.n8nInstall(N8N_VERSION);
	if (!inst.ready) throw new Error(`n8n ${N8N_VERSION} is not in the cache: run bash test/e2e/install-n8n.sh --only 2`);
	const userFolder = path.join(work, 'n8n');
	say('building and packing the package ...');
	const { tarball } = await L.buildAndPack(work, { skipBuild: flag('--skip-build') });
	const standin = await L.startStandin(['--count', '200']);
	await L.installTarball(inst, userFolder, tarball);

	const cred = { id: 'shotsEvgCred0001', name: 'Evergage (local stand-in)' };
	await L.importStandinCredential(inst, userFolder, work, cred, standin.url);

	const wfFile = path.join(work, 'workflow.json');
	fs.writeFileSync(
		wfFile,
		JSON.stringify({
			id: WORKFLOW_ID,
			name: 'Export accounts',
			active: false,
			nodes: [
				{ id: 'a0000000-0000-4000-8000-000000000001', name: TRIGGER, type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
				{
					id: 'a0000000-0000-4000-8000-000000000002',
					name: NODE_NAME,
					type: L.NODE_TYPE,
					typeVersion: 1,
					position: [260, 0],
					parameters: { operation: 'export', datasetId: 'engage', format: 'json', returnAll: false, limit: 20, options: {} },
					credentials: { evergageApi: cred },
				},
			],
			connections: { [TRIGGER]: { main: [[{ node: NODE_NAME, type: 'main', index: 0 }]] } },
			settings: { executionOrder: 'v1' },
			pinData: {},
		}),
	);
	let r = await L.n8nCli(inst, userFolder, ['import:workflow', `--input=${wfFile}`]);
	if (r.code !== 0) throw new Error(`import:workflow failed:\n${L.tail(r.stdout + r.stderr)}`);
	fs.writeFileSync(
		wfFile,
		JSON.stringify({
			id: SCRATCH_ID,
			name: 'My workflow',
			active: false,
			nodes: [{ id: 'a0000000-0000-4000-8000-000000000003', name: TRIGGER, type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} }],
			connections: {},
			settings: { executionOrder: 'v1' },
			pinData: {},
		}),
	);
	r = await L.n8nCli(inst, userFolder, ['import:workflow', `--input=${wfFile}`]);
	if (r.code !== 0) throw new Error(`import:workflow failed:\n${L.tail(r.stdout + r.stderr)}`);

	say(`starting n8n ${N8N_VERSION} ...`);
	const srv = await L.startN8n(inst, userFolder);
	const login = { email: 'owner@example.com', password: `Shots-${crypto.randomBytes(4).toString('hex')}-7` };
	const setup = await L.n8nClient(srv.url).setupOwner({ ...login, firstName: 'Ada', lastName: 'Owner' });
	if (setup.status !== 200) throw new Error(`owner setup failed: ${setup.status} ${setup.text.slice(0, 300)}`);
	return { srv, standin, login };
}

async function signIn(browser, url, login, colorScheme) {
	const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, colorScheme });
	const page = await context.newPage();
	await page.goto(`${url}/signin`);
	await page.fill('input[name=emailOrLdapLoginId]', login.email);
	await page.fill('input[name=password]', login.password);
	await page.click('[data-test-id=form-submit-button]');
	await page.waitForURL((u) => !u.pathname.startsWith('/signin'));
	return page;
}

async function save(locator, file, clip) {
	const target = path.join(OUT, file);
	if (clip) {
		const box = await locator.boundingBox();
		await locator.page().screenshot({ path: target, clip: { x: box.x, y: box.y, width: box.width, height: Math.min(box.height, clip.maxHeight) } });
	} else {
		await locator.screenshot({ path: target });
	}
	say(`${path.relative(L.ROOT, target)} (${Math.round(fs.statSync(target).size / 1024)} kB)`);
}

/** The nodes panel searched for "Evergage", on a workflow that has only a trigger. */
async function searchNodesPanel(page, url) {
	await page.goto(`${url}/workflow/${SCRATCH_ID}`);
	await page.waitForSelector('[data-test-id=canvas-node]');
	await page.click('[data-test-id=node-creator-plus-button]');
	await page.waitForSelector('[data-test-id=node-creator-search-bar]');
	await page.keyboard.type('Evergage');
	await page.waitForSelector('[data-test-id=node-creator-item-name]');
	await page.waitForTimeout(800); // the panel slides in
	return page.locator('aside').filter({ has: page.locator('[data-test-id=nodes-list-header]') });
}

async function lightTheme(browser, url, login) {
	const page = await signIn(browser, url, login, 'light');
	const panel = await searchNodesPanel(page, url);
	await save(panel, 'nodes-panel.png', { maxHeight: 300 });

	// the node's actions, then the action added: a new node's parameters with their defaults
	await page.locator('[data-test-id=node-creator-item-name]', { hasText: NODE_NAME }).click();
	await page.waitForTimeout(800);
	await save(panel, 'actions.png', { maxHeight: 420 });
	await page.locator('[data-test-id=node-creator-item-name]', { hasText: 'Export accounts' }).click();
	await page.waitForSelector('[data-test-id=node-parameters]');
	await page.waitForTimeout(800);
	// with the Options list open below the parameters
	const parameters = page.locator('[data-test-id=node-parameters]');
	await page.click('[data-test-id=collection-parameter-add]');
	const list = page.locator('.el-select-dropdown:visible, .el-popper:visible').last();
	await list.waitFor();
	await page.waitForTimeout(500);
	const [a, b] = [await parameters.boundingBox(), await list.boundingBox()];
	const bottom = Math.max(b.y + b.height, a.y + 40) + 8;
	await page.screenshot({ path: path.join(OUT, 'parameters.png'), clip: { x: a.x, y: a.y, width: a.width, height: bottom - a.y } });
	say(`docs/screenshots/parameters.png (${Math.round(fs.statSync(path.join(OUT, 'parameters.png')).size / 1024)} kB)`);
	await page.keyboard.press('Escape');

	// a run against the stand-in: the output table
	await page.goto(`${url}/workflow/${WORKFLOW_ID}`);
	await page.waitForSelector('[data-test-id=canvas-node]');
	await page.click('[data-test-id=execute-workflow-button]');
	await page.waitForFunction(() => document.querySelectorAll('[data-test-id=canvas-node-status-success]').length >= 2, null, { timeout: 60_000 });
	await page.locator('[data-test-id=canvas-node]', { hasText: NODE_NAME }).dblclick();
	const output = page.locator('[data-test-id=output-panel]');
	await output.locator('[data-test-id=radio-button-table]').click();
	for (const close of await page.locator('.el-notification__closeBtn').all()) await close.click(); // "Workflow executed successfully"
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
async function actionNode(browser, url, login) {
	const page = await signIn(browser, url, login, 'light');
	const panel = await searchNodesPanel(page, url);
	await page.locator('[data-test-id=node-creator-item-name]', { hasText: /^Evergage$/ }).click();
	await page.waitForTimeout(800);
	await save(panel, 'evergage-actions.png', { maxHeight: 600 });
	await page.context().close();
}

/** The icon on the dark theme: n8n follows the system's colour scheme by default. */
async function darkTheme(browser, url, login) {
	const page = await signIn(browser, url, login, 'dark');
	await save(await searchNodesPanel(page, url), 'nodes-panel-dark.png', { maxHeight: 300 });
	await page.context().close();
}

async function main() {
	L.installCleanup();
	const work = L.mkTmp('evg-shots-');
	L.onCleanup(() => L.rmrf(work));
	const { srv, standin, login } = await prepareN8n(work);
	const browser = await chromium.launch({
		executablePath: CHROMIUM,
		// playwright adds --headless, --no-sandbox is asked for with chromiumSandbox: false, and
		// launch() gives every run a fresh, throwaway profile (--user-data-dir)
		chromiumSandbox: false,
		args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
	});
	try {
		fs.mkdirSync(OUT, { recursive: true });
		if (!flag('--action-node')) {
			await lightTheme(browser, srv.url, login);
			await darkTheme(browser, srv.url, login);
		}
		await actionNode(browser, srv.url, login);
	} finally {
		await browser.close();
		await Promise.allSettled([srv.stop(), standin.stop()]);
	}
}

main().catch((err) => {
	console.error('[screenshots] failed:', err.stack || err.message);
	L.killAll('SIGTERM');
	process.exitCode = 1;
	setTimeout(() => process.exit(1), 3000).unref();
});
