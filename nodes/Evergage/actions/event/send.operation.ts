import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import { invalidFor, readActionSettings } from '../../../shared/actions';
import { buildEvent } from '../../../shared/event';
import { sendEvents } from '../../../shared/eventSend';
import { DEFAULT_CONCURRENCY, MAX_CONCURRENCY } from '../../../shared/query';
import { datasetField } from '../../../shared/fields';
import { actionOptions } from '../common.fields';

const attributeRows = (what: string, example: string): INodeProperties['options'] => [
	{
		displayName: 'Attribute',
		name: 'attribute',
		values: [
			{
				displayName: 'Name',
				name: 'name',
				type: 'string',
				default: '',
				placeholder: `e.g. ${example}`,
				description: `The name of the ${what} attribute, as set up in Personalization`,
			},
			{
				displayName: 'Value',
				name: 'value',
				type: 'string',
				default: '',
				description:
					'The value to set: typed text is sent as text, an expression keeps its type (a number stays a number)',
			},
		],
	},
];

const properties: INodeProperties[] = [
	datasetField('The name or identifier of the Personalization dataset the event goes to'),
	{
		displayName: 'Action',
		name: 'action',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'e.g. CRM Update',
		description: 'The name of the event, as campaigns and reports in Personalization see it',
	},
	{
		displayName: 'Identify User By',
		name: 'identifyBy',
		type: 'options',
		options: [
			{
				name: 'User ID',
				value: 'userId',
				description: "The user's ID in Personalization (sent as user.ID)",
			},
			{
				name: 'Identity Attribute',
				value: 'attribute',
				description:
					'An identity attribute such as an e-mail address, sent among the user attributes (the dataset must be set up to resolve it)',
			},
		],
		default: 'userId',
	},
	{
		displayName: 'User ID',
		name: 'userId',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'e.g. 0031x00000AbCdE',
		description: "The user's ID in Personalization, e.g. the CRM contact ID your dataset uses",
		displayOptions: { show: { identifyBy: ['userId'] } },
	},
	{
		displayName: 'Identity Attribute',
		name: 'identityAttribute',
		type: 'string',
		default: 'emailAddress',
		required: true,
		description: 'The name of the identity attribute, e.g. emailAddress or a customer ID attribute',
		displayOptions: { show: { identifyBy: ['attribute'] } },
	},
	{
		displayName: 'Identity Value',
		name: 'identityValue',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'e.g. ada@example.com',
		description: 'The value of the identity attribute for this user',
		displayOptions: { show: { identifyBy: ['attribute'] } },
	},
	{
		displayName: 'Attributes Input',
		name: 'attributeInput',
		type: 'options',
		options: [
			{
				name: 'Names and Values',
				value: 'fields',
				description: 'One row per attribute',
			},
			{
				name: 'JSON',
				value: 'json',
				description: 'A JSON object, for numbers, lists and nested values',
			},
		],
		default: 'fields',
	},
	{
		displayName: 'User Attributes',
		name: 'userAttributes',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add attribute',
		default: {},
		description: 'Attributes to set on the user profile',
		options: attributeRows('user', 'firstName'),
		displayOptions: { show: { attributeInput: ['fields'] } },
	},
	{
		displayName: 'User Attributes (JSON)',
		name: 'userAttributesJson',
		type: 'json',
		default: '{}',
		description: 'Attributes to set on the user profile, as a JSON object',
		displayOptions: { show: { attributeInput: ['json'] } },
	},
	{
		displayName: 'Account Attributes',
		name: 'accountAttributes',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add attribute',
		default: {},
		description:
			"Attributes to set on the user's account (Salesforce retired Account Profiles in August 2024; some tenants ignore them)",
		options: attributeRows('account', 'industry'),
		displayOptions: { show: { attributeInput: ['fields'] } },
	},
	{
		displayName: 'Account Attributes (JSON)',
		name: 'accountAttributesJson',
		type: 'json',
		default: '{}',
		description: "Attributes to set on the user's account, as a JSON object",
		displayOptions: { show: { attributeInput: ['json'] } },
	},
	actionOptions([
		{
			displayName: 'Account ID',
			name: 'accountId',
			type: 'string',
			default: '',
			description: "The ID of the user's account, sent as account.ID",
		},
		{
			displayName: 'Max Parallel Requests',
			name: 'concurrency',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: MAX_CONCURRENCY },
			default: DEFAULT_CONCURRENCY,
			description:
				'The most events on the wire at once. Fewer are sent at once after a 429 or a 503. 1 sends one event at a time.',
		},
		{
			displayName: 'Other Event Fields (JSON)',
			name: 'otherFields',
			type: 'json',
			default: '{}',
			description:
				'Any other documented event field, as a JSON object merged into the event, e.g. {"source": {"locale": "en_US"}, "itemAction": "View Item"}',
		},
		{
			displayName: 'Source Channel',
			name: 'sourceChannel',
			type: 'string',
			default: 'Server',
			description:
				'Sent as source.channel. Server-side events use "Server" (case-sensitive), which identity resolution needs.',
		},
	]),
];

export const description = updateDisplayOptions(
	{ show: { resource: ['event'], operation: ['send'] } },
	properties,
);

function eventOf(context: IExecuteFunctions, itemIndex: number): IDataObject {
	const read = (name: string, fallback: unknown) =>
		context.getNodeParameter(name, itemIndex, fallback) as unknown;
	return buildEvent(
		{
			action: read('action', ''),
			identifyBy: read('identifyBy', 'userId'),
			userId: read('userId', ''),
			identityAttribute: read('identityAttribute', ''),
			identityValue: read('identityValue', ''),
			attributeInput: read('attributeInput', 'fields'),
			userAttributes: read('userAttributes', {}),
			userAttributesJson: read('userAttributesJson', '{}'),
			accountAttributes: read('accountAttributes', {}),
			accountAttributesJson: read('accountAttributesJson', '{}'),
			options: read('options', {}) as IDataObject,
		},
		invalidFor(context.getNode(), itemIndex),
	);
}

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const settingsOf = (itemIndex: number) =>
		readActionSettings(
			this.getNodeParameter('options', itemIndex, {}) as IDataObject,
			invalidFor(this.getNode(), itemIndex),
			DEFAULT_CONCURRENCY,
		);
	// One pace for the whole run: its ceiling is the first item's Max Parallel Requests.
	return await sendEvents(this, settingsOf(0).concurrency, (itemIndex) => ({
		datasetId: this.getNodeParameter('datasetId', itemIndex, '') as unknown,
		event: eventOf(this, itemIndex),
		request: settingsOf(itemIndex).request,
	}));
}
