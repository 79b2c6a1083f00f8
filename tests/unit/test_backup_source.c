/*
 * test_backup_source.c - databases as backup sources: SQLite copies (plain,
 * WAL, written concurrently by another process, locked, not a database)
 * and atomic restores; pg_dump and pg_restore against the real PostgreSQL
 * in $SOV_TEST_PG_URL; the child plumbing (argv, password file, closed
 * descriptors, stderr tail, signals) through this program itself standing
 * in as pg_dump / pg_restore; connection strings.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "source.h"
#include "tap.h"
#include "timestamp.h"

#define DUMP_MAX (64 << 20)
#define PG_TESTS 20
#define OWNER 65534      /* nobody, the owner of an application's database */
#define TEST_ALARM_S 600 /* valgrind included */

static char tmp[PATH_MAX];      /* scratch directory */
static char self_exe[PATH_MAX]; /* this program, the stand-in tool */

static void __attribute__((format(printf, 3, 4)))
mkpath(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)size) {
		fprintf(stderr, "path too long\n");
		exit(99);
	}
}

/* Run SQL on the database at path (created if missing); 0 or -1. */
static int
db_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;
	int r;

	r = sqlite3_open(path, &db);
	if (r == SQLITE_OK) {
		sqlite3_busy_timeout(db, 10000);
		r = sqlite3_exec(db, sql, NULL, NULL, &msg);
	}
	if (r != SQLITE_OK)
		diag("%s: %s: %s", path, sql, msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	sqlite3_close(db);
	return r == SQLITE_OK ? 0 : -1;
}

/* The first column of the first row, malloc'ed; NULL on error. */
static char *
db_str(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *out = NULL;
	int r;

	r = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
			    NULL);
	if (r == SQLITE_OK) {
		sqlite3_busy_timeout(db, 10000);
		r = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	}
	if (r == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		out = strdup(sqlite3_column_text(st, 0)
				 ? (const char *)sqlite3_column_text(st, 0)
				 : "(null)");
	else
		diag("%s: %s: %s", path, sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

static long
db_long(const char *path, const char *sql)
{
	char *s = db_str(path, sql);
	long v = s ? atol(s) : -1;

	free(s);
	return v;
}

/* Copy the rest of fd into a new file at path. */
static int
fd_to_file(int fd, const char *path)
{
	char buf[65536];
	ssize_t n;
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (out < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			close(out);
			return -1;
		}
	return close(out) == 0 && n == 0 ? 0 : -1;
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void
write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) != 0) {
		perror(path);
		exit(99);
	}
}

/* The rows of table t as one string, to compare two databases. */
#define SIGNATURE                                                              \
	"SELECT count(*) || ':' || group_concat(v, ',') FROM "                 \
	"(SELECT v FROM t ORDER BY id)"

/* A fresh database at path in journal mode mode with rows rows. */
static void
make_db(const char *path, const char *mode, int rows, const char *tag)
{
	char sql[512];

	(void)unlink(path);
	mkpath(sql, sizeof(sql),
	       "PRAGMA journal_mode=%s; "
	       "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, b BLOB); "
	       "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
	       "FROM n WHERE i < %d) "
	       "INSERT INTO t(v, b) SELECT '%s' || i, randomblob(200) FROM n",
	       mode, rows, tag);
	if (db_exec(path, sql) < 0)
		exit(99);
}

/* --- children ------------------------------------------------------- */

/* Wait for one byte on fd (a child's "ready"). */
static int
wait_ready(int fd)
{
	char c;

	return read(fd, &c, 1) == 1 ? 0 : -1;
}

/*
 * A child that opens path, runs sql, says ready, and then holds its
 * connection (and whatever lock sql left) until *release is closed, then
 * dies of SIGKILL; or, when hold_ms > 0, for hold_ms, then it commits,
 * closes and exits 0.
 */
static pid_t
holder(const char *path, const char *sql, int hold_ms, int *release)
{
	int ready[2], rel[2];
	pid_t pid;

	if (pipe(ready) != 0 || pipe(rel) != 0)
		exit(99);
	pid = fork();
	if (pid < 0)
		exit(99);
	if (pid == 0) {
		sqlite3 *db = NULL;
		char c;

		close(ready[0]);
		close(rel[1]);
		if (sqlite3_open(path, &db) != SQLITE_OK ||
		    sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			fprintf(stderr, "holder: %s\n", sqlite3_errmsg(db));
			_exit(1);
		}
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		if (hold_ms > 0) {
			sqlite3_sleep(hold_ms);
			if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) !=
			    SQLITE_OK)
				_exit(1);
			_exit(sqlite3_close(db) == SQLITE_OK ? 0 : 1);
		}
		while (read(rel[0], &c, 1) < 0 && errno == EINTR)
			;
		/* No close: die as a crash would, files left as they are. */
		kill(getpid(), SIGKILL);
		_exit(1);
	}
	close(ready[1]);
	close(rel[0]);
	if (wait_ready(ready[0]) < 0) {
		diag("holder did not get ready");
		close(ready[0]);
		*release = rel[1];
		return pid;
	}
	close(ready[0]);
	*release = rel[1];
	return pid;
}

static int
reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

/* A child inserting into t and counting in c, one transaction each. */
static pid_t
writer(const char *path)
{
	pid_t pid = fork();

	if (pid < 0)
		exit(99);
	if (pid == 0) {
		sqlite3 *db = NULL;

		if (sqlite3_open(path, &db) != SQLITE_OK)
			_exit(1);
		sqlite3_busy_timeout(db, 30000);
		sqlite3_exec(db, "PRAGMA synchronous=OFF", NULL, NULL, NULL);
		for (;;)
			if (sqlite3_exec(db,
					 "BEGIN IMMEDIATE; "
					 "INSERT INTO t(v, b) VALUES('w', "
					 "randomblob(1000)); "
					 "UPDATE c SET n = n + 1; COMMIT",
					 NULL, NULL, NULL) != SQLITE_OK)
				_exit(2);
	}
	return pid;
}

/* --- SQLite snapshots ------------------------------------------------- */

/* Snapshot path into copy (a file), checking the fd that comes back. */
static int
snap_to(const char *path, const char *tdir, long busy, const char *copy,
	struct sov_err *e)
{
	struct stat st;
	int fd = -1;

	if (bk_sqlite_snapshot(path, tdir, busy, &fd, e) < 0) {
		ok(fd == -1, "failed snapshot returns no fd");
		return -1;
	}
	ok(fd >= 0 && fstat(fd, &st) == 0 && st.st_nlink == 0 &&
	       (st.st_mode & 0777) == 0600 &&
	       (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY &&
	       lseek(fd, 0, SEEK_CUR) == 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC),
	   "snapshot fd: unlinked, 0600, read-only, offset 0, close-on-exec");
	ok(fd_to_file(fd, copy) == 0, "copy the snapshot out");
	close(fd);
	return 0;
}

static void
test_snapshot_plain(void)
{
	char src[PATH_MAX], copy[PATH_MAX], tdir[PATH_MAX];
	char *a, *b;
	struct sov_err e = {0};

	mkpath(src, sizeof(src), "%s/plain.db", tmp);
	mkpath(copy, sizeof(copy), "%s/plain.copy", tmp);
	mkpath(tdir, sizeof(tdir), "%s/snaptmp", tmp);
	if (mkdir(tdir, 0700) != 0)
		exit(99);
	/* 20000 rows of ~220 bytes: several backup steps. */
	make_db(src, "DELETE", 20000, "p");
	ok(snap_to(src, tdir, 1000, copy, &e) == 0,
	   "snapshot of a rollback-journal database");
	a = db_str(src, SIGNATURE);
	b = db_str(copy, SIGNATURE);
	ok(a && b && strcmp(a, b) == 0 && strncmp(a, "20000:", 6) == 0,
	   "the copy holds the same rows");
	free(a);
	free(b);
	is_int(count_entries(tdir), 0, "nothing left in the temp directory");
	is_int(db_long(copy, "PRAGMA page_count"),
	       db_long(src, "PRAGMA page_count"), "same number of pages");
}

static void
test_snapshot_wal(void)
{
	char src[PATH_MAX], copy[PATH_MAX], uri[PATH_MAX + 32];
	sqlite3 *w = NULL;
	struct sov_err e = {0};
	unsigned char hdr[20] = {0};
	int fd;

	mkpath(src, sizeof(src), "%s/wal.db", tmp);
	mkpath(copy, sizeof(copy), "%s/wal.copy", tmp);
	mkpath(uri, sizeof(uri), "file:%s?immutable=1", src);
	make_db(src, "WAL", 100, "m");
	/* A writer that stays open and never checkpoints: its committed
	 * rows live only in src-wal. */
	if (sqlite3_open(src, &w) != SQLITE_OK ||
	    sqlite3_exec(w,
			 "PRAGMA wal_autocheckpoint=0; "
			 "PRAGMA wal_checkpoint(TRUNCATE); "
			 "INSERT INTO t(v) SELECT 'wal' || id FROM t; "
			 "DELETE FROM t WHERE id <= 10",
			 NULL, NULL, NULL) != SQLITE_OK)
		exit(99);
	is_int(db_long(uri, "SELECT count(*) FROM t"), 100,
	       "the main file alone still has the old 100 rows");
	ok(snap_to(src, NULL, 1000, copy, &e) == 0,
	   "snapshot of a WAL database with an open writer");
	is_int(db_long(copy, "SELECT count(*) FROM t"), 190,
	       "the copy has the rows committed to the WAL only");
	is_int(db_long(copy, "SELECT count(*) FROM t WHERE v LIKE 'wal%'"), 100,
	       "... the inserted ones");
	fd = open(copy, O_RDONLY);
	ok(fd >= 0 && read(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr) &&
	       hdr[18] == 2 && hdr[19] == 2,
	   "the copy's header keeps WAL mode");
	if (fd >= 0)
		close(fd);
	ok(sqlite3_close(w) == SQLITE_OK, "the writer closes");
}

/* Snapshot while another process commits as fast as it can. */
static void
test_snapshot_concurrent(const char *mode)
{
	char src[PATH_MAX], copy[PATH_MAX], sql[128], *check;
	struct sov_err e = {0};
	long n0, n, c;
	int64_t until;
	pid_t pid;

	mkpath(src, sizeof(src), "%s/busy-%s.db", tmp, mode);
	mkpath(copy, sizeof(copy), "%s/busy-%s.copy", tmp, mode);
	make_db(src, mode, 20000, "c");
	if (db_exec(src, "CREATE TABLE c(n INTEGER); "
			 "INSERT INTO c SELECT count(*) FROM t") < 0)
		exit(99);
	n0 = db_long(src, "SELECT n FROM c");
	pid = writer(src);
	until = sov_time_mono_ms() + 20000;
	do {
		sqlite3_sleep(20);
		n = db_long(src, "SELECT n FROM c");
	} while (n < n0 + 50 && sov_time_mono_ms() < until);
	ok(n >= n0 + 50, "[%s] the writer is committing (%ld rows)", mode,
	   n - n0);
	ok(snap_to(src, NULL, 20000, copy, &e) == 0,
	   "[%s] snapshot while another process writes", mode);
	if (e.code)
		diag("%s", e.msg);
	kill(pid, SIGKILL);
	reap(pid);
	mkpath(sql, sizeof(sql), "PRAGMA integrity_check");
	check = db_str(copy, sql);
	is_str(check, "ok", "[%s] the copy passes integrity_check", mode);
	free(check);
	c = db_long(copy, "SELECT n FROM c");
	is_int(db_long(copy, "SELECT count(*) FROM t"), c,
	       "[%s] count(*) and the counter agree: one instant (%ld)", mode,
	       c);
	ok(c > n0, "[%s] the copy includes some of the writer's commits", mode);
}

/* A writer holding an exclusive lock for 1.5 s. */
static void
test_snapshot_locked(void)
{
	char src[PATH_MAX], copy[PATH_MAX];
	struct sov_err e = {0};
	int64_t t0, dt;
	int fd = -1, rel;
	pid_t pid;

	mkpath(src, sizeof(src), "%s/locked.db", tmp);
	mkpath(copy, sizeof(copy), "%s/locked.copy", tmp);
	make_db(src, "DELETE", 10, "l");
	pid = holder(src, "BEGIN EXCLUSIVE; INSERT INTO t(v) VALUES('held')",
		     1500, &rel);
	t0 = sov_time_mono_ms();
	ok(bk_sqlite_snapshot(src, NULL, 300, &fd, &e) < 0 && fd == -1,
	   "snapshot fails while the database is locked exclusively");
	dt = sov_time_mono_ms() - t0;
	is_int(e.code, SOV_EXIT_TEMPFAIL, "... retryable");
	like(e.msg, src, "... naming the database");
	like(e.msg, "locked by another connection for longer than 300 ms",
	     "... saying it is locked, and how long it waited");
	ok(dt >= 290 && dt < 1400, "... after the busy timeout (%lld ms)",
	   (long long)dt);
	ok(snap_to(src, NULL, 20000, copy, &e) == 0,
	   "with a longer timeout it waits for the writer");
	is_int(db_long(copy, "SELECT count(*) FROM t WHERE v = 'held'"), 1,
	       "... and sees its commit");
	close(rel);
	is_int(reap(pid), 0, "the holder committed and exited");
}

static void
test_snapshot_errors(void)
{
	char bad[PATH_MAX], missing[PATH_MAX], nodir[PATH_MAX], src[PATH_MAX];
	char junk[8192];
	struct sov_err e = {0};
	int fd = 123;

	mkpath(bad, sizeof(bad), "%s/not-a-db.txt", tmp);
	mkpath(missing, sizeof(missing), "%s/missing.db", tmp);
	mkpath(nodir, sizeof(nodir), "%s/no-such-dir", tmp);
	mkpath(src, sizeof(src), "%s/plain.db", tmp);
	memset(junk, 'x', sizeof(junk));
	write_file(bad, junk, sizeof(junk));

	ok(bk_sqlite_snapshot(bad, NULL, 100, &fd, &e) < 0 && fd == -1,
	   "a file that is no database is refused");
	is_int(e.code, SOV_EXIT_USAGE, "... as bad input");
	like(e.msg, bad, "... naming it");
	like(e.msg, "not a database", "... saying what is wrong");

	sov_err_clear(&e);
	ok(bk_sqlite_snapshot(missing, NULL, 100, &fd, &e) < 0,
	   "a missing file is refused");
	is_int(e.code, SOV_EXIT_USAGE, "... as bad input");
	like(e.msg, missing, "... naming it");
	like(e.msg, "No such file", "... saying why");
	ok(!exists(missing), "... and is not created");

	sov_err_clear(&e);
	ok(bk_sqlite_snapshot(src, nodir, 100, &fd, &e) < 0,
	   "a temp directory that does not exist is an error");
	like(e.msg, nodir, "... naming it");

	sov_err_clear(&e);
	ok(bk_sqlite_snapshot(tmp, NULL, 100, &fd, &e) < 0 &&
	       e.code == SOV_EXIT_USAGE,
	   "a directory is no database: bad input");
	like(e.msg, tmp, "... naming it");
}

/* --- SQLite restores --------------------------------------------------- */

static int
restore_from(const char *src, const char *target, int force, struct sov_err *e)
{
	int fd = open(src, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		exit(99);
	rc = bk_sqlite_restore(fd, target, force, e);
	close(fd);
	return rc;
}

static void
test_restore_replace(void)
{
	char src[PATH_MAX], target[PATH_MAX], wal[PATH_MAX], shm[PATH_MAX];
	char dir[PATH_MAX], fresh[PATH_MAX], *want, *got;
	struct sov_err e = {0};
	struct stat st;
	int rel;
	pid_t pid;

	mkpath(dir, sizeof(dir), "%s/rdir", tmp);
	if (mkdir(dir, 0755) != 0)
		exit(99);
	mkpath(src, sizeof(src), "%s/new.db", tmp);
	mkpath(target, sizeof(target), "%s/app.db", dir);
	mkpath(wal, sizeof(wal), "%s-wal", target);
	mkpath(shm, sizeof(shm), "%s-shm", target);
	make_db(src, "WAL", 500, "new");
	for (int force = 0; force <= 1; force++) {
		make_db(target, "WAL", 50, "old");
		chmod(target, 0640);
		if (geteuid() == 0 && chown(target, OWNER, OWNER) != 0)
			exit(99);
		/* A process that dies with rows only in the WAL. */
		pid = holder(target,
			     "PRAGMA wal_autocheckpoint=0; "
			     "INSERT INTO t(v) VALUES('stale')",
			     0, &rel);
		close(rel);
		reap(pid);
		ok(stat(wal, &st) == 0 && st.st_size > 0 && exists(shm),
		   "[force=%d] the old database has a stale -wal and -shm",
		   force);
		ok(restore_from(src, target, force, &e) == 0,
		   "[force=%d] restore over it", force);
		if (e.code)
			diag("%s", e.msg);
		ok(!exists(wal) && !exists(shm),
		   "[force=%d] the stale -wal and -shm are gone", force);
		want = db_str(src, SIGNATURE);
		got = db_str(target, SIGNATURE);
		ok(want && got && strcmp(want, got) == 0,
		   "[force=%d] the target holds the new rows, none of the "
		   "old",
		   force);
		free(want);
		free(got);
		got = db_str(target, "PRAGMA integrity_check");
		is_str(got, "ok", "[force=%d] and is whole", force);
		free(got);
		ok(stat(target, &st) == 0 && (st.st_mode & 07777) == 0640,
		   "[force=%d] the old mode is kept", force);
		if (geteuid() == 0)
			ok(st.st_uid == OWNER && st.st_gid == OWNER,
			   "[force=%d] and the old owner", force);
		else
			skip(1, "the owner: not root");
		(void)unlink(wal);
		(void)unlink(shm);
	}
	is_int(count_entries(dir), 1, "no temp file left beside it");

	mkpath(fresh, sizeof(fresh), "%s/fresh.db", dir);
	ok(restore_from(src, fresh, 0, &e) == 0, "restore to a new name");
	ok(stat(fresh, &st) == 0 && (st.st_mode & 07777) == 0600,
	   "... created 0600");
}

static void
test_restore_in_use(void)
{
	char src[PATH_MAX], target[PATH_MAX], uri[PATH_MAX + 32];
	char *before, *after;
	static const struct {
		const char *mode, *sql, *says;
	} cases[] = {
	    {"DELETE", "BEGIN EXCLUSIVE; SELECT count(*) FROM t", "locked"},
	    {"WAL", "SELECT count(*) FROM t", "locked"},
	    {"DELETE", "SELECT count(*) FROM t", "open in process"},
	};
	struct sov_err e;
	int rel;
	pid_t pid;

	mkpath(src, sizeof(src), "%s/new.db", tmp);
	mkpath(target, sizeof(target), "%s/inuse.db", tmp);
	/* Read immutable: no lock, no WAL (checkpointed when made). */
	mkpath(uri, sizeof(uri), "file:%s?immutable=1", target);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		make_db(target, cases[i].mode, 30, "old");
		before = db_str(uri, SIGNATURE);
		pid = holder(target, cases[i].sql, 0, &rel);
		sov_err_clear(&e);
		ok(restore_from(src, target, 0, &e) < 0,
		   "[%s, %s] refused while another process has it",
		   cases[i].mode, cases[i].sql);
		is_int(e.code, SOV_EXIT_TEMPFAIL, "... retryable");
		like(e.msg, target, "... naming it");
		like(e.msg, cases[i].says, "... saying why");
		after = db_str(uri, SIGNATURE);
		ok(before && after && strcmp(before, after) == 0,
		   "... the target is untouched");
		free(after);
		sov_err_clear(&e);
		ok(restore_from(src, target, 1, &e) == 0, "... unless forced");
		after = db_str(target, SIGNATURE);
		ok(after && strncmp(after, "500:", 4) == 0,
		   "... then it holds the new rows");
		free(before);
		free(after);
		close(rel);
		reap(pid);
	}
}

static void
test_restore_bad(void)
{
	char src[PATH_MAX], target[PATH_MAX], junk[PATH_MAX], corrupt[PATH_MAX];
	char nodir[PATH_MAX], link[PATH_MAX], piped[PATH_MAX];
	char buf[65536], *before, *after;
	struct sov_err e;
	struct stat st0, st1;
	int fd, p[2], n0;
	ssize_t len;

	mkpath(src, sizeof(src), "%s/new.db", tmp);
	mkpath(target, sizeof(target), "%s/keep.db", tmp);
	mkpath(junk, sizeof(junk), "%s/junk.bin", tmp);
	mkpath(corrupt, sizeof(corrupt), "%s/corrupt.db", tmp);
	make_db(target, "DELETE", 20, "keep");
	before = db_str(target, SIGNATURE);
	stat(target, &st0);
	n0 = count_entries(tmp);

	memset(buf, 'j', 8192);
	write_file(junk, buf, 8192);
	sov_err_clear(&e);
	ok(restore_from(junk, target, 0, &e) < 0, "garbage input is refused");
	is_int(e.code, SOV_EXIT_USAGE, "... as bad input");
	like(e.msg, "not a database", "... saying what is wrong");
	like(e.msg, target, "... naming the target");

	/* A database with a page of its table overwritten. */
	make_db(corrupt, "DELETE", 2000, "c");
	fd = open(corrupt, O_WRONLY);
	memset(buf, 0xab, 4096);
	if (fd < 0 || pwrite(fd, buf, 4096, 20 * 4096) != 4096 || close(fd))
		exit(99);
	sov_err_clear(&e);
	ok(restore_from(corrupt, target, 0, &e) < 0,
	   "a database that fails integrity_check is refused");
	is_int(e.code, SOV_EXIT_FAIL, "... as a failure");
	like(
	    e.msg,
	    "the input: integrity_check failed: *** in database main *** Page ",
	    "... with the first problems it found");

	sov_err_clear(&e);
	fd = open("/dev/null", O_RDONLY);
	ok(bk_sqlite_restore(fd, target, 0, &e) < 0 && e.code == SOV_EXIT_USAGE,
	   "empty input is refused");
	like(e.msg, "empty", "... saying so");
	close(fd);

	after = db_str(target, SIGNATURE);
	stat(target, &st1);
	ok(before && after && strcmp(before, after) == 0 &&
	       st0.st_ino == st1.st_ino && st0.st_mtime == st1.st_mtime,
	   "after all that the target is untouched");
	is_int(count_entries(tmp), n0 - 0 + 2,
	       "no temp file left (only the two inputs added)");
	free(before);
	free(after);

	mkpath(nodir, sizeof(nodir), "%s/no-such-dir/x.db", tmp);
	sov_err_clear(&e);
	ok(restore_from(src, nodir, 0, &e) < 0,
	   "restore into a directory that does not exist fails");
	is_int(e.code, SOV_EXIT_USAGE, "... as bad input");
	like(e.msg, "no-such-dir: No such file", "... naming the directory");

	sov_err_clear(&e);
	ok(restore_from(src, tmp, 0, &e) < 0 && e.code == SOV_EXIT_USAGE,
	   "a directory as the target is refused");
	like(e.msg, "not a regular file", "... saying so");

	mkpath(link, sizeof(link), "%s/link.db", tmp);
	if (symlink(target, link) != 0)
		exit(99);
	sov_err_clear(&e);
	ok(restore_from(src, link, 0, &e) < 0 && e.code == SOV_EXIT_USAGE,
	   "a symlink as the target is refused");
	like(e.msg, "symlink", "... saying so");

	/* Through a pipe, as from a snapshot being read. */
	mkpath(piped, sizeof(piped), "%s/piped.db", tmp);
	mkpath(src, sizeof(src), "%s/small.db", tmp);
	make_db(src, "DELETE", 50, "small");
	fd = open(src, O_RDONLY);
	len = read(fd, buf, sizeof(buf));
	close(fd);
	if (len <= 0 || len == (ssize_t)sizeof(buf) || pipe(p) != 0 ||
	    write(p[1], buf, (size_t)len) != len)
		exit(99);
	close(p[1]);
	sov_err_clear(&e);
	ok(bk_sqlite_restore(p[0], piped, 0, &e) == 0, "restore from a pipe");
	close(p[0]);
	after = db_str(piped, "SELECT count(*) FROM t");
	is_str(after, "50", "... with every row");
	free(after);

	sov_err_clear(&e);
	ok(bk_sqlite_restore(-1, piped, 0, &e) < 0, "a bad fd is an error");
	like(e.msg, "Bad file descriptor", "... saying so");
}

/* --- the stand-in pg_dump / pg_restore ------------------------------- */

/* Run as pg_dump or pg_restore: what SOV_FAKE_MODE says. */
static int
fake_tool(int argc, char **argv)
{
	const char *mode = getenv("SOV_FAKE_MODE"), *pf;
	const char *code = getenv("SOV_FAKE_EXIT");
	char buf[4096];
	struct dirent *de;
	ssize_t n;
	long in = 0;
	DIR *d;

	if (mode == NULL)
		return 100;
	if (strcmp(mode, "args") == 0) {
		for (int i = 0; i < argc; i++)
			printf("arg: %s\n", argv[i]);
		pf = getenv("PGPASSFILE");
		printf("PGPASSFILE=%s\n", pf ? pf : "(unset)");
		printf("PGPASSWORD=%s\n",
		       getenv("PGPASSWORD") ? getenv("PGPASSWORD") : "(unset)");
		if (pf != NULL) {
			FILE *f = fopen(pf, "r");

			if (f && fgets(buf, sizeof(buf), f))
				printf("pass: %s", buf);
			if (f)
				fclose(f);
		}
		d = opendir("/proc/self/fd");
		printf("fds:");
		while (d && (de = readdir(d)) != NULL)
			if (de->d_name[0] != '.' &&
			    atoi(de->d_name) != dirfd(d))
				printf(" %s", de->d_name);
		printf("\n");
		if (d)
			closedir(d);
		while ((n = read(0, buf, sizeof(buf))) > 0)
			in += n;
		printf("stdin: %ld bytes\n", in);
		fflush(stdout);
		return code ? atoi(code) : 0;
	}
	if (strcmp(mode, "flood") == 0) {
		memset(buf, 'f', sizeof(buf));
		for (int i = 0; i < 4096; i++)
			if (write(1, buf, sizeof(buf)) < 0)
				return 3; /* EPIPE: SIGPIPE was ignored */
		return 0;
	}
	if (strcmp(mode, "stderr") == 0) {
		for (int i = 0; i < 300; i++)
			fprintf(stderr, "%s: noise line %d\n", argv[0], i);
		fprintf(stderr,
			"%s: error: connection to server failed: "
			"FATAL:  sorry, too many connections\n",
			argv[0]);
		return 1;
	}
	if (strcmp(mode, "sleep") == 0) {
		sleep(30);
		return 0;
	}
	return 100;
}

/* Read a child's stream to its end into a malloc'ed buffer. */
static char *
read_all(int fd, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	ssize_t r;

	while (buf) {
		if (n == cap) {
			char *nb =
			    cap >= DUMP_MAX ? NULL : realloc(buf, 2 * cap + 1);

			if (nb == NULL) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static void
test_child_plumbing(void)
{
	char bindir[PATH_MAX], tool[PATH_MAX], *out;
	struct bk_child c;
	struct sov_err e;
	size_t len;
	int leak;
	int64_t t0;
	const char *url = "postgresql://postgres:s3%3Acr%5Cet@/sovdb"
			  "?host=/nonexistent";

	mkpath(bindir, sizeof(bindir), "%s/fakebin", tmp);
	if (mkdir(bindir, 0755) != 0)
		exit(99);
	mkpath(tool, sizeof(tool), "%s/pg_dump", bindir);
	if (symlink(self_exe, tool) != 0)
		exit(99);
	mkpath(tool, sizeof(tool), "%s/pg_restore", bindir);
	if (symlink(self_exe, tool) != 0)
		exit(99);
	setenv("SOV_PG_BINDIR", bindir, 1);
	setenv("SOV_FAKE_MODE", "args", 1);
	setenv("PGPASSWORD", "inherited", 1);
	unsetenv("SOV_FAKE_EXIT");
	/* A descriptor without close-on-exec that must not reach it. */
	leak = open("/dev/null", O_RDONLY);

	sov_err_clear(&e);
	ok(bk_pg_dump_start(url, &c, &e) == 0, "start pg_dump (stand-in)");
	if (e.code)
		diag("%s", e.msg);
	ok(c.pid > 0 && c.fd >= 0 && c.err_fd >= 0 &&
	       (fcntl(c.fd, F_GETFD) & FD_CLOEXEC) &&
	       (fcntl(c.err_fd, F_GETFD) & FD_CLOEXEC),
	   "... our ends are close-on-exec");
	out = read_all(c.fd, &len);
	ok(bk_child_finish(&c, 0, &e) == 0, "... it exits 0");
	ok(c.pid == -1 && c.fd == -1 && c.err_fd == -1,
	   "... finish clears the child");
	like(out,
	     "arg: pg_dump\narg: --format=custom\narg: --compress=0\n"
	     "arg: --no-password\narg: --dbname=",
	     "argv: --format=custom --compress=0 --no-password --dbname=");
	{
		const char *arg = out ? strstr(out, "arg: --dbname=") : NULL;
		size_t alen = arg ? strcspn(arg, "\n") : 0;

		ok(arg && alen > 20 && memmem(arg, alen, "s3", 2) == NULL &&
		       memmem(arg, alen, "password", 8) == NULL,
		   "the password is nowhere in argv");
	}
	like(out, "dbname='sovdb'", "... the rest of the URL is");
	like(out, "host='/nonexistent'", "... host too");
	like(out, "PGPASSFILE=/dev/fd/3\n", "PGPASSFILE names fd 3");
	like(out, "pass: *:*:*:*:s3\\:cr\\\\et\n",
	     "... a password file line, ':' and '\\' escaped");
	like(out, "PGPASSWORD=(unset)", "an inherited PGPASSWORD is dropped");
	like(out, "fds: 0 1 2 3\n", "only fds 0-3 are open in the child");
	like(out, "stdin: 0 bytes", "stdin is empty (/dev/null)");
	free(out);

	/* No password: the URL as given, nothing else. */
	ok(bk_pg_dump_start("postgresql:///sovdb?host=/x", &c, &e) == 0,
	   "start with a URL without a password");
	out = read_all(c.fd, &len);
	ok(bk_child_finish(&c, 0, &e) == 0, "... it exits 0");
	like(out, "arg: --dbname=postgresql:///sovdb?host=/x\n",
	     "... --dbname is the URL unchanged");
	like(out, "PGPASSFILE=(unset)", "... no password file");
	like(out, "PGPASSWORD=inherited", "... the environment is kept");
	like(out, "fds: 0 1 2\n", "... fds 0-2 only");
	free(out);

	/* pg_restore: flags, and the dump on its stdin. */
	setenv("SOV_FAKE_EXIT", "3", 1);
	ok(bk_pg_restore_start("dbname=x host=/y",
			       BK_PG_CLEAN | BK_PG_NO_OWNER | BK_PG_SINGLE_TXN,
			       &c, &e) == 0,
	   "start pg_restore (stand-in)");
	ok(write_all(c.fd, "PGDMP-ish", 9) == 0, "... write it the input");
	ok(bk_child_finish(&c, 0, &e) < 0, "... exit 3 is a failure");
	like(e.msg,
	     "pg_restore failed (exit status 3): arg: pg_restore arg: "
	     "--format=custom arg: --no-password arg: --exit-on-error "
	     "arg: --clean arg: --if-exists arg: --no-owner arg: "
	     "--single-transaction arg: --dbname=dbname=x host=/y ",
	     "... argv in order, its output in the message on one line");
	like(e.msg, "stdin: 9 bytes", "... it read what we wrote");
	is_int(e.code, SOV_EXIT_FAIL, "... an unknown failure is 1");
	unsetenv("SOV_FAKE_EXIT");

	sov_err_clear(&e);
	ok(bk_pg_restore_start("dbname=x", BK_PG_CREATE | BK_PG_SINGLE_TXN, &c,
			       &e) < 0 &&
	       e.code == SOV_EXIT_USAGE && c.pid == -1,
	   "--create with --single-transaction is refused");
	ok(bk_pg_restore_start("dbname=x", 1u << 9, &c, &e) < 0 &&
	       e.code == SOV_EXIT_USAGE,
	   "unknown flags are refused");

	/* The stderr tail: long, cut at a line, classified. */
	setenv("SOV_FAKE_MODE", "stderr", 1);
	ok(bk_pg_dump_start("dbname=x", &c, &e) == 0, "start a failing one");
	out = read_all(c.fd, &len);
	free(out);
	ok(bk_child_finish(&c, 0, &e) < 0, "... it fails");
	is_int(e.code, SOV_EXIT_TEMPFAIL, "... too many connections: retry");
	like(e.msg, "sorry, too many connections",
	     "... the last line is in the message");
	like(e.msg, "pg_dump failed (exit status 1): ...",
	     "... the rest cut off, and it says so");
	ok(strlen(e.msg) < 800 && strchr(e.msg, '\n') == NULL,
	   "... one line, capped (%zu bytes)", strlen(e.msg));

	/* Stop reading: it dies of SIGPIPE, though we ignore SIGPIPE. */
	setenv("SOV_FAKE_MODE", "flood", 1);
	ok(bk_pg_dump_start("dbname=x", &c, &e) == 0, "start a flood");
	ok(bk_child_finish(&c, 0, &e) < 0, "... closing early fails it");
	like(e.msg, "pg_dump killed by signal 13", "... by SIGPIPE");

	setenv("SOV_FAKE_MODE", "sleep", 1);
	ok(bk_pg_dump_start("dbname=x", &c, &e) == 0, "start a sleeper");
	sov_err_clear(&e);
	t0 = sov_time_mono_ms();
	ok(bk_child_finish(&c, 1, &e) == 0 && e.code == 0,
	   "abort: 0, the error left alone");
	ok(sov_time_mono_ms() - t0 < 2000 && c.pid == -1,
	   "... at once (SIGTERM)");
	ok(bk_child_finish(&c, 0, &e) == 0, "finish again is harmless");

	/* Where the tool is not. */
	setenv("SOV_PG_BINDIR", tmp, 1);
	sov_err_clear(&e);
	ok(bk_pg_dump_start("dbname=x", &c, &e) < 0 && c.pid == -1,
	   "SOV_PG_BINDIR without pg_dump");
	is_int(e.code, SOV_EXIT_USAGE, "... a usage error");
	like(e.msg, "SOV_PG_BINDIR", "... naming the variable");
	like(e.msg, tmp, "... and the directory");
	unsetenv("SOV_PG_BINDIR");
	{
		char *path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;

		setenv("PATH", bindir + 0, 1);
		unlink(tool); /* pg_restore gone from fakebin */
		sov_err_clear(&e);
		ok(bk_pg_restore_start("dbname=x", 0, &c, &e) < 0,
		   "pg_restore not on PATH");
		like(e.msg, "pg_restore: not found on PATH", "... says so");
		if (path) {
			setenv("PATH", path, 1);
			free(path);
		}
	}
	sov_err_clear(&e);
	ok(bk_pg_dump_start("garbage", &c, &e) < 0 && e.code == SOV_EXIT_USAGE,
	   "a connection string libpq cannot parse is refused at start");
	like(e.msg, "missing \"=\" after \"garbage\"", "... quoting libpq");
	close(leak);
	unsetenv("SOV_FAKE_MODE");
	unsetenv("PGPASSWORD");
}

/* --- connection strings ---------------------------------------------- */

static void
dbname_is(const char *url, const char *want)
{
	struct sov_err e = {0};
	char *got = bk_pg_url_dbname(url, &e);

	is_str(got, want, "dbname of %s", url);
	if (got == NULL)
		diag("%s", e.msg);
	free(got);
}

static void
dbname_bad(const char *url, const char *says)
{
	struct sov_err e = {0};
	char *got = bk_pg_url_dbname(url, &e);

	ok(got == NULL && e.code == SOV_EXIT_USAGE, "refused: %.60s",
	   url ? url : "(null)");
	like(e.msg, says, "... saying why");
	free(got);
}

static void
test_dbname(void)
{
	char long_url[5000], name64[128];
	struct sov_err e = {0};
	char *got;

	dbname_is("postgresql:///sovdb?host=/tmp/x&user=postgres", "sovdb");
	dbname_is("postgres://u:pw@db.example:5432/my%20db", "my db");
	dbname_is("postgresql://h/path?dbname=fromquery", "fromquery");
	dbname_is("host=/tmp dbname=kv user=x", "kv");
	dbname_is("dbname='with \\' quote' host=h", "with ' quote");
	dbname_is("dbname=a%0Ab", "a%0Ab"); /* key=value: no decoding */
	dbname_is("postgresql://h/caf%C3%A9", "caf\xc3\xa9");
	mkpath(
	    name64, sizeof(name64), "dbname=%.63s",
	    "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc");
	dbname_is(name64, name64 + 7);

	dbname_bad("postgresql://h", "names no database");
	dbname_bad("postgresql://h/", "names no database");
	dbname_bad("host=/tmp user=x", "names no database");
	dbname_bad("garbage", "missing \"=\" after \"garbage\"");
	dbname_bad("postgresql://h/db?bogus=1", "invalid URI query parameter");
	dbname_bad("postgresql://h/a%2Fb", "unusable as a file name");
	dbname_bad("postgresql://h/..", "unusable as a file name");
	dbname_bad("dbname='a\tb'", "control character");
	dbname_bad("postgresql://h/a%0Ab", "control character");
	mkpath(
	    name64, sizeof(name64), "dbname=%.64s",
	    "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd");
	dbname_bad(name64, "longer than 63 bytes");
	dbname_bad("", "empty");
	dbname_bad(NULL, "empty");
	memset(long_url, 'a', sizeof(long_url) - 1);
	long_url[sizeof(long_url) - 1] = '\0';
	memcpy(long_url, "dbname=", 7);
	dbname_bad(long_url, "longer than 4096");
	got = bk_pg_url_dbname("postgresql://u:s3cret@h/db?bogus=1", &e);
	ok(got == NULL && strstr(e.msg, "s3cret") == NULL,
	   "the error does not show the password");
}

/* --- the real pg_dump and pg_restore ---------------------------------- */

static int
on_path(const char *tool)
{
	char cmd[128];

	mkpath(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/* A server that is not there: pg_dump finds no socket. */
static void
test_pg_absent(void)
{
	char url[PATH_MAX + 64], empty[PATH_MAX], *out;
	struct bk_child c;
	struct sov_err e = {0};
	size_t len;

	if (!on_path("pg_dump")) {
		skip(4, "pg_dump not on PATH");
		return;
	}
	mkpath(empty, sizeof(empty), "%s/nosrv", tmp);
	if (mkdir(empty, 0700) != 0)
		exit(99);
	mkpath(url, sizeof(url), "postgresql:///postgres?host=%s&user=postgres",
	       empty);
	ok(bk_pg_dump_start(url, &c, &e) == 0, "pg_dump starts");
	out = read_all(c.fd, &len);
	is_int(len, 0, "... and writes nothing");
	free(out);
	ok(bk_child_finish(&c, 0, &e) < 0 && e.code == SOV_EXIT_TEMPFAIL,
	   "no server there: retryable (75)");
	like(e.msg,
	     "pg_dump failed (exit status 1): pg_dump: error: "
	     "connection to server on socket",
	     "... with pg_dump's message");
}

static char *
pg_value(const char *url, const char *sql)
{
	PGconn *c = PQconnectdb(url);
	PGresult *r = NULL;
	char *out = NULL;

	if (PQstatus(c) == CONNECTION_OK)
		r = PQexec(c, sql);
	if (r && (PQresultStatus(r) == PGRES_TUPLES_OK ||
		  PQresultStatus(r) == PGRES_COMMAND_OK)) {
		out = strdup(PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	} else {
		diag("%s: %s", sql, PQerrorMessage(c));
	}
	PQclear(r);
	PQfinish(c);
	return out;
}

/* `pg.sh ARGS` and its one line of output (a URL), malloc'ed. */
static char *
pg_sh(const char *args)
{
	char cmd[PATH_MAX * 2], line[PATH_MAX + 64];
	FILE *p;
	char *out = NULL;

	mkpath(cmd, sizeof(cmd), "tests/helpers/pg.sh %s", args);
	p = popen(cmd, "r");
	if (p == NULL)
		return NULL;
	if (fgets(line, sizeof(line), p) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		out = strdup(line);
	}
	if (pclose(p) != 0) {
		free(out);
		out = NULL;
	}
	return out;
}

#define PG_SIG                                                                 \
	"SELECT count(*) || ':' || sum(id) || ':' || "                         \
	"md5(string_agg(v, ',' ORDER BY id)) FROM t"

static void
test_pg(const char *base, const char *dir)
{
	char args[PATH_MAX + 64], *src = NULL, *dst = NULL, *gone = NULL;
	char *dump = NULL, *a = NULL, *b = NULL, *x;
	char sa[64], sb[64], sg[64];
	struct bk_child c;
	struct sov_err e = {0};
	size_t len = 0;
	long pid = (long)getpid();

	mkpath(sa, sizeof(sa), "sov_src_%ld", pid);
	mkpath(sb, sizeof(sb), "sov_dst_%ld", pid);
	mkpath(sg, sizeof(sg), "sov_gone_%ld", pid);
	mkpath(args, sizeof(args), "createdb '%s' %s 2>/dev/null", dir, sa);
	src = pg_sh(args);
	mkpath(args, sizeof(args), "createdb '%s' %s 2>/dev/null", dir, sb);
	dst = pg_sh(args);
	mkpath(args, sizeof(args), "url '%s' %s", dir, sg);
	gone = pg_sh(args);
	ok(src && dst && gone, "create two databases");
	if (!src || !dst || !gone) {
		skip(PG_TESTS - 1, "createdb failed");
		goto out;
	}
	x = pg_value(src, "CREATE TABLE t(id int PRIMARY KEY, v text); "
			  "INSERT INTO t SELECT i, 'row ' || i || repeat('x', "
			  "i % 50) FROM generate_series(1, 20000) i");
	free(x);

	ok(bk_pg_dump_start(src, &c, &e) == 0, "pg_dump starts");
	dump = read_all(c.fd, &len);
	ok(bk_child_finish(&c, 0, &e) == 0, "... and succeeds");
	if (e.code)
		diag("%s", e.msg);
	ok(dump && len > 5 && memcmp(dump, "PGDMP", 5) == 0,
	   "the stream is a custom-format dump (%zu bytes)", len);

	ok(bk_pg_restore_start(dst, BK_PG_NO_OWNER, &c, &e) == 0,
	   "pg_restore starts");
	ok(dump && write_all(c.fd, dump, len) == 0, "... takes the dump");
	ok(bk_child_finish(&c, 0, &e) == 0, "... and succeeds");
	if (e.code)
		diag("%s", e.msg);
	a = pg_value(src, PG_SIG);
	b = pg_value(dst, PG_SIG);
	ok(a && b && strcmp(a, b) == 0 && strncmp(a, "20000:", 6) == 0,
	   "the restored rows are the dumped ones");
	free(b);

	ok(bk_pg_restore_start(dst, 0, &c, &e) == 0 &&
	       write_all(c.fd, dump, len) == 0,
	   "restore again without --clean");
	ok(bk_child_finish(&c, 0, &e) < 0 && e.code == SOV_EXIT_FAIL,
	   "... fails at the first error");
	like(e.msg, "already exists", "... which the message carries");

	ok(bk_pg_restore_start(dst, BK_PG_CLEAN | BK_PG_SINGLE_TXN, &c, &e) ==
		   0 &&
	       write_all(c.fd, dump, len) == 0 &&
	       bk_child_finish(&c, 0, &e) == 0,
	   "with --clean --if-exists in one transaction it succeeds");
	b = pg_value(dst, PG_SIG);
	ok(a && b && strcmp(a, b) == 0, "... the same rows again");
	free(b);

	ok(bk_pg_restore_start(dst, BK_PG_CLEAN, &c, &e) == 0 &&
	       write_all(c.fd, "this is no dump at all", 22) == 0,
	   "pg_restore fed garbage");
	ok(bk_child_finish(&c, 0, &e) < 0 && e.code == SOV_EXIT_USAGE,
	   "... is bad input (2)");
	like(e.msg, "pg_restore: error:", "... with pg_restore's message");

	free(dump);
	dump = NULL;
	ok(bk_pg_dump_start(gone, &c, &e) == 0, "dump a database that is not");
	dump = read_all(c.fd, &len);
	ok(bk_child_finish(&c, 0, &e) < 0 && e.code == SOV_EXIT_USAGE,
	   "... is a usage error (2)");
	like(e.msg, "does not exist", "... with pg_dump's message");
	like(e.msg, sg, "... naming the database");
out:
	x = pg_value(base, "SELECT 1");
	free(x);
	for (int i = 0; i < 2; i++) {
		char sql[128];

		mkpath(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s",
		       i ? sb : sa);
		x = pg_value(base, sql);
		free(x);
	}
	free(a);
	free(dump);
	free(src);
	free(dst);
	free(gone);
}

static void
cleanup(void)
{
	char cmd[PATH_MAX + 16];

	mkpath(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		diag("could not remove %s", tmp);
}

int
main(int argc, char **argv)
{
	const char *t = getenv("TMPDIR"), *pg = getenv("SOV_TEST_PG_URL");
	const char *pgdir = getenv("SOV_TEST_PG_DIR");
	const char *req = getenv("SOV_REQUIRE_PG");
	const char *base = strrchr(argv[0], '/');
	ssize_t n;

	base = base ? base + 1 : argv[0];
	if (strcmp(base, "pg_dump") == 0 || strcmp(base, "pg_restore") == 0)
		return fake_tool(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	/* A copy that restarts forever under a writer would hang: fail. */
	alarm(TEST_ALARM_S);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(self_exe) - 1) {
		perror("/proc/self/exe");
		return 99;
	}
	self_exe[n] = '\0';
	mkpath(tmp, sizeof(tmp), "%s/test_backup_source.%ld",
	       t && *t ? t : "/tmp", (long)getpid());
	if (mkdir(tmp, 0700) != 0) {
		perror(tmp);
		return 99;
	}

	test_snapshot_plain();
	test_snapshot_wal();
	test_snapshot_concurrent("WAL");
	test_snapshot_concurrent("DELETE");
	test_snapshot_locked();
	test_snapshot_errors();
	test_restore_replace();
	test_restore_in_use();
	test_restore_bad();
	test_child_plumbing();
	test_dbname();
	test_pg_absent();
	if (pg != NULL && *pg != '\0' && pgdir != NULL && *pgdir != '\0')
		test_pg(pg, pgdir);
	else if (req != NULL && strcmp(req, "1") == 0)
		ok(0, "PostgreSQL: SOV_REQUIRE_PG=1 but SOV_TEST_PG_URL is not "
		      "set");
	else
		skip(PG_TESTS, "PostgreSQL: SOV_TEST_PG_URL not set");
	cleanup();
	return done_testing();
}
