// @ts-check
'use strict';
/**
 * The network as users meet the service, on 127.0.0.1: TLS with a certificate made for this run,
 * and a user-space proxy that makes every byte and every new connection cost round trips.
 *
 *   client ──TCP── round-trip proxy ──TCP── TLS front ──TCP── stand-in (plain HTTP)
 *
 * - `makeTestCertificate(dir)`: a throwaway certificate authority and a certificate for 127.0.0.1
 *   and localhost, made with `openssl` when called; nothing is committed. Trust the CA through
 *   NODE_EXTRA_CA_CERTS (n8n, child processes) or the `ca` option; never by turning checks off.
 * - `startTlsFront({ targetPort, cert, key })`: terminates TLS and relays the clear stream to the
 *   stand-in, one upstream connection per TLS connection, so keep-alive passes through.
 * - `startRoundTripProxy({ targetPort, rttMs })`: relays bytes, each after rttMs/2 in each direction;
 *   the first bytes a client sends on a new connection wait one more rttMs (the TCP handshake that
 *   user space cannot see). So a request costs 1 RTT on a reused connection, 2 on a new plain one
 *   and 3 on a new TLS one (TCP, TLS 1.3, request). It counts the connections it accepted.
 * - `startNetwork({ standinPort, rttMs, tls })`: the chain above; `url` is what a credential's Base
 *   URL points at.
 */

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const tls = require('node:tls');

/**
 * A CA and a server certificate signed by it, for 127.0.0.1 and localhost, valid for two days.
 * @param {string} dir a throwaway folder; the files are written there
 * @returns {{ caFile: string, ca: string, cert: string, key: string }}
 */
function makeTestCertificate(dir) {
	fs.mkdirSync(dir, { recursive: true });
	const file = (/** @type {string} */ name) => path.join(dir, name);
	const openssl = (/** @type {string[]} */ args) => execFileSync('openssl', args, { stdio: 'pipe' });
	openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
		'-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=evergage test CA',
		'-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
	openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
		'-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1']);
	fs.writeFileSync(file('server.ext'), [
		'subjectAltName=IP:127.0.0.1,DNS:localhost',
		'basicConstraints=critical,CA:FALSE',
		'keyUsage=critical,digitalSignature',
		'extendedKeyUsage=serverAuth',
	].join('\n'));
	openssl(['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
		'-CAcreateserial', '-out', file('server.pem'), '-days', '2', '-extfile', file('server.ext')]);
	// The CA's key signs nothing more: gone before any test runs.
	fs.rmSync(file('ca.key'));
	return {
		caFile: file('ca.pem'),
		ca: fs.readFileSync(file('ca.pem'), 'utf8'),
		cert: fs.readFileSync(file('server.pem'), 'utf8'),
		key: fs.readFileSync(file('server.key'), 'utf8'),
	};
}

/**
 * Counts of a relay: connections accepted, and those still open.
 * @typedef {{ opened: number, open: number }} ConnectionCounts
 */

/**
 * @param {net.Server} server
 * @param {Set<net.Socket>} sockets
 * @param {number} [wanted] the port; 0: any free one
 */
async function listenOnLoopback(server, sockets, wanted = 0) {
	server.on('connection', (socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
	});
	await new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(wanted, '127.0.0.1', () => resolve(undefined));
	});
	const { port } = /** @type {net.AddressInfo} */ (server.address());
	let closing = /** @type {Promise<void> | null} */ (null);
	const close = () => {
		closing ??= new Promise((resolve) => {
			server.close(() => resolve());
			for (const socket of sockets) socket.destroy();
		});
		return closing;
	};
	return { port, close };
}

/** Pipes both ways; either side's end or failure ends the other. @param {net.Socket} a @param {net.Socket} b */
function relay(a, b) {
	a.pipe(b);
	b.pipe(a);
	a.on('error', () => b.destroy());
	b.on('error', () => a.destroy());
	a.on('close', () => b.destroy());
	b.on('close', () => a.destroy());
}

/**
 * TLS in front of a plain HTTP server on 127.0.0.1.
 * @param {{ targetPort: number, cert: string, key: string }} options
 */
async function startTlsFront(options) {
	const counts = { opened: 0 };
	/** @type {Set<net.Socket>} */
	const sockets = new Set();
	const server = tls.createServer({ cert: options.cert, key: options.key }, (clear) => {
		counts.opened++;
		const upstream = net.connect(options.targetPort, '127.0.0.1');
		relay(clear, upstream);
	});
	// A client that gives up mid-handshake is not the front's failure.
	server.on('tlsClientError', () => {});
	const { port, close } = await listenOnLoopback(server, sockets);
	return {
		port,
		/** @returns {ConnectionCounts} */
		get connections() {
			return { opened: counts.opened, open: sockets.size };
		},
		close,
	};
}

/**
 * One direction of a connection, each chunk delivered `delayMs` after it arrived (plus `firstExtraMs`
 * for the first), in order, and so are its end and its reset; the source pauses while the
 * destination is full.
 * @param {net.Socket} from @param {net.Socket} to @param {number} delayMs @param {number} firstExtraMs
 */
function delayedPipe(from, to, delayMs, firstExtraMs) {
	/** @type {Array<{ due: number, chunk: Buffer | 'end' | 'reset' }>} */
	const queue = [];
	/** @type {NodeJS.Timeout | undefined} */
	let timer;
	let lastDue = 0;
	let first = true;
	let ended = false;
	const flush = () => {
		timer = undefined;
		const now = Date.now();
		while (queue.length > 0 && queue[0].due <= now) {
			const { chunk } = /** @type {{ chunk: Buffer | 'end' | 'reset' }} */ (queue.shift());
			if (to.destroyed) continue;
			if (chunk === 'end') to.end();
			else if (chunk === 'reset') to.destroy();
			else if (!to.write(chunk)) {
				from.pause();
				to.once('drain', () => from.resume());
			}
		}
		if (queue.length > 0) timer = setTimeout(flush, queue[0].due - now);
	};
	/** @param {Buffer | 'end' | 'reset'} chunk */
	const push = (chunk) => {
		const due = Math.max(lastDue, Date.now() + delayMs + (first ? firstExtraMs : 0));
		first = false;
		lastDue = due;
		queue.push({ due, chunk });
		timer ??= setTimeout(flush, Math.max(0, due - Date.now()));
	};
	from.on('data', (chunk) => push(chunk));
	from.on('end', () => {
		ended = true;
		push('end');
	});
	// Closed without an end: a reset, passed on in its turn.
	from.on('close', () => {
		if (!ended) push('reset');
	});
	from.on('error', () => {});
}

/**
 * A relay that costs round trips, on 127.0.0.1 (on `port`, or any free one).
 * @param {{ targetPort: number, rttMs: number, port?: number }} options
 */
async function startRoundTripProxy(options) {
	const oneWay = options.rttMs / 2;
	const counts = { opened: 0 };
	/** @type {Set<net.Socket>} */
	const sockets = new Set();
	const server = net.createServer({ allowHalfOpen: true }, (client) => {
		counts.opened++;
		client.setNoDelay(true);
		const upstream = net.connect({ port: options.targetPort, host: '127.0.0.1', allowHalfOpen: true });
		upstream.setNoDelay(true);
		delayedPipe(client, upstream, oneWay, options.rttMs);
		delayedPipe(upstream, client, oneWay, 0);
	});
	const { port, close } = await listenOnLoopback(server, sockets, options.port);
	return {
		port,
		/** @returns {ConnectionCounts} */
		get connections() {
			return { opened: counts.opened, open: sockets.size };
		},
		resetCounts() {
			counts.opened = 0;
		},
		close,
	};
}

/**
 * The stand-in behind TLS (optional) and round trips; `port` fixes the proxy's port.
 * @param {{ standinPort: number, rttMs: number, tls?: { cert: string, key: string }, port?: number }} options
 */
async function startNetwork(options) {
	const front = options.tls ? await startTlsFront({ targetPort: options.standinPort, ...options.tls }) : undefined;
	const proxy = await startRoundTripProxy({ targetPort: front?.port ?? options.standinPort, rttMs: options.rttMs, port: options.port });
	let tlsBase = 0;
	return {
		url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${proxy.port}`,
		port: proxy.port,
		/** Connections clients opened through the network, and those still open. */
		get connections() {
			return proxy.connections;
		},
		/** TLS sessions the front completed (0 without TLS): the connections that got as far as a request. */
		get tlsSessions() {
			return front ? front.connections.opened - tlsBase : 0;
		},
		resetCounts: () => {
			proxy.resetCounts();
			tlsBase = front?.connections.opened ?? 0;
		},
		close: async () => {
			await proxy.close();
			await front?.close();
		},
	};
}

module.exports = { makeTestCertificate, startTlsFront, startRoundTripProxy, startNetwork };
