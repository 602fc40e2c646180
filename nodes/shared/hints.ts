import type { IExecuteFunctions } from 'n8n-workflow';

/**
 * Items above which one export is likely to be too big for one execution: n8n keeps every item in
 * memory and saves them all with the execution. Measured in n8n 2.41.1 (README, "Large exports and
 * scaling"); the hint fires well before the point where saving fails.
 */
export const LARGE_EXPORT_ITEMS = 100_000;

/** Tells the user, in the output pane, that an export is big enough to strain the execution. */
export function hintLargeExport(context: IExecuteFunctions, itemCount: number): void {
	// addExecutionHints is missing from older n8n versions; the export itself must not depend on it.
	if (itemCount <= LARGE_EXPORT_ITEMS || typeof context.addExecutionHints !== 'function') return;
	context.addExecutionHints({
		message: `This export returned ${itemCount} items. Above ${LARGE_EXPORT_ITEMS} items an execution needs a lot of memory and may fail to save: pick Format CSV for a file, or export in batches with Options → Start Page (see the "Export in batches" example).`,
		type: 'warning',
		location: 'outputPane',
	});
}
