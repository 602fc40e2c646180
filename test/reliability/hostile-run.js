// @ts-check
'use strict';
/**
 * One generated run against a hostile service, shared by the hostile-service properties (what the
 * service sends) and the over-time properties (when it sends it): the generators, the settings every
 * run uses, the bound a run must end within, and the invariants checked after each run.
 */
const fc = require('fast-check');

const { pageBodyLimit, walkBounds } = require('../../nodes/shared/pages');
const { requestClock, requestDeadlineMs, retryTiming } = require('../../nodes/shared/transport');
const { credentialsFor, runExport, startStandin } = require('../support/node-under-test');
const { expectedOutcome, hostilePlan, mustSucceed } = require('../support/hostile');
const { addCount, auditText, fragmentForms, fragmentHits } = require('./support');

/** Walk bounds small enough for hundreds of runs. */
const BOUNDS = {
	maxPages: 40,
	maxRecords: 2_000,
	stalePagesInARow: 3,
	bodyBytesBase: 256 * 1024,
	bodyBytesPerRecord: 4 * 1024,
	maxBodyBytes: 1024 * 1024,
};
const TIMEOUT_MS = 300;
const RETRIES = 3;
/** Retry delays and the request clock, shortened as a node never would. */
const RETRY_TIMING = { baseDelayMs: 2, maxDelayMs: 20 };
const CLOCK = { minBytesPerSecond: 512, deadlineBytesPerSecond: 1024 * 1024, tickMs: 100 };
/** What the engine, the stand-in and a busy shared machine add to a run, beyond the node's own bounds. */
const SETTLE_MS = 3_000;

/**
 * The longest a run may take, from its settings alone: every request of the walk (its pages and
 * the extra ones in flight) through every attempt to the request clock's deadline and the longest
 * backoff between them, but never past the Export Deadline.
 */
function runBoundMs(b, exportDeadlineS) {
	const deadline = requestDeadlineMs(TIMEOUT_MS, pageBodyLimit(b.pageSize));
	const attempt = deadline + Math.min(TIMEOUT_MS, deadline, requestClock.tickMs);
	const request = (RETRIES + 1) * attempt + RETRIES * retryTiming.maxDelayMs;
	const walk = (BOUNDS.maxPages + b.concurrency) * request;
	const bound = exportDeadlineS > 0 ? Math.min(walk, exportDeadlineS * 1000) : walk;
	return bound + SETTLE_MS;
}

/**
 * One plain export before the timed runs: the first run in a process loads and compiles what n8n
 * loads lazily (seconds on a busy machine), which is no part of any run's bound.
 */
async function warmUp() {
	const server = await startStandin({ datasets: { engage: { count: 3 } } });
	try {
		await runExport(server, { datasetId: 'engage', format: 'json', returnAll: true, pageSize: 2, options: {} });
	} finally {
		await server.close();
	}
}

/** Figures each property prints when it ends. */
function newFigures(seed) {
	return {
		seed,
		runs: 0,
		succeeded: 0,
		'clear errors': 0,
		'runs by paging': {},
		'runs by node': {},
		'errors by kind': {},
		'records checked': 0,
		'log lines audited': 0,
		'fragment hits': 0,
		'slowest run ms': 0,
		'longest run vs its bound (ms)': -Infinity,
		'most requests in a run': 0,
	};
}

const page = fc.integer({ min: 0, max: 6 });
/** `arbitrary` in about one run of `oneIn`, null otherwise. */
const sometimes = (arbitrary, oneIn) =>
	fc.oneof({ arbitrary: fc.constant(null), weight: oneIn - 1 }, { arbitrary, weight: 1 });
const secretChars = fc.constantFrom(
	...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-.~!*%: \t',
);
const credentials = fc.record({
	apiKeyId: fc.stringMatching(/^key-[a-z0-9]{3,10}$/),
	apiSecretKey: fc
		.array(secretChars, { minLength: 12, maxLength: 40 })
		.map((chars) => chars.join(''))
		.filter((secret) => secret.trim().length >= 8),
});

const behaviour = fc
	.record({
		// Both export nodes: the hostile service answers their paths alike.
		entity: fc.constantFrom('accounts', 'users'),
		format: fc.constantFrom('json', 'csv'),
		pageSize: fc.integer({ min: 1, max: 20 }),
		capShare: fc.double({ min: 0.05, max: 1, noNaN: true }),
		total: fc.integer({ min: 0, max: 60 }),
		paging: fc.constantFrom('honest', 'honest', 'honest', 'ignore', 'rotate', 'alternate', 'endless'),
		numericNames: fc.boolean(),
		repeatShare: fc.double({ min: 0, max: 1, noNaN: true }),
		bom: fc.constantFrom('none', 'first', 'all', 'later'),
		badRecord: sometimes(fc.record({ page, value: fc.constantFrom('null', 'number', 'array', 'string') }), 5),
		headerChange: sometimes(fc.record({ page, how: fc.constantFrom('renamed', 'added') }), 5),
		echo: sometimes(
			fc.record({
				page,
				kind: fc.constantFrom('body400', 'body500', 'location', 'json200', 'header'),
				form: fc.nat(7),
				padding: fc.constantFrom(0, 3, 280, 295),
			}),
			3,
		),
		retryAfter: sometimes(fc.record({ page, value: fc.constantFrom('1.5', '-5', 'soon', '0x10', '', ' 7 s') }), 4),
		stall: sometimes(fc.record({ page }), 6),
		slowTail: fc.boolean(),
		oversize: sometimes(fc.record({ page, how: fc.constantFrom('records', 'bytes') }), 6),
		transient: sometimes(fc.record({ page, kind: fc.constantFrom('500', 'reset', 'truncate') }), 3),
		limit: sometimes(fc.integer({ min: 1, max: 80 }), 2),
		dedupe: fc.boolean(),
		concurrency: fc.integer({ min: 1, max: 4 }),
	})
	.map(({ capShare, repeatShare, slowTail, ...rest }) => {
		const cap = Math.max(1, Math.round(rest.pageSize * capShare));
		// Repeats of earlier accounts, never more than the accounts themselves.
		const repeatCount = Math.floor(rest.total * repeatShare * 0.5);
		const repeats = Array.from({ length: repeatCount }, (_, i) => (i * 7) % Math.max(1, rest.total));
		return {
			...rest,
			cap,
			repeats,
			slowTailMs: slowTail ? 2_000 : 0,
			// A CSV export of everything is one unpaged request; a limit past any export keeps it paged.
			limit: rest.limit ?? (rest.format === 'csv' ? 10_000 : undefined),
		};
	});

function errorKind(message) {
	if (/passed its deadline/.test(message)) return 'export deadline';
	if (/does not seem to page/.test(message)) return 'not paging';
	if (/more than the Page Size/.test(message)) return 'page larger than asked';
	if (/the node's bound/.test(message)) return 'bound';
	if (/not an object|not a list/.test(message)) return 'not records';
	if (/columns changed/.test(message)) return 'CSV columns changed';
	if (/redirect/.test(message)) return 'redirect';
	if (/ instead of (CSV|JSON)/.test(message)) return 'wrong format';
	if (/rejected the request/.test(message)) return '4xx';
	if (/still .*(bytes\/s|deadline|sent nothing|did not answer)/.test(message)) return 'too slow (request clock)';
	if (/still/.test(message)) return 'retries exhausted';
	return 'other';
}

/**
 * One generated run: the invariants, whatever the outcome.
 * @param {any} b @param {{ apiKeyId: string, apiSecretKey: string }} keyPair
 * @param {{ figures: Record<string, any>, allForms: any[], boundMs: number, options?: { exportDeadline?: number } }} run
 */
async function checkRun(b, keyPair, { figures, allForms, boundMs, options = {} }) {
	const server = await startStandin({
		credentials: keyPair,
		datasets: { engage: { count: 1 } },
		faults: /** @type {any} */ (hostilePlan(b, keyPair)),
	});
	const started = Date.now();
	try {
		const result = await runExport(
			server,
			{
				datasetId: 'engage',
				format: b.format,
				returnAll: b.limit === undefined,
				...(b.limit === undefined ? {} : { limit: b.limit }),
				pageSize: b.pageSize,
				options: { deduplicate: b.dedupe, concurrency: b.concurrency, retries: RETRIES, timeout: TIMEOUT_MS, ...options },
			},
			{ credentials: credentialsFor(server, keyPair), entity: b.entity },
		);
		const elapsed = Date.now() - started;
		figures.runs++;
		addCount(figures['runs by paging'], b.paging);
		addCount(figures['runs by node'], b.entity);
		figures['slowest run ms'] = Math.max(figures['slowest run ms'], elapsed);
		figures['most requests in a run'] = Math.max(figures['most requests in a run'], server.stats.exportRequests);

		// It ends, within its bounds.
		figures['longest run vs its bound (ms)'] = Math.max(figures['longest run vs its bound (ms)'] ?? 0, elapsed - boundMs);
		expect(elapsed).toBeLessThan(boundMs);
		expect(server.stats.exportRequests).toBeLessThanOrEqual(
			(BOUNDS.maxPages + b.concurrency) * (RETRIES + 1),
		);
		// Nothing of the key pair anywhere n8n keeps it.
		const forms = fragmentForms(keyPair.apiKeyId, keyPair.apiSecretKey);
		allForms.push({ forms, keyId: keyPair.apiKeyId });
		const hits = fragmentHits(auditText(result.items, result.error, result.run), forms, keyPair.apiKeyId);
		figures['fragment hits'] += hits.length;
		expect(hits).toEqual([]);

		if (result.status !== 'success') {
			const message = String(result.error?.message ?? '');
			addCount(figures['errors by kind'], errorKind(message));
			if (process.env.EVERGAGE_DEBUG) {
				require('fs').appendFileSync(process.env.EVERGAGE_DEBUG, `${errorKind(message)}: ${message} | ${JSON.stringify(b)}\n`);
			}
			figures['clear errors']++;
			expect(message).not.toBe('');
			expect(message).not.toMatch(/TypeError|Cannot read|is not a function|undefined/);
			expect(String(result.error?.description ?? '')).not.toBe('');
			const within = expectedOutcome(b, BOUNDS.maxPages) !== undefined;
			// An export deadline may end any export; it says so.
			const deadline = (options.exportDeadline ?? 0) > 0 && /^The export passed its deadline of/.test(message);
			if (deadline) {
				const past = elapsed - (options.exportDeadline ?? 0) * 1000;
				figures['most past the Export Deadline (ms)'] = Math.max(figures['most past the Export Deadline (ms)'] ?? 0, past);
			}

			expect(mustSucceed(b) && within && !deadline ? `failed: ${message}` : 'may fail').toBe('may fail');
			return;
		}
		figures.succeeded++;
		const expected = expectedOutcome(b, BOUNDS.maxPages);
		expect(expected === undefined ? 'never ends, yet succeeded' : 'ends').toBe('ends');
		if (b.format === 'json') {
			for (const item of result.items) {
				expect(item.json !== null && typeof item.json === 'object' && !Array.isArray(item.json)).toBe(true);
			}
			expect(result.items.map((item) => item.json)).toEqual(expected?.records);
			figures['records checked'] += result.items.length;
		} else {
			expect(result.items).toHaveLength(1);
			const binary = result.items[0].binary?.data;
			const file = binary ? (await result.readBinary(binary)).toString('utf8') : '';
			expect(file).toBe(expected?.file);
			expect(result.items[0].json.rows).toBe(expected?.records.length);
			figures['records checked'] += expected?.records.length ?? 0;
		}
	} finally {
		await server.close();
	}
}


/** The walk's bounds and the request clock shortened for a hostile suite, after the engine warmed up. */
function useHostileBounds() {
	const savedBounds = { ...walkBounds };
	const savedClock = { ...requestClock };
	beforeAll(async () => {
		await warmUp();
		Object.assign(walkBounds, BOUNDS);
		Object.assign(requestClock, CLOCK);
	});
	afterAll(() => {
		Object.assign(walkBounds, savedBounds);
		Object.assign(requestClock, savedClock);
	});
}

module.exports = { useHostileBounds, warmUp, BOUNDS, CLOCK, RETRY_TIMING, TIMEOUT_MS, RETRIES, behaviour, checkRun, credentials, newFigures, runBoundMs, sometimes, page };
