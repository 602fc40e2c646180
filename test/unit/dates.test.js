// @ts-check
'use strict';
const fc = require('fast-check');
const { datesOutputOf, formatItemDates, isoFormatter } = require('../../nodes/shared/dates');

const ZONES = [
	'UTC',
	'Europe/Berlin',
	'America/New_York',
	'Asia/Kolkata',
	'Asia/Kathmandu',
	'Australia/Lord_Howe',
	'America/St_Johns',
	'Pacific/Chatham',
	'Africa/Casablanca',
	'Pacific/Kiritimati',
];

/** The zone's offset at one instant, asked of Intl directly: what the day cache must agree with. */
const referenceFormats = new Map();
function referenceOffsetMinutes(epochMs, timezone) {
	if (!referenceFormats.has(timezone))
		referenceFormats.set(timezone, new Intl.DateTimeFormat('en-US', { timeZone: timezone, timeZoneName: 'longOffset' }));
	const text = referenceFormats
		.get(timezone)
		.formatToParts(epochMs)
		.find((part) => part.type === 'timeZoneName')?.value;
	const match = /GMT(?:([+-])(\d{2}):(\d{2}))?/.exec(text ?? '');
	if (!match || !match[1]) return 0;
	return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
}

describe('ISO 8601 dates in the workflow time zone', () => {
	test('a winter instant in Berlin reads with +01:00, a summer one with +02:00', () => {
		const toIso = isoFormatter('Europe/Berlin');
		expect(toIso(Date.parse('2026-01-05T09:00:00Z'))).toBe('2026-01-05T10:00:00.000+01:00');
		expect(toIso(Date.parse('2026-07-05T09:00:00.250Z'))).toBe('2026-07-05T11:00:00.250+02:00');
	});

	test('on the day the clocks change, each side of the change has its own offset', () => {
		const toIso = isoFormatter('Europe/Berlin');
		expect(toIso(Date.parse('2026-03-29T00:59:59.999Z'))).toBe('2026-03-29T01:59:59.999+01:00');
		expect(toIso(Date.parse('2026-03-29T01:00:00Z'))).toBe('2026-03-29T03:00:00.000+02:00');
		expect(toIso(Date.parse('2026-10-25T00:59:59Z'))).toBe('2026-10-25T02:59:59.000+02:00');
		expect(toIso(Date.parse('2026-10-25T01:00:00Z'))).toBe('2026-10-25T02:00:00.000+01:00');
	});

	test('offsets west of UTC, and of half and three quarters of an hour', () => {
		expect(isoFormatter('America/New_York')(Date.parse('2026-01-05T04:00:00Z'))).toBe('2026-01-04T23:00:00.000-05:00');
		expect(isoFormatter('Asia/Kolkata')(0)).toBe('1970-01-01T05:30:00.000+05:30');
		expect(isoFormatter('Asia/Kathmandu')(Date.parse('2026-01-05T00:00:00Z'))).toBe('2026-01-05T05:45:00.000+05:45');
		expect(isoFormatter('UTC')(Date.parse('2026-01-05T00:00:00Z'))).toBe('2026-01-05T00:00:00.000+00:00');
	});

	test('values that are not epoch milliseconds of years 0000 to 9999 are left as sent', () => {
		const toIso = isoFormatter('Europe/Berlin');
		for (const value of [1.5, Infinity, NaN, 8.64e15, -8.64e15, 253402300799999]) expect(toIso(value)).toBeUndefined();
	});

	test('property: the text is the same instant, with the offset the zone has at that instant', () => {
		// From 1970: before, some zones had offsets with seconds (the named case below).
		const instant = fc.integer({ min: 0, max: Date.parse('2100-01-01T00:00:00Z') });
		fc.assert(
			fc.property(fc.constantFrom(...ZONES), fc.array(instant, { minLength: 1, maxLength: 30 }), (zone, instants) => {
				// One formatter for many values, as an export uses it: the per-day cache is exercised.
				const toIso = isoFormatter(zone);
				for (const epochMs of instants) {
					const text = toIso(epochMs);
					expect(text).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/);
					expect(Date.parse(String(text))).toBe(epochMs);
					const [, sign, hh, mm] = /([+-])(\d{2}):(\d{2})$/.exec(String(text)) ?? [];
					expect((sign === '-' ? -1 : 1) * (Number(hh) * 60 + Number(mm))).toBe(referenceOffsetMinutes(epochMs, zone));
				}
			}),
			{ numRuns: 200 },
		);
	});

	test('an offset with seconds (St. John\'s, 1935: -03:30:52) is rounded to the minute, and the text is still the same instant', () => {
		// The shrunk case of the property above when it reached back to 1900.
		const text = String(isoFormatter('America/St_Johns')(-1096921748001));
		expect(text).toBe('1935-03-29T23:59:51.999-03:31');
		expect(Date.parse(text)).toBe(-1096921748001);
	});

	test('every quarter hour of every day a zone changes its offset, 2020 to 2030, reads right', () => {
		const DAY = 86_400_000;
		let changeDays = 0;
		for (const zone of ZONES) {
			const toIso = isoFormatter(zone);
			for (let day = Date.UTC(2020, 0, 1); day < Date.UTC(2031, 0, 1); day += DAY) {
				if (referenceOffsetMinutes(day, zone) === referenceOffsetMinutes(day + DAY - 1, zone)) continue;
				changeDays++;
				for (let epochMs = day; epochMs < day + DAY; epochMs += 15 * 60_000) {
					const text = String(toIso(epochMs));
					expect(Date.parse(text)).toBe(epochMs);
					const [, sign, hh, mm] = /([+-])(\d{2}):(\d{2})$/.exec(text) ?? [];
					expect([epochMs, (sign === '-' ? -1 : 1) * (Number(hh) * 60 + Number(mm))]).toEqual([epochMs, referenceOffsetMinutes(epochMs, zone)]);
				}
			}
		}
		// Berlin, New York, Lord Howe, St John's, Chatham and Casablanca change twice a year or more.
		expect(changeDays).toBeGreaterThan(6 * 2 * 10);
	});
});

describe('formatItemDates', () => {
	test('turns the documented date fields and previous.lastActivity into text, and nothing else', () => {
		const at = Date.parse('2026-01-05T09:00:00Z');
		const items = [
			{ json: { name: 'a', firstActivity: at, lastActivity: at, segmentJoined: at, totalActions: at, attributes: { lastActivity: at } } },
			{ json: { event: 'left', name: 'b', previous: { engagementScore: 0.5, lastActivity: at } } },
			{ json: { name: 'c', lastActivity: '2026-01-05', firstActivity: null } },
		];
		formatItemDates(items, 'Europe/Berlin');
		const iso = '2026-01-05T10:00:00.000+01:00';
		expect(items.map((item) => item.json)).toEqual([
			{ name: 'a', firstActivity: iso, lastActivity: iso, segmentJoined: iso, totalActions: at, attributes: { lastActivity: at } },
			{ event: 'left', name: 'b', previous: { engagementScore: 0.5, lastActivity: iso } },
			{ name: 'c', lastActivity: '2026-01-05', firstActivity: null },
		]);
	});
});

describe('the Dates parameter', () => {
	const node = (typeVersion) => /** @type {any} */ ({ name: 'Export', typeVersion });

	test('unset, a version 1 node keeps epoch milliseconds and a newer one gives ISO 8601', () => {
		expect(datesOutputOf(node(1), undefined)).toBe('asSent');
		expect(datesOutputOf(node(1.1), undefined)).toBe('iso8601');
		expect(datesOutputOf(node(1), 'iso8601')).toBe('iso8601');
		expect(datesOutputOf(node(1.1), 'asSent')).toBe('asSent');
	});

	test('another value is refused, naming the field and what it may be', () => {
		expect(() => datesOutputOf(node(1.1), 'luxon')).toThrow('Dates must be "asSent" or "iso8601", not "luxon"');
	});
});
