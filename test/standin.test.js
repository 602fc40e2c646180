// @ts-check
'use strict';
/* Self-check of the Account Export API stand-in (test/support/standin.js), seen by raw clients. */

const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const {
  startStandin, generateAccounts, expectedAccounts, accountAt, segmentsOf, csvColumns, csvValues,
  generateUsers, expectedUsers, SEGMENTS, DEFAULT_CREDENTIALS,
} = require('./support/standin');

const AUTH = 'Basic ' + Buffer.from(`${DEFAULT_CREDENTIALS.apiKeyId}:${DEFAULT_CREDENTIALS.apiSecretKey}`).toString('base64');
const WRONG_AUTH = 'Basic ' + Buffer.from(`${DEFAULT_CREDENTIALS.apiKeyId}:nope`).toString('base64');

/** @typedef {import('./support/standin').Standin} Standin */

/** @param {Standin} server @param {string} urlPath @param {Record<string, string>} [headers] */
async function get(server, urlPath, headers = { authorization: AUTH }) {
  const res = await fetch(server.url + urlPath, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** @typedef {import('./support/standin').AccountRecord} AccountRecord */

/** @param {Standin} server @param {string} urlPath @returns {Promise<AccountRecord[]>} */
async function getJson(server, urlPath) {
  const res = await get(server, urlPath);
  expect(res.status).toBe(200);
  return JSON.parse(res.text);
}

/**
 * A raw HTTP/1.1 GET on its own connection that reports exactly what arrived, even when it breaks.
 * @param {string} url @param {{ timeoutMs?: number, onResponse?: () => void }} [options]
 * @returns {Promise<{ status: number | null, headers: http.IncomingHttpHeaders, body: string, complete: boolean, error: string | null }>}
 */
function rawGet(url, options = {}) {
  return new Promise((resolve) => {
    /** @type {{ status: number | null, headers: http.IncomingHttpHeaders, body: string, complete: boolean, error: string | null }} */
    const result = { status: null, headers: {}, body: '', complete: false, error: null };
    /** @type {Buffer[]} */
    const chunks = [];
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      result.body = Buffer.concat(chunks).toString('utf8');
      resolve(result);
    };
    const req = http.get(url, { agent: false, headers: { authorization: AUTH } }, (res) => {
      result.status = res.statusCode ?? null;
      result.headers = res.headers;
      options.onResponse?.();
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => { result.complete = true; settle(); });
      res.on('error', (error) => { result.error ??= /** @type {NodeJS.ErrnoException} */ (error).code ?? error.message; });
      res.on('close', () => { if (!result.complete) result.error ??= 'aborted'; settle(); });
    });
    req.on('error', (error) => { result.error ??= /** @type {NodeJS.ErrnoException} */ (error).code ?? error.message; settle(); });
    if (options.timeoutMs) req.setTimeout(options.timeoutMs, () => { result.error ??= 'timeout'; req.destroy(); });
  });
}

/** RFC 4180 parser: quoted cells may hold commas, doubled quotes and line breaks. @param {string} text */
function parseCsv(text) {
  /** @type {string[][]} */
  const rows = [];
  /** @type {string[]} */
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; }
    else if (c === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++; }
    else cell += c;
  }
  if (cell !== '' || row.length > 0) throw new Error('CSV does not end with CRLF');
  return rows;
}

/** @param {Array<{ name: string }>} records last one wins, first-seen order */
function dedupeLastWins(records) {
  /** @type {Map<string, unknown>} */
  const byName = new Map();
  for (const record of records) byName.set(record.name, record);
  return [...byName.values()];
}

describe('authentication and routing', () => {
  /** @type {Standin} */
  let server;
  beforeAll(async () => { server = await startStandin(); });
  afterAll(() => server.close());

  test('a missing or wrong key pair gets 401 with a Basic challenge', async () => {
    /** @type {Record<string, string>[]} */
    const refused = [{}, { authorization: WRONG_AUTH }, { authorization: 'Bearer x' }];
    for (const headers of refused) {
      const res = await get(server, '/api/dataset/engage/accounts.json', headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="evergage"');
    }
    expect(server.requests.slice(-3).map((r) => r.authOk)).toEqual([false, false, false]);
  });

  test('the request log never holds the Authorization value', async () => {
    await get(server, '/api/principals');
    const log = JSON.stringify(server.requests);
    expect(log).not.toContain(DEFAULT_CREDENTIALS.apiSecretKey);
    expect(log).not.toContain(AUTH.slice(6));
  });

  test('a dataset the token may not read gets 403', async () => {
    expect((await get(server, '/api/dataset/restricted/accounts.json')).status).toBe(403);
  });

  test('principals answer 200 with a list when the key pair is right', async () => {
    const principals = await getJson(server, '/api/principals');
    expect(principals).toEqual([expect.objectContaining({ id: expect.any(String), name: expect.any(String) })]);
  });

  test('an unknown dataset gets 404 with a JSON error, an unknown path 404', async () => {
    const missing = await get(server, '/api/dataset/nope/accounts.json');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text)).toEqual({ error: 'Dataset not found' });
    for (const p of ['/api/dataset/engage/accounts.xml', '/api/dataset/engage/visitors.json', '/api/dataset//users.json', '/']) {
      expect((await get(server, p)).status).toBe(404);
    }
  });

  test.each([
    ['start=abc', /start/], ['end=1.5', /end/], ['start=10&end=9', /start is after end/],
    ['pageSize=0', /pageSize/], ['pageSize=-1', /pageSize/], ['pageSize=ten', /pageSize/],
    ['pageSize=10&page=-1', /page/], ['pageSize=10&page=x', /page/],
  ])('an invalid query %s gets 400 saying which parameter', async (query, message) => {
    const res = await get(server, `/api/dataset/engage/accounts.json?${query}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.text).toMatch(message);
  });

  test('a token without API access gets 403 everywhere', async () => {
    const closed = await startStandin({ apiAccess: false });
    try {
      expect((await get(closed, '/api/principals')).status).toBe(403);
      expect((await get(closed, '/api/dataset/engage/accounts.json')).status).toBe(403);
    } finally {
      await closed.close();
    }
  });
});

describe('paging and narrowing', () => {
  /** @type {Standin} */
  let server;
  beforeAll(async () => {
    server = await startStandin({
      datasets: {
        engage: { count: 250, seed: 1 },
        capped: { count: 250, seed: 1, maxPageSize: 40 },
        'a/b': { count: 7, seed: 2 },
        'my set': { count: 3, seed: 3 },
      },
    });
  });
  afterAll(() => server.close());

  test('pages are zero-based slices and the page past the end is []', async () => {
    const pages = [];
    for (let page = 0; page < 4; page++) pages.push(await getJson(server, `/api/dataset/engage/accounts.json?pageSize=100&page=${page}`));
    expect(pages.map((p) => p.length)).toEqual([100, 100, 50, 0]);
    const whole = await getJson(server, '/api/dataset/engage/accounts.json');
    expect(pages.flat()).toEqual(whole);
    expect(whole).toEqual(generateAccounts({ count: 250, seed: 1 }));
    expect(await getJson(server, '/api/dataset/engage/accounts.json?pageSize=100')).toEqual(whole.slice(0, 100));
  });

  test('served JSON is byte-identical to JSON.stringify of the helper records', async () => {
    const options = { count: 250, seed: 1, filter: 'At Risk', start: '1400000000000', end: '1450000000000' };
    const res = await get(server, '/api/dataset/engage/accounts.json?filter=At%20Risk&start=1400000000000&end=1450000000000');
    expect(res.text).toBe(JSON.stringify(generateAccounts(options)));
  });

  test('a pageSize above the server cap is silently reduced and paging still covers everything', async () => {
    const first = await getJson(server, '/api/dataset/capped/accounts.json?pageSize=100&page=0');
    expect(first).toHaveLength(40);
    const all = [];
    for (let page = 0; ; page++) {
      const records = await getJson(server, `/api/dataset/capped/accounts.json?pageSize=100&page=${page}`);
      if (records.length === 0) break;
      all.push(...records);
    }
    expect(all).toEqual(generateAccounts({ count: 250, seed: 1 }));
  });

  test('filter by a segment name with spaces narrows like filter by its id and adds segment fields', async () => {
    const bySpace = await getJson(server, '/api/dataset/engage/accounts.json?filter=High%20Value%20Accounts');
    const byPlus = await getJson(server, '/api/dataset/engage/accounts.json?filter=High+Value+Accounts');
    const byId = await getJson(server, '/api/dataset/engage/accounts.json?filter=1PPOO');
    expect(bySpace.length).toBeGreaterThan(20);
    expect(bySpace.length).toBeLessThan(250);
    expect(byPlus).toEqual(bySpace);
    expect(byId).toEqual(bySpace);
    expect(bySpace).toEqual(generateAccounts({ count: 250, seed: 1, filter: 'High Value Accounts' }));
    for (const record of bySpace) {
      expect(record.segmentJoined).toEqual(expect.any(Number));
      expect(record.segmentInputValues).toEqual(expect.objectContaining({ segmentId: '1PPOO' }));
    }
    const plain = await getJson(server, '/api/dataset/engage/accounts.json?segmentId=1PPOO');
    expect(plain.map((r) => r.name)).toEqual(bySpace.map((r) => r.name));
    expect(plain[0].segmentJoined).toBeUndefined();
  });

  test('a segment name with & and / must be encoded, and then narrows to its members', async () => {
    const segment = SEGMENTS[2];
    const query = new URLSearchParams({ filter: segment.name }).toString();
    const members = await getJson(server, `/api/dataset/engage/accounts.json?${query}`);
    expect(members.length).toBeGreaterThan(0);
    for (const record of members) expect(segmentsOf(Number(record.name.split('-')[1]), 1)).toContain(segment.id);
    const unencoded = await getJson(server, '/api/dataset/engage/accounts.json?filter=Trial & Pilot / EMEA');
    expect(unencoded).toEqual([]); // "Trial " is no segment: an unknown segment exports nothing
  });

  test('segmentationId narrows to members of any of its segments', async () => {
    const health = await getJson(server, '/api/dataset/engage/accounts.json?segmentationId=health');
    const atRisk = await getJson(server, '/api/dataset/engage/accounts.json?segmentId=2QRST');
    const trial = await getJson(server, '/api/dataset/engage/accounts.json?segmentId=3UVWX');
    const union = new Set([...atRisk, ...trial].map((r) => r.name));
    expect(health.map((r) => r.name).sort()).toEqual([...union].sort());
  });

  test('start/end keep the record set and recompute totalActions for the window', async () => {
    const whole = await getJson(server, '/api/dataset/engage/accounts.json');
    const wide = await getJson(server, '/api/dataset/engage/accounts.json?start=0&end=9999999999999');
    expect(wide).toEqual(whole);
    const narrow = await getJson(server, '/api/dataset/engage/accounts.json?start=1420070400000&end=1430000000000');
    expect(narrow.map((r) => r.name)).toEqual(whole.map((r) => r.name));
    const changed = narrow.filter((r, i) => r.totalActions !== whole[i].totalActions);
    expect(changed.length).toBeGreaterThan(50);
    for (let i = 0; i < whole.length; i++) expect(narrow[i].totalActions).toBeLessThanOrEqual(whole[i].totalActions);
  });

  test('%2F stays inside the dataset id and %20 decodes to a space', async () => {
    expect(await getJson(server, '/api/dataset/a%2Fb/accounts.json')).toEqual(generateAccounts({ count: 7, seed: 2 }));
    expect((await get(server, '/api/dataset/a/b/accounts.json')).status).toBe(404);
    expect(await getJson(server, '/api/dataset/my%20set/accounts.json')).toHaveLength(3);
    expect(server.requests.at(-1)?.datasetId).toBe('my set');
  });
});

describe('CSV', () => {
  /** @type {Standin} */
  let server;
  beforeAll(async () => {
    server = await startStandin({
      datasets: {
        engage: { count: 250, seed: 1 },
        once: { count: 250, seed: 1, csvHeaderEveryPage: false, csvEmptyPage: 'empty' },
      },
    });
  });
  afterAll(() => server.close());

  test('each page starts with the header; quoted cells round-trip; rows end with CRLF', async () => {
    const expected = generateAccounts({ count: 250, seed: 1 });
    /** @type {string[][]} */
    const rows = [];
    for (let page = 0; page < 5; page++) {
      const res = await get(server, `/api/dataset/engage/accounts.csv?pageSize=60&page=${page}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(res.text.endsWith('\r\n')).toBe(true);
      const [header, ...body] = parseCsv(res.text);
      expect(header).toEqual(csvColumns());
      rows.push(...body);
    }
    expect(rows).toEqual(expected.map(csvValues));
    const quotedKinds = expected.map((r) => r.displayName);
    expect(quotedKinds.some((n) => n.includes(',') && n.includes('"'))).toBe(true);
    expect(quotedKinds.some((n) => n.includes('\n'))).toBe(true);
  });

  test('the page past the end is the header alone by default', async () => {
    const res = await get(server, '/api/dataset/engage/accounts.csv?pageSize=100&page=3');
    expect(res.text).toBe(csvColumns().join(',') + '\r\n');
  });

  test('with a filter the header gains segmentJoined', async () => {
    const res = await get(server, '/api/dataset/engage/accounts.csv?filter=At+Risk');
    const [header, ...rows] = parseCsv(res.text);
    expect(header).toEqual(csvColumns({ filter: 'At Risk' }));
    expect(rows).toEqual(generateAccounts({ count: 250, seed: 1, filter: 'At Risk' }).map(csvValues));
  });

  test('csvHeaderEveryPage false and csvEmptyPage empty', async () => {
    const first = await get(server, '/api/dataset/once/accounts.csv?pageSize=100&page=0');
    const second = await get(server, '/api/dataset/once/accounts.csv?pageSize=100&page=1');
    const past = await get(server, '/api/dataset/once/accounts.csv?pageSize=100&page=3');
    expect(parseCsv(first.text)[0]).toEqual(csvColumns());
    expect(parseCsv(second.text)).toHaveLength(100);
    expect(parseCsv(second.text)[0][0]).toBe(generateAccounts({ count: 250, seed: 1 })[100].name);
    expect(past.status).toBe(200);
    expect(past.text).toBe('');
  });
});

describe('users (the User Export)', () => {
  /** @type {Standin} */
  let server;
  beforeAll(async () => {
    server = await startStandin({
      datasets: { engage: { count: 100, seed: 1, userRepeats: 20 }, capped: { count: 50, seed: 4, maxPageSize: 30 } },
    });
  });
  afterAll(() => server.close());

  test('users are their own population: twice the accounts by default, each belonging to a seeded account', async () => {
    const users = await getJson(server, '/api/dataset/engage/users.json');
    expect(users).toEqual(generateUsers({ count: 100, seed: 1, userRepeats: 20 }));
    expect(users).toHaveLength(220);
    const accounts = new Set(generateAccounts({ count: 100, seed: 1 }).map((account) => account.name));
    for (const user of users) {
      expect(accounts.has(/** @type {any} */ (user).accountName)).toBe(true);
      expect(user.name).toMatch(/^[a-z.-]+\.\d+@[a-z]+\.example$/);
    }
    expect(new Set(users.map((user) => user.name)).size).toBe(200);
    expect(expectedUsers({ count: 100, seed: 1, userRepeats: 20 })).toHaveLength(200);
  });

  test('includeGeo=true adds a location object; anything else leaves it out', async () => {
    const withGeo = await getJson(server, '/api/dataset/engage/users.json?pageSize=5&includeGeo=true');
    expect(withGeo).toEqual(generateUsers({ count: 100, seed: 1, userRepeats: 20, includeGeo: true }).slice(0, 5));
    for (const user of withGeo) {
      expect(/** @type {any} */ (user).location).toEqual({
        city: expect.any(String), region: expect.any(String), country: expect.any(String),
        countryCode: expect.stringMatching(/^[A-Z]{2}$/), latitude: expect.any(Number), longitude: expect.any(Number),
      });
    }
    const without = await getJson(server, '/api/dataset/engage/users.json?pageSize=5&includeGeo=false');
    expect(without.some((user) => 'location' in user)).toBe(false);
    const accounts = await getJson(server, '/api/dataset/engage/accounts.json?pageSize=5&includeGeo=true');
    expect(accounts.some((account) => 'location' in account)).toBe(false);
  });

  test('paging, a page-size cap and a segment filter work as for accounts', async () => {
    const all = [];
    for (let page = 0; page < 10; page++) {
      const records = await getJson(server, `/api/dataset/capped/users.json?pageSize=100&page=${page}`);
      if (records.length === 0) break;
      expect(records.length).toBeLessThanOrEqual(30);
      all.push(...records);
    }
    expect(all).toEqual(generateUsers({ count: 50, seed: 4 }));
    const filtered = await getJson(server, '/api/dataset/capped/users.json?filter=At%20Risk');
    expect(filtered).toEqual(generateUsers({ count: 50, seed: 4, filter: 'At Risk' }));
    expect(filtered.length).toBeGreaterThan(0);
    expect(filtered.length).toBeLessThan(100);
    expect(filtered.every((user) => user.segmentInputValues?.segmentId === '2QRST')).toBe(true);
  });

  test('CSV has the user columns, location columns with includeGeo, and quoted cells round-trip', async () => {
    const res = await get(server, '/api/dataset/engage/users.csv?includeGeo=true');
    const [header, ...rows] = parseCsv(res.text);
    expect(header).toEqual(csvColumns({ entity: 'users', includeGeo: true }));
    expect(header).toContain('accountName');
    expect(header).toContain('location.city');
    expect(rows).toEqual(generateUsers({ count: 100, seed: 1, userRepeats: 20, includeGeo: true }).map(csvValues));
    expect(rows.some((row) => row[1].includes('\n'))).toBe(true);
    expect(rows.some((row) => row[1].includes('"'))).toBe(true);
  });
});

describe('repeated records', () => {
  /** @type {Standin} */
  let server;
  const shape = { count: 120, seed: 5, repeats: 25 };
  beforeAll(async () => { server = await startStandin({ datasets: { engage: shape, placed: { count: 10, repeats: [{ index: 2, after: 7 }, 2] } } }); });
  afterAll(() => server.close());

  test('repeats are extra records that shift paging; the last copy is current', async () => {
    const whole = await getJson(server, '/api/dataset/engage/accounts.json');
    expect(whole).toHaveLength(145);
    const paged = [];
    for (let page = 0; ; page++) {
      const records = await getJson(server, `/api/dataset/engage/accounts.json?pageSize=50&page=${page}`);
      if (records.length === 0) break;
      paged.push(...records);
    }
    expect(paged).toEqual(whole);
    expect(new Set(whole.map((r) => r.name)).size).toBeLessThan(145);
    expect(dedupeLastWins(whole)).toEqual(expectedAccounts(shape));
    expect(expectedAccounts(shape)).toHaveLength(120);

    const firstSeen = new Map();
    for (const record of whole) {
      const earlier = firstSeen.get(record.name);
      if (!earlier) { firstSeen.set(record.name, record); continue; }
      expect(record.totalActions).toBeGreaterThan(earlier.totalActions);
      expect(record.lastActivity).toBeGreaterThan(earlier.lastActivity);
    }
  });

  test('a listed repeat lands after the given position and versions count up', async () => {
    const names = (await getJson(server, '/api/dataset/placed/accounts.json')).map((r) => r.name);
    const name = accountAt(2).name;
    expect(names).toHaveLength(12);
    expect(names.indexOf(name)).toBe(2);
    expect(names.lastIndexOf(name)).toBeGreaterThan(7);
    const copies = generateAccounts({ count: 10, repeats: [{ index: 2, after: 7 }, 2] }).filter((r) => r.name === name);
    expect(copies.map((r) => r.lastActivity)).toEqual([0, 1, 2].map((v) => accountAt(2, 1, v).lastActivity));
  });
});

describe('determinism and streaming', () => {
  test('same seed and options give the same bytes; another seed differs', async () => {
    const a = await startStandin({ datasets: { d: { count: 300, seed: 9, repeats: 10 } } });
    const b = await startStandin({ datasets: { d: { count: 300, seed: 9, repeats: 10 } } });
    const c = await startStandin({ datasets: { d: { count: 300, seed: 10, repeats: 10 } } });
    try {
      const p = '/api/dataset/d/accounts.csv?filter=Enterprise&start=1400000000000';
      const [ta, tb, tc] = await Promise.all([get(a, p), get(b, p), get(c, p)]);
      expect(ta.text).toBe(tb.text);
      expect(ta.text).not.toBe(tc.text);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  test('a large export without pageSize is streamed chunked and complete', async () => {
    const server = await startStandin({ datasets: { big: { count: 20_000 } } });
    try {
      const res = await rawGet(`${server.url}/api/dataset/big/accounts.json`);
      expect(res.complete).toBe(true);
      expect(res.headers['transfer-encoding']).toBe('chunked');
      const records = JSON.parse(res.body);
      expect(records).toHaveLength(20_000);
      expect(records[19_999]).toEqual(accountAt(19_999));
      expect(server.stats.recordsServed).toBe(20_000);
    } finally {
      await server.close();
    }
  });
});

describe('fault injection', () => {
  /** @type {Standin} */
  let server;
  const page0 = '/api/dataset/engage/accounts.json?pageSize=100&page=0';
  beforeAll(async () => { server = await startStandin(); });
  afterAll(() => server.close());
  beforeEach(() => { server.setFaults(undefined); server.resetStats(); });

  test('status faults are consumed in order, one per valid export request', async () => {
    const httpDate = new Date(Date.now() + 3000).toUTCString();
    server.setFaults([
      { kind: 'status', status: 429, retryAfter: '2' },
      { kind: 'status', status: 429, retryAfter: httpDate },
      { kind: 'status', status: 429 },
      null,
      { kind: 'status', status: 500 },
      { kind: 'status', status: 502 },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 504 },
    ]);
    // Requests refused before the fault stage do not consume a fault.
    expect((await get(server, page0, { authorization: WRONG_AUTH })).status).toBe(401);
    expect((await get(server, '/api/dataset/engage/accounts.json?page=x')).status).toBe(400);

    const answers = [];
    for (let i = 0; i < 9; i++) answers.push(await get(server, page0));
    expect(answers.map((a) => a.status)).toEqual([429, 429, 429, 200, 500, 502, 503, 504, 200]);
    expect(answers.map((a) => a.headers.get('retry-after')).slice(0, 3)).toEqual(['2', httpDate, null]);
    expect(answers[0].headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(answers[5].headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(JSON.parse(answers[3].text)).toHaveLength(100);
    expect(server.stats.byStatus).toEqual({ 200: 2, 400: 1, 401: 1, 429: 3, 500: 1, 502: 1, 503: 1, 504: 1 });
    expect(server.stats.faultsByKind).toEqual({ status: 7 });
    expect(server.requests.at(-2)?.fault).toEqual({ kind: 'status', status: 504 });
  });

  test('reset: 200 headers and part of the body, then the connection breaks', async () => {
    server.setFaults([{ kind: 'reset' }]);
    const res = await rawGet(server.url + page0);
    expect(res.status).toBe(200);
    expect(res.complete).toBe(false);
    expect(res.error).not.toBeNull();
    expect(res.body.startsWith('[{"name":')).toBe(true);
    expect(() => JSON.parse(res.body)).toThrow();
    expect(server.stats.faultsByKind).toEqual({ reset: 1 });
  });

  test('truncate: a clean 200 whose body is cut mid-record; only parsing tells', async () => {
    server.setFaults([{ kind: 'truncate' }, { kind: 'truncate' }]);
    const res = await rawGet(server.url + page0);
    expect(res.status).toBe(200);
    expect(res.complete).toBe(true);
    expect(res.error).toBeNull();
    const whole = JSON.stringify(generateAccounts({ count: 250 }).slice(0, 100));
    expect(whole.startsWith(res.body)).toBe(true);
    expect(res.body.length).toBeLessThan(whole.length);
    expect(() => JSON.parse(res.body)).toThrow();
    const csv = await rawGet(server.url + '/api/dataset/engage/accounts.csv?pageSize=100&page=0');
    expect(csv.complete).toBe(true);
    expect(csv.body.endsWith('\r\n')).toBe(false);
  });

  test('truncate with Content-Length: fewer bytes than declared, then the socket ends', async () => {
    server.setFaults([{ kind: 'truncate', contentLength: true }]);
    const res = await rawGet(server.url + page0);
    expect(res.status).toBe(200);
    expect(Number(res.headers['content-length'])).toBeGreaterThan(Buffer.byteLength(res.body));
    expect(res.complete).toBe(false);
    expect(res.error).not.toBeNull();
  });

  test('slow: nothing arrives before the client timeout', async () => {
    server.setFaults([{ kind: 'slow', delayMs: 5000 }]);
    const started = Date.now();
    const res = await rawGet(server.url + page0, { timeoutMs: 200 });
    expect(res.status).toBeNull();
    expect(res.error).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('slow then answered when the client waits long enough', async () => {
    server.setFaults([{ kind: 'slow', delayMs: 150 }]);
    const started = Date.now();
    const res = await rawGet(server.url + page0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(JSON.parse(res.body)).toHaveLength(100);
  });

  test('stall: headers and a first chunk, then silence', async () => {
    server.setFaults([{ kind: 'stall' }]);
    const res = await rawGet(server.url + page0, { timeoutMs: 300 });
    expect(res.status).toBe(200);
    expect(res.error).toBe('timeout');
    expect(res.body).toBe('[' + JSON.stringify(generateAccounts({ count: 1 })[0]));
  });

  test('a fault function sees page, pageSize, dataset and format', async () => {
    /** @type {import('./support/standin').FaultRequestInfo[]} */
    const seen = [];
    server.setFaults((info) => {
      seen.push(info);
      return info.page === 1 && info.format === 'csv' ? { kind: 'status', status: 503 } : null;
    });
    expect((await get(server, '/api/dataset/engage/accounts.csv?pageSize=10&page=1&filter=At+Risk')).status).toBe(503);
    expect((await get(server, '/api/dataset/engage/accounts.json?pageSize=10&page=1')).status).toBe(200);
    expect(seen[0]).toEqual(expect.objectContaining({
      index: 0, page: 1, pageSize: 10, effectivePageSize: 10, datasetId: 'engage', format: 'csv',
      query: { pageSize: '10', page: '1', filter: 'At Risk' },
    }));
    expect(seen[1].index).toBe(1);
  });

  test('a seeded fault rate is reproducible', async () => {
    const run = async () => {
      const s = await startStandin({ faultRate: 0.5, seed: 42, faultMix: [{ kind: 'status', status: 503 }, { kind: 'status', status: 429, retryAfter: '0' }] });
      try {
        const statuses = [];
        for (let i = 0; i < 20; i++) statuses.push((await get(s, page0)).status);
        return { statuses, faults: s.stats.faultsByKind.status ?? 0 };
      } finally {
        await s.close();
      }
    };
    const first = await run();
    expect(await run()).toEqual(first);
    expect(first.faults).toBeGreaterThan(2);
    expect(first.faults).toBeLessThan(18);
    expect(first.statuses.filter((s) => s !== 200)).toHaveLength(first.faults);
  });
});

describe('rate limit by requests in flight', () => {
  const page = (/** @type {number} */ n) => `/api/dataset/engage/accounts.json?pageSize=10&page=${n}`;

  test('more than maxInFlight export requests open at once: the excess gets 429 with Retry-After', async () => {
    // Latency keeps every request open long enough for all of them to overlap.
    const server = await startStandin({ latencyMs: 150, maxInFlight: 3 });
    try {
      const answers = await Promise.all([0, 1, 2, 3, 4].map((n) => get(server, page(n))));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      for (const answer of answers.filter((a) => a.status === 429)) expect(answer.headers.get('retry-after')).toBe('1');
      expect(server.stats.inFlightPeak).toBe(5);
      expect(server.stats.rateLimited).toBe(2);
      expect(server.requests.map((r) => r.inFlight).sort()).toEqual([1, 2, 3, 4, 5]);
      // Closed requests no longer count: the next one is served.
      expect((await get(server, page(0))).status).toBe(200);
      expect(server.requests.at(-1)?.inFlight).toBe(1);
      // Other routes are not export requests and are not counted.
      expect((await get(server, '/api/principals')).status).toBe(200);
      expect(server.requests.at(-1)?.inFlight).toBeNull();
    } finally {
      await server.close();
    }
  });

  test('a dataset\'s own maxInFlight, with its own Retry-After, overrides the server\'s', async () => {
    const server = await startStandin({
      latencyMs: 150,
      maxInFlight: 10,
      datasets: { engage: { count: 100, maxInFlight: { limit: 1, retryAfter: '2' } } },
    });
    try {
      const answers = await Promise.all([0, 1].map((n) => get(server, page(n))));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 429]);
      expect(answers.find((a) => a.status === 429)?.headers.get('retry-after')).toBe('2');
    } finally {
      await server.close();
    }
  });
});

describe('lifecycle', () => {
  test('latencyMs delays every answer', async () => {
    const server = await startStandin({ latencyMs: 120 });
    try {
      const started = Date.now();
      expect((await get(server, '/api/principals')).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(110);
    } finally {
      await server.close();
    }
  });

  test('the server closes itself after maxLifetimeMs', async () => {
    const server = await startStandin({ maxLifetimeMs: 50 });
    await server.closed;
    await expect(fetch(`${server.url}/api/principals`)).rejects.toThrow();
  });

  test('the request log keeps only about the last maxRequestLog entries', async () => {
    const server = await startStandin({ maxRequestLog: 10 });
    try {
      for (let i = 0; i < 25; i++) await get(server, '/api/principals');
      expect(server.requests.length).toBeLessThanOrEqual(11);
      expect(server.requests.at(-1)?.index).toBe(24);
      expect(server.stats.requests).toBe(25);
    } finally {
      await server.close();
    }
  });

  test('close() ends stalled sockets and resolves promptly', async () => {
    const server = await startStandin({ faults: [{ kind: 'stall' }, { kind: 'slow', delayMs: 60_000 }] });
    // One after the other, each in its state before close(): the stall's headers are in, the slow
    // answer is waiting. Waits on events, not a guess at how loaded the machine is.
    /** @type {() => void} */
    let headersIn = () => {};
    const stallStarted = new Promise((resolve) => { headersIn = () => resolve(undefined); });
    const stalled = rawGet(`${server.url}/api/dataset/engage/accounts.json`, { onResponse: headersIn });
    await stallStarted;
    const slow = rawGet(`${server.url}/api/dataset/engage/accounts.json`);
    for (let i = 0; i < 1000 && server.requests.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(server.inFlight).toBe(2);
    const started = Date.now();
    await server.close();
    // Far within the slow answer's 60 s, however loaded the machine.
    expect(Date.now() - started).toBeLessThan(10_000);
    const [a, b] = await Promise.all([stalled, slow]);
    expect(a.status).toBe(200);
    expect(a.complete).toBe(false);
    expect(b.error).not.toBeNull();
    await server.close(); // idempotent
  });
});

describe('CLI', () => {
  test('prints one JSON line, serves flaky 429-then-200, counts via control endpoints, stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [path.join(__dirname, 'support', 'standin.js'), '--count', '30', '--secret', 's3cret', '--key-id', 'cli-key'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let stdout = '';
      child.stdout.on('data', (d) => { stdout += d; });
      await new Promise((resolve, reject) => {
        child.stdout.on('data', () => { if (stdout.includes('\n')) resolve(undefined); });
        child.on('exit', () => reject(new Error('standin exited early')));
      });
      expect(stdout).not.toContain('s3cret');
      const { url, apiKeyId } = JSON.parse(stdout.trim());
      expect(apiKeyId).toBe('cli-key');
      const auth = { authorization: 'Basic ' + Buffer.from('cli-key:s3cret').toString('base64') };
      const flaky = `${url}/api/dataset/flaky/accounts.json?pageSize=10&page=0`;
      const first = await fetch(flaky, { headers: auth });
      expect(first.status).toBe(429);
      expect(first.headers.get('retry-after')).toBe('1');
      await first.arrayBuffer();
      const second = await fetch(flaky, { headers: auth });
      expect(await second.json()).toEqual(generateAccounts({ count: 30 }).slice(0, 10));
      expect((await fetch(`${url}/api/dataset/engage/accounts.json`, { headers: auth })).status).toBe(200);

      const stats = await (await fetch(`${url}/__standin/stats`)).json();
      expect(stats).toEqual(expect.objectContaining({ requests: 3, byStatus: { 200: 2, 429: 1 }, recordsServed: 40 }));
      expect((await fetch(`${url}/__standin/reset`, { method: 'POST' })).status).toBe(200);
      expect(await (await fetch(`${url}/__standin/stats`)).json()).toEqual(expect.objectContaining({ requests: 0, byStatus: {} }));
      // After a reset the flaky dataset throttles again, so a second e2e run sees the same thing.
      expect((await fetch(flaky, { headers: auth })).status).toBe(429);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await new Promise((resolve) => child.once('exit', (...args) => resolve(args)));
    expect(code).toBe(0);
  });
});
