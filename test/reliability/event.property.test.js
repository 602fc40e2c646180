// @ts-check
'use strict';
/**
 * Property: whatever the Event API does to a batch (429s with and without Retry-After, 503s with and
 * without, 500s before and after recording, 400s and 502s that echo the key pair, resets before and
 * after the body was read, answers slower than the timeout, errorCode answers), Evergage → Event →
 * Send through n8n-core's engine against the stand-in over HTTP:
 * - never records an event twice (counted at the stand-in, per item);
 * - ends every item in success (its event recorded exactly once) or a clear error; an error that does
 *   not say "may or may not" means the event was not recorded;
 * - outputs one item per input item, in input order, paired;
 * - leaves no fragment (8+ characters) of the secret, the key pair or the Basic token in items,
 *   errors, the stored run or any log line;
 * - succeeds whenever every fault was one the service surely did not process, within the retries.
 * Seeded: replay with EVERGAGE_SEED=<seed>; `npm run test:long` runs 300 batches.
 */
const fc = require('fast-check');

const { credentialsFor, runAction, startStandin } = require('../support/node-under-test');
const {
	addCount,
	auditedSuite,
	auditText,
	fragmentForms,
	fragmentHits,
	LONG,
	masterSeed,
} = require('./support');

const SEED = masterSeed(20261206);
const RUNS = LONG ? 300 : 40;
const TIMEOUT_MS = 300;
const RETRIES = 3;

const secretChars = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-.~!*%: ');
const credentials = fc.record({
	apiKeyId: fc.stringMatching(/^key-[a-z0-9]{3,10}$/),
	apiSecretKey: fc
		.array(secretChars, { minLength: 12, maxLength: 40 })
		.map((chars) => chars.join(''))
		.filter((secret) => secret.trim().length >= 8),
});

/** Faults the service surely did not process: the door may send the event again after them. */
const RETRYABLE = new Set(['429', '429 Retry-After', '503 Retry-After']);

const faultNames = fc.constantFrom(
	'429', '429 Retry-After', '503 Retry-After', '503', '500', '500 after recording', '400 echo', '502 echo',
	'reset before read', 'reset after read', 'slow', 'errorCode 3', 'errorCode 5',
);

/** A generated fault by name; `echo` is a form of the key pair for bodies that repeat it. */
function faultOf(name, echo) {
	switch (name) {
		case '429': return { kind: 'status', status: 429 };
		case '429 Retry-After': return { kind: 'status', status: 429, retryAfter: '0' };
		case '503 Retry-After': return { kind: 'status', status: 503, retryAfter: '0' };
		case '503': return { kind: 'status', status: 503 };
		case '500': return { kind: 'status', status: 500 };
		case '500 after recording': return { kind: 'status', status: 500, afterProcessing: true };
		case '400 echo': return { kind: 'status', status: 400, body: `Bad request from ${echo}` };
		case '502 echo': return { kind: 'status', status: 502, body: `<html>upstream said ${echo}</html>` };
		case 'reset before read': return { kind: 'resetBeforeRead' };
		case 'reset after read': return { kind: 'resetAfterRead' };
		case 'slow': return { kind: 'slow', delayMs: TIMEOUT_MS * 2 };
		case 'errorCode 3': return { kind: 'errorCode', code: 3 };
		default: return { kind: 'errorCode', code: 5 };
	}
}

const batch = fc.record({
	items: fc.integer({ min: 1, max: 12 }),
	concurrency: fc.integer({ min: 1, max: 6 }),
	// The fault of each request the stand-in receives, in arrival order; null: answered normally.
	faults: fc.array(fc.option(faultNames, { nil: null, freq: 2 }), { maxLength: 30 }),
});

const figures = {
	seed: SEED,
	batches: 0,
	items: 0,
	'events recorded': 0,
	'events recorded twice': 0,
	succeeded: 0,
	'clear errors': 0,
	'may-or-may-not errors': 0,
	'faults injected': {},
	'requests sent': 0,
	'log lines audited': 0,
	'fragment hits': 0,
	'slowest batch ms': 0,
};

const allForms = auditedSuite('event-send-properties', figures, { baseDelayMs: 2, maxDelayMs: 20 });

/** One generated batch: the invariants, whatever the outcome. */
async function checkBatch(b, keyPair) {
	const forms = fragmentForms(keyPair.apiKeyId, keyPair.apiSecretKey);
	const echoes = Object.values(forms);
	const injected = [];
	const server = await startStandin({
		credentials: keyPair,
		actionFaults: ({ index }) => {
			const name = b.faults[index] ?? null;
			if (name !== null) injected.push(name);
			return name === null ? null : /** @type {any} */ (faultOf(name, echoes[index % echoes.length]));
		},
	});
	const started = Date.now();
	try {
		const input = Array.from({ length: b.items }, (_, i) => ({ json: { id: `item-${i}` } }));
		const result = await runAction(
			server,
			{
				resource: 'event', operation: 'send', datasetId: 'engage', action: 'Batch',
				identifyBy: 'userId', userId: '={{ $json.id }}', attributeInput: 'fields',
				userAttributes: { attribute: [{ name: 'n', value: '={{ $itemIndex }}' }] },
				options: { concurrency: b.concurrency, retries: RETRIES, timeout: TIMEOUT_MS },
			},
			{ input, credentials: credentialsFor(server, keyPair), continueOnFail: true },
		);
		figures.batches++;
		figures.items += b.items;
		figures['requests sent'] += server.requests.length;
		figures['slowest batch ms'] = Math.max(figures['slowest batch ms'], Date.now() - started);
		for (const name of injected) addCount(figures['faults injected'], name);

		allForms.push({ forms, keyId: keyPair.apiKeyId });
		const hits = fragmentHits(auditText(result.items, result.error, result.run), forms, keyPair.apiKeyId);
		figures['fragment hits'] += hits.length;
		expect(hits).toEqual([]);

		expect(result.status).toBe('success');
		expect(result.items.map((item) => item.pairedItem)).toEqual(input.map((_, i) => ({ item: i })));
		const recorded = new Map();
		for (const event of server.actions.events) recorded.set(event.body.user.id, (recorded.get(event.body.user.id) ?? 0) + 1);
		figures['events recorded'] += server.actions.events.length;
		result.items.forEach((item, i) => {
			const times = recorded.get(`item-${i}`) ?? 0;
			if (times > 1) figures['events recorded twice']++;
			expect(times).toBeLessThanOrEqual(1);
			const error = item.json.error;
			if (error === undefined) {
				figures.succeeded++;
				expect(item.json.errorCode).toBe(0);
				expect(times).toBe(1);
				return;
			}
			expect(typeof error).toBe('string');
			expect(String(error)).not.toMatch(/TypeError|Cannot read|is not a function|undefined/);
			expect(String(item.json.description ?? '')).not.toBe('');
			if (/may or may not/.test(String(error))) figures['may-or-may-not errors']++;
			else {
				figures['clear errors']++;
				expect(times).toBe(0);
			}
		});
		// Only faults the service surely did not process, no more of them than the retries allow.
		if (injected.every((name) => RETRYABLE.has(name)) && injected.length <= RETRIES) {
			expect(result.items.every((item) => item.json.error === undefined)).toBe(true);
		}
	} finally {
		await server.close();
	}
}

test(`event batches under generated faults: never doubled, every item a success or a clear error, nothing leaked (seed ${SEED})`, async () => {
	await fc.assert(
		fc.asyncProperty(batch, credentials, async (b, keyPair) => await checkBatch(b, keyPair)),
		{ seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: LONG ? 900_000 : 120_000 },
	);
}, LONG ? 1_000_000 : 180_000);
