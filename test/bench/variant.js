// @ts-check
'use strict';
/**
 * One measured run of one variant, in its own process (fresh heap, own RSS baseline).
 *
 *   node test/bench/variant.js '<json>'   json = { variant, url, size, pageSize, concurrency?, dist, n8nDir? }
 *
 * Prints one JSON line: { wallMs, records, baselineRss, peakRss, ... }. Wall time covers the export
 * only (module loading and engine set-up come before the clock starts). Peak RSS is the kernel's
 * high-water mark (getrusage maxRSS) of this process, so short spikes between samples still count;
 * growth = peak − RSS just before the run.
 *
 * Variants
 *   node-json   this node in n8n-core's WorkflowExecute: Return All, JSON items
 *   user-json   the User Export node, the same way, over as many users
 *   http-json   n8n's HTTP Request node (V3, typeVersion 4.2) with Basic auth and its built-in
 *               pagination (qs page = $pageCount, complete when the response is empty), then Split Out
 *               — both from n8n-nodes-base of the cached real n8n install, in the same engine
 *   trigger-json  one poll of the Evergage Trigger (baseline recorded before the clock): the export,
 *               the diff with the snapshot, the new snapshot; reports the snapshot's size too
 *   floor-json  a bare undici loop: page by page, JSON.parse, one array
 *   node-csv    this node, Format CSV, Return All: the whole export into a binary file
 *   floor-csv   undici: the whole CSV export piped into a file
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { httpRequestParameters, loadNodesBase } = require('./http-node');

const spec = JSON.parse(process.argv[2]);
const KEY = 'demo-key';
const SECRET = 'demo-secret';
const PROJECT = path.resolve(__dirname, '../..');

function rssNow() {
	return process.memoryUsage.rss();
}
function peakRss() {
	return process.resourceUsage().maxRSS * 1024;
}
function settle() {
	if (typeof global.gc === 'function') {
		global.gc();
		global.gc();
	}
}

function evergageCredentials(url) {
	return { accountName: 'demo', instance: 'us-1', apiKeyId: KEY, apiSecretKey: SECRET, baseUrl: url };
}

async function prepare() {
	// Only the engine variants load n8n-core: the floor's baseline is a bare Node process.
	const createWorkflowRunner = (types) => require('../support/engine.js').createEngine(types);
	switch (spec.variant) {
		case 'node-json':
		case 'user-json':
		case 'node-csv': {
			const pkg = require(path.join(PROJECT, 'index.js')).loadBuild(spec.dist);
			// The User Export node: the same walk over users.json of an equal-sized population.
			const type = spec.variant === 'user-json' ? 'n8n-nodes-evergage.evergageUserExport' : 'n8n-nodes-evergage.evergageAccountExport';
			const runner = createWorkflowRunner({
				nodeTypes: {
					'n8n-nodes-evergage.evergageAccountExport': new pkg.EvergageAccountExport(),
					'n8n-nodes-evergage.evergageUserExport': new pkg.EvergageUserExport(),
				},
				credentialTypes: { evergageApi: new pkg.EvergageApi() },
			});
			const csv = spec.variant === 'node-csv';
			const options = spec.concurrency ? { concurrency: spec.concurrency } : {};
			// For profiling only: what the name index costs.
			if (spec.deduplicate === false) options.deduplicate = false;
			const parameters = csv
				? { datasetId: 'engage', format: 'csv', returnAll: true, options }
				: { datasetId: 'engage', format: 'json', returnAll: true, pageSize: spec.pageSize, options };
			return async () => {
				const result = await runner.runChain({
					nodes: [
						{
							name: 'Export',
							type,
							typeVersion: 1,
							parameters,
							credentials: { evergageApi: 'Evergage' },
						},
					],
					credentials: { evergageApi: evergageCredentials(spec.url) },
				});
				if (result.status !== 'success') throw new Error(`run ${result.status}: ${result.error?.message}`);
				if (!csv) return { records: result.items.length, keep: result.items };
				const binary = result.items[0].binary.data;
				const stored = await result.binaryData.getMetadata(binary.id).catch(() => undefined);
				return { records: result.items[0].json.rows ?? null, bytes: Number(stored?.fileSize ?? binary.fileSize ?? 0), keep: result.items };
			};
		}
		case 'trigger-json': {
			const pkg = require(path.join(PROJECT, 'index.js')).loadBuild(spec.dist);
			const type = 'n8n-nodes-evergage.evergageTrigger';
			const runner = createWorkflowRunner({
				nodeTypes: { [type]: new pkg.EvergageTrigger() },
				credentialTypes: { evergageApi: new pkg.EvergageApi() },
			});
			const trigger = runner.createPoller({
				type,
				parameters: { datasetId: 'engage', events: ['entered', 'left', 'changed'], changeOn: 'anyField', options: spec.concurrency ? { concurrency: spec.concurrency } : {} },
				credentials: { evergageApi: evergageCredentials(spec.url) },
			});
			const baseline = await trigger.poll();
			if (baseline.error) throw baseline.error;
			return async () => {
				const { items, error } = await trigger.poll();
				if (error) throw error;
				const state = trigger.state();
				return { records: state.present, stateBytes: Buffer.byteLength(JSON.stringify(state)), events: items?.length ?? 0 };
			};
		}
		case 'http-json': {
			const { HttpRequest, SplitOut, HttpBasicAuth } = loadNodesBase(spec.n8nDir);
			const runner = createWorkflowRunner({
				nodeTypes: { 'n8n-nodes-base.httpRequest': new HttpRequest(), 'n8n-nodes-base.splitOut': new SplitOut() },
				credentialTypes: { httpBasicAuth: new HttpBasicAuth() },
			});
			/** @type {Array<{ name: string, type: string, typeVersion: number, parameters: Record<string, unknown>, credentials?: Record<string, string> }>} */
			const nodes = [
				{
					name: 'HTTP Request',
					type: 'n8n-nodes-base.httpRequest',
					typeVersion: 4.2,
					credentials: { httpBasicAuth: 'Evergage basic' },
					parameters: httpRequestParameters(spec.url, spec.pageSize),
				},
			];
			if (spec.splitOut) {
				nodes.push({
					name: 'Split Out',
					type: 'n8n-nodes-base.splitOut',
					typeVersion: 1,
					parameters: { fieldToSplitOut: spec.splitOut, include: 'noOtherFields', options: {} },
				});
			}
			return async () => {
				const result = await runner.runChain({
					nodes,
					credentials: { httpBasicAuth: { user: KEY, password: SECRET } },
				});
				if (result.status !== 'success') throw new Error(`run ${result.status}: ${result.error?.message}`);
				return { records: result.items.length, keep: result.items, sample: spec.debug ? result.items.slice(0, 2) : undefined };
			};
		}
		case 'floor-json': {
			const { request } = /** @type {typeof import('undici')} */ (require('undici'));
			const authorization = `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString('base64')}`;
			return async () => {
				const records = [];
				for (let page = 0; page < 1e7; page++) {
					const { statusCode, body } = await request(
						`${spec.url}/api/dataset/engage/accounts.json?pageSize=${spec.pageSize}&page=${page}`,
						{ headers: { authorization } },
					);
					if (statusCode !== 200) throw new Error(`status ${statusCode}`);
					const parsed = JSON.parse(await body.text());
					if (parsed.length === 0) break;
					for (const record of parsed) records.push(record);
				}
				return { records: records.length, keep: records };
			};
		}
		case 'floor-csv': {
			const { request } = /** @type {typeof import('undici')} */ (require('undici'));
			const { pipeline } = require('stream/promises');
			const authorization = `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString('base64')}`;
			const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'evergage-bench-')), 'export.csv');
			return async () => {
				const { statusCode, body } = await request(`${spec.url}/api/dataset/engage/accounts.csv`, {
					headers: { authorization },
				});
				if (statusCode !== 200) throw new Error(`status ${statusCode}`);
				await pipeline(body, fs.createWriteStream(file));
				const bytes = fs.statSync(file).size;
				fs.rmSync(path.dirname(file), { recursive: true, force: true });
				return { records: null, bytes };
			};
		}
		default:
			throw new Error(`unknown variant ${spec.variant}`);
	}
}

/** `profile: FILE` in the spec: a CPU profile of the export only (load phase excluded), for Chrome DevTools. */
async function startProfiler() {
	const inspector = require('inspector');
	const session = new inspector.Session();
	session.connect();
	const post = (method, params) =>
		new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
	await post('Profiler.enable');
	await post('Profiler.setSamplingInterval', { interval: 500 });
	await post('Profiler.start');
	return {
		stop: async (file) => {
			const { profile } = await post('Profiler.stop');
			fs.writeFileSync(file, JSON.stringify(profile));
			session.disconnect();
		},
	};
}

async function main() {
	const run = await prepare();
	settle();
	const baselineRss = rssNow();
	const baselinePeak = peakRss();
	let sampledPeak = baselineRss;
	const sampler = setInterval(() => {
		const rss = rssNow();
		if (rss > sampledPeak) sampledPeak = rss;
	}, 100);
	const profiler = spec.profile ? await startProfiler() : undefined;
	const cpu0 = process.cpuUsage();
	const t0 = process.hrtime.bigint();
	const outcome = await run();
	const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
	const cpu = process.cpuUsage(cpu0);
	if (profiler) await profiler.stop(spec.profile);
	clearInterval(sampler);
	// maxRSS is the lifetime high-water mark: it speaks for the run only if the run raised it.
	const endPeak = peakRss();
	const peak = endPeak > baselinePeak ? Math.max(endPeak, sampledPeak) : sampledPeak;
	const result = {
		variant: spec.variant,
		wallMs,
		cpuMs: (cpu.user + cpu.system) / 1000,
		records: outcome.records,
		bytes: outcome.bytes,
		stateBytes: outcome.stateBytes,
		baselineRss,
		peakRss: peak,
		growthRss: Math.max(0, peak - baselineRss),
		loadPeakRss: baselinePeak,
		sample: outcome.sample,
	};
	// The records stay reachable until measured: every variant holds what it exported, as a workflow would.
	if (outcome.keep && outcome.keep.length < 0) console.log('unreachable');
	process.stdout.write(`${JSON.stringify(result)}\n`);
	process.exit(0);
}

main().catch((error) => {
	process.stdout.write(`${JSON.stringify({ variant: spec.variant, error: String(error?.stack ?? error) })}\n`);
	process.exit(1);
});
