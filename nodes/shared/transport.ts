/** The one door to Evergage: origin from the credential, Basic auth, timeout, retries, errors. */

import type {
	ICredentialDataDecryptedObject,
	IHttpRequestOptions,
	INode,
	JsonObject,
} from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import type { BodyChunks } from './body';
import { guardedBody, readErrorText, ServiceDataError, StoppedError, untilAborted } from './body';
import { RequestClock, requestDeadlineMs } from './clock';
import { evergageOrigin } from './origin';
import type { NetworkProblem } from './problems';
import { errorText, networkProblem, statusMessage } from './problems';
import { backoffMs, isRetryableStatus, retryAfterMs, retryTiming } from './retry';
import type { Redactor } from './secrets';
import { redactorFor } from './secrets';
import { anySignal, sleepUnlessAborted } from './wait';

export type { BodyChunks } from './body';
export { IncompleteBodyError, ServiceDataError, StoppedError, guardedBody } from './body';
export { requestClock, requestDeadlineMs } from './clock';
export { evergageOrigin } from './origin';
export { backoffMs, retryAfterMs, retryTiming } from './retry';
export { sleepUnlessAborted } from './wait';

const CREDENTIAL_TYPE = 'evergageApi';

/** What the door needs of n8n: satisfied by IExecuteFunctions and IPollFunctions alike. */
export interface EvergageContext {
	getCredentials<T extends object = ICredentialDataDecryptedObject>(
		type: string,
		itemIndex?: number,
	): Promise<T>;
	getNode(): INode;
	helpers: {
		httpRequestWithAuthentication(
			credentialsType: string,
			requestOptions: IHttpRequestOptions,
		): Promise<unknown>;
	};
	getExecutionCancelSignal?(): AbortSignal | undefined;
}

export interface RequestSettings {
	/**
	 * Milliseconds of silence after which a request is abandoned (and retried); also the window
	 * of its minimum rate and the base of its deadline (clock.ts).
	 */
	timeoutMs: number;
	/** Retries after the first attempt, for 429, 5xx, resets, timeouts and unreadable bodies. */
	maxRetries: number;
}

export interface EvergageResponse {
	statusCode: number;
	headers: Record<string, string | string[] | undefined>;
	body: unknown;
}

export interface EvergageRequest<T> {
	/** Path and query, already encoded: `/api/dataset/x/accounts.json?page=0`. */
	pathAndQuery: string;
	/** What a 404 means for this request, in words a user can act on. */
	notFoundMessage: string;
	/** What the request asks for, as a failure names it: "page 3 of the accounts export". */
	what: string;
	/** The most its body may hold: with Timeout, it sets the request's deadline (clock.ts). */
	maxBodyBytes: number;
	/**
	 * Consumes a 2xx body. Throw `IncompleteBodyError` to have the request tried again, or
	 * `ServiceDataError` for a body that no retry can mend.
	 */
	read: (body: BodyChunks, headers: EvergageResponse['headers']) => Promise<T>;
	/** Aborts the request (and stops its retries) once its result is no longer wanted. */
	signal?: AbortSignal;
	/** Shared by the requests of one export: their slots on the wire and the wait after a 429. */
	pace?: RequestPace;
	/** GET unless told; a POST carries `body` as `contentType`. */
	method?: 'GET' | 'POST';
	body?: string;
	contentType?: string;
	/**
	 * What the request writes ("the event"). A write is not idempotent: it is tried again only when
	 * the service surely did not process it (a 429, a 503 with Retry-After, a refused connection);
	 * any other failure once it went out fails at once, saying it may or may not have been processed.
	 */
	writes?: string;
	/** This request's own words for a refusal, before the door's (a 403 of the Event API). */
	describeStatus?: (status: number) => [string, string] | undefined;
}

/** What the door asks of an export's pace (pace.ts): a slot per attempt, and word of refusals. */
export interface RequestPace {
	/** Resolves with the attempt's epoch once it may go, or undefined if `signal` aborted first. */
	acquire(signal?: AbortSignal): Promise<number | undefined>;
	release(): void;
	/** A 429 (with the wait it asks of the whole export) or a 5xx, for an attempt of `epoch`. */
	refused(epoch: number, waitMs?: number): void;
}

class EvergageFailure {
	constructor(readonly nodeError: NodeApiError) {}
}

export interface EvergageClient {
	get<T>(request: EvergageRequest<T>): Promise<T>;
	/** The same door for a request of any method (`get` is it, for a GET). */
	request<T>(request: EvergageRequest<T>): Promise<T>;
	/** Redaction of every form of this credential's key pair. */
	redactor: Redactor;
	/** An error for this item whose message and description are redacted. */
	failure(message: string, description: string): NodeApiError;
}

/** What every request of one client shares: where it goes, how it is authenticated and redacted. */
interface Door {
	context: EvergageContext;
	node: INode;
	origin: string;
	redactor: Redactor;
	cancelSignal?: AbortSignal;
	settings: RequestSettings;
	itemIndex: number;
}

/** One attempt that did not give a result but may be tried again: why, and how long to wait first. */
interface Setback {
	problem: string;
	detail: string;
	waitMs?: number;
}

export async function evergageClient(
	context: EvergageContext,
	itemIndex: number,
	settings: RequestSettings,
): Promise<EvergageClient> {
	const credentials = await context.getCredentials(CREDENTIAL_TYPE, itemIndex);
	const node = context.getNode();
	const door: Door = {
		context,
		node,
		origin: evergageOrigin(credentials, node),
		redactor: redactorFor(credentials),
		cancelSignal: context.getExecutionCancelSignal?.(),
		settings,
		itemIndex,
	};
	return {
		get: async (request) => await getWithRetries(door, request),
		request: async (request) => await getWithRetries(door, request),
		redactor: door.redactor,
		failure: (message, description) => doorFailure(door, message, description),
	};
}

/** An error for this item, redacted before anything else is done with its text. */
function doorFailure(
	door: Door,
	message: string,
	description: string,
	httpCode?: number,
): NodeApiError {
	const { redactor, node, itemIndex } = door;
	const safe = { message: redactor.redact(message), description: redactor.redact(description) };
	return new NodeApiError(node, { ...safe, ...(httpCode ? { httpCode } : {}) } as JsonObject, {
		...safe,
		httpCode: httpCode ? String(httpCode) : undefined,
		itemIndex,
	});
}

/** The request, tried again on a setback until it succeeds, fails for good, or attempts run out. */
async function getWithRetries<T>(door: Door, request: EvergageRequest<T>): Promise<T> {
	const signal = anySignal([door.cancelSignal, request.signal]);
	const attempts = door.settings.maxRetries + 1;
	let last: Setback = { problem: '', detail: '' };
	for (let attempt = 1; attempt <= attempts; attempt++) {
		const outcome = await attemptOnce(door, request, signal, attempt);
		if (!('setback' in outcome)) return outcome.value;
		last = outcome.setback;
		if (attempt < attempts)
			await pause(last.waitMs ?? backoffMs(attempt), door.cancelSignal, request.signal, door.node);
	}
	throw doorFailure(
		door,
		`Evergage still ${last.problem} after ${attempts} attempts at ${request.what}`,
		`${last.detail}The service is busy or unreachable. Nothing was output for this item; run the workflow again later, or raise Options > Retries.`,
	);
}

function requestOptions(
	door: Door,
	request: EvergageRequest<unknown>,
	signal: AbortSignal,
): IHttpRequestOptions {
	return {
		method: request.method ?? 'GET',
		url: door.origin + request.pathAndQuery,
		...(request.body === undefined
			? {}
			: { body: request.body, headers: { 'Content-Type': request.contentType ?? 'text/plain' } }),
		timeout: door.settings.timeoutMs,
		returnFullResponse: true,
		ignoreHttpStatusErrors: true,
		// Always a stream: the door bounds, watches and can abort every body it reads.
		encoding: 'stream',
		json: false,
		// A redirect must not carry the key pair to another host.
		disableFollowRedirect: true,
		// n8n 1.x and 2.x hand it to axios, which tears the request (and a body being read) down.
		abortSignal: signal,
	};
}

/** One attempt, in its slot of the export's pace: the result, or a setback worth another try. */
async function attemptOnce<T>(
	door: Door,
	request: EvergageRequest<T>,
	signal: AbortSignal,
	attempt: number,
): Promise<{ value: T } | { setback: Setback }> {
	throwIfStopped(door.cancelSignal, request.signal, door.node);
	const epoch = await request.pace?.acquire(signal);
	throwIfStopped(door.cancelSignal, request.signal, door.node);
	const { timeoutMs } = door.settings;
	const clock = new RequestClock(
		timeoutMs,
		requestDeadlineMs(timeoutMs, request.maxBodyBytes),
		signal,
	);
	try {
		const response = await untilAborted(
			door.context.helpers.httpRequestWithAuthentication.call(
				door.context,
				CREDENTIAL_TYPE,
				requestOptions(door, request, clock.signal),
			) as Promise<EvergageResponse>,
			clock.signal,
		);
		clock.data(0);
		const body = guardedBody(response.body, clock);
		if (response.statusCode >= 200 && response.statusCode < 300) {
			return { value: await request.read(body, response.headers) };
		}
		return { setback: await refusal(door, request, response, body, epoch, attempt) };
	} catch (error) {
		if (error instanceof EvergageFailure) throw error.nodeError;
		throwIfStopped(door.cancelSignal, request.signal, door.node);
		if (clock.verdict && request.writes !== undefined) {
			throw doorFailure(door, ...unsureOutcome(request.writes, clock.verdict.message));
		}
		if (clock.verdict) return { setback: { problem: clock.verdict.message, detail: '' } };
		return { setback: failedAttempt(door, request, error) };
	} finally {
		clock.stop();
		if (epoch !== undefined) request.pace?.release();
	}
}

/**
 * A non-2xx answer: a setback when worth another try (429, most 5xx), an EvergageFailure thrown
 * otherwise (thrown as that, so the attempt can tell it from errors of n8n's helper).
 */
async function refusal(
	door: Door,
	request: EvergageRequest<unknown>,
	response: EvergageResponse,
	body: BodyChunks,
	epoch: number | undefined,
	attempt: number,
): Promise<Setback> {
	const status = response.statusCode;
	const bodyText = await readErrorText(body);
	const fail = (message: string, description: string) =>
		new EvergageFailure(doorFailure(door, message, description, status));
	if (!isRetryableStatus(status)) {
		throw fail(
			...(request.describeStatus?.(status) ??
				statusMessage(status, response.headers, bodyText, request.notFoundMessage, door.redactor)),
		);
	}
	const waitMs = retryAfterMs(response.headers['retry-after']);
	if (request.writes !== undefined && !surelyNotProcessed(status, waitMs)) {
		throw fail(...unsureOutcome(request.writes, `Evergage answered ${status}`));
	}
	// Refused before the pace hears of it: an ask this attempt will not honour holds no other one.
	if (waitMs !== undefined && waitMs > retryTiming.maxRetryAfterMs) {
		throw fail(
			`Evergage asks to wait ${Math.ceil(waitMs / 1000)} s before the next request (${request.what})`,
			'The API is rate limiting this token. Run the workflow again later, or export less often.',
		);
	}
	// A 429 holds the whole export: for its Retry-After, or for this attempt's backoff.
	if (epoch !== undefined)
		request.pace?.refused(epoch, status === 429 ? (waitMs ?? backoffMs(attempt)) : undefined);
	const problem = status === 429 ? 'rate limited the export (429)' : `answered ${status}`;
	return { problem, detail: '', waitMs };
}

/** An attempt that threw: a setback when the network may mend it, a NodeApiError otherwise. */
function failedAttempt(door: Door, request: EvergageRequest<unknown>, error: unknown): Setback {
	if (error instanceof ServiceDataError) {
		throw doorFailure(door, error.message, error.description);
	}
	const { origin, redactor, settings } = door;
	const problem: NetworkProblem | undefined = networkProblem(error, {
		origin,
		redactor,
		timeoutMs: settings.timeoutMs,
	});
	if (problem === undefined) {
		throw doorFailure(
			door,
			`Request to Evergage failed: ${redactor.serviceText(errorText(error), 300)}`,
			`While requesting ${request.pathAndQuery.split('?')[0]} from ${origin}.`,
		);
	}
	if (problem.permanent) throw doorFailure(door, problem.message, problem.description);
	// Refused: the request never left. Any other failure may have reached the service.
	if (request.writes !== undefined && !problem.refused) {
		const [message, description] = unsureOutcome(request.writes, problem.unsure);
		throw doorFailure(door, message, problem.description + description);
	}
	return { problem: problem.message, detail: problem.description };
}

/** A 429, or a 503 that says when to come back: the service did not take the request in. */
function surelyNotProcessed(status: number, retryAfterMs: number | undefined): boolean {
	return status === 429 || (status === 503 && retryAfterMs !== undefined);
}

/** A write whose outcome the node cannot know: it fails, and is never sent twice. */
function unsureOutcome(what: string, why: string): [string, string] {
	return [
		`Evergage may or may not have processed ${what}: ${why}`,
		'The request went out, so the service may have recorded it. The node does not send it again, since that could record it twice. Check in Personalization whether it arrived before running this item again.',
	];
}

function throwIfStopped(
	cancelSignal: AbortSignal | undefined,
	stopSignal: AbortSignal | undefined,
	node: INode,
): void {
	if (cancelSignal?.aborted) throw new NodeOperationError(node, 'The execution was cancelled');
	if (stopSignal?.aborted) throw new StoppedError();
}

async function pause(
	ms: number,
	cancelSignal: AbortSignal | undefined,
	stopSignal: AbortSignal | undefined,
	node: INode,
): Promise<void> {
	await sleepUnlessAborted(ms, anySignal([cancelSignal, stopSignal]));
	throwIfStopped(cancelSignal, stopSignal, node);
}
