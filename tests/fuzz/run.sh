#!/bin/sh
# run.sh - run every built libFuzzer target for SOV_FUZZ_SECONDS (default 60)
# on a scratch copy of its seed corpus; a crash leaves its input in build/fuzz/.
set -u
cd "$(dirname "$0")/../.." || exit 1
secs=${SOV_FUZZ_SECONDS:-60}
status=0
for bin in build/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/}
	work=$(mktemp -d /tmp/sov-fuzz.XXXXXX)
	echo "fuzz: $name for ${secs}s"
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix=build/fuzz/ -print_final_stats=1 \
		"$work" "tests/fuzz/corpus/$name" >"$work.log" 2>&1; then
		status=1
		echo "fuzz: $name FAILED; input saved under build/fuzz/"
	fi
	tail -n 12 "$work.log"
	rm -rf "$work" "$work.log"
done
exit $status
