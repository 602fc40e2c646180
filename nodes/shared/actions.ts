import type { IDataObject, INode } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { describeType, MAX_CONCURRENCY } from './query';
import type { BodyChunks, RequestSettings } from './transport';
import { IncompleteBodyError, ServiceDataError } from './transport';

/**
 * What the action node's operations share: their settings (timeout, retries, parallel requests),
 * required text fields, and the reading of the small answers the service gives them.
 */

export interface ActionSettings {
	request: RequestSettings;
	/** Requests on the wire at once, at most. */
	concurrency: number;
}

export type Invalid = (field: string, problem: string, fix: string) => NodeOperationError;

export function invalidFor(node: INode, itemIndex: number): Invalid {
	return (field, problem, fix) =>
		new NodeOperationError(node, `${field} ${problem}`, { itemIndex, description: fix });
}

/** Timeout, Retries and Max Parallel Requests from Options, validated. */
export function readActionSettings(
	options: IDataObject,
	invalid: Invalid,
	defaultConcurrency: number,
): ActionSettings {
	return {
		request: {
			timeoutMs: wholeNumber(options.timeout ?? 30_000, 'Timeout', 1, 3_600_000, invalid),
			maxRetries: wholeNumber(options.retries ?? 4, 'Retries', 0, 10, invalid),
		},
		concurrency: wholeNumber(
			options.concurrency ?? defaultConcurrency,
			'Max Parallel Requests',
			1,
			MAX_CONCURRENCY,
			invalid,
		),
	};
}

export function wholeNumber(
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

/**
 * Text a request cannot do without: a string or a finite number, not empty, not only spaces, and
 * sendable (no half of a surrogate pair). Sent as given, untrimmed: an ID is what it is.
 */
export function requiredText(value: unknown, field: string, fix: string, invalid: Invalid): string {
	const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
	if (typeof text !== 'string') {
		throw invalid(field, `must be text, not ${describeType(value)}`, fix);
	}
	if (text.trim() === '') throw invalid(field, text === '' ? 'is empty' : 'is only spaces', fix);
	if (!sendable(text)) {
		throw invalid(
			field,
			'contains a character that cannot be sent (half of a surrogate pair)',
			'Retype the value, or check the expression that builds it: a text was cut inside an emoji.',
		);
	}
	return text;
}

/** The dataset an action writes to or reads from, as every operation requires it. */
export function requiredDatasetId(value: unknown, invalid: Invalid): string {
	return requiredText(
		value,
		'Dataset ID',
		'Enter the name or identifier of the dataset, e.g. "engage".',
		invalid,
	);
}

function sendable(text: string): boolean {
	try {
		encodeURIComponent(text);
		return true;
	} catch {
		return false;
	}
}

/** A path segment: the dataset or a user ID, encoded so that it can never leave its segment. */
export function pathSegment(text: string): string {
	return encodeURIComponent(text).replace(/\./g, '%2E');
}

/** A small answer (an event's result, a profile, a deletion report), whole, refused past `maxBytes`. */
export async function readAnswerText(
	body: BodyChunks,
	maxBytes: number,
	what: string,
): Promise<string> {
	const decoder = new TextDecoder('utf-8');
	let text = '';
	let size = 0;
	for await (const chunk of body) {
		size += chunk.length;
		if (size > maxBytes) {
			throw new ServiceDataError(
				`Evergage sent more than ${Math.round(maxBytes / 1024 / 1024)} MiB for ${what}, the node's bound`,
				'Nothing was output for this item. If this persists, contact Salesforce support.',
			);
		}
		text += decoder.decode(chunk, { stream: true });
	}
	return text + decoder.decode();
}

const unparsable = Symbol('unparsable');

/**
 * A JSON object answer. Text that does not parse may be cut off (worth another try for a read; for a
 * write the door says it may or may not have been processed); JSON of another shape is the service's.
 */
export function parseAnswerObject(text: string, what: string): IDataObject {
	let parsed: unknown = unparsable;
	try {
		parsed = JSON.parse(text);
	} catch {
		// Judged below, outside the catch.
	}
	if (parsed === unparsable) {
		throw new IncompleteBodyError(`${text.length} bytes for ${what} that are not complete JSON`);
	}
	if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
		throw new ServiceDataError(
			`Evergage answered ${what} with ${describeType(parsed)} instead of an object`,
			'Nothing was output for this item. If this persists, contact Salesforce support.',
		);
	}
	return parsed as IDataObject;
}
