// @ts-check
'use strict';
/**
 * The Dates option through n8n-core's engine: its default per node version, the workflow's time
 * zone, the CSV file left as sent, and the trigger's changes found on the records as sent.
 */
const { isoFormatter } = require('../../nodes/shared/dates');
const { accountAt } = require('../support/standin');
const { createTrigger, expectedAccounts, expectedUsers, runExport, startStandin } = require('../support/node-under-test');

const ENGAGE = { count: 30, seed: 7 };
const BERLIN = 'Europe/Berlin';

let server;

beforeAll(async () => {
	server = await startStandin({ maxPageSize: 40, datasets: { engage: ENGAGE } });
});

afterAll(async () => {
	await server.close();
});

const base = { datasetId: 'engage', returnAll: true, pageSize: 100 };
const toBerlin = isoFormatter(BERLIN);
/** A record as the node outputs it with ISO 8601 dates in Berlin. */
const inBerlin = (record) => {
	const copy = { ...record };
	for (const field of ['firstActivity', 'lastActivity', 'segmentJoined'])
		if (typeof copy[field] === 'number') copy[field] = toBerlin(copy[field]);
	return copy;
};

describe('export nodes', () => {
	test('a new node (version 1.1) outputs ISO 8601 dates in the workflow time zone', async () => {
		const result = await runExport(server, base, { typeVersion: 1.1, timezone: BERLIN });

		expect(result.status).toBe('success');
		expect(result.items.map((item) => item.json)).toEqual(expectedAccounts(ENGAGE).map(inBerlin));
		expect(result.items[0].json.lastActivity).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000\+0[12]:00$/);
	});

	test('a node of an existing workflow (version 1) still outputs epoch milliseconds', async () => {
		const result = await runExport(server, base, { typeVersion: 1, timezone: BERLIN });

		expect(result.items.map((item) => item.json)).toEqual(expectedAccounts(ENGAGE));
	});

	test('either version takes either choice', async () => {
		const iso = await runExport(server, { ...base, dates: 'iso8601' }, { typeVersion: 1, timezone: BERLIN });
		const asSent = await runExport(server, { ...base, dates: 'asSent' }, { typeVersion: 1.1, timezone: BERLIN });

		expect(iso.items.map((item) => item.json)).toEqual(expectedAccounts(ENGAGE).map(inBerlin));
		expect(asSent.items.map((item) => item.json)).toEqual(expectedAccounts(ENGAGE));
	});

	test('the User Export converts segmentJoined too', async () => {
		const filter = 'High Value Accounts';
		const result = await runExport(server, { ...base, options: { filter } }, { entity: 'users', typeVersion: 1.1, timezone: BERLIN });

		const expected = expectedUsers({ ...ENGAGE, filter });
		expect(result.items.length).toBeGreaterThan(0);
		expect(result.items.every((item) => typeof item.json.segmentJoined === 'string')).toBe(true);
		const first = expected.find((user) => user.name === result.items[0].json.name);
		expect(result.items[0].json).toEqual(inBerlin(first));
	});

	test('a CSV file keeps the dates as sent', async () => {
		const csv = { ...base, format: 'csv' };
		const v1 = await runExport(server, csv, { typeVersion: 1, timezone: BERLIN });
		const v11 = await runExport(server, { ...csv, dates: 'iso8601' }, { typeVersion: 1.1, timezone: BERLIN });

		const [a, b] = [await v1.readBinary(v1.items[0].binary.data), await v11.readBinary(v11.items[0].binary.data)];
		expect(b.toString()).toBe(a.toString());
		expect(b.toString()).toContain(String(expectedAccounts(ENGAGE)[0].lastActivity));
	});

	test('a Dates value from a wrong expression fails before any request, naming the field', async () => {
		server.resetStats();
		const result = await runExport(server, { ...base, dates: 'yesterday' }, { typeVersion: 1.1 });

		expect(result.status).toBe('error');
		expect(result.error?.message).toContain('Dates must be "asSent" or "iso8601", not "yesterday"');
		expect(server.requests.filter((request) => request.datasetId !== undefined)).toEqual([]);
	});
});

describe('trigger', () => {
	const records = (count, version = 0) => Array.from({ length: count }, (_, i) => accountAt(i, 5, i < 3 ? version : 0));
	const parameters = { datasetId: 'watch', events: ['changed', 'left'], changeOn: 'anyField' };

	/** Two triggers, one per Dates choice, through the same baseline, change and removal. */
	async function pollBoth() {
		server.setDataset('watch', { records: records(10) });
		const iso = createTrigger(server, parameters, { typeVersion: 1.1, timezone: BERLIN });
		const asSent = createTrigger(server, { ...parameters, dates: 'asSent' }, { typeVersion: 1.1, timezone: BERLIN });
		for (const trigger of [iso, asSent]) expect(await trigger.poll()).toEqual({ items: null, error: undefined });
		server.setDataset('watch', { records: records(9, 1) });
		const [isoPoll, asSentPoll] = [await iso.poll(), await asSent.poll()];
		return { iso, asSent, isoItems: isoPoll.items ?? [], asSentItems: asSentPoll.items ?? [] };
	}

	test('Changed and Left items carry ISO 8601 dates, previous.lastActivity included', async () => {
		const { isoItems, asSentItems } = await pollBoth();

		expect(asSentItems.length).toBe(4); // three changed, one left
		expect(isoItems).toEqual(
			asSentItems.map((item) => ({
				...inBerlin(item),
				previous: { ...item.previous, lastActivity: toBerlin(item.previous.lastActivity) },
			})),
		);
	});

	test('changes are found on the records as sent: both choices keep the same snapshot', async () => {
		const { iso, asSent } = await pollBoth();

		expect(iso.state()).toEqual(asSent.state());
		expect(iso.saved()).toEqual(asSent.saved());
	});

	test('an unchanged export after ISO output reports nothing: the output did not leak into the baseline', async () => {
		const { iso } = await pollBoth();

		expect(await iso.poll()).toEqual({ items: null, error: undefined });
	});

	test('"Fetch Test Event" shows ISO 8601 dates too', async () => {
		server.setDataset('watch', { records: records(10) });
		const trigger = createTrigger(server, parameters, { typeVersion: 1.1, timezone: BERLIN });
		const { items } = await trigger.poll({ mode: 'manual' });

		expect(items?.length).toBeGreaterThan(0);
		for (const item of items ?? []) expect(String(item.lastActivity ?? item.previous?.lastActivity)).toMatch(/\+0[12]:00$/);
	});

	test('a version 1 trigger keeps epoch milliseconds', async () => {
		server.setDataset('watch', { records: records(10) });
		const trigger = createTrigger(server, parameters, { typeVersion: 1 });
		const { items } = await trigger.poll({ mode: 'manual' });

		for (const item of items ?? []) expect(typeof (item.lastActivity ?? item.previous?.lastActivity)).toBe('number');
	});
});
