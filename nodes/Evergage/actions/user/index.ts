import type { INodeProperties } from 'n8n-workflow';

import * as deleteUser from './delete.operation';
import * as lookUp from './lookUp.operation';

export { deleteUser as delete, lookUp };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['user'] } },
		options: [
			{
				name: 'Delete',
				value: 'delete',
				action: 'Delete a user',
				description:
					'Delete a user and all their data at once, by user ID, anonymous ID or identity attribute (Right to be Forgotten). Cannot be undone.',
			},
			{
				name: 'Look Up',
				value: 'lookUp',
				action: 'Look up a user',
				description: "Get a user's profile by user ID or anonymous ID (Right of Access)",
			},
		],
		default: 'lookUp',
	},
	...lookUp.description,
	...deleteUser.description,
];
