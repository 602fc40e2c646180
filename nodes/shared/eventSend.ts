import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import {
	invalidFor,
	parseAnswerObject,
	pathSegment,
	readAnswerText,
	requiredDatasetId,
} from './actions';
import { eventAnswerError } from './event';
import { runItemsConcurrently } from './output';
import { ExportPace } from './pace';
import type { RequestSettings } from './transport';
import { evergageClient } from './transport';

/**
 * Events out: one request per input item to the authenticated Event API, many on the wire at once
 * on one pace, their answers output in input order. An event is not idempotent: the door tries one
 * again only when the service surely did not process it (see transport.ts, `writes`).
 */

/** An answer (campaigns and their templates) is read this far; past it, the service misbehaves. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export interface PlannedEvent {
	datasetId: unknown;
	event: IDataObject;
	request: RequestSettings;
}

export async function sendEvents(
	context: IExecuteFunctions,
	concurrency: number,
	plan: (itemIndex: number) => PlannedEvent,
): Promise<INodeExecutionData[][]> {
	const pace = new ExportPace(concurrency);
	const sendOne = async (itemIndex: number): Promise<INodeExecutionData[]> => {
		const { datasetId: rawDataset, event, request } = plan(itemIndex);
		const datasetId = requiredDatasetId(rawDataset, invalidFor(context.getNode(), itemIndex));
		const client = await evergageClient(context, itemIndex, request);
		const answer = await client.request({
			method: 'POST',
			pathAndQuery: `/api2/authevent/${pathSegment(datasetId)}`,
			body: JSON.stringify(event),
			contentType: 'application/json',
			writes: 'the event',
			what: `the event of item ${itemIndex}`,
			maxBodyBytes: MAX_ANSWER_BYTES,
			notFoundMessage: `Dataset "${datasetId}" was not found (404) when sending an event`,
			describeStatus: (status) => (status === 403 ? FORBIDDEN : undefined),
			pace,
			read: async (body) =>
				parseAnswerObject(await readAnswerText(body, MAX_ANSWER_BYTES, 'the event'), 'the event'),
		});
		// A whole answer: the pace may let more events on the wire while that pays.
		pace.pageDone();
		const reported = eventAnswerError(answer);
		if (reported !== undefined) throw client.failure(...reported);
		return [{ json: answer, pairedItem: { item: itemIndex } }];
	};
	return await runItemsConcurrently(context, concurrency, sendOne, (succeeded) =>
		succeeded === 0
			? 'No event of this run was recorded before it stopped.'
			: `${succeeded} event(s) of this run were sent and recorded before it stopped; running the workflow again sends them again (use Continue On Fail, or send only the failed items).`,
	);
}

const FORBIDDEN: [string, string] = [
	'The API token may not send events (403)',
	'An admin must turn on "Can send events" for the token in Security > API Tokens (and allow this dataset and this IP, if the token is limited to some).',
];
