#!/usr/bin/env node
// @ts-check
'use strict';
// Browser journeys: the editor used the way a person uses it, in headless Chromium against a real
// n8n 2.41.1 with the packed tarball installed and the stand-in behind it. Each journey is a file in
// journeys/ (run in name order) and starts from a fresh browser context (no cookies, no storage)
// and a workflow of its own; one n8n serves them all (see README, "Development").
//
//   npm run test:ui [-- --skip-build] [--only <journey file name>]
//
// Assertions are on the page (text, counts, states). A failing journey leaves a screenshot and the
// page's HTML in test/ui/output/. Ends with "N passed, N failed"; exits non-zero on a failure.

const fs = require('node:fs');
const path = require('node:path');
const L = require('../e2e/lib');
const E = require('./editor');
const { DEFAULT_CREDENTIALS } = require('../support/standin');

const OUTPUT = path.join(__dirname, 'output');
const argv = process.argv.slice(2);
const flag = (/** @type {string} */ name) => argv.includes(name);
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
const say = (/** @type {unknown[]} */ ...a) => console.log('[ui]', ...a);
const seconds = (/** @type {number} */ ms) => `${(ms / 1000).toFixed(1)} s`;

/** What must never be on a page: the secret, alone or inside the Basic token. */
const SECRETS = [
	DEFAULT_CREDENTIALS.apiSecretKey,
	Buffer.from(`${DEFAULT_CREDENTIALS.apiKeyId}:${DEFAULT_CREDENTIALS.apiSecretKey}`).toString('base64'),
];

/**
 * @typedef {{ name: string, run: (journey: Journey) => Promise<void> }} JourneyModule
 * @typedef {{ page: import('playwright-core').Page, editor: E.Editor,
 *   workflow: (nodes: Parameters<typeof E.workflowOf>[2], options?: Parameters<typeof E.workflowOf>[3]) => Promise<string>,
 *   say: (...a: unknown[]) => void }} Journey
 */

function loadJourneys() {
	const dir = path.join(__dirname, 'journeys');
	return fs
		.readdirSync(dir)
		.filter((file) => file.endsWith('.js') && (!only || file.includes(only)))
		.sort()
		.map((file) => ({ file, .../** @type {JourneyModule} */ (require(path.join(dir, file))) }));
}

/** A new workflow of the owner's, through the REST API the editor uses; its id. */
async function createWorkflow(/** @type {E.Editor} */ editor, /** @type {object} */ workflow) {
	const { id: _ignored, ...body } = /** @type {any} */ (workflow);
	const response = await editor.api.call('POST', '/rest/workflows', body);
	if (response.status !== 200) throw new Error(`creating a workflow: ${response.status} ${response.text.slice(0, 300)}`);
	return /** @type {string} */ (response.json.data.id);
}

async function saveFailure(/** @type {import('playwright-core').Page} */ page, /** @type {string} */ file) {
	fs.mkdirSync(OUTPUT, { recursive: true });
	const base = path.join(OUTPUT, file.replace(/\.js$/, ''));
	await page.screenshot({ path: `${base}.png`, fullPage: true }).catch(() => {});
	fs.writeFileSync(`${base}.html`, await page.content().catch((err) => `<!-- no content: ${err.message} -->`));
	return [`${base}.png`, `${base}.html`].map((f) => path.relative(L.ROOT, f));
}

async function main() {
	L.installCleanup();
	const journeys = loadJourneys();
	if (journeys.length === 0) throw new Error(`no journey matches ${only}`);
	const t0 = Date.now();
	const work = L.mkTmp('evg-ui-');
	L.onCleanup(() => L.rmrf(work));
	fs.rmSync(OUTPUT, { recursive: true, force: true });
	const editor = await E.startEditor({ work, skipBuild: flag('--skip-build'), say });
	const browser = await E.launchChromium();
	// Each journey's context starts with the owner's cookie and nothing else.
	const session = await E.signedInSession(browser, editor);
	say(`n8n ${E.N8N_VERSION} and Chromium ready in ${seconds(Date.now() - t0)}`);
	let passed = 0;
	let failed = 0;
	try {
		for (const { file, name, run } of journeys) {
			const started = Date.now();
			const page = await E.signIn(browser, editor, { session });
			try {
				await run({ page, editor, workflow: async (nodes, options) => await createWorkflow(editor, E.workflowOf('new', name, nodes, options)), say });
				// A password field holds what the person typed into it (shown masked): the rest of the page may not.
				const html = (await page.content()).replace(/<input\b[^>]*type="password"[^>]*>/g, (tag) => tag.replace(/\svalue="[^"]*"/, ''));
				for (const secret of SECRETS) if (html.includes(secret)) throw new Error('the secret is on the page');
				passed++;
				console.log(`  ✓ ${name} (${seconds(Date.now() - started)})`);
			} catch (err) {
				failed++;
				const saved = await saveFailure(page, file);
				console.log(`  ✗ ${name} (${seconds(Date.now() - started)})\n      ${String(err.stack || err).split('\n').slice(0, 6).join('\n      ')}\n      saved: ${saved.join(', ')}`);
			} finally {
				await page.context().close();
			}
		}
	} finally {
		await browser.close();
		await editor.stop();
	}
	say(`total ${seconds(Date.now() - t0)}`);
	console.log(`${passed} passed, ${failed} failed`);
	process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((err) => {
	console.error('[ui] failed:', err.stack || err.message);
	console.log('0 passed, 1 failed');
	L.killAll('SIGTERM');
	process.exitCode = 1;
	setTimeout(() => process.exit(1), 3000).unref();
});
