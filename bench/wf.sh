#!/bin/sh
# wf.sh - sov-wf against graphile-worker and pg-boss (npm) on the same
# PostgreSQL in the same run (issue 5, "Benchmark"). A fresh PostgreSQL 15
# cluster (tests/helpers/pg.sh), restarted with the durability settings of
# each mode below, the same for every system; a fresh database per
# measurement. One worker process per core for every system.
#
# 1. Throughput: N jobs enqueued up front (sov-wf enqueue; graphile-worker's
#    addJobs; pg-boss's insert), then the workers, timed from the first job's
#    start until the store shows all N done. sov-wf: one jq step, a chain of
#    three, and a command step (/bin/cat, fewer jobs); settings: one process
#    per core with --threads 1, one process with a thread per core, --batch
#    values; and SQLite with one worker. The peers: a no-op task at a few
#    settings each (batched fetch and completion among them). The ratio is
#    sov-wf's best with one jq step against the best of either peer. Also
#    printed: how fast this machine starts a command, the bound of
#    command steps.
# 2. Enqueue-to-start latency p50/p99: workers idle and running, executions
#    enqueued one at a time at a steady RATE for SECS through one long-lived
#    producer (sov-wf: bench/wf/feed.pl piped into `sov-wf enqueue`); the
#    latency is the step's start (sov-wf: wf_steps.started_at, its claim;
#    the peers: the handler's first line) minus the producer's clock when it
#    sent the job. sov-wf with the default --poll and --poll 5ms. A few
#    warm-up jobs go first and are not counted. sov-wf's input lines go
#    as they are (see PAD below).
# 3. Recovery: two sov-wf workers busy on one-second command steps, one
#    killed with kill -9; the time until its leased steps are taken over
#    (wf_attempts 'lost') and done elsewhere, with --lease 30s and 3s.
#
# Peak RSS is VmHWM of each worker process (the largest is shown); CPU is
# user + system seconds of all worker processes, not PostgreSQL's. The
# report is also saved as $SOV_BENCH_DIR/wf-results-DATE.txt.
#
#   SOV_BENCH_WF_N=10000        jobs of each throughput run
#   SOV_BENCH_WF_CMD_N=1000     jobs of the command-step runs
#   SOV_BENCH_WF_RATE=200       latency: jobs a second ...
#   SOV_BENCH_WF_SECS=10        ... for this long
#   SOV_BENCH_WF_PAD=0          latency: sov-wf's input lines padded to this
#                               many bytes (0: not; see PAD below); when
#                               set, once unpadded too
#   SOV_BENCH_WF_MODES="fsync nofsync"   fsync: fsync, synchronous_commit and
#                               full_page_writes on (PostgreSQL's defaults);
#                               nofsync: all three off (tests/helpers/pg.sh's)
#   SOV_BENCH_WF_SYSTEMS="sov-wf graphile-worker pg-boss"
#   SOV_BENCH_WF_SQLITE=1       also sov-wf on SQLite (0: not)
#   SOV_BENCH_WF_PARTS="throughput latency recovery"   which measurements
#   SOV_BENCH_WF_RECOVERY="30s 3s"   leases of the kill -9 runs, in seconds
#                               ("": none)
#   SOV_BENCH_WF_SOV="P T B,..."  sov-wf's settings for one jq step: P
#                               processes of --threads T --batch B (default:
#                               one per core x 1 and 1 x one per core at
#                               --batch 128, the default, then --batch 32)
#   SOV_BENCH_WF_GW="C Q D,..."   graphile-worker's: concurrency C, localQueue
#                               size Q (-1: none), completeJobBatchDelay D ms
#                               (-1: none) (default "16 -1 -1,32 500 0,64 1000 0")
#   SOV_BENCH_WF_PB="K B P,..."   pg-boss's: K work() loops, batchSize B,
#                               polling every P ms (default "4 100 500,4 500
#                               500,2 1000 500")
#   SOV_BENCH_WF_GW_LAT="16 -1 -1", SOV_BENCH_WF_PB_LAT="4 100 500"   theirs
#                               for the latency runs
#   SOV_BENCH_WF_PROCS=$(nproc) worker processes
#   SOV_BENCH_WF_PROFILE=1      where PostgreSQL's time goes in sov-wf's first
#                               run of each mode: pg_stat_statements per
#                               statement (slows the server a little)
#   SOV_BENCH_DIR=/var/tmp/sov-bench   npm packages (wf-node/), results
#   SOV_BENCH_KEEP=1            keep the scratch directory (logs)
#   SOV_BUILD=build             where sov-wf is
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
self=$(pwd)/bench/wf.sh
export LC_ALL=C
BASE=${SOV_BENCH_DIR:-/var/tmp/sov-bench}
case $BASE in /*) ;; *) BASE=$(pwd)/$BASE ;; esac

# Everything printed is also saved: run again under tee.
bench_tee wf "$self" "$@"

top=$(pwd)
B=${SOV_BUILD:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
sov=$B/sov-wf
num() {
	case $2 in '' | *[!0-9]*) echo "bench: $1='$2' is not a number" >&2; exit 2 ;; esac
}
N=${SOV_BENCH_WF_N:-10000}
NCMD=${SOV_BENCH_WF_CMD_N:-1000}
RATE=${SOV_BENCH_WF_RATE:-200}
SECS=${SOV_BENCH_WF_SECS:-10}
PROCS=${SOV_BENCH_WF_PROCS:-$(nproc)}
num SOV_BENCH_WF_N "$N"
num SOV_BENCH_WF_CMD_N "$NCMD"
num SOV_BENCH_WF_RATE "$RATE"
num SOV_BENCH_WF_SECS "$SECS"
num SOV_BENCH_WF_PROCS "$PROCS"
MODES=${SOV_BENCH_WF_MODES:-fsync nofsync}
PROFILE=${SOV_BENCH_WF_PROFILE:-0}
SYSTEMS=${SOV_BENCH_WF_SYSTEMS:-sov-wf graphile-worker pg-boss}
SQLITE=${SOV_BENCH_WF_SQLITE:-1}
LEASES=${SOV_BENCH_WF_RECOVERY-30s 3s}
for l in $LEASES; do
	case $l in
	*s) num SOV_BENCH_WF_RECOVERY "${l%s}" ;;
	*) echo "bench: SOV_BENCH_WF_RECOVERY: '$l': say seconds, e.g. 30s" >&2; exit 2 ;;
	esac
done
# Padding was the workaround for a bug this benchmark found (`sov-wf
# enqueue` waited for 64 KiB more or the end of input before starting a
# line from a slow producer), fixed since (lib/jsonl.c reads with read(2)):
# lines go as they are unless asked.
PAD=${SOV_BENCH_WF_PAD:-0}
num SOV_BENCH_WF_PAD "$PAD"
# Latency: warm-up jobs first (not measured), so that every worker has
# connected and compiled its definitions before the measured ones come.
WARM=$((4 * PROCS))
for m in $MODES; do
	case $m in fsync | nofsync) ;; *) echo "bench: unknown mode '$m' in SOV_BENCH_WF_MODES" >&2; exit 2 ;; esac
done
has() { case " $SYSTEMS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
PARTS=${SOV_BENCH_WF_PARTS:-throughput latency recovery}
part() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
for s in $SYSTEMS; do
	case $s in sov-wf | graphile-worker | pg-boss) ;; *) echo "bench: unknown system '$s' in SOV_BENCH_WF_SYSTEMS" >&2; exit 2 ;; esac
done
t_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
say() { echo "bench: $*" >&2; }

# --- what this needs ------------------------------------------------------
PGBIN=${SOV_PGBIN:-/usr/lib/postgresql/15/bin}
need=
[ -x "$PGBIN/initdb" ] || need="$need postgresql-15"
command -v psql >/dev/null 2>&1 || [ -x "$PGBIN/psql" ] || need="$need postgresql-client-15"
command -v perl >/dev/null 2>&1 || need="$need perl"
[ "$SQLITE" = 0 ] || command -v sqlite3 >/dev/null 2>&1 || need="$need sqlite3"
if has graphile-worker || has pg-boss; then
	command -v node >/dev/null 2>&1 || need="$need nodejs"
	command -v npm >/dev/null 2>&1 || need="$need npm"
fi
apt_need "$need"
PSQL=psql
[ -x "$PGBIN/psql" ] && PSQL=$PGBIN/psql

mkdir -p "$BASE"
NODE_DIR=$BASE/wf-node
export NODE_PATH="$NODE_DIR/node_modules"
if has graphile-worker || has pg-boss; then
	if ! [ -f "$NODE_DIR/node_modules/graphile-worker/package.json" ] ||
		! [ -f "$NODE_DIR/node_modules/pg-boss/package.json" ] ||
		! [ -f "$NODE_DIR/node_modules/pg/package.json" ]; then
		echo "bench: installing graphile-worker, pg-boss and pg from npm into $NODE_DIR"
		mkdir -p "$NODE_DIR"
		[ -f "$NODE_DIR/package.json" ] || echo '{"name":"sov-bench-wf-node","private":true}' >"$NODE_DIR/package.json"
		if ! (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error \
			graphile-worker pg-boss pg >npm.log 2>&1); then
			say "npm install failed (tail of $NODE_DIR/npm.log below): the peers are skipped"
			tail -n 5 "$NODE_DIR/npm.log" | sed 's/^/    /' >&2
			SYSTEMS=$(echo " $SYSTEMS " | sed 's/ graphile-worker / /; s/ pg-boss / /')
		fi
	fi
fi
nodever() { node -e "console.log(require('$1/package.json').version)" 2>/dev/null || echo -; }

if has sov-wf && [ ! -x "$sov" ]; then
	say "building $sov"
	make -s "$sov" >/dev/null 2>&1 || true
	if [ ! -x "$sov" ]; then
		say "sov-wf SKIPPED: $sov not found (make $sov)"
		SYSTEMS=$(echo " $SYSTEMS " | sed 's/ sov-wf / /')
	fi
fi

work=$(mktemp -d "$BASE/wf-run.XXXXXX")
PGDIR=
spawned=
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	# only the workers still running: an old pid may be someone else's now
	for p in $spawned; do kill -9 "$p" 2>/dev/null || true; done
	[ -z "$PGDIR" ] || sh tests/helpers/pg.sh stop "$PGDIR" 2>/dev/null || true
	if [ "${SOV_BENCH_KEEP:-0}" = 1 ]; then
		say "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mkdir -p "$work/log" "$work/lat"
res=$work/results
: >"$res"
status=0
WFD=$top/bench/wf/workflows
unset SOV_METRICS SOV_WF_STORE SOV_WF_WORKFLOWS 2>/dev/null || true
TICK=$(getconf CLK_TCK)

# --- PostgreSQL ---------------------------------------------------------------
as_owner() {
	if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}
mode_settings() {
	case $1 in
	fsync) echo "-c fsync=on -c synchronous_commit=on -c full_page_writes=on" ;;
	nofsync) echo "-c fsync=off -c synchronous_commit=off -c full_page_writes=off" ;;
	esac
}
# pg_up MODE: a fresh cluster, restarted with MODE's settings
pg_up() {
	PGDIR=$(sh tests/helpers/pg.sh start 2>>"$work/log/pg.err")
	as_owner "$PGBIN/pg_ctl" -D "$PGDIR" -m fast -w -s stop >&2
	prof=
	[ "$PROFILE" = 0 ] || prof="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on"
	as_owner "$PGBIN/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -w -s -t 30 \
		-o "-c listen_addresses='' -k $PGDIR -c max_connections=200 $(mode_settings "$1") $prof" start >&2
}
pg_down() {
	sh tests/helpers/pg.sh stop "$PGDIR" 2>>"$work/log/pg.err" || true
	PGDIR=
}
dbn=0
# newdb [TEMPLATE]: a new database, named $dbname, at $url
newdb() {
	dbn=$((dbn + 1))
	dbname=b$dbn
	"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$PGDIR" -U postgres -d postgres \
		-c "CREATE DATABASE $dbname${1:+ TEMPLATE $1}" >&2
	url=$(sh tests/helpers/pg.sh url "$PGDIR" "$dbname")
}
dropdb() {
	q "$(sh tests/helpers/pg.sh url "$PGDIR")" "DROP DATABASE $dbname" >/dev/null 2>&1 || true
}
q() { "$PSQL" -X -At -v ON_ERROR_STOP=1 "$1" -c "$2"; }

# wait_pg URL SQL N SECS: poll SQL (a count, then a time in ms) every 20 ms
# on one connection until the count reaches N; prints the time, or nothing
# after SECS. SQL must be cheap: it runs beside the workers on the same two
# cores (a count(*) of 10,000 rows took 20 ms here), so the waits for the
# end ask whether any job is left (SOV_DONE, peer_done), which stops at
# the first one found.
wait_pg() {
	printf '%s\n\\watch 0.02\n' "SELECT ($2), (extract(epoch from clock_timestamp()) * 1000)::bigint" |
		timeout "$4" "$PSQL" -X -At "$1" 2>/dev/null |
		awk -F'|' -v n="$3" '$1 + 0 >= n { print $2; exit }' || true
}
# wait_sqlite FILE SQL N SECS: the same on SQLite (a new sqlite3 each time)
SOV_DONE="SELECT CASE WHEN EXISTS (SELECT 1 FROM wf_executions WHERE status = 'running') THEN 0 ELSE 1 END"
SOV_OK="SELECT count(*) FROM wf_executions WHERE status = 'succeeded'"
wait_sqlite() {
	end=$(($(date +%s) + $4))
	while [ "$(date +%s)" -lt "$end" ]; do
		r=$(sqlite3 "$1" "SELECT ($2), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)" 2>/dev/null) || r=
		if [ -n "$r" ] && [ "${r%%|*}" -ge "$3" ]; then
			echo "${r#*|}"
			return 0
		fi
		sleep 0.02
	done
}

# --- worker processes ---------------------------------------------------------
# spawn NAME CMD...: start CMD in the background; its pid is in $spawned
spawn() {
	name=$1
	shift
	"$@" >/dev/null 2>>"$work/log/$name.err" &
	spawned="$spawned $!"
}
# running PID: the process runs (exited and not yet waited for is a zombie)
running() {
	case $(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null) in
	'' | Z | X) return 1 ;;
	esac
}
# reap: peak RSS (KiB, the largest) and CPU seconds (all) of $spawned into
# $rss and $cpu, then stop them (SIGTERM, then wait)
reap() {
	rss=0
	ticks=0
	for p in $spawned; do
		k=$(awk '/^VmHWM/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
		[ -n "$k" ] && [ "$k" -gt "$rss" ] && rss=$k
		# utime and stime: fields 14 and 15 (the name has no blanks here)
		c=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
		ticks=$((ticks + c))
	done
	cpu=$(awk -v t="$ticks" -v h="$TICK" 'BEGIN { printf "%.1f", t / h }')
	for p in $spawned; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $spawned; do
		i=0
		while running "$p" && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if running "$p"; then
			say "worker $p did not stop within 10 s of SIGTERM: killed"
			kill -9 "$p" 2>/dev/null || true
		fi
		wait "$p" 2>/dev/null || true
	done
	spawned=
}
load1() { cut -d' ' -f1 /proc/loadavg; }

# row KIND MODE SYSTEM WORKLOAD SETTING FIELDS...: one result line
row() {
	(
		IFS='|'
		echo "$*"
	) >>"$res"
}
# tp_row MODE SYSTEM WORKLOAD SETTING JOBS STEPS START END RSS CPU ENQ_MS
#        LOAD SPAWNED: a throughput line; START and END are the first job's
#        start and the time all were seen done, SPAWNED when the workers
#        were started (ms since the epoch)
tp_row() {
	awk -v m="$1" -v s="$2" -v w="$3" -v set="$4" -v n="$5" -v k="$6" -v a="$7" -v b="$8" \
		-v rss="$9" -v cpu="${10}" -v enq="${11}" -v l="${12}" -v sp="${13}" 'BEGIN {
		d = b - a; if (d <= 0) d = 1
		e = (enq > 0) ? sprintf("%.0f", n * 1000 / enq) : "-"
		printf "tp|%s|%s|%s|%s|%.0f|%.0f|%.1f|%s|%s|%.2f|%s|%.2f\n", m, s, w, set,
			n * 1000 / d, n * k * 1000 / d, rss / 1024, cpu, e, d / 1000, l, (a - sp) / 1000 }' >>"$res"
}
fail_row() { row fail "$@"; status=1; }

# --- sov-wf -------------------------------------------------------------------
# sov_seed MODE WF COUNT: a database (or SQLite file) with COUNT executions
# of WF enqueued, made once and copied for each run; sets $seed, $enq_ms
sov_seed() {
	key=$1-$2-$3
	f=$work/seed-$key
	if [ -f "$f" ]; then
		read -r seed enq_ms <"$f"
		return 0
	fi
	if [ "$1" = sqlite ]; then
		seed=$work/seed-$key.db
		url=sqlite:$seed
	else
		newdb
		seed=$dbname
	fi
	say "sov-wf: enqueueing $3 executions of $2 ($1)"
	t0=$(date +%s%3N)
	if ! awk -v n="$3" 'BEGIN { for (i = 0; i < n; i++) printf "{\"i\":%d}\n", i }' |
		"$sov" enqueue "$2" --store "$url" --workflows "$WFD" >/dev/null 2>>"$work/log/enqueue.err"; then
		say "sov-wf enqueue failed:"
		tail -n 3 "$work/log/enqueue.err" | sed 's/^/    /' >&2
		return 1
	fi
	enq_ms=$(($(date +%s%3N) - t0))
	echo "$seed $enq_ms" >"$f"
}

# sov_tp MODE WF STEPS COUNT PROCS THREADS BATCH: one throughput run
sov_tp() {
	mode=$1 wf=$2 steps=$3 count=$4 procs=$5 thr=$6 batch=$7
	set_=$(printf '%s x --threads %s --batch %s' "$procs" "$thr" "$batch")
	wl="jq x$steps"
	[ "$wf" = cat ] && wl="run /bin/cat"
	if ! sov_seed "$mode" "$wf" "$count"; then
		fail_row "$mode" sov-wf "$wl" "$set_" "enqueue failed"
		return 0
	fi
	if [ "$mode" = sqlite ]; then
		db=$work/run.db
		rm -f "$db" "$db-wal" "$db-shm"
		cp "$seed" "$db"
		[ ! -f "$seed-wal" ] || cp "$seed-wal" "$db-wal"
		url=sqlite:$db
	else
		newdb "$seed"
	fi
	say "sov-wf: $wl, $count executions, $set_ ($mode)"
	profiling=0
	if [ "$PROFILE" != 0 ] && [ "$mode" != sqlite ] && [ ! -f "$work/profile-$mode" ]; then
		profiling=1
		q "$url" "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
		q "$url" "SELECT pg_stat_statements_reset()" >/dev/null
	fi
	l=$(load1)
	sp=$(date +%s%3N)
	i=0
	while [ $i -lt "$procs" ]; do
		spawn sov-wf "$sov" worker --store "$url" --workflows "$WFD" --threads "$thr" --batch "$batch"
		i=$((i + 1))
	done
	to=$((60 + count / 50))
	if [ "$mode" = sqlite ]; then
		end=$(wait_sqlite "$db" "$SOV_DONE" 1 "$to")
		ok=$(sqlite3 "$db" "$SOV_OK")
	else
		end=$(wait_pg "$url" "$SOV_DONE" 1 "$to")
		ok=$(q "$url" "$SOV_OK")
	fi
	reap
	if [ -z "$end" ] || [ "$ok" != "$count" ]; then
		say "sov-wf: ${ok:-no} executions of $count succeeded${end:+ (the others failed)}${end:- within $to s}"
		fail_row "$mode" sov-wf "$wl" "$set_" "${ok:-no} of $count executions succeeded"
		return 0
	fi
	if [ "$profiling" = 1 ]; then
		{
			echo "where PostgreSQL's time went ($mode; $wl, $count executions, $set_; pg_stat_statements):"
			"$PSQL" -X -P footer=off "$url" -c "SELECT calls, round((calls::numeric / $count), 2) AS per_exec,
				round(total_plan_time::numeric) AS plan_ms, round(total_exec_time::numeric) AS exec_ms,
				left(regexp_replace(query, '\s+', ' ', 'g'), 72) AS statement
				FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
				ORDER BY total_plan_time + total_exec_time DESC LIMIT 14"
			q "$url" "SELECT 'all statements: ' || sum(calls) || ' (' || round(sum(calls)::numeric / $count, 1) ||
				' per execution), planning ' || round(sum(total_plan_time)::numeric) || ' ms, executing ' ||
				round(sum(total_exec_time)::numeric) || ' ms' FROM pg_stat_statements
				WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
		} >"$work/profile-$mode" 2>&1
	fi
	sqlq="SELECT min(started_at) FROM wf_steps"
	if [ "$mode" = sqlite ]; then start=$(sqlite3 "$db" "$sqlq"); else start=$(q "$url" "$sqlq"); fi
	tp_row "$mode" sov-wf "$wl" "$set_" "$count" "$steps" "$start" "$end" "$rss" "$cpu" "$enq_ms" "$l" "$sp"
	[ "$mode" = sqlite ] || dropdb
}

# pctl FILE: "p50 p99 max n" of the numbers in FILE (nearest rank)
pctl() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - - 0"; exit }
		a = int(NR * 0.5); if (a < NR * 0.5) a++; if (a < 1) a = 1
		b = int(NR * 0.99); if (b < NR * 0.99) b++; if (b < 1) b = 1
		printf "%s %s %s %d\n", v[a], v[b], v[NR], NR }'
}
# lat_row MODE SYSTEM SETTING FILE RSS CPU LOAD [EXTRA]
lat_row() {
	lm=$1 ls=$2 lset=$3 lrss=$5 lcpu=$6 lload=$7 lextra=${8:-}
	# shellcheck disable=SC2046 # four numbers
	set -- $(pctl "$4")
	row lat "$lm" "$ls" "$lset" "$1" "$2" "$3" "$4" "$(awk -v k="$lrss" 'BEGIN { printf "%.1f", k / 1024 }')" \
		"$lcpu" "$lload" "$lextra"
}

# sov_lat MODE POLL PAD: workers idle, then RATE executions a second for
# SECS, each line padded to PAD bytes (0: not; see PAD above)
sov_lat() {
	mode=$1 poll=$2 pad=$3
	set_="$PROCS x --threads 1 --poll $poll"
	[ "$mode" = sqlite ] && set_="1 x --threads 1 --poll $poll"
	[ "$pad" = 0 ] && set_="$set_, lines not padded"
	if [ "$mode" = sqlite ]; then
		db=$work/lat.db
		rm -f "$db" "$db-wal" "$db-shm"
		url=sqlite:$db
		procs=1
	else
		newdb
		procs=$PROCS
	fi
	# the schema first, so that the workers do not race to create it
	echo '{"i":0,"t":0}' | "$sov" enqueue one --store "$url" --workflows "$WFD" >/dev/null
	total=$((RATE * SECS + 1 + WARM))
	say "sov-wf: latency at $RATE/s for $SECS s, $set_ ($mode)"
	l=$(load1)
	i=0
	while [ $i -lt "$procs" ]; do
		spawn sov-wf "$sov" worker --store "$url" --workflows "$WFD" --threads 1 --poll "$poll"
		i=$((i + 1))
	done
	sleep 1
	perl bench/wf/feed.pl -p "$pad" -w "$WARM" "$RATE" "$SECS" |
		"$sov" enqueue one --store "$url" --workflows "$WFD" >/dev/null 2>>"$work/log/enqueue.err" ||
		say "sov-wf: the latency producer failed"
	if [ "$mode" = sqlite ]; then
		end=$(wait_sqlite "$db" "$SOV_DONE" 1 60)
		ok=$(sqlite3 "$db" "$SOV_OK")
	else
		end=$(wait_pg "$url" "$SOV_DONE" 1 60)
		ok=$(q "$url" "$SOV_OK")
	fi
	reap
	if [ -z "$end" ] || [ "$ok" != "$total" ]; then
		fail_row "$mode" sov-wf latency "$set_" "${ok:-no} of $total executions succeeded"
		return 0
	fi
	f=$work/lat/sov-$mode-$poll
	if [ "$mode" = sqlite ]; then
		sqlite3 -separator ' ' "$db" "SELECT s.started_at - json_extract(e.input, '\$.t'), s.started_at - e.created_at
			FROM wf_steps s JOIN wf_executions e ON e.id = s.execution_id WHERE json_extract(e.input, '\$.t') > 0" >"$f.both"
	else
		"$PSQL" -X -At -F ' ' "$url" -c "SELECT s.started_at - (e.input::json->>'t')::bigint, s.started_at - e.created_at
			FROM wf_steps s JOIN wf_executions e ON e.id = s.execution_id WHERE (e.input::json->>'t')::bigint > 0" >"$f.both"
	fi
	cut -d' ' -f1 "$f.both" >"$f"
	cut -d' ' -f2 "$f.both" >"$f.created"
	# shellcheck disable=SC2046
	set -- $(pctl "$f.created")
	lat_row "$mode" sov-wf "$set_" "$f" "$rss" "$cpu" "$l" "from created_at: p50 $1, p99 $2"
}

# sov_recovery LEASE: kill -9 one of two busy workers
sov_recovery() {
	lease=$1
	newdb
	count=24
	say "sov-wf: recovery after kill -9, --lease $lease"
	awk -v n="$count" 'BEGIN { for (i = 0; i < n; i++) printf "{\"i\":%d}\n", i }' |
		"$sov" enqueue sleep --store "$url" --workflows "$WFD" >/dev/null 2>>"$work/log/enqueue.err"
	spawn sov-wf "$sov" worker --store "$url" --workflows "$WFD" --threads 2 --lease "$lease" --name doomed
	doomed=${spawned# }
	spawn sov-wf "$sov" worker --store "$url" --workflows "$WFD" --threads 2 --lease "$lease" --name heir
	# killed in the middle of its steps, once it holds two
	held=$(wait_pg "$url" "SELECT count(*) FROM wf_steps WHERE lease_owner = 'doomed' AND status = 'running'" 2 20)
	sleep 0.5
	kill -9 "$doomed"
	kt=$(date +%s%3N)
	wait "$doomed" 2>/dev/null || true
	spawned=${spawned# "$doomed"}
	[ -n "$held" ] || say "sov-wf: the doomed worker held no steps (the figures below mean little)"
	s=${lease%s}
	end=$(wait_pg "$url" "SELECT count(*) FROM wf_executions WHERE status = 'succeeded'" "$count" $((s * 2 + 60)))
	reap
	lost=$(q "$url" "SELECT count(*) || ' ' || coalesce(min(finished_at) - $kt, -1) || ' ' || coalesce(max(finished_at) - $kt, -1)
		FROM wf_attempts WHERE outcome = 'lost'")
	done_=$(q "$url" "SELECT coalesce(max(s.finished_at) - $kt, -1) || ' ' || coalesce(max(e.finished_at) - $kt, -1)
		FROM wf_steps s JOIN wf_executions e ON e.id = s.execution_id
		WHERE (s.execution_id, s.step) IN (SELECT execution_id, step FROM wf_attempts WHERE outcome = 'lost')")
	if [ -z "$end" ]; then
		fail_row "$cur_mode" sov-wf recovery "--lease $lease" "not all executions succeeded"
		return 0
	fi
	# shellcheck disable=SC2086
	row rec "$cur_mode" sov-wf "--lease $lease" $lost $done_
}

# --- graphile-worker and pg-boss ------------------------------------------------
peer_js() {
	case $1 in
	graphile-worker) echo bench/wf/graphile.js ;;
	pg-boss) echo bench/wf/pgboss.js ;;
	esac
}
# peer_done SYSTEM: SQL that gives 1 when no job is left (graphile-worker
# deletes a job when it is done)
peer_done() {
	case $1 in
	graphile-worker) echo "SELECT CASE WHEN EXISTS (SELECT 1 FROM graphile_worker._private_jobs) THEN 0 ELSE 1 END" ;;
	pg-boss) echo "SELECT CASE WHEN EXISTS (SELECT 1 FROM pgboss.job WHERE name = 'noop' AND state < 'completed') THEN 0 ELSE 1 END" ;;
	esac
}
# peer_ok SYSTEM URL FILES...: how many jobs were done (graphile-worker: as
# its handlers counted, in line 2 of their files; pg-boss: its store)
peer_ok() {
	psys=$1 purl=$2
	shift 2
	case $psys in
	graphile-worker) for f in "$@"; do sed -n 2p "$f"; done | awk '{ n += $1 } END { print n + 0 }' ;;
	pg-boss) q "$purl" "SELECT count(*) FROM pgboss.job WHERE name = 'noop' AND state = 'completed'" ;;
	esac
}
peer_setting() {
	case $1 in
	graphile-worker)
		# shellcheck disable=SC2086 # three numbers
		set -- $2
		s="$PROCS x concurrency $1"
		[ "$2" -gt 0 ] && s="$s, localQueue $2"
		[ "$3" -ge 0 ] && s="$s, batch delay ${3}ms"
		echo "$s"
		;;
	pg-boss)
		# shellcheck disable=SC2086 # three numbers
		set -- $2
		echo "$PROCS x $1 work(), batchSize $2, poll ${3}ms"
		;;
	esac
}

# peer_tp MODE SYSTEM "ARGS": one throughput run
peer_tp() {
	mode=$1 sys=$2 args=$3
	js=$(peer_js "$sys")
	set_=$(peer_setting "$sys" "$args")
	newdb
	if ! node "$js" "$url" setup 2>>"$work/log/$sys.err" ||
		! enq_ms=$(node "$js" "$url" enqueue "$N" 2>>"$work/log/$sys.err"); then
		say "$sys: setup or enqueue failed:"
		tail -n 3 "$work/log/$sys.err" | sed 's/^/    /' >&2
		fail_row "$mode" "$sys" noop "$set_" "setup or enqueue failed"
		return 0
	fi
	say "$sys: $N jobs, $set_ ($mode)"
	l=$(load1)
	sp=$(date +%s%3N)
	i=0
	while [ $i -lt "$PROCS" ]; do
		# shellcheck disable=SC2086 # the settings are words
		spawn "$sys" node "$js" "$url" work $args "$work/lat/$sys-tp-$i"
		i=$((i + 1))
	done
	end=$(wait_pg "$url" "$(peer_done "$sys")" 1 $((60 + N / 50)))
	reap
	ok=$(peer_ok "$sys" "$url" "$work/lat/$sys-tp-"*)
	if [ -z "$end" ] || [ "$ok" != "$N" ]; then
		say "$sys: ${ok:-no} of $N jobs done${end:- within $((60 + N / 50)) s}"
		fail_row "$mode" "$sys" noop "$set_" "${ok:-no} of $N jobs done"
		rm -f "$work/lat/$sys-tp-"*
		return 0
	fi
	start=$(head -qn 1 "$work/lat/$sys-tp-"* 2>/dev/null | awk '$1 > 0' | sort -n | head -n 1)
	rm -f "$work/lat/$sys-tp-"*
	if [ -z "$start" ]; then
		fail_row "$mode" "$sys" noop "$set_" "no worker said when it started (see $work/log/$sys.err)"
		return 0
	fi
	tp_row "$mode" "$sys" noop "$set_" "$N" 1 "$start" "$end" "$rss" "$cpu" "$enq_ms" "$l" "$sp"
	dropdb
}

# peer_lat MODE SYSTEM "ARGS": workers idle, then RATE jobs a second
peer_lat() {
	mode=$1 sys=$2 args=$3
	js=$(peer_js "$sys")
	set_=$(peer_setting "$sys" "$args")
	newdb
	total=$((RATE * SECS + WARM))
	node "$js" "$url" setup 2>>"$work/log/$sys.err" || {
		fail_row "$mode" "$sys" latency "$set_" "setup failed"
		return 0
	}
	say "$sys: latency at $RATE/s for $SECS s, $set_ ($mode)"
	l=$(load1)
	i=0
	while [ $i -lt "$PROCS" ]; do
		# shellcheck disable=SC2086
		spawn "$sys" node "$js" "$url" work $args "$work/lat/$sys-lat-$i"
		i=$((i + 1))
	done
	sleep 2 # node's start-up
	node "$js" "$url" produce "$RATE" "$SECS" "$WARM" 2>>"$work/log/$sys.err" || say "$sys: the latency producer failed"
	end=$(wait_pg "$url" "$(peer_done "$sys")" 1 60)
	reap
	ok=$(peer_ok "$sys" "$url" "$work/lat/$sys-lat-"*)
	f=$work/lat/$sys-$mode
	for g in "$work/lat/$sys-lat-"*; do tail -n +3 "$g"; done >"$f"
	rm -f "$work/lat/$sys-lat-"*
	if [ -z "$end" ] || [ "$ok" != "$total" ]; then
		fail_row "$mode" "$sys" latency "$set_" "${ok:-no} of $total jobs done"
		return 0
	fi
	lat_row "$mode" "$sys" "$set_" "$f" "$rss" "$cpu" "$l"
}

# --- the runs -------------------------------------------------------------------
GW_SETTINGS=${SOV_BENCH_WF_GW:-16 -1 -1,32 500 0,64 1000 0}
PB_SETTINGS=${SOV_BENCH_WF_PB:-4 100 500,4 500 500,2 1000 500}
SOV_SETTINGS=${SOV_BENCH_WF_SOV:-$PROCS 1 128,1 $PROCS 128,$PROCS 1 32}
# What starting a command costs on this machine: the bound of command steps.
spawn_rate=
if part throughput && has sov-wf; then
	spawn_rate=$(perl -MTime::HiRes=time -e 'open(STDIN, "<", "/dev/null") or die;
		my $t = time; system("/bin/cat") for 1 .. 200; printf "%.0f", 200 / (time - $t)' 2>/dev/null || true)
fi

# shellcheck disable=SC2086 # words
first_mode=$(set -- $MODES && echo "$1")
for cur_mode in $MODES; do
	say "=== PostgreSQL, mode $cur_mode: $(mode_settings "$cur_mode")"
	pg_up "$cur_mode"
	pgver=$(q "$(sh tests/helpers/pg.sh url "$PGDIR")" "SHOW server_version")
	row mode "$cur_mode" "$pgver" "$(mode_settings "$cur_mode" | sed 's/-c //g')"
	if part throughput && has sov-wf; then
		old=$IFS
		IFS=,
		for v in $SOV_SETTINGS; do
			IFS=$old
			# shellcheck disable=SC2086 # three numbers
			set -- $v
			sov_tp "$cur_mode" one 1 "$N" "$1" "$2" "$3"
		done
		IFS=$old
		sov_tp "$cur_mode" chain3 3 "$N" "$PROCS" 1 128
		sov_tp "$cur_mode" cat 1 "$NCMD" "$PROCS" 1 32
		sov_tp "$cur_mode" cat 1 "$NCMD" "$PROCS" 4 32
	fi
	for sys in graphile-worker pg-boss; do
		if ! part throughput || ! has "$sys"; then continue; fi
		if [ "$sys" = graphile-worker ]; then list=$GW_SETTINGS; else list=$PB_SETTINGS; fi
		old=$IFS
		IFS=,
		for v in $list; do
			IFS=$old
			peer_tp "$cur_mode" "$sys" "$v"
		done
		IFS=$old
	done
	if part latency; then
		if has sov-wf; then
			sov_lat "$cur_mode" 100ms "$PAD"
			sov_lat "$cur_mode" 5ms "$PAD"
			[ "$PAD" = 0 ] || [ "$cur_mode" != "$first_mode" ] || sov_lat "$cur_mode" 100ms 0
		fi
		# each peer at its setting for latency: graphile-worker without
		# a local queue or batched completion (LISTEN/NOTIFY wakes it);
		# pg-boss polls, at its shortest interval
		! has graphile-worker || peer_lat "$cur_mode" graphile-worker "${SOV_BENCH_WF_GW_LAT:-16 -1 -1}"
		! has pg-boss || peer_lat "$cur_mode" pg-boss "${SOV_BENCH_WF_PB_LAT:-4 100 500}"
	fi
	if part recovery && has sov-wf && [ "$cur_mode" = "$first_mode" ]; then
		for lease in $LEASES; do sov_recovery "$lease"; done
	fi
	pg_down
done
if has sov-wf && [ "$SQLITE" != 0 ]; then
	say "=== SQLite"
	row mode sqlite "$(sqlite3 --version | cut -d' ' -f1)" "WAL, synchronous=NORMAL (sov-wf's setting)"
	if part throughput; then
		sov_tp sqlite one 1 "$N" 1 1 128
		sov_tp sqlite chain3 3 "$N" 1 1 128
		sov_tp sqlite cat 1 "$NCMD" 1 1 32
	fi
	if part latency; then
		sov_lat sqlite 100ms "$PAD"
		sov_lat sqlite 5ms "$PAD"
	fi
fi

# --- report -------------------------------------------------------------------------
# shellcheck source=bench/wf/report.sh
. bench/wf/report.sh
