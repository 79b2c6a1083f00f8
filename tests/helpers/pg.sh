#!/bin/sh
# pg.sh - a throwaway PostgreSQL 15 for tests: a fresh cluster in a
# mktemp dir under /tmp, unix socket only (listen_addresses=''), no fsync,
# trust auth for user postgres. As root the server runs as `nobody` (initdb
# refuses root); otherwise as the current user.
#
#   pg.sh start               start one; prints its data/socket DIR
#   pg.sh url DIR [DB]        the libpq URL (DB defaults to postgres)
#   pg.sh createdb DIR NAME   create database NAME; prints its URL
#   pg.sh stop DIR            stop it (fast) and remove DIR; safe twice
#
# Progress and errors go to stderr; stdout carries only the answer.
# SOV_PGBIN overrides the binaries' directory (/usr/lib/postgresql/15/bin).
set -eu

PGBIN=${SOV_PGBIN:-/usr/lib/postgresql/15/bin}
PREFIX=/tmp/sovpg.

die() {
	echo "pg.sh: $*" >&2
	exit 1
}

usage() {
	echo "usage: pg.sh start | url DIR [DB] | createdb DIR NAME | stop DIR" >&2
	exit 2
}

is_root() {
	[ "$(id -u)" = 0 ]
}

# Run a server-side binary as the cluster's owner.
as_owner() {
	if is_root; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

psql_bin() {
	if [ -x "$PGBIN/psql" ]; then
		echo "$PGBIN/psql"
	elif command -v psql >/dev/null 2>&1; then
		command -v psql
	else
		die "psql not found (in $PGBIN or on PATH)"
	fi
}

# A DIR we made: under /tmp, our prefix, characters safe in a URL.
check_dir() {
	case $1 in
	"$PREFIX"*) ;;
	*) die "$1: not a pg.sh directory (expected $PREFIX*)" ;;
	esac
	case $1 in
	*[!A-Za-z0-9/._-]*) die "$1: unexpected characters in directory" ;;
	esac
}

check_name() {
	case $1 in
	"" | *[!a-z0-9_]*) die "database name '$1': use a-z 0-9 _" ;;
	esac
}

# The server's PID if it is running from DIR, else nothing.
server_pid() {
	[ -f "$1/postmaster.pid" ] || return 0
	pid=$(head -n 1 "$1/postmaster.pid" 2>/dev/null) || return 0
	case $pid in
	"" | *[!0-9]*) return 0 ;;
	esac
	[ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = postgres ] || return 0
	# A killed server nobody reaped yet is not running.
	case $(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$pid/status" 2>/dev/null) in
	Z | X | "") return 0 ;;
	esac
	echo "$pid"
}

cmd_start() {
	for b in initdb pg_ctl postgres; do
		[ -x "$PGBIN/$b" ] ||
			die "$PGBIN/$b not found: install PostgreSQL 15 (apt-get install postgresql-15) or set SOV_PGBIN"
	done
	if is_root; then
		command -v runuser >/dev/null 2>&1 || die "runuser not found (util-linux)"
		id nobody >/dev/null 2>&1 || die "user nobody does not exist"
	fi
	dir=$(mktemp -d "${PREFIX}XXXXXX") || die "mktemp under /tmp failed"
	if is_root; then
		chown nobody "$dir" || { rm -rf "$dir"; die "chown nobody $dir failed"; }
	fi
	chmod 700 "$dir"
	echo "pg.sh: initdb $dir" >&2
	if ! out=$(as_owner "$PGBIN/initdb" -D "$dir" -U postgres --auth=trust \
		-N -E UTF8 --locale=C 2>&1); then
		printf '%s\n' "$out" | tail -n 20 >&2
		rm -rf "$dir"
		die "initdb failed (output above)"
	fi
	echo "pg.sh: starting the server on socket $dir/.s.PGSQL.5432" >&2
	if ! as_owner "$PGBIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -s -t 30 \
		-o "-c listen_addresses='' -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
		start >&2; then
		echo "pg.sh: --- tail of $dir/server.log ---" >&2
		tail -n 20 "$dir/server.log" >&2 2>/dev/null || true
		pid=$(server_pid "$dir")
		[ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true
		rm -rf "$dir"
		die "the server failed to start (log above)"
	fi
	echo "$dir"
}

cmd_url() {
	if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
	check_dir "$1"
	db=${2:-postgres}
	check_name "$db"
	printf 'postgresql:///%s?host=%s&user=postgres\n' "$db" "$1"
}

cmd_createdb() {
	[ $# -eq 2 ] || usage
	check_dir "$1"
	check_name "$2"
	[ -n "$(server_pid "$1")" ] || die "$1: no server is running there"
	"$(psql_bin)" -X -q -v ON_ERROR_STOP=1 -h "$1" -U postgres -d postgres \
		-c "CREATE DATABASE \"$2\"" >&2 || die "CREATE DATABASE $2 failed"
	cmd_url "$1" "$2"
}

cmd_stop() {
	[ $# -eq 1 ] || usage
	check_dir "$1"
	[ -d "$1" ] || return 0 # already stopped and removed
	pid=$(server_pid "$1")
	if [ -n "$pid" ]; then
		if ! as_owner "$PGBIN/pg_ctl" -D "$1" -m fast -w -s -t 30 stop >&2; then
			echo "pg.sh: pg_ctl stop failed; killing server $pid" >&2
			kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	rm -rf "$1"
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
start) [ $# -eq 0 ] || usage; cmd_start ;;
url) cmd_url "$@" ;;
createdb) cmd_createdb "$@" ;;
stop) cmd_stop "$@" ;;
*) usage ;;
esac
