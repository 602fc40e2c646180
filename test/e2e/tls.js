'use strict';
// The e2e suites' HTTPS: a certificate made for the run (n8n trusts its CA through
// NODE_EXTRA_CA_CERTS, no check is turned off) and the round-trip proxy of test/support/network.js in
// front of a stand-in, counting the connections an export opens.

const assert = require('node:assert/strict');
const path = require('node:path');
const L = require('./lib');
const { makeTestCertificate, startNetwork } = require('../support/network');

/** Round trip of the e2e network: enough to make every new connection show, short enough to be quick. */
const E2E_RTT_MS = 20;
/** The node's default Max Parallel Requests: past the end, an export aborts up to this many minus one. */
const DEFAULT_CEILING = 8;

/**
 * The run's certificate, trusted by every n8n process started after this call (their environment
 * is copied from this process's). Removed when the run ends.
 */
function trustRunCertificate() {
	const dir = L.mkTmp('evg-e2e-tls-');
	L.onCleanup(() => L.rmrf(dir));
	const cert = makeTestCertificate(path.join(dir, 'cert'));
	process.env.NODE_EXTRA_CA_CERTS = cert.caFile;
	return cert;
}

/**
 * HTTPS with round trips in front of a stand-in started by L.startStandin; the caller closes it.
 * @param {{ url: string }} si @param {{ cert: string, key: string }} cert
 */
async function startHttpsNetwork(si, cert) {
	const standinPort = Number(new URL(si.url).port);
	return await startNetwork({ standinPort, rttMs: E2E_RTT_MS, tls: cert });
}

/**
 * An export's connections, as the proxy counted them, against its requests, as the stand-in counted
 * them: TLS was used, and no request opened more than one connection (requests aborted past the end
 * may open theirs before the stand-in sees them). Returns a line for the log.
 * @param {{ connections: { opened: number }, tlsSessions: number }} network
 * @param {{ exportRequests: number }} stats
 */
function checkConnections(network, stats) {
	const { opened } = network.connections;
	assert.ok(stats.exportRequests > 0, 'no export request reached the stand-in');
	assert.ok(network.tlsSessions > 0, 'no TLS session: the export did not go through HTTPS');
	assert.ok(
		opened <= stats.exportRequests + DEFAULT_CEILING - 1,
		`${opened} connections for ${stats.exportRequests} requests: more than one per request`,
	);
	return `${stats.exportRequests} requests over ${opened} connections (${network.tlsSessions} TLS sessions), RTT ${E2E_RTT_MS} ms`;
}

module.exports = { trustRunCertificate, startHttpsNetwork, checkConnections, E2E_RTT_MS };
