// @ts-check
'use strict';
/**
 * The benchmark's real-n8n variants: this package installed from its packed tarball into a fresh
 * n8n 2.x user folder (as n8n's Community Nodes screen does), and the HTTP Request node of that same
 * n8n, each run as a workflow by `n8n execute`. Time is n8n's own: stoppedAt − startedAt of the run
 * JSON. CPU and memory come from test/bench/n8n-hooks.js inside the n8n process.
 *
 * The stand-in of every scenario listens on one fixed port, so credentials and workflows are
 * imported once.
 */
const fs = require('fs');
const path = require('path');
const L = require('../e2e/lib.js');
const { httpRequestParameters } = require('./http-node');

const N8N_VERSION = '2.41.1';
const KEY = 'demo-key';
const SECRET = 'demo-secret';
const HOOKS = path.join(__dirname, 'n8n-hooks.js');
const EXECUTE_TIMEOUT_MS = 15 * 60_000;

const WORKFLOWS = {
	'n8n-node-json': { id: 'benchNodeJson001', node: 'Evergage Account Export' },
	'n8n-http-json': { id: 'benchHttpJson001', node: 'HTTP Request' },
	'n8n-user-json': { id: 'benchUserJson001', node: 'Evergage User Export' },
};

/** @param {string} name @param {object} node */
function workflow(id, name, node) {
	return {
		id,
		name,
		active: false,
		nodes: [
			{ id: `${id}-start`, name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{ id: `${id}-node`, position: [240, 0], ...node },
		],
		connections: { Start: { main: [[{ node: /** @type {{ name: string }} */ (node).name, type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
		pinData: {},
		tags: [],
	};
}

/**
 * @param {{ url: string, pageSize: number, log: (...parts: string[]) => void, nodeOptions?: object }} options
 *   url: where every scenario's stand-in listens; nodeOptions: the node's Options (default: none set)
 */
async function prepareN8n({ url, pageSize, log, nodeOptions = {} }) {
	const inst = L.n8nInstall(N8N_VERSION);
	if (!inst.ready) throw new Error(`n8n ${N8N_VERSION} is not installed: bash test/e2e/install-n8n.sh --only 2`);
	const work = L.mkTmp('evergage-bench-n8n-');
	const userFolder = path.join(work, 'home');
	fs.mkdirSync(userFolder);
	log(`real n8n ${N8N_VERSION}: packing and installing the package into ${userFolder}`);
	const { tarball } = await L.buildAndPack(work, { skipBuild: true });
	await L.installTarball(inst, userFolder, tarball);

	const credentials = [
		{
			id: 'benchEvergage001',
			name: 'Evergage bench',
			type: L.CREDENTIAL_TYPE,
			data: { accountName: 'demo', instance: 'us-1', apiKeyId: KEY, apiSecretKey: SECRET, baseUrl: url },
		},
		{ id: 'benchBasicAuth01', name: 'Basic bench', type: 'httpBasicAuth', data: { user: KEY, password: SECRET } },
	];
	const credFile = path.join(work, 'creds.json');
	fs.writeFileSync(credFile, JSON.stringify(credentials));
	let r = await L.n8nCli(inst, userFolder, ['import:credentials', `--input=${credFile}`]);
	if (r.code !== 0) throw new Error(`import:credentials exited ${r.code}:\n${L.tail(r.stdout + r.stderr)}`);

	const wfDir = path.join(work, 'workflows');
	fs.mkdirSync(wfDir);
	const nodeWorkflow = workflow(WORKFLOWS['n8n-node-json'].id, 'bench: this node, defaults, Return All', {
		name: WORKFLOWS['n8n-node-json'].node,
		type: L.NODE_TYPE,
		typeVersion: 1,
		parameters: { datasetId: 'engage', format: 'json', returnAll: true, pageSize, options: nodeOptions },
		credentials: { evergageApi: { id: credentials[0].id, name: credentials[0].name } },
	});
	const httpWorkflow = workflow(WORKFLOWS['n8n-http-json'].id, 'bench: HTTP Request node, paginated', {
		name: WORKFLOWS['n8n-http-json'].node,
		type: 'n8n-nodes-base.httpRequest',
		typeVersion: 4.2,
		parameters: httpRequestParameters(url, pageSize),
		credentials: { httpBasicAuth: { id: credentials[1].id, name: credentials[1].name } },
	});
	const userWorkflow = workflow(WORKFLOWS['n8n-user-json'].id, 'bench: the User Export node, defaults, Return All', {
		name: WORKFLOWS['n8n-user-json'].node,
		type: L.USER_NODE_TYPE,
		typeVersion: 1,
		parameters: { datasetId: 'engage', format: 'json', returnAll: true, pageSize, options: nodeOptions },
		credentials: { evergageApi: { id: credentials[0].id, name: credentials[0].name } },
	});
	fs.writeFileSync(path.join(wfDir, 'user.json'), JSON.stringify(userWorkflow));
	fs.writeFileSync(path.join(wfDir, 'node.json'), JSON.stringify(nodeWorkflow));
	fs.writeFileSync(path.join(wfDir, 'http.json'), JSON.stringify(httpWorkflow));
	r = await L.n8nCli(inst, userFolder, ['import:workflow', '--separate', `--input=${wfDir}`]);
	if (r.code !== 0) throw new Error(`import:workflow exited ${r.code}:\n${L.tail(r.stdout + r.stderr)}`);

	return {
		version: N8N_VERSION,
		/** One `n8n execute` of a variant's workflow. @param {string} variant @param {string} [profile] a CPU profile to write */
		async run(variant, profile) {
			const wf = WORKFLOWS[variant];
			if (!wf) throw new Error(`no real-n8n workflow for ${variant}`);
			const result = await L.n8nCli(inst, userFolder, ['execute', `--id=${wf.id}`, '--rawOutput'], {
				extraEnv: {
					EXTERNAL_HOOK_FILES: HOOKS,
					...(profile ? { BENCH_PROFILE_FILE: profile } : {}),
				},
				timeoutMs: EXECUTE_TIMEOUT_MS,
			});
			const run = L.parseExecuteOutput(result.stdout);
			if (result.code !== 0 || !run || run.status !== 'success') {
				throw new Error(`${variant}: n8n execute exited ${result.code}, status ${run?.status}:\n${L.tail(result.stdout + result.stderr, 30)}`);
			}
			const task = L.runDataOf(run, wf.node);
			if (!run.benchmark || !task) throw new Error(`${variant}: the run carries no benchmark figures (hook not loaded?)`);
			return {
				variant,
				wallMs: Date.parse(run.stoppedAt) - Date.parse(run.startedAt),
				records: task.benchmarkItems?.[0] ?? 0,
				...run.benchmark,
			};
		},
		cleanup: () => L.rmrf(work),
	};
}

module.exports = { prepareN8n, N8N_VERSION };
