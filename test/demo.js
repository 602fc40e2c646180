// The main job on the embedded stand-in, no Evergage account needed: starts the stand-in API on
// 127.0.0.1, runs the built node inside n8n's execution engine (JSON, then CSV) and prints what came out.
// Run with `npm run demo` (it builds first).
const { createEngine, PACKAGE } = require('./support/engine');
const { startStandin, DEFAULT_CREDENTIALS } = require('./support/standin');
const { EvergageApi, EvergageAccountExport, EvergageUserExport } = /** @type {Record<string, any>} */ (require('..'));

const DATASET = { count: 5000, seed: 42, repeats: 25, userCount: 12000, userRepeats: 40 };

async function main() {
	const server = await startStandin({ datasets: { engage: DATASET }, maxPageSize: 500, maxLifetimeMs: 5 * 60_000 });
	const engine = createEngine({
		nodeClasses: [EvergageAccountExport, EvergageUserExport],
		credentialClasses: [EvergageApi],
	});
	const credentials = {
		evergageApi: { accountName: 'demo', instance: 'us-1', ...DEFAULT_CREDENTIALS, baseUrl: server.url },
	};
	const run = async (parameters, node = 'evergageAccountExport') => {
		// A finished export aborts its requests past the end; let any already on the wire land first,
		// so that each export's count is its own.
		await new Promise((resolve) => setTimeout(resolve, 100));
		server.resetStats();
		const started = Date.now();
		const result = await engine.runNode({ type: `${PACKAGE}.${node}`, parameters, credentials });
		if (result.error) throw new Error(`${result.error.message}: ${result.error.description ?? ''}`);
		return { ...result, ms: Date.now() - started, requests: server.stats.exportRequests };
	};

	try {
		console.log(
			`Stand-in Evergage API on ${server.url}: dataset "engage", ${DATASET.count} accounts (${DATASET.repeats} sent twice) ` +
				`and ${DATASET.userCount} users (${DATASET.userRepeats} sent twice), pages capped at 500.\n`,
		);

		const json = await run({ datasetId: 'engage', format: 'json', returnAll: true, pageSize: 1000 });
		console.log(`JSON, Return All: ${json.items.length} accounts (one item each, duplicates merged) in ${json.ms} ms, ${json.requests} requests.`);
		for (const { json: account } of json.items.slice(0, 3)) {
			console.log(`  ${account.name.padEnd(16)} ${String(account.displayName).replace(/\n/g, ' ').padEnd(30)} score ${account.engagementScore}  actions ${account.totalActions}`);
		}

		const segment = await run({ datasetId: 'engage', returnAll: false, limit: 5, pageSize: 100, options: { filter: 'High Value Accounts' } });
		console.log(`\nJSON, segment "High Value Accounts", Limit 5: ${segment.items.map((item) => item.json.name).join(', ')} (${segment.requests} request${segment.requests === 1 ? '' : 's'}).`);

		const csv = await run({ datasetId: 'engage', format: 'csv', returnAll: true });
		const file = csv.items[0].binary.data;
		const text = (await csv.readBinary(file)).toString('utf8');
		console.log(`\nCSV, Return All: one file "${file.fileName}" (${file.mimeType}), ${file.fileSize}, streamed in ${csv.requests} request, ${csv.ms} ms.`);
		console.log(`  ${text.slice(0, text.indexOf('\r\n'))}`);

		const users = await run(
			{ datasetId: 'engage', returnAll: true, pageSize: 1000, options: { filter: 'High Value Accounts', includeGeo: true } },
			'evergageUserExport',
		);
		console.log(`\nUser Export, segment "High Value Accounts" with Include Geo: ${users.items.length} users in ${users.ms} ms, ${users.requests} requests.`);
		for (const { json: user } of users.items.slice(0, 3)) {
			console.log(`  ${user.name.padEnd(38)} ${user.accountName.padEnd(16)} ${user.location.city}, ${user.location.countryCode}  score ${user.engagementScore}`);
		}
	} finally {
		await server.close();
	}
}

main().catch((error) => {
	console.error(error);
	process.exitCode = 1;
});
