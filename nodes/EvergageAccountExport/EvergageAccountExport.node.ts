import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';

import { EXPORT_SUBTITLE, exportNodeBasics } from '../shared/fields';
import { runPerInputItem } from '../shared/output';
import { exportItems } from '../shared/export';

export class EvergageAccountExport implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Evergage Account Export',
		name: 'evergageAccountExport',
		icon: { light: 'file:evergage.svg', dark: 'file:evergage.dark.svg' },
		description:
			'Export accounts from Salesforce Marketing Cloud Personalization (Evergage, Interaction Studio)',
		defaults: { name: 'Evergage Account Export' },
		subtitle: EXPORT_SUBTITLE,
		usableAsTool: true,
		...exportNodeBasics('accounts'),
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runPerInputItem(this, async (i) => await exportItems(this, i, 'accounts'));
	}
}
