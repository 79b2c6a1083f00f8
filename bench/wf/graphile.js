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
const fs = require("fs");
const { run, makeWorkerUtils, Logger } = require("graphile-worker");

// Only warnings and errors, on stderr.
const logger = new Logger(() => (level, message) => {
	if (level === "error" || level === "warning")
		process.stderr.write(`graphile-worker: ${message}\n`);
});

function die(msg) {
	process.stderr.write(`graphile.js: ${msg}\n`);
	process.exit(2);
}

function int(s, what) {
	const n = Number(s);
	if (!Number.isInteger(n)) die(`${what}: '${s}' is not an integer`);
	return n;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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
	for (let i = 1; i <= warm; i++) {
		await u.addJob("noop", { i: -i, t: 0 });
		await sleep(20);
	}
	if (warm > 0) await sleep(1000);
	const n = rate * secs, gap = 1000 / rate, t0 = Date.now();
	for (let i = 0; i < n; i++) {
		const wait = t0 + i * gap - Date.now();
		if (wait > 0) await sleep(wait);
		await u.addJob("noop", { i, t: Date.now() });
	}
	await u.release();
}

async function work(url, conc, queue, delay, file) {
	const lat = [];
	let first = 0, count = 0;
	const worker = {
		concurrentJobs: conc,
		completeJobBatchDelay: delay,
		failJobBatchDelay: delay,
	};
	if (queue > 0) worker.localQueue = { size: queue };
	const runner = await run({
		connectionString: url,
		concurrency: conc,
		maxPoolSize: conc + 2,
		noHandleSignals: true,
		logger,
		preset: { worker },
		taskList: {
			noop: async (payload) => {
				const now = Date.now();
				if (!first) first = now;
				count++;
				if (payload.t) lat.push(now - payload.t);
			},
		},
	});
	let stopping = false;
	const stop = async () => {
		if (stopping) return;
		stopping = true;
		await runner.stop();
		fs.writeFileSync(file, `${first}\n${count}\n` + lat.map((x) => `${x}\n`).join(""));
		process.exit(0);
	};
	process.on("SIGTERM", stop);
	process.on("SIGINT", stop);
	await runner.promise;
}

async function main() {
	const [url, cmd, ...a] = process.argv.slice(2);
	if (!url || !cmd) die("usage: graphile.js URL setup|enqueue|work|produce ...");
	if (cmd === "setup") await setup(url);
	else if (cmd === "enqueue") await enqueue(url, int(a[0], "N"));
	else if (cmd === "produce")
		await produce(url, int(a[0], "RATE"), int(a[1], "SECS"), int(a[2] || "0", "WARM"));
	else if (cmd === "work" && a.length === 4)
		await work(url, int(a[0], "C"), int(a[1], "Q"), int(a[2], "D"), a[3]);
	else die(`bad command '${cmd}'`);
}

main().catch((e) => {
	process.stderr.write(`graphile.js: ${e && e.stack ? e.stack : e}\n`);
	process.exit(1);
});
