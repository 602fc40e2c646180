// @ts-check
'use strict';
const { evergageOrigin } = require('../../nodes/shared/origin');
const { backoffMs, retryAfterMs, retryTiming } = require('../../nodes/shared/transport');

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
