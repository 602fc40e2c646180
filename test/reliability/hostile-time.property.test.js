// @ts-check
'use strict';
/**
 * Property over time: whatever pace a hostile service sends at (trickles of any rate, bodies that
 * speed up, slow down or come in waves, stalls in the middle of a body), mixed with everything the
 * hostile-service properties generate (paging that never ends, echoes of the key pair, resets, 500s,
 * cut-off bodies…), every export through n8n-core's engine against the stand-in over HTTP:
 * - ends within the bound its settings give (runBoundMs: every request through every attempt to the
 *   request clock's deadline, never past the Export Deadline);
 * - keeps the hostile-service invariants: nothing lost or doubled, only plain-object items, no
 *   8-character fragment of the secret anywhere, a clear error otherwise;
 * - fails on its Export Deadline only by saying so.
 * Seeded: replay with EVERGAGE_SEED=<seed>; `npm run test:long` runs 300 behaviours.
 */
const fc = require('fast-check');

const { RETRY_TIMING, behaviour, checkRun, credentials, newFigures, page, runBoundMs, useHostileBounds } = require('./hostile-run');
const { addCount, auditedSuite, LONG, masterSeed } = require('./support');

const SEED = masterSeed(20261206);
const RUNS = LONG ? 300 : 25;

const tempo = fc.record({
	page,
	kind: fc.constantFrom('trickle', 'speedup', 'slowdown', 'wave', 'stall-mid'),
	chunkBytes: fc.integer({ min: 1, max: 64 }),
	delayMs: fc.integer({ min: 5, max: 400 }),
	// Up to every attempt: then the page fails for good, or the export passes its deadline.
	attempts: fc.integer({ min: 1, max: 5 }),
	at: fc.double({ min: 0, max: 1, noNaN: true }),
});
const timed = fc
	.record({
		b: behaviour,
		tempo: fc.oneof({ arbitrary: fc.constant(null), weight: 1 }, { arbitrary: tempo, weight: 4 }),
		pad: fc.constantFrom(0, 300, 3_000),
		// Seconds; 0 = none, where the bound is the walk's alone.
		exportDeadline: fc.constantFrom(1, 2, 3, 0),
	})
	.map(({ b, tempo: t, pad, exportDeadline }) => ({ b: { ...b, tempo: t, pad }, exportDeadline }));

const figures = { ...newFigures(SEED), 'runs by tempo': {}, 'runs by export deadline (s)': {} };
useHostileBounds();
const allForms = auditedSuite('hostile-service-properties-over-time', figures, RETRY_TIMING);

test(`hostile tempos: ${RUNS} generated behaviours end within their computed bound and keep every invariant (seed ${SEED})`, async () => {
	await fc.assert(
		fc.asyncProperty(timed, credentials, async ({ b, exportDeadline }, keyPair) => {
			addCount(figures['runs by tempo'], b.tempo ? b.tempo.kind : 'none');
			addCount(figures['runs by export deadline (s)'], String(exportDeadline));
			await checkRun(b, keyPair, { figures, allForms, boundMs: runBoundMs(b, exportDeadline), options: { exportDeadline } });
		}),
		{ seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: LONG ? 1_500_000 : 150_000 },
	);
}, LONG ? 1_800_000 : 240_000);
