// @ts-check
'use strict';
/**
 * Evergage → User → Look Up and Delete in n8n-core's engine against the stand-in over HTTP.
 * Deletion is destructive: every test that deletes reads back, at the stand-in, what was deleted.
 */
const { runAction, startStandin } = require('../support/node-under-test');
const { shrinkRetryTiming } = require('../reliability/support');

let restoreTiming;
beforeAll(() => {
	restoreTiming = shrinkRetryTiming({ baseDelayMs: 20, maxDelayMs: 80 });
});
afterAll(() => restoreTiming());

async function withStandin(options, body) {
	const server = await startStandin(options);
	try {
		return await body(server);
	} finally {
		await server.close();
	}
}

const lookUp = (userId, options = {}) => ({ resource: 'user', operation: 'lookUp', datasetId: 'engage', userId, options });
const deletion = (deleteBy, identityValue, extra = {}) => ({
	resource: 'user', operation: 'delete', datasetId: 'engage', deleteBy, identityValue, ...extra,
});
const deleteRequests = (server) => server.requests.filter((r) => r.path.endsWith('/users/delete'));

test('Look Up finds a user by user ID and by anonymous ID: one item with the profile', async () => {
	await withStandin({}, async (server) => {
		const result = await runAction(server, lookUp('={{ $json.id }}'), { input: [{ json: { id: 'ada' } }, { json: { id: 'anon-grace-1' } }] });
		expect(result.status).toBe('success');
		expect(result.items.map((i) => i.json.namedUserId)).toEqual(['ada', 'grace']);
		expect(result.items.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(result.items[0].json.attributes).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'emailAddress', value: 'ada@example.com' })]));
		expect(server.requests[0].path).toBe('/api/dataset/engage/user/ada');
	});
});

test('an unknown user is a named error by default, an empty paired item with Output Empty Item If Not Found', async () => {
	await withStandin({}, async (server) => {
		const failed = await runAction(server, lookUp('nobody'));
		expect(failed.status).toBe('error');
		expect(failed.error?.message).toBe('No user "nobody" in dataset "engage" (404)');
		expect(failed.error?.description).toMatch(/Output Empty Item If Not Found/);

		const empty = await runAction(server, lookUp('={{ $json.id }}', { emptyIfNotFound: true }), {
			input: [{ json: { id: 'nobody' } }, { json: { id: 'alan' } }],
		});
		expect(empty.status).toBe('success');
		expect(empty.items.map((i) => i.json)).toEqual([{}, expect.objectContaining({ namedUserId: 'alan' })]);
		expect(empty.items.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
	});
});

test('an ID with a slash or dots stays one path segment', async () => {
	await withStandin({}, async (server) => {
		const result = await runAction(server, lookUp('../../principals'), { continueOnFail: true });
		expect(result.items[0].json.error).toMatch(/No user/);
		expect(server.requests[0].path).toBe('/api/dataset/engage/user/%2E%2E%2F%2E%2E%2Fprincipals');
	});
});

test('Delete by user ID sends a CSV naming that one user; the output says what was sent and what was deleted', async () => {
	await withStandin({}, async (server) => {
		const result = await runAction(server, deletion('userId', 'ada'));
		expect(result.status).toBe('success');
		expect(result.items[0].json).toEqual({
			datasetId: 'engage', deleteBy: 'userId', identityField: 'name', identity: 'ada',
			deleted: 1, requested: 1, response: 'Deleted 1 users (1 requested)',
		});
		expect(server.actions.deletions).toEqual([expect.objectContaining({ datasetId: 'engage', header: 'name', values: ['ada'], deleted: 1 })]);
		const after = await runAction(server, lookUp('ada'));
		expect(after.error?.message).toMatch(/No user "ada"/);
	});
});

test('Delete by anonymous ID and by identity attribute', async () => {
	await withStandin({}, async (server) => {
		const byAnon = await runAction(server, deletion('anonId', 'anon-grace-1'));
		expect(byAnon.items[0].json).toEqual(expect.objectContaining({ identityField: 'anonId', deleted: 1 }));
		const byEmail = await runAction(server, deletion('attribute', 'alan@example.com', { identityAttribute: 'emailAddress' }));
		expect(byEmail.items[0].json).toEqual(expect.objectContaining({ identityField: 'emailAddress', identity: 'alan@example.com', deleted: 1 }));
		const again = await runAction(server, deletion('attribute', 'alan@example.com', { identityAttribute: 'emailAddress' }));
		expect(again.items[0].json).toEqual(expect.objectContaining({ deleted: 0, requested: 1 }));
		expect(server.actions.deletions.map((d) => [d.header, d.values])).toEqual([
			['anonId', ['anon-grace-1']], ['emailAddress', ['alan@example.com']], ['emailAddress', ['alan@example.com']],
		]);
		expect(server.actions.profile('engage', 'ada')).toBeDefined();
	});
});

describe('a deletion can never widen: these identities are refused before any request', () => {
	const cases = [
		['empty (from an expression)', '={{ "" }}'],
		['null (from an expression)', '={{ null }}'],
		['only spaces', '   '],
		['two users on two lines', 'ada\ngrace'],
		['a carriage return', 'ada\rgrace'],
		['a comma', 'ada,grace'],
		['a double quote', '"ada"'],
		['a wildcard', '*'],
		['a tab', 'ada\tgrace'],
	];
	test.each(cases)('%s', async (_name, value) => {
		await withStandin({}, async (server) => {
			const result = await runAction(server, deletion('userId', value));
			expect(result.status).toBe('error');
			expect(result.error?.message).toMatch(/^Identity Value /);
			expect(server.requests).toHaveLength(0);
		});
	});
	test('an Identity Attribute name with a comma', async () => {
		await withStandin({}, async (server) => {
			const result = await runAction(server, deletion('attribute', 'ada@example.com', { identityAttribute: 'emailAddress,name' }));
			expect(result.error?.message).toMatch(/^Identity Attribute contains/);
			expect(server.requests).toHaveLength(0);
		});
	});
});

test('a deletion whose answer is lost is not sent again, and the error says it may or may not have been processed', async () => {
	await withStandin({ actionFaults: [{ kind: 'resetAfterRead' }] }, async (server) => {
		const result = await runAction(server, deletion('userId', 'ada', { options: { retries: 4 } }));
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(/may or may not have processed the deletion request/);
		expect(deleteRequests(server)).toHaveLength(1);
		expect(server.actions.deletions).toHaveLength(1);
	});
});

test('a token without "Can access API" gets a 403 on Look Up that says so', async () => {
	await withStandin({ apiAccess: false }, async (server) => {
		const result = await runAction(server, lookUp('ada'));
		expect(result.error?.message).toMatch(/403/);
		expect(result.error?.description).toMatch(/Can access API/);
	});
});
