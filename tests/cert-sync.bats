#!/usr/bin/env bats
# cert-sync.bats - `sov-cert sync --config FILE` (the definitions file that
# NixOS's services.sov.cert writes) against Debian's real pebble, started
# on loopback by tests/cert/pebble.sh as tests/cert.bats does.

load helpers/common
load helpers/pebble

setup_file() {
	pebble_up cert || return 0
	curl -sf --cacert "$PEBBLE_CA" "$PEBBLE_ROOTS/roots/0" >"$CDIR/root.pem"
	export ST="$CDIR/state"
	export DEFS="$CDIR/defs.json"
	export HOOK_LOG="$CDIR/hook.log"
}

teardown_file() {
	[ -z "${HELPER:-}" ] || "$HELPER" stop "$CDIR/pebble"
	true
}

need_pebble() {
	[ -z "${NO_PEBBLE:-}" ] || skip "$NO_PEBBLE"
}

serial() { openssl x509 -noout -serial -in "$1" | cut -d= -f2; }

# the definitions: CA and account from pebble's env; certs as jq gives them
defs() {
	jq -n --arg s "$PEBBLE_DIR" --arg ca "$PEBBLE_CA" --argjson certs "$1" \
		'{server: $s, ca_file: $ca, account: {email: "ops@sov.example",
		  agree_tos: true}, certs: $certs}' >"$DEFS"
}

# the usual two: http-01 through the responder, dns-01 with a wildcard
two() {
	jq -n --arg p "127.0.0.1:$PEBBLE_HTTP_PORT" --arg h "$BATS_TEST_DIRNAME/cert/dns-hook.sh" \
		--arg d "$CDIR/deploy" '{
		web: {domains: ["a.sync.test", "b.sync.test"], standalone: $p,
		      deploy_hook: $d},
		wild: {domains: ["*.w.sync.test"], challenge: "dns-01",
		       dns_hook: $h, key_type: "ec384"}}'
}

check_installed() {
	local d="$ST/certs/$1"
	[ "$(openssl x509 -noout -pubkey -in "$d/cert.pem")" = \
		"$(openssl pkey -pubout -in "$d/key.pem")" ]
	openssl verify -CAfile "$CDIR/root.pem" -untrusted "$d/chain.pem" "$d/cert.pem" >/dev/null
}

action() { grep '^{' <<<"$output" | jq -r --arg n "$1" 'select(.name == $n) | .action + " " + (.reason // "")'; }

@test "sync: a bad definitions file is refused (exit 2, the JSON path named) before the state exists" {
	S="$BATS_TEST_TMPDIR/s"
	f="$BATS_TEST_TMPDIR/d.json"
	while IFS='~' read -r json want; do
		printf '%s\n' "$json" >"$f"
		run sov-cert sync --config "$f" --state "$S"
		[ "$status" -eq 2 ] || { echo "exit $status for: $json: $output"; false; }
		[[ $output == *"$f: $want"* ]] || { echo "for $json: $output"; false; }
	done <<'EOF'
{"certs":{"web":{"domains":["a.test"],"webroot":"www"}}}~certs.web.webroot: must be an absolute path
{"certs":{"web":{"domains":["a.test"]},"x y":{"domains":["b.test"]}}}~certs["x y"]: a certificate name
{"certs":{"web":{"domain":["a.test"]}}}~certs.web.domain: unknown field (did you mean "domains"?)
{"certs":{"web":{"domains":["*.a.test"]}}}~certs.web: *.a.test: a wildcard needs dns-01
{"certs":{},"account":{"email":"x"}}~account.email: not an address
{"certs":{"web":{"domains":["a.test"]}}~invalid JSON
EOF
	[ ! -e "$S" ]
	# --check: the verdict only
	run sov-cert sync --check --config "$f" --state "$S"
	assert_failure 2
	printf '{"certs":{"web":{"domains":["a.test"]}}}' >"$f"
	run sov-cert sync --check --config "$f" --state "$S"
	assert_success
	assert_output ""
	[ ! -e "$S" ]
	run sov-cert sync --state "$S"
	assert_failure 2
	assert_output --partial "give --config FILE"
	run sov-cert sync --config "$BATS_TEST_TMPDIR/none.json" --state "$S"
	assert_failure 2
	assert_output --partial "none.json"
	[ ! -e "$S" ]
}

@test "sync: the account from the file, every declared certificate issued, an undeclared one left alone" {
	need_pebble
	printf '#!/bin/sh\necho "$@" >>%s\n' "$CDIR/deploy.log" >"$CDIR/deploy"
	chmod +x "$CDIR/deploy"
	# one issued by hand first: not in the file, so never touched
	sov-cert account --state "$ST" --server "$PEBBLE_DIR" --ca-file "$PEBBLE_CA" \
		--agree-tos --email ops@sov.example >/dev/null
	sov-cert issue own --domain own.sync.test --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" \
		--state "$ST" --server "$PEBBLE_DIR" --ca-file "$PEBBLE_CA" >/dev/null
	own=$(serial "$ST/certs/own/cert.pem")
	rm -rf "$ST/account" # the file's account block makes it again
	defs "$(two)"
	run sov-cert sync --config "$DEFS" --state "$ST"
	assert_success
	[ "$(jq -r .event <<<"$output" | sort -u)" = sync ]
	[ "$(action web)" = "issued new" ]
	[ "$(action wild)" = "issued new" ]
	[ "$(action own)" = "undeclared not in the definitions; left alone" ]
	[ "$(jq -r .name <<<"$output" | tr '\n' ' ')" = "web wild own " ]
	check_installed web
	check_installed wild
	[ "$(jq -r .email "$ST/account/account.json")" = ops@sov.example ]
	openssl x509 -noout -ext subjectAltName -in "$ST/certs/wild/cert.pem" | grep -qF 'DNS:*.w.sync.test'
	openssl pkey -in "$ST/certs/wild/key.pem" -noout -text | grep -q '384 bit'
	[ "$(cat "$CDIR/deploy.log")" = "deployed web $ST/certs/web" ]
	[ "$(grep -c '^set _acme-challenge.w.sync.test ' "$HOOK_LOG")" -eq 1 ]
	[ "$(serial "$ST/certs/own/cert.pem")" = "$own" ]
	[ "$(jq -r .server "$ST/certs/web/meta.json")" = "$PEBBLE_DIR" ]
}

@test "sync: nothing changed and nothing due connects to nothing" {
	need_pebble
	web=$(serial "$ST/certs/web/cert.pem")
	# any connection would fail: this CA file does not exist
	run sov-cert sync --config "$DEFS" --state "$ST" --ca-file /nonexistent/ca.pem
	assert_success
	[ "$(action web)" = "skipped " ]
	[ "$(action wild)" = "skipped " ]
	[ "$(jq -r 'select(.name == "web") | .days_left' <<<"$output")" -gt 1000 ]
	[ "$(serial "$ST/certs/web/cert.pem")" = "$web" ]
	[ "$(wc -l <"$CDIR/deploy.log")" -eq 1 ]
}

@test "sync: changed domains or key type are issued again; other declared changes wait" {
	need_pebble
	web=$(serial "$ST/certs/web/cert.pem")
	wild=$(serial "$ST/certs/wild/cert.pem")
	defs "$(two | jq '.web.domains += ["c.sync.test"] | .wild.key_type = "rsa2048"')"
	run sov-cert sync --config "$DEFS" --state "$ST"
	assert_success
	[ "$(action web)" = "issued domains changed" ]
	[ "$(action wild)" = "issued key type changed" ]
	[ "$(serial "$ST/certs/web/cert.pem")" != "$web" ]
	[ "$(serial "$ST/certs/wild/cert.pem")" != "$wild" ]
	openssl x509 -noout -ext subjectAltName -in "$ST/certs/web/cert.pem" | grep -q 'DNS:c.sync.test'
	openssl pkey -in "$ST/certs/wild/key.pem" -noout -text | grep -q '2048 bit'
	check_installed web
	# the same names in another order, and a new deploy hook: no reissue
	web=$(serial "$ST/certs/web/cert.pem")
	defs "$(two | jq '.web.domains = ["c.sync.test", "b.sync.test", "a.sync.test"]
		| .wild.key_type = "rsa2048" | .web.deploy_hook = "/bin/true"')"
	run sov-cert sync --config "$DEFS" --state "$ST"
	assert_success
	[ "$(action web)" = "skipped " ]
	[ "$(serial "$ST/certs/web/cert.pem")" = "$web" ]
}

@test "sync --force renews every declared one with the declared options; a revoked one is renewed" {
	need_pebble
	own=$(serial "$ST/certs/own/cert.pem")
	run sov-cert sync --config "$DEFS" --state "$ST" --force --metrics "sqlite:$BATS_TEST_TMPDIR/m.db"
	assert_success
	[ "$(action web)" = "renewed forced" ]
	[ "$(action wild)" = "renewed forced" ]
	# the measurements renew writes: seconds per issuance, days left
	run sqlite3 "$BATS_TEST_TMPDIR/m.db" "select name, json_extract(tags,'$.name'),
		coalesce(json_extract(tags,'$.outcome'),''), value > 1000 from measurements
		where name like 'cert.%' order by 2, 1"
	assert_success
	assert_output "cert.days_left|web||1
cert.renewal.seconds|web|renewed|0
cert.days_left|wild||1
cert.renewal.seconds|wild|renewed|0"
	# the deploy hook now declared is the one run
	[ "$(wc -l <"$CDIR/deploy.log")" -eq 2 ]
	[ "$(jq -r .deploy_hook "$ST/certs/web/meta.json")" = /bin/true ]
	[ "$(serial "$ST/certs/own/cert.pem")" = "$own" ]
	sov-cert revoke web --state "$ST" --ca-file "$PEBBLE_CA" >/dev/null
	run sov-cert sync --config "$DEFS" --state "$ST"
	assert_success
	[ "$(action web)" = "renewed revoked" ]
	[ "$(action wild)" = "skipped " ]
	[ "$(jq -r '.revoked // "no"' "$ST/certs/web/meta.json")" = no ]
}

@test "sync: a self-signed placeholder (no meta.json) is replaced by a real certificate" {
	need_pebble
	d="$ST/certs/ph"
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
		-subj /CN=placeholder -addext subjectAltName=DNS:ph.sync.test -keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null
	cp "$d/cert.pem" "$d/fullchain.pem"
	: >"$d/chain.pem"
	defs "$(two | jq --arg p "127.0.0.1:$PEBBLE_HTTP_PORT" \
		'.ph = {domains: ["ph.sync.test"], standalone: $p}')"
	run sov-cert sync --config "$DEFS" --state "$ST"
	assert_success
	[ "$(action ph)" = "issued no meta.json" ]
	check_installed ph
	[[ $(openssl x509 -noout -issuer -in "$d/cert.pem") == *Pebble* ]]
}

@test "sync: one failing certificate does not stop the others; exit 1, each reported" {
	need_pebble
	printf '#!/bin/sh\nexit 7\n' >"$BATS_TEST_TMPDIR/bad-hook"
	chmod +x "$BATS_TEST_TMPDIR/bad-hook"
	defs "$(two | jq --arg h "$BATS_TEST_TMPDIR/bad-hook" --arg p "127.0.0.1:$PEBBLE_HTTP_PORT" \
		'.bad = {domains: ["bad.sync.test"], challenge: "dns-01", dns_hook: $h}
		 | .zz = {domains: ["zz.sync.test"], standalone: $p}')"
	run sov-cert sync --config "$DEFS" --state "$ST"
	assert_failure 1
	[ "$(action bad)" = "failed new" ]
	[ "$(action zz)" = "issued new" ]
	grep '^{' <<<"$output" | jq -r 'select(.name == "bad") | .error' | grep -q 'exit 7'
	[ ! -e "$ST/certs/bad" ]
	check_installed zz
	# the CA down: 75, worth retrying, nothing changed; asked once, the
	# second certificate fails with the first one's error
	defs "$(two | jq '.web.domains = ["down.sync.test"]')"
	jq '.server = "https://127.0.0.1:1/dir"' "$DEFS" >"$DEFS.down"
	web=$(serial "$ST/certs/web/cert.pem")
	run sov-cert sync --config "$DEFS.down" --state "$ST"
	assert_failure 75
	[ "$(action web)" = "failed domains changed" ]
	[ "$(action wild)" = "failed CA changed" ]
	[ "$(grep '^{' <<<"$output" | jq -r 'select(.action == "failed") | .error' | sort -u | wc -l)" -eq 1 ]
	[ "$(serial "$ST/certs/web/cert.pem")" = "$web" ]
}

@test "sync: a CA that cannot be reached is asked once per run, not once per certificate" {
	need_pebble
	# a listener that counts connections and closes each at once
	log="$BATS_TEST_TMPDIR/conns"
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept(); open(sys.argv[2], "a").write("c\n"); c.close()' "$port" "$log" &
	pid=$!
	for _ in $(seq 50); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
		sleep 0.1
	done
	: >"$log"
	S="$BATS_TEST_TMPDIR/s"
	jq -n --arg s "https://127.0.0.1:$port/dir" '{server: $s, account: {agree_tos: true},
		certs: {one: {domains: ["one.sync.test"]}}}' >"$BATS_TEST_TMPDIR/one.json"
	jq '.certs.two = {domains: ["two.sync.test"]} | .certs.three = {domains: ["three.sync.test"]}' \
		"$BATS_TEST_TMPDIR/one.json" >"$BATS_TEST_TMPDIR/three.json"
	run sov-cert sync --config "$BATS_TEST_TMPDIR/one.json" --state "$S"
	one=$(wc -l <"$log")
	: >"$log"
	run sov-cert sync --config "$BATS_TEST_TMPDIR/three.json" --state "$S"
	three=$(wc -l <"$log")
	kill "$pid"
	[ "$status" -eq 75 ] || [ "$status" -eq 1 ]
	[ "$(grep -c '"action":"failed"' <<<"$output")" -eq 3 ]
	[ "$one" -ge 1 ]
	[ "$three" -eq "$one" ] || { echo "one certificate: $one connections, three: $three"; false; }
}

@test "the NixOS module's own scripts: placeholder, sync over it through the webroot, deploy hook, reload" {
	need_pebble
	[ -n "${SOV_NIXPKGS_LIB:-}" ] && [ -d "$SOV_NIXPKGS_LIB/lib" ] ||
		skip "SOV_NIXPKGS_LIB not set (a nixpkgs.lib checkout; see docs/nix.md)"
	command -v nix-instantiate >/dev/null || skip "nix-instantiate not found (apt-get install nix-bin)"
	w="$BATS_TEST_TMPDIR"
	# the scripts as nixos-modules/cert.nix writes them for the gateway
	NIX_CONFIG="build-users-group =" nix-instantiate --store dummy:// --eval --strict --json \
		"$BATS_TEST_DIRNAME/cert/nix-scripts.nix" --argstr nixpkgsLib "$SOV_NIXPKGS_LIB" \
		>"$w/s.json" 2>"$w/nix.err" || { cat "$w/nix.err"; false; }
	store=$(jq -r .store "$w/s.json")
	st="$w/state"
	mkdir -p "$w/bin"
	printf '#!/bin/sh\necho "$@" >>%s\n' "$w/systemctl.log" >"$w/bin/systemctl"
	chmod +x "$w/bin/systemctl"
	# the store's tools are this machine's; the state directory a scratch one
	for s in prepare deploy reload; do
		jq -r ".$s" "$w/s.json" | sed -e "s|${store}coreutils/bin/||g" \
			-e "s|${store}openssl/bin/||g" -e "s|${store}systemd/bin/systemctl|$w/bin/systemctl|g" \
			-e "s|/var/lib/sov-cert|$st|g" >"$w/$s.body"
		{ echo '#!/bin/bash'; cat "$w/$s.body"; } >"$w/$s"
		chmod +x "$w/$s"
	done
	grep -q "$st/deployed" "$w/deploy"
	grep -vq /nix/store "$w/prepare" "$w/reload" "$w/deploy"

	# sov-cert-prepare.service: the webroot and the placeholder
	run "$w/prepare"
	assert_success
	d="$st/certs/shop"
	[ "$(stat -c %a "$d/key.pem")" = 640 ]
	[ "$(stat -c %a "$d")" = 750 ]
	[ -d "$st/webroot/.well-known/acme-challenge" ]
	openssl x509 -noout -ext subjectAltName -in "$d/fullchain.pem" | grep -q 'DNS:www.shop.sync.test'
	ph=$(serial "$d/cert.pem")
	run "$w/prepare"
	[ "$(serial "$d/cert.pem")" = "$ph" ]

	# sov-cert.service: the definitions as written, pointed at pebble, the
	# webroot served on the port pebble's validation fetches from
	jq -r .definitions "$w/s.json" | jq --arg s "$PEBBLE_DIR" --arg ca "$PEBBLE_CA" \
		--arg st "$st" --arg h "$w/deploy" '.server = $s | .ca_file = $ca
		| .certs.shop.webroot = $st + "/webroot" | .certs.shop.deploy_hook = $h' >"$w/defs.json"
	(cd "$st/webroot" && exec python3 -m http.server --bind 127.0.0.1 "$PEBBLE_HTTP_PORT" \
		>"$w/www.log" 2>&1) &
	www=$!
	for _ in $(seq 50); do
		curl -s -o /dev/null "http://127.0.0.1:$PEBBLE_HTTP_PORT/" && break
		sleep 0.1
	done
	run bash -c "umask 0027 && sov-cert sync --config '$w/defs.json' --state '$st'"
	kill "$www"
	assert_success
	[ "$(action shop)" = "issued no meta.json" ]
	grep -q 'GET /.well-known/acme-challenge/' "$w/www.log"
	ST="$st" check_installed shop
	[ "$(serial "$d/cert.pem")" != "$ph" ]
	[ "$(stat -c %a "$d/key.pem")" = 640 ]
	[ "$(stat -c %a "$d")" = 750 ]
	[ "$(cat "$st/deployed")" = shop ]

	# ExecStopPost: reload what was deployed, once
	run "$w/reload"
	assert_success
	[ "$(cat "$w/systemctl.log")" = "try-reload-or-restart postfix.service nginx.service" ]
	[ ! -e "$st/deployed" ]
	run "$w/reload"
	assert_success
	[ "$(wc -l <"$w/systemctl.log")" -eq 1 ]
}

@test "sync: External Account Binding from the file, its MAC key as the systemd credential eab-hmac" {
	need_pebble
	D="$CDIR/pebble-eab"
	PEBBLE_EAB=1 "$HELPER" start "$D"
	(
		set -a
		. "$D/env"
		set +a
		S="$BATS_TEST_TMPDIR/s"
		jq -n --arg s "$PEBBLE_DIR" --arg ca "$PEBBLE_CA" --arg p "127.0.0.1:$PEBBLE_HTTP_PORT" \
			'{server: $s, ca_file: $ca, account: {agree_tos: true, eab_kid: "kid-sov"},
			  certs: {e: {domains: ["e.sync.test"], standalone: $p}}}' >"$BATS_TEST_TMPDIR/d.json"
		# no credential: the CA refuses the account, nothing is issued
		env -u CREDENTIALS_DIRECTORY sov-cert sync --config "$BATS_TEST_TMPDIR/d.json" --state "$S" && exit 9
		echo "no-key=$?"
		# as systemd's LoadCredential=eab-hmac:FILE gives it
		mkdir -p "$BATS_TEST_TMPDIR/creds"
		install -m 0600 "$D/eab.key" "$BATS_TEST_TMPDIR/creds/eab-hmac"
		CREDENTIALS_DIRECTORY="$BATS_TEST_TMPDIR/creds" \
			sov-cert sync --config "$BATS_TEST_TMPDIR/d.json" --state "$S"
	) >"$BATS_TEST_TMPDIR/out" 2>&1 || { "$HELPER" stop "$D"; cat "$BATS_TEST_TMPDIR/out"; false; }
	"$HELPER" stop "$D"
	out=$(cat "$BATS_TEST_TMPDIR/out")
	grep -q '^no-key=1$' <<<"$out" || { echo "$out"; false; }
	grep -q 'no secret given: neither a file nor $CREDENTIALS_DIRECTORY/eab-hmac' <<<"$out"
	grep '^{' <<<"$out" | jq -e 'select(.name == "e" and .action == "issued")' >/dev/null ||
		{ echo "$out"; false; }
}
