import { createHash } from 'crypto';

import { ExportPace } from './pace';
import type { PagePlan } from './query';
import type { BodyChunks } from './body';
import { ServiceDataError } from './body';
import { anySignal } from './wait';

/**
 * The walk through an export: pages in order, as many at a time as the export's pace allows (never
 * more than `concurrency`, see pace.ts), and the rules that make it end whatever the service sends.
 *
 * The walk opens at the ceiling: nothing is known of the export's size, and a first page sent alone
 * costs a round trip (three on a new TLS connection) that the export never wins back. A refused
 * export (401, 403, 404) therefore costs at most `concurrency` requests, once: each gets the same
 * final answer and none is retried. A one-page export costs up to `concurrency` requests.
 *
 * Only an empty page ends an export normally: the service may cap the page size, so a short page
 * proves nothing. It does say the end is near, though: after a page shorter than the pages before
 * it (or than Page Size, for the first), no new page is started until the next one is in. Past the
 * end, at most `concurrency - 1` extra pages are asked for, and they are aborted as soon as the walk
 * ends. With a limit, no request is started that full pages already in flight would make useless,
 * so Limit N costs ⌈N / pageSize⌉ requests when pages come back full.
 *
 * A service that does not really page would make the walk endless, so the walk also fails:
 * - on a page whose body is byte for byte one it sent before (by digest, never by samples);
 * - on a run of pages that add no record not seen before, once the run is at least
 *   `stalePagesInARow` pages long and holds more records than all distinct records so far (a run
 *   shorter than that is an export's repeats: "the record appearing last is the most current");
 * - on a page holding more records than the Page Size asked for;
 * - past `maxPages` pages or `maxRecords` records.
 */
export const walkBounds = {
	maxPages: 100_000,
	maxRecords: 10_000_000,
	stalePagesInARow: 3,
	/** A page body, decompressed, may hold this much per record asked for, plus `bodyBytesBase`… */
	bodyBytesPerRecord: 32 * 1024,
	bodyBytesBase: 4 * 1024 * 1024,
	/** …and never more than this. */
	maxBodyBytes: 256 * 1024 * 1024,
};

/** The largest page body (after decompression) read for a page of `pageSize` records. */
export function pageBodyLimit(pageSize: number): number {
	return Math.min(
		walkBounds.maxBodyBytes,
		walkBounds.bodyBytesBase + pageSize * walkBounds.bodyBytesPerRecord,
	);
}

export interface FetchedPage<P> {
	content: P;
	/** Digest of the raw body: two equal digests are two equal pages. */
	digest: string;
}

export interface PageSource<P> {
	fetch(page: number, signal: AbortSignal): Promise<FetchedPage<P>>;
	/** Records in a page, asked in page order; 0 ends the export. */
	size(page: P, index: number): number;
	/**
	 * Takes a page's records, in page order. Returns how many of them were not seen before, or
	 * undefined when the source does not keep track (then only digests and bounds stop the walk).
	 */
	take?(page: P, index: number): number | undefined;
	/** Records still wanted (Infinity for all of them). Asked before each new request. */
	stillWanted(): number;
	/** The error the walk fails with, for this item. */
	failure(message: string, description: string): Error;
}

/** A signal that aborts once the export has run `deadlineMs`; undefined for no deadline. */
export function exportDeadline(deadlineMs: number | undefined): AbortSignal | undefined {
	return deadlineMs === undefined ? undefined : AbortSignal.timeout(deadlineMs);
}

/** The failure of an export stopped by its deadline, saying how far it got. */
export function deadlineFailure(
	failure: (message: string, description: string) => Error,
	deadlineMs: number | undefined,
	progress: string,
): Error {
	return failure(
		`The export passed its deadline of ${(deadlineMs ?? 0) / 1000} s ${progress}`,
		'Nothing was output for this item, and its requests were stopped. Raise Options > Export Deadline (0 for none), or export less at a time: narrow it with a Filter or Start and End, or set a Limit.',
	);
}

const NOT_PAGING =
	'The service does not seem to page this export, so it would never end. Nothing was output for this item. Try another Page Size, or contact Salesforce support if it persists.';

/** The pace of a new export: its whole window opens at once. */
export function openingPace(plan: PagePlan): ExportPace {
	return new ExportPace(plan.concurrency, Date.now, plan.concurrency);
}

export async function* exportPages<P>(
	plan: PagePlan,
	source: PageSource<P>,
	pace = openingPace(plan),
): AsyncGenerator<P> {
	const stop = new AbortController();
	const deadline = exportDeadline(plan.deadlineMs);
	const signal = anySignal([stop.signal, deadline]);
	const inFlight: Array<Promise<{ page: FetchedPage<P> } | { error: unknown }>> = [];
	let nextPage = plan.firstPage;
	let pagesRead = 0;
	let recordsRead = 0;
	let distinct = 0;
	let staleRun = { pages: 0, records: 0 };
	let largestPage = plan.pageSize;
	let endNear = false;
	const digests = new Map<string, number>();

	const worthStarting = () => source.stillWanted() - inFlight.length * plan.pageSize > 0;
	const start = () => {
		// Settled into a value at once, so a failure behind the head is not an unhandled rejection.
		inFlight.push(
			source.fetch(nextPage++, signal).then(
				(page) => ({ page }),
				(error: unknown) => ({ error }),
			),
		);
	};

	const pastDeadline = () =>
		deadlineFailure(
			source.failure,
			plan.deadlineMs,
			`after ${pagesRead.toLocaleString('en-US')} pages (${recordsRead.toLocaleString('en-US')} records), waiting for page ${plan.firstPage + pagesRead}`,
		);

	try {
		while (true) {
			if (deadline?.aborted) throw pastDeadline();
			const window = endNear ? 1 : pace.window;
			while (
				inFlight.length < window &&
				pagesRead + inFlight.length < walkBounds.maxPages &&
				worthStarting()
			) {
				start();
			}
			const head = inFlight.shift();
			if (head === undefined) {
				if (pagesRead >= walkBounds.maxPages && worthStarting()) {
					throw source.failure(
						`The export passed ${walkBounds.maxPages.toLocaleString('en-US')} pages, the node's bound`,
						`Stopped before page ${nextPage}. Nothing was output for this item. Raise Page Size, narrow the export with a Filter, or set a Limit.`,
					);
				}
				return;
			}
			const outcome = await head;
			if (deadline?.aborted) throw pastDeadline();
			if ('error' in outcome) throw outcome.error;
			const index = plan.firstPage + pagesRead++;
			const { content, digest } = outcome.page;
			const size = source.size(content, index);
			if (size === 0) return;
			if (size > plan.pageSize) {
				throw source.failure(
					`Evergage sent ${size} records for page ${index}, more than the Page Size of ${plan.pageSize} asked for`,
					NOT_PAGING,
				);
			}
			const earlier = digests.get(digest);
			if (earlier !== undefined) {
				throw source.failure(
					`Evergage sent page ${index} with the same content as page ${earlier}: it does not seem to page this export`,
					NOT_PAGING,
				);
			}
			digests.set(digest, index);
			recordsRead += size;
			if (recordsRead > walkBounds.maxRecords) {
				throw source.failure(
					`The export passed ${walkBounds.maxRecords.toLocaleString('en-US')} records, the node's bound`,
					`Stopped at page ${index}. Nothing was output for this item. Narrow the export with a Filter or Start and End, or set a Limit.`,
				);
			}
			endNear = size < largestPage;
			largestPage = pagesRead === 1 ? size : Math.max(largestPage, size);
			pace.pageDone();
			const added = source.take?.(content, index);
			if (added !== undefined) {
				distinct += added;
				staleRun =
					added > 0
						? { pages: 0, records: 0 }
						: { pages: staleRun.pages + 1, records: staleRun.records + size };
				if (staleRun.pages >= walkBounds.stalePagesInARow && staleRun.records > distinct) {
					throw source.failure(
						`Evergage sent no new record in ${staleRun.pages} pages up to page ${index}: it does not seem to page this export`,
						NOT_PAGING,
					);
				}
			}
			yield content;
		}
	} finally {
		// Pages still in flight are not wanted: abort them. Every wait of the door ends on that
		// signal, so this settles at once; it leaves no request of this export running behind it.
		stop.abort();
		await Promise.all(inFlight);
	}
}

/**
 * A page body, whole, refused past `maxBytes`, as text; with the digest of its bytes. Each chunk is
 * decoded as it arrives, so no copy of the whole body is made outside the JavaScript heap: a million
 * records would churn 300 MB of such copies, which V8 answers with full collections.
 */
export async function readPageBody(
	body: BodyChunks,
	maxBytes: number,
	page: number,
): Promise<{ text: string; digest: string }> {
	// As Buffer#toString does: a BOM stays, a broken sequence becomes U+FFFD.
	const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
	const hash = createHash('sha1');
	let text = '';
	let size = 0;
	for await (const chunk of body) {
		size += chunk.length;
		if (size > maxBytes) {
			throw new ServiceDataError(
				`Evergage sent more than ${formatBytes(maxBytes)} for page ${page}, the node's bound for one page`,
				`Nothing was output for this item. Lower Page Size: a page may hold ${formatBytes(walkBounds.bodyBytesPerRecord)} per record asked for plus ${formatBytes(walkBounds.bodyBytesBase)}, and never more than ${formatBytes(walkBounds.maxBodyBytes)}.`,
			);
		}
		hash.update(chunk);
		text += decoder.decode(chunk, { stream: true });
	}
	return { text: text + decoder.decode(), digest: hash.digest('hex') };
}

export function formatBytes(bytes: number): string {
	const mib = bytes / (1024 * 1024);
	return mib >= 1
		? `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB`
		: `${Math.ceil(bytes / 1024)} KiB`;
}
