import { retryTiming } from './retry';
import { sleepUnlessAborted } from './wait';

/**
 * How fast one export asks: how many of its requests may be on the wire at once (the window), and
 * the wait all of them honour after a 429. The walk starts pages while it has fewer than the window
 * in flight; the door takes a slot for each attempt and gives it back when the answer is in.
 *
 * Additive increase, multiplicative decrease, as TCP and AWS's adaptive retry mode do:
 * - the window opens at `opening` (an export opens at the ceiling, see pages.ts) and, below the
 *   ceiling, doubles each round (a window's worth of pages) while pages per second rise, up to the
 *   ceiling (Max Parallel Requests);
 * - a 429 or a 5xx halves it, once for all the attempts sent at that window;
 * - once steady, it probes one more after a quiet stretch, and keeps it only if pages per second rise
 *   and the service does not refuse; a refused or useless probe doubles the next stretch. So a
 *   service that allows N requests at once sees the export settle at N, with few refusals;
 * - a 429 also closes a gate for the Retry-After the service asked for: no attempt of the export
 *   goes out before it opens.
 */
export class ExportPace {
	private current: number;

	/** Probed: one more was kept, and has not yet held for a whole quiet stretch. */
	private mode: 'growing' | 'steady' | 'probing' | 'probed' = 'growing';

	/** Attempts on the wire. */
	private active = 0;

	/** Attempts waiting for a slot, first come first served. */
	private readonly queue: Array<() => void> = [];

	/** Counts decreases: a refusal of an attempt sent before the last one does not decrease again. */
	private epoch = 0;

	private roundPages = 0;

	private roundStartedAt: number;

	/** Pages per second of the round before, to tell whether more in flight paid. */
	private lastRate = 0;

	private quietPages = 0;

	private probeAfter = PROBE_AFTER_PAGES;

	private gateOpensAt = 0;

	constructor(
		readonly ceiling: number,
		private readonly now: () => number = Date.now,
		opening = START_WINDOW,
	) {
		this.current = Math.max(1, Math.min(ceiling, opening));
		this.roundStartedAt = now();
	}

	/** Requests that may be on the wire now. */
	get window(): number {
		return this.current;
	}

	/** The epoch an attempt starting now belongs to. */
	get attemptEpoch(): number {
		return this.epoch;
	}

	/**
	 * Waits for a slot, then for the gate. Resolves with the attempt's epoch (hand it back with
	 * `refused`), or undefined when `signal` aborted first. Every epoch returned needs a `release`.
	 */
	async acquire(signal?: AbortSignal): Promise<number | undefined> {
		if (this.active < this.current && this.queue.length === 0) this.active++;
		else if (!(await this.waitForSlot(signal))) return undefined;
		const never = new AbortController().signal;
		for (let wait = this.gateOpensAt - this.now(); wait > 0; wait = this.gateOpensAt - this.now()) {
			if (signal?.aborted) break;
			await sleepUnlessAborted(wait, signal ?? never);
		}
		if (signal?.aborted) {
			this.release();
			return undefined;
		}
		return this.epoch;
	}

	/** The attempt's answer is in (or it failed): its slot goes to the next in line. */
	release(): void {
		this.active--;
		this.admit();
	}

	/** A page came back whole. */
	pageDone(): void {
		this.quietPages++;
		if (++this.roundPages < Math.max(MIN_ROUND, this.current)) return;
		const rate = (this.roundPages * 1000) / Math.max(1, this.now() - this.roundStartedAt);
		const before = this.lastRate;
		this.lastRate = rate;
		if (this.mode === 'growing') {
			const doubled = Math.min(this.ceiling, this.current * 2);
			if (rate >= before * RISE && doubled > this.current) this.setWindow(doubled);
			else this.mode = 'steady';
		} else if (this.mode === 'probing') {
			// One more must pay for itself: at least half the rise it could bring.
			if (rate < before * (1 + 0.5 / (this.current - 1))) this.stepBack();
			else this.mode = 'probed';
			this.quietPages = 0;
		} else if (this.mode === 'probed' && this.quietPages >= this.probeAfter) {
			this.mode = 'steady';
		} else if (this.quietPages >= this.probeAfter && this.current < this.ceiling) {
			this.mode = 'probing';
			this.setWindow(this.current + 1);
		}
		this.startRound();
	}

	/**
	 * The service refused an attempt sent in `epoch`: 429 (with the wait it asked for, if any) or a
	 * server error. A 429's wait holds every attempt of the export.
	 */
	refused(epoch: number, waitMs?: number): void {
		if (waitMs !== undefined) this.closeGate(waitMs);
		if (epoch !== this.epoch) return;
		// A refusal soon after a probe is the probe's: one step back. Otherwise, half.
		if (this.mode === 'probing' || this.mode === 'probed') this.stepBack();
		else {
			this.setWindow(Math.floor(this.current / 2));
			this.mode = 'steady';
		}
		this.quietPages = 0;
		this.startRound();
	}

	/**
	 * Holds every attempt for `waitMs`, never longer than the longest Retry-After the door honours:
	 * the door fails an attempt asked to wait longer, so no other attempt waits for it.
	 */
	private closeGate(waitMs: number): void {
		const bounded = Math.min(Math.max(0, waitMs), retryTiming.maxRetryAfterMs);
		if (Number.isFinite(bounded))
			this.gateOpensAt = Math.max(this.gateOpensAt, this.now() + bounded);
	}

	/** Back from a probe that did not pay or was refused; the next one waits twice as long. */
	private stepBack(): void {
		this.probeAfter *= 2;
		this.setWindow(this.current - 1);
		this.mode = 'steady';
	}

	/** In line for a slot: true once given one, false if `signal` aborted first. */
	private async waitForSlot(signal?: AbortSignal): Promise<boolean> {
		if (signal?.aborted) return false;
		return await new Promise<boolean>((resolve) => {
			const admitted = () => {
				signal?.removeEventListener('abort', leave);
				resolve(true);
			};
			const leave = () => {
				const at = this.queue.indexOf(admitted);
				if (at < 0) return;
				this.queue.splice(at, 1);
				resolve(false);
			};
			this.queue.push(admitted);
			signal?.addEventListener('abort', leave, { once: true });
		});
	}

	private admit(): void {
		while (this.active < this.current && this.queue.length > 0) {
			this.active++;
			this.queue.shift()?.();
		}
	}

	private setWindow(window: number): void {
		const next = Math.max(1, Math.min(this.ceiling, window));
		// Attempts sent at the larger window were already answered for by this decrease.
		if (next < this.current) this.epoch++;
		this.current = next;
		this.admit();
	}

	private startRound(): void {
		this.roundPages = 0;
		this.roundStartedAt = this.now();
	}
}

/** Gentle with a service that has not answered yet, and two doublings from the usual ceiling. */
const START_WINDOW = 2;
/** Fewer pages in a round would measure noise. */
const MIN_ROUND = 2;
/** Doubling the window must raise pages per second by this much to go on doubling. */
const RISE = 1.15;
/** Pages at a steady window before the first probe above it. */
const PROBE_AFTER_PAGES = 16;
