// @ts-check
'use strict';
// The real n8n editor, as the browser journeys (test/ui/run.js) and the README's pictures
// (scripts/screenshots.js) use it: n8n 2.41.1 from the e2e cache with the packed package installed
// as the Community Nodes screen installs it, the local stand-in behind a credential, the owner set
// up, and headless Chromium (the system's /usr/bin/chromium: nothing is downloaded).

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');
const L = require('../e2e/lib');

const N8N_VERSION = '2.41.1';
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** The credential every prepared workflow uses: the stand-in's own key pair. */
const CREDENTIAL = { id: 'uiEvergageCred01', name: 'Evergage (local stand-in)' };
const MANUAL_TRIGGER = 'When clicking ‘Execute workflow’';

/**
 * @typedef {{ url: string, login: { email: string, password: string }, api: ReturnType<typeof L.n8nClient>,
 *   standin: { url: string, stop: () => Promise<unknown> }, stop: () => Promise<void> }} Editor
 */

/**
 * Builds (unless told not to) and packs the package, starts the stand-in and n8n with the tarball
 * installed and the stand-in credential imported, sets up the owner and logs the REST client in.
 * @param {{ work: string, skipBuild?: boolean, standinArgs?: string[], workflows?: object[],
 *   say?: (...a: unknown[]) => void }} options  `workflows` are imported before n8n starts.
 * @returns {Promise<Editor>}
 */
async function startEditor({ work, skipBuild = false, standinArgs = ['--count', '200'], workflows = [], say = () => {} }) {
	const inst = L.n8nInstall(N8N_VERSION);
	if (!inst.ready) throw new Error(`n8n ${N8N_VERSION} is not in the cache: run bash test/e2e/install-n8n.sh --only 2`);
	if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (or set CHROMIUM_PATH)`);
	const userFolder = path.join(work, 'n8n');
	say(skipBuild ? 'packing the package ...' : 'building and packing the package ...');
	const { tarball } = await L.buildAndPack(work, { skipBuild });
	const standin = await L.startStandin(standinArgs);
	try {
		await L.installTarball(inst, userFolder, tarball);
		await L.importStandinCredential(inst, userFolder, work, CREDENTIAL, standin.url);
		if (workflows.length > 0) {
			const dir = path.join(work, 'workflows');
			fs.mkdirSync(dir, { recursive: true });
			workflows.forEach((wf, i) => fs.writeFileSync(path.join(dir, `${i}.json`), JSON.stringify(wf)));
			const r = await L.n8nCli(inst, userFolder, ['import:workflow', '--separate', `--input=${dir}`]);
			if (r.code !== 0) throw new Error(`import:workflow failed:\n${L.tail(r.stdout + r.stderr)}`);
		}
		say(`starting n8n ${N8N_VERSION} ...`);
		const srv = await L.startN8n(inst, userFolder);
		const login = { email: 'owner@example.com', password: `Ui-${crypto.randomBytes(6).toString('hex')}-7` };
		const api = L.n8nClient(srv.url);
		const setup = await api.setupOwner({ ...login, firstName: 'Ada', lastName: 'Owner' });
		if (setup.status !== 200) {
			await srv.stop();
			throw new Error(`owner setup failed: ${setup.status} ${setup.text.slice(0, 300)}`);
		}
		return {
			url: srv.url,
			login,
			api,
			standin,
			stop: async () => {
				await Promise.allSettled([srv.stop(), standin.stop()]);
			},
		};
	} catch (err) {
		await standin.stop();
		throw err;
	}
}

/**
 * Headless Chromium with nothing that reaches out on its own. playwright adds --headless, asks for
 * --no-sandbox with chromiumSandbox: false, and gives every launch a fresh throwaway --user-data-dir.
 */
async function launchChromium() {
	return await chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		chromiumSandbox: false,
		args: [
			'--disable-gpu',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
	});
}

/**
 * A page in a fresh browser context (no cookies, no storage) signed in as the owner: through the
 * sign-in form, or, given the `session` a sign-in left (its cookie), without loading the form again.
 * @param {import('playwright-core').Browser} browser @param {Editor} editor
 * @param {{ colorScheme?: 'light' | 'dark', session?: Awaited<ReturnType<import('playwright-core').BrowserContext['storageState']>> }} [options]
 */
async function signIn(browser, editor, { colorScheme = 'light', session } = {}) {
	const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, colorScheme, storageState: session });
	// Generous: the editor's bundle takes seconds to start on a busy CI machine; a wait that ends
	// early fails a journey for nothing, one that ends late only costs time on a real failure.
	context.setDefaultTimeout(90_000);
	const page = await context.newPage();
	if (session) return page;
	await page.goto(`${editor.url}/signin`);
	await page.fill('input[name=emailOrLdapLoginId]', editor.login.email);
	await page.fill('input[name=password]', editor.login.password);
	await page.click('[data-test-id=form-submit-button]');
	await page.waitForURL((u) => !u.pathname.startsWith('/signin'));
	return page;
}

/**
 * What a sign-in through the form leaves (the login cookie, and the browser id n8n ties it to), for
 * fresh contexts to start from; nothing any journey did.
 */
async function signedInSession(/** @type {import('playwright-core').Browser} */ browser, /** @type {Editor} */ editor) {
	const page = await signIn(browser, editor);
	const session = await page.context().storageState();
	await page.context().close();
	return session;
}

/**
 * A workflow: a Manual Trigger, then `nodes` in a row (each connected to the one before), the
 * Evergage nodes with the stand-in credential.
 * @param {string} id @param {string} name
 * @param {Array<{ name: string, type: string, typeVersion: number, parameters: object }>} nodes
 * @param {{ trigger?: boolean, timezone?: string }} [options] trigger: false when the first node is a
 *   trigger itself; timezone: the workflow's own (n8n's default otherwise)
 */
function workflowOf(id, name, nodes, { trigger = true, timezone } = {}) {
	const all = [
		...(trigger ? [{ name: MANUAL_TRIGGER, type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, parameters: {} }] : []),
		...nodes,
	].map((node, i) => ({
		id: `${crypto.createHash('sha1').update(`${id}:${i}`).digest('hex').slice(0, 8)}-0000-4000-8000-${String(i).padStart(12, '0')}`,
		position: [i * 260, 0],
		...node,
		...(node.type.startsWith(L.PACKAGE_NAME) ? { credentials: { evergageApi: { ...CREDENTIAL } } } : {}),
	}));
	/** @type {Record<string, unknown>} */
	const connections = {};
	for (let i = 0; i + 1 < all.length; i++) connections[all[i].name] = { main: [[{ node: all[i + 1].name, type: 'main', index: 0 }]] };
	return { id, name, active: false, nodes: all, connections, settings: { executionOrder: 'v1', ...(timezone ? { timezone } : {}) }, pinData: {} };
}

/**
 * Opens a workflow in the editor and waits for its canvas.
 * @param {import('playwright-core').Page} page @param {Editor} editor @param {string} id
 */
async function openWorkflow(page, editor, id) {
	await page.goto(`${editor.url}/workflow/${id}`);
	await page.waitForSelector('[data-test-id=canvas-node]');
}

/**
 * The nodes panel opened from the canvas's plus button and searched for `text`.
 * @param {import('playwright-core').Page} page @param {string} text
 */
async function searchNodesPanel(page, text) {
	await page.click('[data-test-id=node-creator-plus-button]');
	await page.waitForSelector('[data-test-id=node-creator-search-bar]');
	await page.keyboard.type(text);
	await page.waitForSelector('[data-test-id=node-creator-item-name]');
	// The last one: while a view slides in, the one sliding out is still there.
	return page.locator('aside').filter({ has: page.locator('[data-test-id=nodes-list-header]') }).last();
}

/**
 * Opens a node's details by double-clicking it on the canvas.
 * @param {import('playwright-core').Page} page @param {string} name
 */
async function openNode(page, name) {
	await page.locator('[data-test-id=canvas-node]', { hasText: name }).first().dblclick();
	await page.waitForSelector('[data-test-id=node-parameters]');
}

/**
 * Clicks the node's Execute step (or Fetch Test Event) and waits for the output pane to show the
 * run: its item count, or the node's error.
 * @param {import('playwright-core').Page} page
 */
async function executeStep(page) {
	await page.click('[data-test-id=node-execute-button]');
	const output = page.locator('[data-test-id=output-panel]');
	await output
		.locator('[data-test-id=run-data-item-count], [data-test-id=node-error-message]')
		.first()
		.waitFor({ timeout: 60_000 });
	return output;
}

/**
 * The package's nodes as n8n lists them, from the built package (dist/): each node's name, display
 * name and the actions of its operations. A node added to package.json is found here.
 * @returns {Array<{ name: string, displayName: string, actions: string[] }>}
 */
function packageNodes() {
	const pkg = JSON.parse(fs.readFileSync(path.join(L.ROOT, 'package.json'), 'utf8'));
	return pkg.n8n.nodes.map((/** @type {string} */ file) => {
		const exported = require(path.join(L.ROOT, file));
		const { description } = new exported[path.basename(file).split('.')[0]]();
		const actions = description.properties
			.filter((/** @type {any} */ property) => property.name === 'operation')
			.flatMap((/** @type {any} */ property) => property.options.map((/** @type {any} */ option) => option.action))
			.filter(Boolean);
		return { name: description.name, displayName: description.displayName, actions };
	});
}

/** The type n8n gives a node of this package installed from its tarball. */
const nodeType = (/** @type {string} */ name) => `${L.PACKAGE_NAME}.${name}`;

/** Closes the toasts ("Node executed successfully") that would cover what a picture shows. */
async function closeToasts(/** @type {import('playwright-core').Page} */ page) {
	for (const close of await page.locator('.el-notification__closeBtn').all()) await close.click().catch(() => {});
}

module.exports = {
	N8N_VERSION,
	CHROMIUM,
	CREDENTIAL,
	MANUAL_TRIGGER,
	startEditor,
	launchChromium,
	signIn,
	signedInSession,
	workflowOf,
	openWorkflow,
	searchNodesPanel,
	openNode,
	executeStep,
	packageNodes,
	nodeType,
	closeToasts,
};
