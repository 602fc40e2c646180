import type { IDataObject, INode, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

/**
 * The Dates option: the documented date fields of the records, as the service sends them (epoch
 * milliseconds) or as ISO 8601 text in the workflow's time zone with its offset.
 */

export type DatesOutput = 'asSent' | 'iso8601';

/** The record fields the export APIs document as epoch milliseconds. */
const RECORD_DATE_FIELDS = ['firstActivity', 'lastActivity', 'segmentJoined'];

/** Nodes made before the option existed (version 1) keep the epoch milliseconds they always had. */
export const ISO_DATES_SINCE_VERSION = 1.1;

const DAY_MS = 86_400_000;
/** 0000-01-01 and the end of 9999: outside, ISO 8601 needs an extended year; such values stay as sent. */
const FIRST_MS = -62_167_219_200_000;
const LAST_MS = 253_402_300_799_999;

/** The Dates parameter as read, or the default of the node's version when it has none. */
export function datesOutputOf(node: INode, value: unknown): DatesOutput {
	if (value === undefined || value === null || value === '')
		return node.typeVersion >= ISO_DATES_SINCE_VERSION ? 'iso8601' : 'asSent';
	if (value === 'asSent' || value === 'iso8601') return value;
	throw new NodeOperationError(
		node,
		`Dates must be "asSent" or "iso8601", not ${JSON.stringify(value)}`,
		{
			description: 'Pick As Sent or ISO 8601 in Dates, or fix the expression that sets it.',
		},
	);
}

/**
 * Replaces, in place, the date fields of each item's record (and of `previous`, which the trigger's
 * Changed and Left items carry) by ISO 8601 text. Values that are not epoch milliseconds stay as sent.
 */
export function formatItemDates(items: INodeExecutionData[], timezone: string): void {
	const toIso = isoFormatter(timezone);
	const convert = (record: IDataObject, field: string) => {
		const value = record[field];
		if (typeof value !== 'number') return;
		const text = toIso(value);
		if (text !== undefined) record[field] = text;
	};
	for (const { json } of items) {
		for (const field of RECORD_DATE_FIELDS) convert(json, field);
		const previous = json.previous;
		if (typeof previous === 'object' && previous !== null && !Array.isArray(previous))
			convert(previous as IDataObject, 'lastActivity');
	}
}

/**
 * Epoch milliseconds → `2026-01-05T10:00:00.000+01:00` in `timezone`. Called for every record of an
 * export (a million and more), so the zone is asked once per calendar day, not once per value.
 */
export function isoFormatter(timezone: string): (epochMs: number) => string | undefined {
	const zoneOffset = zoneOffsetReader(timezone);
	// ISO 8601 writes offsets in minutes; the few zones that had seconds (before 1900) are rounded.
	const offsetAt = (instant: number) => Math.round(zoneOffset(instant) / 60_000) * 60_000;
	// UTC day → the zone's offset all that day, or NaN on a day the offset changes.
	const dayOffsets = new Map<number, number>();
	return (epochMs) => {
		if (!Number.isInteger(epochMs) || epochMs < FIRST_MS + DAY_MS || epochMs > LAST_MS - DAY_MS)
			return undefined;
		const day = Math.floor(epochMs / DAY_MS);
		let offset = dayOffsets.get(day);
		if (offset === undefined) {
			// Zones change offset at most once a day: equal at both ends means all day.
			const first = offsetAt(day * DAY_MS);
			offset = first === offsetAt(day * DAY_MS + DAY_MS - 1) ? first : NaN;
			dayOffsets.set(day, offset);
		}
		if (Number.isNaN(offset)) offset = offsetAt(epochMs);
		return new Date(epochMs + offset).toISOString().slice(0, 23) + offsetText(offset);
	};
}

function offsetText(offsetMs: number): string {
	const minutes = Math.abs(offsetMs) / 60_000;
	const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
	const mm = String(minutes % 60).padStart(2, '0');
	return `${offsetMs < 0 ? '-' : '+'}${hh}:${mm}`;
}

/** One Intl formatter per time zone: making one costs far more than using it. */
const zoneFormatters = new Map<string, Intl.DateTimeFormat>();

/** Reads a zone's offset from UTC at an instant, in milliseconds (whole seconds). */
function zoneOffsetReader(timezone: string): (instant: number) => number {
	let format = zoneFormatters.get(timezone);
	if (format === undefined) {
		format = new Intl.DateTimeFormat('en-US', {
			timeZone: timezone,
			hourCycle: 'h23',
			year: 'numeric',
			month: 'numeric',
			day: 'numeric',
			hour: 'numeric',
			minute: 'numeric',
			second: 'numeric',
			era: 'short',
		});
		zoneFormatters.set(timezone, format);
	}
	const zone = format;
	return (instant) => {
		const parts = zone.formatToParts(instant);
		const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
		const year =
			parts.find((p) => p.type === 'era')?.value === 'BC' ? 1 - part('year') : part('year');
		// Not Date.UTC: it reads years 0–99 as 1900–1999.
		const wallClock = new Date(0);
		wallClock.setUTCFullYear(year, part('month') - 1, part('day'));
		wallClock.setUTCHours(part('hour'), part('minute'), part('second'));
		return wallClock.getTime() - Math.floor(instant / 1000) * 1000;
	};
}

/** A zone's offset from UTC at an instant, in milliseconds (whole seconds). */
export function zoneOffsetMs(instant: number, timezone: string): number {
	return zoneOffsetReader(timezone)(instant);
}
