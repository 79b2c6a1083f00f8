# lib.sh - what the bench scripts share; sourced (`. bench/lib.sh`) from the
# repository's root.

# apt_need PACKAGES: install the Debian packages a bench lacks (a list that
# starts with a blank, as the scripts build it; empty: nothing to do), or
# say what to install when not root.
apt_need() {
	[ -n "$1" ] || return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench: needs$1; as root: apt-get install$1" >&2
		exit 1
	fi
	echo "bench: installing$1 (apt-get)"
	apt-get update -qq
	# shellcheck disable=SC2086 # package names, split on purpose
	apt-get install -y -qq --no-install-recommends $1 >/dev/null
}

# bench_tee NAME SCRIPT ARGS...: run SCRIPT ARGS again with everything it
# prints also saved as $BASE/NAME-results-STAMP.txt, then exit with its
# status. Inside that run (SOV_BENCH_TEED=NAME) it returns at once; the
# run finds the file's name in SOV_BENCH_OUT.
bench_tee() {
	bt_name=$1 bt_script=$2
	shift 2
	[ "${SOV_BENCH_TEED:-}" != "$bt_name" ] || return 0
	mkdir -p "$BASE"
	bt_out=$BASE/$bt_name-results-$(date +%Y%m%d-%H%M%S).txt
	bt_rcf=$(mktemp "$BASE/$bt_name-rc.XXXXXX")
	{
		bt_rc=0
		SOV_BENCH_TEED=$bt_name SOV_BENCH_OUT=$bt_out sh "$bt_script" "$@" || bt_rc=$?
		echo "$bt_rc" >"$bt_rcf"
	} 2>&1 | tee "$bt_out"
	bt_rc=$(cat "$bt_rcf")
	rm -f "$bt_rcf"
	echo "bench: saved as $bt_out"
	exit "$bt_rc"
}
