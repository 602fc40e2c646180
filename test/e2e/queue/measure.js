#!/usr/bin/env node
'use strict';
// How big an export fits in one n8n 2.41.1 execution, measured (not a test: it prints figures).
//
//   node test/e2e/queue/measure.js [--skip-build] [--only sqlite|queue-json|queue-csv|shape] [--json-sizes 100000,500000,1000000]
//                                 [--csv-rows 1000000,2200000,2600000,4500000]
//
//   sqlite      JSON exports with `n8n execute` on SQLite (regular mode, default execution saving)
//   queue-json  JSON exports through a webhook on a queue-mode main, run by a worker, saved in Postgres
//   queue-csv   CSV exports (one streamed request) on a worker, binary data in database mode
//   shape       the saved size of the same records as one item per record or one item per page
//
// Memory is the peak resident set (VmHWM in /proc) of the process that ran the export: the
// `n8n execute` process, or the worker (its peak reset before each run). Each size is one run.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const L = require('../lib');
const C = require('./cluster');
const Q = require('./workflows');

const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const ONLY = opt('--only');
const JSON_SIZES = opt('--json-sizes', '100000,500000,1000000').split(',').map(Number);
const CSV_ROWS = opt('--csv-rows', '1000000,2200000,2600000,4500000').split(',').map(Number);
const VERSION = '2.41.1';
const KEY = { apiKeyId: 'demo-key', apiSecretKey: 'demo-secret' };
const MiB = 1024 * 1024;
const rows = [];
const ERROR_LINE = /RangeError|Invalid string length|heap out of memory|too large|exceeds|Error:/i;
const log = (...a) => console.log('[measure]', ...a);
const mb = (bytes) => (bytes / MiB).toFixed(0);

function record(r) {
	rows.push(r);
	log(JSON.stringify(r));
}

/** Run a command with stdout and stderr to a file (an n8n run's output can be hundreds of MB); peak RSS from /proc. */
async function runToFile(cmd, args, { env, cwd, outFile, timeoutMs }) {
	const fd = fs.openSync(outFile, 'w');
	const t0 = Date.now();
	const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', fd, fd], detached: true });
	fs.closeSync(fd);
	const kill = () => {
		try {
			process.kill(-child.pid, 'SIGKILL');
		} catch {
			/* gone */
		}
	};
	L.onCleanup(kill);
	let peak = 0;
	const poll = setInterval(() => {
		try {
			const now = C.peakRssMiB(child.pid);
			if (Number.isFinite(now)) peak = Math.max(peak, now);
		} catch {
			/* exiting */
		}
	}, 100);
	const timer = setTimeout(kill, timeoutMs);
	const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? s)));
	clearInterval(poll);
	clearTimeout(timer);
	return { code, ms: Date.now() - t0, peakMiB: Math.round(peak) };
}

function lastError(file) {
	const size = fs.statSync(file).size;
	const fd = fs.openSync(file, 'r');
	const buf = Buffer.alloc(Math.min(size, 64 * 1024));
	fs.readSync(fd, buf, 0, buf.length, size - buf.length);
	fs.closeSync(fd);
	const lines = buf.toString('utf8').split('\n');
	const hit = lines.reverse().find((l) => /RangeError|Invalid string length|heap out of memory|Error:|error/i.test(l));
	return hit ? hit.trim().slice(0, 200) : '';
}

/** The last execution of a workflow in n8n's SQLite file, read under n8n's Node (its sqlite3 binding is built for it). */
async function savedInSqlite(inst, dbFile, workflowId) {
	const script = `const s = require(${JSON.stringify(path.join(inst.dir, 'node_modules', 'sqlite3'))});
const db = new s.Database(process.argv[1], s.OPEN_READONLY);
db.all('SELECT e.id, e.status, length(d.data) AS bytes FROM execution_entity e LEFT JOIN execution_data d ON d.executionId = e.id WHERE e.workflowId = ? ORDER BY e.id DESC LIMIT 1', [process.argv[2]], (err, rows) => { console.log(JSON.stringify(err ? { error: err.message } : rows[0] || null)); db.close(); });`;
	const r = await L.run(inst.nodeBin, ['-e', script, dbFile, workflowId], { timeoutMs: 120_000 });
	try {
		return JSON.parse(r.stdout.trim().split('\n').pop());
	} catch {
		return { error: L.tail(r.stderr, 3) };
	}
}

// ---------------------------------------------------------------------------------------------
async function measureSqlite(inst, tarball, si) {
	const folder = L.mkTmp('evg-measure-sqlite-');
	L.onCleanup(() => L.rmrf(folder));
	await L.installTarball(inst, folder, tarball);
	const credFile = path.join(folder, 'creds.json');
	fs.writeFileSync(credFile, JSON.stringify([{ id: 'measureCred00001', name: 'Evergage', type: L.CREDENTIAL_TYPE, data: { accountName: 'demo', instance: 'us-1', ...KEY, baseUrl: si.url } }]));
	let r = await L.n8nCli(inst, folder, ['import:credentials', `--input=${credFile}`]);
	if (r.code !== 0) throw new Error(`import:credentials: ${L.tail(r.stdout + r.stderr)}`);
	const wfDir = path.join(folder, 'wf');
	fs.mkdirSync(wfDir);
	for (const n of JSON_SIZES) {
		const wf = {
			id: `measureJson${String(n).padStart(7, '0')}`.slice(0, 16),
			name: `measure ${n}`,
			nodes: [
				{ id: 'a0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
				{
					id: 'a0000000-0000-4000-8000-000000000002',
					name: Q.EXPORT,
					type: L.NODE_TYPE,
					typeVersion: 1,
					position: [240, 0],
					parameters: { datasetId: 'engage', format: 'json', returnAll: false, limit: n, pageSize: 10000, options: {} },
					credentials: { evergageApi: { id: 'measureCred00001', name: 'Evergage' } },
				},
			],
			connections: { Start: { main: [[{ node: Q.EXPORT, type: 'main', index: 0 }]] } },
			settings: { executionOrder: 'v1' },
			active: false,
		};
		fs.writeFileSync(path.join(wfDir, `${n}.json`), JSON.stringify(wf));
	}
	r = await L.n8nCli(inst, folder, ['import:workflow', '--separate', `--input=${wfDir}`]);
	if (r.code !== 0) throw new Error(`import:workflow: ${L.tail(r.stdout + r.stderr)}`);
	for (const n of JSON_SIZES) {
		const id = `measureJson${String(n).padStart(7, '0')}`.slice(0, 16);
		const env = L.n8nEnv(inst, folder, { N8N_RUNNERS_BROKER_PORT: String(await L.freePort()), N8N_PORT: String(await L.freePort()) });
		const outFile = path.join(folder, `out-${n}.txt`);
		const run = await runToFile(inst.nodeBin, [inst.n8nBin, 'execute', `--id=${id}`, '--rawOutput'], { env, cwd: folder, outFile, timeoutMs: 15 * 60_000 });
		// what n8n saved: the execution row and the size of its data
		const saved = await savedInSqlite(inst, path.join(folder, '.n8n', 'database.sqlite'), id);
		record({
			where: 'sqlite, n8n execute',
			accounts: n,
			exit: run.code,
			seconds: +(run.ms / 1000).toFixed(1),
			peakRssMiB: run.peakMiB,
			saved: saved ? `${saved.status}, ${saved.bytes == null ? 'no data' : `${mb(saved.bytes)} MiB`}` : 'not saved',
			stdoutMiB: +mb(fs.statSync(outFile).size),
			error: run.code === 0 ? '' : lastError(outFile),
		});
		fs.rmSync(outFile);
	}
}

// ---------------------------------------------------------------------------------------------
async function queueCluster(inst, tarball) {
	return C.startQueueCluster(inst, tarball, { workers: 1, log });
}

async function restHelpers(cluster) {
	const rest = async (method, p, body, timeoutOk) => {
		const r = await cluster.api.call(method, p, body);
		if (r.status !== 200 && !timeoutOk) throw new Error(`${method} ${p}: ${r.status} ${r.text.slice(0, 300)}`);
		return r.json ? r.json.data : undefined;
	};
	const credential = async (si) =>
		rest('POST', '/rest/credentials', { name: `Evergage ${si.url}`, type: L.CREDENTIAL_TYPE, data: { accountName: 'demo', instance: 'us-1', ...KEY, baseUrl: si.url } });
	const activate = async (wf) => {
		const created = await rest('POST', '/rest/workflows', wf);
		await rest('POST', `/rest/workflows/${created.id}/activate`, { versionId: created.versionId });
		return { id: created.id, url: `${cluster.main.url}/webhook/${wf.nodes[0].parameters.path}` };
	};
	const fire = async (wf) => {
		for (let attempt = 0; ; attempt++) {
			const res = await fetch(wf.url, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
			await res.arrayBuffer();
			if (res.status === 200) return;
			if (attempt > 50) throw new Error(`webhook: ${res.status}`);
			await L.sleep(200);
		}
	};
	/**
	 * Wait for the workflow's execution to finish; status and saved size straight from Postgres.
	 * An execution whose saving fails on the worker stays `running` (until main's queue recovery):
	 * stop waiting 20 s after the worker logged an error.
	 */
	const outcome = async (workflowId, ms, workerLog = () => '') => {
		const t0 = Date.now();
		let errorSeenAt = 0;
		for (;;) {
			if (!errorSeenAt && ERROR_LINE.test(workerLog())) errorSeenAt = Date.now();
			if (errorSeenAt && Date.now() - errorSeenAt > 20_000) {
				const [row] = await cluster.pg.query(`SELECT e.id, e.status FROM execution_entity e WHERE e."workflowId" = '${workflowId}' ORDER BY e.id DESC LIMIT 1`);
				return { id: row && row[0], status: `${row ? row[1] : 'absent'} 20 s after the worker logged an error`, bytes: null, ms: Date.now() - t0 };
			}
			const [row] = await cluster.pg.query(
				`SELECT e.id, e.status, length(d.data) FROM execution_entity e LEFT JOIN execution_data d ON d."executionId" = e.id WHERE e."workflowId" = '${workflowId}' ORDER BY e.id DESC LIMIT 1`,
			);
			if (row && !['new', 'running', 'waiting'].includes(row[1])) return { id: row[0], status: row[1], bytes: row[2] ? Number(row[2]) : null, ms: Date.now() - t0 };
			if (Date.now() - t0 > ms) return { id: row && row[0], status: `still ${row ? row[1] : 'absent'} after ${ms} ms`, bytes: null, ms };
			await L.sleep(500);
		}
	};
	return { rest, credential, activate, fire, outcome };
}

async function measureQueueJson(inst, tarball, si) {
	const cluster = await queueCluster(inst, tarball);
	try {
		const h = await restHelpers(cluster);
		const cred = await h.credential(si);
		const [worker] = cluster.workers;
		for (const n of JSON_SIZES) {
			const wf = Q.exportWorkflow('json', { id: cred.id, name: cred.name }, { pageSize: 10000, path: `measure-json-${n}` });
			Object.assign(wf.nodes[1].parameters, { returnAll: false, limit: n });
			const active = await h.activate(wf);
			C.resetPeakRss(worker.pid);
			C.resetPeakRss(cluster.main.proc.child.pid);
			const logAt = worker.proc.output().length;
			await h.fire(active);
			const o = await h.outcome(active.id, 10 * 60_000, () => worker.proc.output().slice(logAt));
			const workerLog = worker.proc.output().slice(logAt);
			const err = (workerLog.split('\n').find((l) => ERROR_LINE.test(l)) || '').trim();
			// opening the execution in the editor: main loads and sends the saved data
			const t = Date.now();
			const view = o.bytes ? await cluster.api.call('GET', `/rest/executions/${o.id}`).catch((e) => ({ status: e.message })) : { status: '-' };
			record({
				where: 'queue, worker + Postgres',
				accounts: n,
				status: o.status,
				seconds: +(o.ms / 1000).toFixed(1),
				workerPeakRssMiB: Math.round(C.peakRssMiB(worker.pid)),
				mainPeakRssMiB: Math.round(C.peakRssMiB(cluster.main.proc.child.pid)),
				savedMiB: o.bytes == null ? null : +mb(o.bytes),
				// n8n 2.x leaves out data above EXECUTIONS_DATA_MAX_DISPLAY_SIZE (100 MiB by default)
				openInEditor: view.json && view.json.data && view.json.data.dataTooLargeToDisplay ? 'too large to display' : `${view.status} in ${((Date.now() - t) / 1000).toFixed(1)} s`,
				error: err.trim().slice(0, 200),
				workerAlive: worker.proc.child.exitCode === null,
			});
			if (worker.proc.child.exitCode !== null) break;
		}
	} finally {
		await cluster.stop();
	}
}

async function measureQueueCsv(inst, tarball) {
	const cluster = await queueCluster(inst, tarball);
	try {
		const h = await restHelpers(cluster);
		const [worker] = cluster.workers;
		for (const count of CSV_ROWS) {
			const si = await L.startStandin(['--count', String(count)]);
			try {
				const cred = await h.credential(si);
				const wf = Q.exportWorkflow('csv', { id: cred.id, name: cred.name }, { path: `measure-csv-${count}` });
				const active = await h.activate(wf);
				C.resetPeakRss(worker.pid);
				const logAt = worker.proc.output().length;
				await h.fire(active);
				const o = await h.outcome(active.id, 10 * 60_000, () => worker.proc.output().slice(logAt));
				const workerLog = worker.proc.output().slice(logAt);
				const [file] = await cluster.pg.query(`SELECT "fileSize" FROM binary_data ORDER BY "createdAt" DESC LIMIT 1`).catch(() => [[null]]);
				const stats = /** @type {any} */ (await (await fetch(`${si.url}/__standin/stats`)).json());
				const err = (workerLog.split('\n').find((l) => ERROR_LINE.test(l)) || '').trim();
				record({
					where: 'queue, CSV to binary data (database mode)',
					rows: count,
					servedMiB: +mb(stats.bytesServed),
					status: o.status,
					seconds: +(o.ms / 1000).toFixed(1),
					workerPeakRssMiB: Math.round(C.peakRssMiB(worker.pid)),
					storedMiB: file && file[0] ? +mb(Number(file[0])) : null,
					error: err.trim().slice(0, 240),
					workerAlive: worker.proc.child.exitCode === null,
				});
				if (worker.proc.child.exitCode !== null) break;
			} finally {
				await si.stop();
			}
		}
	} finally {
		await cluster.stop();
	}
}

// ---------------------------------------------------------------------------------------------
/** The saved form of the same records (n8n stores executions with flatted) as item-per-record or item-per-page. */
function measureShape(inst) {
	const { stringify } = require(path.join(inst.dir, 'node_modules', 'flatted'));
	const { generateAccounts } = require(path.join(L.ROOT, 'test', 'support', 'standin.js'));
	const n = 100_000;
	const records = generateAccounts({ count: n });
	const perRecord = records.map((json) => ({ json, pairedItem: { item: 0 } }));
	const perPage = [];
	for (let i = 0; i < n; i += 1000) perPage.push({ json: { page: i / 1000, records: records.slice(i, i + 1000) }, pairedItem: { item: 0 } });
	for (const [shape, items] of [
		['one item per account', perRecord],
		['one item per page of 1000', perPage],
	]) {
		const t = Date.now();
		const text = stringify({ resultData: { runData: { Export: [{ data: { main: [items] } }] } } });
		record({ where: 'saved form (flatted)', shape, accounts: n, savedMiB: +(Buffer.byteLength(text) / MiB).toFixed(1), stringifyMs: Date.now() - t });
	}
}

// ---------------------------------------------------------------------------------------------
async function main() {
	L.installCleanup();
	const inst = L.n8nInstall(VERSION);
	if (!inst.ready) throw new Error(`${inst.dir} is not complete: bash test/e2e/install-n8n.sh --only 2`);
	const packDir = L.mkTmp('evg-measure-pack-');
	L.onCleanup(() => L.rmrf(packDir));
	const { tarball } = await L.buildAndPack(packDir, { skipBuild: argv.includes('--skip-build') });
	const want = (k) => !ONLY || ONLY.split(',').includes(k);
	const t0 = Date.now();
	if (want('shape')) measureShape(inst);
	if (want('sqlite') || want('queue-json')) {
		const si = await L.startStandin(['--count', String(Math.max(...JSON_SIZES))]);
		try {
			if (want('sqlite')) await measureSqlite(inst, tarball, si);
			if (want('queue-json')) await measureQueueJson(inst, tarball, si);
		} finally {
			await si.stop();
		}
	}
	if (want('queue-csv')) await measureQueueCsv(inst, tarball);
	log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
	console.log(JSON.stringify(rows, null, 1));
}

main()
	.catch((err) => {
		console.error(err);
		process.exitCode = 1;
	})
	.finally(() => L.killAll('SIGTERM'));
