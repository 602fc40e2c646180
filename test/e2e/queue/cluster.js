'use strict';
// A queue-mode n8n on loopback for the queue suite and the measuring script: Postgres and Redis in
// throwaway data directories, one n8n main and N workers, each with its own user folder holding the
// package tarball (installed as the Community Nodes screen does). Everything started here is in its
// own process group and is stopped on exit, failure or Ctrl-C (lib.js).

const fs = require('node:fs');
const path = require('node:path');
const L = require('../lib');

const OWNER = { email: 'owner@example.com', firstName: 'Queue', lastName: 'Owner', password: 'Queue-Passw0rd!' };

/** The directory holding initdb and postgres: PG_BIN, then Debian's layout, then PATH. */
function postgresBin() {
	const candidates = [];
	if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
	const debian = '/usr/lib/postgresql';
	if (fs.existsSync(debian)) {
		for (const v of fs.readdirSync(debian).sort((a, b) => Number(b) - Number(a))) candidates.push(path.join(debian, v, 'bin'));
	}
	for (const dir of (process.env.PATH || '').split(path.delimiter)) candidates.push(dir);
	const dir = candidates.find((d) => d && fs.existsSync(path.join(d, 'initdb')) && fs.existsSync(path.join(d, 'postgres')));
	if (!dir) throw new Error('initdb/postgres not found: apt-get install -y postgresql (or set PG_BIN)');
	return dir;
}

/** Postgres refuses to run as root: as root, run it as the `postgres` user. */
function asPostgresUser(cmd, args) {
	if (typeof process.getuid === 'function' && process.getuid() === 0) return ['runuser', ['-u', 'postgres', '--', cmd, ...args]];
	return [cmd, args];
}

/** @param {{ echo?: string }} [options] */
async function startPostgres({ echo } = {}) {
	const bin = postgresBin();
	const dir = L.mkTmp('evg-queue-pg-');
	L.onCleanup(() => L.rmrf(dir));
	const dataDir = path.join(dir, 'data');
	if (process.getuid && process.getuid() === 0) {
		const r = await L.run('chown', ['-R', 'postgres:', dir], { timeoutMs: 10_000 });
		if (r.code !== 0) throw new Error(`chown postgres ${dir}: ${r.stderr}`);
	}
	const [initCmd, initArgs] = asPostgresUser(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'n8n', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
	const init = await L.run(initCmd, initArgs, { timeoutMs: 120_000, cwd: dir });
	if (init.code !== 0) throw new Error(`initdb failed (${init.code}):\n${L.tail(init.stdout + init.stderr)}`);
	const port = await L.freePort();
	// a test database: durability off, small buffers, sockets in the throwaway folder
	const [cmd, args] = asPostgresUser(path.join(bin, 'postgres'), [
		'-D', dataDir, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1',
		'-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
		'-c', 'shared_buffers=64MB', '-c', 'max_connections=60',
	]);
	const proc = L.startProcess(cmd, args, { cwd: dir, echo });
	await proc.waitFor(/database system is ready to accept connections/, 60_000);
	const [cdCmd, cdArgs] = asPostgresUser(path.join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'n8n', 'n8n']);
	const cd = await L.run(cdCmd, cdArgs, { timeoutMs: 30_000, cwd: dir });
	if (cd.code !== 0) throw new Error(`createdb failed (${cd.code}): ${cd.stderr}`);
	return {
		port,
		proc,
		/** One SQL statement through psql; rows as arrays of strings (tab-separated, unaligned). */
		async query(sql) {
			const [c, a] = asPostgresUser(path.join(bin, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'n8n', '-d', 'n8n', '-At', '-F', '\t', '-c', sql]);
			const r = await L.run(c, a, { timeoutMs: 60_000, cwd: dir });
			if (r.code !== 0) throw new Error(`psql: ${r.stderr}`);
			return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));
		},
		async stop() {
			// SIGINT is Postgres' fast shutdown: no waiting for clients that are gone anyway
			try {
				process.kill(-proc.child.pid, 'SIGINT');
			} catch {
				/* already gone */
			}
			const t = setTimeout(() => proc.stop(1000), 10_000);
			await proc.exited;
			clearTimeout(t);
		},
	};
}

/** @param {{ echo?: string }} [options] */
async function startRedis({ echo } = {}) {
	const dir = L.mkTmp('evg-queue-redis-');
	L.onCleanup(() => L.rmrf(dir));
	const port = await L.freePort();
	const proc = L.startProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { cwd: dir, echo });
	await proc.waitFor(/Ready to accept connections/, 30_000);
	return { port, proc, stop: () => proc.stop(5000) };
}

/** Environment shared by main and workers: same database, Redis and encryption key; queue mode. */
function queueEnv(pg, redis, extra = {}) {
	return {
		DB_TYPE: 'postgresdb',
		DB_POSTGRESDB_HOST: '127.0.0.1',
		DB_POSTGRESDB_PORT: String(pg.port),
		DB_POSTGRESDB_DATABASE: 'n8n',
		DB_POSTGRESDB_USER: 'n8n',
		DB_POSTGRESDB_PASSWORD: '',
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: '127.0.0.1',
		QUEUE_BULL_REDIS_PORT: String(redis.port),
		OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
		...extra,
	};
}

/** Peak resident memory of a process since start or the last reset, in MiB (Linux /proc). */
function peakRssMiB(pid) {
	const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
	return m ? Number(m[1]) / 1024 : NaN;
}
function rssMiB(pid) {
	const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
	return m ? Number(m[1]) / 1024 : NaN;
}
/** Start a new peak: writing 5 to clear_refs resets VmHWM to the current RSS. */
function resetPeakRss(pid) {
	fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/**
 * Start `n8n worker` with its own user folder (the package installed in it), broker and health
 * ports; resolves once the worker says it is ready.
 * @param {any} inst @param {string} userFolder @param {Record<string, string>} env
 * @param {{ name?: string, concurrency?: number, echo?: string }} [options]
 */
async function startWorker(inst, userFolder, env, { name, concurrency = 1, echo } = {}) {
	const healthPort = await L.freePort();
	const procEnv = L.n8nEnv(inst, userFolder, {
		...env,
		N8N_PORT: String(await L.freePort()),
		N8N_RUNNERS_BROKER_PORT: String(await L.freePort()),
		QUEUE_HEALTH_CHECK_ACTIVE: 'true',
		QUEUE_HEALTH_CHECK_PORT: String(healthPort),
		N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
	});
	const t0 = Date.now();
	const proc = L.startProcess(inst.nodeBin, [inst.n8nBin, 'worker', `--concurrency=${concurrency}`], { env: procEnv, cwd: userFolder, echo });
	await proc.waitFor(/n8n worker is now ready|Worker ready|worker is ready/i, 180_000);
	return { name, proc, pid: proc.child.pid, healthPort, readyMs: Date.now() - t0, userFolder, stop: () => proc.stop() };
}

/**
 * Postgres, Redis, one main and `workers` workers, the package installed in each user folder.
 * Resolves { pg, redis, main, workers, api, env, stop }.
 * @param {any} inst @param {string} tarball
 * @param {{ workers?: number, extraEnv?: Record<string, string>, workerEnv?: Record<string, string>, echo?: string, log?: (line: string) => void }} [options]
 * @returns {Promise<any>}
 */
async function startQueueCluster(inst, tarball, { workers = 2, extraEnv = {}, workerEnv = {}, echo, log = () => {} } = {}) {
	const t0 = Date.now();
	const made = { workers: [] };
	const stop = async () => {
		await Promise.all(made.workers.map((w) => w.stop()));
		if (made.main) await made.main.stop();
		if (made.redis) await made.redis.stop();
		if (made.pg) await made.pg.stop();
	};
	try {
		const folders = Array.from({ length: workers + 1 }, (_, i) => {
			const dir = L.mkTmp(i === 0 ? 'evg-queue-main-' : `evg-queue-worker${i}-`);
			L.onCleanup(() => L.rmrf(dir));
			return dir;
		});
		const [pg, redis] = await Promise.all([
			startPostgres({ echo: echo && `${echo}pg| ` }),
			startRedis({ echo: echo && `${echo}redis| ` }),
			...folders.map((dir) => L.installTarball(inst, dir, tarball)),
		]);
		made.pg = pg;
		made.redis = redis;
		log(`postgres :${pg.port}, redis :${redis.port}, package installed in ${folders.length} user folders (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
		const env = queueEnv(pg, redis, extraEnv);
		// main first: it creates the schema the workers use
		made.main = await L.startN8n(inst, folders[0], { extraEnv: env, echo: echo && `${echo}main| ` });
		log(`main ready at ${made.main.url} in ${(made.main.readyMs / 1000).toFixed(1)} s`);
		made.workers = await Promise.all(
			folders.slice(1).map((dir, i) =>
				startWorker(inst, dir, { ...env, ...workerEnv }, { name: `worker${i + 1}`, echo: echo && `${echo}worker${i + 1}| ` }),
			),
		);
		log(`workers ready: ${made.workers.map((w) => `${w.name} pid ${w.pid} in ${(w.readyMs / 1000).toFixed(1)} s`).join(', ')}`);
		const api = L.n8nClient(made.main.url);
		const setup = await api.setupOwner(OWNER);
		if (setup.status !== 200) throw new Error(`owner setup: ${setup.status} ${setup.text.slice(0, 300)}`);
		return { ...made, api, env, folders, stop, startMs: Date.now() - t0 };
	} catch (err) {
		await stop();
		throw err;
	}
}

module.exports = { startPostgres, startRedis, startWorker, startQueueCluster, queueEnv, peakRssMiB, rssMiB, resetPeakRss, OWNER };
