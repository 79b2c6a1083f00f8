#!/usr/bin/env bats
# cert-account.bats - sov-cert's account changes against Debian's real
# pebble (started here on loopback): a key rollover killed after the CA
# took the new key, contact updates, deactivation, and revocation signed
# with the certificate's own key.

load helpers/common
load helpers/pebble

setup_file() {
	pebble_up acct || return 0
	export R="--standalone 127.0.0.1:$PEBBLE_HTTP_PORT"
}

teardown_file() {
	[ -z "${HELPER:-}" ] || "$HELPER" stop "$CDIR/pebble"
	true
}

# a fresh state with an account: sets ST and C
fresh() {
	[ -z "${NO_PEBBLE:-}" ] || skip "$NO_PEBBLE"
	ST="$BATS_TEST_TMPDIR/state"
	C="--state $ST --server $PEBBLE_DIR --ca-file $PEBBLE_CA"
	sov-cert account $C --agree-tos --email ops@sov.example >/dev/null
}

pub() { openssl pkey -pubout -in "$1"; }

@test "rollover killed after the CA took the new key: the next run finishes it" {
	fresh
	old=$(pub "$ST/account/key.pem")
	url=$(jq -r .url "$ST/account/account.json")
	SOV_CERT_TEST_CRASH=rolled run sov-cert account --rollover $C
	[ "$status" -eq 137 ] || { echo "exit $status: $output"; false; }
	# the state as the kill left it: the old key, the new one beside it
	[ "$(pub "$ST/account/key.pem")" = "$old" ]
	[ -f "$ST/account/key.pem.new" ]
	new=$(pub "$ST/account/key.pem.new")
	run sov-cert account $C
	assert_success
	assert_output --partial "finished a key rollover that was interrupted"
	[ "$(jq -r .url <<<"${lines[-1]}")" = "$url" ]
	[ "$(pub "$ST/account/key.pem")" = "$new" ]
	[ ! -e "$ST/account/key.pem.new" ]
	[ "$(stat -c %a "$ST/account/key.pem")" = 600 ]
	# and the account works with it
	run sov-cert issue r1 --domain r1.sov.test $R $C
	assert_success
}

@test "a key.pem.new the CA never took is removed; the old key goes on" {
	fresh
	old=$(pub "$ST/account/key.pem")
	(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$ST/account/key.pem.new" 2>/dev/null)
	run sov-cert account $C
	assert_success
	assert_output --partial "removed account/key.pem.new"
	[ ! -e "$ST/account/key.pem.new" ]
	[ "$(pub "$ST/account/key.pem")" = "$old" ]
	# neither key the account's: an error that says so, nothing renamed
	cp -a "$ST" "$BATS_TEST_TMPDIR/other"
	rm "$BATS_TEST_TMPDIR/other/account/key.pem"
	(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$BATS_TEST_TMPDIR/other/account/key.pem" 2>/dev/null &&
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$BATS_TEST_TMPDIR/other/account/key.pem.new" 2>/dev/null)
	run sov-cert account --state "$BATS_TEST_TMPDIR/other" --server "$PEBBLE_DIR" --ca-file "$PEBBLE_CA"
	assert_failure 1
	assert_output --partial "neither account/key.pem"
	[ -f "$BATS_TEST_TMPDIR/other/account/key.pem.new" ]
}

@test "account --contact replaces the addresses; bad ones are refused before anything" {
	fresh
	run sov-cert account --contact a@sov.example --contact b@sov.example $C
	assert_success
	[ "$(jq -c .contact <<<"$output")" = '["mailto:a@sov.example","mailto:b@sov.example"]' ]
	run sov-cert account $C
	assert_success
	[ "$(jq -c .contact <<<"$output")" = '["mailto:a@sov.example","mailto:b@sov.example"]' ]
	run sov-cert account --contact 'no-at-sign' $C
	assert_failure 2
	assert_output --partial '--contact: not an address: "no-at-sign"'
	run sov-cert account --contact a@x.example --contact b@x.example --contact c@x.example \
		--contact d@x.example --contact e@x.example $C
	assert_failure 2
	assert_output --partial "--contact: at most 4"
}

@test "account --deactivate: the CA refuses the account afterwards" {
	fresh
	run sov-cert account --deactivate --rollover $C
	assert_failure 2
	run sov-cert account --deactivate $C
	assert_success
	[ "$(jq -r .status <<<"$output")" = deactivated ]
	run sov-cert issue d1 --domain d1.sov.test $R $C
	assert_failure 1
	assert_output --partial "unauthorized"
	[ ! -e "$ST/certs/d1" ]
}

@test "revoke --with-cert-key: signed with the certificate's key, with no account too; an ec384 key is refused" {
	fresh
	run sov-cert issue k1 --domain k1.sov.test $R $C
	assert_success
	run sov-cert revoke k1 --with-cert-key --reason 1 $C
	assert_success
	[ "$(jq -r .signed_with <<<"$output")" = "certificate key" ]
	# pebble knows it is revoked: a second try says so
	run sov-cert revoke k1 $C
	assert_failure 1
	assert_output --partial alreadyRevoked
	# the account lost: the certificate's key alone revokes
	run sov-cert issue k3 --domain k3.sov.test $R $C
	assert_success
	rm -r "$ST/account"
	run sov-cert revoke k3 --with-cert-key $C
	assert_success
	[ "$(jq -r .signed_with <<<"$output")" = "certificate key" ]
	[ "$(jq -r 'has("revoked")' "$ST/certs/k3/meta.json")" = true ]
	[ ! -e "$ST/account/key.pem" ]
	run sov-cert revoke k3 --with-cert-key $C
	assert_failure 1
	assert_output --partial alreadyRevoked
	run sov-cert account $C --agree-tos
	assert_success
	run sov-cert issue k2 --domain k2.sov.test --key-type ec384 $R $C
	assert_success
	run sov-cert revoke k2 --with-cert-key $C
	assert_failure 2
	assert_output --partial "is not an ec256 key"
	[ "$(jq -r 'has("revoked")' "$ST/certs/k2/meta.json")" = false ]
}
