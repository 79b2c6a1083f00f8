#!/bin/sh
# corpus.sh DIR MB - the backup benchmark's corpus, built once under DIR and
# reused (bench/backup.sh calls it; DIR/complete marks a finished build).
#
#   DIR/v1/            about MB MiB (1 MiB = 1048576 bytes) of files:
#     src/             a source tree: text files from /usr/include, Python,
#                      Perl, vim, docs ... (whatever exists), 45%
#     db/bench.sql     plain pg_dump of a database filled here (pgbench
#                      accounts + a generated events table), 25%
#     bin/random/      pseudo-random files from fixed AES-CTR keys, 8%
#     bin/packed/      .tar.gz / .tar.xz of more system files, 8%
#     bin/data/        ../shared/data beside the repository (real data sets), if present
#     bin/native/      shared libraries and compilers (ELF), the rest
#   DIR/v2/            v1 with about 1% changed: text edited in the middle
#                      and appended to, files deleted and added, database
#                      rows updated, inserted and deleted then re-dumped,
#                      a random file overwritten in the middle and another
#                      appended to, a new random file
#   DIR/v1.manifest, DIR/v2.manifest   one line per entry, sorted:
#                      path TAB type TAB mode TAB size TAB mtime TAB sha256
#                      (or link target); what a restore is compared with
#   DIR/changed, DIR/deleted           paths (relative) that turn v1 into v2
#   DIR/info                           what went in, for the report
#
# Deterministic for a given machine: file lists are sorted, random data
# comes from fixed keys, the database from setseed(). The system trees it
# copies differ between machines, which is why the corpus is cached and a
# run reports its composition.
set -eu
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
GEN=2 # bump when the recipe changes: a cached corpus of another recipe is rebuilt

[ $# -eq 2 ] || { echo "usage: corpus.sh DIR MB" >&2; exit 2; }
dir=$1
mb=$2
case $mb in '' | *[!0-9]*) echo "corpus.sh: MB '$mb' is not a number" >&2; exit 2 ;; esac
[ "$mb" -ge 50 ] || { echo "corpus.sh: MB must be at least 50" >&2; exit 2; }

if [ -f "$dir/complete" ] && [ "$(cat "$dir/complete")" = "gen $GEN mb $mb" ]; then
	exit 0
fi
say() { echo "corpus: $*" >&2; }

tmp=$dir.tmp
pgdir=
cleanup() {
	if [ -n "$pgdir" ]; then sh "$here/../../tests/helpers/pg.sh" stop "$pgdir" || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
rm -rf "$dir" "$tmp"
mkdir -p "$tmp/v1/src" "$tmp/v1/db" "$tmp/v1/bin/random" "$tmp/v1/bin/packed" "$tmp/v1/bin/native"

total=$((mb * 1048576))
src_b=$((total * 45 / 100))
db_b=$((total * 25 / 100))
rnd_b=$((total * 8 / 100))
pk_b=$((total * 8 / 100))

# bytes DIR: apparent size of the regular files under DIR
bytes() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d\n", s }'; }

# random_file KEYNAME BYTES: pseudo-random bytes from a key derived from KEYNAME
random_file() {
	k=$(printf 'sov-bench %s' "$1" | sha256sum | cut -c1-32)
	openssl enc -aes-128-ctr -nosalt -K "$k" -iv 00000000000000000000000000000000 \
		-in /dev/zero 2>/dev/null | head -c "$2"
}

# listing DIR...: "size /path" of regular files and symlinks, per DIR sorted by
# path, names limited to a safe alphabet so lists stay line-based
listing() {
	for d in "$@"; do
		[ -d "$d" ] || continue
		find "$d" \( -type f -o -type l \) -printf '%s %p\n' | sort -k2
	done | grep -E '^[0-9]+ /[A-Za-z0-9._+,@=:~/-]+$' || true
}

# take BUDGET < "size path": paths whose sizes add up to at most BUDGET
take() {
	awk -v b="$1" '{ if (s + $1 <= b) { s += $1; print $2 } if (s >= b) exit }'
}

# copy_list LIST DEST: copy the listed absolute paths under DEST (keeping
# modes, times, symlinks)
copy_list() {
	sed 's,^/,,' "$1" | tar -C / -cf - --no-recursion -T - | tar -C "$2" -xf -
}

say "building a ${mb} MiB corpus in $dir (once; later runs reuse it)"

# --- the database dump -------------------------------------------------
command -v pgbench >/dev/null 2>&1 && command -v pg_dump >/dev/null 2>&1 ||
	{ say "needs pgbench and pg_dump (apt-get install postgresql-15 postgresql-client-15)"; exit 1; }
pgdir=$(sh "$here/../../tests/helpers/pg.sh" start)
sh "$here/../../tests/helpers/pg.sh" createdb "$pgdir" bench >/dev/null
psql_b() { psql -X -q -v ON_ERROR_STOP=1 -h "$pgdir" -U postgres -d bench "$@"; }
# About 60% pgbench_accounts (~9.7 MB of dump per scale unit: mostly
# padding, as real tables often are) and 40% events (~125 bytes a row,
# hashes and numbers that compress like real data).
scale=$((db_b * 6 / 10 / 10171187))
[ "$scale" -ge 1 ] || scale=1
rows=$((db_b * 4 / 10 / 125))
say "filling PostgreSQL: pgbench -i -s $scale, $rows event rows"
pgbench -i -q -s "$scale" -h "$pgdir" -U postgres bench >/dev/null 2>&1 ||
	{ say "pgbench -i failed"; exit 1; }
psql_b -c "CREATE TABLE events (id bigint PRIMARY KEY, at timestamp NOT NULL,
	customer int NOT NULL, kind text NOT NULL, amount numeric(12,2) NOT NULL,
	ref text NOT NULL)"
# events_fill FIRST LAST SEED: deterministic rows (setseed in the same session)
events_fill() {
	psql_b -c "SELECT setseed($3)" -c "INSERT INTO events
		SELECT g, timestamp '2026-01-01' + g * interval '7 seconds',
			(random() * 100000)::int,
			(ARRAY['order','refund','login','view','cart','payment'])[1 + floor(random() * 6)::int],
			round((random() * 2000)::numeric, 2),
			md5(random()::text) || '-' || md5(g::text)
		FROM generate_series($1, $2) g" >/dev/null
}
events_fill 1 "$rows" 0.42
pg_dump -h "$pgdir" -U postgres -f "$tmp/v1/db/bench.sql" bench

# --- random files: sizes cycle 1, 3, 7, 13, 31 MiB, the last one cut ----
say "random files"
i=0
left=$rnd_b
for s in 1 3 7 13 31 1 3 7 13 31 1 3 7 13 31 1 3 7 13 31; do
	[ "$left" -gt 0 ] || break
	n=$((s * 1048576))
	[ "$n" -le "$left" ] || n=$left
	i=$((i + 1))
	random_file "random $i" "$n" >"$tmp/v1/bin/random/r$(printf %03d $i).bin"
	left=$((left - n))
done
while [ "$left" -gt 0 ]; do # very large corpora: more 31 MiB files
	n=32505856
	[ "$n" -le "$left" ] || n=$left
	i=$((i + 1))
	random_file "random $i" "$n" >"$tmp/v1/bin/random/r$(printf %03d $i).bin"
	left=$((left - n))
done

# --- the source tree ------------------------------------------------------
listing /usr/include /usr/lib/python3 /usr/lib/python3.11 /usr/share/perl5 \
	/usr/share/perl /usr/share/vim /usr/share/i18n /usr/lib/node_modules \
	/usr/src /usr/share/postgresql /usr/share/doc /usr/lib/google-cloud-sdk \
	>"$tmp/text.list"
listing /usr/lib/gcc /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu \
	/usr/share/locale /usr/bin /usr/sbin >"$tmp/native.list"
take "$src_b" <"$tmp/text.list" >"$tmp/src.paths"
say "source tree: $(wc -l <"$tmp/src.paths") files"
copy_list "$tmp/src.paths" "$tmp/v1/src"

# --- compressed archives: the text that did not fit, then binaries from the
# end of the native list; groups of about 24 MiB, alternately gzip and xz --
say "compressed archives"
awk 'NR == FNR { t[$2] = 1; next } !($2 in t)' "$tmp/src.paths" "$tmp/text.list" >"$tmp/pk.list"
sort -r -k2 "$tmp/native.list" >>"$tmp/pk.list"
awk -v g=25165824 -v d="$tmp/grp" '{ if (s + $1 > g && s > 0) { n++; s = 0 } s += $1
	f = sprintf("%s.%04d", d, n); if (f != prev) { if (prev != "") close(prev); prev = f }
	print $2 >f }' "$tmp/pk.list"
k=0
for grp in "$tmp"/grp.*; do
	[ -f "$grp" ] || break
	[ "$(bytes "$tmp/v1/bin/packed")" -lt "$pk_b" ] || break
	k=$((k + 1))
	name=$tmp/v1/bin/packed/part$(printf %03d $k)
	if [ $((k % 2)) -eq 1 ]; then
		sed 's,^/,,' "$grp" | tar -C / -cf - --no-recursion -T - | gzip -6 -n >"$name.tar.gz"
	else
		sed 's,^/,,' "$grp" | tar -C / -cf - --no-recursion -T - | xz -1 -T2 >"$name.tar.xz"
	fi
done
rm -f "$tmp"/grp.*

# --- real data sets and native binaries fill the rest ----------------------
shared_data=$here/../../../shared/data
if [ -d "$shared_data" ]; then
	mkdir -p "$tmp/v1/bin/data"
	cp -a "$shared_data/." "$tmp/v1/bin/data/"
	chmod -R u+w "$tmp/v1/bin/data"
fi
rest=$((total - $(bytes "$tmp/v1")))
if [ "$rest" -gt 0 ]; then
	take "$rest" <"$tmp/native.list" >"$tmp/native.paths"
	say "native binaries: $(wc -l <"$tmp/native.paths") files"
	copy_list "$tmp/native.paths" "$tmp/v1/bin/native"
fi
rest=$((total - $(bytes "$tmp/v1")))
if [ "$rest" -gt 0 ]; then # lists ran out: top up with random data
	random_file "top-up" "$rest" >"$tmp/v1/bin/random/topup.bin"
fi

# --- v2: about 1% changed --------------------------------------------------
say "the changed version (v2)"
cp -a "$tmp/v1" "$tmp/v2"
find "$tmp/v2/src" -type f | sort >"$tmp/v2src.list"
# Text edits: a line inserted in the middle of every 40th text file (shifts
# everything after it, as real edits do), lines appended to every 100th.
awk 'NR % 40 == 7' "$tmp/v2src.list" | while read -r f; do
	grep -Iq . "$f" || continue
	n=$(wc -l <"$f")
	mid=$((n / 2 + 1))
	sed -i "${mid}i\\
sov-bench: an edited line in the middle, $mid of $n" "$f"
done
awk 'NR % 100 == 13' "$tmp/v2src.list" | while read -r f; do
	grep -Iq . "$f" || continue
	printf 'sov-bench: appended line %s\n' 1 2 3 4 5 6 7 8 >>"$f"
done
awk 'NR % 250 == 101' "$tmp/v2src.list" | while read -r f; do rm -f "$f"; done
# New files: rot13 of some text files (new content, not a dedup hit), at
# most 0.4% of the corpus.
mkdir -p "$tmp/v2/src/new"
newcap=$((total * 4 / 1000))
awk 'NR % 150 == 77' "$tmp/v2src.list" | while read -r f; do
	[ -f "$f" ] && grep -Iq . "$f" || continue
	[ "$(bytes "$tmp/v2/src/new")" -lt "$newcap" ] || break
	tr 'A-Za-z' 'N-ZA-Mn-za-m' <"$f" >"$tmp/v2/src/new/$(echo "${f#"$tmp"/v2/src/}" | tr / _).rot13"
done
# Database: 0.5% of accounts updated in five clustered ranges, 0.5% more
# events, 0.1% deleted, 0.2% updated; then dumped again.
accts=$((scale * 100000))
r=$((accts / 1000))
q=$((accts / 6))
psql_b -c "UPDATE pgbench_accounts SET abalance = abalance + (aid % 97) - 48
	WHERE aid BETWEEN $q AND $q + $r OR aid BETWEEN 2 * $q AND 2 * $q + $r
	OR aid BETWEEN 3 * $q AND 3 * $q + $r OR aid BETWEEN 4 * $q AND 4 * $q + $r
	OR aid BETWEEN 5 * $q AND 5 * $q + $r" >/dev/null
events_fill $((rows + 1)) $((rows + rows / 200)) 0.43
psql_b -c "DELETE FROM events WHERE id BETWEEN $((rows / 3)) AND $((rows / 3 + rows / 1000))" >/dev/null
psql_b -c "UPDATE events SET amount = amount + 1
	WHERE id BETWEEN $((rows * 2 / 3)) AND $((rows * 2 / 3 + rows / 500))" >/dev/null
pg_dump -h "$pgdir" -U postgres -f "$tmp/v2/db/bench.sql" bench
sh "$here/../../tests/helpers/pg.sh" stop "$pgdir"
pgdir=
# Binary: 1 MiB overwritten in the middle of r002, 1 MiB appended to r003, a
# new random file of 0.3% of the corpus.
f=$tmp/v2/bin/random/r002.bin
if [ -f "$f" ]; then
	sz=$(stat -c %s "$f")
	random_file "overwrite" 1048576 |
		dd of="$f" bs=1048576 seek=$((sz / 2 / 1048576)) conv=notrunc status=none
fi
f=$tmp/v2/bin/random/r003.bin
[ -f "$f" ] && random_file "append" 1048576 >>"$f"
random_file "new" $((total * 3 / 1000)) >"$tmp/v2/bin/random/new001.bin"

# --- manifests and the change lists ----------------------------------------
say "manifests"
sh "$here/manifest.sh" "$tmp/v1" >"$tmp/v1.manifest"
sh "$here/manifest.sh" "$tmp/v2" >"$tmp/v2.manifest"
awk -F '\t' 'NR == FNR { a[$1] = $0; next }
	$2 != "d" && a[$1] != $0 { print $1 }' "$tmp/v1.manifest" "$tmp/v2.manifest" >"$tmp/changed"
awk -F '\t' 'NR == FNR { b[$1] = 1; next } !($1 in b) { print $1 }' \
	"$tmp/v2.manifest" "$tmp/v1.manifest" >"$tmp/deleted"

# --- info -------------------------------------------------------------------
{
	for p in src db bin/random bin/packed bin/data bin/native; do
		[ -d "$tmp/v1/$p" ] || continue
		printf '%s %s %s\n' "$p" "$(bytes "$tmp/v1/$p")" "$(find "$tmp/v1/$p" -type f | wc -l)"
	done
	printf 'total %s %s\n' "$(bytes "$tmp/v1")" "$(find "$tmp/v1" -type f | wc -l)"
	printf 'v2 %s %s\n' "$(bytes "$tmp/v2")" "$(find "$tmp/v2" -type f | wc -l)"
	chb=$(awk -F '\t' 'NR == FNR { c[$1] = 1; next } ($1 in c) && $2 == "f" { s += $4 }
		END { printf "%d", s }' "$tmp/changed" "$tmp/v2.manifest")
	printf 'changed %s %s\n' "$chb" "$(wc -l <"$tmp/changed")"
	# Bytes that differ: lines added (text) or bytes differing plus growth
	# (binary) per changed file; a new file counts whole.
	while read -r p; do
		a=$tmp/v1/$p
		b=$tmp/v2/$p
		if [ ! -f "$a" ]; then
			stat -c %s "$b"
		elif grep -Iq . "$a" && grep -Iq . "$b"; then
			diff "$a" "$b" | grep '^>' | wc -c
		else
			echo $(($(cmp -l "$a" "$b" 2>/dev/null | wc -l) + $(stat -c %s "$b") - $(stat -c %s "$a")))
		fi
	done <"$tmp/changed" | awk '{ s += ($1 < 0 ? -$1 : $1) } END { printf "differing %d\n", s }'
	printf 'deleted 0 %s\n' "$(wc -l <"$tmp/deleted")"
	printf 'pgbench_scale %s\nevent_rows %s\n' "$scale" "$rows"
} >"$tmp/info"
rm -f "$tmp"/*.list "$tmp"/*.paths
echo "gen $GEN mb $mb" >"$tmp/complete"
mv "$tmp" "$dir"
say "done: $(awk '$1 == "total" { printf "%.1f MiB in %d files", $2 / 1048576, $3 }' "$dir/info")"
