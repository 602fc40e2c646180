import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { runPerInputItem } from '../shared/output';
import { exportFields } from '../shared/fields';
import { exportItems } from '../shared/records';

export class EvergageUserExport implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Evergage User Export',
		name: 'evergageUserExport',
		icon: { light: 'file:evergage.svg', dark: 'file:evergage.dark.svg' },
		group: ['input'],
		version: 1,
		subtitle:
			'={{"Dataset " + $parameter["datasetId"] + " as " + $parameter["format"].toUpperCase()}}',
		description:
			'Export users (visitor profiles) from Salesforce Marketing Cloud Personalization (Evergage, Interaction Studio)',
		defaults: { name: 'Evergage User Export' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'evergageApi', required: true }],
		properties: exportFields('users'),
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runPerInputItem(
			this,
			async (itemIndex) => await exportItems(this, itemIndex, 'users'),
		);
	}
}
