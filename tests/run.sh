#!/usr/bin/env bash
# run.sh - run every sov test and end on one line: N passed, N failed, N skipped
#
#   tests/run.sh               unit, bats, nix and fuzz-smoke tests
#   tests/run.sh --only unit   one group (unit | bats | nix | fuzz)
#
# Every test speaks TAP. A program that crashes, or ends before its plan
# line, counts as a failure, never as a pass; a skip shows its reason.
#   SOV_BUILD=DIR        where make put the binaries (build, build/sanitize)
#   VALGRIND=1           run the unit tests under valgrind's leak checker
#   SOV_REQUIRE_PG=1     a PostgreSQL that cannot start is a failure (CI)
#   SOV_FUZZ_SMOKE=SECS  seconds per fuzz target in the smoke run (default 10)
#   SOV_TEST_FILTER=RE   only tests whose name matches RE
set -u
cd "$(dirname "$0")/.." || exit 1

B=${SOV_BUILD:-build}
only=all
if [ "${1:-}" = --only ]; then
	only=${2:?--only needs a group}
fi
filter=${SOV_TEST_FILTER:-.}

scratch=$(mktemp -d /tmp/sov-check.XXXXXX) || exit 1
chmod 755 "$scratch"
log="$scratch/log"
pg_dir=
cleanup() {
	if [ -n "$pg_dir" ]; then
		tests/helpers/pg.sh stop "$pg_dir" >/dev/null 2>&1
	fi
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass=0 fail=0 skip=0
problems=()

# tally NAME TAPFILE EXIT_CODE: count one program's TAP output.
tally() {
	local name=$1 file=$2 code=$3 p f s planned ran
	read -r p f s planned ran < <(awk '
		/^ok / { if (tolower($0) ~ /# *skip/) s++; else p++; n++ }
		/^not ok / { if (tolower($0) ~ /# *skip/) s++; else f++; n++ }
		/^1\.\.[0-9]+/ { sub(/^1\.\./, ""); plan = $0 + 0; hasplan = 1 }
		END { printf "%d %d %d %d %d\n", p, f, s, hasplan ? plan : -1, n }' "$file")
	if [ "$planned" -lt 0 ] || [ "$ran" -lt "$planned" ]; then
		f=$((f + 1))
		problems+=("$name: ended early (exit $code) after $ran tests")
	elif [ "$f" -eq 0 ] && [ "$code" -ne 0 ]; then
		f=$((f + 1))
		problems+=("$name: exit code $code with no failing test")
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	grep -E '^not ok ' "$file" | grep -viE '# *skip' | sed "s|^|  $name: |" >&2
	# each failure with its first diagnostic lines, repeated at the end so
	# that a log cut to its tail (CI) still names what failed and why
	awk -v n="$name" '/^not ok / && tolower($0) !~ /# *skip/ { print "  " n ": " $0; d = 8; next }
		/^#/ && d > 0 { print "      " $0; d--; next } { d = 0 }' "$file" >>"$scratch/fails"
	# "ok 3 - what # skip why" and "ok 3 # skip why" both become "NAME: why"
	awk -v n="$name" '/^(not )?ok / && match(tolower($0), /# *skip:? */) {
		r = substr($0, RSTART + RLENGTH); if (r ~ /^\(.*\)$/) r = substr(r, 2, length(r) - 2)
		print "  " n ": " r }' "$file" >>"$scratch/skips"
	printf '%-28s %4d passed, %d failed, %d skipped\n' "$name" "$p" "$f" "$s"
}

# run_tap NAME CMD...: run a TAP producer in a fresh TMPDIR.
run_tap() {
	local name=$1 out code tmp
	shift
	[[ $name =~ $filter ]] || return 0
	out="$scratch/$(echo "$name" | tr '/ ' '__').tap"
	tmp=$(mktemp -d "$scratch/tmp.XXXXXX")
	chmod 755 "$tmp"
	TMPDIR=$tmp "$@" >"$out" 2>>"$log"
	code=$?
	cat "$out" >>"$log"
	tally "$name" "$out" "$code"
}

start_pg() {
	if [ ! -x tests/helpers/pg.sh ]; then
		echo "PostgreSQL: tests/helpers/pg.sh missing" >&2
	elif pg_dir=$(tests/helpers/pg.sh start 2>>"$log"); then
		SOV_TEST_PG_URL=$(tests/helpers/pg.sh url "$pg_dir")
		SOV_TEST_PG_DIR=$pg_dir
		export SOV_TEST_PG_URL SOV_TEST_PG_DIR
		echo "PostgreSQL $(psql -Atc 'show server_version' "$SOV_TEST_PG_URL" 2>/dev/null) up for the tests on $pg_dir (unix socket only)"
		return 0
	else
		pg_dir=
		echo "PostgreSQL: could not start (see the log below)" >&2
		tail -n 20 "$log" >&2
	fi
	if [ "${SOV_REQUIRE_PG:-0}" = 1 ]; then
		fail=$((fail + 1))
		problems+=("PostgreSQL could not start and SOV_REQUIRE_PG=1")
	fi
}

group_unit() {
	local t wrap=()
	if [ "${VALGRIND:-0}" = 1 ]; then
		wrap=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect
			--errors-for-leak-kinds=definite,indirect --error-exitcode=99)
		echo "unit tests under valgrind"
	fi
	for t in "$B"/tests/test_*; do
		[ -x "$t" ] || continue
		run_tap "unit/${t##*/}" "${wrap[@]}" "$t"
	done
}

group_bats() {
	local f
	if ! command -v bats >/dev/null 2>&1; then
		for f in tests/*.bats; do
			[ -e "$f" ] || continue
			echo "ok 1 # skip bats not installed (run make deps)" >"$scratch/nobats"
			tally "bats/${f##*/}" "$scratch/nobats" 0
		done
		return
	fi
	for f in tests/*.bats; do
		[ -e "$f" ] || continue
		run_tap "bats/${f##*/}" env SOV_BUILD="$B" PATH="$PWD/$B:$PATH" \
			bats --tap "$f"
	done
}

group_nix() {
	[ -x tests/nix/run.sh ] && run_tap "nix" tests/nix/run.sh
}

group_fuzz() {
	local f name secs=${SOV_FUZZ_SMOKE:-10} corpus out
	for f in tests/fuzz/fuzz_*.c; do
		[ -e "$f" ] || continue
		name=$(basename "$f" .c)
		[[ fuzz/$name =~ $filter ]] || continue
		out="$scratch/$name.tap"
		if [ ! -x "build/fuzz/$name" ]; then
			echo "ok 1 # skip $name not built (clang missing; run make deps)" >"$out"
		else
			corpus=$(mktemp -d "$scratch/corpus.XXXXXX")
			if "build/fuzz/$name" -max_total_time="$secs" -timeout=10 \
				-rss_limit_mb=2048 -artifact_prefix="$scratch/" \
				"$corpus" "tests/fuzz/corpus/$name" >>"$log" 2>&1; then
				echo "ok 1 - $name ran ${secs}s with no crash" >"$out"
			else
				echo "not ok 1 - $name found a crash (see $scratch/crash-*)" >"$out"
			fi
		fi
		echo "1..1" >>"$out"
		tally "fuzz/$name" "$out" 0
	done
}

started=$(date +%s)
case $only in
all)
	start_pg
	group_unit
	group_bats
	group_nix
	group_fuzz
	;;
unit | bats)
	start_pg
	"group_$only"
	;;
nix | fuzz) "group_$only" ;;
*)
	echo "run.sh: unknown group '$only' (unit, bats, nix, fuzz)" >&2
	exit 2
	;;
esac

if [ -s "$scratch/skips" ]; then
	echo "skipped, and why:"
	sort -u "$scratch/skips"
fi
if [ -s "$scratch/fails" ]; then
	echo "failed, and how:"
	cat "$scratch/fails"
fi
for p in "${problems[@]+"${problems[@]}"}"; do
	echo "FAILED: $p"
done
if [ "$fail" -gt 0 ]; then
	cp "$log" "${TMPDIR:-/tmp}/sov-check.log" 2>/dev/null &&
		echo "full output: ${TMPDIR:-/tmp}/sov-check.log" >&2
fi
echo "($(($(date +%s) - started)) s)"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
