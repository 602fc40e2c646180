import type { INodeProperties, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import type { DatesOutput } from './dates';
import { ISO_DATES_SINCE_VERSION } from './dates';
import type { ExportEntity } from './query';
import {
	DEFAULT_CONCURRENCY,
	DEFAULT_EXPORT_DEADLINE_S,
	MAX_CONCURRENCY,
	MAX_EXPORT_DEADLINE_S,
	MAX_PAGE_SIZE,
} from './query';

/** The fields every export node shows, worded for what it exports: one fix here reaches all of them. */

/** 1.1: Dates, ISO 8601 by default. */
export const NODE_VERSIONS = [1, ISO_DATES_SINCE_VERSION];

const NOUNS: Record<ExportEntity, { one: string; many: string; title: string; segment: string }> = {
	accounts: { one: 'account', many: 'accounts', title: 'Accounts', segment: 'High Value Accounts' },
	users: { one: 'user', many: 'users', title: 'Users', segment: 'Frequent Visitors' },
};

/** Dataset ID, as every node of the package asks for it; `description` says what the node does there. */
export function datasetField(description: string): INodeProperties {
	return {
		displayName: 'Dataset ID',
		name: 'datasetId',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'e.g. engage',
		description,
	};
}

export function exportFields(entity: ExportEntity): INodeProperties[] {
	const { one, many, title, segment } = NOUNS[entity];
	return [
		// One operation; its action is what n8n's nodes panel and agent tools list under the node.
		{
			displayName: 'Operation',
			name: 'operation',
			type: 'options',
			noDataExpression: true,
			options: [
				{
					name: 'Export',
					value: 'export',
					action: `Export ${many}`,
					description: `Export the ${many} of a dataset`,
				},
			],
			default: 'export',
		},
		datasetField('The name or identifier of the Personalization dataset to export from'),
		{
			displayName: 'Format',
			name: 'format',
			type: 'options',
			options: [
				{ name: 'JSON', value: 'json', description: `One output item per ${one}` },
				{
					name: 'CSV',
					value: 'csv',
					description: 'One output item holding the export as a CSV file',
				},
			],
			default: 'json',
		},
		...datesFields(`${DATE_FIELDS_TEXT}. The CSV file always keeps them as sent.`, {
			format: ['json'],
		}),
		{
			displayName: 'Return All',
			name: 'returnAll',
			type: 'boolean',
			default: false,
			description: 'Whether to return all results or only up to a given limit',
		},
		{
			displayName: 'Limit',
			name: 'limit',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 50,
			description: 'Max number of results to return',
			displayOptions: { show: { returnAll: [false] } },
		},
		{
			displayName: 'Page Size',
			name: 'pageSize',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: MAX_PAGE_SIZE },
			default: 1000,
			description:
				'Records asked for per request. The service may send fewer per page; the export still ends only at an empty page. A CSV export of everything comes in one request and ignores it.',
		},
		{
			displayName: 'Options',
			name: 'options',
			type: 'collection',
			placeholder: 'Add option',
			default: {},
			options: [
				{
					displayName: `Deduplicate ${title}`,
					name: 'deduplicate',
					type: 'boolean',
					default: true,
					description: `Whether to keep one item per ${one} name when the service sends a ${one} more than once: the last one sent, which is the most current (JSON only)`,
				},
				{
					displayName: 'End',
					name: 'end',
					type: 'dateTime',
					default: '',
					description:
						'End of the window for engagement statistics. Also takes epoch milliseconds from an expression.',
				},
				{
					displayName: 'Export Deadline',
					name: 'exportDeadline',
					type: 'number',
					typeOptions: { minValue: 0, maxValue: MAX_EXPORT_DEADLINE_S },
					default: DEFAULT_EXPORT_DEADLINE_S,
					description:
						'Seconds the whole export may take, retries and waits included. Past it the export fails and its requests are stopped. 0 means no deadline.',
				},
				{
					displayName: 'Filter (Segment Name or ID)',
					name: 'filter',
					type: 'string',
					default: '',
					placeholder: `e.g. ${segment}`,
					description: `Only ${many} in this segment, by its name or ID`,
				},
				...(entity === 'users' ? [includeGeoField] : []),
				{
					displayName: 'Max Parallel Requests',
					name: 'concurrency',
					type: 'number',
					typeOptions: { minValue: 1, maxValue: MAX_CONCURRENCY },
					default: DEFAULT_CONCURRENCY,
					description:
						'The most pages requested at once. The node starts with this many, and asks fewer when the service answers 429 or 5xx. Lower it to spare a busy service; 1 asks one page at a time.',
				},
				{
					displayName: 'Put Output File in Field',
					name: 'binaryPropertyName',
					type: 'string',
					default: 'data',
					description: 'The binary field of the output item that holds the CSV file',
					displayOptions: { show: { '/format': ['csv'] } },
				},
				{
					displayName: 'Retries',
					name: 'retries',
					type: 'number',
					typeOptions: { minValue: 0, maxValue: 10 },
					default: 4,
					description:
						'Times a request is tried again after a rate limit (429), a server error (5xx), a dropped connection or a timeout, waiting longer each time',
				},
				{
					displayName: 'Segment ID',
					name: 'segmentId',
					type: 'string',
					default: '',
					placeholder: 'e.g. 1PPOO',
					description: `Only ${many} in this segment`,
				},
				{
					displayName: 'Segmentation ID',
					name: 'segmentationId',
					type: 'string',
					default: '',
					placeholder: 'e.g. tiers',
					description: `Only ${many} in this segmentation`,
				},
				{
					displayName: 'Start',
					name: 'start',
					type: 'dateTime',
					default: '',
					description:
						'Start of the window for engagement statistics. Also takes epoch milliseconds from an expression.',
				},
				{
					displayName: 'Start Page',
					name: 'page',
					type: 'number',
					typeOptions: { minValue: 0 },
					default: 0,
					description:
						'Zero-based page to start from. With Limit equal to Page Size, an expression here fetches one page per run (for loops).',
				},
				{
					displayName: 'Timeout',
					name: 'timeout',
					type: 'number',
					typeOptions: { minValue: 1 },
					default: 60000,
					description:
						'Milliseconds to wait for the service before a request is abandoned and tried again. A page body must also keep arriving at 1 KiB/s or more over that time, and end within Timeout plus the time its size bound takes at 64 KiB/s.',
				},
			],
		},
	];
}

const includeGeoField: INodeProperties = {
	displayName: 'Include Geo',
	name: 'includeGeo',
	type: 'boolean',
	default: false,
	description: "Whether to include each user's location details (sent as includeGeo=true)",
};

const DATE_FIELDS_TEXT = 'How firstActivity, lastActivity and segmentJoined are output';

/**
 * Dates: ISO 8601 text for a new node (version 1.1), epoch milliseconds as sent for a node made at
 * version 1, so that existing workflows run as they did. `show` limits it to where it applies.
 */
export function datesFields(
	description: string,
	show: Record<string, string[]> = {},
): INodeProperties[] {
	const field = (
		defaultValue: DatesOutput,
		versions: Array<number | { _cnd: { gte: number } }>,
	): INodeProperties => ({
		displayName: 'Dates',
		name: 'dates',
		type: 'options',
		options: [
			{
				name: 'As Sent (Epoch Milliseconds)',
				value: 'asSent',
				description: 'Numbers such as 1767603600000, as the service sends them',
			},
			{
				name: 'ISO 8601',
				value: 'iso8601',
				description:
					"Text in the workflow's time zone with its offset, such as 2026-01-05T10:00:00.000+01:00",
			},
		],
		default: defaultValue,
		description,
		displayOptions: { show: { ...show, '@version': versions } },
	});
	return [field('asSent', [1]), field('iso8601', [{ _cnd: { gte: ISO_DATES_SINCE_VERSION } }])];
}

/** The Dates description for the trigger, whose Changed and Left items carry previous values too. */
export const TRIGGER_DATES_TEXT =
	'How firstActivity, lastActivity, segmentJoined and previous.lastActivity are output. Changes are found on the values as sent.';

/**
 * What every export node's description shares: the fields, one credential, one input and output.
 * (n8n's lint wants icon, subtitle and usableAsTool written in each node's own description.)
 */
export function exportNodeBasics(
	entity: ExportEntity,
): Pick<
	INodeTypeDescription,
	'group' | 'version' | 'defaultVersion' | 'inputs' | 'outputs' | 'credentials' | 'properties'
> {
	return {
		group: ['input'],
		version: NODE_VERSIONS,
		defaultVersion: ISO_DATES_SINCE_VERSION,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'evergageApi', required: true }],
		properties: exportFields(entity),
	};
}

// Before a dataset is set, a new node reads "Export as JSON", not "Dataset  as JSON".
export const EXPORT_SUBTITLE =
	'={{($parameter["datasetId"] ? "Dataset " + $parameter["datasetId"] + " as " : "Export as ") + $parameter["format"].toUpperCase()}}';

/** One top-level field of an export node, for a node that takes it too (the trigger). */
export function exportField(entity: ExportEntity, name: string): INodeProperties {
	const field = exportFields(entity).find((candidate) => candidate.name === name);
	if (field === undefined) throw new Error(`No export field ${name}`);
	return field;
}

/** An export node's Options, holding only `names`, for a node that takes those options too. */
export function exportOptionsOnly(entity: ExportEntity, names: readonly string[]): INodeProperties {
	const options = exportField(entity, 'options');
	return {
		...options,
		options: (options.options as INodeProperties[]).filter((option) => names.includes(option.name)),
	};
}
