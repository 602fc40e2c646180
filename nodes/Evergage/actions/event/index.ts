import type { INodeProperties } from 'n8n-workflow';

import * as send from './send.operation';

export { send };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['event'] } },
		options: [
			{
				name: 'Send',
				value: 'send',
				action: 'Send an event',
				description:
					'Send a server-side event for a user, setting user and account attributes (one event per input item)',
			},
		],
		default: 'send',
	},
	...send.description,
];
