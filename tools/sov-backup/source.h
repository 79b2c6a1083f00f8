/*
 * source.h - databases read consistently for a backup, and written back.
 *
 * SQLite through its online backup API into a private temporary copy (the
 * application may keep writing; the copy is one consistent state of the
 * database, WAL included). PostgreSQL through `pg_dump --format=custom`
 * streamed from a child process (one REPEATABLE READ snapshot, pg_dump's
 * own guarantee), uncompressed (--compress=0) so that chunks deduplicate
 * between nights and zstd compresses them once.
 *
 * Children are started with fork and execve, calling only async-signal-safe
 * functions in between, so a process with other threads may use these.
 */
#ifndef BK_SOURCE_H
#define BK_SOURCE_H

#include <sys/types.h>

#include "err.h"

/*
 * Copy the database at path into an unlinked temporary file in tmpdir
 * (NULL: $TMPDIR or /tmp) with sqlite3_backup_*, in steps, inside one read
 * transaction on the source (the copy is one state of the database, WAL
 * included; writers in WAL mode go on, in rollback-journal mode their
 * commits wait for the copy), retrying while the source is locked (up to
 * busy_ms in total), then verify the copy with PRAGMA quick_check. Returns
 * in *fd_out a read-only fd of the copy at offset 0 (caller closes; the
 * file has no name left, it goes with the fd). The source is opened
 * read-only and never written. A path that is not an SQLite database is
 * SOV_EXIT_USAGE naming it, so is a missing one; a source locked for
 * longer than busy_ms is SOV_EXIT_TEMPFAIL. The copy's header keeps the
 * source's journal mode (a WAL database restores as one). The copy takes
 * as much room in tmpdir as the database: on a tmpfs, that much memory.
 * A WAL source without -wal/-shm files gets them (empty, owned like the
 * database), as from any reader. Where SQLite may not make them (a
 * directory the caller cannot write, a read-only mount), such a database
 * is copied from its file alone, opened immutable, and the copy is kept
 * only when the file did not change while it was made (retried until
 * busy_ms, then SOV_EXIT_TEMPFAIL).
 */
int bk_sqlite_snapshot(const char *path, const char *tmpdir, long busy_ms,
		       int *fd_out, struct sov_err *e);

/*
 * Restore an SQLite database atomically: copy everything readable from fd
 * into a temp file next to target (mode and owner of the old target, else
 * 0600), fsync, check it opens as a database and passes PRAGMA
 * integrity_check, then rename it over target and fsync the directory. The
 * old database's target-wal / target-shm / target-journal are removed just
 * before the rename (replayed onto the new file they would corrupt it).
 *
 * Unless force, an old target in use is refused with SOV_EXIT_TEMPFAIL,
 * before the copy and again before the rename: locked (SQLite's own
 * exclusive lock cannot be had: an open WAL connection, a transaction in
 * progress) or open in a process we may see in /proc (an idle connection
 * in rollback-journal mode holds no lock). Taking that lock also rolls
 * back a hot journal and checkpoints the old WAL into the old file, so
 * nothing of the old database lives only in what is removed.
 *
 * An empty input or one that is not a database is SOV_EXIT_USAGE, one that
 * fails integrity_check SOV_EXIT_FAIL; a target directory that does not
 * exist SOV_EXIT_USAGE; a symlink target is refused (name the file it
 * points to). On any error target is untouched, except that the lock probe
 * may have checkpointed it, and when only the final directory fsync fails
 * (then the message says "replaced, but").
 */
int bk_sqlite_restore(int fd, const char *target, int force, struct sov_err *e);

struct bk_child {
	pid_t pid;     /* -1 when none */
	int fd;        /* our end: read (dump) or write (restore), CLOEXEC */
	int err_fd;    /* the child's stderr, an unlinked file read on finish */
	char what[64]; /* "pg_dump" / "pg_restore", for messages */
};

/*
 * Start `pg_dump --format=custom --compress=0 --no-password --dbname=URL`
 * (pg_dump found in $SOV_PG_BINDIR when set, else on PATH); child->fd is
 * the dump stream, to be read to its end and then bk_child_finish()ed:
 * only a finish that returns 0 says the dump is whole. URL is a
 * postgres:// / postgresql:// URL or a key=value string. It is passed as
 * one argv element, never through a shell; a password in it is taken out
 * of argv and handed over in a nameless password file (fd 3,
 * PGPASSFILE=/dev/fd/3); else the password comes from PGPASSFILE or the
 * unix socket's peer auth. No --serializable-deferrable: see source_pg.c.
 * The child's stdin is /dev/null, every other fd of ours is closed in it.
 * A connection string libpq cannot parse is SOV_EXIT_USAGE here; a failed
 * connection shows only at finish.
 */
int bk_pg_dump_start(const char *url, struct bk_child *child,
		     struct sov_err *e);

/*
 * Start `pg_restore --format=custom --no-password --exit-on-error [flags]
 * --dbname=URL` reading the dump from child->fd (our write end; the caller
 * writes the dump, ignoring SIGPIPE, then calls bk_child_finish(), which
 * closes it as end of input; a write failing with EPIPE means pg_restore
 * stopped: finish with abort 0 to learn why). flags: BK_PG_CLEAN (--clean
 * --if-exists: drop what the dump creates first), BK_PG_CREATE (--create: URL
 * names the maintenance database, the dump's database is created),
 * BK_PG_NO_OWNER
 * (--no-owner: objects belong to the restoring user), BK_PG_SINGLE_TXN
 * (--single-transaction: all or nothing; not with BK_PG_CREATE). The first
 * error stops it (--exit-on-error), so that error ends its stderr.
 */
enum {
	BK_PG_CLEAN = 1 << 0,
	BK_PG_CREATE = 1 << 1,
	BK_PG_NO_OWNER = 1 << 2,
	BK_PG_SINGLE_TXN = 1 << 3,
};
int bk_pg_restore_start(const char *url, unsigned flags, struct bk_child *child,
			struct sov_err *e);

/*
 * Close our end of the stream, wait for the child, and turn a non-zero
 * exit into an error carrying the end of its stderr (its last 4 KiB read,
 * shown on one line, cut to what fits a message). A server that
 * is not there or not ready (connection refused, no socket, starting up,
 * too many connections) is SOV_EXIT_TEMPFAIL; bad credentials, a missing
 * database or role, or an input that is no dump SOV_EXIT_USAGE; a signal
 * or anything else SOV_EXIT_FAIL. With abort != 0 the child is sent
 * SIGTERM first (SIGKILL after 5 s), reaped, and 0 returned without
 * touching e: the caller already has its error. Every fd in child is
 * closed and child->pid set to -1; a child never started (pid -1) is fine.
 */
int bk_child_finish(struct bk_child *child, int abort, struct sov_err *e);

/*
 * The database name in a postgres URL or key=value string (libpq's own
 * parser: a dbname= query parameter overrides the path), for the snapshot
 * path /postgresql/DBNAME.pgdump; malloc'ed, the caller frees. NULL with
 * SOV_EXIT_USAGE when the string does not parse, names no database (libpq
 * would fall back to $PGDATABASE or the user name), or names one that is
 * no file name ("", ".", "..", a '/', a control character, over 63 bytes).
 */
char *bk_pg_url_dbname(const char *url, struct sov_err *e);

#endif
