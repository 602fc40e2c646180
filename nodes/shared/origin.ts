import type { ICredentialDataDecryptedObject, INode } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

/** The credential → the one origin the key pair may be sent to, validated before any request. */

// Letters, digits and hyphens only: user text must never be able to choose the host that gets the key pair.
const DNS_LABEL = /^[A-Za-z0-9-]{1,63}$/;

/** https://<account>.<instance>.evergage.com, or the credential's Base URL. */
export function evergageOrigin(credentials: ICredentialDataDecryptedObject, node: INode): string {
	const baseUrl = typeof credentials.baseUrl === 'string' ? credentials.baseUrl.trim() : '';
	if (baseUrl !== '') return baseUrlOrigin(baseUrl, node);
	for (const [field, label] of [
		['accountName', 'Account Name'],
		['instance', 'Instance'],
	] as const) {
		const value = credentials[field];
		if (typeof value !== 'string' || !DNS_LABEL.test(value)) {
			throw new NodeOperationError(
				node,
				`The credential's ${label} must be letters, digits and hyphens only`,
				{
					description: `Copy it from the Gears URL: in https://demo.us-1.evergage.com/ the Account Name is "demo" and the Instance is "us-1". Got ${describeValue(value)}.`,
				},
			);
		}
	}
	return `https://${credentials.accountName}.${credentials.instance}.evergage.com`;
}

function baseUrlOrigin(baseUrl: string, node: INode): string {
	const fix = 'Use an origin such as https://proxy.example.com, or leave Base URL empty.';
	let url: URL;
	try {
		url = new URL(baseUrl);
	} catch {
		throw new NodeOperationError(node, "The credential's Base URL is not a valid URL", {
			description: fix,
		});
	}
	if (url.protocol !== 'https:' && url.protocol !== 'http:') {
		throw new NodeOperationError(
			node,
			"The credential's Base URL must start with https:// or http://",
			{
				description: fix,
			},
		);
	}
	if (url.username !== '' || url.password !== '') {
		throw new NodeOperationError(
			node,
			"The credential's Base URL must not contain a user name or password",
			{
				description: `The API Key ID and Secret go in their own fields. ${fix}`,
			},
		);
	}
	if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
		throw new NodeOperationError(
			node,
			"The credential's Base URL must be an origin, without a path or query",
			{
				description: fix,
			},
		);
	}
	return url.origin;
}

function describeValue(value: unknown): string {
	if (value === undefined || value === null || value === '') return 'nothing';
	const text = JSON.stringify(String(value));
	return text.length > 70 ? `${text.slice(0, 67)}…"` : text;
}
