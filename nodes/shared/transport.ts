import type {
	ICredentialDataDecryptedObject,
	IHttpRequestOptions,
	INode,
	JsonObject,
} from 'n8n-workflow';
import { NodeApiError, NodeOperationError, sleep } from 'n8n-workflow';

import { evergageOrigin } from './origin';
import type { Redactor } from './secrets';
import { redactorFor } from './secrets';

export { evergageOrigin } from './origin';

/** The one door to Evergage: origin from the credential, Basic auth, timeout, retries, errors. */

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

/** Delays of the retry loop. Tests shorten them; a node never changes them. */
export const retryTiming = {
	baseDelayMs: 500,
	maxDelayMs: 8_000,
	/** A Retry-After above this fails at once: waiting that long inside a run helps nobody. */
	maxRetryAfterMs: 60_000,
};

export interface RequestSettings {
	/** Milliseconds of silence after which a request is abandoned (and retried). */
	timeoutMs: number;
	/** Retries after the first attempt, for 429, 5xx, resets, timeouts and unreadable bodies. */
	maxRetries: number;
}

export interface EvergageResponse {
	statusCode: number;
	headers: Record<string, string | string[] | undefined>;
	body: unknown;
}

/** A response body as it arrives: chunks, decompressed, watched for silence and for the stop signal. */
export type BodyChunks = AsyncIterable<Buffer>;

export interface EvergageRequest<T> {
	/** Path and query, already encoded: `/api/dataset/x/accounts.json?page=0`. */
	pathAndQuery: string;
	/** What a 404 means for this request, in words a user can act on. */
	notFoundMessage: string;
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
	 * What the request writes ("the event"): it is not idempotent, so it is tried again only when the
	 * service surely did not process it (a 429, a 503 with Retry-After, a refused connection); any
	 * other failure after it went out fails at once, saying it may or may not have been processed.
	 */
	writes?: string;
	/** This request's own words for a status, before the door's (a 403 of the Event API). */
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

/** A 2xx body that ended early or does not parse: the request is worth another try. */
export class IncompleteBodyError extends Error {}

/** A 2xx body that is complete but unusable (too large, wrong shape): trying again will not help. */
export class ServiceDataError extends Error {
	constructor(
		message: string,
		readonly description: string,
	) {
		super(message);
	}
}

class EvergageFailure {
	constructor(readonly nodeError: NodeApiError) {}
}

/** Thrown into requests whose result is no longer wanted; never reaches a user. */
export class StoppedError extends Error {}

export interface EvergageClient {
	get<T>(request: EvergageRequest<T>): Promise<T>;
	/** The same door, for any method: `get` is this request with its GET. */
	request<T>(request: EvergageRequest<T>): Promise<T>;
	/** Redaction of every form of this credential's key pair. */
	redactor: Redactor;
	/** An error for this item whose message and description are redacted. */
	failure(message: string, description: string): NodeApiError;
}

/** Error bodies are read this far for a message; the rest is not downloaded. */
const ERROR_BODY_BYTES = 8_192;

export async function evergageClient(
	context: EvergageContext,
	itemIndex: number,
	settings: RequestSettings,
): Promise<EvergageClient> {
	const credentials = await context.getCredentials(CREDENTIAL_TYPE, itemIndex);
	const node = context.getNode();
	const origin = evergageOrigin(credentials, node);
	const redactor = redactorFor(credentials);
	const cancelSignal = context.getExecutionCancelSignal?.();

	const failure = (message: string, description: string, httpCode?: number): NodeApiError => {
		const safe = { message: redactor.redact(message), description: redactor.redact(description) };
		return new NodeApiError(node, { ...safe, ...(httpCode ? { httpCode } : {}) } as JsonObject, {
			...safe,
			httpCode: httpCode ? String(httpCode) : undefined,
			itemIndex,
		});
	};
	// Wrapped so that the retry loop can tell its own verdicts from errors thrown by n8n's helper,
	// which wraps every failure in a NodeApiError too (one that still holds the request and its headers).
	const fail = (message: string, description: string, httpCode?: number) =>
		new EvergageFailure(failure(message, description, httpCode));

	async function get<T>(request: EvergageRequest<T>): Promise<T> {
		const signals = [cancelSignal, request.signal].filter((s): s is AbortSignal => s !== undefined);
		const signal = signals.length === 0 ? new AbortController().signal : AbortSignal.any(signals);
		const options: IHttpRequestOptions = {
			method: request.method ?? 'GET',
			url: origin + request.pathAndQuery,
			...(request.body === undefined
				? {}
				: { body: request.body, headers: { 'Content-Type': request.contentType ?? 'text/plain' } }),
			timeout: settings.timeoutMs,
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
		const attempts = settings.maxRetries + 1;
		// What went wrong last, in words (n8n rewrites messages that hold an error code) and in detail.
		let lastProblem = '';
		let lastDetail = '';
		for (let attempt = 1; attempt <= attempts; attempt++) {
			throwIfStopped(cancelSignal, request.signal, node);
			const epoch = await request.pace?.acquire(signal);
			throwIfStopped(cancelSignal, request.signal, node);
			let waitMs: number | undefined;
			try {
				const response = await untilAborted(
					context.helpers.httpRequestWithAuthentication.call(context, CREDENTIAL_TYPE, {
						...options,
					}) as Promise<EvergageResponse>,
					signal,
				);
				const status = response.statusCode;
				const body = guardedBody(response.body, settings.timeoutMs, signal);
				if (status >= 200 && status < 300) return await request.read(body, response.headers);
				const bodyText = await readErrorText(body);
				if (status !== 429 && (status < 500 || status === 501 || status === 505)) {
					throw fail(
						...(request.describeStatus?.(status) ??
							statusMessage(status, response.headers, bodyText, request.notFoundMessage, redactor)),
						status,
					);
				}
				const retryAfter = response.headers['retry-after'];
				if (
					request.writes !== undefined &&
					status !== 429 &&
					!(status === 503 && retryAfter !== undefined)
				) {
					throw fail(...unsure(request.writes, `Evergage answered ${status}`), status);
				}
				lastProblem = status === 429 ? 'rate limited the export (429)' : `answered ${status}`;
				lastDetail = '';
				waitMs = retryAfterMs(response.headers['retry-after']);
				// A 429 holds the whole export: for its Retry-After, or for this attempt's backoff.
				if (epoch !== undefined)
					request.pace?.refused(epoch, status === 429 ? (waitMs ?? backoffMs(attempt)) : undefined);
				if (waitMs !== undefined && waitMs > retryTiming.maxRetryAfterMs) {
					throw fail(
						`Evergage asks to wait ${Math.ceil(waitMs / 1000)} s before the next request`,
						'The API is rate limiting this token. Run the workflow again later, or export less often.',
						status,
					);
				}
			} catch (error) {
				if (error instanceof EvergageFailure) throw error.nodeError;
				throwIfStopped(cancelSignal, request.signal, node);
				if (error instanceof ServiceDataError) throw failure(error.message, error.description);
				const problem = networkProblem(error);
				if (problem === undefined) {
					throw failure(
						`Request to Evergage failed: ${redactor.serviceText(errorText(error), 300)}`,
						`While requesting ${request.pathAndQuery.split('?')[0]} from ${origin}.`,
					);
				}
				if (problem.permanent) throw failure(problem.message, problem.description);
				// Refused: the request never left. Anything else may have reached the service.
				if (request.writes !== undefined && problem.code !== 'ECONNREFUSED') {
					const [message, description] = unsure(request.writes, problem.unsure ?? problem.message);
					// The code goes in the description: n8n rewrites a message that holds one.
					throw failure(message, `${problem.description}${description}`);
				}
				lastProblem = problem.message;
				lastDetail = problem.description;
			} finally {
				if (epoch !== undefined) request.pace?.release();
			}
			if (attempt < attempts)
				await pause(waitMs ?? backoffMs(attempt), cancelSignal, request.signal, node);
		}
		throw failure(
			`Evergage still ${lastProblem} after ${attempts} attempts`,
			`${lastDetail}The service is busy or unreachable. Nothing was output for this item; run the workflow again later, or raise Options > Retries.`,
		);
	}

	function networkProblem(
		error: unknown,
	):
		| { message: string; description: string; permanent: boolean; code?: string; unsure?: string }
		| undefined {
		if (error instanceof IncompleteBodyError) {
			return {
				message: 'sent an incomplete or unreadable response',
				description: `Last response: ${redactor.serviceText(error.message, 200)}. `,
				permanent: false,
				unsure: 'its answer was cut off',
			};
		}
		const cause = findCause(error);
		const code = cause.code ?? '';
		const host = origin.replace(/^https?:\/\//, '');
		if (code === 'ENOTFOUND' || code === 'EAI_NONAME') {
			return {
				message: `Cannot find the host ${host}`,
				description:
					'Check the Account Name and Instance in the credential (from the Gears URL, e.g. https://demo.us-1.evergage.com/), or its Base URL.',
				permanent: true,
			};
		}
		if (code === 'CERT_HAS_EXPIRED' || code.startsWith('ERR_TLS') || code.includes('CERT')) {
			return {
				message: `The TLS certificate of ${host} was refused`,
				description: `${code}: check the credential's Base URL, or the proxy between n8n and Evergage.`,
				permanent: true,
			};
		}
		const transient = [
			'ECONNRESET',
			'ECONNREFUSED',
			'ECONNABORTED',
			'ETIMEDOUT',
			'ESOCKETTIMEDOUT',
			'EPIPE',
			'EAI_AGAIN',
			'ERR_BAD_RESPONSE',
			'ERR_STREAM_PREMATURE_CLOSE',
			'UND_ERR_SOCKET',
			'Z_DATA_ERROR',
			'Z_BUF_ERROR',
		];
		const text = String(cause.message ?? '');
		if (transient.includes(code) || /socket hang up|aborted|timeout|premature/i.test(text)) {
			const timedOut = code === 'ETIMEDOUT' || /timeout|timed out/i.test(`${code} ${text}`);
			const refused = code === 'ECONNREFUSED';
			return {
				message: timedOut
					? `did not answer within ${settings.timeoutMs} ms`
					: refused
						? 'refused the connection'
						: 'dropped the connection',
				description: `Last error: ${redactor.serviceText(code || text, 100)}. ${refused ? 'Nothing was sent. ' : ''}`,
				permanent: false,
				code,
				unsure: timedOut
					? `no answer came within ${settings.timeoutMs} ms`
					: 'the connection dropped',
			};
		}
		return undefined;
	}

	return { get, request: get, redactor, failure };
}

/** A write whose outcome the node cannot know: fail it, never send it twice. */
function unsure(what: string, why: string): [string, string] {
	return [
		`Evergage may or may not have processed ${what}: ${why}`,
		'The request went out, so the service may have recorded it. The node does not send it again, since that could record it twice. Check in Personalization whether it arrived before running this item again.',
	];
}

function errorText(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

function findCause(error: unknown): { code?: string; message?: string } {
	let current = error as { code?: string; message?: string; cause?: unknown } | undefined;
	for (let depth = 0; current && depth < 5; depth++) {
		if (typeof current.code === 'string' && current.code !== '') return current;
		current = current.cause as typeof current;
	}
	return (error as { message?: string }) ?? {};
}

function statusMessage(
	status: number,
	headers: EvergageResponse['headers'],
	bodyText: string,
	notFound: string,
	redactor: Redactor,
): [string, string] {
	if (status >= 300 && status < 400) {
		const location = Array.isArray(headers.location) ? headers.location[0] : headers.location;
		const target = location ? redactor.serviceText(String(location), 200) : 'nowhere';
		return [
			`Evergage answered with a redirect (${status}), which is not followed`,
			`It points to ${target}; the key pair is only sent to the host of the credential. Check its Account Name, Instance and Base URL.`,
		];
	}
	switch (status) {
		case 401:
			return [
				'Evergage refused the API key pair (401)',
				'Check the API Key ID and API Secret Key in the credential: they must be the pair of one API token.',
			];
		case 403:
			return [
				'The API token may not read this data (403)',
				'The token lacks "Can access API", may not read this dataset, or this IP is not on its accept list. An admin can change it in Security > API Tokens.',
			];
		case 404:
			return [
				notFound,
				'Check the Dataset ID: the name or identifier of the dataset in Personalization.',
			];
		default: {
			const said = redactor.serviceText(bodyText, 300);
			return [
				`Evergage rejected the request (${status})`,
				said === '' ? "Check the node's fields." : `It said: ${said}`,
			];
		}
	}
}

/** The start of an error body, as text; the rest is not downloaded. */
async function readErrorText(body: BodyChunks): Promise<string> {
	const chunks: Buffer[] = [];
	let bytes = 0;
	let stopped = false;
	try {
		for await (const chunk of body) {
			chunks.push(chunk);
			bytes += chunk.length;
			if (bytes >= ERROR_BODY_BYTES) break;
		}
	} catch (error) {
		// An error body cut short still says something; a stopped request says nothing more.
		stopped = error instanceof StoppedError;
	}
	if (stopped) throw new StoppedError();
	return Buffer.concat(chunks).toString('utf8', 0, Math.min(bytes, ERROR_BODY_BYTES));
}

interface BodyStream extends AsyncIterable<Buffer | string> {
	destroy(error?: Error): unknown;
}

/**
 * A body as chunks, failed when silent for `timeoutMs` (n8n's timeout covers the headers only) or
 * when `signal` aborts. Leaving early (a reader that has enough) destroys the stream.
 */
export async function* guardedBody(
	body: unknown,
	timeoutMs: number,
	signal: AbortSignal,
): AsyncGenerator<Buffer> {
	if (Buffer.isBuffer(body)) {
		yield body;
		return;
	}
	if (typeof body === 'string') {
		yield Buffer.from(body, 'utf8');
		return;
	}
	const stream = body as BodyStream | undefined;
	if (!stream || typeof stream[Symbol.asyncIterator] !== 'function') return;
	const iterator = stream[Symbol.asyncIterator]();
	let failPending: ((error: Error) => void) | undefined;
	let verdict: Error | undefined;
	let lastData = Date.now();
	const watch = new AbortController();
	const stopReading = (error: Error) => {
		// The verdict first: destroying the stream fails the pending read with a vaguer error.
		verdict ??= error;
		failPending?.(error);
		stream.destroy();
	};
	const onAbort = () => stopReading(new StoppedError());
	signal.addEventListener('abort', onAbort, { once: true });
	void (async () => {
		while (!watch.signal.aborted) {
			await sleep(Math.min(timeoutMs, 1000), watch.signal).catch(() => undefined);
			if (!watch.signal.aborted && Date.now() - lastData > timeoutMs) {
				stopReading(Object.assign(new Error(`no data for ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
				return;
			}
		}
	})();
	let ended = false;
	try {
		if (signal.aborted) throw new StoppedError();
		while (true) {
			if (verdict) throw verdict;
			const next = await new Promise<IteratorResult<Buffer | string>>((resolve, reject) => {
				failPending = reject;
				iterator.next().then(resolve, (error: Error) => reject(verdict ?? error));
			});
			if (next.done) {
				ended = true;
				return;
			}
			lastData = Date.now();
			yield typeof next.value === 'string' ? Buffer.from(next.value, 'utf8') : next.value;
		}
	} finally {
		failPending = undefined;
		watch.abort();
		signal.removeEventListener('abort', onAbort);
		if (!ended) stream.destroy();
	}
}

/** The helper's promise, or a StoppedError as soon as `signal` aborts (an older helper may ignore it). */
async function untilAborted<T extends { body?: unknown }>(
	request: Promise<T>,
	signal: AbortSignal,
): Promise<T> {
	if (signal.aborted) throw new StoppedError();
	let onAbort: () => void = () => {};
	const aborted = new Promise<never>((_, reject) => {
		onAbort = () => reject(new StoppedError());
		signal.addEventListener('abort', onAbort, { once: true });
	});
	// A response that lands after the abort is not read: close its body.
	void request.then(
		(response) => {
			if (signal.aborted) (response?.body as { destroy?: () => void })?.destroy?.();
		},
		() => undefined,
	);
	try {
		return await Promise.race([request, aborted]);
	} finally {
		signal.removeEventListener('abort', onAbort);
	}
}

const HTTP_DATE = [
	// IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
	/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/,
	// obsolete RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
	/^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{2} \d{2}:\d{2}:\d{2} GMT$/,
	// obsolete asctime: Sun Nov  6 08:49:37 1994
	/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/,
];

/**
 * Retry-After as RFC 9110 allows it: delay-seconds (digits) or an HTTP-date, in milliseconds.
 * Anything else (`1.5`, `-5`, `soon`) is no instruction: the caller's own backoff applies.
 */
export function retryAfterMs(
	header: string | string[] | undefined,
	now = Date.now(),
): number | undefined {
	const value = (Array.isArray(header) ? header[0] : header)?.trim();
	if (value === undefined || value === '') return undefined;
	if (/^\d+$/.test(value)) return Number(value) * 1000;
	const format = HTTP_DATE.findIndex((pattern) => pattern.test(value));
	if (format < 0) return undefined;
	const date = Date.parse(format === 2 ? `${value} GMT` : value);
	return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Capped exponential backoff with jitter, so parallel clients do not retry in step. */
export function backoffMs(attempt: number): number {
	const ceiling = Math.min(retryTiming.maxDelayMs, retryTiming.baseDelayMs * 2 ** (attempt - 1));
	return ceiling / 2 + Math.random() * (ceiling / 2);
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
	await sleepUnlessAborted(
		ms,
		AbortSignal.any([cancelSignal, stopSignal].filter((s): s is AbortSignal => s !== undefined)),
	);
	throwIfStopped(cancelSignal, stopSignal, node);
}

/** Waits `ms`, or less if `signal` aborts first. */
export async function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
	if (signal.aborted) return;
	let onAbort: () => void = () => {};
	const aborted = new Promise<void>((resolve) => {
		onAbort = resolve;
		signal.addEventListener('abort', onAbort, { once: true });
	});
	// Given the signal, n8n's sleep clears its timer on abort, so a cancelled run keeps no timer
	// alive; an older n8n ignores it, and the race still ends the wait.
	await Promise.race([sleep(ms, signal).catch(() => undefined), aborted]);
	signal.removeEventListener('abort', onAbort);
}
