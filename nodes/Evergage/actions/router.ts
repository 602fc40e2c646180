import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import * as event from './event';
import * as user from './user';

type Execute = (this: IExecuteFunctions) => Promise<INodeExecutionData[][]>;

const OPERATIONS: Record<string, Record<string, { execute: Execute }>> = {
	event: { send: event.send },
	user: { lookUp: user.lookUp, delete: user.delete },
};

/** Resource and operation → the operation's execute, for all input items at once. */
export async function route(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const resource = this.getNodeParameter('resource', 0) as string;
	const operation = this.getNodeParameter('operation', 0) as string;
	const chosen = Object.prototype.hasOwnProperty.call(OPERATIONS, resource)
		? OPERATIONS[resource][operation]
		: undefined;
	if (chosen === undefined) {
		throw new NodeOperationError(
			this.getNode(),
			`The operation "${operation}" of resource "${resource}" is not known`,
			{ description: 'Pick a resource and an operation in the node.' },
		);
	}
	return await chosen.execute.call(this);
}
