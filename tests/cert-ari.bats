#!/usr/bin/env bats
# cert-ari.bats - sov-cert's renewal decisions: ACME Renewal Information
# (RFC 9773), certificate profiles, key reuse, short lifetimes, the random
# delay, issue's measurements. Debian's pebble 2.4 predates ARI and
# profiles, so those go through tests/cert/ari-standin.py, a STAND-IN in
# front of the real pebble (it adds renewalInfo and meta.profiles to the
# directory, answers renewalInfo itself and forwards everything else).

load helpers/common
load helpers/pebble

setup_file() {
	pebble_up ari || return 0
	export CFG="$CDIR/standin.json" LOG="$CDIR/standin.log"
	echo '{"renewal_info": true}' >"$CFG"
	: >"$LOG"
	python3 "$BATS_TEST_DIRNAME/cert/ari-standin.py" "$CFG" "$LOG" \
		"${PEBBLE_DIR%/dir}" "$PEBBLE_CA" "$CDIR/pebble/pebble-key.pem" \
		>"$CDIR/standin.port" 2>"$CDIR/standin.err" 3>&- &
	echo $! >"$CDIR/standin.pid"
	for _ in $(seq 50); do
		[ -s "$CDIR/standin.port" ] && break
		sleep 0.1
	done
	export SDIR="https://127.0.0.1:$(cat "$CDIR/standin.port")/dir"
	export ST="$CDIR/state"
	export C="--state $ST --server $SDIR --ca-file $PEBBLE_CA"
	export R="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"
	sov-cert account $C --agree-tos >"$CDIR/account.out" 2>&1 ||
		export NO_PEBBLE="no account through the stand-in: $(cat "$CDIR/account.out")"
}

teardown_file() {
	[ ! -f "$CDIR/standin.pid" ] || kill "$(cat "$CDIR/standin.pid")" 2>/dev/null
	[ -z "${HELPER:-}" ] || "$HELPER" stop "$CDIR/pebble"
	true
}

need_pebble() {
	[ -z "${NO_PEBBLE:-}" ] || skip "$NO_PEBBLE"
}

teardown() { # the short-lifetime test's own pebble, however it ended
	[ ! -f "$BATS_TEST_TMPDIR/p/pebble.pid" ] || "$HELPER" stop "$BATS_TEST_TMPDIR/p"
}

# cfg JSON: what the stand-in answers from now on
cfg() { echo "$1" >"$CFG"; }

# certid PEM: the ARI CertID computed with openssl, not with sov-cert
certid() {
	local aki serial
	aki=$(openssl x509 -noout -ext authorityKeyIdentifier -in "$1" |
		sed -n 2p | sed 's/^ *keyid://' | tr -d ' :')
	serial=$(openssl x509 -noout -serial -in "$1" | cut -d= -f2)
	python3 - "$aki" "$serial" <<'EOF'
import base64, sys
def b(x): return base64.urlsafe_b64encode(x).decode().rstrip("=")
s = sys.argv[2]
s = ("0" if len(s) % 2 else "") + s
d = bytes.fromhex(s)
if d[0] & 0x80:
    d = b"\0" + d
print(b(bytes.fromhex(sys.argv[1])) + "." + b(d))
EOF
}

# fetches CERTID: how many renewalInfo requests the stand-in saw for it
fetches() { grep -c "^renewalInfo $1\$" "$LOG" || true; }

@test "ARI: issue keeps the CertID; a window in the past renews now, with replaces in the new order" {
	need_pebble
	cfg '{"renewal_info": true, "window": [-7200, -3600], "retry_after": 3600}'
	run sov-cert issue past --domain past.sov.test $R $C
	assert_success
	id=$(certid "$ST/certs/past/cert.pem")
	[ "$(jq -r .ari.cert_id "$ST/certs/past/meta.json")" = "$id" ]
	[ "$(fetches "$id")" = 0 ]
	run sov-cert renew past $C
	assert_success
	[ "$(jq -r .action <<<"$output")" = renewed ]
	[ "$(jq -r .replaces <<<"$output")" = "$id" ]
	[ "$(fetches "$id")" = 1 ]
	# the newOrder the stand-in forwarded to pebble said what it replaces
	grep "^newOrder " "$LOG" | tail -1 | cut -d' ' -f2- | jq -e --arg id "$id" '.replaces == $id'
	# the new certificate has its own CertID, nothing asked about it yet
	new=$(certid "$ST/certs/past/cert.pem")
	[ "$new" != "$id" ]
	[ "$(jq -c .ari "$ST/certs/past/meta.json")" = "{\"cert_id\":\"$new\"}" ]
}

@test "ARI: a window in the future is skipped; window, instant and next poll kept; no fetch before Retry-After" {
	need_pebble
	cfg '{"renewal_info": true, "window": ["2030-01-01T00:00:00Z", "2030-01-03T00:00:00Z"],
		"retry_after": 7200, "explanation": "https://ca.test/why"}'
	run sov-cert issue future --domain future.sov.test $R $C
	assert_success
	id=$(certid "$ST/certs/future/cert.pem")
	old=$(openssl x509 -noout -serial -in "$ST/certs/future/cert.pem")
	run sov-cert renew future $C
	assert_success
	[ "$(jq -r .action <<<"$output")" = skipped ]
	m="$ST/certs/future/meta.json"
	[ "$(jq -r .ari.window_start "$m")" = 2030-01-01T00:00:00.000Z ]
	[ "$(jq -r .ari.window_end "$m")" = 2030-01-03T00:00:00.000Z ]
	[ "$(jq -r .ari.explanation_url "$m")" = https://ca.test/why ]
	at=$(jq -r .ari.renew_at "$m")
	[[ $at > 2029-12-31T23:59:59 && $at < 2030-01-03T00:00:01 ]]
	# the Retry-After: the next poll two hours after this one
	[ $(($(date -d "$(jq -r .ari.next_poll "$m")" +%s) - $(date -d "$(jq -r .ari.checked "$m")" +%s))) = 7200 ]
	[ "$(fetches "$id")" = 1 ]
	# list shows the window and that it is not due
	run sov-cert list --state "$ST"
	assert_success
	line=$(grep '"name":"future"' <<<"$output")
	[ "$(jq -r .ari.window_start <<<"$line")" = 2030-01-01T00:00:00.000Z ]
	[ "$(jq -r .ari.renew_at <<<"$line")" = "$at" ]
	[ "$(jq -r .due <<<"$line")" = false ]
	# a second run before the Retry-After has passed asks nothing (the
	# stand-in would now say renew), even with the CA down
	cfg '{"renewal_info": true, "window": [-7200, -3600]}'
	run sov-cert renew future --state "$ST" --server https://127.0.0.1:1/dir
	assert_success
	[ "$(jq -r .action <<<"$output")" = skipped ]
	run sov-cert renew future $C
	assert_success
	[ "$(jq -r .action <<<"$output")" = skipped ]
	[ "$(fetches "$id")" = 1 ]
	# once it has passed, asked again: the same window keeps its instant
	cfg '{"renewal_info": true, "window": ["2030-01-01T00:00:00Z", "2030-01-03T00:00:00Z"]}'
	jq '.ari.next_poll = "2020-01-01T00:00:00.000Z"' "$m" >"$m.t" && mv "$m.t" "$m"
	run sov-cert renew future $C
	assert_success
	[ "$(jq -r .action <<<"$output")" = skipped ]
	[ "$(fetches "$id")" = 2 ]
	[ "$(jq -r .ari.renew_at "$m")" = "$at" ]
	# no Retry-After: six hours
	[ $(($(date -d "$(jq -r .ari.next_poll "$m")" +%s) - $(date -d "$(jq -r .ari.checked "$m")" +%s))) = 21600 ]
	# a window moved into the past: renewed on the next poll
	cfg '{"renewal_info": true, "window": [-60, -30]}'
	jq '.ari.next_poll = "2020-01-01T00:00:00.000Z"' "$m" >"$m.t" && mv "$m.t" "$m"
	run sov-cert renew future $C
	assert_success
	[ "$(jq -r .action <<<"$output")" = renewed ]
	[ "$(fetches "$id")" = 3 ]
	[ "$(openssl x509 -noout -serial -in "$ST/certs/future/cert.pem")" != "$old" ]
}

@test "ARI: renewalInfo failing or malformed falls back to a third of the lifetime, with a warning" {
	need_pebble
	cfg '{"renewal_info": true, "ari_status": 500}'
	run sov-cert issue flaky --domain flaky.sov.test $R $C
	assert_success
	id=$(certid "$ST/certs/flaky/cert.pem")
	run sov-cert renew flaky $C
	assert_success
	[[ $output == *"renewal information: renewalInfo: "*"HTTP 500: the stand-in's renewalInfo is down"* ]]
	line=$(grep '"event":"renew"' <<<"$output")
	[ "$(jq -r .action <<<"$line")" = skipped ]
	[[ $(jq -r .ari_error <<<"$line") == *"HTTP 500"* ]]
	# nothing kept: the next run asks again
	[ "$(jq -c .ari "$ST/certs/flaky/meta.json")" = "{\"cert_id\":\"$id\"}" ]
	# a window whose end is not after its start is refused, nothing kept
	cfg '{"renewal_info": true, "window": [3600, 60]}'
	run sov-cert renew flaky $C
	assert_success
	[[ $output == *"suggestedWindow: end is not after start"* ]]
	[ "$(jq -c .ari "$ST/certs/flaky/meta.json")" = "{\"cert_id\":\"$id\"}" ]
	# 500 is retried by the HTTP client (3 attempts), then one more poll
	[ "$(fetches "$id")" = 4 ]
}

@test "no renewalInfo in the directory: no ARI kept, a third of the lifetime decides, nothing asked" {
	need_pebble
	cfg '{"renewal_info": false}'
	run sov-cert issue plain --domain plain.sov.test $R $C
	assert_success
	[ "$(jq -r 'has("ari")' "$ST/certs/plain/meta.json")" = false ]
	before=$(grep -c '^renewalInfo' "$LOG" || true)
	# not due by a third of its lifetime: skipped with the CA down
	run sov-cert renew plain --state "$ST" --server https://127.0.0.1:1/dir
	assert_success
	[ "$(jq -r .action <<<"$output")" = skipped ]
	run sov-cert renew plain --force $C
	assert_success
	[ "$(jq -r .action <<<"$output")" = renewed ]
	[ "$(jq -r 'has("replaces")' <<<"$output")" = false ]
	grep "^newOrder " "$LOG" | tail -1 | cut -d' ' -f2- | jq -e 'has("replaces") | not'
	[ "$(grep -c '^renewalInfo' "$LOG" || true)" = "$before" ]
}

@test "profiles: chosen on issue and kept for renew; one the CA does not offer is refused before any order" {
	need_pebble
	cfg '{"renewal_info": true, "profiles": {"classic": "the default", "shortlived": "6 days"}}'
	run sov-cert issue prof --domain prof.sov.test --profile shortlived $R $C
	assert_success
	[ "$(jq -r .profile <<<"$output")" = shortlived ]
	[ "$(jq -r .profile "$ST/certs/prof/meta.json")" = shortlived ]
	grep "^newOrder " "$LOG" | tail -1 | cut -d' ' -f2- | jq -e '.profile == "shortlived"'
	run sov-cert renew prof --force $C
	assert_success
	[ "$(jq -r .action <<<"$output")" = renewed ]
	grep "^newOrder " "$LOG" | tail -1 | cut -d' ' -f2- | jq -e '.profile == "shortlived"'
	[ "$(jq -r .profile "$ST/certs/prof/meta.json")" = shortlived ]
	orders=$(grep -c '^newOrder' "$LOG")
	run sov-cert issue nope --domain nope.sov.test --profile tiny $R $C
	assert_failure 2
	assert_output --partial "--profile tiny: $SDIR offers only"
	assert_output --partial shortlived
	[ "$(grep -c '^newOrder' "$LOG")" = "$orders" ]
	[ ! -e "$ST/certs/nope" ]
	# the CA stops offering it: renew fails and says so, the old one stays
	cfg '{"renewal_info": true}'
	run sov-cert renew prof --force $C
	assert_failure 1
	assert_output --partial "--profile shortlived: $SDIR offers no profiles"
	[ -f "$ST/certs/prof/cert.pem" ]
	run sov-cert issue bad --profile 'a b' $R $C
	assert_failure 2
	assert_output --partial "--profile: 1 to 64 of"
}

@test "--reuse-key: the certificate key is kept across renewals (meta.json says so); without it a new one" {
	need_pebble
	cfg '{"renewal_info": true}'
	run sov-cert issue keep --domain keep.sov.test --reuse-key $R $C
	assert_success
	[ "$(jq -r .key_reused <<<"$output")" = false ]
	[ "$(jq -r .reuse_key "$ST/certs/keep/meta.json")" = true ]
	k=$(openssl pkey -pubout -in "$ST/certs/keep/key.pem")
	s=$(openssl x509 -noout -serial -in "$ST/certs/keep/cert.pem")
	run sov-cert renew keep --force $C
	assert_success
	[ "$(openssl pkey -pubout -in "$ST/certs/keep/key.pem")" = "$k" ]
	[ "$(openssl x509 -noout -serial -in "$ST/certs/keep/cert.pem")" != "$s" ]
	[ "$(stat -c %a "$ST/certs/keep/key.pem")" = 600 ]
	# issued again without it: a new key, and renew follows that
	run sov-cert issue keep --domain keep.sov.test $R $C
	assert_success
	[ "$(jq -r .key_reused <<<"$output")" = false ]
	[ "$(openssl pkey -pubout -in "$ST/certs/keep/key.pem")" != "$k" ]
	[ "$(jq -r .reuse_key "$ST/certs/keep/meta.json")" = false ]
	# another key type asked for: a new key of that type
	run sov-cert issue keep --domain keep.sov.test --reuse-key --key-type ec384 $R $C
	assert_success
	openssl pkey -in "$ST/certs/keep/key.pem" -noout -text | grep -q 'P-384'
}

@test "short lifetimes: a 12-second certificate from pebble is skipped, then renewed at two thirds of it" {
	need_pebble
	# a second pebble, stopped by teardown (3>&-: it must not hold bats' fd)
	PEBBLE_VALIDITY=12 "$HELPER" start "$BATS_TEST_TMPDIR/p" >/dev/null 2>&1 3>&- ||
		fail "second pebble did not start"
	. "$BATS_TEST_TMPDIR/p/env"
	c="--state $BATS_TEST_TMPDIR/st --server $PEBBLE_DIR --ca-file $PEBBLE_CA"
	run sov-cert account $c --agree-tos
	assert_success
	run sov-cert issue short --domain short.sov.test --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" $c
	assert_success
	m="$BATS_TEST_TMPDIR/st/certs/short/meta.json"
	nb=$(date -d "$(jq -r .not_before "$m")" +%s)
	na=$(date -d "$(jq -r .not_after "$m")" +%s)
	[ $((na - nb)) -le 12 ] && [ $((na - nb)) -ge 9 ]
	run sov-cert renew $c
	assert_success
	[ "$(jq -r .action <<<"$output")" = skipped ]
	# two thirds of the lifetime past not_before: due
	while [ "$(date +%s)" -lt $((nb + (na - nb) * 2 / 3 + 1)) ]; do sleep 0.2; done
	run sov-cert renew $c
	assert_success
	[ "$(jq -r .action <<<"$output")" = renewed ]
}

@test "renew --random-delay: checked; slept only before the CA is asked" {
	need_pebble
	run sov-cert renew --random-delay -1 --state "$ST"
	assert_failure 2
	run sov-cert renew --random-delay 86401 --state "$ST"
	assert_failure 2
	# nothing to ask: no sleep at all (a day would time the test out)
	cfg '{"renewal_info": false}'
	run timeout 10 sov-cert renew plain --random-delay 86400 --state "$ST" --server https://127.0.0.1:1/dir
	assert_success
	run sov-cert renew plain --random-delay 0 --force $C
	assert_success
	[ "$(jq -r .action <<<"$output")" = renewed ]
}

@test "issue writes measurements: days left and seconds (outcome issued); a CA that is down: tempfailed" {
	need_pebble
	cfg '{"renewal_info": true}'
	db="$BATS_TEST_TMPDIR/m.db"
	run sov-cert issue meas --domain meas.sov.test --metrics "sqlite:$db" $R $C
	assert_success
	run sov-cert issue meas --domain meas.sov.test --metrics "sqlite:$db" $R \
		--state "$ST" --server https://127.0.0.1:1/dir
	assert_failure 75
	run sqlite3 "$db" "select name, json_extract(tags,'$.name'),
		coalesce(json_extract(tags,'$.outcome'),''), value > 1000 from measurements
		where name like 'cert.%' order by name, ts"
	assert_success
	assert_output "cert.days_left|meas||1
cert.renewal.seconds|meas|issued|0
cert.renewal.seconds|meas|tempfailed|0"
}

@test "rateLimited on renewal: its Retry-After kept in meta.json, no order before it (unless --force)" {
	need_pebble
	cfg '{"renewal_info": true}'
	run sov-cert issue limited --domain limited.sov.test $R $C
	assert_success
	cfg '{"renewal_info": true, "window": [-7200, -3600], "rate_limit": 7200}'
	orders=$(grep -c '^newOrder' "$LOG")
	run sov-cert renew limited $C
	assert_failure 75
	assert_output --partial "urn:ietf:params:acme:error:rateLimited"
	line=$(grep '"event":"renew"' <<<"$output")
	[ "$(jq -r .action <<<"$line")" = failed ]
	until=$(jq -r .rate_limited_until "$ST/certs/limited/meta.json")
	[ "$(jq -r .rate_limited_until <<<"$line")" = "$until" ]
	left=$(($(date -d "$until" +%s) - $(date +%s)))
	[ "$left" -gt 7100 ] && [ "$left" -le 7200 ]
	[ "$(grep -c '^newOrder' "$LOG")" = $((orders + 1)) ]
	# due by its window, but held: skipped without an order
	run sov-cert renew limited $C
	assert_success
	[ "$(jq -r .action <<<"$output")" = skipped ]
	[ "$(jq -r .rate_limited_until <<<"$output")" = "$until" ]
	[ "$(grep -c '^newOrder' "$LOG")" = $((orders + 1)) ]
	# --force goes anyway; the new certificate's meta.json has no hold
	cfg '{"renewal_info": true}'
	run sov-cert renew limited --force $C
	assert_success
	[ "$(jq -r .action <<<"$output")" = renewed ]
	[ "$(jq -r 'has("rate_limited_until")' "$ST/certs/limited/meta.json")" = false ]
}

@test "replaces refused as alreadyReplaced: the order is made again without it" {
	need_pebble
	cfg '{"renewal_info": true}'
	run sov-cert issue twice --domain twice.sov.test $R $C
	assert_success
	id=$(certid "$ST/certs/twice/cert.pem")
	cfg '{"renewal_info": true, "window": [-7200, -3600], "already_replaced": true}'
	orders=$(grep -c '^newOrder' "$LOG")
	run sov-cert renew twice $C
	assert_success
	[ "$(jq -r .action <<<"$output")" = renewed ]
	[ "$(grep -c '^newOrder' "$LOG")" = $((orders + 2)) ]
	grep "^newOrder " "$LOG" | tail -2 | head -1 | cut -d' ' -f2- | jq -e --arg id "$id" '.replaces == $id'
	grep "^newOrder " "$LOG" | tail -1 | cut -d' ' -f2- | jq -e 'has("replaces") | not'
}
