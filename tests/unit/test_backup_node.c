/*
 * test_backup_node.c - tools/sov-backup/node.c: entries to tree nodes and
 * back, on real files in $TMPDIR.
 *
 * Runs as root (ownership and device nodes need it; without root those
 * cases are skipped, saying why). The non-root paths (chown refused, mknod
 * refused) run in a child that drops to uid/gid 65534.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "node.h"
#include "tap.h"

#define NOBODY 65534

static char dir[PATH_MAX]; /* scratch directory of this run */
static int dfd = -1;       /* open on dir */

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

/* A subdirectory of the scratch dir, made afresh; its fd. */
static int
subdir(const char *name)
{
	int fd;

	if (mkdirat(dfd, name, 0755) < 0 && errno != EEXIST)
		die(name);
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY)) < 0)
		die(name);
	return fd;
}

static void
mkfile(int at, const char *name, const char *data, mode_t mode)
{
	int fd = openat(at, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data) ||
	    fchmod(fd, mode) < 0 || close(fd) < 0)
		die(name);
}

static void
settimes(int at, const char *name, time_t as, long ans, time_t ms, long mns)
{
	struct timespec ts[2] = {{as, ans}, {ms, mns}};

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

static int
exists(int at, const char *name)
{
	struct stat st;

	return fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Parse JSON text for a test node (jq's parser: \u0000 is allowed). */
static jv
J(const char *text)
{
	jv v = jv_parse(text);

	if (!jv_is_valid(v)) {
		fprintf(stderr, "test_backup_node: bad test JSON: %s\n", text);
		exit(1);
	}
	return v;
}

/* A member as a string ("(absent)" or "(not a string)"); valid while node
 * is. */
static const char *
str(jv node, const char *key)
{
	jv v;
	const char *s = "(absent)";

	if (jv_get_kind(node) != JV_KIND_OBJECT)
		return "(not an object)";
	v = jv_object_get(jv_copy(node), jv_string(key));
	if (jv_get_kind(v) == JV_KIND_STRING)
		s = jv_string_value(v);
	else if (jv_get_kind(v) != JV_KIND_INVALID)
		s = "(not a string)";
	jv_free(v);
	return s;
}

/* A number member, -1 when absent or not a number. */
static double
num(jv node, const char *key)
{
	jv v;
	double d = -1;

	if (jv_get_kind(node) != JV_KIND_OBJECT)
		return -1;
	v = jv_object_get(jv_copy(node), jv_string(key));
	if (jv_get_kind(v) == JV_KIND_NUMBER)
		d = jv_number_value(v);
	jv_free(v);
	return d;
}

static int
has(jv node, const char *key)
{
	return jv_get_kind(node) == JV_KIND_OBJECT &&
	       jv_object_has(jv_copy(node), jv_string(key));
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

static jv
entry(int at, const char *name, struct sov_err *e)
{
	int gone = -1;

	sov_err_clear(e);
	return bk_node_from_entry(at, name, name, NULL, &gone, e);
}

/* A node of type with the times given, for create/apply. */
static jv
mknode(const char *name, const char *type, int mode, const char *mtime)
{
	jv n = jv_object();

	n = bk_node_set_name(n, name);
	n = set_str(n, "type", type);
	n = set_num(n, "mode", mode);
	n = set_num(n, "uid", 0);
	n = set_num(n, "gid", 0);
	if (mtime)
		n = set_str(n, "mtime", mtime);
	return n;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* ---- times ---- */

static void
test_time_format(void)
{
	struct sov_err e;
	struct stat st;
	jv n;

	mkfile(dfd, "t", "x", 0644);
	st = lst(dfd, "t");

	st.st_mtim.tv_sec = 1795316400;
	st.st_mtim.tv_nsec = 123456789;
	st.st_atim.tv_sec = -1;
	st.st_atim.tv_nsec = 500000000;
	st.st_ctim.tv_sec = 0;
	st.st_ctim.tv_nsec = 0;
	sov_err_clear(&e);
	n = bk_node_from_entry(dfd, "t", "t", &st, NULL, &e);
	is_str(str(n, "mtime"), "2026-11-22T03:00:00.123456789Z",
	       "mtime: RFC 3339 UTC with nanoseconds");
	is_str(str(n, "atime"), "1969-12-31T23:59:59.500000000Z",
	       "a time before 1970 floors to the second below");
	is_str(str(n, "ctime"), "1970-01-01T00:00:00.000000000Z", "the epoch");
	jv_free(n);

	st.st_mtim.tv_sec = 1709208000; /* 2024-02-29T12:00:00Z */
	st.st_mtim.tv_nsec = 1;
	st.st_atim.tv_sec = INT64_C(253402300800); /* year 10000 */
	st.st_atim.tv_nsec = 5;
	st.st_ctim.tv_sec = INT64_C(-62167219201); /* before year 0 */
	st.st_ctim.tv_nsec = 7;
	n = bk_node_from_entry(dfd, "t", "t", &st, NULL, &e);
	is_str(str(n, "mtime"), "2024-02-29T12:00:00.000000001Z",
	       "a leap day, one nanosecond");
	is_str(str(n, "atime"), "9999-12-31T23:59:59.999999999Z",
	       "after year 9999 clamps to its last nanosecond");
	is_str(str(n, "ctime"), "0000-01-01T00:00:00.000000000Z",
	       "before year 0 clamps to its first second");
	jv_free(n);
}

/* bk_node_same_file: a file's node made from a stat, with content, is
 * recognised; any difference, extra key or other encoding is not. */
static void
test_same_file(void)
{
	struct sov_err e;
	struct stat st, st2;
	jv n, big;

	mkfile(dfd, "sf", "same file", 0640);
	st = lst(dfd, "sf");
	sov_err_clear(&e);
	n = bk_node_from_entry_atime(dfd, "sf", "sf", &st, 0, NULL, &e);
	ok(jv_is_valid(n) && !jv_is_valid(jv_object_get(jv_copy(n),
						     jv_string("atime"))),
	   "bk_node_from_entry_atime without atime has none");
	n = jv_object_set(n, jv_string("content"),
			  JV_ARRAY(jv_string("00")));
	is_int(bk_node_same_file(n, "sf", &st, 0), 1,
	       "the node of the same stat, with content: the same");
	is_int(bk_node_same_file(n, "other", &st, 0), 0, "another name");
	is_int(bk_node_same_file(n, "sf", &st, 1), 0,
	       "atime wanted, the node has none");
	st2 = st;
	st2.st_mtim.tv_nsec ^= 1;
	is_int(bk_node_same_file(n, "sf", &st2, 0), 0, "mtime a ns apart");
	st2 = st;
	st2.st_ctim.tv_sec += 1;
	is_int(bk_node_same_file(n, "sf", &st2, 0), 0, "ctime");
	st2 = st;
	st2.st_size += 1;
	is_int(bk_node_same_file(n, "sf", &st2, 0), 0, "size");
	st2 = st;
	st2.st_ino += 1;
	is_int(bk_node_same_file(n, "sf", &st2, 0), 0, "inode");
	st2 = st;
	st2.st_dev += 1;
	is_int(bk_node_same_file(n, "sf", &st2, 0), 0, "device");
	st2 = st;
	st2.st_nlink += 1;
	is_int(bk_node_same_file(n, "sf", &st2, 0), 0, "links");
	st2 = st;
	st2.st_mode ^= 04;
	is_int(bk_node_same_file(n, "sf", &st2, 0), 0, "mode");
	st2 = st;
	st2.st_uid += 1;
	is_int(bk_node_same_file(n, "sf", &st2, 0), 0, "uid");
	st2 = st;
	st2.st_mode = (st2.st_mode & 07777) | S_IFIFO;
	is_int(bk_node_same_file(n, "sf", &st2, 0), 0, "not a regular file");
	big = jv_object_delete(jv_copy(n), jv_string("content"));
	is_int(bk_node_same_file(big, "sf", &st, 0), 0, "no content");
	jv_free(big);
	big = jv_object_set(jv_copy(n), jv_string("source"),
			    jv_string("sqlite"));
	is_int(bk_node_same_file(big, "sf", &st, 0), 0, "an extra key");
	jv_free(big);
	big = jv_object_set(jv_copy(n), jv_string("mode"), jv_string("640"));
	is_int(bk_node_same_file(big, "sf", &st, 0), 0,
	       "a value of another type");
	jv_free(big);
	/* an inode past 2^53 is a decimal string, and must be that string */
	st2 = st;
	st2.st_ino = (ino_t)((UINT64_C(1) << 60) + 3);
	big = bk_node_from_entry_atime(dfd, "sf", "sf", &st2, 0, NULL, &e);
	big = jv_object_set(big, jv_string("content"), jv_array());
	is_int(bk_node_same_file(big, "sf", &st2, 0), 1,
	       "a large inode as its decimal string");
	st2.st_ino += 1;
	is_int(bk_node_same_file(big, "sf", &st2, 0), 0,
	       "and one more is another");
	jv_free(big);
	n = jv_object_set(n, jv_string("atime"), jv_string("x"));
	is_int(bk_node_same_file(n, "sf", &st, 0), 0,
	       "an atime the walk would not keep");
	jv_free(n);
	n = bk_node_from_entry_atime(dfd, "sf", "sf", &st, 1, NULL, &e);
	n = jv_object_set(n, jv_string("content"), jv_array());
	is_int(bk_node_same_file(n, "sf", &st, 1), 1,
	       "with atime, when the walk keeps it");
	jv_free(n);
	unlinkat(dfd, "sf", 0);
}

/* Apply a node that differs from a good one only in its times. */
static int
apply_times(const char *mtime, const char *atime, struct sov_err *e)
{
	jv n = mknode("tm", "file", 0600, NULL);
	int rc;

	if (mtime)
		n = set_str(n, "mtime", mtime);
	if (atime)
		n = set_str(n, "atime", atime);
	sov_err_clear(e);
	rc = bk_node_apply_meta(dfd, n, 0, e);
	jv_free(n);
	return rc;
}

static void
test_time_parse(void)
{
	static const char *bad[] = {
	    "",
	    "2026-11-22",
	    "2026-11-22T03:00:00",
	    "2026-11-22T03:00:00.Z",
	    "2026-11-22T03:00:00.1234567890Z",
	    "2026-11-22T03:00:00+01:00",
	    "2026-11-22T03:00:00.5+00:00",
	    "2026-11-22t03:00:00Z",
	    "2026-11-22T03:00:00z",
	    "2026-11-22 03:00:00Z",
	    " 2026-11-22T03:00:00Z",
	    "2026-11-22T03:00:00Z ",
	    "2026-11-22T03:00:00ZZ",
	    "+2026-11-22T03:00:00Z",
	    "2026-1-22T03:00:00Z",
	    "20261-11-22T03:00:00Z",
	    "2026-00-10T00:00:00Z",
	    "2026-13-01T00:00:00Z",
	    "2026-11-00T00:00:00Z",
	    "2026-11-31T00:00:00Z",
	    "2026-02-29T00:00:00Z",
	    "1900-02-29T00:00:00Z",
	    "2026-11-22T24:00:00Z",
	    "2026-11-22T03:60:00Z",
	    "2026-11-22T03:00:60Z",
	    "2026-11-22T03:00:00.12a456789Z",
	    "2026-11-22T03:00:00.-1Z",
	    "2026-11-22T-3:00:00Z",
	    "2026-11-22T03:00:00.123456789Z\n",
	};
	struct sov_err e;
	struct stat st;
	char what[128];

	mkfile(dfd, "tm", "x", 0644);
	settimes(dfd, "tm", 1000, 0, 2000, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		xsnprintf(what, sizeof(what), "mtime \"%s\" refused", bad[i]);
		for (char *c = what; *c; c++) /* one TAP line */
			if (*c == '\n')
				*c = '~';
		is_int(apply_times(bad[i], NULL, &e), -1, "%s", what);
		ok(e.code == SOV_EXIT_USAGE &&
		       strstr(e.msg, "tm: mtime: malformed time") != NULL,
		   "  ... bad input, naming the node and the field (%s)",
		   e.msg);
	}
	is_int(apply_times("2026-11-22T03:00:00Z", "yesterday", &e), -1,
	       "a malformed atime is refused");
	like(e.msg, "tm: atime: malformed time \"yesterday\"",
	     "  ... naming atime");
	st = lst(dfd, "tm");
	ok((st.st_mode & 07777) == 0644 && st.st_mtim.tv_sec == 2000,
	   "nothing changed by a refused node (mode and mtime as before)");

	is_int(apply_times(NULL, NULL, &e), -1, "a node without mtime");
	like(e.msg, "tm: mtime: missing", "  ... says mtime is missing");
	{
		jv n = set_num(mknode("tm", "file", 0600, NULL), "mtime", 5);

		sov_err_clear(&e);
		is_int(bk_node_apply_meta(dfd, n, 0, &e), -1,
		       "a number for mtime");
		like(e.msg, "tm: mtime: not a string", "  ... says so");
		jv_free(n);
	}
	{
		char ctl[] = "2026\x1b[31m";

		apply_times(ctl, NULL, &e);
		like(e.msg, "\"2026\\x1b[31m\"",
		     "a control byte in a bad time is escaped in the message");
	}

	is_int(apply_times("2026-11-22T03:00:00.5Z", NULL, &e), 0,
	       "one fraction digit is accepted");
	st = lst(dfd, "tm");
	ok(st.st_mtim.tv_sec == 1795316400 && st.st_mtim.tv_nsec == 500000000,
	   "  ... as half a second");
	ok(st.st_atim.tv_sec == 1000, "an absent atime is left as it was");
	is_int(apply_times("2026-11-22T03:00:00Z", "2024-02-29T23:59:59Z", &e),
	       0, "no fraction is accepted, and a leap day");
	st = lst(dfd, "tm");
	ok(st.st_mtim.tv_sec == 1795316400 && st.st_mtim.tv_nsec == 0 &&
	       st.st_atim.tv_sec == 1709251199,
	   "  ... both times set");
	is_int(apply_times("2000-02-29T00:00:00.000000001Z",
			   "1969-07-20T20:17:40.999999999Z", &e),
	       0, "2000 is a leap year; a time before 1970");
	st = lst(dfd, "tm");
	ok(st.st_mtim.tv_sec == 951782400 && st.st_mtim.tv_nsec == 1 &&
	       st.st_atim.tv_sec == -14182940 &&
	       st.st_atim.tv_nsec == 999999999,
	   "  ... exact to the nanosecond (%lld.%09ld)",
	   (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
}

/* ---- every type, there and back ---- */

static void
test_file(int out)
{
	struct sov_err e;
	struct stat st, st2;
	jv n;

	mkfile(dfd, "file", "hello", 0640);
	settimes(dfd, "file", 1600000000, 111111111, 1795316400, 123456789);
	st = lst(dfd, "file");
	n = entry(dfd, "file", &e);
	ok(jv_is_valid(n), "file: a node (%s)", e.msg);
	is_str(str(n, "name"), "file", "file: name");
	ok(!has(n, "name_b64"), "file: no name_b64 for a UTF-8 name");
	is_str(str(n, "type"), "file", "file: type");
	is_str(bk_node_type(n), "file", "bk_node_type");
	is_int(num(n, "mode"), 0640, "file: mode");
	is_int(num(n, "size"), 5, "file: size");
	is_int(num(n, "uid"), st.st_uid, "file: uid");
	is_int(num(n, "gid"), st.st_gid, "file: gid");
	if (st.st_uid == 0) {
		is_str(str(n, "user"), "root", "file: user name");
		is_str(str(n, "group"), "root", "file: group name");
	} else {
		skip(2, "not root: owner names unknown");
	}
	is_str(str(n, "mtime"), "2026-11-22T03:00:00.123456789Z",
	       "file: mtime with nanoseconds");
	is_str(str(n, "atime"), "2020-09-13T12:26:40.111111111Z",
	       "file: atime with nanoseconds");
	ok(has(n, "ctime"), "file: ctime");
	is_int(num(n, "links"), 1, "file: links");
	is_int(num(n, "inode"), st.st_ino, "file: inode");
	is_int(num(n, "device"), st.st_dev, "file: device");
	ok(!has(n, "target") && !has(n, "rdev") && !has(n, "content"),
	   "file: no target, rdev or content");

	/* The file's content is restore's; its metadata is ours. */
	mkfile(out, "file", "hello", 0600);
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, 0, &e), 0, "file: apply (%s)", e.msg);
	st2 = lst(out, "file");
	is_int(st2.st_mode & 07777, 0640, "file: mode restored");
	ok(st2.st_mtim.tv_sec == st.st_mtim.tv_sec &&
	       st2.st_mtim.tv_nsec == st.st_mtim.tv_nsec &&
	       st2.st_atim.tv_sec == st.st_atim.tv_sec &&
	       st2.st_atim.tv_nsec == st.st_atim.tv_nsec,
	   "file: times restored to the nanosecond");
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 1, &e), -1, "file: create refuses");
	like(e.msg, "file: a file has content", "  ... saying why");
	jv_free(n);
}

static void
test_dir(int out)
{
	struct sov_err e;
	struct stat st;
	jv n;

	if (mkdirat(dfd, "d", 0700) < 0 || fchmodat(dfd, "d", 0751, 0) < 0)
		die("d");
	mkfile(dfd, "d/inner", "", 0600);
	settimes(dfd, "d", 1500000000, 5, 1500000001, 999999999);
	n = entry(dfd, "d", &e);
	is_str(str(n, "type"), "dir", "dir: type");
	is_int(num(n, "mode"), 0751, "dir: mode");
	ok(!has(n, "size") && !has(n, "links") && !has(n, "inode") &&
	       !has(n, "device"),
	   "dir: no size, links, inode or device");
	is_str(str(n, "mtime"), "2017-07-14T02:40:01.999999999Z", "dir: mtime");

	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 0, &e), 0, "dir: create (%s)", e.msg);
	st = lst(out, "d");
	ok(S_ISDIR(st.st_mode), "dir: a directory");
	is_int(st.st_mode & 07777, 0700, "dir: 0700 until its meta");
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, 0, &e), 0, "dir: apply (%s)", e.msg);
	st = lst(out, "d");
	is_int(st.st_mode & 07777, 0751, "dir: mode restored");
	ok(st.st_mtim.tv_sec == 1500000001 && st.st_mtim.tv_nsec == 999999999 &&
	       st.st_atim.tv_sec == 1500000000 && st.st_atim.tv_nsec == 5,
	   "dir: times restored to the nanosecond");

	/* Existing: refused without replace, reused with it. */
	mkfile(out, "d/keep", "", 0600);
	if (fchmodat(out, "d", 0555, 0) < 0)
		die("d");
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 0, &e), -1,
	       "dir: an existing one without replace");
	is_int(e.code, SOV_EXIT_FAIL, "  ... fails");
	like(e.msg, "create dir d: File exists", "  ... saying so");
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 1, &e), 0, "dir: reused with replace");
	is_int(lst(out, "d").st_mode & 07777, 0700,
	       "  ... made 0700 again for restore");
	ok(exists(out, "d/keep"), "  ... its content kept");
	jv_free(n);
}

static void
test_symlink(int out)
{
	struct sov_err e;
	struct stat st;
	char buf[PATH_MAX];
	ssize_t len;
	jv n;

	mkfile(dfd, "target", "t", 0644);
	settimes(dfd, "target", 1000000000, 0, 1000000000, 0);
	if (symlinkat("target", dfd, "ln") < 0)
		die("ln");
	settimes(dfd, "ln", 1234567890, 1, 1234567891, 2);
	n = entry(dfd, "ln", &e);
	is_str(str(n, "type"), "symlink", "symlink: type");
	is_str(str(n, "target"), "target", "symlink: target");
	is_str(str(n, "mtime"), "2009-02-13T23:31:31.000000002Z",
	       "symlink: its own mtime, not its target's");
	is_str(str(n, "atime"), "2009-02-13T23:31:30.000000001Z",
	       "symlink: its own atime");
	is_int(num(n, "size"), -1, "symlink: no size");
	ok(has(n, "inode") && has(n, "links"), "symlink: inode and links");

	/* Restored next to a file of the same name as its target. */
	mkfile(out, "target", "other", 0600);
	settimes(out, "target", 42, 0, 43, 0);
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 0, &e), 0, "symlink: create (%s)", e.msg);
	len = readlinkat(out, "ln", buf, sizeof(buf) - 1);
	buf[len < 0 ? 0 : len] = '\0';
	is_str(buf, "target", "symlink: its target");
	n = set_num(n, "mode", 0777);
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, BK_META_OWNER, &e), 0,
	       "symlink: apply (%s)", e.msg);
	st = lst(out, "ln");
	ok(S_ISLNK(st.st_mode) && st.st_mtim.tv_sec == 1234567891 &&
	       st.st_mtim.tv_nsec == 2 && st.st_atim.tv_nsec == 1,
	   "symlink: its own times restored");
	st = lst(out, "target");
	ok(st.st_mtim.tv_sec == 43 && st.st_atim.tv_sec == 42 &&
	       (st.st_mode & 07777) == 0600,
	   "symlink: the file it points to is untouched (times, mode)");
	jv_free(n);

	/* Dangling: meta still applies to the link itself. */
	n = mknode("dangling", "symlink", 0777,
		   "2001-01-01T00:00:00.000000003Z");
	n = set_str(n, "target", "/nonexistent/x");
	sov_err_clear(&e);
	ok(bk_node_create(out, n, 0, &e) == 0 &&
	       bk_node_apply_meta(out, n, 0, &e) == 0,
	   "a dangling symlink: created and its meta applied (%s)", e.msg);
	is_int(lst(out, "dangling").st_mtim.tv_nsec, 3, "  ... times set");
	jv_free(n);
}

static void
test_fifo(int out)
{
	struct sov_err e;
	struct stat st;
	jv n;

	if (mkfifoat(dfd, "p", 0600) < 0 || fchmodat(dfd, "p", 0620, 0) < 0)
		die("p");
	n = entry(dfd, "p", &e);
	is_str(str(n, "type"), "fifo", "fifo: type");
	is_int(num(n, "mode"), 0620, "fifo: mode");
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 0, &e), 0, "fifo: create (%s)", e.msg);
	is_int(lst(out, "p").st_mode & 07777, 0600, "fifo: 0600 until meta");
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, 0, &e), 0, "fifo: apply (%s)", e.msg);
	st = lst(out, "p");
	ok(S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0620,
	   "fifo: a fifo with its mode");
	jv_free(n);
}

static void
test_devices(int out)
{
	struct sov_err e;
	struct stat st;
	int devfd = open("/dev", O_RDONLY | O_DIRECTORY);
	jv n;

	if (geteuid() != 0 || devfd < 0) {
		skip(10, "device nodes: not root or no /dev");
		if (devfd >= 0)
			close(devfd);
		return;
	}
	n = entry(devfd, "null", &e);
	close(devfd);
	is_str(str(n, "type"), "chardev", "chardev: /dev/null's type");
	is_int(num(n, "rdev"), makedev(1, 3), "chardev: rdev 1,3");
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 0, &e), 0, "chardev: mknod (%s)", e.msg);
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, 0, &e), 0, "chardev: apply (%s)",
	       e.msg);
	st = lst(out, "null");
	ok(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3) &&
	       (st.st_mode & 07777) == 0666,
	   "chardev: a character device 1,3 with mode 0666");
	jv_free(n);

	n = mknode("blk", "blockdev", 0660, "2020-01-01T00:00:00Z");
	n = set_num(n, "rdev", makedev(7, 200));
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 0, &e), 0, "blockdev: mknod (%s)", e.msg);
	jv_free(n);
	n = entry(out, "blk", &e);
	is_str(str(n, "type"), "blockdev", "blockdev: type read back");
	is_int(num(n, "rdev"), makedev(7, 200), "blockdev: rdev read back");
	jv_free(n);

	n = mknode("nordev", "chardev", 0600, NULL);
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 0, &e), -1, "a device without rdev");
	like(e.msg, "nordev: rdev: missing", "  ... says rdev is missing");
	jv_free(n);
}

static void
test_socket(int out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct sov_err e;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	jv n;

	xsnprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		skip(4, "cannot bind a unix socket in $TMPDIR");
		if (s >= 0)
			close(s);
		return;
	}
	close(s);
	n = entry(dfd, "sock", &e);
	is_str(str(n, "type"), "socket", "socket: type");
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 0, &e), 0, "socket: create says ok");
	ok(!exists(out, "sock"), "  ... and makes nothing");
	is_int(bk_node_apply_meta(out, n, 0, &e), 0,
	       "socket: apply skips it too");
	jv_free(n);
}

/* ---- modes, owners ---- */

static void
test_modes(int out)
{
	static const int modes[] = {04755, 02755, 01777, 06711, 07777, 0};
	struct sov_err e;
	char what[64];
	jv n;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		mkfile(dfd, "m", "", 0600);
		if (fchmodat(dfd, "m", (mode_t)modes[i], 0) < 0)
			die("m");
		n = entry(dfd, "m", &e);
		xsnprintf(what, sizeof(what), "mode 0%o read", modes[i]);
		is_int(num(n, "mode"), modes[i], "%s", what);
		mkfile(out, "m", "", 0600);
		sov_err_clear(&e);
		bk_node_apply_meta(out, n, BK_META_OWNER, &e);
		xsnprintf(what, sizeof(what), "mode 0%o restored", modes[i]);
		is_int(lst(out, "m").st_mode & 07777, modes[i], "%s", what);
		jv_free(n);
	}
	if (mkdirat(out, "sticky", 0700) < 0)
		die("sticky");
	n = mknode("sticky", "dir", 01777, "2020-01-01T00:00:00Z");
	is_int(bk_node_apply_meta(out, n, 0, &e), 0, "a sticky directory");
	is_int(lst(out, "sticky").st_mode & 07777, 01777, "  ... mode 01777");
	jv_free(n);

	n = mknode("m", "file", 010000, "2020-01-01T00:00:00Z");
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, 0, &e), -1, "mode 010000 refused");
	like(e.msg, "m: mode: not an integer in 0..4095", "  ... naming mode");
	jv_free(n);
	n = set_num(mknode("m", "file", 0, "2020-01-01T00:00:00Z"), "mode",
		    1.5);
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, 0, &e), -1, "mode 1.5 refused");
	jv_free(n);
	n = mknode("m", "file", 0, "2020-01-01T00:00:00Z");
	n = jv_object_delete(n, jv_string("mode"));
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, 0, &e), -1, "no mode refused");
	like(e.msg, "m: mode: missing", "  ... saying so");
	jv_free(n);
	n = mknode("m", "fifo", 0644, "2020-01-01T00:00:00Z");
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, 0, &e), -1,
	       "a fifo node on a regular file");
	like(e.msg, "m: is a file, the node a fifo", "  ... says so");
	jv_free(n);
	n = mknode("absent", "file", 0644, "2020-01-01T00:00:00Z");
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, 0, &e), -1, "apply to nothing");
	like(e.msg, "lstat absent: No such file", "  ... names it");
	jv_free(n);
}

static void
test_owner(int out)
{
	struct sov_err e;
	struct stat st;
	struct passwd *pw = getpwuid(NOBODY);
	struct group *gr = getgrgid(NOBODY);
	jv n;

	if (geteuid() != 0) {
		skip(19, "ownership: not root");
		return;
	}
	mkfile(out, "own", "", 0600);
	n = mknode("own", "file", 06755, "2020-01-01T00:00:00Z");
	n = set_num(n, "uid", NOBODY);
	n = set_num(n, "gid", NOBODY);
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, 0, &e), 0,
	       "owner: apply without "
	       "BK_META_OWNER");
	st = lst(out, "own");
	ok(st.st_uid == 0 && st.st_gid == 0, "  ... owner unchanged (%d:%d)",
	   (int)st.st_uid, (int)st.st_gid);
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, BK_META_OWNER, &e), 0,
	       "owner: apply with BK_META_OWNER (%s)", e.msg);
	st = lst(out, "own");
	ok(st.st_uid == NOBODY && st.st_gid == NOBODY, "  ... now %d:%d",
	   (int)st.st_uid, (int)st.st_gid);
	is_int(st.st_mode & 07777, 06755,
	       "  ... set-id bits survive the chown (applied after it)");
	n = set_num(set_num(n, "uid", 0), "gid", 0);
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, BK_META_OWNER, &e), 0,
	       "owner: and back to root");
	st = lst(out, "own");
	ok(st.st_uid == 0 && st.st_gid == 0 && (st.st_mode & 07777) == 06755,
	   "  ... 0:0, still 06755");

	/* By name: the name decides when it exists here. */
	n = set_num(set_num(n, "uid", NOBODY), "gid", NOBODY);
	n = set_str(set_str(n, "user", "root"), "group", "root");
	sov_err_clear(&e);
	bk_node_apply_meta(out, n, BK_META_OWNER | BK_META_BY_NAME, &e);
	st = lst(out, "own");
	ok(st.st_uid == 0 && st.st_gid == 0,
	   "by name: user root wins over uid %d", NOBODY);
	bk_node_apply_meta(out, n, BK_META_OWNER, &e);
	st = lst(out, "own");
	ok(st.st_uid == NOBODY, "without BY_NAME: the number (%d)",
	   (int)st.st_uid);
	n = set_num(set_num(n, "uid", 0), "gid", 0);
	n = set_str(set_str(n, "user", "no-such-user-sov"), "group",
		    "no-such-group-sov");
	bk_node_apply_meta(out, n, BK_META_OWNER | BK_META_BY_NAME, &e);
	st = lst(out, "own");
	ok(st.st_uid == 0 && st.st_gid == 0,
	   "by name: an unknown name falls back to the number");
	n = set_num(n, "user", 3);
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, BK_META_OWNER | BK_META_BY_NAME, &e),
	       -1, "by name: a number for user");
	like(e.msg, "own: user: not a string", "  ... refused");
	jv_free(n);

	n = mknode("own", "file", 0600, "2020-01-01T00:00:00Z");
	n = set_num(n, "uid", 4294967295.0);
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, BK_META_OWNER, &e), -1,
	       "uid 2^32-1 (chown's \"unchanged\") refused");
	like(e.msg, "own: uid: not an integer", "  ... naming uid");
	n = jv_object_delete(set_num(n, "uid", 0), jv_string("gid"));
	sov_err_clear(&e);
	is_int(bk_node_apply_meta(out, n, BK_META_OWNER, &e), -1,
	       "no gid with BK_META_OWNER");
	like(e.msg, "own: gid: missing", "  ... naming gid");
	jv_free(n);

	/* Names recorded for ids that have them, none for others. */
	if (pw != NULL && gr != NULL &&
	    fchownat(out, "own", NOBODY, NOBODY, 0) == 0) {
		n = entry(out, "own", &e);
		is_str(str(n, "user"), pw->pw_name, "uid %d recorded by name",
		       NOBODY);
		is_str(str(n, "group"), gr->gr_name,
		       "gid %d by its group name (not the user's)", NOBODY);
		jv_free(n);
	} else {
		skip(2, "no user or group 65534 here");
	}
	if (fchownat(out, "own", 3999999, 3999999, 0) == 0) {
		n = entry(out, "own", &e);
		ok(num(n, "uid") == 3999999 && !has(n, "user") &&
		       !has(n, "group"),
		   "an id without a name: number only");
		jv_free(n);
	} else {
		skip(1, "cannot chown to uid 3999999");
	}
}

/* As uid/gid 65534: chown to root is skipped, mknod refused. */
static void
test_not_root(void)
{
	struct {
		int rc1, rc2, code2;
		char msg2[SOV_ERR_MSG_MAX];
	} r;
	int p[2], status, nr;
	struct stat st;
	pid_t pid;

	if (geteuid() != 0) {
		skip(6, "the non-root child: not root to begin with");
		return;
	}
	nr = subdir("nr");
	if (fchown(nr, NOBODY, NOBODY) < 0 || pipe(p) < 0)
		die("nr");
	if ((pid = fork()) < 0)
		die("fork");
	if (pid == 0) {
		struct sov_err e;
		jv n;

		memset(&r, 0, sizeof(r));
		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 ||
		    setuid(NOBODY) < 0)
			_exit(3);
		mkfile(nr, "f", "", 0644);
		n = mknode("f", "file", 0604, "2020-01-01T00:00:00.25Z");
		sov_err_clear(&e);
		r.rc1 = bk_node_apply_meta(nr, n, BK_META_OWNER, &e);
		jv_free(n);
		n = mknode("dev", "chardev", 0600, NULL);
		n = set_num(n, "rdev", makedev(1, 3));
		sov_err_clear(&e);
		r.rc2 = bk_node_create(nr, n, 0, &e);
		r.code2 = e.code;
		memcpy(r.msg2, e.msg, strnlen(e.msg, sizeof(r.msg2) - 1));
		jv_free(n);
		_exit(write(p[1], &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 4);
	}
	close(p[1]);
	memset(&r, 0, sizeof(r));
	ok(read(p[0], &r, sizeof(r)) == (ssize_t)sizeof(r) &&
	       waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0,
	   "non-root child ran");
	close(p[0]);
	is_int(r.rc1, 0,
	       "non-root: chown to root refused by the kernel, "
	       "not an error");
	st = lst(nr, "f");
	ok(st.st_uid == NOBODY && (st.st_mode & 07777) == 0604 &&
	       st.st_mtim.tv_nsec == 250000000,
	   "  ... owner kept, mode and times still applied");
	is_int(r.rc2, -1, "non-root: mknod fails");
	is_int(r.code2, SOV_EXIT_FAIL,
	       "  ... SOV_EXIT_FAIL (a warning for "
	       "the caller)");
	like(r.msg2, "create chardev dev: Operation not permitted",
	     "  ... saying why");
	close(nr);
}

/* ---- names ---- */

static void
test_name_bytes(int out)
{
	static const char latin1[] = "caf\xe9";
	struct sov_err e;
	char *name;
	char buf[64];
	ssize_t len;
	jv n;

	mkfile(dfd, latin1, "", 0644);
	n = entry(dfd, latin1, &e);
	ok(!has(n, "name"), "a non-UTF-8 name: no \"name\"");
	is_str(str(n, "name_b64"), "Y2Fm6Q==", "  ... name_b64 is its bytes");
	name = bk_node_name(n, &e);
	is_str(name, latin1, "  ... bk_node_name decodes it");
	free(name);
	n = set_str(jv_object_delete(n, jv_string("type")), "type", "fifo");
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 0, &e), 0, "  ... created (%s)", e.msg);
	ok(S_ISFIFO(lst(out, latin1).st_mode), "  ... under the same bytes");

	n = bk_node_set_name(n, "plain");
	ok(has(n, "name") && !has(n, "name_b64"),
	   "bk_node_set_name: a UTF-8 name replaces name_b64");
	n = bk_node_set_name(n, "\xff\xfe");
	ok(!has(n, "name") && has(n, "name_b64"),
	   "bk_node_set_name: and the other way");
	jv_free(n);
	n = bk_node_set_name(jv_null(), "x");
	ok(!jv_is_valid(n), "bk_node_set_name on a non-object: invalid");
	jv_free(n);

	mkfile(dfd, "naïve-ü", "", 0644);
	n = entry(dfd, "naïve-ü", &e);
	is_str(str(n, "name"), "naïve-ü", "a UTF-8 name stays text");
	jv_free(n);

	/* A symlink target that is not UTF-8. */
	if (symlinkat("\x80/bin", dfd, "lnb") < 0)
		die("lnb");
	n = entry(dfd, "lnb", &e);
	ok(!has(n, "target"), "a non-UTF-8 target: no \"target\"");
	is_str(str(n, "target_b64"), "gC9iaW4=", "  ... target_b64");
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 0, &e), 0, "  ... created (%s)", e.msg);
	len = readlinkat(out, "lnb", buf, sizeof(buf) - 1);
	buf[len < 0 ? 0 : len] = '\0';
	is_str(buf, "\x80/bin", "  ... pointing at the same bytes");
	jv_free(n);
}

struct hostile {
	const char *json;
	const char *msg;
};

static void
test_hostile_names(void)
{
	static const struct hostile cases[] = {
	    {"{\"name\":\"\"}", "node: name: empty"},
	    {"{\"name\":\".\"}", "node: name: \".\" is not a file name"},
	    {"{\"name\":\"..\"}", "node: name: \"..\" is not a file name"},
	    {"{\"name\":\"/\"}", "node: name: \"/\" is not a file name"},
	    {"{\"name\":\"a/b\"}", "node: name: \"a/b\" is not a file name"},
	    {"{\"name\":\"../escape\"}", "is not a file name"},
	    {"{\"name\":\"/etc/passwd\"}", "is not a file name"},
	    {"{\"name\":\"x/\"}", "is not a file name"},
	    {"{\"name\":\"a\\u0000b\"}", "node: name: contains a NUL byte"},
	    {"{\"name\":\"\\u0000\"}", "node: name: contains a NUL byte"},
	    {"{\"name\":\"..\\u0000\"}", "node: name: contains a NUL byte"},
	    {"{\"name_b64\":\"Li4=\"}", "\"..\" is not a file name"},
	    {"{\"name_b64\":\"Lg==\"}", "\".\" is not a file name"},
	    {"{\"name_b64\":\"YS9i\"}", "\"a/b\" is not a file name"},
	    {"{\"name_b64\":\"Ly4u\"}", "\"/..\" is not a file name"},
	    {"{\"name_b64\":\"YQBi\"}", "node: name_b64: contains a NUL byte"},
	    {"{\"name_b64\":\"AA==\"}", "node: name_b64: contains a NUL byte"},
	    {"{\"name_b64\":\"\"}", "node: name_b64: empty"},
	    {"{\"name_b64\":\"!!!!\"}", "node: name_b64: not base64"},
	    {"{\"name_b64\":\"YQ\"}", "node: name_b64: not base64"},
	    {"{\"name_b64\":\"YR==\"}", "node: name_b64: not base64"},
	    {"{\"name_b64\":\"YQ==\\n\"}", "node: name_b64: not base64"},
	    {"{\"name_b64\":\" YQ==\"}", "node: name_b64: not base64"},
	    {"{\"name_b64\":\"YQ==YQ==\"}", "node: name_b64: not base64"},
	    {"{\"name_b64\":\"Y-8_\"}", "node: name_b64: not base64"},
	    {"{\"name_b64\":\"YQ==\\u0000\"}", "node: name_b64: not base64"},
	    {"{\"name\":\"a\",\"name_b64\":\"YQ==\"}",
	     "node: name: both it and a base64 form present"},
	    {"{}", "node: name: missing"},
	    {"{\"type\":\"dir\"}", "node: name: missing"},
	    {"{\"name\":5}", "node: name: not a string"},
	    {"{\"name\":null}", "node: name: not a string"},
	    {"{\"name\":[\"a\"]}", "node: name: not a string"},
	    {"{\"name_b64\":{}}", "node: name_b64: not a string"},
	    {"null", "node: not an object"},
	    {"[\"name\",\"a\"]", "node: not an object"},
	    {"\"a\"", "node: not an object"},
	};
	struct sov_err e;
	char what[160];
	int jail, parent;

	/* Each one: refused by bk_node_name, and by create/apply, which make
	 * nothing in the jail nor beside it. */
	parent = subdir("hostile");
	if (mkdirat(parent, "jail", 0755) < 0)
		die("jail");
	if ((jail = openat(parent, "jail", O_RDONLY | O_DIRECTORY)) < 0)
		die("jail");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		jv n = J(cases[i].json);
		char *name;
		int rc;

		if (jv_get_kind(n) == JV_KIND_OBJECT) {
			n = set_str(set_num(n, "mode", 0755), "type", "dir");
			n = set_str(n, "mtime", "2020-01-01T00:00:00Z");
		}
		sov_err_clear(&e);
		name = bk_node_name(n, &e);
		xsnprintf(what, sizeof(what), "hostile %s refused",
			  cases[i].json);
		ok(name == NULL && e.code == SOV_EXIT_USAGE, "%s", what);
		like(e.msg, cases[i].msg, "  ... saying why");
		free(name);
		sov_err_clear(&e);
		rc = bk_node_create(jail, n, 1, &e);
		ok(rc == -1 && e.code == SOV_EXIT_USAGE &&
		       strstr(e.msg, cases[i].msg) != NULL,
		   "  ... by bk_node_create too");
		sov_err_clear(&e);
		ok(bk_node_apply_meta(jail, n, BK_META_OWNER, &e) == -1 &&
		       strstr(e.msg, cases[i].msg) != NULL,
		   "  ... and bk_node_apply_meta");
		jv_free(n);
	}
	{
		int count = 0;
		int fd = dup(parent);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *de;

		while (d && (de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				count++;
		if (d)
			closedir(d);
		is_int(count, 1, "nothing was made beside the jail");
		ok(lst(parent, "jail").st_nlink == 2 &&
		       (lst(parent, "jail").st_mode & 07777) == 0755,
		   "  ... nor in it, and its mode is untouched");
		ok(!exists(dfd, "escape"), "  ... nor above it");
	}
	close(jail);
	close(parent);
}

static void
test_name_lengths(void)
{
	char *big = malloc(BK_NAME_BYTES_MAX + 2);
	char *b64 = malloc(BK_NAME_BYTES_MAX * 2);
	struct sov_err e;
	char *name;
	jv n;

	if (big == NULL || b64 == NULL)
		die("malloc");
	memset(big, 'a', BK_NAME_BYTES_MAX + 1);
	big[BK_NAME_BYTES_MAX] = '\0';
	n = bk_node_set_name(jv_object(), big);
	name = bk_node_name(n, &e);
	ok(name != NULL && strlen(name) == BK_NAME_BYTES_MAX,
	   "a name of BK_NAME_BYTES_MAX bytes is accepted");
	free(name);
	jv_free(n);
	big[BK_NAME_BYTES_MAX] = 'a';
	big[BK_NAME_BYTES_MAX + 1] = '\0';
	n = bk_node_set_name(jv_object(), big);
	sov_err_clear(&e);
	ok(bk_node_name(n, &e) == NULL, "one byte more is refused");
	like(e.msg, "node: name: longer than 4096 bytes", "  ... saying so");
	jv_free(n);

	/* The same through base64 (a 0xff makes it non-UTF-8). */
	big[0] = '\xff';
	big[BK_NAME_BYTES_MAX] = '\0';
	n = bk_node_set_name(jv_object(), big);
	ok(has(n, "name_b64"), "(setup: a long name_b64)");
	name = bk_node_name(n, &e);
	ok(name != NULL && strlen(name) == BK_NAME_BYTES_MAX,
	   "name_b64 of BK_NAME_BYTES_MAX bytes is accepted");
	free(name);
	jv_free(n);
	big[BK_NAME_BYTES_MAX] = 'a';
	n = bk_node_set_name(jv_object(), big);
	sov_err_clear(&e);
	ok(bk_node_name(n, &e) == NULL, "name_b64 one byte longer: refused");
	like(e.msg, "node: name_b64: longer than 4096 bytes",
	     "  ... saying so");
	jv_free(n);
	/* Padding that hides a 4097th byte behind a length that fits. */
	memset(b64, 'Q', BK_NAME_BYTES_MAX / 3 * 4 + 4);
	memcpy(b64 + BK_NAME_BYTES_MAX / 3 * 4 + 4, "QQ==", 5);
	n = set_str(jv_object(), "name_b64", b64);
	sov_err_clear(&e);
	ok(bk_node_name(n, &e) == NULL, "a huge name_b64 is refused");
	like(e.msg, "node: name_b64: longer than", "  ... before decoding");
	jv_free(n);
	free(big);
	free(b64);
}

static void
test_symlink_targets(int out)
{
	static const struct hostile cases[] = {
	    {"{\"name\":\"s\",\"type\":\"symlink\"}", "s: target: missing"},
	    {"{\"name\":\"s\",\"type\":\"symlink\",\"target\":\"\"}",
	     "s: target: empty"},
	    {"{\"name\":\"s\",\"type\":\"symlink\",\"target\":\"a\\u0000b\"}",
	     "s: target: contains a NUL byte"},
	    {"{\"name\":\"s\",\"type\":\"symlink\",\"target\":7}",
	     "s: target: not a string"},
	    {"{\"name\":\"s\",\"type\":\"symlink\",\"target_b64\":\"%%\"}",
	     "s: target_b64: not base64"},
	    {"{\"name\":\"s\",\"type\":\"symlink\",\"target_b64\":\"\"}",
	     "s: target_b64: empty"},
	    {"{\"name\":\"s\",\"type\":\"symlink\",\"target\":\"a\","
	     "\"target_b64\":\"YQ==\"}",
	     "s: target: both it and a base64 form present"},
	    {"{\"name\":\"s\",\"type\":\"pipe\"}", "s: type: unknown \"pipe\""},
	    {"{\"name\":\"s\"}", "s: type: unknown \"\""},
	    {"{\"name\":\"s\",\"type\":\"chardev\",\"rdev\":\"x\"}",
	     "s: rdev: not an integer"},
	    {"{\"name\":\"s\",\"type\":\"chardev\",\"rdev\":-1}",
	     "s: rdev: not an integer"},
	};
	char *t = malloc(PATH_MAX + 1);
	char buf[PATH_MAX];
	struct sov_err e;
	ssize_t len;
	jv n;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = J(cases[i].json);
		sov_err_clear(&e);
		ok(bk_node_create(out, n, 1, &e) == -1 &&
		       e.code == SOV_EXIT_USAGE,
		   "create refuses %s", cases[i].json);
		like(e.msg, cases[i].msg, "  ... saying why");
		jv_free(n);
	}
	ok(!exists(out, "s"), "none of them made anything");

	if (t == NULL)
		die("malloc");
	memset(t, 'x', PATH_MAX);
	t[PATH_MAX - 1] = '\0';
	n = set_str(mknode("long", "symlink", 0777, NULL), "target", t);
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 0, &e), 0,
	       "a target of PATH_MAX-1 bytes is made (%s)", e.msg);
	len = readlinkat(out, "long", buf, sizeof(buf));
	is_int(len, PATH_MAX - 1, "  ... all of it");
	jv_free(n);
	n = entry(out, "long", &e);
	is_int(strlen(str(n, "target")), PATH_MAX - 1,
	       "  ... and read back whole");
	jv_free(n);
	t[PATH_MAX - 1] = 'x';
	t[PATH_MAX] = '\0';
	n = set_str(mknode("long2", "symlink", 0777, NULL), "target", t);
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 0, &e), -1,
	       "a target of PATH_MAX bytes is refused");
	like(e.msg, "long2: target: longer than 4095 bytes", "  ... saying so");
	jv_free(n);
	free(t);
}

/* ---- replace ---- */

static void
test_replace(int out)
{
	struct sov_err e;
	char buf[64];
	ssize_t len;
	jv n;

	mkfile(out, "r", "data", 0644);
	n = mknode("r", "fifo", 0600, NULL);
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 0, &e), -1,
	       "a file in the way, no replace: refused");
	is_int(e.code, SOV_EXIT_FAIL, "  ... SOV_EXIT_FAIL");
	like(e.msg, "create fifo r: File exists", "  ... saying so");
	ok(S_ISREG(lst(out, "r").st_mode), "  ... the file is still there");
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 1, &e), 0, "with replace: done (%s)",
	       e.msg);
	ok(S_ISFIFO(lst(out, "r").st_mode), "  ... now a fifo");
	jv_free(n);

	/* A symlink to a directory elsewhere, where a dir is to be: the
	 * link goes, the directory it pointed to is untouched. */
	if (mkdirat(dfd, "victim", 0755) < 0 ||
	    symlinkat("../victim", out, "sd") < 0)
		die("victim");
	n = mknode("sd", "dir", 0755, NULL);
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 1, &e), 0,
	       "a symlink where a dir goes: replaced (%s)", e.msg);
	ok(S_ISDIR(lst(out, "sd").st_mode), "  ... by a real directory");
	is_int(lst(dfd, "victim").st_mode & 07777, 0755,
	       "  ... the directory it pointed to is not chmod'ed");
	jv_free(n);

	n = set_str(mknode("sd", "symlink", 0777, NULL), "target", "x");
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 1, &e), -1,
	       "a directory where a symlink goes: refused even with replace");
	like(e.msg, "create symlink sd: a directory is in the way",
	     "  ... saying so");
	ok(S_ISDIR(lst(out, "sd").st_mode), "  ... the directory stays");
	jv_free(n);

	if (symlinkat("old", out, "sl") < 0)
		die("sl");
	n = set_str(mknode("sl", "symlink", 0777, NULL), "target", "new");
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 1, &e), 0,
	       "a symlink over a symlink with replace");
	len = readlinkat(out, "sl", buf, sizeof(buf) - 1);
	buf[len < 0 ? 0 : len] = '\0';
	is_str(buf, "new", "  ... pointing at the new target");
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 0, &e), -1, "  ... not without replace");
	jv_free(n);

	n = mknode("nodir/x", "fifo", 0600, NULL);
	sov_err_clear(&e);
	is_int(bk_node_create(out, n, 0, &e), -1, "a name with '/' in create");
	jv_free(n);
	n = mknode("x", "fifo", 0600, NULL);
	sov_err_clear(&e);
	is_int(bk_node_create(-1, n, 0, &e), -1, "a bad directory fd");
	like(e.msg, "create fifo x: Bad file descriptor", "  ... says errno");
	jv_free(n);
}

/* ---- hard links, counts, vanished entries ---- */

static void
test_hardlinks(void)
{
	struct sov_err e;
	struct stat st;
	uint64_t v = 0;
	jv n;

	mkfile(dfd, "h1", "x", 0644);
	if (linkat(dfd, "h1", dfd, "h2", 0) < 0)
		die("h2");
	st = lst(dfd, "h1");
	n = entry(dfd, "h2", &e);
	is_int(num(n, "links"), 2, "hard link: links 2");
	is_int(num(n, "inode"), st.st_ino, "hard link: h1's inode");
	is_int(num(n, "device"), st.st_dev, "hard link: h1's device");
	sov_err_clear(&e);
	ok(bk_node_u64(n, "inode", &v, &e) == 1 && v == st.st_ino,
	   "bk_node_u64 reads inode");
	is_int(bk_node_u64(n, "rdev", &v, &e), 0, "bk_node_u64: absent is 0");
	jv_free(n);

	/* Counts past 2^53 become decimal strings, read back exactly. */
	st.st_ino = (UINT64_C(1) << 60) + 1;
	st.st_dev = (dev_t)UINT64_MAX;
	st.st_size = (off_t)(UINT64_C(1) << 53);
	n = bk_node_from_entry(dfd, "h1", "h1", &st, NULL, &e);
	is_str(str(n, "inode"), "1152921504606846977",
	       "an inode past 2^53 is a string");
	ok(bk_node_u64(n, "inode", &v, &e) == 1 && v == (UINT64_C(1) << 60) + 1,
	   "  ... read back exactly");
	ok(bk_node_u64(n, "device", &v, &e) == 1 && v == UINT64_MAX,
	   "a device of 2^64-1 too");
	is_int(num(n, "size"), 9007199254740992.0, "2^53 is still a number");
	jv_free(n);

	{
		static const char *bad[] = {
		    "{\"c\":-1}",
		    "{\"c\":1.5}",
		    "{\"c\":1e300}",
		    "{\"c\":\"\"}",
		    "{\"c\":\"012\"}",
		    "{\"c\":\"-1\"}",
		    "{\"c\":\"1 \"}",
		    "{\"c\":\"18446744073709551616\"}",
		    "{\"c\":\"99999999999999999999\"}",
		    "{\"c\":true}",
		    "{\"c\":9007199254740994}",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			n = J(bad[i]);
			sov_err_clear(&e);
			ok(bk_node_u64(n, "c", &v, &e) == -1 &&
			       strstr(e.msg, "c: not an integer") != NULL,
			   "bk_node_u64 refuses %s", bad[i]);
			jv_free(n);
		}
		n = J("{\"c\":\"18446744073709551615\",\"z\":\"0\"}");
		ok(bk_node_u64(n, "c", &v, &e) == 1 && v == UINT64_MAX &&
		       bk_node_u64(n, "z", &v, &e) == 1 && v == 0,
		   "bk_node_u64: 2^64-1 and \"0\" as strings");
		jv_free(n);
	}
}

static void
test_vanished(void)
{
	struct sov_err e;
	struct stat st;
	int gone = -1, fd;
	jv n;

	sov_err_clear(&e);
	n = bk_node_from_entry(dfd, "never-was", "/src/never-was", NULL, &gone,
			       &e);
	ok(!jv_is_valid(n), "a vanished entry: no node");
	is_int(gone, 1, "  ... gone is set");
	is_int(e.code, SOV_EXIT_FAIL, "  ... SOV_EXIT_FAIL");
	like(e.msg, "lstat /src/never-was: No such file or directory",
	     "  ... naming the path");
	jv_free(n);
	sov_err_clear(&e);
	n = bk_node_from_entry(dfd, "never-was", NULL, NULL, NULL, &e);
	ok(!jv_is_valid(n) && e.code == SOV_EXIT_FAIL,
	   "  ... also without gone or path");
	like(e.msg, "lstat never-was", "  ... then the name is used");
	jv_free(n);

	/* A symlink that vanishes between lstat and readlink. */
	if (symlinkat("x", dfd, "brief") < 0)
		die("brief");
	st = lst(dfd, "brief");
	unlinkat(dfd, "brief", 0);
	gone = -1;
	sov_err_clear(&e);
	n = bk_node_from_entry(dfd, "brief", "brief", &st, &gone, &e);
	ok(!jv_is_valid(n) && gone == 1,
	   "a symlink gone before its readlink: gone");
	like(e.msg, "readlink brief", "  ... at readlink");
	jv_free(n);
	/* ... or replaced by a file: an error, but not "gone". */
	mkfile(dfd, "brief", "", 0644);
	gone = -1;
	sov_err_clear(&e);
	n = bk_node_from_entry(dfd, "brief", "brief", &st, &gone, &e);
	ok(!jv_is_valid(n) && gone == 0 && e.code == SOV_EXIT_FAIL,
	   "a symlink replaced by a file: an error, gone stays 0");
	like(e.msg, "readlink brief: Invalid argument", "  ... says why");
	jv_free(n);

	fd = openat(dfd, "brief", O_RDONLY);
	gone = -1;
	sov_err_clear(&e);
	n = bk_node_from_entry(fd, "x", "brief/x", NULL, &gone, &e);
	ok(!jv_is_valid(n) && gone == 0, "ENOTDIR is not \"gone\"");
	like(e.msg, "lstat brief/x: Not a directory", "  ... says why");
	jv_free(n);
	close(fd);

	sov_err_clear(&e);
	n = bk_node_from_entry(dfd, "a/b", "src/a/b", NULL, &gone, &e);
	ok(!jv_is_valid(n) && e.code == SOV_EXIT_USAGE,
	   "from_entry: a name with '/' refused");
	like(e.msg, "src/a/b: \"a/b\" is not one path component",
	     "  ... saying so");
	jv_free(n);
	sov_err_clear(&e);
	n = bk_node_from_entry(dfd, "", "src/", NULL, &gone, &e);
	ok(!jv_is_valid(n) && e.code == SOV_EXIT_USAGE,
	   "from_entry: an empty name refused");
	jv_free(n);
	sov_err_clear(&e);
	n = bk_node_from_entry(dfd, NULL, NULL, NULL, &gone, &e);
	ok(!jv_is_valid(n) && e.code == SOV_EXIT_USAGE,
	   "from_entry: a NULL name refused");
	jv_free(n);
	n = bk_node_from_entry(dfd, ".", "/backup/root", NULL, &gone, &e);
	is_str(str(n, "type"), "dir", "from_entry: \".\" for a backup root");
	jv_free(n);
}

static void
test_type_helper(void)
{
	jv n = J("{\"type\":\"dir\"}");

	is_str(bk_node_type(n), "dir", "bk_node_type: dir");
	jv_free(n);
	n = J("{\"type\":5}");
	is_str(bk_node_type(n), "", "bk_node_type: a number is \"\"");
	jv_free(n);
	is_str(bk_node_type(jv_null()), "", "bk_node_type: null is \"\"");
	n = jv_object();
	is_str(bk_node_type(n), "", "bk_node_type: missing is \"\"");
	jv_free(n);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	int out;

	umask(022);
	xsnprintf(dir, sizeof(dir), "%s/test_backup_node.XXXXXX",
		  tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		die(dir);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		die(dir);

	test_time_format();
	test_time_parse();
	test_same_file();
	out = subdir("out");
	test_file(out);
	test_dir(out);
	test_symlink(out);
	test_fifo(out);
	test_devices(out);
	test_socket(out);
	test_modes(out);
	test_owner(out);
	test_not_root();
	test_name_bytes(out);
	test_hostile_names();
	test_name_lengths();
	test_symlink_targets(out);
	test_replace(out);
	test_hardlinks();
	test_vanished();
	test_type_helper();

	close(out);
	close(dfd);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
