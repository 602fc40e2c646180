// @ts-check
'use strict';
/**
 * Every export ends on time: each request within its clock's rules (silence, minimum rate, request
 * deadline), each export within its Export Deadline, and no wait of the door or the pace longer than
 * the longest Retry-After it honours, through n8n-core's engine against the stand-in over HTTP.
 * Each test races the run against a bound, so a run that would hang fails instead.
 */
const { walkBounds } = require('../../nodes/shared/pages');
const { requestClock, retryTiming, sleepUnlessAborted } = require('../../nodes/shared/transport');
const { runExport, startStandin } = require('../support/node-under-test');
const { shrinkRetryTiming } = require('./support');

const savedClock = { ...requestClock };
const savedBounds = { ...walkBounds };
let restoreTiming;
beforeAll(() => (restoreTiming = shrinkRetryTiming({ baseDelayMs: 20, maxDelayMs: 80 })));
afterAll(() => restoreTiming());
afterEach(() => {
	Object.assign(requestClock, savedClock);
	Object.assign(walkBounds, savedBounds);
});

const records = (from, count) => Array.from({ length: count }, (_, i) => ({ name: `a-${from + i}`, v: from + i }));

/**
 * One export against a stand-in answering `answer(page, attempt)`, raced against `boundMs`: the
 * result, or 'still running' (then the stand-in is closed, which ends any body it was sending).
 */
async function exportWithin(boundMs, answer, parameters = {}) {
	const attempts = new Map();
	const server = await startStandin({
		datasets: { engage: { count: 1 } },
		faults: (info) => {
			const attempt = (attempts.get(info.page) ?? 0) + 1;
			attempts.set(info.page, attempt);
			return answer(info.page, attempt);
		},
	});
	const started = Date.now();
	let timer;
	try {
		const run = runExport(server, {
			datasetId: 'engage',
			returnAll: true,
			pageSize: 5,
			...parameters,
			options: { retries: 1, timeout: 2000, ...parameters.options },
		});
		const late = new Promise((resolve) => (timer = setTimeout(() => resolve('still running'), boundMs)));
		const result = await Promise.race([run, late]);
		const elapsed = Date.now() - started;
		// Requests of a finished export are aborted: none is left open at the stand-in.
		for (let waited = 0; server.inFlight > 0 && waited < 1000; waited += 20) await new Promise((r) => setTimeout(r, 20));
		return { result, elapsed, inFlight: server.inFlight, requests: server.stats.exportRequests };
	} finally {
		clearTimeout(timer);
		await server.close();
	}
}

const trickle = (delayMs) => ({ kind: 'body', body: `[${' '.repeat(1_000_000)}]`, chunkBytes: 1, chunkDelayMs: delayMs });

describe('every request has an end', () => {
	test('a body that trickles 1 byte every 200 ms is abandoned below the minimum rate, and the page named', async () => {
		// Retries 1: two attempts of about one Timeout each (the rate is judged per Timeout). Before the
		// clock, this export never ended (with Timeout 2000 ms it was still running after 60 s).
		// Timeout 3000 ms: on a loaded machine, n8n's own work before the first byte can take over a
		// second, which a shorter Timeout would judge as no answer at all instead of a slow one.
		const { result, elapsed, inFlight } = await exportWithin(30_000, () => trickle(200), { options: { timeout: 3000 } });
		expect(result).not.toBe('still running');
		const { status, error } = /** @type {any} */ (result);
		expect(status).toBe('error');
		expect(error.message).toMatch(
			/^Evergage still sent \d+ bytes\/s for 3000 ms, below the minimum of 1 KiB\/s after 2 attempts at page 0 of the accounts export$/,
		);
		expect(elapsed).toBeLessThan(2 * (2 * 3000 + 1000) + 1000);
		expect(inFlight).toBe(0);
	}, 60_000);

	test('a body fast enough for the minimum rate but too slow for the request deadline is abandoned', async () => {
		// Page bound 16 KiB + 1 KiB: at 64 KiB/s the deadline is Timeout + 266 ms. The body (10 KiB/s) takes 1.6 s.
		Object.assign(walkBounds, { bodyBytesBase: 16 * 1024, bodyBytesPerRecord: 1024 });
		const slowPage = { kind: 'body', body: JSON.stringify(records(0, 1)).padEnd(16 * 1024, ' '), chunkBytes: 1024, chunkDelayMs: 100 };
		const { result, elapsed } = await exportWithin(15_000, (page) => (page === 0 ? slowPage : { kind: 'body', body: '[]' }), {
			pageSize: 1,
			options: { timeout: 500 },
		});
		const { status, error } = /** @type {any} */ (result);
		expect(status).toBe('error');
		expect(error.message).toMatch(/^Evergage still did not finish within the request deadline of 1 s .* after 2 attempts at page 0 of the accounts export$/);
		expect(elapsed).toBeLessThan(2 * (766 + 500) + 1000);
	}, 30_000);

	test('a wait never passes the timer range (no overflow into a busy loop)', async () => {
		const warnings = [];
		const onWarning = (warning) => warnings.push(warning.name);
		process.on('warning', onWarning);
		const stop = new AbortController();
		try {
			const wait = sleepUnlessAborted(3_000_000_000, stop.signal).then(() => 'ended');
			const early = await Promise.race([wait, new Promise((resolve) => setTimeout(() => resolve('waiting'), 200))]);
			expect(early).toBe('waiting');
			await new Promise((resolve) => setImmediate(resolve));
			expect(warnings).toEqual([]);
		} finally {
			stop.abort();
			process.off('warning', onWarning);
		}
	});
});

describe('a long Retry-After on one page does not hold the others', () => {
	test.each([
		['a day', '86400', 86400],
		['past the timer range', '3000000', 3000000],
	])('page 1 gets a 503, page 2 a 429 asking for %s: the export fails at once, naming page 2', async (_label, retryAfter, seconds) => {
		const saved = retryTiming.baseDelayMs;
		// Page 1's retry comes after page 2's 429 has been read.
		retryTiming.baseDelayMs = 300;
		const warnings = [];
		const onWarning = (warning) => warnings.push(warning.name);
		process.on('warning', onWarning);
		try {
			const { result, elapsed } = await exportWithin(10_000, (page, attempt) => {
				if (page === 1 && attempt === 1) return { kind: 'status', status: 503 };
				if (page === 2) return { kind: 'status', status: 429, retryAfter };
				return { kind: 'body', body: JSON.stringify(page < 4 ? records(page * 5, 5) : []) };
			}, { options: { concurrency: 2 } });
			expect(result).not.toBe('still running');
			const { error } = /** @type {any} */ (result);
			expect(error?.message).toBe(`Evergage asks to wait ${seconds} s before the next request (page 2 of the accounts export)`);
			expect(elapsed).toBeLessThan(5_000);
			expect(warnings).not.toContain('TimeoutOverflowWarning');
		} finally {
			retryTiming.baseDelayMs = saved;
			process.off('warning', onWarning);
		}
	}, 20_000);
});

describe('an export has a deadline', () => {
	test('paged: past Export Deadline it fails saying how far it got, and its requests are stopped', async () => {
		// 20 pages of 300 ms one at a time: 6 s, against a deadline of 1 s.
		const slow = (page) => ({ kind: 'body', body: JSON.stringify(page < 20 ? records(page * 5, 5) : []), chunkBytes: 1 << 20, chunkDelayMs: 300 });
		const { result, elapsed, inFlight } = await exportWithin(10_000, slow, { options: { exportDeadline: 1, concurrency: 1 } });
		const { status, error } = /** @type {any} */ (result);
		expect(status).toBe('error');
		expect(error.message).toMatch(/^The export passed its deadline of 1 s after \d pages \(\d+ records\), waiting for page \d$/);
		expect(error.description).toMatch(/Raise Options > Export Deadline/);
		expect(elapsed).toBeLessThan(1000 + 1500);
		expect(inFlight).toBe(0);
	}, 20_000);

	test('CSV in one request: past Export Deadline it fails saying how much of the file came', async () => {
		const body = `name,v\r\n${Array.from({ length: 2000 }, (_, i) => `a-${i},${i}\r\n`).join('')}`;
		const { result, elapsed, inFlight } = await exportWithin(
			10_000,
			() => ({ kind: 'body', body, contentType: 'text/csv', chunkBytes: 2048, chunkDelayMs: 200 }),
			{ format: 'csv', options: { exportDeadline: 1 } },
		);
		const { status, error } = /** @type {any} */ (result);
		expect(status).toBe('error');
		expect(error.message).toMatch(/^The export passed its deadline of 1 s after \d+ KiB of the file$/);
		expect(elapsed).toBeLessThan(1000 + 1500);
		expect(inFlight).toBe(0);
	}, 20_000);

	test('an export within its deadline is untouched by it', async () => {
		const { result } = await exportWithin(10_000, (page) => ({ kind: 'body', body: JSON.stringify(page < 3 ? records(page * 5, 5) : []) }), {
			options: { exportDeadline: 30 },
		});
		expect(/** @type {any} */ (result).items).toHaveLength(15);
	});
});
