#!/bin/sh
# timed.sh OUT CMD [ARG]...: run CMD under GNU time and write one line to
# OUT: "WALL_NS PEAK_KIB EXIT". Wall time is taken around the whole run
# (date +%s%N, so time's own fork and exec, about a millisecond, is in it
# for every tool alike); the peak is GNU time's %M: the largest resident
# set of CMD or of any process it waited for (a key child, a hook).
# stdout and stderr of CMD go to OUT.log. Exits with CMD's status.
set -u
out=$1
shift
s=$(date +%s%N)
rc=0
/usr/bin/time -f '%M' -o "$out.rss" "$@" >"$out.log" 2>&1 || rc=$?
e=$(date +%s%N)
echo "$((e - s)) $(tail -n 1 "$out.rss") $rc" >"$out"
exit $rc
