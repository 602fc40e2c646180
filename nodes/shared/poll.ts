import type {
	IAdditionalCredentialOptions,
	IDataObject,
	IHttpRequestOptions,
	INodeExecutionData,
	IPollFunctions,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { ChangeEvent, ChangeItem, ChangeMeasure, ChangeRules, Snapshot } from './changes';
import {
	boundSnapshot,
	diffSnapshots,
	loadSnapshot,
	saveSnapshot,
	snapshotOf,
	trackedRecords,
	trackingLimits,
} from './changes';
import { exportRecordItems } from './export';
import { formatBytes } from './pages';
import type { PollTurn } from './poll-guard';
import {
	beginPoll,
	DEFAULT_MASS_DROP_PERCENT,
	deadlineError,
	judgeDrop,
	pendingDropIn,
	pendingDropOf,
	pollDeadlineMs,
	pollFailure,
	reportAbandoned,
	supersededError,
} from './poll-guard';
import type { ExportEntity, ExportParameters, ParameterSource } from './query';
import { readExportParameters } from './query';
import type { EvergageContext } from './transport';
import { evergageClient } from './transport';

/**
 * One poll of the trigger: the whole export through the same door, pages and dedupe as the export
 * nodes, compared with the snapshot kept in the node's static data. The snapshot is replaced only
 * after a complete export, by a poll that still holds its turn (poll-guard.ts), and not for a
 * mass drop seen once; a failed poll leaves the baseline as it was.
 */

/** Records "Fetch Test Event" shows: a real sample, nothing compared, nothing saved. */
const SAMPLE_SIZE = 4;
/** Records per request: large pages, few requests; the service may send fewer. */
const PAGE_SIZE = 1000;
const EVENTS: readonly ChangeEvent[] = ['new', 'entered', 'left', 'changed'];
const MEASURES: readonly ChangeMeasure[] = ['engagementScore', 'lastActivity', 'anyField'];

export async function pollChanges(context: IPollFunctions): Promise<INodeExecutionData[][] | null> {
	const entity = readEntity(context);
	const rules = readRules(context);
	const dropPercent = readDropGuard(context);
	const deadlineMs = pollDeadlineMs(context);
	if (context.getMode() === 'manual') {
		const parameters = exportParametersOf(context, SAMPLE_SIZE);
		const signal = AbortSignal.timeout(deadlineMs);
		try {
			const sample = trackedRecords(await exportRecords(context, entity, parameters, signal));
			return [context.helpers.returnJsonArray(sampleEvents(sample, rules) as IDataObject[])];
		} catch (error) {
			throw signal.aborted ? deadlineError(context.getNode(), deadlineMs) : (error as Error);
		}
	}
	const turn = beginPoll(`${context.getWorkflow().id ?? ''}:${context.getNode().id}`, deadlineMs);
	// The poll under way is within its deadline: it reports for both.
	if (turn === undefined) return null;
	try {
		if (turn.abandoned) reportAbandoned(context, turn.abandoned);
		return await pollOnce(context, entity, { rules, dropPercent }, turn);
	} catch (error) {
		throw pollFailure(context.getNode(), turn, error as Error);
	} finally {
		turn.end();
	}
}

async function pollOnce(
	context: IPollFunctions,
	entity: ExportEntity,
	{ rules, dropPercent }: { rules: ChangeRules; dropPercent: number },
	turn: PollTurn,
): Promise<INodeExecutionData[][] | null> {
	const { maxTracked } = trackingLimits;
	const parameters = exportParametersOf(context, maxTracked + 1);
	const exported = await exportRecords(context, entity, parameters, turn.signal);
	// Counted before unnamed records are set aside: an export cut at the cap is not the whole export.
	if (exported.length > maxTracked) {
		throw new NodeOperationError(
			context.getNode(),
			`The export has more than ${maxTracked.toLocaleString('en-US')} ${entity}: too many to follow`,
			{
				description:
					'The trigger remembers every record it follows, up to this number (records without a name count too). Narrow the export with a Segment (or Options > Segment ID / Segmentation ID), or use the export node on a schedule.',
			},
		);
	}
	const records = trackedRecords(exported);
	const scope = scopeOf(context, entity, parameters);
	// With durable poll cursors (n8n 2.36+), n8n hands out this object per poll and stores it with the
	// execution, or on its own after a poll that emits nothing; otherwise it is the workflow's static data.
	const state = context.getWorkflowStaticData('node');
	const previous = loadSnapshot(state, scope);
	// From here on nothing waits: no other poll can take the turn between this check and the commit.
	if (!turn.holdsTurn()) throw supersededError(context.getNode(), turn.deadlineMs);
	if (previous === undefined) {
		keepSnapshot(context, entity, state, snapshotOf(records), scope);
		return null;
	}
	const { items, next, left } = diffSnapshots(previous, records, rules);
	if (judgeDrop(previous.present, left, dropPercent, pendingDropIn(state)) === 'hold') {
		state.pendingDrop = pendingDropOf(previous.present, left) as unknown as IDataObject;
		return null;
	}
	keepSnapshot(context, entity, state, next, scope);
	return items.length === 0 ? null : [context.helpers.returnJsonArray(items as IDataObject[])];
}

/** Replaces the baseline in static data, within the state's bound in bytes, or fails naming the size. */
function keepSnapshot(
	context: IPollFunctions,
	entity: ExportEntity,
	state: IDataObject,
	snapshot: Snapshot,
	scope: string,
): void {
	const bounded = boundSnapshot(snapshot, scope);
	if (!bounded.fits) {
		const { maxStateBytes } = trackingLimits;
		throw new NodeOperationError(
			context.getNode(),
			`The trigger's state for ${snapshot.present.toLocaleString('en-US')} ${entity} would take ${formatBytes(bounded.bytes)}, over its bound of ${formatBytes(maxStateBytes)}`,
			{
				description:
					'The trigger remembers the name of every record it follows, and n8n stores it with every poll that starts the workflow; these names are long. Narrow the export with a Segment (or Options > Segment ID / Segmentation ID), or use the export node on a schedule.',
			},
		);
	}
	delete state.pendingDrop;
	Object.assign(state, saveSnapshot(bounded.snapshot, scope));
}

/** The export's parameters for a trigger: a few are fixed, the rest are the trigger's own fields, read and checked by the export nodes' rules. */
function exportParametersOf(context: IPollFunctions, limit: number): ExportParameters {
	const options = context.getNodeParameter('options', {}) as IDataObject;
	const exportParameters: IDataObject = {
		format: 'json',
		returnAll: false,
		limit,
		pageSize: Math.min(PAGE_SIZE, limit),
		options: { ...options, filter: context.getNodeParameter('filter', '') },
	};
	const source: ParameterSource = {
		getNode: () => context.getNode(),
		getTimezone: () => context.getTimezone(),
		getNodeParameter: (name, _itemIndex, fallback) =>
			name in exportParameters ? exportParameters[name] : context.getNodeParameter(name, fallback),
	};
	return readExportParameters(source, 0);
}

/** Up to the parameters' limit of deduplicated records (named or not), read with the export nodes' machinery, stopped by `signal`. */
async function exportRecords(
	context: IPollFunctions,
	entity: ExportEntity,
	parameters: ExportParameters,
	signal: AbortSignal,
): Promise<IDataObject[]> {
	// A poll context has no cancel signal of its own: the door stops on this one (the poll's deadline).
	// n8n's helper swaps a request's abort signal for its `this`'s cancel signal when it has one: it
	// is called on the poll context itself, so that each request keeps the door's own signal (the
	// deadline and the pager's stop) and an abandoned request is torn down, not left running.
	const { helpers } = context;
	const door = Object.create(context, {
		getExecutionCancelSignal: { value: () => signal },
		helpers: {
			value: {
				...helpers,
				httpRequestWithAuthentication: async (
					type: string,
					options: IHttpRequestOptions,
					credential?: IAdditionalCredentialOptions,
				) => await helpers.httpRequestWithAuthentication.call(context, type, options, credential),
			},
		},
	}) as EvergageContext;
	const client = await evergageClient(door, 0, parameters.request);
	const items = await exportRecordItems({ client, parameters, entity }, 0);
	return items.map((item) => item.json);
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

/** Options > Mass Drop Guard: the share (percent) of the records followed that may leave in one poll before it is held. */
function readDropGuard(context: IPollFunctions): number {
	const options = context.getNodeParameter('options', {}) as IDataObject;
	const percent = options.massDropGuard ?? DEFAULT_MASS_DROP_PERCENT;
	if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
		throw new NodeOperationError(
			context.getNode(),
			`Mass Drop Guard must be a percentage from 0 to 100, not ${String(percent)}`,
			{
				description:
					'Set 0 to report every drop at once, or 50 to hold one in which more than half of the records leave.',
			},
		);
	}
	return percent;
}

/**
 * What decides which records are followed and what they hold: another scope, another baseline.
 * Entity, dataset and segment; then, when set, the user location and the engagement window as
 * written (an expression such as "the last 30 days" is one window, though its dates move).
 */
function scopeOf(
	context: IPollFunctions,
	entity: ExportEntity,
	parameters: ExportParameters,
): string {
	const options = context.getNodeParameter('options', {}) as IDataObject;
	const scope: unknown[] = [
		entity,
		context.getNodeParameter('datasetId', ''),
		context.getNodeParameter('filter', '') || null,
		options.segmentId || null,
		options.segmentationId || null,
	];
	const written = (context.getNode().parameters.options ?? {}) as IDataObject;
	const holds = {
		includeGeo: parameters.filters.includeGeo,
		start: written.start || undefined,
		end: written.end || undefined,
	};
	// Added only when set, so that a baseline saved before these counted stays valid.
	if (Object.values(holds).some((value) => value !== undefined)) scope.push(holds);
	return JSON.stringify(scope);
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
