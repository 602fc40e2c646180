#!/usr/bin/env node
'use strict';
// End-to-end suite: the packed n8n-nodes-evergage tarball installed into real n8n instances
// (2.41.1 on Node 24, 1.123.81 on Node 20), driven headlessly against the local stand-in server.
//
//   node test/e2e/run.js [--versions 2.41.1,1.123.81] [--no-install] [--skip-build]
//                        [--tarball PATH] [--serial] [--only REGEX] [--keep] [--verbose]
//
//   --no-install  do not run install-n8n.sh first (a version missing from the cache then fails)
//   --skip-build  pack the existing dist/ without `npm run build`
//   --tarball     test this package tarball instead of building and packing /work/main
//   --serial      run the n8n versions one after the other (default: side by side)
//   --npm-install install with `npm install --legacy-peer-deps --omit=dev <tgz>` in .n8n/nodes
//                 instead of the Community Nodes screen's steps (extract, strip deps, npm install)
//   --only REGEX  run only the tests whose name matches (setup phases still run)
//   --keep        keep the temporary n8n user folders (paths are printed)
//   --verbose     print every n8n execute's output and n8n start's log
// Environment: E2E_N8N_VERSIONS (same as --versions), XDG_CACHE_HOME (where the n8n installs are).
//
// Ends with a line `N passed, M failed` and exits non-zero on any failure.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');
const T = require('./tls');

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const opt = (name, dflt) => {
	const i = argv.indexOf(name);
	return i >= 0 ? argv[i + 1] : dflt;
};
const VERBOSE = flag('--verbose') || !!process.env.E2E_VERBOSE;
const ONLY = opt('--only') ? new RegExp(opt('--only'), 'i') : null; // run only the tests whose name matches
const KEEP = flag('--keep');
const VERSIONS = (opt('--versions', process.env.E2E_N8N_VERSIONS) || '2.41.1,1.123.81').split(',').map((s) => s.trim()).filter(Boolean);

const KEY_ID = 'demo-key';
const SECRET = 'demo-secret';
const BAD_SECRET = 'not-the-secret-e2e-9f3c';
const SECRETS = [
	SECRET,
	BAD_SECRET,
	Buffer.from(`${KEY_ID}:${SECRET}`).toString('base64'),
	Buffer.from(`${KEY_ID}:${BAD_SECRET}`).toString('base64'),
];
const STANDIN_COUNT = 45; // accounts in the `engage` dataset
const STANDIN_MAX_PAGE = 7; // server-side cap, below the node's pageSize (20) in the workflows
const STANDIN_REPEATS = 6; // accounts that appear again later in the export (the last copy is current)
const OK_CRED = { id: 'e2eEvgCredOk0001', name: 'Evergage e2e' };
const BAD_CRED = { id: 'e2eEvgCredBad001', name: 'Evergage e2e (wrong secret)' };
const TLS_CRED = { id: 'e2eEvgCredTls001', name: 'Evergage e2e (HTTPS, round trips)' };
/** The run's certificate (made in main, before any n8n starts). */
let runCertificate;

// ---------------------------------------------------------------------------------------------
// tiny harness
const results = [];
const timings = [];
const log = (...a) => console.log('[e2e]', ...a);
const vlog = (...a) => VERBOSE && console.log('[e2e]', ...a);

async function phase(name, fn) {
	const t0 = Date.now();
	try {
		return await fn();
	} finally {
		timings.push([name, Date.now() - t0]);
		log(`phase ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
	}
}

// ctx.lastOut: the output that explains a failure (the last `n8n execute`, or a function giving
// n8n start's log), one ctx per n8n version so that parallel runs do not mix them up
async function testGlobal(name, fn, ctx = {}) {
	if (ONLY && !ONLY.test(name)) return;
	const t0 = Date.now();
	ctx.lastOut = ctx.keepOut ? ctx.lastOut : null;
	try {
		await fn();
		results.push({ name, ok: true, ms: Date.now() - t0 });
		console.log(`ok   - ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
	} catch (err) {
		results.push({ name, ok: false, ms: Date.now() - t0, err });
		console.log(`FAIL - ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
		console.log(indent(err && err.stack ? err.stack : String(err)));
		const details = (err && err.details) || (typeof ctx.lastOut === 'function' ? ctx.lastOut() : ctx.lastOut);
		if (details) console.log(indent(`--- n8n output ---\n${details}`));
	}
}
const test = (name, fn) => testGlobal(name, fn, {});
const indent = (s) => String(s).replace(/^/gm, '    ');

function withDetails(err, details) {
	if (err && typeof err === 'object') err.details = details;
	return err;
}

// ---------------------------------------------------------------------------------------------
// stand-in helpers

function basic(id, secret) {
	return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

async function standinGet(si, p) {
	let res;
	for (let attempt = 0; ; attempt++) {
		res = await fetch(si.url + p, { headers: { authorization: basic(KEY_ID, SECRET) } });
		if (res.status !== 429 || attempt >= 3) break;
		await res.arrayBuffer();
		await L.sleep(1000 * Number(res.headers.get('retry-after') || 1));
	}
	const text = await res.text();
	if (!res.ok) throw new Error(`stand-in ${p}: ${res.status} ${text.slice(0, 200)}`);
	return p.includes('.csv') ? text : JSON.parse(text);
}
/** @returns {Promise<{ exportRequests: number, byStatus: Record<string, number> }>} */
async function standinStats(si) {
	const res = await fetch(`${si.url}/__standin/stats`);
	return /** @type {any} */ (await res.json());
}
/** Replaces a dataset of the stand-in (its control route): the trigger sees the change on its next poll. */
async function standinSetDataset(si, datasetId, dataset) {
	const res = await fetch(`${si.url}/__standin/dataset/${encodeURIComponent(datasetId)}`, { method: 'PUT', body: JSON.stringify(dataset) });
	const text = await res.text();
	if (!res.ok) throw new Error(`stand-in dataset ${datasetId}: ${res.status} ${text}`);
}
async function standinReset(si) {
	const res = await fetch(`${si.url}/__standin/reset`, { method: 'POST' });
	await res.arrayBuffer();
}

/** The account key the node deduplicates on; the last occurrence wins. */
function accountKey(r) {
	return r.accountId ?? r.id ?? r.name;
}
function dedupe(records) {
	const m = new Map();
	for (const r of records) {
		const k = accountKey(r);
		m.delete(k);
		m.set(k, r);
	}
	return [...m.values()];
}

// ---------------------------------------------------------------------------------------------
// per-version run

function substitute(text, vars) {
	return text.replace(/__([A-Z_]+)__/g, (m, k) => (k in vars ? vars[k] : m));
}

/**
 * Prepare an example workflow for a headless run: credentials, local paths, manual trigger.
 * @param {string} file @param {{ id: string, outDir?: string, swapSchedule?: boolean }} options
 */
function prepareExample(file, { id, outDir, swapSchedule }) {
	const wf = JSON.parse(fs.readFileSync(file, 'utf8'));
	wf.id = id;
	wf.active = false;
	for (const n of wf.nodes) {
		if (n.credentials?.evergageApi) n.credentials = { evergageApi: { ...OK_CRED } };
		if (n.type === 'n8n-nodes-base.readWriteFile' && n.parameters.operation === 'write') {
			n.parameters.fileName = n.parameters.fileName.replace('/home/node/.n8n-files/evergage', outDir);
		}
		if (swapSchedule && n.type === 'n8n-nodes-base.scheduleTrigger') {
			n.type = 'n8n-nodes-base.manualTrigger';
			n.typeVersion = 1;
			n.parameters = {};
		}
	}
	return wf;
}

/**
 * `n8n execute` starts only at a Manual Trigger: the form trigger becomes one, followed by a Code node
 * of the form's name that answers with `answer` (the form's fields), so every node after it runs as
 * it would after a real submission.
 */
function swapFormTrigger(wf, answer) {
	const form = wf.nodes.find((n) => n.type === 'n8n-nodes-base.formTrigger');
	const manual = { id: 'e2e-manual-trigger', name: 'Run manually', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [-240, 0], parameters: {} };
	form.type = 'n8n-nodes-base.code';
	form.typeVersion = 2;
	form.parameters = { jsCode: `return [{ json: ${JSON.stringify(answer)} }];` };
	delete form.webhookId;
	wf.nodes.push(manual);
	wf.connections[manual.name] = { main: [[{ node: form.name, type: 'main', index: 0 }]] };
	return wf;
}

/** Events and deletions the stand-in recorded since its last reset. */
async function standinActions(si) {
	const res = await fetch(`${si.url}/__standin/actions`);
	return /** @type {any} */ (await res.json());
}

async function runVersion(version, tarball) {
	const inst = L.n8nInstall(version);
	const tag = `[${version}]`;
	const ctx = {};
	const test = (name, fn) => testGlobal(name, fn, ctx);
	if (!inst.ready) {
		await test(`${tag} n8n install present in cache`, () => {
			throw new Error(`${inst.dir} is not a complete install: run bash test/e2e/install-n8n.sh`);
		});
		return;
	}
	const userFolder = L.mkTmp(`evg-e2e-${version}-`);
	const outDir = path.join(userFolder, 'files-out');
	fs.mkdirSync(outDir, { recursive: true });
	if (!KEEP) L.onCleanup(() => L.rmrf(userFolder));
	else log(`${tag} user folder kept: ${userFolder}`);
	const allOutput = []; // every stdout/stderr from n8n, checked for secrets at the end
	const fileEnv = { N8N_RESTRICT_FILE_ACCESS_TO: outDir };

	// one stand-in per version, so request counts are this version's alone
	const si = await phase(`${tag} stand-in`, async () => {
		await L.waitForFile(L.STANDIN, 15 * 60_000, log);
		return L.startStandin([
				'--count', String(STANDIN_COUNT), '--max-page-size', String(STANDIN_MAX_PAGE), '--repeats', String(STANDIN_REPEATS),
			]);
	});
	// the same stand-in behind HTTPS and round trips, for the cases that count connections
	const net = await T.startHttpsNetwork(si, runCertificate);
	try {
		await phase(`${tag} install tarball`, () =>
			L.installTarball(inst, userFolder, tarball, { mode: flag('--npm-install') ? 'npm' : 'screen' }),
		);

		await phase(`${tag} import credentials + workflows`, async () => {
			const creds = [
				{ ...OK_CRED, type: L.CREDENTIAL_TYPE, data: { accountName: 'demo', instance: 'us-1', apiKeyId: KEY_ID, apiSecretKey: SECRET, baseUrl: si.url } },
				{ ...BAD_CRED, type: L.CREDENTIAL_TYPE, data: { accountName: 'demo', instance: 'us-1', apiKeyId: KEY_ID, apiSecretKey: BAD_SECRET, baseUrl: si.url } },
				{ ...TLS_CRED, type: L.CREDENTIAL_TYPE, data: { accountName: 'demo', instance: 'us-1', apiKeyId: KEY_ID, apiSecretKey: SECRET, baseUrl: net.url } },
			];
			const credFile = path.join(userFolder, 'creds.json');
			fs.writeFileSync(credFile, JSON.stringify(creds));
			let r = await L.n8nCli(inst, userFolder, ['import:credentials', `--input=${credFile}`]);
			allOutput.push(r.stdout, r.stderr);
			fs.rmSync(credFile);
			if (r.code !== 0) throw withDetails(new Error(`import:credentials exited ${r.code}`), L.tail(r.stdout + r.stderr));

			const wfDir = path.join(userFolder, 'workflows');
			fs.mkdirSync(wfDir);
			const vars = { CRED_ID: OK_CRED.id, CRED_NAME: OK_CRED.name, BAD_CRED_ID: BAD_CRED.id, BAD_CRED_NAME: BAD_CRED.name, TLS_CRED_ID: TLS_CRED.id, TLS_CRED_NAME: TLS_CRED.name };
			for (const f of fs.readdirSync(path.join(__dirname, 'workflows'))) {
				if (!f.endsWith('.json')) continue;
				fs.writeFileSync(path.join(wfDir, f), substitute(fs.readFileSync(path.join(__dirname, 'workflows', f), 'utf8'), vars));
			}
			const examples = path.join(L.ROOT, 'examples');
			fs.writeFileSync(
				path.join(wfDir, 'example-nightly.json'),
				JSON.stringify(prepareExample(path.join(examples, 'nightly-segment-csv.json'), { id: 'e2eExNightly0001', outDir, swapSchedule: false })),
			);
			fs.writeFileSync(
				path.join(wfDir, 'example-nightly-manual.json'),
				JSON.stringify(prepareExample(path.join(examples, 'nightly-segment-csv.json'), { id: 'e2eExNightlyMan1', outDir, swapSchedule: true })),
			);
			fs.writeFileSync(
				path.join(wfDir, 'example-users-sheet.json'),
				JSON.stringify(prepareExample(path.join(examples, 'users-segment-geo-sheet.json'), { id: 'e2eExUsersSheet1', outDir })),
			);
			fs.writeFileSync(
				path.join(wfDir, 'example-crm.json'),
				JSON.stringify(prepareExample(path.join(examples, 'crm-upsert.json'), { id: 'e2eExCrmUpsert01', outDir })),
			);
			fs.writeFileSync(
				path.join(wfDir, 'example-crm-attributes.json'),
				JSON.stringify(prepareExample(path.join(examples, 'crm-to-personalization-attributes.json'), { id: 'e2eExCrmAttrs001', swapSchedule: true })),
			);
			fs.writeFileSync(
				path.join(wfDir, 'example-gdpr.json'),
				JSON.stringify(swapFormTrigger(prepareExample(path.join(examples, 'gdpr-request.json'), { id: 'e2eExGdprReq0001' }), { 'User ID': 'anon-grace-1' })),
			);
			r = await L.n8nCli(inst, userFolder, ['import:workflow', '--separate', `--input=${wfDir}`]);
			allOutput.push(r.stdout, r.stderr);
			if (r.code !== 0) throw withDetails(new Error(`import:workflow exited ${r.code}`), L.tail(r.stdout + r.stderr));
		});

		// expected data, straight from the stand-in
		const all = await standinGet(si, '/api/dataset/engage/accounts.json');
		const expectedAll = dedupe(all);
		if (all.length === expectedAll.length) log(`${tag} note: the stand-in export has no repeated accounts; deduplication is not exercised`);
		await standinReset(si);

		/** run one workflow with `n8n execute`; returns { code, result, out } */
		/** @param {string} id @param {{ extraEnv?: Record<string, string> }} [options] */
		async function execute(id, { extraEnv } = {}) {
			const r = await L.n8nCli(inst, userFolder, ['execute', `--id=${id}`, '--rawOutput'], { extraEnv: { ...fileEnv, ...extraEnv } });
			allOutput.push(r.stdout, r.stderr);
			const result = L.parseExecuteOutput(r.stdout);
			// what explains a failure: n8n's closing error report, else the tail of its output
			const k = r.stdout.lastIndexOf('Error executing workflow');
			const stdoutPart = k >= 0 ? r.stdout.slice(k) : L.tail(r.stdout, 40);
			const how = r.timedOut ? `TIMED OUT (no result, killed after ${r.ms} ms)` : `exit ${r.code}${r.signal ? ` (signal ${r.signal})` : ''} after ${r.ms} ms`;
			const out = `n8n execute --id=${id}: ${how}\n--- stdout ---\n${L.tail(stdoutPart, 40)}\n--- stderr ---\n${L.tail(r.stderr, 40)}`;
			vlog(`${tag} execute ${id}: ${out}`);
			ctx.lastOut = out;
			return { code: r.code, signal: r.signal, timedOut: r.timedOut, result, out, stdout: r.stdout, stderr: r.stderr, ms: r.ms };
		}
		async function expectSuccess(id, nodeName = 'Evergage Account Export') {
			const x = await execute(id);
			try {
				assert.ok(!x.timedOut, `n8n execute hung: no result after ${x.ms} ms (killed)`);
				if (x.code !== 0 && x.signal && x.result && x.result.data && !x.result.data.resultData.error) {
					// seen once on 2.41.1: the process was killed by a signal while shutting down, after
					// printing a complete, successful run. The run itself is what this suite tests.
					log(`${tag} warning: n8n execute --id=${id} ended by ${x.signal} after printing a successful run`);
				} else assert.equal(x.code, 0, `n8n execute exited ${x.code}`);
				assert.ok(x.result, 'no run JSON in the output');
				const err = x.result.data && x.result.data.resultData && x.result.data.resultData.error;
				assert.ok(!err, `run error: ${err && err.message}`);
				const items = L.itemsOf(x.result, nodeName);
				assert.ok(Array.isArray(items), `no output for node "${nodeName}"`);
				return { ...x, items };
			} catch (e) {
				throw withDetails(e, x.out);
			}
		}
		async function expectFailure(id) {
			const x = await execute(id);
			const text = `${x.stdout}\n${x.stderr}`;
			try {
				assert.notEqual(x.code, 0, 'n8n execute exited 0 for a run that must fail');
				return { ...x, text };
			} catch (e) {
				throw withDetails(e, x.out);
			}
		}
		const checkItems = (items, expected) => {
			assert.equal(items.length, expected.length, `item count ${items.length} != expected ${expected.length}`);
			const keys = items.map((i) => accountKey(i.json));
			assert.equal(new Set(keys).size, keys.length, 'duplicate accounts in the output');
			const byKey = new Map(expected.map((r) => [accountKey(r), r]));
			for (const it of items) {
				const exp = byKey.get(accountKey(it.json));
				assert.ok(exp, `unexpected account ${accountKey(it.json)}`);
				assert.deepEqual(it.json, exp, `record for ${accountKey(it.json)} differs from the stand-in's`);
				const pi = Array.isArray(it.pairedItem) ? it.pairedItem[0] : it.pairedItem;
				assert.ok(pi && pi.item === 0, `pairedItem missing or wrong: ${JSON.stringify(it.pairedItem)}`);
			}
		};

		await phase(`${tag} execute workflows`, async () => {
			await test(`${tag} Return All (JSON) over a server page cap of ${STANDIN_MAX_PAGE} < pageSize 20`, async () => {
				await standinReset(si);
				const { items } = await expectSuccess('e2eReturnAll0001');
				checkItems(items, expectedAll);
				const stats = await standinStats(si);
				vlog(`${tag} stats after return all: ${JSON.stringify(stats)}`);
				// 45 accounts + repeats over pages of at most 7: the node must page past short pages
				assert.ok(stats.exportRequests >= Math.ceil(all.length / STANDIN_MAX_PAGE), `only ${stats.exportRequests} export requests`);
			});

			await test(`${tag} Return All over HTTPS with ${T.E2E_RTT_MS} ms round trips: every account, at most one connection per request`, async () => {
				await standinReset(si);
				net.resetCounts();
				const { items } = await expectSuccess('e2eReturnAllTls1');
				checkItems(items, expectedAll);
				log(`${tag} HTTPS export: ${T.checkConnections(net, await standinStats(si))}`);
			});

			await test(`${tag} Limit 12`, async () => {
				const { items } = await expectSuccess('e2eLimit00000001');
				assert.equal(items.length, 12);
				const byKey = new Map(expectedAll.map((r) => [accountKey(r), r]));
				for (const it of items) assert.ok(byKey.has(accountKey(it.json)), `unexpected account ${accountKey(it.json)}`);
			});

			await test(`${tag} filter by segment name with spaces ("High Value Accounts")`, async () => {
				const expected = dedupe(await standinGet(si, `/api/dataset/engage/accounts.json?filter=${encodeURIComponent('High Value Accounts')}`));
				assert.ok(expected.length > 0 && expected.length < expectedAll.length, `stand-in segment size ${expected.length}: test is meaningless`);
				await standinReset(si);
				const { items } = await expectSuccess('e2eFilterSeg0001');
				checkItems(items, expected);
			});

			await test(`${tag} start (ISO date) and end (epoch ms) reach the API as epoch ms`, async () => {
				// the stand-in recomputes totalActions for the window, so the records prove which window was sent
				const s = Date.parse('2014-01-01T00:00:00.000Z');
				const e = 1435708799999; // 2015-06-30T23:59:59.999Z
				const expected = dedupe(await standinGet(si, `/api/dataset/engage/accounts.json?start=${s}&end=${e}`));
				await standinReset(si);
				const { items } = await expectSuccess('e2eStartEnd00001');
				checkItems(items, expected);
				const changed = expected.filter((r) => r.totalActions !== expectedAll.find((x) => accountKey(x) === accountKey(r)).totalActions);
				assert.ok(changed.length > 0, 'the window changes no record: test is meaningless');
			});

			await test(`${tag} CSV: one binary item (text/csv, engage-accounts.csv), read back with Extract from File`, async () => {
				const x = await expectSuccess('e2eCsvFile000001');
				assert.equal(x.items.length, 1, 'CSV must give exactly one item');
				const bin = x.items[0].binary && x.items[0].binary.data;
				assert.ok(bin, `no binary property "data": ${JSON.stringify(x.items[0]).slice(0, 300)}`);
				assert.equal(bin.mimeType, 'text/csv');
				assert.equal(bin.fileName, 'engage-accounts.csv');
				const pi = Array.isArray(x.items[0].pairedItem) ? x.items[0].pairedItem[0] : x.items[0].pairedItem;
				assert.ok(pi && pi.item === 0, 'pairedItem on the CSV item');
				// the raw bytes: inline base64 (1.x default mode) or a file under the user folder (2.x)
				let csv;
				let csvFrom = '';
				if (bin.data && bin.data !== 'filesystem-v2' && !bin.id) {
					csv = Buffer.from(bin.data, 'base64').toString('utf8');
					csvFrom = 'inline base64 in the run data';
				}
				else if (bin.id) {
					const rel = bin.id.replace(/^filesystem(-v2)?:/, '');
					const candidates = [path.join(userFolder, '.n8n', 'binaryData', rel), path.join(userFolder, '.n8n', 'storage', rel)];
					const f = candidates.find((c) => fs.existsSync(c));
					if (f) {
						csv = fs.readFileSync(f, 'utf8');
						csvFrom = `file ${path.relative(userFolder, f)}`;
					}
				}
				// CSV is passed through as the service sends it (deduplication is JSON only): compare with
				// the stand-in's own one-request CSV export, repeats included
				const expectedTable = L.parseCsv(await standinGet(si, '/api/dataset/engage/accounts.csv'));
				const rows = L.itemsOf(x.result, 'Extract from File');
				assert.ok(rows, 'Extract from File produced no output');
				assert.equal(rows.length, expectedTable.length - 1, `CSV rows ${rows.length} != ${expectedTable.length - 1} rows of the export`);
				const names = new Set(expectedAll.map((r) => String(r.name)));
				for (const r of rows) assert.ok(names.has(String(r.json.name)), `CSV row with unknown name ${JSON.stringify(r.json).slice(0, 200)}`);
				if (csv !== undefined) {
					const table = L.parseCsv(csv);
					const header = table[0].join(',');
					assert.ok(table[0].includes('name'), `CSV header: ${header}`);
					assert.equal(table.filter((r) => r.join(',') === header).length, 1, 'header row repeated inside the CSV');
					assert.equal(table.length - 1, rows.length, `raw CSV rows ${table.length - 1} != Extract from File rows ${rows.length}`);
					assert.deepEqual(table, expectedTable, 'the CSV file differs from the stand-in export (paged vs one request)');
					const multiline = expectedAll.filter((r) => /\n/.test(r.displayName || ''));
					for (const r of multiline) {
						const nameCol = table[0].indexOf('name');
						const dnCol = table[0].indexOf('displayName');
						const row = table.find((x) => x[nameCol] === r.name);
						assert.ok(row, `account ${r.name} (multi-line displayName) missing from the CSV`);
						if (dnCol >= 0) assert.equal(row[dnCol], r.displayName, 'multi-line displayName survived CSV quoting');
					}
					log(`${tag} CSV bytes checked from the ${csvFrom}`);
				} else log(`${tag} note: raw CSV bytes not found on disk (binary id ${bin.id}); checked through Extract from File only`);
			});

			await test(`${tag} wrong secret: run fails with the credential message, no secret in the output`, async () => {
				const x = await expectFailure('e2eWrongCreds001');
				const msg = errorMessage(x);
				log(`${tag} wrong secret: "${msg}"`);
				assert.match(msg, /API Key ID/i, `message should name the API Key ID: ${msg}`);
				assert.match(msg, /Secret/i, `message should name the secret key: ${msg}`);
			});

			await test(`${tag} unknown dataset: run fails, message names the dataset`, async () => {
				const x = await expectFailure('e2eUnknownDs0001');
				const msg = errorMessage(x);
				log(`${tag} unknown dataset: "${msg}"`);
				assert.match(msg, /no-such-dataset/, `message should name the dataset: ${msg}`);
			});

			await test(`${tag} restricted dataset (403): run fails with a clear message`, async () => {
				const x = await expectFailure('e2eRestricted001');
				const msg = errorMessage(x);
				log(`${tag} restricted dataset: "${msg}"`);
				assert.match(msg, /403|forbidden|permission|access|not allowed/i, `message should say access is refused: ${msg}`);
			});

			await test(`${tag} 429 with Retry-After, then success: exact count, no doubles`, async () => {
				const expected = dedupe(await standinGet(si, '/api/dataset/flaky/accounts.json'));
				await standinReset(si);
				const { items } = await expectSuccess('e2eFlaky42900001');
				checkItems(items, expected);
				const stats = await standinStats(si);
				vlog(`${tag} flaky stats: ${JSON.stringify(stats)}`);
				assert.ok((stats.byStatus && stats.byStatus['429']) >= 1, `the stand-in answered no 429: ${JSON.stringify(stats)}`);
			});

			await test(`${tag} User Export, Return All with Include Geo: every user once, the last copy, location passed through`, async () => {
				const served = await standinGet(si, '/api/dataset/engage/users.json?includeGeo=true');
				const expected = dedupe(served);
				assert.ok(expected.length < served.length, 'the stand-in users export has no repeats: dedupe is not exercised');
				await standinReset(si);
				const { items } = await expectSuccess('e2eUsersGeoJson1', 'Evergage User Export');
				checkItems(items, expected);
				assert.ok(items.every((i) => i.json.location && typeof i.json.location.city === 'string'), 'a user without location');
				const stats = await standinStats(si);
				assert.ok(stats.exportRequests > 1, `one request: paging not exercised (${JSON.stringify(stats)})`);
			});

			await test(`${tag} User Export CSV with Limit 30 over pages of 7: one engage-users.csv, header once, 30 rows`, async () => {
				const x = await expectSuccess('e2eUsersCsvLim01', 'Evergage User Export');
				assert.equal(x.items.length, 1);
				assert.equal(x.items[0].binary.data.fileName, 'engage-users.csv');
				assert.equal(x.items[0].json.rows, 30);
				const rows = L.itemsOf(x.result, 'Extract from File');
				const expected = L.parseCsv(await standinGet(si, '/api/dataset/engage/users.csv?includeGeo=true'));
				assert.equal(rows.length, 30, `Extract from File rows: ${rows.length}`);
				const header = expected[0];
				rows.forEach((r, k) => {
					assert.equal(String(r.json.name), expected[k + 1][header.indexOf('name')], `row ${k}`);
					assert.equal(String(r.json['location.city']), expected[k + 1][header.indexOf('location.city')], `row ${k} city`);
				});
			});

			await test(`${tag} example users-segment-geo-sheet.json: a segment's users with location as sheet rows`, async () => {
				const served = dedupe(await standinGet(si, `/api/dataset/engage/users.json?includeGeo=true&filter=${encodeURIComponent('High Value Accounts')}`));
				const { items } = await expectSuccess('e2eExUsersSheet1', 'Append to your sheet (replace me)');
				assert.equal(items.length, served.length);
				assert.ok(items.length > 0, 'the segment has no users');
				const byName = new Map(served.map((r) => [r.name, r]));
				for (const it of items) {
					assert.deepEqual(Object.keys(it.json), ['User', 'Name', 'Account', 'Engagement (%)', 'Last activity', 'City', 'Country']);
					const user = byName.get(it.json.User);
					assert.ok(user, `unknown user ${it.json.User}`);
					byName.delete(it.json.User);
					assert.equal(it.json.Account, user.accountName);
					assert.equal(it.json.City, user.location.city);
					assert.equal(it.json.Country, user.location.countryCode);
				}
			});

			await test(`${tag} example crm-upsert.json: Set maps to CRM fields`, async () => {
				const { items } = await expectSuccess('e2eExCrmUpsert01', 'Upsert into your CRM (replace me)');
				assert.equal(items.length, expectedAll.length);
				const byName = new Map(expectedAll.map((r) => [String(r.name), r]));
				for (const it of items) {
					const j = it.json;
					assert.deepEqual(Object.keys(j).sort(), ['companyName', 'engagementScore', 'lastActivity', 'source', 'totalActions']);
					const src = byName.get(j.companyName);
					assert.ok(src, `unknown company ${j.companyName}`);
					assert.equal(j.engagementScore, Math.round((src.engagementScore ?? 0) * 100));
					// The node gives ISO 8601 in the workflow's time zone (UTC here), with its offset.
					if (src.lastActivity) assert.equal(j.lastActivity, new Date(src.lastActivity).toISOString().replace('Z', '+00:00'));
				}
			});

			await test(`${tag} example nightly-segment-csv.json (schedule trigger as imported) writes the segment CSV`, async () => {
				const x = await execute('e2eExNightly0001');
				if (x.code !== 0) {
					// `n8n execute` starts only at a Manual Trigger (or Start/Execute Workflow Trigger) node:
					// a Schedule Trigger workflow is refused. The manual variant below must pass.
					assert.match(x.stdout + x.stderr, /Missing node to start execution/, `unexpected failure:\n${x.out}`);
					log(`${tag} note: the Schedule Trigger workflow does not run under \`n8n execute\` (exit ${x.code}): ${firstErrorLine(x.stdout + x.stderr)}`);
					return;
				}
				await checkNightlyFile();
			});

			await test(`${tag} example nightly-segment-csv.json (trigger swapped for a manual one) writes the segment CSV`, async () => {
				for (const f of fs.readdirSync(outDir)) fs.rmSync(path.join(outDir, f));
				const x = await execute('e2eExNightlyMan1');
				try {
					assert.ok(!x.timedOut, `n8n execute hung: no result after ${x.ms} ms (killed)`);
					assert.equal(x.code, 0, `exit ${x.code}`);
					await checkNightlyFile();
				} catch (e) {
					throw withDetails(e, x.out);
				}
			});
			await test(`${tag} example crm-to-personalization-attributes.json: Event → Send, one event per CRM row with its attributes`, async () => {
				await standinReset(si);
				const { items } = await expectSuccess('e2eExCrmAttrs001', 'Send CRM attributes');
				assert.equal(items.length, 4);
				items.forEach((it, i) => {
					assert.equal(it.json.errorCode, 0, JSON.stringify(it.json));
					const pi = Array.isArray(it.pairedItem) ? it.pairedItem[0] : it.pairedItem;
					assert.equal(pi && pi.item, i, `pairedItem ${JSON.stringify(it.pairedItem)}`);
				});
				const { events } = await standinActions(si);
				assert.equal(events.length, 4, `events recorded: ${events.length}`);
				const ada = events.find((e) => e.body.user.id === '0031x00001AdaLov');
				assert.deepEqual(ada && ada.body, {
					action: 'CRM Sync',
					user: { id: '0031x00001AdaLov', attributes: { emailAddress: 'ada@example.com', firstName: 'Ada', crmTier: 'gold', lifetimeValue: 12400 } },
					source: { channel: 'Server' },
				});
			});

			await test(`${tag} example gdpr-request.json: Look Up by anonymous ID, then Delete the user it found`, async () => {
				await standinReset(si);
				const x = await expectSuccess('e2eExGdprReq0001', 'Delete the user');
				const profile = L.itemsOf(x.result, 'Look up the user');
				assert.equal(profile.length, 1);
				assert.equal(profile[0].json.namedUserId, 'grace', `profile: ${JSON.stringify(profile[0].json).slice(0, 300)}`);
				assert.deepEqual(x.items.map((i) => i.json), [{
					datasetId: 'engage', deleteBy: 'userId', identityField: 'name', identity: 'grace', deleted: 1, requested: 1,
					response: 'Deleted 1 users (1 requested)',
				}]);
				const { deletions } = await standinActions(si);
				assert.deepEqual(deletions.map((d) => [d.header, d.values, d.deleted]), [['name', ['grace'], 1]]);
				// Run again: the user is gone, Look Up fails by name and nothing more is deleted.
				const again = await expectFailure('e2eExGdprReq0001');
				assert.match(errorMessage(again), /No user "anon-grace-1" in dataset "engage"/);
				assert.equal((await standinActions(si)).deletions.length, 1, 'a second deletion was sent');
			});

			async function checkNightlyFile() {
				const files = fs.readdirSync(outDir).filter((f) => f.endsWith('.csv'));
				assert.equal(files.length, 1, `files written: ${files.join(', ')}`);
				assert.match(files[0], /^high-value-accounts-\d{4}-\d{2}-\d{2}\.csv$/);
				const csv = fs.readFileSync(path.join(outDir, files[0]), 'utf8');
				const expected = L.parseCsv(await standinGet(si, `/api/dataset/engage/accounts.csv?filter=${encodeURIComponent('High Value Accounts')}`));
				const table = L.parseCsv(csv);
				assert.equal(table.length - 1, expected.length - 1, `CSV rows ${table.length - 1} != ${expected.length - 1} rows in the segment export`);
				assert.deepEqual(table, expected, 'the written CSV differs from the stand-in segment export');
			}
		});

		await phase(`${tag} n8n start + REST checks`, async () => {
			/** @type {Awaited<ReturnType<typeof L.startN8n>> | undefined} */
			let srv;
			await test(`${tag} n8n start becomes ready on a loopback port`, async () => {
				srv = await L.startN8n(inst, userFolder, { extraEnv: fileEnv, echo: VERBOSE ? `  n8n ${version}| ` : undefined });
				log(`${tag} n8n ready at ${srv.url} in ${(srv.readyMs / 1000).toFixed(1)} s`);
			});
			if (!srv) return;
			ctx.lastOut = () => `--- n8n start log (tail) ---\n${L.tail(srv.proc.output(), 40)}`;
			ctx.keepOut = true;
			try {
				const api = L.n8nClient(srv.url);
				await test(`${tag} owner setup`, async () => {
					const r = await api.setupOwner({ email: 'owner@example.com', firstName: 'E2E', lastName: 'Owner', password: 'E2e-Passw0rd!' });
					assert.equal(r.status, 200, `owner setup: ${r.status} ${r.text.slice(0, 300)}`);
					assert.ok(api.cookie, 'no n8n-auth cookie');
				});
				await test(`${tag} node type ${L.NODE_TYPE} and credential type ${L.CREDENTIAL_TYPE} are registered`, async () => {
					const n = await api.call('GET', '/types/nodes.json');
					assert.equal(n.status, 200, `/types/nodes.json: ${n.status}`);
					const node = n.json.find((d) => d.name === L.NODE_TYPE);
					assert.ok(node, `${L.NODE_TYPE} not in /types/nodes.json (${n.json.length} types)`);
					assert.equal(node.displayName, 'Evergage Account Export');
					assert.ok([].concat(node.version).includes(1), `version ${node.version}`);
					assert.ok((node.credentials || []).some((c) => c.name === L.CREDENTIAL_TYPE), 'node does not declare evergageApi');
					const c = await api.call('GET', '/types/credentials.json');
					assert.equal(c.status, 200, `/types/credentials.json: ${c.status}`);
					assert.ok(c.json.find((d) => d.name === L.CREDENTIAL_TYPE), `${L.CREDENTIAL_TYPE} not in /types/credentials.json`);
					const users = n.json.find((d) => d.name === L.USER_NODE_TYPE);
					assert.ok(users, `${L.USER_NODE_TYPE} not in /types/nodes.json`);
					assert.equal(users.displayName, 'Evergage User Export');
					const action = n.json.find((d) => d.name === `${L.PACKAGE_NAME}.evergage`);
					assert.ok(action, 'the Evergage action node is not in /types/nodes.json');
					assert.equal(action.displayName, 'Evergage');
					// usableAsTool: n8n 2.x registers a tool twin that AI agents can call
					if (inst.line >= 2) assert.ok(n.json.find((d) => d.name === `${L.PACKAGE_NAME}.evergageTool`), 'no evergageTool twin');
				});
				await test(`${tag} credential test: right pair OK, wrong secret a clear failure`, async () => {
					// as the editor does: fetch the credential (secrets come back redacted), send it to /test;
					// n8n restores the redacted secret from the stored credential
					const testCred = async (c) => {
						const got = await api.call('GET', `/rest/credentials/${c.id}?includeData=true`);
						assert.equal(got.status, 200, `GET credential ${c.id}: ${got.status} ${got.text.slice(0, 300)}`);
						const data = got.json.data.data;
						assert.ok(data && data.apiKeyId === KEY_ID, `credential data as the editor sees it: ${JSON.stringify(data)}`);
						assert.ok(!JSON.stringify(got.json).includes(SECRET), 'the editor API returned the secret in clear');
						return api.call('POST', '/rest/credentials/test', { credentials: { id: c.id, name: c.name, type: L.CREDENTIAL_TYPE, data } });
					};
					const ok = await testCred(OK_CRED);
					assert.equal(ok.status, 200, `credentials/test: ${ok.status} ${ok.text.slice(0, 300)}`);
					assert.equal(ok.json.data.status, 'OK', `right pair: ${JSON.stringify(ok.json.data)}`);
					const bad = await testCred(BAD_CRED);
					assert.equal(bad.status, 200, `credentials/test: ${bad.status} ${bad.text.slice(0, 300)}`);
					log(`${tag} credential test with a wrong secret says: ${JSON.stringify(bad.json.data)}`);
					assert.equal(bad.json.data.status, 'Error', `wrong secret: ${JSON.stringify(bad.json.data)}`);
					// n8n 2.x shows the credential's own 401 rule message. n8n 1.x loses the HTTP response on
					// the error its routing node throws for a 401, so it shows its generic text instead.
					const expectedMsg = inst.line >= 2 ? /API Key ID|API Secret Key/ : /API Key ID|API Secret Key|Authorization failed - please check your credentials/;
					assert.match(bad.json.data.message || '', expectedMsg, `the failure message should point at the credentials: ${bad.json.data.message}`);
					allOutput.push(ok.text, bad.text);
				});
			} finally {
				ctx.keepOut = false;
				await srv.stop();
				allOutput.push(srv.proc.output());
			}
		});

		await phase(`${tag} trigger: activate, poll, restart`, () =>
			triggerChecks({ inst, userFolder, tag, test, si, fileEnv, allOutput, ctx }),
		);

		await test(`${tag} no secret (plain or Basic token) in any n8n output`, () => {
			const text = allOutput.join('\n');
			for (const s of SECRETS) assert.ok(!text.includes(s), `a secret (${s.slice(0, 4)}…) appears in n8n's output`);
		});
	} finally {
		await net.close();
		await si.stop();
		const siOut = si.proc.output();
		if (results.some((r) => !r.ok) && VERBOSE) log(`${tag} stand-in output:\n${L.tail(siOut)}`);
	}
}

const TRIGGER_WF_ID = 'e2eTrigCrmTask01';
const WATCH_SEGMENT = '1PPOO';

/** The stand-in's `watch` dataset: accounts with their segments, `inSegment` names moved into the segment. */
function watchAccounts() {
	const { accountAt, segmentsOf } = require('../support/standin');
	return Array.from({ length: 16 }, (_, i) => ({ ...accountAt(i, 31), segments: segmentsOf(i, 31) }));
}

/**
 * The example "entered a segment → CRM task" workflow, activated in a real `n8n start`, polling every
 * minute: the activation records a baseline, a change in the segment starts one execution with the
 * right events, and after a restart the saved baseline is still the one compared with.
 */
async function triggerChecks({ inst, userFolder, tag, test, si, fileEnv, allOutput, ctx }) {
	const accounts = watchAccounts();
	await standinSetDataset(si, 'watch', { records: accounts });
	const inSegment = () => accounts.filter((a) => a.segments.includes(WATCH_SEGMENT));
	const outside = accounts.filter((a) => !a.segments.includes(WATCH_SEGMENT));
	assert.ok(inSegment().length >= 2 && outside.length >= 3, 'the watch dataset needs accounts in and out of the segment');

	const wf = prepareExample(path.join(L.ROOT, 'examples', 'segment-entered-crm-task.json'), { id: TRIGGER_WF_ID });
	const trigger = wf.nodes.find((n) => n.type === L.TRIGGER_NODE_TYPE);
	trigger.parameters = { ...trigger.parameters, datasetId: 'watch', filter: WATCH_SEGMENT, pollTimes: { item: [{ mode: 'everyMinute' }] } };
	const file = path.join(userFolder, 'trigger-workflow.json');
	fs.writeFileSync(file, JSON.stringify(wf));
	let activated = false;
	await test(`${tag} trigger: import the example and activate it`, async () => {
		let r = await L.n8nCli(inst, userFolder, ['import:workflow', `--input=${file}`]);
		allOutput.push(r.stdout, r.stderr);
		assert.equal(r.code, 0, `import:workflow exited ${r.code}: ${L.tail(r.stdout + r.stderr, 10)}`);
		const activate = inst.line >= 2 ? ['publish:workflow', `--id=${TRIGGER_WF_ID}`] : ['update:workflow', `--id=${TRIGGER_WF_ID}`, '--active=true'];
		r = await L.n8nCli(inst, userFolder, activate);
		allOutput.push(r.stdout, r.stderr);
		assert.equal(r.code, 0, `${activate[0]} exited ${r.code}: ${L.tail(r.stdout + r.stderr, 10)}`);
		activated = true;
	});
	if (!activated) return;

	/** Starts n8n, logs in, and waits for the activation's poll (an export request to the stand-in). */
	async function startWatching() {
		const before = (await standinStats(si)).exportRequests;
		const srv = await L.startN8n(inst, userFolder, { extraEnv: fileEnv });
		ctx.lastOut = () => `--- n8n start log (tail) ---\n${L.tail(srv.proc.output(), 40)}`;
		const api = L.n8nClient(srv.url);
		const owner = { email: 'owner@example.com', firstName: 'E2E', lastName: 'Owner', password: 'E2e-Passw0rd!' };
		// The owner exists when the REST checks ran before (not with --only).
		let login = await api.login(owner.email, owner.password);
		if (login.status === 401) login = await api.setupOwner(owner);
		assert.equal(login.status, 200, `login: ${login.status} ${login.text.slice(0, 200)}`);
		for (let i = 0; i < 60 && (await standinStats(si)).exportRequests === before; i++) await L.sleep(500);
		assert.ok((await standinStats(si)).exportRequests > before, 'the activation did not poll');
		return { srv, api };
	}
	/** Waits (up to a poll interval and a half) for execution number `count` of the workflow; returns its run data. */
	async function waitForExecution(api, count) {
		const filter = encodeURIComponent(JSON.stringify({ workflowId: TRIGGER_WF_ID }));
		for (let i = 0; i < 90; i++) {
			const list = await api.call('GET', `/rest/executions?filter=${filter}`);
			const results = (list.json && list.json.data && (list.json.data.results || list.json.data)) || [];
			const done = results.filter((e) => e.finished || e.status === 'success' || e.status === 'error');
			if (done.length >= count) {
				const newest = done.sort((a, b) => Number(b.id) - Number(a.id))[0];
				const one = await api.call('GET', `/rest/executions/${newest.id}`);
				const { parse } = require(path.join(inst.dir, 'node_modules', 'flatted'));
				const data = parse(one.json.data.data);
				return { status: one.json.data.status, runData: data.resultData.runData, executions: done.length };
			}
			await L.sleep(1000);
		}
		throw new Error(`no execution ${count} of the trigger workflow within 90 s`);
	}
	const itemsOf = (runData, node) => ((runData[node] || [])[0]?.data?.main?.[0] || []).map((i) => i.json);
	const eventsOf = (runData) => itemsOf(runData, 'Evergage Trigger').map((i) => `${i.event} ${i.name}`).sort();

	/** @type {any} */
	let watching;
	await test(`${tag} trigger: n8n start activates it and its first poll records a baseline (nothing emitted)`, async () => {
		watching = await startWatching();
		await L.sleep(2000);
		const filter = encodeURIComponent(JSON.stringify({ workflowId: TRIGGER_WF_ID }));
		const list = await watching.api.call('GET', `/rest/executions?filter=${filter}`);
		assert.equal(list.status, 200, `executions: ${list.status}`);
		assert.equal((list.json.data.results || list.json.data).length, 0, 'the baseline poll started an execution');
	});
	if (!watching) return;
	let gone;
	try {
		await test(`${tag} trigger: a change in the segment starts one execution with the entered and left accounts`, async () => {
			const entering = outside.slice(0, 2);
			gone = inSegment()[0];
			for (const a of entering) a.segments = [...a.segments, WATCH_SEGMENT];
			gone.segments = gone.segments.filter((s) => s !== WATCH_SEGMENT);
			await standinSetDataset(si, 'watch', { records: accounts });
			const run = await waitForExecution(watching.api, 1);
			assert.deepEqual(eventsOf(run.runData), [...entering.map((a) => `entered ${a.name}`), `left ${gone.name}`].sort());
			const tasks = itemsOf(run.runData, 'Shape CRM task');
			assert.deepEqual(tasks.map((t) => t.accountName).sort(), entering.map((a) => a.name).sort());
			assert.match(tasks[0].subject, /^Follow up: .+ joined High Value Accounts$/);
			assert.equal(tasks[0].priority, 'High');
			const left = itemsOf(run.runData, 'Entered?').length; // IF passes entered items on output 0
			assert.equal(left, 2);
		});
	} finally {
		await watching.srv.stop();
		allOutput.push(watching.srv.proc.output());
	}
	if (!gone) return;

	await test(`${tag} trigger: after a restart the saved baseline is compared with: only the new change is reported`, async () => {
		const leaving = inSegment()[0];
		leaving.segments = leaving.segments.filter((s) => s !== WATCH_SEGMENT);
		await standinSetDataset(si, 'watch', { records: accounts });
		watching = await startWatching();
		try {
			// The activation's own poll (or the next minute's) reports the change made while n8n was down.
			const run = await waitForExecution(watching.api, 2);
			assert.equal(run.executions, 2, 'one new execution');
			assert.deepEqual(eventsOf(run.runData), [`left ${leaving.name}`]);
		} finally {
			await watching.srv.stop();
			allOutput.push(watching.srv.proc.output());
		}
	});
}

/** The error message (and description) of a failed `n8n execute`, from the run JSON it logs. */
function errorMessage(x) {
	const text = `${x.stdout}\n${x.stderr}`;
	const i = text.indexOf('Execution error:');
	const run = i >= 0 ? L.parseExecuteOutput(text.slice(i)) : null;
	const e = run && run.data && run.data.resultData && run.data.resultData.error;
	if (e) return [e.message, e.description].filter(Boolean).join(' | ');
	return firstErrorLine(text);
}

function firstErrorLine(s) {
	const l = s.split('\n').find((x) => /error|could not|not found/i.test(x));
	return (l || s.split('\n').filter(Boolean).pop() || '').trim().slice(0, 300);
}

/** A setup step of one n8n version failed (install, import, stand-in): one failed test for it. */
function setupFailed(version, err) {
	return test(`[${version}] setup (stand-in, tarball install, imports)`, () => {
		throw err;
	});
}

// ---------------------------------------------------------------------------------------------
async function main() {
	L.installCleanup();
	runCertificate = T.trustRunCertificate();
	const t0 = Date.now();
	if (!flag('--no-install')) {
		await phase('install/check n8n cache', async () => {
			const only = VERSIONS.length === 1 ? ['--only', VERSIONS[0].startsWith('1.') ? '1' : '2'] : [];
			const r = await L.run('bash', [path.join(__dirname, 'install-n8n.sh'), ...only], { timeoutMs: 30 * 60_000 });
			process.stdout.write(r.stderr.split('\n').filter((l) => l.startsWith('[install-n8n')).map((l) => `  ${l}\n`).join(''));
			if (r.code !== 0) log(`install-n8n.sh exited ${r.code}:\n${L.tail(r.stdout + r.stderr, 30)}`);
		});
	}
	const packDir = L.mkTmp('evg-e2e-pack-');
	L.onCleanup(() => L.rmrf(packDir));
	let tarball = opt('--tarball');
	if (!tarball) {
		try {
			const p = await phase('build + pack', () => L.buildAndPack(packDir, { skipBuild: flag('--skip-build') }));
			tarball = p.tarball;
			await test('package tarball contains the node, the credential and the icons', () => {
				const files = p.files.join('\n');
				assert.match(files, /dist\/nodes\/EvergageAccountExport\/EvergageAccountExport\.node\.js/);
				assert.match(files, /dist\/nodes\/EvergageUserExport\/EvergageUserExport\.node\.js/);
				assert.match(files, /dist\/nodes\/EvergageTrigger\/EvergageTrigger\.node\.js/);
				assert.match(files, /dist\/credentials\/EvergageApi\.credentials\.js/);
				assert.match(files, /\.svg/);
				assert.ok(!/\.ts$/m.test(files.replace(/\.d\.ts$/gm, '')), 'TypeScript sources in the tarball');
			});
		} catch (err) {
			await test('build + pack', () => {
				throw err;
			});
		}
	}
	if (tarball) {
		// the two n8n lines run side by side by default (measured: 192 s vs 285 s one after the other)
		if (!flag('--serial') && VERSIONS.length > 1) {
			await Promise.all(VERSIONS.map((v) => phase(`n8n ${v}`, () => runVersion(v, tarball)).catch((e) => setupFailed(v, e))));
		} else {
			for (const v of VERSIONS) await phase(`n8n ${v}`, () => runVersion(v, tarball)).catch((e) => setupFailed(v, e));
		}
	}
	console.log('\n[e2e] timings:');
	for (const [n, ms] of timings) console.log(`  ${(ms / 1000).toFixed(1).padStart(7)} s  ${n}`);
	console.log(`  ${((Date.now() - t0) / 1000).toFixed(1).padStart(7)} s  total`);
	const passed = results.filter((r) => r.ok).length;
	const failed = results.length - passed;
	if (failed) {
		console.log('\n[e2e] failures:');
		for (const r of results.filter((x) => !x.ok)) console.log(`  - ${r.name}: ${String(r.err && r.err.message).split('\n')[0]}`);
	}
	console.log(`\n${passed} passed, ${failed} failed`);
	L.killAll('SIGTERM');
	process.exitCode = failed || !results.length ? 1 : 0;
}

main().catch((err) => {
	console.error(err);
	console.log('\n0 passed, 1 failed');
	L.killAll('SIGKILL');
	process.exitCode = 1;
});
