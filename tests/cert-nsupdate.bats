#!/usr/bin/env bats
# cert-nsupdate.bats - sov-cert's dns-01 by RFC 2136 update (--dns-nsupdate,
# through BIND's nsupdate) against a real Debian named started here on
# loopback (tests/cert/named.sh: zone sov.test, updates only with its TSIG
# key), and a real pebble whose VA asks that named (PEBBLE_DNS), so that
# the TXT records sov-cert adds are what pebble validates.

load helpers/common

setup_file() {
	export NDIR="$BATS_FILE_TMPDIR/ns"
	mkdir -p "$NDIR"
	export PHELPER="$BATS_TEST_DIRNAME/cert/pebble.sh"
	export NHELPER="$BATS_TEST_DIRNAME/cert/named.sh"
	if ! command -v pebble >/dev/null; then
		export NO_NS="pebble not installed (make deps installs it)"
		return 0
	fi
	if ! command -v nsupdate >/dev/null || ! command -v dig >/dev/null; then
		export NO_NS="nsupdate or dig not installed (apt-get install bind9-dnsutils)"
		return 0
	fi
	if ! "$NHELPER" start "$NDIR/named" >"$NDIR/named.out" 2>&1; then
		export NO_NS="named did not start: $(cat "$NDIR/named.out")"
		return 0
	fi
	set -a
	. "$NDIR/named/env"
	set +a
	if ! PEBBLE_DNS=$NAMED_ADDR "$PHELPER" start "$NDIR/pebble" >"$NDIR/pebble.out" 2>&1; then
		export NO_NS="pebble did not start: $(cat "$NDIR/pebble.out")"
		return 0
	fi
	set -a
	. "$NDIR/pebble/env"
	set +a
	curl -sf --cacert "$PEBBLE_CA" "$PEBBLE_ROOTS/roots/0" >"$NDIR/root.pem"
	export ST="$NDIR/state"
	export C="--state $ST --server $PEBBLE_DIR --ca-file $PEBBLE_CA"
	sov-cert account $C --agree-tos --email ops@sov.test >/dev/null
}

teardown_file() {
	[ -z "${PHELPER:-}" ] || "$PHELPER" stop "$NDIR/pebble"
	[ -z "${NHELPER:-}" ] || "$NHELPER" stop "$NDIR/named"
	true
}

need_ns() {
	[ -z "${NO_NS:-}" ] || skip "$NO_NS"
}

txt() { dig +short -p "$NAMED_PORT" @127.0.0.1 "$1" TXT; }

check_installed() {
	local d="$ST/certs/$1"
	openssl verify -CAfile "$NDIR/root.pem" -untrusted "$d/chain.pem" "$d/cert.pem" >/dev/null
	[ "$(openssl x509 -noout -pubkey -in "$d/cert.pem")" = \
		"$(openssl pkey -pubout -in "$d/key.pem")" ]
}

@test "nsupdate usage: bad or missing options are refused with exit 2" {
	S="$BATS_TEST_TMPDIR/s"
	K="$BATS_TEST_TMPDIR/k.key"
	printf 'key "k" { algorithm hmac-sha256; secret "AAAA"; };\n' >"$K"
	chmod 600 "$K"
	cp "$K" "$BATS_TEST_TMPDIR/open.key"
	chmod 644 "$BATS_TEST_TMPDIR/open.key"
	while IFS='~' read -r args want; do
		args=${args//@K@/$K}
		args=${args//@T@/$BATS_TEST_TMPDIR}
		# shellcheck disable=SC2086
		run sov-cert $args --state "$S"
		[ "$status" -eq 2 ] || { echo "exit $status for: $args: $output"; false; }
		[[ $output == *"$want"* ]] || { echo "for $args: $output"; false; }
	done <<'EOF2'
issue w --domain a.test --dns-nsupdate 127.0.0.1 --tsig-file @K@~--dns-nsupdate: give --challenge dns-01
issue w --domain a.test --challenge dns-01 --dns-nsupdate 127.0.0.1~give --tsig-file
issue w --domain a.test --challenge dns-01 --dns-nsupdate 127.0.0.1 --tsig-file k.key~--tsig-file: want an absolute path
issue w --domain a.test --challenge dns-01 --dns-nsupdate 127.0.0.1:0 --tsig-file @K@~--dns-nsupdate: want HOST
issue w --domain a.test --challenge dns-01 --dns-nsupdate 127.0.0.1:99999 --tsig-file @K@~--dns-nsupdate: want HOST
issue w --domain a.test --challenge dns-01 --dns-nsupdate [::1 --tsig-file @K@~--dns-nsupdate: want HOST
issue w --domain a.test --challenge dns-01 --dns-nsupdate Bad_Host --tsig-file @K@~--dns-nsupdate: want HOST
issue w --domain a.test --challenge dns-01 --dns-nsupdate 127.0.0.1 --tsig-file @T@/none.key~--tsig-file:
issue w --domain a.test --challenge dns-01 --dns-nsupdate 127.0.0.1 --tsig-file @T@/open.key~--tsig-file:
issue w --domain a.test --challenge dns-01 --dns-nsupdate 127.0.0.1 --tsig-file @K@ --dns-zone b.test~--domain a.test: not in --dns-zone b.test
issue w --domain a.test --challenge dns-01 --dns-nsupdate 127.0.0.1 --tsig-file @K@ --dns-zone B.test.~--dns-zone: not a DNS name
issue w --domain a.test --challenge dns-01 --dns-nsupdate 127.0.0.1 --tsig-file @K@ --dns-hook /bin/true~one of --dns-hook CMD or --dns-nsupdate
issue w --domain a.test --challenge dns-01 --tsig-file @K@ --dns-hook /bin/true~go with --dns-nsupdate
EOF2
	[ ! -e "$S/certs/w" ]
	# accepted forms of SERVER: up to "no account", i.e. the options passed
	for srv in 127.0.0.1 127.0.0.1:5353 '[::1]:53' ::1 ns.sov.test ns.sov.test:53; do
		run sov-cert issue w --domain a.sov.test --challenge dns-01 \
			--dns-nsupdate "$srv" --tsig-file "$K" --dns-zone sov.test --state "$S"
		[ "$status" -eq 2 ] && [[ $output == *"no account"* ]] ||
			{ echo "$srv: exit $status: $output"; false; }
	done
}

@test "nsupdate: a name and its wildcard issued through named (two TXT at one name), records removed after" {
	need_ns
	run sov-cert issue ns --domain ns.sov.test --domain '*.ns.sov.test' \
		--challenge dns-01 --dns-nsupdate "$NAMED_ADDR" --tsig-file "$NAMED_KEY" $C
	assert_success
	[ "$(jq -r .challenge <<<"$output")" = dns-01 ]
	[ "$(jq -c .domains <<<"$output")" = '["*.ns.sov.test","ns.sov.test"]' ] ||
		[ "$(jq -c .domains <<<"$output")" = '["ns.sov.test","*.ns.sov.test"]' ]
	check_installed ns
	# named took two signed updates adding and two deleting, and serves none now
	[ "$(grep -c "signer \"sov-test\" approved" "$NDIR/named/named.log")" -ge 4 ]
	[ -z "$(txt _acme-challenge.ns.sov.test)" ]
	# the key stays in its file: meta.json has only the path
	[ "$(jq -r .tsig_file "$ST/certs/ns/meta.json")" = "$NAMED_KEY" ]
	secret=$(sed -n 's/.*secret "\(.*\)".*/\1/p' "$NAMED_KEY")
	[ -n "$secret" ]
	! grep -rqF "$secret" "$ST"
}

@test "nsupdate --dns-zone: issued, then renew --force issues again the same way" {
	need_ns
	run sov-cert issue zoned --domain z.sov.test --challenge dns-01 \
		--dns-nsupdate "$NAMED_ADDR" --tsig-file "$NAMED_KEY" --dns-zone sov.test $C
	assert_success
	check_installed zoned
	[ "$(jq -r .dns_zone "$ST/certs/zoned/meta.json")" = sov.test ]
	s1=$(openssl x509 -noout -serial -in "$ST/certs/zoned/cert.pem")
	run sov-cert renew zoned --force $C
	assert_success
	[ "$(jq -r .action <<<"$output")" = renewed ]
	[ "$(openssl x509 -noout -serial -in "$ST/certs/zoned/cert.pem")" != "$s1" ]
	check_installed zoned
	[ -z "$(txt _acme-challenge.z.sov.test)" ]
}

@test "nsupdate with the wrong TSIG secret: named refuses, exit 1, nothing installed" {
	need_ns
	bad="$BATS_TEST_TMPDIR/bad.key"
	sed 's/secret ".*"/secret "c292LWNlcnQgd3Jvbmcga2V5IGZvciB0aGUgdGVzdA=="/' "$NAMED_KEY" >"$bad"
	chmod 600 "$bad"
	run sov-cert issue badkey --domain bad.sov.test --challenge dns-01 \
		--dns-nsupdate "$NAMED_ADDR" --tsig-file "$bad" $C
	[ "$status" -eq 1 ] || { echo "exit $status: $output"; false; }
	[[ $output == *"nsupdate add _acme-challenge.bad.sov.test"* ]]
	[ ! -e "$ST/certs/badkey" ]
	[ -z "$(txt _acme-challenge.bad.sov.test)" ]
}

@test "nsupdate: a zone named does not serve is refused by named, exit 1" {
	need_ns
	run sov-cert issue other --domain x.other.test --challenge dns-01 \
		--dns-nsupdate "$NAMED_ADDR" --tsig-file "$NAMED_KEY" --dns-zone other.test $C
	[ "$status" -eq 1 ] || { echo "exit $status: $output"; false; }
	[[ $output == *"nsupdate add _acme-challenge.x.other.test"* ]]
	[ ! -e "$ST/certs/other" ]
}
