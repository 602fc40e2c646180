import type { IDataObject } from 'n8n-workflow';

import type { Invalid } from './actions';
import { requiredText } from './actions';
import { describeType } from './query';

/**
 * One server-side event from an input item's parameters, as the Event API takes it
 * (`POST /api2/authevent/<dataset>`): `action`, `user` (`id` and/or identity attributes in
 * `attributes`), `account`, `source.channel`, and any other documented field given as JSON.
 * Nothing here touches the network.
 */

export interface EventFields {
	action: unknown;
	identifyBy: unknown;
	userId: unknown;
	identityAttribute: unknown;
	identityValue: unknown;
	attributeInput: unknown;
	userAttributes: unknown;
	userAttributesJson: unknown;
	accountAttributes: unknown;
	accountAttributesJson: unknown;
	options: IDataObject;
}

/** Fields the node sets itself: Other Event Fields may not set them too. */
const NODE_FIELDS = ['action', 'user', 'account'];

export function buildEvent(fields: EventFields, invalid: Invalid): IDataObject {
	const action = requiredText(
		fields.action,
		'Action',
		'Enter the name of the event, e.g. "CRM Update".',
		invalid,
	);
	const user: IDataObject = {};
	const userAttributes = attributesOf(fields, 'user', invalid);
	if (fields.identifyBy === 'attribute') {
		const name = requiredText(
			fields.identityAttribute,
			'Identity Attribute',
			'Enter the name of the identity attribute, e.g. "emailAddress".',
			invalid,
		);
		const value = requiredText(
			fields.identityValue,
			'Identity Value',
			'Enter the value that identifies the user, e.g. their e-mail address.',
			invalid,
		);
		if (hasOwn(userAttributes, name) && userAttributes[name] !== value) {
			throw invalid(
				'User Attributes',
				`set "${name}" to another value than Identity Value`,
				'Remove that attribute from User Attributes: the identity attribute is sent from Identity Value.',
			);
		}
		setOwn(userAttributes, name, value);
	} else {
		user.id = requiredText(
			fields.userId,
			'User ID',
			"Enter the user's ID in Personalization, or identify the user by an identity attribute.",
			invalid,
		);
	}
	if (Object.keys(userAttributes).length > 0) user.attributes = userAttributes;

	const event: IDataObject = { action, user };
	const account = accountOf(fields, invalid);
	if (account !== undefined) event.account = account;
	const channel = requiredText(
		fields.options.sourceChannel ?? 'Server',
		'Source Channel',
		'Enter "Server" (the channel server-side events use; it is case-sensitive), or remove the option.',
		invalid,
	);
	return withOtherFields(event, channel, fields.options.otherFields, invalid);
}

function accountOf(fields: EventFields, invalid: Invalid): IDataObject | undefined {
	const attributes = attributesOf(fields, 'account', invalid);
	const id = fields.options.accountId;
	const account: IDataObject = {};
	if (id !== undefined && id !== '') {
		account.id = requiredText(
			id,
			'Account ID',
			"Enter the account's ID, or remove the option.",
			invalid,
		);
	}
	if (Object.keys(attributes).length > 0) account.attributes = attributes;
	return Object.keys(account).length > 0 ? account : undefined;
}

/** User or account attributes: name/value pairs, or a JSON object (for nested values). */
function attributesOf(fields: EventFields, of: 'user' | 'account', invalid: Invalid): IDataObject {
	const label = of === 'user' ? 'User Attributes' : 'Account Attributes';
	if (fields.attributeInput === 'json') {
		const json = of === 'user' ? fields.userAttributesJson : fields.accountAttributesJson;
		return jsonObject(json, `${label} (JSON)`, invalid) ?? {};
	}
	const collection = of === 'user' ? fields.userAttributes : fields.accountAttributes;
	const pairs = (collection as { attribute?: unknown } | undefined)?.attribute ?? [];
	if (!Array.isArray(pairs)) {
		throw invalid(
			label,
			`must be a list of names and values, not ${describeType(pairs)}`,
			'Remove the expression on the list.',
		);
	}
	const attributes: IDataObject = {};
	for (const pair of pairs as Array<{ name?: unknown; value?: unknown }>) {
		const name = requiredText(
			pair?.name,
			`${label}: Name`,
			'Enter the attribute name, or remove the empty row.',
			invalid,
		);
		if (hasOwn(attributes, name)) {
			throw invalid(label, `name "${name}" more than once`, 'Keep one row per attribute.');
		}
		setOwn(attributes, name, (pair?.value ?? '') as IDataObject[string]);
	}
	return attributes;
}

/** A JSON object field: an object from an expression, or JSON text. Empty means none. */
function jsonObject(value: unknown, field: string, invalid: Invalid): IDataObject | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	let parsed = value;
	if (typeof value === 'string') {
		if (value.trim() === '') return undefined;
		try {
			parsed = JSON.parse(value);
		} catch (error) {
			throw invalid(field, 'is not valid JSON', `Fix the JSON: ${(error as Error).message}.`);
		}
	}
	if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
		throw invalid(
			field,
			`must be a JSON object, not ${describeType(parsed)}`,
			'Write it as {"name": value, ...}.',
		);
	}
	return { ...(parsed as IDataObject) };
}

/** Other documented event fields as given; `source` merges with the channel. */
function withOtherFields(
	event: IDataObject,
	channel: string,
	otherFields: unknown,
	invalid: Invalid,
): IDataObject {
	const other = jsonObject(otherFields, 'Other Event Fields', invalid) ?? {};
	for (const name of NODE_FIELDS) {
		if (hasOwn(other, name)) {
			throw invalid(
				'Other Event Fields',
				`sets "${name}", which the node sets from its own fields`,
				`Remove "${name}" from Other Event Fields and use the node's field for it.`,
			);
		}
	}
	const extraSource = other.source;
	if (
		extraSource !== undefined &&
		(extraSource === null || typeof extraSource !== 'object' || Array.isArray(extraSource))
	) {
		throw invalid(
			'Other Event Fields',
			'"source" must be an object',
			'Write it as "source": {"locale": "en_US"}.',
		);
	}
	const source: IDataObject = { ...(extraSource as IDataObject | undefined), channel };
	return { ...event, ...other, source };
}

function hasOwn(object: IDataObject, name: string): boolean {
	return Object.prototype.hasOwnProperty.call(object, name);
}

/** An attribute named like `__proto__` is an attribute too, never the object's prototype. */
function setOwn(object: IDataObject, name: string, value: IDataObject[string]): void {
	Object.defineProperty(object, name, {
		value,
		enumerable: true,
		writable: true,
		configurable: true,
	});
}

/** What the Event API's `errorCode` values mean ("Event API Responses"). */
const ERROR_CODES: Record<number, string> = {
	1: 'Missing Encrypted UserId Parameter',
	2: 'Invalid Encrypted UserId Parameter',
	3: 'Busy',
	4: 'Anonymous ID Correction',
	5: 'Invalid Event',
};

/** The error an answer reports, in words, or undefined for a success (errorCode 0 or none). */
export function eventAnswerError(answer: IDataObject): [string, string] | undefined {
	const code = answer.errorCode;
	if (code === undefined || code === null || code === 0) return undefined;
	const meaning = typeof code === 'number' ? ERROR_CODES[code] : undefined;
	const message = `Evergage reported an error for the event: errorCode ${JSON.stringify(code)}${meaning ? ` (${meaning})` : ''}`;
	if (code === 3) {
		return [
			message,
			'The service was busy. The node does not send the event again, since it cannot tell whether it was recorded; run it again later if the event is missing.',
		];
	}
	if (code === 5) {
		return [
			message,
			"The service refused the event as it was sent. Check Action, the user's identity, the attributes and Other Event Fields against the Event API documentation.",
		];
	}
	return [
		message,
		"Check the user's identity: User ID, or the identity attribute your dataset is set up to use for server-side events.",
	];
}
