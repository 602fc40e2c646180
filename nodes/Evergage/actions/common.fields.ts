import type { INodeProperties } from 'n8n-workflow';

/** Fields every operation of the Evergage node shows. */

const requestOptions: INodeProperties[] = [
	{
		displayName: 'Retries',
		name: 'retries',
		type: 'number',
		typeOptions: { minValue: 0, maxValue: 10 },
		default: 4,
		description:
			'Times a request is tried again, waiting longer each time. A request that writes (an event, a deletion) is tried again only when the service surely did not process it: a 429, a 503 with Retry-After, or a refused connection.',
	},
	{
		displayName: 'Timeout',
		name: 'timeout',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 30000,
		description: 'Milliseconds to wait for the service before a request is abandoned',
	},
];

/** An operation's Options: its own, with Retries and Timeout, in alphabetical order. */
export function actionOptions(own: INodeProperties[]): INodeProperties {
	return {
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [...own, ...requestOptions].sort((a, b) => a.displayName.localeCompare(b.displayName)),
	};
}
