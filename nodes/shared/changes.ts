import { createHash, hash } from 'node:crypto';
import type { IDataObject } from 'n8n-workflow';

import { nameOf } from './records';

/**
 * Change detection between two exports: a compact snapshot of what a trigger saw, and the events
 * that separate it from the next export. Pure: no network, no n8n context.
 *
 * Names are text, as the exports compare them: a record named 1001 and one named "1001" are one.
 * A snapshot keeps, per tracked name, the name itself (Left must say who left), a 32-bit digest of
 * the whole record (Changed: any field), the engagement score and lastActivity (Changed by score or
 * activity, and the `previous` values every Changed and Left item carries). Names gone from the
 * export are remembered too, so that a record coming back is Entered, not New; the oldest of them
 * are forgotten first when the snapshot is full.
 */

export type ChangeEvent = 'new' | 'entered' | 'left' | 'changed';

/** What counts as Changed. */
export type ChangeMeasure = 'engagementScore' | 'lastActivity' | 'anyField';

export interface ChangeRules {
	events: ReadonlySet<ChangeEvent>;
	measure: ChangeMeasure;
	/** Absolute move of the engagement score that counts, for measure 'engagementScore'. */
	minScoreChange: number;
}

/**
 * Bounds of what a trigger remembers. Tests lower them; a node never changes them.
 * - maxTracked: the most records an export may hold (named or not) for the trigger to follow it.
 * - maxStateBytes: the most bytes the saved snapshot may take in static data (n8n writes it with
 *   every emitting poll). About 28 bytes per record beside its name: past the bound, names gone
 *   are forgotten first (oldest first), then the poll fails.
 */
export const trackingLimits = { maxTracked: 200_000, maxStateBytes: 8 * 1024 * 1024 };

/** digest (uint32) + engagementScore (float64) + lastActivity (float64); NaN when absent. */
const ENTRY_BYTES = 20;
const STATE_VERSION = 1;
// Score differences such as 0.6 - 0.5 fall a hair short of 0.1 in binary floating point.
const SCORE_TOLERANCE = 1e-9;

export interface Snapshot {
	/** Names present in the export, in export order, then names gone, the oldest gone first. */
	names: string[];
	present: number;
	values: Buffer;
}

/** The snapshot as kept in the workflow's static data: three strings and a number, cheap to clone and save. */
export interface SavedSnapshot {
	version: number;
	/** What was watched (entity, dataset, segment): another scope starts a new baseline. */
	scope: string;
	present: number;
	/** Names joined by line feeds (escaped inside names). */
	names: string;
	/** ENTRY_BYTES per name, base64. */
	values: string;
}

export interface PreviousValues {
	engagementScore: number | null;
	lastActivity: number | null;
}

export type ChangeItem =
	| ({ event: 'new' | 'entered' } & IDataObject)
	| ({ event: 'changed'; previous: PreviousValues } & IDataObject)
	| { event: 'left'; name: string; previous: PreviousValues };

/** A stable text of a record (keys sorted at every level), so a reordered record is not a change. */
function canonicalJson(value: unknown): string {
	if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
	if (Array.isArray(value)) {
		let text = '[';
		for (let i = 0; i < value.length; i++) text += (i > 0 ? ',' : '') + canonicalJson(value[i]);
		return `${text}]`;
	}
	const object = value as Record<string, unknown>;
	const keys = Object.keys(object);
	// Written out without intermediate arrays: this runs once per record of every poll.
	if (!keys.every((key, i) => i === 0 || keys[i - 1] <= key)) keys.sort();
	let text = '{';
	for (const key of keys) {
		if (object[key] === undefined) continue;
		text += `${text.length > 1 ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(object[key])}`;
	}
	return `${text}}`;
}

export function recordDigest(record: IDataObject): number {
	const text = canonicalJson(record);
	// The one-shot hash (Node 20.12 and later) costs half of a Hash object per record.
	if (typeof hash === 'function') return parseInt(hash('sha1', text, 'hex').slice(0, 8), 16);
	return createHash('sha1').update(text).digest().readUInt32BE(0);
}

const numberOrNaN = (value: unknown) =>
	typeof value === 'number' && Number.isFinite(value) ? value : NaN;

function writeEntry(values: Buffer, index: number, record: IDataObject): void {
	const offset = index * ENTRY_BYTES;
	// A name sent once as 1001 and once as "1001" is one name, unchanged.
	const named = typeof record.name === 'number' ? { ...record, name: String(record.name) } : record;
	values.writeUInt32BE(recordDigest(named), offset);
	values.writeDoubleBE(numberOrNaN(record.engagementScore), offset + 4);
	values.writeDoubleBE(numberOrNaN(record.lastActivity), offset + 12);
}

function copyEntry(from: Buffer, fromIndex: number, to: Buffer, toIndex: number): void {
	from.copy(to, toIndex * ENTRY_BYTES, fromIndex * ENTRY_BYTES, (fromIndex + 1) * ENTRY_BYTES);
}

function previousValues(values: Buffer, index: number): PreviousValues {
	const nullIfNaN = (n: number) => (Number.isNaN(n) ? null : n);
	return {
		engagementScore: nullIfNaN(values.readDoubleBE(index * ENTRY_BYTES + 4)),
		lastActivity: nullIfNaN(values.readDoubleBE(index * ENTRY_BYTES + 12)),
	};
}

/** The name a record is followed by: its name as text, or undefined for a record without one. */
export function followedName(record: IDataObject): string | undefined {
	const name = nameOf(record);
	return name === '' ? undefined : name;
}

/** Records without a name (text, or a number read as text) cannot be followed from one export to the next. */
export function trackedRecords(records: IDataObject[]): IDataObject[] {
	return records.filter((record) => followedName(record) !== undefined);
}

/** A snapshot of one export (deduplicated, named records) with nothing remembered as gone. */
export function snapshotOf(records: IDataObject[]): Snapshot {
	const values = Buffer.alloc(records.length * ENTRY_BYTES);
	records.forEach((record, index) => writeEntry(values, index, record));
	return {
		names: records.map((record) => followedName(record) as string),
		present: records.length,
		values,
	};
}

function isChanged(rules: ChangeRules, previous: Buffer, p: number, current: Buffer, c: number) {
	const at = (values: Buffer, index: number, field: number) =>
		values.readDoubleBE(index * ENTRY_BYTES + field);
	switch (rules.measure) {
		case 'anyField':
			return previous.readUInt32BE(p * ENTRY_BYTES) !== current.readUInt32BE(c * ENTRY_BYTES);
		case 'engagementScore': {
			const move = Math.abs(at(current, c, 4) - at(previous, p, 4));
			return rules.minScoreChange <= 0 ? move > 0 : move >= rules.minScoreChange - SCORE_TOLERANCE;
		}
		case 'lastActivity': {
			const before = at(previous, p, 12);
			const now = at(current, c, 12);
			return now > before || (Number.isNaN(before) && !Number.isNaN(now));
		}
	}
}

/**
 * The events between the previous snapshot and this export's records (deduplicated), in export
 * order then Left in the previous export's order, at most one per record; and the next snapshot.
 * A record seen for the first time is New when New is chosen, Entered otherwise. `left` holds the
 * previous positions of the records that left, whether Left is chosen or not (the mass-drop guard
 * weighs them).
 */
export function diffSnapshots(
	previous: Snapshot,
	records: IDataObject[],
	rules: ChangeRules,
	maxTracked = trackingLimits.maxTracked,
): { items: ChangeItem[]; next: Snapshot; left: number[] } {
	const current = snapshotOf(records);
	const previousIndex = new Map<string, number>();
	previous.names.forEach((name, index) => previousIndex.set(name, index));
	const stillHere = new Uint8Array(previous.names.length);
	const items: ChangeItem[] = [];
	const wants = (event: ChangeEvent) => rules.events.has(event);

	records.forEach((record, c) => {
		const p = previousIndex.get(current.names[c]);
		if (p !== undefined) stillHere[p] = 1;
		if (p === undefined || p >= previous.present) {
			const event = p === undefined && wants('new') ? 'new' : wants('entered') ? 'entered' : null;
			if (event) items.push({ ...record, event });
		} else if (wants('changed') && isChanged(rules, previous.values, p, current.values, c)) {
			items.push({ ...record, event: 'changed', previous: previousValues(previous.values, p) });
		}
	});

	const gone: number[] = [];
	const left: number[] = [];
	// Names gone before (oldest first), then those that left now.
	for (let p = previous.present; p < previous.names.length; p++) if (!stillHere[p]) gone.push(p);
	for (let p = 0; p < previous.present; p++) {
		if (stillHere[p]) continue;
		gone.push(p);
		left.push(p);
		if (wants('left')) {
			items.push({
				event: 'left',
				name: previous.names[p],
				previous: previousValues(previous.values, p),
			});
		}
	}
	const kept = gone.slice(Math.max(0, gone.length - Math.max(0, maxTracked - current.present)));
	const values = Buffer.alloc((current.present + kept.length) * ENTRY_BYTES);
	current.values.copy(values);
	kept.forEach((p, k) => copyEntry(previous.values, p, values, current.present + k));
	return {
		items,
		left,
		next: {
			names: [...current.names, ...kept.map((p) => previous.names[p])],
			present: current.present,
			values,
		},
	};
}

const escapeName = (name: string) =>
	/[\\\n]/.test(name) ? name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : name;
const unescapeName = (name: string) =>
	name.includes('\\')
		? name.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'))
		: name;

export function saveSnapshot(snapshot: Snapshot, scope: string): SavedSnapshot {
	return {
		version: STATE_VERSION,
		scope,
		present: snapshot.present,
		names: snapshot.names.map(escapeName).join('\n'),
		values: snapshot.values.toString('base64'),
	};
}

/** The saved snapshot for this scope, or undefined when there is none (or it is of another scope or shape). */
export function loadSnapshot(saved: IDataObject, scope: string): Snapshot | undefined {
	const { version, present, names, values } = saved as Partial<SavedSnapshot>;
	if (version !== STATE_VERSION || saved.scope !== scope) return undefined;
	if (typeof names !== 'string' || typeof values !== 'string' || typeof present !== 'number') {
		return undefined;
	}
	const nameList = names === '' ? [] : names.split('\n').map(unescapeName);
	const buffer = Buffer.from(values, 'base64');
	if (buffer.length !== nameList.length * ENTRY_BYTES || present > nameList.length)
		return undefined;
	return { names: nameList, present, values: buffer };
}

/** Bytes the saved snapshot takes in the workflow's static data (as JSON). */
export function savedSize(saved: SavedSnapshot): number {
	return Buffer.byteLength(JSON.stringify(saved));
}

/** Bytes one name adds to the saved snapshot: its JSON text, a line feed (two bytes in JSON), its values in base64. */
function savedBytesOf(name: string): number {
	return Buffer.byteLength(JSON.stringify(escapeName(name))) + (ENTRY_BYTES * 4) / 3;
}

/** The saved state's keys and numbers, above its scope, names, values and held drop. */
const SAVED_OVERHEAD_BYTES = 256;

/**
 * The snapshot within `maxBytes` once saved: names gone are forgotten, oldest first, as far as
 * needed. `fits` is false when the records present alone take more; `bytes` is then their size.
 */
export function boundSnapshot(
	snapshot: Snapshot,
	scope: string,
	maxBytes = trackingLimits.maxStateBytes,
): { fits: boolean; bytes: number; snapshot: Snapshot } {
	const costs = snapshot.names.map(savedBytesOf);
	// Room for a held drop beside it (poll-guard.ts): one bit per record present, in base64.
	const heldDropBytes = (Math.ceil(snapshot.present / 8) * 4) / 3;
	let bytes = SAVED_OVERHEAD_BYTES + Buffer.byteLength(scope) + heldDropBytes;
	for (let i = 0; i < snapshot.present; i++) bytes += costs[i];
	if (bytes > maxBytes) return { fits: false, bytes: Math.ceil(bytes), snapshot };
	const end = snapshot.present;
	// Names gone are kept newest first back from the end: the oldest sit right after the present ones.
	let first = snapshot.names.length;
	while (first > end && bytes + costs[first - 1] <= maxBytes) bytes += costs[--first];
	if (first === end) return { fits: true, bytes: Math.ceil(bytes), snapshot };
	const names = [...snapshot.names.slice(0, end), ...snapshot.names.slice(first)];
	const values = Buffer.concat([
		snapshot.values.subarray(0, end * ENTRY_BYTES),
		snapshot.values.subarray(first * ENTRY_BYTES),
	]);
	return {
		fits: true,
		bytes: Math.ceil(bytes),
		snapshot: { names, present: snapshot.present, values },
	};
}
