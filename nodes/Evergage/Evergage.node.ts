import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import * as event from './actions/event';
import { route } from './actions/router';
import * as user from './actions/user';

export class Evergage implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Evergage',
		name: 'evergage',
		icon: { light: 'file:evergage.svg', dark: 'file:evergage.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description:
			'Send events and attributes to, and look up or delete users in, Salesforce Marketing Cloud Personalization (Evergage, Interaction Studio)',
		defaults: { name: 'Evergage' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'evergageApi', required: true }],
		properties: [
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Event', value: 'event' },
					{ name: 'User', value: 'user' },
				],
				default: 'event',
			},
			...event.description,
			...user.description,
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await route.call(this);
	}
}
