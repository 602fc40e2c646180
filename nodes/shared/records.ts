import type { IDataObject, INodeExecutionData, IPairedItemData } from 'n8n-workflow';

import { describeType } from './query';
import { IncompleteBodyError, ServiceDataError } from './body';

/** JSON pages → records (deduplicated, last copy wins) → output items. */

/**
 * Keeps one item per `name`: the last record seen (the service's most current), at its first
 * position. Items are made as records arrive, so no second pass builds them.
 */
export class RecordCollector {
	readonly items: INodeExecutionData[] = [];

	private readonly names: NameIndex | undefined;

	constructor(
		deduplicate: boolean,
		private readonly limit = Infinity,
		/** One shared pairing object: a million items need not carry a million copies of it. */
		private readonly pairedItem: IPairedItemData = { item: 0 },
	) {
		this.names = deduplicate
			? new NameIndex((position) => nameOf(this.items[position].json))
			: undefined;
	}

	get stillWanted(): number {
		return this.limit - this.items.length;
	}

	/**
	 * Adds a page's records. Returns how many were new (a name not seen before, or no name: such
	 * records are never merged); undefined without deduplication, which keeps no names.
	 */
	add(page: IDataObject[]): number | undefined {
		const { items, names, limit, pairedItem } = this;
		if (names === undefined) {
			for (const record of page) {
				if (items.length >= limit) break;
				items.push({ json: record, pairedItem });
			}
			return undefined;
		}
		let added = 0;
		for (const record of page) {
			const name = nameOf(record);
			if (name === undefined) {
				added++;
				if (items.length < limit) items.push({ json: record, pairedItem });
				continue;
			}
			const position = names.find(name);
			if (position >= 0) {
				items[position].json = record;
				continue;
			}
			added++;
			if (items.length >= limit) continue;
			names.insert(items.length);
			items.push({ json: record, pairedItem });
		}
		return added;
	}

	/** The items; the name index is dropped first, so it is not held beside them. */
	takeItems(): INodeExecutionData[] {
		this.names?.clear();
		return this.items;
	}
}

/**
 * Names seen → their item's position: an open-addressing table in one typed array (a position and
 * the name's hash per slot), about 16 bytes per name off the JavaScript heap, where a Map costs an
 * entry on it per name for the collector to mark again at every full collection. A hash match is
 * confirmed against the name at that position, so colliding names never merge.
 */
class NameIndex {
	/** Per slot: position + 1 (0 = empty), then the name's hash. */
	private slots = new Int32Array(2 * 1024);

	private mask = 1024 - 1;

	private count = 0;

	/** Where the name last looked for and not found would go, and its hash. */
	private free = 0;

	private freeHash = 0;

	// A seed of its own per export, so that no set of names collides by design.
	private readonly seed = (Math.random() * 0x100000000) | 0;

	constructor(private readonly nameAt: (position: number) => string | undefined) {}

	/** The position of `name`, or -1; the slot where it would go is remembered for `insert`. */
	find(name: string): number {
		const hash = this.hashOf(name);
		const { slots, mask } = this;
		let slot = hash & mask;
		for (let entry = slots[2 * slot]; entry !== 0; entry = slots[2 * slot]) {
			if (slots[2 * slot + 1] === hash && this.nameAt(entry - 1) === name) return entry - 1;
			slot = (slot + 1) & mask;
		}
		this.free = slot;
		this.freeHash = hash;
		return -1;
	}

	/** Records the name last looked for, not found, at `position`. */
	insert(position: number): void {
		this.slots[2 * this.free] = position + 1;
		this.slots[2 * this.free + 1] = this.freeHash;
		if (++this.count * 2 > this.mask + 1) this.grow();
	}

	clear(): void {
		this.slots = new Int32Array(2);
		this.mask = 0;
		this.count = 0;
	}

	private grow(): void {
		const old = this.slots;
		const mask = (this.mask + 1) * 2 - 1;
		const slots = new Int32Array(2 * (mask + 1));
		for (let i = 0; i < old.length; i += 2) {
			if (old[i] === 0) continue;
			let slot = old[i + 1] & mask;
			while (slots[2 * slot] !== 0) slot = (slot + 1) & mask;
			slots[2 * slot] = old[i];
			slots[2 * slot + 1] = old[i + 1];
		}
		this.slots = slots;
		this.mask = mask;
	}

	/** FNV-1a over the UTF-16 code units, seeded, then mixed so that the low bits spread too. */
	private hashOf(name: string): number {
		let hash = this.seed ^ 0x811c9dc5;
		for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
		hash ^= hash >>> 16;
		hash = Math.imul(hash, 0x85ebca6b);
		hash ^= hash >>> 13;
		return hash;
	}
}

/** Names compare as text: the service may send `"42"` on one page and `42` on another. */
export function nameOf(record: IDataObject): string | undefined {
	const name = record.name;
	if (typeof name === 'string') return name;
	if (typeof name === 'number' && Number.isFinite(name)) return String(name);
	return undefined;
}

const unparsable = Symbol('unparsable');
const BOM = 0xfeff;

/** A page's records: a JSON list of objects (a leading BOM allowed), or an error naming the page. */
export function parseJsonPage(body: string, page: number): IDataObject[] {
	const text = body.charCodeAt(0) === BOM ? body.slice(1) : body;
	let parsed: unknown = unparsable;
	try {
		parsed = JSON.parse(text);
	} catch {
		// A cut-off body fails here; it is worth another request, never "the last page".
	}
	if (parsed === unparsable)
		throw new IncompleteBodyError(`${text.length} bytes that are not complete JSON`);
	if (!Array.isArray(parsed)) {
		throw new ServiceDataError(
			`Evergage answered page ${page} with JSON that is not a list of records`,
			`It sent ${describeType(parsed)}. Nothing was output for this item.`,
		);
	}
	for (let i = 0; i < parsed.length; i++) {
		const record: unknown = parsed[i];
		if (typeof record !== 'object' || record === null || Array.isArray(record)) {
			throw new ServiceDataError(
				`Evergage sent a record that is not an object on page ${page}`,
				`Record ${i + 1} of the page is ${describeType(record)}; every record must be an object such as {"name": …}. Nothing was output for this item.`,
			);
		}
	}
	return parsed as IDataObject[];
}
