// @ts-check
'use strict';
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

module.exports = { httpRequestParameters };
