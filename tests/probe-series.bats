#!/usr/bin/env bats
# probe-series.bats - sov-probe query, rollup and page from the command line:
# bad input (no store, a store that is missing, bad --every/--agg, a window
# that ends before it starts), unreadable rows, rollup keeping every count,
# the page's escaping, and the page rendered by headless Chromium (its DOM,
# and a screenshot whose pixels show the up and down colours).

load helpers/common
bats_require_minimum_version 1.5.0

D="$BATS_TEST_DIRNAME/probe"

setup() {
	T=$(mktemp -d "$BATS_TMPDIR/probe-series.XXXXXX")
	unset SOV_METRICS SOV_PROBE_TARGETS
	export SOV_STATE_DIR="$T/state"
}

teardown() {
	rm -rf "$T"
}

# A SQLite store with a day of measurements (tests/probe/fill.sql).
store() {
	: >"$T/m.db"
	sov-probe rollup --dry-run --metrics "sqlite:$T/m.db" >/dev/null
	sqlite3 "$T/m.db" <"$D/fill.sql"
	S="sqlite:$T/m.db"
}

# The daemon's state file: web down, db up, vpn never checked.
state() {
	local now since2 since14
	now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
	since2=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S.000Z)
	since14=$(date -u -d '-14 hours' +%Y-%m-%dT%H:%M:%S.000Z)
	cat >"$T/state.json" <<-JSON
		{"ts":"$now","pid":1,"targets":{
		 "web":{"type":"http","state":"down","since":"$since2","streak":120,
		  "checks":1440,"failed":120,"last":{"ts":"$now","up":false,
		  "seconds":10,"error":"timed out <img src=x onerror=alert(1)>"}},
		 "db":{"type":"tcp","state":"up","since":"$since14","streak":50,
		  "checks":1440,"failed":16,"last":{"ts":"$now","up":true,
		  "seconds":0.003,"error":null}}}}
	JSON
}

# Sum of "count" over a query's lines.
total() {
	jq -s 'map(.count) | add' <<<"$output"
}

@test "query without a store is a usage error that says so" {
	run -2 sov-probe query probe.up
	assert_output --partial "no measurements store: give --metrics URL or set \$SOV_METRICS"
}

@test "query refuses a SQLite store that does not exist, and creates none" {
	run -2 sov-probe query probe.up --metrics "sqlite:$T/none.db"
	assert_output --partial "$T/none.db: no such measurements store"
	assert_file_not_exists "$T/none.db"
}

@test "query: bad --every, --agg, and a window that ends before it starts" {
	store
	run -2 sov-probe query probe.up --metrics "$S" --every 5x
	assert_output --partial "--every"
	run -2 sov-probe query probe.up --metrics "$S" --every 1500ms
	assert_output --partial "whole seconds"
	run -2 sov-probe query probe.up --metrics "$S" --agg median
	assert_output --partial "want avg, min, max, p95 or count"
	run -2 sov-probe query probe.up --metrics "$S" --since 1h --until 2h
	assert_output --partial "is not before --until"
	run -2 sov-probe query probe.up --metrics "$S" --since yesterday
	assert_output --partial "want a time (RFC 3339) or a duration"
	run -2 sov-probe query --metrics "$S"
	run -2 sov-probe query probe.up --metrics "$S" --since 400d --every 1s
	assert_output --partial "at most 100000"
}

@test "query: a day of probe.up for one target, hourly, oldest first" {
	store
	run -0 sov-probe query probe.up --target web --since 25h --every 1h \
		--metrics "$S"
	[ "$(total)" = 1440 ]
	# every line a series record of web; the times ascend
	run jq -se 'all(.[]; .event == "series" and .name == "probe.up" and
		.target == "web") and (map(.ts) == (map(.ts) | sort))' <<<"$output"
	assert_output true
	run -0 sov-probe query probe.up --target web --since 90m --every 30m \
		--agg max --metrics "$S"
	run jq -s 'map(.value) | max' <<<"$output"
	assert_output 0
	SOV_METRICS=$S run -0 sov-probe query probe.seconds --since 25h \
		--every 1d --agg count
	run jq -s 'map(.target) | unique | join(",")' <<<"$output"
	assert_output '"db,vpn,web"'
}

@test "query: unreadable rows are left out, with a warning" {
	store
	sqlite3 "$T/m.db" "INSERT INTO measurements VALUES
		(strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-5 minutes'), 'probe.up', 'x', '', '{\"target\":\"db\"}'),
		(strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-5 minutes'), 'probe.up', 1, '', '{broken')"
	run -0 --separate-stderr sov-probe query probe.up --target db \
		--since 25h --every 1d --agg count --metrics "$S"
	[ "$(total)" = 1440 ]
	[[ $stderr == *"probe.up: 2 rows in the window cannot be read"* ]]
}

@test "rollup: --dry-run changes nothing; a rollup keeps every count and average" {
	store
	run -0 sov-probe query probe.seconds --since 25h --every 1h --metrics "$S"
	before=$output
	run -0 sov-probe rollup --after 12h --keep 400d --dry-run --metrics "$S"
	run jq -r '"\(.event) \(.dry_run) \(.rows > 2000)"' <<<"$output"
	assert_output "rollup true true"
	[ "$(sqlite3 "$T/m.db" 'SELECT count(*) FROM measurements_5m')" = 0 ]
	run -0 sov-probe rollup --after 12h --keep 400d --chunk 100 --metrics "$S"
	rows=$(jq .rows <<<"$output")
	[ "$rows" -gt 2000 ]
	[ "$(sqlite3 "$T/m.db" 'SELECT count(*) FROM measurements')" = $((8640 - rows)) ]
	run -0 sov-probe query probe.seconds --since 25h --every 1h --metrics "$S"
	# the same buckets, counts and averages (to 12 digits) as before
	norm='map(del(.ts) + {ts: .ts, value: (.value * 1e12 | round)})'
	[ "$(jq -sc "$norm" <<<"$output")" = "$(jq -sc "$norm" <<<"$before")" ]
	run -2 sov-probe rollup --after 7d --keep 1d --metrics "$S"
	assert_output --partial "--keep must be at least --after"
}

@test "rollup and query on PostgreSQL" {
	require_pg
	db=probe_series_$$
	psql -Xq "$SOV_TEST_PG_URL" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
	P=${SOV_TEST_PG_URL/\/postgres\?//$db?}
	sov-probe rollup --dry-run --metrics "$P" >/dev/null
	# Two whole UTC days before today: run just after midnight, data up to
	# now would leave a bucket of a few minutes, whose p95 is not the
	# data's.
	psql -Xq "$P" -c "INSERT INTO measurements (ts, name, value, unit, tags)
		SELECT (date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')
		- (i + 1) * interval '1 minute', 'probe.seconds', (i % 7) / 100.0, 's',
		jsonb_build_object('target', 't' || (i % 2)) FROM generate_series(0, 2879) i"
	run -0 sov-probe query probe.seconds --since 3d --every 1d --agg count --metrics "$P"
	[ "$(total)" = 2880 ]
	run -0 sov-probe rollup --after 1d --keep 30d --metrics "$P"
	[ "$(jq .rows <<<"$output")" -gt 1000 ]
	run -0 sov-probe query probe.seconds --since 3d --every 1d --agg count --metrics "$P"
	[ "$(total)" = 2880 ]
	run -0 sov-probe query probe.seconds --since 3d --every 1d --agg p95 --target t1 --metrics "$P"
	run jq -s 'all(.[]; .value >= 0.05 and .value <= 0.061)' <<<"$output"
	assert_output true
	psql -Xq "$SOV_TEST_PG_URL" -c "DROP DATABASE $db WITH (FORCE)"
}

@test "page: usage errors" {
	run -2 sov-probe page
	assert_output --partial "page needs --out DIR"
	run -2 sov-probe page --out "$T/nowhere"
	assert_output --partial "not a directory"
	run -2 sov-probe page --out "$T" --state "$T/missing.json"
	run -2 sov-probe page --out "$T" --since 10s
}

@test "page: one file, no script, no external asset, every text escaped" {
	store
	state
	run -0 sov-probe page --out "$T" --targets "$D/targets.json" \
		--state "$T/state.json" --metrics "$S" --title 'A&B <i>'
	assert_output --partial '"event":"page"'
	assert_file_exists "$T/index.html"
	run grep -ci '<script\|<img\|<link\|<iframe\| src="\| href="\|@import\|url(http' "$T/index.html"
	assert_output 0
	grep -q '&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;' "$T/index.html"
	grep -q 'timed out &lt;img src=x onerror=alert(1)&gt;' "$T/index.html"
	grep -q '<title>A&amp;B &lt;i&gt;</title>' "$T/index.html"
	# no state file and no store: every target unknown, no history
	run -0 --separate-stderr sov-probe page --out "$T" --targets "$D/targets.json"
	[[ $stderr == *"the page has no history"* ]]
	[ "$(grep -o 'data-state="unknown"' "$T/index.html" | wc -l)" = 3 ]
}

chromium_or_skip() {
	command -v chromium >/dev/null 2>&1 ||
		skip "chromium not installed (mk/deps.sh installs it)"
	command -v python3 >/dev/null 2>&1 || skip "python3 not installed"
}

chromium_run() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--user-data-dir="$(mktemp -d "$T/chrome.XXXXXX")" "$@" 2>/dev/null
}

@test "page in headless Chromium: the DOM has every target, the title is not injected" {
	chromium_or_skip
	store
	state
	sov-probe page --out "$T" --targets "$D/targets.json" \
		--state "$T/state.json" --metrics "$S" >/dev/null
	chromium_run --dump-dom "file://$T/index.html" >"$T/dom.html"
	grep -q '<title>Status</title>' "$T/dom.html"
	grep -q 'class="banner bad" data-down="1"' "$T/dom.html"
	grep -q '1 of 3 down' "$T/dom.html"
	grep -q 'id="t-web" data-state="down"' "$T/dom.html"
	grep -q 'id="t-db" data-state="up"' "$T/dom.html"
	grep -q 'id="t-vpn" data-state="unknown"' "$T/dom.html"
	# 48 or 49 uptime bars a target, the last two hours of web down
	[ "$(grep -o '<rect class="down"' "$T/dom.html" | wc -l)" -ge 3 ]
	[ "$(grep -o '<rect class="up"' "$T/dom.html" | wc -l)" -ge 130 ]
	! grep -q '<script' "$T/dom.html"
}

@test "page in headless Chromium: the screenshot shows up green, down red, unknown grey" {
	chromium_or_skip
	store
	state
	sov-probe page --out "$T" --targets "$D/targets.json" \
		--state "$T/state.json" --metrics "$S" >/dev/null
	chromium_run --window-size=1100,960 --hide-scrollbars \
		--screenshot="$T/shot.png" "file://$T/index.html" >/dev/null
	assert_file_exists "$T/shot.png"
	run -0 python3 "$D/pngcolours.py" "$T/shot.png" 16a34a dc2626 6b7280
	assert_line 1100x960
	# the banner alone is ~940x64 red; bars and badges are green
	[ "$(awk '$1 == "dc2626" { print $2 }' <<<"$output")" -gt 20000 ]
	[ "$(awk '$1 == "16a34a" { print $2 }' <<<"$output")" -gt 10000 ]
	[ "$(awk '$1 == "6b7280" { print $2 }' <<<"$output")" -gt 500 ]
	# all up: no red but the legend's 12x12 "down" swatch
	jq '.targets.web.state = "up" | .targets.web.last.up = true |
		.targets.web.last.error = null' "$T/state.json" >"$T/up.json"
	sqlite3 "$T/m.db" "UPDATE measurements SET value = 1 WHERE name = 'probe.up'"
	sov-probe page --out "$T" --targets "$D/targets.json" \
		--state "$T/up.json" --metrics "$S" >/dev/null
	grep -q 'None down, 1 of 3 not checked yet' "$T/index.html"
	chromium_run --window-size=1100,960 --hide-scrollbars \
		--screenshot="$T/up.png" "file://$T/index.html" >/dev/null
	run -0 python3 "$D/pngcolours.py" "$T/up.png" dc2626
	[ "$(awk '$1 == "dc2626" { print $2 }' <<<"$output")" -le 144 ]
}
