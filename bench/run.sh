#!/bin/sh
# run.sh - every benchmark under bench/, one after another (make bench).
# Each installs the peers it needs (and says so) and prints a table with
# ratios. None runs in make check.
set -eu
cd "$(dirname "$0")/.."
status=0
for b in bench/*.sh; do
	[ "$b" = bench/run.sh ] && continue
	echo "== $b"
	sh "$b" || status=1
done
exit $status
