import { IncompleteBodyError } from './body';

/**
 * CSV pages → one file, streamed: a BOM at most once, at the start; the header once; data rows as
 * sent. A page whose columns differ from the first page's fails the export: such a file would be
 * neither export.
 */

export interface CsvPage {
	rows: string[];
	/** Fields in each row (commas outside quotes + 1). */
	fieldCounts: number[];
	lineBreak: string;
	bom: boolean;
}

const BOM = '\uFEFF';

/**
 * Splits CSV text (RFC 4180) into rows, a leading BOM and blank lines dropped; a line break inside
 * quotes stays in its row. Text that ends inside quotes, or whose last row has fewer fields than its
 * first, was cut off.
 */
export function splitCsvRows(source: string): CsvPage {
	const bom = source.charCodeAt(0) === 0xfeff;
	const text = bom ? source.slice(1) : source;
	const lineBreak = text.includes('\r\n') ? '\r\n' : '\n';
	const rows: string[] = [];
	const fieldCounts: number[] = [];
	let quoted = false;
	let rowStart = 0;
	let commas = 0;
	const push = (end: number) => {
		const row = text.slice(
			rowStart,
			end > rowStart && text.charCodeAt(end - 1) === 13 ? end - 1 : end,
		);
		if (row !== '') {
			rows.push(row);
			fieldCounts.push(commas + 1);
		}
		commas = 0;
	};
	for (let i = 0; i < text.length; i++) {
		const char = text.charCodeAt(i);
		if (char === 34 /* " */) quoted = !quoted;
		else if (quoted) continue;
		else if (char === 44 /* , */) commas++;
		else if (char === 10 /* \n */) {
			push(i);
			rowStart = i + 1;
		}
	}
	if (quoted) throw new IncompleteBodyError('CSV that ends inside a quoted field');
	push(text.length);
	if (fieldCounts.length > 1 && fieldCounts[fieldCounts.length - 1] < fieldCounts[0]) {
		throw new IncompleteBodyError('CSV whose last row is missing fields');
	}
	return { rows, fieldCounts, lineBreak, bom };
}

/** Reads the pages of one export in order and says which rows of each are data. */
export class CsvAssembler {
	header: string | undefined;
	bom = false;
	lineBreak = '\r\n';
	private headerFields = 0;
	private headerNames = new Set<string>();
	/** Whether the service repeats the header on later pages; unknown until the second page. */
	private headerOnEveryPage: boolean | undefined;

	constructor(private readonly failure: (message: string, description: string) => Error) {}

	/** The data rows of a page (header dropped); a page that changes the columns fails. */
	dataRows(page: CsvPage, index: number): string[] {
		if (page.rows.length === 0) return [];
		let first = 0;
		if (this.header === undefined) {
			this.header = page.rows[0];
			this.headerFields = page.fieldCounts[0];
			this.headerNames = new Set(this.header.split(','));
			this.bom = page.bom;
			this.lineBreak = page.lineBreak;
			first = 1;
		} else if (page.rows[0] === this.header) {
			this.headerOnEveryPage = true;
			first = 1;
		} else if (this.headerOnEveryPage === true || this.looksLikeHeader(page.rows[0])) {
			throw this.columnsChanged(index, 'starts with a different header row');
		} else {
			this.headerOnEveryPage = false;
		}
		for (let i = first; i < page.rows.length; i++) {
			if (page.fieldCounts[i] !== this.headerFields) {
				throw this.columnsChanged(
					index,
					`has a row of ${page.fieldCounts[i]} fields where the header has ${this.headerFields}`,
				);
			}
		}
		return first === 0 ? page.rows : page.rows.slice(first);
	}

	/** A first row that shares most of its names with the header is a header, changed. */
	private looksLikeHeader(row: string): boolean {
		const names = row.split(',');
		const shared = names.filter((name) => this.headerNames.has(name)).length;
		return shared * 2 > names.length;
	}

	/** The start of the file: the BOM if the export had one, and the header row. */
	head(): string {
		return this.header === undefined ? '' : `${this.bom ? BOM : ''}${this.header}${this.lineBreak}`;
	}

	private columnsChanged(index: number, what: string): Error {
		return this.failure(
			`Page ${index} of the CSV export ${what}: the export's columns changed while it was read`,
			'Nothing was output for this item, since the file would mix two layouts. Run the workflow again; if it persists, export as JSON.',
		);
	}
}

type Listener = ((argument?: unknown) => void) & { original?: Listener };

/**
 * Chunks as the readable stream n8n's binary data service takes, without importing `stream`
 * (which a community node may not). n8n writes a stream to disk with fs.writeFile (async iteration)
 * or reads it into memory through `data`/`end`/`error` events; both are served here, pulling the
 * chunks only as fast as they are consumed.
 */
export function chunkStream(chunks: AsyncIterable<Buffer>): AsyncIterable<Buffer> & {
	on(event: string, listener: Listener): unknown;
	once(event: string, listener: Listener): unknown;
	off(event: string, listener: Listener): unknown;
	removeListener(event: string, listener: Listener): unknown;
	destroy(error?: Error): unknown;
	pause(): unknown;
	resume(): unknown;
} {
	const iterator = chunks[Symbol.asyncIterator]();
	const listeners = new Map<string, Listener[]>();
	let started = false;
	let destroyed = false;
	const emit = (event: string, argument?: unknown) => {
		for (const listener of [...(listeners.get(event) ?? [])]) listener(argument);
	};
	const flow = async () => {
		try {
			while (!destroyed) {
				const next = await iterator.next();
				if (destroyed) return;
				if (next.done) {
					emit('end');
					emit('close');
					return;
				}
				emit('data', next.value);
			}
		} catch (error) {
			if (!destroyed) emit('error', error);
		}
	};
	const stream = {
		on(event: string, listener: Listener) {
			listeners.set(event, [...(listeners.get(event) ?? []), listener]);
			if (event === 'data' && !started) {
				started = true;
				void flow();
			}
			return stream;
		},
		once(event: string, listener: Listener) {
			const wrapper: Listener = (argument) => {
				stream.off(event, wrapper);
				listener(argument);
			};
			wrapper.original = listener;
			return stream.on(event, wrapper);
		},
		off(event: string, listener: Listener) {
			listeners.set(
				event,
				(listeners.get(event) ?? []).filter((l) => l !== listener && l.original !== listener),
			);
			return stream;
		},
		removeListener(event: string, listener: Listener) {
			return stream.off(event, listener);
		},
		destroy() {
			if (destroyed) return stream;
			destroyed = true;
			void iterator.return?.();
			return stream;
		},
		pause: () => stream,
		resume: () => stream,
		[Symbol.asyncIterator]() {
			started = true;
			return iterator;
		},
	};
	return stream;
}
