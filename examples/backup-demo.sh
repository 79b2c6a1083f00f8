#!/bin/sh
# backup-demo.sh - sov-backup's part of `make demo`: a directory, a live
# SQLite database and a PostgreSQL database backed up into a fresh
# repository, restored into a fresh directory and a fresh database, and
# compared. PostgreSQL is a real server started here in a temp dir (unix
# socket only); without one installed that part is skipped and says so.
set -eu
B=${SOV_BUILD:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
w=$(mktemp -d /tmp/sov-backup-demo.XXXXXX)
pg=
cleanup() {
	[ -z "$pg" ] || "$here/tests/helpers/pg.sh" stop "$pg" >/dev/null 2>&1 || true
	rm -rf "$w"
}
trap cleanup EXIT
export SOV_BACKUP_REPO="$w/repo"
head -c 32 /dev/urandom | base64 >"$w/password"
chmod 600 "$w/password"
pw="--password-file $w/password"

echo "== sov-backup demo in $w (removed at the end)"
# The directory: this source tree, a realistic mix of text and binaries.
mkdir -p "$w/files"
cp -R "$here/lib" "$here/tools" "$here/docs" "$w/files/"
cp "$B/sov-backup" "$w/files/"
# The SQLite store: a live database in WAL mode, with rows only in the WAL.
db="$w/app.db"
sqlite3 "$db" "PRAGMA journal_mode=WAL;
	CREATE TABLE invoices(id INTEGER PRIMARY KEY, customer TEXT, cents INT);
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<20000)
	INSERT INTO invoices SELECT i, 'customer ' || (i % 700), i * 37 % 100000 FROM n;" >/dev/null
pgsrc= pgdst=
if command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
	pg=$("$here/tests/helpers/pg.sh" start 2>"$w/pg.log") || {
		cat "$w/pg.log" >&2
		exit 1
	}
	"$here/tests/helpers/pg.sh" createdb "$pg" crm >/dev/null
	"$here/tests/helpers/pg.sh" createdb "$pg" crm_restored >/dev/null
	pgsrc=$("$here/tests/helpers/pg.sh" url "$pg" crm)
	pgdst=$("$here/tests/helpers/pg.sh" url "$pg" crm_restored)
	psql -q "$pgsrc" -c "CREATE TABLE customers(id int PRIMARY KEY, name text, since date);
		INSERT INTO customers SELECT g, 'customer ' || g, date '2020-01-01' + g % 2000
		FROM generate_series(1, 50000) g;"
else
	echo "(PostgreSQL is not installed: the database part is skipped)"
fi

"$B/sov-backup" init $pw | jq -c '{event, repo, id}'
echo "== backup: the directory, the live SQLite database${pgsrc:+, the PostgreSQL database}"
"$B/sov-backup" backup $pw --tag demo "$w/files" --sqlite "$db" \
	${pgsrc:+--postgres "$pgsrc"} |
	jq -c 'select(.event=="snapshot") | {short_id, files, bytes_read, bytes_stored, seconds}'
echo "== a change, and a second backup: only the change is read and stored"
echo "a new line" >>"$w/files/docs/store.md"
"$B/sov-backup" backup $pw --tag demo "$w/files" --sqlite "$db" \
	${pgsrc:+--postgres "$pgsrc"} |
	jq -c 'select(.event=="snapshot") | {short_id, unchanged, bytes_read, bytes_new, bytes_stored}'
"$B/sov-backup" snapshots $pw | jq -c '{short_id, time, paths}'

echo "== restore into a fresh directory and a fresh database"
"$B/sov-backup" restore $pw latest --target "$w/restored" | jq -c 'select(.event=="summary")'
"$B/sov-backup" restore $pw latest --sqlite-target "$w/restored.db" | jq -c 'select(.event=="summary")'
[ -z "$pgdst" ] || "$B/sov-backup" restore $pw latest --postgres-target "$pgdst" |
	jq -c 'select(.event=="summary")'

echo "== compare"
diff -r "$w/files" "$w/restored$w/files" && echo "directory: identical (diff -r)"
a=$(sqlite3 "$db" "SELECT count(*), sum(cents) FROM invoices")
b=$(sqlite3 "$w/restored.db" "SELECT count(*), sum(cents) FROM invoices")
[ "$a" = "$b" ] && echo "SQLite: identical ($a rows|sum)"
if [ -n "$pgdst" ]; then
	q="SELECT count(*), md5(string_agg(id || name || since, ',' ORDER BY id)) FROM customers"
	a=$(psql -tA "$pgsrc" -c "$q")
	b=$(psql -tA "$pgdst" -c "$q")
	[ "$a" = "$b" ] && echo "PostgreSQL: identical ($a)"
fi
echo "== check --read-data: every byte decrypted and verified"
"$B/sov-backup" check $pw --read-data | jq -c 'select(.event=="summary") | {errors, packs_read, blobs_verified}'
