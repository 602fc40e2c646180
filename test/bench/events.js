// @ts-check
'use strict';
/**
 * Events per second: Evergage → Event → Send (defaults, and Max Parallel Requests 16) against n8n's
 * HTTP Request node (typeVersion 4.2, Basic auth, one POST per input item) in a sequential loop (Loop
 * Over Items, 1 item per batch → HTTP Request → back), and alone with its default (every item's
 * request at once, no bound: its Batching option only spaces the starts, it never waits for answers),
 * over the same items, all in n8n-core's engine, against the stand-in in its own process with a
 * round-trip latency (50 ms by default). Events are counted where they arrive: the stand-in.
 *
 *   node test/bench/events.js [--items 400] [--latency-ms 50] [--reps 3]
 *
 * Needs a build (dist/) and the cached n8n 2.41.1 install (n8n-nodes-base inside) of the e2e suite.
 * Prints a table and writes test/bench/results/events.{json,md}. No test asserts a timing.
 */
const fs = require('fs');
const path = require('path');

const { createEngine } = require('../support/engine');
const L = require('../e2e/lib');
const { httpEventParameters, loadNodesBase } = require('./http-node');

const PROJECT = path.resolve(__dirname, '../..');
const argv = process.argv.slice(2);
const opt = (name, fallback) => {
	const at = argv.indexOf(name);
	return at >= 0 ? Number(argv[at + 1]) : fallback;
};
const ITEMS = opt('--items', 400);
const LATENCY_MS = opt('--latency-ms', 50);
const REPS = opt('--reps', 3);
const N8N_DIR = path.join(L.CACHE, 'n8n-2.41.1');

const input = Array.from({ length: ITEMS }, (_, i) => ({ json: { id: `crm-${i}`, tier: i % 3 ? 'gold' : 'silver' } }));

function runners(url) {
	const pkg = require(path.join(PROJECT, 'index.js')).loadBuild(path.join(PROJECT, 'dist'));
	const { HttpRequest, HttpBasicAuth, SplitInBatches, NoOp } = loadNodesBase(N8N_DIR);
	const engine = createEngine({
		nodeTypes: {
			'n8n-nodes-evergage.evergage': new pkg.Evergage(),
			'n8n-nodes-base.httpRequest': new HttpRequest(),
			'n8n-nodes-base.splitInBatches': new SplitInBatches(),
			'n8n-nodes-base.noOp': new NoOp(),
		},
		credentialTypes: { evergageApi: new pkg.EvergageApi(), httpBasicAuth: new HttpBasicAuth() },
	});
	const evergage = {
		name: 'Evergage',
		type: 'n8n-nodes-evergage.evergage',
		typeVersion: 1,
		credentials: { evergageApi: 'Evergage' },
		parameters: {
			resource: 'event', operation: 'send', datasetId: 'engage', action: 'CRM Sync', identifyBy: 'userId',
			userId: '={{ $json.id }}', attributeInput: 'fields',
			userAttributes: { attribute: [{ name: 'tier', value: '={{ $json.tier }}' }] }, options: {},
		},
	};
	const http = {
		name: 'HTTP Request',
		type: 'n8n-nodes-base.httpRequest',
		typeVersion: 4.2,
		credentials: { httpBasicAuth: 'Evergage basic' },
		parameters: httpEventParameters(url),
	};
	const credentials = {
		evergageApi: { accountName: 'demo', instance: 'us-1', apiKeyId: 'demo-key', apiSecretKey: 'demo-secret', baseUrl: url },
		httpBasicAuth: { user: 'demo-key', password: 'demo-secret' },
	};
	const evergage16 = { ...evergage, parameters: { ...evergage.parameters, options: { concurrency: 16 } } };
	const loop = { name: 'Loop Over Items', type: 'n8n-nodes-base.splitInBatches', typeVersion: 3, parameters: { batchSize: 1, options: {} } };
	// The loop reads where its items came from: a pass-through node in front gives it a source.
	const start = { name: 'Rows', type: 'n8n-nodes-base.noOp', typeVersion: 1, parameters: {} };
	const loopConnections = {
		Rows: { main: [[{ node: 'Loop Over Items', type: 'main', index: 0 }]] },
		'Loop Over Items': { main: [[], [{ node: 'HTTP Request', type: 'main', index: 0 }]] },
		'HTTP Request': { main: [[{ node: 'Loop Over Items', type: 'main', index: 0 }]] },
	};
	return {
		node: async () => await engine.runChain({ nodes: [evergage], credentials, input }),
		node16: async () => await engine.runChain({ nodes: [evergage16], credentials, input }),
		httpSequential: async () => {
			const result = await engine.runChain({ nodes: [start, loop, http], credentials, input, connections: loopConnections });
			// The loop's last output is one item: the count that matters is the stand-in's.
			return { ...result, items: input };
		},
		httpAllAtOnce: async () => await engine.runChain({ nodes: [http], credentials, input }),
	};
}

async function recordedEvents(url) {
	const res = await fetch(`${url}/__standin/actions`);
	return /** @type {{ events: unknown[] }} */ (await res.json()).events.length;
}

async function main() {
	if (!fs.existsSync(path.join(PROJECT, 'dist/nodes/Evergage/Evergage.node.js'))) throw new Error('no build: run npm run build');
	const si = await L.startStandin(['--latency-ms', String(LATENCY_MS)]);
	const VARIANTS = ['node', 'node16', 'httpSequential', 'httpAllAtOnce'];
	const results = Object.fromEntries(VARIANTS.map((variant) => [variant, []]));
	try {
		const run = runners(si.url);
		for (let rep = 0; rep < REPS; rep++) {
			// A rotating order, so that no variant always runs first.
			for (const variant of [...VARIANTS.slice(rep % VARIANTS.length), ...VARIANTS.slice(0, rep % VARIANTS.length)]) {
				await fetch(`${si.url}/__standin/reset`, { method: 'POST' });
				const started = process.hrtime.bigint();
				const result = await run[variant]();
				const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
				if (result.status !== 'success') throw new Error(`${variant}: ${result.error?.message}`);
				const events = await recordedEvents(si.url);
				if (events !== ITEMS || result.items.length !== ITEMS) throw new Error(`${variant}: ${events} events recorded, ${result.items.length} items`);
				results[variant].push({ wallMs, eventsPerSecond: (ITEMS * 1000) / wallMs });
				process.stderr.write(`[events] ${variant} rep ${rep + 1}: ${ITEMS} events in ${(wallMs / 1000).toFixed(2)} s\n`);
			}
		}
	} finally {
		await si.stop();
	}
	const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
	const row = (variant) => ({ wallMs: median(results[variant].map((r) => r.wallMs)), eventsPerSecond: median(results[variant].map((r) => r.eventsPerSecond)) });
	/** @type {Record<string, any>} */
	const summary = { items: ITEMS, latencyMs: LATENCY_MS, reps: REPS, ...Object.fromEntries(VARIANTS.map((v) => [v, row(v)])), runs: results };
	const LABELS = {
		node: 'Evergage → Event → Send, defaults (Max Parallel Requests 8)',
		node16: 'Evergage → Event → Send, Max Parallel Requests 16',
		httpSequential: 'HTTP Request node 4.2 in a sequential loop (Loop Over Items, 1 per batch)',
		httpAllAtOnce: 'HTTP Request node 4.2, its default (every item at once, no bound)',
	};
	const ratio = (v) => (summary[v].eventsPerSecond / summary.httpSequential.eventsPerSecond).toFixed(1);
	const md = [
		`# Events per second (${ITEMS} events, ${LATENCY_MS} ms latency, median of ${REPS})`,
		'',
		'| variant | wall | events/s | × sequential loop |',
		'|---|---|---|---|',
		...VARIANTS.map((v) => `| ${LABELS[v]} | ${(summary[v].wallMs / 1000).toFixed(2)} s | ${summary[v].eventsPerSecond.toFixed(1)} | ${ratio(v)} |`),
		'',
		'All in n8n-core\'s engine (test/support/engine.js), the stand-in in its own process; `node test/bench/events.js`.',
		'',
	].join('\n');
	const dir = path.join(__dirname, 'results');
	fs.writeFileSync(path.join(dir, 'events.json'), `${JSON.stringify(summary, null, '\t')}\n`);
	fs.writeFileSync(path.join(dir, 'events.md'), md);
	process.stdout.write(md);
	process.exit(0);
}

main().catch((error) => {
	process.stderr.write(`${error.stack ?? error}\n`);
	process.exit(1);
});
