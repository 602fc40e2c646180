// @ts-check
'use strict';
/**
 * The pace of an export inside n8n-core's engine, against the stand-in: how many requests it keeps
 * open at once, as the server counts them, and how it takes a service's refusals.
 */
const { ExportPace } = require('../../nodes/shared/pace');
const { retryTiming } = require('../../nodes/shared/transport');
const { expectedAccounts, runExport, startStandin } = require('../support/node-under-test');

const savedTiming = { ...retryTiming };
beforeAll(() => Object.assign(retryTiming, { baseDelayMs: 5, maxDelayMs: 20 }));
afterAll(() => Object.assign(retryTiming, savedTiming));

/**
 * Watches the export's pace from inside (it changes nothing): each 429 heard, with its wait, and
 * each attempt let out, with when it was asked for. `seq` orders the two kinds of event exactly.
 */
function watchPace() {
	const { acquire, refused } = ExportPace.prototype;
	let seq = 0;
	/** @type {Array<{ seq: number, at: number, waitMs: number }>} */
	const refusals = [];
	/** @type {Array<{ askedSeq: number, at: number, window: number }>} */
	const admissions = [];
	/** @this {ExportPace} @param {number} epoch @param {number} [waitMs] */
	ExportPace.prototype.refused = function (epoch, waitMs) {
		if (waitMs !== undefined) refusals.push({ seq: ++seq, at: Date.now(), waitMs });
		return refused.call(this, epoch, waitMs);
	};
	/** @this {ExportPace} @param {AbortSignal} [signal] */
	ExportPace.prototype.acquire = async function (signal) {
		const askedSeq = ++seq;
		const epoch = await acquire.call(this, signal);
		if (epoch !== undefined) admissions.push({ askedSeq, at: Date.now(), window: this.window });
		return epoch;
	};
	return { refusals, admissions, restore: () => Object.assign(ExportPace.prototype, { acquire, refused }) };
}

const exportRequests = (server) => server.requests.filter((request) => request.inFlight !== null);

/**
 * A stand-in for one test: the requests a finished export aborts may reach a server after it ended,
 * and the next test's figures must not count them.
 */
function standinPerTest(options) {
	const current = { server: /** @type {import('../support/standin').Standin} */ (/** @type {unknown} */ (undefined)) };
	beforeEach(async () => {
		current.server = await startStandin(options);
	});
	afterEach(() => current.server.close());
	return current;
}

describe('against a service that allows N requests at once', () => {
	const N = 3;
	// Small pages of a slow service: the service, not this process, is what limits the pace.
	const DATASET = { count: 15_000, seed: 5 };
	const current = standinPerTest({
		latencyMs: 60,
		datasets: { engage: { ...DATASET, maxInFlight: { limit: N, retryAfter: '1' } } },
	});

	test('the export settles near N, finishes whole, and few requests are refused', async () => {
		const { server } = current;
		const watch = watchPace();
		let result;
		try {
			result = await runExport(server, { datasetId: 'engage', returnAll: true, pageSize: 100, options: {} });
		} finally {
			watch.restore();
		}

		expect(result.status).toBe('success');
		expect(result.items.map((item) => item.json)).toEqual(expectedAccounts(DATASET));
		const requests = exportRequests(server);
		const refused = requests.filter((request) => request.status === 429);
		// Settled: past the first pages, where the window climbs to the service's limit and overshoots once.
		const settled = requests.slice(30);
		const refusedSettled = settled.filter((request) => request.status === 429);
		const served = settled.filter((request) => request.status === 200);
		// Pages go out in rounds, so the requests of a round find 1, 2 … window open when they arrive.
		const atN = served.filter((request) => request.inFlight === N).length / served.length;
		// The pace's own window when each attempt was let out, once settled: what it settled at,
		// whatever the machine's load did to when the requests of a round reached the service.
		const windows = watch.admissions.slice(30).map((admission) => admission.window);
		const windowAtN = windows.filter((window) => window === N).length / windows.length;
		process.stdout.write(
			`pace against maxInFlight ${N}: ${requests.length} requests, ${refused.length} answered 429 ` +
				`(${refusedSettled.length} of ${settled.length} once settled), ${(100 * atN).toFixed(0)}% of served requests found ${N} open, ` +
				`${(100 * windowAtN).toFixed(0)}% of attempts let out at a window of ${N}\n`,
		);
		expect(refusedSettled.length).toBeLessThan(0.05 * settled.length);
		expect(Math.max(...served.map((request) => request.inFlight ?? 0))).toBe(N);
		// Most attempts go out at a window of N. (How many requests the service finds open at once
		// also depends on how fast a loaded machine sends a round's pages: a figure, not a rule.)
		expect(windowAtN).toBeGreaterThan(0.5);
	});
});

describe('against a service that allows N requests at once and asks to wait 3 s', () => {
	// A wait well beyond the pace of a loaded machine: an attempt let out early cannot hide in it.
	const current = standinPerTest({
		latencyMs: 60,
		datasets: { engage: { count: 15_000, seed: 5, maxInFlight: { limit: 3, retryAfter: '3' } } },
	});

	test('after a 429 no request of the export goes out before its Retry-After', async () => {
		const { server } = current;
		const watch = watchPace();
		let result;
		try {
			result = await runExport(server, { datasetId: 'engage', returnAll: true, pageSize: 1000, options: {} });
		} finally {
			watch.restore();
		}

		expect(result.status).toBe('success');
		const requests = exportRequests(server);
		const refused = requests.filter((request) => request.status === 429);
		expect(refused.length).toBeGreaterThan(0);
		// The service's view: a refused page comes back no sooner than 3 s after its 429 was
		// sent. Ordering, not a window: the export can ask again only after hearing the 429.
		let retried = 0;
		for (const answer of refused) {
			const again = requests.find((request) => request.index > answer.index && request.query.page === answer.query.page);
			if (!again) continue; // a page past the end, abandoned when the export ended
			retried++;
			expect(again.at - /** @type {number} */ (answer.answeredAt)).toBeGreaterThanOrEqual(3000);
		}
		expect(retried).toBeGreaterThan(0);
		// The export's view: every attempt asked for after a 429 was heard is let out only once the
		// Retry-After has passed, whatever the page. Attempts asked for before it may be on their way.
		const { refusals, admissions } = watch;
		expect(refusals.map((refusal) => refusal.waitMs)).toEqual(refused.map(() => 3000));
		const early = admissions.filter((admission) =>
			refusals.some((refusal) => admission.askedSeq > refusal.seq && admission.at < refusal.at + refusal.waitMs),
		);
		expect(early).toEqual([]);
		expect(admissions.filter((admission) => admission.askedSeq > refusals[0].seq).length).toBeGreaterThan(0);
	});
});

describe('against a distant service with no limit', () => {
	const DATASET = { count: 20_000, seed: 6 };
	const current = standinPerTest({ latencyMs: 40, datasets: { engage: DATASET } });

	test('the export opens at the ceiling, 8 by default, and goes no further', async () => {
		const { server } = current;
		const result = await runExport(server, { datasetId: 'engage', returnAll: true, pageSize: 200, options: {} });

		expect(result.status).toBe('success');
		expect(result.items).toHaveLength(DATASET.count);
		expect(server.stats.inFlightPeak).toBe(8);
		// The whole window at once: more than 4 of the first 8 requests are open together (a start of
		// 1, then 2, then 4 would keep them at 4 at most). Not all 8: under load their sending spreads.
		expect(Math.max(...exportRequests(server).slice(0, 8).map((request) => request.inFlight ?? 0))).toBeGreaterThan(4);
	});

	test('Max Parallel Requests lowers the ceiling', async () => {
		const { server } = current;
		const result = await runExport(server, { datasetId: 'engage', returnAll: true, pageSize: 200, options: { concurrency: 3 } });

		expect(result.status).toBe('success');
		expect(server.stats.inFlightPeak).toBe(3);
	});
});
