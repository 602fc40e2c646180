import type {
	IAuthenticate,
	Icon,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

// The Test button resolves the host with this expression, with the node's rules: a name that is not a
// DNS label, or a Base URL that is not a plain http(s) origin, must never pick the host that receives
// the key pair, so it resolves to a reserved, unresolvable name (RFC 2606 `.invalid`) whose text
// tells the user what to fix.
const testOrigin =
	'={{ $credentials.baseUrl && $credentials.baseUrl.trim() ' +
	'? (/^https?:\\/\\/[^\\/?#@\\s]+\\/?$/i.test($credentials.baseUrl.trim()) ' +
	'? $credentials.baseUrl.trim().replace(/\\/$/, "") ' +
	': "https://base-url-must-be-an-http-or-https-origin.invalid") ' +
	': (/^[A-Za-z0-9-]{1,63}$/.test($credentials.accountName) && /^[A-Za-z0-9-]{1,63}$/.test($credentials.instance) ' +
	'? "https://" + $credentials.accountName + "." + $credentials.instance + ".evergage.com" ' +
	': "https://account-name-and-instance-must-be-letters-digits-hyphens.invalid") }}';

/**
 * A warning under a field, shown while its value breaks the rule the Test button and the nodes
 * apply: n8n's Test shows only "ENOTFOUND" for the unresolvable host such a value leads to.
 */
function ruleNotice(field: string, text: string): INodeProperties {
	return {
		displayName: text,
		name: `${field}Rule`,
		type: 'notice',
		default: '',
		displayOptions: { show: { [field]: [{ _cnd: { regex: '[^A-Za-z0-9-]' } }] } },
	};
}

export class EvergageApi implements ICredentialType {
	name = 'evergageApi';

	displayName = 'Evergage API';

	icon: Icon = {
		light: 'file:../nodes/EvergageAccountExport/evergage.svg',
		dark: 'file:../nodes/EvergageAccountExport/evergage.dark.svg',
	};

	documentationUrl =
		'https://developer.salesforce.com/docs/marketing/personalization/guide/api-tokens.html';

	properties: INodeProperties[] = [
		{
			displayName: 'Account Name',
			name: 'accountName',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'e.g. demo',
			hint: 'From the Gears URL: in https://demo.us-1.evergage.com/ the account name is "demo"',
			description: 'Your Personalization account name: letters, digits and hyphens',
		},
		ruleNotice(
			'accountName',
			'Account Name must be letters, digits and hyphens only: in https://demo.us-1.evergage.com/ it is "demo". Until it is, nothing is sent to Personalization.',
		),
		{
			displayName: 'Instance',
			name: 'instance',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'e.g. us-1',
			hint: 'From the Gears URL: in https://demo.us-1.evergage.com/ the instance is "us-1"',
			description: 'Your Personalization instance: letters, digits and hyphens',
		},
		ruleNotice(
			'instance',
			'Instance must be letters, digits and hyphens only: in https://demo.us-1.evergage.com/ it is "us-1". Until it is, nothing is sent to Personalization.',
		),
		{
			displayName: 'API Key ID',
			name: 'apiKeyId',
			type: 'string',
			default: '',
			required: true,
			description:
				'The API Key ID of an API token with "Can access API" on (Security > API Tokens in Personalization)',
		},
		{
			displayName: 'API Secret Key',
			name: 'apiSecretKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'The API Secret Key shown once when the API token was created',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'e.g. https://proxy.example.com',
			description:
				'Leave empty to use https://&lt;account name&gt;.&lt;instance&gt;.evergage.com. Set it only to go through a proxy or a private test host (an http or https origin, without a path).',
		},
		{
			...ruleNotice(
				'baseUrl',
				'Base URL must be an http or https origin without a path, such as https://proxy.example.com. Until it is, nothing is sent.',
			),
			// Shown for a value that is neither empty nor such an origin: the Test button's rule (whose `i` flag
			// a display condition cannot take, hence the letter classes).
			displayOptions: {
				show: {
					baseUrl: [
						{
							_cnd: {
								regex: '^(?!\\s*$)(?!\\s*[hH][tT][tT][pP][sS]?:\\/\\/[^\\/?#@\\s]+\\/?\\s*$)',
							},
						},
					],
				},
			},
		},
	];

	/**
	 * Basic auth with the key pair, applied by n8n to every request. A function, not a generic block of
	 * `{{ $credentials.… }}` expressions: n8n 2.x evaluates those in its expression sandbox for every
	 * request, about 6 ms of CPU each time, a hundred times in an export of 100k records.
	 */
	authenticate: IAuthenticate = async (credentials, requestOptions) => ({
		...requestOptions,
		auth: {
			username: String(credentials.apiKeyId ?? ''),
			password: String(credentials.apiSecretKey ?? ''),
		},
	});

	test: ICredentialTestRequest = {
		request: {
			baseURL: testOrigin,
			url: '/api/principals',
			disableFollowRedirect: true,
		},
		rules: [
			{
				type: 'responseCode',
				properties: {
					value: 401,
					message: 'Wrong API Key ID or API Secret Key: check both against the API token',
				},
			},
			{
				type: 'responseCode',
				properties: {
					value: 403,
					message:
						'The API token is valid but may not use the API: an admin must turn on "Can access API" for it (and allow this IP, if the token has an accept list)',
				},
			},
		],
	};
}
