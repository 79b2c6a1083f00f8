/*
 * test_backup_backend.c - tools/sov-backup/backend*.c: opening and creating
 * a local repository, put/get/get_range/stat/list/remove on real files,
 * the object name rule against hostile names, and the write path's error
 * handling under the fault-injection shim (a child re-runs this program
 * with LD_PRELOAD=faultinject.so; without the shim those cases skip).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "backend.h"
#include "fault.h"
#include "tap.h"

static char dir[PATH_MAX]; /* scratch directory of this run */

static int
write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "wb");
	size_t len = strlen(data);
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int
is_dir_mode(const char *path, mode_t mode)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	       (st.st_mode & 07777) == mode;
}

/* Files under the tree whose name starts with ".tmp-". */
static int tmp_count;
static int
count_tmp(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	if (strncmp(path + f->base, ".tmp-", 5) == 0)
		tmp_count++;
	return 0;
}

static int
temps_in(const char *root)
{
	tmp_count = 0;
	nftw(root, count_tmp, 16, FTW_PHYS);
	return tmp_count;
}

/* A fresh repository at dir/NAME. */
static struct bk_backend *
fresh(const char *name, char *path, size_t size)
{
	struct sov_err e = {0};
	struct bk_backend *b;

	xsnprintf(path, size, "%s/%s", dir, name);
	b = bk_backend_open(path, 1, &e);
	if (b == NULL) {
		diag("create %s: %s", path, e.msg);
		exit(1);
	}
	return b;
}

/* ---- the child side of the fault cases ---------------------------- */

static int
child_main(int argc, char **argv)
{
	struct sov_err e = {0};
	struct bk_backend *b;
	int rc;

	if (argc != 6 || strcmp(argv[2], "put") != 0)
		return 99;
	b = bk_backend_open(argv[3], 0, &e);
	if (b == NULL) {
		printf("open failed: %s\n", e.msg);
		return 98;
	}
	rc = bk_put(b, argv[4], argv[5], strlen(argv[5]), &e);
	printf("rc=%d code=%d msg=%s\n", rc, e.code, e.msg);
	fflush(stdout);
	bk_backend_close(b);
	return 0;
}

/* ---- open and create ---------------------------------------------- */

static void
test_open_create(void)
{
	struct sov_err e = {0};
	struct bk_backend *b;
	char p[PATH_MAX], q[PATH_MAX + 32];
	int i, all;

	xsnprintf(p, sizeof(p), "%s/nosuch", dir);
	sov_err_clear(&e);
	ok(bk_backend_open(p, 0, &e) == NULL, "open: missing directory fails");
	is_int(e.code, SOV_EXIT_USAGE, "open: missing directory is usage");
	like(e.msg, "nosuch", "open: missing directory named");
	like(e.msg, "No such file", "open: missing directory says why");

	xsnprintf(p, sizeof(p), "%s/plain", dir);
	mkdir(p, 0755);
	sov_err_clear(&e);
	ok(bk_backend_open(p, 0, &e) == NULL, "open: not a repository fails");
	is_int(e.code, SOV_EXIT_USAGE, "open: not a repository is usage");
	like(e.msg, "plain: not a sov-backup repository",
	     "open: not a repository named");

	xsnprintf(q, sizeof(q), "%s/something", p);
	write_file(q, "x");
	sov_err_clear(&e);
	ok(bk_backend_open(p, 1, &e) == NULL, "create: non-empty dir fails");
	is_int(e.code, SOV_EXIT_USAGE, "create: non-empty dir is usage");
	like(e.msg, "plain: the directory is not empty",
	     "create: non-empty dir named");
	ok(access(q, F_OK) == 0 && temps_in(p) == 0,
	   "create: non-empty dir untouched");

	xsnprintf(q, sizeof(q), "%s/afile", dir);
	write_file(q, "x");
	sov_err_clear(&e);
	ok(bk_backend_open(q, 1, &e) == NULL, "create: on a file fails");
	is_int(e.code, SOV_EXIT_USAGE, "create: on a file is usage");
	like(e.msg, "afile: Not a directory", "create: on a file says why");

	/* Missing parents are made too. */
	xsnprintf(p, sizeof(p), "%s/deep/er/repo", dir);
	sov_err_clear(&e);
	b = bk_backend_open(p, 1, &e);
	ok(b != NULL, "create: new nested directory (%s)", e.msg);
	is_str(b ? b->display : NULL, p, "create: display is the path");
	ok(is_dir_mode(p, 0700), "create: root is 0700");
	all = 1;
	for (i = 0; i < 256; i++) {
		xsnprintf(q, sizeof(q), "%s/data/%02x", p, i);
		all &= is_dir_mode(q, 0700);
	}
	ok(all, "create: data/00 .. data/ff are there, 0700");
	xsnprintf(q, sizeof(q), "%s/data/100", p);
	ok(access(q, F_OK) != 0, "create: no data/100");
	all = 1;
	for (i = 0; i < 4; i++) {
		static const char *const sub[] = {"keys", "index", "snapshots",
						  "locks"};

		xsnprintf(q, sizeof(q), "%s/%s", p, sub[i]);
		all &= is_dir_mode(q, 0700);
	}
	ok(all, "create: keys index snapshots locks are there, 0700");

	/* Without config it is not a repository yet: the caller writes it. */
	sov_err_clear(&e);
	ok(bk_backend_open(p, 0, &e) == NULL, "open: before config fails");
	like(e.msg, "not a sov-backup repository", "open: before config");
	is_int(bk_put(b, "config", "{}", 2, &e), 0, "put config");
	bk_backend_close(b);

	sov_err_clear(&e);
	ok(bk_backend_open(p, 1, &e) == NULL,
	   "create: over a repository fails");
	is_int(e.code, SOV_EXIT_USAGE, "create: over a repository is usage");
	like(e.msg, "repo: already a sov-backup repository",
	     "create: over a repository named");
	xsnprintf(q, sizeof(q), "%s/", p);
	sov_err_clear(&e);
	b = bk_backend_open(q, 0, &e);
	ok(b != NULL, "open: the repository (trailing slash) (%s)", e.msg);
	is_str(b ? b->display : NULL, p, "open: display without the slash");
	bk_backend_close(b);

	/* An empty existing directory is fine for create. */
	xsnprintf(p, sizeof(p), "%s/empty", dir);
	mkdir(p, 0755);
	sov_err_clear(&e);
	b = bk_backend_open(p, 1, &e);
	ok(b != NULL, "create: in an empty directory (%s)", e.msg);
	bk_put(b, "config", "c", 1, &e);
	bk_backend_close(b);

	xsnprintf(q, sizeof(q), "file:%s", p);
	sov_err_clear(&e);
	b = bk_backend_open(q, 0, &e);
	ok(b != NULL, "open: file:PATH (%s)", e.msg);
	is_str(b ? b->display : NULL, p, "open: file:PATH displays the path");
	bk_backend_close(b);
	xsnprintf(q, sizeof(q), "file://%s", p);
	sov_err_clear(&e);
	b = bk_backend_open(q, 0, &e);
	ok(b != NULL, "open: file:///PATH (%s)", e.msg);
	bk_backend_close(b);

	sov_err_clear(&e);
	ok(bk_backend_open("file://host/x", 0, &e) == NULL &&
	       e.code == SOV_EXIT_USAGE,
	   "open: file://HOST refused");
	like(e.msg, "file://HOST/ is not supported", "open: file://HOST says");
	sov_err_clear(&e);
	ok(bk_backend_open("s3:bucket/x", 1, &e) == NULL &&
	       e.code == SOV_EXIT_USAGE,
	   "open: s3: refused");
	like(e.msg, "unsupported location type 's3:'", "open: s3: says why");
	ok(access("s3:bucket", F_OK) != 0, "open: s3: made no directory");
	sov_err_clear(&e);
	ok(bk_backend_open("sftp://h/x", 0, &e) == NULL &&
	       e.code == SOV_EXIT_USAGE,
	   "open: sftp:// refused");
	like(e.msg, "'sftp:'", "open: sftp:// named");
	sov_err_clear(&e);
	ok(bk_backend_open("", 0, &e) == NULL && e.code == SOV_EXIT_USAGE,
	   "open: empty location refused");
	sov_err_clear(&e);
	ok(bk_backend_open("file:", 0, &e) == NULL && e.code == SOV_EXIT_USAGE,
	   "open: file: without a path refused");

	/* config that is not a file. */
	xsnprintf(p, sizeof(p), "%s/cfgdir", dir);
	mkdir(p, 0700);
	xsnprintf(q, sizeof(q), "%s/config", p);
	mkdir(q, 0700);
	sov_err_clear(&e);
	ok(bk_backend_open(p, 0, &e) == NULL && e.code == SOV_EXIT_FAIL,
	   "open: config a directory fails");
	like(e.msg, "cfgdir/config is not a regular file",
	     "open: config a directory named");
	bk_backend_close(NULL);
	ok(1, "close: NULL accepted");
}

/* ---- objects ------------------------------------------------------ */

struct seen {
	int n;
	char names[16][BK_NAME_MAX + 1];
	uint64_t sizes[16];
	int stop_after; /* 0: never */
};

static int
collect(const char *name, uint64_t size, void *arg)
{
	struct seen *s = arg;

	if (s->n < 16) {
		xsnprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
		s->sizes[s->n] = size;
	}
	s->n++;
	if (s->stop_after > 0 && s->n >= s->stop_after)
		return 42;
	return 0;
}

static int
seen_has(const struct seen *s, const char *name, uint64_t size)
{
	for (int i = 0; i < s->n && i < 16; i++)
		if (strcmp(s->names[i], name) == 0 && s->sizes[i] == size)
			return 1;
	return 0;
}

static void
test_objects(void)
{
	struct sov_err e = {0};
	struct bk_backend *b;
	char p[PATH_MAX], q[PATH_MAX + 64];
	unsigned char *out = NULL, buf[16];
	static const unsigned char bin[] = {0, 1, 2, 'x', 0, 255, 10, 0};
	struct seen s;
	uint64_t size;
	size_t len;
	int missing, exists;

	b = fresh("objs", p, sizeof(p));
	is_int(bk_put(b, "config", "cfg", 3, &e), 0, "put config");
	is_int(bk_put(b, "keys/k1", bin, sizeof(bin), &e), 0, "put keys/k1");
	is_int(bk_put(b, "data/ab/ab01", "0123456789", 10, &e), 0,
	       "put data/ab/ab01");
	is_int(bk_put(b, "index/empty", NULL, 0, &e), 0, "put an empty object");

	is_int(bk_get(b, "keys/k1", 100, &out, &len, &missing, &e), 0,
	       "get keys/k1");
	ok(out && len == sizeof(bin) && memcmp(out, bin, len) == 0,
	   "get: binary content round trip");
	ok(out && out[len] == '\0', "get: NUL-terminated");
	is_int(missing, 0, "get: not missing");
	free(out);
	out = NULL;
	is_int(bk_get(b, "index/empty", 100, &out, &len, NULL, &e), 0,
	       "get an empty object");
	ok(out != NULL && len == 0, "get: empty object is 0 bytes");
	free(out);
	out = NULL;

	/* Replace. */
	is_int(bk_put(b, "keys/k1", "second", 6, &e), 0, "put: replace");
	bk_get(b, "keys/k1", 100, &out, &len, NULL, &e);
	ok(out && len == 6 && memcmp(out, "second", 6) == 0,
	   "get: replaced content");
	free(out);
	out = NULL;
	xsnprintf(q, sizeof(q), "%s/keys/k1", p);
	{
		struct stat st;

		ok(stat(q, &st) == 0 && (st.st_mode & 0777) == 0600,
		   "put: object is 0600");
	}

	/* Missing. */
	sov_err_clear(&e);
	missing = 0;
	is_int(bk_get(b, "keys/none", 100, &out, &len, &missing, &e), -1,
	       "get: missing fails");
	is_int(missing, 1, "get: missing flag set");
	is_int(e.code, SOV_EXIT_FAIL, "get: missing is 1");
	like(e.msg, "objs/keys/none", "get: missing names the object");
	like(e.msg, "No such file", "get: missing says why");
	ok(out == NULL, "get: missing leaves *out NULL");
	sov_err_clear(&e);
	is_int(bk_get(b, "config/x", 100, &out, &len, &missing, &e), -1,
	       "get: below a file fails");
	is_int(missing, 1, "get: below a file counts as missing");

	/* Cap. */
	sov_err_clear(&e);
	is_int(bk_get(b, "data/ab/ab01", 9, &out, &len, &missing, &e), -1,
	       "get: over the cap fails");
	is_int(e.code, SOV_EXIT_FAIL, "get: over the cap is 1");
	like(e.msg, "data/ab/ab01: 10 bytes, over the cap of 9 bytes",
	     "get: over the cap says so");
	is_int(missing, 0, "get: over the cap is not missing");
	is_int(bk_get(b, "data/ab/ab01", 10, &out, &len, NULL, &e), 0,
	       "get: exactly the cap is fine");
	free(out);
	out = NULL;

	/* Ranges. */
	memset(buf, 0, sizeof(buf));
	is_int(bk_get_range(b, "data/ab/ab01", 3, 4, buf, &e), 0,
	       "get_range: middle");
	ok(memcmp(buf, "3456", 4) == 0, "get_range: middle content");
	is_int(bk_get_range(b, "data/ab/ab01", 6, 4, buf, &e), 0,
	       "get_range: up to the end");
	ok(memcmp(buf, "6789", 4) == 0, "get_range: end content");
	is_int(bk_get_range(b, "data/ab/ab01", 10, 0, buf, &e), 0,
	       "get_range: zero bytes at the end");
	sov_err_clear(&e);
	is_int(bk_get_range(b, "data/ab/ab01", 8, 4, buf, &e), -1,
	       "get_range: past the end fails");
	is_int(e.code, SOV_EXIT_FAIL, "get_range: short is 1");
	like(e.msg,
	     "data/ab/ab01: short object: 4 bytes at offset 8 wanted, "
	     "it has 10 bytes",
	     "get_range: short names object, offset, length");
	sov_err_clear(&e);
	is_int(bk_get_range(b, "data/ab/none", 0, 4, buf, &e), -1,
	       "get_range: missing fails");
	like(e.msg, "data/ab/none: No such file", "get_range: missing named");
	sov_err_clear(&e);
	is_int(bk_get_range(b, "data/ab/ab01", UINT64_MAX - 1, 4, buf, &e), -1,
	       "get_range: offset overflow fails");
	like(e.msg, "out of range", "get_range: offset overflow says so");

	/* Stat. */
	is_int(bk_stat(b, "data/ab/ab01", &size, &exists, &e), 0, "stat");
	ok(exists == 1 && size == 10, "stat: exists, 10 bytes");
	is_int(bk_stat(b, "data/ab/none", &size, &exists, &e), 0,
	       "stat: missing is not an error");
	ok(exists == 0 && size == 0, "stat: missing says so");
	sov_err_clear(&e);
	is_int(bk_stat(b, "data/ab", &size, &exists, &e), -1,
	       "stat: a directory fails");
	like(e.msg, "objs/data/ab: not a regular file",
	     "stat: a directory named");

	/* Special files are not objects. */
	xsnprintf(q, sizeof(q), "%s/keys/link", p);
	ok(symlink("/etc/passwd", q) == 0, "a symlink planted");
	sov_err_clear(&e);
	is_int(bk_get(b, "keys/link", 100000, &out, &len, &missing, &e), -1,
	       "get: a symlink is refused");
	like(e.msg, "keys/link: a symbolic link", "get: symlink named");
	xsnprintf(q, sizeof(q), "%s/keys/fifo", p);
	mkfifo(q, 0600);
	sov_err_clear(&e);
	is_int(bk_get(b, "keys/fifo", 100, &out, &len, &missing, &e), -1,
	       "get: a FIFO is refused without hanging");
	like(e.msg, "keys/fifo: not a regular file", "get: FIFO named");

	/* List: temp files, bad names, links and deep files are skipped. */
	xsnprintf(q, sizeof(q), "%s/keys/.tmp-0123456789abcdef", p);
	write_file(q, "partial");
	xsnprintf(q, sizeof(q), "%s/keys/UPPER", p);
	write_file(q, "x");
	xsnprintf(q, sizeof(q), "%s/keys/a b", p);
	write_file(q, "x");
	memset(&s, 0, sizeof(s));
	is_int(bk_list(b, "keys", collect, &s, &e), 0, "list keys");
	is_int(s.n, 1, "list keys: only the one object");
	ok(seen_has(&s, "keys/k1", 6), "list keys: keys/k1, 6 bytes");

	bk_put(b, "data/cd/cd02", "abc", 3, &e);
	xsnprintf(q, sizeof(q), "%s/data/cd/deeper", p);
	mkdir(q, 0700);
	xsnprintf(q, sizeof(q), "%s/data/cd/deeper/x", p);
	write_file(q, "too deep");
	xsnprintf(q, sizeof(q), "%s/data/ab/.tmp-ffff", p);
	write_file(q, "partial");
	memset(&s, 0, sizeof(s));
	is_int(bk_list(b, "data", collect, &s, &e), 0, "list data");
	is_int(s.n, 2, "list data: two objects, one level down");
	ok(seen_has(&s, "data/ab/ab01", 10) && seen_has(&s, "data/cd/cd02", 3),
	   "list data: names and sizes");
	memset(&s, 0, sizeof(s));
	is_int(bk_list(b, "snapshots", collect, &s, &e), 0,
	       "list an empty dir");
	is_int(s.n, 0, "list an empty dir: nothing");
	memset(&s, 0, sizeof(s));
	is_int(bk_list(b, "nosuch", collect, &s, &e), 0, "list a missing dir");
	is_int(s.n, 0, "list a missing dir: nothing");
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	is_int(bk_list(b, "data", collect, &s, &e), 42,
	       "list: the callback's stop value is returned");
	is_int(s.n, 1, "list: stopped after one");
	sov_err_clear(&e);
	is_int(bk_list(b, "config", collect, &s, &e), -1,
	       "list: a file as directory fails");
	like(e.msg, "list ", "list: a file as directory says list");
	like(e.msg, "objs/config", "list: a file as directory named");

	/* Remove. */
	is_int(bk_remove(b, "data/cd/cd02", &e), 0, "remove");
	is_int(bk_stat(b, "data/cd/cd02", &size, &exists, &e), 0,
	       "stat after remove");
	is_int(exists, 0, "remove: gone");
	is_int(bk_remove(b, "data/cd/cd02", &e), 0,
	       "remove: missing is not an error");
	is_int(bk_remove(b, "nodir/x", &e), 0,
	       "remove: missing directory is not an error");
	sov_err_clear(&e);
	is_int(bk_remove(b, "data/cd", &e), -1, "remove: a directory fails");
	like(e.msg, "remove ", "remove: a directory says remove");
	like(e.msg, "objs/data/cd", "remove: a directory named");

	/* A missing parent directory is made again. */
	xsnprintf(q, sizeof(q), "%s/data/ef", p);
	rmdir(q);
	is_int(bk_put(b, "data/ef/ef03", "zz", 2, &e), 0,
	       "put: into a missing data/ef (%s)", e.msg);
	ok(is_dir_mode(q, 0700), "put: data/ef made again, 0700");
	is_int(bk_put(b, "newdir/sub/x", "zz", 2, &e), 0,
	       "put: missing directories made");

	/* A put onto a directory fails and leaves no temp. */
	sov_err_clear(&e);
	is_int(bk_put(b, "data/ab", "x", 1, &e), -1,
	       "put: onto a directory fails");
	like(e.msg, "objs/data/ab: rename", "put: onto a directory named");
	is_int(temps_in(p), 2, "put: failure left no temp (only ours)");
	bk_backend_close(b);
}

/* ---- names -------------------------------------------------------- */

static void
test_names(void)
{
	static const char *const bad[] = {
	    "../x",     "/etc/passwd", "a//b", "data/../../x", "..",
	    ".",        "x/",          "/",    ".tmp-abc",     "keys/.hidden",
	    "data/./x", "A",           "a b",  "a\nb",         "keys/x\x80",
	    "a\\b",     "x:y",
	};
	struct sov_err e = {0};
	struct bk_backend *b;
	char p[PATH_MAX], q[PATH_MAX + 16], longname[BK_NAME_MAX + 2];
	unsigned char *out = NULL, buf[4];
	struct seen s;
	uint64_t size;
	size_t len, i;
	int exists, all_put = 1, all_get = 1, all_stat = 1, all_rm = 1,
		    all_list = 1, all_ops = 1, all_msg = 1;

	b = fresh("names", p, sizeof(p));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sov_err_clear(&e);
		all_put &= bk_put(b, bad[i], "x", 1, &e) == -1 &&
			   e.code == SOV_EXIT_USAGE;
		all_msg &= strstr(e.msg, "bad object name") != NULL;
		sov_err_clear(&e);
		all_get &= bk_get(b, bad[i], 10, &out, &len, NULL, &e) == -1 &&
			   e.code == SOV_EXIT_USAGE;
		sov_err_clear(&e);
		all_stat &= bk_stat(b, bad[i], &size, &exists, &e) == -1 &&
			    e.code == SOV_EXIT_USAGE;
		sov_err_clear(&e);
		all_rm &=
		    bk_remove(b, bad[i], &e) == -1 && e.code == SOV_EXIT_USAGE;
		sov_err_clear(&e);
		all_list &= bk_list(b, bad[i], collect, &s, &e) == -1 &&
			    e.code == SOV_EXIT_USAGE;
		/* The backend checks too, not only the shorthands. */
		sov_err_clear(&e);
		all_ops &=
		    b->ops->put(b, bad[i], "x", 1, &e) == -1 &&
		    b->ops->get(b, bad[i], 10, &out, &len, NULL, &e) == -1 &&
		    b->ops->get_range(b, bad[i], 0, 1, buf, &e) == -1 &&
		    b->ops->stat(b, bad[i], &size, &exists, &e) == -1 &&
		    b->ops->remove(b, bad[i], &e) == -1 &&
		    b->ops->list(b, bad[i], collect, &s, &e) == -1;
	}
	ok(all_put, "names: put refuses every hostile name");
	ok(all_msg, "names: the message says bad object name");
	ok(all_get, "names: get refuses them");
	ok(all_stat, "names: stat refuses them");
	ok(all_rm, "names: remove refuses them");
	ok(all_list, "names: list refuses them");
	ok(all_ops, "names: the backend's own ops refuse them");
	xsnprintf(q, sizeof(q), "%s/x", dir);
	ok(access(q, F_OK) != 0, "names: nothing written outside");
	ok(access("/etc/passwd", F_OK) == 0, "names: /etc/passwd untouched");

	sov_err_clear(&e);
	bk_put(b, "../x", "x", 1, &e);
	like(e.msg, "put: bad object name '../x': a component starts with '.'",
	     "names: ../x says why");
	sov_err_clear(&e);
	bk_put(b, "/etc/passwd", "x", 1, &e);
	like(e.msg, "'/etc/passwd': starts with '/'", "names: /x says why");
	sov_err_clear(&e);
	bk_get(b, "a//b", 1, &out, &len, NULL, &e);
	like(e.msg, "get: bad object name 'a//b': empty component",
	     "names: a//b says why");
	sov_err_clear(&e);
	bk_stat(b, "a\nb", &size, &exists, &e);
	like(e.msg, "'a?b': only a-z 0-9", "names: control byte shown as ?");
	sov_err_clear(&e);
	bk_remove(b, "x/", &e);
	like(e.msg, "ends with '/'", "names: x/ says why");
	sov_err_clear(&e);
	bk_put(b, "", "x", 1, &e);
	like(e.msg, "empty object name", "names: empty says why");
	sov_err_clear(&e);
	bk_put(b, NULL, "x", 1, &e);
	like(e.msg, "empty object name", "names: NULL says why");

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	sov_err_clear(&e);
	is_int(bk_put(b, longname, "x", 1, &e), -1, "names: 201 bytes refused");
	like(e.msg, "longer than 200 bytes", "names: too long says why");
	longname[BK_NAME_MAX] = '\0';
	is_int(bk_put(b, longname, "x", 1, &e), 0, "names: 200 bytes fine");
	is_int(bk_name_check("t", "data/ab/x-y_z.1", &e), 0,
	       "names: all allowed characters");
	is_int(bk_name_check("t", "a.b/c..d", &e), 0,
	       "names: dots inside a component are fine");
	bk_backend_close(b);
}

/* ---- faults --------------------------------------------------------- */

static void
test_faults(void)
{
	struct sov_err e = {0};
	struct bk_backend *b;
	char p[PATH_MAX], out[4096];
	unsigned char *got = NULL;
	size_t len;
	int st;

	if (fault_shim[0] == '\0') {
		skip(26, "faultinject.so not next to this binary (make "
			 "build/tests/faultinject.so)");
		return;
	}
	b = fresh("faults", p, sizeof(p));
	bk_put(b, "config", "c", 1, &e);
	bk_put(b, "keys/k", "old content", 11, &e);

#define INTACT(what)                                                           \
	do {                                                                   \
		got = NULL;                                                    \
		bk_get(b, "keys/k", 100, &got, &len, NULL, &e);                \
		ok(got &&len == 11 && memcmp(got, "old content", 11) == 0,     \
		   "%s: old object intact", what);                             \
		free(got);                                                     \
		is_int(temps_in(p), 0, "%s: no temp file left", what);         \
	} while (0)
#define RUN(fault)                                                             \
	do {                                                                   \
		const char *args[] = {"put", p, "keys/k", "new", NULL};        \
		st = fault_run(fault, args, out, sizeof(out));                 \
	} while (0)

	RUN("write:ENOSPC:path=.tmp-");
	is_int(st, 0, "ENOSPC: child ran");
	like(out, "rc=-1 code=75", "ENOSPC: 75");
	like(out, "put ", "ENOSPC: message says put");
	like(out, "faults/keys/k: write temp file",
	     "ENOSPC: message names the object");
	like(out, "No space left on device", "ENOSPC: message says why");
	INTACT("ENOSPC");

	RUN("write:EDQUOT:path=.tmp-");
	like(out, "rc=-1 code=75", "EDQUOT: 75");
	like(out, "Disk quota exceeded", "EDQUOT: says why");
	INTACT("EDQUOT");

	RUN("fsync:EIO:path=.tmp-");
	like(out, "rc=-1 code=1", "EIO on fsync: 1");
	like(out, "keys/k: fsync temp file", "EIO on fsync: says fsync");
	INTACT("EIO on fsync");

	RUN("renameat:EXDEV");
	like(out, "rc=-1 code=1", "EXDEV on rename: 1");
	like(out, "keys/k: rename temp file", "EXDEV on rename: says rename");
	INTACT("EXDEV on rename");

	RUN("close:EIO:path=.tmp-");
	like(out, "rc=-1 code=1", "EIO on close: 1");
	INTACT("EIO on close");

	/* The directory's fsync is the second fsync of the put. */
	RUN("fsync:EIO:after=1");
	like(out, "rc=-1 code=1", "EIO on directory fsync: 1");
	like(out, "keys/k: replaced, but fsync directory",
	     "EIO on directory fsync: says replaced, but");
	got = NULL;
	bk_get(b, "keys/k", 100, &got, &len, NULL, &e);
	ok(got && len == 3 && memcmp(got, "new", 3) == 0,
	   "EIO on directory fsync: new content in place");
	free(got);

	bk_put(b, "keys/k", "old content", 11, &e);
	RUN("write:short:path=.tmp-");
	like(out, "rc=0 code=0", "short writes: put loops");
	bk_backend_close(b);
#undef INTACT
#undef RUN
}

/* ---- threads ------------------------------------------------------ */

#define THREADS 4
#define PER_THREAD 100
#define SHARED_SIZE 65536

struct worker {
	struct bk_backend *b;
	int id;
	int failures;
	char msg[SOV_ERR_MSG_MAX];
};

static void *
writer(void *arg)
{
	struct worker *w = arg;
	struct sov_err e = {0};
	static unsigned char shared[THREADS][SHARED_SIZE];
	char name[64], data[64];
	int i;

	memset(shared[w->id], 'A' + w->id, SHARED_SIZE);
	for (i = 0; i < PER_THREAD; i++) {
		int n = snprintf(data, sizeof(data), "thread %d object %d",
				 w->id, i);

		snprintf(name, sizeof(name), "data/%02x/t%d-%d", (i * 7) & 255,
			 w->id, i);
		if (bk_put(w->b, name, data, (size_t)n, &e) != 0 ||
		    bk_put(w->b, "index/shared", shared[w->id], SHARED_SIZE,
			   &e) != 0) {
			w->failures++;
			snprintf(w->msg, sizeof(w->msg), "%s", e.msg);
		}
	}
	return NULL;
}

static void *
reader(void *arg)
{
	struct worker *w = arg;
	struct sov_err e = {0};
	unsigned char *got;
	size_t len, k;
	int i;

	for (i = 0; i < PER_THREAD * 2; i++) {
		got = NULL;
		if (bk_get(w->b, "index/shared", SHARED_SIZE, &got, &len, NULL,
			   &e) != 0) {
			w->failures++;
			continue;
		}
		/* Whole objects only: one writer's bytes, all of them. */
		if (len != SHARED_SIZE)
			w->failures++;
		for (k = 1; k < len; k++)
			if (got[k] != got[0]) {
				w->failures++;
				break;
			}
		free(got);
	}
	return NULL;
}

static int
count_only(const char *name, uint64_t size, void *arg)
{
	(void)name;
	(void)size;
	(*(int *)arg)++;
	return 0;
}

static void
test_threads(void)
{
	struct sov_err e = {0};
	struct bk_backend *b;
	struct worker w[THREADS + 1];
	pthread_t t[THREADS + 1];
	char p[PATH_MAX];
	int i, failures = 0, n = 0;

	b = fresh("threads", p, sizeof(p));
	bk_put(b, "index/shared", "", 0, &e);
	{
		static unsigned char first[SHARED_SIZE];

		memset(first, 'Z', sizeof(first));
		bk_put(b, "index/shared", first, sizeof(first), &e);
	}
	memset(w, 0, sizeof(w));
	for (i = 0; i <= THREADS; i++) {
		w[i].b = b;
		w[i].id = i;
		pthread_create(&t[i], NULL, i < THREADS ? writer : reader,
			       &w[i]);
	}
	for (i = 0; i <= THREADS; i++) {
		pthread_join(t[i], NULL);
		failures += w[i].failures;
		if (w[i].failures)
			diag("thread %d: %d failures: %s", i, w[i].failures,
			     w[i].msg);
	}
	is_int(failures, 0, "threads: %d writers and a reader, no failure",
	       THREADS);
	is_int(bk_list(b, "data", count_only, &n, &e), 0, "threads: list");
	is_int(n, THREADS * PER_THREAD, "threads: every object listed");
	is_int(temps_in(p), 0, "threads: no temp file left");
	bk_backend_close(b);
}

int
main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");

	if (argc > 1 && strcmp(argv[1], "--child") == 0)
		return child_main(argc, argv);
	fault_init(argv[0]);
	xsnprintf(dir, sizeof(dir), "%s/test_backup_backend.XXXXXX",
		  tmp && tmp[0] ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_open_create();
	test_objects();
	test_names();
	test_faults();
	test_threads();
	return done_testing();
}
