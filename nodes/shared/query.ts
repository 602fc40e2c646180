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
	/** Milliseconds the whole export may take; undefined for none. */
	deadlineMs?: number;
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
/** Seconds an export may take unless the user says otherwise: an hour is far past any usual export. */
export const DEFAULT_EXPORT_DEADLINE_S = 3_600;
export const MAX_EXPORT_DEADLINE_S = 7 * 24 * 3_600;
/** Epoch values below this (March 1973 in milliseconds) can only be seconds in this API. */
const SMALLEST_EPOCH_MS = 1e11;
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
	const read = new FieldReader(
		(field, problem, fix) =>
			new NodeOperationError(node, `${field} ${problem}`, { itemIndex, description: fix }),
	);
	const parameter = (name: string, fallback: unknown) =>
		context.getNodeParameter(name, itemIndex, fallback);
	const options = parameter('options', {}) as IDataObject;
	if (options === null || typeof options !== 'object' || Array.isArray(options)) {
		throw read.invalid('Options', 'must be a set of options', 'Remove the expression on Options.');
	}
	const datasetId = readDatasetId(read, parameter('datasetId', ''));
	const format = read.option(parameter('format', 'json'), 'Format', ['json', 'csv'] as const);
	const filters = readFilters(read, options, context.getTimezone());
	const returnAll = read.boolean(parameter('returnAll', true), 'Return All');
	const limit = returnAll
		? undefined
		: read.wholeNumber(parameter('limit', 50), 'Limit', 1, Number.MAX_SAFE_INTEGER);
	const paging = readPaging(read, options, parameter('pageSize', 1000), limit);
	const binaryPropertyName = read.text(
		options.binaryPropertyName ?? 'data',
		'Put Output File in Field',
	);
	if (binaryPropertyName === undefined) {
		throw read.invalid(
			'Put Output File in Field',
			'is empty',
			'Enter a field name such as "data".',
		);
	}
	return {
		datasetId,
		format,
		filters,
		paging,
		wholeExport: limit === undefined && paging.firstPage === 0,
		deduplicate: read.boolean(options.deduplicate ?? true, 'Deduplicate'),
		binaryPropertyName,
		request: {
			timeoutMs: read.wholeNumber(options.timeout ?? 60_000, 'Timeout', 1, 3_600_000),
			maxRetries: read.wholeNumber(options.retries ?? 4, 'Retries', 0, 10),
		},
	};
}

function readDatasetId(read: FieldReader, value: unknown): string {
	const datasetId = read.text(value, 'Dataset ID');
	if (datasetId === undefined) {
		throw read.invalid(
			'Dataset ID',
			'is empty',
			'Enter the name or identifier of the dataset, e.g. "engage".',
		);
	}
	if (datasetId === '.' || datasetId === '..') {
		throw read.invalid(
			'Dataset ID',
			`cannot be "${datasetId}"`,
			'Enter the name or identifier of the dataset.',
		);
	}
	return datasetId;
}

function readFilters(read: FieldReader, options: IDataObject, timezone: string): ExportFilters {
	const filters: ExportFilters = {
		filter: read.text(options.filter, 'Filter (Segment Name or ID)'),
		start: toEpochMs(options.start, 'Start', timezone, read.invalid),
		end: toEpochMs(options.end, 'End', timezone, read.invalid),
		segmentationId: read.text(options.segmentationId, 'Segmentation ID'),
		segmentId: read.text(options.segmentId, 'Segment ID'),
		includeGeo: read.boolean(options.includeGeo ?? false, 'Include Geo') ? true : undefined,
	};
	if (filters.start !== undefined && filters.end !== undefined && filters.start > filters.end) {
		throw read.invalid(
			'Start',
			`(${new Date(filters.start).toISOString()}) is after End (${new Date(filters.end).toISOString()})`,
			'Swap Start and End, or clear one of them.',
		);
	}
	return filters;
}

function readPaging(
	read: FieldReader,
	options: IDataObject,
	pageSize: unknown,
	limit: number | undefined,
): PagePlan {
	const deadlineS = read.wholeNumber(
		options.exportDeadline ?? DEFAULT_EXPORT_DEADLINE_S,
		'Export Deadline',
		0,
		MAX_EXPORT_DEADLINE_S,
	);
	return {
		firstPage: read.wholeNumber(options.page ?? 0, 'Start Page', 0, Number.MAX_SAFE_INTEGER),
		pageSize: read.wholeNumber(pageSize, 'Page Size', 1, MAX_PAGE_SIZE),
		limit,
		concurrency: read.wholeNumber(
			options.concurrency ?? DEFAULT_CONCURRENCY,
			'Max Parallel Requests',
			1,
			MAX_CONCURRENCY,
		),
		deadlineMs: deadlineS === 0 ? undefined : deadlineS * 1000,
	};
}

type Invalid = (field: string, problem: string, fix: string) => Error;

/**
 * The one reader of booleans, whole numbers, options and texts. n8n coerces a parameter only when
 * its field asks for validation, so an expression hands a node `"false"`, `"25"` or an object as
 * is: each is checked here, and anything that is not plainly the field's type is refused by name.
 */
export class FieldReader {
	constructor(readonly invalid: Invalid) {}

	/** true/false, or the texts "true"/"false" an expression gives. */
	boolean(value: unknown, field: string): boolean {
		if (value === true || value === 'true') return true;
		if (value === false || value === 'false') return false;
		throw this.invalid(
			field,
			`must be true or false, not ${shown(value)}`,
			`Turn ${field} on or off, or make its expression give true or false.`,
		);
	}

	/** A whole number from `min` to `max`; digits as text are taken as the number. */
	wholeNumber(value: unknown, field: string, min: number, max: number): number {
		const number = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
		if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
			throw this.invalid(
				field,
				`must be a whole number from ${min} to ${max}, not ${shown(value)}`,
				`Set ${field} to a whole number between ${min} and ${max}.`,
			);
		}
		return number;
	}

	/** One of `choices`, exactly. */
	option<T extends string>(value: unknown, field: string, choices: readonly T[]): T {
		if (choices.includes(value as T)) return value as T;
		throw this.invalid(
			field,
			`must be ${choices.map((choice) => `"${choice}"`).join(' or ')}, not ${shown(value)}`,
			`Pick one of ${choices.join(', ')}.`,
		);
	}

	/** Text that is sent as given; empty or null means "not set". */
	text(value: unknown, field: string): string | undefined {
		if (value === undefined || value === null || value === '') return undefined;
		if (typeof value === 'number' && Number.isFinite(value)) return String(value);
		if (typeof value !== 'string') {
			throw this.invalid(
				field,
				`must be text, not ${describeType(value)}`,
				'Check the expression: it should give a name or an ID.',
			);
		}
		try {
			encodeURIComponent(value);
		} catch {
			throw this.invalid(
				field,
				'contains a character that cannot be sent (half of a surrogate pair)',
				'Retype the value, or check the expression that builds it: a text was cut inside an emoji or another character outside the Basic Multilingual Plane.',
			);
		}
		return value;
	}
}

/** A value as an error message shows it: NaN as NaN (JSON would say null), objects by their type. */
function shown(value: unknown): string {
	if (typeof value === 'number' || typeof value === 'boolean') return String(value);
	if (typeof value === 'string')
		return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
	return describeType(value);
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
	if (typeof value === 'number') ms = epochNumber(value, field, invalid);
	else if (typeof value === 'string') {
		const text = value.trim();
		ms = /^\d+$/.test(text)
			? epochNumber(Number(text), field, invalid)
			: isoToEpochMs(text, timezone);
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

/**
 * A bare number is epoch milliseconds. One below 1e11 would be a date before March 1973, long before
 * this API: it is epoch seconds, and sent as is it would quietly ask for January 1970.
 */
function epochNumber(value: number, field: string, invalid: Invalid): number {
	if (value > 0 && value < SMALLEST_EPOCH_MS && Number.isInteger(value)) {
		const asDate = new Date(value * 1000);
		const when = Number.isNaN(asDate.getTime()) ? '' : ` (${asDate.toISOString()} if it is)`;
		throw invalid(
			field,
			`looks like seconds (${value}), not epoch milliseconds`,
			`Multiply it by 1000${when}, or use a date such as 2024-01-31T00:00:00Z. Epoch milliseconds have 13 digits today.`,
		);
	}
	return value;
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
