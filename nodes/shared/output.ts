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
			const error = asNodeError(context, caught, itemIndex);
			if (!context.continueOnFail()) throw error;
			output.push(errorItem(error, itemIndex));
		}
	}
	return [output];
}

/** An item's failure, as Continue On Fail outputs it. */
function errorItem(
	error: NodeApiError | NodeOperationError,
	itemIndex: number,
): INodeExecutionData {
	return {
		json: {
			error: error.message,
			...(error.description ? { description: error.description } : {}),
		},
		pairedItem: { item: itemIndex },
	};
}

function asNodeError(
	context: IExecuteFunctions,
	caught: unknown,
	itemIndex: number,
): NodeApiError | NodeOperationError {
	return caught instanceof NodeApiError || caught instanceof NodeOperationError
		? caught
		: new NodeOperationError(context.getNode(), caught as Error, { itemIndex });
}

/**
 * Runs `handle` for every input item, up to `concurrency` at once, and outputs their items in input
 * order. With Continue On Fail a failing item yields an error item and the others go on. Without it,
 * no item starts after the first failure; the items already started finish (a request on the wire
 * cannot be called back), and the failure of the earliest item is thrown, its description told by
 * `whenStopped` how many items succeeded.
 */
export async function runItemsConcurrently(
	context: IExecuteFunctions,
	concurrency: number,
	handle: (itemIndex: number) => Promise<INodeExecutionData[]>,
	whenStopped: (succeeded: number) => string,
): Promise<INodeExecutionData[][]> {
	const count = context.getInputData().length;
	const results: INodeExecutionData[][] = new Array(count);
	const failures = new Map<number, NodeApiError | NodeOperationError>();
	let next = 0;
	let succeeded = 0;
	const worker = async () => {
		while (next < count && failures.size === 0) {
			const itemIndex = next++;
			try {
				results[itemIndex] = await handle(itemIndex);
				succeeded++;
			} catch (caught) {
				const error = asNodeError(context, caught, itemIndex);
				if (context.continueOnFail()) results[itemIndex] = [errorItem(error, itemIndex)];
				else failures.set(itemIndex, error);
			}
		}
	};
	await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
	if (failures.size > 0) {
		const error = failures.get(Math.min(...failures.keys())) as NodeApiError | NodeOperationError;
		const stopped = whenStopped(succeeded);
		error.description = [error.description, stopped].filter(Boolean).join(' ');
		throw error;
	}
	const output: INodeExecutionData[] = [];
	for (const items of results) for (const item of items ?? []) output.push(item);
	return [output];
}
