#!/usr/bin/env bats
# wf-engine.bats - sov-wf's engine on a real SQLite file (and a real
# PostgreSQL where the tests have one): run, enqueue, the worker, retries,
# if/skip, the saga and the dead-letter queue, cancel, leases taken over
# after kill -9, and a chaos run of workers killed at random.

load helpers/common
load helpers/wf
bats_require_minimum_version 1.5.0

setup() {
	wf_scratch wfe
	# A step command: logs "NAME ATTEMPT KEY" to $T/log, then behaves as
	# the files in $T say: $T/fail-NAME (exit 3), $T/tempfail-NAME (exit
	# 75 while the file holds a number > 0, counting down), $T/sleep-NAME
	# (sleep that long first).
	cat >"$T/step" <<'SH'
#!/bin/sh
d=$(dirname "$0"); n=$1
in=$(cat)
echo "$n $SOV_WF_ATTEMPT $SOV_WF_IDEMPOTENCY_KEY" >>"$d/log"
[ -f "$d/sleep-$n" ] && sleep "$(cat "$d/sleep-$n")"
[ -f "$d/fail-$n" ] && { echo "$n broke" >&2; exit 3; }
if [ -f "$d/tempfail-$n" ]; then
	k=$(cat "$d/tempfail-$n")
	if [ "$k" -gt 0 ]; then echo $((k - 1)) >"$d/tempfail-$n"; echo "$n busy" >&2; exit 75; fi
fi
printf '{"step":"%s","got":%s}\n' "$n" "$in"
SH
	chmod +x "$T/step"
	cat >"$T/wf/chain.json" <<JSON
{"name":"chain","version":1,"triggers":[{"enqueue":true}],
 "steps":{"a":{"jq":"{x: (.n + 1)}"},
          "b":{"needs":["a"],"jq":"{y: (.x * 2)}"},
          "c":{"needs":["a","b"],"jq":"{z: (.steps.b.y + .steps.a.x)}"}},
 "measure":{"human_minutes":3,"tokens":".steps.c.z"}}
JSON
	cat >"$T/wf/saga.json" <<JSON
{"name":"saga","version":1,"triggers":[{"enqueue":true}],
 "steps":{"a":{"run":["$T/step","a"],"undo":{"run":["$T/step","undo-a"]}},
          "b":{"needs":["a"],"run":["$T/step","b"],"undo":{"run":["$T/step","undo-b"]}},
          "n":{"needs":["a"],"run":["$T/step","n"]},
          "c":{"needs":["b","n"],"run":["$T/step","c"],
               "retry":{"attempts":3,"base":"10ms","jitter":"none"}}}}
JSON
	cat >"$T/wf/cond.json" <<JSON
{"name":"cond","version":1,
 "steps":{"a":{"jq":"{v: .v}"},
          "big":{"needs":["a"],"if":".steps.a.v > 10","jq":"\"big\""},
          "after":{"needs":["big"],"jq":"{big_was: .}"}}}
JSON
}

teardown() {
	wf_cleanup
}

# The CLI waits for locks as the worker does (a new connection after a
# kill -9 recovers the WAL under an exclusive lock).
wf_sql() {
	sqlite3 -cmd ".timeout 10000" "$T/wf.db" "$1"
}

# The last line of the output: the execution record of `run`.
last() {
	printf '%s\n' "$output" | tail -n 1
}

start_worker() {
	sov-wf worker "$@" >>"$T/worker.out" 2>>"$T/worker.err" &
	echo $! >>"$T/pids"
	echo $!
}

# Wait until no execution is running (at most $1 seconds).
settle() {
	local n
	for _ in $(seq 1 $(($1 * 10))); do
		n=$(wf_sql "SELECT count(*) FROM wf_executions WHERE status IN ('running','compensating','cancelling')")
		[ "$n" = 0 ] && return 0
		sleep 0.1
	done
	fail "$n executions still running after $1 s"
}

@test "run: a DAG of jq steps gives its output, measure and history" {
	run --separate-stderr sov-wf run chain --input '{"n":1}'
	assert_success
	last | jq -e '.event == "execution" and .status == "succeeded" and .output == {z: 6} and .tokens == 6 and .run == 1'
	run sov-wf show 1
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -c 'select(.event=="step") | [.step,.status,.output]' | tr '\n' ' ')" \
		'["a","done",{"x":2}] ["b","done",{"y":4}] ["c","done",{"z":6}] '
	run sov-wf history chain
	assert_output --partial '"status":"succeeded"'
	run sqlite3 -cmd ".timeout 10000" "$T/metrics.db" "SELECT name, value FROM measurements ORDER BY name"
	assert_line "wf.execution.seconds|$(wf_sql 'SELECT seconds FROM wf_executions')"
	assert_line "wf.human_minutes_saved|3.0"
	assert_line "wf.tokens|6.0"
	assert_equal "$(sqlite3 -cmd ".timeout 10000" "$T/metrics.db" "SELECT count(*) FROM measurements WHERE name='wf.step.seconds'")" 3
}

@test "run: a bad input, an unknown workflow, a missing directory" {
	run sov-wf run chain --input '[1]'
	assert_failure 2
	assert_output --partial "must be a JSON object"
	run sov-wf run chain --input '{"n":'
	assert_failure 2
	run sov-wf run nosuch
	assert_failure 2
	assert_output --partial 'no workflow "nosuch"'
	run sov-wf run chain --workflows "$T/none"
	assert_failure
	assert_output --partial "$T/none"
}

@test "a temporary failure is retried with its attempt number and the same key" {
	echo 2 >"$T/tempfail-c"
	run --separate-stderr sov-wf run saga
	assert_success
	assert_equal "$(grep '^c ' "$T/log")" "c 1 wf:1:c
c 2 wf:1:c
c 3 wf:1:c"
	assert_equal "$(wf_sql "SELECT group_concat(outcome, ',') FROM (SELECT outcome FROM wf_attempts WHERE step='c' ORDER BY id)")" "retry,retry,ok"
	run ! grep undo "$T/log"
}

@test "a permanent failure undoes completed steps, latest first, and dead-letters once" {
	touch "$T/fail-c"
	run --separate-stderr sov-wf run saga
	assert_failure 1
	last | jq -e '.status == "failed" and .failed_step == "c" and (.error | test("c broke"))'
	# c failed on its first attempt (exit 3 is not retried); b completed
	# after a, so its undo runs first; n has no undo.
	assert_equal "$(grep -c '^c ' "$T/log")" 1
	assert_equal "$(grep undo "$T/log")" "undo-b 1 wf:1:b:undo
undo-a 1 wf:1:a:undo"
	run sov-wf dlq list
	assert_success
	assert_equal "${#lines[@]}" 1
	printf '%s\n' "$output" | jq -e '.execution == 1 and .state == "waiting" and .retries == 0 and .step == "c" and has("next_retry")'
	run sov-wf dlq show 1
	assert_success
	assert_output --partial '"outcome":"fail"'
	# The undo's input is the step's input and output.
	assert_equal "$(wf_sql "SELECT status FROM wf_steps WHERE step IN ('a','b','c','n') ORDER BY step")" "undone
undone
failed
done"
}

@test "dlq retry runs the execution again from the start; success clears the entry" {
	touch "$T/fail-c"
	run sov-wf run saga
	assert_failure 1
	rm "$T/fail-c"
	run sov-wf dlq retry 1
	assert_success
	assert_output --partial '"event":"dlq_retry"'
	run sov-wf dlq retry 1
	assert_failure 2
	assert_output --partial "not in the dead-letter queue"
	start_worker --threads 1
	settle 20
	assert_equal "$(wf_sql "SELECT status || ' ' || run FROM wf_executions")" "succeeded 2"
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_dlq")" 0
	# Both runs are in the history of attempts.
	assert_equal "$(wf_sql "SELECT group_concat(DISTINCT run) FROM wf_attempts")" "1,2"
}

@test "dlq discard takes an entry out for good; cancel refuses it" {
	touch "$T/fail-c"
	run sov-wf run saga
	run sov-wf cancel 1
	assert_failure 2
	assert_output --partial "dlq discard"
	run sov-wf dlq discard 1
	assert_success
	run sov-wf dlq list
	assert_output ""
	assert_equal "$(wf_sql "SELECT status FROM wf_executions")" "discarded"
	run sov-wf dlq show 1
	assert_failure 2
	run sov-wf dlq frobnicate
	assert_failure 2
}

@test "the worker retries dead-lettered executions on its schedule" {
	touch "$T/fail-c"
	run sov-wf run saga
	assert_failure 1
	rm "$T/fail-c"
	start_worker --threads 1 --dlq-base 200ms --dlq-max 1s
	for _ in $(seq 1 100); do
		[ "$(wf_sql "SELECT status FROM wf_executions")" = succeeded ] && break
		sleep 0.1
	done
	assert_equal "$(wf_sql "SELECT status || ' ' || run FROM wf_executions")" "succeeded 2"
}

@test "a false if skips the step; the steps after it still run and see null" {
	run --separate-stderr sov-wf run cond --input '{"v":3}'
	assert_success
	last | jq -e '.output == {big_was: null}'
	assert_equal "$(wf_sql "SELECT status FROM wf_steps WHERE step='big'")" skipped
	run --separate-stderr sov-wf run cond --input '{"v":30}'
	last | jq -e '.output == {big_was: "big"}'
}

@test "enqueue: one execution per line, keys make it idempotent, bad lines are skipped" {
	run --separate-stderr sov-wf enqueue chain --key .id <<'IN'
{"id":"x","n":1}
{"id":"y","n":2}
not json
[1,2]
{"id":"x","n":99}
IN
	assert_failure 2
	assert_equal "$(printf '%s\n' "$output" | jq -c '[.execution,.duplicate]' | tr '\n' ' ')" "[1,false] [2,false] [1,true] "
	[[ "$stderr" == *"stdin:3"* ]]
	[[ "$stderr" == *"stdin:4"* ]]
	start_worker --threads 2
	settle 20
	assert_equal "$(wf_sql "SELECT group_concat(output, ' ') FROM (SELECT output FROM wf_executions ORDER BY id)")" '{"z":6} {"z":9}'
}

@test "enqueue: a workflow without an enqueue trigger is refused" {
	run sov-wf enqueue cond <<<'{}'
	assert_failure 2
	assert_output --partial "no enqueue trigger"
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_executions" 2>/dev/null || echo 0)" 0
}

@test "cancel: a running execution is compensated and ends cancelled" {
	echo 30 >"$T/sleep-c"
	run sov-wf enqueue saga <<<'{}'
	assert_success
	w=$(start_worker --threads 1 --lease 2s)
	for _ in $(seq 1 100); do
		grep -q '^c ' "$T/log" 2>/dev/null && break
		sleep 0.1
	done
	kill -9 "$w"
	run sov-wf cancel 1
	assert_success
	assert_output --partial '"status":"cancelling"'
	rm "$T/sleep-c"
	# c was running when its worker died: its lease runs out, the new
	# worker finds the execution cancelling, and c is cancelled, not run.
	start_worker --threads 1 --lease 1s
	settle 20
	assert_equal "$(wf_sql "SELECT status FROM wf_executions")" cancelled
	assert_equal "$(grep undo "$T/log" | cut -d' ' -f1 | tr '\n' ' ')" "undo-b undo-a "
	run sov-wf dlq list
	assert_output ""
}

@test "SIGTERM mid-run: the worker records what it claimed and leaves no lease behind" {
	# A worker claims its next batch in the transaction that records the
	# last: stopping, it must still run and record that batch.
	for i in $(seq 1 5000); do printf '{"n":%d}\n' "$i"; done | sov-wf enqueue chain >/dev/null
	w=$(start_worker --threads 2)
	for _ in $(seq 1 200); do
		[ "$(wf_sql "SELECT count(*) FROM wf_executions WHERE status = 'succeeded'")" -ge 50 ] && break
		sleep 0.05
	done
	kill -TERM "$w"
	for _ in $(seq 1 100); do kill -0 "$w" 2>/dev/null || break; sleep 0.1; done
	run kill -0 "$w"
	assert_failure
	# Stopped mid-run, with nothing held.
	[ "$(wf_sql "SELECT count(*) FROM wf_executions WHERE status = 'succeeded'")" -lt 5000 ]
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_steps WHERE status IN ('running', 'undoing') OR lease_owner IS NOT NULL")" 0
	start_worker --threads 2 >/dev/null
	settle 60
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_executions WHERE status = 'succeeded'")" 5000
	# Every step ran once: no attempt lost, none twice.
	assert_equal "$(wf_sql "SELECT outcome || ' ' || count(*) FROM wf_attempts GROUP BY outcome")" "ok 15000"
}

@test "kill -9 mid-step: the lease runs out and another worker finishes the step" {
	echo 3 >"$T/sleep-b"
	run sov-wf enqueue saga <<<'{}'
	w=$(start_worker --threads 1 --lease 1s --name doomed)
	for _ in $(seq 1 100); do
		grep -q '^b ' "$T/log" 2>/dev/null && break
		sleep 0.1
	done
	kill -9 "$w"
	rm "$T/sleep-b"
	start_worker --threads 1 --lease 1s --name heir
	settle 20
	assert_equal "$(wf_sql "SELECT status FROM wf_executions")" succeeded
	assert_equal "$(wf_sql "SELECT outcome || ' ' || attempt || ' ' || worker FROM wf_attempts WHERE step='b' ORDER BY id")" "lost 1 doomed
ok 2 heir"
	assert_equal "$(grep '^b ' "$T/log")" "b 1 wf:1:b
b 2 wf:1:b"
}

@test "a worker paused past its lease: its late result is not recorded" {
	echo 2 >"$T/sleep-b"
	run sov-wf enqueue saga <<<'{}'
	w=$(start_worker --threads 1 --lease 1s --name sleepy)
	for _ in $(seq 1 100); do
		grep -q '^b ' "$T/log" 2>/dev/null && break
		sleep 0.1
	done
	kill -STOP "$w"
	rm "$T/sleep-b"
	h=$(start_worker --threads 1 --lease 1s --name heir)
	settle 20
	kill -CONT "$w"
	sleep 3 # sleepy's step ends and it tries to record it
	assert_equal "$(wf_sql "SELECT outcome || ' ' || attempt || ' ' || worker FROM wf_attempts WHERE step='b' ORDER BY id")" "lost 1 sleepy
ok 2 heir"
	assert_equal "$(wf_sql "SELECT status || ' ' || attempt FROM wf_steps WHERE step='b'")" "done 2"
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_attempts WHERE step='c'")" 1
}

@test "a step that prints non-JSON fails for good; one that hangs times out" {
	cat >"$T/wf/bad.json" <<JSON
{"name":"bad","version":1,
 "steps":{"talk":{"run":["/bin/echo","hello"]}}}
JSON
	cat >"$T/wf/slow.json" <<JSON
{"name":"slow","version":1,
 "steps":{"nap":{"run":["/bin/sleep","30"],"timeout":"200ms",
                 "retry":{"attempts":2,"base":"10ms"}}}}
JSON
	run --separate-stderr sov-wf run bad
	assert_failure 1
	last | jq -e '.error | test("not JSON")'
	SECONDS=0
	run --separate-stderr sov-wf run slow
	assert_failure 1
	last | jq -e '.error | test("attempts used up.*timed out")'
	[ "$SECONDS" -lt 30 ] # two 200ms timeouts and their kill grace, with room for a loaded machine
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_attempts WHERE step='nap'")" 2
}

@test "a jq program that loops is halted at its step's timeout and retried; the worker goes on" {
	# A jq action, an if and an input that never end on their own, and a
	# measure that never ends.
	cat >"$T/wf/spin.json" <<JSON
{"name":"spin","version":1,
 "steps":{"loop":{"jq":"last(range(1e15))","timeout":"200ms",
                  "retry":{"attempts":2,"base":"10ms"}}}}
JSON
	cat >"$T/wf/spinif.json" <<JSON
{"name":"spinif","version":1,
 "steps":{"a":{"if":"last(range(1e15)) > 0","jq":"1","timeout":"100ms",
               "retry":{"attempts":1}}}}
JSON
	cat >"$T/wf/spinin.json" <<JSON
{"name":"spinin","version":1,
 "steps":{"b":{"input":"last(range(1e15))","jq":".","timeout":"100ms",
               "retry":{"attempts":1}}}}
JSON
	cat >"$T/wf/spinmeasure.json" <<JSON
{"name":"spinmeasure","version":1,
 "steps":{"a":{"jq":"{n: 1}"}},
 "measure":{"human_minutes":1,"tokens":"last(range(1e15))"}}
JSON
	SECONDS=0
	run --separate-stderr timeout 60 sov-wf run spin
	assert_failure 1
	last | jq -e '.error | test("attempts used up.*timed out after 200ms")'
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_attempts WHERE step='loop' AND error LIKE 'timed out after 200ms%'")" 2
	run --separate-stderr timeout 60 sov-wf run spinif
	assert_failure 1
	run --separate-stderr timeout 60 sov-wf run spinin
	assert_failure 1
	assert_equal "$(wf_sql "SELECT group_concat(step || ':' || (error LIKE 'timed out after 100 ms (%: %timed out)'), ' ') FROM (SELECT step, error FROM wf_attempts WHERE execution_id IN (2, 3) ORDER BY step)")" "a:1 b:1"
	# The measure is dropped, not waited for: the execution succeeds.
	run --separate-stderr timeout 60 sov-wf run spinmeasure
	assert_success
	last | jq -e '.status == "succeeded" and .tokens == null'
	[ "$SECONDS" -lt 20 ] # four halts of at most 1 s each, with room for a loaded machine
	# The same worker thread, its jq state halted three times, runs on.
	run --separate-stderr sov-wf run chain --input '{"n":1}'
	assert_success
	last | jq -e '.output.z == 6'
}

# The chaos runs' workflow: one in ten executions fails at c for good (it
# is dead-lettered). Each kill loses the attempts its worker held, and lost
# attempts count against retry.attempts (docs/wf-store.md): a has 20.
chaos_workflow() {
	cat >"$T/wf/saga.json" <<JSON
{"name":"saga","version":1,"triggers":[{"enqueue":true}],
 "steps":{"a":{"run":["$T/step","a"],"undo":{"run":["$T/step","undo-a"]},
               "retry":{"attempts":20,"base":"10ms"}},
          "b":{"needs":["a"],"jq":"{b: .step}"},
          "c":{"needs":["b"],"jq":"if .input.i % 10 == 0 then error(\"ten\") else . end",
               "input":"."}}}
JSON
}

# Workers killed with kill -9 at random while they work through many
# executions; every execution must end succeeded or dead-lettered, every
# finished step recorded exactly once per run.
chaos() {
	local n=$1 kills=$2 w1 w2 i
	for i in $(seq 1 "$n"); do printf '{"i":%d}\n' "$i"; done >"$T/in"
	sov-wf enqueue saga <"$T/in" >/dev/null
	for i in $(seq 1 "$n"); do [ $((i % 10)) = 0 ] && echo 1; done >/dev/null
	w1=$(start_worker --threads 2 --lease 1s --name w1-0)
	w2=$(start_worker --threads 2 --lease 1s --name w2-0)
	for i in $(seq 1 "$kills"); do
		sleep "0.$((RANDOM % 4 + 1))"
		if [ $((RANDOM % 2)) = 0 ]; then
			kill -9 "$w1"; w1=$(start_worker --threads 2 --lease 1s --name "w1-$i")
		else
			kill -9 "$w2"; w2=$(start_worker --threads 2 --lease 1s --name "w2-$i")
		fi
	done
}

check_chaos() {
	local q=$1 n=$2
	assert_equal "$($q "SELECT count(*) FROM wf_executions WHERE status NOT IN ('succeeded','failed')")" 0
	assert_equal "$($q "SELECT count(*) FROM wf_executions")" "$n"
	# failed ones are exactly the dead-lettered ones
	assert_equal "$($q "SELECT count(*) FROM wf_executions WHERE status='failed'")" \
		"$($q "SELECT count(*) FROM wf_dlq")"
	# no step recorded twice
	assert_equal "$($q "SELECT count(*) FROM (SELECT execution_id, run, step, undo FROM wf_attempts WHERE outcome IN ('ok','skipped') GROUP BY 1,2,3,4 HAVING count(*) > 1) x")" 0
	# every done step has its one ok attempt
	assert_equal "$($q "SELECT count(*) FROM wf_steps s WHERE status IN ('done','undone') AND NOT EXISTS (SELECT 1 FROM wf_attempts a WHERE a.execution_id = s.execution_id AND a.step = s.step AND a.outcome = 'ok')")" 0
	# every lost attempt was taken over: a later attempt of that step exists
	assert_equal "$($q "SELECT count(*) FROM wf_attempts l WHERE l.outcome = 'lost' AND NOT EXISTS (SELECT 1 FROM wf_attempts n WHERE n.execution_id = l.execution_id AND n.run = l.run AND n.step = l.step AND n.undo = l.undo AND n.attempt > l.attempt)")" 0
}

@test "chaos on SQLite: workers killed at random through 300 executions" {
	chaos_workflow
	chaos 300 12
	settle 90
	check_chaos wf_sql 300
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_dlq")" 30
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_dlq WHERE error LIKE '%ten%'")" 30
	lost=$(wf_sql "SELECT count(*) FROM wf_attempts WHERE outcome='lost'")
	echo "# lost attempts taken over: $lost" >&3
}

@test "chaos on PostgreSQL: two workers killed at random through 300 executions" {
	require_pg
	url=$("$BATS_TEST_DIRNAME/helpers/pg.sh" createdb "$SOV_TEST_PG_DIR" "wf_chaos_$$")
	export SOV_WF_STORE="$url"
	pg() { psql -qAt -c "$1" "$url"; }
	chaos_workflow
	chaos 300 12
	for _ in $(seq 1 900); do
		[ "$(pg "SELECT count(*) FROM wf_executions WHERE status NOT IN ('succeeded','failed')")" = 0 ] && break
		sleep 0.1
	done
	check_chaos pg 300
	assert_equal "$(pg "SELECT count(*) FROM wf_dlq")" 30
}

@test "PostgreSQL: a worker reaches executions and steps through their indexes, never reading the tables whole" {
	# PostgreSQL takes a JSON array unpacked in SQL for 100 rows, so the
	# batch statements once joined by reading wf_executions and wf_steps
	# whole: at 10,000 executions about half of the statements' time, and
	# more as the tables grow. Counted in pg_stat_user_tables; the
	# test's own polls go through an index too (enable_seqscan off).
	require_pg
	url=$("$BATS_TEST_DIRNAME/helpers/pg.sh" createdb "$SOV_TEST_PG_DIR" "wf_plans_$$")
	export SOV_WF_STORE="$url"
	pg() { psql -qAt -c "$1" "$url"; }
	seq 1 3000 | sed 's/.*/{"n":&}/' | sov-wf enqueue chain >/dev/null
	pg "ANALYZE"
	scans() { pg "SELECT sum(seq_scan) FROM pg_stat_user_tables WHERE relname IN ('wf_executions', 'wf_steps')"; }
	before=$(scans)
	pid=$(start_worker --threads 1 --batch 128)
	for _ in $(seq 1 300); do
		[ "$(psql -qAt -c 'SET enable_seqscan = off' -c "SELECT count(*) FROM wf_executions WHERE status = 'running'" "$url")" = 0 ] && break
		sleep 0.1
	done
	kill "$pid"
	# Each session's counts reach the table when it ends: wait for the
	# worker's to end.
	for _ in $(seq 1 100); do
		[ "$(pg "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")" = 0 ] && break
		sleep 0.1
	done
	after=$(scans)
	echo "# sequential scans of the two tables: $((after - before))" >&3
	assert_equal "$(pg "SELECT count(*) FROM wf_executions WHERE status = 'succeeded' AND output::json->>'z' = ((input::json->>'n')::int * 3 + 3)::text")" 3000
	[ "$((after - before))" -le 5 ] || fail "$((after - before)) sequential scans of wf_executions and wf_steps"
}

@test "PostgreSQL: an idle worker is woken by NOTIFY when a step becomes ready, not at its next poll" {
	require_pg
	url=$("$BATS_TEST_DIRNAME/helpers/pg.sh" createdb "$SOV_TEST_PG_DIR" "wf_wake_$$")
	export SOV_WF_STORE="$url"
	pg() { psql -qAt -c "$1" "$url"; }
	start_worker --threads 1 --poll 20s >/dev/null
	# Each time idle long enough for its polls to be seconds apart (1 ms
	# doubling): polling alone starts all three within 500 ms about once
	# in a few hundred runs.
	for i in 1 2 3; do
		sleep 4
		echo "{\"n\": $i}" | sov-wf enqueue chain >/dev/null
		for _ in $(seq 1 100); do
			[ "$(pg "SELECT count(*) FROM wf_executions WHERE status = 'succeeded'")" = "$i" ] && break
			sleep 0.1
		done
	done
	# From the enqueue's insert to the first step's claim.
	run pg "SELECT s.started_at - e.created_at FROM wf_executions e JOIN wf_steps s ON s.execution_id = e.id AND s.step = 'a' ORDER BY e.id"
	echo "# enqueue to start, ms: $(echo $output)" >&3
	assert_equal "${#lines[@]}" 3
	for ms in "${lines[@]}"; do
		[ "$ms" -lt 500 ] || fail "started $ms ms after it was enqueued"
	done
}

@test "cron: two workers start one execution per fire time (waits for a minute boundary)" {
	cat >"$T/wf/tick.json" <<JSON
{"name":"tick","version":1,"triggers":[{"cron":"* * * * *","input":{"from":"cron"}}],
 "steps":{"t":{"jq":".from"}}}
JSON
	start_worker --threads 1 --name c1
	start_worker --threads 1 --name c2
	for _ in $(seq 1 700); do
		[ "$(wf_sql "SELECT count(*) FROM wf_executions WHERE status='succeeded'" 2>/dev/null)" -ge 1 ] 2>/dev/null && break
		sleep 0.1
	done
	sleep 1 # the other worker's tick at the same fire time
	assert_equal "$(wf_sql "SELECT count(*) || ' ' || count(DISTINCT key) || ' ' || min(trigger) || ' ' || min(output) FROM wf_executions")" '1 1 cron "cron"'
	wf_sql "SELECT key FROM wf_executions" | grep -Eq '^cron:tick:0:[0-9]+000$'
}

# POST body $2 to the worker's webhook path $1, signed with $T/secret (or
# with the secret in $SECRET), delivery id $3 (optional).
post_hook() {
	local ts sig secret
	ts=$(date +%s)
	secret=${SECRET:-$(cat "$T/secret")}
	sig=$(printf '%s.%s' "$ts" "$2" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
	curl -sS -o "$T/resp" -w '%{http_code}' -X POST \
		-H "X-Sov-Timestamp: $ts" -H "X-Sov-Signature: sha256=$sig" \
		${3:+-H "X-Sov-Delivery: $3"} --data-binary "$2" \
		"http://127.0.0.1:$(cat "$T/port")$1"
}

@test "cron catch_up: a worker that starts late runs the last missed fire time once; without it, none" {
	for w in catchy plain; do
		c=$([ $w = catchy ] && echo ',"catch_up":true' || true)
		cat >"$T/wf/$w.json" <<JSON
{"name":"$w","version":1,"triggers":[{"cron":"* * * * *","input":{"from":"cron"}$c}],
 "steps":{"t":{"jq":".from"}}}
JSON
	done
	# The test stays within one minute: none fires on its own meanwhile.
	now=$(date +%s%3N)
	[ $((now % 60000)) -lt 45000 ] || sleep $(((60000 - now % 60000) / 1000 + 1))
	now=$(date +%s%3N)
	minute=$((now - now % 60000))
	old=$((minute - 5 * 60000))
	# Each ran five minutes ago (as a cron execution would have), then no
	# worker ran for four fire times.
	for w in catchy plain; do
		run sov-wf run "$w" --key "cron:$w:0:$old"
		assert_success
	done
	wf_sql "UPDATE wf_executions SET trigger = 'cron'"
	start_worker --threads 1 --name k1
	start_worker --threads 1 --name k2
	for _ in $(seq 1 100); do
		[ "$(wf_sql "SELECT count(*) FROM wf_executions WHERE workflow = 'catchy' AND status = 'succeeded'")" -ge 2 ] && break
		sleep 0.1
	done
	sleep 1 # the other worker's plan
	# Only the last one missed, once, though two workers started.
	assert_equal "$(wf_sql "SELECT group_concat(key, ' ') FROM wf_executions WHERE workflow = 'catchy' AND key != 'cron:catchy:0:$old'")" \
		"cron:catchy:0:$minute"
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_executions WHERE workflow = 'plain'")" 1
}

@test "webhook: a signed POST starts an execution, a replayed delivery does not, a bad signature is refused" {
	command -v openssl >/dev/null || skip "openssl not installed"
	printf 'a-webhook-secret-of-some-length\n' >"$T/secret"
	chmod 600 "$T/secret"
	cat >"$T/wf/hooked.json" <<JSON
{"name":"hooked","version":1,
 "triggers":[{"webhook":{"path":"/hooks/hooked","secret_file":"$T/secret"}}],
 "steps":{"echo":{"jq":"{got: .lead}"}}}
JSON
	sov-wf worker --threads 1 --webhook 127.0.0.1:0 >"$T/worker.out" 2>"$T/worker.err" &
	echo $! >>"$T/pids"
	for _ in $(seq 1 50); do
		grep -q listening "$T/worker.out" 2>/dev/null && break
		sleep 0.1
	done
	jq -r 'select(.event == "listening") | .port' "$T/worker.out" >"$T/port"
	run post_hook /hooks/hooked '{"lead":"ada"}' d-1
	assert_output 202
	jq -e '.execution == 1 and .duplicate == false' "$T/resp"
	run post_hook /hooks/hooked '{"lead":"ada again"}' d-1
	assert_output 202
	jq -e '.execution == 1 and .duplicate == true' "$T/resp"
	SECRET=wrong-secret-wrong-secret run post_hook /hooks/hooked '{"lead":"eve"}' d-2
	assert_output 401
	run post_hook /hooks/nosuch '{"lead":"x"}'
	assert_output 404
	run post_hook /hooks/hooked '[1]'
	assert_output 400
	settle 20
	assert_equal "$(wf_sql "SELECT count(*) || ' ' || min(output) || ' ' || min(trigger) FROM wf_executions")" '1 {"got":"ada"} webhook'
}

@test "webhook: refused at start without a webhook trigger, or on a bad address" {
	run sov-wf worker --webhook 127.0.0.1:0
	assert_failure 2
	assert_output --partial "no workflow has a webhook trigger"
	printf 'a-webhook-secret-of-some-length\n' >"$T/secret"
	chmod 600 "$T/secret"
	cat >"$T/wf/hooked.json" <<JSON
{"name":"hooked","version":1,
 "triggers":[{"webhook":{"path":"/hooks/hooked","secret_file":"$T/secret"}}],
 "steps":{"echo":{"jq":"."}}}
JSON
	run sov-wf worker --webhook nonsense
	assert_failure 2
}

@test "a store locked longer than its busy timeout: the worker waits it out and loses nothing" {
	echo 1 >"$T/sleep-a"
	run sov-wf enqueue saga <<<'{}'
	start_worker --threads 1
	for _ in $(seq 1 100); do
		grep -q '^a ' "$T/log" 2>/dev/null && break
		sleep 0.1
	done
	# An exclusive lock for 8 s (the busy timeout is 5 s): a's result and
	# the claims after it fail with 75 meanwhile, and are retried.
	sqlite3 "$T/wf.db" "BEGIN EXCLUSIVE; SELECT 1 FROM wf_steps LIMIT 1;" ".shell sleep 8" "COMMIT;" >/dev/null
	settle 30
	assert_equal "$(wf_sql "SELECT status FROM wf_executions")" succeeded
	assert_equal "$(grep -c '^a ' "$T/log")" 1
	grep -q "database is locked\|busy" "$T/worker.err"
}

@test "PostgreSQL goes away mid-step and comes back: the worker reconnects and loses nothing" {
	require_pg
	[ "$(id -u)" = 0 ] || skip "restarts its own server as nobody: needs root"
	pgbin=${SOV_PGBIN:-/usr/lib/postgresql/15/bin}
	dir=$("$BATS_TEST_DIRNAME/helpers/pg.sh" start 2>/dev/null)
	echo "$dir" >"$T/pgdir"
	url=$("$BATS_TEST_DIRNAME/helpers/pg.sh" createdb "$dir" wf_gone 2>/dev/null)
	# pg.sh's server runs with synchronous_commit off, which an immediate
	# stop may cost the last commits of: not the durability under test.
	psql -qX -c "ALTER DATABASE wf_gone SET synchronous_commit = on" "$url"
	export SOV_WF_STORE="$url"
	echo 2 >"$T/sleep-a"
	run sov-wf enqueue saga <<<'{}'
	assert_success
	start_worker --threads 1 --poll 2s
	for _ in $(seq 1 100); do
		grep -q '^a ' "$T/log" 2>/dev/null && break
		sleep 0.1
	done
	runuser -u nobody -- "$pgbin/pg_ctl" -D "$dir" -s -m immediate stop
	sleep 4
	runuser -u nobody -- "$pgbin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -s -t 30 \
		-o "-c listen_addresses='' -k $dir -c fsync=off" start
	for _ in $(seq 1 300); do
		[ "$(psql -qAt -c "SELECT status FROM wf_executions" "$url")" = succeeded ] && break
		sleep 0.1
	done
	assert_equal "$(psql -qAt -c "SELECT status FROM wf_executions" "$url")" succeeded
	assert_equal "$(grep -c '^a ' "$T/log")" 1
	grep -q "recording results\|claiming" "$T/worker.err"
	# Listening again after the reconnect: woken by the next enqueue, not
	# at a poll up to 2 s away (twice, so that a lucky poll is rare).
	rm -f "$T/sleep-a"
	for i in 2 3; do
		sleep 2.5
		run sov-wf enqueue saga <<<'{}'
		assert_success
		for _ in $(seq 1 50); do
			[ "$(psql -qAt -c "SELECT count(*) FROM wf_executions WHERE status = 'succeeded'" "$url")" = "$i" ] && break
			sleep 0.1
		done
	done
	run psql -qAt -c "SELECT s.started_at - e.created_at FROM wf_executions e JOIN wf_steps s ON s.execution_id = e.id AND s.step = 'a' WHERE e.id > 1 ORDER BY e.id" "$url"
	echo "# after the restart, enqueue to start, ms: $(echo $output)" >&3
	assert_equal "${#lines[@]}" 2
	for ms in "${lines[@]}"; do
		[ "$ms" -lt 500 ] || fail "started $ms ms after it was enqueued"
	done
	"$BATS_TEST_DIRNAME/helpers/pg.sh" stop "$dir" 2>/dev/null
}

@test "the demo: leads through the example pipeline, a worker killed, nothing lost, one dead-lettered" {
	command -v python3 >/dev/null || skip "python3 (the demo's stand-in chat) not installed"
	run env SOV_DEMO_LEADS=8 SOV_BUILD="$SOV_BUILD" sh "$BATS_TEST_DIRNAME/../examples/wf-demo.sh"
	assert_success
	assert_line --regexp '^succeeded +8 *$'
	assert_line --regexp '^failed +1 *$'
	assert_line "8 customers, 8 distinct emails, mallory: 0"
	assert_line "8 notifications reached the (stand-in) sales chat"
	assert_line --partial '"step":"notify","state":"waiting"'
	assert_line "  store: undone"
}

@test "enqueue from a slow pipe: each line is queued when it arrives, not at the end" {
	{ echo '{"n":1}'; sleep 3; echo '{"n":2}'; } | sov-wf enqueue chain >"$T/enq.out" &
	# The record is printed just after the commit: wait for both.
	for _ in $(seq 1 20); do
		[ "$(wf_sql "SELECT count(*) FROM wf_executions" 2>/dev/null)" = 1 ] &&
			[ "$(wc -l <"$T/enq.out")" = 1 ] && break
		sleep 0.1
	done
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_executions")" 1
	assert_equal "$(wc -l <"$T/enq.out")" 1
	wait
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_executions")" 2
}

@test "worker: a bad measurements URL or option is refused at start, not left idling" {
	run sov-wf worker --metrics bogus://x
	assert_failure 2
	assert_output --partial 'unknown scheme "bogus"'
	run sov-wf worker --threads 0
	assert_failure 2
	run sov-wf worker --lease 10ms
	assert_failure 2
	assert_output --partial "--lease"
	run sov-wf worker --dlq-base 1h --dlq-max 1m
	assert_failure 2
}

@test "worker: an empty default workflows directory is no reason to stop; a named one is" {
	mkdir -p "$T/state/workflows"
	run env -u SOV_WF_WORKFLOWS -u SOV_WF_STORE SOV_STATE_DIR="$T/state" timeout 2 sov-wf worker
	assert_failure 124 # still working when timeout stopped it
	assert_output --partial "no cron or webhook triggers"
	run env -u SOV_WF_STORE SOV_STATE_DIR="$T/state" sov-wf worker --workflows "$T/state/workflows"
	assert_failure 2
	assert_output --partial "no *.json files"
}

@test "a definition the worker cannot load: the step waits and retries, and runs once it loads" {
	run sov-wf enqueue chain <<<'{"n":1}'
	assert_success
	good=$(wf_sql "SELECT json FROM wf_defs")
	wf_sql "UPDATE wf_defs SET json = '{\"name\": 1}'"
	start_worker --threads 1
	for _ in $(seq 1 50); do
		[ "$(wf_sql "SELECT count(*) FROM wf_attempts")" -ge 1 ] && break
		sleep 0.1
	done
	# Retried a second after the first (on a slow machine it may be
	# claimed again by now): every attempt so far a retry, none run.
	assert_equal "$(wf_sql "SELECT DISTINCT outcome FROM wf_attempts")" retry
	wf_sql "SELECT error FROM wf_attempts ORDER BY id LIMIT 1" | grep -q "^definition "
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_steps WHERE step = 'a' AND status IN ('ready', 'running')")" 1
	# Mended in the store (its next attempt is 1 s after the first).
	wf_sql "UPDATE wf_defs SET json = '$good'"
	settle 20
	assert_equal "$(wf_sql "SELECT status || ' ' || output FROM wf_executions")" 'succeeded {"z":6}'
}

@test "enqueue waits out a store locked past its busy timeout instead of dropping the lines it read" {
	run sov-wf enqueue chain <<<'{"n":0}' # the schema, before the lock
	sqlite3 "$T/wf.db" "BEGIN EXCLUSIVE; SELECT 1 FROM wf_steps LIMIT 1;" ".shell sleep 8" "COMMIT;" >/dev/null &
	sleep 0.5
	run --separate-stderr sov-wf enqueue chain <<<'{"n":1}'
	wait
	assert_success
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_executions")" 2
}

@test "purge: ended executions older than the cut go with their steps and attempts; the DLQ and work in flight stay" {
	for n in 1 2 3; do
		run sov-wf run chain --input "{\"n\":$n}"
		assert_success
	done
	touch "$T/fail-c"
	run sov-wf run saga --input '{}'
	assert_failure 1 # dead-lettered
	run sov-wf enqueue chain <<<'{"n":9}' # not started: no worker
	assert_success
	# Ended a day ago, by the clock of the rows.
	wf_sql "UPDATE wf_executions SET finished_at = finished_at - 86400000 WHERE finished_at IS NOT NULL"
	run sov-wf purge --older-than 2d
	assert_success
	assert_output --partial '"executions":0'
	run sov-wf purge --older-than 1h --dry-run
	assert_success
	assert_output --partial '"executions":3'
	assert_output --partial '"dry_run":true'
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_executions")" 5
	run sov-wf purge --older-than 1h
	assert_success
	assert_output --partial '"executions":3'
	assert_output --partial '"attempts":9'
	# Left: the dead-lettered one and the one waiting for a worker.
	assert_equal "$(wf_sql "SELECT group_concat(status, ' ') FROM (SELECT status FROM wf_executions ORDER BY id)")" "failed running"
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_steps WHERE execution_id <= 3")" 0
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_attempts WHERE execution_id <= 3")" 0
	run sov-wf dlq list
	assert_output --partial '"execution":4'
	# Discarded from the DLQ, it ended: the next purge takes it.
	run sov-wf dlq discard 4
	assert_success
	wf_sql "UPDATE wf_executions SET finished_at = finished_at - 86400000 WHERE id = 4"
	run sov-wf purge --older-than 1h
	assert_output --partial '"executions":1'
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_attempts")" 0
	run sov-wf purge
	assert_failure 2
	assert_output --partial "--older-than"
	run sov-wf purge --older-than soon
	assert_failure 2
}
