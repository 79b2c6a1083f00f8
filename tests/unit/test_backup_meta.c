/*
 * test_backup_meta.c - tools/sov-backup/meta.c: nodes to struct bk_meta,
 * and applying it through a descriptor or by name, on real files, fifos,
 * directories and symlinks in $TMPDIR.
 *
 * Runs as root (owners need it; without root those cases are skipped,
 * saying why). The non-root paths (chown refused, chmod and utimensat
 * refused on someone else's entry) run in a child that drops to uid/gid
 * 65534.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "meta.h"
#include "tap.h"

#define NOBODY 65534
#define MTIME "2026-11-22T03:00:00.123456789Z" /* 1795316400.123456789 */
#define MTIME_S 1795316400
#define MTIME_NS 123456789
#define ATIME "1969-07-20T20:17:40.999999999Z" /* -14182940.999999999 */
#define ATIME_S (-14182940)
#define ATIME_NS 999999999

static char dir[PATH_MAX]; /* scratch directory of this run */
static int dfd = -1;       /* open on dir */

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static void
mkfile(int at, const char *name, mode_t mode)
{
	int fd = openat(at, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, "x", 1) != 1 || fchmod(fd, mode) < 0 ||
	    close(fd) < 0)
		die(name);
}

static void
settimes(int at, const char *name, time_t s)
{
	struct timespec ts[2] = {{s, 0}, {s, 0}};

	if (utimensat(at, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		die(name);
}

static struct stat
lst(int at, const char *name)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		st.st_mode = 0; /* tests check the type */
	return st;
}

static jv
set_str(jv node, const char *key, const char *val)
{
	return jv_object_set(node, jv_string(key), jv_string(val));
}

static jv
set_num(jv node, const char *key, double val)
{
	return jv_object_set(node, jv_string(key), jv_number(val));
}

/* A node as a backup writes it: both times, owner by number. */
static jv
mknode(const char *name, const char *type, int mode)
{
	jv n = jv_object();

	n = set_str(n, "name", name);
	n = set_str(n, "type", type);
	n = set_num(n, "mode", mode);
	n = set_num(n, "uid", 0);
	n = set_num(n, "gid", 0);
	n = set_str(n, "mtime", MTIME);
	n = set_str(n, "atime", ATIME);
	return n;
}

/* The struct of mknode(name, type, mode), made by bk_meta_from_node. */
static struct bk_meta
meta_of(const char *type, int mode, unsigned flags)
{
	struct sov_err e;
	struct bk_meta m;
	jv n = mknode("x", type, mode);

	sov_err_clear(&e);
	if (bk_meta_from_node(n, flags, &m, &e) < 0) {
		fprintf(stderr, "test_backup_meta: %s\n", e.msg);
		exit(1);
	}
	jv_free(n);
	return m;
}

static int
times_are(const struct stat *st, time_t as, long ans, time_t ms, long mns)
{
	return st->st_atim.tv_sec == as && st->st_atim.tv_nsec == ans &&
	       st->st_mtim.tv_sec == ms && st->st_mtim.tv_nsec == mns;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* ---- bk_meta_from_node ---- */

static void
test_from_node(void)
{
	struct sov_err e;
	struct bk_meta m;
	jv n;

	n = mknode("f", "file", 06755);
	sov_err_clear(&e);
	is_int(bk_meta_from_node(n, 0, &m, &e), 0, "from_node: a file (%s)",
	       e.msg);
	is_int(m.fmt, S_IFREG, "  ... type S_IFREG");
	is_int(m.mode, 06755, "  ... mode with set-id bits");
	is_int(m.chown, 0, "  ... no chown without BK_META_OWNER");
	ok(m.mtime.tv_sec == MTIME_S && m.mtime.tv_nsec == MTIME_NS,
	   "  ... mtime to the nanosecond");
	ok(m.atime.tv_sec == ATIME_S && m.atime.tv_nsec == ATIME_NS,
	   "  ... atime before 1970, to the nanosecond");
	n = set_num(set_num(n, "uid", 1234), "gid", 5678);
	is_int(bk_meta_from_node(n, BK_META_OWNER, &m, &e), 0,
	       "from_node: with BK_META_OWNER");
	ok(m.chown && m.uid == 1234 && m.gid == 5678, "  ... uid and gid");
	n = jv_object_delete(n, jv_string("atime"));
	is_int(bk_meta_from_node(n, 0, &m, &e), 0, "from_node: no atime");
	is_int(m.atime.tv_nsec, UTIME_OMIT, "  ... atime left as it is");
	jv_free(n);

	n = mknode("s", "socket", 0);
	n = jv_object_delete(n, jv_string("mode"));
	is_int(bk_meta_from_node(n, BK_META_OWNER, &m, &e), 0,
	       "from_node: a socket needs no mode");
	is_int(m.fmt, S_IFSOCK, "  ... S_IFSOCK (the appliers skip it)");
	jv_free(n);

	/* Every member checked, with bk_node_apply_meta's messages. */
	n = jv_object_delete(mknode("f", "file", 0644), jv_string("name"));
	sov_err_clear(&e);
	is_int(bk_meta_from_node(n, 0, &m, &e), -1, "from_node: no name");
	ok(e.code == SOV_EXIT_USAGE && strstr(e.msg, "node: name: missing"),
	   "  ... bad input, saying so (%s)", e.msg);
	jv_free(n);
	n = mknode("f", "door", 0644);
	sov_err_clear(&e);
	is_int(bk_meta_from_node(n, 0, &m, &e), -1, "from_node: unknown type");
	like(e.msg, "f: type: unknown \"door\"", "  ... naming it");
	jv_free(n);
	n = mknode("f", "file", 010000);
	sov_err_clear(&e);
	is_int(bk_meta_from_node(n, 0, &m, &e), -1, "from_node: mode 010000");
	like(e.msg, "f: mode: not an integer in 0..4095", "  ... naming mode");
	jv_free(n);
	n = jv_object_delete(mknode("f", "file", 0644), jv_string("mode"));
	sov_err_clear(&e);
	is_int(bk_meta_from_node(n, 0, &m, &e), -1, "from_node: no mode");
	like(e.msg, "f: mode: missing", "  ... saying so");
	jv_free(n);
	n = jv_object_delete(mknode("f", "file", 0644), jv_string("mtime"));
	sov_err_clear(&e);
	is_int(bk_meta_from_node(n, 0, &m, &e), -1, "from_node: no mtime");
	like(e.msg, "f: mtime: missing", "  ... saying so");
	jv_free(n);
	n = set_str(mknode("f", "file", 0644), "atime", "yesterday");
	sov_err_clear(&e);
	is_int(bk_meta_from_node(n, 0, &m, &e), -1, "from_node: bad atime");
	ok(e.code == SOV_EXIT_USAGE &&
	       strstr(e.msg, "f: atime: malformed time \"yesterday\""),
	   "  ... naming atime (%s)", e.msg);
	jv_free(n);
	n = set_num(mknode("f", "file", 0644), "uid", 4294967295.0);
	sov_err_clear(&e);
	is_int(bk_meta_from_node(n, 0, &m, &e), 0,
	       "from_node: the owner is not read without BK_META_OWNER");
	is_int(bk_meta_from_node(n, BK_META_OWNER, &m, &e), -1,
	       "from_node: uid 2^32-1 (chown's \"unchanged\") refused");
	like(e.msg, "f: uid: not an integer", "  ... naming uid");
	n = jv_object_delete(set_num(n, "uid", 0), jv_string("gid"));
	sov_err_clear(&e);
	is_int(bk_meta_from_node(n, BK_META_OWNER, &m, &e), -1,
	       "from_node: no gid with BK_META_OWNER");
	like(e.msg, "f: gid: missing", "  ... naming gid");
	jv_free(n);
	n = set_num(mknode("f", "file", 0644), "user", 3);
	sov_err_clear(&e);
	is_int(bk_meta_from_node(n, BK_META_OWNER | BK_META_BY_NAME, &m, &e),
	       -1, "from_node: a number for user, by name");
	like(e.msg, "f: user: not a string", "  ... refused");
	jv_free(n);
}

static void
test_by_name(void)
{
	struct sov_err e;
	struct bk_meta m;
	jv n;

	n = set_num(set_num(mknode("f", "file", 0644), "uid", NOBODY), "gid",
		    NOBODY);
	n = set_str(set_str(n, "user", "root"), "group", "root");
	sov_err_clear(&e);
	is_int(bk_meta_from_node(n, BK_META_OWNER | BK_META_BY_NAME, &m, &e), 0,
	       "by name (%s)", e.msg);
	ok(m.uid == 0 && m.gid == 0, "  ... user and group root win over %d",
	   NOBODY);
	is_int(bk_meta_from_node(n, BK_META_OWNER, &m, &e), 0,
	       "without BK_META_BY_NAME");
	ok(m.uid == NOBODY && m.gid == NOBODY, "  ... the numbers (%d:%d)",
	   (int)m.uid, (int)m.gid);
	n = set_str(set_str(n, "user", "no-such-user-sov"), "group",
		    "no-such-group-sov");
	is_int(bk_meta_from_node(n, BK_META_OWNER | BK_META_BY_NAME, &m, &e), 0,
	       "by name, names unknown here");
	ok(m.uid == NOBODY && m.gid == NOBODY,
	   "  ... fall back to the numbers");
	jv_free(n);
}

/* ---- bk_meta_apply_fd ---- */

static void
test_apply_fd(int out)
{
	struct sov_err e;
	struct bk_meta m;
	struct stat st;
	int fd;

	mkfile(out, "f", 0600);
	settimes(out, "f", 1000);
	if ((fd = openat(out, "f", O_WRONLY)) < 0)
		die("f");
	m = meta_of("file", 0640, 0);
	sov_err_clear(&e);
	is_int(bk_meta_apply_fd(fd, &m, "/p/f", &e), 0, "apply_fd: a file (%s)",
	       e.msg);
	st = lst(out, "f");
	is_int(st.st_mode & 07777, 0640, "  ... mode");
	ok(times_are(&st, ATIME_S, ATIME_NS, MTIME_S, MTIME_NS),
	   "  ... both times to the nanosecond (%lld.%09ld)",
	   (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	/* A read-only mode, then the times: through the fd it all works. */
	m = meta_of("file", 0400, 0);
	m.atime.tv_nsec = UTIME_OMIT;
	m.mtime.tv_sec = 2000;
	m.mtime.tv_nsec = 5;
	is_int(bk_meta_apply_fd(fd, &m, "/p/f", &e), 0,
	       "apply_fd: mode 0400, atime omitted");
	st = lst(out, "f");
	ok((st.st_mode & 07777) == 0400 &&
	       times_are(&st, ATIME_S, ATIME_NS, 2000, 5),
	   "  ... atime kept, mtime set");

	m = meta_of("dir", 0755, 0);
	sov_err_clear(&e);
	is_int(bk_meta_apply_fd(fd, &m, "/p/f", &e), -1,
	       "apply_fd: a dir's metadata on a file");
	ok(e.code == SOV_EXIT_FAIL &&
	       strstr(e.msg, "/p/f: is a file, the node a dir"),
	   "  ... refused, naming the path (%s)", e.msg);
	is_int(lst(out, "f").st_mode & 07777, 0400, "  ... nothing changed");
	m = meta_of("symlink", 0777, 0);
	sov_err_clear(&e);
	is_int(bk_meta_apply_fd(fd, &m, "/p/f", &e), -1,
	       "apply_fd: a symlink's metadata");
	like(e.msg, "/p/f: a symlink's metadata is applied by name",
	     "  ... is not for a descriptor");
	m = meta_of("socket", 0, 0);
	is_int(bk_meta_apply_fd(fd, &m, "/p/f", &e), 0,
	       "apply_fd: a socket is skipped");
	close(fd);

	m = meta_of("file", 0644, 0);
	sov_err_clear(&e);
	is_int(bk_meta_apply_fd(fd, &m, "/p/closed", &e), -1,
	       "apply_fd: a closed fd");
	like(e.msg, "fstat /p/closed: Bad file descriptor", "  ... says so");

	/* O_PATH: fstat works, fchmod does not. */
	if ((fd = openat(out, "f", O_PATH)) < 0)
		die("f");
	sov_err_clear(&e);
	is_int(bk_meta_apply_fd(fd, &m, "/p/f", &e), -1,
	       "apply_fd: fchmod fails");
	ok(e.code == SOV_EXIT_FAIL &&
	       strstr(e.msg, "chmod /p/f: Bad file descriptor"),
	   "  ... naming chmod and the path (%s)", e.msg);
	if (geteuid() == 0) {
		m.chown = 1;
		m.uid = NOBODY;
		sov_err_clear(&e);
		is_int(bk_meta_apply_fd(fd, &m, "/p/f", &e), -1,
		       "apply_fd: fchown fails");
		like(e.msg, "chown /p/f: Bad file descriptor",
		     "  ... naming chown");
	} else {
		skip(2, "not root: chown is not tried");
	}
	close(fd);

	/* A fifo opened read-write does not block. */
	if (mkfifoat(out, "fifo", 0600) < 0 ||
	    (fd = openat(out, "fifo", O_RDWR | O_NONBLOCK)) < 0)
		die("fifo");
	m = meta_of("fifo", 0620, 0);
	sov_err_clear(&e);
	is_int(bk_meta_apply_fd(fd, &m, "/p/fifo", &e), 0,
	       "apply_fd: a fifo (%s)", e.msg);
	st = lst(out, "fifo");
	ok((st.st_mode & 07777) == 0620 &&
	       times_are(&st, ATIME_S, ATIME_NS, MTIME_S, MTIME_NS),
	   "  ... mode and times");
	close(fd);
}

/* ---- bk_meta_apply_at ---- */

static void
test_apply_at(int out)
{
	struct sov_err e;
	struct bk_meta m;
	struct stat st, tst;
	int rd;

	mkfile(out, "g", 0600);
	m = meta_of("file", 0604, 0);
	sov_err_clear(&e);
	is_int(bk_meta_apply_at(out, "g", &m, "/p/g", &e), 0,
	       "apply_at: a file (%s)", e.msg);
	st = lst(out, "g");
	ok((st.st_mode & 07777) == 0604 &&
	       times_are(&st, ATIME_S, ATIME_NS, MTIME_S, MTIME_NS),
	   "  ... mode and times to the nanosecond");

	/* A read-only directory with contents: its mode and times last. */
	if (mkdirat(out, "ro", 0700) < 0 ||
	    (rd = openat(out, "ro", O_RDONLY | O_DIRECTORY)) < 0)
		die("ro");
	mkfile(rd, "inside", 0644);
	m = meta_of("dir", 0555, 0);
	is_int(bk_meta_apply_at(out, "ro", &m, "/p/ro", &e), 0,
	       "apply_at: a read-only directory");
	st = lst(out, "ro");
	ok(S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0555 &&
	       times_are(&st, ATIME_S, ATIME_NS, MTIME_S, MTIME_NS),
	   "  ... 0555, times set");
	close(rd);

	/* A symlink: never followed, no chmod. */
	mkfile(out, "target", 0600);
	settimes(out, "target", 1000);
	if (symlinkat("target", out, "link") < 0)
		die("link");
	m = meta_of("symlink", 0777, 0);
	is_int(bk_meta_apply_at(out, "link", &m, "/p/link", &e), 0,
	       "apply_at: a symlink (%s)", e.msg);
	st = lst(out, "link");
	tst = lst(out, "target");
	ok(S_ISLNK(st.st_mode) &&
	       times_are(&st, ATIME_S, ATIME_NS, MTIME_S, MTIME_NS),
	   "  ... the link's own times");
	ok((tst.st_mode & 07777) == 0600 && tst.st_mtim.tv_sec == 1000 &&
	       tst.st_atim.tv_sec == 1000,
	   "  ... its target untouched (mode 0%o, mtime %lld)",
	   (unsigned)(tst.st_mode & 07777), (long long)tst.st_mtim.tv_sec);
	m = meta_of("file", 0666, 0);
	sov_err_clear(&e);
	is_int(bk_meta_apply_at(out, "link", &m, "/p/link", &e), -1,
	       "apply_at: a file's metadata on a symlink");
	ok(e.code == SOV_EXIT_FAIL &&
	       strstr(e.msg, "/p/link: is a symlink, the node a file"),
	   "  ... refused, not followed (%s)", e.msg);
	is_int(lst(out, "target").st_mode & 07777, 0600,
	       "  ... the target keeps its mode");

	if (mkfifoat(out, "fifo2", 0600) < 0)
		die("fifo2");
	m = meta_of("fifo", 0640, 0);
	is_int(bk_meta_apply_at(out, "fifo2", &m, "/p/fifo2", &e), 0,
	       "apply_at: a fifo");
	st = lst(out, "fifo2");
	ok(S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0640 &&
	       times_are(&st, ATIME_S, ATIME_NS, MTIME_S, MTIME_NS),
	   "  ... mode and times");

	m = meta_of("file", 0644, 0);
	sov_err_clear(&e);
	is_int(bk_meta_apply_at(out, "absent", &m, "/p/absent", &e), -1,
	       "apply_at: nothing there");
	like(e.msg, "lstat /p/absent: No such file", "  ... names it");
	m = meta_of("socket", 0, 0);
	is_int(bk_meta_apply_at(out, "absent", &m, "/p/absent", &e), 0,
	       "apply_at: a socket is skipped (none was made)");
}

/* ---- owners ---- */

static void
test_owner(int out)
{
	struct sov_err e;
	struct bk_meta m;
	struct stat st;
	int fd;

	if (geteuid() != 0) {
		skip(10, "owners: not root");
		return;
	}
	mkfile(out, "own", 0600);
	if ((fd = openat(out, "own", O_WRONLY)) < 0)
		die("own");
	m = meta_of("file", 06755, 0);
	m.uid = NOBODY;
	m.gid = NOBODY;
	sov_err_clear(&e);
	is_int(bk_meta_apply_fd(fd, &m, "/p/own", &e), 0,
	       "apply_fd: owner given, chown not asked");
	st = lst(out, "own");
	ok(st.st_uid == 0 && st.st_gid == 0, "  ... owner unchanged");
	m.chown = 1;
	is_int(bk_meta_apply_fd(fd, &m, "/p/own", &e), 0,
	       "apply_fd: chown asked (%s)", e.msg);
	st = lst(out, "own");
	ok(st.st_uid == NOBODY && st.st_gid == NOBODY, "  ... now %d:%d",
	   (int)st.st_uid, (int)st.st_gid);
	is_int(st.st_mode & 07777, 06755,
	       "  ... set-id bits survive the chown (fchmod after it)");
	close(fd);

	mkfile(out, "own2", 0600);
	is_int(bk_meta_apply_at(out, "own2", &m, "/p/own2", &e), 0,
	       "apply_at: chown asked");
	st = lst(out, "own2");
	ok(st.st_uid == NOBODY && st.st_gid == NOBODY &&
	       (st.st_mode & 07777) == 06755,
	   "  ... %d:%d, set-id bits kept (0%o)", (int)st.st_uid,
	   (int)st.st_gid, (unsigned)(st.st_mode & 07777));

	if (symlinkat("own2", out, "ownlink") < 0)
		die("ownlink");
	m = meta_of("symlink", 0777, 0);
	m.chown = 1;
	m.uid = 4321;
	m.gid = 4322;
	is_int(bk_meta_apply_at(out, "ownlink", &m, "/p/ownlink", &e), 0,
	       "apply_at: chown a symlink");
	st = lst(out, "ownlink");
	ok(st.st_uid == 4321 && st.st_gid == 4322, "  ... the link's owner");
	st = lst(out, "own2");
	ok(st.st_uid == NOBODY && st.st_gid == NOBODY,
	   "  ... not its target's (lchown)");
}

/* As uid/gid 65534: chown refused is no error; chmod and utimensat on
 * someone else's entry are. */
static void
test_not_root(void)
{
	struct {
		int rc_fd, rc_at, rc_chmod, rc_utime, rc_chmod_fd;
		char msg_chmod[SOV_ERR_MSG_MAX], msg_utime[SOV_ERR_MSG_MAX],
		    msg_chmod_fd[SOV_ERR_MSG_MAX];
	} r;
	struct stat st;
	int p[2], status, nr;
	pid_t pid;

	if (geteuid() != 0) {
		skip(11, "the non-root child: not root to begin with");
		return;
	}
	if (mkdirat(dfd, "nr", 0755) < 0 ||
	    (nr = openat(dfd, "nr", O_RDONLY | O_DIRECTORY)) < 0)
		die("nr");
	mkfile(nr, "roots", 0666); /* root's, writable by all */
	if (symlinkat("roots", nr, "rootlink") < 0 ||
	    fchown(nr, NOBODY, NOBODY) < 0 || pipe(p) < 0)
		die("nr");
	if ((pid = fork()) < 0)
		die("fork");
	if (pid == 0) {
		struct sov_err e;
		struct bk_meta m;
		int fd;

		memset(&r, 0, sizeof(r));
		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 ||
		    setuid(NOBODY) < 0)
			_exit(3);
		mkfile(nr, "mine", 0600);
		mkfile(nr, "mine2", 0600);
		m = meta_of("file", 0604, BK_META_OWNER); /* to root */
		if ((fd = openat(nr, "mine", O_WRONLY)) < 0)
			_exit(5);
		sov_err_clear(&e);
		r.rc_fd = bk_meta_apply_fd(fd, &m, "/p/mine", &e);
		close(fd);
		r.rc_at = bk_meta_apply_at(nr, "mine2", &m, "/p/mine2", &e);
		m.chown = 0;
		sov_err_clear(&e);
		r.rc_chmod = bk_meta_apply_at(nr, "roots", &m, "/p/roots", &e);
		memcpy(r.msg_chmod, e.msg,
		       strnlen(e.msg, sizeof(r.msg_chmod) - 1));
		if ((fd = openat(nr, "roots", O_WRONLY)) < 0)
			_exit(6);
		sov_err_clear(&e);
		r.rc_chmod_fd = bk_meta_apply_fd(fd, &m, "/p/roots", &e);
		memcpy(r.msg_chmod_fd, e.msg,
		       strnlen(e.msg, sizeof(r.msg_chmod_fd) - 1));
		close(fd);
		m = meta_of("symlink", 0777, 0);
		sov_err_clear(&e);
		r.rc_utime =
		    bk_meta_apply_at(nr, "rootlink", &m, "/p/rootlink", &e);
		memcpy(r.msg_utime, e.msg,
		       strnlen(e.msg, sizeof(r.msg_utime) - 1));
		_exit(write(p[1], &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 4);
	}
	close(p[1]);
	memset(&r, 0, sizeof(r));
	ok(read(p[0], &r, sizeof(r)) == (ssize_t)sizeof(r) &&
	       waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0,
	   "non-root child ran");
	close(p[0]);
	is_int(r.rc_fd, 0,
	       "non-root apply_fd: chown to root refused, no error");
	st = lst(nr, "mine");
	ok(st.st_uid == NOBODY && (st.st_mode & 07777) == 0604 &&
	       times_are(&st, ATIME_S, ATIME_NS, MTIME_S, MTIME_NS),
	   "  ... owner kept, mode and times applied");
	is_int(r.rc_at, 0, "non-root apply_at: the same");
	st = lst(nr, "mine2");
	ok(st.st_uid == NOBODY && (st.st_mode & 07777) == 0604 &&
	       times_are(&st, ATIME_S, ATIME_NS, MTIME_S, MTIME_NS),
	   "  ... owner kept, mode and times applied");
	is_int(r.rc_chmod, -1, "non-root apply_at: chmod of root's file");
	like(r.msg_chmod, "chmod /p/roots: Operation not permitted",
	     "  ... an error naming it");
	is_int(r.rc_chmod_fd, -1, "non-root apply_fd: fchmod of root's file");
	like(r.msg_chmod_fd, "chmod /p/roots: Operation not permitted",
	     "  ... an error naming it");
	is_int(r.rc_utime, -1,
	       "non-root apply_at: times of root's symlink (no chmod first)");
	like(r.msg_utime, "utimensat /p/rootlink: Operation not permitted",
	     "  ... an error naming it");
	close(nr);
}

/* bk_node_apply_meta is built on the two: its messages name the node. */
static void
test_node_apply(int out)
{
	struct sov_err e;
	jv n;

	mkfile(out, "na", 0600);
	n = mknode("na", "file", 0640);
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, 0, &e), 0, "bk_node_apply_meta (%s)",
	       e.msg);
	ok((lst(out, "na").st_mode & 07777) == 0640 &&
	       lst(out, "na").st_mtim.tv_nsec == MTIME_NS,
	   "  ... mode and mtime");
	jv_free(n);
	n = mknode("na", "dir", 0755);
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, 0, &e), -1,
	       "bk_node_apply_meta: wrong type");
	like(e.msg, "na: is a file, the node a dir", "  ... names the node");
	jv_free(n);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	char sub[PATH_MAX], ro[PATH_MAX];
	int out;

	umask(022);
	xsnprintf(dir, sizeof(dir), "%s/test_backup_meta.XXXXXX",
		  tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		die(dir);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		die(dir);
	xsnprintf(sub, sizeof(sub), "%s/out", dir);
	if (mkdir(sub, 0755) < 0 ||
	    (out = open(sub, O_RDONLY | O_DIRECTORY)) < 0)
		die(sub);

	test_from_node();
	test_by_name();
	test_apply_fd(out);
	test_apply_at(out);
	test_owner(out);
	test_not_root();
	test_node_apply(out);

	close(out);
	close(dfd);
	/* ro is 0555: writable again, so a non-root run can empty it */
	xsnprintf(ro, sizeof(ro), "%s/ro", sub);
	chmod(ro, 0755);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
