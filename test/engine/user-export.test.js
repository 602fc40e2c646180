// @ts-check
'use strict';
/**
 * The User Export node inside n8n-core's WorkflowExecute, against the stand-in over real HTTP on
 * 127.0.0.1. The machinery it shares with the account node (paging, retries, errors) is covered for
 * both nodes by the reliability suites; this file covers what is the user node's own.
 */
const { retryTiming } = require('../../nodes/shared/transport');
const { EvergageUserExport } = require('../../nodes/EvergageUserExport/EvergageUserExport.node');
const { EvergageAccountExport } = require('../../nodes/EvergageAccountExport/EvergageAccountExport.node');

const { credentialsFor, expectedUsers, runExport, startStandin } = require('../support/node-under-test');
const { generateUsers } = require('../support/standin');

const ENGAGE = { count: 60, seed: 5, userRepeats: [3, 3, 40, 119] };
const users = { entity: /** @type {const} */ ('users') };

let server;
const savedTiming = { ...retryTiming };

beforeAll(() => {
	Object.assign(retryTiming, { baseDelayMs: 5, maxDelayMs: 20 });
});

afterAll(() => {
	Object.assign(retryTiming, savedTiming);
});

// A stand-in for each test: a request a finished export aborted may reach a server long after it
// ended on a loaded machine, and must never count for the next test. It finds the old one closed.
beforeEach(async () => {
	server = await startStandin({ maxPageSize: 25, datasets: { engage: ENGAGE } });
});

afterEach(() => server.close());

const exportRequests = () => server.requests.filter((request) => request.entity !== null);

describe('Evergage User Export', () => {
	test('Return All pages through users.json and keeps the last copy of a repeated user, in first position', async () => {
		const result = await runExport(server, { datasetId: 'engage', returnAll: true, pageSize: 50 }, users);

		expect(result.status).toBe('success');
		expect(result.items.map((item) => item.json)).toEqual(expectedUsers(ENGAGE));
		expect(result.items).toHaveLength(120);
		expect(exportRequests().every((request) => request.path === '/api/dataset/engage/users.json')).toBe(true);
		expect(result.items.every((item) => typeof item.json.accountName === 'string')).toBe(true);
	});

	test('Include Geo is sent only when on, and the location passes through as the service sends it', async () => {
		const off = await runExport(server, { datasetId: 'engage', returnAll: false, limit: 5, pageSize: 5 }, users);
		expect(exportRequests().every((request) => !('includeGeo' in request.query))).toBe(true);
		expect(off.items.some((item) => 'location' in item.json)).toBe(false);

		server.resetStats();
		const on = await runExport(
			server,
			{ datasetId: 'engage', returnAll: false, limit: 5, pageSize: 5, options: { includeGeo: true } },
			users,
		);
		expect(exportRequests().filter((request) => request.query.pageSize === '5').map((request) => request.query)).toEqual([
			{ includeGeo: 'true', pageSize: '5', page: '0' },
		]);
		// The first page: no user repeats inside it, so these are the export's first five records as served.
		expect(on.items.map((item) => item.json)).toEqual(generateUsers({ ...ENGAGE, includeGeo: true }).slice(0, 5));
		expect(on.items.every((item) => typeof item.json.location === 'object')).toBe(true);
	});

	test('a segment filter narrows the users and is sent encoded', async () => {
		const result = await runExport(
			server,
			{ datasetId: 'engage', returnAll: true, options: { filter: 'Trial & Pilot / EMEA' } },
			users,
		);
		expect(result.items.map((item) => item.json)).toEqual(expectedUsers({ ...ENGAGE, filter: 'Trial & Pilot / EMEA' }));
		expect(exportRequests().some((request) => request.rawUrl.includes('filter=Trial%20%26%20Pilot%20%2F%20EMEA'))).toBe(true);
	});

	test('CSV gives one file named <dataset>-users.csv with the user columns', async () => {
		const result = await runExport(
			server,
			{ datasetId: 'engage', format: 'csv', returnAll: true, options: { includeGeo: true } },
			users,
		);
		expect(result.items).toHaveLength(1);
		const file = result.items[0].binary?.data;
		expect(file).toMatchObject({ mimeType: 'text/csv', fileName: 'engage-users.csv' });
		const text = (await result.readBinary(file)).toString('utf8');
		expect(text.slice(0, text.indexOf('\r\n'))).toBe(
			'name,displayName,accountName,engagementScore,engagementPercentChange,firstActivity,lastActivity,totalActions,' +
				'attributes.jobTitle,attributes.language,location.city,location.region,location.country,' +
				'location.countryCode,location.latitude,location.longitude',
		);
		// A finished export aborts its requests past the end; one may still reach the server late.
		expect(exportRequests().filter((request) => request.format === 'csv').map((request) => request.rawUrl)).toEqual([
			'/api/dataset/engage/users.csv?includeGeo=true',
		]);
	});

	test('an unknown dataset names the dataset and says users', async () => {
		const result = await runExport(server, { datasetId: 'nope', returnAll: true }, users);
		expect(result.status).toBe('error');
		expect(result.error?.message).toBe('Dataset "nope" was not found (404) when exporting users');
	});

	test('the credential is the account node’s, and the description differs only in its own words and Include Geo', () => {
		const user = new EvergageUserExport().description;
		const account = new EvergageAccountExport().description;
		expect(user.credentials).toEqual(account.credentials);
		const optionNames = (description) =>
			description.properties.find((property) => property.name === 'options').options.map((option) => option.name);
		expect(optionNames(user)).toEqual([...optionNames(account).slice(0, 4), 'includeGeo', ...optionNames(account).slice(4)]);
		expect(user.properties.map((property) => property.name)).toEqual(account.properties.map((property) => property.name));
		expect(JSON.stringify(user.properties)).not.toMatch(/account/i);
	});
});

describe('both export nodes', () => {
	test.each(['accounts', 'users'])('%s: a wrong key pair fails before any record is output', async (entity) => {
		const result = await runExport(server, { datasetId: 'engage', returnAll: true }, {
			entity,
			credentials: credentialsFor(server, { apiSecretKey: 'wrong-secret-value' }),
		});
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(/refused the API key pair \(401\)/);
		const { message, description } = result.error ?? {};
		expect(JSON.stringify({ items: result.items, message, description })).not.toContain('wrong-secret');
	});
});
