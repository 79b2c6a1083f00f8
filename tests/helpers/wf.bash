# wf.bash - loaded by the sov-wf engine bats files: a scratch directory $T
# holding the workflows folder, the store and the measurements, and the
# cleanup of what a test started there.

wf_scratch() { # wf_scratch PREFIX
	T=$(mktemp -d "$BATS_TMPDIR/$1.XXXXXX")
	mkdir "$T/wf"
	export SOV_WF_STORE="sqlite:$T/wf.db" SOV_WF_WORKFLOWS="$T/wf"
	export SOV_METRICS="sqlite:$T/metrics.db"
}

# The processes listed in $T/pids killed, a server in $T/pgdir stopped,
# $T removed.
wf_cleanup() {
	for p in $(cat "$T/pids" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	[ ! -f "$T/pgdir" ] || "$BATS_TEST_DIRNAME/helpers/pg.sh" stop "$(cat "$T/pgdir")" 2>/dev/null || true
	rm -rf "$T"
}
