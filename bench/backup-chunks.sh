#!/bin/sh
# backup-chunks.sh - the chunk-size study behind sov-backup's BK_CHUNK_FILES
# and BK_CHUNK_PAGES (docs/backup-chunking.md): for each candidate
# (min, avg, max), how many bytes of new chunks a second version needs, for
# an SQLite database with 1% of rows updated in place, its text dump, and a
# source tree tarball with a few files edited; then chunking throughput.
#
# Needs: cc, libsodium, libsqlite3 and libzstd (what make already needs:
# the SQLite files are written through the library, so the sqlite3 shell is
# not needed), tar and /usr/include. About 600 MB in $TMPDIR and one to two
# minutes of one core.
set -eu
cd "$(dirname "$0")/.."
B=${SOV_BUILD:-build}

[ -f "$B/libsov.a" ] || make -s "$B/libsov.a"
work=$(mktemp -d "${TMPDIR:-/tmp}/sov-chunks.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The tool archive when it builds; else chunker.c alone (other modules of
# sov-backup may be mid-edit, and the study needs only the chunker).
PKGS="libsodium sqlite3 libzstd"
CFLAGS="-std=c11 -O2 -D_GNU_SOURCE -iquote lib -iquote tools/sov-backup"
if make -s "$B/obj/tools/sov-backup.a" >/dev/null 2>&1; then
	src="$B/obj/tools/sov-backup.a"
else
	echo "bench: $B/obj/tools/sov-backup.a does not build; using tools/sov-backup/chunker.c"
	src=tools/sov-backup/chunker.c
fi
# shellcheck disable=SC2086,SC2046
cc $CFLAGS $(pkg-config --cflags $PKGS) -o "$work/backup_chunks" \
	bench/backup_chunks.c "$src" "$B/libsov.a" $(pkg-config --libs $PKGS)
bc=$work/backup_chunks

echo "machine: $(nproc) cores, $(uname -m), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "'new MB' is the bytes of chunks the old version lacks (dedup alone),"
echo "'zstd MB' the new chunks compressed one by one as stored (raw when zstd"
echo "saves under 1/64), 'meta KB' an estimate of index, pack header and"
echo "tree bytes, 'total MB' = zstd + meta: what the second backup adds."
echo

echo "== SQLite database, 1% of rows updated in place"
"$bc" sqlite "$work"
"$bc" dedup "$work/v1.db" "$work/v2-uniform.db"
echo
"$bc" dedup "$work/v1.db" "$work/v2-recent.db"
echo
echo "== the same databases as text dumps (rows in id order, like pg_dump's COPY)"
"$bc" dedup "$work/v1.db.dump" "$work/v2-uniform.db.dump"
echo
"$bc" dedup "$work/v1.db.dump" "$work/v2-recent.db.dump"
rm -f "$work"/*.db "$work"/*.dump
echo

# A source tree: /usr/include copied and tarred; then, three times over
# with different files, 1 header in 400 edited (half get a line appended,
# half a line inserted in the middle), two deleted, one added, and tarred
# again. --sort=name gives the same order each time; --mtime fixes every
# time stamp, so the figures repeat (edit times would only change header
# bytes next to the size field, which changes anyway).
echo "== source tree tarball (/usr/include, a few files edited, 3 trials)"
TAR="tar --sort=name --mtime=@1767225600 --owner=0 --group=0 --numeric-owner"
cp -a /usr/include "$work/tree"
$TAR -C "$work/tree" -cf "$work/v1.tar" .
(cd "$work/tree" && find . -type f -name '*.h') | LC_ALL=C sort >"$work/files"
total=$(wc -l <"$work/files")
pairs=
for t in 0 1 2; do
	rm -rf "$work/t"
	cp -a "$work/tree" "$work/t"
	awk -v o=$((t * 133)) 'NR % 400 == o' "$work/files" >"$work/edit"
	i=0
	while read -r f; do
		f=$work/t/$f
		if [ $((i % 2)) -eq 0 ]; then
			echo "/* edited for the chunk study */" >>"$f"
		else
			n=$(wc -l <"$f")
			awk -v m=$((n / 2)) '{ print } NR == m { print "#define SOV_CHUNK_STUDY 1" }' \
				"$f" >"$f.new"
			mv "$f.new" "$f"
		fi
		i=$((i + 1))
	done <"$work/edit"
	rm -f "$work/t/$(sed -n $((1001 + t * 7))p "$work/files")" \
		"$work/t/$(sed -n $((2001 + t * 7))p "$work/files")"
	sed 's/int/long/g' "$work/t/$(sed -n $((3001 + t * 7))p "$work/files")" \
		>"$work/t/sov-chunk-study-new.h"
	echo "trial $t: $total headers, $i edited, 2 deleted, 1 added"
	$TAR -C "$work/t" -cf "$work/v2-$t.tar" .
	pairs="$pairs $work/v1.tar $work/v2-$t.tar"
done
rm -rf "$work/tree" "$work/t"
# shellcheck disable=SC2086,SC2046
"$bc" dedup $pairs
echo

echo "== throughput (one core, per CPU second; load now $(cut -d' ' -f1-3 /proc/loadavg))"
"$bc" speed
echo
"$bc" speed "$work/v1.tar"
