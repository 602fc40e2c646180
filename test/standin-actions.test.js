// @ts-check
'use strict';
/** The stand-in's Event API, look-up and deletion routes keep the rules the docs state (plain HTTP). */
const { startStandin, DEFAULT_CREDENTIALS } = require('./support/standin');

const auth = `Basic ${Buffer.from(`${DEFAULT_CREDENTIALS.apiKeyId}:${DEFAULT_CREDENTIALS.apiSecretKey}`).toString('base64')}`;

async function withStandin(options, body) {
	const server = await startStandin(options);
	try {
		return await body(server);
	} finally {
		await server.close();
	}
}

const postEvent = (server, event, contentType = 'application/json') =>
	fetch(`${server.url}/api2/authevent/engage`, {
		method: 'POST',
		headers: { authorization: auth, 'content-type': contentType },
		body: typeof event === 'string' ? event : JSON.stringify(event),
	});

const deletionForm = (csv) => {
	const boundary = 'b0undary';
	return {
		headers: { authorization: auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
		body: `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="users.csv"\r\nContent-Type: text/csv\r\n\r\n${csv}\r\n--${boundary}--\r\n`,
	};
};

test('an event is recorded and answered with errorCode 0; one without action or user is errorCode 5 and not recorded', async () => {
	await withStandin({}, async (server) => {
		const ok = await postEvent(server, { action: 'A', user: { id: 'u1' }, source: { channel: 'Server' } });
		expect(ok.status).toBe(200);
		expect(await ok.json()).toEqual(expect.objectContaining({ errorCode: 0, persistedUserId: expect.any(Object) }));
		const invalid = await postEvent(server, { user: { id: 'u2' } });
		expect(await invalid.json()).toEqual(expect.objectContaining({ errorCode: 5 }));
		const anonymous = await postEvent(server, { action: 'A', user: {} });
		expect(await anonymous.json()).toEqual(expect.objectContaining({ errorCode: 5 }));
		expect(server.actions.events.map((e) => e.body.user.id)).toEqual(['u1']);
	});
});

test('the Event API refuses other content types (415), bad JSON (400), a bad pair (401) and a token without "Can send events" (403)', async () => {
	await withStandin({}, async (server) => {
		expect((await postEvent(server, 'action=A', 'application/x-www-form-urlencoded')).status).toBe(415);
		expect((await postEvent(server, '{"action":')).status).toBe(400);
		const bad = await fetch(`${server.url}/api2/authevent/engage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
		expect(bad.status).toBe(401);
		expect((await postEvent(server, { action: 'A', user: { id: 'u' } }, 'application/json')).status).toBe(200);
	});
	await withStandin({ sendEvents: false }, async (server) => {
		expect((await postEvent(server, { action: 'A', user: { id: 'u' } })).status).toBe(403);
		expect(server.actions.events).toHaveLength(0);
	});
});

test('with identityResolution the answer names the resolved user; an identity attribute finds a known user', async () => {
	await withStandin({ identityResolution: true }, async (server) => {
		const answer = /** @type {any} */ (await (await postEvent(server, { action: 'A', user: { attributes: { emailAddress: 'ada@example.com' } } })).json());
		expect(answer.resolvedUserId).toBe('ada');
	});
});

test('deletion takes a CSV in a multipart form, answers "Deleted N users (M requested)", and a deleted user is gone', async () => {
	await withStandin({}, async (server) => {
		const url = `${server.url}/api/dataset/engage/users/delete`;
		const first = await fetch(url, { method: 'POST', ...deletionForm('name\nada\nnobody\n') });
		expect(await first.text()).toBe('Deleted 1 users (2 requested)');
		const again = await fetch(url, { method: 'POST', ...deletionForm('name\nada\n') });
		expect(await again.text()).toBe('Deleted 0 users (1 requested)');
		expect((await fetch(`${server.url}/api/dataset/engage/user/ada`, { headers: { authorization: auth } })).status).toBe(404);
		const noFile = await fetch(url, { method: 'POST', headers: { authorization: auth, 'content-type': 'text/csv' }, body: 'name\nx\n' });
		expect(noFile.status).toBe(400);
		expect(server.actions.deletions.map((d) => d.deleted)).toEqual([1, 0]);
	});
});
