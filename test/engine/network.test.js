// @ts-check
'use strict';
/**
 * The node inside n8n-core's engine, against the stand-in behind the round-trip proxy
 * (test/support/network.js): what an export costs in connections and credential look-ups.
 */
const { TestCredentialsHelper } = require('../support/engine');
const { startNetwork } = require('../support/network');
const { credentialsFor, expectedAccounts, runExport, startStandin } = require('../support/node-under-test');

const DATASET = { count: 300, seed: 11 };
const PAGE_SIZE = 10;
/** The node's default Max Parallel Requests. */
const CEILING = 8;

/** @type {Awaited<ReturnType<typeof startStandin>>} */
let server;
/** @type {Awaited<ReturnType<typeof startNetwork>>} */
let network;

beforeAll(async () => {
	server = await startStandin({ datasets: { engage: DATASET } });
	network = await startNetwork({ standinPort: server.port, rttMs: 10 });
});

afterAll(async () => {
	await network.close();
	await server.close();
});

beforeEach(async () => {
	// Requests a finished export aborted may still be arriving: not this test's.
	await new Promise((resolve) => setTimeout(resolve, 50));
	server.resetStats();
	network.resetCounts();
});

afterEach(() => jest.restoreAllMocks());

const exportThroughNetwork = () =>
	runExport(
		server,
		{ datasetId: 'engage', returnAll: true, pageSize: PAGE_SIZE, options: {} },
		{ credentials: credentialsFor(network) },
	);

test('an export resolves its credential once, not once per request, and n8n still applies it', async () => {
	const lookUps = jest.spyOn(TestCredentialsHelper.prototype, 'getDecrypted');
	const applied = jest.spyOn(TestCredentialsHelper.prototype, 'authenticate');

	const result = await exportThroughNetwork();

	expect(result.status).toBe('success');
	expect(result.items.map((item) => item.json)).toEqual(expectedAccounts(DATASET));
	expect(server.stats.exportRequests).toBeGreaterThan(30);
	// The stand-in refuses a request without the key pair: n8n's helper applied it to each of them.
	expect(server.stats.byStatus['401'] ?? 0).toBe(0);
	expect(applied.mock.calls.length).toBeGreaterThanOrEqual(server.stats.exportRequests);
	expect(lookUps).toHaveBeenCalledTimes(1);
});

test('an export opens at most one connection per request and leaves none open behind it', async () => {
	const result = await exportThroughNetwork();

	expect(result.status).toBe('success');
	const requests = server.stats.exportRequests;
	const { opened } = network.connections;
	// Requests aborted past the end may open theirs before the stand-in sees them.
	expect(opened).toBeLessThanOrEqual(requests + CEILING - 1);
	// n8n's helper builds an agent per request: a socket kept alive in one would never be used again.
	for (let wait = 0; wait < 40 && network.connections.open > 0; wait++) await new Promise((r) => setTimeout(r, 25));
	expect(network.connections.open).toBe(0);
});

test('the key pair is applied to every request without an expression to evaluate for it', async () => {
	// n8n evaluates a generic credential block's `{{ $credentials.… }}` expressions for every request
	// (in 2.x, in its expression sandbox): measured at about 6 ms of CPU a request in a real n8n 2.41.1.
	const resolved = jest.spyOn(TestCredentialsHelper.prototype, 'resolve');

	const result = await exportThroughNetwork();

	expect(result.status).toBe('success');
	expect(server.stats.exportRequests).toBeGreaterThan(30);
	expect(server.stats.byStatus['401'] ?? 0).toBe(0);
	const expressions = resolved.mock.calls.filter(([value]) => typeof value === 'string' && value.startsWith('='));
	expect(expressions).toEqual([]);
});
