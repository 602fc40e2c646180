// @ts-check
'use strict';
/**
 * The benchmark's processes: the stand-in server in a process of its own, one measured run of an
 * engine variant (test/bench/variant.js) in another, and the cached real n8n. Shared by run.js and
 * network.js.
 */
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const PROJECT = path.resolve(__dirname, '../..');
const STANDIN = path.join(PROJECT, 'test/support/standin.js');
const N8N_VERSION = '2.41.1';
const CACHE = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'n8n-nodes-evergage');
const CHILD_TIMEOUT_MS = 15 * 60_000;

const log = (...parts) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${parts.join(' ')}\n`);

/** A stand-in server in its own process, on `port` (0: any). */
async function startStandin(port, count, latencyMs, extraArgs = []) {
	const child = spawn(
		process.execPath,
		[STANDIN, '--port', String(port), '--count', String(count), '--user-count', String(count), '--latency-ms', String(latencyMs), ...extraArgs],
		{ stdio: ['ignore', 'pipe', 'inherit'] },
	);
	const url = await new Promise((resolve, reject) => {
		let text = '';
		const timer = setTimeout(() => reject(new Error('stand-in did not start')), 30_000);
		child.stdout.on('data', (chunk) => {
			text += chunk;
			const line = text.split('\n').find((l) => l.trim().startsWith('{'));
			if (line) {
				clearTimeout(timer);
				resolve(JSON.parse(line).url);
			}
		});
		child.once('exit', (code) => reject(new Error(`stand-in exited ${code}`)));
	});
	const exited = new Promise((resolve) => child.once('exit', resolve));
	return {
		url,
		reset: async () => {
			await fetch(`${url}/__standin/reset`, { method: 'POST' });
		},
		stats: async () => await (await fetch(`${url}/__standin/stats`)).json(),
		/** A few untimed pages first, so that the server's JIT warm-up is charged to no variant. */
		warmUp: async (pages, pageSize) => {
			const authorization = `Basic ${Buffer.from('demo-key:demo-secret').toString('base64')}`;
			for (let page = 0; page < Math.min(pages, 30); page++) {
				const response = await fetch(`${url}/api/dataset/engage/accounts.json?pageSize=${pageSize}&page=${page}`, {
					headers: { authorization },
				});
				await response.arrayBuffer();
			}
		},
		/** Stopped and gone, so that the next stand-in can take the port. */
		stop: async () => {
			child.kill('SIGTERM');
			await exited;
		},
	};
}

function runVariant(spec) {
	return new Promise((resolve, reject) => {
		const child = spawn(
			process.execPath,
			['--expose-gc', '--max-old-space-size=8192', path.join(__dirname, 'variant.js'), JSON.stringify(spec)],
			{ stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, N8N_LOG_LEVEL: 'error' } },
		);
		let out = '';
		let err = '';
		child.stdout.on('data', (chunk) => (out += chunk));
		child.stderr.on('data', (chunk) => (err += chunk));
		const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
		child.on('exit', (code) => {
			clearTimeout(timer);
			const line = out.trim().split('\n').pop() ?? '';
			try {
				const result = JSON.parse(line);
				if (result.error) reject(new Error(`${spec.variant}: ${result.error}`));
				else resolve(result);
			} catch {
				reject(new Error(`${spec.variant} exited ${code}: ${err.slice(-2000)}`));
			}
		});
	});
}

const median = (values) => {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};


/** The cached n8n 2.x install (n8n-nodes-base inside); built by the e2e installer when absent. */
async function ensureN8n() {
	const dir = path.join(CACHE, `n8n-${N8N_VERSION}`);
	const ready = () =>
		fs.existsSync(path.join(dir, '.complete')) &&
		fs.existsSync(path.join(dir, 'node_modules/n8n-nodes-base/dist/nodes/HttpRequest/HttpRequest.node.js'));
	if (ready()) return dir;
	const installing = () =>
		fs.existsSync(CACHE) && fs.readdirSync(CACHE).some((name) => name.startsWith(`.tmp-n8n-${N8N_VERSION}.`));
	if (installing()) {
		log(`another process is installing n8n ${N8N_VERSION} into ${CACHE}; waiting (up to 20 min)`);
		for (let waited = 0; waited < 20 * 60 && installing() && !ready(); waited += 10) {
			await new Promise((resolve) => setTimeout(resolve, 10_000));
		}
		if (ready()) return dir;
	}
	log(`installing n8n ${N8N_VERSION} (cached for later runs): bash test/e2e/install-n8n.sh --only 2`);
	const result = spawnSync('bash', [path.join(PROJECT, 'test/e2e/install-n8n.sh'), '--only', '2'], {
		stdio: ['ignore', 'inherit', 'inherit'],
		timeout: 30 * 60_000,
	});
	if (result.status !== 0 || !ready()) throw new Error('could not install n8n; run with --no-n8n to skip the HTTP Request variant');
	return dir;
}

/** The node's default ceiling of requests in flight, read from the build's field definitions. */
function defaultCeiling(dist) {
	const { EvergageAccountExport } = require(path.join(PROJECT, 'index.js')).loadBuild(dist);
	const options = new EvergageAccountExport().description.properties.find((p) => p.name === 'options');
	const field = options?.options?.find((o) => o.name === 'concurrency');
	if (typeof field?.default !== 'number') throw new Error('no default for the concurrency option in the build');
	return field.default;
}

module.exports = { defaultCeiling, ensureN8n, log, median, runVariant, startStandin, N8N_VERSION, PROJECT };
