// @ts-check
'use strict';
/**
 * Property: whatever a hostile service does (ignore `page`, rotate or alternate pages, never end,
 * BOMs, records that are not objects, echoes of the key pair in bodies and headers, stalls, slow
 * tails, oversize pages, changed CSV headers, bad Retry-After values, mixed with resets, 500s and
 * cut-off bodies), every export through n8n-core's engine against the stand-in over HTTP:
 * - ends, within the walk's bounds;
 * - leaves no fragment (8+ characters) of the secret, the key pair or the Basic token in items,
 *   errors, the stored run or any log line;
 * - outputs only plain-object items;
 * - outputs exactly the deduplication of what was served, or fails with a clear error;
 * - succeeds whenever the service pages honestly and its faults stay within the retry budget.
 * Seeded: replay with EVERGAGE_SEED=<seed>; `npm run test:long` runs 500 behaviours.
 */
const fc = require('fast-check');

const { walkBounds } = require('../../nodes/shared/pages');
const { credentialsFor, runExport, startStandin } = require('../support/node-under-test');
const { expectedOutcome, hostilePlan, mustSucceed } = require('../support/hostile');

const {
	addCount,
	auditText,
	captureLogs,
	fragmentForms,
	fragmentHits,
	fragmentHitsOfMany,
	LONG,
	masterSeed,
	printFigures,
	shrinkRetryTiming,
} = require('./support');

const SEED = masterSeed(20261130);
const RUNS = LONG ? 500 : 50;
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
// Longest a run may take: every page retried with the longest backoff, plus a stall per attempt.
const RUN_BOUND_MS = 15_000;

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

const figures = {
	seed: SEED,
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
	'most requests in a run': 0,
};

let capture;
let restoreTiming;
const savedBounds = { ...walkBounds };
const allForms = [];

beforeAll(() => {
	capture = captureLogs({ quiet: true });
	restoreTiming = shrinkRetryTiming({ baseDelayMs: 2, maxDelayMs: 20 });
	Object.assign(walkBounds, BOUNDS);
});

afterAll(async () => {
	Object.assign(walkBounds, savedBounds);
	restoreTiming();
	await capture.stop();
	const logs = capture.lines.join('\n');
	figures['log lines audited'] = capture.lines.length;
	const hits = fragmentHitsOfMany(logs, allForms);
	figures['fragment hits'] += hits.length;
	printFigures('hostile-service-properties', figures);
	expect(hits).toEqual([]);
});

function errorKind(message) {
	if (/does not seem to page/.test(message)) return 'not paging';
	if (/more than the Page Size/.test(message)) return 'page larger than asked';
	if (/the node's bound/.test(message)) return 'bound';
	if (/not an object|not a list/.test(message)) return 'not records';
	if (/columns changed/.test(message)) return 'CSV columns changed';
	if (/redirect/.test(message)) return 'redirect';
	if (/ instead of (CSV|JSON)/.test(message)) return 'wrong format';
	if (/rejected the request/.test(message)) return '4xx';
	if (/still/.test(message)) return 'retries exhausted';
	return 'other';
}

/** One generated run: the invariants, whatever the outcome. */
async function checkRun(b, keyPair) {
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
				options: { deduplicate: b.dedupe, concurrency: b.concurrency, retries: RETRIES, timeout: TIMEOUT_MS },
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
		expect(elapsed).toBeLessThan(RUN_BOUND_MS);
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
			expect(mustSucceed(b) && within ? `failed: ${message}` : 'may fail').toBe('may fail');
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

test(`hostile services: ${RUNS} generated behaviours end, leak nothing, output plain objects or a clear error (seed ${SEED})`, async () => {
	await fc.assert(
		fc.asyncProperty(behaviour, credentials, async (b, keyPair) => await checkRun(b, keyPair)),
		{ seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: LONG ? 1_500_000 : 150_000 },
	);
}, LONG ? 1_800_000 : 240_000);

module.exports = { checkRun };
