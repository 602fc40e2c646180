import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import { invalidFor, readActionSettings } from '../../../shared/actions';
import { lookUpUsers } from '../../../shared/lookup';
import { DEFAULT_CONCURRENCY, MAX_CONCURRENCY } from '../../../shared/query';
import { datasetField } from '../../../shared/fields';
import { actionOptions } from '../common.fields';

const properties: INodeProperties[] = [
	datasetField('The name or identifier of the Personalization dataset the user is in'),
	{
		displayName: 'User ID',
		name: 'userId',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'e.g. 0031x00000AbCdE',
		description: "The user's ID (primary user ID), or one of their anonymous IDs",
	},
	actionOptions([
		{
			displayName: 'Max Parallel Requests',
			name: 'concurrency',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: MAX_CONCURRENCY },
			default: DEFAULT_CONCURRENCY,
			description: 'The most lookups on the wire at once, for many input items',
		},
		{
			displayName: 'Output Empty Item If Not Found',
			name: 'emptyIfNotFound',
			type: 'boolean',
			default: false,
			description:
				'Whether an unknown user gives an empty item (linked to its input item) instead of an error, for lookups in bulk',
		},
	]),
];

export const description = updateDisplayOptions(
	{ show: { resource: ['user'], operation: ['lookUp'] } },
	properties,
);

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const optionsOf = (itemIndex: number) =>
		this.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const settingsOf = (itemIndex: number) =>
		readActionSettings(
			optionsOf(itemIndex),
			invalidFor(this.getNode(), itemIndex),
			DEFAULT_CONCURRENCY,
		);
	return await lookUpUsers(this, settingsOf(0).concurrency, (itemIndex) => ({
		datasetId: this.getNodeParameter('datasetId', itemIndex, '') as unknown,
		userId: this.getNodeParameter('userId', itemIndex, '') as unknown,
		emptyIfNotFound: optionsOf(itemIndex).emptyIfNotFound === true,
		request: settingsOf(itemIndex).request,
	}));
}
