# pebble.bash - Debian's pebble for a bats file's setup_file, through
# tests/cert/pebble.sh (pebble on loopback with pebble-challtestsrv as its
# DNS). Shared by the cert*.bats files that need nothing else of it.

# pebble_up NAME: start it under $BATS_FILE_TMPDIR/NAME ($CDIR) and export
# its env (PEBBLE_DIR, PEBBLE_CA, ports); 1 with NO_PEBBLE saying why not.
# fd 3 is closed for it: a daemon holding bats' fd 3 would hang the run.
pebble_up() {
	export CDIR="$BATS_FILE_TMPDIR/$1"
	mkdir -p "$CDIR"
	export HELPER="$BATS_TEST_DIRNAME/cert/pebble.sh"
	if ! command -v pebble >/dev/null || ! command -v pebble-challtestsrv >/dev/null; then
		export NO_PEBBLE="pebble not installed (make deps installs it)"
		return 1
	fi
	if ! "$HELPER" start "$CDIR/pebble" >"$CDIR/pebble.out" 2>&1 3>&-; then
		export NO_PEBBLE="pebble did not start: $(cat "$CDIR/pebble.out")"
		return 1
	fi
	set -a
	. "$CDIR/pebble/env"
	set +a
}
