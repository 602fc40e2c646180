// @ts-check
'use strict';
/**
 * The trigger's safety rules in n8n-core's own poll tick, against the stand-in: every poll ends by its
 * deadline, a stuck poll is reported and replaced, a glitch in the export is not reported as change,
 * and what a record holds, how it is named and how much state it takes are all accounted for.
 */
const { trackingLimits } = require('../../nodes/shared/changes');
const { retryTiming } = require('../../nodes/shared/transport');
const { accountAt } = require('../support/standin');
const { createTrigger, startStandin } = require('../support/node-under-test');

const HIGH_VALUE = { id: '1PPOO', name: 'High Value Accounts' };

let server;
const savedTiming = { ...retryTiming };

beforeAll(async () => {
	Object.assign(retryTiming, { baseDelayMs: 5, maxDelayMs: 20 });
	server = await startStandin({ maxPageSize: 100, datasets: {} });
});

afterAll(async () => {
	Object.assign(retryTiming, savedTiming);
	await server.close();
});

beforeEach(() => {
	server.setFaults(undefined);
});

/** `count` accounts, all in the High Value segment, from index `from`. */
function members(count, from = 0) {
	return Array.from({ length: count }, (_, i) => ({ ...accountAt(from + i, 31), segments: [HIGH_VALUE.id] }));
}
const serve = (id, records) => server.setDataset(id, { records: records.map((r) => ({ ...r })) });
/** An empty page at `page` of `datasetId`'s exports, as a service having a bad moment sends it. */
const emptyFrom = (datasetId, page) =>
	server.setFaults((info) => (info.datasetId === datasetId && info.page >= page ? { kind: 'body', body: '[]' } : null));
const eventsOf = (items) => (items ?? []).map((item) => `${item.event} ${item.name}`);
/** Resolves after `ms` (test code may use timers). */
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a glitch is not a change', () => {
	test('750 members, one empty answer, then the same 750 and 2 that entered: nothing, then the 2', async () => {
		const list = members(750);
		serve('glitch', list);
		const trigger = createTrigger(server, { datasetId: 'glitch', filter: HIGH_VALUE.name, events: ['entered', 'left'] });
		await trigger.poll();
		const baseline = trigger.state();

		emptyFrom('glitch', 0);
		expect(await trigger.poll()).toEqual({ items: null, error: undefined });
		expect(trigger.state()).toMatchObject({ names: baseline.names, values: baseline.values });

		server.setFaults(undefined);
		const arrived = members(2, 750);
		serve('glitch', [...list, ...arrived]);
		expect(eventsOf((await trigger.poll()).items)).toEqual(arrived.map((a) => `entered ${a.name}`));
		expect((await trigger.poll()).items).toBeNull();
	});

	test('a shortened export that still ends with an empty page is held the same way', async () => {
		const list = members(450);
		serve('short', list);
		const trigger = createTrigger(server, { datasetId: 'short', events: ['entered', 'left', 'new'] });
		await trigger.poll();

		emptyFrom('short', 2); // 200 of 450 come back
		expect((await trigger.poll()).items).toBeNull();
		server.setFaults(undefined);
		expect((await trigger.poll()).items).toBeNull();
	});

	test('the same drop seen by the next poll is real: reported then, once', async () => {
		const list = members(40);
		serve('drop', list);
		const trigger = createTrigger(server, { datasetId: 'drop', events: ['left'] });
		await trigger.poll();

		const kept = list.slice(0, 10);
		serve('drop', kept);
		expect((await trigger.poll()).items).toBeNull();
		const { items } = await trigger.poll();
		expect(eventsOf(items)).toEqual(list.slice(10).map((a) => `left ${a.name}`));
		expect((await trigger.poll()).items).toBeNull();
	});

	test('a small drop, or one of fewer than 10 records, is reported at once', async () => {
		const list = members(40);
		serve('small', list);
		const trigger = createTrigger(server, { datasetId: 'small', events: ['left'] });
		await trigger.poll();
		serve('small', list.slice(0, 21)); // 19 of 40 left: under half
		expect((await trigger.poll()).items).toHaveLength(19);

		serve('few', list.slice(0, 12));
		const few = createTrigger(server, { datasetId: 'few', events: ['left'] });
		await few.poll();
		serve('few', list.slice(0, 3)); // 9 of 12 left: fewer than 10
		expect((await few.poll()).items).toHaveLength(9);
	});

	test('Mass Drop Guard at 0 turns the guard off; another share moves the line', async () => {
		const list = members(40);
		serve('off', list);
		const off = createTrigger(server, { datasetId: 'off', events: ['left'], options: { massDropGuard: 0 } });
		await off.poll();
		serve('off', []);
		expect((await off.poll()).items).toHaveLength(40);

		serve('quarter', list);
		const quarter = createTrigger(server, { datasetId: 'quarter', events: ['left'], options: { massDropGuard: 25 } });
		await quarter.poll();
		serve('quarter', list.slice(0, 28)); // 12 of 40 left: more than a quarter
		expect((await quarter.poll()).items).toBeNull();
	});
});

describe('every poll ends on time', () => {
	test('a trickling export fails at the poll deadline, in those words, and keeps the baseline', async () => {
		const list = members(300);
		serve('slow', list);
		const trigger = createTrigger(server, { datasetId: 'slow', events: ['left'], options: { timeout: 30_000, concurrency: 1 } }, { pollBudgetMs: 400 });
		await trigger.poll();
		const baseline = trigger.state();

		server.setFaults((info) => (info.datasetId === 'slow' && info.page === 1 ? { kind: 'slow', delayMs: 5_000 } : null));
		const started = Date.now();
		const { items, error } = await trigger.poll();
		const took = Date.now() - started;

		expect(items).toBeNull();
		expect(error?.message).toBe('The poll did not finish within its deadline of 400 ms');
		expect(String(error?.description)).toMatch(/baseline is unchanged/);
		expect(took).toBeLessThan(3_000);
		expect(trigger.state()).toEqual(baseline);
	});

	test('a poll stuck past its deadline is reported, the next poll runs, and its late result is discarded', async () => {
		const list = members(30);
		serve('stuck', list);
		/** @type {(() => void) | undefined} */
		let release;
		let hold = false;
		const trigger = createTrigger(server, { datasetId: 'stuck', events: ['left', 'entered'] }, {
			pollBudgetMs: 150,
			beforeCredentials: async () => {
				if (hold) await new Promise((resolve) => (release = () => resolve(undefined)));
			},
		});
		await trigger.poll();

		hold = true;
		const stuck = trigger.poll(); // hangs where no signal reaches it
		await wait(50);
		hold = false;
		// Within its deadline the running poll is left alone.
		expect(await trigger.poll()).toEqual({ items: null, error: undefined });
		await wait(200);

		const [gone] = list.splice(3, 1);
		serve('stuck', list);
		const next = await trigger.poll();
		expect(eventsOf(next.items)).toEqual([`left ${gone.name}`]);
		expect(next.error?.message).toMatch(/^The previous poll, started at .*, has run past its deadline of 150 ms/);
		const afterNext = trigger.state();

		const [late] = list.splice(5, 1);
		serve('stuck', list);
		release?.();
		const old = await stuck;
		expect(old.items).toBeNull();
		expect(old.error?.message).toMatch(/a later poll took over; its result was discarded/);
		expect(trigger.state()).toEqual(afterNext);

		expect(eventsOf((await trigger.poll()).items)).toEqual([`left ${late.name}`]);
	});
	// Shrunk from the property over time (seed 7): the harness stored nothing after a poll that had
	// reported a stuck one and emitted nothing, where n8n commits its durable cursor.
	test('durable cursors: the poll that replaced a stuck first poll is stored, so a restart compares with it', async () => {
		const list = members(12);
		serve('stuck-durable', list);
		/** @type {(() => void) | undefined} */
		let release;
		let hang = true;
		const trigger = createTrigger(server, { datasetId: 'stuck-durable', events: ['changed'], changeOn: 'engagementScore', minScoreChange: 0 }, {
			durable: true,
			pollBudgetMs: 150,
			beforeCredentials: async () => {
				if (!hang) return;
				hang = false;
				await new Promise((resolve) => (release = () => resolve(undefined)));
			},
		});
		const stuck = trigger.poll();
		await wait(200);
		expect((await trigger.poll()).error?.message).toMatch(/^The previous poll/);
		release?.();
		expect((await stuck).error?.message).toMatch(/took over/);

		list[10] = { ...list[10], engagementScore: Math.round(list[10].engagementScore * 1000 + 1) / 1000 };
		serve('stuck-durable', list);
		trigger.restart();
		expect(eventsOf((await trigger.poll()).items)).toEqual([`changed ${list[10].name}`]);
	});
});

describe('what the trigger follows', () => {
	test('unnamed records are not cut into the cap: an export past it fails instead of reporting Left', async () => {
		const limit = trackingLimits.maxTracked;
		trackingLimits.maxTracked = 10;
		try {
			const named = members(8);
			serve('unnamed', named);
			const trigger = createTrigger(server, { datasetId: 'unnamed', events: ['left', 'entered'] });
			await trigger.poll();
			const baseline = trigger.state();

			const unnamed = members(5, 100).map(({ name, ...rest }) => rest);
			serve('unnamed', [...unnamed, ...named]);
			const { items, error } = await trigger.poll();

			expect(items).toBeNull();
			expect(error?.message).toBe('The export has more than 10 accounts: too many to follow');
			expect(trigger.state()).toEqual(baseline);
		} finally {
			trackingLimits.maxTracked = limit;
		}
	});

	test('a numeric name is the same name as its text', async () => {
		const list = members(12);
		const numbered = { ...accountAt(1001, 31), name: 1001, segments: [] };
		serve('numeric', [...list, numbered]);
		const trigger = createTrigger(server, { datasetId: 'numeric', events: ['new', 'entered', 'left', 'changed'], changeOn: 'anyField' });
		await trigger.poll();
		expect(trigger.state().present).toBe(13);

		serve('numeric', [...list, { ...numbered, name: '1001' }]);
		expect((await trigger.poll()).items).toBeNull();
		serve('numeric', list);
		expect(eventsOf((await trigger.poll()).items)).toEqual(['left 1001']);
	});

	test('Include Geo, Start and End change what a record holds: each starts a new baseline', async () => {
		server.setDataset('geo', { count: 10, userCount: 20 });
		const trigger = createTrigger(server, { entity: 'users', datasetId: 'geo', events: ['changed'], changeOn: 'anyField' });
		await trigger.poll();

		trigger.setParameters({ options: { includeGeo: true } });
		expect((await trigger.poll()).items).toBeNull();
		trigger.setParameters({ options: { includeGeo: true, start: '2024-01-01T00:00:00' } });
		expect((await trigger.poll()).items).toBeNull();
		trigger.setParameters({ options: { includeGeo: true, start: '2024-01-01T00:00:00', end: '2024-06-01T00:00:00' } });
		expect((await trigger.poll()).items).toBeNull();
		expect((await trigger.poll()).items).toBeNull();
	});

	test('the state is bounded in bytes: long names fail clearly, naming the count and the size', async () => {
		const bound = trackingLimits.maxStateBytes;
		trackingLimits.maxStateBytes = 50_000;
		try {
			const list = members(200).map((a, i) => ({ ...a, name: `${String(i).padStart(4, '0')}-${'x'.repeat(245)}` }));
			serve('long', list);
			const trigger = createTrigger(server, { datasetId: 'long', events: ['entered'] });
			const { error } = await trigger.poll();

			expect(error?.message).toMatch(/^The trigger's state for 200 accounts would take 5\d KiB, over its bound of 49 KiB$/);
			expect(String(error?.description)).toMatch(/Segment/);
			expect(trigger.state()).toEqual({});
		} finally {
			trackingLimits.maxStateBytes = bound;
		}
	});
});
