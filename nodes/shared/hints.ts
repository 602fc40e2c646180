import type { IExecuteFunctions } from 'n8n-workflow';

/**
 * Items above which one export strains one execution: n8n keeps every item in memory and saves them
 * all with the execution. In n8n 2.41.1 (README, "Large exports and scaling") executions of more than
 * ~275,000 accounts are not shown in the editor and ~1.4 million are not saved; the hint comes first.
 */
export const LARGE_EXPORT_ITEMS = 100_000;

/** Tells the user, in the output pane, that an export is big enough to strain the execution. */
export function hintLargeExport(context: IExecuteFunctions, itemCount: number): void {
	// addExecutionHints is missing from older n8n versions; the export itself must not depend on it.
	if (itemCount <= LARGE_EXPORT_ITEMS || typeof context.addExecutionHints !== 'function') return;
	context.addExecutionHints({
		message: `This export returned ${itemCount} items. An execution this large needs a lot of memory (about 4 KB per item); n8n does not show it in the editor above roughly 275000 items and cannot save it above roughly 1.4 million. Pick Format CSV for a file, or export in batches with Options → Start Page (see the "Export in batches" example).`,
		type: 'warning',
		location: 'outputPane',
	});
}
