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

export class EvergageAccountExport implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Evergage Account Export',
		name: 'evergageAccountExport',
		icon: { light: 'file:evergage.svg', dark: 'file:evergage.dark.svg' },
		group: ['input'],
		version: 1,
		subtitle:
			'={{"Dataset " + $parameter["datasetId"] + " as " + $parameter["format"].toUpperCase()}}',
		description:
			'Export accounts from Salesforce Marketing Cloud Personalization (Evergage, Interaction Studio)',
		defaults: { name: 'Evergage Account Export' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'evergageApi', required: true }],
		properties: exportFields('accounts'),
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runPerInputItem(
			this,
			async (itemIndex) => await exportItems(this, itemIndex, 'accounts'),
		);
	}
}
