// @ts-check
'use strict';
/**
 * Shared by the reliability suites: seeded randomness, the expected outcome of an export as the
 * API documents it, retry timing shrunk for speed, capture of every log line, a secret scanner
 * and the figures each suite prints when it ends.
 */
const fs = require('fs');
const path = require('path');

const { retryTiming } = require('../../nodes/shared/transport');
const standin = require('../support/standin');

/** `EVERGAGE_LONG=1` (npm run test:long) runs the long variant of every suite. */
const LONG = process.env.EVERGAGE_LONG === '1';

/** A master seed: EVERGAGE_SEED replays a run printed by a failure. */
function masterSeed(fallback) {
	const text = process.env.EVERGAGE_SEED;
	return text !== undefined && /^\d+$/.test(text) ? Number(text) : fallback;
}

/** mulberry32: small, fast, reproducible. */
function seededRandom(seed) {
	let state = seed >>> 0;
	const next = () => {
		state = (state + 0x6d2b79f5) | 0;
		let t = Math.imul(state ^ (state >>> 15), 1 | state);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	return {
		next,
		int: (min, max) => min + Math.floor(next() * (max - min + 1)),
		pick: (list) => list[Math.floor(next() * list.length)],
		chance: (p) => next() < p,
	};
}

/** Retry delays short enough for hundreds of runs; restored by the returned function. */
function shrinkRetryTiming(values = { baseDelayMs: 5, maxDelayMs: 40 }) {
	const saved = { ...retryTiming };
	Object.assign(retryTiming, values);
	return () => Object.assign(retryTiming, saved);
}

/**
 * The stand-in dataset for a run's shape: `count` records (with `repeats`) of the run's entity,
 * accounts by default or users (then as many users as the shape counts).
 */
function datasetFor(shape) {
	const { count, seed, repeats } = shape;
	return shape.entity === 'users' ? { count, seed, userCount: count, userRepeats: repeats } : { count, seed, repeats };
}

/** The stand-in's own options for generating exactly that export. */
function exportOptions(shape) {
	return { ...datasetFor(shape), entity: shape.entity ?? 'accounts' };
}

/**
 * What the node must output for JSON: the documented rule (one record per name, values of the last
 * copy read, at the first copy's position), applied to the pages the node has to read — all of them,
 * or those up to the page where Limit is reached (later pages are not read, so their copies do not count).
 * Also the last page index the node must read.
 */
function expectedJson(shape) {
	const all = standin.generateAccounts(exportOptions(shape));
	const size = shape.effectivePageSize;
	const limit = shape.limit ?? Infinity;
	const records = [];
	const slot = new Map();
	let page = shape.firstPage;
	for (; ; page++) {
		const chunk = all.slice(page * size, (page + 1) * size);
		if (chunk.length === 0) break;
		for (const record of chunk) {
			const at = shape.deduplicate ? slot.get(record.name) : undefined;
			if (at !== undefined) records[at] = record;
			else if (records.length < limit) {
				if (shape.deduplicate) slot.set(record.name, records.length);
				records.push(record);
			}
		}
		if (records.length >= limit) break;
	}
	return { records, lastNeededPage: page };
}

const CSV_QUOTE = /[",\r\n]/;
const csvCell = (value) => (CSV_QUOTE.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

/** What the node must output for CSV: the header once, then every row read (no dedupe), up to Limit. */
function expectedCsv(shape) {
	const all = standin.generateAccounts(exportOptions(shape));
	const from = shape.firstPage * shape.effectivePageSize;
	const rows = all.slice(from, shape.limit === undefined ? undefined : from + shape.limit);
	const lines = [
		standin.csvColumns({ entity: shape.entity }).join(','),
		...rows.map((r) => standin.csvValues(r).map(csvCell).join(',')),
	];
	const lastNeededPage =
		shape.limit !== undefined && rows.length >= shape.limit
			? shape.firstPage + Math.ceil(shape.limit / shape.effectivePageSize) - 1
			: shape.firstPage + Math.ceil(rows.length / shape.effectivePageSize);
	return { text: lines.join('\r\n') + '\r\n', rows: rows.length, lastNeededPage };
}

/** Losses, doubles and stale or altered records between what a node gave and what it should have. */
function compareRecords(actual, expected) {
	const count = (list) => {
		const counts = new Map();
		for (const record of list) counts.set(record.name, (counts.get(record.name) ?? 0) + 1);
		return counts;
	};
	const want = count(expected);
	const got = count(actual);
	let losses = 0;
	let doubles = 0;
	for (const [name, n] of want) losses += Math.max(0, n - (got.get(name) ?? 0));
	for (const [name, n] of got) doubles += Math.max(0, n - (want.get(name) ?? 0));
	let altered = 0;
	const length = Math.min(actual.length, expected.length);
	for (let i = 0; i < length; i++) {
		if (JSON.stringify(actual[i]) !== JSON.stringify(expected[i])) altered++;
	}
	altered += Math.abs(actual.length - expected.length);
	return { losses, doubles, altered, exact: losses === 0 && doubles === 0 && altered === 0 };
}

// ---------------------------------------------------------------------------------------------
// Everything that could carry a secret out: log lines, console, stdout/stderr, LoggerProxy.

/** The copies of n8n's packages that n8n-core itself loads (it may ship its own). */
function n8nCoreModules() {
	const paths = [require.resolve('n8n-core')];
	return {
		LoggerProxy: require(require.resolve('n8n-workflow', { paths })).LoggerProxy,
		Container: require(require.resolve('@n8n/di', { paths })).Container,
		Logger: require(require.resolve('@n8n/backend-common', { paths })).Logger,
	};
}

/**
 * Records every channel a line can leave by, and (unless `quiet`) still passes process stdout/stderr on:
 * - n8n's LoggerProxy, in the copy of n8n-workflow that n8n-core resolves. n8n's root `Logger`
 *   (@n8n/backend-common) calls `LoggerProxy.init(this)` when n8n-core's DI container first builds it,
 *   which happens lazily inside the first execution: it is built here first, so that it cannot
 *   replace this capture later, and the capture forwards to it (so its winston output happens too);
 * - every n8n `Logger` (root or scoped; services that log without the proxy), at `Logger.prototype.log`;
 * - console.* and the streams winston's Console transport writes to: `console._stdout/_stderr`, which
 *   jest's BufferedConsole (tests in workers) keeps apart from `process.stdout/stderr` (one file in band);
 * - raw process.stdout/stderr writes.
 */
function captureLogs(options = {}) {
	const lines = [];
	const sources = [];
	const bySource = {};
	const record = (source, line) => {
		lines.push(line);
		sources.push(source);
		addCount(bySource, source);
	};
	const restore = [];

	for (const method of ['log', 'info', 'warn', 'error', 'debug']) {
		const original = console[method];
		console[method] = (...args) => record('console', `console.${method}: ${args.map(asLogText).join(' ')}`);
		restore.push(() => (console[method] = original));
	}

	// jest's BufferedConsole has streams of its own; in band, console._stdout is process.stdout.
	const withStreams = /** @type {Console & { _stdout?: NodeJS.WritableStream, _stderr?: NodeJS.WritableStream }} */ (console);
	const streams = new Map();
	streams.set(process.stdout, { source: 'process.stdout/stderr', passOn: !options.quiet });
	streams.set(process.stderr, { source: 'process.stdout/stderr', passOn: !options.quiet });
	for (const stream of [withStreams._stdout, withStreams._stderr]) {
		if (stream && !streams.has(stream)) streams.set(stream, { source: 'console._stdout/_stderr', passOn: false });
	}
	for (const [stream, { source, passOn }] of streams) {
		const original = stream.write;
		stream.write = (chunk, ...rest) => {
			record(source, Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
			if (passOn) return original.call(stream, chunk, ...rest);
			const callback = rest.find((x) => typeof x === 'function');
			callback?.();
			return true;
		};
		restore.push(() => (stream.write = original));
	}

	const { LoggerProxy, Container, Logger } = n8nCoreModules();
	const root = Container.get(Logger);
	let forwarding = false;
	const originalLog = Logger.prototype.log;
	Logger.prototype.log = function (level, message, meta) {
		if (!forwarding) record('n8n Logger', `n8n Logger.${level}: ${message} ${asLogText(meta)}`);
		return originalLog.call(this, level, message, meta);
	};
	restore.push(() => (Logger.prototype.log = originalLog));
	const logTo = (level) => (message, meta) => {
		record('LoggerProxy', `n8n LoggerProxy.${level}: ${message} ${asLogText(meta)}`);
		forwarding = true;
		try {
			root[level](message, meta);
		} finally {
			forwarding = false;
		}
	};
	LoggerProxy.init({ error: logTo('error'), warn: logTo('warn'), info: logTo('info'), debug: logTo('debug') });
	restore.push(() => LoggerProxy.init(root));

	return {
		lines,
		sources,
		bySource,
		stop: async () => {
			for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
			restore.reverse().forEach((undo) => undo());
		},
	};
}

/** A value as a log line could show it: JSON, plus every string inside (an Error's stack, a cause). */
function asLogText(value) {
	if (typeof value === 'string') return value;
	if (value === undefined || value === null) return String(value);
	return `${safeJson(value)} ${allText(value, 200_000)}`;
}

function safeJson(value) {
	try {
		return JSON.stringify(value) ?? String(value);
	} catch {
		return String(value);
	}
}

/**
 * Every string reachable from a value: enumerable or not (stack, cause, an axios config's headers),
 * through Errors, Maps, arrays and plain objects, cycles skipped.
 */
function allText(value, limit = 2_000_000) {
	const seen = new Set();
	const parts = [];
	let size = 0;
	const walk = (v, depth) => {
		if (size > limit || depth > 40) return;
		if (typeof v === 'string') {
			parts.push(v);
			size += v.length;
			return;
		}
		if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return;
		if (Buffer.isBuffer(v)) {
			parts.push(v.toString('utf8', 0, Math.min(v.length, 1_000_000)));
			return;
		}
		if (v === null || typeof v !== 'object' || seen.has(v)) return;
		seen.add(v);
		if (v instanceof Map) for (const [k, x] of v) (walk(k, depth + 1), walk(x, depth + 1));
		const keys = new Set([...Object.getOwnPropertyNames(v), ...Object.keys(v)]);
		if (v instanceof Error) ['message', 'stack', 'cause', 'description', 'context'].forEach((k) => keys.add(k));
		for (const key of keys) {
			if (typeof key === 'string') parts.push(key);
			let x;
			try {
				x = v[key];
			} catch {
				continue;
			}
			if (typeof x !== 'function') walk(x, depth + 1);
		}
	};
	walk(value, 0);
	return parts.join('\n');
}

/** What the secret audit searches in each thing: every string reachable inside it, and its JSON. */
function auditText(...things) {
	return things.map((thing) => `${allText(thing)}\n${safeJson(thing)}`).join('\n');
}

/** The forms a key pair can leak in. */
function secretForms(apiKeyId, apiSecretKey) {
	const pair = `${apiKeyId}:${apiSecretKey}`;
	const basic = Buffer.from(pair).toString('base64');
	return {
		secret: apiSecretKey,
		'secret (URL-encoded)': encodeURIComponent(apiSecretKey),
		'keyId:secret': pair,
		'Basic token': basic,
		'Basic token (URL-encoded)': encodeURIComponent(basic),
	};
}

/** Every form of the key pair the fragment audit looks for, whitespace variants of the secret too. */
function fragmentForms(apiKeyId, apiSecretKey) {
	const forms = secretForms(apiKeyId, apiSecretKey);
	forms['secret (whitespace collapsed)'] = apiSecretKey.replace(/\s+/g, ' ');
	forms['secret (whitespace removed)'] = apiSecretKey.replace(/\s+/g, '');
	forms['secret (base64)'] = Buffer.from(apiSecretKey).toString('base64');
	return forms;
}

/**
 * Fragments of `size` or more characters of any form found in `text`: `form[offset]` for each form
 * with one. Runs that lie inside the key id alone are not secret and are skipped.
 */
function fragmentHits(text, forms, apiKeyId, size = 8) {
	const hits = [];
	for (const [name, value] of Object.entries(forms)) {
		for (let i = 0; i + size <= value.length; i++) {
			const window = value.slice(i, i + size);
			if (apiKeyId.includes(window) || !text.includes(window)) continue;
			const at = text.indexOf(window);
			hits.push(`${name}[${i}] in …${JSON.stringify(text.slice(Math.max(0, at - 20), at + size + 20))}…`);
			break;
		}
	}
	return hits;
}

/** fragmentHits for many key pairs at once, in one pass over `text`. */
function fragmentHitsOfMany(text, keyPairs, size = 8) {
	const windows = new Map();
	for (const { forms, keyId } of keyPairs) {
		for (const [name, value] of Object.entries(forms)) {
			for (let i = 0; i + size <= value.length; i++) {
				const window = value.slice(i, i + size);
				if (!keyId.includes(window)) windows.set(window, `${name} of ${keyId}`);
			}
		}
	}
	const hits = [];
	for (let at = 0; at + size <= text.length; at++) {
		const name = windows.get(text.slice(at, at + size));
		if (name !== undefined) hits.push(`${name} in …${JSON.stringify(text.slice(Math.max(0, at - 20), at + size + 20))}…`);
	}
	return hits;
}

/** Where each secret form occurs in `text` (names of the forms; empty when clean). */
function secretHits(text, forms) {
	return Object.entries(forms)
		.filter(([, value]) => value.length > 0 && text.includes(value))
		.map(([name]) => name);
}

// ---------------------------------------------------------------------------------------------
// Figures

/** Prints a suite's figures and, with EVERGAGE_RESULTS_DIR set, writes them as JSON there. */
/**
 * For a property suite: every log line is captured while it runs and retries are shortened to
 * `timing`; afterwards the lines are audited for fragments of every key pair the runs pushed to the
 * returned list, and the suite's figures are printed under `label`.
 * @param {string} label
 * @param {Record<string, any>} figures
 * @param {{ baseDelayMs: number, maxDelayMs: number }} timing
 */
function auditedSuite(label, figures, timing) {
	/** @type {any[]} */
	const allForms = [];
	/** @type {ReturnType<typeof captureLogs>} */
	let capture;
	/** @type {() => void} */
	let restoreTiming;
	beforeAll(() => {
		capture = captureLogs({ quiet: true });
		restoreTiming = shrinkRetryTiming(timing);
	});
	afterAll(async () => {
		restoreTiming();
		await capture.stop();
		figures['log lines audited'] = capture.lines.length;
		const hits = fragmentHitsOfMany(capture.lines.join('\n'), allForms);
		figures['fragment hits'] += hits.length;
		printFigures(label, figures);
		expect(hits).toEqual([]);
	});
	return allForms;
}

function printFigures(suite, figures) {
	const lines = [`==== reliability figures: ${suite}${LONG ? ' (long)' : ''} ====`];
	for (const [key, value] of Object.entries(figures)) {
		lines.push(`  ${key.padEnd(34)} ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
	}
	// Straight to stdout as well, so the figures show even under a terse reporter.
	process.stdout.write(lines.join('\n') + '\n');
	const dir = process.env.EVERGAGE_RESULTS_DIR;
	if (dir) {
		fs.mkdirSync(dir, { recursive: true });
		fs.writeFileSync(path.join(dir, `${suite}.json`), JSON.stringify({ suite, long: LONG, ...figures }, null, 2));
	}
}

function addCount(target, key, by = 1) {
	target[key] = (target[key] ?? 0) + by;
}

module.exports = {
	auditedSuite,
	datasetFor,
	LONG,
	masterSeed,
	seededRandom,
	shrinkRetryTiming,
	expectedJson,
	expectedCsv,
	compareRecords,
	n8nCoreModules,
	captureLogs,
	allText,
	auditText,
	secretForms,
	secretHits,
	fragmentForms,
	fragmentHits,
	fragmentHitsOfMany,
	printFigures,
	addCount,
};
