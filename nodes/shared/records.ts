import type { IBinaryData, IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import type { PageSource } from './pages';
import { exportPages } from './pages';
import type { ExportEntity, ExportParameters } from './query';
import { exportPath, exportQueryString, readExportParameters } from './query';
import type { EvergageClient, EvergageResponse } from './transport';
import { evergageClient, IncompleteBodyError } from './transport';

/** Pages → records → output items: JSON records, one per account, or the export as one CSV file. */

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

	add(page: IDataObject[]): void {
		for (const record of page) {
			const name = this.deduplicate ? record.name : undefined;
			if (typeof name === 'string') {
				const position = this.positionByName.get(name);
				if (position !== undefined) {
					this.records[position] = record;
					continue;
				}
				if (this.records.length >= this.limit) continue;
				this.positionByName.set(name, this.records.length);
			} else if (this.records.length >= this.limit) continue;
			this.records.push(record);
		}
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

const unparsable = Symbol('unparsable');

export function parseJsonPage(body: Buffer): IDataObject[] {
	const text = body.toString('utf8');
	let parsed: unknown = unparsable;
	try {
		parsed = JSON.parse(text);
	} catch {
		// A cut-off body fails here; it is worth another request, never "the last page".
	}
	if (parsed === unparsable)
		throw new IncompleteBodyError(`${text.length} bytes that are not complete JSON`);
	if (!Array.isArray(parsed)) {
		throw new Error('Evergage answered with JSON that is not a list of records');
	}
	return parsed as IDataObject[];
}

interface ExportRun {
	context: IExecuteFunctions;
	client: EvergageClient;
	parameters: ExportParameters;
	entity: ExportEntity;
	itemIndex: number;
}

function requestFor(run: ExportRun, page?: number) {
	const { parameters, entity } = run;
	const paging = page === undefined ? undefined : { page, pageSize: parameters.paging.pageSize };
	return {
		pathAndQuery:
			exportPath(parameters.datasetId, entity, parameters.format) +
			exportQueryString(parameters.filters, paging),
		notFoundMessage: `Dataset "${parameters.datasetId}" was not found (404) when exporting ${entity}`,
	};
}

/** The export's pages, each fetched whole and parsed by `parse`; a service that repeats a page fails. */
function walkPages<P>(
	run: ExportRun,
	parse: (body: Buffer) => P,
	source: Pick<PageSource<P>, 'size' | 'stillWanted' | 'samePage'>,
): AsyncGenerator<P> {
	return exportPages<P>(run.parameters.paging, {
		...source,
		fetch: async (page, signal) =>
			await run.client.get({
				...requestFor(run, page),
				encoding: 'arraybuffer',
				signal,
				read: async (response) => parse(response.body as Buffer),
			}),
		repeatedPageError: (page) =>
			new NodeApiError(
				run.context.getNode(),
				{},
				{
					message: `Evergage sent page ${page} twice in a row: it does not seem to page this export`,
					description:
						'Nothing was output for this item, since the export would never end. Try another Page Size.',
					itemIndex: run.itemIndex,
				},
			),
	});
}

/** JSON: every record of the export (or up to Limit), deduplicated, as one item each. */
export async function exportRecordItems(run: ExportRun): Promise<INodeExecutionData[]> {
	const { parameters } = run;
	const collector = new RecordCollector(parameters.deduplicate, parameters.paging.limit);
	const pages = walkPages(run, parseJsonPage, {
		size: (page) => page.length,
		stillWanted: () => collector.stillWanted,
		samePage: (a, b) =>
			a.length === b.length &&
			JSON.stringify([a[0], a[a.length - 1]]) === JSON.stringify([b[0], b[b.length - 1]]),
	});
	for await (const page of pages) {
		collector.add(page);
		if (collector.stillWanted <= 0) break;
	}
	// One shared pairing object: a million items need not carry a million copies of it.
	return collector.takeItems({ item: run.itemIndex });
}

/** CSV: the export as one file. The whole export streams from one request; pages are joined, header once. */
export async function exportCsvItem(run: ExportRun): Promise<INodeExecutionData> {
	const { context, client, parameters, itemIndex } = run;
	const fileName = `${parameters.datasetId.replace(/[^\w.-]+/g, '_')}-${run.entity}.csv`;
	let binary: IBinaryData;
	let rows: number | undefined;
	if (parameters.wholeExport) {
		binary = await client.get({
			...requestFor(run),
			encoding: 'stream',
			read: async (response: EvergageResponse) =>
				await context.helpers.prepareBinaryData(response.body as Buffer, fileName, 'text/csv'),
		});
	} else {
		const joined = await joinCsvPages(run);
		rows = joined.rows;
		binary = await context.helpers.prepareBinaryData(
			Buffer.from(joined.text, 'utf8'),
			fileName,
			'text/csv',
		);
	}
	return {
		json: { datasetId: parameters.datasetId, fileName, ...(rows === undefined ? {} : { rows }) },
		binary: { [parameters.binaryPropertyName]: binary },
		pairedItem: { item: itemIndex },
	};
}

interface CsvPage {
	rows: string[];
	lineBreak: string;
}

async function joinCsvPages(run: ExportRun): Promise<{ text: string; rows: number }> {
	const { parameters } = run;
	const limit = parameters.paging.limit ?? Infinity;
	let header: string | undefined;
	let lineBreak = '\r\n';
	const rows: string[] = [];
	// The first page's first row is the header; a later page may repeat it or not.
	const dataRows = (page: CsvPage) => {
		header ??= page.rows[0];
		return page.rows[0] === header ? page.rows.slice(1) : page.rows;
	};
	const pages = walkPages(run, (body) => splitCsvRows(body.toString('utf8')), {
		size: (page) => dataRows(page).length,
		stillWanted: () => limit - rows.length,
		samePage: (a, b) =>
			a.rows.length === b.rows.length && a.rows.every((row, i) => row === b.rows[i]),
	});
	for await (const page of pages) {
		lineBreak = page.lineBreak;
		for (const row of dataRows(page)) {
			if (rows.length >= limit) break;
			rows.push(row);
		}
		if (rows.length >= limit) break;
	}
	if (header === undefined) return { text: '', rows: 0 };
	return { text: [header, ...rows].join(lineBreak) + lineBreak, rows: rows.length };
}

/**
 * Splits CSV text (RFC 4180) into rows, blank lines dropped; a line break inside quotes stays in its
 * row. Text that ends inside quotes, or whose last row has fewer fields than its first, was cut off.
 */
export function splitCsvRows(text: string): CsvPage {
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
	return { rows, lineBreak };
}

/** The last step every export node shares: parameters → request plan → items for one input item. */
export async function exportItems(
	context: IExecuteFunctions,
	itemIndex: number,
	entity: ExportEntity,
): Promise<INodeExecutionData[]> {
	const parameters = readExportParameters(context, itemIndex);
	const client = await evergageClient(context, itemIndex, parameters.request);
	const run: ExportRun = { context, client, parameters, entity, itemIndex };
	return parameters.format === 'csv' ? [await exportCsvItem(run)] : await exportRecordItems(run);
}
