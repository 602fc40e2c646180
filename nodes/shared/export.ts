import type { IBinaryData, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { CsvPage } from './csv';
import { chunkStream, CsvAssembler, splitCsvRows } from './csv';
import { datesOutputOf, formatItemDates } from './dates';
import type { PageSource } from './pages';
import {
	deadlineFailure,
	exportDeadline,
	exportPages,
	formatBytes,
	openingPace,
	pageBodyLimit,
	readPageBody,
} from './pages';
import type { ExportEntity, ExportParameters } from './query';
import { exportPath, exportQueryString, readExportParameters } from './query';
import { parseJsonPage, RecordCollector } from './records';
import type { BodyChunks } from './body';
import { ServiceDataError } from './body';
import type { EvergageClient } from './transport';
import { evergageClient } from './transport';

/** One export for one input item: parameters → the door → pages → records or a CSV file. */

/** A CSV file streamed from the service is cut off past this size. */
export const csvFileBounds = { maxBytes: 8 * 1024 * 1024 * 1024 };

export interface ExportRun {
	client: EvergageClient;
	parameters: ExportParameters;
	entity: ExportEntity;
}

/** A page's request (or, without a page, the whole export's): where, what it is, its bound. */
function requestFor(run: ExportRun, page?: number) {
	const { parameters, entity } = run;
	const { pageSize } = parameters.paging;
	const paging = page === undefined ? undefined : { page, pageSize };
	return {
		pathAndQuery:
			exportPath(parameters.datasetId, entity, parameters.format) +
			exportQueryString(parameters.filters, paging),
		notFoundMessage: `Dataset "${parameters.datasetId}" was not found (404) when exporting ${entity}`,
		what:
			page === undefined
				? `the ${entity} export (one request for all of it)`
				: `page ${page} of the ${entity} export`,
		maxBodyBytes: page === undefined ? csvFileBounds.maxBytes : pageBodyLimit(pageSize),
	};
}

/** The export's pages, each read whole (within its bound) and parsed by `parse`. */
function walkPages<P>(
	run: ExportRun,
	parse: (text: string, page: number) => P,
	source: Pick<PageSource<P>, 'size' | 'take' | 'stillWanted'>,
): AsyncGenerator<P> {
	const maxBytes = pageBodyLimit(run.parameters.paging.pageSize);
	const pace = openingPace(run.parameters.paging);
	return exportPages<P>(
		run.parameters.paging,
		{
			...source,
			fetch: async (page, signal) =>
				await run.client.get({
					...requestFor(run, page),
					signal,
					pace,
					read: async (body, headers) => {
						refuseOtherFormat(run, headers['content-type'], page);
						const { text, digest } = await readPageBody(body, maxBytes, page);
						return { content: parse(text, page), digest };
					},
				}),
			failure: (message, description) => run.client.failure(message, description),
		},
		pace,
	);
}

/** JSON: every record of the export (or up to Limit), deduplicated, as one item each. */
export async function exportRecordItems(
	run: ExportRun,
	itemIndex: number,
): Promise<INodeExecutionData[]> {
	const { parameters } = run;
	const collector = new RecordCollector(parameters.deduplicate, parameters.paging.limit, {
		item: itemIndex,
	});
	const pages = walkPages(run, parseJsonPage, {
		size: (page) => page.length,
		take: (page) => collector.add(page),
		stillWanted: () => collector.stillWanted,
	});
	let next = await pages.next();
	while (!next.done && collector.stillWanted > 0) next = await pages.next();
	// Ends the walk when Limit was reached before the export's end: pages in flight are aborted.
	await pages.return(undefined);
	return collector.takeItems();
}

/** CSV: the export as one file, streamed into n8n's binary data: one request for all, or page by page. */
async function exportCsvItem(
	context: IExecuteFunctions,
	run: ExportRun,
	itemIndex: number,
): Promise<INodeExecutionData> {
	const { parameters } = run;
	const fileName = `${parameters.datasetId.replace(/[^\w.-]+/g, '_')}-${run.entity}.csv`;
	let binary: IBinaryData;
	let rows: number | undefined;
	if (parameters.wholeExport) {
		binary = await wholeCsvFile(context, run, fileName);
	} else {
		const file = csvFilePages(run);
		binary = await context.helpers.prepareBinaryData(
			chunkStream(file.chunks) as unknown as Buffer,
			fileName,
			'text/csv',
		);
		rows = file.rows();
	}
	return {
		json: { datasetId: parameters.datasetId, fileName, ...(rows === undefined ? {} : { rows }) },
		binary: { [parameters.binaryPropertyName]: binary },
		pairedItem: { item: itemIndex },
	};
}

/** The whole export as one CSV file from one request, within the export's deadline. */
async function wholeCsvFile(
	context: IExecuteFunctions,
	run: ExportRun,
	fileName: string,
): Promise<IBinaryData> {
	const { deadlineMs } = run.parameters.paging;
	const deadline = exportDeadline(deadlineMs);
	const file = { bytes: 0 };
	const outcome = await run.client
		.get({
			...requestFor(run),
			signal: deadline,
			read: async (body, headers) => {
				refuseOtherFormat(run, headers['content-type'], 0);
				return await context.helpers.prepareBinaryData(
					chunkStream(boundedFile(body, file)) as unknown as Buffer,
					fileName,
					'text/csv',
				);
			},
		})
		.then(
			(binary) => ({ binary }),
			(error: unknown) => ({ error }),
		);
	if ('binary' in outcome) return outcome.binary;
	if (deadline?.aborted) {
		throw deadlineFailure(
			run.client.failure,
			deadlineMs,
			`after ${formatBytes(file.bytes)} of the file`,
		);
	}
	throw outcome.error;
}

/**
 * A 2xx answer that says it is in another format than asked (a JSON error object for a CSV
 * export, an HTML page from a proxy) is not the export. Unknown or generic types are let through:
 * the service's own types are not documented.
 */
function refuseOtherFormat(run: ExportRun, contentType: unknown, page: number): void {
	// Redacted before it is lowercased: a lowercased echo of the token would no longer be found.
	const said = String(Array.isArray(contentType) ? contentType[0] : (contentType ?? ''));
	const type = run.client.redactor.serviceText(said, 200).toLowerCase();
	const other =
		type.includes('html') ||
		(run.parameters.format === 'csv' && type.includes('json')) ||
		(run.parameters.format === 'json' && type.includes('csv'));
	if (other) {
		throw new ServiceDataError(
			`Evergage answered page ${page} with ${type.split(';')[0]} instead of ${run.parameters.format.toUpperCase()}`,
			"Nothing was output for this item: the answer is not the export (an error page or a proxy in between). Check the credential's Base URL, or run the workflow again later.",
		);
	}
}

/** The body of a whole-export CSV, failed past the file bound instead of filling the disk. */
async function* boundedFile(body: BodyChunks, file: { bytes: number }): AsyncGenerator<Buffer> {
	for await (const chunk of body) {
		file.bytes += chunk.length;
		if (file.bytes > csvFileBounds.maxBytes) {
			throw new ServiceDataError(
				`The CSV export passed ${formatBytes(csvFileBounds.maxBytes)}, the node's bound for one file`,
				'Nothing was output for this item. Narrow the export with a Filter, or export it page by page with a Limit and Start Page.',
			);
		}
		yield chunk;
	}
}

/** A paged CSV export as file chunks, one per page, pulled as n8n writes them. */
function csvFilePages(run: ExportRun): { chunks: AsyncGenerator<Buffer>; rows: () => number } {
	const limit = run.parameters.paging.limit ?? Infinity;
	const assembler = new CsvAssembler((message, description) =>
		run.client.failure(message, description),
	);
	const dataRows = new WeakMap<CsvPage, string[]>();
	let rowCount = 0;
	const pages = walkPages(run, (text, page) => splitCsvRows(text, page), {
		size: (page, index) => {
			const rows = assembler.dataRows(page, index);
			dataRows.set(page, rows);
			return rows.length;
		},
		stillWanted: () => limit - rowCount,
	});
	async function* chunks(): AsyncGenerator<Buffer> {
		for await (const page of pages) {
			const rows = dataRows.get(page) ?? [];
			const wanted = Math.min(rows.length, limit - rowCount);
			const head = rowCount === 0 ? assembler.head() : '';
			rowCount += wanted;
			const { lineBreak } = assembler;
			const body = (wanted === rows.length ? rows : rows.slice(0, wanted)).join(lineBreak);
			yield Buffer.from(head + body + lineBreak, 'utf8');
			if (rowCount >= limit) break;
		}
		// Header only: the export is empty, the file still says its columns.
		if (rowCount === 0 && assembler.header !== undefined)
			yield Buffer.from(assembler.head(), 'utf8');
	}
	return { chunks: chunks(), rows: () => rowCount };
}

/** The last step every export node shares: parameters → request plan → items for one input item. */
export async function exportItems(
	context: IExecuteFunctions,
	itemIndex: number,
	entity: ExportEntity,
): Promise<INodeExecutionData[]> {
	const parameters = readExportParameters(context, itemIndex);
	const client = await evergageClient(context, itemIndex, parameters.request);
	const run: ExportRun = { client, parameters, entity };
	if (parameters.format === 'csv') return [await exportCsvItem(context, run, itemIndex)];
	const dates = datesOutputOf(context.getNode(), context.getNodeParameter('dates', itemIndex, ''));
	const items = await exportRecordItems(run, itemIndex);
	if (dates === 'iso8601') formatItemDates(items, context.getTimezone());
	return items;
}
