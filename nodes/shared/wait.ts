import { sleep } from 'n8n-workflow';

/** The longest wait a timer can hold: past it, a timer fires at once (and Node warns). */
export const MAX_WAIT_MS = 2 ** 31 - 1;

/** Waits `ms` (never past MAX_WAIT_MS; NaN or less than 0 is no wait), or less if `signal` aborts first. */
export async function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
	if (signal.aborted) return;
	ms = Number.isNaN(ms) ? 0 : Math.min(Math.max(0, ms), MAX_WAIT_MS);
	let onAbort: () => void = () => {};
	const aborted = new Promise<void>((resolve) => {
		onAbort = resolve;
		signal.addEventListener('abort', onAbort, { once: true });
	});
	// Given the signal, n8n's sleep clears its timer on abort, so a cancelled run keeps no timer
	// alive; an older n8n ignores it, and the race still ends the wait.
	await Promise.race([sleep(ms, signal).catch(() => undefined), aborted]);
	signal.removeEventListener('abort', onAbort);
}

/** One signal that aborts when any of `signals` does (a never-aborting one when none is given). */
export function anySignal(signals: Array<AbortSignal | undefined>): AbortSignal {
	const given = signals.filter((s): s is AbortSignal => s !== undefined);
	return given.length === 0 ? new AbortController().signal : AbortSignal.any(given);
}
