// @ts-check
'use strict';
const path = require('path');
const Module = require('module');

/**
 * What a user would build instead of this package: n8n's HTTP Request node (V3, typeVersion 4.2) with
 * Basic auth and its own pagination, `page` = $pageCount until a response is empty. The benchmark runs
 * it in the engine and in a real n8n with these same parameters.
 * @param {string} url the stand-in's origin @param {number} pageSize
 */
function httpRequestParameters(url, pageSize) {
	return {
		method: 'GET',
		url: `${url}/api/dataset/engage/accounts.json`,
		authentication: 'genericCredentialType',
		genericAuthType: 'httpBasicAuth',
		sendQuery: true,
		queryParameters: { parameters: [{ name: 'pageSize', value: String(pageSize) }] },
		options: {
			pagination: {
				pagination: {
					paginationMode: 'updateAParameterInEachRequest',
					parameters: { parameters: [{ type: 'qs', name: 'page', value: '={{ $pageCount }}' }] },
					paginationCompleteWhen: 'responseIsEmpty',
					limitPagesFetched: false,
					requestInterval: 0,
				},
			},
		},
	};
}

/** The HTTP Request node's parameters for one event per input item, posted as JSON. */
function httpEventParameters(url) {
	return {
		method: 'POST',
		url: `${url}/api2/authevent/engage`,
		authentication: 'genericCredentialType',
		genericAuthType: 'httpBasicAuth',
		sendBody: true,
		specifyBody: 'json',
		jsonBody:
			'={{ JSON.stringify({ action: "CRM Sync", user: { id: $json.id, attributes: { tier: $json.tier } }, source: { channel: "Server" } }) }}',
		options: {},
	};
}

/** nodes-base from the cached install, with n8n-workflow/n8n-core resolved to the project's copies (one engine). */
function loadNodesBase(n8nDir) {
	const PROJECT = path.resolve(__dirname, '../..');
	const redirect = {
		'n8n-workflow': require.resolve('n8n-workflow', { paths: [PROJECT] }),
		'n8n-core': require.resolve('n8n-core', { paths: [PROJECT] }),
	};
	// @ts-ignore Module's private resolver, redirected for this process only
	const resolve = Module._resolveFilename;
	// @ts-ignore
	Module._resolveFilename = function (request, ...rest) {
		return redirect[request] ?? resolve.call(this, request, ...rest);
	};
	const base = path.join(n8nDir, 'node_modules', 'n8n-nodes-base', 'dist');
	const { HttpRequest } = require(path.join(base, 'nodes/HttpRequest/HttpRequest.node.js'));
	const { SplitOut } = require(path.join(base, 'nodes/Transform/SplitOut/SplitOut.node.js'));
	const { HttpBasicAuth } = require(path.join(base, 'credentials/HttpBasicAuth.credentials.js'));
	const { SplitInBatches } = require(path.join(base, 'nodes/SplitInBatches/SplitInBatches.node.js'));
	const { NoOp } = require(path.join(base, 'nodes/NoOp/NoOp.node.js'));
	return { HttpRequest, SplitOut, HttpBasicAuth, SplitInBatches, NoOp };
}

module.exports = { httpRequestParameters, httpEventParameters, loadNodesBase };
