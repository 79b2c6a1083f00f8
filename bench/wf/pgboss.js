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
const fs = require("fs");
const PgBoss = require("pg-boss");

const QUEUE = "noop";

function die(msg) {
	process.stderr.write(`pgboss.js: ${msg}\n`);
	process.exit(2);
}

function int(s, what) {
	const n = Number(s);
	if (!Number.isInteger(n)) die(`${what}: '${s}' is not an integer`);
	return n;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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
	for (let i = 1; i <= warm; i++) {
		await b.send(QUEUE, { i: -i, t: 0 });
		await sleep(20);
	}
	if (warm > 0) await sleep(1000);
	const n = rate * secs, gap = 1000 / rate, t0 = Date.now();
	for (let i = 0; i < n; i++) {
		const wait = t0 + i * gap - Date.now();
		if (wait > 0) await sleep(wait);
		await b.send(QUEUE, { i, t: Date.now() });
	}
	await b.stop({ graceful: false, wait: true });
}

async function work(url, k, batch, poll, file) {
	const lat = [];
	let first = 0, count = 0;
	const b = await boss(url, false, k + 2);
	for (let j = 0; j < k; j++)
		await b.work(QUEUE, { batchSize: batch, pollingIntervalSeconds: poll / 1000 },
			async (jobs) => {
				const now = Date.now();
				if (!first) first = now;
				count += jobs.length;
				for (const job of jobs) if (job.data.t) lat.push(now - job.data.t);
			});
	let stopping = false;
	const stop = async () => {
		if (stopping) return;
		stopping = true;
		await b.stop({ graceful: true, wait: true, timeout: 5000 });
		fs.writeFileSync(file, `${first}\n${count}\n` + lat.map((x) => `${x}\n`).join(""));
		process.exit(0);
	};
	process.on("SIGTERM", stop);
	process.on("SIGINT", stop);
}

async function main() {
	const [url, cmd, ...a] = process.argv.slice(2);
	if (!url || !cmd) die("usage: pgboss.js URL setup|enqueue|work|produce ...");
	if (cmd === "setup") await setup(url);
	else if (cmd === "enqueue") await enqueue(url, int(a[0], "N"));
	else if (cmd === "produce")
		await produce(url, int(a[0], "RATE"), int(a[1], "SECS"), int(a[2] || "0", "WARM"));
	else if (cmd === "work" && a.length === 4)
		await work(url, int(a[0], "K"), int(a[1], "B"), int(a[2], "P"), a[3]);
	else die(`bad command '${cmd}'`);
}

main().catch((e) => {
	process.stderr.write(`pgboss.js: ${e && e.stack ? e.stack : e}\n`);
	process.exit(1);
});
