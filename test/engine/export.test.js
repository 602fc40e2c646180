// @ts-check
'use strict';
/**
 * The node inside n8n-core's WorkflowExecute, against the stand-in over real HTTP on 127.0.0.1.
 */
const http = require('node:http');

const { retryTiming } = require('../../nodes/shared/transport');

const { credentialsFor, expectedAccounts, runExport, startStandin, whenQuiet } = require('../support/node-under-test');

const ENGAGE = { count: 250, seed: 7 };
const REPEATING = { count: 120, seed: 3, repeats: [5, 17, 17, 60, 119] };
const ODD_ID = 'Q3 accounts / EMEA?x=1#top 100%';

let server;
const savedTiming = { ...retryTiming };

beforeAll(() => {
	// Retries are exercised, not waited for.
	Object.assign(retryTiming, { baseDelayMs: 5, maxDelayMs: 20 });
});

afterAll(() => {
	Object.assign(retryTiming, savedTiming);
});

// A stand-in for each test: requests a finished export aborted may reach a server long after it
// ended on a loaded machine, and must never count for the next test. They find the old one closed.
beforeEach(async () => {
	server = await startStandin({
		maxPageSize: 40,
		datasets: {
			engage: ENGAGE,
			repeating: REPEATING,
			[ODD_ID]: { count: 12, seed: 9 },
			restricted: { count: 10, forbidden: true },
		},
	});
});

afterEach(() => server.close());

const names = (items) => items.map((item) => item.json.name);
const exportRequests = () => server.requests.filter((request) => request.datasetId !== undefined);

describe('JSON export', () => {
	test('Return All walks past pages the service shortened and stops at the first empty page', async () => {
		const result = await runExport(server, {
			datasetId: 'engage',
			returnAll: true,
			pageSize: 100,
			options: { concurrency: 1 },
		});

		expect(result.status).toBe('success');
		expect(result.items.map((item) => item.json)).toEqual(expectedAccounts(ENGAGE));
		// 250 records in pages capped at 40: 7 pages, then the empty one.
		await whenQuiet(server);
		expect(exportRequests().map((request) => request.query.page)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
		expect(exportRequests().every((request) => request.query.pageSize === '100')).toBe(true);
	});

	test('parallel requests keep page order and over-fetch at most concurrency - 1 pages', async () => {
		const result = await runExport(server, {
			datasetId: 'engage',
			returnAll: true,
			pageSize: 40,
			options: { concurrency: 4 },
		});

		expect(names(result.items)).toEqual(expectedAccounts(ENGAGE).map((account) => account.name));
		await whenQuiet(server); // let abandoned requests land: they count against the bound
		const pages = exportRequests().map((request) => Number(request.query.page));
		expect(Math.max(...pages)).toBeGreaterThanOrEqual(7);
		expect(pages.length).toBeLessThanOrEqual(8 + 3);
	});

	test('every output item is paired with the input item it came from', async () => {
		const result = await runExport(
			server,
			{ datasetId: '={{ $json.dataset }}', returnAll: true, pageSize: 40 },
			{
				input: [{ json: { dataset: 'repeating' } }, { json: { dataset: 'engage' } }],
			},
		);

		expect(result.items).toHaveLength(expectedAccounts(REPEATING).length + ENGAGE.count);
		expect(result.items[0].pairedItem).toEqual({ item: 0 });
		expect(result.items[result.items.length - 1].pairedItem).toEqual({ item: 1 });
	});

	test('Limit stops as soon as enough records are out, with the fewest requests', async () => {
		const result = await runExport(server, { datasetId: 'engage', returnAll: false, limit: 95, pageSize: 40 });

		expect(result.items.map((item) => item.json)).toEqual(expectedAccounts(ENGAGE).slice(0, 95));
		await whenQuiet(server); // a useless request the export started and aborted may still land
		expect(exportRequests()).toHaveLength(3);
	});

	test('Limit equal to Page Size with a Start Page expression fetches one page per input item', async () => {
		const result = await runExport(
			server,
			{ datasetId: 'engage', returnAll: false, limit: 40, pageSize: 40, options: { page: '={{ $json.page }}' } },
			{ input: [{ json: { page: 0 } }, { json: { page: 6 } }] },
		);

		const all = expectedAccounts(ENGAGE);
		expect(result.items.map((item) => item.json)).toEqual([...all.slice(0, 40), ...all.slice(240)]);
		// Page 6 holds the last 10 records; a short page proves nothing, so page 7 (empty) ends it.
		await whenQuiet(server);
		expect(exportRequests().map((request) => request.query.page)).toEqual(['0', '6', '7']);
	});

	test('a segment name with spaces and reserved characters reaches the API exactly', async () => {
		const filter = 'Trial & Pilot / EMEA';
		const result = await runExport(server, { datasetId: 'engage', returnAll: true, pageSize: 40, options: { filter } });

		expect(result.items.map((item) => item.json)).toEqual(expectedAccounts({ ...ENGAGE, filter }));
		expect(result.items.length).toBeLessThan(ENGAGE.count);
		expect(exportRequests()[0].rawUrl).toContain('filter=Trial%20%26%20Pilot%20%2F%20EMEA&');
		expect(exportRequests()[0].query.filter).toBe(filter);
	});

	test('segment and segmentation IDs narrow the export; unset options are not sent', async () => {
		await runExport(server, {
			datasetId: 'engage',
			returnAll: true,
			pageSize: 40,
			options: { segmentId: '1PPOO', segmentationId: 'tiers', filter: '' },
		});

		const query = exportRequests()[0].query;
		expect(query).toEqual({ segmentId: '1PPOO', segmentationId: 'tiers', pageSize: '40', page: '0' });
	});

	test('a dataset ID with / ? # % and spaces stays one path segment', async () => {
		const result = await runExport(server, { datasetId: ODD_ID, returnAll: true, pageSize: 40 });

		expect(result.items).toHaveLength(12);
		expect(exportRequests()[0].datasetId).toBe(ODD_ID);
		expect(exportRequests()[0].rawUrl.startsWith(`/api/dataset/${encodeURIComponent(ODD_ID)}/accounts.json?`)).toBe(
			true,
		);
	});

	test('start and end go on the wire as epoch milliseconds, whatever form they come in', async () => {
		await runExport(
			server,
			{
				datasetId: 'engage',
				returnAll: false,
				limit: 1,
				pageSize: 40,
				options: { start: '2024-01-15T00:00:00', end: "={{ DateTime.fromISO('2024-02-01T12:00:00Z') }}" },
			},
			{ timezone: 'Europe/Berlin' },
		);
		await runExport(server, {
			datasetId: 'engage',
			returnAll: false,
			limit: 1,
			pageSize: 40,
			options: { start: '1700000000000', end: 1700000000001 },
		});

		const [berlin, digits] = exportRequests().map((request) => request.query);
		// Midnight in Berlin (UTC+1 in January) is 23:00 UTC the day before.
		expect(berlin.start).toBe(String(Date.UTC(2024, 0, 14, 23)));
		expect(berlin.end).toBe(String(Date.UTC(2024, 1, 1, 12)));
		expect(digits.start).toBe('1700000000000');
		expect(digits.end).toBe('1700000000001');
	});

	test('start after end is refused before any request, naming both fields', async () => {
		const result = await runExport(server, {
			datasetId: 'engage',
			returnAll: true,
			pageSize: 40,
			options: { start: '2024-03-01T00:00:00Z', end: '2024-02-01T00:00:00Z' },
		});

		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(/Start .* is after End/);
		expect(server.stats.requests).toBe(0);
	});

	test('an account sent again later is kept once: the last copy, in the first position', async () => {
		const result = await runExport(server, { datasetId: 'repeating', returnAll: true, pageSize: 40 });
		const raw = await runExport(server, {
			datasetId: 'repeating',
			returnAll: true,
			pageSize: 40,
			options: { deduplicate: false },
		});

		expect(result.items.map((item) => item.json)).toEqual(expectedAccounts(REPEATING));
		expect(raw.items).toHaveLength(REPEATING.count + REPEATING.repeats.length);
	});
});

describe('CSV export', () => {
	const fetchCsv = async (query) => {
		const response = await fetch(`${server.url}/api/dataset/engage/accounts.csv${query}`, {
			headers: { authorization: `Basic ${Buffer.from('demo-key:demo-secret').toString('base64')}` },
		});
		return await response.text();
	};

	test('Return All streams the whole export, unpaged, into one file', async () => {
		const result = await runExport(server, { datasetId: 'engage', format: 'csv', returnAll: true, pageSize: 40 });

		expect(result.items).toHaveLength(1);
		const file = result.items[0].binary?.data;
		expect(file).toMatchObject({ mimeType: 'text/csv', fileName: 'engage-accounts.csv' });
		expect(exportRequests()).toHaveLength(1);
		expect(exportRequests()[0].query).toEqual({});
		expect((await result.readBinary(file)).toString('utf8')).toBe(await fetchCsv(''));
	});

	test('joined pages carry the header once, and Limit counts rows', async () => {
		const result = await runExport(server, {
			datasetId: 'engage',
			format: 'csv',
			returnAll: false,
			limit: 100,
			pageSize: 40,
			options: { binaryPropertyName: 'file' },
		});

		const text = (await result.readBinary(result.items[0].binary?.file)).toString('utf8');
		const whole = await fetchCsv('');
		const header = whole.slice(0, whole.indexOf('\r\n'));
		expect(text.split(header)).toHaveLength(2);
		expect(result.items[0].json).toMatchObject({ rows: 100 });
		// The same first 100 rows as the unpaged export (a quoted line break counts as one row).
		expect(whole.startsWith(text)).toBe(true);
	});
});

describe('failures', () => {
	test('a wrong key pair says to check the API Key ID and Secret', async () => {
		const result = await runExport(
			server,
			{ datasetId: 'engage', returnAll: true },
			{ credentials: credentialsFor(server, { apiSecretKey: 'not-the-secret' }) },
		);

		expect(result.status).toBe('error');
		expect(result.error?.message).toContain('401');
		expect(result.error?.description).toContain('API Key ID and API Secret Key');
		expect(JSON.stringify(result.run)).not.toContain('not-the-secret');
		// A 401 is an answer, not a hiccup: asked once.
		expect(server.stats.requests).toBe(1);
	});

	test('a dataset the token may not read says what access is missing', async () => {
		const result = await runExport(server, { datasetId: 'restricted', returnAll: true });

		expect(result.error?.message).toContain('403');
		expect(result.error?.description).toMatch(/Can access API/);
	});

	test('an unknown dataset is named in the error', async () => {
		const result = await runExport(server, { datasetId: 'no-such-set', returnAll: true });

		expect(result.error?.message).toBe('Dataset "no-such-set" was not found (404) when exporting accounts');
		// Not retried, and no parallel pages behind the first.
		expect(server.stats.requests).toBe(1);
	});

	test('an account name that is not a DNS label fails before any request', async () => {
		const result = await runExport(
			server,
			{ datasetId: 'engage', returnAll: true },
			{
				credentials: credentialsFor(server, { baseUrl: '', accountName: 'evil.example.com/x' }),
			},
		);

		expect(result.error?.message).toContain('Account Name must be letters, digits and hyphens');
		expect(server.stats.requests).toBe(0);
	});

	test('Continue On Fail turns a failing input item into an error item and goes on', async () => {
		const result = await runExport(
			server,
			{ datasetId: '={{ $json.dataset }}', returnAll: true, pageSize: 40 },
			{
				input: [{ json: { dataset: 'no-such-set' } }, { json: { dataset: 'repeating' } }],
				continueOnFail: true,
			},
		);

		expect(result.status).toBe('success');
		expect(result.items[0]).toEqual({
			json: { error: 'Dataset "no-such-set" was not found (404) when exporting accounts', description: expect.any(String) },
			pairedItem: { item: 0 },
		});
		expect(result.items.slice(1).map((item) => item.json)).toEqual(expectedAccounts(REPEATING));
		expect(result.items[1].pairedItem).toEqual({ item: 1 });
	});

	test('429 and 5xx answers are retried and nothing is lost or doubled', async () => {
		server.setFaults([
			{ kind: 'status', status: 429, retryAfter: '0' },
			null,
			{ kind: 'status', status: 503 },
			{ kind: 'status', status: 502 },
			null,
			{ kind: 'reset' },
			{ kind: 'truncate' },
		]);
		const result = await runExport(server, {
			datasetId: 'repeating',
			returnAll: true,
			pageSize: 40,
			options: { concurrency: 1 },
		});

		expect(result.status).toBe('success');
		expect(result.items.map((item) => item.json)).toEqual(expectedAccounts(REPEATING));
		expect(server.stats.byStatus['429']).toBe(1);
		expect(server.stats.faultsByKind).toMatchObject({ reset: 1, truncate: 1 });
	});

	test('a service that keeps failing ends the run with a clear error after the retries', async () => {
		server.setFaults(() => ({ kind: 'status', status: 503 }));
		const result = await runExport(server, {
			datasetId: 'engage',
			returnAll: true,
			pageSize: 40,
			options: { concurrency: 1, retries: 2 },
		});

		expect(result.error?.message).toBe('Evergage still answered 503 after 3 attempts at page 0 of the accounts export');
		expect(server.stats.requests).toBe(3);
	});

	test('a response slower than the timeout is abandoned and asked again', async () => {
		server.setFaults([{ kind: 'slow', delayMs: 2000 }]);
		const result = await runExport(server, {
			datasetId: 'engage',
			returnAll: false,
			limit: 10,
			pageSize: 40,
			options: { timeout: 300 },
		});

		expect(result.status).toBe('success');
		expect(result.items).toHaveLength(10);
		expect(exportRequests().length).toBeGreaterThanOrEqual(2);
	});

	test('a streamed CSV body that goes silent is abandoned and asked again', async () => {
		server.setFaults([{ kind: 'stall' }]);
		const result = await runExport(server, {
			datasetId: 'engage',
			format: 'csv',
			returnAll: true,
			options: { timeout: 300 },
		});

		expect(result.status).toBe('success');
		expect(server.stats.faultsByKind).toMatchObject({ stall: 1 });
		const text = (await result.readBinary(result.items[0].binary?.data)).toString('utf8');
		expect(text.split('\r\n')[1]).toMatch(/^[a-z]+-000000,/);
		expect(exportRequests()).toHaveLength(2);
	});

	test('a redirect is not followed, so the key pair never reaches another host', async () => {
		const hits = [];
		const redirecting = http.createServer((request, response) => {
			hits.push(request.url ?? '');
			response.writeHead(302, { location: 'http://127.0.0.2:9/steal' }).end();
		});
		await new Promise((resolve) => redirecting.listen(0, '127.0.0.1', () => resolve(undefined)));
		try {
			const url = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (redirecting.address()).port}`;
			const result = await runExport({ url }, { datasetId: 'engage', returnAll: true });

			expect(result.error?.message).toBe('Evergage answered with a redirect (302), which is not followed');
			expect(result.error?.description).toContain('http://127.0.0.2:9/steal');
			expect(hits).toHaveLength(1);
		} finally {
			redirecting.close();
		}
	});
});
