import type { IDataObject, INode } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { zoneOffsetMs } from './dates';
import type { RequestSettings } from './transport';

/** Node parameters → a validated export query. Nothing here touches the network. */

export type ExportFormat = 'json' | 'csv';

/** What an export endpoint returns: `accounts.<format>` (and its twin, `users.<format>`). */
export type ExportEntity = 'accounts' | 'users';

/** The documented narrowing parameters, as sent. Absent keys are not sent. */
export interface ExportFilters {
	filter?: string;
	start?: number;
	end?: number;
	segmentationId?: string;
	segmentId?: string;
	/** Users only: location details on every record. Sent only when on. */
	includeGeo?: true;
}

export interface PagePlan {
	/** Zero-based page to start from. */
	firstPage: number;
	pageSize: number;
	/** Records wanted; undefined means all of them. */
	limit?: number;
	/** Pages requested at once. */
	concurrency: number;
}

export interface ExportParameters {
	datasetId: string;
	format: ExportFormat;
	filters: ExportFilters;
	paging: PagePlan;
	/** Return All from the first page: the whole export, which CSV fetches in one streamed request. */
	wholeExport: boolean;
	deduplicate: boolean;
	binaryPropertyName: string;
	request: RequestSettings;
}

export const MAX_PAGE_SIZE = 100_000;
/**
 * The ceiling of pages in flight unless the user lowers it. At 50 ms a request, 8 pages in flight
 * already keep the core that decodes and parses them busy; more would only queue in the client and
 * press harder on a service the tenant's sites and apps share. Far services may warrant up to 16.
 */
export const DEFAULT_CONCURRENCY = 8;
export const MAX_CONCURRENCY = 16;
const MAX_EPOCH_MS = 8.64e15;

/** Where the parameters come from: an export node's execute context, or a trigger's own reader. */
export interface ParameterSource {
	getNode(): INode;
	getTimezone(): string;
	getNodeParameter(name: string, itemIndex: number, fallback?: unknown): unknown;
}

export function readExportParameters(
	context: ParameterSource,
	itemIndex: number,
): ExportParameters {
	const node = context.getNode();
	const invalid = (field: string, problem: string, fix: string) =>
		new NodeOperationError(node, `${field} ${problem}`, { itemIndex, description: fix });
	const options = context.getNodeParameter('options', itemIndex, {}) as IDataObject;
	if (options === null || typeof options !== 'object' || Array.isArray(options)) {
		throw invalid('Options', 'must be a set of options', 'Remove the expression on Options.');
	}

	const datasetId = textValue(
		context.getNodeParameter('datasetId', itemIndex, ''),
		'Dataset ID',
		invalid,
	);
	if (datasetId === undefined) {
		throw invalid(
			'Dataset ID',
			'is empty',
			'Enter the name or identifier of the dataset, e.g. "engage".',
		);
	}
	if (datasetId === '.' || datasetId === '..') {
		throw invalid(
			'Dataset ID',
			`cannot be "${datasetId}"`,
			'Enter the name or identifier of the dataset.',
		);
	}

	const format = context.getNodeParameter('format', itemIndex, 'json');
	if (format !== 'json' && format !== 'csv') {
		throw invalid(
			'Format',
			`must be "json" or "csv", not ${JSON.stringify(format)}`,
			'Pick JSON or CSV.',
		);
	}

	const timezone = context.getTimezone();
	const filters: ExportFilters = {
		filter: textValue(options.filter, 'Filter (Segment Name or ID)', invalid),
		start: toEpochMs(options.start, 'Start', timezone, invalid),
		end: toEpochMs(options.end, 'End', timezone, invalid),
		segmentationId: textValue(options.segmentationId, 'Segmentation ID', invalid),
		segmentId: textValue(options.segmentId, 'Segment ID', invalid),
		includeGeo: options.includeGeo === true || options.includeGeo === 'true' ? true : undefined,
	};
	if (filters.start !== undefined && filters.end !== undefined && filters.start > filters.end) {
		throw invalid(
			'Start',
			`(${new Date(filters.start).toISOString()}) is after End (${new Date(filters.end).toISOString()})`,
			'Swap Start and End, or clear one of them.',
		);
	}

	const returnAll = context.getNodeParameter('returnAll', itemIndex, true) as boolean;
	const limit = returnAll
		? undefined
		: wholeNumber(
				context.getNodeParameter('limit', itemIndex, 50),
				'Limit',
				1,
				Number.MAX_SAFE_INTEGER,
				invalid,
			);
	const firstPage = wholeNumber(
		options.page ?? 0,
		'Start Page',
		0,
		Number.MAX_SAFE_INTEGER,
		invalid,
	);
	const paging: PagePlan = {
		firstPage,
		pageSize: wholeNumber(
			context.getNodeParameter('pageSize', itemIndex, 1000),
			'Page Size',
			1,
			MAX_PAGE_SIZE,
			invalid,
		),
		limit,
		concurrency: wholeNumber(
			options.concurrency ?? DEFAULT_CONCURRENCY,
			'Max Parallel Requests',
			1,
			MAX_CONCURRENCY,
			invalid,
		),
	};

	const binaryPropertyName = textValue(
		options.binaryPropertyName ?? 'data',
		'Put Output File in Field',
		invalid,
	);
	if (binaryPropertyName === undefined) {
		throw invalid('Put Output File in Field', 'is empty', 'Enter a field name such as "data".');
	}

	return {
		datasetId,
		format,
		filters,
		paging,
		wholeExport: limit === undefined && firstPage === 0,
		deduplicate: options.deduplicate !== false,
		binaryPropertyName,
		request: {
			timeoutMs: wholeNumber(options.timeout ?? 60_000, 'Timeout', 1, 3_600_000, invalid),
			maxRetries: wholeNumber(options.retries ?? 4, 'Retries', 0, 10, invalid),
		},
	};
}

type Invalid = (field: string, problem: string, fix: string) => Error;

/** Text that is sent as given; empty or null means "not set". */
function textValue(value: unknown, field: string, invalid: Invalid): string | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	if (typeof value === 'string') {
		try {
			encodeURIComponent(value);
		} catch {
			throw invalid(
				field,
				'contains a character that cannot be sent (half of a surrogate pair)',
				'Retype the value, or check the expression that builds it: a text was cut inside an emoji or another character outside the Basic Multilingual Plane.',
			);
		}
		return value;
	}
	if (typeof value === 'number' && Number.isFinite(value)) return String(value);
	throw invalid(
		field,
		`must be text, not ${describeType(value)}`,
		'Check the expression: it should give a name or an ID.',
	);
}

function wholeNumber(
	value: unknown,
	field: string,
	min: number,
	max: number,
	invalid: Invalid,
): number {
	const number = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
	if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
		throw invalid(
			field,
			`must be a whole number from ${min} to ${max}, not ${JSON.stringify(value) ?? describeType(value)}`,
			`Set ${field} to a whole number between ${min} and ${max}.`,
		);
	}
	return number;
}

/** What a value is, in words an error message can use: null, a list, an object, a number… */
export function describeType(value: unknown): string {
	if (value === null) return 'null';
	if (Array.isArray(value)) return 'a list';
	return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Epoch milliseconds from what n8n hands a node: a date-time picker value (ISO text; without an
 * offset it is read in the workflow's time zone), epoch ms as a number or digits, a Luxon DateTime
 * or a Date from an expression.
 */
export function toEpochMs(
	value: unknown,
	field: string,
	timezone: string,
	invalid: Invalid,
): number | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	let ms: number | undefined;
	if (typeof value === 'number') ms = value;
	else if (typeof value === 'string') {
		const text = value.trim();
		ms = /^\d+$/.test(text) ? Number(text) : isoToEpochMs(text, timezone);
	} else if (value instanceof Date) ms = value.getTime();
	else if (
		typeof value === 'object' &&
		typeof (value as { toMillis?: unknown }).toMillis === 'function'
	) {
		ms = (value as { toMillis: () => number }).toMillis();
	}
	if (ms === undefined || !Number.isInteger(ms) || ms < 0 || ms > MAX_EPOCH_MS) {
		throw invalid(
			field,
			`is not a date: ${JSON.stringify(value) ?? describeType(value)}`,
			'Pick a date, or give epoch milliseconds (e.g. 1700000000000) or an ISO date such as 2024-01-31T00:00:00Z.',
		);
	}
	return ms;
}

const ISO_WITHOUT_OFFSET =
	/^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?$/;

function isoToEpochMs(text: string, timezone: string): number | undefined {
	const local = ISO_WITHOUT_OFFSET.exec(text);
	if (!local) {
		// With an offset or Z, the text says its own instant.
		if (!/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/i.test(text)) return undefined;
		const ms = Date.parse(text);
		return Number.isNaN(ms) ? undefined : ms;
	}
	const [y, mo, d, h = '0', mi = '0', s = '0', frac = '0'] = local.slice(1);
	const wallClock = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, Number(frac.padEnd(3, '0')));
	if (Number.isNaN(wallClock) || new Date(wallClock).getUTCDate() !== +d) return undefined;
	// The zone's offset at that wall-clock time, checked once more across a DST change.
	const first = wallClock - zoneOffsetMs(wallClock, timezone);
	return wallClock - zoneOffsetMs(first, timezone);
}

/** `/api/dataset/<id>/<entity>.<format>`: the id is one encoded path segment, whatever it contains. */
export function exportPath(datasetId: string, entity: ExportEntity, format: ExportFormat): string {
	return `/api/dataset/${encodeURIComponent(datasetId)}/${entity}.${format}`;
}

/** The query string for one request; `page` is omitted for the whole export in one response. */
export function exportQueryString(
	filters: ExportFilters,
	page?: { page: number; pageSize: number },
): string {
	const pairs: Array<[string, string | number | undefined]> = [
		['filter', filters.filter],
		['start', filters.start],
		['end', filters.end],
		['segmentationId', filters.segmentationId],
		['segmentId', filters.segmentId],
		['includeGeo', filters.includeGeo ? 'true' : undefined],
		['pageSize', page?.pageSize],
		['page', page?.page],
	];
	const query = pairs
		.filter(([, value]) => value !== undefined)
		.map(([key, value]) => `${key}=${encodeURIComponent(String(value))}`)
		.join('&');
	return query === '' ? '' : `?${query}`;
}
