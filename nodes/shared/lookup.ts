import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import {
	invalidFor,
	parseAnswerObject,
	pathSegment,
	readAnswerText,
	requiredDatasetId,
	requiredText,
} from './actions';
import { runItemsConcurrently } from './output';
import { ExportPace } from './pace';
import type { RequestSettings } from './transport';
import { evergageClient } from './transport';

/**
 * A user's profile, by user ID or anonymous ID (User Look-Up & Deletion API,
 * `GET /api/dataset/<dataset>/user/<id>`): one item per input item.
 */

/** A profile holds visit and order history: generous, but bounded. */
const MAX_PROFILE_BYTES = 64 * 1024 * 1024;

export interface PlannedLookup {
	datasetId: unknown;
	userId: unknown;
	/** Not found: an empty item instead of an error. */
	emptyIfNotFound: boolean;
	request: RequestSettings;
}

function notFound(datasetId: string, userId: string): [string, string] {
	return [
		`No user "${userId}" in dataset "${datasetId}" (404)`,
		"Check the User ID (a user's ID or anonymous ID) and the Dataset ID: an unknown dataset answers 404 too. For lookups in bulk, turn on Options > Output Empty Item If Not Found.",
	];
}

export async function lookUpUsers(
	context: IExecuteFunctions,
	concurrency: number,
	plan: (itemIndex: number) => PlannedLookup,
): Promise<INodeExecutionData[][]> {
	const pace = new ExportPace(concurrency);
	const lookUpOne = async (itemIndex: number): Promise<INodeExecutionData[]> => {
		const planned = plan(itemIndex);
		const invalid = invalidFor(context.getNode(), itemIndex);
		const datasetId = requiredDatasetId(planned.datasetId, invalid);
		const userId = requiredText(
			planned.userId,
			'User ID',
			"Enter the user's ID or anonymous ID.",
			invalid,
		);
		const client = await evergageClient(context, itemIndex, planned.request);
		const profile = await client
			.request({
				pathAndQuery: `/api/dataset/${pathSegment(datasetId)}/user/${pathSegment(userId)}`,
				notFoundMessage: `No user "${userId}" in dataset "${datasetId}" (404)`,
				what: `the profile of "${userId}"`,
				maxBodyBytes: MAX_PROFILE_BYTES,
				describeStatus: (status) => (status === 404 ? notFound(datasetId, userId) : undefined),
				pace,
				read: async (body) =>
					parseAnswerObject(
						await readAnswerText(body, MAX_PROFILE_BYTES, 'the profile'),
						'the profile',
					),
			})
			.catch((error: unknown) => {
				// Bulk lookups: an unknown user is an empty item, any other failure stays one.
				if (planned.emptyIfNotFound && error instanceof NodeApiError && error.httpCode === '404') {
					return undefined;
				}
				return Promise.reject(error);
			});
		if (profile === undefined) return [{ json: {}, pairedItem: { item: itemIndex } }];
		pace.pageDone();
		return [{ json: profile, pairedItem: { item: itemIndex } }];
	};
	return await runItemsConcurrently(context, concurrency, lookUpOne, () => '');
}
