#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Benchmark over the network as users meet the service: HTTPS, with a certificate made for the run
 * and trusted through NODE_EXTRA_CA_CERTS, through the round-trip proxy of test/support/network.js
 * (every byte waits RTT/2 each way, a new connection's first bytes one RTT more), in a real n8n 2.41.1
 * with the node's defaults.
 *
 *   node test/bench/network.js [--quick] [--sizes 100000,500000,1000000] [--rtts 50,150]
 *                              [--reps N] [--no-extras] [--out FILE]
 *   --quick      100k at 50 and 150 ms
 *   --no-extras  without the User Export and trigger rows
 *
 * Rows per scenario: this node and the HTTP Request node (its pagination, one page at a time), each
 * `n8n execute` of a two-node workflow; connections are the proxy's count for the run, requests the
 * stand-in's. Once, at the first scenario: the User Export node (real n8n) and one poll of the
 * trigger (n8n-core's engine: `n8n execute` does not start at a poll trigger).
 *
 * Floor = max(CPU time of a bare undici loop over the same pages over loopback HTTPS, one handshake
 * (TCP and TLS: 2 RTT) + (pages + 1) × RTT ÷ Max Parallel Requests).
 */
const fs = require('fs');
const os = require('os');
const path = require('path');

const { makeTestCertificate, startNetwork } = require('../support/network');
const { defaultCeiling, ensureN8n, log, median, runVariant, startStandin, N8N_VERSION, PROJECT } = require('./processes');

const RESULTS = path.join(__dirname, 'results');
const PAGE_SIZE = 1000;
/** A run this long is bound by round trips, not by the machine: once is enough. */
const LONG_RUN_MS = 30_000;

function parseArgs(argv) {
	const args = { sizes: [100_000, 500_000, 1_000_000], rtts: [50, 150], reps: 0, extras: true, out: '', quick: false };
	for (let i = 0; i < argv.length; i++) {
		const value = () => argv[++i] ?? '';
		const list = (text) => text.split(',').filter(Boolean).map(Number);
		if (argv[i] === '--quick') args.quick = true;
		else if (argv[i] === '--sizes') args.sizes = list(value());
		else if (argv[i] === '--rtts') args.rtts = list(value());
		else if (argv[i] === '--reps') args.reps = Number(value());
		else if (argv[i] === '--no-extras') args.extras = false;
		else if (argv[i] === '--out') args.out = path.resolve(value());
		else throw new Error(`unknown argument ${argv[i]} (see the header of ${__filename})`);
	}
	if (args.quick && !argv.includes('--sizes')) args.sizes = [100_000];
	return args;
}

const repsFor = (args, size) => args.reps || (size >= 500_000 ? 2 : 3);
const fmtSize = (n) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);
const mb = (bytes) => (bytes / 1048576).toFixed(0);
const ratio = (a, b) => (a && b ? (a / b).toFixed(2) : '');
const LABELS = {
	'n8n-node-json': '**this node**',
	'n8n-http-json': 'HTTP Request node',
	'n8n-user-json': 'User Export node',
	'trigger-json': 'Evergage Trigger, one poll (requests and connections: the untimed first poll too)',
};

/** One run of `variant` with fresh counts: n8n-* in the real n8n, the others in variant.js. */
async function runOnce(variant, { n8n, network, standin, size, dist }) {
	await standin.reset();
	network.resetCounts();
	const result = variant.startsWith('n8n-')
		? await n8n.run(variant)
		: await runVariant({ variant, url: network.url, size, pageSize: PAGE_SIZE, dist });
	const stats = await standin.stats();
	return { ...result, requests: stats.exportRequests, connections: network.connections.opened, tlsSessions: network.tlsSessions };
}

/** Medians of interleaved runs (A B, B A, …); a run over LONG_RUN_MS is not repeated. */
async function measure(variants, reps, context) {
	/** @type {Record<string, any[]>} */
	const runs = Object.fromEntries(variants.map((v) => [v, []]));
	for (let rep = 0; rep < reps; rep++) {
		for (const variant of variants.map((_, i) => variants[(i + rep) % variants.length])) {
			if (rep > 0 && runs[variant][0].wallMs > LONG_RUN_MS) continue;
			const r = await runOnce(variant, context);
			runs[variant].push(r);
			log(`  ${variant.padEnd(14)} rep ${rep + 1}/${reps}: ${(r.wallMs / 1000).toFixed(2)} s, CPU ${(r.cpuMs / 1000).toFixed(2)} s, ${r.records} records, ${r.requests} requests over ${r.connections} connections, RSS +${mb(r.growthRss)} MB`);
		}
	}
	const med = (list, key) => median(list.map((r) => r[key]));
	/** @type {Record<string, any>} */
	const summary = Object.fromEntries(
		Object.entries(runs).map(([variant, list]) => [
			variant,
			{
				runs: list.length,
				...Object.fromEntries(['wallMs', 'cpuMs', 'growthRss', 'requests', 'connections', 'tlsSessions'].map((k) => [k, med(list, k)])),
				records: list[0].records,
				all: list.map((r) => ({ wallMs: Math.round(r.wallMs), cpuMs: Math.round(r.cpuMs), requests: r.requests, connections: r.connections })),
			},
		]),
	);
	return summary;
}

/** One handshake, then every page at the ceiling's pace, or the bare loop's CPU time if larger. */
function floorMs(scenario, cpuFloor, ceiling) {
	const pages = Math.ceil(scenario.size / PAGE_SIZE) + 1;
	return Math.max(cpuFloor[scenario.size] ?? 0, 2 * scenario.rttMs + (pages * scenario.rttMs) / ceiling);
}

function table(scenarios, cpuFloor, ceiling) {
	const lines = [
		'| records | RTT | runs in | variant | runs | time (s) | CPU (s) | CPU µs/record | requests | connections | peak RSS growth (MB) | floor (s) | time ÷ floor | HTTP node time ÷ this |',
		'|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
	];
	for (const s of scenarios) {
		const floor = floorMs(s, cpuFloor, ceiling);
		const http = s.results['n8n-http-json'];
		for (const [variant, r] of Object.entries(s.results)) {
			const own = variant !== 'n8n-http-json';
			lines.push(
				`| ${fmtSize(s.size)} | ${s.rttMs} ms | ${variant.startsWith('n8n-') ? `n8n ${N8N_VERSION}` : 'engine'} | ${LABELS[variant] ?? variant} | ${r.runs} | ` +
					`${(r.wallMs / 1000).toFixed(2)} | ${(r.cpuMs / 1000).toFixed(2)} | ${((r.cpuMs * 1000) / r.records).toFixed(1)} | ${r.requests} | ${r.connections} | ${mb(r.growthRss)} | ` +
					`${(floor / 1000).toFixed(2)} | ${ratio(r.wallMs, floor)} | ${own && http ? ratio(http.wallMs, r.wallMs) : ''} |`,
			);
		}
	}
	return lines.join('\n');
}

/** The targets over the network, checked against this run. */
function verdicts(scenarios, cpuFloor, ceiling) {
	const lines = [];
	const check = (ok, text) => lines.push(`- ${ok ? 'MET   ' : 'MISSED'}: ${text}`);
	for (const s of scenarios) {
		const node = s.results['n8n-node-json'];
		const http = s.results['n8n-http-json'];
		if (!node) continue;
		const tag = `${fmtSize(s.size)}, RTT ${s.rttMs} ms`;
		const floor = floorMs(s, cpuFloor, ceiling);
		const pages = Math.ceil(s.size / PAGE_SIZE) + 1;
		const retries = Math.max(0, node.requests - (pages + ceiling - 1));
		if (http) check(http.wallMs >= 6 * node.wallMs, `${tag}: HTTP node ÷ this ${ratio(http.wallMs, node.wallMs)} ≥ 6`);
		check(node.wallMs <= 1.3 * floor, `${tag}: time ÷ floor ${ratio(node.wallMs, floor)} ≤ 1.3`);
		check(node.connections <= ceiling + retries, `${tag}: ${node.connections} connections ≤ Max Parallel Requests ${ceiling} + ${retries} retries`);
		if (http) {
			check(node.growthRss <= http.growthRss, `${tag}: peak RSS growth ${mb(node.growthRss)} MB ≤ HTTP node's ${mb(http.growthRss)} MB`);
			check(node.cpuMs / node.records <= http.cpuMs / http.records, `${tag}: CPU ${((node.cpuMs * 1000) / node.records).toFixed(1)} µs a record ≤ HTTP node's ${((http.cpuMs * 1000) / http.records).toFixed(1)}`);
		}
	}
	return lines.join('\n');
}

async function main() {
	const args = parseArgs(process.argv.slice(2));
	const started = Date.now();
	const startLoad = os.loadavg().map((l) => l.toFixed(2)).join(' ');
	const dist = path.join(PROJECT, 'dist');
	const ceiling = defaultCeiling(dist);
	await ensureN8n();
	const work = fs.mkdtempSync(path.join(os.tmpdir(), 'evergage-bench-network-'));
	const cert = makeTestCertificate(path.join(work, 'cert'));
	// Every n8n and engine process started from here on trusts the run's CA: no check is turned off.
	process.env.NODE_EXTRA_CA_CERTS = cert.caFile;
	const { freePort } = require('../e2e/lib.js');
	const standinPort = await freePort();
	const proxyPort = await freePort();
	const n8n = await require('./n8n.js').prepareN8n({ url: `https://127.0.0.1:${proxyPort}`, pageSize: PAGE_SIZE, log });
	/** CPU time of the bare undici loop over loopback HTTPS, per size. */
	const cpuFloor = {};
	const scenarios = [];
	try {
		for (const size of args.sizes) {
			const standin = await startStandin(standinPort, size, 0);
			try {
				await standin.warmUp(Math.ceil(size / PAGE_SIZE), PAGE_SIZE);
				const loopback = await startNetwork({ standinPort, rttMs: 0, tls: cert });
				try {
					const floor = await measure(['floor-json'], 1, { n8n, network: loopback, standin, size, dist });
					cpuFloor[size] = floor['floor-json'].cpuMs;
				} finally {
					await loopback.close();
				}
				for (const rttMs of args.rtts) {
					log(`${fmtSize(size)} records over HTTPS, RTT ${rttMs} ms`);
					const network = await startNetwork({ standinPort, rttMs, tls: cert, port: proxyPort });
					try {
						const variants = ['n8n-node-json', 'n8n-http-json'];
						if (args.extras && scenarios.length === 0) variants.push('n8n-user-json', 'trigger-json');
						const results = await measure(variants, repsFor(args, size), { n8n, network, standin, size, dist });
						scenarios.push({ size, rttMs, results });
					} finally {
						await network.close();
					}
				}
			} finally {
				await standin.stop();
			}
		}
	} finally {
		n8n.cleanup();
		fs.rmSync(work, { recursive: true, force: true });
	}
	const cpus = os.cpus();
	const command = `node test/bench/network.js ${process.argv.slice(2).join(' ')}`.trim();
	const report = [
		`## Benchmark over HTTPS with round trips (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)`,
		'',
		`Command: \`${command}\`. Machine: ${cpus.length} × ${cpus[0]?.model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM; n8n ${N8N_VERSION} on Node 24. Load average at start ${startLoad}, at end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ${((Date.now() - started) / 60000).toFixed(1)} min.`,
		`The stand-in (its own process) behind TLS (a certificate made for the run, trusted through NODE_EXTRA_CA_CERTS) and the round-trip proxy of test/support/network.js: every byte waits RTT/2 each way, a new connection's first bytes one RTT more, so a request costs 3 RTT on a new connection and 1 on a reused one. pageSize ${PAGE_SIZE}; this node with its defaults (Max Parallel Requests ${ceiling}). Connections: opened through the proxy during the run. Floor: max(CPU of a bare undici loop over loopback HTTPS, 2 RTT + (pages + 1) × RTT ÷ ${ceiling}). Trigger: n8n-core's engine (\`n8n execute\` does not start at a poll trigger), its wall time for one poll over as many accounts.`,
		'',
		table(scenarios, cpuFloor, ceiling),
		'',
		'Targets:',
		verdicts(scenarios, cpuFloor, ceiling),
		'',
	].join('\n');
	fs.mkdirSync(RESULTS, { recursive: true });
	const out = args.out || path.join(RESULTS, args.quick ? 'network-quick.md' : 'network.md');
	fs.writeFileSync(out, report);
	fs.writeFileSync(out.replace(/\.md$/, '.json'), JSON.stringify({ command, args, ceiling, cpuFloor, startLoad, scenarios }, null, 2));
	process.stdout.write(`${report}\nwritten to ${path.relative(PROJECT, out)}\n`);
}

main().catch((error) => {
	process.stderr.write(`${error?.stack ?? error}\n`);
	process.exit(1);
});
