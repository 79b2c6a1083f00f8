#!/bin/sh
# cert.sh - sov-cert against Debian's lego, certbot and uacme issuing from
# the same pebble in the same run (the sov-cert issue, "Benchmark"). One
# Debian pebble on loopback (tests/cert/pebble.sh: PEBBLE_VA_NOSLEEP=1, no
# nonce rejection, no authorization reuse, pebble-challtestsrv as its DNS,
# answering every name with 127.0.0.1). Every issuance is one fresh name
# (TOOL-NN.bench.test) validated by http-01 on the port pebble's VA
# fetches from, an ECDSA P-256 certificate key:
#
# - sov-cert: `issue --standalone 127.0.0.1:PORT` (its built-in responder)
# - lego:     `run --http --http.port 127.0.0.1:PORT` (built-in server),
#             LEGO_CA_CERTIFICATES for pebble's listener
# - certbot:  `certonly --standalone --http-01-address 127.0.0.1
#             --http-01-port PORT --key-type ecdsa`, REQUESTS_CA_BUNDLE
# - uacme:    no responder of its own: `issue` with Debian's hook
#             (/usr/share/uacme/uacme.sh, UACME_CHALLENGE_PATH) writing into
#             a webroot that `python3 -m http.server` serves on PORT (started
#             before, stopped after each issuance, not timed, its memory not
#             counted). uacme has no CA-file option: each run is in a private
#             mount namespace where a copy of /etc/ssl/certs with pebble's
#             listener certificate added is bind-mounted over the real one
#             (unshare and mount are outside the timed part).
#
# Each tool first makes its account and issues one name untimed (lego has
# no separate account step: its first run registers). Then COUNT rounds;
# in each, every tool issues one name, in the order given, so that load
# from the other engineers on this machine falls on all tools alike. Per
# tool: wall time per issuance (median, p90 nearest-rank, min, max), peak
# RSS (GNU time's %M: the largest process of the run, i.e. the tool or its
# key child or hook; median and max over the runs), and the installed size
# (see size_line below). A failed issuance is counted and left out of the
# times. The report is also saved as $SOV_BENCH_DIR/cert-results-DATE.txt.
#
#   SOV_BENCH_CERT_COUNT=20    timed issuances per tool
#   SOV_BENCH_CERT_TOOLS="sov-cert lego certbot uacme"   which, in this order
#   SOV_BENCH_DIR=/var/tmp/sov-bench   results and scratch space
#   SOV_BENCH_KEEP=1           keep the scratch directory (logs, state)
#   SOV_BUILD=build            where sov-cert is
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
self=$(pwd)/bench/cert.sh
export LC_ALL=C
BASE=${SOV_BENCH_DIR:-/var/tmp/sov-bench}
case $BASE in /*) ;; *) BASE=$(pwd)/$BASE ;; esac

# Everything printed is also saved: run again under tee.
bench_tee cert "$self" "$@"

top=$(pwd)
B=${SOV_BUILD:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
sov=$B/sov-cert
timed=$top/bench/cert/timed.sh
N=${SOV_BENCH_CERT_COUNT:-20}
case $N in '' | *[!0-9]*) echo "bench: SOV_BENCH_CERT_COUNT='$N' is not a number" >&2; exit 2 ;; esac
if [ "$N" -lt 1 ] || [ "$N" -gt 99 ]; then
	echo "bench: SOV_BENCH_CERT_COUNT=$N: from 1 to 99" >&2
	exit 2
fi
TOOLS=${SOV_BENCH_CERT_TOOLS:-sov-cert lego certbot uacme}
for t in $TOOLS; do
	case $t in sov-cert | lego | certbot | uacme) ;; *) echo "bench: unknown tool '$t' in SOV_BENCH_CERT_TOOLS" >&2; exit 2 ;; esac
done
say() { echo "bench: $*" >&2; }
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(date +%s)

# --- what this needs ------------------------------------------------------
need=
command -v pebble >/dev/null 2>&1 || need="$need pebble"
[ -x /usr/bin/time ] || need="$need time"
command -v python3 >/dev/null 2>&1 || need="$need python3"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
apt_need "$need"

# peers: installed when missing and root; a peer that is still missing is
# skipped with the reason
pkg_of() {
	case $1 in lego) echo lego ;; certbot) echo certbot ;; uacme) echo uacme ;; esac
}
drop() { TOOLS=$(echo " $TOOLS " | sed "s/ $1 / /"); }
missing=
for t in $TOOLS; do
	[ "$t" = sov-cert ] && continue
	command -v "$t" >/dev/null 2>&1 || missing="$missing $(pkg_of "$t")"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -eq 0 ]; then
		say "installing$missing (apt-get)"
		# shellcheck disable=SC2086 # package names, split on purpose
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null; } ||
			say "apt-get install$missing failed"
	fi
	for t in $TOOLS; do
		[ "$t" = sov-cert ] && continue
		command -v "$t" >/dev/null 2>&1 ||
			{ say "$t SKIPPED: not installed (apt-get install $(pkg_of "$t"))"; drop "$t"; }
	done
fi
case " $TOOLS " in *" sov-cert "*)
	[ -x "$sov" ] || { say "sov-cert SKIPPED: $sov not found (make $sov, or SOV_BUILD=DIR)"; drop sov-cert; } ;;
esac
case " $TOOLS " in *" uacme "*)
	if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
		say "uacme SKIPPED: it has no CA-file option, and trusting pebble needs a private mount namespace (root, unshare -m)"
		drop uacme
	fi
	;;
esac
# shellcheck disable=SC2086,SC2116 # squeeze the blanks
TOOLS=$(echo $TOOLS)
[ -n "$TOOLS" ] || { say "no tool left to run"; exit 1; }

mkdir -p "$BASE"
work=$(mktemp -d "$BASE/cert-run.XXXXXX")
web=
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	[ -z "$web" ] || kill "$web" 2>/dev/null || true
	sh "$top/tests/cert/pebble.sh" stop "$work/pebble" 2>/dev/null || true
	if [ "${SOV_BENCH_KEEP:-0}" = 1 ]; then
		say "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 sh tests/cert/pebble.sh start "$work/pebble" >"$work/pebble.out" 2>&1 ||
	{ cat "$work/pebble.out" >&2; say "pebble did not start"; exit 1; }
. "$work/pebble/env"
DIR=$PEBBLE_DIR
CA=$PEBBLE_CA
PORT=$PEBBLE_HTTP_PORT
EMAIL=bench@sov.example

# wait_port PORT: until something listens there (10 s), or until nothing
# does (wait_port PORT free)
wait_port() {
	w=0
	while :; do
		if python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; then
			[ "${2:-}" != free ] && return 0
		else
			[ "${2:-}" = free ] && return 0
		fi
		w=$((w + 1))
		[ $w -lt 100 ] || return 1
		sleep 0.1
	done
}

# --- the tools ------------------------------------------------------------
mkdir -p "$work/sov" "$work/lego" "$work/certbot" "$work/uacme" \
	"$work/www/.well-known/acme-challenge" "$work/certs-overlay" "$work/t"
cb_common="--config-dir $work/certbot/etc --work-dir $work/certbot/work --logs-dir $work/certbot/log --server $DIR --non-interactive"
if echo " $TOOLS " | grep -q ' uacme '; then
	cp -a /etc/ssl/certs/. "$work/certs-overlay/"
	cp "$CA" "$work/certs-overlay/pebble-listener.pem"
	cat "$CA" >>"$work/certs-overlay/ca-certificates.crt"
	openssl rehash "$work/certs-overlay" 2>/dev/null || c_rehash "$work/certs-overlay" >/dev/null
fi
# in_ns CMD...: CMD with pebble's listener trusted through /etc/ssl/certs
in_ns() {
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare -m sh -c 'mount --bind "$0" /etc/ssl/certs && exec "$@"' "$work/certs-overlay" "$@"
}

# account TOOL: make its account (untimed); lego registers in its first run
account() {
	case $1 in
	sov-cert) "$sov" account --state "$work/sov" --server "$DIR" --ca-file "$CA" --agree-tos --email "$EMAIL" ;;
	lego) true ;;
	certbot)
		# shellcheck disable=SC2086 # options, split on purpose
		REQUESTS_CA_BUNDLE=$CA certbot register --agree-tos -m "$EMAIL" --no-eff-email $cb_common
		;;
	uacme) in_ns uacme -y -c "$work/uacme" -a "$DIR" new "$EMAIL" ;;
	esac >"$work/$1.account.log" 2>&1
}

# issue TOOL NAME OUT: one issuance of NAME, timed into OUT by timed.sh;
# then the certificate must be where the tool puts it
issue() {
	rc=0
	case $1 in
	sov-cert)
		"$timed" "$3" "$sov" issue "${2%%.*}" --domain "$2" --standalone "127.0.0.1:$PORT" \
			--state "$work/sov" --server "$DIR" --ca-file "$CA" || rc=$?
		f=$work/sov/certs/${2%%.*}/fullchain.pem
		;;
	lego)
		LEGO_CA_CERTIFICATES=$CA "$timed" "$3" lego --server "$DIR" --email "$EMAIL" --accept-tos \
			--key-type ec256 --domains "$2" --http --http.port "127.0.0.1:$PORT" \
			--path "$work/lego" run || rc=$?
		f=$work/lego/certificates/$2.crt
		;;
	certbot)
		# shellcheck disable=SC2086 # options, split on purpose
		REQUESTS_CA_BUNDLE=$CA "$timed" "$3" certbot certonly --standalone \
			--http-01-address 127.0.0.1 --http-01-port "$PORT" -d "$2" \
			--key-type ecdsa --elliptic-curve secp256r1 $cb_common || rc=$?
		f=$work/certbot/etc/live/$2/fullchain.pem
		;;
	uacme)
		(cd "$work/www" && exec python3 -m http.server --bind 127.0.0.1 "$PORT" >"$work/www.log" 2>&1) &
		web=$!
		wait_port "$PORT" || say "the web server for uacme did not start"
		UACME_CHALLENGE_PATH=$work/www/.well-known/acme-challenge \
			in_ns "$timed" "$3" uacme -t EC -c "$work/uacme" -a "$DIR" \
			-h /usr/share/uacme/uacme.sh issue "$2" || rc=$?
		kill "$web" 2>/dev/null || true
		wait "$web" 2>/dev/null || true
		web=
		f=$work/uacme/$2/cert.pem
		;;
	esac
	[ "$rc" -eq 0 ] && [ -s "$f" ] && return 0
	say "$1: issuing $2 failed (exit $rc); its output:"
	tail -n 5 "$3.log" >&2 || true
	return 1
}

status=0
for t in $TOOLS; do
	if ! account "$t"; then
		say "$t SKIPPED: its account was not made:"
		tail -n 5 "$work/$t.account.log" >&2
		drop "$t"
		status=1
		continue
	fi
	if ! issue "$t" "$t-00.bench.test" "$work/t/$t-00"; then
		say "$t SKIPPED: its untimed first issuance failed"
		drop "$t"
		status=1
	fi
	wait_port "$PORT" free || true
done
# shellcheck disable=SC2086,SC2116 # squeeze the blanks
TOOLS=$(echo $TOOLS)
[ -n "$TOOLS" ] || { say "no tool issued a certificate"; exit 1; }

say "$N rounds of: $TOOLS"
round=1
while [ $round -le "$N" ]; do
	nn=$(printf %02d $round)
	for t in $TOOLS; do
		if issue "$t" "$t-$nn.bench.test" "$work/t/$t-$nn"; then
			cat "$work/t/$t-$nn" >>"$work/$t.ok"
		else
			echo x >>"$work/$t.failed"
			status=1
		fi
		wait_port "$PORT" free || true
	done
	round=$((round + 1))
done

# --- sizes ----------------------------------------------------------------
# Installed size, in MiB, two figures:
#   own    sov-cert: the binary's bytes (it is not a Debian package); a
#          peer: its package's Installed-Size (dpkg-query)
#   +deps  own plus the Installed-Size of every package in the Depends
#          closure (apt-cache depends --recurse --installed, no Recommends)
#          of the tool's package, for sov-cert of the packages that hold
#          the shared libraries it loads (ldd, dpkg -S), leaving out the
#          closure of the installed packages that are Essential or of
#          Priority required or important (a minimal Debian: libc6,
#          libssl3, libgnutls30 ... are in it). For certbot that is its
#          Python, python3-acme, -cryptography, -requests ...
closure() {
	# shellcheck disable=SC2086 # package names
	apt-cache depends --recurse --installed --no-recommends --no-suggests \
		--no-conflicts --no-breaks --no-replaces --no-enhances $1 2>/dev/null |
		grep -v '^ ' | sed 's/:.*//' | sort -u
}
dpkg-query -W -f '${Package} ${Essential} ${Priority} ${Status}\n' |
	awk '$NF == "installed" && ($2 == "yes" || $3 == "required" || $3 == "important") { print $1 }' >"$work/base0"
closure "$(tr '\n' ' ' <"$work/base0")" >"$work/base"
sum_kib() { # PACKAGES on stdin: Installed-Size of those not in the base
	grep -v -x -F -f "$work/base" | while read -r p; do
		dpkg-query -W -f '${Status} ${Installed-Size}\n' "$p" 2>/dev/null |
			awk '$3 == "installed" { print $4 }'
	done | awk '{ s += $1 } END { print s + 0 }'
}
sov_pkgs() {
	ldd "$sov" | awk '/=> \// { print $3 }' | while read -r l; do
		r=$(readlink -f "$l")
		dpkg -S "$l" 2>/dev/null || dpkg -S "$r" 2>/dev/null || dpkg -S "/usr$l" 2>/dev/null || true
	done | sed 's/:.*//' | sort -u
}
size_line() { # TOOL: "own_mib deps_mib"
	case $1 in
	sov-cert)
		own=$(stat -c %s "$sov")
		deps=$(closure "$(sov_pkgs | tr '\n' ' ')" | sum_kib)
		awk -v o="$own" -v d="$deps" 'BEGIN { printf "%.1f %.1f\n", o / 1048576, o / 1048576 + d / 1024 }'
		;;
	*)
		p=$(pkg_of "$1")
		own=$(dpkg-query -W -f '${Installed-Size}' "$p")
		deps=$(closure "$p" | grep -v "^$p\$" | sum_kib)
		awk -v o="$own" -v d="$deps" 'BEGIN { printf "%.1f %.1f\n", o / 1024, (o + d) / 1024 }'
		;;
	esac
}
version_of() {
	case $1 in
	sov-cert) "$sov" --version 2>/dev/null | head -n 1 ;;
	*) dpkg-query -W -f '${Package} ${Version}' "$(pkg_of "$1")" ;;
	esac
}

# --- report ---------------------------------------------------------------
# stats FILE: "n median p90 min max" of wall seconds, "rss_med rss_max" MiB
stats() {
	sort -n "$1" | awk '
		{ w[NR] = $1 / 1e9; r[NR] = $2 / 1024 }
		END {
			n = NR
			med = (n % 2) ? w[(n + 1) / 2] : (w[n / 2] + w[n / 2 + 1]) / 2
			k = int(0.9 * n); if (k < 0.9 * n) k++; if (k < 1) k = 1
			for (i = 1; i <= n; i++) rs[i] = r[i]
			# sort the RSS values (insertion sort; n <= 99)
			for (i = 2; i <= n; i++) { v = rs[i]; j = i - 1; while (j > 0 && rs[j] > v) { rs[j + 1] = rs[j]; j-- } rs[j + 1] = v }
			rmed = (n % 2) ? rs[(n + 1) / 2] : (rs[n / 2] + rs[n / 2 + 1]) / 2
			printf "%d %.3f %.3f %.3f %.3f %.1f %.1f\n", n, med, w[k], w[1], w[n], rmed, rs[n]
		}'
}
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "sov-cert against lego, certbot, uacme: $N issuances each, one fresh name each, http-01"
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Debian $(cat /etc/debian_version), $(dpkg-query -W -f '${Package} ${Version}' pebble) (PEBBLE_VA_NOSLEEP=1), loopback"
echo "load average: $load_start at the start, $load_end at the end; $(($(date +%s) - t_start)) s in all"
echo
printf '%-9s %-28s %3s %3s %8s %8s %8s %8s %9s %9s %8s %8s\n' tool version ok bad "median s" "p90 s" "min s" "max s" "RSS med" "RSS max" "own MiB" "+deps"
: >"$work/summary"
for t in $TOOLS; do
	bad=0
	[ ! -f "$work/$t.failed" ] || bad=$(wc -l <"$work/$t.failed")
	if [ -s "$work/$t.ok" ]; then
		# shellcheck disable=SC2046 # numbers
		set -- $(stats "$work/$t.ok")
	else
		set -- 0 - - - - - -
	fi
	# shellcheck disable=SC2046
	set -- "$@" $(size_line "$t")
	printf '%-9s %-28s %3s %3s %8s %8s %8s %8s %9s %9s %8s %8s\n' "$t" "$(version_of "$t")" "$1" "$bad" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9"
	echo "$t $*" >>"$work/summary"
done
if grep -q '^sov-cert [1-9]' "$work/summary"; then
	echo
	echo "ratios to sov-cert (the peer's figure / sov-cert's; above 1: sov-cert is faster or smaller):"
	awk '
		$1 == "sov-cert" { m = $3; r = $8; o = $9; d = $10 }
		{ t[NR] = $1; tm[NR] = $3; tr[NR] = $8; to[NR] = $9; td[NR] = $10 }
		END {
			for (i = 1; i <= NR; i++) {
				if (t[i] == "sov-cert" || tm[i] == "-") continue
				printf "  %-8s median time %6.1fx   peak RSS %5.2fx   size own %6.1fx   with deps %5.2fx\n", t[i], tm[i] / m, tr[i] / r, to[i] / o, td[i] / d
			}
		}' "$work/summary"
fi
echo
echo "RSS: GNU time's %M, MiB (the largest process of each run); sizes: see the comment above size_line in bench/cert.sh"
exit $status
