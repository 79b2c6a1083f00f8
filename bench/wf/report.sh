# report.sh - the tables of bench/wf.sh, sourced by it at the end: reads
# the result lines in $res (written by wf.sh's row and tp_row) and prints
# them by mode, then sov-wf against the better peer and the goals of
# issue 5. Uses wf.sh's variables ($res, $sov, $N, ...).
# shellcheck shell=sh disable=SC2154 # wf.sh's variables

nodev=$(node --version 2>/dev/null || echo -)
echo
printf '%s cores (%s), %s; load average at start: %s, at the end: %s\n' "$(nproc)" \
	"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" "$(uname -m)" \
	"$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)"
awk -v a="$load_start" -v n="$(nproc)" 'BEGIN { if (a + 0 > n / 2)
	print "WARNING: the machine was busy at the start (load above half the cores): figures are low for every system; compare within one run" }'
[ ! -x "$sov" ] || printf 'sov-wf: %s (%s)\n' "$("$sov" --version 2>/dev/null | head -n 1)" "$sov"
if has graphile-worker || has pg-boss; then
	printf 'graphile-worker %s, pg-boss %s, pg %s (node %s, npm packages in %s)\n' \
		"$(nodever graphile-worker)" "$(nodever pg-boss)" "$(nodever pg)" "$nodev" "$NODE_DIR"
fi
printf 'throughput: %s jobs enqueued up front (command steps: %s), then %s worker processes; timed from\n' "$N" "$NCMD" "$PROCS"
printf '  the first job'"'"'s start until the store shows all done (polled every 20 ms); a sov-wf job is one\n'
printf '  execution, the peers'"'"' a no-op task; enqueue/s is the up-front enqueue (sov-wf: sov-wf enqueue\n'
printf '  from a pipe; graphile-worker: addJobs; pg-boss: insert)\n'
printf 'latency: %s jobs a second for %s s, one at a time, workers idle until then; from the producer'"'"'s\n' "$RATE" "$SECS"
printf '  clock when it sent the job to the step'"'"'s start (sov-wf: its claim, wf_steps.started_at; the\n'
printf '  peers: the handler'"'"'s first line)\n'
printf 'graphile-worker'"'"'s "batch delay" is its completeJobBatchDelay (and failJobBatchDelay)\n'
printf 'start s: from starting the worker processes to the first job'"'"'s start (not in jobs/s)\n'
printf 'RSS: the largest peak (VmHWM) of one worker process; CPU: user + system s of all worker processes\n'
printf '  (PostgreSQL'"'"'s own CPU is not in it)\n'

awk -F'|' '
function tp_head() {
	printf "%-16s %-13s %-52s %8s %8s %6s %7s %6s %7s %9s %5s\n", "system", "workload", "setting",
		"jobs/s", "steps/s", "s", "start s", "CPU s", "RSS MiB", "enqueue/s", "load"
}
function lat_head() {
	printf "%-16s %-52s %7s %7s %7s %6s %6s %7s %5s\n", "system", "setting", "p50 ms", "p99 ms",
		"max ms", "n", "CPU s", "RSS MiB", "load"
}
function flush_mode(m,    i, k) {
	if (m == "") return
	print ""
	if (m == "sqlite")
		printf "== SQLite %s: %s (sov-wf only)\n", ver[m], set[m]
	else
		printf "== PostgreSQL %s: %s\n", ver[m], set[m]
	if (ntp[m]) {
		print "throughput"
		tp_head()
		for (i = 1; i <= ntp[m]; i++) print tp[m, i]
	}
	if (nlat[m]) {
		print "enqueue-to-start latency"
		lat_head()
		for (i = 1; i <= nlat[m]; i++) print lat[m, i]
	}
	if (nrec[m]) {
		print "recovery after kill -9 of one of two busy workers (steps of 1 s; times after the kill)"
		printf "%-16s %-14s %10s %14s %14s %18s\n", "system", "setting", "steps lost", "taken over s", "step done s", "executions end s"
		for (i = 1; i <= nrec[m]; i++) print rec[m, i]
	}
	for (i = 1; i <= nfail[m]; i++) print "FAILED: " fail[m, i]
	if (m != "sqlite" && bestsov[m] > 0 && bestpeer[m] > 0)
		printf "sov-wf / better peer, jobs/s (one jq step against a no-op job): %.3fx (sov-wf %d, %s; %s %d, %s)\n",
			bestsov[m] / bestpeer[m], bestsov[m], bestsovset[m], bestpeersys[m], bestpeer[m], bestpeerset[m]
}
$1 == "mode" { order[++nm] = $2; ver[$2] = $3; set[$2] = $4 }
$1 == "tp" {
	m = $2
	tp[m, ++ntp[m]] = sprintf("%-16s %-13s %-52s %8d %8d %6.2f %7.2f %6.1f %7.1f %9s %5s", $3, $4, $5, $6, $7, $11, $13, $9, $8, $10, $12)
	if ($3 == "sov-wf" && $4 == "jq x1" && $6 + 0 > bestsov[m]) { bestsov[m] = $6; bestsovset[m] = $5 }
	if ($3 != "sov-wf" && $6 + 0 > bestpeer[m]) { bestpeer[m] = $6; bestpeerset[m] = $5; bestpeersys[m] = $3 }
}
$1 == "lat" {
	m = $2
	lat[m, ++nlat[m]] = sprintf("%-16s %-52s %7s %7s %7s %6s %6s %7s %5s%s", $3, $4, $5, $6, $7, $8, $10, $9, $11,
		$12 != "" ? "  (" $12 ")" : "")
	if ($3 == "sov-wf" && $4 !~ /not padded/ && (bestp99[m] == "" || $6 + 0 < bestp99[m])) { bestp99[m] = $6; bestp99set[m] = $4 }
}
$1 == "rec" {
	m = $2
	rec[m, ++nrec[m]] = sprintf("%-16s %-14s %10d %6.1f to %4.1f %14.1f %18.1f", $3, $4, $5, $6 / 1000, $7 / 1000, $8 / 1000, $9 / 1000)
	if ($4 ~ / 3s$/) fast = $9 / 1000
	recset = 1
}
$1 == "fail" { m = $2; fail[m, ++nfail[m]] = $3 " " $4 " " $5 ": " $6 }
END {
	for (i = 1; i <= nm; i++) flush_mode(order[i])
	print ""
	print "goals (issue 5):"
	v = "not measured"
	r = "-"
	if (bestsov["fsync"] > 0 && bestpeer["fsync"] > 0) {
		r = sprintf("%.3fx", bestsov["fsync"] / bestpeer["fsync"])
		v = (bestsov["fsync"] >= 2 * bestpeer["fsync"]) ? "met" : "NOT met"
	}
	printf "  %-62s %-9s %s\n", "jobs/s >= 2x the better peer, fsync on, one worker per core", r, v
	v = "not measured"
	r = "-"
	if (bestsov["nofsync"] > 0 && bestpeer["nofsync"] > 0) {
		r = sprintf("%.3fx", bestsov["nofsync"] / bestpeer["nofsync"])
		v = (bestsov["nofsync"] >= 2 * bestpeer["nofsync"]) ? "met" : "NOT met"
	}
	printf "  %-62s %-9s %s\n", "the same with fsync off", r, v
	for (k = 1; k <= 3; k++) {
		m = (k == 1) ? "fsync" : (k == 2) ? "nofsync" : "sqlite"
		if (bestp99[m] == "") continue
		printf "  %-62s %-9s %s\n", "p99 enqueue-to-start < 10 ms (" m ", best: " bestp99set[m] ")", bestp99[m] " ms",
			(bestp99[m] + 0 < 10) ? "met" : "NOT met"
	}
	if (recset)
		printf "  %-62s %-9s %s\n", "recovery after kill -9 within seconds (--lease 3s)", (fast == "" ? "-" : fast " s"),
			(fast != "" && fast > 0 && fast < 10) ? "met" : "NOT met"
}' "$res"

for m in $MODES; do
	[ -f "$work/profile-$m" ] || continue
	echo
	cat "$work/profile-$m"
done
if [ -n "$spawn_rate" ]; then
	echo
	echo "limit of command steps here: $spawn_rate fork+exec+wait of /bin/cat a second from one process (perl system(),"
	echo "  at the start of the run; two such processes at once got about half that each on this machine)"
fi

echo
echo "total run time: $(($(date +%s) - t_start)) s"
[ "$status" = 0 ] || echo "bench: FAILED (a run failed or timed out; details above)"
exit "$status"
