// @ts-check
'use strict';
/**
 * Positive controls for the secret audit (secrets.test.js): the same scanner (`auditText` +
 * `secretHits`) and the same log capture (`captureLogs`), fed the key pair on purpose, must flag it in
 * every form and from every channel. So the audit's "0 hits" cannot come from a scanner, or a capture,
 * that sees nothing. Runs in its own file: the secret it plants never reaches the audit's capture.
 */

const { NodeApiError } = require('n8n-workflow');

const { auditText, captureLogs, n8nCoreModules, secretForms, secretHits } = require('./support');
const { createEngine, PACKAGE } = require('../support/engine');

// The audit's key pair.
const KEY_ID = 'audit-key-7f3a';
const SECRET = 'S3cr3t/Audit+9c1e=="x';
const FORMS = secretForms(KEY_ID, SECRET);
const PAIR = `${KEY_ID}:${SECRET}`;
const BASIC = `Basic ${Buffer.from(PAIR).toString('base64')}`;
/** @type {import('n8n-workflow').INode} */
const NODE = { id: 'x', name: 'x', type: 'x', typeVersion: 1, position: [0, 0], parameters: {} };

/**
 * What axios (under n8n's request helpers) throws: the request config, headers included, non-enumerable.
 * @returns {any}
 */
function axiosLikeError() {
	const error = Object.assign(new Error('Request failed with status code 500'), {
		isAxiosError: true,
		code: 'ERR_BAD_RESPONSE',
	});
	Object.defineProperty(error, 'config', {
		enumerable: false,
		value: {
			method: 'get',
			url: 'https://demo.us-1.evergage.com/api/dataset/x/accounts.json',
			headers: { Authorization: BASIC, Accept: '*/*' },
		},
	});
	return error;
}

const hitsIn = (...things) => secretHits(auditText(...things), FORMS);

describe('the scanner flags the key pair wherever it hides', () => {
	test.each([
		["Authorization in an axios-like error's non-enumerable config.headers", () => axiosLikeError(), ['Basic token']],
		[
			"that error wrapped in n8n's NodeApiError (as its cause)",
			() => new NodeApiError(NODE, axiosLikeError()),
			['Basic token'],
		],
		[
			'the secret in a stack only',
			() =>
				Object.assign(new Error('clean message'), {
					stack: `Error: clean message\n    at read (/srv/${SECRET}/x.js:1:1)`,
				}),
			['secret'],
		],
		[
			'keyId:secret in a cause two levels down',
			() => new Error('outer', { cause: new Error('middle', { cause: new Error(`auth ${PAIR}`) }) }),
			['secret', 'keyId:secret'],
		],
		[
			'the URL-encoded secret in a Map value',
			() => new Map([['url', `/api?secret=${encodeURIComponent(SECRET)}`]]),
			['secret (URL-encoded)'],
		],
		['the Basic token in a Buffer body', () => ({ body: Buffer.from(`you sent ${BASIC}`) }), ['Basic token']],
		[
			'the pair in a cyclic object',
			() => {
				const a = { name: 'a' };
				a.self = a;
				a.deep = { list: [{ header: PAIR }] };
				return a;
			},
			['secret', 'keyId:secret'],
		],
	])('%s', (_label, make, expected) => {
		expect(hitsIn(make())).toEqual(expect.arrayContaining(expected));
	});

	test('and flags nothing in a clean, redacted error', () => {
		const error = new NodeApiError(NODE, {
			message: 'Evergage refused the API key pair (401)',
			description: 'Authorization: [redacted]',
		});
		expect(hitsIn(error, { headers: { Authorization: '[redacted]' }, keyId: KEY_ID })).toEqual([]);
	});

	test('every form is distinct from the others and present in the forms list', () => {
		expect(Object.keys(FORMS)).toEqual([
			'secret',
			'secret (URL-encoded)',
			'keyId:secret',
			'Basic token',
			'Basic token (URL-encoded)',
		]);
		expect(hitsIn(BASIC)).toContain('Basic token');
		expect(hitsIn(PAIR)).toEqual(expect.arrayContaining(['secret', 'keyId:secret']));
	});
});

describe('the log capture sees every channel, and the scanner flags what went down it', () => {
	test('LoggerProxy, the n8n Logger (and its winston output), console and raw stderr', async () => {
		const capture = captureLogs({ quiet: true });
		try {
			const { LoggerProxy, Container, Logger } = n8nCoreModules();
			LoggerProxy.debug(`proxy debug ${SECRET}`);
			LoggerProxy.error('proxy error', { error: axiosLikeError() });
			// A service logging without the proxy; at warn, so winston's Console transport writes it out.
			Container.get(Logger).warn(`logger warn ${PAIR}`);
			Container.get(Logger).scoped('evergage-control').warn(`scoped warn ${SECRET}`);
			console.error(new Error(`console ${PAIR}`));
			process.stderr.write(`raw ${encodeURIComponent(SECRET)}\n`);
		} finally {
			await capture.stop();
		}
		const by = (source) => capture.lines.filter((_, i) => capture.sources[i] === source).join('\n');
		expect(secretHits(by('LoggerProxy'), FORMS)).toEqual(expect.arrayContaining(['secret', 'Basic token']));
		expect(secretHits(by('n8n Logger'), FORMS)).toEqual(expect.arrayContaining(['secret', 'keyId:secret']));
		expect(by('n8n Logger')).toContain('scoped warn');
		expect(secretHits(by('console'), FORMS)).toEqual(expect.arrayContaining(['secret', 'keyId:secret']));
		// Winston's own output: console._stdout/_stderr in a jest worker, process.stdout/stderr when in band.
		const written = `${by('console._stdout/_stderr')}\n${by('process.stdout/stderr')}`;
		expect(written).toContain(`logger warn ${PAIR}`);
		expect(secretHits(written, FORMS)).toEqual(expect.arrayContaining(['secret (URL-encoded)', 'keyId:secret']));
		expect(secretHits(capture.lines.join('\n'), FORMS).sort()).toEqual(Object.keys(FORMS).sort());
	});

	test("a node error carrying the pair, run in n8n-core's engine: flagged in the run, the error and the logs", async () => {
		class LeakyNode {
			description = {
				displayName: 'Leaky (control)',
				name: 'leakyControl',
				group: ['transform'],
				version: 1,
				description: 'Throws an error that carries the key pair',
				defaults: { name: 'Leaky' },
				inputs: ['main'],
				outputs: ['main'],
				properties: [],
			};
			/** @this {import('n8n-workflow').IExecuteFunctions} */
			async execute() {
				const error = new NodeApiError(this.getNode(), axiosLikeError(), {
					description: `while reading as ${PAIR}`,
				});
				LoggerProxyOf().warn(`leaky node failed with ${PAIR}`);
				throw error;
			}
		}
		const LoggerProxyOf = () => n8nCoreModules().LoggerProxy;
		const engine = createEngine({ nodeClasses: [LeakyNode], credentialClasses: [] });
		const capture = captureLogs({ quiet: true });
		let result;
		try {
			result = await engine.runNode({ type: `${PACKAGE}.leakyControl`, parameters: {}, credentials: {} });
		} finally {
			await capture.stop();
		}
		expect(result.status).toBe('error');
		// n8n keeps the description (the axios cause, with its header, is not stored with the run).
		expect(hitsIn(result.items, result.error, result.run)).toEqual(expect.arrayContaining(['secret', 'keyId:secret']));
		expect(capture.bySource.LoggerProxy ?? 0).toBeGreaterThan(1);
		expect(capture.lines.some((line) => line.includes('Workflow execution started'))).toBe(true);
		expect(secretHits(capture.lines.join('\n'), FORMS)).toEqual(expect.arrayContaining(['secret', 'keyId:secret']));
	});
});
