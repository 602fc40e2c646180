/** When to try a request again, and how long to wait first. */

/** Delays of the retry loop. Tests shorten them; a node never changes them. */
export const retryTiming = {
	baseDelayMs: 500,
	maxDelayMs: 8_000,
	/** A Retry-After above this fails at once: waiting that long inside a run helps nobody. */
	maxRetryAfterMs: 60_000,
};

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

/** Statuses worth another attempt: rate limits and server errors that may pass. */
export function isRetryableStatus(status: number): boolean {
	return status === 429 || (status >= 500 && status !== 501 && status !== 505);
}
