#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Benchmark: this node against what a user would build instead, and against the floor.
 *
 *   npm run bench                        (builds, then: node test/bench/run.js)
 *   node test/bench/run.js --quick       10k and 100k only
 *   options: --no-n8n (skip the HTTP Request variant) --no-csv --sizes 10000,100000
 *            --latencies 0,50 --reps 10000:5,100000:3,1000000:1 --concurrency N --dist DIR
 *            --csv-size 1000000 --out FILE --extra-concurrency 8 (0: none; with added latency, this
 *            node is also run with that many Parallel Requests)
 *
 * Every measured run is its own child process (test/bench/variant.js): fresh heap, own RSS
 * baseline, wall time of the export only. The stand-in server runs in yet another process, so its
 * CPU and memory are not the client's. Variants are interleaved (A B C, B C A, C A B, ...) so that
 * drift of the machine spreads over all of them; medians are reported. Request counts come from the
 * stand-in's /__standin/stats. The HTTP Request node comes from n8n-nodes-base of the cached real
 * n8n install (test/e2e/install-n8n.sh builds it when absent), loaded into the same n8n-core engine.
 */
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const PROJECT = path.resolve(__dirname, '../..');
const STANDIN = path.join(PROJECT, 'test/support/standin.js');
const RESULTS = path.join(__dirname, 'results');
const N8N_VERSION = '2.41.1';
const CACHE = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'n8n-nodes-evergage');
const CHILD_TIMEOUT_MS = 15 * 60_000;

function parseArgs(argv) {
	const args = {
		quick: false,
		n8n: true,
		csv: true,
		sizes: [10_000, 100_000, 1_000_000],
		latencies: [0, 50],
		reps: { 10000: 5, 100000: 3, 1000000: 2 },
		pageSize: 1000,
		concurrency: undefined,
		dist: path.join(PROJECT, 'dist'),
		csvSize: 1_000_000,
		out: undefined,
		variants: undefined,
		extraConcurrency: 8,
	};
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		const value = () => {
			if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
			return argv[++i];
		};
		const list = (text) => text.split(',').filter(Boolean).map(Number);
		if (arg === '--quick') args.quick = true;
		else if (arg === '--no-n8n') args.n8n = false;
		else if (arg === '--no-csv') args.csv = false;
		else if (arg === '--sizes') args.sizes = list(value());
		else if (arg === '--latencies') args.latencies = list(value());
		else if (arg === '--reps') {
			for (const pair of value().split(',')) {
				const [size, reps] = pair.split(':').map(Number);
				args.reps[size] = reps;
			}
		} else if (arg === '--page-size') args.pageSize = Number(value());
		else if (arg === '--concurrency') args.concurrency = Number(value());
		else if (arg === '--dist') args.dist = path.resolve(value());
		else if (arg === '--csv-size') args.csvSize = Number(value());
		else if (arg === '--out') args.out = path.resolve(value());
		else if (arg === '--variants') args.variants = value().split(',');
		else if (arg === '--extra-concurrency') args.extraConcurrency = Number(value());
		else throw new Error(`unknown argument ${arg} (see the header of ${__filename})`);
	}
	if (args.quick) {
		args.sizes = args.sizes.filter((size) => size <= 100_000);
		args.csvSize = 100_000;
	}
	return args;
}

const log = (...parts) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${parts.join(' ')}\n`);

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

/** A stand-in server in its own process. */
async function startStandin(count, latencyMs) {
	const child = spawn(
		process.execPath,
		[STANDIN, '--port', '0', '--count', String(count), '--user-count', String(count), '--latency-ms', String(latencyMs)],
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
		stop: () => child.kill('SIGTERM'),
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

/** Runs `variants` interleaved `reps` times (rotating the order), each against a fresh stats counter. */
async function measure(standin, variants, reps, baseSpec) {
	const runs = Object.fromEntries(variants.map((v) => [v, []]));
	for (let rep = 0; rep < reps; rep++) {
		const order = variants.map((_, i) => variants[(i + rep) % variants.length]);
		for (const variant of order) {
			await standin.reset();
			// `node-json@8`: this node with Parallel Requests 8.
			const [name, concurrency] = variant.split('@');
			const spec = { ...baseSpec, variant: name, url: standin.url };
			if (concurrency) spec.concurrency = Number(concurrency);
			const result = await runVariant(spec);
			const stats = await standin.stats();
			result.requests = stats.exportRequests;
			runs[variant].push(result);
			log(
				`  ${variant.padEnd(10)} rep ${rep + 1}/${reps}: ${(result.wallMs / 1000).toFixed(2)} s, ${result.records ?? '-'} records, ` +
					`${result.requests} requests, RSS +${mb(result.growthRss)} MB`,
			);
		}
	}
	return Object.fromEntries(
		Object.entries(runs).map(([variant, list]) => [
			variant,
			{
				runs: list.length,
				wallMs: median(list.map((r) => r.wallMs)),
				cpuMs: median(list.map((r) => r.cpuMs)),
				records: list[0].records,
				bytes: list[0].bytes,
				requests: median(list.map((r) => r.requests)),
				growthRss: median(list.map((r) => r.growthRss)),
				peakRss: median(list.map((r) => r.peakRss)),
				all: list.map((r) => ({ wallMs: Math.round(r.wallMs), growthRss: r.growthRss, requests: r.requests })),
			},
		]),
	);
}

const mb = (bytes) => (bytes / 1048576).toFixed(0);
const fmtSize = (n) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));

function jsonTable(scenarios) {
	const lines = [
		'| records | latency | variant | runs | wall (s) | CPU (s) | records/s | requests | peak RSS growth (MB) | time ÷ floor | HTTP node time ÷ this | RSS ÷ floor | RSS ÷ HTTP node |',
		'|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
	];
	for (const s of scenarios) {
		const floor = s.results['floor-json'];
		const http = s.results['http-json'];
		for (const [variant, r] of Object.entries(s.results)) {
			const isNode = variant.startsWith('node-json');
			lines.push(
				[
					'',
					fmtSize(s.size),
					`${s.latencyMs} ms`,
					{ 'node-json': '**this node**', 'user-json': 'User Export node (users.json)', 'http-json': 'HTTP Request node', 'floor-json': 'bare undici loop' }[variant] ??
						variant.replace(/^node-json@(\d+)$/, 'this node, Parallel Requests $1'),
					r.runs,
					(r.wallMs / 1000).toFixed(2),
					(r.cpuMs / 1000).toFixed(2),
					Math.round((r.records / r.wallMs) * 1000).toLocaleString('en-US'),
					r.requests,
					mb(r.growthRss),
					floor ? (r.wallMs / floor.wallMs).toFixed(2) : '',
					isNode && http ? (http.wallMs / r.wallMs).toFixed(2) : '',
					floor ? (r.growthRss / floor.growthRss).toFixed(2) : '',
					http ? (r.growthRss / http.growthRss).toFixed(2) : '',
					'',
				].join(' | ').trim(),
			);
		}
	}
	return lines.join('\n');
}

function csvTable(csv) {
	const lines = [
		'| rows | variant | runs | wall (s) | CPU (s) | MB written | requests | peak RSS growth (MB) |',
		'|---:|---|---:|---:|---:|---:|---:|---:|',
	];
	for (const [variant, r] of Object.entries(csv.results)) {
		lines.push(
			`| ${fmtSize(csv.size)} | ${variant === 'node-csv' ? '**this node** (CSV → binary file)' : 'bare undici → file'} | ${r.runs} | ${(r.wallMs / 1000).toFixed(2)} | ${(r.cpuMs / 1000).toFixed(2)} | ${mb(r.bytes ?? 0)} | ${r.requests} | ${mb(r.growthRss)} |`,
		);
	}
	return lines.join('\n');
}

/** The performance targets, checked against this run. */
function verdicts(scenarios, csv, pageSize, concurrency) {
	const lines = [];
	const check = (ok, text) => lines.push(`- ${ok ? 'MET ' : 'MISSED'}: ${text}`);
	for (const s of scenarios) {
		const node = s.results['node-json'];
		const http = s.results['http-json'];
		const floor = s.results['floor-json'];
		if (!node || !floor) continue;
		const tag = `${fmtSize(s.size)}, ${s.latencyMs} ms`;
		const pages = Math.ceil(s.size / pageSize);
		check(
			node.requests >= pages + 1 && node.requests <= pages + concurrency,
			`${tag}: requests ${node.requests} within pages + 1 … pages + concurrency (${pages + 1}…${pages + concurrency})`,
		);
		if (s.latencyMs === 0) {
			if (s.size >= 100_000) check(node.wallMs <= 1.3 * floor.wallMs, `${tag}: time ÷ floor ${(node.wallMs / floor.wallMs).toFixed(2)} ≤ 1.3`);
			if (s.size >= 100_000 && http)
				check(http.wallMs >= 1.5 * node.wallMs, `${tag}: HTTP node ÷ this ${(http.wallMs / node.wallMs).toFixed(2)} ≥ 1.5`);
		} else {
			if (http) check(http.wallMs >= 3 * node.wallMs, `${tag}: HTTP node ÷ this ${(http.wallMs / node.wallMs).toFixed(2)} ≥ 3`);
			check(node.wallMs < floor.wallMs, `${tag}: faster than the sequential bare loop (${(floor.wallMs / node.wallMs).toFixed(2)}×)`);
			for (const [variant, other] of Object.entries(s.results)) {
				if (!variant.startsWith('node-json@') || !http) continue;
				lines.push(`- (info) ${tag}: with Parallel Requests ${variant.split('@')[1]}: HTTP node ÷ this ${(http.wallMs / other.wallMs).toFixed(2)}, floor ÷ this ${(floor.wallMs / other.wallMs).toFixed(2)}, ${other.requests} requests`);
			}
		}
		if (s.size >= 100_000) {
			if (http) check(node.growthRss <= http.growthRss, `${tag}: RSS growth ${mb(node.growthRss)} MB ≤ HTTP node's ${mb(http.growthRss)} MB`);
			check(
				node.growthRss <= 1.2 * floor.growthRss,
				`${tag}: RSS growth ÷ floor ${(node.growthRss / floor.growthRss).toFixed(2)} ≤ 1.2`,
			);
		}
	}
	if (csv?.results['node-csv']) {
		const r = csv.results['node-csv'];
		check(r.growthRss <= 64 * 1048576, `CSV ${fmtSize(csv.size)} rows: RSS growth ${mb(r.growthRss)} MB ≤ 64 MB, ${r.requests} request(s)`);
	}
	return lines.join('\n');
}

async function main() {
	const args = parseArgs(process.argv.slice(2));
	const started = Date.now();
	const startLoad = os.loadavg().map((l) => l.toFixed(2)).join(' ');
	let variants = args.variants ?? ['node-json', 'http-json', 'floor-json'];
	let n8nDir;
	if (!args.n8n) variants = variants.filter((v) => v !== 'http-json');
	else if (variants.includes('http-json')) n8nDir = await ensureN8n();
	if (!fs.existsSync(path.join(args.dist, 'nodes'))) throw new Error(`no build in ${args.dist}: run npm run build`);
	const concurrency = args.concurrency ?? 4;

	const scenarios = [];
	for (const latencyMs of args.latencies) {
		for (const size of args.sizes) {
			log(`${fmtSize(size)} records, ${latencyMs} ms per request`);
			const standin = await startStandin(size, latencyMs);
			try {
				await standin.warmUp(Math.ceil(size / args.pageSize), args.pageSize);
				const reps = args.reps[size] ?? (size >= 1_000_000 ? 1 : 3);
				const withExtra = latencyMs > 0 && args.extraConcurrency ? [...variants.slice(0, 1), `node-json@${args.extraConcurrency}`, ...variants.slice(1)] : [...variants];
				// On loopback, the User Export node beside the account node: the same walk, as fast.
				if (latencyMs === 0 && variants.includes('node-json')) withExtra.splice(1, 0, 'user-json');
				const results = await measure(standin, withExtra, reps, {
					size,
					pageSize: args.pageSize,
					concurrency: args.concurrency,
					dist: args.dist,
					n8nDir,
				});
				scenarios.push({ size, latencyMs, results });
			} finally {
				standin.stop();
			}
		}
	}

	let csv;
	if (args.csv) {
		log(`CSV to file, ${fmtSize(args.csvSize)} rows`);
		const standin = await startStandin(args.csvSize, 0);
		try {
			await standin.warmUp(30, 1000);
			const results = await measure(standin, ['node-csv', 'floor-csv'], args.csvSize >= 1_000_000 ? 2 : 3, {
				size: args.csvSize,
				dist: args.dist,
			});
			csv = { size: args.csvSize, results };
		} finally {
			standin.stop();
		}
	}

	const cpus = os.cpus();
	const machine = `${cpus.length} × ${cpus[0]?.model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}`;
	const command = `node test/bench/run.js ${process.argv.slice(2).join(' ')}`.trim();
	const report = [
		`## Benchmark (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)`,
		'',
		`Command: \`${command}\` (\`npm run bench\` builds first). Machine: ${machine}.`,
		`Stand-in server in its own process on 127.0.0.1; pageSize ${args.pageSize}; this node with Parallel Requests ${args.concurrency ?? '4 (default)'}.`,
		'Wall and CPU time (user + system): the export only, in the process that runs it (medians over interleaved runs). Peak RSS growth: that process\'s peak RSS (getrusage maxRSS, plus 20 ms sampling) minus its RSS just before the run. The load average of the machine at the start and end is printed below: other work on it shows in wall times first.',
		`HTTP Request node: n8n-nodes-base ${N8N_VERSION} (HTTP Request V3, typeVersion 4.2, Basic auth, pagination "update a parameter": page = $pageCount, complete when the response is empty) from the cached real n8n install, loaded into the same n8n-core ${require(require.resolve('n8n-core/package.json', { paths: [PROJECT] })).version} engine as this node. It already emits one item per array element, so a Split Out after it has nothing to split and is left out.`,
		'',
		jsonTable(scenarios),
		'',
		csv ? csvTable(csv) : '',
		'',
		'Targets:',
		verdicts(scenarios, csv, args.pageSize, concurrency),
		'',
		`Load average at start ${startLoad}, at end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}. Total bench time ${((Date.now() - started) / 60000).toFixed(1)} min.`,
		'',
	].join('\n');
	fs.mkdirSync(RESULTS, { recursive: true });
	const out = args.out ?? path.join(RESULTS, args.quick ? 'latest-quick.md' : 'latest.md');
	fs.writeFileSync(out, report);
	fs.writeFileSync(out.replace(/\.md$/, '.json'), JSON.stringify({ machine, command, args, scenarios, csv }, null, 2));
	process.stdout.write(`${report}\nwritten to ${path.relative(PROJECT, out)}\n`);
}

main().catch((error) => {
	process.stderr.write(`${error?.stack ?? error}\n`);
	process.exit(1);
});
