// @ts-check
'use strict';
/**
 * Secret audit: every failure path (faults, refusals, bad input, cancel, a header-echoing proxy, a
 * redirect, a TLS mismatch) and the credential Test, searched for the API secret, the key id + secret
 * pair and the Basic token in output items, errors (enumerable or not: stack, cause, context), the
 * whole run n8n stores, and every log line. Zero hits.
 */
const http = require('http');

const { EvergageApi } = require('../../credentials/EvergageApi.credentials');
const { credentialsFor, engine, runExport, startStandin } = require('../support/node-under-test');

const {
	addCount,
	auditText,
	captureLogs,
	printFigures,
	fragmentForms,
	fragmentHits,
	shrinkRetryTiming,
} = require('./support');

// Characters that encode differently in base64, URLs and JSON.
const KEY_ID = 'audit-key-7f3a';
const SECRET = 'S3cr3t/Audit+9c1e=="x';
const FORMS = fragmentForms(KEY_ID, SECRET);
// Any run of 8 characters of a form counts, not only the whole form.
const secretHits = (text, forms) => fragmentHits(text, forms, KEY_ID);
const figures = {
	'failure paths audited': 0,
	'texts searched (chars)': 0,
	'log lines captured': 0,
	'log lines by channel': {},
	hits: {},
	'paths by outcome': {},
};

let capture;
let restoreTiming;
let server;
let echo;
let echoUrl = '';
let redirect;
let redirectUrl = '';
const redirectTargetHits = [];

function audit(label, ...things) {
	const text = auditText(...things);
	figures['texts searched (chars)'] += text.length;
	const hits = secretHits(text, FORMS);
	for (const hit of hits) addCount(figures.hits, `${label}: ${hit}`);
	expect({ label, hits }).toEqual({ label, hits: [] });
}

beforeAll(async () => {
	capture = captureLogs();
	restoreTiming = shrinkRetryTiming({ baseDelayMs: 2, maxDelayMs: 10 });
	server = await startStandin({
		credentials: { apiKeyId: KEY_ID, apiSecretKey: SECRET },
		datasets: { engage: { count: 300 }, restricted: { count: 5, forbidden: true } },
	});
	// A proxy that echoes the request headers (Authorization included) in its error bodies.
	echo = http.createServer((req, res) => {
		const auth = String(req.headers.authorization ?? '');
		const decoded = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString();
		const status = req.url?.includes('/echo500/') ? 500 : req.url?.includes('/echo200/') ? 200 : 400;
		res.writeHead(status, { 'Content-Type': 'text/plain', 'X-Echo-Authorization': auth });
		res.end(
			status === 200
				? `{"not":"a list","auth":"${auth}","pair":"${decoded}"}`
				: `bad request; you sent Authorization: ${auth} (${decoded})`,
		);
	});
	await new Promise((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
	echoUrl = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (echo.address()).port}`;
	redirect = http.createServer((req, res) => {
		if (req.url?.startsWith('/target')) {
			redirectTargetHits.push(String(req.headers.authorization ?? ''));
			res.writeHead(200, { 'Content-Type': 'application/json' });
			res.end('[]');
			return;
		}
		res.writeHead(302, { Location: `${redirectUrl}/target${req.url}` });
		res.end();
	});
	await new Promise((resolve) => redirect.listen(0, '127.0.0.1', () => resolve()));
	redirectUrl = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (redirect.address()).port}`;
});

afterAll(async () => {
	await capture.stop();
	restoreTiming();
	await server.close();
	await new Promise((resolve) => echo.close(resolve));
	await new Promise((resolve) => redirect.close(resolve));
	// The log lines of every path, searched last, once all were captured.
	figures['log lines captured'] = capture.lines.length;
	figures['log lines by channel'] = capture.bySource;
	const logHits = secretHits(capture.lines.join('\n'), FORMS);
	for (const hit of logHits) addCount(figures.hits, `log lines: ${hit}`);
	printFigures('secret-audit', figures);
	expect(logHits).toEqual([]);
	// Something was searched: n8n-core's engine logs through LoggerProxy on every run (debug included,
	// whatever the log level), so an audit that captured none of it proves nothing.
	expect(capture.lines.length).toBeGreaterThan(0);
	expect(capture.bySource.LoggerProxy ?? 0).toBeGreaterThan(0);
});

const json = (datasetId = 'engage', options = {}) => ({
	datasetId,
	format: 'json',
	returnAll: true,
	pageSize: 50,
	options: { retries: 2, timeout: 200, concurrency: 2, ...options },
});

/** @type {Array<[string, () => Record<string, any>]>} */
const PATHS = [
	['401 wrong key pair', () => ({ credentials: { apiSecretKey: `${SECRET}-wrong` } })],
	['403 forbidden dataset', () => ({ parameters: json('restricted') })],
	['404 unknown dataset', () => ({ parameters: json('missing') })],
	...[429, 500, 502, 503, 504].map((status) =>
		/** @type {[string, () => Record<string, any>]} */ ([
			`${status} past the retry budget`,
			() => ({ faults: () => ({ kind: 'status', status, retryAfter: '0' }) }),
		]),
	),
	['429 Retry-After too long', () => ({ faults: () => ({ kind: 'status', status: 429, retryAfter: '99999' }) })],
	['400 injected', () => ({ faults: () => ({ kind: 'status', status: 400 }) })],
	['reset mid-body', () => ({ faults: () => ({ kind: 'reset' }) })],
	['truncated body', () => ({ faults: () => ({ kind: 'truncate' }) })],
	['truncated short of Content-Length', () => ({ faults: () => ({ kind: 'truncate', contentLength: true }) })],
	['stall past the timeout', () => ({ faults: () => ({ kind: 'stall' }) })],
	['CSV stream reset', () => ({ parameters: { ...json(), format: 'csv' }, faults: () => ({ kind: 'reset' }) })],
	['proxy echoing Authorization in a 400 body', () => ({ serverUrl: echoUrl, parameters: json('echo400') })],
	['proxy echoing Authorization in a 500 body', () => ({ serverUrl: echoUrl, parameters: json('echo500') })],
	['proxy echoing Authorization in a 200 non-list body', () => ({ serverUrl: echoUrl, parameters: json('echo200') })],
	['redirect to another path', () => ({ serverUrl: redirectUrl })],
	['nothing listening (refused)', () => ({ serverUrl: 'http://127.0.0.1:9' })],
	['TLS to a plain HTTP port', () => ({ serverUrl: server.url.replace('http:', 'https:') })],
	[
		'Base URL with the key pair in it',
		() => ({ credentials: { baseUrl: server.url.replace('//', `//${KEY_ID}:${encodeURIComponent(SECRET)}@`) } }),
	],
	['Base URL with a path', () => ({ credentials: { baseUrl: `${server.url}/x` } })],
	['bad Account Name', () => ({ credentials: { baseUrl: '', accountName: 'evil.com/' } })],
	['bad Page Size', () => ({ parameters: { ...json(), pageSize: 0 } })],
	['bad Start', () => ({ parameters: json('engage', { start: 'never' }) })],
];

describe.each(['accounts', 'users'])('no failure path of the %s export reveals the key pair', (entity) => {
	for (const continueOnFail of [false, true]) {
		test.each(PATHS)(`%s${continueOnFail ? ' (Continue On Fail)' : ''}`, async (label, make) => {
			const path = make();
			server.setFaults(path.faults);
			const target = { url: path.serverUrl ?? server.url };
			const credentials = credentialsFor(target, { apiKeyId: KEY_ID, apiSecretKey: SECRET, ...path.credentials });
			const result = await runExport(target, path.parameters ?? json(), { credentials, continueOnFail, entity });
			server.setFaults(undefined);
			figures['failure paths audited']++;
			addCount(
				figures['paths by outcome'],
				result.status === 'success' && continueOnFail ? 'item with error' : result.status,
			);
			const failed = result.status !== 'success' || result.items.some((item) => item.json.error !== undefined);
			expect(failed).toBe(true);
			audit(label, result.items, result.error, result.run);
			if (label.startsWith('redirect')) expect(redirectTargetHits).toEqual([]);
		});
	}

	test('cancelled mid-export', async () => {
		server.setFaults(() => ({ kind: 'stall' }));
		const result = await runExport(server, json('engage', { timeout: 60_000 }), {
			credentials: credentialsFor(server, { apiKeyId: KEY_ID, apiSecretKey: SECRET }),
			onStart: (cancel) => setTimeout(cancel, 200),
			entity,
		});
		server.setFaults(undefined);
		figures['failure paths audited']++;
		expect(result.status).not.toBe('success');
		audit('cancel', result.items, result.error, result.run);
	});
});

describe('the credential Test', () => {
	const credentialType = new EvergageApi();
	const baseURL = credentialType.test.request.baseURL;
	const { Workflow } = require('n8n-workflow');
	const workflow = new Workflow({ nodes: [], connections: {}, active: false, nodeTypes: engine.nodeTypes });
	const resolve = (credentials) =>
		workflow.expression.getSimpleParameterValue(
			{ id: 'x', name: 'x', type: 'x', typeVersion: 1, position: [0, 0], parameters: {} },
			baseURL,
			'internal',
			{ $credentials: credentials },
			undefined,
			'',
		);

	test.each([
		['demo', 'us-1', 'https://demo.us-1.evergage.com'],
		['Demo-2', 'eu-3', 'https://Demo-2.eu-3.evergage.com'],
		['evil.com/x', 'us-1', 'https://account-name-and-instance-must-be-letters-digits-hyphens.invalid'],
		['demo', 'us-1.evil.com', 'https://account-name-and-instance-must-be-letters-digits-hyphens.invalid'],
		['a@b', 'us-1', 'https://account-name-and-instance-must-be-letters-digits-hyphens.invalid'],
		['', 'us-1', 'https://account-name-and-instance-must-be-letters-digits-hyphens.invalid'],
		['dеmo', 'us-1', 'https://account-name-and-instance-must-be-letters-digits-hyphens.invalid'],
	])('Account Name %j, Instance %j → %s', (accountName, instance, origin) => {
		expect(resolve({ accountName, instance, baseUrl: '' })).toBe(origin);
	});

	test('Base URL wins, a trailing slash dropped; anything but a plain origin resolves to the .invalid host', () => {
		expect(resolve({ accountName: 'x.y', instance: 'z', baseUrl: 'http://127.0.0.1:1234/' })).toBe(
			'http://127.0.0.1:1234',
		);
		for (const baseUrl of [
			'http://127.0.0.1:1234//',
			'ftp://x',
			'https://u:p@x.com',
			'https://x.com/api',
			'https://x.com?a',
		]) {
			expect(resolve({ accountName: 'demo', instance: 'us-1', baseUrl })).toBe(
				'https://base-url-must-be-an-http-or-https-origin.invalid',
			);
		}
	});

	test.each(/** @type {Array<[string, Record<string, any>, number]>} */ ([
		['a valid pair', {}, 200],
		['a wrong secret', { apiSecretKey: `${SECRET}-wrong` }, 401],
		['a token without API access', { apiAccess: false }, 403],
	]))(
		'the Test request with %s: status as the rules expect, no secret in what comes back',
		async (_label, overrides, status) => {
			const { apiAccess, ...credentialOverrides } = overrides;
			const testServer = await startStandin({
				credentials: { apiKeyId: KEY_ID, apiSecretKey: SECRET },
				apiAccess: apiAccess !== false,
			});
			try {
				const credentials = {
					accountName: 'demo',
					instance: 'us-1',
					apiKeyId: KEY_ID,
					apiSecretKey: SECRET,
					baseUrl: testServer.url,
					...credentialOverrides,
				};
				// n8n's own request path for a credential test: the generic auth applied, then OutboundHttp.
				const { TestCredentialsHelper } = require('../support/engine');
				const helper = new TestCredentialsHelper(engine.credentialTypes, {});
				const node = { id: 'x', name: 'x', type: 'x', typeVersion: 1, position: [0, 0], parameters: {} };
				const request = await helper.authenticate(
					credentials,
					'evergageApi',
					{
						...credentialType.test.request,
						baseURL: resolve(credentials),
						method: 'GET',
						returnFullResponse: true,
						ignoreHttpStatusErrors: true,
					},
					workflow,
					node,
				);
				const outbound = n8nOutboundHttp();
				const response = await outbound.requests().request(request);
				expect(response.statusCode).toBe(status);
				const rule = credentialType.test.rules?.find((r) => r.properties.value === status);
				figures['failure paths audited']++;
				audit(`credential test ${status}`, response.body, response.headers, rule);
				// And when it throws (as n8n's tester sees it without ignoreHttpStatusErrors), the message is clean too.
				const thrown = await outbound
					.requests()
					.request({ ...request, ignoreHttpStatusErrors: false })
					.then(
						() => undefined,
						(e) => e,
					);
				if (thrown) audit(`credential test ${status} thrown message`, thrown.message);
			} finally {
				await testServer.close();
			}
		},
	);
});

function n8nOutboundHttp() {
	const paths = [require.resolve('n8n-core')];
	const { Container } = require(require.resolve('@n8n/di', { paths }));
	const { OutboundHttp } = require(require.resolve('@n8n/backend-network', { paths }));
	return Container.get(OutboundHttp);
}
