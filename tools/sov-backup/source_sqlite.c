/*
 * source_sqlite.c - an SQLite database copied consistently through the
 * online backup API, and restored atomically; see source.h.
 *
 * The copy holds one read transaction on the source from the first page to
 * the last. Without it sqlite3_backup_step() restarts from page 1 whenever
 * another process commits between two steps, so a busy database might never
 * finish; with it the copy is the state of one instant (in WAL mode the
 * writers go on meanwhile, in rollback mode their commits wait for the
 * copy, as they would for any reader).
 */
#include "source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "timestamp.h"

/* Pages per sqlite3_backup_step(): 4 MiB at the default page size. */
#define BK_SQLITE_STEP_PAGES 1024
/* How long SQLite's own busy handler waits before our loop looks again. */
#define BK_SQLITE_BUSY_SLICE_MS 100
/* Our pause when SQLite answers BUSY without calling its busy handler. */
#define BK_SQLITE_RETRY_MS 10
/* The largest database a restore accepts: a bound on an endless input. */
#define BK_SQLITE_RESTORE_MAX ((int64_t)1 << 42) /* 4 TiB */
#define BK_SQLITE_COPY_BUF (1 << 20)
/* A "file:" URI of a path: every byte may become %XX. */
#define BK_SQLITE_URI_MAX (PATH_MAX * 3 + 32)
/* What a failed check reports: its first rows, capped. */
#define BK_SQLITE_CHECK_ROWS 3
#define BK_SQLITE_CHECK_MSG_MAX 400
static const char *const sidecars[] = {"-wal", "-shm", "-journal"};

/* SQLite's result as an exit code. */
static int
db_exit_code(int r, int sys)
{
	switch (r & 0xff) {
	case SQLITE_NOTADB:
		return SOV_EXIT_USAGE;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_NOMEM:
		return SOV_EXIT_TEMPFAIL;
	case SQLITE_CANTOPEN:
		return sys ? sov_exit_code_open(sys) : SOV_EXIT_USAGE;
	case SQLITE_IOERR: /* EISDIR: a directory named as the database */
		return sys ? sov_exit_code_open(sys) : SOV_EXIT_FAIL;
	default:
		return SOV_EXIT_FAIL;
	}
}

/* "WHAT: SQLite's message[: strerror]" for result r of db. */
static int
db_err(struct sov_err *e, sqlite3 *db, int r, const char *what)
{
	int sys = db ? sqlite3_system_errno(db) : 0;
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(r);
	int code = db_exit_code(r, sys);

	/* errmsg may lag behind r (sqlite3_backup_step sets no message). */
	if (db && sqlite3_errcode(db) != r)
		msg = sqlite3_errstr(r);
	if (sys != 0 &&
	    ((r & 0xff) == SQLITE_CANTOPEN || (r & 0xff) == SQLITE_IOERR ||
	     (r & 0xff) == SQLITE_FULL))
		return sov_err_set(e, code, "%s: %s: %s", what, msg,
				   strerror(sys));
	return sov_err_set(e, code, "%s: %s", what, msg);
}

/* Sleep and return 1 when r is worth another try before deadline. */
static int
busy_retry(int r, int64_t deadline)
{
	int64_t left = deadline - sov_time_mono_ms();

	if ((r & 0xff) != SQLITE_BUSY && (r & 0xff) != SQLITE_LOCKED)
		return 0;
	if (left <= 0)
		return 0;
	sqlite3_sleep(left < BK_SQLITE_RETRY_MS ? (int)left
						: BK_SQLITE_RETRY_MS);
	return 1;
}

/* Run one statement to completion, retrying BUSY until deadline. */
static int
exec_retry(sqlite3 *db, const char *sql, int64_t deadline)
{
	int r;

	do
		r = sqlite3_exec(db, sql, NULL, NULL, NULL);
	while (r != SQLITE_OK && busy_retry(r, deadline));
	return r;
}

/* file:PATH?immutable=1, with every byte that URIs treat specially as %XX. */
static int
immutable_uri(const char *path, char *buf, size_t size, struct sov_err *e)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	if (size < 6)
		goto long_path;
	memcpy(buf, "file:", 5);
	n = 5;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		int plain = (*p >= 'a' && *p <= 'z') ||
			    (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || strchr("/._-", *p);
		if (n + 4 > size)
			goto long_path;
		if (plain) {
			buf[n++] = (char)*p;
		} else {
			buf[n++] = '%';
			buf[n++] = hex[*p >> 4];
			buf[n++] = hex[*p & 15];
		}
	}
	if (n + sizeof("?immutable=1") > size)
		goto long_path;
	memcpy(buf + n, "?immutable=1", sizeof("?immutable=1"));
	return 0;
long_path:
	return sov_err_set(e, SOV_EXIT_USAGE, "%s: path too long", path);
}

/*
 * Check the finished file at path with PRAGMA pragma ("quick_check" or
 * "integrity_check"). Opened immutable: the file is ours alone, and a
 * database whose header says WAL would otherwise grow -wal and -shm files
 * beside it. what names the file in messages.
 */
static int
check_copy(const char *path, const char *pragma, const char *what,
	   struct sov_err *e)
{
	char uri[BK_SQLITE_URI_MAX], sql[64], found[BK_SQLITE_CHECK_MSG_MAX];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	const unsigned char *txt;
	int rc = -1, r, w;
	size_t n = 0;

	if (immutable_uri(path, uri, sizeof(uri), e) < 0)
		goto out;
	if (snprintf(sql, sizeof(sql), "PRAGMA %s(%d)", pragma,
		     BK_SQLITE_CHECK_ROWS) >= (int)sizeof(sql)) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: pragma name too long",
			    pragma);
		goto out;
	}
	r = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
			    NULL);
	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (r == SQLITE_OK)
		r = sqlite3_step(st);
	if (r != SQLITE_ROW) {
		db_err(e, db, r, what);
		goto out;
	}
	txt = sqlite3_column_text(st, 0);
	if (txt != NULL && strcmp((const char *)txt, "ok") == 0) {
		rc = 0;
		goto out;
	}
	/* The first rows: a header ("*** in database main ***") and the
	 * first problems. */
	for (int i = 0; r == SQLITE_ROW && i < BK_SQLITE_CHECK_ROWS &&
			n < sizeof(found) - 1;
	     i++, r = sqlite3_step(st)) {
		txt = sqlite3_column_text(st, 0);
		w = snprintf(found + n, sizeof(found) - n, "%s%s",
			     i ? "; " : "", txt ? (const char *)txt : "?");
		n = w < 0 ? n : n + (size_t)w;
		if (n >= sizeof(found))
			n = sizeof(found) - 1;
	}
	found[n] = '\0';
	for (char *c = found; *c; c++) /* rows hold newlines: one line */
		if ((unsigned char)*c < 0x20)
			*c = ' ';
	sov_err_set(e, SOV_EXIT_FAIL, "%s: %s failed: %s", what, pragma, found);
	goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	if (sqlite3_close(db) != SQLITE_OK && rc == 0)
		rc = sov_err_set(e, SOV_EXIT_FAIL, "%s: close: %s", what,
				 sqlite3_errmsg(db));
	return rc;
}

/* Remove path and the files SQLite may have put beside it; best effort. */
static void
remove_with_sidecars(const char *path)
{
	char side[PATH_MAX];

	(void)unlink(path);
	for (size_t i = 0; i < sizeof(sidecars) / sizeof(*sidecars); i++)
		if (snprintf(side, sizeof(side), "%s%s", path, sidecars[i]) <
		    (int)sizeof(side))
			(void)unlink(side);
}

/* Begin a read transaction on src that holds the snapshot until COMMIT. */
static int
begin_read(sqlite3 *src, const char *path, int64_t deadline, long busy_ms,
	   int *why, struct sov_err *e)
{
	int r = sqlite3_exec(src, "BEGIN", NULL, NULL, NULL);

	/* BEGIN is deferred: the first read takes the shared lock. */
	if (r == SQLITE_OK)
		r = exec_retry(src, "SELECT count(*) FROM sqlite_master",
			       deadline);
	if (r == SQLITE_OK)
		return 0;
	*why = r;
	if ((r & 0xff) == SQLITE_BUSY || (r & 0xff) == SQLITE_LOCKED)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL,
				   "%s: locked by another connection for "
				   "longer than %ld ms",
				   path, busy_ms);
	return db_err(e, src, r, path);
}

/*
 * SQLite's unix VFS asks access(2) whether a -wal file exists. access()
 * checks with the real uid and ignores capabilities, so a backup user
 * holding only CAP_DAC_READ_SEARCH (the NixOS unit) is told "no" inside a
 * 0700 directory and then fails with "attempt to write a readonly
 * database". The effective ids (AT_EACCESS) are what open() will use.
 */
static int
effective_access(const char *path, int mode)
{
	return faccessat(AT_FDCWD, path, mode, AT_EACCESS);
}

static void
use_effective_access(void)
{
	static int done;
	sqlite3_vfs *vfs;

	if (done)
		return;
	vfs = sqlite3_vfs_find(NULL);
	if (vfs && vfs->iVersion >= 3 && vfs->xSetSystemCall &&
	    strcmp(vfs->zName, "unix") == 0)
		vfs->xSetSystemCall(vfs, "access",
				    (sqlite3_syscall_ptr)effective_access);
	done = 1;
}

/*
 * Copy the database src (a path, or a file: URI with flags holding
 * SQLITE_OPEN_URI) named path in messages into a temporary in tmpdir; see
 * bk_sqlite_snapshot. *why is SQLite's result when opening the source or
 * starting the read failed, where a missing -wal or -shm shows; else 0.
 */
static int
copy_db(const char *src_name, int flags, const char *path, const char *tmpdir,
	int64_t deadline, long busy_ms, int *fd_out, int *why,
	struct sov_err *e)
{
	char tmp[PATH_MAX], what[PATH_MAX + 64];
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *bk = NULL;
	int rc = -1, r = 0, fd = -1, made = 0;

	*fd_out = -1;
	*why = 0;
	if (snprintf(tmp, sizeof(tmp), "%s/sov-backup-sqlite.XXXXXX", tmpdir) >=
	    (int)sizeof(tmp)) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: path too long", tmpdir);
		goto out;
	}

	use_effective_access();
	r = sqlite3_open_v2(src_name, &src, SQLITE_OPEN_READONLY | flags, NULL);
	if (r != SQLITE_OK) {
		*why = r;
		db_err(e, src, r, path);
		goto out;
	}
	sqlite3_extended_result_codes(src, 1);
	sqlite3_busy_timeout(src, busy_ms < BK_SQLITE_BUSY_SLICE_MS
				      ? (int)busy_ms
				      : BK_SQLITE_BUSY_SLICE_MS);
	if (begin_read(src, path, deadline, busy_ms, why, e) < 0)
		goto out;

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		sov_err_sys(e, sov_exit_code_open(errno), "%s", tmp);
		goto out;
	}
	made = 1;
	/* Closed before SQLite opens it: closing any other descriptor of a
	 * file drops the POSIX locks SQLite holds on it. */
	if (close(fd) != 0) {
		fd = -1;
		sov_err_sys(e, SOV_EXIT_FAIL, "close %s", tmp);
		goto out;
	}
	fd = -1;
	if (snprintf(what, sizeof(what), "copy of %s in %s", path, tmp) >=
	    (int)sizeof(what))
		memcpy(what, tmp, strlen(tmp) + 1);
	r = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL);
	/* A private temporary: no journal, no fsync. */
	if (r == SQLITE_OK)
		r = sqlite3_exec(dst,
				 "PRAGMA journal_mode=OFF; "
				 "PRAGMA synchronous=OFF",
				 NULL, NULL, NULL);
	if (r != SQLITE_OK) {
		db_err(e, dst, r, what);
		goto out;
	}
	bk = sqlite3_backup_init(dst, "main", src, "main");
	if (bk == NULL) {
		db_err(e, dst, sqlite3_errcode(dst), what);
		goto out;
	}
	do
		r = sqlite3_backup_step(bk, BK_SQLITE_STEP_PAGES);
	while (r == SQLITE_OK || busy_retry(r, deadline));
	if (r != SQLITE_DONE) {
		db_err(e, NULL, r, what);
		goto out;
	}
	r = sqlite3_backup_finish(bk);
	bk = NULL;
	if (r != SQLITE_OK) {
		db_err(e, dst, r, what);
		goto out;
	}
	r = sqlite3_close(dst);
	dst = NULL;
	if (r != SQLITE_OK) {
		db_err(e, NULL, r, what);
		goto out;
	}
	(void)sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	if (check_copy(tmp, "quick_check", what, e) < 0)
		goto out;

	fd = open(tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		sov_err_sys(e, SOV_EXIT_FAIL, "open %s", tmp);
		goto out;
	}
	if (unlink(tmp) != 0) {
		sov_err_sys(e, SOV_EXIT_FAIL, "unlink %s", tmp);
		goto out;
	}
	made = 0;
	*fd_out = fd;
	fd = -1;
	rc = 0;
out:
	if (bk != NULL)
		(void)sqlite3_backup_finish(bk);
	(void)sqlite3_close(dst);
	(void)sqlite3_close(src);
	if (fd >= 0)
		(void)close(fd);
	if (made)
		remove_with_sidecars(tmp);
	return rc;
}

/*
 * 1 when path is a WAL database that its own file holds whole: the header
 * says WAL and there is no -wal file, or an empty one (the last connection
 * checkpointed and removed it). *st is the file's stat.
 */
static int
wal_alone(const char *path, struct stat *st)
{
	static const char magic[16] = "SQLite format 3";
	unsigned char h[100];
	char wal[PATH_MAX];
	struct stat ws;
	int fd, ok;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	ok = fstat(fd, st) == 0 && S_ISREG(st->st_mode) &&
	     pread(fd, h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
	     memcmp(h, magic, sizeof(magic)) == 0 && h[18] == 2 && h[19] == 2;
	(void)close(fd);
	if (!ok ||
	    snprintf(wal, sizeof(wal), "%s-wal", path) >= (int)sizeof(wal))
		return 0;
	if (stat(wal, &ws) == 0)
		return ws.st_size == 0;
	return errno == ENOENT;
}

/* Did the file change between the two stats? Any write moves its ctime. */
static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * A WAL database whose last connection has closed, in a directory we may
 * not write (the backup user with only CAP_DAC_READ_SEARCH) or on a
 * read-only mount (a filesystem snapshot). Even read-only, SQLite must
 * then create -wal and -shm and fails ("attempt to write a readonly
 * database"). The file alone is the whole database, so it is copied opened
 * immutable, and the copy is taken only if the file did not change
 * meanwhile: a writer that starts appends to a new -wal and leaves the
 * file as it was, until a checkpoint writes into it. Returns 1 when this
 * does not apply (e untouched), 2 when the file changed (no copy), else 0
 * or -1.
 */
static int
copy_wal_alone(const char *path, const char *tmpdir, int64_t deadline,
	       long busy_ms, int *fd_out, struct sov_err *e)
{
	char uri[BK_SQLITE_URI_MAX];
	struct stat before, after;
	int why, fd;

	if (!wal_alone(path, &before))
		return 1;
	if (immutable_uri(path, uri, sizeof(uri), e) < 0 ||
	    copy_db(uri, SQLITE_OPEN_URI, path, tmpdir, deadline, busy_ms, &fd,
		    &why, e) < 0)
		return -1;
	if (stat(path, &after) == 0 && same_file(&before, &after)) {
		*fd_out = fd;
		return 0;
	}
	(void)close(fd);
	return 2;
}

int
bk_sqlite_snapshot(const char *path, const char *tmpdir, long busy_ms,
		   int *fd_out, struct sov_err *e)
{
	int64_t deadline;

	*fd_out = -1;
	if (tmpdir == NULL || *tmpdir == '\0')
		tmpdir = getenv("TMPDIR");
	if (tmpdir == NULL || *tmpdir == '\0')
		tmpdir = "/tmp";
	if (busy_ms < 0)
		busy_ms = 0;
	if (busy_ms > INT32_MAX)
		busy_ms = INT32_MAX;
	deadline = sov_time_mono_ms() + busy_ms;
	for (;;) {
		struct sov_err alone = {0};
		int why, rc;

		rc = copy_db(path, 0, path, tmpdir, deadline, busy_ms, fd_out,
			     &why, e);
		if (rc == 0 || ((why & 0xff) != SQLITE_READONLY &&
				(why & 0xff) != SQLITE_CANTOPEN))
			return rc;
		rc = copy_wal_alone(path, tmpdir, deadline, busy_ms, fd_out,
				    &alone);
		if (rc == 1) /* not that case: SQLite's own error stands */
			return -1;
		if (rc != 2) {
			if (rc < 0)
				*e = alone;
			return rc;
		}
		if (sov_time_mono_ms() >= deadline)
			return sov_err_set(
			    e, SOV_EXIT_TEMPFAIL,
			    "%s: written to while it was copied, for longer "
			    "than %ld ms (copied from its file alone: SQLite "
			    "may not make its -wal and -shm files here)",
			    path, busy_ms);
		sqlite3_sleep(BK_SQLITE_RETRY_MS);
	}
}

/* The command name of a process, for a message; "?" when unknown. */
static void
proc_comm(const char *pid, char *buf, size_t size)
{
	char path[64];
	ssize_t n = -1;
	int fd;

	if (snprintf(path, sizeof(path), "/proc/%s/comm", pid) <
	    (int)sizeof(path)) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, buf, size - 1);
			(void)close(fd);
		}
	}
	if (n <= 0)
		n = snprintf(buf, size, "?");
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* Does process pid (a /proc entry) hold the file st open? */
static int
proc_holds(const char *pid, const struct stat *st)
{
	char dir[64], link[128];
	struct dirent *de;
	struct stat fst;
	DIR *d;
	int found = 0;

	if (snprintf(dir, sizeof(dir), "/proc/%s/fd", pid) >= (int)sizeof(dir))
		return 0;
	d = opendir(dir); /* EACCES: another user's process, not ours to see */
	if (d == NULL)
		return 0;
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(link, sizeof(link), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(link))
			continue;
		found = stat(link, &fst) == 0 && fst.st_dev == st->st_dev &&
			fst.st_ino == st->st_ino;
	}
	(void)closedir(d);
	return found;
}

/*
 * Is the file st open in another process we may look at? Finds an idle
 * connection to a rollback-journal database, which holds no lock at all.
 */
static int
open_elsewhere(const char *target, const struct stat *st, struct sov_err *e)
{
	char self[32], comm[32];
	struct dirent *de;
	DIR *d = opendir("/proc");
	int rc = 0;

	if (d == NULL)
		return 0;
	(void)snprintf(self, sizeof(self), "%ld", (long)getpid());
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
		    strcmp(de->d_name, self) == 0)
			continue;
		if (proc_holds(de->d_name, st)) {
			proc_comm(de->d_name, comm, sizeof(comm));
			rc = sov_err_set(
			    e, SOV_EXIT_TEMPFAIL,
			    "%s: open in process %s (%s): stop it first, or "
			    "force the restore",
			    target, de->d_name, comm);
			break;
		}
	}
	(void)closedir(d);
	return rc;
}

/*
 * Is the database at target locked by a connection elsewhere? Asks SQLite:
 * an exclusive lock in exclusive locking mode conflicts with any open WAL
 * connection (each holds a shared lock on the file for its lifetime) and
 * with any transaction in rollback mode. Taking it also rolls back a hot
 * journal and checkpoints a WAL of the old database, so what is removed
 * afterwards holds nothing of it. A target SQLite cannot open or read is
 * no evidence of use.
 */
static int
locked_elsewhere(const char *target, struct sov_err *e)
{
	sqlite3 *db = NULL;
	int r, rc = 0;

	r = sqlite3_open_v2(target, &db, SQLITE_OPEN_READWRITE, NULL);
	if (r == SQLITE_OK) {
		sqlite3_busy_timeout(db, 0);
		r = sqlite3_exec(db,
				 "PRAGMA locking_mode=EXCLUSIVE; "
				 "BEGIN EXCLUSIVE; ROLLBACK",
				 NULL, NULL, NULL);
		if ((r & 0xff) == SQLITE_BUSY || (r & 0xff) == SQLITE_LOCKED)
			rc = sov_err_set(e, SOV_EXIT_TEMPFAIL,
					 "%s: the database is in use (locked "
					 "by another connection): stop its "
					 "users first, or force the restore",
					 target);
	}
	(void)sqlite3_close(db);
	return rc;
}

static int
in_use(const char *target, const struct stat *st, struct sov_err *e)
{
	if (locked_elsewhere(target, e) < 0)
		return -1;
	return open_elsewhere(target, st, e);
}

/* Copy everything readable from fd into out (path tmp); *len the size. */
static int
copy_in(int fd, int out, const char *tmp, int64_t *len, struct sov_err *e)
{
	char *buf = malloc(BK_SQLITE_COPY_BUF);
	int rc = -1;
	ssize_t n, w;

	*len = 0;
	if (buf == NULL) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "copy buffer");
		goto out;
	}
	for (;;) {
		n = read(fd, buf, BK_SQLITE_COPY_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sov_err_sys(e, sov_exit_code_errno(errno),
				    "read the database to restore");
			goto out;
		}
		if (n == 0)
			break;
		if (*len + n > BK_SQLITE_RESTORE_MAX) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "the database to restore is larger than "
				    "%lld bytes",
				    (long long)BK_SQLITE_RESTORE_MAX);
			goto out;
		}
		for (ssize_t off = 0; off < n; off += w) {
			w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w < 0) {
				sov_err_sys(e, sov_exit_code_errno(errno),
					    "write %s", tmp);
				goto out;
			}
		}
		*len += n;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/* dir and base of target, refusing a target that names no file. */
static int
split_target(const char *target, char *dir, size_t dsize, const char **base,
	     struct sov_err *e)
{
	const char *slash = strrchr(target, '/');
	size_t n;

	if (*target == '\0' || (slash && slash[1] == '\0'))
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "%s: not a file name to restore to",
				   *target ? target : "\"\"");
	if (slash == NULL) {
		*base = target;
		memcpy(dir, ".", 2);
		return 0;
	}
	*base = slash + 1;
	n = slash == target ? 1 : (size_t)(slash - target);
	if (n >= dsize)
		return sov_err_set(e, SOV_EXIT_USAGE, "%s: path too long",
				   target);
	memcpy(dir, target, n);
	dir[n] = '\0';
	return 0;
}

/* Remove the old database's -wal, -shm and -journal beside target. */
static int
remove_target_sidecars(const char *target, struct sov_err *e)
{
	char side[PATH_MAX];

	for (size_t i = 0; i < sizeof(sidecars) / sizeof(*sidecars); i++) {
		if (snprintf(side, sizeof(side), "%s%s", target, sidecars[i]) >=
		    (int)sizeof(side))
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "%s: path too long", target);
		if (unlink(side) != 0 && errno != ENOENT)
			return sov_err_sys(e, SOV_EXIT_FAIL,
					   "remove the old database's %s",
					   side);
	}
	return 0;
}

/*
 * Fill the temp file tfd (at tmp) from fd, give it mode and, when old is
 * not NULL, old's owner; fsync and close it. tfd is closed either way.
 */
static int
fill_temp(int fd, int tfd, const char *tmp, mode_t mode, const struct stat *old,
	  struct sov_err *e)
{
	int rc = -1;
	int64_t len;

	if (copy_in(fd, tfd, tmp, &len, e) < 0)
		goto out;
	if (len == 0) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "the input is empty, not an SQLite database");
		goto out;
	}
	if (fchmod(tfd, mode) != 0) {
		sov_err_sys(e, SOV_EXIT_FAIL, "chmod %s", tmp);
		goto out;
	}
	/* The old owner keeps access to the new file (a restore runs as
	 * root, the application as its own user). */
	if (old && (old->st_uid != geteuid() || old->st_gid != getegid()) &&
	    fchown(tfd, old->st_uid, old->st_gid) != 0) {
		sov_err_sys(e, SOV_EXIT_FAIL,
			    "give %s the owner of the old database (%ld:%ld)",
			    tmp, (long)old->st_uid, (long)old->st_gid);
		goto out;
	}
	/* Durable before SQLite reads it, so the check sees what is on disk. */
	if (fsync(tfd) != 0) {
		sov_err_sys(e, sov_exit_code_errno(errno), "fsync %s", tmp);
		goto out;
	}
	rc = 0;
out:
	if (close(tfd) != 0 && rc == 0)
		rc =
		    sov_err_sys(e, sov_exit_code_errno(errno), "close %s", tmp);
	return rc;
}

int
bk_sqlite_restore(int fd, const char *target, int force, struct sov_err *e)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	const char *base = target;
	struct stat st, dst;
	mode_t mode = 0600;
	int rc = -1, tfd, made = 0, old = 0;

	if (split_target(target, dir, sizeof(dir), &base, e) < 0)
		goto out;
	if (stat(dir, &dst) != 0) {
		sov_err_sys(e, sov_exit_code_open(errno), "restore %s: %s",
			    target, dir);
		goto out;
	}
	if (!S_ISDIR(dst.st_mode)) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "restore %s: %s: not a directory", target, dir);
		goto out;
	}
	if (lstat(target, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "%s: a symlink; restore to the file it "
				    "points to",
				    target);
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			sov_err_set(e, SOV_EXIT_USAGE, "%s: not a regular file",
				    target);
			goto out;
		}
		old = 1;
		mode = st.st_mode & 07777;
	} else if (errno != ENOENT) {
		sov_err_sys(e, sov_exit_code_open(errno), "%s", target);
		goto out;
	}
	/* Refuse early, before a long copy; asked again before the rename. */
	if (old && !force && in_use(target, &st, e) < 0)
		goto out;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.sov-restore.XXXXXX", dir,
		     base) >= (int)sizeof(tmp)) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: path too long", target);
		goto out;
	}
	tfd = mkostemp(tmp, O_CLOEXEC);
	if (tfd < 0) {
		sov_err_sys(e, sov_exit_code_open(errno),
			    "restore %s: create a temporary file in %s", target,
			    dir);
		goto out;
	}
	made = 1;
	if (fill_temp(fd, tfd, tmp, mode, old ? &st : NULL, e) < 0 ||
	    check_copy(tmp, "integrity_check", "the input", e) < 0) {
		sov_err_prefix(e, "restore %s: ", target);
		goto out;
	}
	if (old && !force && in_use(target, &st, e) < 0)
		goto out;
	/* Replayed onto the new file they would corrupt it. */
	if (remove_target_sidecars(target, e) < 0)
		goto out;
	if (rename(tmp, target) != 0) {
		sov_err_sys(e, sov_exit_code_errno(errno), "rename %s to %s",
			    tmp, target);
		goto out;
	}
	made = 0;
	if (sov_dir_fsync(dir, e) < 0) {
		sov_err_prefix(e, "%s replaced, but: ", target);
		goto out;
	}
	rc = 0;
out:
	if (made)
		remove_with_sidecars(tmp);
	return rc;
}
