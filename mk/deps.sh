#!/bin/sh
# deps.sh - make every build and test dependency present.
#
# Inside `nix develop` the shell already has them: nothing to do. On Debian as
# root, installs what is missing with apt-get (one `apt-get update` first,
# only when something is missing). Not root: prints the exact apt-get line
# and fails, so nothing half-built follows.
set -eu

# Build: compiler, pkg-config and the libraries of DESIGN.md.
BUILD_PKGS="gcc make pkg-config libjq-dev libpq-dev libsqlite3-dev
libcurl4-openssl-dev libsodium-dev libzstd-dev libssl-dev libmicrohttpd-dev"
# Tests: bats and its helpers, a real PostgreSQL, the Nix parser, clang for
# the fuzz targets, valgrind for VALGRIND=1, and the command-line peers the
# tests compare against, Chromium to render sov-probe's status page, and
# pebble, the ACME server sov-cert's tests issue from; bind9 (named, dig,
# nsupdate), the DNS server sov-probe's dns targets are tested against and
# sov-cert's dns-01 by RFC 2136 update; wireguard-go, wireguard-tools and
# iproute2 for sov-probe's mesh in network namespaces.
TEST_PKGS="bats bats-assert bats-support bats-file postgresql-15
postgresql-client-15 sqlite3 jq nix-bin clang libclang-rt-14-dev valgrind
util-linux procps curl pyflakes3 chromium nginx openssl python3 pebble
bind9 bind9-dnsutils wireguard-go wireguard-tools iproute2"

# SOV_DEPS_PKGS replaces the list (tests use it to see the not-root path).
if [ -n "${SOV_DEPS_PKGS:-}" ]; then
	BUILD_PKGS=$SOV_DEPS_PKGS
	TEST_PKGS=
fi

if [ -n "${IN_NIX_SHELL:-}" ]; then
	exit 0
fi
if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps: not a Debian system and not inside 'nix develop';" \
		"install the equivalents of: $BUILD_PKGS $TEST_PKGS" >&2
	exit 0
fi

missing=
for p in $BUILD_PKGS $TEST_PKGS; do
	s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$s" = installed ] || missing="$missing $p"
done
[ -n "$missing" ] || exit 0

line="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing:$missing" >&2
	echo "deps: as root run: apt-get update && $line" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done" >&2
