#!/bin/sh
# named.sh - Debian's BIND named on loopback, authoritative for the zone
# sov.test, which takes RFC 2136 updates signed with one TSIG key; for
# tests/cert-nsupdate.bats (pebble's VA then uses it as its DNS).
#
#   named.sh start DIR   start it in DIR (foreground named, one thread,
#                        IPv4 loopback, a free port, no recursion, no
#                        rndc); writes DIR/env with NAMED_ADDR (127.0.0.1:
#                        PORT), NAMED_PORT, NAMED_KEY (the TSIG key file,
#                        as tsig-keygen writes it, 0600; key name sov-test,
#                        hmac-sha256)
#   named.sh stop DIR    stop it (by the pid it wrote)
#
# Every name in sov.test has the A record 127.0.0.1 (a wildcard). Exit 3
# when named, tsig-keygen or dig is not installed.
set -eu

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

cmd=${1:?start or stop}
d=${2:?directory}
case $cmd in
start)
	named=$(command -v named || echo /usr/sbin/named)
	keygen=$(command -v tsig-keygen || echo /usr/sbin/tsig-keygen)
	# shellcheck disable=SC2015 # all three, or the message
	[ -x "$named" ] && [ -x "$keygen" ] && command -v dig >/dev/null ||
		{ echo "named, tsig-keygen or dig not installed (apt-get install bind9 bind9-dnsutils)" >&2; exit 3; }
	mkdir -p "$d"
	d=$(cd "$d" && pwd)
	port=$(free_port)
	(umask 077 && "$keygen" -a hmac-sha256 sov-test >"$d/tsig.key")
	cat >"$d/sov.test.zone" <<'ZONE'
$TTL 60
@	IN SOA	ns.sov.test. hostmaster.sov.test. 1 3600 600 86400 60
@	IN NS	ns.sov.test.
ns	IN A	127.0.0.1
@	IN A	127.0.0.1
*	IN A	127.0.0.1
ZONE
	cat >"$d/named.conf" <<CONF
options {
	directory "$d";
	pid-file "$d/named.pid";
	session-keyfile "$d/session.key";
	listen-on port $port { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify no;
};
controls { };
include "$d/tsig.key";
zone "sov.test" {
	type primary;
	file "$d/sov.test.zone";
	allow-update { key "sov-test"; };
};
CONF
	"$named" -g -4 -n 1 -c "$d/named.conf" >"$d/named.log" 2>&1 &
	echo $! >"$d/named.run.pid"
	i=0
	until dig +time=1 +tries=1 -p "$port" @127.0.0.1 sov.test SOA +short 2>/dev/null | grep -q hostmaster; do
		i=$((i + 1))
		if [ $i -ge 50 ]; then
			echo "named did not start:" >&2
			cat "$d/named.log" >&2
			"$0" stop "$d"
			exit 1
		fi
		sleep 0.2
	done
	cat >"$d/env" <<ENV
NAMED_ADDR=127.0.0.1:$port
NAMED_PORT=$port
NAMED_KEY=$d/tsig.key
ENV
	;;
stop)
	if [ -f "$d/named.run.pid" ]; then
		kill "$(cat "$d/named.run.pid")" 2>/dev/null || true
		rm -f "$d/named.run.pid"
	fi
	;;
*)
	echo "usage: $0 start|stop DIR" >&2
	exit 2
	;;
esac
