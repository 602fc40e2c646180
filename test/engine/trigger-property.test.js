// @ts-check
'use strict';
/**
 * Property: over random sequences of dataset changes, faults and restarts, the trigger emits exactly
 * the difference between successive successful snapshots, computed here by a plain model of the
 * rules; a failed poll emits nothing and moves nothing. `EVERGAGE_LONG=1` runs many more sequences.
 */
const fc = require('fast-check');

const { retryTiming } = require('../../nodes/shared/transport');
const { accountAt, segmentsOf } = require('../support/standin');
const { createTrigger, startStandin } = require('../support/node-under-test');
const { expectedEvents } = require('../support/trigger-model');

const LONG = process.env.EVERGAGE_LONG === '1';
const NUM_RUNS = LONG ? 1000 : 60;
const UNIVERSE = 14;
const SEGMENT = '1PPOO';

let server;
const savedTiming = { ...retryTiming };

beforeAll(async () => {
	Object.assign(retryTiming, { baseDelayMs: 1, maxDelayMs: 2 });
	server = await startStandin({ maxPageSize: 4, datasets: {} });
});

afterAll(async () => {
	Object.assign(retryTiming, savedTiming);
	await server.close();
});

const round3 = (n) => Math.round(n * 1000) / 1000;

// Uniform over the records: fast-check's integers lean towards small values.
const anyIndex = fc.constantFrom(...Array.from({ length: UNIVERSE }, (_, i) => i));
const change = fc.oneof(
	fc.record({ op: fc.constant('add'), i: anyIndex }),
	fc.record({ op: fc.constant('remove'), i: anyIndex }),
	fc.record({ op: fc.constant('score'), i: anyIndex, by: fc.integer({ min: -300, max: 300 }) }),
	fc.record({ op: fc.constant('activity'), i: anyIndex, by: fc.integer({ min: -2, max: 3 }) }),
	fc.record({ op: fc.constant('attribute'), i: anyIndex, tier: fc.constantFrom('gold', 'silver', 'lead') }),
	fc.record({ op: fc.constant('segment'), i: anyIndex }),
	fc.record({ op: fc.constant('repeat'), i: anyIndex }),
);
const step = fc.oneof(
	{ weight: 4, arbitrary: fc.record({ kind: fc.constant('change'), changes: fc.array(change, { minLength: 2, maxLength: 6 }) }) },
	{ weight: 4, arbitrary: fc.record({ kind: fc.constant('poll'), fault: fc.constantFrom('none', 'none', 'retried', 'fatal') }) },
	{ weight: 1, arbitrary: fc.constant({ kind: 'restart' }) },
);
const settings = fc.record({
	events: fc.subarray(['new', 'entered', 'left', 'changed'], { minLength: 1 }),
	changeOn: fc.constantFrom('engagementScore', 'lastActivity', 'anyField'),
	minScoreChange: fc.constantFrom(0, 0.05, 0.1, 0.25),
	segment: fc.boolean(),
});

/** The dataset as the test holds it: current records by index, which are present, and repeated ones. */
function initialData() {
	const records = [];
	for (let i = 0; i < UNIVERSE; i++) {
		const account = accountAt(i, 21);
		records.push({ ...account, engagementScore: round3(account.engagementScore), segments: segmentsOf(i, 21) });
	}
	return { records, present: records.map((_, i) => i % 3 !== 0), repeated: new Set() };
}

function applyChange(data, c) {
	const r = data.records[c.i];
	if (c.op === 'add') data.present[c.i] = true;
	else if (c.op === 'remove') data.present[c.i] = false;
	else if (c.op === 'score') r.engagementScore = round3(Math.min(1, Math.max(0, r.engagementScore + c.by / 1000)));
	else if (c.op === 'activity') r.lastActivity += c.by * 86_400_000;
	else if (c.op === 'attribute') r.attributes = { ...r.attributes, tier: c.tier };
	else if (c.op === 'segment') r.segments = r.segments.includes(SEGMENT) ? r.segments.filter((s) => s !== SEGMENT) : [...r.segments, SEGMENT];
	else if (c.op === 'repeat') data.repeated.add(c.i);
}

/** What the stand-in serves: present records in order, each repeated one first as a stale copy. */
function servedList(data) {
	const list = [];
	data.records.forEach((r, i) => {
		if (!data.present[i]) return;
		if (data.repeated.has(i)) list.push({ ...r, totalActions: -1, engagementScore: 0.999 });
		list.push({ ...r });
	});
	// The stale copies come first, so the current one is the last copy.
	return list;
}

/** The snapshot a correct client sees: current record by name, in order, narrowed to the segment. */
function snapshotFrom(data, segment) {
	const byName = new Map();
	for (const r of servedList(data)) {
		if (segment && !r.segments.includes(SEGMENT)) continue;
		const { segments, ...record } = r;
		byName.set(record.name, record);
	}
	return byName;
}

let runCount = 0;
/** Events checked, by kind, and polls by outcome: printed, so that a run shows what it covered. */
const seen = { new: 0, entered: 0, left: 0, changed: 0, polls: 0, failedPolls: 0, restarts: 0 };
afterAll(() => {
	process.stdout.write(`trigger property: ${JSON.stringify(seen)}\n`);
});

test(`the events are the difference between successive successful snapshots (${NUM_RUNS} random sequences)`, async () => {
	await fc.assert(
		fc.asyncProperty(settings, fc.array(step, { minLength: 8, maxLength: 20 }), async (s, steps) => {
			const datasetId = `prop-${runCount++}`;
			const data = initialData();
			server.setDataset(datasetId, { records: servedList(data) });
			const trigger = createTrigger(
				server,
				{
					datasetId,
					filter: s.segment ? SEGMENT : '',
					events: s.events,
					changeOn: s.changeOn,
					minScoreChange: s.minScoreChange,
					options: { retries: 1, concurrency: 2 },
				},
				{ durable: true },
			);
			/** @type {Map<string, object> | undefined} */
			let baseline;
			const seenEver = new Set();
			for (const st of steps) {
				if (st.kind === 'change') {
					for (const c of st.changes) applyChange(data, c);
					server.setDataset(datasetId, { records: servedList(data) });
					continue;
				}
				if (st.kind === 'restart') {
					seen.restarts++;
					trigger.restart();
					continue;
				}
				// A fatal fault fails a page on both tries, a retried one once: page 1 (mid-poll) when there is one.
				const served = servedList(data).filter((r) => !s.segment || r.segments.includes(SEGMENT)).length;
				const faultPage = served > 4 ? 1 : 0;
				let faultsLeft = st.fault === 'fatal' ? 2 : st.fault === 'retried' ? 1 : 0;
				server.setFaults((info) =>
					info.datasetId === datasetId && info.page === faultPage && faultsLeft-- > 0 ? { kind: 'status', status: 503 } : null,
				);
				const { items, error } = await trigger.poll();
				server.setFaults(undefined);
				seen.polls++;
				if (st.fault === 'fatal') {
					seen.failedPolls++;
					expect(error).toBeDefined();
					expect(items).toBeNull();
					continue;
				}
				expect(error).toBeUndefined();
				const current = snapshotFrom(data, s.segment);
				const expected = baseline === undefined ? [] : expectedEvents(baseline, current, seenEver, s);
				expect(items ?? []).toEqual(expected);
				for (const item of expected) seen[item.event]++;
				baseline = current;
				for (const name of current.keys()) seenEver.add(name);
			}
		}),
		{ numRuns: NUM_RUNS, seed: Number(process.env.EVERGAGE_SEED ?? 20240611) },
	);
}, LONG ? 600_000 : 60_000);
