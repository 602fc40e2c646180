#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Benchmark: this node against what a user would build instead, and against the floor.
 *
 *   npm run bench                        (builds, then: node test/bench/run.js)
 *   node test/bench/run.js --quick       10k and 100k, 0 and 50 ms
 *   options: --no-n8n (neither the HTTP Request node nor a real n8n) --engine-only (no real n8n)
 *            --no-csv --sizes 100000,1000000 --latencies 0,50 --reps 100000:3,1000000:2
 *            --concurrency N (Max Parallel Requests; default: the node's) --dist DIR --csv-size N
 *            --rate-limit N (0: none) --out FILE --variants a,b --extra-concurrency N
 *            --no-network (without test/bench/network.js: HTTPS with round trips, run after the rest)
 *
 * Every measured run is its own child process: test/bench/variant.js for the engine variants (fresh
 * heap, own RSS baseline, wall time of the export only) and `n8n execute` of a real n8n 2.x for the
 * n8n-* variants (test/bench/n8n.js; n8n's own start and stop times). The stand-in server runs in yet
 * another process, so its CPU and memory are not the client's. Variants are interleaved (A B C,
 * B C A, ...) so that drift of the machine spreads over all of them; medians are reported. Request
 * counts come from the stand-in's /__standin/stats. The HTTP Request node comes from n8n-nodes-base
 * of the cached real n8n install (test/e2e/install-n8n.sh builds it when absent).
 *
 * The floor of a scenario is max(CPU time of a bare undici loop over the same pages, requests ×
 * latency ÷ the node's ceiling of requests in flight): no client does less work, and none that keeps
 * to the ceiling waits less.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');

const { defaultCeiling, ensureN8n, log, median, runVariant, startStandin, N8N_VERSION } = require('./processes');

const PROJECT = path.resolve(__dirname, '../..');
const RESULTS = path.join(__dirname, 'results');

function parseArgs(argv) {
	const args = {
		quick: false,
		n8n: true,
		realN8n: true,
		csv: true,
		sizes: [100_000, 500_000, 1_000_000],
		latencies: [0, 10, 50, 150],
		reps: { 10000: 5, 100000: 3, 500000: 2, 1000000: 2 },
		pageSize: 1000,
		concurrency: undefined,
		dist: path.join(PROJECT, 'dist'),
		csvSize: 1_000_000,
		out: undefined,
		variants: undefined,
		extraConcurrency: 0,
		rateLimit: 4,
		network: true,
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
		else if (arg === '--engine-only') args.realN8n = false;
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
		else if (arg === '--rate-limit') args.rateLimit = Number(value());
		else if (arg === '--no-network') args.network = false;
		else throw new Error(`unknown argument ${arg} (see the header of ${__filename})`);
	}
	if (args.quick) {
		if (!argv.includes('--sizes')) args.sizes = [10_000, 100_000];
		if (!argv.includes('--latencies')) args.latencies = [0, 50];
		args.csvSize = 100_000;
	}
	if (!args.n8n) args.realN8n = false;
	return args;
}

/** A run this long is bound by the service's latency, not by the machine: once is enough. */
const LONG_RUN_MS = 30_000;

/**
 * Runs `variants` interleaved `reps` times (rotating the order), each against a fresh stats counter.
 * n8n-* variants run in the real n8n (`n8n`), the others in test/bench/variant.js.
 */
async function measure(standin, variants, reps, baseSpec, n8n) {
	const runs = Object.fromEntries(variants.map((v) => [v, []]));
	for (let rep = 0; rep < reps; rep++) {
		const order = variants.map((_, i) => variants[(i + rep) % variants.length]);
		for (const variant of order) {
			if (rep > 0 && runs[variant][0].wallMs > LONG_RUN_MS) continue;
			await standin.reset();
			let result;
			if (variant.startsWith('n8n-')) result = await n8n.run(variant);
			else {
				// `node-json@8`: this node with Max Parallel Requests 8.
				const [name, concurrency] = variant.split('@');
				const spec = { ...baseSpec, variant: name, url: standin.url };
				if (concurrency) spec.concurrency = Number(concurrency);
				result = await runVariant(spec);
			}
			const stats = await standin.stats();
			result.requests = stats.exportRequests;
			result.rateLimited = stats.rateLimited;
			result.inFlightPeak = stats.inFlightPeak;
			runs[variant].push(result);
			log(
				`  ${variant.padEnd(14)} rep ${rep + 1}/${reps}: ${(result.wallMs / 1000).toFixed(2)} s, CPU ${(result.cpuMs / 1000).toFixed(2)} s, ` +
					`${result.records ?? '-'} records, ${result.requests} requests (${result.inFlightPeak} at once), RSS +${mb(result.growthRss)} MB`,
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
				stateBytes: list[0].stateBytes,
				requests: median(list.map((r) => r.requests)),
				rateLimited: median(list.map((r) => r.rateLimited)),
				inFlightPeak: median(list.map((r) => r.inFlightPeak)),
				growthRss: median(list.map((r) => r.growthRss)),
				peakRss: median(list.map((r) => r.peakRss)),
				all: list.map((r) => ({ wallMs: Math.round(r.wallMs), cpuMs: Math.round(r.cpuMs), growthRss: r.growthRss, requests: r.requests })),
			},
		]),
	);
}

const mb = (bytes) => (bytes / 1048576).toFixed(0);
const fmtSize = (n) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));
const ratio = (a, b) => (a && b ? (a / b).toFixed(2) : '');

const LABELS = {
	'node-json': '**this node**',
	'user-json': 'User Export node (users.json)',
	'http-json': 'HTTP Request node',
	'floor-json': 'bare undici loop',
	'trigger-json': 'Evergage Trigger, one poll (export + diff)',
	'n8n-node-json': '**this node**',
	'n8n-http-json': 'HTTP Request node',
};
const whereRuns = (variant) => (variant.startsWith('n8n-') ? `n8n ${N8N_VERSION}` : 'engine');
const labelOf = (variant) => LABELS[variant] ?? variant.replace(/^node-json@(\d+)$/, 'this node, Max Parallel Requests $1');
/** The HTTP Request node that runs where `variant` runs. */
const httpBeside = (results, variant) => results[variant.startsWith('n8n-') ? 'n8n-http-json' : 'http-json'];

/** max(bare loop CPU, requests × latency ÷ ceiling); undefined without a bare-loop figure for the size. */
function floorMs(scenario, floorCpu, pageSize, ceiling) {
	const cpu = floorCpu[scenario.size];
	if (cpu === undefined) return undefined;
	const requests = Math.ceil(scenario.size / pageSize) + 1;
	return Math.max(cpu, (requests * scenario.latencyMs) / ceiling);
}

function jsonTable(scenarios, floorCpu, pageSize, ceiling) {
	const lines = [
		'| records | latency | runs in | variant | runs | time (s) | CPU (s) | records/s | requests | peak RSS growth (MB) | floor (s) | time ÷ floor | HTTP node time ÷ this | CPU ÷ HTTP node | RSS ÷ HTTP node |',
		'|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
	];
	for (const s of scenarios) {
		const floor = floorMs(s, floorCpu, pageSize, ceiling);
		for (const [variant, r] of Object.entries(s.results)) {
			const http = httpBeside(s.results, variant);
			const isNode = variant.includes('node-json') || variant === 'user-json';
			lines.push(
				[
					'',
					fmtSize(s.size),
					`${s.latencyMs} ms`,
					whereRuns(variant),
					labelOf(variant),
					r.runs,
					(r.wallMs / 1000).toFixed(2),
					(r.cpuMs / 1000).toFixed(2),
					Math.round((r.records / r.wallMs) * 1000).toLocaleString('en-US'),
					r.requests,
					mb(r.growthRss),
					variant === 'floor-json' || !floor ? '' : (floor / 1000).toFixed(2),
					variant === 'floor-json' ? '' : ratio(r.wallMs, floor),
					isNode && http ? ratio(http.wallMs, r.wallMs) : '',
					isNode && http ? ratio(r.cpuMs, http.cpuMs) : '',
					isNode && http ? ratio(r.growthRss, http.growthRss) : '',
					'',
				].join(' | ').trim(),
			);
		}
	}
	return lines.join('\n');
}

/** The trigger's poll beside the export it makes, and the snapshot it keeps. */
function triggerLines(scenarios) {
	const lines = [];
	for (const s of scenarios) {
		const poll = s.results['trigger-json'];
		const node = s.results['node-json'];
		if (!poll || !node) continue;
		lines.push(
			`- Trigger, ${fmtSize(s.size)} accounts: poll ${(poll.wallMs / 1000).toFixed(2)} s = ${(poll.wallMs / node.wallMs).toFixed(2)} × the export's ${(node.wallMs / 1000).toFixed(2)} s; ` +
				`snapshot ${(poll.stateBytes / 1048576).toFixed(2)} MB in static data, ${(poll.stateBytes / poll.records).toFixed(1)} bytes per account; RSS growth ${mb(poll.growthRss)} MB; ` +
				`${poll.requests / 2} requests per poll (the table counts the untimed baseline poll too).`,
		);
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

function rateLimitTable(limited) {
	const r = limited.results['node-json'];
	return [
		`| records | latency | service limit | runs | time (s) | time ÷ (requests × latency ÷ limit) | requests | answered 429 | most open at once |`,
		'|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
		`| ${fmtSize(limited.size)} | ${limited.latencyMs} ms | ${limited.limit} in flight | ${r.runs} | ${(r.wallMs / 1000).toFixed(2)} | ${ratio(r.wallMs, ((Math.ceil(limited.size / limited.pageSize) + 1) * limited.latencyMs) / limited.limit)} | ${r.requests} | ${r.rateLimited} (${((100 * r.rateLimited) / r.requests).toFixed(1)}%) | ${r.inFlightPeak} |`,
	].join('\n');
}

/** The performance targets, checked against this run. */
function verdicts(scenarios, floorCpu, csv, limited, pageSize, ceiling) {
	const lines = [];
	const check = (ok, text) => lines.push(`- ${ok ? 'MET   ' : 'MISSED'}: ${text}`);
	for (const s of scenarios) {
		const tag = `${fmtSize(s.size)}, ${s.latencyMs} ms`;
		const pages = Math.ceil(s.size / pageSize);
		const floor = floorMs(s, floorCpu, pageSize, ceiling);
		for (const variant of ['node-json', 'n8n-node-json']) {
			const node = s.results[variant];
			const http = httpBeside(s.results, variant);
			if (!node) continue;
			const where = `${tag}, ${whereRuns(variant)}`;
			check(
				node.requests >= pages + 1 && node.requests <= pages + ceiling,
				`${where}: requests ${node.requests} within pages + 1 … pages + ceiling (${pages + 1}…${pages + ceiling})`,
			);
			if (s.latencyMs >= 50 && (s.size === 100_000 || s.size === 1_000_000)) {
				if (http) check(http.wallMs >= 4 * node.wallMs, `${where}: HTTP node ÷ this ${ratio(http.wallMs, node.wallMs)} ≥ 4`);
				if (floor) check(node.wallMs <= 1.3 * floor, `${where}: time ÷ floor ${ratio(node.wallMs, floor)} ≤ 1.3`);
			}
			if (s.latencyMs === 0 && http) {
				if (variant === 'n8n-node-json') check(http.wallMs >= node.wallMs, `${where}: HTTP node ÷ this ${ratio(http.wallMs, node.wallMs)} ≥ 1.0`);
				if (variant === 'node-json' && s.size === 100_000)
					check(http.wallMs >= 1.3 * node.wallMs, `${where}: HTTP node ÷ this ${ratio(http.wallMs, node.wallMs)} ≥ 1.3`);
			}
			if (http) check(node.growthRss <= http.growthRss, `${where}: RSS growth ${mb(node.growthRss)} MB ≤ HTTP node's ${mb(http.growthRss)} MB`);
			if (http && s.size === 1_000_000 && s.latencyMs === 0)
				check(node.cpuMs <= http.cpuMs, `${where}: CPU per record ${(node.cpuMs / node.records * 1000).toFixed(1)} µs ≤ HTTP node's ${(http.cpuMs / http.records * 1000).toFixed(1)} µs`);
		}
	}
	if (limited) {
		const r = limited.results['node-json'];
		check(r.rateLimited < 0.05 * r.requests, `${fmtSize(limited.size)} against a service that allows ${limited.limit} requests in flight: no failed export, ${r.rateLimited} of ${r.requests} requests answered 429 (< 5%)`);
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
	if (!fs.existsSync(path.join(args.dist, 'nodes'))) throw new Error(`no build in ${args.dist}: run npm run build`);
	const ceiling = args.concurrency ?? defaultCeiling(args.dist);
	let variants = args.variants ?? ['node-json', 'http-json', 'n8n-node-json', 'n8n-http-json', 'floor-json'];
	if (!args.n8n) variants = variants.filter((v) => v !== 'http-json');
	if (!args.realN8n) variants = variants.filter((v) => !v.startsWith('n8n-'));
	const n8nDir = args.n8n ? await ensureN8n() : undefined;

	// Every stand-in on one port, so that the real n8n's credentials and workflows stay valid.
	const port = await require('../e2e/lib.js').freePort();
	const n8n = variants.some((v) => v.startsWith('n8n-'))
		? await require('./n8n.js').prepareN8n({ url: `http://127.0.0.1:${port}`, pageSize: args.pageSize, log })
		: undefined;

	/** CPU time of the bare loop per size: measured in the first scenario of that size. */
	const floorCpu = {};
	const scenarios = [];
	let limited;
	let csv;
	try {
		for (const latencyMs of args.latencies) {
			for (const size of args.sizes) {
				log(`${fmtSize(size)} records, ${latencyMs} ms per request`);
				const standin = await startStandin(port, size, latencyMs);
				try {
					await standin.warmUp(Math.ceil(size / args.pageSize), args.pageSize);
					const reps = args.reps[size] ?? (size >= 1_000_000 ? 2 : 3);
					let here = variants.filter((v) => v !== 'floor-json' || floorCpu[size] === undefined);
					if (latencyMs > 0 && args.extraConcurrency) here.splice(1, 0, `node-json@${args.extraConcurrency}`);
					// On loopback, the User Export node beside the account node: the same walk, as fast.
					if (latencyMs === 0 && here.includes('node-json')) here.splice(1, 0, 'user-json');
					// And a poll of the trigger over the same accounts: the export plus the diff (it follows 200k at most).
					if (latencyMs === 0 && size <= 200_000 && here.includes('node-json')) here.splice(2, 0, 'trigger-json');
					const results = await measure(standin, here, reps, {
						size,
						pageSize: args.pageSize,
						concurrency: args.concurrency,
						dist: args.dist,
						n8nDir,
					}, n8n);
					if (results['floor-json']) floorCpu[size] = results['floor-json'].cpuMs;
					scenarios.push({ size, latencyMs, results });
				} finally {
					await standin.stop();
				}
			}
		}

		if (args.rateLimit > 0) {
			const size = args.quick ? 100_000 : 500_000;
			const latencyMs = 50;
			log(`${fmtSize(size)} records, ${latencyMs} ms per request, at most ${args.rateLimit} requests in flight`);
			const standin = await startStandin(port, size, latencyMs, ['--max-in-flight', String(args.rateLimit)]);
			try {
				const results = await measure(standin, ['node-json'], args.quick ? 1 : 3, { size, pageSize: args.pageSize, dist: args.dist });
				limited = { size, latencyMs, limit: args.rateLimit, pageSize: args.pageSize, results };
			} finally {
				await standin.stop();
			}
		}

		if (args.csv) {
			log(`CSV to file, ${fmtSize(args.csvSize)} rows`);
			const standin = await startStandin(0, args.csvSize, 0);
			try {
				await standin.warmUp(30, 1000);
				const results = await measure(standin, ['node-csv', 'floor-csv'], args.csvSize >= 1_000_000 ? 2 : 3, {
					size: args.csvSize,
					dist: args.dist,
				});
				csv = { size: args.csvSize, results };
			} finally {
				await standin.stop();
			}
		}
	} finally {
		n8n?.cleanup();
	}

	const cpus = os.cpus();
	const machine = `${cpus.length} × ${cpus[0]?.model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version} (engine variants), Node 24 (n8n ${N8N_VERSION})`;
	const command = `node test/bench/run.js ${process.argv.slice(2).join(' ')}`.trim();
	const endLoad = os.loadavg().map((l) => l.toFixed(2)).join(' ');
	const minutes = ((Date.now() - started) / 60000).toFixed(1);
	const report = [
		`## Benchmark (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)`,
		'',
		`Command: \`${command}\` (\`npm run bench\` builds first). Machine: ${machine}. Load average at start ${startLoad}, at end ${endLoad}; ${minutes} min.`,
		`Stand-in server in its own process on 127.0.0.1; pageSize ${args.pageSize}; this node with its defaults (Max Parallel Requests ${ceiling}${args.concurrency ? '' : ', the default'}, Deduplicate on).`,
		`Runs in: **engine** = n8n-core ${require(require.resolve('n8n-core/package.json', { paths: [PROJECT] })).version}'s WorkflowExecute in a bare process (test/bench/variant.js), time and CPU of the export only; **n8n ${N8N_VERSION}** = a real n8n with this package installed from its tarball, \`n8n execute\` of a two-node workflow, time = stoppedAt − startedAt of n8n's run, CPU of the n8n process over the run. Peak RSS growth: the process's peak RSS (getrusage maxRSS, plus 100 ms sampling) minus its RSS just before the run. Medians over interleaved runs; a run over ${LONG_RUN_MS / 1000} s (latency-bound) is not repeated.`,
		`HTTP Request node: n8n-nodes-base ${N8N_VERSION} (typeVersion 4.2, Basic auth, pagination "update a parameter": page = $pageCount, complete when the response is empty, one request at a time as its pagination does). Floor: max(CPU time of a bare undici loop over the same pages, (pages + 1) × latency ÷ ${ceiling}).`,
		'',
		jsonTable(scenarios, floorCpu, args.pageSize, ceiling),
		'',
		triggerLines(scenarios),
		'',
		limited ? `Against a service that answers 429 (Retry-After 1 s) when more than ${limited.limit} requests are open at once (engine, defaults):\n\n${rateLimitTable(limited)}\n` : '',
		csv ? csvTable(csv) : '',
		'',
		'Targets:',
		verdicts(scenarios, floorCpu, csv, limited, args.pageSize, ceiling),
		'',
	].join('\n');
	fs.mkdirSync(RESULTS, { recursive: true });
	const out = args.out ?? path.join(RESULTS, args.quick ? 'latest-quick.md' : 'latest.md');
	fs.writeFileSync(out, report);
	fs.writeFileSync(out.replace(/\.md$/, '.json'), JSON.stringify({ machine, command, args, ceiling, floorCpu, startLoad, endLoad, minutes, scenarios, limited, csv }, null, 2));
	process.stdout.write(`${report}\nwritten to ${path.relative(PROJECT, out)}\n`);
	// Then the same node over HTTPS with round trips, in the real n8n (test/bench/network.js).
	if (args.network && args.realN8n) {
		const network = require('child_process').spawnSync(process.execPath, [path.join(__dirname, 'network.js'), ...(args.quick ? ['--quick'] : [])], {
			stdio: 'inherit',
		});
		if (network.status !== 0) throw new Error(`test/bench/network.js exited ${network.status}`);
	}
}

main().catch((error) => {
	process.stderr.write(`${error?.stack ?? error}\n`);
	process.exit(1);
});
