import { IncompleteBodyError, ServiceDataError } from './body';

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
 * Splits CSV text (RFC 4180) into rows; a leading BOM and blank lines before the header are dropped,
 * and a line break inside quotes stays in its row. A blank line after the header is kept: in a
 * one-column export it is a record with an empty value (CsvAssembler drops it from wider ones).
 * Text that ends inside quotes, or whose last row has fewer fields than its first, was cut off and
 * is worth another request; a quote where RFC 4180 allows none is a malformed page, which is not.
 */
export function splitCsvRows(source: string, page = 0): CsvPage {
	const bom = source.charCodeAt(0) === 0xfeff;
	const text = bom ? source.slice(1) : source;
	const lineBreak = text.includes('\r\n') ? '\r\n' : '\n';
	const rows: string[] = [];
	const fieldCounts: number[] = [];
	let quoted = false;
	let rowStart = 0;
	let fieldStart = 0;
	let commas = 0;
	const push = (end: number) => {
		const row = text.slice(
			rowStart,
			end > rowStart && text.charCodeAt(end - 1) === 13 ? end - 1 : end,
		);
		if (row !== '' || (rows.length > 0 && end < text.length)) {
			rows.push(row);
			fieldCounts.push(commas + 1);
		}
		commas = 0;
	};
	for (let i = 0; i < text.length; i++) {
		const char = text.charCodeAt(i);
		if (quoted) {
			if (char !== 34 /* " */) continue;
			if (text.charCodeAt(i + 1) === 34) i++;
			else {
				quoted = false;
				if (!FIELD_ENDS.has(text.charCodeAt(i + 1)) && i + 1 < text.length) {
					throw malformedCsv(page, rows.length, 'text after the closing quote of a field');
				}
			}
		} else if (char === 34) {
			if (i !== fieldStart)
				throw malformedCsv(page, rows.length, 'a quote inside an unquoted field');
			quoted = true;
		} else if (char === 44 /* , */) {
			commas++;
			fieldStart = i + 1;
		} else if (char === 10 /* \n */) {
			push(i);
			rowStart = fieldStart = i + 1;
		}
	}
	if (quoted) throw new IncompleteBodyError('CSV that ends inside a quoted field');
	push(text.length);
	const last = lastFilledRow(rows);
	if (last > 0 && fieldCounts[last] < fieldCounts[0]) {
		throw new IncompleteBodyError('CSV whose last row is missing fields');
	}
	return { rows, fieldCounts, lineBreak, bom };
}

/** After a closing quote: a comma, a line break, or the end. */
const FIELD_ENDS = new Set([44, 13, 10]);

function lastFilledRow(rows: string[]): number {
	let last = rows.length - 1;
	while (last > 0 && rows[last] === '') last--;
	return last;
}

function malformedCsv(page: number, row: number, what: string): ServiceDataError {
	return new ServiceDataError(
		`Evergage sent page ${page} as malformed CSV: ${what} (row ${row + 1})`,
		'The page is not valid CSV (RFC 4180), so asking again would not mend it. Nothing was output for this item. Export as JSON, or contact Salesforce support if it persists.',
	);
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
		const keepBlank = this.headerFields === 1 || !page.rows.includes('');
		const rows = keepBlank ? page.rows : page.rows.filter((row) => row !== '');
		const counts = rows === page.rows ? page.fieldCounts : nonBlankCounts(page);
		for (let i = first; i < rows.length; i++) {
			if (counts[i] !== this.headerFields) {
				throw this.columnsChanged(
					index,
					`has a row of ${counts[i]} fields where the header has ${this.headerFields}`,
				);
			}
		}
		return first === 0 ? rows : rows.slice(first);
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

/** The field counts of a page's rows that are not blank. */
function nonBlankCounts(page: CsvPage): number[] {
	return page.fieldCounts.filter((_, i) => page.rows[i] !== '');
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
