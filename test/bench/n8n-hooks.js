// @ts-check
'use strict';
/**
 * Loaded into a real n8n by the benchmark only (EXTERNAL_HOOK_FILES=this file), never by a user.
 *
 * Around each execution it records what the benchmark reports: the process's CPU time, its RSS
 * just before and its peak RSS during the run (getrusage maxRSS, plus 100 ms sampling). After the run
 * (n8n has already set stoppedAt, so the measured time is untouched) it replaces every node's output
 * items by their count, `benchmarkItems`, so that `n8n execute` prints and saves a few bytes rather
 * than a million items (at 1M, the printed JSON would pass V8's longest string).
 *
 * With BENCH_PROFILE_FILE set, it also writes a CPU profile of the execution alone to that file.
 *
 * It registers no external hook of its own: with one, n8n would keep full execution data that it
 * otherwise drops. It wraps n8n-core's ExecutionLifecycleHooks.runHook instead, from the n8n-core
 * that this n8n loads.
 */
const path = require('path');

const main = require.main?.filename ?? process.argv[1];
const corePath = require.resolve('n8n-core', { paths: [path.dirname(main)] });
const { ExecutionLifecycleHooks } = require(corePath);

/** CPU profile of the execution alone (BENCH_PROFILE_FILE), as test/bench/variant.js takes of the engine's. */
function startProfiler(file) {
	const inspector = require('inspector');
	const fs = require('fs');
	const session = new inspector.Session();
	session.connect();
	session.post('Profiler.enable');
	session.post('Profiler.setSamplingInterval', { interval: 500 });
	session.post('Profiler.start');
	return () =>
		session.post('Profiler.stop', (error, result) => {
			if (!error) fs.writeFileSync(file, JSON.stringify(result.profile));
			session.disconnect();
		});
}

/** Garbage-collection pauses of the main thread by kind, in ms, from now until the returned function is called. */
function gcPauses() {
	const { PerformanceObserver, constants } = require('perf_hooks');
	const kinds = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak' };
	/** @type {Record<string, number>} */
	const totals = {};
	const observer = new PerformanceObserver((list) => {
		for (const entry of list.getEntries()) {
			const kind = kinds[/** @type {any} */ (entry).detail?.kind] ?? 'other';
			totals[kind] = (totals[kind] ?? 0) + entry.duration;
		}
	});
	observer.observe({ entryTypes: ['gc'] });
	return () => {
		observer.disconnect();
		return Object.fromEntries(Object.entries(totals).map(([kind, ms]) => [kind, Math.round(ms)]));
	};
}

/** @type {{ baselineRss: number, baselinePeak: number, sampledPeak: number, cpu: NodeJS.CpuUsage, timer: NodeJS.Timeout, stopProfiler?: () => void, gc?: any } | undefined} */
let current;

const original = ExecutionLifecycleHooks.prototype.runHook;
ExecutionLifecycleHooks.prototype.runHook = function (hookName, parameters) {
	if (hookName === 'workflowExecuteBefore' && current === undefined) {
		const baselineRss = process.memoryUsage.rss();
		const state = {
			baselineRss,
			baselinePeak: process.resourceUsage().maxRSS * 1024,
			sampledPeak: baselineRss,
			cpu: process.cpuUsage(),
			timer: setInterval(() => {
				const rss = process.memoryUsage.rss();
				if (rss > state.sampledPeak) state.sampledPeak = rss;
			}, 100),
		};
		current = state;
		current.gc = gcPauses();
		if (process.env.BENCH_PROFILE_FILE) current.stopProfiler = startProfiler(process.env.BENCH_PROFILE_FILE);
	}
	if (hookName === 'workflowExecuteAfter' && current !== undefined) {
		// Synchronous, before n8n's own handlers and before `n8n execute` prints the run.
		const cpu = process.cpuUsage(current.cpu);
		clearInterval(current.timer);
		current.stopProfiler?.();
		const gc = current.gc();
		const endPeak = process.resourceUsage().maxRSS * 1024;
		// maxRSS is the lifetime high-water mark: it speaks for the run only if the run raised it.
		const peakRss = endPeak > current.baselinePeak ? Math.max(endPeak, current.sampledPeak) : current.sampledPeak;
		const run = parameters[0];
		const runData = run?.data?.resultData?.runData ?? {};
		for (const tasks of Object.values(runData)) {
			for (const task of tasks) {
				const outputs = task?.data?.main ?? [];
				task.benchmarkItems = outputs.map((items) => (Array.isArray(items) ? items.length : 0));
				if (task.data) task.data.main = outputs.map(() => []);
			}
		}
		run.benchmark = {
			cpuMs: (cpu.user + cpu.system) / 1000,
			baselineRss: current.baselineRss,
			peakRss,
			growthRss: Math.max(0, peakRss - current.baselineRss),
			gc,
		};
		current = undefined;
	}
	return original.call(this, hookName, parameters);
};

module.exports = {};
