#!/bin/sh
# demo.sh - what `make demo` runs: the foundation's demo on the embedded
# defaults. A fresh state directory, the SQLite store in it, a day of
# measurements written and read back through libsov, a readable summary.
# Each tool adds its part here until this is a whole heart in a box.
set -eu
B=${SOV_BUILD:-build}
state=$(mktemp -d /tmp/sov-demo.XXXXXX)
trap 'rm -rf "$state"' EXIT

echo "== sov demo: state directory $state (removed at the end)"
SOV_STATE_DIR=$state "$B/sov-demo" run --format table
echo
echo "== the same store, read by another process as JSON lines (first 3):"
"$B/sov-demo" query --limit 3 --metrics "sqlite:$state/metrics.db" demo.probe.seconds
echo
echo "== and by sqlite3 itself, by the hour (last 3 hours):"
sqlite3 -column -header "$state/metrics.db" "
	select substr(ts, 1, 13) || ':00Z' as hour, count(*) as n,
	       printf('%.4f', avg(value)) as avg_latency_s
	from measurements where name = 'demo.probe.seconds'
	group by 1 order by 1 desc limit 3" 2>/dev/null ||
	echo "(sqlite3 not installed)"
echo
"$(dirname "$0")/backup-demo.sh"
"$(dirname "$0")/wf-demo.sh"
