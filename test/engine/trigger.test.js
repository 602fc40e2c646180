// @ts-check
'use strict';
/**
 * The Evergage Trigger polled through a real n8n-core PollContext against the stand-in, with the
 * stand-in's data changed between polls.
 */
const { trackingLimits } = require('../../nodes/shared/changes');
const { retryTiming } = require('../../nodes/shared/transport');
const { TestCredentialsHelper } = require('../support/engine');
const { accountAt, segmentsOf } = require('../support/standin');
const { createTrigger, startStandin } = require('../support/node-under-test');

const HIGH_VALUE = { id: '1PPOO', name: 'High Value Accounts' };

let server;
const savedTiming = { ...retryTiming };

beforeAll(async () => {
	Object.assign(retryTiming, { baseDelayMs: 5, maxDelayMs: 20 });
	server = await startStandin({ maxPageSize: 7, datasets: {} });
});

afterAll(async () => {
	Object.assign(retryTiming, savedTiming);
	await server.close();
});

beforeEach(() => {
	server.setFaults(undefined);
	server.resetStats();
});

/** Accounts as the stand-in generates them, each with its segments, keyed by name in export order. */
function accounts(count, seed = 11) {
	const list = [];
	for (let i = 0; i < count; i++) list.push({ ...accountAt(i, seed), segments: segmentsOf(i, seed) });
	return list;
}

/** Serves `records` (literal, segments decide membership) as dataset `id`. */
const serve = (id, records) => server.setDataset(id, { records: records.map((r) => ({ ...r })) });
const served = (record) => {
	const { segments, ...rest } = record;
	return rest;
};
const byEvent = (items, event) => items.filter((item) => item.event === event);
const namesOf = (items) => items.map((item) => item.name).sort();

describe('baseline', () => {
	test('the first poll records a baseline and emits nothing; an unchanged export emits nothing', async () => {
		serve('base', accounts(30));
		const trigger = createTrigger(server, { datasetId: 'base', events: ['new', 'entered', 'left', 'changed'], changeOn: 'anyField' });

		expect(await trigger.poll()).toEqual({ items: null, error: undefined });
		expect(trigger.state()).toMatchObject({ version: 1, present: 30 });
		expect(await trigger.poll()).toEqual({ items: null, error: undefined });
	});

	test('"Fetch Test Event" returns a few real records shaped as the chosen events and saves nothing', async () => {
		const list = accounts(30);
		serve('sample', list);
		const trigger = createTrigger(server, { datasetId: 'sample', events: ['entered', 'left', 'changed'] });

		const { items } = await trigger.poll({ mode: 'manual' });

		expect(items?.map((item) => item.event)).toEqual(['entered', 'left', 'changed', 'entered']);
		expect(items?.[0]).toEqual({ ...served(list[0]), event: 'entered' });
		expect(items?.[1]).toEqual({
			event: 'left',
			name: list[1].name,
			previous: { engagementScore: list[1].engagementScore, lastActivity: list[1].lastActivity },
		});
		expect(trigger.state()).toEqual({});
		expect(trigger.saved()).toEqual({});
		// One small page, not the whole export.
		expect(server.requests.filter((r) => r.datasetId === 'sample').map((r) => r.query.pageSize)).toEqual(['4']);
	});

	test('another dataset or segment starts a new baseline instead of reporting the difference', async () => {
		serve('one', accounts(10, 1));
		serve('two', accounts(10, 2));
		const trigger = createTrigger(server, { datasetId: 'one', events: ['entered', 'left'] });
		await trigger.poll();

		trigger.setParameters({ datasetId: 'two' });
		expect((await trigger.poll()).items).toBeNull();
		expect(trigger.state().scope).toContain('"two"');
	});
});

describe('events', () => {
	test('entering and leaving a segment, with Left carrying the name and the last values kept', async () => {
		const list = accounts(40);
		serve('seg', list);
		const trigger = createTrigger(server, { datasetId: 'seg', filter: HIGH_VALUE.name, events: ['entered', 'left'] });
		await trigger.poll();

		const outside = list.filter((a) => !a.segments.includes(HIGH_VALUE.id)).slice(0, 2);
		const inside = list.filter((a) => a.segments.includes(HIGH_VALUE.id)).slice(0, 3);
		for (const a of outside) a.segments = [...a.segments, HIGH_VALUE.id];
		for (const a of inside) a.segments = a.segments.filter((s) => s !== HIGH_VALUE.id);
		serve('seg', list);
		const { items } = await trigger.poll();

		expect(namesOf(byEvent(items, 'entered'))).toEqual(namesOf(outside));
		expect(byEvent(items, 'entered')[0]).toEqual({ ...served(outside[0]), event: 'entered' });
		expect(byEvent(items, 'left')).toEqual(
			inside.map((a) => ({
				event: 'left',
				name: a.name,
				previous: { engagementScore: a.engagementScore, lastActivity: a.lastActivity },
			})),
		);
		expect((await trigger.poll()).items).toBeNull();
	});

	test('New only the first time a record is seen; coming back is Entered', async () => {
		const list = accounts(12);
		serve('new', list);
		const trigger = createTrigger(server, { datasetId: 'new', events: ['new', 'entered', 'left'] });
		await trigger.poll();

		const [gone] = list.splice(3, 1);
		const fresh = { ...accountAt(500, 11), segments: [] };
		serve('new', [...list, fresh]);
		const second = await trigger.poll();
		expect(second.items?.map((i) => [i.event, i.name])).toEqual([['new', fresh.name], ['left', gone.name]]);

		serve('new', [...list, fresh, gone]);
		const third = await trigger.poll();
		expect(third.items?.map((i) => [i.event, i.name])).toEqual([['entered', gone.name]]);
	});

	test('Changed on the engagement score: moves below the minimum are not events, and compare with the previous poll', async () => {
		const list = accounts(10);
		list[0].engagementScore = 0.5;
		list[1].engagementScore = 0.5;
		serve('score', list);
		const trigger = createTrigger(server, { datasetId: 'score', events: ['changed'], changeOn: 'engagementScore', minScoreChange: 0.1 });
		await trigger.poll();

		list[0].engagementScore = 0.6; // exactly the minimum, despite binary floating point
		list[1].engagementScore = 0.55;
		list[2].attributes = { ...list[2].attributes, tier: 'changed' };
		serve('score', list);
		const { items } = await trigger.poll();

		expect(items).toEqual([{ ...served(list[0]), event: 'changed', previous: { engagementScore: 0.5, lastActivity: list[0].lastActivity } }]);
		list[1].engagementScore = 0.64; // 0.14 from the first poll, 0.09 from the previous one
		serve('score', list);
		expect((await trigger.poll()).items).toBeNull();
	});

	test('Changed on lastActivity: only when it advanced', async () => {
		const list = accounts(10);
		serve('activity', list);
		const trigger = createTrigger(server, { datasetId: 'activity', events: ['changed'], changeOn: 'lastActivity' });
		await trigger.poll();

		const before = list[4].lastActivity;
		list[4].lastActivity += 3_600_000;
		list[5].lastActivity -= 3_600_000;
		list[6].engagementScore = 0.01;
		serve('activity', list);
		const { items } = await trigger.poll();

		expect(items?.map((i) => [i.name, i.lastActivity, i.previous.lastActivity])).toEqual([[list[4].name, before + 3_600_000, before]]);
	});

	test('Changed on any field: attributes too, and not a reordering of the same fields', async () => {
		const list = accounts(10);
		serve('any', list);
		const trigger = createTrigger(server, { datasetId: 'any', events: ['changed'], changeOn: 'anyField' });
		await trigger.poll();

		list[2] = { ...list[2], attributes: { ...list[2].attributes, region: 'MARS' } };
		const { name, ...rest } = list[3];
		list[3] = { ...rest, name }; // same fields, another key order
		serve('any', list);
		const { items } = await trigger.poll();

		expect(items?.map((i) => i.name)).toEqual([list[2].name]);
		expect(items?.[0].attributes.region).toBe('MARS');
	});

	test('a record repeated within one export counts once, with its last copy', async () => {
		const list = accounts(20);
		serve('repeat', list);
		const trigger = createTrigger(server, { datasetId: 'repeat', events: ['new', 'changed'], changeOn: 'anyField' });
		await trigger.poll();

		const stale = { ...list[5] };
		const current = { ...list[5], totalActions: list[5].totalActions + 9 };
		const fresh = { ...accountAt(900, 11), segments: [] };
		// Unchanged early copy, changed last copy; a new record sent three times, the last one current.
		serve('repeat', [...list.slice(0, 6), fresh, ...list.slice(6), { ...fresh, totalActions: 1 }, current, { ...fresh, totalActions: 2 }]);
		const { items } = await trigger.poll();

		expect(items?.map((i) => [i.event, i.name, i.totalActions])).toEqual([
			['changed', stale.name, current.totalActions],
			['new', fresh.name, 2],
		]);
	});

	test('Users: the same events over the User Export', async () => {
		const users = accounts(12).map((a, i) => ({ ...a, name: `user-${i}@example.com`, accountName: a.name }));
		server.setDataset('people', { userRecords: users, records: [] });
		const trigger = createTrigger(server, { entity: 'users', datasetId: 'people', events: ['left', 'new'] });
		await trigger.poll();

		const [gone] = users.splice(4, 1);
		server.setDataset('people', { userRecords: [...users, { ...users[0], name: 'new@example.com' }], records: [] });
		const { items } = await trigger.poll();

		expect(items?.map((i) => [i.event, i.name])).toEqual([['new', 'new@example.com'], ['left', gone.name]]);
		expect(server.requests.every((r) => r.datasetId !== 'people' || r.path.endsWith('/users.json'))).toBe(true);
	});
});

describe('a failed poll changes nothing', () => {
	test('a fault mid-poll fails the poll; the next poll compares with the same baseline', async () => {
		const list = accounts(40);
		serve('faulty', list);
		const trigger = createTrigger(server, { datasetId: 'faulty', events: ['entered', 'left'], options: { retries: 0, concurrency: 1 } });
		await trigger.poll();
		const baseline = trigger.state();

		const [gone] = list.splice(10, 1);
		serve('faulty', list);
		server.setFaults((info) => (info.page === 2 ? { kind: 'status', status: 503 } : null));
		const failed = await trigger.poll();
		expect(failed.items).toBeNull();
		expect(String(failed.error?.message)).toMatch(/503/);
		expect(trigger.state()).toEqual(baseline);

		server.setFaults(undefined);
		expect((await trigger.poll()).items).toEqual([expect.objectContaining({ event: 'left', name: gone.name })]);
	});

	test('a cut-off body, a reset and a timeout are retried within the poll, and nothing is lost or doubled', async () => {
		const list = accounts(40);
		serve('retried', list);
		const trigger = createTrigger(server, { datasetId: 'retried', events: ['left'], options: { retries: 3, timeout: 300 } });
		await trigger.poll();

		const gone = list.splice(20, 2);
		serve('retried', list);
		const faults = [{ kind: 'truncate' }, { kind: 'reset' }, { kind: 'stall' }];
		server.setFaults((info) => (info.page >= 1 && info.page <= 3 && faults.length > 0 ? faults.shift() : null));
		const { items, error } = await trigger.poll();

		expect(error).toBeUndefined();
		expect(items?.map((i) => i.name)).toEqual(gone.map((a) => a.name));
	});

	test('a service that repeats a page fails the poll and keeps the baseline', async () => {
		serve('hostile', accounts(30));
		const trigger = createTrigger(server, { datasetId: 'hostile', events: ['left'] });
		await trigger.poll();
		const baseline = trigger.state();

		// Pages of 7: the same seven records again and again, as a service that ignores `page` sends them.
		const seven = accounts(7);
		serve('hostile', [...seven, ...seven, ...seven]);
		const { error } = await trigger.poll();

		expect(String(error?.message)).toMatch(/does not seem to page this export/);
		expect(trigger.state()).toEqual(baseline);
	});

	test('past the tracking limit a poll fails with a clear error and keeps the baseline', async () => {
		const limit = trackingLimits.maxTracked;
		trackingLimits.maxTracked = 25;
		try {
			const list = accounts(25);
			serve('big', list);
			const trigger = createTrigger(server, { datasetId: 'big', events: ['new'] });
			await trigger.poll();
			const baseline = trigger.state();

			serve('big', [...list, { ...accountAt(700, 11), segments: [] }]);
			const { error } = await trigger.poll();

			expect(error?.message).toBe('The export has more than 25 accounts: too many to follow');
			expect(error?.description).toMatch(/Segment/);
			expect(trigger.state()).toEqual(baseline);
		} finally {
			trackingLimits.maxTracked = limit;
		}
	});
});

describe('what n8n stores', () => {
	test('static data: a baseline advanced by polls that emit nothing is lost on restart, the last emitting one is kept', async () => {
		const list = accounts(20);
		serve('store', list);
		const trigger = createTrigger(server, { datasetId: 'store', events: ['left', 'entered'] });
		await trigger.poll();
		expect(trigger.saved()).toEqual({});

		const [gone] = list.splice(0, 1);
		serve('store', list);
		expect((await trigger.poll()).items?.map((i) => i.name)).toEqual([gone.name]);
		const afterEmit = trigger.saved();
		expect(afterEmit).toEqual(trigger.state());

		list[0] = { ...list[0], totalActions: list[0].totalActions + 1 };
		serve('store', list);
		expect((await trigger.poll()).items).toBeNull();
		expect(trigger.state()).not.toEqual(afterEmit);

		trigger.restart();
		expect(trigger.state()).toEqual(afterEmit);
		// Nothing to report against the older baseline either: no event is lost or doubled.
		expect((await trigger.poll()).items).toBeNull();
	});

	test('durable cursors: every successful poll is stored, so a restart keeps the latest baseline', async () => {
		const list = accounts(20);
		serve('durable', list);
		const trigger = createTrigger(server, { datasetId: 'durable', events: ['changed'], changeOn: 'engagementScore', minScoreChange: 0.1 }, { durable: true });
		await trigger.poll();
		list[3].engagementScore = Math.round((list[3].engagementScore + 0.05) * 1000) / 1000;
		serve('durable', list);
		expect((await trigger.poll()).items).toBeNull();

		trigger.restart();
		list[3].engagementScore = Math.round((list[3].engagementScore + 0.06) * 1000) / 1000;
		serve('durable', list);
		// 0.06 from the stored baseline: not an event (0.11 from the first poll would have been).
		expect((await trigger.poll()).items).toBeNull();
	});

	test('a poll started while the previous one still runs emits nothing', async () => {
		serve('overlap', accounts(30));
		const trigger = createTrigger(server, { datasetId: 'overlap', events: ['left'], options: { concurrency: 1 } });
		// Counted for this dataset only: an aborted request of an earlier test may still arrive.
		const requests = () => server.requests.filter((request) => request.datasetId === 'overlap').length;
		await trigger.poll();
		const oneExport = requests();
		const [first, second] = await Promise.all([trigger.poll(), trigger.poll()]);
		expect([first, second]).toEqual([{ items: null, error: undefined }, { items: null, error: undefined }]);
		expect(requests()).toBe(2 * oneExport);
	});
});

describe('requests', () => {
	test('a poll resolves its credential once, not once per request, as the export nodes do', async () => {
		serve('one-credential', accounts(40));
		const lookUps = jest.spyOn(TestCredentialsHelper.prototype, 'getDecrypted');
		try {
			const trigger = createTrigger(server, { datasetId: 'one-credential', events: ['entered'] });

			expect(await trigger.poll()).toEqual({ items: null, error: undefined });
			// Pages of 7 at most: several requests, each with the key pair (none refused).
			expect(server.stats.exportRequests).toBeGreaterThan(3);
			expect(server.stats.byStatus['401'] ?? 0).toBe(0);
			expect(lookUps).toHaveBeenCalledTimes(1);
		} finally {
			lookUps.mockRestore();
		}
	});
});
