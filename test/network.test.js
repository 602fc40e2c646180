// @ts-check
'use strict';
// The test network (test/support/network.js): TLS with a run's own certificate, round trips that
// cost what they cost on the internet, and counted connections.
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');

const { startStandin } = require('./support/standin');
const { makeTestCertificate, startNetwork } = require('./support/network');

const RTT_MS = 40;
const AUTH = 'Basic ' + Buffer.from('demo-key:demo-secret').toString('base64');

/** @type {string} */
let dir;
/** @type {ReturnType<typeof makeTestCertificate>} */
let cert;
/** @type {Awaited<ReturnType<typeof startStandin>>} */
let standin;
/** @type {Awaited<ReturnType<typeof startNetwork>>} */
let network;

beforeAll(async () => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evergage-network-'));
	cert = makeTestCertificate(dir);
	standin = await startStandin({ datasets: { engage: { count: 3000 } } });
	network = await startNetwork({ standinPort: standin.port, rttMs: RTT_MS, tls: cert });
});

afterAll(async () => {
	await network?.close();
	await standin?.close();
	fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * @param {https.Agent} agent @param {string} pathAndQuery @param {{ trustTestCa?: boolean }} [options]
 * @returns {Promise<{ status: number, body: Buffer, ms: number }>}
 */
function get(agent, pathAndQuery, { trustTestCa = true } = {}) {
	const ca = trustTestCa ? cert.ca : undefined;
	const started = Date.now();
	return new Promise((resolve, reject) => {
		https
			.get(network.url + pathAndQuery, { agent, ca, headers: { authorization: AUTH } }, (response) => {
				/** @type {Buffer[]} */
				const chunks = [];
				response.on('data', (chunk) => chunks.push(chunk));
				response.on('end', () =>
					resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks), ms: Date.now() - started }),
				);
				response.on('error', reject);
			})
			.on('error', reject);
	});
}

const page = (/** @type {number} */ index) => `/api/dataset/engage/accounts.json?pageSize=1000&page=${index}`;

test('the certificate made for the run is checked: a client that does not trust its CA is refused', async () => {
	const agent = new https.Agent();
	await expect(get(agent, page(0), { trustTestCa: false })).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
});

test('a new TLS connection costs three round trips before its answer, a reused one one', async () => {
	const agent = new https.Agent({ keepAlive: true, ca: cert.ca });
	const before = network.connections.opened;
	const fresh = await get(agent, page(0));
	const reused = await get(agent, page(1));
	agent.destroy();
	expect(fresh.status).toBe(200);
	expect(fresh.ms).toBeGreaterThanOrEqual(3 * RTT_MS);
	expect(reused.ms).toBeGreaterThanOrEqual(RTT_MS);
	expect(network.connections.opened - before).toBe(1);
});

test('every byte arrives, in order, and a closed connection is counted as closed', async () => {
	const agent = new https.Agent({ ca: cert.ca });
	const before = network.connections.opened;
	const pages = await Promise.all([0, 1, 2].map((index) => get(agent, page(index))));
	const names = pages.flatMap((p) => JSON.parse(p.body.toString('utf8')).map((/** @type {{ name: string }} */ r) => r.name));
	expect(names).toHaveLength(3000);
	expect(new Set(names).size).toBe(3000);
	expect(network.connections.opened - before).toBe(3);
	for (let wait = 0; wait < 100 && network.connections.open > 0; wait++) await new Promise((r) => setTimeout(r, 20));
	expect(network.connections.open).toBe(0);
});
