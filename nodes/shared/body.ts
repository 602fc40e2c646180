import type { RequestClock } from './clock';

/** A response body as it arrives: chunks, decompressed, watched for silence and for the stop signal. */
export type BodyChunks = AsyncIterable<Buffer>;

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

/** Thrown into requests whose result is no longer wanted; never reaches a user. */
export class StoppedError extends Error {}

/** Error bodies are read this far for a message; the rest is not downloaded. */
const ERROR_BODY_BYTES = 8_192;

/** The start of an error body, as text; the rest is not downloaded. */
export async function readErrorText(body: BodyChunks): Promise<string> {
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
 * A body as chunks, each told to the request's clock; failed when the clock finds a rule broken
 * (its verdict) or the request is stopped. Leaving early (a reader that has enough) destroys the
 * stream.
 */
export async function* guardedBody(body: unknown, clock: RequestClock): AsyncGenerator<Buffer> {
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
	const onAbort = () => {
		// The verdict first: destroying the stream fails the pending read with a vaguer error.
		verdict ??= clock.verdict ?? new StoppedError();
		failPending?.(verdict);
		stream.destroy();
	};
	clock.signal.addEventListener('abort', onAbort, { once: true });
	let ended = false;
	try {
		if (clock.signal.aborted) onAbort();
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
			const chunk = typeof next.value === 'string' ? Buffer.from(next.value, 'utf8') : next.value;
			clock.data(chunk.length);
			yield chunk;
		}
	} finally {
		failPending = undefined;
		clock.signal.removeEventListener('abort', onAbort);
		if (!ended) stream.destroy();
	}
}

/** The helper's promise, or a StoppedError as soon as `signal` aborts (an older helper may ignore it). */
export async function untilAborted<T extends { body?: unknown }>(
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
