#!/usr/bin/env bats
# backup.bats - sov-backup end to end: a real repository on disk, real
# files, SQLite databases and (when up) a real PostgreSQL; restores compared
# byte for byte and by metadata; damage and crashes.

load helpers/common

setup() {
	T=$(mktemp -d "$BATS_TMPDIR/backup.XXXXXX")
	export SOV_BACKUP_INSECURE_TEST_KDF=1 # Argon2id at its minimum cost
	export SOV_BACKUP_REPO="$T/repo"
	# the local cache of directories, in the test's own directory
	export SOV_CACHE_DIR="$T/cache"
	unset SOV_METRICS CREDENTIALS_DIRECTORY
	printf 'correct horse\n' >"$T/pw"
	chmod 600 "$T/pw"
	PW=(--password-file "$T/pw")
	mkdir -p "$T/src/sub/deeper"
	printf 'hello\n' >"$T/src/a"
	head -c 3000000 /dev/urandom >"$T/src/sub/random"
	seq 1 200000 >"$T/src/sub/deeper/text"
	ln -s a "$T/src/link"
	ln "$T/src/a" "$T/src/hardlink"
	mkfifo "$T/src/fifo"
	chmod 4750 "$T/src/sub/deeper/text"
	touch -d '2001-02-03 04:05:06.123456789' "$T/src/sub/random"
	mkdir "$T/src/ro"
	printf 'inside a read-only directory\n' >"$T/src/ro/f"
	chmod 555 "$T/src/ro"
	touch -d '2002-03-04 05:06:07' "$T/src/ro"
}

teardown() {
	rm -rf "$T"
}

init() {
	run sov-backup init "${PW[@]}"
	assert_success
}

# A listing of a tree with everything restore promises to keep.
meta() {
	(cd "$1" && find . -printf '%p %y %m %U %G %n %s %T@ %l\n' | sort)
}

@test "init creates a repository; a second init refuses" {
	init
	assert_output --partial '"event":"init"'
	assert_dir_exists "$T/repo/keys"
	assert_file_exists "$T/repo/config"
	run sov-backup init "${PW[@]}"
	assert_failure
	refute_output --partial '"event":"init"'
}

@test "no password: a clear error naming both ways, exit 2" {
	run sov-backup init
	assert_failure 2
	assert_output --partial "password"
	assert_output --partial "CREDENTIALS_DIRECTORY"
}

@test "the password comes from \$CREDENTIALS_DIRECTORY/password too" {
	mkdir "$T/creds"
	cp "$T/pw" "$T/creds/password"
	CREDENTIALS_DIRECTORY="$T/creds" run sov-backup init
	assert_success
	CREDENTIALS_DIRECTORY="$T/creds" run sov-backup snapshots
	assert_success
}

@test "a wrong password is refused, exit 2" {
	init
	printf 'wrong\n' >"$T/bad"
	chmod 600 "$T/bad"
	run sov-backup snapshots --password-file "$T/bad"
	assert_failure 2
	assert_output --partial "wrong password"
}

@test "not a repository: exit 2 naming the path" {
	mkdir "$T/empty"
	run sov-backup snapshots "${PW[@]}" --repo "$T/empty"
	assert_failure 2
	assert_output --partial "$T/empty"
}

@test "backup and restore: contents, modes, times, symlinks, hard links, fifos" {
	init
	run sov-backup backup "${PW[@]}" "$T/src"
	assert_success
	assert_output --partial '"event":"snapshot"'
	run sov-backup restore "${PW[@]}" latest --target "$T/out"
	assert_success
	diff -r --no-dereference -x fifo "$T/src" "$T/out$T/src"
	[ "$(meta "$T/src")" = "$(meta "$T/out$T/src")" ]
	# the hard link is a hard link again
	[ "$(stat -c %i "$T/out$T/src/a")" = "$(stat -c %i "$T/out$T/src/hardlink")" ]
	[ "$(stat -c %y "$T/out$T/src/sub/random")" = "2001-02-03 04:05:06.123456789 +0000" ]
}

@test "the second backup reads only what changed and shares chunks" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	printf 'more\n' >>"$T/src/sub/deeper/text"
	run sov-backup backup "${PW[@]}" "$T/src"
	assert_success
	run jq -r 'select(.event=="snapshot") | "\(.unchanged) \(.bytes_read)"' <<<"$output"
	# a, hardlink, random, ro/f unchanged (4 of 5 files); text read again
	[ "${output% *}" = 4 ]
	[ "${output#* }" -lt 2000000 ]
	run sov-backup restore "${PW[@]}" latest --target "$T/out"
	assert_success
	diff -r --no-dereference -x fifo "$T/src" "$T/out$T/src"
}

@test "identical data is stored once: a copy adds almost nothing" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	before=$(du -sb "$T/repo" | cut -f1)
	cp "$T/src/sub/random" "$T/src/copy"
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	after=$(du -sb "$T/repo" | cut -f1)
	[ $((after - before)) -lt 100000 ]
}

@test "snapshots: oldest first, filtered by tag and host; ls and dump" {
	init
	sov-backup backup "${PW[@]}" --tag nightly "$T/src" >/dev/null
	sov-backup backup "${PW[@]}" --tag weekly --host other "$T/src" >/dev/null
	run sov-backup snapshots "${PW[@]}"
	assert_success
	[ "$(grep -c '"event":"snapshot"' <<<"$output")" = 2 ]
	run sov-backup snapshots "${PW[@]}" --tag weekly
	[ "$(jq -r .host <<<"$output")" = other ]
	run sov-backup snapshots "${PW[@]}" --host "$(hostname)"
	[ "$(jq -r '.tags[0]' <<<"$output")" = nightly ]
	run sov-backup ls "${PW[@]}" latest "$T/src/sub"
	assert_success
	assert_output --partial "\"path\":\"$T/src/sub/deeper/text\""
	sov-backup dump "${PW[@]}" latest "$T/src/sub/random" >"$T/dumped"
	cmp "$T/dumped" "$T/src/sub/random"
	run sov-backup dump "${PW[@]}" latest "$T/src/nope"
	assert_failure 2
	assert_output --partial "not found"
}

@test "restore --include restores only the named subtree" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	run sov-backup restore "${PW[@]}" latest --target "$T/out" --include "$T/src/sub/deeper"
	assert_success
	assert_file_exists "$T/out$T/src/sub/deeper/text"
	assert_file_not_exists "$T/out$T/src/sub/random"
	assert_file_not_exists "$T/out$T/src/a"
}

@test "restore over a previous restore replaces files, and a symlink planted at a file's name is replaced, not followed" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	run sov-backup restore "${PW[@]}" latest --target "$T/out"
	assert_success
	printf 'changed since\n' >"$T/out$T/src/sub/deeper/text"
	printf 'outside\n' >"$T/outside"
	rm "$T/out$T/src/a"
	ln -s "$T/outside" "$T/out$T/src/a"
	run sov-backup restore "${PW[@]}" latest --target "$T/out"
	assert_success
	cmp "$T/out$T/src/sub/deeper/text" "$T/src/sub/deeper/text"
	[ ! -L "$T/out$T/src/a" ]
	cmp "$T/out$T/src/a" "$T/src/a"
	[ "$(cat "$T/outside")" = outside ]
}

@test "excludes: by name anywhere, by path, from a file" {
	init
	printf '%s\n' '# comment' "$T/src/sub/deeper" >"$T/excl"
	run sov-backup backup "${PW[@]}" --exclude 'rand*' --exclude-file "$T/excl" "$T/src"
	assert_success
	run sov-backup ls "${PW[@]}" latest
	refute_output --partial "random"
	refute_output --partial "deeper"
	assert_output --partial "$T/src/a"
}

@test "an excluded file is not read ahead: its pages stay out of the cache; a saved one is read" {
	command -v fincore >/dev/null || skip "fincore (util-linux) is not installed"
	init
	mkdir -p "$T/pf"
	# b.keep first: while the walk chunks it, the prefetchers are on c.skip
	for f in b.keep c.skip; do
		head -c 8000000 /dev/urandom >"$T/pf/$f"
	done
	sync
	for f in b.keep c.skip; do
		dd if="$T/pf/$f" iflag=nocache count=0 status=none
	done
	res() { fincore --bytes --noheadings --output RES "$T/pf/$1" | tr -d ' '; }
	[ "$(res b.keep)" = 0 ] && [ "$(res c.skip)" = 0 ] ||
		skip "this file system keeps the pages of fsynced files: the cache cannot be observed"
	run sov-backup backup "${PW[@]}" --exclude '*.skip' "$T/pf"
	assert_success
	[ "$(res c.skip)" = 0 ] # read ahead, it would be in the cache
	[ "$(res b.keep)" != 0 ] # (control: a saved file is read)
}

@test "--stdin saves a stream as a file" {
	init
	seq 1 1000 | sov-backup backup "${PW[@]}" --stdin numbers.txt >/dev/null
	run sov-backup dump "${PW[@]}" latest /numbers.txt
	assert_success
	[ "$output" = "$(seq 1 1000)" ]
	run sov-backup backup "${PW[@]}" --stdin ../x
	assert_failure 2
}

@test "--sqlite copies a live WAL database consistently and restores it atomically" {
	init
	db="$T/live.db"
	sqlite3 "$db" 'PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1),(2),(3);' >/dev/null
	run sov-backup backup "${PW[@]}" --sqlite "$db"
	assert_success
	sqlite3 "$db" 'DELETE FROM t;'
	run sov-backup restore "${PW[@]}" latest --sqlite-target "$T/restored.db"
	assert_success
	[ "$(sqlite3 "$T/restored.db" 'SELECT count(*) FROM t')" = 3 ]
	[ "$(sqlite3 "$T/restored.db" 'PRAGMA integrity_check')" = ok ]
}

@test "an SQLite file inside a backed-up directory is saved as a consistent copy, without its -wal" {
	init
	db="$T/src/app.db"
	sqlite3 "$db" 'PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(x); INSERT INTO t VALUES (1),(2);' >/dev/null
	run sov-backup backup "${PW[@]}" --sqlite "$db" "$T/src"
	assert_success
	run sov-backup ls "${PW[@]}" latest "$T/src"
	assert_output --partial '"source":"sqlite"'
	refute_output --partial "app.db-wal"
	sov-backup dump "${PW[@]}" latest "$T/src/app.db" >"$T/copy.db"
	[ "$(sqlite3 "$T/copy.db" 'SELECT count(*) FROM t')" = 2 ]
}

@test "--postgres streams pg_dump and restores into a fresh database" {
	require_pg
	"$BATS_TEST_DIRNAME/helpers/pg.sh" createdb "$SOV_TEST_PG_DIR" bk_src >/dev/null
	"$BATS_TEST_DIRNAME/helpers/pg.sh" createdb "$SOV_TEST_PG_DIR" bk_dst >/dev/null
	src=$("$BATS_TEST_DIRNAME/helpers/pg.sh" url "$SOV_TEST_PG_DIR" bk_src)
	dst=$("$BATS_TEST_DIRNAME/helpers/pg.sh" url "$SOV_TEST_PG_DIR" bk_dst)
	psql -q "$src" -c "CREATE TABLE customers(id int primary key, name text); INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 5000) g;"
	init
	run sov-backup backup "${PW[@]}" --postgres "$src"
	assert_success
	run sov-backup ls "${PW[@]}" latest /postgresql
	assert_output --partial '"path":"/postgresql/bk_src.pgdump"'
	run sov-backup restore "${PW[@]}" latest --postgres-target "$dst"
	assert_success
	[ "$(psql -tA "$dst" -c 'SELECT count(*), sum(id) FROM customers')" = "5000|12502500" ]
}

@test "check passes on a good repository, with and without --read-data" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	run sov-backup check "${PW[@]}"
	assert_success
	assert_output --partial '"errors":0'
	run sov-backup check "${PW[@]}" --read-data
	assert_success
	assert_output --regexp '"blobs_verified":[1-9]'
	run sov-backup check "${PW[@]}" --read-data-subset 1/2
	assert_success
	run sov-backup check "${PW[@]}" --read-data-subset 200%
	assert_failure 2
}

biggest_pack() {
	find "$T/repo/data" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2
}

@test "a flipped bit in a pack: check --read-data finds it, restore refuses the file" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	p=$(biggest_pack)
	cp "$p" "$T/pack.orig"
	# mid-pack, inside the 3 MB random file's ciphertext: its tag
	# catches it, and the pack's name (which hashes the tags, not the
	# ciphertext) still fits
	printf '\x55' | dd of="$p" bs=1 seek=$(($(stat -c %s "$p") / 2)) \
		conv=notrunc status=none
	run sov-backup check "${PW[@]}"
	assert_success # structure alone cannot see it
	run sov-backup check "${PW[@]}" --read-data
	assert_failure 1
	assert_output --partial "authentication failed"
	refute_output --partial "does not match its name"
	run sov-backup restore "${PW[@]}" latest --target "$T/out"
	assert_failure
	assert_output --partial "authentication failed"
	# in the first blob's nonce: the name no longer fits either
	cp "$T/pack.orig" "$p"
	printf '\x55' | dd of="$p" bs=1 seek=5 conv=notrunc status=none
	run sov-backup check "${PW[@]}" --read-data
	assert_failure 1
	assert_output --partial "does not match its name"
	assert_output --partial "blob 0: authentication failed"
	cp "$T/pack.orig" "$p"
	run sov-backup check "${PW[@]}" --read-data
	assert_success
}

@test "check --read-data streams packs: a truncated pack, bytes appended, a flipped bit in the header, each reported" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	p=$(biggest_pack)
	cp "$p" "$T/pack.orig"
	size=$(stat -c %s "$p")
	# one byte short: the header's length field now points elsewhere
	truncate -s $((size - 1)) "$p"
	run sov-backup check "${PW[@]}" --read-data
	assert_failure 1
	assert_output --partial "does not match its name"
	assert_output --partial "\"kind\":\"pack\""
	# bytes appended after the header
	cp "$T/pack.orig" "$p"
	printf 'trailing' >>"$p"
	run sov-backup check "${PW[@]}" --read-data
	assert_failure 1
	assert_output --partial "does not match its name"
	# a flipped bit inside the sealed header (the last bytes before its
	# 4-byte length): it no longer opens
	cp "$T/pack.orig" "$p"
	printf '\x55' | dd of="$p" bs=1 seek=$((size - 10)) conv=notrunc status=none
	run sov-backup check "${PW[@]}" --read-data
	assert_failure 1
	assert_output --partial "does not match its name"
	assert_output --partial "authentication failed"
	# and restored, it checks again
	cp "$T/pack.orig" "$p"
	run sov-backup check "${PW[@]}" --read-data
	assert_success
}

@test "a deleted pack: check names it missing, and the files that need it" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	rm "$(biggest_pack)"
	run sov-backup check "${PW[@]}"
	assert_failure 1
	assert_output --partial "missing (the index lists it)"
}

@test "a truncated index file is detected" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	i=$(find "$T/repo/index" -type f | head -1)
	truncate -s 100 "$i"
	run sov-backup check "${PW[@]}"
	assert_failure 1
	assert_output --partial "index/"
	run sov-backup restore "${PW[@]}" latest --target "$T/out"
	assert_failure
}

@test "a tampered snapshot (re-sealed under another name) is refused" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	s=$(find "$T/repo/snapshots" -type f | head -1)
	printf 'X' | dd of="$s" bs=1 seek=40 conv=notrunc status=none
	run sov-backup snapshots "${PW[@]}"
	assert_failure
	assert_output --partial "does not match its name"
	# renamed to the hash of its new bytes, it still fails authentication
	mv "$s" "$T/repo/snapshots/$(b2sum -l 256 "$s" | cut -d' ' -f1)"
	run sov-backup snapshots "${PW[@]}"
	assert_failure
	assert_output --partial "authentication failed"
}

@test "a snapshot whose blobs are gone (every pack deleted, the index kept): check reports its tree" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	find "$T/repo/data" -type f -delete
	run sov-backup check "${PW[@]}"
	assert_failure 1
	assert_output --partial '"kind":"tree"'
}

@test "forget keeps by policy; --dry-run removes nothing" {
	init
	for i in 1 2 3 4; do sov-backup backup "${PW[@]}" "$T/src" >/dev/null; done
	run sov-backup forget "${PW[@]}" --keep-last 2 --dry-run
	assert_success
	[ "$(grep -c '"event":"forget"' <<<"$output")" = 2 ]
	[ "$(sov-backup snapshots "${PW[@]}" | wc -l)" = 4 ]
	run sov-backup forget "${PW[@]}" --keep-last 2
	assert_success
	[ "$(sov-backup snapshots "${PW[@]}" | wc -l)" = 2 ]
	run sov-backup forget "${PW[@]}"
	assert_failure 2
	assert_output --partial "refusing"
	run sov-backup check "${PW[@]}"
	assert_success
}

@test "keys: add a second password, list, remove the first" {
	init
	printf 'second\n' >"$T/pw2"
	chmod 600 "$T/pw2"
	run sov-backup key add "${PW[@]}" --new-password-file "$T/pw2"
	assert_success
	new=$(jq -r .id <<<"$output")
	run sov-backup key list --password-file "$T/pw2"
	assert_success
	[ "$(wc -l <<<"$output")" = 2 ]
	old=$(jq -r 'select(.current==false) | .id' <<<"$output")
	run sov-backup key remove --password-file "$T/pw2" "$new"
	assert_failure 2
	assert_output --partial "is the key this password opened"
	run sov-backup key remove --password-file "$T/pw2" "$old"
	assert_success
	run sov-backup snapshots "${PW[@]}"
	assert_failure 2
	assert_output --partial "wrong password"
	run sov-backup snapshots --password-file "$T/pw2"
	assert_success
}

@test "an unreadable file is a warning, exit 1, and the snapshot is saved without it" {
	init
	SOV_FAULT="openat:EACCES:path=random" LD_PRELOAD="$SOV_BUILD/tests/faultinject.so" \
		run sov-backup backup "${PW[@]}" "$T/src"
	assert_failure 1
	assert_output --partial "random: open"
	assert_output --partial "could not be read"
	assert_output --partial '"event":"snapshot"'
	run sov-backup ls "${PW[@]}" latest
	assert_output --partial "$T/src/a"
	refute_output --partial "$T/src/sub/random"
}

@test "a file that vanishes between listing and reading is a warning, exit 0" {
	init
	SOV_FAULT="openat:ENOENT:path=random" LD_PRELOAD="$SOV_BUILD/tests/faultinject.so" \
		run sov-backup backup "${PW[@]}" "$T/src"
	assert_success
	assert_output --partial '"vanished":1'
}

@test "the repository inside a backed-up directory is not backed up into itself" {
	export SOV_BACKUP_REPO="$T/src/repo"
	init
	run sov-backup backup "${PW[@]}" "$T/src"
	assert_success
	run sov-backup ls "${PW[@]}" latest
	refute_output --partial "$T/src/repo"
}

@test "a full disk during backup: exit 75, the repository still checks" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	head -c 4000000 /dev/urandom >"$T/src/new"
	SOV_FAULT="write:ENOSPC:path=$T/repo/data" LD_PRELOAD="$SOV_BUILD/tests/faultinject.so" \
		run sov-backup backup "${PW[@]}" "$T/src"
	assert_failure 75
	run sov-backup check "${PW[@]}" --read-data
	assert_success
	run sov-backup backup "${PW[@]}" "$T/src"
	assert_success
}

@test "kill -9 at random instants during backup: check passes, old snapshots restore, next backup completes" {
	init
	head -c 20000000 /dev/urandom >"$T/src/big"
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	(cd "$T/src" && find . -type f -exec sha256sum {} + | sort) >"$T/sums"
	run "$BATS_TEST_DIRNAME/helpers/crash.sh" --rounds 8 --min-ms 20 --max-ms 600 \
		--setup-each --setup "head -c 3000000 /dev/urandom >>'$T/src/big'" \
		--check "sov-backup check --password-file '$T/pw' --read-data >/dev/null && rm -rf '$T/out' && sov-backup restore --password-file '$T/pw' \$(sov-backup snapshots --password-file '$T/pw' | head -1 | jq -r .id) --target '$T/out' >/dev/null" \
		-- sov-backup backup --password-file "$T/pw" --lock-wait 20 "$T/src"
	assert_success
	run sov-backup backup "${PW[@]}" "$T/src"
	assert_success
	run sov-backup check "${PW[@]}" --read-data
	assert_success
}

@test "forget --prune frees space, repacks partly used packs, keeps what is needed byte for byte" {
	init
	mkdir "$T/many"
	for i in $(seq 1 60); do head -c 200000 /dev/urandom >"$T/many/f$i"; done
	sov-backup backup "${PW[@]}" --threads 1 "$T/many" >/dev/null
	rm "$T"/many/f[1-4]*
	sov-backup backup "${PW[@]}" --threads 1 "$T/many" >/dev/null
	before=$(du -sb "$T/repo" | cut -f1)
	run sov-backup forget "${PW[@]}" --keep-last 1 --prune
	assert_success
	assert_output --regexp '"packs_repacked":[1-9]'
	after=$(du -sb "$T/repo" | cut -f1)
	[ "$after" -lt $((before * 8 / 10)) ]
	run sov-backup check "${PW[@]}" --read-data
	assert_success
	run sov-backup restore "${PW[@]}" latest --target "$T/out"
	assert_success
	diff -r "$T/many" "$T/out$T/many"
	# nothing left to do
	run sov-backup prune "${PW[@]}"
	assert_output --partial '"packs_deleted":0,"packs_repacked":0'
}

@test "prune deletes nothing when a snapshot needs data the index does not have" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	rm "$T/repo/index"/*
	n=$(find "$T/repo/data" -type f | wc -l)
	run sov-backup prune "${PW[@]}"
	assert_failure 1
	assert_output --partial "prune stops here and deletes nothing"
	[ "$(find "$T/repo/data" -type f | wc -l)" = "$n" ]
}

# What prune decides, without its timing and its sort statistics.
prune_outcome() {
	jq -c 'select(.event=="summary") | del(.ts, .seconds, .sort_runs)'
}

@test "prune in a tiny sort budget spills to disk, drops duplicate copies, and decides as in the default budget" {
	init
	mkdir "$T/many"
	# 600 small files: a blob each, enough to fill many 16 KiB sort runs
	head -c 1200000 /dev/urandom | (cd "$T/many" && split -b 2000 -a 3 - f)
	sov-backup backup "${PW[@]}" --threads 1 "$T/many" >/dev/null
	# a second copy of every blob in other packs: back up again with the
	# index put aside, then bring it back
	mkdir "$T/idx"
	mv "$T/repo/index"/* "$T/idx/"
	sov-backup backup "${PW[@]}" --threads 1 --force "$T/many" >/dev/null
	mv "$T/idx"/* "$T/repo/index/"
	rm "$T"/many/fa*
	sov-backup backup "${PW[@]}" --threads 1 "$T/many" >/dev/null
	sov-backup forget "${PW[@]}" --keep-last 1 >/dev/null
	cp -a "$T/repo" "$T/repo2"
	run sov-backup prune "${PW[@]}" --sort-memory 16
	assert_success
	assert_output --regexp '"sort_runs":[1-9]'
	assert_output --regexp '"duplicates":[1-9]'
	small=$(printf '%s\n' "$output" | prune_outcome)
	run sov-backup prune "${PW[@]}" --repo "$T/repo2"
	assert_success
	assert_output --partial '"sort_runs":0'
	[ "$(printf '%s\n' "$output" | prune_outcome)" = "$small" ]
	run sov-backup check "${PW[@]}" --read-data
	assert_success
	run sov-backup restore "${PW[@]}" latest --target "$T/out"
	assert_success
	diff -r "$T/many" "$T/out$T/many"
	run sov-backup prune "${PW[@]}" --sort-memory 16
	assert_output --partial '"duplicates":0'
	assert_output --partial '"packs_deleted":0,"packs_repacked":0'
}

@test "prune: an index file repeating another is no waste; a superseded one is ignored" {
	init
	mkdir "$T/many"
	for i in $(seq 1 20); do head -c 200000 /dev/urandom >"$T/many/f$i"; done
	sov-backup backup "${PW[@]}" --threads 1 "$T/many" >/dev/null
	# repair, with the old index out of sight, writes a second index
	# file naming the same blobs in the same places
	mkdir "$T/idx"
	mv "$T/repo/index"/* "$T/idx/"
	run sov-backup repair "${PW[@]}" index
	assert_success
	cp "$T/idx"/* "$T/repo/index/"
	[ "$(ls "$T/repo/index" | wc -l)" = 2 ]
	run sov-backup prune "${PW[@]}" --dry-run --sort-memory 16
	assert_success
	assert_output --partial '"duplicates":0'
	assert_output --partial '"packs_deleted":0,"packs_repacked":0'
	# a prune that repacks, and whose old index files cannot be removed:
	# its new index supersedes them, so the next prune reads it alone and
	# finds the old packs in no index (read as well, the old files would
	# make every copied blob a duplicate)
	rm "$T"/many/f1*
	sov-backup backup "${PW[@]}" --threads 1 "$T/many" >/dev/null
	sov-backup forget "${PW[@]}" --keep-last 1 >/dev/null
	SOV_FAULT="unlinkat:EIO:path=index/" LD_PRELOAD="$SOV_BUILD/tests/faultinject.so" \
		run sov-backup prune "${PW[@]}"
	assert_failure
	[ "$(ls "$T/repo/index" | wc -l)" -ge 4 ]
	run sov-backup prune "${PW[@]}" --sort-memory 16
	assert_success
	assert_output --partial '"duplicates":0'
	assert_output --regexp '"packs_unindexed":[1-9]'
	[ "$(ls "$T/repo/index" | wc -l)" = 1 ]
	run sov-backup restore "${PW[@]}" latest --target "$T/out"
	assert_success
	diff -r "$T/many" "$T/out$T/many"
	run sov-backup check "${PW[@]}" --read-data
	assert_success
}

@test "check --read-data-subset reads at least one pack" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	run sov-backup check "${PW[@]}" --read-data-subset 1%
	assert_success
	assert_output --regexp '"packs_read":[1-9]'
}

@test "prune does not copy a damaged blob into a new pack: it stops, and deletes nothing" {
	init
	mkdir "$T/many"
	for i in $(seq 1 30); do head -c 200000 /dev/urandom >"$T/many/f$i"; done
	sov-backup backup "${PW[@]}" --threads 1 "$T/many" >/dev/null
	rm "$T"/many/f1* "$T"/many/f2*
	sov-backup backup "${PW[@]}" --threads 1 "$T/many" >/dev/null
	sov-backup forget "${PW[@]}" --keep-last 1 >/dev/null
	p=$(biggest_pack)
	# f9, the last file saved and still needed, ends just before the header
	hlen=$(od -An -tu4 -j $(($(stat -c %s "$p") - 4)) -N4 "$p" | tr -d ' ')
	off=$(($(stat -c %s "$p") - 4 - hlen - 100000))
	printf '\x55' | dd of="$p" bs=1 seek="$off" conv=notrunc status=none
	find "$T/repo/data" "$T/repo/index" -type f | sort >"$T/before"
	run sov-backup prune "${PW[@]}"
	assert_failure 1
	assert_output --partial "authentication failed"
	[ -f "$p" ]
	find "$T/repo/data" "$T/repo/index" -type f | sort | comm -23 "$T/before" - >"$T/gone"
	[ ! -s "$T/gone" ]
}

@test "kill -9 at random instants during prune: check passes and every kept snapshot restores" {
	init
	mkdir "$T/many"
	for i in $(seq 1 40); do head -c 300000 /dev/urandom >"$T/many/f$i"; done
	sov-backup backup "${PW[@]}" --threads 1 "$T/many" >/dev/null
	rm "$T"/many/f[1-2]*
	sov-backup backup "${PW[@]}" --threads 1 "$T/many" >/dev/null
	sov-backup forget "${PW[@]}" --keep-last 1 >/dev/null
	(cd "$T/many" && sha256sum f* | sort) >"$T/sums"
	run "$BATS_TEST_DIRNAME/helpers/crash.sh" --rounds 10 --min-ms 5 --max-ms 300 \
		--check "sov-backup check --password-file '$T/pw' --read-data >/dev/null && rm -rf '$T/out' && sov-backup restore --password-file '$T/pw' latest --target '$T/out' >/dev/null && (cd '$T/out$T/many' && sha256sum f* | sort) | cmp - '$T/sums'" \
		-- sov-backup prune --password-file "$T/pw" --lock-wait 20
	assert_success
	run sov-backup prune "${PW[@]}"
	assert_success
	run sov-backup check "${PW[@]}" --read-data
	assert_success
}

@test "diff names what was added, removed, modified, and changed only in metadata" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	printf 'new\n' >"$T/src/added"
	rm "$T/src/sub/deeper/text"
	printf 'changed\n' >"$T/src/a"
	chmod 600 "$T/src/sub/random"
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	first=$(sov-backup snapshots "${PW[@]}" | head -1 | jq -r .id)
	run sov-backup diff "${PW[@]}" "${first:0:8}" latest
	assert_success
	assert_line --partial "\"change\":\"added\",\"path\":\"$T/src/added\""
	assert_line --partial "\"change\":\"removed\",\"path\":\"$T/src/sub/deeper/text\""
	assert_line --partial "\"change\":\"modified\",\"path\":\"$T/src/a\""
	assert_line --partial "\"change\":\"metadata\",\"path\":\"$T/src/sub/random\""
	run sov-backup diff "${PW[@]}" latest latest
	assert_output --partial '"added":0,"removed":0,"modified":0,"metadata":0'
}

@test "reading directories and symlinks between backups changes no tree; --atime keeps access times" {
	init
	# access times older than the last change: under relatime (the
	# default), the backup's own readdir and readlink set them anew, as
	# they would a day later (this changes ctime, so before backup 1)
	touch -a -d '2001-01-01 00:00:00' "$T/src/sub" "$T/src/sub/deeper"
	touch -h -a -d '2001-01-01 00:00:00' "$T/src/link"
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	first=$(sov-backup snapshots "${PW[@]}" | head -1 | jq -r .id)
	sov-backup ls "${PW[@]}" "$first" "$T/src" | jq -c 'del(.ts)' >"$T/ls1"
	sov-backup ls "${PW[@]}" latest "$T/src" | jq -c 'del(.ts)' >"$T/ls2"
	cmp "$T/ls1" "$T/ls2"
	run cat "$T/ls2"
	assert_output --partial "\"path\":\"$T/src/sub/deeper\""
	refute_output --partial '"atime"'
	run sov-backup diff "${PW[@]}" "$first" latest
	assert_output --partial '"added":0,"removed":0,"modified":0,"metadata":0'
	touch -a -d '2030-01-01 00:00:00' "$T/src/a"
	sov-backup backup "${PW[@]}" --atime "$T/src" >/dev/null
	run sov-backup ls "${PW[@]}" latest "$T/src"
	assert_output --partial '"atime":"2030-01-01T00:00:00'
	sov-backup restore "${PW[@]}" latest --target "$T/r" >/dev/null
	[ "$(stat -c %X "$T/r$T/src/a")" = "$(date -d '2030-01-01 00:00:00' +%s)" ]
}

@test "an unchanged directory keeps its tree; a change deep down reaches every tree above it" {
	init
	# $T/src holds a symlink: reading it sets its atime, which is not kept
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	run sov-backup diff "${PW[@]}" "$(sov-backup snapshots "${PW[@]}" | head -1 | jq -r .id)" latest
	assert_output --partial '"added":0,"removed":0,"modified":0,"metadata":0'
	# only the mode of a file two directories down
	chmod 640 "$T/src/sub/deeper/text"
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	run sov-backup diff "${PW[@]}" "$(sov-backup snapshots "${PW[@]}" | sed -n 2p | jq -r .id)" latest
	assert_line --partial "\"change\":\"metadata\",\"path\":\"$T/src/sub/deeper/text\""
	sov-backup restore "${PW[@]}" latest --target "$T/r" >/dev/null
	[ "$(stat -c %a "$T/r$T/src/sub/deeper/text")" = 640 ]
	cmp "$T/r$T/src/sub/deeper/text" "$T/src/sub/deeper/text"
}

@test "an incremental run over hundreds of directories, trees read ahead of the walk, equals a run without a parent" {
	init
	# more directories than the read-ahead's lead, in three levels
	for i in 0 1 2 3 4 5 6 7 8 9; do
		for j in $(seq 0 29); do
			mkdir -p "$T/wide/d$i/e$j/f"
			printf '%s %s\n' "$i" "$j" >"$T/wide/d$i/e$j/f/x"
		done
	done
	mkdir -p "$T/wide/skipme/inner"
	printf 'excluded later\n' >"$T/wide/skipme/inner/y"
	sov-backup backup "${PW[@]}" "$T/wide" >/dev/null
	# changes deep down, a new directory, one removed; skipme is now excluded
	printf 'changed\n' >"$T/wide/d3/e7/f/x"
	mkdir "$T/wide/d9/new"
	printf 'new\n' >"$T/wide/d9/new/z"
	rm -r "$T/wide/d5/e11"
	run sov-backup backup "${PW[@]}" --exclude skipme "$T/wide"
	assert_success
	assert_output --partial '"unchanged":298'
	run sov-backup backup "${PW[@]}" --exclude skipme --force "$T/wide"
	assert_success
	assert_output --partial '"unchanged":0'
	run sov-backup diff "${PW[@]}" "$(sov-backup snapshots "${PW[@]}" | sed -n 2p | jq -r .id)" latest
	assert_success
	assert_output --partial '"added":0,"removed":0,"modified":0,"metadata":0'
	run sov-backup check "${PW[@]}"
	assert_success
}

@test "the cache of directories: a run by it equals a run that reads everything, whatever changed" {
	init
	for i in 0 1 2 3 4 5 6 7 8 9; do
		for j in $(seq 0 19); do
			mkdir -p "$T/wide/d$i/e$j"
			printf '%s %s\n' "$i" "$j" >"$T/wide/d$i/e$j/x"
		done
	done
	run sov-backup backup "${PW[@]}" "$T/wide"
	assert_success
	assert_output --partial '"cache":"none yet"'
	# new bytes at the same size and mtime: only the ctime tells
	f="$T/wide/d1/e1/x"
	touch -r "$f" "$T/ref"
	printf '9 9\n' >"$f"
	touch -r "$T/ref" "$f"
	chmod 600 "$T/wide/d2/e2/x"
	mkdir "$T/wide/d3/e3/new"
	printf 'new\n' >"$T/wide/d3/e3/new/y"
	rm -r "$T/wide/d4/e4"
	ln -s x "$T/wide/d5/e5/link"
	mv "$T/wide/d6/e6/x" "$T/wide/d6/e6/renamed"
	run sov-backup backup "${PW[@]}" "$T/wide"
	assert_success
	assert_output --partial '"cache":"used"'
	assert_output --partial '"files":200,'
	assert_output --partial '"unchanged":196,'
	run sov-backup backup "${PW[@]}" --force "$T/wide"
	assert_success
	assert_output --partial '"unchanged":0,'
	run sov-backup diff "${PW[@]}" "$(sov-backup snapshots "${PW[@]}" | sed -n 2p | jq -r .id)" latest
	assert_success
	assert_output --partial '"added":0,"removed":0,"modified":0,"metadata":0'
	sov-backup restore "${PW[@]}" latest --target "$T/r" >/dev/null
	diff -r "$T/wide" "$T/r$T/wide"
	[ "$(cat "$T/r$T/wide/d1/e1/x")" = "9 9" ]
	# the file is the user's alone and names no path
	f=$(find "$T/cache" -type f -name 'dirs-*')
	[ "$(stat -c %a "$f")" = 600 ]
	run grep -c "wide" "$f"
	assert_output 0
	# --cache-dir goes before $SOV_CACHE_DIR
	run sov-backup backup "${PW[@]}" --cache-dir "$T/other-cache" "$T/wide"
	assert_success
	assert_output --partial '"cache":"none yet"'
	[ -n "$(find "$T/other-cache" -type f -name 'dirs-*')" ]
}

@test "the cache of directories is used only when it can only be right" {
	init
	b() { run sov-backup backup "${PW[@]}" "$@" "$T/src"; assert_success; }
	b
	assert_output --partial '"cache":"none yet"'
	b
	assert_output --partial '"cache":"used"'
	b --no-cache
	assert_output --partial '"cache":"--no-cache"'
	b # the cache is of the snapshot before
	assert_output --partial '"cache":"of another snapshot than the parent"'
	b --atime
	assert_output --partial '"cache":"of other options (--atime)"'
	b
	assert_output --partial '"cache":"of other options (--atime)"'
	b --force
	assert_output --partial '"cache":"--force"'
	b
	assert_output --partial '"cache":"used"'
	# a prune rewrites the index: blobs the cache's trees name may be gone
	sov-backup forget "${PW[@]}" --keep-last 1 >/dev/null
	sov-backup prune "${PW[@]}" >/dev/null
	b
	assert_output --partial '"cache":"index files changed since (prune or repair)"'
	b
	assert_output --partial '"cache":"used"'
	# a changed or torn file is not used
	f=$(find "$T/cache" -type f -name 'dirs-*')
	printf 'x' | dd of="$f" bs=1 seek=120 conv=notrunc 2>/dev/null
	b
	assert_output --partial '"cache":"damaged, or of another key (MAC)"'
	truncate -s 20 "$f"
	b
	assert_output --partial '"cache":"damaged (size)"'
	# another password opens the same master key: the same cache
	printf 'battery staple\n' >"$T/pw2"
	chmod 600 "$T/pw2"
	sov-backup key add "${PW[@]}" --new-password-file "$T/pw2" >/dev/null
	run sov-backup backup --password-file "$T/pw2" "$T/src"
	assert_success
	assert_output --partial '"cache":"used"'
	# a cache file that cannot be replaced (a directory in its place): the
	# save fails with a warning, and the snapshot is saved
	f=$(ls "$T"/cache/*/dirs-*)
	rm "$f"
	mkdir "$f"
	run sov-backup backup "${PW[@]}" "$T/src"
	assert_success
	assert_output --partial '"event":"snapshot"'
	assert_output --partial '"cache":"unreadable"'
	assert_output --partial 'cache:'
	rmdir "$f"
	# an unusable cache directory: a warning, the snapshot is saved
	rm -rf "$T/cache"
	printf 'not a directory\n' >"$T/cache"
	run sov-backup backup "${PW[@]}" "$T/src"
	assert_success
	assert_output --partial '"event":"snapshot"'
	assert_output --partial 'cache:'
	run sov-backup check "${PW[@]}"
	assert_success
}

@test "a file holding exactly an empty directory's tree JSON and an empty directory both restore" {
	init
	mkdir -p "$T/clash/b-empty" "$T/clash/c"
	# a's bytes are the tree of b-empty; the file is saved first
	printf '{"nodes":[]}' >"$T/clash/a"
	printf '{"nodes":[]}' >"$T/clash/c/a"
	run sov-backup backup "${PW[@]}" "$T/clash"
	assert_success
	run sov-backup check "${PW[@]}" --read-data
	assert_success
	run sov-backup restore "${PW[@]}" latest --target "$T/r"
	assert_success
	diff -r "$T/clash" "$T/r$T/clash"
	[ -d "$T/r$T/clash/b-empty" ]
	[ "$(sov-backup dump "${PW[@]}" latest "$T/clash/a")" = '{"nodes":[]}' ]
}

@test "valgrind: backup with a parent past another path set's snapshot, by the cache of directories, restore and check lose no memory" {
	command -v valgrind >/dev/null || skip "valgrind is not installed (make deps)"
	init
	vg=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99)
	mkdir -p "$T/other"
	printf 'x\n' >"$T/other/x"
	sov-backup backup "${PW[@]}" "$T/src/sub" >/dev/null
	sov-backup backup "${PW[@]}" "$T/other" >/dev/null
	# finds its parent behind the other path's snapshot, reuses every file
	run "${vg[@]}" "$(command -v sov-backup)" backup "${PW[@]}" "$T/src/sub"
	assert_success
	assert_output --partial '"unchanged":2'
	assert_output --partial '"cache":"used"'
	# by the cache again, with a change one directory down: that
	# directory compared entry by entry, the one above rebuilt from its
	# recorded tree, both read ahead
	printf 'more\n' >>"$T/src/sub/deeper/text"
	run "${vg[@]}" "$(command -v sov-backup)" backup "${PW[@]}" "$T/src/sub"
	assert_success
	assert_output --partial '"unchanged":1'
	assert_output --partial '"cache":"used"'
	run "${vg[@]}" "$(command -v sov-backup)" restore "${PW[@]}" latest --target "$T/r"
	assert_success
	run "${vg[@]}" "$(command -v sov-backup)" check "${PW[@]}" --read-data
	assert_success
}

@test "directories whose trees wait for the workers: a full disk among them loses no memory; a deep, wide tree restores exactly" {
	command -v valgrind >/dev/null || skip "valgrind is not installed (make deps)"
	init
	mkdir -p "$T/w"
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		for j in 1 2 3; do
			mkdir -p "$T/w/d$i/e$j/f"
			head -c 300000 /dev/urandom >"$T/w/d$i/e$j/big"
			head -c 1000 /dev/urandom >"$T/w/d$i/e$j/f/small"
			printf '%s\n' "$i $j" >"$T/w/d$i/g$j"
		done
	done
	# the disk fills after a few blobs, while the trees of the first
	# directories wait for them
	SOV_FAULT="write:ENOSPC:after=10:path=$T/repo/data" LD_PRELOAD="$SOV_BUILD/tests/faultinject.so" \
		run valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
		--error-exitcode=99 "$(command -v sov-backup)" backup "${PW[@]}" "$T/w"
	assert_failure 75
	assert_output --partial "No space left on device"
	run sov-backup check "${PW[@]}" --read-data
	assert_success
	run sov-backup backup "${PW[@]}" "$T/w"
	assert_success
	run sov-backup restore "${PW[@]}" latest --target "$T/r"
	assert_success
	diff -r "$T/w" "$T/r$T/w"
	[ "$(meta "$T/w")" = "$(meta "$T/r$T/w")" ]
}

@test "stats: unique and stored bytes" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	run sov-backup stats "${PW[@]}"
	assert_success
	[ "$(jq -r .snapshots <<<"$output")" = 1 ]
	[ "$(jq -r '.bytes_unique > 3000000' <<<"$output")" = true ]
}

@test "a backup user with only CAP_DAC_READ_SEARCH reads a live WAL database in a 0700 directory" {
	[ "$(id -u)" = 0 ] || skip "needs root to drop to another user with a capability"
	command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
	mkdir -m 0700 "$T/app"
	sqlite3 "$T/app/app.db" 'PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1),(2),(3);' >/dev/null
	# a writer stays open, so -wal and -shm exist, as with a running app
	(printf 'PRAGMA wal_autocheckpoint=0;\nINSERT INTO t VALUES (4);\n'; sleep 20) |
		sqlite3 "$T/app/app.db" >/dev/null &
	writer=$!
	for _ in $(seq 50); do [ -e "$T/app/app.db-wal" ] && break; sleep 0.1; done
	mkdir "$T/repo"
	init
	chown -R 65534:65534 "$T/repo"
	chmod 755 "$T"
	run setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=+dac_read_search --ambient-caps=+dac_read_search \
		env TMPDIR="$T/repo" "$SOV_BUILD/sov-backup" backup "${PW[@]}" --sqlite "$T/app/app.db"
	assert_success
	run sov-backup dump "${PW[@]}" latest "$T/app/app.db"
	assert_success
	sov-backup dump "${PW[@]}" latest "$T/app/app.db" >"$T/copy.db"
	[ "$(sqlite3 "$T/copy.db" 'SELECT count(*) FROM t')" = 4 ]
	pkill -P "$writer" sqlite3 || true
	kill "$writer" 2>/dev/null || true
}

# Run sov-backup as nobody holding only CAP_DAC_READ_SEARCH, as the NixOS
# unit's backup user does.
as_reader() {
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=+dac_read_search --ambient-caps=+dac_read_search \
		env TMPDIR="$T/repo" "$SOV_BUILD/sov-backup" "$@"
}

@test "a backup user with only CAP_DAC_READ_SEARCH copies a closed WAL database (no -wal file) in a 0700 directory, and makes nothing beside it" {
	[ "$(id -u)" = 0 ] || skip "needs root to drop to another user with a capability"
	command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
	mkdir -m 0700 "$T/app"
	sqlite3 "$T/app/app.db" 'PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1),(2),(3);' >/dev/null
	[ ! -e "$T/app/app.db-wal" ] # the last connection closed: no -wal, no -shm
	mkdir "$T/repo"
	init
	chown -R 65534:65534 "$T/repo"
	chmod 755 "$T"
	run as_reader backup "${PW[@]}" --sqlite "$T/app/app.db"
	assert_success
	[ "$(ls "$T/app")" = app.db ]
	sov-backup dump "${PW[@]}" latest "$T/app/app.db" >"$T/copy.db"
	[ "$(sqlite3 "$T/copy.db" 'SELECT count(*) FROM t; PRAGMA journal_mode')" = "$(printf '3\nwal')" ]
	# a database in rollback mode needs no -wal: SQLite's own read, as before
	sqlite3 "$T/app/roll.db" 'CREATE TABLE t(x); INSERT INTO t VALUES (7);'
	run as_reader backup "${PW[@]}" --sqlite "$T/app/roll.db"
	assert_success
	# a WAL database whose -wal holds commits cannot be copied from its
	# file alone: SQLite's refusal stands, nothing stale is saved
	cp "$T/app/app.db" "$T/app/w.db"
	printf 'not empty' >"$T/app/w.db-wal"
	run as_reader backup "${PW[@]}" --sqlite "$T/app/w.db"
	assert_failure
	assert_output --partial "$T/app/w.db: "
	refute_output --partial '"event":"snapshot"'
}

@test "a closed WAL database copied from its file alone is taken only once the file stops changing" {
	[ "$(id -u)" = 0 ] || skip "needs root to drop to another user with a capability"
	command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
	mkdir -m 0700 "$T/app"
	# 20 MB: each copy takes long enough to see a write land
	sqlite3 "$T/app/app.db" 'PRAGMA journal_mode=WAL; CREATE TABLE t(x);
		WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)
		INSERT INTO t SELECT randomblob(1000) FROM c;' >/dev/null
	mkdir "$T/repo"
	init
	chown -R 65534:65534 "$T/repo"
	chmod 755 "$T"
	# every write moves the file's ctime, as a checkpoint's would
	(end=$((SECONDS + 2)); while [ $SECONDS -lt $end ]; do touch "$T/app/app.db"; done; touch "$T/stopped") &
	sleep 0.3
	run as_reader backup "${PW[@]}" --sqlite "$T/app/app.db"
	# it returned only after the writes stopped: every copy made while
	# they went on was thrown away
	[ -e "$T/stopped" ]
	wait
	assert_success
	sov-backup dump "${PW[@]}" latest "$T/app/app.db" >"$T/copy.db"
	[ "$(sqlite3 "$T/copy.db" 'SELECT count(*) FROM t')" = 20000 ]
	[ "$(ls "$T/app")" = app.db ]
}

@test "repair index rebuilds a lost or truncated index from the packs" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	printf 'second\n' >"$T/src/new"
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	i=$(find "$T/repo/index" -type f | head -1)
	truncate -s 100 "$i"
	run sov-backup check "${PW[@]}"
	assert_failure 1
	run sov-backup repair index "${PW[@]}" --dry-run
	assert_success
	[ "$(find "$T/repo/index" -type f | wc -l)" = 2 ] # dry run: untouched
	run sov-backup repair index "${PW[@]}"
	assert_success
	assert_output --regexp '"blobs":[1-9]'
	[ "$(find "$T/repo/index" -type f | wc -l)" = 1 ]
	run sov-backup check "${PW[@]}" --read-data
	assert_success
	run sov-backup restore "${PW[@]}" latest --target "$T/out"
	assert_success
	diff -r --no-dereference -x fifo "$T/src" "$T/out$T/src"
	# with no index at all, too
	rm "$T/repo/index"/*
	run sov-backup repair index "${PW[@]}"
	assert_success
	run sov-backup prune "${PW[@]}"
	assert_success
	run sov-backup check "${PW[@]}" --read-data
	assert_success
}

@test "repair index reports a pack whose header is damaged, and indexes the others" {
	init
	sov-backup backup "${PW[@]}" --threads 1 "$T/src" >/dev/null
	head -c 2000000 /dev/urandom >"$T/src/more"
	sov-backup backup "${PW[@]}" --threads 1 "$T/src" >/dev/null
	p=$(find "$T/repo/data" -type f -printf '%s %p\n' | sort -n | head -1 | cut -d' ' -f2)
	size=$(stat -c %s "$p")
	printf 'XX' | dd of="$p" bs=1 seek=$((size - 10)) conv=notrunc status=none
	run sov-backup repair index "${PW[@]}"
	assert_failure 1
	assert_output --partial '"kind":"pack"'
	assert_output --partial "$(basename "$p")"
	assert_output --partial '"event":"summary"'
}

@test "a backup whose lock lease runs out writes no index and no snapshot, exit 75" {
	init
	head -c 60000000 /dev/urandom >"$T/src/big"
	# The lock's first three openat calls under locks/ succeed (write the
	# lock, sync its directory, list the locks); every renewal then fails,
	# and with a 300 ms lease the lock is lost long before the backup ends.
	SOV_BACKUP_LOCK_LEASE_MS=300 SOV_FAULT="openat:EIO:after=3:path=locks" \
		LD_PRELOAD="$SOV_BUILD/tests/faultinject.so" \
		run sov-backup backup "${PW[@]}" --threads 1 --compression 19 "$T/src"
	assert_failure 75
	assert_output --partial "lock was lost"
	[ -z "$(ls "$T/repo/index")" ]
	[ -z "$(ls "$T/repo/snapshots")" ]
	run sov-backup backup "${PW[@]}" "$T/src"
	assert_success
	run sov-backup check "${PW[@]}" --read-data
	assert_success
}

@test "restore: a file of many chunks, written in slices by every worker, comes back byte for byte with its mode and mtime" {
	init
	head -c 40000000 /dev/urandom >"$T/src/big" # ~38 chunks: 5 slices
	chmod 4751 "$T/src/big"
	touch -d '2003-04-05 06:07:08.987654321' "$T/src/big"
	ln "$T/src/big" "$T/src/big-link"
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	run sov-backup restore "${PW[@]}" latest --target "$T/out"
	assert_success
	cmp "$T/src/big" "$T/out$T/src/big"
	# the metadata came after the last slice: a later write would have
	# moved the mtime, a chmod before the chown lost the set-uid bit
	[ "$(stat -c '%a %s %y' "$T/out$T/src/big")" = "4751 40000000 2003-04-05 06:07:08.987654321 +0000" ]
	[ "$(stat -c %i "$T/out$T/src/big")" = "$(stat -c %i "$T/out$T/src/big-link")" ]
	[ "$(meta "$T/src")" = "$(meta "$T/out$T/src")" ]
	# again over the first restore: every file replaced, same result
	run sov-backup restore "${PW[@]}" latest --target "$T/out"
	assert_success
	cmp "$T/src/big" "$T/out$T/src/big"
	[ "$(meta "$T/src")" = "$(meta "$T/out$T/src")" ]
}

@test "restore under a low open-files limit: a big file then 1,500 small ones, each queued file holding a descriptor" {
	init
	mkdir "$T/src/many"
	head -c 40000000 /dev/urandom >"$T/src/many/0big" # first in the walk
	for i in $(seq 1000 2499); do printf '%s\n' "$i" >"$T/src/many/f$i"; done
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	# a soft limit under the queue's needs is raised toward the hard one
	run bash -c 'ulimit -S -n 256 && exec "$@"' - sov-backup restore "${PW[@]}" latest --target "$T/out"
	assert_success
	[ "$(meta "$T/src")" = "$(meta "$T/out$T/src")" ]
	cmp "$T/src/many/0big" "$T/out$T/src/many/0big"
	# a hard limit that cannot be raised shortens the queue instead
	run bash -c 'ulimit -n 96 && exec "$@"' - sov-backup restore "${PW[@]}" latest --target "$T/out2"
	assert_success
	[ "$(meta "$T/src")" = "$(meta "$T/out2$T/src")" ]
	cmp "$T/src/many/0big" "$T/out2$T/src/many/0big"
}

@test "restore into a full disk: exit 75, the file named once" {
	init
	head -c 40000000 /dev/urandom >"$T/src/big"
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	# the 13th write into big fails: a slice in the middle of the file
	SOV_FAULT="pwrite:ENOSPC:after=12:path=src/big" LD_PRELOAD="$SOV_BUILD/tests/faultinject.so" \
		run sov-backup restore "${PW[@]}" latest --target "$T/out"
	assert_failure 75
	assert_output --partial "$T/src/big: write: No space left on device"
	[ "$(grep -c 'No space left' <<<"$output")" = 1 ]
	refute_output --partial '"event":"summary"'
	# a small file, one job
	SOV_FAULT="pwrite:ENOSPC:path=sub/random" LD_PRELOAD="$SOV_BUILD/tests/faultinject.so" \
		run sov-backup restore "${PW[@]}" latest --target "$T/out2"
	assert_failure 75
	assert_output --partial "$T/src/sub/random: write: No space left on device"
}

@test "restore: a failing close of a restored file is an error naming it" {
	init
	sov-backup backup "${PW[@]}" "$T/src" >/dev/null
	SOV_FAULT="close:EIO:path=sub/random" LD_PRELOAD="$SOV_BUILD/tests/faultinject.so" \
		run sov-backup restore "${PW[@]}" latest --target "$T/out"
	assert_failure 1
	assert_output --partial "$T/src/sub/random: close: Input/output error"
	refute_output --partial '"event":"summary"'
}
