// @ts-check
'use strict';
/**
 * Evergage → Event → Send in n8n-core's engine against the stand-in over HTTP: the event each item
 * becomes, the answers in input order, errorCode as an item error, and the doubling rule: an event
 * goes out again only when the service surely did not process it.
 */
const net = require('node:net');

const { credentialsFor, runAction, startStandin } = require('../support/node-under-test');
const { shrinkRetryTiming } = require('../reliability/support');

let restoreTiming;
beforeAll(() => {
	restoreTiming = shrinkRetryTiming({ baseDelayMs: 20, maxDelayMs: 80 });
});
afterAll(() => restoreTiming());

/** @param {Record<string, unknown>} [overrides] */
function sendParameters(overrides = {}) {
	return {
		resource: 'event',
		operation: 'send',
		datasetId: 'engage',
		action: 'CRM Update',
		identifyBy: 'userId',
		userId: '={{ $json.id }}',
		attributeInput: 'fields',
		userAttributes: { attribute: [{ name: 'tier', value: '={{ $json.tier }}' }] },
		options: { timeout: 2000 },
		...overrides,
	};
}

const rows = (count) => Array.from({ length: count }, (_, i) => ({ json: { id: `crm-${i}`, tier: i % 2 ? 'gold' : 'silver' } }));

async function withStandin(options, body) {
	const server = await startStandin(options);
	try {
		return await body(server);
	} finally {
		await server.close();
	}
}

/** Requests the stand-in saw on the Event API. */
const eventRequests = (server) => server.requests.filter((r) => r.path.startsWith('/api2/authevent/'));

test('one event per input item, with the user, attributes and source channel the docs describe; answers in input order, paired', async () => {
	await withStandin({}, async (server) => {
		const result = await runAction(server, sendParameters({ options: { concurrency: 4 } }), { input: rows(12) });
		expect(result.status).toBe('success');
		expect(result.items).toHaveLength(12);
		result.items.forEach((item, i) => {
			expect(item.pairedItem).toEqual({ item: i });
			expect(item.json.errorCode).toBe(0);
			expect(item.json.persistedUserId).toEqual({ encryptedId: Buffer.from(`crm-${i}`).toString('base64') });
		});
		expect(server.actions.events).toHaveLength(12);
		const sent = server.actions.events.map((e) => e.body).sort((a, b) => a.user.id.localeCompare(b.user.id, 'en', { numeric: true }));
		expect(sent[3]).toEqual({ action: 'CRM Update', user: { id: 'crm-3', attributes: { tier: 'gold' } }, source: { channel: 'Server' } });
		expect(server.actions.profile('engage', 'crm-3')?.attributes).toEqual([expect.objectContaining({ name: 'tier', value: 'gold' })]);
	});
});

test('an identity attribute names the user instead of a user ID (no user.id is sent)', async () => {
	await withStandin({}, async (server) => {
		const result = await runAction(server, sendParameters({
			identifyBy: 'attribute', identityAttribute: 'emailAddress', identityValue: 'ada@example.com',
			userAttributes: { attribute: [{ name: 'plan', value: 'pro' }] },
		}));
		expect(result.status).toBe('success');
		expect(server.actions.events[0].body.user).toEqual({ attributes: { plan: 'pro', emailAddress: 'ada@example.com' } });
		expect(server.actions.profile('engage', 'ada')?.attributes).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'plan', value: 'pro' })]));
	});
});

test('attributes named __proto__ or constructor are sent as attributes, and constructor can be the identity attribute', async () => {
	await withStandin({}, async (server) => {
		const result = await runAction(server, sendParameters({
			identifyBy: 'attribute', identityAttribute: 'constructor', identityValue: 'c-1',
			userAttributes: { attribute: [{ name: '__proto__', value: 'p' }, { name: 'plan', value: 'pro' }] },
		}));
		expect(result.status).toBe('success');
		const attributes = server.actions.events[0].body.user.attributes;
		expect(Object.keys(attributes).sort()).toEqual(['__proto__', 'constructor', 'plan']);
		expect(Object.getOwnPropertyDescriptor(attributes, '__proto__')?.value).toBe('p');
		expect(attributes.constructor).toBe('c-1');
	});
});

test('JSON mode sends nested user and account attributes; Other Event Fields merge, source keeps the channel', async () => {
	await withStandin({}, async (server) => {
		const result = await runAction(server, sendParameters({
			attributeInput: 'json',
			userAttributesJson: '{"scores": {"nps": 9}, "tags": ["a", "b"]}',
			accountAttributesJson: { industry: 'Retail', size: 120 },
			options: { accountId: 'acme', otherFields: '{"source": {"locale": "en_US"}, "itemAction": "View Item"}', sourceChannel: 'Server' },
		}), { input: rows(1) });
		expect(result.status).toBe('success');
		expect(server.actions.events[0].body).toEqual({
			action: 'CRM Update',
			user: { id: 'crm-0', attributes: { scores: { nps: 9 }, tags: ['a', 'b'] } },
			account: { id: 'acme', attributes: { industry: 'Retail', size: 120 } },
			itemAction: 'View Item',
			source: { locale: 'en_US', channel: 'Server' },
		});
	});
});

test('an answer with an errorCode is an error for that item; Continue On Fail keeps the others', async () => {
	await withStandin({ actionFaults: (info) => (info.index === 1 ? { kind: 'errorCode', code: 5 } : null) }, async (server) => {
		const result = await runAction(server, sendParameters({ options: { concurrency: 1 } }), { input: rows(3), continueOnFail: true });
		expect(result.status).toBe('success');
		expect(result.items.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(result.items[1].json.error).toMatch(/errorCode 5 \(Invalid Event\)/);
		expect(result.items[0].json.errorCode).toBe(0);
		expect(result.items[2].json.errorCode).toBe(0);
	});
});

test('without Continue On Fail a failure stops the run: no item starts after it, and the error says how many were sent', async () => {
	await withStandin({ actionFaults: (info) => (info.index === 2 ? { kind: 'errorCode', code: 1 } : null) }, async (server) => {
		const result = await runAction(server, sendParameters({ options: { concurrency: 1 } }), { input: rows(6) });
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(/errorCode 1 \(Missing Encrypted UserId Parameter\)/);
		expect(result.error?.description).toMatch(/2 event\(s\) of this run were sent and recorded before it stopped/);
		expect(eventRequests(server)).toHaveLength(3);
	});
});

test('a token without "Can send events" gets a 403 that names the permission; nothing is recorded', async () => {
	await withStandin({ sendEvents: false }, async (server) => {
		const result = await runAction(server, sendParameters(), { input: rows(1) });
		expect(result.status).toBe('error');
		expect(result.error?.message).toBe('The API token may not send events (403)');
		expect(result.error?.description).toMatch(/"Can send events"/);
		expect(server.actions.events).toHaveLength(0);
	});
});

test('a 429, and a 503 with Retry-After, are tried again (surely not processed): one event recorded each', async () => {
	const plan = [{ kind: 'status', status: 429, retryAfter: '0' }, { kind: 'status', status: 503, retryAfter: '0' }];
	await withStandin({ actionFaults: /** @type {any} */ (plan) }, async (server) => {
		const result = await runAction(server, sendParameters({ options: { concurrency: 1 } }), { input: rows(2) });
		expect(result.status).toBe('success');
		expect(eventRequests(server)).toHaveLength(4);
		expect(server.actions.events.map((e) => e.body.user.id)).toEqual(['crm-0', 'crm-1']);
	});
});

describe('after the body went out, an unclear outcome fails the item and is never sent again', () => {
	/** @type {Array<[string, any, number]>} */
	const cases = [
		['the connection is reset after the service read (and recorded) the event', { kind: 'resetAfterRead' }, 1],
		['the connection is reset before the service read it', { kind: 'resetBeforeRead' }, 0],
		['the answer does not come within the timeout', { kind: 'slow', delayMs: 1500 }, 1],
		['a 503 without Retry-After', { kind: 'status', status: 503 }, 0],
		['a 500 after the event was recorded', { kind: 'status', status: 500, afterProcessing: true }, 1],
	];
	test.each(cases)('%s', async (_name, fault, recorded) => {
		await withStandin({ actionFaults: /** @type {any} */ ([fault]) }, async (server) => {
			const result = await runAction(server, sendParameters({ options: { timeout: 400, retries: 4 } }), { input: rows(1) });
			expect(result.status).toBe('error');
			expect(result.error?.message).toMatch(/may or may not have processed the event/);
			expect(eventRequests(server)).toHaveLength(1);
			expect(server.actions.events).toHaveLength(recorded);
		});
	});
});

test('a refused connection is tried again (nothing was sent): the event arrives once the service listens', async () => {
	const port = await new Promise((resolve) => {
		const probe = net.createServer().listen(0, '127.0.0.1', () => {
			const { port: free } = /** @type {net.AddressInfo} */ (probe.address());
			probe.close(() => resolve(free));
		});
	});
	/** @type {any} */
	let server;
	const late = new Promise((resolve) => setTimeout(resolve, 120)).then(async () => (server = await startStandin({ port })));
	try {
		const result = await runAction(/** @type {any} */ ({ url: `http://127.0.0.1:${port}` }), sendParameters({ options: { retries: 6 } }), {
			input: rows(1),
		});
		await late;
		expect(result.status).toBe('success');
		expect(server.actions.events).toHaveLength(1);
	} finally {
		await late;
		await server?.close();
	}
});

test('a service that never listens: the error says nothing was sent', async () => {
	const result = await runAction(/** @type {any} */ ({ url: 'http://127.0.0.1:9' }), sendParameters({ options: { retries: 1 } }), { input: rows(1) });
	expect(result.status).toBe('error');
	expect(result.error?.message).toMatch(/refused the connection/);
	expect(result.error?.description).toMatch(/nothing was sent/i);
});

describe('bad input is refused before any request, naming the field', () => {
	/** @type {Array<[string, Record<string, unknown>, RegExp]>} */
	const cases = [
		// Literal empty required fields never reach the node (n8n refuses the workflow): expressions do.
		['an empty User ID', { userId: '={{ "" }}' }, /User ID is empty/],
		['a User ID of spaces', { userId: '   ' }, /User ID is only spaces/],
		['an empty Action', { action: '={{ "" }}' }, /Action is empty/],
		['an empty Identity Value', { identifyBy: 'attribute', identityAttribute: 'emailAddress', identityValue: '={{ "" }}' }, /Identity Value is empty/],
		['a User ID that is an object', { userId: '={{ { "a": 1 } }}' }, /User ID must be text, not an object/],
		['a repeated attribute name', { userAttributes: { attribute: [{ name: 'a', value: '1' }, { name: 'a', value: '2' }] } }, /User Attributes name "a" more than once/],
		['JSON attributes that are a list', { attributeInput: 'json', userAttributesJson: '[1]' }, /User Attributes \(JSON\) must be a JSON object, not a list/],
		['Other Event Fields that set the user', { userId: 'x', options: { otherFields: '{"user": {"id": "y"}}' } }, /Other Event Fields sets "user"/],
		['an empty Dataset ID', { datasetId: '={{ "" }}' }, /Dataset ID is empty/],
	];
	test.each(cases)('%s', async (_name, overrides, message) => {
		await withStandin({}, async (server) => {
			const result = await runAction(server, sendParameters({ userId: 'u-1', ...overrides }));
			expect(result.status).toBe('error');
			expect(result.error?.message).toMatch(message);
			expect(server.requests).toHaveLength(0);
		});
	});
});

test('the credential of another stand-in key pair is refused (401) without retries', async () => {
	await withStandin({}, async (server) => {
		const result = await runAction(server, sendParameters({ userId: 'u' }), {
			credentials: credentialsFor(server, { apiSecretKey: 'not-the-secret' }),
		});
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(/401/);
		expect(server.actions.events).toHaveLength(0);
	});
});
