import type { PagePlan } from './query';

/**
 * Walks an export page by page, `concurrency` requests at a time after the first page, and yields
 * the pages in order.
 *
 * Only an empty page ends the export: the service may cap the page size, so a short page proves
 * nothing. Past the end, at most `concurrency - 1` extra pages are asked for. With a limit, no
 * request is started that full pages already in flight would make useless, so Limit N costs
 * ⌈N / pageSize⌉ requests when pages come back full.
 */
export interface PageSource<P> {
	fetch(page: number, signal: AbortSignal): Promise<P>;
	/** Records in a page; 0 ends the export. */
	size(page: P): number;
	/** Records still wanted (Infinity for all of them). Asked before each new request. */
	stillWanted(): number;
	/** Two pages that say the same: the service is not paging, so walking on would never end. */
	samePage?(a: P, b: P): boolean;
	/** The error for a service that repeats a whole page. */
	repeatedPageError(page: number): Error;
}

export async function* exportPages<P>(plan: PagePlan, source: PageSource<P>): AsyncGenerator<P> {
	const stop = new AbortController();
	const inFlight: Array<Promise<{ page: P } | { error: unknown }>> = [];
	let nextPage = plan.firstPage;
	let previous: P | undefined;
	let failed = false;

	const worthStarting = () => source.stillWanted() - inFlight.length * plan.pageSize > 0;
	const start = () => {
		// Settled into a value at once, so a failure behind the head is not an unhandled rejection.
		inFlight.push(
			source.fetch(nextPage++, stop.signal).then(
				(page) => ({ page }),
				(error: unknown) => ({ error }),
			),
		);
	};

	try {
		while (true) {
			// The first page goes alone: a refused request (401, 404…) or a one-page export costs one request.
			const window = previous === undefined ? 1 : plan.concurrency;
			while (inFlight.length < window && worthStarting()) start();
			const head = inFlight.shift();
			if (head === undefined) return;
			const outcome = await head;
			if ('error' in outcome) {
				failed = true;
				throw outcome.error;
			}
			const page = outcome.page;
			if (source.size(page) === 0) return;
			if (previous !== undefined && source.samePage?.(previous, page)) {
				failed = true;
				throw source.repeatedPageError(nextPage - inFlight.length - 1);
			}
			previous = page;
			yield page;
		}
	} finally {
		// Pages still in flight are not wanted: stop their retries and drop their results. On a clean
		// end, let them land first, so that no request of this export outlives it.
		stop.abort();
		if (!failed) await Promise.all(inFlight);
	}
}
