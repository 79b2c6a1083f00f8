#!/bin/sh
# probe.sh - sov-probe against Debian's prometheus-blackbox-exporter and a
# plain `curl --parallel` loop on the same HTTP targets in the same run
# (the sov-probe issue, "Benchmark"). One Debian nginx on 127.0.0.1 (a
# temp prefix, one worker) serves N targets, /t/0001 ... /t/N (200, a
# 3-byte body), on one port per tool so that each tool's requests land in
# its own access log ("$msec $uri $status $connection_requests"). Each
# target is probed every INTERVAL for SECS, the tools one after another
# (never at once: 2 cores), each after a warm-up cycle that is not counted:
#
# - blackbox_exporter: the binary run directly with a temp config (module
#   http_2xx, prober http, timeout 5s, ip4; a fresh connection per probe,
#   as it does). bench/probe/drive.py asks it for /probe?module=http_2xx&
#   target=URL for each target every INTERVAL, spread evenly over the
#   interval as Prometheus spreads scrapes, over keep-alive connections.
#   The driver's CPU is not counted: only the exporter's.
# - the curl loop: every INTERVAL (absolute ticks) one `curl --parallel
#   --parallel-max PAR -s --no-progress-meter -o /dev/null -w
#   '%{http_code}\n' --max-time 5` over the N URLs (a URL glob), started
#   by drive.py, which reads each curl's rusage from wait4(2). curl reuses
#   connections within a run, as a plain loop does.
# - sov-probe: `sov-probe daemon --targets FILE --metrics sqlite:DB` with a
#   targets file of N http targets ({"defaults": {"interval", "timeout":
#   "5s"}}); its measurements go into a real SQLite store. A fresh
#   connection per probe, as blackbox_exporter makes.
# - sov-reuse: the same with "reuse": true on every target, so connections
#   are kept between probes, as the curl loop keeps them within a run. Its
#   CPU is judged against the curl loop's, sov-probe's against the
#   exporter's: each against the peer that does the same work.
#
# Measured for each, in the window after the warm-up cycle:
#   probes   requests nginx logged in the window (and how many of N x
#            SECS/INTERVAL that is)
#   CPU      the exporter's and sov-probe's utime+stime from /proc/PID/stat
#            at the window's start and end; the curl runs' ru_utime +
#            ru_stime (the runs that started in the window); per 1,000
#            probes done
#   RSS      peak: VmHWM of the exporter or sov-probe at the end; the
#            largest ru_maxrss of the curl runs
#   interval deviation, server-side and alike for all: for each target the
#            gaps between its successive requests in nginx's log, minus
#            INTERVAL; |deviation| p50/p99/max over all targets and gaps
#   failed   as the tool saw it: the exporter's probe_success 0 (or a failed
#            request to it), a curl transfer without 200, sov-probe's
#            probe.up 0 measurements in the window; and nginx's non-200s
#   conns    new TCP connections nginx accepted from the tool
# The report is also saved as $SOV_BENCH_DIR/probe-results-DATE.txt, and
# the raw numbers as probe-results-DATE.raw beside it.
#
#   SOV_BENCH_PROBE_SECONDS=180   measured seconds per tool (after warm-up)
#   SOV_BENCH_PROBE_TARGETS=1000  targets
#   SOV_BENCH_PROBE_INTERVAL=10   seconds between two probes of a target
#   SOV_BENCH_PROBE_SMOKE=1       a quick try: 30 s, 100 targets (unless
#                                 the two above are set)
#   SOV_BENCH_PROBE_TOOLS="blackbox curl sov-probe sov-reuse"   which, in this order
#   SOV_BENCH_PROBE_PARALLEL=64   curl's --parallel-max (its default is 50,
#                                 its limit 300)
#   SOV_BENCH_PROBE_SOV_ARGS=     more options for sov-probe daemon (e.g.
#                                 "--threads 1"), shown in the report
#   SOV_BENCH_DIR=/var/tmp/sov-bench   results and scratch space
#   SOV_BENCH_KEEP=1              keep the scratch directory (logs, gaps)
#   SOV_BUILD=build               where sov-probe is
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
self=$(pwd)/bench/probe.sh
export LC_ALL=C
BASE=${SOV_BENCH_DIR:-/var/tmp/sov-bench}
case $BASE in /*) ;; *) BASE=$(pwd)/$BASE ;; esac

# Everything printed is also saved: run again under tee.
bench_tee probe "$self" "$@"
SOV_BENCH_PROBE_RAW=${SOV_BENCH_OUT%.txt}.raw

top=$(pwd)
B=${SOV_BUILD:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
sov=$B/sov-probe
num() {
	case $2 in '' | *[!0-9]*) echo "bench: $1='$2' is not a number" >&2; exit 2 ;; esac
}
if [ "${SOV_BENCH_PROBE_SMOKE:-0}" = 1 ]; then
	SECS=${SOV_BENCH_PROBE_SECONDS:-30}
	N=${SOV_BENCH_PROBE_TARGETS:-100}
else
	SECS=${SOV_BENCH_PROBE_SECONDS:-180}
	N=${SOV_BENCH_PROBE_TARGETS:-1000}
fi
IV=${SOV_BENCH_PROBE_INTERVAL:-10}
PAR=${SOV_BENCH_PROBE_PARALLEL:-64}
SOV_ARGS=${SOV_BENCH_PROBE_SOV_ARGS:-}
num SOV_BENCH_PROBE_SECONDS "$SECS"
num SOV_BENCH_PROBE_TARGETS "$N"
num SOV_BENCH_PROBE_INTERVAL "$IV"
num SOV_BENCH_PROBE_PARALLEL "$PAR"
if [ "$N" -lt 1 ] || [ "$N" -gt 9999 ]; then
	echo "bench: SOV_BENCH_PROBE_TARGETS=$N: from 1 to 9999" >&2
	exit 2
fi
if [ "$IV" -lt 1 ] || [ "$SECS" -lt $((2 * IV)) ]; then
	echo "bench: SOV_BENCH_PROBE_SECONDS=$SECS: at least two intervals ($((2 * IV)) s), or no gap is measured" >&2
	exit 2
fi
TOOLS=${SOV_BENCH_PROBE_TOOLS:-blackbox curl sov-probe sov-reuse}
for t in $TOOLS; do
	case $t in blackbox | curl | sov-probe | sov-reuse) ;; *) echo "bench: unknown tool '$t' in SOV_BENCH_PROBE_TOOLS" >&2; exit 2 ;; esac
done
has() { case " $TOOLS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
t_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
say() { echo "bench: $*" >&2; }

# --- what this needs ------------------------------------------------------
need=
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need="$need nginx"
command -v curl >/dev/null 2>&1 || need="$need curl"
if has blackbox; then
	command -v prometheus-blackbox-exporter >/dev/null 2>&1 || need="$need prometheus-blackbox-exporter"
fi
[ -x /usr/bin/python3 ] || command -v python3 >/dev/null 2>&1 || need="$need python3"
if has sov-probe || has sov-reuse; then command -v sqlite3 >/dev/null 2>&1 || need="$need sqlite3"; fi
apt_need "$need"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

if has sov-probe || has sov-reuse; then
	if [ ! -x "$sov" ]; then
		say "sov-probe SKIPPED: $sov not found (make $sov, or SOV_BUILD=DIR)"
		TOOLS=$(echo " $TOOLS " | sed 's/ sov-probe / /; s/ sov-reuse / /')
	elif ! "$sov" daemon --help >/dev/null 2>&1; then
		say "sov-probe SKIPPED: $sov has no daemon command ($sov daemon --help failed)"
		TOOLS=$(echo " $TOOLS " | sed 's/ sov-probe / /; s/ sov-reuse / /')
	fi
fi

mkdir -p "$BASE"
work=$(mktemp -d "$BASE/probe-run.XXXXXX")
spawned=
ngx=
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	# only what this script started, by pid
	for p in $spawned; do kill -9 "$p" 2>/dev/null || true; done
	[ -z "$ngx" ] || kill -QUIT "$ngx" 2>/dev/null || true
	if [ "${SOV_BENCH_KEEP:-0}" = 1 ]; then
		say "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mkdir -p "$work/log" "$work/nginx/tmp" "$work/state"
res=$work/results
: >"$res"
status=0
TICK=$(getconf CLK_TCK)
unset SOV_METRICS 2>/dev/null || true

now_ms() { date +%s%3N; }
# sleep_until MS: until that time (ms since the epoch)
sleep_until() {
	d=$(($1 - $(now_ms)))
	[ "$d" -le 0 ] || sleep "$(awk -v d="$d" 'BEGIN { printf "%.3f", d / 1000 }')"
}
# running PID: the process runs (a zombie does not)
running() {
	case $(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null) in
	'' | Z | X) return 1 ;;
	esac
}
# cpu_ticks PID: utime + stime (fields 14 and 15, counted after the name)
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'; }
ticks_s() { awk -v t="${1:-0}" -v h="$TICK" 'BEGIN { printf "%.2f", t / h }'; }
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }
# cpu_stat: "busy total" jiffies of the whole machine, from /proc/stat
cpu_stat() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }
# busy_pct "BUSY1 TOTAL1" "BUSY2 TOTAL2": how busy the machine was between
busy_pct() {
	# shellcheck disable=SC2086 # four numbers
	set -- $1 $2
	awk -v b1="$1" -v t1="$2" -v b2="$3" -v t2="$4" 'BEGIN { d = t2 - t1; printf "%.0f", (d > 0) ? 100 * (b2 - b1) / d : 0 }'
}
load1() { cut -d' ' -f1 /proc/loadavg; }
# stop PID [SIG]: signal it and wait up to 10 s, then kill -9
stop() {
	kill "-${2:-TERM}" "$1" 2>/dev/null || true
	i=0
	while running "$1" && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if running "$1"; then
		say "process $1 did not stop within 10 s: killed"
		kill -9 "$1" 2>/dev/null || true
	fi
	wait "$1" 2>/dev/null || true
	spawned=$(echo " $spawned " | sed "s/ $1 / /")
}
# wait_http URL SECS: until URL answers at all
wait_http() {
	i=0
	while [ $i -lt $(($2 * 10)) ]; do
		curl -s -o /dev/null --max-time 1 "$1" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# --- ports and nginx --------------------------------------------------------------
# Five free ports on 127.0.0.1, below the ephemeral range: nginx for each
# tool (four), and the exporter.
ports=$("$PY" -c '
import random, socket
got = []
while len(got) < 5:
    p = random.randint(20000, 29999)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); got.append(p)
    except OSError:
        pass
    finally:
        s.close()
print(" ".join(map(str, got)))')
# shellcheck disable=SC2086 # five numbers
set -- $ports
P_BB=$1 P_CURL=$2 P_SOV=$3 P_EXP=$4 P_REUSE=$5
ND=$work/nginx
{
	[ "$(id -u)" != 0 ] || echo "user nobody nogroup;"
	cat <<EOF
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 16384;
pid $ND/nginx.pid;
error_log $ND/error.log warn;
events { worker_connections 8192; }
http {
	default_type text/plain;
	client_body_temp_path $ND/tmp/body;
	proxy_temp_path $ND/tmp/proxy;
	fastcgi_temp_path $ND/tmp/fastcgi;
	uwsgi_temp_path $ND/tmp/uwsgi;
	scgi_temp_path $ND/tmp/scgi;
	log_format probe '\$msec \$uri \$status \$connection_requests';
	server_tokens off;
EOF
	for t in blackbox:$P_BB curl:$P_CURL sov-probe:$P_SOV sov-reuse:$P_REUSE; do
		cat <<EOF
	server {
		listen 127.0.0.1:${t#*:};
		access_log $work/log/${t%%:*}.access probe;
		location /t/ { return 200 "ok\n"; }
		location / { return 404; }
	}
EOF
	done
	echo "}"
} >"$ND/nginx.conf"
"$NGINX" -t -q -p "$ND/" -e "$ND/error.log" -c "$ND/nginx.conf" 2>"$work/log/nginx.err" || {
	say "nginx rejected its configuration:"
	sed 's/^/    /' "$work/log/nginx.err" >&2
	exit 1
}
"$NGINX" -p "$ND/" -e "$ND/error.log" -c "$ND/nginx.conf" 2>>"$work/log/nginx.err" &
ngx=$!
if ! wait_http "http://127.0.0.1:$P_BB/t/0001" 10; then
	say "nginx did not answer on 127.0.0.1:$P_BB within 10 s:"
	tail -n 5 "$ND/error.log" "$work/log/nginx.err" | sed 's/^/    /' >&2
	exit 1
fi
: >"$work/log/blackbox.access" # the check above is not a probe

EXPECT=$((N * SECS / IV))
# row TOOL T1 T2 CPU_S RSS_KIB FAILED LOAD BUSY NOTE: one result line, with
# what nginx saw of TOOL in [T1, T2)
row() {
	st=$("$PY" bench/probe/logstat.py "$work/log/$1.access" "$2" "$3" "$IV" "$work/log/$1.gaps")
	# tool expected done non200 conns targets gaps p50 p99 max cpu rss
	# failed load busy t1 t2 note
	# shellcheck disable=SC2086 # logstat's eight numbers
	set -- "$1" "$EXPECT" $st "$4" "$5" "$6" "$7" "$8" "$2" "$3" "$9"
	(
		IFS='|'
		echo "$*"
	) >>"$res"
}
fail_row() { echo "fail|$1|$2" >>"$res"; status=1; }

# --- blackbox_exporter ------------------------------------------------------------
run_blackbox() {
	cat >"$work/blackbox.yml" <<'EOF'
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
EOF
	say "blackbox_exporter: $N targets every $IV s for $SECS s (+ one warm-up cycle), driven by bench/probe/drive.py"
	prometheus-blackbox-exporter --config.file="$work/blackbox.yml" \
		--web.listen-address="127.0.0.1:$P_EXP" >/dev/null 2>>"$work/log/blackbox.err" &
	pid=$!
	spawned="$spawned $pid"
	if ! wait_http "http://127.0.0.1:$P_EXP/" 10; then
		fail_row blackbox "the exporter did not answer within 10 s (see $work/log/blackbox.err)"
		stop "$pid"
		return 0
	fi
	l=$(load1)
	t0=$(($(now_ms) + 1000))
	t1=$((t0 + IV * 1000))
	t2=$((t1 + SECS * 1000))
	"$PY" bench/probe/drive.py blackbox "127.0.0.1:$P_EXP" "http://127.0.0.1:$P_BB/t/%04d" \
		"$N" "$IV" "$t0" "$t2" "$work/log/blackbox.driver" 2>>"$work/log/driver.err" &
	drv=$!
	spawned="$spawned $drv"
	sleep_until "$t1"
	c1=$(cpu_ticks "$pid")
	s1=$(cpu_stat)
	sleep_until "$t2"
	alive=1
	running "$pid" || alive=0
	c2=$(cpu_ticks "$pid")
	s2=$(cpu_stat)
	rss=$(hwm_kib "$pid")
	wait "$drv" || say "blackbox: the driver failed (see $work/log/driver.err)"
	spawned=$(echo " $spawned " | sed "s/ $drv / /")
	stop "$pid"
	if [ "$alive" = 0 ] || [ -z "$c1" ] || [ -z "$c2" ]; then
		fail_row blackbox "the exporter exited during the run (see $work/log/blackbox.err)"
		return 0
	fi
	cpu=$(ticks_s $((c2 - c1)))
	# failed: asked in the window and not probe_success 1; the driver's
	# lateness (sent - scheduled), to show it kept time
	# shellcheck disable=SC2046 # two numbers
	set -- $(awk -v a="$t1" -v b="$t2" '$1 >= a && $1 < b { n++; if ($5 != 1) f++; print $2 - $1 > "/dev/stderr" }
		END { print n + 0, f + 0 }' "$work/log/blackbox.driver" 2>"$work/log/blackbox.late")
	late=$(sort -n "$work/log/blackbox.late" | awk '{ v[NR] = $1 } END {
		if (!NR) { print "-"; exit } k = int(NR * 0.99); if (k < NR * 0.99) k++; printf "%d ms, max %d ms", v[k], v[NR] }')
	row blackbox "$t1" "$t2" "$cpu" "$rss" "$2" "$l" "$(busy_pct "$s1" "$s2")" \
		"driver (not counted: $(cat "$work/log/blackbox.driver.cpu" 2>/dev/null || echo -) CPU-s in all): $1 requests in the window, sent late by p99 $late"
}

# --- the curl loop ---------------------------------------------------------------------
run_curl() {
	say "curl loop: $N targets every $IV s for $SECS s (+ one warm-up run), curl --parallel --parallel-max $PAR"
	l=$(load1)
	t0=$(($(now_ms) + 1000))
	end=$((t0 + IV * 1000 + SECS * 1000))
	# the window holds the runs 1 .. SECS/IV, each well inside it
	t1=$((t0 + IV * 500))
	t2=$((end - IV * 500))
	glob=$(printf 'http://127.0.0.1:%s/t/[0001-%04d]' "$P_CURL" "$N")
	"$PY" bench/probe/drive.py curl "$glob" "$PAR" "$IV" "$t0" "$end" "$work/log/curl.runs" \
		2>>"$work/log/driver.err" &
	drv=$!
	spawned="$spawned $drv"
	sleep_until "$t1"
	s1=$(cpu_stat)
	sleep_until "$t2"
	s2=$(cpu_stat)
	wait "$drv" || say "curl: the loop failed (see $work/log/driver.err)"
	spawned=$(echo " $spawned " | sed "s/ $drv / /")
	# shellcheck disable=SC2046 # four numbers
	set -- $(awk -v a="$t1" -v b="$t2" '$5 > rss { rss = $5 }
		$1 >= a && $1 < b { n++; cpu += $3 + $4; f += $7; if ($2 - $1 > w) w = $2 - $1 }
		END { printf "%.2f %d %d %d %d\n", cpu, rss, f, n, w }' "$work/log/curl.runs")
	row curl "$t1" "$t2" "$1" "$2" "$3" "$l" "$(busy_pct "$s1" "$s2")" \
		"$4 curl runs in the window, the longest $5 ms; connections reused within a run; the loop (python, not counted): $(cat "$work/log/curl.runs.cpu" 2>/dev/null || echo -) CPU-s in all"
}

# --- sov-probe ----------------------------------------------------------------------------
# run_sov NAME PORT REUSE: one sov-probe daemon, its row called NAME
run_sov() {
	name=$1
	tf=$work/$name-targets.json
	awk -v n="$N" -v p="$2" -v iv="$IV" -v reuse="$3" 'BEGIN {
		printf "{\"defaults\": {\"interval\": \"%ds\", \"timeout\": \"5s\"}, \"targets\": {", iv
		for (i = 1; i <= n; i++)
			printf "%s\n \"t%04d\": {\"type\": \"http\", \"url\": \"http://127.0.0.1:%d/t/%04d\"%s}", (i > 1 ? "," : ""), i, p, i, (reuse ? ", \"reuse\": true" : "")
		print "}}" }' >"$tf"
	mkdir -p "$work/$name"
	db=$work/$name/m.db
	say "$name: $N targets every $IV s for $SECS s (+ one warm-up cycle), daemon --metrics sqlite:$db$([ "$3" = 1 ] && echo ', reuse: true')"
	l=$(load1)
	# shellcheck disable=SC2086 # options, split on purpose
	SOV_STATE_DIR=$work/$name/state "$sov" daemon --targets "$tf" --metrics "sqlite:$db" $SOV_ARGS \
		>"$work/log/$name.out" 2>>"$work/log/$name.err" &
	pid=$!
	spawned="$spawned $pid"
	t0=$(now_ms)
	t1=$((t0 + IV * 1000))
	t2=$((t1 + SECS * 1000))
	sleep_until "$t1"
	if ! running "$pid"; then
		stop "$pid"
		fail_row "$name" "the daemon exited during the warm-up cycle:$(tail -n 3 "$work/log/$name.err" | sed 's/^/ /' | tr '\n' ' ')"
		return 0
	fi
	c1=$(cpu_ticks "$pid")
	s1=$(cpu_stat)
	sleep_until "$t2"
	if ! running "$pid"; then
		stop "$pid"
		fail_row "$name" "the daemon exited before the end:$(tail -n 3 "$work/log/$name.err" | sed 's/^/ /' | tr '\n' ' ')"
		return 0
	fi
	c2=$(cpu_ticks "$pid")
	s2=$(cpu_stat)
	rss=$(hwm_kib "$pid")
	stop "$pid"
	cpu=$(ticks_s $((c2 - c1)))
	# failed: probe.up 0 in the window, as the store has it
	a=$(date -u -d "@$((t1 / 1000)).$(printf %03d $((t1 % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ)
	b=$(date -u -d "@$((t2 / 1000)).$(printf %03d $((t2 % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ)
	got=$(sqlite3 -separator ' ' "$db" "SELECT count(*), coalesce(sum(value = 0), 0) FROM measurements
		WHERE name = 'probe.up' AND ts >= '$a' AND ts < '$b'" 2>>"$work/log/$name.err") || got=
	if [ -z "$got" ]; then
		failed=-
		note="no probe.up measurements readable in $db"
	else
		failed=${got#* }
		note="${got%% *} probe.up measurements in the window"
	fi
	row "$name" "$t1" "$t2" "$cpu" "$rss" "$failed" "$l" "$(busy_pct "$s1" "$s2")" "$note"
}

for t in $TOOLS; do
	case $t in
	blackbox) run_blackbox ;;
	curl) run_curl ;;
	sov-probe) run_sov sov-probe "$P_SOV" 0 ;;
	sov-reuse) run_sov sov-reuse "$P_REUSE" 1 ;;
	esac
done
# The floor of the RSS goal: the peak RSS of a program that only does a
# probe's work through the same shared libraries (bench/probe/floor.c),
# after every window, so that its request is in none.
floor_kib=-
# shellcheck disable=SC2046 # flags, split on purpose
if cc -O2 -o "$work/floor" "$top/bench/probe/floor.c" \
	$(pkg-config --cflags --libs libcurl sqlite3 2>/dev/null || echo -lcurl -lsqlite3) -ljq \
	2>>"$work/log/floor.err" &&
	k=$("$work/floor" "http://127.0.0.1:$P_SOV/t/0001" "$work/floor.db" 2>>"$work/log/floor.err"); then
	floor_kib=$k
else
	say "the floor program failed: $(tail -n 2 "$work/log/floor.err" | tr '\n' ' ')"
fi
stop "$ngx" QUIT
ngx=

# --- report ------------------------------------------------------------------------------------
if [ -n "${SOV_BENCH_PROBE_RAW:-}" ]; then
	{
		echo "# bench/probe.sh raw results, $(date -u +%Y-%m-%dT%H:%M:%SZ); N=$N interval=${IV}s window=${SECS}s"
		echo "# tool|expected|done|non200|new_conns|targets|gaps|dev_p50_ms|dev_p99_ms|dev_max_ms|cpu_s|rss_kib|failed|load1|busy_pct|t1_ms|t2_ms|note"
		cat "$res"
	} >"$SOV_BENCH_PROBE_RAW"
	echo "bench: raw numbers: $SOV_BENCH_PROBE_RAW"
fi
echo
printf '%s cores (%s); load average at start: %s, at the end: %s\n' "$(nproc)" \
	"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" "$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)"
awk -v a="$load_start" -v n="$(nproc)" 'BEGIN { if (a + 0 > n / 2)
	print "WARNING: the machine was busy at the start (load above half the cores): compare within one run" }'
printf 'nginx %s (one worker), blackbox_exporter %s, %s\n' "$("$NGINX" -v 2>&1 | sed 's/.*nginx\///')" \
	"$(prometheus-blackbox-exporter --version 2>&1 | sed -n '1s/.*version \([^ ]*\).*/\1/p')" "$(curl --version | head -n 1 | cut -d' ' -f1-2)"
if has sov-probe || has sov-reuse; then
	printf 'sov-probe: %s (%s), daemon --targets FILE --metrics sqlite:DB%s; sov-reuse: the same, reuse: true\n' \
		"$("$sov" --version 2>/dev/null | head -n 1)" "$sov" "${SOV_ARGS:+ $SOV_ARGS}"
fi
printf '%s targets on 127.0.0.1, each probed every %s s; measured for %s s per tool after one warm-up cycle,\n' "$N" "$IV" "$SECS"
printf '  the tools one after another on the same nginx; expected probes per tool: %s\n' "$EXPECT"
printf 'CPU: user+system s of the tool only (blackbox_exporter, sov-probe: /proc/PID/stat; curl: rusage of\n'
printf '  its runs); the blackbox driver'"'"'s and nginx'"'"'s CPU are not counted (the driver asks over\n'
printf '  keep-alive connections, without gzip, one request per target and interval). RSS: peak (VmHWM; curl:\n'
printf '  the largest ru_maxrss of one run). Deviation: |gap between two requests of one target - %s s|,\n' "$IV"
# shellcheck disable=SC2016 # nginx's variable, printed as it is
printf '  from nginx'"'"'s log (its $msec), over all targets and gaps. busy: the whole machine'"'"'s CPU in the window\n'
awk -F'|' -v iv="$IV" -v floor="$floor_kib" '
$1 == "fail" { fail[++nf] = $2 ": " $3; next }
{
	t = $1; tools[++nt] = t
	done[t] = $3; cpk[t] = ($3 > 0) ? $11 * 1000 / $3 : -1; rss[t] = $12 / 1024; p99[t] = $9
	line[t] = sprintf("%-10s %13s %8.2f %9s %7.1f %7s %7s %7s %6s %6s %6s %5s %4s%%", t, $3 "/" $2, $11,
		(cpk[t] >= 0) ? sprintf("%.3f", cpk[t]) : "-", $12 / 1024, $8, $9, $10, $13, $4, $5, $14, $15)
	note[t] = $18
}
END {
	printf "\n%-10s %13s %8s %9s %7s %7s %7s %7s %6s %6s %6s %5s %5s\n", "tool", "probes", "CPU s",
		"CPU/1000", "RSS MiB", "dev p50", "dev p99", "dev max", "failed", "non200", "conns", "load", "busy"
	for (i = 1; i <= nt; i++) print line[tools[i]]
	print "  (dev in ms; CPU/1000: CPU-s per 1,000 probes done)"
	for (i = 1; i <= nt; i++) printf "  %s: %s\n", tools[i], note[tools[i]]
	for (i = 1; i <= nf; i++) print "FAILED: " fail[i]
	s = ("sov-probe" in done) ? "sov-probe" : "sov-reuse"
	r = ("sov-reuse" in done) ? "sov-reuse" : "sov-probe"
	print ""
	if (!(s in done)) {
		print "sov-probe not measured: no ratios, goals not judged"
		exit
	}
	# each against the peer doing the same work: a fresh connection per
	# probe (the exporter), connections kept (the curl loop)
	if (("blackbox" in cpk) && cpk["blackbox"] > 0)
		printf "%s / blackbox_exporter, CPU per probe: %.3fx   peak RSS: %.3fx\n", s, cpk[s] / cpk["blackbox"], rss[s] / rss["blackbox"]
	if (("curl" in cpk) && cpk["curl"] > 0)
		printf "%s / curl loop, CPU per probe:          %.3fx   peak RSS: %.3fx\n", r, cpk[r] / cpk["curl"], rss[r] / rss["curl"]
	print "goals:"
	v = "not measured"; x = "-"
	if (("blackbox" in cpk) && cpk["blackbox"] > 0) { x = sprintf("%.3fx", cpk[s] / cpk["blackbox"]); v = (cpk[s] <= cpk["blackbox"] / 8) ? "met" : "NOT met" }
	printf "  %-52s %-9s %s\n", "CPU per probe <= 1/8 of blackbox_exporter (" s ")", x, v
	v = "not measured"; x = "-"
	if (("curl" in cpk) && cpk["curl"] > 0) { x = sprintf("%.3fx", cpk[r] / cpk["curl"]); v = (cpk[r] < cpk["curl"]) ? "met" : "NOT met" }
	printf "  %-52s %-9s %s\n", "CPU per probe below the curl loop (" r ")", x, v
	m = (r in rss && rss[r] > rss[s]) ? r : s
	printf "  %-52s %-9s %s\n", "peak RSS < 10 MiB (the larger of the two)", sprintf("%.1f", rss[m]), (rss[m] < 10) ? "met" : "NOT met"
	if (floor != "-")
		printf "    (the floor: %.1f MiB, bench/probe/floor.c: one GET, one SQLite row, one jq run, nothing else)\n", floor / 1024
	d = (r in p99 && p99[r] + 0 > p99[s] + 0) ? r : s
	printf "  %-52s %-9s %s\n", "p99 interval deviation < 50 ms (the larger)", p99[d] " ms", (p99[d] != "-" && p99[d] + 0 < 50) ? "met" : "NOT met"
}' "$res"
echo
echo "total run time: $(($(date +%s) - t_start)) s"
[ "$status" = 0 ] || echo "bench: FAILED (a tool failed; details above)"
exit "$status"
