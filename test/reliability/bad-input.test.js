// @ts-check
'use strict';
/**
 * Bad input, field by field, through n8n's engine. Each case gives a clear error naming the field,
 * or a documented coercion; input that could change the target host or path sends no request.
 * The table is the test's data.
 */
const dns = require('dns');
const net = require('net');

const { credentialsFor, runExport, startStandin } = require('../support/node-under-test');
const { printFigures } = require('./support');

// Dataset ids that are legal names: each must reach its own dataset as one encoded path segment.
const ODD_DATASETS = [
	'a/b',
	'x?y=1',
	'frag#ment',
	'100%',
	'%2e%2e',
	'..x',
	'with space',
	'ünïcødé-数据',
	'a\\b',
	'../principals',
	'CR\r\nX-Injected: 1',
];

const base = { datasetId: 'engage', format: 'json', returnAll: true, pageSize: 100 };

/**
 * One bad input: the field, the value as shown, what the node gets, and either the error it must
 * give or what it must send instead.
 * @typedef {{ field: string, value: string, parameters?: Record<string, any>, options?: Record<string, any>,
 *   credentials?: Record<string, any>, error?: RegExp, sends?: Record<string, any>, items?: number, moreItemsThan?: number }} BadInput
 */
/** @type {BadInput[]} */
const CASES = [
	// Dataset ID
	{ field: 'Dataset ID', value: 'empty', parameters: { datasetId: '' }, error: /Dataset ID.* is (empty|required)/ },
	{
		field: 'Dataset ID',
		value: 'expression → ""',
		parameters: { datasetId: '={{ "" }}' },
		error: /^Dataset ID is empty/,
	},
	{ field: 'Dataset ID', value: '"."', parameters: { datasetId: '.' }, error: /^Dataset ID cannot be "\."/ },
	{ field: 'Dataset ID', value: '".."', parameters: { datasetId: '..' }, error: /^Dataset ID cannot be "\.\."/ },
	{
		field: 'Dataset ID',
		value: 'expression → null',
		parameters: { datasetId: '={{ null }}' },
		error: /^Dataset ID is empty/,
	},
	{
		field: 'Dataset ID',
		value: 'expression → object',
		parameters: { datasetId: '={{ { a: 1 } }}' },
		error: /Dataset ID/,
	},
	...ODD_DATASETS.map((id) => ({
		field: 'Dataset ID',
		value: JSON.stringify(id),
		parameters: { datasetId: id },
		sends: { datasetId: id },
	})),
	// Page Size
	...['0', '-1', '1.5', '100001', '1e12'].map((v) => ({
		field: 'Page Size',
		value: v,
		parameters: { pageSize: Number(v) },
		error: /^Page Size must be a whole number from 1 to 100000/,
	})),
	{ field: 'Page Size', value: 'expression → "abc"', parameters: { pageSize: '={{ "abc" }}' }, error: /Page Size/ },
	{ field: 'Page Size', value: 'expression → null', parameters: { pageSize: '={{ null }}' }, error: /Page Size/ },
	{ field: 'Page Size', value: 'expression → object', parameters: { pageSize: '={{ { n: 5 } }}' }, error: /Page Size/ },
	{
		field: 'Page Size',
		value: 'expression → "25" (coerced)',
		parameters: { pageSize: '={{ "25" }}' },
		sends: { query: { pageSize: '25' } },
	},
	{ field: 'Page Size', value: 'NaN', parameters: { pageSize: NaN }, error: /^Page Size must be a whole number from 1 to 100000, not NaN$/ },
	// Return All and the other switches: one checked reader (n8n coerces only fields it validates)
	{
		field: 'Return All',
		value: 'expression → "false" (honours Limit)',
		parameters: { returnAll: '={{ "false" }}', limit: 5 },
		sends: { query: { pageSize: '100' } },
		items: 5,
	},
	{
		field: 'Return All',
		value: 'expression → "true"',
		parameters: { returnAll: '={{ "true" }}', limit: 5 },
		moreItemsThan: 5,
	},
	{
		field: 'Return All',
		value: 'expression → "no"',
		parameters: { returnAll: '={{ "no" }}' },
		error: /^Return All must be true or false, not "no"/,
	},
	{
		field: 'Return All',
		value: 'expression → 0',
		parameters: { returnAll: '={{ 0 }}' },
		error: /^Return All must be true or false, not 0/,
	},
	{
		field: 'Deduplicate',
		value: 'expression → "yes"',
		options: { deduplicate: '={{ "yes" }}' },
		error: /^Deduplicate must be true or false, not "yes"/,
	},
	{
		field: 'Format',
		value: 'expression → "JSON"',
		parameters: { format: '={{ "JSON" }}' },
		error: /^Format must be "json" or "csv", not "JSON"/,
	},
	{ field: 'Export Deadline', value: '-1', options: { exportDeadline: -1 }, error: /^Export Deadline must be a whole number from 0/ },
	{ field: 'Export Deadline', value: '0 (none)', options: { exportDeadline: 0 }, moreItemsThan: 5 },
	// Limit
	...['0', '-3', '2.5'].map((v) => ({
		field: 'Limit',
		value: v,
		parameters: { returnAll: false, limit: Number(v) },
		error: /^Limit must be a whole number from 1/,
	})),
	{
		field: 'Limit',
		value: 'expression → null',
		parameters: { returnAll: false, limit: '={{ null }}' },
		error: /Limit/,
	},
	// Start Page
	...['-1', '0.5'].map((v) => ({
		field: 'Start Page',
		value: v,
		options: { page: Number(v) },
		error: /^Start Page must be a whole number from 0/,
	})),
	{ field: 'Start Page', value: 'expression → object', options: { page: '={{ {} }}' }, error: /Start Page/ },
	// Start / End
	{ field: 'Start', value: '"yesterday"', options: { start: 'yesterday' }, error: /^Start is not a date/ },
	{ field: 'Start', value: '-1', options: { start: -1 }, error: /^Start is not a date/ },
	{ field: 'Start', value: '9e15 (out of range)', options: { start: 9e15 }, error: /^Start is not a date/ },
	{ field: 'Start', value: '"2024-13-45"', options: { start: '2024-13-45' }, error: /^Start is not a date/ },
	{ field: 'Start', value: 'expression → object', options: { start: '={{ { a: 1 } }}' }, error: /Start/ },
	{ field: 'Start', value: 'expression → 1700000000 (seconds)', options: { start: '={{ 1700000000 }}' }, error: /^Start looks like seconds \(1700000000\)/ },
	{ field: 'End', value: '"1700000000" (seconds as text)', options: { end: '1700000000' }, error: /^End looks like seconds/ },
	{ field: 'End', value: '"soon"', options: { end: 'soon' }, error: /^End is not a date/ },
	{ field: 'End', value: '1.5', options: { end: 1.5 }, error: /^End is not a date/ },
	{
		field: 'Start',
		value: 'after End',
		options: { start: '2024-02-01T00:00:00Z', end: '2024-01-01T00:00:00Z' },
		error: /^Start \(2024-02-01.*\) is after End/,
	},
	{ field: 'Start', value: 'expression → null (not set)', options: { start: '={{ null }}' }, sends: { query: {} } },
	{
		field: 'End',
		value: 'epoch ms text (coerced)',
		options: { end: '1700000000000' },
		sends: { query: { end: '1700000000000' } },
	},
	// Other options
	{
		field: 'Filter (Segment Name or ID)',
		value: 'expression → object',
		options: { filter: '={{ { a: 1 } }}' },
		error: /^Filter \(Segment Name or ID\) must be text/,
	},
	{
		field: 'Segment ID',
		value: 'expression → list',
		options: { segmentId: '={{ [1, 2] }}' },
		error: /^Segment ID must be text/,
	},
	{
		field: 'Filter (Segment Name or ID)',
		value: '"a&b=c#d" (encoded)',
		options: { filter: 'a&b=c#d' },
		sends: { query: { filter: 'a&b=c#d' } },
	},
	{
		field: 'Max Parallel Requests',
		value: '0',
		options: { concurrency: 0 },
		error: /^Max Parallel Requests must be a whole number from 1 to 16/,
	},
	{
		field: 'Max Parallel Requests',
		value: '17',
		options: { concurrency: 17 },
		error: /^Max Parallel Requests must be a whole number from 1 to 16/,
	},
	{ field: 'Timeout', value: '0', options: { timeout: 0 }, error: /^Timeout must be a whole number/ },
	{ field: 'Retries', value: '11', options: { retries: 11 }, error: /^Retries must be a whole number from 0 to 10/ },
	{ field: 'Retries', value: '-1', options: { retries: -1 }, error: /^Retries must be a whole number from 0 to 10/ },
	{ field: 'Format', value: '"xml"', parameters: { format: 'xml' }, error: /^Format must be "json" or "csv"/ },
	{
		field: 'Put Output File in Field',
		value: 'empty',
		parameters: { format: 'csv' },
		options: { binaryPropertyName: '' },
		error: /^Put Output File in Field is empty/,
	},
	{
		field: 'Options',
		value: 'expression → null (defaults)',
		parameters: { options: '={{ null }}' },
		sends: { query: { pageSize: '100' } },
	},
];

// Credential fields: Account Name / Instance with no Base URL never reach the network.
const NOT_DNS_LABELS = [
	'demo.evil.com',
	'a@b',
	'a/b',
	'a:8080',
	'a b',
	'',
	'dеmo' /* Cyrillic е */,
	'ｄｅｍｏ',
	'demo\n',
	'x?y',
	'x#y',
	'-'.repeat(64),
];
for (const [field, key] of [
	['Account Name', 'accountName'],
	['Instance', 'instance'],
]) {
	for (const value of NOT_DNS_LABELS) {
		CASES.push({
			field,
			value: JSON.stringify(value),
			credentials: { baseUrl: '', [key]: value },
			error: new RegExp(`^The credential's ${field} must be letters, digits and hyphens only`),
		});
	}
}

describe.each(['accounts', 'users'])('bad input to the %s export, through the n8n engine', (entity) => {
	let server;
	const connects = [];
	const lookups = [];
	const originalConnect = net.Socket.prototype.connect;
	const originalLookup = dns.lookup;
	const figures = {
		cases: 0,
		'errors naming the field': 0,
		'accepted (encoded or coerced)': 0,
		'requests from rejected input': 0,
		'sockets/DNS from bad credentials': 0,
	};

	beforeAll(async () => {
		const datasets = { engage: { count: 20 } };
		for (const id of ODD_DATASETS) datasets[id] = { count: 3, userCount: 3, seed: 7 };
		server = await startStandin({ datasets });
		net.Socket.prototype.connect = function (...args) {
			const target = args[0];
			connects.push(typeof target === 'object' ? `${target.host}:${target.port}` : String(target));
			return originalConnect.apply(this, args);
		};
		// @ts-ignore a recording wrapper with lookup's own (overloaded) signature
		dns.lookup = (...args) => {
			lookups.push(String(args[0]));
			// @ts-ignore
			return originalLookup(...args);
		};
	});
	afterAll(async () => {
		net.Socket.prototype.connect = originalConnect;
		dns.lookup = originalLookup;
		await server.close();
		printFigures(`bad-input-sweep-${entity}`, figures);
	});

	test.each(CASES.map((c) => [`${c.field} = ${c.value}`, c]))('%s', async (_name, c) => {
		figures.cases++;
		// Tail requests the previous case aborted may still be arriving: not this case's. Wait until
		// none has arrived for 100 ms (at most 3 s), so that the count below is this case's alone.
		for (let quiet = 0, last = -1, waited = 0; quiet < 100 && waited < 3000; waited += 20) {
			quiet = server.stats.requests === last ? quiet + 20 : 0;
			last = server.stats.requests;
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		const before = server.stats.requests;
		connects.length = 0;
		lookups.length = 0;
		const parameters = { ...base, options: {}, ...c.parameters };
		if (c.options) parameters.options = { ...parameters.options, ...c.options };
		// n8n itself refuses a workflow whose required parameter is empty, before the node runs.
		const result = await runExport(server, parameters, {
			credentials: credentialsFor(server, c.credentials ?? {}),
			entity,
		}).catch((error) => ({
			status: 'error',
			error: { message: error.message, description: 'refused by n8n before the run' },
			items: [],
		}));
		const sent = server.requests.slice(before);
		if (c.error) {
			expect(result.status).toBe('error');
			expect(result.error?.message).toMatch(c.error);
			expect(String(result.error?.description ?? '')).not.toBe('');
			figures['errors naming the field']++;
			if (sent.length > 0) figures['requests from rejected input'] += sent.length;
			expect(sent).toHaveLength(0);
			if (c.credentials && 'baseUrl' in c.credentials && c.credentials.baseUrl === '') {
				const outside = connects.filter((t) => !t.includes(String(new URL(server.url).port))).length + lookups.length;
				figures['sockets/DNS from bad credentials'] += outside;
				expect({ connects, lookups }).toEqual({ connects: [], lookups: [] });
			}
			return;
		}
		expect({ status: result.status, error: result.error?.message }).toEqual({ status: 'success', error: undefined });
		figures['accepted (encoded or coerced)']++;
		expect(sent.length).toBeGreaterThan(0);
		for (const request of sent) {
			// One path segment, the dataset asked for, the export route: never another path.
			expect(request.rawUrl.split('?')[0].split('/')).toHaveLength(5);
			expect(request.datasetId).toBe(c.sends?.datasetId ?? 'engage');
			expect(request.rawUrl).toMatch(new RegExp(`^/api/dataset/[^/?#]+/${entity}\\.json(\\?|$)`));
			for (const [key, value] of Object.entries(c.sends?.query ?? {})) expect(request.query[key]).toBe(value);
		}
		if (c.sends?.datasetId) expect(result.items).toHaveLength(3);
		if (c.items !== undefined) expect(result.items).toHaveLength(c.items);
		if (c.moreItemsThan !== undefined) expect(result.items.length).toBeGreaterThan(c.moreItemsThan);
	});
});

describe("the credential's Base URL", () => {
	let server;
	beforeAll(async () => (server = await startStandin({ datasets: { engage: { count: 5 } } })));
	afterAll(async () => await server.close());

	const host = () => new URL(server.url).host;
	/** @type {Array<[string, () => string, RegExp | null]>} */
	const cases = [
		['ftp scheme', () => `ftp://${host()}`, /must start with https:\/\/ or http:\/\//],
		['file scheme', () => 'file:///etc/passwd', /must start with https:\/\/ or http:\/\//],
		['javascript scheme', () => 'javascript:alert(1)', /must start with https:\/\/ or http:\/\//],
		['user and password in it', () => `http://user:pass@${host()}`, /must not contain a user name or password/],
		['user only in it', () => `http://user@${host()}`, /must not contain a user name or password/],
		['a path', () => `http://${host()}/api/dataset/other`, /must be an origin, without a path or query/],
		['a query', () => `http://${host()}/?x=1`, /must be an origin, without a path or query/],
		['a fragment', () => `http://${host()}/#x`, /must be an origin, without a path or query/],
		['not a URL', () => 'not a url', /is not a valid URL/],
		['trailing slash (accepted)', () => `http://${host()}/`, null],
		['surrounding spaces (trimmed)', () => `  http://${host()}  `, null],
	];
	test.each(cases)('%s', async (_label, make, error) => {
		const before = server.stats.requests;
		const result = await runExport(
			server,
			{ ...base, options: {} },
			{ credentials: credentialsFor(server, { baseUrl: make() }) },
		);
		if (error) {
			expect(result.status).toBe('error');
			expect(result.error?.message).toMatch(/^The credential's Base URL/);
			expect(result.error?.message).toMatch(error);
			expect(server.stats.requests).toBe(before);
		} else {
			expect(result.status).toBe('success');
			expect(result.items).toHaveLength(5);
		}
	});
});
