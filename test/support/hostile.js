// @ts-check
'use strict';
/**
 * Hostile behaviours of an export service, as fault plans for the stand-in. A behaviour is plain
 * data (so a property test can generate, shrink and print it); `hostilePlan` turns it into the
 * stand-in's `faults` function, which answers every export request (any entity path, JSON or CSV)
 * from the requested page number alone, so a retried request gets the same page. `servedPages`
 * gives the pages as the service means them, for the expected outcome.
 *
 * Paging modes:
 *   honest     page p holds records [p*cap, (p+1)*cap), then an empty page
 *   ignore     every page is the first page (the service ignores `page`)
 *   rotate     the first 5 records, rotated by one per page
 *   alternate  pages 0 and 1, over and over
 *   endless    every page holds records never seen before
 */

/**
 * @typedef {{ page: number, kind: 'body400' | 'body500' | 'location' | 'json200' | 'header', form: number, padding: number }} Echo
 * @typedef {{ page: number, kind: 'trickle' | 'speedup' | 'slowdown' | 'wave' | 'stall-mid', chunkBytes: number,
 *   delayMs: number, attempts: number, at: number }} Tempo
 *   When a page's body comes, for its first `attempts` attempts: `chunkBytes` at a time, with pauses of
 *   `delayMs` (trickle), shrinking from it (speedup), growing towards 2 s (slowdown), alternating
 *   bursts and pauses (wave), or stalled for good after the share `at` of its bytes (stall-mid).
 * @typedef {{
 *   format: 'json' | 'csv', pageSize: number, cap: number, total: number,
 *   paging: 'honest' | 'ignore' | 'rotate' | 'alternate' | 'endless',
 *   numericNames?: boolean, repeats?: number[],
 *   bom?: 'none' | 'first' | 'all' | 'later',
 *   badRecord?: { page: number, value: 'null' | 'number' | 'array' | 'string' } | null,
 *   headerChange?: { page: number, how: 'renamed' | 'added' } | null,
 *   echo?: Echo | null,
 *   retryAfter?: { page: number, value: string } | null,
 *   stall?: { page: number } | null,
 *   slowTailMs?: number,
 *   oversize?: { page: number, how: 'records' | 'bytes' } | null,
 *   transient?: { page: number, kind: '500' | 'reset' | 'truncate' } | null,
 *   tempo?: Tempo | null, pad?: number,
 *   limit?: number, dedupe: boolean, concurrency: number,
 * }} Behaviour
 */

const CSV_HEADER = 'name,v,w';
const BOM = '\uFEFF';

/** Record `i` of a behaviour's export; repeats re-send an earlier name with a new value. */
function recordAt(behaviour, position) {
	const repeats = behaviour.repeats ?? [];
	const base = behaviour.total;
	if (position >= base) {
		const of = repeats[position - base] ?? 0;
		return { name: nameOf(behaviour, of), v: position, w: 'again' };
	}
	return { name: nameOf(behaviour, position), v: position, w: 'first' };
}

function nameOf(behaviour, index) {
	return behaviour.numericNames ? index : `acct-${index}`;
}

/** Every record of the honest export: the accounts, then repeats of earlier ones. */
function honestRecords(behaviour) {
	const length = behaviour.total + (behaviour.total > 0 ? (behaviour.repeats ?? []).length : 0);
	return Array.from({ length }, (_, position) => recordAt(behaviour, position));
}

/**
 * The records of page `page` as the service means to send them (before faults, BOMs, bad records).
 * @param {Behaviour} behaviour @param {number} page
 */
function servedPage(behaviour, page) {
	const all = honestRecords(behaviour);
	const cap = behaviour.cap;
	const slice = (p) => all.slice(p * cap, (p + 1) * cap);
	switch (behaviour.paging) {
		case 'honest':
			return slice(page);
		case 'ignore':
			return slice(0);
		case 'rotate': {
			const first = all.slice(0, Math.min(5, all.length));
			if (first.length === 0) return [];
			const by = page % first.length;
			return [...first.slice(by), ...first.slice(0, by)];
		}
		case 'alternate':
			return slice(page % 2);
		case 'endless':
			return Array.from({ length: cap }, (_, i) => ({ name: `endless-${page}-${i}`, v: i, w: 'new' }));
	}
	return [];
}

const BAD_VALUES = { null: null, number: 1, array: [1], string: 'x' };

function csvRow(record) {
	return `${record.name},${record.v},${record.w}`;
}

/** The body of a page, as sent: BOM, bad record, changed header, oversize. */
function pageBody(behaviour, page) {
	let records = servedPage(behaviour, page);
	const oversize = behaviour.oversize && behaviour.oversize.page === page ? behaviour.oversize.how : undefined;
	if (oversize === 'records' && records.length > 0) {
		records = [...records, ...Array.from({ length: behaviour.pageSize }, (_, i) => ({ name: `extra-${i}`, v: i, w: 'extra' }))];
	}
	const bom = behaviour.bom ?? 'none';
	const withBom =
		bom === 'all' || (bom === 'first' && page === 0) || (bom === 'later' && page > 0) ? BOM : '';
	let text;
	if (behaviour.format === 'json') {
		const items = records.map((record) => /** @type {unknown} */ (record));
		if (behaviour.badRecord && behaviour.badRecord.page === page && items.length > 0) {
			items[0] = BAD_VALUES[behaviour.badRecord.value];
		}
		text = JSON.stringify(items);
	} else {
		const change = behaviour.headerChange && behaviour.headerChange.page === page ? behaviour.headerChange.how : undefined;
		const header = change === 'renamed' ? 'name,v,x' : change === 'added' ? `${CSV_HEADER},extra` : CSV_HEADER;
		const rows = records.map((record) => (change === 'added' ? `${csvRow(record)},1` : csvRow(record)));
		text = [header, ...rows].map((line) => `${line}\r\n`).join('');
	}
	if (behaviour.format === 'json' && behaviour.pad) {
		// Whitespace a JSON parser skips: a body long enough for its pace to matter.
		text += ' '.repeat(behaviour.pad);
	}
	if (oversize === 'bytes') {
		// Whitespace a JSON parser would skip and a CSV reader drop: only the size is wrong.
		text += ' '.repeat(2 * 1024 * 1024);
	}
	return withBom + text;
}

/** What a page-echoing service puts in a body or a header: a form of the key pair. */
function echoText(echo, credentials) {
	const pair = `${credentials.apiKeyId}:${credentials.apiSecretKey}`;
	const token = Buffer.from(pair).toString('base64');
	const forms = [
		credentials.apiSecretKey,
		pair,
		token,
		`Basic ${token}`,
		encodeURIComponent(token),
		encodeURIComponent(pair),
		Buffer.from(credentials.apiSecretKey).toString('base64'),
		credentials.apiSecretKey.replace(/\s+/g, ' '),
	];
	return 'x'.repeat(echo.padding) + forms[echo.form % forms.length];
}

/**
 * The stand-in's fault plan for a behaviour.
 * @param {Behaviour} behaviour
 * @param {{ apiKeyId: string, apiSecretKey: string }} credentials
 */
function hostilePlan(behaviour, credentials) {
	const attempts = new Map();
	return (info) => {
		const page = info.page;
		const attempt = (attempts.get(page) ?? 0) + 1;
		attempts.set(page, attempt);
		const contentType = behaviour.format === 'json' ? 'application/json; charset=utf-8' : 'text/csv; charset=utf-8';
		const echo = behaviour.echo && behaviour.echo.page === page ? behaviour.echo : undefined;
		if (echo) {
			const text = echoText(echo, credentials);
			switch (echo.kind) {
				case 'body400':
					return { kind: 'status', status: 400, body: `bad request: ${text}`, contentType: 'text/plain' };
				case 'body500':
					if (attempt === 1) return { kind: 'status', status: 500, body: `oops ${text}`, contentType: 'text/plain' };
					break;
				case 'location':
					return { kind: 'status', status: 302, body: '', headers: { Location: `https://elsewhere.invalid/?t=${encodeURIComponent(text)}` } };
				case 'json200':
					return { kind: 'body', body: JSON.stringify({ error: text }), contentType: 'application/json' };
				case 'header':
					if (attempt === 1) return { kind: 'status', status: 503, body: 'busy', headers: { 'X-Echo': text.replace(/[^\x20-\x7e]/g, '?') } };
					break;
			}
		}
		if (behaviour.transient && behaviour.transient.page === page && attempt === 1) {
			const kind = behaviour.transient.kind;
			if (kind === '500') return { kind: 'status', status: 500 };
			if (kind === 'reset') return { kind: 'reset' };
			// Cut inside a row, where a reader can see it (a CSV row cut inside its last field cannot be).
			const body = pageBody(behaviour, page);
			const cut = behaviour.format === 'csv' ? body.lastIndexOf(',') : body.length - 3;
			return { kind: 'body', body: body.slice(0, Math.max(0, cut)), contentType };
		}
		if (behaviour.retryAfter && behaviour.retryAfter.page === page && attempt === 1) {
			return { kind: 'status', status: 429, retryAfter: behaviour.retryAfter.value };
		}
		if (behaviour.stall && behaviour.stall.page === page && attempt === 1) {
			return { kind: 'body', body: pageBody(behaviour, page), contentType, stallAfterBytes: 1 };
		}
		if (behaviour.tempo && behaviour.tempo.page === page && attempt <= behaviour.tempo.attempts) {
			return tempoAnswer(behaviour.tempo, pageBody(behaviour, page), contentType);
		}
		const body = pageBody(behaviour, page);
		// Slow only past the first empty page: a request the export does not need.
		const pastTheEnd = page > 0 && servedPage(behaviour, page - 1).length === 0;
		if (pastTheEnd && behaviour.slowTailMs) {
			return { kind: 'body', body, contentType, chunkBytes: 1, chunkDelayMs: behaviour.slowTailMs };
		}
		return { kind: 'body', body, contentType, gzip: body.length > 4096 };
	};
}

/** A page's whole body, sent at a tempo: the bytes are right, only their timing is hostile. */
function tempoAnswer(tempo, body, contentType) {
	const { kind, chunkBytes, delayMs } = tempo;
	const pauses = {
		trickle: () => delayMs,
		speedup: (chunk) => Math.max(1, Math.round(delayMs * 0.8 ** chunk)),
		slowdown: (chunk) => Math.min(2_000, Math.max(1, Math.round((delayMs / 50) * 1.3 ** chunk))),
		wave: (chunk) => (chunk % 10 < 5 ? 1 : delayMs),
		'stall-mid': () => 5,
	};
	const stallAfterBytes = kind === 'stall-mid' ? Math.max(1, Math.floor(tempo.at * Buffer.byteLength(body))) : undefined;
	return { kind: 'body', body, contentType, chunkBytes, chunkDelayMs: pauses[kind], ...(stallAfterBytes ? { stallAfterBytes } : {}) };
}

/**
 * The output a correct node gives for a behaviour, from the pages as the service means them:
 * JSON records deduplicated (names as text, last copy at the first position) up to Limit, or the
 * CSV file; `undefined` when the pages never end within `maxPages`.
 * @param {Behaviour} behaviour @param {number} maxPages
 */
function expectedOutcome(behaviour, maxPages) {
	const limit = behaviour.limit ?? Infinity;
	const records = [];
	const slot = new Map();
	for (let page = 0; page < maxPages; page++) {
		const served = servedPage(behaviour, page);
		if (served.length === 0) break;
		for (const record of served) {
			const key = String(record.name);
			const at = behaviour.dedupe && behaviour.format === 'json' ? slot.get(key) : undefined;
			if (at !== undefined) records[at] = record;
			else if (records.length < limit) {
				if (behaviour.dedupe) slot.set(key, records.length);
				records.push(record);
			}
		}
		if (records.length >= limit) {
			if (behaviour.format === 'csv') return { records, file: csvFile(behaviour, records) };
			return { records };
		}
		if (page === maxPages - 1) return undefined;
	}
	return behaviour.format === 'csv' ? { records, file: csvFile(behaviour, records) } : { records };
}

function csvFile(behaviour, records) {
	const bom = behaviour.bom === 'first' || behaviour.bom === 'all' ? BOM : '';
	// The first page's header is the file's, changed or not; a later page must then agree with it.
	const header = behaviour.headerChange?.page === 0 ? pageBody(behaviour, 0).replace(BOM, '').split('\r\n')[0] : CSV_HEADER;
	return bom + [header, ...records.map(csvRow)].map((line) => `${line}\r\n`).join('');
}

/** Whether a behaviour leaves a correct node no choice but to succeed. */
function mustSucceed(behaviour) {
	const permanentEcho = behaviour.echo && ['body400', 'location', 'json200'].includes(behaviour.echo.kind);
	return (
		behaviour.paging === 'honest' &&
		!behaviour.badRecord &&
		!behaviour.headerChange &&
		!permanentEcho &&
		!behaviour.oversize &&
		// A page slow on more attempts than a retry budget can mend may fail, naming the clock's rule.
		!(behaviour.tempo && behaviour.tempo.attempts > 2)
	);
}

module.exports = { hostilePlan, servedPage, pageBody, expectedOutcome, mustSucceed, honestRecords, CSV_HEADER };
