#!/usr/bin/env bats
# wf-store.bats - sov-wf's store schema moving up a version with work in
# flight (docs/wf-store.md), on a real SQLite file and a real PostgreSQL.

load helpers/common
load helpers/wf
bats_require_minimum_version 1.5.0

setup() {
	wf_scratch wfs
	cat >"$T/wf/one.json" <<'JSON'
{"name":"one","version":1,"triggers":[{"enqueue":true}],
 "steps":{"a":{"jq":"{i: .i, x: 1}"}}}
JSON
}

teardown() {
	wf_cleanup
}

# Put a version 3 store back as version 2 wrote it: the index of every
# execution by status, and (PostgreSQL) the key's UNIQUE constraint.
V2_SQLITE="DROP INDEX wf_executions_active;
CREATE INDEX wf_executions_status ON wf_executions(status, id);
UPDATE sov_schema_migrations SET version = 2 WHERE schema = 'sov.wf';"
V2_PG="DROP INDEX wf_executions_active; DROP INDEX wf_executions_key;
CREATE INDEX wf_executions_status ON wf_executions(status, id);
ALTER TABLE wf_executions ADD CONSTRAINT wf_executions_key_key UNIQUE (key);
UPDATE sov_schema_migrations SET version = 2 WHERE schema = 'sov.wf';"

all_succeeded() {
	[ "$("$Q" "SELECT count(*) FROM wf_executions WHERE status = 'succeeded'")" = 4 ]
}

# Three executions in flight in a version 2 store ($1 runs SQL), one with
# a key; the next sov-wf to open it migrates it; then the in-flight ones
# are listed, the key still refuses a duplicate, and a worker ends them.
from_v2() {
	local q=$1 v2=$2
	printf '{"i":1}\n{"i":2}\n' | sov-wf enqueue one >/dev/null
	echo '{"i":"k"}' | sov-wf enqueue one --key .i >/dev/null
	$q "$v2"
	assert_equal "$($q "SELECT version FROM sov_schema_migrations WHERE schema = 'sov.wf'")" 2
	run -0 sov-wf status
	assert_equal "$(grep -c '"status":"running"' <<<"$output")" 3
	assert_equal "$($q "SELECT version FROM sov_schema_migrations WHERE schema = 'sov.wf'")" 3
	run -0 sh -c 'echo "{\"i\":\"k\"}" | sov-wf enqueue one --key .i'
	assert_output --partial '"duplicate":true'
	echo '{"i":3}' | sov-wf enqueue one >/dev/null
	assert_equal "$($q "SELECT count(*) FROM wf_executions")" 4
	sov-wf worker --threads 1 >"$T/worker.out" 2>"$T/worker.err" &
	echo $! >>"$T/pids"
	Q=$q wait_for 20 all_succeeded
	run -0 sov-wf status
	assert_output ""
	run -0 sov-wf history
	assert_equal "$(grep -c '"status":"succeeded"' <<<"$output")" 4
}

@test "store: a version 2 SQLite store moves to version 3 with executions in flight" {
	q() { sqlite3 -cmd ".timeout 10000" "$T/wf.db" "$1"; }
	# Made by this sov-wf (version 3), then put back.
	sov-wf status >/dev/null
	from_v2 q "$V2_SQLITE"
	assert_equal "$(q "SELECT count(*) FROM sqlite_master WHERE name = 'wf_executions_status'")" 0
	assert_equal "$(q "SELECT count(*) FROM sqlite_master WHERE name = 'wf_executions_active'")" 1
}

@test "store: a version 2 PostgreSQL store moves to version 3 with executions in flight" {
	require_pg
	url=$("$BATS_TEST_DIRNAME/helpers/pg.sh" createdb "$SOV_TEST_PG_DIR" "wf_store_$$")
	export SOV_WF_STORE="$url"
	q() { psql -qAt -v ON_ERROR_STOP=1 -c "$1" "$url"; }
	sov-wf status >/dev/null
	from_v2 q "$V2_PG"
	assert_equal "$(q "SELECT string_agg(indexname, ' ' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'wf_executions'")" \
		"wf_executions_active wf_executions_key wf_executions_pkey wf_executions_queued wf_executions_workflow"
	run -0 q "SET enable_seqscan = off; EXPLAIN SELECT id FROM wf_executions WHERE status IN ('queued', 'running', 'compensating', 'cancelling') ORDER BY id LIMIT 5"
	assert_output --partial wf_executions_active
}
