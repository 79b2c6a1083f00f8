#!/usr/bin/env bats
# cert.bats - sov-cert against Debian's real pebble (started here on
# loopback, with pebble-challtestsrv as its DNS, so that http-01 and dns-01
# are really validated), and against a stand-in for a broken CA
# (tests/cert/standin.py, named as a stand-in: not pebble).

load helpers/common
load helpers/pebble

setup_file() {
	pebble_up cert || return 0
	curl -sf --cacert "$PEBBLE_CA" "$PEBBLE_ROOTS/roots/0" >"$CDIR/root.pem"
	export ST="$CDIR/state"
	export C="--state $ST --server $PEBBLE_DIR --ca-file $PEBBLE_CA"
}

teardown_file() {
	[ -z "${HELPER:-}" ] || "$HELPER" stop "$CDIR/pebble"
	[ ! -f "$CDIR/www.pid" ] || kill "$(cat "$CDIR/www.pid")" 2>/dev/null
	true
}

need_pebble() {
	[ -z "${NO_PEBBLE:-}" ] || skip "$NO_PEBBLE"
}

# the account every issuing test uses, made once
need_account() {
	need_pebble
	[ -f "$ST/account/account.json" ] ||
		sov-cert account $C --agree-tos --email ops@sov.example >/dev/null
}

serial() { openssl x509 -noout -serial -in "$1" | cut -d= -f2 | tr A-F a-f | sed 's/^0*//'; }

# certs/NAME is complete and consistent: leaf matches key, fullchain is
# cert + chain, the chain verifies against pebble's root, meta parses
check_installed() {
	local d="$ST/certs/$1"
	[ "$(openssl x509 -noout -pubkey -in "$d/cert.pem")" = \
		"$(openssl pkey -pubout -in "$d/key.pem")" ]
	[ "$(cat "$d/cert.pem" "$d/chain.pem")" = "$(cat "$d/fullchain.pem")" ]
	openssl verify -CAfile "$CDIR/root.pem" -untrusted "$d/chain.pem" "$d/cert.pem" >/dev/null
	jq -e .domains "$d/meta.json" >/dev/null
	[ "$(stat -c %a "$d/key.pem")" = 600 ]
}

@test "usage: bad options and names are refused with exit 2 before anything runs" {
	S="$BATS_TEST_TMPDIR/s"
	while IFS='~' read -r args want; do
		# shellcheck disable=SC2086
		run sov-cert $args --state "$S"
		[ "$status" -eq 2 ] || { echo "exit $status for: $args: $output"; false; }
		[[ $output == *"$want"* ]] || { echo "for $args: $output"; false; }
	done <<'EOF2'
issue~issue: name one certificate
issue web --domain Bad_Name.test --standalone :80~--domain: not a DNS name
issue web --domain a.test --webroot /x --standalone :80~give one of --webroot DIR or --standalone ADDR
issue web --domain a.test --standalone nope~--standalone: want :PORT
issue web --domain a.test --webroot www~--webroot: want an absolute path
issue web --domain a.test --challenge dns-01 --dns-hook ./h~--dns-hook: want an absolute path
issue web --domain a.test --challenge dns-01~dns-01: give --dns-hook
issue web --domain *.a.test --standalone :80~a wildcard needs dns-01
issue web --domain a.test --domain a.test --standalone :80~given twice
issue web --domain a.test --standalone :80 --key-type dsa~--key-type: want
issue .hidden --domain a.test --standalone :80~NAME: 1 to 64
issue web --domain a.test --challenge tls-alpn-02 --standalone :80~--challenge: want
issue web --domain *.a.test --challenge tls-alpn-01~a wildcard needs dns-01
issue web --domain a.test --challenge tls-alpn-01 --webroot /x~tls-alpn-01: --webroot and --dns-hook do not apply
issue web --domain a.test --standalone :80 --server ftp://x~--server: want an http(s) URL
issue web --domain a.test --standalone :80 --timeout 0~--timeout
issue web --domain a.test~no account in
account --email nobody~--email: not an address
renew nosuch~renew: no certificate nosuch
EOF2
	[ ! -e "$S/certs/web" ]
}

@test "account: created with --agree-tos (key 0600), then found again" {
	need_pebble
	run sov-cert account $C --agree-tos --email ops@sov.example
	assert_success
	[ "$(jq -r .created <<<"$output")" = true ]
	[ "$(jq -r .status <<<"$output")" = valid ]
	[ "$(jq -r '.contact[0]' <<<"$output")" = mailto:ops@sov.example ]
	url=$(jq -r .url <<<"$output")
	[ "$(stat -c %a "$ST/account/key.pem")" = 600 ]
	run sov-cert account $C
	assert_success
	[ "$(jq -r .created <<<"$output")" = false ]
	[ "$(jq -r .url <<<"$output")" = "$url" ]
	# a lost account.json: the same key finds the same account
	mv "$ST/account/account.json" "$CDIR/acct.bak"
	run sov-cert account $C
	assert_success
	[ "$(jq -r .url <<<"$output")" = "$url" ]
	cmp <(jq -r .url "$CDIR/acct.bak") <(jq -r .url "$ST/account/account.json")
}

@test "account --rollover: a new key for the same account; the old key no longer finds it" {
	need_account
	cp "$ST/account/key.pem" "$BATS_TEST_TMPDIR/old.pem"
	run sov-cert account $C
	url=$(jq -r .url <<<"$output")
	thumb=$(jq -r .thumbprint <<<"$output")
	run sov-cert account --rollover $C
	assert_success
	[ "$(jq -r .url <<<"$output")" = "$url" ]
	[ "$(jq -r .thumbprint <<<"$output")" != "$thumb" ]
	[ "$(stat -c %a "$ST/account/key.pem")" = 600 ]
	[ ! -e "$ST/account/key.pem.new" ]
	! cmp -s "$ST/account/key.pem" "$BATS_TEST_TMPDIR/old.pem"
	# the old key, in a state of its own: the CA no longer knows it
	mkdir -p "$BATS_TEST_TMPDIR/o/account"
	cp "$BATS_TEST_TMPDIR/old.pem" "$BATS_TEST_TMPDIR/o/account/key.pem"
	run sov-cert account --state "$BATS_TEST_TMPDIR/o" --server "$PEBBLE_DIR" --ca-file "$PEBBLE_CA"
	assert_failure 1
	assert_output --partial "accountDoesNotExist"
	# the new key does (the tests below issue with it)
	run sov-cert account $C
	assert_success
	[ "$(jq -r .url <<<"$output")" = "$url" ]
}

@test "issue: http-01 through the built-in responder, several names in one certificate" {
	need_account
	run sov-cert issue web --domain a.sov.test --domain b.sov.test --domain c.sov.test \
		--standalone "127.0.0.1:$PEBBLE_HTTP_PORT" $C
	assert_success
	[ "$(jq -r .event <<<"$output")" = issued ]
	[ "$(jq -c .domains <<<"$output")" = '["a.sov.test","b.sov.test","c.sov.test"]' ]
	[[ $(jq -r .issuer <<<"$output") == *"Pebble Intermediate"* ]]
	[ "$(jq -r .days_left <<<"$output")" -gt 1000 ]
	check_installed web
	openssl x509 -noout -ext subjectAltName -in "$ST/certs/web/cert.pem" | grep -q 'DNS:c.sov.test'
	# pebble really fetched the answers from the responder
	grep -q "validate w/ HTTP: http://b.sov.test:$PEBBLE_HTTP_PORT/.well-known/acme-challenge/" \
		"$CDIR/pebble/pebble.log"
	[ "$(jq -r .serial <<<"$output" | sed 's/^0*//')" = "$(serial "$ST/certs/web/cert.pem")" ]
}

@test "issue: http-01 through a webroot served by another server; the files go afterwards" {
	need_account
	mkdir -p "$CDIR/www"
	(cd "$CDIR/www" && exec python3 -m http.server --bind 127.0.0.1 "$PEBBLE_HTTP_PORT" \
		>"$CDIR/www.log" 2>&1) &
	echo $! >"$CDIR/www.pid"
	for _ in $(seq 50); do
		curl -s -o /dev/null "http://127.0.0.1:$PEBBLE_HTTP_PORT/" && break
		sleep 0.1
	done
	run sov-cert issue site --domain site.sov.test --webroot "$CDIR/www" --key-type rsa2048 $C
	kill "$(cat "$CDIR/www.pid")"
	rm -f "$CDIR/www.pid"
	assert_success
	grep -q 'GET /.well-known/acme-challenge/' "$CDIR/www.log"
	[ -z "$(ls -A "$CDIR/www/.well-known/acme-challenge")" ]
	check_installed site
	openssl pkey -in "$ST/certs/site/key.pem" -noout -text | grep -q '2048 bit'
}

@test "issue: dns-01 through a hook that sets challtestsrv's TXT records, with a wildcard" {
	need_account
	export HOOK_LOG="$BATS_TEST_TMPDIR/hook.log"
	run sov-cert issue wild --domain '*.w.sov.test' --domain w.sov.test --challenge dns-01 \
		--dns-hook "$BATS_TEST_DIRNAME/cert/dns-hook.sh" --key-type ec384 $C
	assert_success
	check_installed wild
	[ "$(grep -c '^set _acme-challenge.w.sov.test ' "$HOOK_LOG")" -eq 2 ]
	[ "$(grep -c '^unset _acme-challenge.w.sov.test ' "$HOOK_LOG")" -eq 2 ]
	openssl x509 -noout -ext subjectAltName -in "$ST/certs/wild/cert.pem" | grep -qF 'DNS:*.w.sov.test'
}

@test "issue: tls-alpn-01 through the built-in TLS server (ALPN acme-tls/1), two names; renew does it again" {
	need_pebble
	# a state of its own, so that list and renew below see the same certificates
	local S="--state $BATS_TEST_TMPDIR/alpn --server $PEBBLE_DIR --ca-file $PEBBLE_CA"
	sov-cert account $S --agree-tos >/dev/null
	run sov-cert issue alpn --domain ta.sov.test --domain tb.sov.test \
		--challenge tls-alpn-01 --standalone "127.0.0.1:$PEBBLE_TLS_PORT" $S
	assert_success
	[ "$(jq -r .challenge <<<"$output")" = tls-alpn-01 ]
	[ "$(jq -c .domains <<<"$output")" = '["ta.sov.test","tb.sov.test"]' ]
	d="$BATS_TEST_TMPDIR/alpn/certs/alpn"
	openssl verify -CAfile "$CDIR/root.pem" -untrusted "$d/chain.pem" "$d/cert.pem" >/dev/null
	[ "$(jq -r .standalone "$d/meta.json")" = "127.0.0.1:$PEBBLE_TLS_PORT" ]
	s1=$(serial "$d/cert.pem")
	run sov-cert renew alpn --force $S
	assert_success
	[ "$(jq -r .action <<<"$output")" = renewed ]
	[ "$(serial "$d/cert.pem")" != "$s1" ]
	# the port is free again: the server stopped with the order
	! python3 -c "import socket; socket.create_connection(('127.0.0.1', $PEBBLE_TLS_PORT), 0.5)" 2>/dev/null
}

@test "issue: a hook that fails stops the order with its exit status, nothing installed" {
	need_account
	printf '#!/bin/sh\nexit 7\n' >"$BATS_TEST_TMPDIR/bad-hook"
	chmod +x "$BATS_TEST_TMPDIR/bad-hook"
	run sov-cert issue hookfail --domain hf.sov.test --challenge dns-01 \
		--dns-hook "$BATS_TEST_TMPDIR/bad-hook" $C
	assert_failure 1
	assert_output --partial "set _acme-challenge.hf.sov.test: exit 7"
	[ ! -e "$ST/certs/hookfail" ]
}

@test "issue: a failed validation names the name and the CA's problem; the old certificate stays" {
	need_account
	before=$(serial "$ST/certs/web/cert.pem")
	# nothing answers on the port pebble's VA fetches from
	run sov-cert issue web --domain a.sov.test --standalone 127.0.0.1:1 $C
	assert_failure 1
	assert_output --partial "authorization of a.sov.test"
	assert_output --partial "urn:ietf:params:acme:error:connection"
	[ "$(serial "$ST/certs/web/cert.pem")" = "$before" ]
	check_installed web
}

@test "deploy hook: run after each install (issue and renew); its failure keeps the certificate, exit 1" {
	need_account
	log="$BATS_TEST_TMPDIR/deploy.log"
	printf '#!/bin/sh\necho "$@" >>%s\n[ ! -e %s ] || exit 3\n' "$log" \
		"$BATS_TEST_TMPDIR/fail" >"$BATS_TEST_TMPDIR/deploy"
	chmod +x "$BATS_TEST_TMPDIR/deploy"
	run sov-cert issue dep --domain dep.sov.test --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" \
		--deploy-hook "$BATS_TEST_TMPDIR/deploy" $C
	assert_success
	[ "$(jq -r .deployed <<<"$output")" = true ]
	[ "$(cat "$log")" = "deployed dep $ST/certs/dep" ]
	touch "$BATS_TEST_TMPDIR/fail"
	run sov-cert renew dep --force $C
	assert_failure 1
	assert_output --partial 'installed, but the deploy hook failed'
	[ "$(grep '^{' <<<"$output" | jq -r .action)" = renewed ]
	[ "$(wc -l <"$log")" -eq 2 ]
	check_installed dep
	rm -rf "$ST/certs/dep" # the tests after this one count certificates
}

@test "list: every certificate with its names, issuer, not_after and days left" {
	need_account
	run sov-cert list --state "$ST"
	assert_success
	[ "$(jq -r .name <<<"$output" | tr '\n' ' ')" = "site web wild " ]
	[ "$(jq -r 'select(.name=="web") | .domains | length' <<<"$output")" -eq 3 ]
	[ "$(jq -r 'select(.name=="web") | .due' <<<"$output")" = false ]
	jq -e 'select(.days_left < 1000)' <<<"$output" && false
	run sov-cert list --state "$BATS_TEST_TMPDIR/empty"
	assert_success
	assert_output ""
}

@test "renew: nothing due is skipped without a connection; --force renews with a new key" {
	need_account
	# a server that is not there: nothing due, so it is never asked
	run sov-cert renew --state "$ST" --server https://127.0.0.1:1/dir
	assert_success
	[ "$(jq -r .action <<<"$output" | sort -u)" = skipped ]
	old=$(serial "$ST/certs/web/cert.pem")
	oldkey=$(openssl pkey -pubout -in "$ST/certs/web/key.pem")
	run sov-cert renew web wild --force $C
	assert_success
	[ "$(jq -r .action <<<"$output" | sort -u)" = renewed ]
	[ "$(jq -r .name <<<"$output" | tr '\n' ' ')" = "web wild " ]
	[ "$(serial "$ST/certs/web/cert.pem")" != "$old" ]
	[ "$(openssl pkey -pubout -in "$ST/certs/web/key.pem")" != "$oldkey" ]
	check_installed web
	check_installed wild
	[ "$(jq -c .domains "$ST/certs/web/meta.json")" = '["a.sov.test","b.sov.test","c.sov.test"]' ]
	# measurements into a store: days left for each, seconds for each renewal
	run sov-cert renew web --force --metrics "sqlite:$BATS_TEST_TMPDIR/m.db" $C
	assert_success
	run sov-cert renew --metrics "sqlite:$BATS_TEST_TMPDIR/m.db" --state "$ST"
	assert_success
	run sqlite3 "$BATS_TEST_TMPDIR/m.db" "select name, json_extract(tags,'$.name'),
		coalesce(json_extract(tags,'$.outcome'),''), value > 1000 from measurements
		where name like 'cert.%' order by name, 2, 3"
	assert_success
	# (not by ts: one run's two rows may be a millisecond apart either way)
	assert_output "cert.days_left|site||1
cert.days_left|web||1
cert.days_left|web||1
cert.days_left|wild||1
cert.renewal.seconds|web|renewed|0"
}

@test "revoke: the CA records it (a second revoke is alreadyRevoked); list marks it; renew replaces it" {
	need_account
	old=$(serial "$ST/certs/web/cert.pem")
	run sov-cert revoke web --reason 4 --ca-file "$PEBBLE_CA" --state "$ST"
	assert_success
	[ "$(jq -r .event <<<"$output")" = revoked ]
	[ "$(jq -r .serial <<<"$output" | sed 's/^0*//')" = "$old" ]
	run sov-cert revoke web --ca-file "$PEBBLE_CA" --state "$ST"
	assert_failure 1
	assert_output --partial "urn:ietf:params:acme:error:alreadyRevoked"
	run sov-cert list --state "$ST"
	[ "$(jq -r 'select(.name=="web") | .due' <<<"$output")" = true ]
	[ "$(jq -r 'select(.name=="web") | .revoked | length' <<<"$output")" -eq 24 ]
	run sov-cert revoke web --reason 7 --state "$ST"
	assert_failure 2
	# a timer's renew (no --force, its CA from meta.json) replaces only it
	# (web answers through the built-in responder, as it was issued)
	run sov-cert renew --ca-file "$PEBBLE_CA" --state "$ST"
	assert_success
	[ "$(jq -r 'select(.name=="web") | .action' <<<"$output")" = renewed ]
	[ "$(jq -r 'select(.name!="web") | .action' <<<"$output" | sort -u)" = skipped ]
	[ "$(serial "$ST/certs/web/cert.pem")" != "$old" ]
	check_installed web
	run sov-cert list --state "$ST"
	[ "$(jq -r 'select(.name=="web") | .due' <<<"$output")" = false ]
}

@test "kill -9 at every step of an issuance leaves the previous certificate whole" {
	need_account
	for point in ordered authorized finalized downloaded written; do
		before=$(serial "$ST/certs/web/cert.pem")
		SOV_CERT_TEST_CRASH=$point run sov-cert issue web --domain a.sov.test \
			--domain b.sov.test --domain c.sov.test \
			--standalone "127.0.0.1:$PEBBLE_HTTP_PORT" $C
		[ "$status" -eq 137 ] || { echo "$point: exit $status: $output"; false; }
		[ "$(serial "$ST/certs/web/cert.pem")" = "$before" ] || { echo "$point: replaced"; false; }
		check_installed web
	done
	# killed after the swap: the new one is whole and in place
	before=$(serial "$ST/certs/web/cert.pem")
	SOV_CERT_TEST_CRASH=swapped run sov-cert issue web --domain a.sov.test \
		--domain b.sov.test --domain c.sov.test --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" $C
	[ "$status" -eq 137 ]
	[ "$(serial "$ST/certs/web/cert.pem")" != "$before" ]
	check_installed web
	# the next run clears what the killed ones left, and list ignores it
	ls -A "$ST/certs" | grep -q '^\.web\.new-'
	run sov-cert list --state "$ST"
	assert_success
	refute_output --partial '.web.new'
	run sov-cert issue web --domain a.sov.test --domain b.sov.test --domain c.sov.test \
		--standalone "127.0.0.1:$PEBBLE_HTTP_PORT" $C
	assert_success
	[ -z "$(ls -A "$ST/certs" | grep '^\.')" ]
	check_installed web
	# no key child outlived its parent
	! pgrep -f "sov-cert issue web" >/dev/null
}

@test "badNonce: pebble rejecting 30% of good nonces is retried to success" {
	need_account
	D="$CDIR/pebble-nonce"
	PEBBLE_WFE_NONCEREJECT=30 "$HELPER" start "$D"
	(
		set -a
		. "$D/env"
		S="$BATS_TEST_TMPDIR/s"
		sov-cert account --state "$S" --server "$PEBBLE_DIR" --ca-file "$PEBBLE_CA" \
			--agree-tos >/dev/null
		for i in 1 2 3; do
			sov-cert issue n$i --domain n$i.sov.test --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" \
				--state "$S" --server "$PEBBLE_DIR" --ca-file "$PEBBLE_CA"
		done
	) >"$BATS_TEST_TMPDIR/out" 2>&1 || { "$HELPER" stop "$D"; cat "$BATS_TEST_TMPDIR/out"; false; }
	"$HELPER" stop "$D"
	[ "$(grep -c '"event":"issued"' "$BATS_TEST_TMPDIR/out")" -eq 3 ]
	total=$(grep '"event":"issued"' "$BATS_TEST_TMPDIR/out" | jq -s 'map(.bad_nonces) | add')
	echo "# badNonce retried: $total" >&3
	[ "$total" -gt 0 ]
}

@test "authorization reuse: a second order for a valid name needs no new validation" {
	need_pebble
	D="$CDIR/pebble-reuse"
	PEBBLE_AUTHZREUSE=100 "$HELPER" start "$D"
	(
		set -a
		. "$D/env"
		S="$BATS_TEST_TMPDIR/s"
		c="--state $S --server $PEBBLE_DIR --ca-file $PEBBLE_CA"
		sov-cert account $c --agree-tos >/dev/null
		sov-cert issue r --domain r.sov.test --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" $c
		# nothing answers where pebble's VA would look: only reuse can pass
		sov-cert issue r --domain r.sov.test --standalone 127.0.0.1:1 $c
	) >"$BATS_TEST_TMPDIR/out" 2>&1 || { "$HELPER" stop "$D"; cat "$BATS_TEST_TMPDIR/out"; false; }
	"$HELPER" stop "$D"
	[ "$(grep -c '"event":"issued"' "$BATS_TEST_TMPDIR/out")" -eq 2 ]
	[ "$(grep -c 'validate w/ HTTP: http://r.sov.test' "$D/pebble.log")" -eq 3 ] # one validation, 3 perspectives
}

@test "alternate chains: --preferred-chain picks the Link rel=alternate chain to the named root" {
	need_pebble
	D="$CDIR/pebble-alt"
	PEBBLE_ALTERNATE_ROOTS=1 "$HELPER" start "$D"
	(
		set -a
		. "$D/env"
		S="$BATS_TEST_TMPDIR/s"
		c="--state $S --server $PEBBLE_DIR --ca-file $PEBBLE_CA"
		sov-cert account $c --agree-tos >/dev/null
		for i in 0 1; do
			curl -sf --cacert "$PEBBLE_CA" "$PEBBLE_ROOTS/roots/$i" >"$BATS_TEST_TMPDIR/root$i.pem"
		done
		cn1=$(openssl x509 -noout -subject -nameopt multiline -in "$BATS_TEST_TMPDIR/root1.pem" |
			sed -n 's/^ *commonName *= //p')
		sov-cert issue alt --domain alt.sov.test --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" $c
		sov-cert issue alt --domain alt.sov.test --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" $c \
			--preferred-chain "$cn1"
		echo "want=$cn1"
		openssl verify -CAfile "$BATS_TEST_TMPDIR/root1.pem" -untrusted "$S/certs/alt/chain.pem" \
			"$S/certs/alt/cert.pem"
		# renew keeps the choice
		sov-cert renew --force $c
		openssl verify -CAfile "$BATS_TEST_TMPDIR/root1.pem" -untrusted "$S/certs/alt/chain.pem" \
			"$S/certs/alt/cert.pem"
	) >"$BATS_TEST_TMPDIR/out" 2>&1 || { "$HELPER" stop "$D"; cat "$BATS_TEST_TMPDIR/out"; false; }
	"$HELPER" stop "$D"
	out=$(cat "$BATS_TEST_TMPDIR/out")
	want=$(sed -n 's/^want=//p' <<<"$out")
	[ "$(grep '"event":"issued"' <<<"$out" | jq -r .alternate_chain | tr '\n' ' ')" = "0 1 " ]
	[ "$(grep '"event":"issued"' <<<"$out" | tail -1 | jq -r .chain_root_issuer)" = "$want" ]
	[ "$(grep -c ': OK$' <<<"$out")" -eq 2 ]
}

@test "External Account Binding: required by pebble, given with --eab-kid and a key file" {
	need_pebble
	D="$CDIR/pebble-eab"
	PEBBLE_EAB=1 "$HELPER" start "$D"
	(
		set -a
		. "$D/env"
		S="$BATS_TEST_TMPDIR/s"
		c="--state $S --server $PEBBLE_DIR --ca-file $PEBBLE_CA --agree-tos"
		sov-cert account $c && exit 9
		echo "no-eab=$?"
		head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$BATS_TEST_TMPDIR/wrong"
		chmod 600 "$BATS_TEST_TMPDIR/wrong"
		sov-cert account $c --eab-kid kid-sov --eab-hmac-file "$BATS_TEST_TMPDIR/wrong" && exit 9
		echo "wrong-key=$?"
		sov-cert account $c --eab-kid kid-sov --eab-hmac-file "$D/eab.key"
		sov-cert issue e --domain e.sov.test --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" \
			--state "$S" --server "$PEBBLE_DIR" --ca-file "$PEBBLE_CA"
	) >"$BATS_TEST_TMPDIR/out" 2>&1 || { "$HELPER" stop "$D"; cat "$BATS_TEST_TMPDIR/out"; false; }
	"$HELPER" stop "$D"
	out=$(cat "$BATS_TEST_TMPDIR/out")
	grep -q '^no-eab=2$' <<<"$out"
	grep -q 'requires External Account Binding' <<<"$out"
	grep -q '^wrong-key=1$' <<<"$out"
	grep -q 'external account binding JWS verification error' <<<"$out"
	[ "$(grep '"event":"account"' <<<"$out" | jq -r .created)" = true ]
	grep -q '"event":"issued"' <<<"$out"
}

@test "CA unreachable: exit 75, and nothing changes" {
	need_account
	before=$(serial "$ST/certs/web/cert.pem")
	run sov-cert issue web --domain a.sov.test --standalone 127.0.0.1:9 \
		--state "$ST" --server https://127.0.0.1:1/dir
	assert_failure 75
	assert_output --partial "Connection refused"
	# renew goes to the CA a certificate came from: here one that is down
	cp -a "$ST" "$BATS_TEST_TMPDIR/st"
	for f in certs/web/meta.json account/account.json; do
		jq -c '.server = "https://127.0.0.1:1/dir"' "$ST/$f" >"$BATS_TEST_TMPDIR/st/$f"
	done
	run sov-cert renew --force --state "$BATS_TEST_TMPDIR/st" web
	assert_failure 75
	assert_output --partial '"action":"failed"'
	[ "$(serial "$BATS_TEST_TMPDIR/st/certs/web/cert.pem")" = "$before" ]
	[ "$(serial "$ST/certs/web/cert.pem")" = "$before" ]
}

# standin MODE: start the stand-in CA, print its directory URL
standin() {
	python3 "$BATS_TEST_DIRNAME/cert/standin.py" "$1" >"$BATS_TEST_TMPDIR/port" &
	echo $! >"$BATS_TEST_TMPDIR/standin.pid"
	for _ in $(seq 50); do
		[ -s "$BATS_TEST_TMPDIR/port" ] && break
		sleep 0.1
	done
	echo "http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")/dir"
}

@test "stand-in CA (not pebble): hostile or broken answers give clear errors, never a crash" {
	while IFS='~' read -r mode code want; do
		url=$(standin "$mode")
		run sov-cert account --agree-tos --state "$BATS_TEST_TMPDIR/s-$mode" --server "$url"
		kill "$(cat "$BATS_TEST_TMPDIR/standin.pid")"
		[ "$status" -eq "$code" ] || { echo "$mode: exit $status: $output"; false; }
		[[ $output == *"$want"* ]] || { echo "$mode: $output"; false; }
		[ "$(wc -l <<<"$output")" -eq 1 ] || { echo "$mode: $output"; false; }
	done <<'EOF2'
huge~1~response over 1048576 bytes
notjson~1~content type "text/html", want JSON
nourls~1~newOrder is missing
badurl~1~newAccount is not an http(s) URL
hugeheader~1~response headers over
down500~75~HTTP 500: the stand-in is down (urn:ietf:params:acme:error:serverInternal)
ratelimit~75~(urn:ietf:params:acme:error:rateLimited); retry after 3600 s
EOF2
}
