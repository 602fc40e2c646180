import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import { invalidFor, readActionSettings } from '../../../shared/actions';
import { deleteUsers } from '../../../shared/deletion';
import { datasetField } from '../../../shared/fields';
import { actionOptions } from '../common.fields';

const properties: INodeProperties[] = [
	{
		displayName:
			'Deletes the user and all data about them in this dataset at once. It cannot be undone.',
		name: 'deleteNotice',
		type: 'notice',
		default: '',
	},
	datasetField('The name or identifier of the Personalization dataset to delete the user from'),
	{
		displayName: 'Delete By',
		name: 'deleteBy',
		type: 'options',
		options: [
			{ name: 'User ID', value: 'userId', description: "The user's ID (primary user ID)" },
			{
				name: 'Anonymous ID',
				value: 'anonId',
				description: 'One of the anonymous IDs of the user',
			},
			{
				name: 'Identity Attribute',
				value: 'attribute',
				description: 'Another identity attribute of the user, such as an e-mail address',
			},
		],
		default: 'userId',
	},
	{
		displayName: 'Identity Attribute',
		name: 'identityAttribute',
		type: 'string',
		default: 'emailAddress',
		required: true,
		description: 'The name of the identity attribute, e.g. emailAddress',
		displayOptions: { show: { deleteBy: ['attribute'] } },
	},
	{
		displayName: 'Identity Value',
		name: 'identityValue',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'e.g. ada@example.com',
		description:
			'The one identity of the user to delete. Required: an empty value, a line break or a comma is refused before anything is sent.',
	},
	actionOptions([]),
];

export const description = updateDisplayOptions(
	{ show: { resource: ['user'], operation: ['delete'] } },
	properties,
);

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return await deleteUsers(this, (itemIndex) => ({
		datasetId: this.getNodeParameter('datasetId', itemIndex, '') as unknown,
		identityType: this.getNodeParameter('deleteBy', itemIndex, 'userId') as unknown,
		identityAttribute: this.getNodeParameter('identityAttribute', itemIndex, '') as unknown,
		identityValue: this.getNodeParameter('identityValue', itemIndex, '') as unknown,
		request: readActionSettings(
			this.getNodeParameter('options', itemIndex, {}) as IDataObject,
			invalidFor(this.getNode(), itemIndex),
			1,
		).request,
	}));
}
