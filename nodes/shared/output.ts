import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { hintLargeExport } from './hints';

/**
 * Runs an export once per input item (so expressions and Loop nodes work per item) and honours
 * Continue On Fail: a failing item yields an item with `error`, and the others go on.
 */
export async function runPerInputItem(
	context: IExecuteFunctions,
	exportItem: (itemIndex: number) => Promise<INodeExecutionData[]>,
): Promise<INodeExecutionData[][]> {
	const output: INodeExecutionData[] = [];
	const inputCount = context.getInputData().length;
	for (let itemIndex = 0; itemIndex < inputCount; itemIndex++) {
		try {
			const items = await exportItem(itemIndex);
			hintLargeExport(context, items.length);
			// One input item (the usual case): its items are the output, without a copy of a million references.
			if (inputCount === 1) return [items];
			// push(...items) overflows the call stack past ~100k items.
			for (const item of items) output.push(item);
		} catch (caught) {
			const error =
				caught instanceof NodeApiError || caught instanceof NodeOperationError
					? caught
					: new NodeOperationError(context.getNode(), caught as Error, { itemIndex });
			if (!context.continueOnFail()) throw error;
			output.push({
				json: {
					error: error.message,
					...(error.description ? { description: error.description } : {}),
				},
				pairedItem: { item: itemIndex },
			});
		}
	}
	return [output];
}
