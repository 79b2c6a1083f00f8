#!/usr/bin/env bash
# crash.sh - kill a command at random instants and check what it left behind.
#
#   crash.sh [--rounds N] [--seed S] [--min-ms A] [--max-ms B]
#            [--setup CMD] [--setup-each] --check CMD -- COMMAND [ARGS...]
#
# Each round: start COMMAND in a new session (setsid, so it leads its own
# process group), sleep D ms, kill -9 the whole group, wait for it to be gone,
# then run CHECK. A command that finished before the kill counts as a round
# too; the log says so ("finished before the kill (exit X)"). SETUP runs once
# before round 1, or before every round with --setup-each. SETUP and CHECK
# are bash command strings; COMMAND is run as given, without a shell. After
# the kill, crash.sh waits (up to 5 s) until no process of the group is left
# running before CHECK starts; a process that left the group (its own setsid,
# a double-forked daemon) is not killed.
#
#   --rounds N    rounds to run (default 10)
#   --seed S      a whole number (default: from the clock; always printed)
#   --min-ms A    shortest delay before the kill (default 0)
#   --max-ms B    longest delay (default 200)
#
# The environment of SETUP, COMMAND and CHECK has CRASH_ROUND (1..N; the
# one-time setup sees 1).
#
# Delays are reproducible: round R's delay depends only on S+R and on A, B.
# x = (S+R) mod 2^32, scrambled by three rounds of xorshift32 (13, 17, 5)
# after multiplying by 2654435761 mod 2^32; D = A + x mod (B-A+1). So round
# R of seed S has the same delay as round 1 of seed S+R-1: a failing round is
# replayed alone by the line crash.sh prints, "--seed S+R-1 --rounds 1". The
# replay runs its setup once, fresh: with a one-time --setup, state that
# rounds 1..R-1 built up is not rebuilt (use --setup-each for exact replays),
# and CRASH_ROUND is 1 in the replay.
#
# A failing CHECK prints
#   crash.sh: round R failed (seed S, delay D ms); replay: crash.sh --seed ...
# and exits 1 after that round. A failing SETUP exits 1 too. Usage errors
# exit 2. At the end: "crash.sh: N rounds, K killed mid-run, all checks
# passed" and exit 0.
#
# Logs go to stderr, prefixed "crash.sh:". COMMAND's and CHECK's own output
# pass through unchanged.
set -u

prog=crash.sh
rounds=10
seed=
min_ms=0
max_ms=200
setup=
setup_each=0
check=
have_check=0

usage() {
	echo "$prog: $1" >&2
	echo "usage: $prog [--rounds N] [--seed S] [--min-ms A] [--max-ms B]" \
		"[--setup CMD] [--setup-each] --check CMD -- COMMAND [ARGS...]" >&2
	exit 2
}

# A whole number, at most 18 digits (bash arithmetic is 64-bit).
is_num() {
	[[ $1 =~ ^[0-9]{1,18}$ ]]
}

need_arg() {
	[ "$2" -ge 2 ] || usage "$1 needs a value"
}

while [ $# -gt 0 ]; do
	case $1 in
	--rounds)
		need_arg "$1" $#
		if ! is_num "$2" || [ "$2" -lt 1 ]; then
			usage "--rounds wants a number >= 1, not '$2'"
		fi
		rounds=$2
		shift 2
		;;
	--seed)
		need_arg "$1" $#
		is_num "$2" || usage "--seed wants a whole number, not '$2'"
		seed=$2
		shift 2
		;;
	--min-ms)
		need_arg "$1" $#
		is_num "$2" || usage "--min-ms wants a whole number, not '$2'"
		min_ms=$2
		shift 2
		;;
	--max-ms)
		need_arg "$1" $#
		is_num "$2" || usage "--max-ms wants a whole number, not '$2'"
		max_ms=$2
		shift 2
		;;
	--setup)
		need_arg "$1" $#
		setup=$2
		shift 2
		;;
	--setup-each)
		setup_each=1
		shift
		;;
	--check)
		need_arg "$1" $#
		check=$2
		have_check=1
		shift 2
		;;
	--)
		shift
		break
		;;
	-h | --help)
		awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
		exit 0
		;;
	*)
		usage "unknown option '$1'"
		;;
	esac
done
[ "$have_check" = 1 ] || usage "--check CMD is required"
[ $# -ge 1 ] || usage "no COMMAND after --"
[ "$min_ms" -le "$max_ms" ] || usage "--min-ms $min_ms is over --max-ms $max_ms"
command -v setsid >/dev/null 2>&1 || {
	echo "$prog: setsid not found (util-linux)" >&2
	exit 2
}
if [ -z "$seed" ]; then
	seed=$(($(date +%s%N) % 1000000000))
fi

# The delay of round $1 in ms, from seed+round only (see the header).
delay_ms() {
	local m=$((0xffffffff)) x i
	x=$(((seed + $1) & m))
	x=$(((x * 2654435761) & m))
	for i in 1 2 3; do
		x=$(((x ^ (x << 13)) & m))
		x=$((x ^ (x >> 17)))
		x=$(((x ^ (x << 5)) & m))
	done
	echo $((min_ms + x % (max_ms - min_ms + 1)))
}

# Milliseconds as a sleep(1) argument.
ms_to_s() {
	printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
}

# The exact command line that replays round $1 alone.
replay_line() {
	local r=$1 line
	shift
	line="$(printf '%q' "$0") --seed $((seed + r - 1)) --rounds 1 --min-ms $min_ms --max-ms $max_ms"
	if [ -n "$setup" ]; then
		line+=" --setup $(printf '%q' "$setup")"
		[ "$setup_each" = 1 ] && line+=" --setup-each"
	fi
	line+=" --check $(printf '%q' "$check") --"
	line+="$(printf ' %q' "$@")"
	echo "$line"
}

# Is a process of group $1 still running? Zombies do not count: they are
# dead, and an orphan's zombie may wait a while for a slow init to reap it.
group_alive() {
	local f line state pgrp
	kill -0 -- "-$1" 2>/dev/null || return 1
	for f in /proc/[0-9]*/stat; do
		read -r line <"$f" 2>/dev/null || continue
		# "pid (comm) state ppid pgrp ...": comm may hold spaces.
		read -r state _ pgrp _ <<<"${line##*) }"
		[ "$pgrp" = "$1" ] && [ "$state" != Z ] && return 0
	done
	return 1
}

# Wait (up to 5 s) until no process of group $1 is running.
wait_group_gone() {
	local i
	for ((i = 0; i < 500; i++)); do
		group_alive "$1" || return 0
		sleep 0.01
	done
	echo "$prog: warning: process group $1 still alive 5 s after kill -9" >&2
	return 1
}

run_setup() {
	bash -c "$setup"
	local rc=$?
	if [ $rc -ne 0 ]; then
		echo "$prog: round $1: setup failed (exit $rc): $setup" >&2
		exit 1
	fi
}

echo "$prog: seed $seed, $rounds rounds, delay $min_ms..$max_ms ms" >&2
killed=0
for ((round = 1; round <= rounds; round++)); do
	export CRASH_ROUND=$round
	if [ -n "$setup" ] && { [ "$setup_each" = 1 ] || [ "$round" = 1 ]; }; then
		run_setup "$round"
	fi
	d=$(delay_ms "$round")
	# A non-interactive bash starts background jobs in its own process
	# group, so setsid(1) does not fork: $! is the new session's leader and
	# its pid is the group id.
	setsid "$@" &
	pid=$!
	sleep "$(ms_to_s "$d")"
	# The leader first: if it has not called setsid() yet, it has no
	# children and no group of its own; then the group, for its children.
	kill -9 "$pid" 2>/dev/null
	kill -9 -- "-$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	status=$?
	wait_group_gone "$pid"
	if [ "$status" = 137 ]; then
		killed=$((killed + 1))
		echo "$prog: round $round: delay $d ms: killed" >&2
	else
		echo "$prog: round $round: delay $d ms: finished before the kill (exit $status)" >&2
	fi
	bash -c "$check"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "$prog: round $round failed (seed $seed, delay $d ms, check exit $rc); replay: $(replay_line "$round" "$@")" >&2
		exit 1
	fi
done
echo "$prog: $rounds rounds, $killed killed mid-run, all checks passed" >&2
exit 0
