// @ts-check
'use strict';
/**
 * The retry budget: bounded attempts and bounded waiting per request, no retry of a refusal, and a
 * cancelled execution that stops at once — whether a response is stalled, slow, or a backoff sleeps.
 */
const { retryTiming } = require('../../nodes/shared/transport');
const { credentialsFor, runExport, startStandin } = require('../support/node-under-test');
const { printFigures, shrinkRetryTiming } = require('./support');

const figures = {
	'permanent-failure runs': 0,
	'attempts per permanently failing request': {},
	'worst wait vs bound (ms)': {},
	'refusals retried': 0,
	'cancel latency ms': {},
	'requests arriving after a cancelled run settled': 0,
};
afterAll(() => printFigures('retry-budget-and-cancel', figures));

const json = (options = {}) => ({
	datasetId: 'engage',
	format: 'json',
	returnAll: true,
	pageSize: 100,
	options: { concurrency: 1, ...options },
});

describe('a permanently failing server ends the run with a clear error within the retry budget', () => {
	let restore;
	beforeAll(() => (restore = shrinkRetryTiming({ baseDelayMs: 20, maxDelayMs: 80 })));
	afterAll(() => restore());

	/** @type {Array<[string, import('../support/standin').Fault, RegExp]>} */
	const cases = [
		['503 on every attempt', { kind: 'status', status: 503 }, /^Evergage still answered 503 after 4 attempts at page 0 of the accounts export$/],
		['429 without Retry-After', { kind: 'status', status: 429 }, /rate limited the export \(429\) after 4 attempts/],
		['429 with Retry-After 0', { kind: 'status', status: 429, retryAfter: '0' }, /after 4 attempts/],
		['reset mid-body every time', { kind: 'reset' }, /connection|dropped/i],
		['stalled every time', { kind: 'stall' }, /sent nothing for 150 ms after 4 attempts at page 0 of the accounts export/],
		[
			'slower than the timeout every time',
			{ kind: 'slow', delayMs: 2000 },
			/did not answer within 150 ms after 4 attempts/,
		],
		['truncated every time', { kind: 'truncate' }, /incomplete or unreadable response after 4 attempts/],
	];
	test.each(cases)('%s', async (label, fault, message) => {
		const server = await startStandin({ datasets: { engage: { count: 250 } }, faults: () => fault });
		try {
			const retries = 3;
			const timeout = 150;
			const started = Date.now();
			const result = await runExport(server, json({ retries, timeout }));
			const elapsed = Date.now() - started;
			// Per request: every attempt may use the whole timeout, and every wait is at most maxDelayMs.
			const bound = (retries + 1) * timeout + retries * retryTiming.maxDelayMs + 1000;
			figures['permanent-failure runs']++;
			figures['attempts per permanently failing request'][label] = server.stats.exportRequests;
			figures['worst wait vs bound (ms)'][label] = `${elapsed} <= ${bound}`;
			expect(result.status).toBe('error');
			expect(result.error?.message).toMatch(message);
			expect(result.error?.description).toBeTruthy();
			expect(server.stats.exportRequests).toBe(retries + 1);
			expect(elapsed).toBeLessThanOrEqual(bound);
		} finally {
			await server.close();
		}
	});

	test('Retry-After in seconds and as an HTTP date is honoured, and bounded', async () => {
		// The date is made when the request comes: whole seconds, so it asks for 1 to 2 s.
		/** @type {import('../support/standin').FaultPlan} */
		const faults = (info) =>
			info.index === 0
				? { kind: 'status', status: 429, retryAfter: '1' }
				: info.index === 1
					? { kind: 'status', status: 503, retryAfter: new Date(Date.now() + 2000).toUTCString() }
					: null;
		const server = await startStandin({ datasets: { engage: { count: 50 } }, faults });
		try {
			const started = Date.now();
			const result = await runExport(server, json({ retries: 3 }));
			const elapsed = Date.now() - started;
			expect(result.status).toBe('success');
			expect(result.items).toHaveLength(50);
			// 1 s, then what is left of the 2 s date (whole seconds in an HTTP date).
			expect(elapsed).toBeGreaterThanOrEqual(1900);
			expect(elapsed).toBeLessThan(4500);
			figures['worst wait vs bound (ms)']['Retry-After 1 s then HTTP-date +2 s'] = `${elapsed} < 4500`;
		} finally {
			await server.close();
		}
	});

	test('a Retry-After longer than the cap fails at once instead of sleeping', async () => {
		const server = await startStandin({
			datasets: { engage: { count: 50 } },
			faults: () => ({ kind: 'status', status: 429, retryAfter: '3600' }),
		});
		try {
			const started = Date.now();
			const result = await runExport(server, json({ retries: 4 }));
			expect(result.status).toBe('error');
			expect(result.error?.message).toMatch(/asks to wait 3600 s/);
			expect(server.stats.exportRequests).toBe(1);
			expect(Date.now() - started).toBeLessThan(1000);
		} finally {
			await server.close();
		}
	});
});

describe('refusals are not retried', () => {
	/** @type {Array<[string, import('../support/standin').StandinOptions, Record<string, any>, RegExp]>} */
	const cases = [
		[
			'401 wrong secret',
			{ datasets: { engage: { count: 10 } } },
			{ apiSecretKey: 'wrong' },
			/refused the API key pair \(401\)/,
		],
		[
			'403 token without API access',
			{ datasets: { engage: { count: 10 } }, apiAccess: false },
			{},
			/may not read this data \(403\)/,
		],
		[
			'403 dataset not allowed',
			{ datasets: { engage: { count: 10, forbidden: true } } },
			{},
			/may not read this data \(403\)/,
		],
		['404 unknown dataset', { datasets: { other: { count: 10 } } }, {}, /Dataset "engage" was not found \(404\)/],
		...[400, 405, 409, 410, 413, 422].map(
			(status) =>
				/** @type {[string, import('../support/standin').StandinOptions, Record<string, any>, RegExp]} */ ([
					`${status} injected`,
					{ datasets: { engage: { count: 10 } }, faults: () => ({ kind: 'status', status }) },
					{},
					new RegExp(`rejected the request \\(${status}\\)`),
				]),
		),
		[
			'501 not implemented',
			{ datasets: { engage: { count: 10 } }, faults: () => ({ kind: 'status', status: 501 }) },
			{},
			/\(501\)/,
		],
	];
	test.each(cases)('%s: one request, a clear error', async (_label, serverOptions, credentialOverrides, message) => {
		const server = await startStandin(serverOptions);
		try {
			const result = await runExport(server, json({ retries: 5 }), {
				credentials: credentialsFor(server, credentialOverrides),
			});
			expect(result.status).toBe('error');
			expect(result.error?.message).toMatch(message);
			const requests = server.stats.requests;
			if (requests !== 1) figures['refusals retried']++;
			expect(requests).toBe(1);
		} finally {
			await server.close();
		}
	});
});

describe('cancelling the execution stops the export promptly', () => {
	const measure = async (label, serverOptions, parameters, waitBeforeCancel) => {
		const server = await startStandin(serverOptions);
		const arrivals = [];
		server.httpServer.on('request', () => arrivals.push(Date.now()));
		try {
			let cancelledAt = 0;
			const result = await runExport(server, parameters, {
				onStart: (cancel) => {
					void waitBeforeCancel(server).then(() => {
						cancelledAt = Date.now();
						cancel();
					});
				},
			});
			const settledAt = Date.now();
			const latency = settledAt - cancelledAt;
			figures['cancel latency ms'][label] = latency;
			expect(cancelledAt).toBeGreaterThan(0);
			expect(result.status).not.toBe('success');
			expect(latency).toBeLessThan(1500);
			await new Promise((resolve) => setTimeout(resolve, 300));
			// Requests that reach the server after the run settled are reported; they are bounded by the
			// pages in flight, so the export does not go on in the background.
			const late = arrivals.filter((t) => t > settledAt + 5).length;
			figures['requests arriving after a cancelled run settled'] += late;
			expect(late).toBeLessThanOrEqual(8);
		} finally {
			await server.close();
		}
	};
	const whenRequested =
		(n, extraMs = 150) =>
		async (server) => {
			for (let i = 0; i < 200 && server.stats.exportRequests < n; i++) await new Promise((r) => setTimeout(r, 10));
			await new Promise((r) => setTimeout(r, extraMs));
		};

	test('while a response is stalled mid-body (JSON page)', async () => {
		await measure(
			'stalled JSON page',
			{ datasets: { engage: { count: 500 } }, faults: () => ({ kind: 'stall' }) },
			json({ timeout: 60_000, retries: 4, concurrency: 4 }),
			whenRequested(1),
		);
	});

	test('while a response is slow to start', async () => {
		await measure(
			'slow response',
			{ datasets: { engage: { count: 500 } }, faults: () => ({ kind: 'slow', delayMs: 30_000 }) },
			json({ timeout: 60_000 }),
			whenRequested(1),
		);
	});

	test('while a Retry-After backoff sleeps (30 s asked)', async () => {
		await measure(
			'Retry-After 30 s sleep',
			{ datasets: { engage: { count: 500 } }, faults: () => ({ kind: 'status', status: 503, retryAfter: '30' }) },
			json({ retries: 4 }),
			whenRequested(1),
		);
	});

	// A timer left behind would keep a cancelled run's closure (and the process) alive for up to 60 s.
	test('a cancelled run leaves no backoff timer behind', async () => {
		const server = await startStandin({
			datasets: { engage: { count: 50 } },
			faults: () => ({ kind: 'status', status: 503, retryAfter: '30' }),
		});
		// Timers of 10 s or more set during the run, until they fire or are cleared.
		const pending = new Set();
		const realSet = global.setTimeout;
		const realClear = global.clearTimeout;
		// @ts-ignore a counting wrapper around the real setTimeout
		global.setTimeout = (fn, ms, ...rest) => {
			const timer = realSet((...a) => (pending.delete(timer), fn(...a)), ms, ...rest);
			if ((ms ?? 0) >= 10_000) pending.add(timer);
			return timer;
		};
		global.clearTimeout = (timer) => (pending.delete(timer), realClear(timer));
		try {
			const result = await runExport(server, json({ retries: 4 }), {
				onStart: (cancel) => void whenRequested(1)(server).then(cancel),
			});
			expect(result.status).not.toBe('success');
		} finally {
			global.setTimeout = realSet;
			global.clearTimeout = realClear;
			await server.close();
		}
		await new Promise((resolve) => setTimeout(resolve, 100));
		expect(pending.size).toBe(0);
	});

	test('while an exponential backoff sleeps', async () => {
		const restore = shrinkRetryTiming({ baseDelayMs: 20_000, maxDelayMs: 20_000 });
		try {
			await measure(
				'exponential backoff sleep',
				{ datasets: { engage: { count: 500 } }, faults: () => ({ kind: 'status', status: 502 }) },
				json({ retries: 4 }),
				whenRequested(1),
			);
		} finally {
			restore();
		}
	});

	test('in the middle of a long healthy export', async () => {
		await measure(
			'long export, 8 parallel pages',
			{ datasets: { engage: { count: 200_000 } }, latencyMs: 20 },
			{ ...json({ concurrency: 8 }), pageSize: 500 },
			whenRequested(20, 0),
		);
	});

	test('while the whole-export CSV stream is stalled', async () => {
		await measure(
			'stalled CSV stream',
			{ datasets: { engage: { count: 5000 } }, faults: () => ({ kind: 'stall' }) },
			{ datasetId: 'engage', format: 'csv', returnAll: true, pageSize: 100, options: { timeout: 60_000 } },
			whenRequested(1),
		);
	});
});
