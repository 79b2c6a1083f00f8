#!/usr/bin/env bats
# backup-kdf.bats - the Argon2id cost of new key files: --kdf-memory and
# --kdf-passes on init and key add, recorded in each key file, and what
# opening a repository costs in memory with them.

load helpers/common

setup() {
	T=$(mktemp -d "$BATS_TMPDIR/backup-kdf.XXXXXX")
	unset SOV_BACKUP_INSECURE_TEST_KDF SOV_METRICS CREDENTIALS_DIRECTORY
	export SOV_BACKUP_REPO="$T/repo"
	export SOV_CACHE_DIR="$T/cache"
	printf 'correct horse\n' >"$T/pw"
	printf 'battery staple\n' >"$T/pw2"
	chmod 600 "$T/pw" "$T/pw2"
	PW=(--password-file "$T/pw")
}

teardown() {
	rm -rf "$T"
}

@test "init --kdf-memory/--kdf-passes: the key file records that cost and opens" {
	run sov-backup init "${PW[@]}" --kdf-memory 16 --kdf-passes 2
	assert_success
	key=$(ls "$T/repo/keys")
	[ "$(jq -r .memlimit "$T/repo/keys/$key")" = $((16 << 20)) ]
	[ "$(jq -r .opslimit "$T/repo/keys/$key")" = 2 ]
	run sov-backup snapshots "${PW[@]}"
	assert_success
}

@test "init without them: 64 MiB and 3 passes; key add takes its own cost" {
	run sov-backup init "${PW[@]}"
	assert_success
	key=$(ls "$T/repo/keys")
	[ "$(jq -r .memlimit "$T/repo/keys/$key")" = $((64 << 20)) ]
	[ "$(jq -r .opslimit "$T/repo/keys/$key")" = 3 ]
	run sov-backup key add "${PW[@]}" --new-password-file "$T/pw2" --kdf-memory 8 --kdf-passes 5
	assert_success
	new=$(jq -r .id <<<"$output")
	[ "$(jq -r .memlimit "$T/repo/keys/$new")" = $((8 << 20)) ]
	[ "$(jq -r .opslimit "$T/repo/keys/$new")" = 5 ]
	run sov-backup snapshots --password-file "$T/pw2"
	assert_success
}

@test "a 16 MiB key opens in less memory than a 64 MiB one" {
	[ -x /usr/bin/time ] || skip "GNU time not installed"
	sov-backup init "${PW[@]}" --kdf-memory 16 >/dev/null
	/usr/bin/time -f %M -o "$T/small" sov-backup snapshots "${PW[@]}" >/dev/null
	SOV_BACKUP_REPO="$T/repo64" sov-backup init "${PW[@]}" >/dev/null
	SOV_BACKUP_REPO="$T/repo64" /usr/bin/time -f %M -o "$T/big" sov-backup snapshots "${PW[@]}" >/dev/null
	# peak RSS in KiB: the 64 MiB key costs at least 40 MiB more
	[ $(($(tail -1 "$T/big") - $(tail -1 "$T/small"))) -gt 40000 ]
}

@test "--kdf-memory and --kdf-passes out of range are usage errors" {
	run sov-backup init "${PW[@]}" --kdf-memory 4
	assert_failure 2
	assert_output --partial '--kdf-memory: want an integer from 8 to 4096'
	run sov-backup init "${PW[@]}" --kdf-passes 0
	assert_failure 2
	assert_output --partial '--kdf-passes'
	run sov-backup init "${PW[@]}" --kdf-memory lots
	assert_failure 2
	[ ! -e "$T/repo" ]
}
