// @ts-check
'use strict';
/**
 * The trigger's rules written plainly over Maps of records by name, for the property tests to
 * compare the node with: the events between two snapshots, and the mass-drop guard.
 */
const { isDeepStrictEqual } = require('node:util');

/**
 * @typedef {{ events: string[], changeOn: string, minScoreChange: number }} EventSettings
 * @typedef {Map<string, Record<string, any>>} RecordsByName
 */

/**
 * The events from `previous` to `current`: New/Entered/Changed in export order, then Left in the
 * previous export's order. `seenEver` holds every name seen before (New versus Entered).
 * @param {RecordsByName} previous @param {RecordsByName} current @param {Set<string>} seenEver @param {EventSettings} s
 */
function expectedEvents(previous, current, seenEver, s) {
	const wants = new Set(s.events);
	const items = [];
	const prevValues = (r) => ({
		engagementScore: typeof r.engagementScore === 'number' ? r.engagementScore : null,
		lastActivity: typeof r.lastActivity === 'number' ? r.lastActivity : null,
	});
	for (const [name, record] of current) {
		const before = previous.get(name);
		if (!before) {
			if (!seenEver.has(name) && wants.has('new')) items.push({ ...record, event: 'new' });
			else if (wants.has('entered')) items.push({ ...record, event: 'entered' });
			continue;
		}
		if (!wants.has('changed')) continue;
		let changed;
		if (s.changeOn === 'anyField') changed = !isDeepStrictEqual(before, record);
		else if (s.changeOn === 'lastActivity') changed = record.lastActivity > before.lastActivity;
		else {
			const move = Math.abs(record.engagementScore - before.engagementScore);
			changed = s.minScoreChange === 0 ? move > 0 : move >= s.minScoreChange - 1e-9;
		}
		if (changed) items.push({ ...record, event: 'changed', previous: prevValues(before) });
	}
	if (wants.has('left')) {
		for (const [name, before] of previous) {
			if (!current.has(name)) items.push({ event: 'left', name, previous: prevValues(before) });
		}
	}
	return items;
}


/** More than `percent` of `followed`, and at least 10, leaving at once. */
const isMassDrop = (followed, left, percent) => percent > 0 && left >= 10 && left * 100 > percent * followed;

/**
 * The guard: 'hold' a mass drop once; 'report' it when the next poll finds the same records gone
 * again and what left since is no mass drop of what remained.
 * @param {RecordsByName} baseline @param {RecordsByName} current @param {number} percent
 * @param {{ of: number, names: Set<string> } | undefined} pending
 */
function judgeDrop(baseline, current, percent, pending) {
	const gone = new Set([...baseline.keys()].filter((name) => !current.has(name)));
	const drop = { of: baseline.size, names: gone };
	if (!isMassDrop(baseline.size, gone.size, percent)) return { verdict: 'report', drop };
	const again = pending !== undefined && pending.of === baseline.size && [...pending.names].every((name) => gone.has(name));
	if (!again || isMassDrop(baseline.size - pending.names.size, gone.size - pending.names.size, percent)) {
		return { verdict: 'hold', drop };
	}
	return { verdict: 'report', drop };
}

module.exports = { expectedEvents, isMassDrop, judgeDrop };
