// @ts-check
'use strict';
/**
 * Seeded fault injection: many exports through n8n-core's engine against the stand-in, each with a
 * random mix of faults. Every run either outputs exactly the expected accounts or fails with a clear
 * error; a run whose faults stay within the retry budget must succeed, one with a request that fails
 * past it must fail. Replay a failure with EVERGAGE_SEED=<seed> [EVERGAGE_RUN=<run>].
 */
const { runExport, startStandin } = require('../support/node-under-test');

const {
	addCount,
	compareRecords,
	datasetFor,
	expectedCsv,
	expectedJson,
	LONG,
	masterSeed,
	printFigures,
	seededRandom,
	shrinkRetryTiming,
} = require('./support');

const SEED = masterSeed(20240611);
const RUNS = LONG ? 400 : 100;
const ONLY_RUN = process.env.EVERGAGE_RUN === undefined ? undefined : Number(process.env.EVERGAGE_RUN);
// The long variant streams exports of up to 70k rows from a stand-in in this same process: honest
// silences there can outlast 200 ms.
const TIMEOUT_MS = LONG ? 1000 : 200;

const httpDate = (offsetMs) => new Date(Date.now() + offsetMs).toUTCString();
const KINDS = [
	{ label: '429 without Retry-After', make: () => ({ kind: 'status', status: 429 }) },
	{ label: '429 Retry-After seconds', make: () => ({ kind: 'status', status: 429, retryAfter: '0' }) },
	{ label: '429 Retry-After HTTP-date', make: () => ({ kind: 'status', status: 429, retryAfter: httpDate(-2000) }) },
	{ label: '500', make: () => ({ kind: 'status', status: 500 }) },
	{ label: '502', make: () => ({ kind: 'status', status: 502 }) },
	{ label: '503', make: () => ({ kind: 'status', status: 503 }) },
	{ label: '504', make: () => ({ kind: 'status', status: 504 }) },
	{ label: 'reset mid-body', make: () => ({ kind: 'reset' }) },
	{ label: 'truncated body (clean end)', make: () => ({ kind: 'truncate' }), jsonOnly: true },
	{ label: 'truncated body (short of Content-Length)', make: () => ({ kind: 'truncate', contentLength: true }) },
	{ label: 'slower than timeout', make: () => ({ kind: 'slow', delayMs: TIMEOUT_MS * 4 }) },
	{ label: 'stalled mid-body', make: () => ({ kind: 'stall' }) },
];
const BURSTABLE = new Set(['500', '502', '503', '504']);

function planRun(run) {
	const seed = (SEED + Math.imul(run + 1, 0x9e3779b1)) >>> 0;
	const rnd = seededRandom(seed);
	// The default share keeps data sets small (each run's time goes on requests, not records); the long variant goes big.
	const count = rnd.pick(LONG ? [0, 1, 7, 60, 333, 1200, 5000, 20000, 60000] : [0, 1, 7, 60, 333, 1200, 2500]);
	const repeats = count === 0 ? 0 : rnd.int(0, Math.ceil(count / 5));
	const format = rnd.chance(0.25) ? 'csv' : 'json';
	let pageSize = rnd.pick([1, 3, 10, 50, 100, 250, 1000, 5000]);
	// Bounded page counts keep every run short (more pages per run in the long variant).
	const maxPages = LONG ? 60 : 40;
	while ((count + repeats) / pageSize > maxPages) pageSize *= 2;
	let maxPageSize;
	if (pageSize > 1 && rnd.chance(0.5)) {
		maxPageSize = rnd.int(Math.max(1, Math.ceil((count + repeats) / (maxPages + maxPages / 3))), pageSize - 1);
		if (maxPageSize >= pageSize) maxPageSize = undefined;
	}
	const effectivePageSize = Math.min(pageSize, maxPageSize ?? Infinity);
	const returnAll = rnd.chance(0.7);
	const limit = returnAll ? undefined : rnd.int(1, count + repeats + 10);
	const firstPage = rnd.chance(0.8) ? 0 : rnd.int(1, 3);
	const deduplicate = rnd.chance(0.85);
	const wholeCsv = format === 'csv' && returnAll && firstPage === 0;
	const usable = KINDS.filter((k) => format === 'json' || !k.jsonOnly);
	const kinds = usable.filter(() => rnd.chance(0.6));
	if (kinds.length === 0) kinds.push(rnd.pick(usable));
	const plan = {
		run,
		seed,
		// Both export nodes, in turn: the walk is the same, the path and records are not.
		shape: {
			entity: run % 2 ? 'users' : 'accounts',
			count,
			seed: rnd.int(1, 1000),
			repeats,
			effectivePageSize,
			firstPage,
			limit,
			deduplicate,
		},
		pageSize,
		maxPageSize,
		format,
		returnAll,
		concurrency: rnd.int(1, 8),
		retries: rnd.int(3, 6),
		faultRate: 0.05 + rnd.next() * 0.3,
		kinds,
	};
	if (rnd.chance(0.12)) {
		const { lastNeededPage } = format === 'json' ? expectedJson(plan.shape) : expectedCsv(plan.shape);
		const lastNeeded = wholeCsv ? 0 : lastNeededPage;
		const persistent = usable.filter((k) => k.label !== 'slower than timeout' || LONG);
		plan.doomed = {
			page: wholeCsv ? 0 : rnd.int(firstPage, Math.max(firstPage, lastNeeded)),
			kind: rnd.pick(persistent),
		};
	}
	return plan;
}

const figures = {
	seed: SEED,
	runs: 0,
	succeeded: 0,
	failedAsPlanned: 0,
	'runs by format': {},
	'runs by node': {},
	'runs with server page cap': 0,
	'runs with Limit': 0,
	'runs from a later Start Page': 0,
	'faults injected by kind': {},
	'faults seen by the server': {},
	'records checked': 0,
	'CSV rows checked': 0,
	losses: 0,
	doubles: 0,
	'altered or stale records': 0,
	'silently short or corrupt results': 0,
	'export requests': 0,
	'extra requests (retries, pages past the end)': 0,
	'max attempts at one doomed page': 0,
	'slowest run ms': 0,
};

let restoreTiming;
beforeAll(() => {
	restoreTiming = shrinkRetryTiming({ baseDelayMs: 2, maxDelayMs: 20 });
});
afterAll(() => {
	restoreTiming();
	printFigures('fault-injection', figures);
});

const plans = Array.from({ length: RUNS }, (_, run) => run).filter((run) => ONLY_RUN === undefined || run === ONLY_RUN);

describe(`seeded fault injection (seed ${SEED}, ${RUNS} runs; replay: EVERGAGE_SEED=${SEED} EVERGAGE_RUN=<n>)`, () => {
	test.each(plans)('run %i: exact records or a clear error', async (run) => {
		const plan = planRun(run);
		const replay = `replay: EVERGAGE_SEED=${SEED} EVERGAGE_RUN=${run} npx jest --config test/jest.config.js test/reliability/faults`;
		const rnd = seededRandom(plan.seed ^ 0x5eed);
		const faultsPerKey = new Map();
		let burst;
		const pageOf = (info) => (info.pageSize === undefined ? 0 : info.page);
		const faultFor = (info) => {
			const page = pageOf(info);
			if (plan.doomed && page === plan.doomed.page) {
				addCount(figures['faults injected by kind'], plan.doomed.kind.label);
				return plan.doomed.kind.make();
			}
			const key = String(page);
			const used = faultsPerKey.get(key) ?? 0;
			// Within the retry budget: every request succeeds by its last attempt.
			if (used >= plan.retries) return null;
			let kind;
			if (burst && burst.left > 0) {
				burst.left--;
				kind = burst.kind;
			} else if (rnd.chance(plan.faultRate)) {
				kind = rnd.pick(plan.kinds);
				if (BURSTABLE.has(kind.label)) burst = { kind, left: rnd.int(0, 3) };
			}
			if (!kind) return null;
			faultsPerKey.set(key, used + 1);
			addCount(figures['faults injected by kind'], kind.label);
			return kind.make();
		};
		const server = await startStandin({
			datasets: { engage: datasetFor(plan.shape) },
			maxPageSize: plan.maxPageSize,
			faults: faultFor,
		});
		const started = Date.now();
		try {
			const result = await runExport(
				server,
				{
					datasetId: 'engage',
					format: plan.format,
					returnAll: plan.returnAll,
					...(plan.shape.limit === undefined ? {} : { limit: plan.shape.limit }),
					pageSize: plan.pageSize,
					options: {
						...(plan.shape.firstPage ? { page: plan.shape.firstPage } : {}),
						deduplicate: plan.shape.deduplicate,
						concurrency: plan.concurrency,
						retries: plan.retries,
						timeout: TIMEOUT_MS,
					},
				},
				{ entity: plan.shape.entity },
			);
			const elapsed = Date.now() - started;
			figures.runs++;
			addCount(figures['runs by format'], plan.format);
			addCount(figures['runs by node'], plan.shape.entity);
			if (plan.maxPageSize !== undefined) figures['runs with server page cap']++;
			if (plan.shape.limit !== undefined) figures['runs with Limit']++;
			if (plan.shape.firstPage > 0) figures['runs from a later Start Page']++;
			figures['slowest run ms'] = Math.max(figures['slowest run ms'], elapsed);
			for (const [kind, n] of Object.entries(server.stats.faultsByKind))
				addCount(figures['faults seen by the server'], kind, n);
			figures['export requests'] += server.stats.exportRequests;
			const describe = `${JSON.stringify({ ...plan, kinds: plan.kinds.map((k) => k.label), doomed: plan.doomed && { page: plan.doomed.page, kind: plan.doomed.kind.label } })}\n${replay}`;

			if (plan.doomed) {
				const attempts = server.requests.filter((r) =>
					r.query.pageSize === undefined ? plan.doomed.page === 0 : Number(r.query.page ?? 0) === plan.doomed.page,
				).length;
				figures['max attempts at one doomed page'] = Math.max(figures['max attempts at one doomed page'], attempts);
				if (result.status !== 'error') figures['silently short or corrupt results']++;
				expect({ status: result.status, plan: describe }).toEqual({ status: 'error', plan: describe });
				// A clear error: says what failed, and what to do.
				expect(result.error?.message).toMatch(/Evergage|connection|timed? ?out|answer/i);
				expect(String(result.error?.description ?? '')).not.toBe('');
				expect(attempts).toBeLessThanOrEqual(plan.retries + 1);
				figures.failedAsPlanned++;
				return;
			}
			if (result.status !== 'success') {
				throw new Error(
					`run ${run} failed although every request had at most ${plan.retries} faults: ${result.error?.message} — ${result.error?.description}\n${describe}`,
				);
			}
			figures.succeeded++;
			if (plan.format === 'json') {
				const { records, lastNeededPage } = expectedJson(plan.shape);
				const actual = result.items.map((item) => item.json);
				const diff = compareRecords(actual, records);
				figures['records checked'] += records.length;
				figures.losses += diff.losses;
				figures.doubles += diff.doubles;
				figures['altered or stale records'] += diff.altered;
				if (!diff.exact) figures['silently short or corrupt results']++;
				const minimum = lastNeededPage - plan.shape.firstPage + 1;
				figures['extra requests (retries, pages past the end)'] += Math.max(0, server.stats.exportRequests - minimum);
				if (!diff.exact)
					throw new Error(
						`run ${run}: ${JSON.stringify(diff)} (got ${actual.length}, want ${records.length})\n${describe}`,
					);
			} else {
				const { text, rows, lastNeededPage } = expectedCsv(plan.shape);
				expect(result.items).toHaveLength(1);
				const binary = result.items[0].binary?.data;
				const file = binary ? (await result.readBinary(binary)).toString('utf8') : '';
				figures['CSV rows checked'] += rows;
				const wholeCsv = plan.returnAll && plan.shape.firstPage === 0;
				const minimum = wholeCsv ? 1 : lastNeededPage - plan.shape.firstPage + 1;
				figures['extra requests (retries, pages past the end)'] += Math.max(0, server.stats.exportRequests - minimum);
				if (file !== text) {
					figures['silently short or corrupt results']++;
					const gotRows = file.split('\r\n').length - 2;
					if (gotRows < rows) figures.losses += rows - gotRows;
					else figures.doubles += gotRows - rows;
					throw new Error(`run ${run}: CSV differs (${file.length} bytes, want ${text.length})\n${describe}`);
				}
			}
		} finally {
			await server.close();
		}
	});

	afterAll(() => {
		// The headline property, over all runs.
		expect(figures['silently short or corrupt results']).toBe(0);
	});
});
