import type { INode } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

/**
 * The trigger's safety rules: how long a poll may run, what becomes of one that runs past that (and
 * how that is told), and when a drop in the export is a glitch rather than a change. No network;
 * the poll (poll.ts) asks.
 */

/** A poll's deadline when n8n does not say how long a poll may spend (n8n 1.x): n8n 2.x's own default. */
export const DEFAULT_POLL_DEADLINE_MS = 5 * 60_000;

/** Mass Drop Guard's default: more than this share (percent) of the records followed leaving at once is held. */
export const DEFAULT_MASS_DROP_PERCENT = 50;

/** Fewer records than this leaving at once are never held: a small segment's real moves are reported at once. */
export const MASS_DROP_MIN_RECORDS = 10;

/** What n8n tells a poll about its time (n8n 2.x: `getPollBudgetMs`, five minutes unless set). */
export interface PollClock {
	getPollBudgetMs?(): number;
}

/** The poll's deadline: the time n8n gives a poll, or five minutes when n8n does not say. */
export function pollDeadlineMs(context: PollClock): number {
	const budget = typeof context.getPollBudgetMs === 'function' ? context.getPollBudgetMs() : NaN;
	return Number.isFinite(budget) && budget > 0 ? budget : DEFAULT_POLL_DEADLINE_MS;
}

export function formatDuration(ms: number): string {
	if (ms < 1000) return `${Math.round(ms)} ms`;
	if (ms < 60_000) return `${Math.round(ms / 100) / 10} s`;
	const minutes = Math.round(ms / 6000) / 10;
	return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

interface PollUnderWay {
	generation: number;
	startedAt: number;
	deadlineAt: number;
}

/** Polls under way in this process, by workflow and node: n8n starts a poll on time even while the previous one still runs. */
const underWay = new Map<string, PollUnderWay>();
let lastGeneration = 0;

/** One poll's turn: its deadline signal, and whether it still holds the turn when it is ready to commit. */
export interface PollTurn {
	readonly deadlineMs: number;
	/** Aborts at the deadline: the export's requests and waits end on it. */
	readonly signal: AbortSignal;
	/** A poll past its deadline that n8n still runs, found when this one started; it is abandoned. */
	readonly abandoned?: { startedAt: number; deadlineMs: number };
	/** True while no later poll took this one's place. */
	holdsTurn(): boolean;
	/** The poll is over (success or failure): the next one may start. */
	end(): void;
}

/**
 * Starts a poll of `key`, or returns undefined to skip it: a poll still within its deadline is left to finish
 * (two polls against one baseline would report the same events twice). A poll past its deadline
 * is taken as stuck: this one runs in its place, and the stuck one's result is never committed.
 * Skipping therefore lasts at most until the running poll's deadline.
 */
export function beginPoll(key: string, deadlineMs: number, now = Date.now()): PollTurn | undefined {
	const running = underWay.get(key);
	if (running !== undefined && now <= running.deadlineAt) return undefined;
	const mine: PollUnderWay = {
		generation: ++lastGeneration,
		startedAt: now,
		deadlineAt: now + deadlineMs,
	};
	underWay.set(key, mine);
	const holdsTurn = () => underWay.get(key)?.generation === mine.generation;
	return {
		deadlineMs,
		signal: AbortSignal.timeout(deadlineMs),
		abandoned:
			running === undefined
				? undefined
				: { startedAt: running.startedAt, deadlineMs: running.deadlineAt - running.startedAt },
		holdsTurn,
		end: () => {
			if (holdsTurn()) underWay.delete(key);
		},
	};
}

/** Where a poll hands n8n an error while it goes on (n8n makes it an error execution). */
export interface PollReporter {
	getNode(): INode;
	__emitError?(error: Error): void;
}

/**
 * A poll still marked as running past its deadline: reported to n8n, which shows it as an error
 * execution (and runs the error workflow), while this poll runs in its place. Without n8n's
 * reporter (not an n8n poll tick) the error is thrown instead, and this poll does not run.
 */
export function reportAbandoned(
	reporter: PollReporter,
	abandoned: NonNullable<PollTurn['abandoned']>,
) {
	const error = new NodeOperationError(
		reporter.getNode(),
		`The previous poll, started at ${new Date(abandoned.startedAt).toISOString()}, has run past its deadline of ${formatDuration(abandoned.deadlineMs)}: it is taken as stuck, and this poll runs in its place`,
		{
			description:
				'Whatever the stuck poll still returns is discarded, so nothing is reported twice; this poll compares with the last baseline kept. If this repeats, look at what holds n8n up (its database, its load), or narrow the export with a Segment.',
		},
	);
	if (typeof reporter.__emitError === 'function') reporter.__emitError(error);
	else throw error;
}

/** Why a poll failed, in the poll's words when its turn or its deadline ended it (the door says "cancelled"). */
export function pollFailure(node: INode, turn: PollTurn, error: Error): Error {
	if (!turn.holdsTurn()) return supersededError(node, turn.deadlineMs);
	if (turn.signal.aborted) return deadlineError(node, turn.deadlineMs);
	return error;
}

export function deadlineError(node: INode, deadlineMs: number): NodeOperationError {
	return new NodeOperationError(
		node,
		`The poll did not finish within its deadline of ${formatDuration(deadlineMs)}`,
		{
			description:
				'Nothing was emitted and the baseline is unchanged: the next poll compares with it again. The deadline is the time n8n gives a poll (five minutes unless set). A slow or large export: narrow it with a Segment, or lower Options > Timeout so that a silent request is retried sooner.',
		},
	);
}

export function supersededError(node: INode, deadlineMs: number): NodeOperationError {
	return new NodeOperationError(
		node,
		`This poll ran past its deadline of ${formatDuration(deadlineMs)} and a later poll took over; its result was discarded`,
		{
			description:
				'Nothing was emitted by this poll and the baseline kept by the later one stands.',
		},
	);
}

/** The rule of the mass-drop guard, with the option's percentage (0 turns it off). */
export function isMassDrop(followed: number, left: number, percent: number): boolean {
	return percent > 0 && left >= MASS_DROP_MIN_RECORDS && left * 100 > percent * followed;
}

/**
 * A drop held by one poll, kept beside the baseline (which a poll that holds leaves as it was)
 * until the next poll confirms or clears it: which of the `of` records followed left, one bit each.
 */
export interface PendingDrop {
	of: number;
	left: number;
	/** Base64 bitmap over the baseline's positions. */
	at: string;
}

export function pendingDropOf(followed: number, left: readonly number[]): PendingDrop {
	const bits = Buffer.alloc(Math.ceil(followed / 8));
	for (const position of left) bits[position >> 3] |= 1 << (position & 7);
	return { of: followed, left: left.length, at: bits.toString('base64') };
}

/** Whether every record of the held drop is gone again. */
function stillGone(pending: PendingDrop, left: readonly number[]): boolean {
	const held = Buffer.from(pending.at, 'base64');
	const now = Buffer.from(pendingDropOf(pending.of, left).at, 'base64');
	return held.length === now.length && held.every((byte, i) => (byte & ~now[i]) === 0);
}

/**
 * What a poll does with the records that left (`left`: positions among the `followed` ones):
 * report them, or hold them (emit nothing, keep the baseline) for the next poll to confirm. A mass
 * drop is held; the next poll that sees those records gone again reports it, unless the records
 * gone since are a mass drop of what remained, which is held in turn. Each hold needs more than
 * the share of what remains to leave, so holding ends after a few polls even while a segment drains.
 */
export function judgeDrop(
	followed: number,
	left: readonly number[],
	percent: number,
	pending: PendingDrop | undefined,
): 'report' | 'hold' {
	if (!isMassDrop(followed, left.length, percent)) return 'report';
	if (pending === undefined || pending.of !== followed || !stillGone(pending, left)) return 'hold';
	const remained = followed - pending.left;
	return isMassDrop(remained, left.length - pending.left, percent) ? 'hold' : 'report';
}

/** The drop held in the trigger's static data, if any. */
export function pendingDropIn(state: Record<string, unknown>): PendingDrop | undefined {
	const pending = state.pendingDrop as Partial<PendingDrop> | undefined;
	return typeof pending?.left === 'number' &&
		typeof pending.of === 'number' &&
		typeof pending.at === 'string'
		? { of: pending.of, left: pending.left, at: pending.at }
		: undefined;
}
