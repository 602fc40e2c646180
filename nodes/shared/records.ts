import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { IncompleteBodyError, ServiceDataError } from './transport';

/** JSON pages → records (deduplicated, last copy wins) → output items. */

/** Keeps one record per `name`: the last one seen (the service's most current), at its first position. */
export class RecordCollector {
	readonly records: IDataObject[] = [];

	private readonly positionByName = new Map<string, number>();

	constructor(
		private readonly deduplicate: boolean,
		private readonly limit = Infinity,
	) {}

	get stillWanted(): number {
		return this.limit - this.records.length;
	}

	/**
	 * Adds a page's records. Returns how many were new (a name not seen before, or no name: such
	 * records are never merged); undefined without deduplication, which keeps no names.
	 */
	add(page: IDataObject[]): number | undefined {
		if (!this.deduplicate) {
			for (const record of page) {
				if (this.records.length >= this.limit) break;
				this.records.push(record);
			}
			return undefined;
		}
		let added = 0;
		for (const record of page) {
			const name = nameOf(record);
			if (name !== undefined) {
				const position = this.positionByName.get(name);
				if (position !== undefined) {
					this.records[position] = record;
					continue;
				}
				added++;
				if (this.records.length >= this.limit) continue;
				this.positionByName.set(name, this.records.length);
			} else {
				added++;
				if (this.records.length >= this.limit) continue;
			}
			this.records.push(record);
		}
		return added;
	}

	/**
	 * The records as output items, written over the records' own array, after the name index is
	 * dropped: at a million records neither the index nor a second array is held while the items are
	 * made. The collector is spent afterwards.
	 */
	takeItems(pairedItem: { item: number }): INodeExecutionData[] {
		this.positionByName.clear();
		const items = this.records as unknown as INodeExecutionData[];
		for (let i = 0; i < items.length; i++) items[i] = { json: this.records[i], pairedItem };
		return items;
	}
}

/** Names compare as text: the service may send `"42"` on one page and `42` on another. */
function nameOf(record: IDataObject): string | undefined {
	const name = record.name;
	if (typeof name === 'string') return name;
	if (typeof name === 'number' && Number.isFinite(name)) return String(name);
	return undefined;
}

const unparsable = Symbol('unparsable');
const BOM = 0xfeff;

/** A page's records: a JSON list of objects (a leading BOM allowed), or an error naming the page. */
export function parseJsonPage(body: Buffer, page: number): IDataObject[] {
	let text = body.toString('utf8');
	if (text.charCodeAt(0) === BOM) text = text.slice(1);
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
			`It sent ${describeJson(parsed)}. Nothing was output for this item.`,
		);
	}
	for (let i = 0; i < parsed.length; i++) {
		const record: unknown = parsed[i];
		if (typeof record !== 'object' || record === null || Array.isArray(record)) {
			throw new ServiceDataError(
				`Evergage sent a record that is not an object on page ${page}`,
				`Record ${i + 1} of the page is ${describeJson(record)}; every record must be an object such as {"name": …}. Nothing was output for this item.`,
			);
		}
	}
	return parsed as IDataObject[];
}

function describeJson(value: unknown): string {
	if (value === null) return 'null';
	if (Array.isArray(value)) return 'a list';
	return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
