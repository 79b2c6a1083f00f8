#!/usr/bin/env bats
# probe.bats - sov-probe validate, run, daemon and status against real
# servers: Debian's nginx on 127.0.0.1 (plain and TLS with a certificate
# made here), SQLite files, the test PostgreSQL, commands.

load helpers/common
load helpers/probe

setup_file() {
	export PDIR="$BATS_FILE_TMPDIR/probe"
	mkdir -p "$PDIR/www" "$PDIR/logs"
	echo '{"ok":true,"n":3}' >"$PDIR/www/h.json"
	head -c 300000 /dev/zero | tr '\0' x >"$PDIR/www/big.txt"
	printf 'hello probe\n' >"$PDIR/www/index.html"
	if ! command -v nginx >/dev/null || ! command -v openssl >/dev/null; then
		export NO_NGINX="nginx or openssl missing"
		return 0
	fi
	# a certificate for "probe.test", valid 30 days, its own CA file
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$PDIR/key.pem" -out "$PDIR/cert.pem" -days 30 \
		-subj /CN=probe.test -addext subjectAltName=DNS:probe.test \
		2>/dev/null
	HTTP_PORT=$(free_port)
	TLS_PORT=$(free_port)
	export HTTP_PORT TLS_PORT
	# as root nginx's workers would run as nobody, who cannot read the
	# test's private temp dir
	user=
	[ "$(id -u)" -ne 0 ] || user="user root;"
	cat >"$PDIR/nginx.conf" <<EOF
$user
daemon on;
pid $PDIR/nginx.pid;
error_log $PDIR/logs/error.log;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $PDIR/tmp;
	proxy_temp_path $PDIR/tmp;
	fastcgi_temp_path $PDIR/tmp;
	uwsgi_temp_path $PDIR/tmp;
	scgi_temp_path $PDIR/tmp;
	server {
		listen 127.0.0.1:$HTTP_PORT;
		root $PDIR/www;
		location = /loop { return 302 /loop; }
		location = /slow { limit_rate 100; alias $PDIR/www/big.txt; }
		location = /teapot { return 418; }
	}
	server {
		listen 127.0.0.1:$TLS_PORT ssl;
		server_name probe.test;
		ssl_certificate $PDIR/cert.pem;
		ssl_certificate_key $PDIR/key.pem;
		root $PDIR/www;
	}
}
EOF
	mkdir -p "$PDIR/tmp"
	nginx -c "$PDIR/nginx.conf" -e "$PDIR/logs/error.log" 2>"$PDIR/nginx.err" ||
		export NO_NGINX="nginx did not start: $(cat "$PDIR/nginx.err")"
}

teardown_file() {
	[ -f "$PDIR/nginx.pid" ] && kill "$(cat "$PDIR/nginx.pid")" 2>/dev/null
	true
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

need_nginx() {
	[ -z "${NO_NGINX:-}" ] || skip "$NO_NGINX"
}

@test "validate: every type, and what each target will check" {
	f=$(targets '"w":{"type":"http","url":"https://x.test/","cert_days":10,"headers":{"Authorization":"Bearer s3cret"}},
	 "t":{"type":"tcp","host":"x.test","port":22}, "s":{"type":"tls","host":"x.test"},
	 "d":{"type":"dns","query_name":"x.test","record":"MX","server":"127.0.0.1:5353"},
	 "i":{"type":"icmp","host":"x.test"}, "k":{"type":"disk","path":"/","min_free_bytes":"2GiB"},
	 "p":{"type":"postgres","url_file":"/run/x"}, "q":{"type":"sqlite","path":"/x.db"},
	 "c":{"type":"command","argv":["true"]}, "y":{"type":"systemd","unit":"nginx.service"},
	 "g":{"type":"wireguard","interface":"wg0"}, "b":{"type":"backup","argv":["true"],"max_age":"1d"}')
	run sov-probe validate "$f"
	assert_success
	[ "$(wc -l <<<"$output")" -eq 12 ]
	[ "$(field "$output" s .port)" = 443 ]
	[ "$(field "$output" s .cert_days)" = 14 ]
	[ "$(field "$output" k .min_free_bytes)" = 2147483648 ]
	[ "$(field "$output" w '.headers[0]')" = Authorization ]
	refute_output --partial s3cret # header values stay out
}

@test "validate: a bad field is named by its JSON path, and nothing else is said" {
	while IFS='~' read -r body want; do
		f=$(targets "$body")
		run sov-probe validate "$f"
		[ "$status" -eq 2 ] || { echo "accepted: $body"; false; }
		[[ $output == *"$want"* ]] || { echo "for $body: $output"; false; }
	done <<'EOF'
"x":{"type":"http","url":"ftp://x"}~targets.x.url: must start with http://
"x":{"type":"http","urll":"http://x"}~targets.x.urll: unknown field (did you mean "url"?)
"x":{"type":"tcp","host":"a"}~targets.x.port: required for this type
"x":{"type":"tcp","host":"a","port":70000}~targets.x.port
"x":{"type":"nope"}~targets.x.type: must be one of
"x":{"url":"http://x"}~targets.x.type: required
"x":{"type":"http","url":"http://x","interval":"5s","timeout":"10s"}~timeout (10s) is longer than interval (5s)
"x":{"type":"http","url":"http://x","jq":".a |||"}~targets.x.jq: jq: error
"x":{"type":"http","url":"http://x","alerts":["nobody"]}~targets.x.alerts[0]: no alert named "nobody"
"x":{"type":"postgres","url":"postgres://u:pw@h/db"}~holds a password
"x":{"type":"dns","query_name":"a","server":"::1"}~targets.x.server: must be an IPv4 address
"x":{"type":"wireguard","interface":"wg0","peers":["short"]}~targets.x.peers[0]: not a WireGuard public key
"x":{"type":"http","url":"http://x","headers":{"A":"b\nc"}}~targets.x.headers.A
"X Y":{"type":"tcp","host":"a","port":1}~a target name must be
"x":{"type":"disk","path":"relative"}~targets.x.path: must be an absolute path
"x":{"type":"http","url":"http://x","cert_days":5}~cert_days needs an https:// url
EOF
}

@test "validate: 300 http conditions are compiled together; a bad one among them is named with jq's words" {
	python3 -c '
import json, sys
t = {"t%03d" % i: {"type": "http", "url": "http://127.0.0.1:1/", "jq": ".n == %d" % i} for i in range(300)}
t["t250"]["jq"] = ".n == |"
t["t100"]["jq"] = "{.a"
json.dump({"targets": t}, open(sys.argv[1], "w"))' "$BATS_TEST_TMPDIR/many.json"
	run sov-probe validate "$BATS_TEST_TMPDIR/many.json"
	assert_failure 2
	# the first bad one in document order, as if each were compiled alone
	assert_output --partial "many.json: targets.t100.jq: jq: error"
	refute_output --partial t250
	jq '.targets.t100.jq = ".ok" | .targets.t250.jq = "(.n // 0) >= 0"' \
		"$BATS_TEST_TMPDIR/many.json" >"$BATS_TEST_TMPDIR/good.json"
	run sov-probe validate "$BATS_TEST_TMPDIR/good.json"
	assert_success
	[ "$(grep -c '"event":"target"' <<<"$output")" -eq 300 ]
	[ "$(field "$output" t250 .jq)" = "(.n // 0) >= 0" ]
}

@test "validate: truncated, binary, oversized and doubly defined input" {
	printf '{"targets":{"x":{"type":"tcp"' >"$BATS_TEST_TMPDIR/cut.json"
	run sov-probe validate "$BATS_TEST_TMPDIR/cut.json"
	assert_failure 2
	assert_output --partial cut.json
	head -c 3000 /dev/urandom >"$BATS_TEST_TMPDIR/bin.json"
	run sov-probe validate "$BATS_TEST_TMPDIR/bin.json"
	assert_failure 2
	python3 -c 'print("{\"targets\":{" + ",".join("\"t%d\":{\"type\":\"tcp\",\"host\":\"h\",\"port\":1,\"description\":\"%s\"}" % (i, "x"*3000) for i in range(2000)) + "}}")' >"$BATS_TEST_TMPDIR/big.json"
	run sov-probe validate "$BATS_TEST_TMPDIR/big.json"
	assert_failure 2
	assert_output --partial "over the cap"
	mkdir "$BATS_TEST_TMPDIR/d"
	echo '{"targets":{"a":{"type":"tcp","host":"h","port":1}}}' >"$BATS_TEST_TMPDIR/d/1.json"
	echo '{"targets":{"a":{"type":"disk","path":"/"}}}' >"$BATS_TEST_TMPDIR/d/2.json"
	echo 'not json, and not read' >"$BATS_TEST_TMPDIR/d/notes.txt"
	run sov-probe validate "$BATS_TEST_TMPDIR/d"
	assert_failure 2
	assert_output --partial 'target "a" is defined twice: in '"$BATS_TEST_TMPDIR/d/1.json and $BATS_TEST_TMPDIR/d/2.json"
	rm "$BATS_TEST_TMPDIR/d/2.json"
	echo '{"defaults":{"interval":"5m"},"targets":{"b":{"type":"disk","path":"/"}}}' >"$BATS_TEST_TMPDIR/d/2.json"
	run sov-probe validate "$BATS_TEST_TMPDIR/d"
	assert_success
	[ "$(field "$output" a .interval)" = 30s ] # defaults are per file
	[ "$(field "$output" b .interval)" = 5m ]
}

@test "run: http against nginx: status, body, jq, redirects, size and time limits" {
	need_nginx
	u="http://127.0.0.1:$HTTP_PORT"
	f=$(targets '"ok":{"type":"http","url":"'$u'/h.json","jq":".n > 2","contains":"ok"},
	 "jqfalse":{"type":"http","url":"'$u'/h.json","jq":".n > 5"},
	 "notjson":{"type":"http","url":"'$u'/index.html","jq":".ok"},
	 "missing":{"type":"http","url":"'$u'/nope"},
	 "teapot":{"type":"http","url":"'$u'/teapot","status":[418]},
	 "loop":{"type":"http","url":"'$u'/loop","redirects":3},
	 "big":{"type":"http","url":"'$u'/big.txt","read_max":1000},
	 "slow":{"type":"http","url":"'$u'/slow","timeout":"1s"},
	 "nohost":{"type":"http","url":"http://no-such-host.invalid/"}')
	run sov-probe run --targets "$f"
	assert_failure 1
	[ "$(field "$output" ok .up)" = true ]
	[ "$(field "$output" ok .status)" = 200 ]
	[ "$(field "$output" teapot .up)" = true ]
	[[ $(field "$output" jqfalse .error) == "the body does not pass .n > 5" ]]
	[[ $(field "$output" notjson .error) == "the body is not JSON"* ]]
	[ "$(field "$output" missing .error)" = "status 404" ]
	[[ $(field "$output" loop .error) == *"redirects"* ]]
	[[ $(field "$output" big .error) == *"larger than 1000 bytes"* ]]
	[[ $(field "$output" slow .error) == *"imeout"* || $(field "$output" slow .error) == *"timed out"* ]]
	[ "$(field "$output" slow .up)" = false ]
	[[ $(field "$output" nohost .error) == *"resolve"* ]]
}

@test "run: tls and https: days left, the CA, the name, a closed port" {
	need_nginx
	f=$(targets '"tls":{"type":"tls","host":"127.0.0.1","port":'$TLS_PORT',"server_name":"probe.test","ca_file":"'$PDIR/cert.pem'"},
	 "soon":{"type":"tls","host":"127.0.0.1","port":'$TLS_PORT',"server_name":"probe.test","ca_file":"'$PDIR/cert.pem'","cert_days":60},
	 "untrusted":{"type":"tls","host":"127.0.0.1","port":'$TLS_PORT',"server_name":"probe.test"},
	 "wrongname":{"type":"tls","host":"127.0.0.1","port":'$TLS_PORT',"server_name":"other.test","ca_file":"'$PDIR/cert.pem'"},
	 "closed":{"type":"tcp","host":"127.0.0.1","port":1},
	 "open":{"type":"tcp","host":"127.0.0.1","port":'$HTTP_PORT'}')
	run sov-probe run --targets "$f"
	assert_failure 1
	[ "$(field "$output" tls .up)" = true ]
	days=$(field "$output" tls .cert_days_left)
	awk -v d="$days" 'BEGIN { exit !(d > 29 && d <= 30) }'
	[[ $(field "$output" soon .error) == "the certificate expires in "*"fewer than 60" ]]
	[ "$(field "$output" untrusted .up)" = false ]
	[ "$(field "$output" wrongname .up)" = false ]
	[ "$(field "$output" closed .up)" = false ]
	[ "$(field "$output" open .up)" = true ]
}

teardown() {
	[ ! -f "$BATS_TEST_TMPDIR/named.pid" ] || kill "$(cat "$BATS_TEST_TMPDIR/named.pid")" 2>/dev/null || true
	[ -z "${SILENT_PID:-}" ] || kill "$SILENT_PID" 2>/dev/null || true
	# a daemon left by a failed test would probe on for ever
	[ -z "${DPID:-}" ] || kill -9 "$DPID" 2>/dev/null || true
}

@test "run: dns against a real named: each record type, expect, NXDOMAIN, no data, REFUSED, SERVFAIL, silence, a closed port" {
	command -v named >/dev/null || skip "named missing (Debian's bind9)"
	command -v dig >/dev/null || skip "dig missing (Debian's bind9-dnsutils)"
	n=$BATS_TEST_TMPDIR
	port=$(free_port)
	cat >"$n/named.conf" <<EOF
options { directory "$n"; pid-file "$n/named.pid"; listen-on port $port { 127.0.0.1; };
	listen-on-v6 { none; }; recursion no; dnssec-validation no; };
controls { };
zone "sov.test" { type primary; file "$n/sov.test.zone"; };
zone "broken.test" { type primary; file "$n/broken.zone"; };
EOF
	{
		echo '$TTL 60'
		echo '@ IN SOA ns.sov.test. root.sov.test. 1 60 60 600 60'
		echo '@ IN NS ns.sov.test.'
		echo 'ns IN A 127.0.0.1'
		echo 'www IN A 192.0.2.10'
		echo 'www IN A 192.0.2.11'
		echo 'www IN AAAA 2001:db8::10'
		echo '@ IN MX 10 mx.sov.test.'
		echo '@ IN TXT "v=spf1 -all"'
		echo 'alias IN CNAME www.sov.test.'
	} >"$n/sov.test.zone"
	echo 'not a zone' >"$n/broken.zone" # named answers SERVFAIL for it
	named -c "$n/named.conf" 2>"$n/named.err" || fail "named did not start: $(cat "$n/named.err")"
	wait_for 10 sh -c "dig +time=1 +tries=1 +short -p $port @127.0.0.1 www.sov.test | grep -q 192.0.2.10"
	silent=$(free_port) # a UDP socket that never answers
	python3 -c "import socket,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('127.0.0.1',$silent)); time.sleep(60)" &
	SILENT_PID=$!
	closed=$(free_port)
	srv="\"server\":\"127.0.0.1:$port\""
	f=$(targets '"a":{"type":"dns","query_name":"www.sov.test",'"$srv"',"expect":["192.0.2.10","192.0.2.11"]},
	 "aaaa":{"type":"dns","query_name":"www.sov.test","record":"AAAA",'"$srv"',"expect":["2001:db8::10"]},
	 "mx":{"type":"dns","query_name":"sov.test","record":"MX",'"$srv"',"expect":["10 mx.sov.test"]},
	 "txt":{"type":"dns","query_name":"sov.test","record":"TXT",'"$srv"',"expect":["v=spf1 -all"]},
	 "cname":{"type":"dns","query_name":"alias.sov.test","record":"CNAME",'"$srv"',"expect":["www.sov.test"]},
	 "ns":{"type":"dns","query_name":"sov.test","record":"NS",'"$srv"',"expect":["ns.sov.test"]},
	 "wrong":{"type":"dns","query_name":"www.sov.test",'"$srv"',"expect":["192.0.2.99"]},
	 "nx":{"type":"dns","query_name":"nope.sov.test",'"$srv"'},
	 "nodata":{"type":"dns","query_name":"www.sov.test","record":"MX",'"$srv"'},
	 "refused":{"type":"dns","query_name":"www.example.com",'"$srv"'},
	 "servfail":{"type":"dns","query_name":"www.broken.test",'"$srv"'},
	 "silent":{"type":"dns","query_name":"www.sov.test","server":"127.0.0.1:'$silent'","timeout":"1s"},
	 "closed":{"type":"dns","query_name":"www.sov.test","server":"127.0.0.1:'$closed'"}')
	wait_for 5 sh -c "ss -lun | grep -q '127.0.0.1:$silent '"
	run sov-probe run --targets "$f"
	assert_failure 1
	for t in a aaaa mx txt cname ns; do
		[ "$(field "$output" $t .up)" = true ] || fail "$t: $(field "$output" $t .error)"
	done
	[ "$(field "$output" a '.answers | sort | join(",")')" = "192.0.2.10,192.0.2.11" ]
	[ "$(field "$output" wrong .error)" = 'www.sov.test: no A record "192.0.2.99"' ]
	[ "$(field "$output" nx .error)" = "nope.sov.test: no such name (NXDOMAIN)" ]
	[ "$(field "$output" nodata .error)" = "www.sov.test: no record of this type" ]
	[ "$(field "$output" refused .error)" = "www.example.com: the server refused the query (REFUSED, FORMERR or NOTIMP)" ]
	[ "$(field "$output" servfail .error)" = "www.broken.test: the server failed (SERVFAIL)" ]
	[ "$(field "$output" silent .error)" = "www.sov.test: no answer within 1000 ms" ]
	[ "$(field "$output" closed .error)" = "www.sov.test: nothing listens on the server's port (port unreachable)" ]
}

@test "run: disk, sqlite (a corrupted file too), command, backup freshness" {
	db="$BATS_TEST_TMPDIR/a.db"
	sqlite3 "$db" 'create table t(x); insert into t select randomblob(500) from generate_series(1,400);' 2>/dev/null ||
		sqlite3 "$db" 'create table t(x); with recursive c(i) as (select 1 union all select i+1 from c where i<400) insert into t select randomblob(500) from c;'
	cp "$db" "$BATS_TEST_TMPDIR/bad.db"
	# garble a page in the middle of the table
	printf '\xff%.0s' $(seq 1 2000) | dd of="$BATS_TEST_TMPDIR/bad.db" bs=1 seek=40000 conv=notrunc 2>/dev/null
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	f=$(targets '"root":{"type":"disk","path":"/"},
	 "full":{"type":"disk","path":"/","min_free_percent":100},
	 "db":{"type":"sqlite","path":"'$db'"},
	 "bad":{"type":"sqlite","path":"'$BATS_TEST_TMPDIR/bad.db'"},
	 "gone":{"type":"sqlite","path":"'$BATS_TEST_TMPDIR/gone.db'"},
	 "cmd":{"type":"command","argv":["printf","{\"n\":3}"],"jq":".n == 3"},
	 "crash":{"type":"command","argv":["sh","-c","echo oops >&2; kill -SEGV $$"]},
	 "hang":{"type":"command","argv":["sleep","30"],"timeout":"300ms"},
	 "budget":{"type":"command","argv":["sleep","0.3"],"latency":"100ms"},
	 "chatty":{"type":"command","argv":["sh","-c","yes"],"read_max":1000},
	 "fresh":{"type":"backup","argv":["printf","{\"ts\":\"'$now'\"}\\n{\"ts\":\"2020-01-01T00:00:00Z\"}\\n"],"max_age":"1h"},
	 "stale":{"type":"backup","argv":["printf","{\"ts\":\"2020-01-01T00:00:00Z\"}\\n"],"max_age":"1h"},
	 "garbage":{"type":"backup","argv":["printf","not json\\n"],"max_age":"1h"}')
	SECONDS=0
	run sov-probe run --targets "$f"
	assert_failure 1
	[ "$SECONDS" -lt 10 ] # the hang was cut at its timeout
	[ "$(field "$output" root .up)" = true ]
	[[ $(field "$output" full .error) == "/: "*"free, below 100%" ]]
	[ "$(field "$output" db .up)" = true ]
	[ "$(field "$output" bad .up)" = false ]
	[ "$(field "$output" gone .up)" = false ]
	[ ! -e "$BATS_TEST_TMPDIR/gone.db" ] # never created by the probe
	[ "$(field "$output" cmd .up)" = true ]
	[[ $(field "$output" crash .error) == "sh: killed by signal 11: oops" ]]
	[[ $(field "$output" hang .error) == "sleep: timed out after 300 ms" ]]
	[[ $(field "$output" budget .error) == "took "*" ms, over the 100 ms budget" ]]
	[[ $(field "$output" chatty .error) == *"output cap"* ]]
	[ "$(field "$output" fresh .up)" = true ]
	[ "$(field "$output" fresh .records)" = 2 ]
	[[ $(field "$output" stale .error) == "the newest record is "*"old"* ]]
	[[ $(field "$output" garbage .error) == "printf: line 1:"* ]]
}

@test "run: a jq condition that never ends is stopped at its limit, and holds nothing else up" {
	need_nginx
	u="http://127.0.0.1:$HTTP_PORT"
	# http conditions run on the loop: at most 1 s, whatever the timeout
	f=$(targets '"spin":{"type":"http","url":"'$u'/h.json","jq":"last(range(1e15)) > 0","timeout":"5s"},
	 "ok":{"type":"http","url":"'$u'/h.json","jq":".n == 3"},
	 "cmdspin":{"type":"command","argv":["printf","{}"],"jq":"[repeat(1)] | length > 0","timeout":"300ms"},
	 "backupspin":{"type":"backup","argv":["printf","{\"ts\":\"2020-01-01T00:00:00Z\"}\\n"],"jq":"select(last(range(1e15)) > 0)","max_age":"1h","timeout":"300ms"},
	 "cmd":{"type":"command","argv":["printf","{\"n\":3}"],"jq":".n == 3"}')
	SECONDS=0
	run sov-probe run --targets "$f"
	assert_failure 1
	[ "$SECONDS" -lt 5 ]
	[ "$(field "$output" spin .error)" = "jq: $f: targets.spin.jq: timed out" ]
	[ "$(field "$output" cmdspin .error)" = "jq: $f: targets.cmdspin.jq: timed out" ]
	[ "$(field "$output" backupspin .error)" = "jq: $f: targets.backupspin.jq: timed out" ]
	[ "$(field "$output" ok .up)" = true ]
	[ "$(field "$output" cmd .up)" = true ]
}

@test "run: postgres: a query, a jq condition on its rows, a wrong database" {
	require_pg
	printf '%s\n' "$SOV_TEST_PG_URL" >"$BATS_TEST_TMPDIR/url"
	bad=${SOV_TEST_PG_URL/\/\/*\//\/\/\/}
	f=$(targets '"pg":{"type":"postgres","url_file":"'$BATS_TEST_TMPDIR/url'","query":"select 41 + 1 as n","jq":".[0].n == 42"},
	 "pgno":{"type":"postgres","url_file":"'$BATS_TEST_TMPDIR/url'","query":"select 1 as n","jq":".[0].n == 2"},
	 "pgbad":{"type":"postgres","url_file":"'$BATS_TEST_TMPDIR/url'","query":"select * from no_such_table"}')
	run sov-probe run --targets "$f"
	assert_failure 1
	[ "$(field "$output" pg .up)" = true ]
	[ "$(field "$output" pgno .up)" = false ]
	[[ $(field "$output" pgbad .error) == *no_such_table* ]]
	run sov-probe run --targets "$f" nosuch
	assert_failure 2
	assert_output --partial 'no target named "nosuch"'
}

@test "run: measurements go to the store when one is named" {
	f=$(targets '"root":{"type":"disk","path":"/","tags":{"site":"hq"}}')
	run sov-probe run --targets "$f" --metrics "sqlite:$BATS_TEST_TMPDIR/m.db"
	assert_success
	run sqlite3 "$BATS_TEST_TMPDIR/m.db" "select name, json_extract(tags,'$.target'), json_extract(tags,'$.site') from measurements order by name"
	assert_output "probe.disk.free|root|hq
probe.disk.inodes_free|root|hq
probe.seconds|root|hq
probe.up|root|hq"
}

@test "valgrind: run and status lose no memory (every result's fields are freed)" {
	command -v valgrind >/dev/null || skip "valgrind is not installed (make deps)"
	need_nginx
	vg=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99)
	f=$(targets '"root":{"type":"disk","path":"/"},
	 "web":{"type":"http","url":"http://127.0.0.1:'$HTTP_PORT'/h.json","jq":".ok","headers":{"X-A":"b"}},
	 "cmd":{"type":"command","argv":["true"]}')
	run "${vg[@]}" "$SOV_BUILD/sov-probe" run --targets "$f" --metrics "sqlite:$BATS_TEST_TMPDIR/m.db"
	assert_success
	mkdir -p "$BATS_TEST_TMPDIR/state"
	echo '{"ts":"2026-11-23T00:00:00.000Z","targets":{"a":{"type":"disk","state":"up","last":{"error":null}}}}' \
		>"$BATS_TEST_TMPDIR/state/state.json"
	run "${vg[@]}" "$SOV_BUILD/sov-probe" status --format json --state "$BATS_TEST_TMPDIR/state/state.json"
	assert_success
}

# the daemon in the background; $DPID, output in $D/out
start_daemon() {
	D=$BATS_TEST_TMPDIR
	SOV_STATE_DIR="$D/state" sov-probe daemon "$@" >"$D/out" 2>"$D/err" &
	DPID=$!
}

@test "daemon: down after N failures, up again, an alert with the event, status, SIGTERM" {
	need_nginx
	flag="$BATS_TEST_TMPDIR/flag"
	echo '{"ok":true}' >"$PDIR/www/flag.json"
	cat >"$BATS_TEST_TMPDIR/t.json" <<EOF
{"defaults":{"interval":"1s","timeout":"800ms"},
 "alerts":{"log":{"command":["sh","-c","cat >> $BATS_TEST_TMPDIR/alerts"]},
           "broken":{"command":["false"]}},
 "targets":{"web":{"type":"http","url":"http://127.0.0.1:$HTTP_PORT/flag.json","jq":".ok",
                   "failures":3,"alerts":["log","broken"]},
            "root":{"type":"disk","path":"/"}}}
EOF
	mkdir "$BATS_TEST_TMPDIR/page"
	start_daemon --targets "$BATS_TEST_TMPDIR/t.json" --metrics "sqlite:$BATS_TEST_TMPDIR/m.db" \
		--page "$BATS_TEST_TMPDIR/page" --page-every 1s
	wait_for 10 grep -q '"target":"web".*"to":"up"' "$D/out"
	echo '{"ok":false}' >"$PDIR/www/flag.json"
	wait_for 15 grep -q '"to":"down"' "$D/out"
	# three failures in a row, not one
	run jq -c 'select(.to == "down") | [.from, .streak, .error]' "$D/out"
	assert_output '["up",3,"the body does not pass .ok"]'
	wait_for 5 test -s "$BATS_TEST_TMPDIR/alerts"
	run jq -r '.target + " " + .to' "$BATS_TEST_TMPDIR/alerts"
	assert_output "web down"
	SOV_STATE_DIR="$D/state" run sov-probe status --format json web
	assert_failure 1
	[ "$(jq -r .state <<<"$output")" = down ]
	echo '{"ok":true}' >"$PDIR/www/flag.json"
	wait_for 10 grep -q '"from":"down","to":"up"' "$D/out"
	wait_for 5 grep -q '"alert":"broken".*"ok":false' "$D/out"
	kill -TERM "$DPID"
	wait "$DPID"
	grep -q 'alert broken: false: exit 1' "$D/err"
	SOV_STATE_DIR="$D/state" run sov-probe status --format json
	assert_success
	[ "$(jq -r 'select(.target=="web") | .state' <<<"$output")" = up ]
	[ "$(sqlite3 "$D/m.db" "select count(*) from measurements where name='probe.up' and value=0")" -ge 3 ]
	# the page the daemon wrote last names both targets
	grep -q '>web<' "$BATS_TEST_TMPDIR/page/index.html"
	grep -q '>root<' "$BATS_TEST_TMPDIR/page/index.html"
}

@test "daemon: SIGHUP reloads (a bad file keeps the old targets), a restart keeps states" {
	cat >"$BATS_TEST_TMPDIR/t.json" <<EOF
{"defaults":{"interval":"1s"},"targets":{"full":{"type":"disk","path":"/","min_free_percent":100}}}
EOF
	start_daemon --targets "$BATS_TEST_TMPDIR/t.json"
	wait_for 10 grep -q '"target":"full".*"to":"down"' "$D/out"
	echo '{"targets":{"full":' >"$BATS_TEST_TMPDIR/t.json"
	kill -HUP "$DPID"
	wait_for 10 grep -q 'reload: .*the old targets stay' "$D/err"
	echo '{"defaults":{"interval":"1s"},"targets":{"full":{"type":"disk","path":"/","min_free_percent":100},"ok":{"type":"disk","path":"/"}}}' >"$BATS_TEST_TMPDIR/t.json"
	kill -HUP "$DPID"
	wait_for 10 grep -q 'reloaded: 2 targets' "$D/err"
	wait_for 10 grep -q '"target":"ok".*"to":"up"' "$D/out"
	kill -TERM "$DPID"
	wait "$DPID"
	# "full" kept its state across the reload and across a restart: one event
	[ "$(grep -c '"probe.state","target":"full"' "$D/out")" -eq 1 ]
	start_daemon --targets "$BATS_TEST_TMPDIR/t.json"
	sleep 3
	kill -TERM "$DPID"
	wait "$DPID"
	[ "$(grep -c '"probe.state","target":"full"' "$D/out")" -eq 0 ]
}

@test "daemon: a locked store: probing goes on, measurements are written later" {
	db="$BATS_TEST_TMPDIR/m.db"
	f=$(targets '"root":{"type":"disk","path":"/","interval":"1s"}')
	start_daemon --targets "$f" --metrics "sqlite:$db"
	wait_for 10 test -s "$D/state/state.json"
	wait_for 10 sh -c "[ \$(sqlite3 '$db' 'select count(*) from measurements') -gt 0 ]"
	# hold the write lock for 8 s
	(echo 'BEGIN EXCLUSIVE;'; sleep 8; echo 'COMMIT;') | sqlite3 "$db" &
	lock=$!
	sleep 1
	before=$(jq '.targets.root.checks' "$D/state/state.json")
	wait_for 20 grep -q 'measurements kept for later' "$D/err"
	sleep 6
	after=$(jq '.targets.root.checks' "$D/state/state.json")
	[ "$after" -gt "$((before + 3))" ] # still probing while locked
	wait "$lock"
	wait_for 10 grep -q 'the store is back' "$D/err"
	kill -TERM "$DPID"
	wait "$DPID"
	n=$(sqlite3 "$db" "select count(*) from measurements where name='probe.up'")
	checks=$(jq '.targets.root.checks' "$D/state/state.json")
	[ "$n" -eq "$checks" ] # nothing lost, nothing twice
}

@test "daemon: 300 targets going down at once write the state file about once a second, not 300 times" {
	port=$(free_port) # nothing listens: every connect is refused at once
	body=$(for i in $(seq 300); do printf '"t%d":{"type":"tcp","host":"127.0.0.1","port":%d},' "$i" "$port"; done)
	printf '{"defaults":{"interval":"1s","timeout":"500ms"},"targets":{%s}}\n' "${body%,}" >"$BATS_TEST_TMPDIR/t.json"
	start_daemon --targets "$BATS_TEST_TMPDIR/t.json"
	wait_for 15 sh -c "[ \$(grep -c '\"to\":\"down\"' '$BATS_TEST_TMPDIR/out') -eq 300 ]"
	sleep 2
	kill -TERM "$DPID"
	wait "$DPID"
	# every change is in the file the daemon left ...
	[ "$(jq '[.targets[] | select(.state == "down")] | length' "$D/state/state.json")" -eq 300 ]
	# ... written a few times a second at most, not once per event
	run grep -o 'the state file written [0-9]* times' "$D/err"
	assert_success
	writes=$(grep -o '[0-9]*' <<<"$output")
	elapsed=$(grep -o 'stopped after [0-9]* probes' "$D/err")
	echo "# $elapsed, $writes state writes" >&3
	[ "$writes" -ge 2 ]
	[ "$writes" -le 20 ]
}

@test "daemon: a store away past --buffer: the oldest measurements dropped and counted, the newest written" {
	db="$BATS_TEST_TMPDIR/m.db"
	body=$(for i in $(seq 10); do printf '"d%d":{"type":"disk","path":"/","interval":"1s"},' "$i"; done)
	f=$(targets "${body%,}")
	start_daemon --targets "$f" --metrics "sqlite:$db" --buffer 100
	wait_for 10 sh -c "[ \$(sqlite3 '$db' 'select count(*) from measurements') -gt 0 ]"
	(echo 'BEGIN EXCLUSIVE;'; sleep 6; echo 'COMMIT;') | sqlite3 "$db" &
	lock=$!
	wait_for 20 grep -q 'measurements kept for later' "$D/err"
	wait "$lock"
	wait_for 30 grep -q 'the store is back' "$D/err"
	stop=$(date +%s)
	kill -TERM "$DPID"
	wait "$DPID"
	run grep -o '[0-9]* measurements dropped' "$D/err"
	assert_success
	dropped=${output%% *}
	[ "$dropped" -gt 0 ]
	# every probe counted in the state; fewer rows than probes, by what was dropped
	checks=$(jq '[.targets[].checks] | add' "$D/state/state.json")
	rows=$(sqlite3 "$db" "select count(*) from measurements where name='probe.up'")
	[ "$rows" -lt "$checks" ]
	# the newest were kept: the last probes before the stop are there
	last=$(sqlite3 "$db" "select cast(strftime('%s', max(ts)) as int) from measurements where name='probe.up'")
	[ "$((stop - last))" -le 3 ]
	grep -q 'oldest dropped past --buffer 100' "$D/err"
}

@test "status: no state file yet, bad options" {
	SOV_STATE_DIR="$BATS_TEST_TMPDIR/none" run sov-probe status
	assert_failure 2
	assert_output --partial "no daemon has written it yet"
	run sov-probe status --format xml
	assert_failure 2
	run sov-probe daemon extra
	assert_failure 2
}
