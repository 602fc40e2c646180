// @ts-check
'use strict';
/**
 * Load: an export of at least 200k records with faults on a few percent of requests comes out exact,
 * within a bounded number of extra requests. Also the known gaps found by this suite, kept as
 * `test.failing` so they turn red (and must be flipped) once the node is fixed.
 */
const { runExport, startStandin } = require('../support/node-under-test');

const { compareRecords, expectedCsv, expectedJson, LONG, printFigures, shrinkRetryTiming } = require('./support');

const { DEFAULT_FAULT_MIX } = require('../support/standin');

const COUNT = LONG ? 1_000_000 : 200_000;
const REPEATS = LONG ? 50_000 : 10_000;
const PAGE_SIZE = 5000;
const FAULT_RATE = 0.05;
const CAP = 1000;

test(
	`${COUNT} accounts (+${REPEATS} repeats) with ${FAULT_RATE * 100}% faulty requests: exact set, bounded extra requests`,
	async () => {
		const restore = shrinkRetryTiming({ baseDelayMs: 5, maxDelayMs: 50 });
		const server = await startStandin({
			datasets: { engage: { count: COUNT, seed: 3, repeats: REPEATS } },
			maxPageSize: CAP,
			faultRate: FAULT_RATE,
			faultMix: [
				...DEFAULT_FAULT_MIX,
				{ kind: 'status', status: 504 },
				{ kind: 'truncate', contentLength: true },
				{ kind: 'slow', delayMs: 6000 },
			],
			seed: 11,
		});
		try {
			const started = Date.now();
			const result = await runExport(server, {
				datasetId: 'engage',
				format: 'json',
				returnAll: true,
				pageSize: PAGE_SIZE,
				// A timeout well above a loaded 2-core machine's slowest honest page, below the slow fault.
				options: { concurrency: 4, retries: 6, timeout: 2500 },
			});
			const elapsed = Date.now() - started;
			expect(result.error?.message).toBeUndefined();
			const { records } = expectedJson({
				count: COUNT,
				seed: 3,
				repeats: REPEATS,
				effectivePageSize: CAP,
				firstPage: 0,
				deduplicate: true,
			});
			const diff = compareRecords(
				result.items.map((item) => item.json),
				records,
			);
			const pages = Math.ceil((COUNT + REPEATS) / CAP);
			const minimum = pages + 1;
			const faults = Object.values(server.stats.faultsByKind).reduce((a, b) => a + b, 0);
			const extra = server.stats.exportRequests - minimum;
			const attribution = attributeExtras(server.requests, pages, 3);
			printFigures('load', {
				'records in the export (with repeats)': COUNT + REPEATS,
				'accounts expected': records.length,
				'accounts output': result.items.length,
				losses: diff.losses,
				doubles: diff.doubles,
				'altered or stale records': diff.altered,
				[`pages (server cap ${CAP} < asked ${PAGE_SIZE})`]: pages,
				'export requests': server.stats.exportRequests,
				'minimum requests (pages + empty page)': minimum,
				'faults injected by kind': server.stats.faultsByKind,
				'extra requests': extra,
				'extra requests bound (faults + concurrency - 1)': faults + 3,
				'extra requests explained': attribution.explained,
				'retries not explained by a fault': attribution.unexplained,
				'elapsed ms': elapsed,
			});
			expect(diff).toEqual({ losses: 0, doubles: 0, altered: 0, exact: true });
			// Every extra request is a retry of a fault, or one of at most concurrency-1 pages past the end.
			expect(extra).toBeLessThanOrEqual(faults + 3);
			expect(attribution.unexplained).toEqual([]);
			expect(faults).toBeGreaterThan(0);
		} finally {
			restore();
			await server.close();
		}
	},
	LONG ? 600_000 : 120_000,
);

/**
 * Each extra request, from the stand-in's log: a retry after a fault on its page, or one of at most
 * `pastEndBound` pages requested after the empty page. Anything else (a retry with no fault before
 * it: an honest page slower than the client's timeout, say) is listed with the attempts at its page.
 */
function attributeExtras(requests, emptyPage, pastEndBound) {
	const byPage = new Map();
	for (const request of requests) {
		const page = Number(request.query.page ?? 0);
		byPage.set(page, [...(byPage.get(page) ?? []), request]);
	}
	const explained = { 'retries after a fault': 0, 'pages past the empty page': 0 };
	const unexplained = [];
	for (const [page, list] of [...byPage].sort((a, b) => a[0] - b[0])) {
		if (page > emptyPage) explained['pages past the empty page']++;
		const retries = list.length - 1;
		const faultsBefore = list.slice(0, -1).filter((r) => r.fault !== null).length;
		explained['retries after a fault'] += Math.min(retries, faultsBefore);
		if (retries > faultsBefore) {
			unexplained.push(
				`page ${page}: ${list.map((r) => `${r.status ?? 'no status'}${r.fault ? ` (${r.fault.kind})` : ''}`).join(', ')}`,
			);
		}
	}
	for (let page = 0; page <= emptyPage; page++) if (!byPage.has(page)) unexplained.push(`page ${page} never requested`);
	if (explained['pages past the empty page'] > pastEndBound) {
		unexplained.push(`${explained['pages past the empty page']} pages past the empty page (at most ${pastEndBound})`);
	}
	return { explained, unexplained };
}

describe('CSV bodies that stall or are cut short', () => {
	const wholeCsv = { datasetId: 'engage', format: 'csv', returnAll: true, pageSize: 100 };
	const csvFile = async (fault, parameters, timeoutMs) => {
		const server = await startStandin({ datasets: { engage: { count: 3000 } }, faults: [fault] });
		try {
			let cancel = () => {};
			const guard = setTimeout(() => cancel(), timeoutMs);
			const result = await runExport(server, parameters, { onStart: (c) => (cancel = c) });
			clearTimeout(guard);
			const binary = result.items[0]?.binary?.data;
			return { result, file: binary ? (await result.readBinary(binary)).toString('utf8') : undefined };
		} finally {
			await server.close();
		}
	};

	test('whole-export CSV: a body that stalls mid-stream times out and is retried', async () => {
		// Timeout 300 ms: the node retries within ~1 s; the 3 s cancel only guards against a hang.
		const { result, file } = await csvFile(
			{ kind: 'stall' },
			{ ...wholeCsv, options: { timeout: 300, retries: 2 } },
			3000,
		);
		expect(result.status).toBe('success');
		expect(file).toBe(
			expectedCsv({ count: 3000, seed: 1, repeats: 0, effectivePageSize: 100, firstPage: 0, deduplicate: false }).text,
		);
	}, 10_000);

	// Known gap: a streamed body that ends cleanly looks complete (the real service's CSV framing is unknown).
	test.failing(
		'whole-export CSV: a body cut short but ended cleanly is an error or a retry (today: a silently short file)',
		async () => {
			const { result, file } = await csvFile({ kind: 'truncate' }, { ...wholeCsv, options: { retries: 2 } }, 5000);
			const expected = expectedCsv({
				count: 3000,
				seed: 1,
				repeats: 0,
				effectivePageSize: 100,
				firstPage: 0,
				deduplicate: false,
			}).text;
			expect(result.status === 'error' || file === expected).toBe(true);
		},
	);

	test('paged CSV: a page cut short but ended cleanly is an error or a retry', async () => {
		const parameters = {
			...wholeCsv,
			returnAll: false,
			limit: 5000,
			pageSize: 1000,
			options: { retries: 2, concurrency: 1 },
		};
		const { result, file } = await csvFile({ kind: 'truncate' }, parameters, 5000);
		const expected = expectedCsv({
			count: 3000,
			seed: 1,
			repeats: 0,
			effectivePageSize: 1000,
			firstPage: 0,
			limit: 5000,
			deduplicate: false,
		}).text;
		expect(result.status === 'error' || file === expected).toBe(true);
	});
});
