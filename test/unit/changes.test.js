// @ts-check
'use strict';
const {
	boundSnapshot,
	diffSnapshots,
	loadSnapshot,
	recordDigest,
	saveSnapshot,
	savedSize,
	snapshotOf,
	trackedRecords,
} = require('../../nodes/shared/changes');

/** @type {import('../../nodes/shared/changes').ChangeRules} */
const ALL = { events: new Set(['new', 'entered', 'left', 'changed']), measure: 'anyField', minScoreChange: 0.1 };
const record = (name, engagementScore = 0.5, extra = {}) => ({ name, engagementScore, lastActivity: 1000, ...extra });
const names = (items) => items.map((item) => `${item.event} ${item.name}`);

describe('snapshots as kept in static data', () => {
	test('a saved snapshot loads back the same, names with line feeds and backslashes included', () => {
		const records = [record('plain'), record('two\nlines'), record('back\\slash\\n'), record('ünï')];
		const snapshot = snapshotOf(records);

		const loaded = loadSnapshot(JSON.parse(JSON.stringify(saveSnapshot(snapshot, 'scope'))), 'scope');

		expect(loaded?.names).toEqual(records.map((r) => r.name));
		expect(loaded?.present).toBe(4);
		expect(loaded?.values.equals(snapshot.values)).toBe(true);
	});

	test('another scope, another version or a damaged snapshot is no baseline', () => {
		const saved = saveSnapshot(snapshotOf([record('a')]), 'scope');

		expect(loadSnapshot(/** @type {any} */ (saved), 'other')).toBeUndefined();
		expect(loadSnapshot({ ...saved, version: 0 }, 'scope')).toBeUndefined();
		expect(loadSnapshot({ ...saved, values: '' }, 'scope')).toBeUndefined();
		expect(loadSnapshot({}, 'scope')).toBeUndefined();
	});

	test('an empty export is a baseline too', () => {
		const saved = saveSnapshot(snapshotOf([]), 'scope');
		expect(loadSnapshot(/** @type {any} */ (saved), 'scope')).toEqual({ names: [], present: 0, values: Buffer.alloc(0) });
	});

	test('the saved state is bounded in bytes: names gone are forgotten first, oldest first; then it does not fit', () => {
		let snapshot = snapshotOf(['a', 'b', 'c', 'd', 'e'].map((n) => record(n.repeat(100))));
		snapshot = diffSnapshots(snapshot, [record('e'.repeat(100))], ALL).next; // a..d gone, oldest first
		const whole = boundSnapshot(snapshot, 'scope', 10_000);
		expect(whole).toMatchObject({ fits: true, snapshot });
		expect(whole.bytes).toBeGreaterThanOrEqual(savedSize(saveSnapshot(snapshot, 'scope')));
		expect(whole.bytes).toBeLessThan(savedSize(saveSnapshot(snapshot, 'scope')) + 300);

		const two = boundSnapshot(snapshot, 'scope', whole.bytes - 100);
		expect(two.fits).toBe(true);
		expect(two.snapshot.names.map((n) => n[0])).toEqual(['e', 'b', 'c', 'd']);
		expect(loadSnapshot(JSON.parse(JSON.stringify(saveSnapshot(two.snapshot, 'scope'))), 'scope')?.present).toBe(1);

		const none = boundSnapshot(snapshot, 'scope', 400);
		expect(none).toMatchObject({ fits: true, snapshot: { names: ['e'.repeat(100)], present: 1 } });
		expect(boundSnapshot(snapshot, 'scope', 300).fits).toBe(false);
	});

	test('about 29 bytes per record beside its name', () => {
		const records = Array.from({ length: 1000 }, (_, i) => record(`acme-${String(i).padStart(6, '0')}`));
		const bytes = savedSize(saveSnapshot(snapshotOf(records), 'scope'));
		expect(bytes / records.length).toBeGreaterThan(11 + 28);
		expect(bytes / records.length).toBeLessThan(11 + 30);
	});
});

describe('the difference between two snapshots', () => {
	test('records without a name cannot be followed; a numeric name is followed as text', () => {
		expect(trackedRecords([{ name: 'a' }, { name: '' }, { id: 1 }, { name: 7 }, { name: NaN }, { name: true }])).toEqual([{ name: 'a' }, { name: 7 }]);
		const before = snapshotOf([record(1001), record('b')]);
		expect(before.names).toEqual(['1001', 'b']);
		const { items, left } = diffSnapshots(before, [record('1001')], ALL);
		expect(names(items)).toEqual(['left b']);
		expect(left).toEqual([1]);
	});

	test('the records that left are counted whether Left is chosen or not', () => {
		const before = snapshotOf([record('a'), record('b'), record('c')]);
		const enteredOnly = { ...ALL, events: new Set(/** @type {const} */ (['entered'])) };
		expect(diffSnapshots(before, [record('c'), record('d')], enteredOnly)).toMatchObject({ left: [0, 1], items: [{ event: 'entered', name: 'd' }] });
	});

	test('the digest does not depend on key order, at any depth', () => {
		expect(recordDigest({ a: 1, b: { c: [1, { d: 2, e: 3 }] } })).toBe(recordDigest({ b: { c: [1, { e: 3, d: 2 }] }, a: 1 }));
		expect(recordDigest({ a: 1 })).not.toBe(recordDigest({ a: 2 }));
	});

	test('names gone are remembered within the limit, the oldest forgotten first', () => {
		let snapshot = snapshotOf([record('a'), record('b'), record('c'), record('d')]);
		snapshot = diffSnapshots(snapshot, [record('c'), record('d')], ALL, 4).next; // a, b gone
		snapshot = diffSnapshots(snapshot, [record('d')], ALL, 4).next; // c gone; a, b, c kept
		expect(snapshot.names).toEqual(['d', 'a', 'b', 'c']);

		const { items, next } = diffSnapshots(snapshot, [record('d'), record('e')], ALL, 4);
		expect(names(items)).toEqual(['new e']);
		expect(next.names).toEqual(['d', 'e', 'b', 'c']); // a forgotten: it would be New again

		expect(names(diffSnapshots(next, [record('a'), record('b')], ALL, 4).items)).toEqual(['new a', 'entered b', 'left d', 'left e']);
	});

	test('a score that appears or disappears is no move; lastActivity appearing is an advance', () => {
		const score = { ...ALL, measure: /** @type {const} */ ('engagementScore'), minScoreChange: 0 };
		const before = snapshotOf([record('a', null), record('b', 0.2)]);
		expect(diffSnapshots(before, [record('a', 0.3), record('b', null)], score).items).toEqual([]);

		const activity = { ...ALL, measure: /** @type {const} */ ('lastActivity') };
		const noActivity = snapshotOf([{ name: 'a' }]);
		expect(names(diffSnapshots(noActivity, [record('a')], activity).items)).toEqual(['changed a']);
	});
});
