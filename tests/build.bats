#!/usr/bin/env bats
# build.bats - the build's promises: install honours PREFIX and DESTDIR,
# deps says what to run when it cannot install, nix develop needs nothing.

load helpers/common

setup() {
	T=$(mktemp -d "$BATS_TMPDIR/build.XXXXXX")
	chmod 755 "$T"
	ROOT="$BATS_TEST_DIRNAME/.."
}

teardown() {
	rm -rf "$T"
}

@test "make install puts every tool under DESTDIR/PREFIX/bin, not sov-demo" {
	run make -C "$ROOT" -s install DESTDIR="$T/dest" PREFIX=/opt/sov
	assert_success
	assert_dir_exist "$T/dest/opt/sov/bin"
	want=$(cd "$ROOT/tools" && ls -d sov-* | grep -v '^sov-demo$' | sort | tr '\n' ' ')
	got=$(ls "$T/dest/opt/sov/bin" | sort | tr '\n' ' ')
	assert_equal "$got" "$want"
	assert_file_not_exist "$T/dest/opt/sov/bin/sov-demo"
}

@test "make deps, not root, prints the exact apt-get line and fails" {
	[ "$(id -u)" = 0 ] || skip "needs root to run the script as nobody"
	command -v dpkg-query >/dev/null || skip "not a Debian system"
	cp "$ROOT/mk/deps.sh" "$T/deps.sh"
	run runuser -u nobody -- env SOV_DEPS_PKGS="sov-no-such-package bash" sh "$T/deps.sh"
	assert_failure 1
	assert_line "deps: missing: sov-no-such-package"
	assert_line "deps: as root run: apt-get update && apt-get install -y --no-install-recommends sov-no-such-package"
}

@test "make deps inside nix develop has nothing to do" {
	run env IN_NIX_SHELL=impure SOV_DEPS_PKGS="sov-no-such-package" sh "$ROOT/mk/deps.sh"
	assert_success
	assert_output ""
}

@test "make deps with everything present is silent" {
	command -v dpkg-query >/dev/null || skip "not a Debian system"
	run env SOV_DEPS_PKGS="bash coreutils" sh "$ROOT/mk/deps.sh"
	assert_success
	assert_output ""
}
