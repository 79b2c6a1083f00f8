#!/bin/sh
# jsonl.sh - libsov's JSON-lines path (reader, UTF-8 check, jq program, writer)
# against jq itself on the same records in the same run: `sov-demo cat` vs
# `jq -c .`, and `sov-demo cat --filter F` vs `jq -c F`. Wall time is the
# median of RUNS, peak RSS from GNU time. Every pipeline's output is compared,
# so a fast wrong answer cannot win.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
B=${SOV_BUILD:-build}
N=${BENCH_RECORDS:-300000}
RUNS=${BENCH_RUNS:-5}

need=
command -v jq >/dev/null 2>&1 || need="$need jq"
[ -x /usr/bin/time ] || need="$need time"
apt_need "$need"
[ -x "$B/sov-demo" ] || make -s all

work=$(mktemp -d /tmp/sov-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Records shaped like what the tools exchange: measurements with tags.
awk -v n="$N" 'BEGIN { srand(42); for (i = 0; i < n; i++)
	printf "{\"ts\":\"2026-11-22T19:%02d:%02d.%03dZ\",\"event\":\"measure\",\"name\":\"probe.seconds\",\"value\":%.6f,\"unit\":\"s\",\"tags\":{\"host\":\"heart\",\"target\":\"https://shop%d.example/h\u00e9alth\"}}\n", (i/60)%60, i%60, i%1000, rand(), i%50 }' >"$work/in.jsonl"
size=$(wc -c <"$work/in.jsonl")

# median_run NAME CMD: prints "seconds rss_kb" (median wall, max RSS)
median_run() {
	name=$1
	shift
	: >"$work/$name.times"
	i=0
	while [ $i -lt "$RUNS" ]; do
		/usr/bin/time -f '%e %M' -o "$work/$name.t" sh -c "$*" \
			<"$work/in.jsonl" >"$work/$name.out"
		cat "$work/$name.t" >>"$work/$name.times"
		i=$((i + 1))
	done
	sort -n "$work/$name.times" | awk -v r="$RUNS" '
		{ t[NR] = $1; if ($2 > m) m = $2 }
		END { printf "%s %d\n", t[int((r + 1) / 2)], m }'
}

F='select(.value > 0.5) | {name, v: (.value * 1000 | floor), target: .tags.target}'
printf '%s records, %s MB, median of %s runs, %s\n' "$N" \
	"$(echo "$size" | awk '{printf "%.1f", $1/1048576}')" "$RUNS" \
	"$(nproc) cores, $(uname -m), jq $(jq --version)"
printf '%-34s %9s %9s %10s\n' pipeline seconds "RSS MB" "MB/s"
row() {
	printf '%-34s %9s %9.1f %10.1f\n' "$1" "$2" "$(echo "$3" | awk '{print $1/1024}')" \
		"$(echo "$size $2" | awk '{ if ($2 > 0) printf "%.1f", $1/1048576/$2; else print 0 }')"
}
set -- $(median_run sov_cat "$B/sov-demo cat"); st=$1; sr=$2
set -- $(median_run jq_cat "jq -c ."); jt=$1; jr=$2
cmp -s "$work/sov_cat.out" "$work/jq_cat.out" || { echo "bench: outputs differ (cat)"; exit 1; }
row "sov-demo cat" "$st" "$sr"
row "jq -c ." "$jt" "$jr"
set -- $(median_run sov_f "$B/sov-demo cat --filter '$F'"); sft=$1; sfr=$2
set -- $(median_run jq_f "jq -c '$F'"); jft=$1; jfr=$2
cmp -s "$work/sov_f.out" "$work/jq_f.out" || { echo "bench: outputs differ (filter)"; exit 1; }
row "sov-demo cat --filter F" "$sft" "$sfr"
row "jq -c F" "$jft" "$jfr"
echo "ratios (jq / sov; above 1 means sov is faster or smaller):"
echo "$jt $st $jr $sr $jft $sft $jfr $sfr" | awk '{
	printf "  cat:    time %.2fx  RSS %.2fx\n", $1/$2, $3/$4
	printf "  filter: time %.2fx  RSS %.2fx\n", $5/$6, $7/$8 }'
