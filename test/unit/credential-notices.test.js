// @ts-check
'use strict';
/**
 * The credential form warns under Account Name, Instance and Base URL while a value breaks the rule
 * the Test button and the nodes apply: n8n 2.x's Test shows only "ENOTFOUND" for such a value.
 * The warnings are shown by n8n's own display rules (NodeHelpers.displayParameter), as the editor does.
 */
const fc = require('fast-check');
const { NodeHelpers } = require('n8n-workflow');
const { EvergageApi } = require('../../credentials/EvergageApi.credentials');

const { properties } = new EvergageApi();
const DNS_LABEL = /^[A-Za-z0-9-]{1,63}$/;
const ORIGIN = /^https?:\/\/[^/?#@\s]+\/?$/i;

/** The notices the form shows for these values. */
function noticesShown(values) {
	return properties
		.filter((property) => property.type === 'notice')
		.filter((notice) => NodeHelpers.displayParameter(values, notice, null, null))
		.map((notice) => notice.name);
}

test('a pasted URL as Account Name shows the rule, naming the field and an example', () => {
	const values = { accountName: 'https://demo.us-1.evergage.com/', instance: 'us-1', baseUrl: '' };
	expect(noticesShown(values)).toEqual(['accountNameRule']);
	const notice = properties.find((property) => property.name === 'accountNameRule');
	expect(notice?.displayName).toContain('Account Name must be letters, digits and hyphens only');
});

test('right values show no notice', () => {
	expect(noticesShown({ accountName: 'demo', instance: 'us-1', baseUrl: '' })).toEqual([]);
	expect(noticesShown({ accountName: 'demo', instance: 'us-1', baseUrl: 'http://127.0.0.1:8080' })).toEqual([]);
});

test('property: the Account Name and Instance notices show exactly for what the Test button refuses', () => {
	fc.assert(
		fc.property(fc.string({ minLength: 1, maxLength: 63, unit: 'grapheme-ascii' }), (value) => {
			const refused = !DNS_LABEL.test(value);
			expect(noticesShown({ accountName: value, instance: 'us-1', baseUrl: '' }).includes('accountNameRule')).toBe(refused);
			expect(noticesShown({ accountName: 'demo', instance: value, baseUrl: '' }).includes('instanceRule')).toBe(refused);
		}),
		{ numRuns: 300 },
	);
});

test('property: the Base URL notice shows exactly for a value that is neither empty nor an origin', () => {
	const origin = fc
		.tuple(fc.constantFrom('http', 'https', 'HTTPS', 'ftp', ''), fc.domain(), fc.constantFrom('', '/', '/api', '?x=1', ':8080'))
		.map(([scheme, host, tail]) => `${scheme ? `${scheme}://` : ''}${host}${tail}`);
	fc.assert(
		fc.property(fc.oneof(origin, fc.string({ maxLength: 30 })), (value) => {
			const refused = value.trim() !== '' && !ORIGIN.test(value.trim());
			expect(noticesShown({ accountName: 'demo', instance: 'us-1', baseUrl: value }).includes('baseUrlRule')).toBe(refused);
		}),
		{ numRuns: 300 },
	);
});
