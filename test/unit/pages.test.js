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

test('the first page goes alone, so a refused export costs one request', async () => {
	const asked = [];
	const failing = {
		...source(fakeService(0, 10)),
		fetch: async (page) => {
			asked.push(page);
			throw new Error('401');
		},
	};
	await expect(collect(exportPages({ firstPage: 0, pageSize: 10, concurrency: 8 }, failing))).rejects.toThrow('401');
	expect(asked).toEqual([0]);
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
