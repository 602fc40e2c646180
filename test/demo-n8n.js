#!/usr/bin/env node
'use strict';
// A clickable demo: the stand-in Evergage server and a real n8n with this package installed from
// its tarball (as the Community Nodes screen does), a credential and the example workflows
// imported, the owner account set up. Prints the URL and the login; Ctrl-C stops everything.
//
//   npm run demo:n8n -- [--n8n 2|1|<version>] [--port 5678] [--count 200] [--skip-build] [--tarball PATH] [--keep]
//
// Needs the cached n8n installs: bash test/e2e/install-n8n.sh (run automatically when missing).

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const L = require('./e2e/lib');

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
	const i = argv.indexOf(name);
	return i >= 0 ? argv[i + 1] : dflt;
};
const flag = (name) => argv.includes(name);
const say = (...a) => console.log('[demo]', ...a);

function pickVersion() {
	const want = opt('--n8n');
	const two = L.n8nInstall('2.41.1');
	const one = L.n8nInstall('1.123.81');
	if (want === '2' || want === '2.41.1') return two;
	if (want === '1' || want === '1.123.81') return one;
	if (want) return L.n8nInstall(want);
	return two.ready ? two : one.ready ? one : two;
}

async function main() {
	L.installCleanup();
	let inst = pickVersion();
	if (!inst.ready) {
		say(`n8n ${inst.version} is not in the cache yet: installing (several minutes the first time) ...`);
		const r = await L.run('bash', [path.join(__dirname, 'e2e', 'install-n8n.sh'), '--only', String(inst.line)], { timeoutMs: 30 * 60_000 });
		if (r.code !== 0) throw new Error(`install-n8n.sh failed:\n${L.tail(r.stderr)}`);
		inst = L.n8nInstall(inst.version);
	}

	const work = L.mkTmp('evg-demo-n8n-');
	if (!flag('--keep')) L.onCleanup(() => L.rmrf(work));
	const userFolder = path.join(work, 'n8n');
	const outDir = path.join(work, 'files');
	fs.mkdirSync(outDir, { recursive: true });

	if (!opt('--tarball')) say('building and packing the package ...');
	const tarball = opt('--tarball') || (await L.buildAndPack(work, { skipBuild: flag('--skip-build') })).tarball;

	await L.waitForFile(L.STANDIN, 60_000, say);
	const si = await L.startStandin(['--count', opt('--count', '200')]);
	say(`stand-in Evergage API at ${si.url} (API Key ID demo-key, API Secret Key demo-secret)`);

	say(`installing ${path.basename(tarball)} into n8n ${inst.version}'s community nodes folder ...`);
	await L.installTarball(inst, userFolder, tarball);

	const cred = { id: 'demoEvgCred00001', name: 'Evergage (local stand-in)' };
	await L.importStandinCredential(inst, userFolder, work, cred, si.url);

	const wfDir = path.join(work, 'workflows');
	fs.mkdirSync(wfDir);
	const ids = { 'crm-upsert.json': 'demoCrmUpsert001', 'nightly-segment-csv.json': 'demoNightlyCsv01' };
	for (const [file, id] of Object.entries(ids)) {
		const wf = JSON.parse(fs.readFileSync(path.join(L.ROOT, 'examples', file), 'utf8'));
		wf.id = id;
		for (const n of wf.nodes) {
			if (n.type === L.NODE_TYPE) n.credentials = { evergageApi: { ...cred } };
			if (n.type === 'n8n-nodes-base.readWriteFile')
				n.parameters.fileName = n.parameters.fileName.replace('/home/node/.n8n-files/evergage', outDir);
		}
		fs.writeFileSync(path.join(wfDir, file), JSON.stringify(wf));
	}
	const r = await L.n8nCli(inst, userFolder, ['import:workflow', '--separate', `--input=${wfDir}`]);
	if (r.code !== 0) throw new Error(`import:workflow failed:\n${L.tail(r.stdout + r.stderr)}`);

	say(`starting n8n ${inst.version} ...`);
	const port = opt('--port');
	const srv = await L.startN8n(inst, userFolder, {
		extraEnv: { N8N_RESTRICT_FILE_ACCESS_TO: outDir, ...(port ? { N8N_PORT: port } : {}) },
	});
	const url = port ? srv.url.replace(/:\d+$/, `:${port}`) : srv.url;
	const api = L.n8nClient(url);
	const email = 'demo@example.com';
	const password = `Demo-${crypto.randomBytes(4).toString('hex')}-7`;
	const setup = await api.setupOwner({ email, firstName: 'Demo', lastName: 'User', password });
	if (setup.status !== 200) throw new Error(`owner setup failed: ${setup.status} ${setup.text.slice(0, 300)}`);

	console.log('');
	console.log(`  n8n ${inst.version} with n8n-nodes-evergage: ${url}/`);
	console.log(`  login:     ${email}`);
	console.log(`  password:  ${password}`);
	console.log(`  workflows: ${url}/workflow/demoCrmUpsert001  (accounts -> CRM fields)`);
	console.log(`             ${url}/workflow/demoNightlyCsv01  (segment CSV -> ${outDir})`);
	console.log(`  credential "${cred.name}" points at the stand-in ${si.url}`);
	console.log('');
	say('Ctrl-C stops n8n and the stand-in.');

	let stopping = false;
	const stop = async () => {
		if (stopping) return;
		stopping = true;
		say('stopping ...');
		await Promise.allSettled([srv.stop(), si.stop()]);
		process.exit(0);
	};
	process.removeAllListeners('SIGINT');
	process.removeAllListeners('SIGTERM');
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
	srv.proc.exited.then(({ code, signal }) => {
		if (stopping) return;
		say(`n8n exited (${code ?? signal}):\n${L.tail(srv.proc.output(), 30)}`);
		si.stop().then(() => process.exit(1));
	});
}

main().catch((err) => {
	console.error('[demo] failed:', err.message);
	L.killAll('SIGTERM');
	process.exitCode = 1;
	setTimeout(() => process.exit(1), 3000).unref();
});
