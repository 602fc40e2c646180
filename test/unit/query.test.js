// @ts-check
'use strict';
const { exportPath, exportQueryString, FieldReader, toEpochMs } = require('../../nodes/shared/query');

const invalid = (field, problem) => new Error(`${field} ${problem}`);

describe('export URL', () => {
	test('the dataset ID is one encoded path segment, whatever it holds', () => {
		expect(exportPath('engage', 'accounts', 'json')).toBe('/api/dataset/engage/accounts.json');
		expect(exportPath('a/b?c#d %', 'accounts', 'csv')).toBe('/api/dataset/a%2Fb%3Fc%23d%20%25/accounts.csv');
		expect(exportPath('ünïcode', 'users', 'json')).toBe('/api/dataset/%C3%BCn%C3%AFcode/users.json');
	});

	test('query parameters are encoded, in a fixed order, and unset ones are left out', () => {
		expect(exportQueryString({})).toBe('');
		expect(
			exportQueryString(
				{ filter: 'A & B / C', start: 1, end: 2, segmentationId: 's 1', segmentId: '1PPOO' },
				{ page: 3, pageSize: 100 },
			),
		).toBe('?filter=A%20%26%20B%20%2F%20C&start=1&end=2&segmentationId=s%201&segmentId=1PPOO&pageSize=100&page=3');
		expect(exportQueryString({ segmentId: 'x' })).toBe('?segmentId=x');
	});

	test('includeGeo is sent as true only when it is on', () => {
		expect(exportQueryString({ includeGeo: true }, { page: 0, pageSize: 5 })).toBe('?includeGeo=true&pageSize=5&page=0');
		expect(exportQueryString({ includeGeo: undefined })).toBe('');
	});
});

describe('toEpochMs', () => {
	const ms = (value, zone = 'UTC') => toEpochMs(value, 'Start', zone, invalid);

	test('empty values mean "not set"', () => {
		expect(ms(undefined)).toBeUndefined();
		expect(ms(null)).toBeUndefined();
		expect(ms('')).toBeUndefined();
	});

	test('epoch milliseconds as a number or digits pass through', () => {
		expect(ms(1700000000000)).toBe(1700000000000);
		expect(ms(' 1700000000000 ')).toBe(1700000000000);
		expect(ms(0)).toBe(0);
	});

	test('ISO text with an offset says its own instant; without one it is read in the workflow time zone', () => {
		expect(ms('2024-01-15T10:00:00Z')).toBe(Date.UTC(2024, 0, 15, 10));
		expect(ms('2024-01-15T10:00:00+02:00')).toBe(Date.UTC(2024, 0, 15, 8));
		expect(ms('2024-01-15T10:00:00', 'America/New_York')).toBe(Date.UTC(2024, 0, 15, 15));
		expect(ms('2024-07-15T10:00:00', 'America/New_York')).toBe(Date.UTC(2024, 6, 15, 14));
		expect(ms('2024-07-15', 'Europe/Berlin')).toBe(Date.UTC(2024, 6, 14, 22));
		expect(ms('2024-01-15T10:00:00.250')).toBe(Date.UTC(2024, 0, 15, 10, 0, 0, 250));
	});

	test('a bare number that can only be epoch seconds is refused, saying so', () => {
		for (const seconds of [1700000000, '1700000000', 99_999_999_999]) {
			expect(() => ms(seconds)).toThrow(/^Start looks like seconds/);
		}
		expect(ms(100_000_000_000)).toBe(100_000_000_000);
		// Not ambiguous: an instant from a date object says its own unit.
		expect(ms(new Date(1700000000))).toBe(1700000000);
	});

	test('a Luxon DateTime or a Date from an expression gives its instant', () => {
		expect(ms({ toMillis: () => 1234 })).toBe(1234);
		expect(ms(new Date(5678))).toBe(5678);
	});

	test('anything else is refused, naming the field', () => {
		for (const bad of ['yesterday', '2024-13-45', '2024-02-30', -1, 1.5, 9e15, {}, [], true, { toMillis: () => NaN }]) {
			expect(() => ms(bad)).toThrow(/^Start is not a date/);
		}
	});
});

describe('the one reader of switches, numbers and options', () => {
	const read = new FieldReader(invalid);

	test('a switch is true/false or the texts an expression gives; nothing else', () => {
		expect(read.boolean(true, 'Return All')).toBe(true);
		expect(read.boolean('false', 'Return All')).toBe(false);
		expect(read.boolean('true', 'Return All')).toBe(true);
		for (const bad of ['False', 'yes', '', 0, 1, null, undefined, {}, []]) {
			expect(() => read.boolean(bad, 'Return All')).toThrow(/^Return All must be true or false, not /);
		}
	});

	test('a whole number shows what it got, NaN as NaN', () => {
		expect(read.wholeNumber(' 25 ', 'Page Size', 1, 100)).toBe(25);
		expect(() => read.wholeNumber(NaN, 'Page Size', 1, 100)).toThrow('Page Size must be a whole number from 1 to 100, not NaN');
		expect(() => read.wholeNumber(Infinity, 'Page Size', 1, 100)).toThrow(/not Infinity$/);
		expect(() => read.wholeNumber('2.5', 'Page Size', 1, 100)).toThrow(/not "2.5"$/);
		expect(() => read.wholeNumber({ n: 1 }, 'Page Size', 1, 100)).toThrow(/not an object$/);
	});

	test('an option is one of its choices, exactly', () => {
		expect(read.option('csv', 'Format', ['json', 'csv'])).toBe('csv');
		expect(() => read.option('CSV', 'Format', ['json', 'csv'])).toThrow('Format must be "json" or "csv", not "CSV"');
	});
});
