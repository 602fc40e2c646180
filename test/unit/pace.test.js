// @ts-check
'use strict';
const { ExportPace } = require('../../nodes/shared/pace');
const { retryTiming } = require('../../nodes/shared/transport');

/** Resolves with what `promise` gives, or 'still waiting' after `ms`. */
const within = (promise, ms) =>
	Promise.race([promise, new Promise((resolve) => setTimeout(() => resolve('still waiting'), ms).unref())]);

/** A pace on a clock the test moves. */
function paced(ceiling) {
	const clock = { t: 0 };
	const pace = new ExportPace(ceiling, () => clock.t);
	/** `pages` pages come back, as a service answering in `latencyMs` with the window in flight would. */
	const serve = (pages, latencyMs, cpuMsPerPage = 0) => {
		for (let i = 0; i < pages; i++) {
			clock.t += Math.max(latencyMs / pace.window, cpuMsPerPage);
			pace.pageDone();
		}
	};
	return { pace, clock, serve };
}

describe('the window of an export', () => {
	test('starts at 2 and doubles while pages per second rise, up to the ceiling', () => {
		const { pace, serve } = paced(8);
		expect(pace.window).toBe(2);
		serve(2, 50);
		expect(pace.window).toBe(4);
		serve(4, 50);
		expect(pace.window).toBe(8);
		serve(100, 50);
		expect(pace.window).toBe(8);
	});

	test('stops growing when more in flight brings no more pages per second', () => {
		// 10 ms of work per page: from 2 in flight on, the client, not the service, is the limit.
		const { pace, serve } = paced(8);
		serve(2, 10, 10);
		serve(30, 10, 10);
		expect(pace.window).toBeLessThanOrEqual(4);
	});

	test('a refusal halves it once for all the attempts sent at that window', () => {
		const { pace, serve } = paced(8);
		serve(6, 50);
		expect(pace.window).toBe(8);
		const epoch = pace.attemptEpoch;
		pace.refused(epoch);
		pace.refused(epoch);
		pace.refused(epoch);
		expect(pace.window).toBe(4);
		pace.refused(pace.attemptEpoch);
		expect(pace.window).toBe(2);
	});

	test('probes one more after a quiet stretch; a refused probe steps back and waits twice as long', () => {
		const { pace, serve } = paced(8);
		serve(6, 50);
		pace.refused(pace.attemptEpoch);
		expect(pace.window).toBe(4);
		serve(15, 50);
		expect(pace.window).toBe(4);
		serve(4, 50);
		expect(pace.window).toBe(5);
		pace.refused(pace.attemptEpoch);
		expect(pace.window).toBe(4);
		serve(20, 50);
		expect(pace.window).toBe(4);
		serve(20, 50);
		expect(pace.window).toBe(5);
	});

	test('a probe that pays is kept', () => {
		const { pace, serve } = paced(8);
		serve(6, 50);
		pace.refused(pace.attemptEpoch);
		serve(20, 50);
		expect(pace.window).toBe(5);
		serve(5, 50);
		expect(pace.window).toBe(5);
	});
});

describe('slots and the gate', () => {
	test('no more attempts on the wire than the window, first come first served', async () => {
		const pace = new ExportPace(8);
		const order = [];
		const first = await Promise.all([pace.acquire(), pace.acquire()]);
		expect(first).toEqual([0, 0]);
		const waiting = [1, 2, 3].map((n) => pace.acquire().then(() => order.push(n)));
		await new Promise((resolve) => setImmediate(resolve));
		expect(order).toEqual([]);
		pace.release();
		await new Promise((resolve) => setImmediate(resolve));
		expect(order).toEqual([1]);
		pace.release();
		pace.release();
		await Promise.all(waiting);
		expect(order).toEqual([1, 2, 3]);
	});

	test('an attempt whose page is no longer wanted leaves the line', async () => {
		const pace = new ExportPace(1);
		await pace.acquire();
		const stop = new AbortController();
		const waiting = pace.acquire(stop.signal);
		stop.abort();
		expect(await waiting).toBeUndefined();
		pace.release();
		expect(await pace.acquire()).toBe(0);
	});

	test('after a 429 no attempt of the export goes out before its Retry-After', async () => {
		const pace = new ExportPace(8);
		const epoch = await pace.acquire();
		pace.refused(/** @type {number} */ (epoch), 300);
		pace.release();
		const started = Date.now();
		await pace.acquire();
		expect(Date.now() - started).toBeGreaterThanOrEqual(280);
		pace.release();
	});

	test.each([
		['a day (86400 s)', 86_400_000],
		['past the timer range (3000000 s)', 3_000_000_000],
		['not a number', NaN],
	])('a gate asked for %s holds no attempt longer than the longest Retry-After the door honours', async (_label, waitMs) => {
		const saved = retryTiming.maxRetryAfterMs;
		retryTiming.maxRetryAfterMs = 200;
		const warnings = [];
		const onWarning = (warning) => warnings.push(warning.name);
		const stop = new AbortController();
		process.on('warning', onWarning);
		try {
			const pace = new ExportPace(8);
			const epoch = await pace.acquire();
			pace.refused(/** @type {number} */ (epoch), waitMs);
			pace.release();
			const started = Date.now();
			expect(typeof (await within(pace.acquire(stop.signal), 2_000))).toBe('number');
			expect(Date.now() - started).toBeLessThan(1_000);
			await new Promise((resolve) => setImmediate(resolve));
			expect(warnings).toEqual([]);
		} finally {
			stop.abort();
			retryTiming.maxRetryAfterMs = saved;
			process.off('warning', onWarning);
		}
	});
});
