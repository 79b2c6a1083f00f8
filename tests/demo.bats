#!/usr/bin/env bats
# demo.bats - libsov's command-line conventions end to end, through sov-demo:
# the command table, exit codes, JSON lines in and out, measurements.

load helpers/common

setup() {
	T=$(mktemp -d "$BATS_TMPDIR/demo.XXXXXX")
}

teardown() {
	rm -rf "$T"
}

@test "--version prints the name and version" {
	run sov-demo --version
	assert_success
	assert_output "sov-demo $(cat "$BATS_TEST_DIRNAME/../VERSION")"
}

@test "--help lists the commands on stdout, exit 0" {
	run sov-demo --help
	assert_success
	assert_line --partial "usage: sov-demo COMMAND"
	assert_line --regexp '^  cat +read JSON lines'
}

@test "no command: usage on stderr, exit 2" {
	run sov-demo
	assert_failure 2
}

@test "an unknown command suggests the nearest, exit 2" {
	run sov-demo measur
	assert_failure 2
	assert_output "sov-demo: unknown command 'measur'; did you mean 'measure'?"
}

@test "a command's --help shows its options" {
	run sov-demo cat --help
	assert_success
	assert_line --partial "usage: sov-demo cat"
	assert_line --partial "--filter JQ"
}

@test "an unknown option names the command, exit 2" {
	run sov-demo cat --bogus
	assert_failure 2
	assert_output --partial "sov-demo cat: unrecognized option '--bogus'"
}

@test "cat passes records through, compact" {
	printf '{"a": 1}\n\n[1, 2]\r\n' >"$T/in"
	run sov-demo cat "$T/in"
	assert_success
	assert_output $'{"a":1}\n[1,2]'
}

@test "cat --filter runs a jq program per record" {
	printf '{"n":1}\n{"n":5}\n{"n":9}\n' | {
		run sov-demo cat --filter 'select(.n > 2) | .n * 10'
		assert_success
		assert_output $'50\n90'
	}
}

@test "a truncated record: exit 2, file:line named, nothing after it" {
	printf '{"a":1}\n{"a":\n{"a":3}\n' >"$T/in"
	run sov-demo cat "$T/in"
	assert_failure 2
	assert_line '{"a":1}'
	assert_line --partial "sov-demo: $T/in:2: invalid JSON"
	refute_line '{"a":3}'
}

@test "an oversized record: exit 2 naming the cap" {
	head -c 5000 /dev/zero | tr '\0' 'x' | sed 's/.*/"&"/' >"$T/in"
	run sov-demo cat --max-line 4096 "$T/in"
	assert_failure 2
	assert_output "sov-demo: $T/in:1: record longer than 4096 bytes"
}

@test "invalid UTF-8: exit 2 naming line and column" {
	printf '"ok"\n"\xff"\n' >"$T/in"
	run sov-demo cat "$T/in"
	assert_failure 2
	assert_line "sov-demo: $T/in:2: invalid UTF-8 at column 2"
}

@test "a jq program that does not compile: exit 2, jq's message" {
	run sov-demo cat --filter '.a | | .b' /dev/null
	assert_failure 2
	assert_output --partial "sov-demo: --filter: jq: error: syntax error"
}

@test "a missing input file: exit 2 naming it" {
	run sov-demo cat "$T/nope"
	assert_failure 2
	assert_output "sov-demo: open $T/nope: No such file or directory"
}

@test "a full disk on stdout is an error, exit 1" {
	run sh -c 'echo 1 | sov-demo cat >/dev/full'
	assert_failure 1
	assert_output "sov-demo: write stdout: No space left on device"
}

@test "a closed pipe on stdout is an error, not silence" {
	run bash -c 'set -o pipefail; seq 1 200000 | sov-demo cat 2>"$0" | head -1 >/dev/null; echo "status ${PIPESTATUS[1]}"; cat "$0"' "$T/err"
	assert_line "status 1"
	assert_line "sov-demo: write stdout: Broken pipe"
}

@test "measure with no store prints a measure record" {
	run env -u SOV_METRICS sov-demo measure --unit s --tag job=nightly backup.seconds 12.5
	assert_success
	echo "$output" | jq -e '.event == "measure" and .name == "backup.seconds"
		and .value == 12.5 and .unit == "s" and .tags.job == "nightly"
		and (.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z$"))'
}

@test "measure into SQLite, query it back" {
	sov-demo measure --metrics "sqlite:$T/m.db" --unit bytes backup.bytes_new 1024
	sov-demo measure --metrics "sqlite:$T/m.db" --unit bytes backup.bytes_new 2048
	run sov-demo query --metrics "sqlite:$T/m.db" backup.bytes_new
	assert_success
	assert_equal "$(echo "$output" | jq -s 'map(.value)' -c)" "[1024,2048]"
	run sqlite3 "$T/m.db" 'pragma journal_mode'
	assert_output wal
}

@test "measure into a real PostgreSQL, query it back" {
	require_pg
	db="sov_demo_bats_$$"
	psql -q "$SOV_TEST_PG_URL" -c "drop database if exists $db" -c "create database $db"
	url=$("$BATS_TEST_DIRNAME/helpers/pg.sh" url "$SOV_TEST_PG_DIR" "$db")
	SOV_METRICS=$url sov-demo measure --tag host=heart probe.up 1
	run sov-demo query --metrics "$url" probe.up
	assert_success
	echo "$output" | jq -e '.value == 1 and .tags.host == "heart"'
	run psql -Atc "select count(*) from measurements" "$url"
	assert_output 1
	psql -q "$SOV_TEST_PG_URL" -c "drop database $db"
}

@test "bad measurements: exit 2, what was wrong named" {
	run sov-demo measure --metrics "sqlite:$T/m.db" 'Bad Name' 1
	assert_failure 2
	assert_output --partial 'measurement name "Bad Name"'
	run sov-demo measure backup.seconds twelve
	assert_failure 2
	assert_output 'sov-demo: VALUE: want a number, got "twelve"'
	run sov-demo measure --tag novalue a.b 1
	assert_failure 2
}

@test "a store URL with an unknown scheme: exit 2 naming it" {
	run sov-demo measure --metrics "mysql://db/x" a.b 1
	assert_failure 2
	assert_output --partial "mysql"
}

@test "an unreachable PostgreSQL: exit 75, worth retrying" {
	mkdir -p "$T/nopg"
	run sov-demo measure --metrics "postgresql:///x?host=$T/nopg" a.b 1
	assert_failure 75
	assert_output --partial "$T/nopg"
}

@test "run: a day of measurements written, read back, summarised" {
	run sov-demo run --state-dir "$T/state" --format json
	assert_success
	assert_equal "$(echo "$output" | jq -s 'map(select(.event == "demo.series")) | map(.count)' -c)" "[288,288,288]"
	echo "$output" | jq -se 'map(select(.event == "demo.done"))[0].written == 864'
	assert_file_exist "$T/state/metrics.db"
	run sqlite3 "$T/state/metrics.db" 'select count(*) from measurements'
	assert_output 865
}

@test "run twice on one store refuses to mix the days" {
	sov-demo run --state-dir "$T/state" --format json >/dev/null
	run sov-demo run --state-dir "$T/state" --format json
	assert_failure 1
	assert_output --regexp "read back [0-9]+ measurements of the 288 written"
}

@test "run --format table is for people" {
	run sov-demo run --state-dir "$T/state" --format table
	assert_success
	assert_line --partial "864 measurements written to sqlite:"
	assert_line --regexp '^demo.probe.seconds +288 '
}

@test "kill -9 at any instant of a run: the store opens whole, with all of the day or none" {
	export S="$T/state"
	# The day is written in one transaction: a count other than 0, 864
	# (the day) or 865 (and the run's own measurement) is a partial write.
	check='[ ! -e "$S/metrics.db" ] && exit 0
		[ "$(sqlite3 "$S/metrics.db" "pragma integrity_check")" = ok ] || exit 1
		n=$(sqlite3 "$S/metrics.db" "select count(*) from measurements" 2>/dev/null || echo 0)
		case $n in 0 | 864 | 865) ;; *) echo "partial day: $n rows"; exit 1 ;; esac
		sov-demo query --metrics "sqlite:$S/metrics.db" demo.probe.seconds >/dev/null'
	run "$BATS_TEST_DIRNAME/helpers/crash.sh" --rounds 25 --min-ms 0 --max-ms 80 \
		--setup 'rm -rf "$S"' --setup-each --check "$check" \
		-- sov-demo run --state-dir "$S" --format json
	assert_success
	assert_output --regexp "crash.sh: 25 rounds, [1-9][0-9]* killed mid-run, all checks passed"
}
