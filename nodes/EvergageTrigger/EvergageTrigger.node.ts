import type {
	INodeExecutionData,
	INodeProperties,
	INodeType,
	INodeTypeDescription,
	IPollFunctions,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { pollChanges } from '../shared/poll';
import { datesOutputOf, formatItemDates, ISO_DATES_SINCE_VERSION } from '../shared/dates';
import {
	datesFields,
	exportField,
	exportOptionsOnly,
	NODE_VERSIONS,
	TRIGGER_DATES_TEXT,
} from '../shared/fields';
import { DEFAULT_MASS_DROP_PERCENT } from '../shared/poll-guard';

/** Export options that mean the same for a trigger; paging and output options are the trigger's own business. */
const SHARED_OPTIONS = [
	'concurrency',
	'end',
	'includeGeo',
	'retries',
	'segmentId',
	'segmentationId',
	'start',
	'timeout',
];

/** Options only a trigger has, beside the export's own. */
const TRIGGER_OPTIONS: INodeProperties[] = [
	{
		displayName: 'Mass Drop Guard',
		name: 'massDropGuard',
		type: 'number',
		typeOptions: { minValue: 0, maxValue: 100 },
		default: DEFAULT_MASS_DROP_PERCENT,
		description:
			'A poll in which more than this percentage of the records followed (and at least 10) leave at once emits nothing and keeps its baseline: the next poll reports the drop if it sees it too, and nothing if the records came back. 0 turns the guard off.',
	},
];

/** The export's options the trigger takes, with the trigger's own, in n8n's alphabetical order. */
function triggerOptions(entity: 'accounts' | 'users'): INodeProperties {
	const shared = exportOptionsOnly(entity, SHARED_OPTIONS);
	const options = [...(shared.options as INodeProperties[]), ...TRIGGER_OPTIONS];
	options.sort((a, b) => a.displayName.localeCompare(b.displayName));
	return { ...shared, options, displayOptions: { show: { entity: [entity] } } };
}

export class EvergageTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Evergage Trigger',
		name: 'evergageTrigger',
		icon: { light: 'file:evergage.svg', dark: 'file:evergage.dark.svg' },
		group: ['trigger'],
		version: NODE_VERSIONS,
		defaultVersion: ISO_DATES_SINCE_VERSION,
		subtitle:
			'={{$parameter["events"].join(", ") + ($parameter["datasetId"] ? " in " + $parameter["datasetId"] : "")}}',
		description:
			'Starts a workflow when accounts or users of Salesforce Marketing Cloud Personalization (Evergage, Interaction Studio) enter or leave a segment, appear, or change',
		defaults: { name: 'Evergage Trigger' },
		// n8n adds the Poll Times field to every polling node.
		polling: true,
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'evergageApi', required: true }],
		properties: [
			{
				displayName: 'Entity',
				name: 'entity',
				type: 'options',
				options: [
					{ name: 'Accounts', value: 'accounts' },
					{ name: 'Users', value: 'users' },
				],
				default: 'accounts',
			},
			exportField('accounts', 'datasetId'),
			{
				displayName: 'Segment (Name or ID)',
				name: 'filter',
				type: 'string',
				default: '',
				placeholder: 'e.g. High Value Accounts',
				description:
					'Only records in this segment. Entered and Left then mean entered and left the segment; without one, appeared in and left the dataset.',
			},
			{
				displayName: 'Events',
				name: 'events',
				type: 'multiOptions',
				options: [
					{
						name: 'Changed',
						value: 'changed',
						description: 'A record still there changed, as set in Changed On',
					},
					{
						name: 'Entered',
						value: 'entered',
						description:
							'A record is in the export and was not in the previous one (also a first appearance, unless New is chosen)',
					},
					{
						name: 'Left',
						value: 'left',
						description: 'A record was in the previous export and is not any more',
					},
					{
						name: 'New',
						value: 'new',
						description: 'A record this trigger has never seen before',
					},
				],
				default: ['entered'],
				required: true,
				description: 'What starts the workflow. Each record gives at most one item per poll.',
			},
			{
				displayName: 'Changed On',
				name: 'changeOn',
				type: 'options',
				options: [
					{
						name: 'Engagement Score Moved',
						value: 'engagementScore',
						description: 'The engagement score went up or down by at least Minimum Score Change',
					},
					{
						name: 'Last Activity Advanced',
						value: 'lastActivity',
						description: 'The record was active again since the previous poll',
					},
					{
						name: 'Any Field Changed',
						value: 'anyField',
						description: 'Any field or attribute of the record changed',
					},
				],
				default: 'engagementScore',
				displayOptions: { show: { events: ['changed'] } },
			},
			{
				displayName: 'Minimum Score Change',
				name: 'minScoreChange',
				type: 'number',
				typeOptions: { minValue: 0, numberPrecision: 3 },
				default: 0.1,
				description:
					'How far the engagement score (a fraction from 0 to 1) must move, up or down, between two polls',
				displayOptions: { show: { events: ['changed'], changeOn: ['engagementScore'] } },
			},
			...datesFields(TRIGGER_DATES_TEXT),
			// The export's own options, worded for the entity chosen.
			...(['accounts', 'users'] as const).map(triggerOptions),
		],
	};

	async poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
		const dates = datesOutputOf(this.getNode(), this.getNodeParameter('dates', ''));
		const output = await pollChanges(this);
		// After the comparison: changes are found on the records as sent.
		if (output !== null && dates === 'iso8601') formatItemDates(output[0], this.getTimezone());
		return output;
	}
}
