import type { IDataObject, INodeExecutionData, IPollFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { ChangeEvent, ChangeItem, ChangeMeasure, ChangeRules } from './changes';
import {
	diffSnapshots,
	loadSnapshot,
	saveSnapshot,
	snapshotOf,
	trackedRecords,
	trackingLimits,
} from './changes';
import { exportRecordItems } from './export';
import type { ExportEntity, ParameterSource } from './query';
import { readExportParameters } from './query';
import { evergageClient } from './transport';

/**
 * One poll of the trigger: the whole export through the same door, pages and dedupe as the export
 * nodes, compared with the snapshot kept in the node's static data. The snapshot is replaced only
 * after a complete export, so a failed poll leaves the baseline as it was.
 */

/** Records "Fetch Test Event" shows: a real sample, nothing compared, nothing saved. */
const SAMPLE_SIZE = 4;
/** Records per request: large pages, few requests; the service may send fewer. */
const PAGE_SIZE = 1000;
const EVENTS: readonly ChangeEvent[] = ['new', 'entered', 'left', 'changed'];
const MEASURES: readonly ChangeMeasure[] = ['engagementScore', 'lastActivity', 'anyField'];

/** Polls under way, by workflow and node: n8n starts a poll even while the previous one still runs. */
const pollsUnderWay = new Set<string>();

export async function pollChanges(context: IPollFunctions): Promise<INodeExecutionData[][] | null> {
	const entity = readEntity(context);
	const rules = readRules(context);
	if (context.getMode() === 'manual') {
		const sample = await exportRecords(context, entity, SAMPLE_SIZE);
		return [context.helpers.returnJsonArray(sampleEvents(sample, rules) as IDataObject[])];
	}
	const key = `${context.getWorkflow().id ?? ''}:${context.getNode().id}`;
	// Two polls comparing against the same baseline would emit the same events twice.
	if (pollsUnderWay.has(key)) return null;
	pollsUnderWay.add(key);
	try {
		return await pollOnce(context, entity, rules);
	} finally {
		pollsUnderWay.delete(key);
	}
}

async function pollOnce(
	context: IPollFunctions,
	entity: ExportEntity,
	rules: ChangeRules,
): Promise<INodeExecutionData[][] | null> {
	const { maxTracked } = trackingLimits;
	const records = await exportRecords(context, entity, maxTracked + 1);
	if (records.length > maxTracked) {
		throw new NodeOperationError(
			context.getNode(),
			`The export has more than ${maxTracked.toLocaleString('en-US')} ${entity}: too many to follow`,
			{
				description:
					'The trigger remembers every record it follows, up to this number. Narrow the export with a Segment (or Options > Segment ID / Segmentation ID), or use the export node on a schedule.',
			},
		);
	}
	const scope = scopeOf(context, entity);
	// With durable poll cursors (n8n 2.36+), n8n hands out this object per poll and stores it with the
	// execution, or on its own after a poll that emits nothing; otherwise it is the workflow's static data.
	const state = context.getWorkflowStaticData('node');
	const previous = loadSnapshot(state, scope);
	if (previous === undefined) {
		Object.assign(state, saveSnapshot(snapshotOf(records), scope));
		return null;
	}
	const { items, next } = diffSnapshots(previous, records, rules);
	Object.assign(state, saveSnapshot(next, scope));
	return items.length === 0 ? null : [context.helpers.returnJsonArray(items as IDataObject[])];
}

/** Up to `limit` deduplicated records with a name, read with the export nodes' machinery. */
async function exportRecords(
	context: IPollFunctions,
	entity: ExportEntity,
	limit: number,
): Promise<IDataObject[]> {
	const options = context.getNodeParameter('options', {}) as IDataObject;
	const exportParameters: IDataObject = {
		format: 'json',
		returnAll: false,
		limit,
		pageSize: Math.min(PAGE_SIZE, limit),
		options: { ...options, filter: context.getNodeParameter('filter', '') },
	};
	// A poll is one item, and a few of the export's parameters are fixed for a trigger; the rest are
	// the trigger's own fields, read and checked by the export nodes' rules.
	const source: ParameterSource = {
		getNode: () => context.getNode(),
		getTimezone: () => context.getTimezone(),
		getNodeParameter: (name, _itemIndex, fallback) =>
			name in exportParameters ? exportParameters[name] : context.getNodeParameter(name, fallback),
	};
	const parameters = readExportParameters(source, 0);
	const client = await evergageClient(context, 0, parameters.request);
	const items = await exportRecordItems({ client, parameters, entity }, 0);
	return trackedRecords(items.map((item) => item.json));
}

function readEntity(context: IPollFunctions): ExportEntity {
	const entity = context.getNodeParameter('entity', 'accounts');
	if (entity !== 'accounts' && entity !== 'users') {
		throw new NodeOperationError(
			context.getNode(),
			`Entity must be Accounts or Users, not ${String(entity)}`,
		);
	}
	return entity;
}

function readRules(context: IPollFunctions): ChangeRules {
	const node = context.getNode();
	const chosen = context.getNodeParameter('events', []) as unknown;
	const events = new Set(
		(Array.isArray(chosen) ? chosen : []).filter((event): event is ChangeEvent =>
			EVENTS.includes(event as ChangeEvent),
		),
	);
	if (events.size === 0) {
		throw new NodeOperationError(node, 'No event chosen', {
			description: 'Pick at least one of Entered, Left, New or Changed in Events.',
		});
	}
	const measure = context.getNodeParameter('changeOn', 'engagementScore') as ChangeMeasure;
	if (!MEASURES.includes(measure)) {
		throw new NodeOperationError(node, `Changed On cannot be ${String(measure)}`);
	}
	const minScoreChange = Number(context.getNodeParameter('minScoreChange', 0.1));
	if (!Number.isFinite(minScoreChange) || minScoreChange < 0) {
		throw new NodeOperationError(node, 'Minimum Score Change must be a number of 0 or more', {
			description: 'Engagement scores are fractions: 0.1 means ten points of a hundred.',
		});
	}
	return { events, measure, minScoreChange };
}

/** Entity, dataset and segment: what decides which records are followed. Another scope, another baseline. */
function scopeOf(context: IPollFunctions, entity: ExportEntity): string {
	const options = context.getNodeParameter('options', {}) as IDataObject;
	return JSON.stringify([
		entity,
		context.getNodeParameter('datasetId', ''),
		context.getNodeParameter('filter', '') || null,
		options.segmentId || null,
		options.segmentationId || null,
	]);
}

/** Real records shaped as the chosen events, one event after the other, for "Fetch Test Event". */
function sampleEvents(records: IDataObject[], rules: ChangeRules): ChangeItem[] {
	const events = EVENTS.filter((event) => rules.events.has(event));
	return records.map((record, index) => {
		const event = events[index % events.length];
		const previous = {
			engagementScore: typeof record.engagementScore === 'number' ? record.engagementScore : null,
			lastActivity: typeof record.lastActivity === 'number' ? record.lastActivity : null,
		};
		if (event === 'left') return { event, name: record.name as string, previous };
		if (event === 'changed') return { ...record, event, previous };
		return { ...record, event };
	});
}
