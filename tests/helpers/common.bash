# common.bash - loaded by every tests/*.bats: the bats libraries, the build
# directory, and small helpers. Debian puts the libraries in /usr/lib/bats;
# nix develop (bats.withLibraries) sets BATS_LIB_PATH itself.
export BATS_LIB_PATH=${BATS_LIB_PATH:-/usr/lib/bats}
bats_load_library bats-support
bats_load_library bats-assert
bats_load_library bats-file

SOV_BUILD=${SOV_BUILD:-build}
case $SOV_BUILD in /*) ;; *) SOV_BUILD="$BATS_TEST_DIRNAME/../$SOV_BUILD" ;; esac
export SOV_BUILD
export PATH="$SOV_BUILD:$PATH"

# A test that needs PostgreSQL skips with the reason, unless CI requires it.
require_pg() {
	if [ -z "${SOV_TEST_PG_URL:-}" ]; then
		if [ "${SOV_REQUIRE_PG:-0}" = 1 ]; then
			fail "SOV_REQUIRE_PG=1 but SOV_TEST_PG_URL is not set"
		fi
		skip "PostgreSQL: SOV_TEST_PG_URL not set"
	fi
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds, polling every 0.1 s.
wait_for() {
	local n=$(($1 * 10))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}
