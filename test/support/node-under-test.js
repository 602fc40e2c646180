// @ts-check
'use strict';
/** The package's node and credential, from source, in n8n-core's engine, against a stand-in server. */

const { EvergageApi } = require('../../credentials/EvergageApi.credentials');
const { EvergageAccountExport } = require('../../nodes/EvergageAccountExport/EvergageAccountExport.node');
const { EvergageUserExport } = require('../../nodes/EvergageUserExport/EvergageUserExport.node');
const { EvergageTrigger } = require('../../nodes/EvergageTrigger/EvergageTrigger.node');
const { Evergage } = require('../../nodes/Evergage/Evergage.node');
const { createEngine, PACKAGE } = require('./engine');
const standin = require('./standin');

const engine = createEngine({
	nodeClasses: [EvergageAccountExport, EvergageUserExport, EvergageTrigger, Evergage],
	credentialClasses: [EvergageApi],
});

const EXPORT_NODE_TYPE = `${PACKAGE}.evergageAccountExport`;
/** The export node of each entity: the suites that hold for both run once per entity. */
const EXPORT_NODE_TYPES = { accounts: EXPORT_NODE_TYPE, users: `${PACKAGE}.evergageUserExport` };
const TRIGGER_NODE_TYPE = `${PACKAGE}.evergageTrigger`;
const ACTION_NODE_TYPE = `${PACKAGE}.evergage`;

const { startStandin, expectedAccounts, expectedUsers, DEFAULT_CREDENTIALS, SEGMENTS } = standin;

function credentialsFor(server, overrides = {}) {
	return {
		evergageApi: {
			accountName: 'demo',
			instance: 'us-1',
			apiKeyId: DEFAULT_CREDENTIALS.apiKeyId,
			apiSecretKey: DEFAULT_CREDENTIALS.apiSecretKey,
			baseUrl: server.url,
			...overrides,
		},
	};
}

/**
 * Runs an export node once (the account node unless `options.entity` is 'users'), on `input` items,
 * with the stand-in's credentials unless told otherwise.
 */
async function runExport(server, parameters, options = {}) {
	return await engine.runNode({
		type: EXPORT_NODE_TYPES[options.entity ?? 'accounts'],
		parameters,
		credentials: options.credentials ?? credentialsFor(server),
		input: options.input,
		continueOnFail: options.continueOnFail,
		timezone: options.timezone,
		onStart: options.onStart,
		typeVersion: options.typeVersion,
	});
}

/** The action node (Evergage: events, users) once, on `input` items, with the stand-in's credentials. */
async function runAction(server, parameters, options = {}) {
	return await engine.runNode({
		type: ACTION_NODE_TYPE,
		parameters,
		credentials: options.credentials ?? credentialsFor(server),
		input: options.input,
		continueOnFail: options.continueOnFail,
		onStart: options.onStart,
	});
}

/** The trigger on the stand-in, polled by hand (see createPoller in engine.js). */
function createTrigger(server, parameters, options = {}) {
	return engine.createPoller({
		type: TRIGGER_NODE_TYPE,
		parameters,
		credentials: options.credentials ?? credentialsFor(server),
		durable: options.durable,
		timezone: options.timezone,
		typeVersion: options.typeVersion,
		pollBudgetMs: options.pollBudgetMs,
		beforeCredentials: options.beforeCredentials,
	});
}

/**
 * Waits until the stand-in has had no export request open and none arriving for `quietMs`, at most
 * `maxMs` (a bounded wait on the server's own activity, where a fixed sleep guesses at the load).
 * @param {import('./standin').Standin} server @returns {Promise<boolean>} false if it never went quiet
 */
async function whenQuiet(server, quietMs = 50, maxMs = 5000) {
	const step = 10;
	let last = server.stats.requests;
	let quiet = 0;
	for (let waited = 0; waited < maxMs; waited += step) {
		if (quiet >= quietMs) return true;
		await new Promise((resolve) => setTimeout(resolve, step));
		const busy = server.inFlight > 0 || server.stats.requests !== last;
		quiet = busy ? 0 : quiet + step;
		last = server.stats.requests;
	}
	return false;
}

module.exports = {
	engine,
	whenQuiet,
	TRIGGER_NODE_TYPE,
	ACTION_NODE_TYPE,
	runAction,
	createTrigger,
	EXPORT_NODE_TYPE,
	EXPORT_NODE_TYPES,
	credentialsFor,
	runExport,
	startStandin,
	expectedAccounts,
	expectedUsers,
	DEFAULT_CREDENTIALS,
	SEGMENTS,
};
