// @ts-check
'use strict';
const { exportPages } = require('../../nodes/shared/pages');

/**
 * A service of `total` records served `cap` at a time, answering after `delay(page)` ms.
 * @param {number} total @param {number} cap @param {(page: number) => number} [delay]
 */
function fakeService(total, cap, delay = () => 0) {
	const asked = [];
	let inFlight = 0;
	let maxInFlight = 0;
	const fetch = async (page) => {
		asked.push(page);
		maxInFlight = Math.max(maxInFlight, ++inFlight);
		await new Promise((resolve) => setTimeout(resolve, delay(page)));
		inFlight--;
		const from = page * cap;
		const content = Array.from({ length: Math.max(0, Math.min(cap, total - from)) }, (_, i) => from + i);
		return { content, digest: String(page) };
	};
	return { asked, fetch, maxInFlight: () => maxInFlight };
}

async function collect(pages, stopAt = Infinity) {
	const records = [];
	for await (const page of pages) {
		records.push(...page);
		if (records.length >= stopAt) break;
	}
	return records;
}

const source = (service, wanted = () => Infinity) => ({
	fetch: service.fetch,
	size: (page) => page.length,
	stillWanted: wanted,
	failure: (message) => new Error(message),
});

test('pages come out in order even when later pages answer first', async () => {
	const service = fakeService(95, 10, (page) => (page % 3) * 15);
	const records = await collect(exportPages({ firstPage: 0, pageSize: 10, concurrency: 4 }, source(service)));

	expect(records).toEqual(Array.from({ length: 95 }, (_, i) => i));
	expect(service.maxInFlight()).toBe(4);
});

test('only an empty page ends the export, however short the pages are', async () => {
	const service = fakeService(25, 5);
	const records = await collect(exportPages({ firstPage: 0, pageSize: 100, concurrency: 1 }, source(service)));

	expect(records).toHaveLength(25);
	expect(service.asked).toEqual([0, 1, 2, 3, 4, 5]);
});

test('past the end, at most concurrency - 1 extra pages are asked for', async () => {
	for (const concurrency of [1, 2, 4, 8]) {
		const service = fakeService(100, 10);
		await collect(exportPages({ firstPage: 0, pageSize: 10, concurrency }, source(service)));
		expect(service.asked.length).toBeLessThanOrEqual(11 + concurrency - 1);
		expect(service.asked.length).toBeGreaterThanOrEqual(11);
	}
});

test('the walk opens its whole window at once: no round trip is spent on a first page alone', async () => {
	const service = fakeService(1000, 10, () => 20);
	let answered = 0;
	const answeredWhenAsked = [];
	const counting = {
		...source(service),
		fetch: async (page) => {
			answeredWhenAsked.push(answered);
			const fetched = await service.fetch(page);
			answered++;
			return fetched;
		},
	};
	await collect(exportPages({ firstPage: 0, pageSize: 10, concurrency: 8 }, counting));

	expect(answeredWhenAsked.slice(0, 8)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
	expect(service.maxInFlight()).toBe(8);
});

test('a refused export costs at most the ceiling of requests, once: none is retried or followed', async () => {
	const asked = [];
	const failing = {
		...source(fakeService(0, 10)),
		fetch: async (page) => {
			asked.push(page);
			await new Promise((resolve) => setTimeout(resolve, 5));
			throw new Error('401');
		},
	};
	await expect(collect(exportPages({ firstPage: 0, pageSize: 10, concurrency: 8 }, failing))).rejects.toThrow('401');
	expect(asked).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
});

test('a short page says the end is near: no new page starts until the next one is in', async () => {
	// 25 records in pages of 10: page 2 is short, page 3 empty; all answer at once, in order.
	const service = fakeService(25, 10, (page) => page);
	await collect(exportPages({ firstPage: 0, pageSize: 10, concurrency: 2 }, source(service)));

	// With the window of 2, page 4 would start as page 2 is taken; the short page holds it back.
	expect(service.asked).toEqual([0, 1, 2, 3]);
});

test('pages capped below Page Size are not mistaken for the end', async () => {
	// The service caps pages at 5 of the 100 asked: from the second page on, 5 is a full page.
	const service = fakeService(60, 5);
	await collect(exportPages({ firstPage: 0, pageSize: 100, concurrency: 4 }, source(service)));

	expect(service.maxInFlight()).toBe(4);
	expect(service.asked.length).toBeLessThanOrEqual(13 + 3);
});

test('a limit starts no request that full pages in flight make useless', async () => {
	const service = fakeService(1000, 10);
	let received = 0;
	const pages = exportPages(
		{ firstPage: 0, pageSize: 10, concurrency: 8, limit: 35 },
		source(service, () => 35 - received),
	);
	for await (const page of pages) {
		received += page.length;
		if (received >= 35) break;
	}
	expect(service.asked).toEqual([0, 1, 2, 3]);
});

test('the walk starts at the asked page', async () => {
	const service = fakeService(50, 10);
	const records = await collect(exportPages({ firstPage: 3, pageSize: 10, concurrency: 2 }, source(service)));

	expect(records).toEqual(Array.from({ length: 20 }, (_, i) => 30 + i));
});

test('a service that sends the same page again fails instead of looping forever', async () => {
	const stuck = { ...source(fakeService(0, 10)), fetch: async () => ({ content: [1, 2, 3], digest: 'same' }) };
	await expect(collect(exportPages({ firstPage: 0, pageSize: 3, concurrency: 2 }, stuck))).rejects.toThrow(
		'Evergage sent page 1 with the same content as page 0',
	);
});

describe('readPageBody', () => {
	const { readPageBody } = require('../../nodes/shared/pages');
	async function* chunks(...parts) {
		for (const part of parts) yield part;
	}

	test('decodes text split anywhere, even inside a character, keeps a BOM, and digests the bytes', async () => {
		const bytes = Buffer.from('\uFEFF[{"name":"Société Générale 🌍"}]', 'utf8');
		const cuts = [1, 4, 20, 21, 33, bytes.length - 2];
		const parts = cuts.map((cut, i) => bytes.subarray(i === 0 ? 0 : cuts[i - 1], cut)).concat([bytes.subarray(cuts.at(-1))]);
		const split = await readPageBody(chunks(...parts), 1000, 0);
		const whole = await readPageBody(chunks(bytes), 1000, 0);

		expect(split.text).toBe(bytes.toString('utf8'));
		expect(split.digest).toBe(whole.digest);
	});

	test('a broken sequence becomes U+FFFD, as Buffer#toString makes it', async () => {
		const bytes = Buffer.from([0x5b, 0x22, 0xc3, 0x22, 0x5d]);
		expect((await readPageBody(chunks(bytes), 1000, 0)).text).toBe(bytes.toString('utf8'));
	});
});

test('past its deadline the walk fails saying how far it got, and the page it waits for is aborted', async () => {
	const aborted = [];
	// Pages 0 and 1 answer at once; page 2 answers only when its request is aborted.
	const fetch = (page, signal) =>
		page < 2
			? Promise.resolve({ content: [page], digest: String(page) })
			: new Promise((_, reject) =>
					signal.addEventListener('abort', () => {
						aborted.push(page);
						reject(new Error('stopped'));
					}),
				);
	const started = Date.now();
	const walk = collect(exportPages({ firstPage: 0, pageSize: 1, concurrency: 1, deadlineMs: 150 }, { ...source({ fetch }) }));
	await expect(walk).rejects.toThrow('The export passed its deadline of 0.15 s after 2 pages (2 records), waiting for page 2');
	expect(Date.now() - started).toBeLessThan(1_000);
	expect(aborted).toEqual([2]);
});
