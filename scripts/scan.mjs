// n8n's verification scan, run locally: n8n's scanner (@n8n/scan-community-package) lints the source
// and the unpacked npm tarball with its own analyzePackage, after its provenance step (which needs a
// published version). This runs those two legs on the working tree and a fresh `npm pack`, fails on
// any finding (warnings too), and checks that the tarball holds only what a user should receive.
// Run after `npm run build` (`npm run scan` does both).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(ROOT, 'package.json'));
const SCANNER = require.resolve('@n8n/scan-community-package/scanner/scanner.mjs');

// The scanner makes a temp dir when loaded and keeps it unless told to clean up at exit.
createRequire(SCANNER)('tmp').setGracefulCleanup();
const { ESLint } = createRequire(SCANNER)('eslint');
const { analyzePackage, buildScanConfig, SOURCE_FILE_PATTERNS } = await import(SCANNER);
const { version: scannerVersion } = require('@n8n/scan-community-package/package.json');

// The globs the scanner passes to analyzePackage for each leg (scanner.mjs, analyzePackageByName).
const TARBALL_FILE_PATTERNS = ['**/*.js', 'package.json'];

// What may ship: the compiled credentials and nodes with their declarations and maps, icons, codex
// files, and the files npm always packs.
const ALLOWED = [
	/^(package\.json|README\.md|LICENSE)$/,
	/^dist\/credentials\/[A-Za-z0-9]+\.credentials\.(js|d\.ts|js\.map)$/,
	/^dist\/nodes\/([A-Za-z0-9]+\/)+[A-Za-z0-9.-]+\.(js|d\.ts|js\.map|svg|png)$/,
	/^dist\/nodes\/[A-Za-z0-9]+\/[A-Za-z0-9]+\.node\.json$/,
];

const { DEFAULT_CREDENTIALS } = require('./test/support/standin.js');
const SECRET_PATTERNS = [
	/-----BEGIN [A-Z ]*PRIVATE KEY-----/,
	/_authToken/,
	/\bnpm_[A-Za-z0-9]{36}\b/,
	/\bgh[pousr]_[A-Za-z0-9]{36,}\b/,
	/\bAKIA[0-9A-Z]{16}\b/,
	// the stand-in's key pair stands for any test credential
	...Object.values(DEFAULT_CREDENTIALS).map((s) => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))),
];

let failures = 0;
const fail = (message) => {
	failures++;
	console.error(`  ✗ ${message}`);
};

/** One leg as n8n runs it: analyzePackage's verdict, plus every finding of the same config and files. */
async function scanLeg(label, dir, patterns) {
	const verdict = await analyzePackage(dir, patterns);
	const files = (await import(createRequire(SCANNER).resolve('fast-glob'))).default.sync(patterns, {
		cwd: dir,
		absolute: true,
		ignore: ['node_modules/**', '**/package-lock.json'],
	});
	const eslint = new ESLint({
		cwd: dir,
		allowInlineConfig: false,
		overrideConfigFile: true,
		overrideConfig: await buildScanConfig(),
	});
	const results = await eslint.lintFiles(files);
	const errors = results.reduce((n, r) => n + r.errorCount, 0);
	const warnings = results.reduce((n, r) => n + r.warningCount, 0);
	console.log(
		`${label}: ${files.length} files, ${errors} errors, ${warnings} warnings; analyzePackage ${verdict.passed ? 'passed' : `failed (${verdict.message})`}`,
	);
	if (errors + warnings > 0) {
		console.log(await (await eslint.loadFormatter('stylish')).format(results));
	}
	if (errors + warnings > 0) fail(`${label}: ${errors + warnings} finding(s)`);
	else if (!verdict.passed) fail(`${label}: ${verdict.message}\n${verdict.details ?? ''}`);
}

function checkTarballContents(dir, files, pkg) {
	for (const file of files) {
		if (!ALLOWED.some((re) => re.test(file))) fail(`tarball holds ${file}, which should not ship`);
	}
	for (const entry of [...pkg.n8n.credentials, ...pkg.n8n.nodes]) {
		if (!files.includes(entry)) fail(`package.json n8n block names ${entry}, missing from the tarball`);
	}
	for (const node of pkg.n8n.nodes) {
		const codex = node.replace(/\.js$/, '.json');
		if (!files.includes(codex)) fail(`${node} has no codex file ${codex} beside it`);
	}
	for (const file of files.filter((f) => f.endsWith('.js.map'))) {
		const map = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
		for (const source of map.sources) {
			// sources are relative to the map's place in the repository (dist/ mirrors the source tree)
			const from = path.posix.normalize(path.posix.join(path.posix.dirname(file), map.sourceRoot ?? '', source));
			if (!/^(nodes|credentials)\//.test(from)) fail(`${file} maps ${from}, which is not node or credential code`);
		}
	}
	for (const file of files) {
		const text = fs.readFileSync(path.join(dir, file), 'latin1');
		for (const re of SECRET_PATTERNS) if (re.test(text)) fail(`${file} matches ${re}, which looks like a secret`);
	}
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'evergage-scan-'));
try {
	if (!fs.existsSync(path.join(ROOT, 'dist'))) throw new Error('dist/ is missing: run npm run build first');
	console.log(`@n8n/scan-community-package ${scannerVersion}`);

	await scanLeg('source', ROOT, SOURCE_FILE_PATTERNS);

	const packed = JSON.parse(
		execFileSync('npm', ['pack', '--json', '--silent', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' }),
	)[0];
	const unpacked = path.join(work, 'package');
	fs.mkdirSync(unpacked);
	execFileSync('tar', ['-xzf', path.join(work, packed.filename), '-C', unpacked, '--strip-components=1']);
	const files = packed.files.map((f) => f.path).sort();
	console.log(`tarball: ${packed.filename}, ${files.length} files, ${packed.size} bytes`);

	await scanLeg('tarball', unpacked, TARBALL_FILE_PATTERNS);
	checkTarballContents(unpacked, files, JSON.parse(fs.readFileSync(path.join(unpacked, 'package.json'), 'utf8')));
} catch (err) {
	fail(err.message);
} finally {
	fs.rmSync(work, { recursive: true, force: true });
}

if (failures) {
	console.error(`scan: ${failures} problem(s)`);
	process.exit(1);
}
console.log('scan: no findings; the tarball holds only credentials, nodes, icons, codex files, package.json, README and LICENSE');
