// @ts-check
'use strict';
/**
 * The pace of an export inside n8n-core's engine, against the stand-in: how many requests it keeps
 * open at once, as the server counts them, and how it takes a service's refusals.
 */
const { retryTiming } = require('../../nodes/shared/transport');
const { expectedAccounts, runExport, startStandin } = require('../support/node-under-test');

const savedTiming = { ...retryTiming };
beforeAll(() => Object.assign(retryTiming, { baseDelayMs: 5, maxDelayMs: 20 }));
afterAll(() => Object.assign(retryTiming, savedTiming));

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
		const result = await runExport(server, { datasetId: 'engage', returnAll: true, pageSize: 100, options: {} });

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
		process.stdout.write(
			`pace against maxInFlight ${N}: ${requests.length} requests, ${refused.length} answered 429 ` +
				`(${refusedSettled.length} of ${settled.length} once settled), ${(100 * atN).toFixed(0)}% of served requests found ${N} open\n`,
		);
		expect(refusedSettled.length).toBeLessThan(0.05 * settled.length);
		expect(Math.max(...served.map((request) => request.inFlight ?? 0))).toBe(N);
		// A window of N has one request in N arrive as the Nth; a window below N, none. Most rounds are at N.
		expect(atN).toBeGreaterThan(0.5 / N);
	});

	test('after a 429 no request of the export goes out before its Retry-After', async () => {
		const { server } = current;
		const result = await runExport(server, { datasetId: 'engage', returnAll: true, pageSize: 1000, options: {} });

		expect(result.status).toBe('success');
		const requests = exportRequests(server);
		const refused = requests.filter((request) => request.status === 429);
		expect(refused.length).toBeGreaterThan(0);
		for (const answer of refused) {
			// The 429 reaches the client one latency after it arrived; requests on their way by then may
			// still come, a moment later. After that, nothing until the second has passed.
			const known = answer.at + 60;
			const during = requests.filter((request) => request.at > known + 300 && request.at < known + 950);
			expect(during).toEqual([]);
		}
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
