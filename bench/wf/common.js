// common.js - what bench/wf.sh's peer adapters (graphile.js, pgboss.js)
// share: argument checks, the producer's pacing, the tally a worker keeps
// and writes on SIGTERM, and the command dispatch.
"use strict";
const fs = require("fs");

function die(name, msg) {
	process.stderr.write(`${name}: ${msg}\n`);
	process.exit(2);
}

function int(name, s, what) {
	const n = Number(s);
	if (!Number.isInteger(n)) die(name, `${what}: '${s}' is not an integer`);
	return n;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// WARM jobs with t 0, 20 ms apart, a second's pause, then RATE jobs a
// second for SECS, each carrying t, the producer's clock when it sent it.
async function pace(rate, secs, warm, send) {
	for (let i = 1; i <= warm; i++) {
		await send({ i: -i, t: 0 });
		await sleep(20);
	}
	if (warm > 0) await sleep(1000);
	const n = rate * secs, gap = 1000 / rate, t0 = Date.now();
	for (let i = 0; i < n; i++) {
		const wait = t0 + i * gap - Date.now();
		if (wait > 0) await sleep(wait);
		await send({ i, t: Date.now() });
	}
}

// A worker's tally: seen(payloads) at a handler's start; on SIGTERM or
// SIGINT, stop() and then FILE gets the first start (ms since the epoch),
// the count, and one enqueue-to-start latency per line.
function tally(file, stop) {
	const lat = [];
	let first = 0, count = 0, stopping = false;
	const end = async () => {
		if (stopping) return;
		stopping = true;
		await stop();
		fs.writeFileSync(file, `${first}\n${count}\n` + lat.map((x) => `${x}\n`).join(""));
		process.exit(0);
	};
	process.on("SIGTERM", end);
	process.on("SIGINT", end);
	return (payloads) => {
		const now = Date.now();
		if (!first) first = now;
		count += payloads.length;
		for (const p of payloads) if (p.t) lat.push(now - p.t);
	};
}

// node NAME URL setup | enqueue N | produce RATE SECS WARM | work A B C FILE
function main(name, cmds, workArgs) {
	const [url, cmd, ...a] = process.argv.slice(2);
	const num = (s, what) => int(name, s, what);
	const go = async () => {
		if (!url || !cmd) die(name, `usage: ${name} URL setup|enqueue|work|produce ...`);
		if (cmd === "setup") await cmds.setup(url);
		else if (cmd === "enqueue") await cmds.enqueue(url, num(a[0], "N"));
		else if (cmd === "produce")
			await cmds.produce(url, num(a[0], "RATE"), num(a[1], "SECS"), num(a[2] || "0", "WARM"));
		else if (cmd === "work" && a.length === 4)
			await cmds.work(url, ...workArgs.map((w, k) => num(a[k], w)), a[3]);
		else die(name, `bad command '${cmd}'`);
	};
	go().catch((e) => {
		process.stderr.write(`${name}: ${e && e.stack ? e.stack : e}\n`);
		process.exit(1);
	});
}

module.exports = { main, pace, tally };
