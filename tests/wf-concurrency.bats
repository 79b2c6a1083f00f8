#!/usr/bin/env bats
# wf-concurrency.bats - a workflow's `concurrency`: at most that many of
# its executions at once, the rest queued and started oldest first as
# slots free up, on a real SQLite file and a real PostgreSQL with two
# workers; cancel and the DLQ with a limit.

load helpers/common
load helpers/wf
bats_require_minimum_version 1.5.0

setup() {
	wf_scratch wfc
	# The step logs when it starts and ends (ns), then sleeps
	# $T/sleep seconds, failing for good when $T/fail-I exists.
	cat >"$T/step" <<'SH'
#!/bin/sh
d=$(dirname "$0")
in=$(cat)
i=$(printf '%s' "$in" | jq -r .i)
echo "S $(date +%s%N) $i" >>"$d/log"
sleep "$(cat "$d/sleep" 2>/dev/null || echo 0.2)"
echo "E $(date +%s%N) $i" >>"$d/log"
[ -f "$d/fail-$i" ] && { echo "$i broke" >&2; exit 3; }
printf '{"i":%s}\n' "$i"
SH
	chmod +x "$T/step"
	limited 2
}

teardown() {
	wf_cleanup
}

# The workflow "lim": at most $1 at once, two steps (the command, then jq).
limited() {
	cat >"$T/wf/lim.json" <<JSON
{"name":"lim","version":1,"concurrency":$1,"triggers":[{"enqueue":true}],
 "steps":{"work":{"run":["$T/step"],"input":".input"},
          "after":{"needs":["work"],"jq":"{done: .steps.work.i}"}}}
JSON
}

wf_sql() {
	sqlite3 -cmd ".timeout 10000" "$T/wf.db" "$1"
}

start_worker() {
	sov-wf worker "$@" >>"$T/worker.out" 2>>"$T/worker.err" &
	echo $! >>"$T/pids"
	echo $!
}

enqueue() {
	for i in $(seq "$1" "$2"); do printf '{"i":%d}\n' "$i"; done | sov-wf enqueue lim >/dev/null
}

# Wait until every execution has ended (at most $2 seconds), by $1.
settle_by() {
	local q=$1 n
	for _ in $(seq 1 $(($2 * 10))); do
		n=$($q "SELECT count(*) FROM wf_executions WHERE status IN ('queued','running','compensating','cancelling')")
		[ "$n" = 0 ] && return 0
		sleep 0.1
	done
	fail "$n executions not ended after $2 s"
}

# The most executions running at one instant by the store's times (from
# taking a slot to the end), by $1.
most_in_store() {
	$1 "SELECT max(c) FROM (SELECT (SELECT count(*) FROM wf_executions b WHERE b.started_at <= a.started_at AND b.finished_at > a.started_at) AS c FROM wf_executions a) x"
}

# The most steps the log shows running at one instant.
most_at_once() {
	sort -k2,2n "$T/log" | awk '$1=="S"{n++; if(n>m)m=n} $1=="E"{n--} END{print m+0}'
}

@test "concurrency 2: never more than two at once, both slots used, started oldest first" {
	echo 0.5 >"$T/sleep"
	enqueue 1 10
	# Two run at once from the enqueue; the rest wait with their first
	# step held.
	assert_equal "$(wf_sql "SELECT status, count(*) FROM wf_executions GROUP BY 1 ORDER BY 1" | tr '\n' ' ')" "queued|8 running|2 "
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_steps WHERE status = 'held'")" 8
	run sov-wf status
	assert_success
	assert_equal "$(printf '%s\n' "$output" | grep -c '"status":"queued"')" 8
	start_worker --threads 4
	settle_by wf_sql 60
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_executions WHERE status = 'succeeded'")" 10
	# Four threads, but two at a time; and two did run together.
	assert_equal "$(most_in_store wf_sql)" 2
	assert_equal "$(most_at_once)" 2
	# First come, first started.
	assert_equal "$(wf_sql "SELECT group_concat(id, ' ') FROM (SELECT id FROM wf_executions ORDER BY started_at, id)")" \
		"1 2 3 4 5 6 7 8 9 10"
	assert_equal "$(wf_sql "SELECT active FROM wf_slots WHERE workflow = 'lim'")" 0
	# An execution's seconds are its run, not its wait.
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_executions WHERE seconds > 2")" 0
}

@test "concurrency 1: run waits for its turn; without a limit all run at once" {
	limited 1
	enqueue 1 3
	start_worker --threads 4
	run --separate-stderr sov-wf run lim --input '{"i":9}' --no-work
	assert_success
	last=$(printf '%s\n' "$output" | tail -n 1)
	jq -e '.status == "succeeded"' <<<"$last"
	assert_equal "$(most_at_once)" 1
	# The same workflow without the field: nothing waits.
	sed -i 's/"concurrency":1,//' "$T/wf/lim.json"
	echo 1 >"$T/sleep"
	: >"$T/log"
	enqueue 11 14
	settle_by wf_sql 30
	# (Not always four: a thread that just ran a jq step claims two.)
	[ "$(most_at_once)" -gt 1 ]
}

@test "cancel: a queued execution ends at once and never runs; a running one frees its slot" {
	limited 1
	echo 30 >"$T/sleep"
	enqueue 1 3
	run sov-wf cancel 2
	assert_success
	assert_output --partial '"status":"cancelled"'
	assert_equal "$(wf_sql "SELECT status FROM wf_executions WHERE id = 2")" cancelled
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_steps WHERE execution_id = 2 AND status != 'cancelled'")" 0
	# 1 has not started a step (no worker yet): cancelling it ends it and
	# hands its slot to 3, the next still waiting.
	run sov-wf cancel 1
	assert_success
	assert_output --partial '"status":"cancelled"'
	assert_equal "$(wf_sql "SELECT status FROM wf_executions WHERE id = 3")" running
	assert_equal "$(wf_sql "SELECT status FROM wf_steps WHERE execution_id = 3 AND step = 'work'")" ready
	echo 0 >"$T/sleep"
	start_worker --threads 2
	settle_by wf_sql 30
	assert_equal "$(cut -d' ' -f3 "$T/log" | sort -u | tr '\n' ' ')" "3 "
	assert_equal "$(wf_sql "SELECT active FROM wf_slots")" 0
	run sov-wf cancel 2
	assert_failure 2
}

@test "a failed execution leaves its slot for the next; its rerun from the DLQ waits for one" {
	limited 1
	touch "$T/fail-1"
	enqueue 1 2
	start_worker --threads 2 --dlq-base 1h
	settle_by wf_sql 30
	assert_equal "$(wf_sql "SELECT id || ':' || status FROM wf_executions ORDER BY id" | tr '\n' ' ')" "1:failed 2:succeeded "
	rm "$T/fail-1"
	echo 2 >"$T/sleep"
	enqueue 3 3
	for _ in $(seq 1 50); do grep -q '^S .* 3$' "$T/log" && break; sleep 0.1; done
	# 3 holds the one slot: the rerun of 1 waits behind it.
	run sov-wf dlq retry 1
	assert_success
	assert_equal "$(wf_sql "SELECT status FROM wf_executions WHERE id = 1")" queued
	settle_by wf_sql 60
	assert_equal "$(wf_sql "SELECT id || ':' || status || ':' || run FROM wf_executions ORDER BY id" | tr '\n' ' ')" \
		"1:succeeded:2 2:succeeded:1 3:succeeded:1 "
	# The rerun started after 3 ended.
	assert_equal "$(awk '{print $1 $3}' "$T/log" | tail -n 3 | tr '\n' ' ')" "E3 S1 E1 "
	assert_equal "$(wf_sql "SELECT count(*) FROM wf_dlq")" 0
	assert_equal "$(wf_sql "SELECT active FROM wf_slots")" 0
}

@test "concurrency on PostgreSQL: two workers, one killed with kill -9, never more than three at once" {
	require_pg
	url=$("$BATS_TEST_DIRNAME/helpers/pg.sh" createdb "$SOV_TEST_PG_DIR" "wf_conc_$$")
	export SOV_WF_STORE="$url"
	pg() { psql -qAt -c "$1" "$url"; }
	limited 3
	echo 0.3 >"$T/sleep"
	enqueue 1 30
	w1=$(start_worker --threads 3 --lease 1s --name w1)
	start_worker --threads 3 --lease 1s --name w2 >/dev/null
	for _ in $(seq 1 50); do [ "$(grep -c '^E' "$T/log" 2>/dev/null)" -ge 8 ] && break; sleep 0.1; done
	kill -9 "$w1"
	settle_by pg 90
	assert_equal "$(pg "SELECT count(*) FROM wf_executions WHERE status = 'succeeded'")" 30
	assert_equal "$(pg "SELECT active FROM wf_slots WHERE workflow = 'lim'")" 0
	# An execution whose worker died held its slot until another worker
	# took its step over and ended it: never four.
	assert_equal "$(most_in_store pg)" 3
	[ "$(most_at_once)" -le 3 ]
}
