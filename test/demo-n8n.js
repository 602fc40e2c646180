#!/usr/bin/env node
'use strict';
// A clickable demo: the stand-in Evergage server and a real n8n with this package installed from
// its tarball (as the Community Nodes screen does), a credential and every workflow of examples/
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

/**
 * Every workflow in examples/, each with an id of its own (from its file name), the stand-in
 * credential on every node of this package, and files written to `outDir`.
 */
function demoWorkflows(cred, outDir) {
	const dir = path.join(L.ROOT, 'examples');
	return fs
		.readdirSync(dir)
		.filter((file) => file.endsWith('.json'))
		.sort()
		.map((file) => {
			const workflow = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
			const words = file.replace(/\.json$/, '').split(/[^a-z0-9]+/i);
			workflow.id = `demo${words.map((w) => w[0].toUpperCase() + w.slice(1)).join('')}`.slice(0, 14).padEnd(14, '0') + '01';
			workflow.active = false;
			for (const node of workflow.nodes) {
				if (node.type.startsWith(`${L.PACKAGE_NAME}.`)) node.credentials = { evergageApi: { ...cred } };
				if (node.type === 'n8n-nodes-base.readWriteFile' && typeof node.parameters.fileName === 'string')
					node.parameters.fileName = node.parameters.fileName.replace('/home/node/.n8n-files/evergage', outDir);
			}
			return { file, workflow };
		});
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
	const examples = demoWorkflows(cred, outDir);
	for (const { file, workflow } of examples) fs.writeFileSync(path.join(wfDir, file), JSON.stringify(workflow));
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
	console.log('  workflows (every example, ready to run against the stand-in):');
	for (const { file, workflow } of examples) console.log(`    ${url}/workflow/${workflow.id}  ${workflow.name}  (examples/${file})`);
	console.log(`  files the examples write go to ${outDir}`);
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
