// @ts-check
'use strict';
/**
 * A service that misbehaves can't hang the export, corrupt its output or leak the key pair: one
 * named test per way it was seen to misbehave, and the cases the hostile-service properties shrank
 * to, through n8n-core's engine against the stand-in over HTTP.
 */
const zlib = require('node:zlib');

const { chunkStream } = require('../../nodes/shared/csv');
const { walkBounds } = require('../../nodes/shared/pages');
const { retryAfterMs, retryTiming } = require('../../nodes/shared/transport');
const { credentialsFor, runExport, startStandin } = require('../support/node-under-test');
const { hostilePlan } = require('../support/hostile');
const { auditText, fragmentForms, fragmentHits, shrinkRetryTiming } = require('./support');

// A tab, and a Basic token with a `+` in it, so that its URL-encoded form differs from it.
const KEY_PAIR = { apiKeyId: 'key-hostile', apiSecretKey: 'Zq7\tsEcr3t/Pl+us=Value>>>?0123' };
const FORMS = fragmentForms(KEY_PAIR.apiKeyId, KEY_PAIR.apiSecretKey);
const TOKEN = Buffer.from(`${KEY_PAIR.apiKeyId}:${KEY_PAIR.apiSecretKey}`).toString('base64');

let restoreTiming;
const savedBounds = { ...walkBounds };
beforeAll(() => {
	restoreTiming = shrinkRetryTiming({ baseDelayMs: 2, maxDelayMs: 20 });
});
afterAll(() => restoreTiming());
afterEach(() => Object.assign(walkBounds, savedBounds));

const records = (prefix, from, count) =>
	Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${from + i}`, v: from + i }));
const json = (value) => ({ kind: 'body', body: typeof value === 'string' ? value : JSON.stringify(value) });
const csv = (text) => ({ kind: 'body', body: text, contentType: 'text/csv' });

/** Runs one export against a stand-in whose export answers come from `answer(page, attempt)`. */
async function exportFrom(answer, parameters = {}, options = {}) {
	const attempts = new Map();
	const server = await startStandin({
		credentials: KEY_PAIR,
		datasets: { engage: { count: 1 } },
		faults: (info) => {
			const attempt = (attempts.get(info.page) ?? 0) + 1;
			attempts.set(info.page, attempt);
			return answer(info.page, attempt);
		},
	});
	const started = Date.now();
	try {
		const result = await runExport(
			server,
			{ datasetId: 'engage', returnAll: true, pageSize: 5, ...parameters, options: { retries: 2, timeout: 300, ...parameters.options } },
			{ credentials: credentialsFor(server, KEY_PAIR), ...options },
		);
		const elapsed = Date.now() - started;
		return { ...result, elapsed, requests: server.stats.exportRequests, server };
	} finally {
		await server.close();
	}
}

const leaks = (result) => fragmentHits(auditText(result.items, result.error, result.run), FORMS, KEY_PAIR.apiKeyId);

describe('the export ends when the service does not really page', () => {
	test('Return All against a service that rotates the same 5 records fails within a few requests', async () => {
		const five = records('a', 0, 5);
		const result = await exportFrom((page) => json([...five.slice(page % 5), ...five.slice(0, page % 5)]));
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(/no new record in 3 pages up to page 3: it does not seem to page/);
		expect(result.requests).toBeLessThanOrEqual(8);
	});

	test('Limit 50 against a service that caps pages at 5 and ignores page ends, naming the page', async () => {
		const result = await exportFrom(() => json(records('a', 0, 5)), { returnAll: false, limit: 50, pageSize: 50 });
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(/page 1 with the same content as page 0/);
	});

	test('a service that always sends new pages stops at the page bound', async () => {
		Object.assign(walkBounds, { maxPages: 25 });
		const result = await exportFrom((page) => json(records(`p${page}`, 0, 5)), { options: { concurrency: 4 } });
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(/passed 25 pages, the node's bound/);
		expect(result.requests).toBe(25);
	});

	test('pages that share their first and last record are different pages', async () => {
		const pages = [[{ name: 'a' }, { name: 'b' }, { name: 'z' }], [{ name: 'a' }, { name: 'c' }, { name: 'z' }], []];
		const result = await exportFrom((page) => json(pages[page] ?? []), { pageSize: 3, options: { concurrency: 1 } });
		expect(result.status).toBe('success');
		expect(result.items.map((item) => item.json.name)).toEqual(['a', 'b', 'z', 'c']);
	});
});

describe('no fragment of the key pair reaches the stored execution', () => {
	const failing = (body, extra = {}) => () => ({ kind: 'status', status: 400, body, contentType: 'text/plain', ...extra });

	test('a 400 body of 280 characters followed by the secret', async () => {
		const result = await exportFrom(failing(`${'x'.repeat(280)}${KEY_PAIR.apiSecretKey}`));
		expect(result.error?.message).toMatch(/rejected the request \(400\)/);
		expect(leaks(result)).toEqual([]);
	});

	test('a body echoing the Authorization header', async () => {
		const result = await exportFrom(failing(`you sent   Authorization:   Basic ${TOKEN} and ${KEY_PAIR.apiKeyId}:${KEY_PAIR.apiSecretKey}`));
		expect(leaks(result)).toEqual([]);
	});

	test('a secret with a tab, echoed with the tab or with a space', async () => {
		const spaced = KEY_PAIR.apiSecretKey.replace('\t', ' ');
		const result = await exportFrom(failing(`raw ${KEY_PAIR.apiSecretKey} spaced ${spaced} collapsed\n${spaced.replace(' ', '\n\n')}`));
		expect(leaks(result)).toEqual([]);
	});

	test.each(['csv', 'json'])('a %s page whose Content-Type echoes the Basic token (any case)', async (format) => {
		for (const contentType of [`text/html; Basic ${TOKEN}`, `text/html+${TOKEN}`, `TEXT/HTML+${TOKEN.toUpperCase()}`]) {
			const result = await exportFrom(() => ({ kind: 'body', body: 'x', contentType }), { format, returnAll: false, limit: 10 });
			expect(result.error?.message).toMatch(/^Evergage answered page 0 with text\/html/);
			expect(leaks(result)).toEqual([]);
			// Nor in any case: a lowercased token is still the token.
			const lowered = Object.fromEntries(Object.entries(FORMS).map(([name, form]) => [name, form.toLowerCase()]));
			const text = auditText(result.items, result.error, result.run).toLowerCase();
			expect(fragmentHits(text, lowered, KEY_PAIR.apiKeyId.toLowerCase())).toEqual([]);
		}
	});

	test('a redirect whose Location carries the URL-encoded Basic token', async () => {
		const result = await exportFrom(() => ({
			kind: 'status',
			status: 302,
			body: '',
			headers: { Location: `https://elsewhere.invalid/login?auth=${encodeURIComponent(TOKEN)}` },
		}));
		expect(result.error?.message).toMatch(/redirect \(302\)/);
		expect(leaks(result)).toEqual([]);
	});
});

describe('every item is a plain object', () => {
	test.each([
		['[null] with Deduplicate on', [null], true],
		['[null] with Deduplicate off', [null], false],
		['numbers', [1, 2], true],
		['lists', [[1], [2]], false],
	])('records that are %s fail the item naming the page, and the run ends', async (_label, page0, deduplicate) => {
		const result = await exportFrom((page) => json(page === 0 ? page0 : []), { options: { deduplicate } });
		expect(result.status).toBe('error');
		expect(result.error?.message).toBe('Evergage sent a record that is not an object on page 0');
	});
});

describe('memory per page is bounded', () => {
	test('a gzip body that inflates past the page bound is refused while it is read', async () => {
		Object.assign(walkBounds, { maxBodyBytes: 4 * 1024 * 1024 });
		// 400 MiB of JSON once inflated, about 400 kB on the wire: gzip members, one after another.
		const spaces = zlib.gzipSync(Buffer.alloc(1024 * 1024, 0x20));
		const body = Buffer.concat([zlib.gzipSync('['), ...Array.from({ length: 400 }, () => spaces), zlib.gzipSync(']')]);
		const bomb = { kind: 'body', body, headers: { 'Content-Encoding': 'gzip' } };
		const before = process.memoryUsage().rss;
		const result = await exportFrom(() => bomb, { pageSize: 100 });
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(/more than 4 MiB for page 0, the node's bound for one page/);
		expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
	}, 30_000);

	test('a page holding more records than the Page Size asked for is an error', async () => {
		const result = await exportFrom((page) => json(page === 0 ? records('a', 0, 6) : []));
		expect(result.error?.message).toMatch(/sent 6 records for page 0, more than the Page Size of 5/);
	});

	test('Retry-After values RFC 9110 does not allow fall back to the node\'s own backoff', async () => {
		expect(retryAfterMs('1.5')).toBeUndefined();
		expect(retryAfterMs('-5')).toBeUndefined();
		expect(retryAfterMs('Tue, 03 Jun 2008 11:05:30')).toBeUndefined();
		expect(retryAfterMs('Sun, 06 Nov 1994 08:49:37 GMT', Date.UTC(1994, 10, 6, 8, 49, 30))).toBe(7000);
		expect(retryAfterMs('Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(1994, 10, 6, 8, 49, 30))).toBe(7000);
		expect(retryAfterMs('Sun Nov  6 08:49:37 1994', Date.UTC(1994, 10, 6, 8, 49, 30))).toBe(7000);
		Object.assign(retryTiming, { baseDelayMs: 400, maxDelayMs: 400 });
		for (const value of ['1.5', '-5']) {
			const result = await exportFrom((page, attempt) =>
				attempt === 1 ? { kind: 'status', status: 429, retryAfter: value } : json(page === 0 ? records('a', 0, 2) : []),
			);
			expect(result.status).toBe('success');
			// The backoff of the first retry waits at least half its ceiling (400 ms). Pages 0 and 1
			// go out together and wait side by side, so that is the whole export's floor.
			expect(result.elapsed).toBeGreaterThanOrEqual(200);
		}
		Object.assign(retryTiming, { baseDelayMs: 2, maxDelayMs: 20 });
	});
});

describe('a finished export does not wait for pages it throws away', () => {
	test('a slow request past the end is aborted, not awaited', async () => {
		const result = await exportFrom(
			(page) => {
				if (page === 0) return json(records('a', 0, 5));
				if (page === 1) return json([]);
				return { kind: 'body', body: '[]', chunkBytes: 1, chunkDelayMs: 8_000 };
			},
			{ options: { concurrency: 4, timeout: 60_000 } },
		);
		expect(result.status).toBe('success');
		expect(result.items).toHaveLength(5);
		expect(result.elapsed).toBeLessThan(2_000);
	});
});

describe('CSV files are the export, exactly', () => {
	const header = 'name,v,w\r\n';
	const page = (n) => `${n * 2},a,b\r\n${n * 2 + 1},a,b\r\n`;

	test('a BOM on the first page only: one BOM at the start, the header once', async () => {
		const result = await exportFrom(
			(p) => csv(p === 0 ? `\uFEFF${header}${page(0)}` : p === 1 ? `${header}${page(1)}` : header),
			{ format: 'csv', returnAll: false, limit: 100, pageSize: 2 },
		);
		expect(result.status).toBe('success');
		const file = (await result.readBinary(result.items[0].binary.data)).toString('utf8');
		expect(file).toBe(`\uFEFF${header}${page(0)}${page(1)}`);
		expect(result.items[0].json.rows).toBe(4);
	});

	test('a page whose header differs fails: the export\'s columns changed', async () => {
		const result = await exportFrom(
			(p) => csv(p === 0 ? `${header}${page(0)}` : p === 1 ? `name,v,x\r\n${page(1)}` : header),
			{ format: 'csv', returnAll: false, limit: 100, pageSize: 2 },
		);
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(/Page 1 of the CSV export starts with a different header row/);
	});

	test('a one-column export with empty values: paged and whole give the same file', async () => {
		const body = 'email\r\na@x\r\n\r\nb@x\r\n';
		const whole = await exportFrom((p) => csv(p === 0 ? body : 'email\r\n'), { format: 'csv', returnAll: true, pageSize: 5 });
		const paged = await exportFrom((p) => csv(p === 0 ? body : 'email\r\n'), {
			format: 'csv', returnAll: false, limit: 100, pageSize: 5,
		});
		expect([whole.status, paged.status]).toEqual(['success', 'success']);
		const wholeFile = (await whole.readBinary(whole.items[0].binary.data)).toString('utf8');
		const pagedFile = (await paged.readBinary(paged.items[0].binary.data)).toString('utf8');
		expect(wholeFile).toBe(body);
		expect(pagedFile).toBe(body);
		expect(paged.items[0].json.rows).toBe(3);
	});

	test('an unescaped quote is a malformed page: a data error naming it, not retried', async () => {
		const result = await exportFrom((p) => csv(p === 0 ? `${header}ab"c,1,2\r\n` : header), {
			format: 'csv', returnAll: false, limit: 100, pageSize: 2,
		});
		expect(result.status).toBe('error');
		expect(result.error?.message).toBe('Evergage sent page 0 as malformed CSV: a quote inside an unquoted field (row 2)');
		expect(result.error?.description).not.toMatch(/busy or unreachable/);
		// Not retried: page 0 asked once (the export opens its whole window, 8 pages, at once).
		expect(result.server.requests.filter((request) => request.query?.page === '0')).toHaveLength(1);
		expect(result.requests).toBeLessThanOrEqual(8);
	});

	test('pages reach n8n\'s binary data as a stream, never joined into one string', async () => {
		async function* pages() {
			yield Buffer.from('a\r\n');
			yield Buffer.from('b\r\n');
		}
		const iterated = [];
		for await (const chunk of chunkStream(pages())) iterated.push(chunk.toString());
		expect(iterated).toEqual(['a\r\n', 'b\r\n']);
		// As n8n reads a stream into memory (binary data in memory, the database, S3).
		const events = chunkStream(pages());
		const read = await new Promise((resolve, reject) => {
			const chunks = [];
			events.on('data', (chunk) => chunks.push(chunk));
			events.once('end', () => resolve(Buffer.concat(chunks).toString()));
			events.once('error', reject);
		});
		expect(read).toBe('a\r\nb\r\n');
	});
});

describe('small cases', () => {
	test('JSON with a BOM parses', async () => {
		const result = await exportFrom((page) => json(`\uFEFF${JSON.stringify(page === 0 ? records('a', 0, 2) : [])}`));
		expect(result.status).toBe('success');
		expect(result.requests).toBe(2);
	});

	test.each([
		['Dataset ID', { datasetId: 'ab\uD800cd' }],
		['Filter (Segment Name or ID)', { options: { filter: 'x\uDC00' } }],
	])('a lone surrogate in %s fails naming the field', async (field, parameters) => {
		const result = await exportFrom(() => json([]), parameters);
		expect(result.error?.message).toBe(`${field} contains a character that cannot be sent (half of a surrogate pair)`);
		expect(result.requests).toBe(0);
	});

	test('numeric names are deduplicated as text', async () => {
		const pages = [[{ name: 1, v: 'old' }, { name: 2, v: 'x' }], [{ name: '1', v: 'new' }], []];
		const result = await exportFrom((page) => json(pages[page] ?? []), { options: { concurrency: 1 } });
		expect(result.items.map((item) => item.json)).toEqual([{ name: '1', v: 'new' }, { name: 2, v: 'x' }]);
	});
});

describe('cases the hostile-service properties found (seed 20261130)', () => {
	test('a CSV export answered with a JSON error object holding the secret is refused, not saved as the file', async () => {
		const behaviour = {
			format: 'csv', pageSize: 1, cap: 1, total: 0, paging: 'honest', dedupe: false, concurrency: 1, limit: 10_000,
			echo: { page: 0, kind: 'json200', form: 0, padding: 0 },
		};
		const plan = hostilePlan(/** @type {any} */ (behaviour), KEY_PAIR);
		const result = await exportFrom((page, attempt) => plan({ page, attempt }), {
			format: 'csv', returnAll: false, limit: 10_000, pageSize: 1,
		});
		expect(result.status).toBe('error');
		expect(result.error?.message).toBe('Evergage answered page 0 with application/json instead of CSV');
		expect(leaks(result)).toEqual([]);
	});
});
