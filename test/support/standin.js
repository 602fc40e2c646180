// @ts-check
'use strict';
/**
 * Local stand-in for the Evergage / Marketing Cloud Personalization Account Export API.
 * Used by jest tests, the demo, the e2e suite against a real n8n and the benchmarks,
 * so it is deterministic, streams large exports and needs nothing beyond Node built-ins.
 *
 * Routes (127.0.0.1 only):
 *   GET  /api/dataset/<datasetId>/accounts.json | accounts.csv   the Account Export
 *   GET  /api/dataset/<datasetId>/users.json | users.csv         the User Export (also takes includeGeo=true)
 *   GET  /api/principals                                         cheap authenticated call (credential test)
 *   POST /api2/authevent/<dataset>, GET /api/dataset/<dataset>/user/<id>,
 *   POST /api/dataset/<dataset>/users/delete                     events, look-up, deletion: standin-actions.js
 *   POST /__standin/reset, GET /__standin/stats                  control, only with `control: true` (CLI)
 *   GET  /__standin/actions                                      control: events and deletions recorded
 *   PUT  /__standin/dataset/<datasetId>   body: a DatasetConfig   control: replace or add a dataset
 *
 * Order of checks for an export: unknown route 404 -> Basic auth 401 -> apiAccess 403 ->
 * unknown dataset 404 -> forbidden dataset 403 -> invalid query 400 -> injected fault -> export.
 * Faults are therefore consumed only by export requests that would otherwise succeed.
 *
 * Rate limit by concurrency (`maxInFlight`, per dataset or for the server): an export request that
 * arrives while more than N export requests are open (its own included, counted from arrival until
 * its response is sent or its connection closes) gets 429 with Retry-After, before any other fault.
 * Every log entry carries `inFlight`, the count at its arrival; stats keep the peak.
 *
 * Data model (all derived from (seed, account index), so 1M accounts cost nothing up front):
 *   - account i has a unique `name` `<stem>-<i padded to 6 digits>`; some displayNames contain a
 *     comma and double quotes, and every account with i % 97 === 41 has a line feed in it (CSV quoting).
 *   - segment membership per account is a seeded hash (see SEGMENTS). `filter` (segment name or id,
 *     exact match), `segmentId` and `segmentationId` (any segment of that segmentation) narrow the
 *     export; several of them combine with AND. An unknown segment/segmentation gives an empty
 *     export (200 `[]`), not an error. Empty values (`filter=`) count as absent.
 *   - with `filter` each record also carries `segmentJoined` and `segmentInputValues`.
 *   - repeats: an account appears again later in the export, each later copy with a higher version:
 *     lastActivity +1 day, totalActions +k, engagementScore changed. The LAST copy is current.
 *
 * Users (the User Export): a second population of the same dataset, `userCount` of them (default twice
 * the account count), with their own seeded hash, repeats (`userRepeats`, default `repeats`) and segment
 * membership. Each user belongs to one seeded account (`accountName` is that account's `name`). With
 * includeGeo=true each record also carries `location` — an ASSUMED shape, since the real one is not
 * documented: { city, region, country, countryCode, latitude, longitude }.
 *
 * start/end rule (chosen: recompute, never narrow): with `start` and/or `end` the record set and
 * order are unchanged; only `totalActions` is scaled to the part of the account's activity span
 * that falls in the window:
 *   span    = [firstActivity, lastActivity + 1 day)      window = [start, end + 1)   (end inclusive)
 *   totalActions = floor(totalActions * |span ∩ window| / |span|)   (0 when they do not overlap)
 * A missing bound is open. A window covering the whole span leaves totalActions unchanged.
 *
 * Paging: effective size = min(pageSize, maxPageSize); page p = records [p*size, (p+1)*size) of the
 * narrowed export (repeats included). Past the end: JSON `[]`; CSV header only or empty body
 * (`csvEmptyPage`). Without pageSize the whole export comes back in one streamed response.
 * Responses are Content-Length when they fit in one 64 KiB chunk, chunked otherwise.
 * Every CSV row (header included) ends with CRLF, so a body not ending in CRLF is truncated.
 *
 * Literal datasets (`records: [...]` for accounts, `userRecords: [...]` for users) serve the given records in the given order instead (a name may
 * appear again later; the last copy is current). A record's `segments` (segment ids) decides its
 * membership and is not served. `setDataset` (or the PUT control route) swaps a dataset between two
 * exports, so tests can change data between the polls of a trigger.
 */

const http = require('node:http');
const zlib = require('node:zlib');

const { createActionRoutes } = require('./standin-actions');

const DAY_MS = 86_400_000;
const EPOCH_BASE_MS = Date.UTC(2013, 0, 1);
const CHUNK_TARGET_CHARS = 64 * 1024;
const DEFAULT_MAX_REQUEST_LOG = 100_000;
// A reset sent right after the last write can overtake data still in flight; give it a moment.
const RESET_GRACE_MS = 25;

/** @typedef {{ apiKeyId: string, apiSecretKey: string }} Credentials */
/** @typedef {{ id: string, name: string, segmentationId: string }} Segment */

/** @type {Readonly<Credentials>} */
const DEFAULT_CREDENTIALS = Object.freeze({ apiKeyId: 'demo-key', apiSecretKey: 'demo-secret' });

/** @type {ReadonlyArray<Readonly<Segment>>} */
const SEGMENTS = Object.freeze([
  Object.freeze({ id: '1PPOO', name: 'High Value Accounts', segmentationId: 'tiers' }),
  Object.freeze({ id: '2QRST', name: 'At Risk', segmentationId: 'health' }),
  Object.freeze({ id: '3UVWX', name: 'Trial & Pilot / EMEA', segmentationId: 'health' }),
  Object.freeze({ id: '4ENTR', name: 'Enterprise', segmentationId: 'tiers' }),
]);
/** Percent of accounts in each segment of SEGMENTS (same order). */
const SEGMENT_SHARE_PERCENT = [30, 20, 10, 25];

const NAME_STEMS = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wayne', 'wonka',
  'tyrell', 'cyberdyne', 'soylent', 'vandelay', 'massive', 'oscorp', 'aperture', 'gringotts'];
const DISPLAY_STEMS = NAME_STEMS.map((stem) => stem[0].toUpperCase() + stem.slice(1));
const DISPLAY_SUFFIXES = ['Corp', 'Inc.', 'Holdings, Ltd', 'LLC', '"Prime" Partners',
  'Widgets, "Intl"', 'GmbH & Co. KG', 'Société Générale'];
const MULTILINE_SUFFIX = 'Labs\nNordics';
const STATUSES = ['active', 'active', 'active', 'trial', 'churned', 'prospect'];
const INDUSTRIES = ['Software', 'Manufacturing', 'Retail', 'Healthcare', 'Finance', 'Education', 'Logistics', 'Media'];
const REGIONS = ['AMER', 'EMEA', 'APAC', 'LATAM'];
const TIERS = ['bronze', 'silver', 'gold', 'platinum'];

const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Frances', 'Dennis',
  'Radia', 'Linus', 'Hedy', 'Tim', 'Katherine', 'Niklaus'];
const LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson', 'Allen',
  "O'Ritchie", 'Perlman', 'Torvalds', 'Lamarr', 'Berners-Lee', 'Johnson', 'Wirth'];
/** Some display names need CSV quoting: a comma, double quotes, and (index % 89 === 7) a line feed. */
const USER_SUFFIXES = ['', '', '', '', ', Jr.', ' "Chip"', ' (EMEA, Sales)', ' Ph.D.'];
const JOB_TITLES = ['Buyer', 'CTO', 'Analyst', 'Engineer', 'Marketing Manager', 'Student', 'Director, Ops'];
const LANGUAGES = ['en', 'de', 'fr', 'es', 'ja', 'pt'];
/** City, region, country, country code, latitude, longitude. */
const PLACES = [
  ['Boston', 'Massachusetts', 'United States', 'US', 42.3601, -71.0589],
  ['London', 'England', 'United Kingdom', 'GB', 51.5072, -0.1276],
  ['München', 'Bavaria', 'Germany', 'DE', 48.1351, 11.582],
  ['São Paulo', 'São Paulo', 'Brazil', 'BR', -23.5558, -46.6396],
  ['Tokyo', 'Tokyo', 'Japan', 'JP', 35.6762, 139.6503],
  ['Sydney', 'New South Wales', 'Australia', 'AU', -33.8688, 151.2093],
];

/** Columns of every CSV export; `segmentJoined` is appended when `filter` is set. */
const CSV_COLUMNS = Object.freeze(['name', 'displayName', 'engagementScore', 'engagementPercentChange',
  'firstActivity', 'lastActivity', 'totalActions', 'accountStatus',
  'attributes.industry', 'attributes.region', 'attributes.tier']);

/** User Export columns; location columns follow with includeGeo, `segmentJoined` last with `filter`. */
const CSV_USER_COLUMNS = Object.freeze(['name', 'displayName', 'accountName', 'engagementScore',
  'engagementPercentChange', 'firstActivity', 'lastActivity', 'totalActions',
  'attributes.jobTitle', 'attributes.language']);
const CSV_GEO_COLUMNS = Object.freeze(['location.city', 'location.region', 'location.country',
  'location.countryCode', 'location.latitude', 'location.longitude']);

// ---------------------------------------------------------------------------------------------
// Deterministic hashing: a 32-bit integer finaliser (bijective), mixed per seed, index and field.

/** @param {number} x */
function mix32(x) {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** @param {number} seed */
function seedMixOf(seed) {
  return mix32((Number(seed) >>> 0) ^ 0x5bd1e995);
}

/** @param {number} seedMix @param {number} index */
function accountHash(seedMix, index) {
  return mix32(seedMix ^ index);
}

/** Users hash with a seed mix of their own, so they are independent of the accounts. */
function userSeedMixOf(/** @type {number} */ seed) {
  return mix32(seedMixOf(seed) ^ 0x75736572);
}

/** Independent 32-bit value number `k` derived from an account hash. */
function field(/** @type {number} */ hash, /** @type {number} */ k) {
  return mix32(hash ^ Math.imul(k, 0x9e3779b9));
}

/** Small seeded PRNG (mulberry32) for the random fault mix. */
function randomSource(/** @type {number} */ seed) {
  let state = seedMixOf(seed);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// Records

/**
 * @typedef {{ industry: string, region: string, tier: string }} AccountAttributes
 * @typedef {{
 *   name: string, displayName: string, engagementScore: number, engagementPercentChange: number,
 *   firstActivity: number, lastActivity: number, totalActions: number, accountStatus: string,
 *   attributes: AccountAttributes,
 *   segmentJoined?: number, segmentInputValues?: Record<string, string>
 * }} AccountRecord
 * @typedef {{ jobTitle: string, language: string }} UserAttributes
 * @typedef {{ city: string, region: string, country: string, countryCode: string, latitude: number, longitude: number }} UserLocation
 * @typedef {{
 *   name: string, displayName: string, accountName: string, engagementScore: number, engagementPercentChange: number,
 *   firstActivity: number, lastActivity: number, totalActions: number, attributes: UserAttributes,
 *   location?: UserLocation, segmentJoined?: number, segmentInputValues?: Record<string, string>
 * }} UserRecord
 * @typedef {'accounts' | 'users'} Entity
 * @typedef {{ entity: Entity, seedMix: number, windowStart: number, windowEnd: number, hasWindow: boolean,
 *   filterSegment: number, includeGeo: boolean, accountCount: number, accountSeedMix: number }} RenderContext
 *   filterSegment: index into SEGMENTS of the `filter` segment, -1 when no filter.
 *   seedMix: of the entity's population; accountCount/accountSeedMix: the accounts users belong to.
 */

/**
 * The account at `index` as the export shows it before any window or segment fields.
 * `version` 0 is the first appearance; repeats carry versions 1, 2, ...
 * @param {number} index
 * @param {number} [seed]
 * @param {number} [version]
 * @returns {AccountRecord}
 */
function accountAt(index, seed = 1, version = 0) {
  return buildAccount(index, version, accountHash(seedMixOf(seed), index));
}

/**
 * @param {number} index @param {number} version @param {number} h the account hash
 * @returns {AccountRecord}
 */
function buildAccount(index, version, h) {
  const stem = field(h, 1) % NAME_STEMS.length;
  const suffix = index % 97 === 41 ? MULTILINE_SUFFIX : DISPLAY_SUFFIXES[field(h, 2) % DISPLAY_SUFFIXES.length];
  const firstActivity = EPOCH_BASE_MS + (field(h, 3) % 1500) * DAY_MS;
  return {
    name: NAME_STEMS[stem] + '-' + String(index).padStart(6, '0'),
    displayName: DISPLAY_STEMS[stem] + ' ' + index + ' ' + suffix,
    engagementScore: ((field(h, 7) % 1000 + version * 37) % 1000) / 1000,
    engagementPercentChange: (field(h, 8) % 1001 - 500) / 1000,
    firstActivity,
    lastActivity: firstActivity + (field(h, 4) % 400 + version) * DAY_MS,
    totalActions: 1 + (field(h, 5) % 500) + version * (1 + (field(h, 6) % 9)),
    accountStatus: STATUSES[field(h, 9) % STATUSES.length],
    attributes: {
      industry: INDUSTRIES[field(h, 10) % INDUSTRIES.length],
      region: REGIONS[field(h, 11) % REGIONS.length],
      tier: TIERS[field(h, 12) % TIERS.length],
    },
  };
}

/** The `name` of account `index`, without building the whole record. */
function accountNameOf(/** @type {number} */ index, /** @type {number} */ accountSeedMix) {
  const h = accountHash(accountSeedMix, index);
  return NAME_STEMS[field(h, 1) % NAME_STEMS.length] + '-' + String(index).padStart(6, '0');
}

/**
 * The user at `index`, version as for accounts. Belongs to a seeded one of `accountCount` accounts.
 * @param {number} index @param {number} version @param {number} h the user hash
 * @param {number} accountCount @param {number} accountSeedMix
 * @returns {UserRecord}
 */
function buildUser(index, version, h, accountCount, accountSeedMix) {
  const first = FIRST_NAMES[field(h, 1) % FIRST_NAMES.length];
  const last = LAST_NAMES[field(h, 2) % LAST_NAMES.length];
  const accountName = accountCount > 0 ? accountNameOf(field(h, 13) % accountCount, accountSeedMix) : '';
  const domain = accountName === '' ? 'example.com' : accountName.replace(/-\d+$/, '') + '.example';
  const suffix = index % 89 === 7 ? '\nNordics' : USER_SUFFIXES[field(h, 14) % USER_SUFFIXES.length];
  const firstActivity = EPOCH_BASE_MS + (field(h, 3) % 1500) * DAY_MS;
  return {
    name: (first + '.' + last.replace(/[^A-Za-z-]/g, '')).toLowerCase() + '.' + index + '@' + domain,
    displayName: first + ' ' + last + suffix,
    accountName,
    engagementScore: ((field(h, 7) % 1000 + version * 37) % 1000) / 1000,
    engagementPercentChange: (field(h, 8) % 1001 - 500) / 1000,
    firstActivity,
    lastActivity: firstActivity + (field(h, 4) % 400 + version) * DAY_MS,
    totalActions: 1 + (field(h, 5) % 300) + version * (1 + (field(h, 6) % 5)),
    attributes: {
      jobTitle: JOB_TITLES[field(h, 10) % JOB_TITLES.length],
      language: LANGUAGES[field(h, 11) % LANGUAGES.length],
    },
  };
}

/** The user's location, in the assumed shape (see the header). */
function userLocation(/** @type {number} */ h) {
  const [city, region, country, countryCode, latitude, longitude] = PLACES[field(h, 15) % PLACES.length];
  const jitter = (/** @type {number} */ k) => ((field(h, k) % 1000) - 500) / 10000;
  return {
    city: /** @type {string} */ (city), region: /** @type {string} */ (region),
    country: /** @type {string} */ (country), countryCode: /** @type {string} */ (countryCode),
    latitude: Math.round((/** @type {number} */ (latitude) + jitter(16)) * 1e4) / 1e4,
    longitude: Math.round((/** @type {number} */ (longitude) + jitter(17)) * 1e4) / 1e4,
  };
}

/** @param {number} h @param {number} segmentIndex */
function isSegmentMember(h, segmentIndex) {
  return field(h, 100 + segmentIndex) % 100 < SEGMENT_SHARE_PERCENT[segmentIndex];
}

/**
 * Ids of the segments account `index` belongs to.
 * @param {number} index @param {number} [seed]
 * @returns {string[]}
 */
function segmentsOf(index, seed = 1) {
  const h = accountHash(seedMixOf(seed), index);
  return SEGMENTS.filter((_, s) => isSegmentMember(h, s)).map((segment) => segment.id);
}

/**
 * The record exactly as the export serves it (window applied, segment fields when filtered).
 * @param {number} index @param {number} version @param {RenderContext} ctx
 * @returns {AccountRecord | UserRecord}
 */
function exportRecord(index, version, ctx) {
  const h = accountHash(ctx.seedMix, index);
  const users = ctx.entity === 'users';
  /** @type {AccountRecord & UserRecord} */
  const record = /** @type {any} */ (users ? buildUser(index, version, h, ctx.accountCount, ctx.accountSeedMix) : buildAccount(index, version, h));
  if (users && ctx.includeGeo) record.location = userLocation(h);
  if (ctx.hasWindow) {
    record.totalActions = totalActionsInWindow(record, ctx.windowStart, ctx.windowEnd);
  }
  if (ctx.filterSegment >= 0) {
    const segment = SEGMENTS[ctx.filterSegment];
    // Joined somewhere inside the account's first activity span.
    const spanDays = field(h, 4) % 400 + 1;
    record.segmentJoined = record.firstActivity + (field(h, 200 + ctx.filterSegment) % spanDays) * DAY_MS;
    record.segmentInputValues = users
      ? { segmentId: segment.id, language: record.attributes.language }
      : { segmentId: segment.id, region: record.attributes.region, tier: record.attributes.tier };
  }
  return record;
}

/** The start/end rule documented in the file header. */
function totalActionsInWindow(/** @type {AccountRecord} */ record, /** @type {number} */ start, /** @type {number} */ end) {
  const spanStart = record.firstActivity;
  const spanEnd = record.lastActivity + DAY_MS;
  const overlap = Math.min(spanEnd, end + 1) - Math.max(spanStart, start);
  if (overlap <= 0) return 0;
  return Math.floor((record.totalActions * overlap) / (spanEnd - spanStart));
}

/**
 * Hand-built JSON, faster than JSON.stringify of the object. Only displayName can need escaping:
 * every other string comes from the fixed lists above. The self-test checks both agree.
 */
function recordJson(/** @type {AccountRecord | UserRecord} */ r) {
  if ('accountName' in r) return userJson(r);
  const a = r.attributes;
  let text = '{"name":"' + r.name +
    '","displayName":' + JSON.stringify(r.displayName) +
    ',"engagementScore":' + r.engagementScore +
    ',"engagementPercentChange":' + r.engagementPercentChange +
    ',"firstActivity":' + r.firstActivity +
    ',"lastActivity":' + r.lastActivity +
    ',"totalActions":' + r.totalActions +
    ',"accountStatus":"' + r.accountStatus +
    '","attributes":{"industry":"' + a.industry + '","region":"' + a.region + '","tier":"' + a.tier + '"}';
  if (r.segmentJoined !== undefined && r.segmentInputValues) {
    const v = r.segmentInputValues;
    text += ',"segmentJoined":' + r.segmentJoined +
      ',"segmentInputValues":{"segmentId":"' + v.segmentId + '","region":"' + v.region + '","tier":"' + v.tier + '"}';
  }
  return text + '}';
}

/** recordJson for a user; jobTitle may need escaping, every other string comes from fixed lists. */
function userJson(/** @type {UserRecord} */ r) {
  let text = '{"name":"' + r.name +
    '","displayName":' + JSON.stringify(r.displayName) +
    ',"accountName":"' + r.accountName +
    '","engagementScore":' + r.engagementScore +
    ',"engagementPercentChange":' + r.engagementPercentChange +
    ',"firstActivity":' + r.firstActivity +
    ',"lastActivity":' + r.lastActivity +
    ',"totalActions":' + r.totalActions +
    ',"attributes":{"jobTitle":' + JSON.stringify(r.attributes.jobTitle) + ',"language":"' + r.attributes.language + '"}';
  if (r.location) text += ',"location":' + JSON.stringify(r.location);
  if (r.segmentJoined !== undefined && r.segmentInputValues) {
    text += ',"segmentJoined":' + r.segmentJoined + ',"segmentInputValues":' + JSON.stringify(r.segmentInputValues);
  }
  return text + '}';
}

/**
 * CSV column names for an export (with or without `filter`; users also with or without includeGeo).
 * @param {{ filter?: string, entity?: Entity, includeGeo?: boolean }} [query]
 * @returns {string[]}
 */
function csvColumns(query = {}) {
  const columns = query.entity === 'users'
    ? [...CSV_USER_COLUMNS, ...(query.includeGeo ? CSV_GEO_COLUMNS : [])]
    : [...CSV_COLUMNS];
  return query.filter ? [...columns, 'segmentJoined'] : columns;
}

/**
 * The cell values of a record as a CSV parser yields them (strings, same order as csvColumns).
 * @param {AccountRecord} r
 * @returns {string[]}
 */
function csvValues(r) {
  if ('accountName' in r) return userCsvValues(/** @type {UserRecord} */ (/** @type {unknown} */ (r)));
  const values = [r.name, r.displayName, String(r.engagementScore), String(r.engagementPercentChange),
    String(r.firstActivity), String(r.lastActivity), String(r.totalActions), r.accountStatus,
    r.attributes.industry, r.attributes.region, r.attributes.tier];
  if (r.segmentJoined !== undefined) values.push(String(r.segmentJoined));
  return values;
}

/** @param {UserRecord} r @returns {string[]} */
function userCsvValues(r) {
  const values = [r.name, r.displayName, r.accountName, String(r.engagementScore), String(r.engagementPercentChange),
    String(r.firstActivity), String(r.lastActivity), String(r.totalActions), r.attributes.jobTitle, r.attributes.language];
  const l = r.location;
  if (l) values.push(l.city, l.region, l.country, l.countryCode, String(l.latitude), String(l.longitude));
  if (r.segmentJoined !== undefined) values.push(String(r.segmentJoined));
  return values;
}

const CSV_NEEDS_QUOTES = /[",\r\n]/;
/** RFC 4180 quoting. */
function csvCell(/** @type {string} */ value) {
  return CSV_NEEDS_QUOTES.test(value) ? '"' + value.replace(/"/g, '""') + '"' : value;
}
function csvLine(/** @type {string[]} */ cells) {
  return cells.map(csvCell).join(',') + '\r\n';
}
/** One CSV row, same cells as csvLine(csvValues(r)); only displayName can need quoting. */
function recordCsvLine(/** @type {AccountRecord | UserRecord} */ r) {
  if ('accountName' in r) return csvLine(userCsvValues(r));
  const a = r.attributes;
  return r.name + ',' + csvCell(r.displayName) + ',' + r.engagementScore + ',' + r.engagementPercentChange +
    ',' + r.firstActivity + ',' + r.lastActivity + ',' + r.totalActions + ',' + r.accountStatus +
    ',' + a.industry + ',' + a.region + ',' + a.tier +
    (r.segmentJoined !== undefined ? ',' + r.segmentJoined : '') + '\r\n';
}

// ---------------------------------------------------------------------------------------------
// Export plans: which (account, version) sits at each export position. Identity plans store nothing.

/**
 * @typedef {{ length: number, accounts: Int32Array | null, versions: Uint32Array | null }} ExportPlan
 * @typedef {number | { index: number, after?: number }} RepeatEntry
 * @typedef {Record<string, unknown> & { name?: string, segments?: string[] }} LiteralRecord
 * @typedef {{ count?: number, seed?: number, repeats?: number | RepeatEntry[], records?: LiteralRecord[],
 *   userRecords?: LiteralRecord[] }} DatasetShape
 * @typedef {{ filter?: string, segmentId?: string, segmentationId?: string }} Narrowing
 */

/**
 * The export order before narrowing: every account in index order, each repeat right after the
 * original position `after` (>= its account index, so it always comes later than the first copy).
 * repeats as a number N: N repeats of seeded accounts placed up to a quarter of the export later.
 * repeats as a list: each entry is an account index (placement seeded) or { index, after }.
 * @param {DatasetShape} shape
 * @returns {ExportPlan}
 */
function buildBasePlan(shape) {
  const count = shape.count ?? 250;
  if (!Number.isSafeInteger(count) || count < 0) throw new Error(`standin: invalid count ${count}`);
  const seedMix = seedMixOf(shape.seed ?? 1);
  const repeats = normaliseRepeats(shape.repeats, count, seedMix);
  if (repeats.accounts.length === 0) return { length: count, accounts: null, versions: null };

  const repeatCount = repeats.accounts.length;
  // Counting sort of the repeats by their insertion point (stable, so list order is kept).
  const bucketStart = new Int32Array(count + 1);
  for (let k = 0; k < repeatCount; k++) bucketStart[repeats.after[k] + 1]++;
  for (let i = 0; i < count; i++) bucketStart[i + 1] += bucketStart[i];
  const fill = bucketStart.slice(0, count);
  const byBucket = new Int32Array(repeatCount);
  for (let k = 0; k < repeatCount; k++) byBucket[fill[repeats.after[k]]++] = repeats.accounts[k];

  const length = count + repeatCount;
  const accounts = new Int32Array(length);
  const versions = new Uint32Array(length);
  const seen = new Uint32Array(count);
  let position = 0;
  for (let i = 0; i < count; i++) {
    accounts[position] = i;
    versions[position++] = seen[i]++;
    for (let j = bucketStart[i]; j < bucketStart[i + 1]; j++) {
      const account = byBucket[j];
      accounts[position] = account;
      versions[position++] = seen[account]++;
    }
  }
  return { length, accounts, versions };
}

/**
 * @param {DatasetShape['repeats']} repeats @param {number} count @param {number} seedMix
 * @returns {{ accounts: Int32Array, after: Int32Array }}
 */
function normaliseRepeats(repeats, count, seedMix) {
  const list = repeats === undefined || repeats === null ? [] :
    typeof repeats === 'number' ? null : repeats;
  const total = list ? list.length : Number(repeats);
  if (!Number.isSafeInteger(total) || total < 0) throw new Error(`standin: invalid repeats ${String(repeats)}`);
  if (count === 0 || total === 0) return { accounts: new Int32Array(0), after: new Int32Array(0) };
  const spread = Math.max(1, Math.ceil(count / 4));
  const accounts = new Int32Array(total);
  const after = new Int32Array(total);
  for (let k = 0; k < total; k++) {
    const entry = list ? list[k] : mix32(seedMix ^ Math.imul(k + 1, 0x27d4eb2d)) % count;
    const account = typeof entry === 'number' ? entry : entry.index;
    if (!Number.isSafeInteger(account) || account < 0 || account >= count) {
      throw new Error(`standin: repeat of account ${account} outside 0..${count - 1}`);
    }
    const gap = 1 + (mix32(seedMix ^ Math.imul(k + 1, 0x165667b1)) % spread);
    const wanted = typeof entry === 'object' && entry.after !== undefined ? entry.after : account + gap;
    accounts[k] = account;
    after[k] = Math.min(count - 1, Math.max(account, wanted));
  }
  return { accounts, after };
}

/**
 * @typedef {{ empty: boolean, allOf: number[], anyOf: number[] | null, filterSegment: number, key: string }} ResolvedNarrowing
 * @param {Narrowing} narrowing
 * @returns {ResolvedNarrowing}
 */
function resolveNarrowing(narrowing) {
  const filter = narrowing.filter || undefined;
  const segmentId = narrowing.segmentId || undefined;
  const segmentationId = narrowing.segmentationId || undefined;
  /** @type {number[]} */
  const allOf = [];
  let empty = false;
  let filterSegment = -1;
  if (filter !== undefined) {
    filterSegment = SEGMENTS.findIndex((s) => s.name === filter || s.id === filter);
    if (filterSegment < 0) empty = true;
    else allOf.push(filterSegment);
  }
  if (segmentId !== undefined) {
    const index = SEGMENTS.findIndex((s) => s.id === segmentId);
    if (index < 0) empty = true;
    else if (!allOf.includes(index)) allOf.push(index);
  }
  /** @type {number[] | null} */
  let anyOf = null;
  if (segmentationId !== undefined) {
    anyOf = [];
    SEGMENTS.forEach((s, index) => { if (s.segmentationId === segmentationId) anyOf?.push(index); });
    if (anyOf.length === 0) empty = true;
  }
  const key = JSON.stringify([filter ?? null, segmentId ?? null, segmentationId ?? null]);
  return { empty, allOf, anyOf, filterSegment, key };
}

/**
 * @param {ExportPlan} base @param {number} count @param {number} seedMix @param {ResolvedNarrowing} narrowing
 * @returns {ExportPlan}
 */
function narrowPlan(base, count, seedMix, narrowing) {
  if (narrowing.empty) return { length: 0, accounts: new Int32Array(0), versions: null };
  if (narrowing.allOf.length === 0 && narrowing.anyOf === null) return base;
  const member = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const h = accountHash(seedMix, i);
    let ok = true;
    for (const s of narrowing.allOf) if (!isSegmentMember(h, s)) { ok = false; break; }
    if (ok && narrowing.anyOf) ok = narrowing.anyOf.some((s) => isSegmentMember(h, s));
    member[i] = ok ? 1 : 0;
  }
  let length = 0;
  for (let p = 0; p < base.length; p++) if (member[base.accounts ? base.accounts[p] : p]) length++;
  const accounts = new Int32Array(length);
  const versions = base.versions ? new Uint32Array(length) : null;
  let out = 0;
  for (let p = 0; p < base.length; p++) {
    const account = base.accounts ? base.accounts[p] : p;
    if (!member[account]) continue;
    accounts[out] = account;
    if (versions && base.versions) versions[out] = base.versions[p];
    out++;
  }
  return { length, accounts, versions };
}

/**
 * A literal dataset narrowed by its records' `segments`, with the same rules as narrowPlan.
 * @param {LiteralRecord[]} records @param {ResolvedNarrowing} narrowing
 * @returns {ExportPlan}
 */
function narrowLiteral(records, narrowing) {
  if (narrowing.empty) return { length: 0, accounts: new Int32Array(0), versions: null };
  /** @type {number[]} */
  const kept = [];
  records.forEach((record, position) => {
    /** @param {number} s */
    const member = (s) => (record.segments ?? []).includes(SEGMENTS[s].id);
    if (narrowing.allOf.every(member) && (!narrowing.anyOf || narrowing.anyOf.some(member))) kept.push(position);
  });
  return { length: kept.length, accounts: Int32Array.from(kept), versions: null };
}

/**
 * The literal records of a dataset for an entity (`records` are accounts, `userRecords` users), if any.
 * @param {{ records?: LiteralRecord[], userRecords?: LiteralRecord[] }} dataset @param {Entity} entity
 */
function literalOf(dataset, entity) {
  return entity === 'accounts' ? dataset.records : dataset.userRecords;
}

/** A literal record as served: without its `segments`. @param {LiteralRecord} record */
function literalServed(record) {
  const { segments, ...served } = record;
  return served;
}

/** @param {LiteralRecord} record */
function literalCsvLine(record) {
  const served = /** @type {Record<string, any>} */ (literalServed(record));
  return csvLine(CSV_COLUMNS.map((column) => {
    const value = column.startsWith('attributes.') ? served.attributes?.[column.slice(11)] : served[column];
    return value === undefined || value === null ? '' : String(value);
  }));
}

/**
 * @param {number | string | undefined} value
 * @returns {number | undefined}
 */
function epochOption(value) {
  if (value === undefined || value === null || value === '') return undefined;
  return typeof value === 'number' ? value : Number(value);
}

/**
 * @typedef {DatasetShape & { userCount?: number, userRepeats?: DatasetShape['repeats'] }} PopulationShapes
 *   userCount: users in the dataset (default twice `count`); userRepeats: their repeats (default `repeats`).
 */

/**
 * The shape of one population of a dataset: its accounts, or its users.
 * @param {PopulationShapes} shape @param {Entity} entity
 * @returns {{ count: number, seed: number, repeats: DatasetShape['repeats'], seedMix: number }}
 */
function populationOf(shape, entity) {
  const seed = shape.seed ?? 1;
  const accountCount = shape.count ?? 250;
  if (entity === 'accounts') return { count: accountCount, seed, repeats: shape.repeats, seedMix: seedMixOf(seed) };
  return {
    count: shape.userCount ?? 2 * accountCount,
    seed,
    repeats: shape.userRepeats ?? shape.repeats,
    seedMix: userSeedMixOf(seed),
  };
}

/**
 * @param {PopulationShapes} shape @param {Entity} entity @param {number} filterSegment
 * @param {{ start?: number, end?: number, includeGeo?: boolean }} query
 * @returns {RenderContext}
 */
function renderContext(shape, entity, filterSegment, query) {
  const { start, end } = query;
  return {
    entity,
    seedMix: populationOf(shape, entity).seedMix,
    hasWindow: start !== undefined || end !== undefined,
    windowStart: start ?? -Infinity,
    windowEnd: end ?? Infinity,
    filterSegment,
    includeGeo: entity === 'users' && query.includeGeo === true,
    accountCount: shape.count ?? 250,
    accountSeedMix: seedMixOf(shape.seed ?? 1),
  };
}

/**
 * @typedef {PopulationShapes & Narrowing & { start?: number | string, end?: number | string,
 *   entity?: Entity, includeGeo?: boolean }} ExportOptions
 *   entity: 'accounts' (default) or 'users'.
 */

/**
 * Every record of a full export in export order (repeats included), as JSON.parse would give it.
 * @param {ExportOptions} [options]
 * @returns {AccountRecord[]}
 */
function generateAccounts(options = {}) {
  const entity = options.entity ?? 'accounts';
  const population = populationOf(options, entity);
  const narrowing = resolveNarrowing(options);
  const plan = narrowPlan(buildBasePlan(population), population.count, population.seedMix, narrowing);
  const ctx = renderContext(options, entity, narrowing.filterSegment, {
    start: epochOption(options.start), end: epochOption(options.end), includeGeo: options.includeGeo,
  });
  /** @type {AccountRecord[]} */
  const records = new Array(plan.length);
  for (let p = 0; p < plan.length; p++) {
    // an account or, for entity 'users', a user: both read the same way by the callers
    records[p] = /** @type {AccountRecord} */ (exportRecord(plan.accounts ? plan.accounts[p] : p, plan.versions ? plan.versions[p] : 0, ctx));
  }
  return records;
}

/**
 * What a correct client ends up with: one record per `name`, the values of its LAST appearance,
 * in the order of FIRST appearance.
 * @param {ExportOptions} [options]
 * @returns {AccountRecord[]}
 */
function expectedAccounts(options = {}) {
  /** @type {Map<string, number>} */
  const slotByName = new Map();
  /** @type {AccountRecord[]} */
  const result = [];
  for (const record of generateAccounts(options)) {
    const slot = slotByName.get(record.name);
    if (slot === undefined) {
      slotByName.set(record.name, result.length);
      result.push(record);
    } else {
      result[slot] = record;
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Bodies

/**
 * @typedef {{ plan: ExportPlan, from: number, to: number, ctx: RenderContext, format: 'json' | 'csv', withHeader: boolean,
 *   records?: LiteralRecord[] }} ExportSlice
 * @typedef {{ fullRecords: number, halfRecord: boolean }} BodyCut
 *   a cut body: the header/opening, `fullRecords` whole records, then half of the next one (if asked).
 */

/**
 * The body of one export response in chunks of about 64 KiB, or a cut-off prefix of it.
 * @param {ExportSlice} slice @param {BodyCut | null} cut
 * @returns {Generator<string, void, void>}
 */
function* exportBodyChunks(slice, cut) {
  const { plan, from, to, ctx, format } = slice;
  if (cut && cut.halfRecord && from >= to) {
    // Nothing to cut inside a record: cut the (tiny) complete body itself.
    let whole = '';
    for (const chunk of exportBodyChunks(slice, null)) whole += chunk;
    yield whole.slice(0, whole.length >> 1);
    return;
  }
  const json = format === 'json';
  const header = csvLine(csvColumns({ filter: ctx.filterSegment >= 0 ? 'x' : undefined, entity: ctx.entity, includeGeo: ctx.includeGeo }));
  const fullEnd = cut ? Math.min(to, from + cut.fullRecords) : to;
  /** @param {number} position */
  const render = (position) => {
    if (slice.records) {
      const literal = slice.records[plan.accounts ? plan.accounts[position] : position];
      return json ? JSON.stringify(literalServed(literal)) : literalCsvLine(literal);
    }
    const record = exportRecord(plan.accounts ? plan.accounts[position] : position,
      plan.versions ? plan.versions[position] : 0, ctx);
    return json ? recordJson(record) : recordCsvLine(record);
  };

  let buffer = json ? '[' : slice.withHeader ? header : '';
  for (let p = from; p < fullEnd; p++) {
    if (json && p > from) buffer += ',';
    buffer += render(p);
    if (buffer.length >= CHUNK_TARGET_CHARS) {
      yield buffer;
      buffer = '';
    }
  }
  if (cut) {
    if (cut.halfRecord && fullEnd < to) {
      const next = (json && fullEnd > from ? ',' : '') + render(fullEnd);
      buffer += next.slice(0, Math.max(1, next.length >> 1));
    }
    yield buffer;
    return;
  }
  if (json) buffer += ']';
  yield buffer;
}

/** @param {http.ServerResponse} res @returns {Promise<void>} */
function drainOrClose(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Writes chunks honouring backpressure. Resolves with the bytes written, or -1 if the client went away.
 * With `waitFlush` it also waits until the last chunk has been handed to the socket (before a reset/close).
 * @param {http.ServerResponse} res @param {Iterable<string>} chunks @param {boolean} [waitFlush]
 * @returns {Promise<number>}
 */
async function writeChunks(res, chunks, waitFlush = false) {
  let bytes = 0;
  /** @type {Promise<void> | null} */
  let lastWritten = null;
  for (const chunk of chunks) {
    if (res.destroyed) return -1;
    if (chunk.length === 0) continue;
    bytes += Buffer.byteLength(chunk);
    let accepted = true;
    if (waitFlush) {
      lastWritten = new Promise((resolve) => { accepted = res.write(chunk, () => resolve()); });
    } else {
      accepted = res.write(chunk);
    }
    if (!accepted) await drainOrClose(res);
  }
  if (lastWritten && !res.destroyed) await Promise.race([lastWritten, closedPromise(res)]);
  return res.destroyed ? -1 : bytes;
}

/**
 * A body chosen by a test, as a hostile or broken service would send it: any status, headers,
 * gzip-encoded, in small chunks with pauses, or stalled for good after some bytes.
 * @param {http.ServerResponse} res
 * @param {{ status?: number, body: string | Buffer, contentType?: string, headers?: Record<string, string>,
 *   gzip?: boolean, stallAfterBytes?: number, chunkBytes?: number, chunkDelayMs?: number | ((chunk: number) => number) }} fault
 * @param {(ms: number, res: http.ServerResponse) => Promise<boolean>} wait
 * @returns {Promise<void>}
 */
async function writeHostileBody(res, fault, wait) {
  let body = Buffer.isBuffer(fault.body) ? fault.body : Buffer.from(fault.body, 'utf8');
  /** @type {Record<string, string | number>} */
  const headers = { 'Content-Type': fault.contentType ?? 'application/json; charset=utf-8', ...fault.headers };
  if (fault.gzip) {
    body = zlib.gzipSync(body);
    headers['Content-Encoding'] = 'gzip';
  }
  const stallAt = fault.stallAfterBytes ?? Infinity;
  if (stallAt === Infinity && !fault.chunkDelayMs) headers['Content-Length'] = body.length;
  res.writeHead(fault.status ?? 200, headers);
  const step = Math.max(1, fault.chunkBytes ?? 64 * 1024);
  // A pause after each chunk: the same one, or one per chunk (a body that speeds up or slows down).
  const pauseAfter = typeof fault.chunkDelayMs === 'function' ? fault.chunkDelayMs : () => Number(fault.chunkDelayMs ?? 0);
  for (let at = 0, index = 0; at < body.length; at += step, index++) {
    if (res.destroyed) return;
    const chunk = body.subarray(at, Math.min(body.length, at + step, Math.max(at, stallAt)));
    if (chunk.length > 0 && !res.write(chunk)) await drainOrClose(res);
    // Stalled: the socket stays open until the client gives up or close() destroys it.
    if (at + step >= stallAt) return;
    const pause = pauseAfter(index);
    if (pause > 0 && !(await wait(pause, res))) return;
  }
  res.end();
}

/** @param {http.ServerResponse} res @returns {Promise<void>} */
function closedPromise(res) {
  return new Promise((resolve) => {
    if (res.destroyed) resolve();
    else res.once('close', () => resolve());
  });
}

// ---------------------------------------------------------------------------------------------
// Faults

/**
 * @typedef {{ kind: 'status', status: number, retryAfter?: string | number, body?: string, contentType?: string,
 *     headers?: Record<string, string> }
 *   | { kind: 'body', status?: number, body: string | Buffer, contentType?: string, headers?: Record<string, string>,
 *     gzip?: boolean, stallAfterBytes?: number, chunkBytes?: number, chunkDelayMs?: number | ((chunk: number) => number) }
 *   | { kind: 'reset' }
 *   | { kind: 'truncate', contentLength?: boolean }
 *   | { kind: 'slow', delayMs?: number }
 *   | { kind: 'stall' }} Fault
 * @typedef {{ index: number, requestIndex: number, page: number, pageSize: number | undefined,
 *   effectivePageSize: number | undefined, datasetId: string, entity: Entity, format: 'json' | 'csv', query: Record<string, string> }} FaultRequestInfo
 *   index: ordinal of this export request among those that reached the fault stage (0-based; faults[index]).
 * @typedef {Array<Fault | null | undefined> | ((info: FaultRequestInfo) => Fault | null | undefined)} FaultPlan
 */

const FAULT_KINDS = new Set(['status', 'reset', 'truncate', 'slow', 'stall', 'body']);

/** @type {ReadonlyArray<Fault>} */
const DEFAULT_FAULT_MIX = Object.freeze([
  { kind: 'status', status: 429, retryAfter: '0' },
  { kind: 'status', status: 429 },
  { kind: 'status', status: 500 },
  { kind: 'status', status: 502 },
  { kind: 'status', status: 503 },
  { kind: 'reset' },
  { kind: 'truncate' },
]);

/** @param {unknown} fault @returns {Fault | null} */
function checkFault(fault) {
  if (fault === null || fault === undefined) return null;
  const kind = typeof fault === 'object' ? /** @type {{ kind?: unknown }} */ (fault).kind : undefined;
  if (typeof kind !== 'string' || !FAULT_KINDS.has(kind)) {
    throw new Error(`standin: unknown fault ${JSON.stringify(fault)}`);
  }
  if (kind === 'status') {
    const status = /** @type {{ status?: unknown }} */ (fault).status;
    if (typeof status !== 'number' || status < 300 || status > 599) {
      throw new Error(`standin: status fault needs a 3xx/4xx/5xx status, got ${String(status)}`);
    }
  }
  return /** @type {Fault} */ (fault);
}

/** @param {number} status @returns {{ contentType: string, body: string }} */
function defaultFaultBody(status) {
  const reason = http.STATUS_CODES[status] ?? 'Error';
  // Gateways answer in HTML, the service itself in JSON: clients must cope with both.
  if (status === 502 || status === 504) {
    return { contentType: 'text/html; charset=utf-8', body: `<html><body><h1>${status} ${reason}</h1></body></html>\n` };
  }
  if (status === 503) return { contentType: 'text/plain; charset=utf-8', body: reason };
  return { contentType: 'application/json; charset=utf-8', body: JSON.stringify({ error: reason }) };
}

// ---------------------------------------------------------------------------------------------
// Server

/**
 * @typedef {PopulationShapes & {
 *   forbidden?: boolean,
 *   throttleOncePerRequest?: boolean | { retryAfter?: string },
 *   maxInFlight?: MaxInFlight,
 *   maxPageSize?: number, csvHeaderEveryPage?: boolean, csvEmptyPage?: 'header' | 'empty'
 * }} DatasetConfig
 *   throttleOncePerRequest: the first request for each distinct (format, query) gets 429 (Retry-After 1 by default).
 *   maxInFlight: overrides the server's for requests to this dataset.
 *
 * @typedef {number | { limit: number, retryAfter?: string }} MaxInFlight
 *   more than `limit` export requests open at once: 429 with Retry-After (default '1').
 *
 * @typedef {{
 *   credentials?: Credentials, datasets?: Record<string, DatasetConfig>, apiAccess?: boolean,
 *   maxPageSize?: number, latencyMs?: number, csvEmptyPage?: 'header' | 'empty', csvHeaderEveryPage?: boolean,
 *   faults?: FaultPlan, faultRate?: number, faultMix?: Fault[], seed?: number, maxInFlight?: MaxInFlight,
 *   maxLifetimeMs?: number, maxRequestLog?: number, control?: boolean, port?: number,
 *   sendEvents?: boolean, identityResolution?: boolean, profiles?: Record<string, import('./standin-actions').ProfileSeed[]>,
 *   actionFaults?: import('./standin-actions').ActionFaultPlan
 * }} StandinOptions
 *   datasets replaces the default set entirely.
 *
 * @typedef {{ requests: number, exportRequests: number, byStatus: Record<string, number>,
 *   faultsByKind: Record<string, number>, recordsServed: number, bytesServed: number,
 *   inFlightPeak: number, rateLimited: number }} StandinStats
 *   inFlightPeak: most export requests open at once; rateLimited: 429s sent for maxInFlight.
 *
 * @typedef {{ index: number, method: string, path: string, datasetId: string | null, format: 'json' | 'csv' | null,
 *   entity: Entity | null,
 *   query: Record<string, string>, rawUrl: string, authOk: boolean, status: number | null, fault: Fault | null,
 *   inFlight: number | null, at: number, answeredAt: number | null }} RequestLogEntry
 *   status: the status line sent (200 for reset/truncate/stall), null while in flight or if none was sent.
 *   inFlight: export requests open when this one arrived, itself included (null for other routes).
 *   at: when it arrived (Date.now()). answeredAt: when its status line was sent, null if none was.
 *
 * @typedef {{ url: string, port: number, readonly stats: StandinStats, readonly requests: RequestLogEntry[], readonly inFlight: number,
 *   setFaults: (faults: FaultPlan | undefined) => void, resetStats: () => void,
 *   setDataset: (datasetId: string, dataset: DatasetConfig) => void,
 *   actions: ReturnType<typeof createActionRoutes>,
 *   close: () => Promise<void>, closed: Promise<void>, httpServer: http.Server }} Standin
 */

/** @type {Record<string, DatasetConfig>} */
const DEFAULT_DATASETS = {
  engage: { count: 250, seed: 1, repeats: 0 },
  restricted: { count: 10, forbidden: true },
};

/** @returns {StandinStats} */
function emptyStats() {
  return { requests: 0, exportRequests: 0, byStatus: {}, faultsByKind: {}, recordsServed: 0, bytesServed: 0, inFlightPeak: 0, rateLimited: 0 };
}

const DIGITS = /^\d+$/;

/** @param {MaxInFlight | undefined} value @returns {{ limit: number, retryAfter: string } | null} */
function inFlightLimit(value) {
  if (value === undefined || value === null) return null;
  const limit = typeof value === 'number' ? value : value.limit;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new Error(`standin: maxInFlight must be a positive integer, got ${String(limit)}`);
  return { limit, retryAfter: (typeof value === 'object' ? value.retryAfter : undefined) ?? '1' };
}

/**
 * @param {URLSearchParams} params
 * @returns {{ error: string | null, start?: number, end?: number, pageSize?: number, page?: number }} page is set when error is null
 */
function parseExportQuery(params) {
  /** @param {string} name */
  const digits = (name) => {
    const raw = params.get(name);
    if (raw === null) return { value: undefined };
    const value = Number(raw);
    if (!DIGITS.test(raw) || !Number.isSafeInteger(value)) return { value: undefined, bad: true };
    return { value };
  };
  const start = digits('start');
  if (start.bad) return { error: 'Invalid start: expected epoch milliseconds (digits only)' };
  const end = digits('end');
  if (end.bad) return { error: 'Invalid end: expected epoch milliseconds (digits only)' };
  if (start.value !== undefined && end.value !== undefined && start.value > end.value) {
    return { error: 'Invalid window: start is after end' };
  }
  const pageSize = digits('pageSize');
  if (pageSize.bad || pageSize.value === 0) return { error: 'Invalid pageSize: expected a positive integer' };
  const page = digits('page');
  if (page.bad) return { error: 'Invalid page: expected a non-negative integer (zero-based)' };
  return { error: null, start: start.value, end: end.value, pageSize: pageSize.value, page: page.value ?? 0 };
}

/** @param {string | undefined} header @param {Credentials} credentials */
function basicAuthMatches(header, credentials) {
  if (typeof header !== 'string') return false;
  const match = /^basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!match) return false;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  return decoded.slice(0, colon) === credentials.apiKeyId && decoded.slice(colon + 1) === credentials.apiSecretKey;
}

/** First value wins, like URLSearchParams.get, which the server uses. */
function queryObject(/** @type {URLSearchParams} */ params) {
  /** @type {Record<string, string>} */
  const query = {};
  for (const [key, value] of params) {
    if (!Object.prototype.hasOwnProperty.call(query, key)) {
      Object.defineProperty(query, key, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  return query;
}

/**
 * @typedef {{ kind: 'export', datasetId: string, entity: Entity, format: 'json' | 'csv' } | { kind: 'principals' }
 *   | { kind: 'control-reset' } | { kind: 'control-stats' } | { kind: 'control-actions' } | { kind: 'control-dataset', datasetId: string }
 *   | { kind: 'bad-encoding' } | { kind: 'unknown' }} Route
 * @param {string} rawPath
 * @returns {Route}
 */
function routeOf(rawPath) {
  // Split the raw path first so that %2F stays inside a segment.
  const parts = rawPath.split('/');
  if (rawPath === '/api/principals') return { kind: 'principals' };
  if (rawPath === '/__standin/reset') return { kind: 'control-reset' };
  if (rawPath === '/__standin/stats') return { kind: 'control-stats' };
  if (rawPath === '/__standin/actions') return { kind: 'control-actions' };
  if (rawPath.startsWith('/__standin/dataset/')) {
    try {
      return { kind: 'control-dataset', datasetId: decodeURIComponent(rawPath.slice('/__standin/dataset/'.length)) };
    } catch {
      return { kind: 'bad-encoding' };
    }
  }
  if (parts.length === 5 && parts[0] === '' && parts[1] === 'api' && parts[2] === 'dataset' &&
      /^(accounts|users)\.(json|csv)$/.test(parts[4])) {
    let datasetId;
    try {
      datasetId = decodeURIComponent(parts[3]);
    } catch {
      return { kind: 'bad-encoding' };
    }
    if (datasetId === '') return { kind: 'unknown' };
    const [entity, format] = parts[4].split('.');
    return { kind: 'export', datasetId, entity: /** @type {Entity} */ (entity), format: format === 'json' ? 'json' : 'csv' };
  }
  return { kind: 'unknown' };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Starts the stand-in on 127.0.0.1.
 * @param {StandinOptions} [options]
 * @returns {Promise<Standin>}
 */
async function startStandin(options = {}) {
  const credentials = options.credentials ?? DEFAULT_CREDENTIALS;
  // A copy: setDataset changes this server's datasets, never the caller's object.
  const datasets = { ...(options.datasets ?? DEFAULT_DATASETS) };
  const latencyMs = options.latencyMs ?? 0;
  const maxRequestLog = options.maxRequestLog ?? DEFAULT_MAX_REQUEST_LOG;
  const faultRate = options.faultRate ?? 0;
  const faultMix = (options.faultMix ?? DEFAULT_FAULT_MIX).map(checkFault);
  const random = randomSource(options.seed ?? 1);

  /** @type {FaultPlan | undefined} */
  let faults;
  let faultCursor = 0;
  /** @param {FaultPlan | undefined} plan */
  const setFaults = (plan) => {
    if (Array.isArray(plan)) plan.forEach(checkFault);
    else if (plan !== undefined && plan !== null && typeof plan !== 'function') throw new Error('standin: faults must be an array or a function');
    faults = plan ?? undefined;
    faultCursor = 0;
  };
  setFaults(options.faults);

  let stats = emptyStats();
  /** @type {RequestLogEntry[]} */
  let requestLog = [];
  let requestIndex = 0;
  let exportIndex = 0;
  /** Export requests open now; not reset with the stats, since they are still open. */
  let openExports = 0;
  const serverInFlightLimit = inFlightLimit(options.maxInFlight);
  for (const dataset of Object.values(datasets)) inFlightLimit(dataset.maxInFlight);
  /** Requests (format + query) already throttled once by datasets with throttleOncePerRequest. */
  let throttled = new Set();
  const resetStats = () => {
    stats = emptyStats();
    requestLog = [];
    requestIndex = 0;
    exportIndex = 0;
    throttled = new Set();
  };

  /** Plans are cached per dataset + narrowing: the O(count) work happens once, not per page. */
  /** @type {Map<string, ExportPlan>} */
  const planCache = new Map();
  /** @type {Map<string, ExportPlan>} */
  const basePlans = new Map();
  // Built up front so a bad dataset definition fails at start, not on the first request.
  for (const [datasetId, dataset] of Object.entries(datasets)) {
    for (const entity of /** @type {const} */ (['accounts', 'users'])) {
      basePlans.set(entity + ' ' + datasetId, buildBasePlan(populationOf(dataset, entity)));
    }
  }
  /** @param {string} datasetId @param {DatasetConfig} dataset @param {Entity} entity @param {ResolvedNarrowing} narrowing */
  const planFor = (datasetId, dataset, entity, narrowing) => {
    const key = entity + JSON.stringify(datasetId) + narrowing.key;
    let plan = planCache.get(key);
    const literal = literalOf(dataset, entity);
    if (!plan && literal) plan = narrowLiteral(literal, narrowing);
    if (!plan) {
      const population = populationOf(dataset, entity);
      const base = basePlans.get(entity + ' ' + datasetId) ?? buildBasePlan(population);
      plan = narrowPlan(base, population.count, population.seedMix, narrowing);
      if (planCache.size > 64) planCache.delete(/** @type {string} */ (planCache.keys().next().value));
      planCache.set(key, plan);
    }
    return plan;
  };

  /** Replaces (or adds) a dataset; the next export request sees it. @param {string} datasetId @param {DatasetConfig} dataset */
  const setDataset = (datasetId, dataset) => {
    for (const entity of /** @type {const} */ (['accounts', 'users'])) {
      basePlans.set(entity + ' ' + datasetId, buildBasePlan(populationOf(dataset, entity)));
    }
    datasets[datasetId] = dataset;
    planCache.clear();
  };

  /** Timers of latency/slow responses, cleared by close() so nothing lingers. */
  /** @type {Set<{ timer: NodeJS.Timeout, resolve: (fired: boolean) => void }>} */
  const pendingDelays = new Set();
  /**
   * @param {number} ms @param {http.ServerResponse} res the wait ends early if this response closes
   * @returns {Promise<boolean>} true when the time passed, false when the client left or the server closes
   */
  const delay = (ms, res) => new Promise((resolve) => {
    if (res.destroyed) return resolve(false);
    const onClose = () => finish(false);
    /** @param {boolean} fired */
    const finish = (fired) => {
      clearTimeout(item.timer);
      pendingDelays.delete(item);
      res.off('close', onClose);
      resolve(fired);
    };
    const item = { timer: setTimeout(() => finish(true), ms), resolve: finish };
    pendingDelays.add(item);
    res.on('close', onClose);
  });

  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();
  const httpServer = http.createServer({ keepAliveTimeout: 5000 });
  httpServer.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  /** @param {RequestLogEntry | null} entry null for control requests, which stay out of the stats @param {number} status */
  const countStatus = (entry, status) => {
    if (!entry) return;
    entry.status = status;
    entry.answeredAt = Date.now();
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
  };
  /** @param {string} kind */
  const countFault = (kind) => {
    stats.faultsByKind[kind] = (stats.faultsByKind[kind] ?? 0) + 1;
  };

  /**
   * @param {http.ServerResponse} res @param {RequestLogEntry | null} entry @param {number} status
   * @param {string} contentType @param {string} body @param {Record<string, string>} [headers]
   */
  const sendSimple = (res, entry, status, contentType, body, headers = {}) => {
    if (res.destroyed) return;
    countStatus(entry, status);
    res.writeHead(status, { ...headers, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  /** @param {http.ServerResponse} res @param {RequestLogEntry | null} entry @param {number} status @param {string} message */
  const sendJsonError = (res, entry, status, message, headers = {}) =>
    sendSimple(res, entry, status, 'application/json; charset=utf-8', JSON.stringify({ error: message }), headers);
  /** @param {http.ServerResponse} res @param {RequestLogEntry | null} entry @param {number} status @param {string} message */
  const sendText = (res, entry, status, message) =>
    sendSimple(res, entry, status, 'text/plain; charset=utf-8', message);

  /** @param {http.ServerResponse} res @param {RequestLogEntry} entry @param {ExportSlice} slice @returns {Promise<void>} */
  const sendExport = async (res, entry, slice) => {
    const contentType = slice.format === 'json' ? 'application/json; charset=utf-8' : 'text/csv; charset=utf-8';
    const chunks = exportBodyChunks(slice, null);
    const first = chunks.next();
    const firstChunk = first.done ? '' : /** @type {string} */ (first.value);
    const second = first.done ? first : chunks.next();
    if (second.done) {
      // Small body: one write with a Content-Length.
      sendSimple(res, entry, 200, contentType, firstChunk);
      stats.recordsServed += slice.to - slice.from;
      stats.bytesServed += Buffer.byteLength(firstChunk);
      return;
    }
    countStatus(entry, 200);
    res.writeHead(200, { 'Content-Type': contentType });
    const rest = (function* () {
      yield firstChunk;
      yield /** @type {string} */ (second.value);
      yield* chunks;
    })();
    const bytes = await writeChunks(res, rest);
    if (bytes < 0) return;
    res.end();
    stats.recordsServed += slice.to - slice.from;
    stats.bytesServed += bytes;
  };

  /**
   * @param {http.ServerResponse} res @param {RequestLogEntry} entry @param {ExportSlice} slice @param {Fault} fault
   * @returns {Promise<void>}
   */
  const sendFault = async (res, entry, slice, fault) => {
    countFault(fault.kind);
    const contentType = slice.format === 'json' ? 'application/json; charset=utf-8' : 'text/csv; charset=utf-8';
    const count = slice.to - slice.from;
    const socket = res.socket;
    switch (fault.kind) {
      case 'status': {
        const fallback = defaultFaultBody(fault.status);
        /** @type {Record<string, string>} */
        const headers = { ...fault.headers };
        if (fault.retryAfter !== undefined) headers['Retry-After'] = String(fault.retryAfter);
        sendSimple(res, entry, fault.status, fault.contentType ?? fallback.contentType, fault.body ?? fallback.body, headers);
        return;
      }
      case 'body': {
        countStatus(entry, fault.status ?? 200);
        await writeHostileBody(res, fault, delay);
        return;
      }
      case 'slow': {
        const fired = await delay(fault.delayMs ?? 60_000, res);
        if (!fired || res.destroyed) return;
        await sendExport(res, entry, slice);
        return;
      }
      case 'stall': {
        countStatus(entry, 200);
        res.writeHead(200, { 'Content-Type': contentType });
        await writeChunks(res, exportBodyChunks(slice, { fullRecords: Math.min(1, count), halfRecord: false }));
        // Never end: the socket stays open until the client gives up or close() destroys it.
        return;
      }
      case 'reset': {
        countStatus(entry, 200);
        res.writeHead(200, { 'Content-Type': contentType });
        const bytes = await writeChunks(res, exportBodyChunks(slice, { fullRecords: count >> 1, halfRecord: true }), true);
        if (bytes < 0) return;
        await delay(RESET_GRACE_MS, res);
        if (socket && !socket.destroyed) {
          if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
          else socket.destroy();
        }
        return;
      }
      case 'truncate': {
        const cut = { fullRecords: count >> 1, halfRecord: true };
        countStatus(entry, 200);
        if (!fault.contentLength) {
          // Chunked and ended cleanly: only parsing the body can tell it is incomplete.
          res.writeHead(200, { 'Content-Type': contentType });
          const bytes = await writeChunks(res, exportBodyChunks(slice, cut));
          if (bytes >= 0) res.end();
          return;
        }
        // Declare the full length, send a prefix, then close: the client sees a premature end.
        let fullLength = 0;
        for (const chunk of exportBodyChunks(slice, null)) fullLength += Buffer.byteLength(chunk);
        res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': fullLength, Connection: 'close' });
        const bytes = await writeChunks(res, exportBodyChunks(slice, cut), true);
        if (bytes < 0) return;
        if (socket && !socket.destroyed) {
          socket.end();
          setTimeout(() => socket.destroy(), 1000).unref();
        }
        return;
      }
    }
  };

  const actions = createActionRoutes({
    options, datasets, delay, sendSimple, sendJsonError,
    credentialsOk: (req) => basicAuthMatches(req.headers.authorization, credentials),
  });

  /** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
  const handle = async (req, res) => {
    const rawUrl = req.url ?? '/';
    const method = req.method ?? 'GET';
    const queryStart = rawUrl.indexOf('?');
    const rawPath = queryStart < 0 ? rawUrl : rawUrl.slice(0, queryStart);
    const params = new URLSearchParams(queryStart < 0 ? '' : rawUrl.slice(queryStart + 1));
    const route = routeOf(rawPath);

    if (route.kind === 'control-reset' || route.kind === 'control-stats' || route.kind === 'control-dataset' || route.kind === 'control-actions') {
      const loopback = LOOPBACK.has(req.socket.remoteAddress ?? '');
      if (!options.control || !loopback) return sendText(res, null, 404, 'Not found');
      if (route.kind === 'control-dataset') {
        if (method !== 'PUT') return sendText(res, null, 405, 'Use PUT');
        let body = '';
        for await (const chunk of req) body += chunk;
        try {
          setDataset(route.datasetId, JSON.parse(body));
        } catch (error) {
          return sendText(res, null, 400, `Bad dataset: ${/** @type {Error} */ (error).message}`);
        }
        return sendSimple(res, null, 200, 'application/json; charset=utf-8', JSON.stringify({ ok: true }));
      }
      if (route.kind === 'control-actions') {
        return sendSimple(res, null, 200, 'application/json; charset=utf-8',
          JSON.stringify({ events: actions.events, deletions: actions.deletions }));
      }
      if (route.kind === 'control-reset') {
        if (method !== 'POST') return sendText(res, null, 405, 'Use POST');
        resetStats();
        // Events, deletions and users start over too: each suite's counts are its own.
        actions.reset();
        return sendSimple(res, null, 200, 'application/json; charset=utf-8', JSON.stringify({ ok: true }));
      }
      return sendSimple(res, null, 200, 'application/json; charset=utf-8', JSON.stringify(stats));
    }

    stats.requests++;
    /** @type {RequestLogEntry} */
    const entry = {
      index: requestIndex++,
      method,
      path: rawPath,
      datasetId: route.kind === 'export' ? route.datasetId : null,
      entity: route.kind === 'export' ? route.entity : null,
      format: route.kind === 'export' ? route.format : null,
      query: queryObject(params),
      rawUrl,
      authOk: basicAuthMatches(req.headers.authorization, credentials),
      status: null,
      fault: null,
      inFlight: null,
      at: Date.now(),
      answeredAt: null,
    };
    if (route.kind === 'export') {
      // Open from arrival (the latency below included) until the answer is sent or the client leaves.
      entry.inFlight = ++openExports;
      if (openExports > stats.inFlightPeak) stats.inFlightPeak = openExports;
      let open = true;
      const closed = () => {
        if (open) openExports--;
        open = false;
      };
      res.once('finish', closed);
      res.once('close', closed);
    }
    requestLog.push(entry);
    // Trim in batches so logging stays O(1) amortised under load.
    if (requestLog.length > maxRequestLog + Math.ceil(maxRequestLog / 10)) requestLog.splice(0, requestLog.length - maxRequestLog);

    if (latencyMs > 0 && !(await delay(latencyMs, res))) return;
    if (res.destroyed) return;
    if (route.kind === 'unknown' && (await actions.handle(req, res, entry, rawPath))) return;

    if (route.kind === 'unknown') return sendText(res, entry, 404, 'Not found');
    if (route.kind === 'bad-encoding') return sendText(res, entry, 400, 'Malformed percent-encoding in path');
    if (method !== 'GET') {
      res.setHeader('Allow', 'GET');
      return sendText(res, entry, 405, 'Method not allowed');
    }
    if (!entry.authOk) {
      return sendJsonError(res, entry, 401, 'Authentication required', { 'WWW-Authenticate': 'Basic realm="evergage"' });
    }
    if (options.apiAccess === false) return sendJsonError(res, entry, 403, 'API access is not enabled for this token');
    if (route.kind === 'principals') {
      const principals = [{ id: 'principal-' + credentials.apiKeyId, name: `API token ${credentials.apiKeyId}` }];
      return sendSimple(res, entry, 200, 'application/json; charset=utf-8', JSON.stringify(principals));
    }

    const dataset = Object.prototype.hasOwnProperty.call(datasets, route.datasetId) ? datasets[route.datasetId] : undefined;
    if (!dataset) return sendJsonError(res, entry, 404, 'Dataset not found');
    if (dataset.forbidden) return sendJsonError(res, entry, 403, 'Token may not read this dataset');
    const query = parseExportQuery(params);
    if (query.error !== null) return sendText(res, entry, 400, query.error);

    const narrowing = resolveNarrowing({
      filter: params.get('filter') ?? undefined,
      segmentId: params.get('segmentId') ?? undefined,
      segmentationId: params.get('segmentationId') ?? undefined,
    });
    const plan = planFor(route.datasetId, dataset, route.entity, narrowing);
    const maxPageSize = dataset.maxPageSize ?? options.maxPageSize;
    const effectivePageSize = query.pageSize === undefined ? undefined :
      maxPageSize !== undefined ? Math.min(query.pageSize, maxPageSize) : query.pageSize;
    const from = effectivePageSize === undefined ? 0 : Math.min(plan.length, query.page * effectivePageSize);
    const to = effectivePageSize === undefined ? plan.length : Math.min(plan.length, from + effectivePageSize);
    const paged = effectivePageSize !== undefined;
    const headerEveryPage = dataset.csvHeaderEveryPage ?? options.csvHeaderEveryPage ?? true;
    const emptyPage = dataset.csvEmptyPage ?? options.csvEmptyPage ?? 'header';
    const withHeader = (!paged || query.page === 0 || headerEveryPage) && !(paged && from >= to && emptyPage === 'empty');
    /** @type {ExportSlice} */
    const slice = {
      plan, from, to, format: route.format, withHeader, records: literalOf(dataset, route.entity),
      ctx: renderContext(dataset, route.entity, narrowing.filterSegment, {
        start: query.start, end: query.end, includeGeo: params.get('includeGeo') === 'true',
      }),
    };

    stats.exportRequests++;
    /** @type {Fault | null} */
    let fault = null;
    const rateLimit = dataset.maxInFlight !== undefined ? inFlightLimit(dataset.maxInFlight) : serverInFlightLimit;
    if (rateLimit && entry.inFlight !== null && entry.inFlight > rateLimit.limit) {
      stats.rateLimited++;
      fault = { kind: 'status', status: 429, retryAfter: rateLimit.retryAfter };
    }
    if (!fault && dataset.throttleOncePerRequest) {
      const key = JSON.stringify([route.datasetId, route.format, [...params].sort()]);
      if (!throttled.has(key)) {
        throttled.add(key);
        const retryAfter = typeof dataset.throttleOncePerRequest === 'object' ? dataset.throttleOncePerRequest.retryAfter : undefined;
        fault = { kind: 'status', status: 429, retryAfter: retryAfter ?? '1' };
      }
    }
    if (!fault) {
      /** @type {FaultRequestInfo} */
      const info = {
        index: exportIndex++, requestIndex: entry.index, page: query.page, pageSize: query.pageSize,
        effectivePageSize, datasetId: route.datasetId, entity: route.entity, format: route.format, query: entry.query,
      };
      if (typeof faults === 'function') fault = checkFault(faults(info));
      else if (Array.isArray(faults) && faultCursor < faults.length) fault = checkFault(faults[faultCursor++]);
      if (!fault && faultRate > 0 && faultMix.length > 0 && random() < faultRate) {
        fault = faultMix[Math.floor(random() * faultMix.length)];
      }
    }
    if (fault) {
      entry.fault = { ...fault };
      return sendFault(res, entry, slice, fault);
    }
    return sendExport(res, entry, slice);
  };

  httpServer.on('request', (req, res) => {
    handle(req, res).catch((error) => {
      process.stderr.write(`standin: ${error.stack ?? error}\n`);
      if (!res.headersSent && !res.destroyed) sendText(res, null, 500, `standin error: ${error.message}`);
      else res.destroy();
    });
  });

  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port ?? 0, '127.0.0.1', () => {
      httpServer.off('error', reject);
      resolve(undefined);
    });
  });
  const address = /** @type {import('node:net').AddressInfo} */ (httpServer.address());

  /** @type {() => void} */
  let markClosed = () => {};
  /** @type {Promise<void>} */
  const closed = new Promise((resolve) => { markClosed = resolve; });
  /** @type {Promise<void> | null} */
  let closing = null;
  const close = () => {
    if (!closing) {
      closing = /** @type {Promise<void>} */ (new Promise((resolve) => {
        clearTimeout(lifetimeTimer);
        for (const item of [...pendingDelays]) item.resolve(false);
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
        // Belt and braces: stalled or half-written sockets too.
        for (const socket of sockets) socket.destroy();
      })).then(markClosed);
    }
    return closing;
  };
  const lifetimeMs = options.maxLifetimeMs ?? 10 * 60_000;
  const lifetimeTimer = setTimeout(() => {
    // Said aloud: every request after this is refused, which a long test would otherwise take for the node's fault.
    process.stderr.write(`standin: closed itself after its lifetime of ${lifetimeMs} ms (maxLifetimeMs)\n`);
    void close();
  }, lifetimeMs);
  lifetimeTimer.unref();

  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    get stats() { return stats; },
    get requests() { return requestLog; },
    get inFlight() { return openExports; },
    setFaults,
    resetStats,
    setDataset,
    actions,
    close,
    closed,
    httpServer,
  };
}

// ---------------------------------------------------------------------------------------------
// CLI

const CLI_USAGE = 'usage: node test/support/standin.js [--port N] [--count N] [--seed N] [--max-page-size N] ' +
  '[--user-count N] [--latency-ms N] [--repeats N] [--fault-rate X] [--max-in-flight N] [--key-id X] [--secret Y] [--max-lifetime-ms N]';

/**
 * @param {string[]} argv
 * @returns {Record<string, string>}
 */
function parseCliArgs(argv) {
  const known = new Set(['port', 'count', 'user-count', 'seed', 'max-page-size', 'latency-ms', 'repeats', 'fault-rate',
    'max-in-flight', 'key-id', 'secret', 'max-lifetime-ms']);
  /** @type {Record<string, string>} */
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!match || !known.has(match[1])) throw new Error(`unknown argument ${argv[i]}\n${CLI_USAGE}`);
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new Error(`--${match[1]} needs a value\n${CLI_USAGE}`);
    args[match[1]] = value;
  }
  return args;
}

/** @param {string[]} argv */
async function runCli(argv) {
  const args = parseCliArgs(argv);
  /** @param {string} name @param {number | undefined} fallback */
  const number = (name, fallback) => {
    if (args[name] === undefined) return fallback;
    const value = Number(args[name]);
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
    return value;
  };
  const engage = {
    count: number('count', 250), userCount: number('user-count', undefined), seed: number('seed', 1), repeats: number('repeats', 0),
  };
  const credentials = {
    apiKeyId: args['key-id'] ?? DEFAULT_CREDENTIALS.apiKeyId,
    apiSecretKey: args.secret ?? DEFAULT_CREDENTIALS.apiSecretKey,
  };
  const server = await startStandin({
    port: number('port', 0),
    credentials,
    datasets: {
      engage,
      restricted: { count: 10, forbidden: true },
      flaky: { ...engage, throttleOncePerRequest: { retryAfter: '1' } },
    },
    maxPageSize: number('max-page-size', undefined),
    latencyMs: number('latency-ms', 0),
    faultRate: number('fault-rate', 0),
    maxInFlight: number('max-in-flight', undefined),
    seed: number('seed', 1),
    maxLifetimeMs: number('max-lifetime-ms', 30 * 60_000),
    control: true,
  });
  process.stdout.write(JSON.stringify({ url: server.url, apiKeyId: credentials.apiKeyId }) + '\n');
  const stop = () => { void server.close(); };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await server.closed;
  process.exit(0);
}

if (require.main === module) {
  runCli(process.argv.slice(2)).catch((error) => {
    process.stderr.write(`standin: ${error.message}\n`);
    process.exit(error.message.includes('usage:') ? 2 : 1);
  });
}

module.exports = {
  startStandin,
  accountAt,
  generateAccounts,
  expectedAccounts,
  generateUsers: (/** @type {ExportOptions} */ options = {}) => generateAccounts({ ...options, entity: 'users' }),
  expectedUsers: (/** @type {ExportOptions} */ options = {}) => expectedAccounts({ ...options, entity: 'users' }),
  segmentsOf,
  csvColumns,
  csvValues,
  SEGMENTS,
  CSV_COLUMNS,
  DEFAULT_CREDENTIALS,
  DEFAULT_FAULT_MIX,
};
