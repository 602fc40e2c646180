import { sleepUnlessAborted } from './wait';

/**
 * Every request has an end. One attempt's clock holds it to three rules, from the moment it goes
 * out to its last byte:
 * - silence: nothing at all (headers or body) for Timeout;
 * - minimum rate: a body that brings fewer than `minBytesPerSecond` over a whole Timeout (as curl's
 *   --speed-limit and --speed-time do, with Timeout as the time);
 * - deadline: Timeout, plus the time the request's size bound takes at `deadlineBytesPerSecond`.
 * Any of them aborts the attempt; the door tries it again like a dropped connection.
 */
export const requestClock = {
	minBytesPerSecond: 1024,
	deadlineBytesPerSecond: 64 * 1024,
	/** The clock looks at most this often (and at least once per Timeout). */
	tickMs: 1000,
};

/** The whole-request deadline for a request whose body may hold up to `maxBytes`. */
export function requestDeadlineMs(timeoutMs: number, maxBytes: number): number {
	return timeoutMs + Math.ceil((maxBytes * 1000) / requestClock.deadlineBytesPerSecond);
}

/** The service held a request past one of the clock's rules: worth another try. */
export class SlowRequestError extends Error {}

export class RequestClock {
	/** Aborts when the outer signal does, or when a rule is broken (then `verdict` says which). */
	readonly signal: AbortSignal;

	verdict: SlowRequestError | undefined;

	private readonly broken = new AbortController();

	private readonly done = new AbortController();

	private readonly startedAt = Date.now();

	private lastData = this.startedAt;

	/** The rate is judged over windows of Timeout, from the body's start. */
	private windowStart: number | undefined;

	private windowBytes = 0;

	constructor(
		private readonly timeoutMs: number,
		private readonly deadlineMs: number,
		outer: AbortSignal,
	) {
		this.signal = AbortSignal.any([outer, this.broken.signal]);
		void this.watch();
	}

	/** Bytes arrived (0 for the headers: the body starts now). */
	data(bytes: number): void {
		const now = Date.now();
		this.lastData = now;
		this.windowStart ??= now;
		this.windowBytes += bytes;
	}

	/** The attempt is over: the clock stops looking. */
	stop(): void {
		this.done.abort();
	}

	private async watch(): Promise<void> {
		const tick = Math.max(1, Math.min(this.timeoutMs, this.deadlineMs, requestClock.tickMs));
		const over = AbortSignal.any([this.done.signal, this.signal]);
		while (!over.aborted) {
			await sleepUnlessAborted(tick, over);
			if (over.aborted) return;
			const problem = this.brokenRule(Date.now());
			if (problem !== undefined) {
				this.verdict = new SlowRequestError(problem);
				this.broken.abort(this.verdict);
			}
		}
	}

	/** The rule the request breaks at `now`, in words that follow "Evergage still …". */
	private brokenRule(now: number): string | undefined {
		const { timeoutMs, deadlineMs } = this;
		if (now - this.startedAt > deadlineMs) {
			return `did not finish within the request deadline of ${seconds(deadlineMs)} (Timeout plus the page's size bound at ${kib(requestClock.deadlineBytesPerSecond)}/s)`;
		}
		if (now - this.lastData > timeoutMs) {
			return this.windowStart === undefined
				? `did not answer within ${timeoutMs} ms`
				: `sent nothing for ${timeoutMs} ms`;
		}
		if (this.windowStart === undefined || now - this.windowStart < timeoutMs) return undefined;
		const rate = (this.windowBytes * 1000) / (now - this.windowStart);
		if (rate < requestClock.minBytesPerSecond) {
			return `sent ${Math.round(rate)} bytes/s for ${timeoutMs} ms, below the minimum of ${kib(requestClock.minBytesPerSecond)}/s`;
		}
		this.windowStart = now;
		this.windowBytes = 0;
		return undefined;
	}
}

function seconds(ms: number): string {
	return `${Math.ceil(ms / 1000)} s`;
}

function kib(bytes: number): string {
	return bytes >= 1024 ? `${Math.round(bytes / 1024)} KiB` : `${bytes} bytes`;
}
