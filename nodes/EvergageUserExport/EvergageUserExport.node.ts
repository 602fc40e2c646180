import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';

import { EXPORT_SUBTITLE, exportNodeBasics } from '../shared/fields';
import { runPerInputItem } from '../shared/output';
import { exportItems } from '../shared/export';

export class EvergageUserExport implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Evergage User Export',
		name: 'evergageUserExport',
		icon: { light: 'file:evergage.svg', dark: 'file:evergage.dark.svg' },
		description:
			'Export users (visitor profiles) from Salesforce Marketing Cloud Personalization (Evergage, Interaction Studio)',
		defaults: { name: 'Evergage User Export' },
		subtitle: EXPORT_SUBTITLE,
		usableAsTool: true,
		...exportNodeBasics('users'),
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runPerInputItem(this, async (i) => await exportItems(this, i, 'users'));
	}
}
