#!/usr/bin/env node
'use strict';
// Queue-mode suite: the packed tarball in a real n8n 2.41.1 running as one main and two workers on
// Postgres and Redis (all on 127.0.0.1, throwaway data directories, stopped on any exit).
// Executions are started the production way, through an active workflow's Webhook trigger on main;
// main enqueues them and a worker runs them. Which worker ran an execution is read from the
// workers' logs ("Worker started execution <id>"), the execution itself from main's REST API.
//
//   node test/e2e/queue/run.js [--skip-build] [--tarball PATH] [--only REGEX] [--verbose]
//
// Ends with `N passed, M failed`; exits 1 on any failure.

const assert = require('node:assert/strict');
const path = require('node:path');
const L = require('../lib');
const C = require('./cluster');
const Q = require('./workflows');

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const opt = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const VERBOSE = flag('--verbose');
const ONLY = opt('--only') ? new RegExp(opt('--only'), 'i') : null;
const VERSION = '2.41.1';

const KEY_ID = 'demo-key';
const SECRET = 'demo-secret';
const BAD_SECRET = 'not-the-secret-queue-51d0';
const SMALL = { count: 45, maxPageSize: 7, repeats: 6 }; // as in the e2e suite: paging past short pages, repeats
const BIG_COUNT = 100_001; // one more than the hint threshold (nodes/shared/hints.ts)
const SLOW = { count: 600, latencyMs: 120 }; // ~60 pages of 10 at 120 ms: seconds of work, killable mid-way

const results = [];
const timings = [];
const log = (...a) => console.log('[queue]', ...a);

async function test(name, fn) {
	if (ONLY && !ONLY.test(name)) return;
	const t0 = Date.now();
	try {
		await fn();
		results.push({ name, ok: true });
		console.log(`ok   - ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
	} catch (err) {
		results.push({ name, ok: false, err });
		console.log(`FAIL - ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
		console.log(String((err && err.stack) || err).replace(/^/gm, '    '));
		if (err && err.details) console.log(String(err.details).replace(/^/gm, '    '));
	}
}
async function phase(name, fn) {
	const t0 = Date.now();
	try {
		return await fn();
	} finally {
		timings.push([name, Date.now() - t0]);
	}
}

// ---------------------------------------------------------------------------------------------
// the stand-in and what it serves

const basic = (id, secret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
async function standinGet(si, p) {
	const res = await fetch(si.url + p, { headers: { authorization: basic(KEY_ID, SECRET) } });
	const text = await res.text();
	if (!res.ok) throw new Error(`stand-in ${p}: ${res.status}`);
	return p.includes('.csv') ? text : JSON.parse(text);
}
/** @returns {Promise<any>} */
async function standinStats(si) {
	return (await fetch(`${si.url}/__standin/stats`)).json();
}
async function standinReset(si) {
	await (await fetch(`${si.url}/__standin/reset`, { method: 'POST' })).arrayBuffer();
}
function dedupe(records) {
	const m = new Map();
	for (const r of records) {
		m.delete(r.name);
		m.set(r.name, r);
	}
	return [...m.values()];
}
function checkItems(items, expected) {
	assert.equal(items.length, expected.length, `${items.length} items, expected ${expected.length}`);
	const names = items.map((i) => i.json.name);
	assert.equal(new Set(names).size, names.length, 'an account appears twice in the output');
	const byName = new Map(expected.map((r) => [r.name, r]));
	for (const it of items) assert.deepEqual(it.json, byName.get(it.json.name), `record ${it.json.name} differs from the stand-in's`);
}

// ---------------------------------------------------------------------------------------------
// n8n: workflows through REST, executions through webhooks

async function main() {
	L.installCleanup();
	const t0 = Date.now();
	const inst = L.n8nInstall(VERSION);
	if (!inst.ready) {
		await phase('install n8n', async () => {
			const r = await L.run('bash', [path.join(__dirname, '..', 'install-n8n.sh'), '--only', '2'], { timeoutMs: 30 * 60_000 });
			if (r.code !== 0) throw new Error(`install-n8n.sh exited ${r.code}:\n${L.tail(r.stderr)}`);
		});
	}
	const { parse: unflatten } = require(path.join(inst.dir, 'node_modules', 'flatted'));

	const packDir = L.mkTmp('evg-queue-pack-');
	L.onCleanup(() => L.rmrf(packDir));
	const tarball = opt('--tarball') || (await phase('build + pack', () => L.buildAndPack(packDir, { skipBuild: flag('--skip-build') }))).tarball;

	const [small, big, slow] = await phase('stand-ins', () =>
		Promise.all([
			L.startStandin(['--count', String(SMALL.count), '--max-page-size', String(SMALL.maxPageSize), '--repeats', String(SMALL.repeats)]),
			L.startStandin(['--count', String(BIG_COUNT)]),
			L.startStandin(['--count', String(SLOW.count), '--latency-ms', String(SLOW.latencyMs)]),
		]),
	);

	const cluster = await phase('cluster start', () =>
		C.startQueueCluster(inst, tarball, {
			workers: 2,
			log,
			echo: VERBOSE ? '  ' : undefined,
			// a killed worker's job is found stalled within seconds, and main marks its execution crashed
			extraEnv: { N8N_EXECUTIONS_QUEUE_RECOVERY_INTERVAL: '0.25' },
			workerEnv: { QUEUE_WORKER_LOCK_DURATION: '10000', QUEUE_WORKER_LOCK_RENEW_TIME: '2000', QUEUE_WORKER_STALLED_INTERVAL: '5000' },
		}),
	);
	log(`cluster up in ${(cluster.startMs / 1000).toFixed(1)} s`);
	const { api } = cluster;

	const rest = async (method, p, body) => {
		const r = await api.call(method, p, body);
		if (r.status !== 200) throw new Error(`${method} ${p}: ${r.status} ${r.text.slice(0, 400)}`);
		return r.json.data;
	};
	const credential = async (name, si, secret) =>
		rest('POST', '/rest/credentials', {
			name,
			type: L.CREDENTIAL_TYPE,
			data: { accountName: 'demo', instance: 'us-1', apiKeyId: KEY_ID, apiSecretKey: secret, baseUrl: si.url },
		});
	/** Create and activate a workflow; returns { id, url } where url is its production webhook. */
	const activeWorkflow = async (wf) => {
		const created = await rest('POST', '/rest/workflows', wf);
		await rest('POST', `/rest/workflows/${created.id}/activate`, { versionId: created.versionId });
		const hook = wf.nodes.find((n) => n.type === 'n8n-nodes-base.webhook');
		return { id: created.id, url: `${cluster.main.url}/webhook/${hook.parameters.path}` };
	};
	const seen = new Set();
	/** POST to a workflow's webhook; resolves the id of the execution it started. */
	const trigger = async (wf) => {
		const before = new Set((await listExecutions(wf.id)).map((e) => e.id));
		// activation registers the webhook a moment after the activate call returns
		for (let attempt = 0; ; attempt++) {
			const res = await fetch(wf.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
			const text = await res.text();
			if (res.status === 200) break;
			if (res.status !== 404 || attempt >= 50) throw new Error(`webhook ${wf.url}: ${res.status} ${text.slice(0, 300)}`);
			await L.sleep(200);
		}
		for (let i = 0; i < 100; i++) {
			const fresh = (await listExecutions(wf.id)).filter((e) => !before.has(e.id) && !seen.has(e.id) && e.mode === 'webhook');
			if (fresh.length) {
				seen.add(fresh[0].id);
				return fresh[0].id;
			}
			await L.sleep(200);
		}
		throw new Error(`no execution of workflow ${wf.id} appeared after its webhook was called`);
	};
	const listExecutions = async (workflowId) =>
		(await rest('GET', `/rest/executions?filter=${encodeURIComponent(JSON.stringify({ workflowId }))}&limit=100`)).results;
	const FINISHED = new Set(['success', 'error', 'crashed', 'canceled', 'failed']);
	/** Poll until the execution is finished; returns it with its run data unflattened. */
	const finished = async (id, ms = 120_000) => {
		const t = Date.now();
		for (;;) {
			const e = await rest('GET', `/rest/executions/${id}`);
			if (FINISHED.has(e.status)) return { ...e, data: typeof e.data === 'string' ? unflatten(e.data) : e.data };
			if (Date.now() - t > ms) throw new Error(`execution ${id} still ${e.status} after ${ms} ms`);
			await L.sleep(300);
		}
	};
	const runOf = (e, node, run = 0) => e.data.resultData.runData[node] && e.data.resultData.runData[node][run];
	const itemsOf = (e, node, run = 0) => {
		const r = runOf(e, node, run);
		return r && r.data && r.data.main[0];
	};
	/** The workers whose log says they started this execution. */
	const ranOn = (id) => cluster.workers.filter((w) => new RegExp(`Worker started execution ${id}\\b`).test(w.proc.output())).map((w) => w.name);
	const expectSuccess = async (id) => {
		const e = await finished(id);
		const err = e.data.resultData.error;
		assert.equal(e.status, 'success', `execution ${id}: ${e.status}${err ? `: ${err.message}` : ''}`);
		return e;
	};

	try {
		// credentials are created through main (encrypted there; the workers share its key)
		const ok = await credential('Evergage queue', small, SECRET);
		const bad = await credential('Evergage queue (wrong secret)', small, BAD_SECRET);
		await test('credential Test from main: right pair OK, wrong secret a clear failure', async () => {
			const testCred = async (c) => {
				const got = await rest('GET', `/rest/credentials/${c.id}?includeData=true`);
				return rest('POST', '/rest/credentials/test', { credentials: { id: c.id, name: c.name, type: L.CREDENTIAL_TYPE, data: got.data } });
			};
			const good = await testCred(ok);
			assert.equal(good.status, 'OK', JSON.stringify(good));
			const wrong = await testCred(bad);
			assert.equal(wrong.status, 'Error', JSON.stringify(wrong));
			assert.match(wrong.message, /API Key ID|API Secret Key/);
		});

		// one credential per stand-in: each points at its own base URL
		const creds = {};
		for (const [k, si] of Object.entries({ small, big, slow })) creds[k] = await credential(`Evergage ${k}`, si, SECRET);
		const cred = (k) => ({ id: creds[k].id, name: creds[k].name });

		const allSmall = await standinGet(small, '/api/dataset/engage/accounts.json');
		const expectedSmall = dedupe(allSmall);

		await test('JSON export runs on one worker, exact records, no large-export hint', async () => {
			const wf = await activeWorkflow(Q.exportWorkflow('json', cred('small'), { pageSize: 20 }));
			const id = await trigger(wf);
			const e = await expectSuccess(id);
			checkItems(itemsOf(e, Q.EXPORT), expectedSmall);
			const workers = ranOn(id);
			log(`JSON export: execution ${id} ran on ${workers.join(', ')}`);
			assert.equal(workers.length, 1, `started on ${workers.length} workers: ${workers}`);
			assert.doesNotMatch(cluster.main.proc.output(), new RegExp(`Worker started execution ${id}\\b`));
			assert.deepEqual(runOf(e, Q.EXPORT).hints || [], [], 'a hint on a small export');
		});

		await test('an event batch (Evergage → Event → Send, 60 items) runs on one worker: every event recorded once, answers in order', async () => {
			await standinReset(small);
			const wf = await activeWorkflow(Q.eventBatchWorkflow(cred('small'), 60));
			const id = await trigger(wf);
			const e = await expectSuccess(id);
			const items = itemsOf(e, Q.SEND);
			assert.equal(items.length, 60);
			items.forEach((item, i) => {
				assert.equal(item.json.errorCode, 0, JSON.stringify(item.json));
				const pi = Array.isArray(item.pairedItem) ? item.pairedItem[0] : item.pairedItem;
				assert.equal(pi && pi.item, i);
			});
			const { events } = /** @type {any} */ (await (await fetch(`${small.url}/__standin/actions`)).json());
			const ids = events.map((ev) => ev.body.user.id);
			assert.equal(ids.length, 60, `events recorded: ${ids.length}`);
			assert.equal(new Set(ids).size, 60, 'an event recorded twice');
			const workers = ranOn(id);
			log(`event batch: execution ${id} ran on ${workers.join(', ')}`);
			assert.equal(workers.length, 1, `started on ${workers.length} workers: ${workers}`);
		});

		await test('CSV export on a worker, binary in the database, read by Extract From File there and downloadable from main', async () => {
			const wf = await activeWorkflow(Q.csvWorkflow(cred('small')));
			const id = await trigger(wf);
			const e = await expectSuccess(id);
			const [fileItem] = itemsOf(e, Q.EXPORT);
			const bin = fileItem.binary.data;
			assert.equal(bin.mimeType, 'text/csv');
			assert.match(bin.id, /^database:/, `binary id ${bin.id}: not in database mode`);
			const csvText = await standinGet(small, '/api/dataset/engage/accounts.csv');
			const table = L.parseCsv(csvText).filter((r) => r.length > 1);
			const [header, ...rows] = table;
			const extracted = itemsOf(e, Q.EXTRACT);
			assert.equal(extracted.length, rows.length, `Extract From File read ${extracted.length} rows, the export has ${rows.length}`);
			rows.forEach((row, i) => header.forEach((col, j) => assert.equal(String(extracted[i].json[col]), row[j], `row ${i} ${col}`)));
			assert.ok(rows.some((r) => r[1].includes('\n')), 'no multi-line cell: quoting not exercised');
			const dl = await api.call('GET', `/rest/binary-data?id=${encodeURIComponent(bin.id)}&action=download`);
			assert.equal(dl.status, 200, `download from main: ${dl.status}`);
			assert.equal(dl.text, csvText, 'the stored file differs from what the service sent');
			log(`CSV export: execution ${id} ran on ${ranOn(id).join(', ')}; ${rows.length} rows, ${Buffer.byteLength(csvText)} bytes in ${bin.id.split(':')[0]}`);
			assert.equal(ranOn(id).length, 1);
		});

		const allSlow = await standinGet(slow, '/api/dataset/engage/accounts.json');
		let slowWf;
		await test('two exports at once run on the two workers, side by side, both exact', async () => {
			slowWf = await activeWorkflow(Q.exportWorkflow('json', cred('slow'), { pageSize: 10, concurrency: 1, path: 'evg-slow' }));
			const [a, b] = await Promise.all([trigger(slowWf), trigger(slowWf)]);
			const [ea, eb] = await Promise.all([expectSuccess(a), expectSuccess(b)]);
			checkItems(itemsOf(ea, Q.EXPORT), allSlow);
			checkItems(itemsOf(eb, Q.EXPORT), allSlow);
			const wa = ranOn(a);
			const wb = ranOn(b);
			log(`two at once: ${a} on ${wa}, ${b} on ${wb}; ${ea.startedAt}..${ea.stoppedAt} and ${eb.startedAt}..${eb.stoppedAt}`);
			assert.equal(wa.length, 1);
			assert.equal(wb.length, 1);
			assert.notEqual(wa[0], wb[0], 'both ran on the same worker');
			const overlap = Math.min(Date.parse(ea.stoppedAt), Date.parse(eb.stoppedAt)) - Math.max(Date.parse(ea.startedAt), Date.parse(eb.startedAt));
			assert.ok(overlap > 0, 'the two executions did not overlap in time');
		});

		const allBig = await standinGet(big, '/api/dataset/engage/accounts.json');
		await test(`an export of ${BIG_COUNT} items carries the large-export hint in the saved execution`, async () => {
			const wf = await activeWorkflow(Q.exportWorkflow('json', cred('big'), { pageSize: 10000, path: 'evg-big' }));
			const id = await trigger(wf);
			const e = await expectSuccess(id);
			const items = itemsOf(e, Q.EXPORT);
			assert.equal(items.length, BIG_COUNT);
			const hints = runOf(e, Q.EXPORT).hints || [];
			log(`hint on ${id}: ${JSON.stringify(hints)}`);
			assert.equal(hints.length, 1, `hints: ${JSON.stringify(hints)}`);
			assert.match(hints[0].message, new RegExp(`returned ${BIG_COUNT} items.*CSV.*Start Page`));
			assert.equal(hints[0].location, 'outputPane');
		});

		await test('examples/export-in-batches.json: one sub-execution per batch, counts add up to the export', async () => {
			const BATCH = 25_000;
			const wf = await activeWorkflow(Q.batchExample(cred('big'), BATCH));
			const id = await trigger(wf);
			const e = await expectSuccess(id);
			const counts = e.data.resultData.runData[Q.BATCH_NODE].map((r) => r.data.main[0][0].json.count);
			const done = itemsOf(e, 'Done')[0].json;
			log(`batches: ${id} on ${ranOn(id)}, counts ${JSON.stringify(counts)}, done ${JSON.stringify(done)}`);
			assert.deepEqual(counts, [BATCH, BATCH, BATCH, BATCH, BIG_COUNT - 4 * BATCH]);
			assert.equal(done.exported, allBig.length);
			assert.equal(done.batches, 5);
			const subs = (await listExecutions(wf.id)).filter((x) => x.mode !== 'webhook');
			assert.equal(subs.length, 5, `sub-executions: ${subs.map((s) => `${s.id}:${s.mode}:${s.status}`)}`);
			assert.ok(subs.every((s) => s.status === 'success'), `sub-executions: ${subs.map((s) => s.status)}`);
		});

		await test('the batch example on an export that ends on a full batch: one more, empty batch, and the counts still add up', async () => {
			const wf = await activeWorkflow(Q.batchExample(cred('slow'), 200));
			const e = await expectSuccess(await trigger(wf));
			const counts = e.data.resultData.runData[Q.BATCH_NODE].map((r) => r.data.main[0][0].json.count);
			assert.deepEqual(counts, [200, 200, 200, 0]);
			assert.deepEqual(itemsOf(e, 'Done')[0].json, { batches: 4, exported: allSlow.length });
		});

		await test('a worker killed mid-export: the execution fails clearly, is not retried, nothing doubled; a re-run is exact', async () => {
			await standinReset(slow);
			const id = await trigger(slowWf);
			let victim;
			for (let i = 0; i < 100 && !victim; i++) {
				victim = cluster.workers.find((w) => new RegExp(`Worker started execution ${id}\\b`).test(w.proc.output()));
				if (!victim) await L.sleep(100);
			}
			assert.ok(victim, `no worker started execution ${id}`);
			for (let i = 0; i < 100 && (await standinStats(slow)).exportRequests < 5; i++) await L.sleep(100);
			const before = (await standinStats(slow)).exportRequests;
			assert.ok(before >= 5 && before < allSlow.length / 10, `killed after ${before} page requests: not mid-export`);
			process.kill(-victim.proc.child.pid, 'SIGKILL');
			await victim.proc.exited;
			const survivor = cluster.workers.find((w) => w !== victim);
			const e = await finished(id, 90_000);
			const after = (await standinStats(slow)).exportRequests;
			const why = e.data && e.data.resultData && e.data.resultData.error;
			log(`killed ${victim.name} after ${before} page requests; execution ${id} ended ${e.status}${why ? ` (${why.message})` : ''}; requests after the kill: ${after - before}`);
			const retried = ranOn(id).includes(survivor.name);
			if (e.status === 'success') {
				assert.ok(retried, 'a success, yet no worker ran it to the end');
				checkItems(itemsOf(e, Q.EXPORT), allSlow);
			} else {
				assert.ok(['crashed', 'error', 'failed'].includes(e.status), `status ${e.status}`);
				assert.ok(!retried, `${survivor.name} ran it again, yet it ended ${e.status}`);
				// n8n 2.41.1 fails a stalled job at once (maxStalledCount 0) with this message
				if (e.status === 'error') assert.match((why && why.message) || '', /failed to be processed too many times/);
				const items = (e.data && e.data.resultData && itemsOf(e, Q.EXPORT)) || [];
				assert.equal(new Set(items.map((i) => i.json.name)).size, items.length, 'doubled records in a crashed execution');
			}
			const again = await expectSuccess(await trigger(slowWf));
			checkItems(itemsOf(again, Q.EXPORT), allSlow);
			assert.deepEqual(ranOn(again.id), [survivor.name]);
		});
	} finally {
		await phase('cluster stop', () => cluster.stop());
		await Promise.all([small.stop(), big.stop(), slow.stop()]);
	}
	const secretsSeen = [cluster.main, ...cluster.workers].some((p) => p.proc.output().includes(SECRET) || p.proc.output().includes(BAD_SECRET));
	await test('no secret in the logs of main or the workers', () => assert.ok(!secretsSeen));

	console.log('\n[queue] timings:');
	for (const [n, ms] of timings) console.log(`  ${(ms / 1000).toFixed(1).padStart(7)} s  ${n}`);
	console.log(`  ${((Date.now() - t0) / 1000).toFixed(1).padStart(7)} s  total`);
	const passed = results.filter((r) => r.ok).length;
	const failed = results.length - passed;
	console.log(`\n${passed} passed, ${failed} failed`);
	process.exitCode = failed || !passed ? 1 : 0;
}

main()
	.catch((err) => {
		console.error(err);
		console.log('\n0 passed, 1 failed');
		process.exitCode = 1;
	})
	.finally(() => L.killAll('SIGTERM'));
