// @ts-check
'use strict';
/**
 * The stand-in's routes for the other direction (wired into standin.js, same server, same log):
 *   POST /api2/authevent/<dataset>          the authenticated Event API ("Event API Requests")
 *   GET  /api/dataset/<dataset>/user/<id>   User Look-Up by user ID or anonymous ID
 *   POST /api/dataset/<dataset>/users/delete  deletion: a multipart form, part `file`, a CSV whose
 *                                            header names the identity (`name` for user IDs)
 *
 * Rules, as the docs state them or (marked) as assumed:
 *   - Basic auth (401); the Event API needs the token's "Can send events" (`sendEvents: false`: 403);
 *     look-up and deletion need "Can access API" (`apiAccess: false`: 403); unknown dataset 404,
 *     forbidden dataset 403.
 *   - An event is a JSON object (Content-Type application/json; anything else 415, unparsable 400) with
 *     a non-empty `action` and a `user` naming an `id` or carrying `attributes`; otherwise the answer is
 *     200 with errorCode 5 (Invalid Event). An accepted event is recorded (`events`), sets the user's
 *     attributes (creating the user) and is answered with errorCode 0 and `persistedUserId` (or
 *     `resolvedUserId` with `identityResolution: true`), as "Event API Responses" describes.
 *   - An identity attribute (ASSUMED: any user attribute whose value matches a known user's) resolves
 *     an event without `user.id` to that user; else a new user is made.
 *   - Deletion answers "Deleted N users (M requested)" as the docs' curl example shows; an already
 *     deleted user counts 0. Header `name` matches user IDs (documented), `anonId` anonymous IDs and any
 *     other header that attribute (both ASSUMED). Every deletion is recorded (`deletions`).
 *
 * Faults (`actionFaults`, an array consumed in order or a function of { route, index }), applied after
 * the checks above:
 *   { kind: 'status', status, retryAfter?, afterProcessing?, body? }  the answer (its text `body` if
 *                                 given), the event recorded first only with afterProcessing
 *   { kind: 'resetBeforeRead' }   the connection is reset before the body is read: nothing recorded
 *   { kind: 'resetAfterRead' }    the body is read and processed (recorded), then the connection reset:
 *                                 the client cannot know whether it arrived
 *   { kind: 'slow', delayMs }     processed, answered after delayMs (a client timeout is "maybe")
 *   { kind: 'errorCode', code }   200 with that errorCode, nothing recorded
 */

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * @typedef {{ userId: string, anonIds?: string[], attributes?: Record<string, unknown> }} ProfileSeed
 * @typedef {{ userId: string, anonIds: string[], attributes: Map<string, { value: unknown, updated: number }>,
 *   firstActivity: number, lastActivity: number, events: number }} Profile
 * @typedef {{ datasetId: string, body: any, at: number }} RecordedEvent
 * @typedef {{ datasetId: string, header: string, values: string[], deleted: number, at: number }} RecordedDeletion
 * @typedef {{ kind: 'status', status: number, retryAfter?: string, afterProcessing?: boolean, body?: string }
 *   | { kind: 'resetBeforeRead' } | { kind: 'resetAfterRead' } | { kind: 'slow', delayMs?: number }
 *   | { kind: 'errorCode', code: number }} ActionFault
 * @typedef {{ route: 'event' | 'lookup' | 'delete', index: number, datasetId: string }} ActionFaultInfo
 * @typedef {Array<ActionFault | null | undefined> | ((info: ActionFaultInfo) => ActionFault | null | undefined)} ActionFaultPlan
 */

/** Users every dataset starts with unless `profiles` says otherwise. @type {ProfileSeed[]} */
const DEFAULT_PROFILES = [
  { userId: 'ada', anonIds: ['anon-ada-1', 'anon-ada-2'], attributes: { emailAddress: 'ada@example.com', firstName: 'Ada' } },
  { userId: 'grace', anonIds: ['anon-grace-1'], attributes: { emailAddress: 'grace@example.com', firstName: 'Grace' } },
  { userId: 'alan', anonIds: [], attributes: { emailAddress: 'alan@example.com', firstName: 'Alan' } },
];

/** @param {string} rawPath @returns {{ route: 'event' | 'lookup' | 'delete', datasetId: string, userId?: string } | null | 'bad'} */
function actionRouteOf(rawPath) {
  const parts = rawPath.split('/');
  try {
    if (parts.length === 4 && parts[1] === 'api2' && parts[2] === 'authevent' && parts[3] !== '') {
      return { route: 'event', datasetId: decodeURIComponent(parts[3]) };
    }
    if (parts.length === 6 && parts[1] === 'api' && parts[2] === 'dataset' && parts[4] === 'user' && parts[5] !== '') {
      return { route: 'lookup', datasetId: decodeURIComponent(parts[3]), userId: decodeURIComponent(parts[5]) };
    }
    if (parts.length === 6 && parts[1] === 'api' && parts[2] === 'dataset' && parts[4] === 'users' && parts[5] === 'delete') {
      return { route: 'delete', datasetId: decodeURIComponent(parts[3]) };
    }
  } catch {
    return 'bad';
  }
  return null;
}

/** @param {import('node:http').IncomingMessage} req @returns {Promise<Buffer | null>} null when too large */
async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The CSV of a multipart form's part `file`, or an error text. @param {string} contentType @param {Buffer} body */
function deletionCsv(contentType, body) {
  const boundary = /^multipart\/form-data;\s*boundary=("?)([^";]+)\1/i.exec(contentType)?.[2];
  if (!boundary) return { error: 'Expected multipart/form-data with a boundary' };
  for (const part of body.toString('utf8').split(`--${boundary}`).slice(1)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const head = part.slice(0, split);
    if (!/content-disposition:\s*form-data;[^\r\n]*\bname="file"/i.test(head)) continue;
    return { csv: part.slice(split + 4).replace(/\r\n$/, '') };
  }
  return { error: 'Missing the form part "file"' };
}

/**
 * @typedef {{ options: any, credentialsOk: (req: import('node:http').IncomingMessage) => boolean,
 *   datasets: Record<string, any>, delay: (ms: number, res: import('node:http').ServerResponse) => Promise<boolean>,
 *   sendSimple: (res: any, entry: any, status: number, contentType: string, body: string, headers?: Record<string, string>) => void,
 *   sendJsonError: (res: any, entry: any, status: number, message: string, headers?: Record<string, string>) => void }} Server
 */

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

/** The three routes and what they record: events, deletions and the users they change. */
class ActionRoutes {
  /** @param {Server} server */
  constructor(server) {
    this.server = server;
    /** @type {RecordedEvent[]} */
    this.events = [];
    /** @type {RecordedDeletion[]} */
    this.deletions = [];
    /** @type {Map<string, Map<string, Profile>>} */
    this.profiles = new Map();
    /** @type {ActionFaultPlan | undefined} */
    this.faults = server.options.actionFaults;
    this.faultCursor = 0;
    this.faultIndex = 0;
    this.nextUser = 1;
  }

  /** A user as Look-Up would show it, or undefined. @param {string} datasetId @param {string} userId */
  profile(datasetId, userId) {
    const found = this.profilesOf(datasetId).get(userId);
    return found ? profileJson(found) : undefined;
  }

  /** @param {ActionFaultPlan | undefined} plan */
  setFaults(plan) {
    this.faults = plan;
    this.faultCursor = 0;
  }

  reset() {
    this.events.length = 0;
    this.deletions.length = 0;
    this.profiles.clear();
  }

  /** @param {string} datasetId */
  profilesOf(datasetId) {
    let map = this.profiles.get(datasetId);
    if (!map) {
      map = new Map();
      const seeds = this.server.options.profiles?.[datasetId] ?? DEFAULT_PROFILES;
      for (const seed of /** @type {ProfileSeed[]} */ (seeds)) map.set(seed.userId, newProfile(seed));
      this.profiles.set(datasetId, map);
    }
    return map;
  }

  /** @param {ActionFaultInfo} info @returns {ActionFault | null} */
  faultFor(info) {
    const faults = this.faults;
    if (typeof faults === 'function') return faults(info) ?? null;
    if (Array.isArray(faults) && this.faultCursor < faults.length) return faults[this.faultCursor++] ?? null;
    return null;
  }

  /** @param {any} req @param {any} res @param {any} entry @param {string} rawPath @returns {Promise<boolean>} false: not an action route */
  async handle(req, res, entry, rawPath) {
    const route = actionRouteOf(rawPath);
    if (route === null) return false;
    if (route === 'bad') {
      this.server.sendSimple(res, entry, 400, TEXT_TYPE, 'Malformed percent-encoding in path');
      return true;
    }
    entry.datasetId = route.datasetId;
    const method = route.route === 'lookup' ? 'GET' : 'POST';
    if (req.method !== method) {
      this.server.sendSimple(res, entry, 405, TEXT_TYPE, 'Method not allowed', { Allow: method });
      return true;
    }
    if (this.refused(req, res, entry, route.route, route.datasetId)) return true;
    const fault = this.faultFor({ route: route.route, index: this.faultIndex++, datasetId: route.datasetId });
    entry.fault = fault;
    if (fault?.kind === 'resetBeforeRead') {
      resetConnection(res);
      return true;
    }
    const body = method === 'POST' ? await readBody(req) : Buffer.alloc(0);
    if (body === null) this.server.sendJsonError(res, entry, 413, 'Request body too large');
    else if (route.route === 'lookup') await this.lookUp(res, entry, route.datasetId, String(route.userId), fault);
    else if (route.route === 'event') await this.receiveEvent(req, res, entry, route.datasetId, body, fault);
    else await this.deleteUsers(req, res, entry, route.datasetId, body, fault);
    return true;
  }

  /** Auth, permission and dataset checks shared by the three routes; true when answered. */
  refused(req, res, entry, route, datasetId) {
    const { options, datasets, sendJsonError } = this.server;
    if (!this.server.credentialsOk(req)) {
      sendJsonError(res, entry, 401, 'Authentication required', { 'WWW-Authenticate': 'Basic realm="evergage"' });
      return true;
    }
    if (route === 'event' && options.sendEvents === false) {
      sendJsonError(res, entry, 403, 'This API token may not send events');
      return true;
    }
    if (route !== 'event' && options.apiAccess === false) {
      sendJsonError(res, entry, 403, 'API access is not enabled for this token');
      return true;
    }
    const dataset = Object.prototype.hasOwnProperty.call(datasets, datasetId) ? datasets[datasetId] : undefined;
    if (!dataset) sendJsonError(res, entry, 404, 'Dataset not found');
    else if (dataset.forbidden) sendJsonError(res, entry, 403, 'Token may not use this dataset');
    return !dataset || Boolean(dataset.forbidden);
  }

  /** A fault that answers before anything is processed: a status, or an errorCode. */
  faultBeforeProcessing(res, entry, fault) {
    const { sendSimple, sendJsonError } = this.server;
    if (fault?.kind === 'status' && !fault.afterProcessing) {
      const headers = fault.retryAfter === undefined ? {} : { 'Retry-After': fault.retryAfter };
      if (fault.body !== undefined) sendSimple(res, entry, fault.status, TEXT_TYPE, fault.body, headers);
      else if (fault.status === 503) sendSimple(res, entry, 503, TEXT_TYPE, 'Service Unavailable', headers);
      else sendJsonError(res, entry, fault.status, fault.status === 429 ? 'Too many requests' : 'Error', headers);
      return true;
    }
    if (fault?.kind === 'errorCode') {
      sendSimple(res, entry, 200, JSON_TYPE, JSON.stringify({ campaignResponses: [], errorCode: fault.code }));
      return true;
    }
    return false;
  }

  /** After processing: true when the fault already answered (or cut) the request. */
  async faultAnswered(res, entry, fault) {
    if (!fault) return false;
    if (fault.kind === 'resetAfterRead') {
      resetConnection(res);
      return true;
    }
    if (fault.kind === 'slow') return !(await this.server.delay(fault.delayMs ?? 60_000, res)) || res.destroyed;
    if (fault.kind === 'status' && fault.afterProcessing) {
      const headers = fault.retryAfter === undefined ? {} : { 'Retry-After': fault.retryAfter };
      this.server.sendJsonError(res, entry, fault.status, 'Internal error', headers);
      return true;
    }
    return false;
  }

  async receiveEvent(req, res, entry, datasetId, body, fault) {
    const { sendSimple, sendJsonError, options } = this.server;
    if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? ''))) {
      return sendJsonError(res, entry, 415, 'Content-Type must be application/json');
    }
    let event;
    try {
      event = JSON.parse(body.toString('utf8'));
    } catch {
      return sendJsonError(res, entry, 400, 'Malformed JSON');
    }
    if (this.faultBeforeProcessing(res, entry, fault)) return;
    if (!validEvent(event)) return sendSimple(res, entry, 200, JSON_TYPE, JSON.stringify({ campaignResponses: [], errorCode: 5 }));
    const profile = this.profileForEvent(datasetId, event);
    this.events.push({ datasetId, body: event, at: Date.now() });
    if (await this.faultAnswered(res, entry, fault)) return;
    const answer = { campaignResponses: [], compiledCampaignTemplates: [], errorCode: 0 };
    if (options.identityResolution) answer.resolvedUserId = profile.userId;
    else if (typeof event.user.id === 'string') answer.persistedUserId = { encryptedId: Buffer.from(event.user.id).toString('base64') };
    sendSimple(res, entry, 200, JSON_TYPE, JSON.stringify(answer));
  }

  /** The event's user, found by ID or identity attribute, or made; its attributes set. */
  profileForEvent(datasetId, event) {
    const map = this.profilesOf(datasetId);
    const attributes = event.user.attributes ?? {};
    const id = typeof event.user.id === 'string' ? event.user.id : undefined;
    let profile = id === undefined
      ? [...map.values()].find((p) => Object.entries(attributes).some(([name, value]) => p.attributes.get(name)?.value === value))
      : map.get(id);
    if (!profile) {
      profile = newProfile({ userId: id ?? `user-${this.nextUser++}` });
      map.set(profile.userId, profile);
    }
    const now = Date.now();
    for (const [name, value] of Object.entries(attributes)) profile.attributes.set(name, { value, updated: now });
    profile.lastActivity = now;
    profile.events++;
    return profile;
  }

  async lookUp(res, entry, datasetId, userId, fault) {
    if (this.faultBeforeProcessing(res, entry, fault) || (await this.faultAnswered(res, entry, fault))) return;
    const profile = [...this.profilesOf(datasetId).values()].find((p) => p.userId === userId || p.anonIds.includes(userId));
    if (!profile) return this.server.sendJsonError(res, entry, 404, 'User not found');
    this.server.sendSimple(res, entry, 200, JSON_TYPE, JSON.stringify(profileJson(profile)));
  }

  async deleteUsers(req, res, entry, datasetId, body, fault) {
    const { sendSimple } = this.server;
    const form = deletionCsv(String(req.headers['content-type'] ?? ''), body);
    if (form.error !== undefined) return sendSimple(res, entry, 400, TEXT_TYPE, form.error);
    const [header = '', ...values] = String(form.csv).split(/\r?\n/).filter((line) => line !== '');
    if (header.trim() === '') return sendSimple(res, entry, 400, TEXT_TYPE, 'The file needs a header row');
    if (this.faultBeforeProcessing(res, entry, fault)) return;
    const map = this.profilesOf(datasetId);
    let deleted = 0;
    for (const value of values) {
      for (const profile of [...map.values()]) {
        if (!identityMatches(profile, header, value)) continue;
        map.delete(profile.userId);
        deleted++;
      }
    }
    this.deletions.push({ datasetId, header, values, deleted, at: Date.now() });
    if (await this.faultAnswered(res, entry, fault)) return;
    sendSimple(res, entry, 200, TEXT_TYPE, `Deleted ${deleted} users (${values.length} requested)`);
  }
}

/** @param {Server} server */
function createActionRoutes(server) {
  return new ActionRoutes(server);
}

/** A non-empty `action` and a user named by `id` or by attributes. */
function validEvent(event) {
  const user = event?.user;
  const named = user !== null && typeof user === 'object' &&
    ((typeof user.id === 'string' && user.id !== '') || (user.attributes && Object.keys(user.attributes).length > 0));
  return event !== null && typeof event === 'object' && !Array.isArray(event) &&
    typeof event.action === 'string' && event.action !== '' && named;
}

/** The file's header names the identity: `name` user IDs, `anonId` anonymous IDs, else an attribute. */
function identityMatches(profile, header, value) {
  if (header === 'name') return profile.userId === value;
  if (header === 'anonId') return profile.anonIds.includes(value);
  return profile.attributes.get(header)?.value === value;
}

function resetConnection(res) {
  if (typeof res.socket?.resetAndDestroy === 'function') res.socket.resetAndDestroy();
  else res.socket?.destroy();
}

/** @param {ProfileSeed} seed @returns {Profile} */
function newProfile(seed) {
  const created = Date.UTC(2026, 0, 1);
  return {
    userId: seed.userId,
    anonIds: [...(seed.anonIds ?? [])],
    attributes: new Map(Object.entries(seed.attributes ?? {}).map(([name, value]) => [name, { value, updated: created }])),
    firstActivity: created,
    lastActivity: created,
    events: 0,
  };
}

/** A profile in the shape of the docs' example (a subset). @param {Profile} profile */
function profileJson(profile) {
  return {
    namedUserId: profile.userId,
    anonAliases: profile.anonIds,
    anonymous: false,
    attributes: [...profile.attributes].map(([name, { value, updated }]) => ({ name, value, updated })),
    firstActivity: profile.firstActivity,
    lastActivity: profile.lastActivity,
    segmentMembership: [],
    updated: profile.lastActivity,
  };
}

module.exports = { createActionRoutes, DEFAULT_PROFILES };
