// graphile.js - graphile-worker's side of bench/wf.sh: the same job load as
// sov-wf's, a no-op task, on the same PostgreSQL. NODE_PATH names the
// node_modules that wf.sh installed.
//
//   node graphile.js URL setup               create the schema (once)
//   node graphile.js URL enqueue N           N jobs in one add_jobs call
//   node graphile.js URL work C Q D FILE     a worker: concurrency C, local
//                                            queue Q (-1: off), batched job
//                                            completion after D ms (-1: off)
//   node graphile.js URL produce RATE SECS WARM   WARM jobs with t 0 (not measured)
//                                            20 ms apart, a second's pause, then
//                                            one job at a time, RATE a second
//
// A job's payload is {"i": k, "t": ms}; t is when the producer sent it. On
// SIGTERM a worker stops and writes FILE: its first job's start (ms since
// the epoch), its job count, then one enqueue-to-start latency in ms per
// line for the jobs that carried t.
"use strict";
const { main, pace, tally } = require("./common.js");
const { run, makeWorkerUtils, Logger } = require("graphile-worker");

// Only warnings and errors, on stderr.
const logger = new Logger(() => (level, message) => {
	if (level === "error" || level === "warning")
		process.stderr.write(`graphile-worker: ${message}\n`);
});

async function setup(url) {
	const u = await makeWorkerUtils({ connectionString: url, logger });
	await u.migrate();
	await u.release();
}

async function enqueue(url, n) {
	const u = await makeWorkerUtils({ connectionString: url, logger });
	const jobs = [];
	for (let i = 0; i < n; i++)
		jobs.push({ identifier: "noop", payload: { i } });
	const t0 = Date.now();
	await u.addJobs(jobs);
	process.stdout.write(`${Date.now() - t0}\n`);
	await u.release();
}

async function produce(url, rate, secs, warm) {
	const u = await makeWorkerUtils({ connectionString: url, logger });
	await pace(rate, secs, warm, (payload) => u.addJob("noop", payload));
	await u.release();
}

async function work(url, conc, queue, delay, file) {
	let runner = null;
	const seen = tally(file, async () => runner && runner.stop());
	const worker = {
		concurrentJobs: conc,
		completeJobBatchDelay: delay,
		failJobBatchDelay: delay,
	};
	if (queue > 0) worker.localQueue = { size: queue };
	runner = await run({
		connectionString: url,
		concurrency: conc,
		maxPoolSize: conc + 2,
		noHandleSignals: true,
		logger,
		preset: { worker },
		taskList: { noop: async (payload) => seen([payload]) },
	});
	await runner.promise;
}

main("graphile.js", { setup, enqueue, produce, work }, ["C", "Q", "D"]);
