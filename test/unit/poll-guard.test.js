// @ts-check
'use strict';
const {
	beginPoll,
	DEFAULT_POLL_DEADLINE_MS,
	formatDuration,
	isMassDrop,
	judgeDrop,
	pendingDropIn,
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

	test('held once; the same drop against the same baseline at the next poll is real', () => {
		expect(judgeDrop(750, 750, 50, undefined)).toBe('hold');
		expect(judgeDrop(750, 748, 50, { left: 750, of: 750 })).toBe('report');
		expect(judgeDrop(750, 748, 50, { left: 750, of: 800 })).toBe('hold'); // another baseline
		expect(judgeDrop(750, 3, 50, { left: 750, of: 750 })).toBe('report');
	});

	test('the held drop as kept in static data', () => {
		expect(pendingDropIn({ pendingDrop: { left: 3, of: 9 } })).toEqual({ left: 3, of: 9 });
		expect(pendingDropIn({})).toBeUndefined();
		expect(pendingDropIn({ pendingDrop: 'x' })).toBeUndefined();
	});
});
