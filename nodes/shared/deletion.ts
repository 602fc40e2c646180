import { randomBytes } from 'node:crypto';
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { Invalid } from './actions';
import {
	invalidFor,
	pathSegment,
	readAnswerText,
	requiredDatasetId,
	requiredText,
} from './actions';
import { runItemsConcurrently } from './output';
import type { RequestSettings } from './transport';
import { evergageClient } from './transport';

/**
 * Right to be Forgotten: one user deleted per input item, by user ID, anonymous ID or another
 * identity attribute (User Look-Up & Deletion API, `POST /api/dataset/<dataset>/users/delete`, a CSV
 * file in a multipart form: a header row naming the identity, then the identities). The service
 * deletes at once and for good, so nothing here may ever widen a request: every identity is checked
 * before any request, and a value that could add a row or a column to the file is refused.
 */

export type DeleteIdentity = 'userId' | 'anonId' | 'attribute';

export interface PlannedDeletion {
	datasetId: unknown;
	identityType: unknown;
	identityAttribute: unknown;
	identityValue: unknown;
	request: RequestSettings;
}

/** The file's header for each identity (the documented example names user IDs `name`). */
const HEADERS: Record<Exclude<DeleteIdentity, 'attribute'>, string> = {
	userId: 'name',
	anonId: 'anonId',
};

const MAX_ANSWER_BYTES = 1024 * 1024;

/** Characters that would end a CSV cell or row, or quote one; control characters too. */
function unsafeForCsv(text: string): boolean {
	for (const char of text) {
		const code = char.charCodeAt(0);
		if (code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029) return true;
		if (char === ',' || char === '"') return true;
	}
	return false;
}

export interface DeletionFile {
	header: string;
	identity: string;
	identityType: DeleteIdentity;
}

/** The deletion file for one identity, checked; throws before any request when it is unsafe. */
export function deletionFileOf(planned: PlannedDeletion, invalid: Invalid): DeletionFile {
	const identityType = planned.identityType;
	if (identityType !== 'userId' && identityType !== 'anonId' && identityType !== 'attribute') {
		throw invalid(
			'Delete By',
			`must be "userId", "anonId" or "attribute", not ${JSON.stringify(identityType)}`,
			'Pick User ID, Anonymous ID or Identity Attribute.',
		);
	}
	const header =
		identityType === 'attribute'
			? safeCell(
					planned.identityAttribute,
					'Identity Attribute',
					'Enter the name of the identity attribute, e.g. "emailAddress".',
					invalid,
				)
			: HEADERS[identityType];
	const identity = safeCell(
		planned.identityValue,
		'Identity Value',
		'Enter the one identity of the user to delete. An empty value is refused: a deletion never covers more than the user named.',
		invalid,
	);
	if (/^[\s*%?]+$/.test(identity)) {
		throw invalid(
			'Identity Value',
			`cannot be "${identity}"`,
			'Enter one identity: wildcards are refused.',
		);
	}
	return { header, identity, identityType };
}

function safeCell(value: unknown, field: string, fix: string, invalid: Invalid): string {
	const text = requiredText(value, field, fix, invalid);
	if (unsafeForCsv(text)) {
		throw invalid(
			field,
			'contains a line break, a comma, a double quote or another control character',
			'Enter one identity only. Such characters could add users to the deletion request, so they are refused.',
		);
	}
	return text;
}

/** The multipart form `curl --form file=@users.csv` would send. */
export function multipartBody(file: DeletionFile): { body: string; contentType: string } {
	const boundary = `evergage-${randomBytes(12).toString('hex')}`;
	const body =
		`--${boundary}\r\n` +
		'Content-Disposition: form-data; name="file"; filename="users.csv"\r\n' +
		'Content-Type: text/csv\r\n\r\n' +
		`${file.header}\n${file.identity}\n\r\n` +
		`--${boundary}--\r\n`;
	return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** "Deleted 3 users (3 requested)" → counts; other text is kept as it came. */
export function deletionCounts(text: string): { deleted?: number; requested?: number } {
	const match = /Deleted\s+(\d+)\s+users?\s*\((\d+)\s+requested\)/i.exec(text);
	return match ? { deleted: Number(match[1]), requested: Number(match[2]) } : {};
}

export async function deleteUsers(
	context: IExecuteFunctions,
	plan: (itemIndex: number) => PlannedDeletion,
): Promise<INodeExecutionData[][]> {
	const deleteOne = async (itemIndex: number): Promise<INodeExecutionData[]> => {
		const planned = plan(itemIndex);
		const invalid = invalidFor(context.getNode(), itemIndex);
		const datasetId = requiredDatasetId(planned.datasetId, invalid);
		const file = deletionFileOf(planned, invalid);
		const client = await evergageClient(context, itemIndex, planned.request);
		const text = await client.request({
			method: 'POST',
			pathAndQuery: `/api/dataset/${pathSegment(datasetId)}/users/delete`,
			...multipartBody(file),
			writes: 'the deletion request',
			what: `the deletion of "${file.identity}"`,
			maxBodyBytes: MAX_ANSWER_BYTES,
			notFoundMessage: `Dataset "${datasetId}" was not found (404) when deleting a user`,
			read: async (body) => await readAnswerText(body, MAX_ANSWER_BYTES, 'the deletion'),
		});
		const json: IDataObject = {
			datasetId,
			deleteBy: file.identityType,
			identityField: file.header,
			identity: file.identity,
			...deletionCounts(text),
			response: client.redactor.serviceText(text, 1000),
		};
		return [{ json, pairedItem: { item: itemIndex } }];
	};
	// One deletion at a time: each answer tells what it removed before the next is asked.
	return await runItemsConcurrently(context, 1, deleteOne, (succeeded) =>
		succeeded === 0
			? ''
			: `${succeeded} deletion request(s) of this run were processed before it stopped.`,
	);
}
