// @ts-check
'use strict';
const {
	beginPoll,
	DEFAULT_POLL_DEADLINE_MS,
	formatDuration,
	isMassDrop,
	judgeDrop,
	pendingDropIn,
	pendingDropOf,
	pollDeadlineMs,
} = require('../../nodes/shared/poll-guard');

/** The turn of a poll that runs; a skipped one fails the test. @param {ReturnType<typeof beginPoll>} turn */
function turnOf(turn) {
	if (turn === undefined) throw new Error('the poll was skipped');
	return turn;
}

describe('how long a poll may run', () => {
	test("the time n8n gives a poll, or five minutes when n8n does not say (n8n 1.x)", () => {
		expect(pollDeadlineMs({ getPollBudgetMs: () => 90_000 })).toBe(90_000);
		expect(pollDeadlineMs({})).toBe(DEFAULT_POLL_DEADLINE_MS);
		expect(DEFAULT_POLL_DEADLINE_MS).toBe(300_000);
		expect(pollDeadlineMs({ getPollBudgetMs: () => NaN })).toBe(DEFAULT_POLL_DEADLINE_MS);
		expect(pollDeadlineMs({ getPollBudgetMs: () => 0 })).toBe(DEFAULT_POLL_DEADLINE_MS);
	});

	test('durations read as a person says them', () => {
		expect([400, 1500, 60_000, 300_000, 90_000].map(formatDuration)).toEqual(['400 ms', '1.5 s', '1 minute', '5 minutes', '1.5 minutes']);
	});

	test('a poll within the previous one\'s deadline skips; past it, it takes the turn and the old one loses it', () => {
		const first = turnOf(beginPoll('wf:a', 1000, 0));
		expect(first.abandoned).toBeUndefined();
		expect(beginPoll('wf:a', 1000, 1000)).toBeUndefined();
		turnOf(beginPoll('wf:b', 1000, 1000)).end(); // another node, its own turn

		// Past the deadline, the running poll is taken as stuck.
		const second = turnOf(beginPoll('wf:a', 1000, 1001));
		expect(second.abandoned).toEqual({ startedAt: 0, deadlineMs: 1000 });
		expect(first.holdsTurn()).toBe(false);
		expect(second.holdsTurn()).toBe(true);

		first.end(); // the stuck poll ending late does not free the turn of the poll that replaced it
		expect(beginPoll('wf:a', 1000, 1500)).toBeUndefined();
		second.end();
		turnOf(beginPoll('wf:a', 1000, 1500)).end();
	});

	test('the deadline signal aborts at the deadline', async () => {
		const turn = turnOf(beginPoll('wf:signal', 30));
		expect(turn.signal.aborted).toBe(false);
		await new Promise((resolve) => setTimeout(resolve, 80));
		expect(turn.signal.aborted).toBe(true);
		turn.end();
	});
});

describe('what a glitch is', () => {
	test('more than the share of the records followed, and at least 10, leaving at once', () => {
		expect(isMassDrop(750, 750, 50)).toBe(true);
		expect(isMassDrop(40, 21, 50)).toBe(true);
		expect(isMassDrop(40, 20, 50)).toBe(false); // exactly half is not more than half
		expect(isMassDrop(12, 9, 50)).toBe(false); // fewer than 10
		expect(isMassDrop(12, 10, 50)).toBe(true);
		expect(isMassDrop(40, 40, 0)).toBe(false); // 0: off
		expect(isMassDrop(40, 40, 100)).toBe(false);
		expect(isMassDrop(40, 11, 25)).toBe(true);
	});

	/** Positions from..to-1. */
	const range = (from, to) => Array.from({ length: to - from }, (_, i) => from + i);

	test('held once; the same records gone at the next poll are a real drop', () => {
		expect(judgeDrop(750, range(0, 750), 50, undefined)).toBe('hold');
		expect(judgeDrop(750, range(0, 750), 50, pendingDropOf(750, range(0, 750)))).toBe('report');
		expect(judgeDrop(750, range(0, 748), 50, pendingDropOf(750, range(0, 750)))).toBe('hold'); // two came back: another drop
		expect(judgeDrop(750, range(0, 750), 50, pendingDropOf(800, range(0, 750)))).toBe('hold'); // another baseline
		expect(judgeDrop(750, range(0, 3), 50, pendingDropOf(750, range(0, 750)))).toBe('report'); // they came back
	});

	test('a glitch after a held real drop is held again, unless what remained is too small to weigh', () => {
		const real = pendingDropOf(40, range(0, 25));
		expect(judgeDrop(40, range(0, 27), 50, real)).toBe('report'); // 2 more of the 15 left: no mass drop
		expect(judgeDrop(40, range(0, 40), 50, real)).toBe('hold'); // all 15 others gone too: held again
		expect(judgeDrop(30, range(0, 30), 50, pendingDropOf(30, range(0, 25)))).toBe('report'); // 5 remained: under 10
	});

	test('a segment draining by more than the share each poll is held at most a few polls', () => {
		let followedGone = 0;
		let pending;
		let polls = 0;
		const followed = 20_000;
		for (; polls < 40; polls++) {
			// Each poll, 60% of what remains goes.
			const gone = followedGone + Math.ceil((followed - followedGone) * 0.6);
			if (judgeDrop(followed, range(0, gone), 50, pending) === 'report') break;
			pending = pendingDropOf(followed, range(0, gone));
			followedGone = gone;
		}
		expect(polls).toBeLessThan(10);
	});

	test('the held drop as kept in static data', () => {
		const held = pendingDropOf(9, [0, 8]);
		expect(held).toEqual({ of: 9, left: 2, at: Buffer.from([1, 1]).toString('base64') });
		expect(pendingDropIn({ pendingDrop: JSON.parse(JSON.stringify(held)) })).toEqual(held);
		expect(pendingDropIn({})).toBeUndefined();
		expect(pendingDropIn({ pendingDrop: { left: 3, of: 9 } })).toBeUndefined();
		expect(pendingDropIn({ pendingDrop: 'x' })).toBeUndefined();
	});
});
