// @ts-check
'use strict';
const { evergageOrigin } = require('../../nodes/shared/origin');
const { pageBodyLimit } = require('../../nodes/shared/pages');
const { backoffMs, requestClock, requestDeadlineMs, retryAfterMs, retryTiming } = require('../../nodes/shared/transport');
const { RequestClock } = require('../../nodes/shared/clock');

const node = /** @type {import('n8n-workflow').INode} */ (/** @type {unknown} */ ({ name: 'Export' }));
const origin = (credentials) => evergageOrigin(credentials, node);

describe('evergageOrigin', () => {
	test('account name and instance make the Evergage host', () => {
		expect(origin({ accountName: 'demo', instance: 'us-1' })).toBe('https://demo.us-1.evergage.com');
	});

	test('anything but letters, digits and hyphens is refused before a host is made', () => {
		for (const accountName of [
			'',
			'a.b',
			'a@b',
			'a/b',
			'a:1',
			'a b',
			'ａｃｍｅ',
			'demo\u0430',
			'-'.repeat(64),
			undefined,
		]) {
			expect(() => origin({ accountName, instance: 'us-1' })).toThrow(
				/Account Name must be letters, digits and hyphens/,
			);
		}
		expect(() => origin({ accountName: 'demo', instance: 'us-1.evil.com' })).toThrow(/Instance must be/);
	});

	test('a Base URL replaces the host, but only as a plain http(s) origin', () => {
		expect(origin({ baseUrl: 'http://127.0.0.1:8080/' })).toBe('http://127.0.0.1:8080');
		expect(origin({ baseUrl: ' https://proxy.example.com ', accountName: 'not valid' })).toBe(
			'https://proxy.example.com',
		);
		expect(() => origin({ baseUrl: 'ftp://x' })).toThrow(/must start with https:\/\/ or http:\/\//);
		expect(() => origin({ baseUrl: 'https://user:pw@x.com' })).toThrow(/user name or password/);
		expect(() => origin({ baseUrl: 'https://x.com/api' })).toThrow(/without a path/);
		expect(() => origin({ baseUrl: 'https://x.com/?a=1' })).toThrow(/without a path/);
		expect(() => origin({ baseUrl: 'not a url' })).toThrow(/not a valid URL/);
	});
});

describe('retry timing', () => {
	test('Retry-After is read in seconds or as an HTTP date', () => {
		const now = Date.UTC(2024, 0, 1, 12);
		expect(retryAfterMs('3', now)).toBe(3000);
		expect(retryAfterMs(new Date(now + 5000).toUTCString(), now)).toBe(5000);
		expect(retryAfterMs(new Date(now - 5000).toUTCString(), now)).toBe(0);
		expect(retryAfterMs(undefined, now)).toBeUndefined();
		expect(retryAfterMs('soon', now)).toBeUndefined();
	});

	test('backoff doubles from the base, is capped, and jitters within the upper half', () => {
		for (let attempt = 1; attempt <= 10; attempt++) {
			const ceiling = Math.min(retryTiming.maxDelayMs, retryTiming.baseDelayMs * 2 ** (attempt - 1));
			for (let i = 0; i < 20; i++) {
				const delay = backoffMs(attempt);
				expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
				expect(delay).toBeLessThanOrEqual(ceiling);
			}
		}
	});
});

describe('the request clock', () => {
	test('a request deadline is Timeout plus the page bound at 64 KiB/s', () => {
		expect(requestClock).toEqual({ minBytesPerSecond: 1024, deadlineBytesPerSecond: 65536, tickMs: 1000 });
		// The default Page Size of 1000: 35.25 MiB at most, so 564 s after the first 60.
		expect(requestDeadlineMs(60_000, pageBodyLimit(1000))).toBe(60_000 + 564_000);
		expect(requestDeadlineMs(60_000, pageBodyLimit(100))).toBe(60_000 + 114_000);
	});

	/** A clock with shortened rules, fed `chunks` bytes every `everyMs`; resolves with its verdict. */
	async function verdictOf(timeoutMs, deadlineMs, bytes, everyMs, forMs) {
		const saved = { ...requestClock };
		Object.assign(requestClock, { tickMs: 20 });
		const clock = new RequestClock(timeoutMs, deadlineMs, new AbortController().signal);
		try {
			clock.data(0);
			for (let waited = 0; waited < forMs && !clock.signal.aborted; waited += everyMs) {
				await new Promise((resolve) => setTimeout(resolve, everyMs));
				clock.data(bytes);
			}
			return clock.verdict?.message ?? 'none';
		} finally {
			clock.stop();
			Object.assign(requestClock, saved);
		}
	}

	test('a rate below the minimum over a Timeout (silence included) and the deadline each end a request', async () => {
		expect(await verdictOf(200, 10_000, 0, 50, 1_000)).toMatch(/^sent \d+ bytes\/s for 200 ms, below the minimum of 1 KiB\/s$/);
		expect(await verdictOf(200, 10_000, 1, 20, 1_000)).toMatch(/below the minimum of 1 KiB\/s/);
		expect(await verdictOf(200, 500, 1024, 20, 2_000)).toMatch(/^did not finish within the request deadline of 1 s/);
		expect(await verdictOf(200, 10_000, 1024, 20, 600)).toBe('none');
	});
});
