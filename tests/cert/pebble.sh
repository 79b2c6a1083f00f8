#!/bin/sh
# pebble.sh - Debian's pebble and pebble-challtestsrv on loopback, for
# tests/cert.bats (recipe: shared REAL-COMPONENTS.md, "ACME").
#
#   pebble.sh start DIR   start both in DIR; writes DIR/env with
#                         PEBBLE_DIR, PEBBLE_CA (its listener cert),
#                         PEBBLE_HTTP_PORT (where its VA fetches http-01),
#                         PEBBLE_TLS_PORT (where it connects for tls-alpn-01),
#                         PEBBLE_MGMT (challtestsrv's management URL),
#                         PEBBLE_ROOTS (pebble's management port)
#   pebble.sh stop DIR    stop both (by the pids it wrote)
#
# challtestsrv answers every A query with 127.0.0.1 (its default), so
# pebble's VA really fetches http://NAME:PEBBLE_HTTP_PORT/... from us, and
# its TXT records are set through the management API (dns-01). Exit 3
# when pebble is not installed.
#
# PEBBLE_DNS=HOST:PORT: no challtestsrv; pebble's VA asks that DNS server
# instead (tests/cert/named.sh's named, for dns-01 by RFC 2136); then
# PEBBLE_MGMT is empty.
set -eu

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() { # PORT: until something listens, 10 s at most
	i=0
	while ! python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || return 1
		sleep 0.1
	done
}

cmd=${1:?start or stop}
d=${2:?directory}
case $cmd in
start)
	command -v pebble >/dev/null && command -v pebble-challtestsrv >/dev/null ||
		{ echo "pebble not installed (apt-get install pebble)" >&2; exit 3; }
	mkdir -p "$d"
	acme=$(free_port) mgmt=$(free_port) dns=$(free_port) ctl=$(free_port)
	http=$(free_port) tls=$(free_port)
	# PEBBLE_EAB=1: External Account Binding required, key id kid-sov,
	# its MAC key (base64url) in DIR/eab.key
	eab=false
	[ "${PEBBLE_EAB:-0}" != 1 ] || eab=true
	# PEBBLE_VALIDITY=SECONDS: certificates valid that long (short
	# lifetimes); pebble's default otherwise
	validity=
	[ -z "${PEBBLE_VALIDITY:-}" ] ||
		validity="\"certificateValidityPeriod\": $PEBBLE_VALIDITY,"
	mac=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
	(umask 077 && printf '%s\n' "$mac" >"$d/eab.key")
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -days 30 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$d/pebble-key.pem" -out "$d/pebble-cert.pem" 2>/dev/null
	cat >"$d/pebble-config.json" <<JSON
{ "pebble": {
    "listenAddress": "127.0.0.1:$acme",
    "managementListenAddress": "127.0.0.1:$mgmt",
    "certificate": "$d/pebble-cert.pem",
    "privateKey": "$d/pebble-key.pem",
    "httpPort": $http, "tlsPort": $tls,
    "ocspResponderURL": "", "externalAccountBindingRequired": $eab, $validity
    "externalAccountMACKeys": { "kid-sov": "$mac" } } }
JSON
	dnsserver=${PEBBLE_DNS:-}
	if [ -z "$dnsserver" ]; then
		dnsserver=127.0.0.1:$dns
		pebble-challtestsrv -dns01 "$dnsserver" -http01 "" -https01 "" \
			-tlsalpn01 "" -management "127.0.0.1:$ctl" \
			-defaultIPv6 "" >"$d/challtestsrv.log" 2>&1 &
		echo $! >"$d/challtestsrv.pid"
	fi
	PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=${PEBBLE_WFE_NONCEREJECT:-0} \
		PEBBLE_AUTHZREUSE=${PEBBLE_AUTHZREUSE:-0} \
		PEBBLE_ALTERNATE_ROOTS=${PEBBLE_ALTERNATE_ROOTS:-0} \
		pebble -config "$d/pebble-config.json" \
		-dnsserver "$dnsserver" >"$d/pebble.log" 2>&1 &
	echo $! >"$d/pebble.pid"
	mgmt_url=
	[ -n "${PEBBLE_DNS:-}" ] || mgmt_url=http://127.0.0.1:$ctl
	wait_port "$acme" && { [ -z "$mgmt_url" ] || wait_port "$ctl"; } || {
		echo "pebble did not start:" >&2
		cat "$d/pebble.log" >&2
		[ ! -f "$d/challtestsrv.log" ] || cat "$d/challtestsrv.log" >&2
		"$0" stop "$d"
		exit 1
	}
	cat >"$d/env" <<ENV
PEBBLE_DIR=https://127.0.0.1:$acme/dir
PEBBLE_CA=$d/pebble-cert.pem
PEBBLE_HTTP_PORT=$http
PEBBLE_TLS_PORT=$tls
PEBBLE_MGMT=$mgmt_url
PEBBLE_ROOTS=https://127.0.0.1:$mgmt
ENV
	;;
stop)
	for f in "$d/pebble.pid" "$d/challtestsrv.pid"; do
		[ -f "$f" ] || continue
		kill "$(cat "$f")" 2>/dev/null || true
		rm -f "$f"
	done
	;;
*)
	echo "usage: $0 start|stop DIR" >&2
	exit 2
	;;
esac
