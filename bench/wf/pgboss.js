// pgboss.js - pg-boss's side of bench/wf.sh: the same job load as sov-wf's,
// a no-op handler, on the same PostgreSQL. NODE_PATH names the node_modules
// that wf.sh installed.
//
//   node pgboss.js URL setup                 create the schema and the queue
//   node pgboss.js URL enqueue N             N jobs in one insert call
//   node pgboss.js URL work K B P FILE       a worker: K work() loops (pg-boss
//                                            10 has no teamSize: each loop
//                                            fetches on its own), batchSize
//                                            B, polling every P ms (>= 500)
//   node pgboss.js URL produce RATE SECS WARM   WARM jobs with t 0 (not measured)
//                                            20 ms apart, a second's pause, then
//                                            one job at a time, RATE a second
//
// A job's data is {"i": k, "t": ms}; t is when the producer sent it. On
// SIGTERM a worker stops and writes FILE: its first job's start (ms since
// the epoch), its job count, then one enqueue-to-start latency in ms per
// line for the jobs that carried t.
"use strict";
const { main, pace, tally } = require("./common.js");
const PgBoss = require("pg-boss");

const QUEUE = "noop";

// No maintenance or cron timers in the bench: they are not the job load.
async function boss(url, migrate, max) {
	const b = new PgBoss({
		connectionString: url,
		migrate,
		supervise: false,
		schedule: false,
		max,
	});
	b.on("error", (e) => process.stderr.write(`pg-boss: ${e.message || e}\n`));
	await b.start();
	return b;
}

async function setup(url) {
	const b = await boss(url, true, 2);
	await b.createQueue(QUEUE);
	await b.stop({ graceful: false, wait: true });
}

async function enqueue(url, n) {
	const b = await boss(url, false, 2);
	const jobs = [];
	for (let i = 0; i < n; i++) jobs.push({ name: QUEUE, data: { i } });
	const t0 = Date.now();
	await b.insert(jobs);
	process.stdout.write(`${Date.now() - t0}\n`);
	await b.stop({ graceful: false, wait: true });
}

async function produce(url, rate, secs, warm) {
	const b = await boss(url, false, 2);
	await pace(rate, secs, warm, (data) => b.send(QUEUE, data));
	await b.stop({ graceful: false, wait: true });
}

async function work(url, k, batch, poll, file) {
	const b = await boss(url, false, k + 2);
	const seen = tally(file, () => b.stop({ graceful: true, wait: true, timeout: 5000 }));
	for (let j = 0; j < k; j++)
		await b.work(QUEUE, { batchSize: batch, pollingIntervalSeconds: poll / 1000 },
			async (jobs) => seen(jobs.map((job) => job.data)));
}

main("pgboss.js", { setup, enqueue, produce, work }, ["K", "B", "P"]);
