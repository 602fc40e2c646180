import type {
	ICredentialDataDecryptedObject,
	IExecuteFunctions,
	IHttpRequestOptions,
	INode,
	JsonObject,
} from 'n8n-workflow';
import { NodeApiError, NodeOperationError, sleep } from 'n8n-workflow';

/** The one door to Evergage: origin from the credential, Basic auth, timeout, retries, errors. */

const CREDENTIAL_TYPE = 'evergageApi';

// Letters, digits and hyphens only: user text must never be able to choose the host that gets the key pair.
const DNS_LABEL = /^[A-Za-z0-9-]{1,63}$/;

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

export interface EvergageRequest<T> {
	/** Path and query, already encoded: `/api/dataset/x/accounts.json?page=0`. */
	pathAndQuery: string;
	/** 'stream' hands the open body to `read`; 'arraybuffer' hands it a Buffer. */
	encoding: 'arraybuffer' | 'stream';
	/** What a 404 means for this request, in words a user can act on. */
	notFoundMessage: string;
	/** Consumes a 2xx body. Throw `IncompleteBodyError` to have the request tried again. */
	read: (response: EvergageResponse) => Promise<T>;
	/** Stops retries of a request whose result is no longer wanted. */
	signal?: AbortSignal;
}

class EvergageFailure {
	constructor(readonly nodeError: NodeApiError) {}
}

/** A 2xx body that ended early or does not parse: the request is worth another try. */
export class IncompleteBodyError extends Error {}

export interface EvergageClient {
	get<T>(request: EvergageRequest<T>): Promise<T>;
}

/** https://<account>.<instance>.evergage.com, or the credential's Base URL, validated before any request. */
export function evergageOrigin(credentials: ICredentialDataDecryptedObject, node: INode): string {
	const baseUrl = typeof credentials.baseUrl === 'string' ? credentials.baseUrl.trim() : '';
	if (baseUrl !== '') return baseUrlOrigin(baseUrl, node);
	for (const [field, label] of [
		['accountName', 'Account Name'],
		['instance', 'Instance'],
	] as const) {
		const value = credentials[field];
		if (typeof value !== 'string' || !DNS_LABEL.test(value)) {
			throw new NodeOperationError(
				node,
				`The credential's ${label} must be letters, digits and hyphens only`,
				{
					description: `Copy it from the Gears URL: in https://demo.us-1.evergage.com/ the Account Name is "demo" and the Instance is "us-1". Got ${describeValue(value)}.`,
				},
			);
		}
	}
	return `https://${credentials.accountName}.${credentials.instance}.evergage.com`;
}

function baseUrlOrigin(baseUrl: string, node: INode): string {
	const fix = 'Use an origin such as https://proxy.example.com, or leave Base URL empty.';
	let url: URL;
	try {
		url = new URL(baseUrl);
	} catch {
		throw new NodeOperationError(node, "The credential's Base URL is not a valid URL", {
			description: fix,
		});
	}
	if (url.protocol !== 'https:' && url.protocol !== 'http:') {
		throw new NodeOperationError(
			node,
			"The credential's Base URL must start with https:// or http://",
			{
				description: fix,
			},
		);
	}
	if (url.username !== '' || url.password !== '') {
		throw new NodeOperationError(
			node,
			"The credential's Base URL must not contain a user name or password",
			{
				description: `The API Key ID and Secret go in their own fields. ${fix}`,
			},
		);
	}
	if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
		throw new NodeOperationError(
			node,
			"The credential's Base URL must be an origin, without a path or query",
			{
				description: fix,
			},
		);
	}
	return url.origin;
}

function describeValue(value: unknown): string {
	if (value === undefined || value === null || value === '') return 'nothing';
	const text = JSON.stringify(String(value));
	return text.length > 70 ? `${text.slice(0, 67)}…"` : text;
}

/** Everything that would reveal the key pair if it reached a message, an item or a log. */
function secretsOf(credentials: ICredentialDataDecryptedObject): string[] {
	const keyId = String(credentials.apiKeyId ?? '');
	const secret = String(credentials.apiSecretKey ?? '');
	const pair = `${keyId}:${secret}`;
	return [pair, Buffer.from(pair).toString('base64'), encodeURIComponent(secret), secret].filter(
		(value) => value.length >= 4,
	);
}

export async function evergageClient(
	context: IExecuteFunctions,
	itemIndex: number,
	settings: RequestSettings,
): Promise<EvergageClient> {
	const credentials = await context.getCredentials(CREDENTIAL_TYPE, itemIndex);
	const node = context.getNode();
	const origin = evergageOrigin(credentials, node);
	const secrets = secretsOf(credentials);
	const redact = (text: string) =>
		secrets.reduce((safe, secret) => safe.split(secret).join('[redacted]'), text);
	const cancelSignal = context.getExecutionCancelSignal?.();

	// Wrapped so that the retry loop can tell its own verdicts from errors thrown by n8n's helper,
	// which wraps every failure in a NodeApiError too (one that still holds the request and its headers).
	const fail = (message: string, description: string, httpCode?: number): EvergageFailure => {
		const safe = { message: redact(message), description: redact(description) };
		const error = new NodeApiError(
			node,
			{ ...safe, ...(httpCode ? { httpCode } : {}) } as JsonObject,
			{
				...safe,
				httpCode: httpCode ? String(httpCode) : undefined,
				itemIndex,
			},
		);
		return new EvergageFailure(error);
	};

	async function get<T>(request: EvergageRequest<T>): Promise<T> {
		const url = origin + request.pathAndQuery;
		const options: IHttpRequestOptions = {
			method: 'GET',
			url,
			timeout: settings.timeoutMs,
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
			encoding: request.encoding,
			json: false,
			// A redirect must not carry the key pair to another host.
			disableFollowRedirect: true,
		};
		const attempts = settings.maxRetries + 1;
		// What went wrong last, in words (n8n rewrites messages that hold an error code) and in detail.
		let lastProblem = '';
		let lastDetail = '';
		for (let attempt = 1; attempt <= attempts; attempt++) {
			throwIfStopped(request.signal);
			let waitMs: number | undefined;
			try {
				const response = (await context.helpers.httpRequestWithAuthentication.call(
					context,
					CREDENTIAL_TYPE,
					{ ...options },
				)) as EvergageResponse;
				const status = response.statusCode;
				if (status >= 200 && status < 300) {
					if (request.encoding !== 'stream') return await request.read(response);
					const watch = watchForSilence(response.body, settings.timeoutMs);
					try {
						return await Promise.race([request.read(response), watch.silence]);
					} finally {
						watch.stop();
					}
				}
				discard(response.body);
				if (status !== 429 && (status < 500 || status === 501 || status === 505)) {
					throw fail(...statusMessage(response, request.notFoundMessage), status);
				}
				lastProblem = status === 429 ? 'rate limited the export (429)' : `answered ${status}`;
				lastDetail = '';
				waitMs = retryAfterMs(response.headers['retry-after']);
				if (waitMs !== undefined && waitMs > retryTiming.maxRetryAfterMs) {
					throw fail(
						`Evergage asks to wait ${Math.ceil(waitMs / 1000)} s before the next request`,
						'The API is rate limiting this token. Run the workflow again later, or export less often.',
						status,
					);
				}
			} catch (error) {
				if (error instanceof EvergageFailure) throw error.nodeError;
				if (cancelSignal?.aborted)
					throw new NodeOperationError(node, 'The execution was cancelled');
				throwIfStopped(request.signal);
				const problem = networkProblem(error);
				if (problem === undefined) {
					throw fail(
						`Request to Evergage failed: ${errorText(error)}`,
						`While requesting ${request.pathAndQuery.split('?')[0]} from ${origin}.`,
					).nodeError;
				}
				if (problem.permanent) throw fail(problem.message, problem.description).nodeError;
				lastProblem = problem.message;
				lastDetail = problem.description;
			}
			if (attempt < attempts)
				await pause(waitMs ?? backoffMs(attempt), cancelSignal, request.signal, node);
		}
		throw fail(
			`Evergage still ${lastProblem} after ${attempts} attempts`,
			`${lastDetail}The service is busy or unreachable. Nothing was output for this item; run the workflow again later, or raise Options > Retries.`,
		).nodeError;
	}

	function errorText(error: unknown): string {
		const message = error instanceof Error ? error.message : String(error);
		return redact(message).slice(0, 300);
	}

	function networkProblem(
		error: unknown,
	): { message: string; description: string; permanent: boolean } | undefined {
		if (error instanceof IncompleteBodyError) {
			return {
				message: 'sent an incomplete or unreadable response',
				description: `Last response: ${error.message}. `,
				permanent: false,
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
		];
		const text = String(cause.message ?? '');
		if (transient.includes(code) || /socket hang up|aborted|timeout|premature/i.test(text)) {
			const timedOut = /timeout/i.test(`${code} ${text}`);
			return {
				message: timedOut
					? `did not answer within ${settings.timeoutMs} ms`
					: 'dropped the connection',
				description: `Last error: ${redact(code || text).slice(0, 100)}. `,
				permanent: false,
			};
		}
		return undefined;
	}

	return { get };
}

function findCause(error: unknown): { code?: string; message?: string } {
	let current = error as { code?: string; message?: string; cause?: unknown } | undefined;
	for (let depth = 0; current && depth < 5; depth++) {
		if (typeof current.code === 'string' && current.code !== '') return current;
		current = current.cause as typeof current;
	}
	return (error as { message?: string }) ?? {};
}

function statusMessage(response: EvergageResponse, notFound: string): [string, string] {
	const status = response.statusCode;
	if (status >= 300 && status < 400) {
		return [
			`Evergage answered with a redirect (${status}), which is not followed`,
			`It points to ${String(response.headers.location ?? 'nowhere')}; the key pair is only sent to the host of the credential. Check its Account Name, Instance and Base URL.`,
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
			const body = bodyText(response);
			return [
				`Evergage rejected the request (${status})`,
				body === '' ? "Check the node's fields." : `It said: ${body}`,
			];
		}
	}
}

function bodyText(response: EvergageResponse): string {
	const body = response.body;
	const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : '';
	return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}

interface BodyStream {
	on(event: 'data', listener: () => void): unknown;
	on(event: 'newListener', listener: (event: string) => void): unknown;
	pause(): unknown;
	resume(): unknown;
	destroy(error: Error): unknown;
}

/**
 * n8n's timeout covers the wait for the headers only, and the streamed body it hands over cannot be
 * torn down from here (its destroy waits for the stalled socket). So a body silent for `timeoutMs`
 * fails the read, to be retried; the stalled connection is abandoned until its server closes it.
 */
function watchForSilence(
	body: unknown,
	timeoutMs: number,
): { silence: Promise<never>; stop(): void } {
	const stream = body as BodyStream;
	let lastData = Date.now();
	let stopped = false;
	stream.on('data', () => (lastData = Date.now()));
	// That listener would start the flow before the reader is attached, so the stream waits until a
	// reader comes: one that pipes or iterates pulls by itself; one that only listens for data (n8n
	// 1.x keeping binary data in memory) must be let through.
	stream.pause();
	stream.on('newListener', (event: string) => {
		if (event === 'data') stream.resume();
	});
	const silence = new Promise<never>((_, reject) => {
		void (async () => {
			while (!stopped) {
				await sleep(Math.min(timeoutMs, 1000));
				if (!stopped && Date.now() - lastData > timeoutMs) {
					const error = Object.assign(new Error(`no data for ${timeoutMs} ms`), {
						code: 'ETIMEDOUT',
					});
					stream.destroy(error);
					reject(error);
					return;
				}
			}
		})();
	});
	return { silence, stop: () => (stopped = true) };
}

/** An unread error body would hold its socket open. */
function discard(body: unknown): void {
	const stream = body as { resume?: () => void } | undefined;
	if (stream && typeof stream.resume === 'function') stream.resume();
}

/** Retry-After in seconds or as an HTTP date, in milliseconds. */
export function retryAfterMs(
	header: string | string[] | undefined,
	now = Date.now(),
): number | undefined {
	const value = Array.isArray(header) ? header[0] : header;
	if (value === undefined || value.trim() === '') return undefined;
	if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
	const date = Date.parse(value);
	return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Capped exponential backoff with jitter, so parallel clients do not retry in step. */
export function backoffMs(attempt: number): number {
	const ceiling = Math.min(retryTiming.maxDelayMs, retryTiming.baseDelayMs * 2 ** (attempt - 1));
	return ceiling / 2 + Math.random() * (ceiling / 2);
}

function throwIfStopped(signal: AbortSignal | undefined): void {
	if (signal?.aborted) throw new StoppedError();
}

/** Thrown into requests whose result is no longer wanted; never reaches a user. */
class StoppedError extends Error {}

async function pause(
	ms: number,
	cancelSignal: AbortSignal | undefined,
	stopSignal: AbortSignal | undefined,
	node: INode,
): Promise<void> {
	const signal = AbortSignal.any(
		[cancelSignal, stopSignal].filter((s): s is AbortSignal => s !== undefined),
	);
	if (!signal.aborted) {
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
	if (cancelSignal?.aborted) throw new NodeOperationError(node, 'The execution was cancelled');
	throwIfStopped(stopSignal);
}
