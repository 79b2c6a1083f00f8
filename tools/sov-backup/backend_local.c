/*
 * backend_local.c - a repository in a local directory (a disk, a mounted USB
 * drive, NFS); see backend.h.
 *
 * Everything goes through *at() calls on one directory descriptor opened at
 * open time, so a later chdir or a relative location cannot move the
 * repository, and names (checked by bk_name_check) stay below it. The
 * descriptor and the display path are the only state, written once at open:
 * the backend is safe for any number of threads without a lock.
 *
 * put does by hand what sov_file_write_atomic does, because the temp file
 * must be called ".tmp-..." (list and prune recognise it), must sit in a
 * directory named relative to the descriptor, and errors must name the
 * object rather than the temp file.
 */
#include "backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"

#define LOCAL_DIR_MODE 0700
#define LOCAL_FILE_MODE 0600
#define LOCAL_TMP_PREFIX ".tmp-"
/* ".tmp-" and 16 hex digits. */
#define LOCAL_TMP_NAME_MAX 24
/* Temp names are random: a clash is practically impossible, but a few
 * tries cost nothing. */
#define LOCAL_TMP_TRIES 8
/* An object name, a '/' and a temp name. */
#define LOCAL_PATH_MAX (BK_NAME_MAX + 1 + LOCAL_TMP_NAME_MAX + 1)

static const char *const layout[] = {"keys", "data", "index", "snapshots",
				     "locks"};

struct local {
	struct bk_backend base; /* first: the interface casts back */
	int rootfd;
};

static struct local *
L(struct bk_backend *b)
{
	return (struct local *)b;
}

/* Where name lives, for messages: "/srv/repo/data/ab/ID". */
static const char *
root_of(struct bk_backend *b)
{
	return b->display;
}

/* The directory part of name into dir ("." for a top-level name). */
static void
parent_of(const char *name, char dir[BK_NAME_MAX + 1])
{
	const char *slash = strrchr(name, '/');

	if (slash == NULL) {
		dir[0] = '.';
		dir[1] = '\0';
		return;
	}
	memcpy(dir, name, (size_t)(slash - name));
	dir[slash - name] = '\0';
}

static int
fsync_dir_at(struct bk_backend *b, const char *dir, struct sov_err *e)
{
	int fd, rc = -1;

	fd = openat(L(b)->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sov_err_sys(e, sov_exit_code_errno(errno),
				   "open directory %s/%s", root_of(b), dir);
	while (fsync(fd) != 0) {
		if (errno == EINTR)
			continue;
		sov_err_sys(e, sov_exit_code_errno(errno),
			    "fsync directory %s/%s", root_of(b), dir);
		goto out;
	}
	rc = 0;
out:
	(void)close(fd); /* read-only descriptor: nothing to lose */
	return rc;
}

/* mkdir every missing directory of dir (relative), each made durable. */
static int
mkdir_parents(struct bk_backend *b, const char *dir, struct sov_err *e)
{
	char buf[BK_NAME_MAX + 1], up[BK_NAME_MAX + 1];
	size_t n = strlen(dir), i;

	if (n >= sizeof(buf))
		return sov_err_set(e, SOV_EXIT_USAGE, "mkdir: name too long");
	memcpy(buf, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdirat(L(b)->rootfd, buf, LOCAL_DIR_MODE) == 0) {
			parent_of(buf, up);
			if (fsync_dir_at(b, up, e) != 0)
				return -1;
		} else if (errno != EEXIST) {
			return sov_err_sys(e, sov_exit_code_errno(errno),
					   "mkdir %s/%s", root_of(b), buf);
		}
		if (i < n)
			buf[i] = '/';
	}
	return 0;
}

static int
tmp_name(const char *dir, char *out, size_t size, struct sov_err *e)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char r[8];
	char hex[17];
	ssize_t got;
	int n;

	do
		got = getrandom(r, sizeof(r), 0);
	while (got < 0 && errno == EINTR);
	if (got != (ssize_t)sizeof(r))
		return sov_err_sys(e, SOV_EXIT_FAIL, "getrandom");
	for (n = 0; n < 8; n++) {
		hex[2 * n] = digits[r[n] >> 4];
		hex[2 * n + 1] = digits[r[n] & 15];
	}
	hex[16] = '\0';
	if (strcmp(dir, ".") == 0)
		n = snprintf(out, size, LOCAL_TMP_PREFIX "%s", hex);
	else
		n = snprintf(out, size, "%s/" LOCAL_TMP_PREFIX "%s", dir, hex);
	if (n < 0 || (size_t)n >= size)
		return sov_err_set(e, SOV_EXIT_USAGE, "temp name too long");
	return 0;
}

static int
write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ENOSPC; /* no progress: the disk is full */
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A pack or any other object on its way: a temp file in dir. */
struct local_writer {
	struct bk_writer base; /* first: the interface casts back */
	int fd;
	char dir[BK_NAME_MAX + 1];
	char tmp[LOCAL_PATH_MAX];
};

static void
local_writer_abort(struct bk_writer *bw)
{
	struct local_writer *w = (struct local_writer *)bw;

	if (w->fd >= 0)
		(void)close(w->fd); /* failing already: the temp goes anyway */
	(void)unlinkat(L(w->base.b)->rootfd, w->tmp, 0);
	free(w);
}

static int
local_writer_open(struct bk_backend *b, const char *dir, struct bk_writer **out,
		  struct sov_err *e)
{
	struct local_writer *w = calloc(1, sizeof(*w));
	int made_dirs = 0, tries = 0;

	if (w == NULL)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "write %s/%s",
				   root_of(b), dir);
	w->base.b = b;
	w->fd = -1;
	if (strlen(dir) >= sizeof(w->dir)) {
		free(w);
		return sov_err_set(e, SOV_EXIT_USAGE, "write: name too long");
	}
	strcpy(w->dir, dir);
	for (;;) {
		if (tmp_name(dir, w->tmp, sizeof(w->tmp), e) != 0)
			break;
		w->fd = openat(L(b)->rootfd, w->tmp,
			       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
				   O_NOFOLLOW,
			       LOCAL_FILE_MODE);
		if (w->fd >= 0) {
			*out = &w->base;
			return 0;
		}
		if (errno == ENOENT && !made_dirs) {
			/* A parent directory went missing: make it again. */
			made_dirs = 1;
			if (mkdir_parents(b, dir, e) != 0)
				break;
			continue;
		}
		if (errno == EEXIST && ++tries < LOCAL_TMP_TRIES)
			continue;
		sov_err_sys(e, sov_exit_code_errno(errno),
			    "create temp file %s", w->tmp);
		break;
	}
	free(w);
	return -1;
}

static int
local_writer_write(struct bk_writer *bw, const void *data, size_t len,
		   struct sov_err *e)
{
	struct local_writer *w = (struct local_writer *)bw;

	if (write_all(w->fd, data, len) != 0)
		return sov_err_sys(e, sov_exit_code_errno(errno),
				   "write temp file %s", w->tmp);
	return 0;
}

/* fsync, close, rename to name (making its directory again if it went
 * missing), fsync the directory; the temp file goes on any failure. */
static int
local_writer_commit(struct bk_writer *bw, const char *name, struct sov_err *e)
{
	struct local_writer *w = (struct local_writer *)bw;
	struct bk_backend *b = w->base.b;
	char dir[BK_NAME_MAX + 1];
	int n, made_dirs = 0;

	while (fsync(w->fd) != 0) {
		if (errno == EINTR)
			continue;
		sov_err_sys(e, sov_exit_code_errno(errno),
			    "fsync temp file %s", w->tmp);
		goto fail;
	}
	n = close(w->fd);
	w->fd = -1; /* gone even when close fails (Linux) */
	if (n != 0) {
		sov_err_sys(e, sov_exit_code_errno(errno),
			    "close temp file %s", w->tmp);
		goto fail;
	}
	parent_of(name, dir);
	while (renameat(L(b)->rootfd, w->tmp, L(b)->rootfd, name) != 0) {
		if (errno == ENOENT && !made_dirs &&
		    faccessat(L(b)->rootfd, w->tmp, F_OK, AT_EACCESS) == 0) {
			made_dirs = 1;
			if (mkdir_parents(b, dir, e) != 0)
				goto fail;
			continue;
		}
		sov_err_sys(e, sov_exit_code_errno(errno),
			    "rename temp file %s", w->tmp);
		goto fail;
	}
	free(w);
	if (fsync_dir_at(b, dir, e) != 0) {
		/* In place, but the name may not survive a crash. */
		sov_err_prefix(e, "replaced, but ");
		return -1;
	}
	return 0;
fail:
	local_writer_abort(bw);
	return -1;
}

static int
local_put(struct bk_backend *b, const char *name, const void *data, size_t len,
	  struct sov_err *e)
{
	char dir[BK_NAME_MAX + 1];
	struct bk_writer *w = NULL;

	if (bk_name_check("put", name, e) != 0)
		return -1;
	if (data == NULL && len > 0)
		return sov_err_set(e, SOV_EXIT_USAGE, "put %s/%s: no data",
				   root_of(b), name);
	parent_of(name, dir);
	if (local_writer_open(b, dir, &w, e) != 0)
		goto fail;
	if (local_writer_write(w, data, len, e) != 0) {
		local_writer_abort(w);
		goto fail;
	}
	if (local_writer_commit(w, name, e) != 0)
		goto fail;
	return 0;
fail:
	sov_err_prefix(e, "put %s/%s: ", root_of(b), name);
	return -1;
}

/* Open an object for reading; *missing (when not NULL) says ENOENT. The
 * error names what ("get", "read"). */
static int
open_object(struct bk_backend *b, const char *what, const char *name,
	    struct stat *st, int *missing, struct sov_err *e)
{
	int fd, saved;

	/* O_NONBLOCK: a FIFO planted in the repository must not hang us. */
	fd = openat(L(b)->rootfd, name,
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		saved = errno;
		if (saved == ENOENT || saved == ENOTDIR) {
			if (missing != NULL)
				*missing = 1;
			errno = ENOENT;
			return sov_err_sys(e, SOV_EXIT_FAIL, "%s %s/%s", what,
					   root_of(b), name);
		}
		if (saved == ELOOP)
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "%s %s/%s: a symbolic link, not an "
					   "object",
					   what, root_of(b), name);
		return sov_err_sys(e, sov_exit_code_errno(saved), "%s %s/%s",
				   what, root_of(b), name);
	}
	if (fstat(fd, st) != 0) {
		sov_err_sys(e, sov_exit_code_errno(errno), "%s %s/%s", what,
			    root_of(b), name);
		(void)close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s %s/%s: not a regular file",
			    what, root_of(b), name);
		(void)close(fd);
		return -1;
	}
	return fd;
}

static int
local_get(struct bk_backend *b, const char *name, size_t max,
	  unsigned char **out, size_t *len, int *missing, struct sov_err *e)
{
	unsigned char *buf = NULL, extra;
	size_t size, total = 0;
	struct stat st;
	int fd = -1, rc = -1;
	ssize_t n;

	if (missing != NULL)
		*missing = 0;
	if (out == NULL || len == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "get %s: no output",
				   name ? name : "");
	*out = NULL;
	*len = 0;
	if (bk_name_check("get", name, e) != 0)
		return -1;
	fd = open_object(b, "get", name, &st, missing, e);
	if (fd < 0)
		goto out;
	if ((uintmax_t)st.st_size > max) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "get %s/%s: %jd bytes, over the cap of %zu bytes",
			    root_of(b), name, (intmax_t)st.st_size, max);
		goto out;
	}
	size = (size_t)st.st_size;
	buf = malloc(size + 1);
	if (buf == NULL) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "get %s/%s", root_of(b),
			    name);
		goto out;
	}
	while (total < size) {
		n = read(fd, buf + total, size - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sov_err_sys(e, sov_exit_code_errno(errno), "get %s/%s",
				    root_of(b), name);
			goto out;
		}
		if (n == 0)
			break;
		total += (size_t)n;
	}
	/* Objects never change in place (put renames): a size that moved
	 * means something else is writing into the repository. */
	do
		n = read(fd, &extra, 1);
	while (n < 0 && errno == EINTR);
	if (total != size || n != 0) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "get %s/%s: changed size while being read "
			    "(%zu bytes expected)",
			    root_of(b), name, size);
		goto out;
	}
	buf[size] = '\0';
	*out = buf;
	*len = size;
	buf = NULL;
	rc = 0;
out:
	if (fd >= 0)
		(void)close(fd); /* read-only */
	free(buf);
	return rc;
}

static int
local_get_range(struct bk_backend *b, const char *name, uint64_t off,
		size_t len, unsigned char *buf, struct sov_err *e)
{
	struct stat st;
	size_t total = 0;
	int fd = -1, rc = -1;

	if (bk_name_check("read", name, e) != 0)
		return -1;
	if (buf == NULL && len > 0)
		return sov_err_set(e, SOV_EXIT_FAIL, "read %s/%s: no buffer",
				   root_of(b), name);
	if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "read %s/%s: %zu bytes at offset %" PRIu64
				   ": out of range",
				   root_of(b), name, len, off);
	fd = open_object(b, "read", name, &st, NULL, e);
	if (fd < 0)
		goto out;
	while (total < len) {
		ssize_t n =
		    pread(fd, buf + total, len - total, (off_t)(off + total));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sov_err_sys(e, sov_exit_code_errno(errno),
				    "read %s/%s: %zu bytes at offset %" PRIu64,
				    root_of(b), name, len, off);
			goto out;
		}
		if (n == 0) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "read %s/%s: short object: %zu bytes at "
				    "offset %" PRIu64 " wanted, it has %jd "
				    "bytes",
				    root_of(b), name, len, off,
				    (intmax_t)st.st_size);
			goto out;
		}
		total += (size_t)n;
	}
	rc = 0;
out:
	if (fd >= 0)
		(void)close(fd); /* read-only */
	return rc;
}

static int
local_stat(struct bk_backend *b, const char *name, uint64_t *size, int *exists,
	   struct sov_err *e)
{
	struct stat st;

	if (size != NULL)
		*size = 0;
	if (exists != NULL)
		*exists = 0;
	if (bk_name_check("stat", name, e) != 0)
		return -1;
	if (fstatat(L(b)->rootfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return sov_err_sys(e, sov_exit_code_errno(errno), "stat %s/%s",
				   root_of(b), name);
	}
	if (!S_ISREG(st.st_mode))
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "stat %s/%s: not a regular file", root_of(b),
				   name);
	if (size != NULL)
		*size = (uint64_t)st.st_size;
	if (exists != NULL)
		*exists = 1;
	return 0;
}

/* One directory of a listing; depth 0 descends once more (data/ab/). */
static int
list_dir(struct bk_backend *b, const char *dir, int depth,
	 int (*fn)(const char *name, uint64_t size, void *arg), void *arg,
	 struct sov_err *e)
{
	char full[BK_NAME_MAX + 2];
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	int fd, rc = -1, n;

	fd = openat(L(b)->rootfd, dir,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		/* As in a bucket: a prefix nobody wrote under is empty. */
		if (errno == ENOENT)
			return 0;
		return sov_err_sys(e, sov_exit_code_errno(errno), "list %s/%s",
				   root_of(b), dir);
	}
	d = fdopendir(fd);
	if (d == NULL) {
		sov_err_sys(e, sov_exit_code_errno(errno), "list %s/%s",
			    root_of(b), dir);
		(void)close(fd);
		return -1;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0) {
				sov_err_sys(e, sov_exit_code_errno(errno),
					    "list %s/%s", root_of(b), dir);
				goto out;
			}
			break;
		}
		/* Temp files, "." and ".." start with '.'. */
		if (de->d_name[0] == '.')
			continue;
		n = snprintf(full, sizeof(full), "%s/%s", dir, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(full) ||
		    bk_name_check(NULL, full, NULL) != 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) !=
		    0) {
			if (errno == ENOENT) /* removed meanwhile */
				continue;
			sov_err_sys(e, sov_exit_code_errno(errno),
				    "list: stat %s/%s", root_of(b), full);
			goto out;
		}
		if (S_ISREG(st.st_mode)) {
			n = fn(full, (uint64_t)st.st_size, arg);
			if (n != 0) {
				rc = n;
				goto out;
			}
		} else if (S_ISDIR(st.st_mode) && depth == 0) {
			n = list_dir(b, full, 1, fn, arg, e);
			if (n != 0) {
				rc = n;
				goto out;
			}
		}
	}
	rc = 0;
out:
	(void)closedir(d); /* read-only */
	return rc;
}

static int
local_list(struct bk_backend *b, const char *dir,
	   int (*fn)(const char *name, uint64_t size, void *arg), void *arg,
	   struct sov_err *e)
{
	if (bk_name_check("list", dir, e) != 0)
		return -1;
	if (fn == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "list %s/%s: no callback",
				   root_of(b), dir);
	return list_dir(b, dir, 0, fn, arg, e);
}

static int
local_remove(struct bk_backend *b, const char *name, struct sov_err *e)
{
	char dir[BK_NAME_MAX + 1];

	if (bk_name_check("remove", name, e) != 0)
		return -1;
	if (unlinkat(L(b)->rootfd, name, 0) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return sov_err_sys(e, sov_exit_code_errno(errno),
				   "remove %s/%s", root_of(b), name);
	}
	parent_of(name, dir);
	if (fsync_dir_at(b, dir, e) != 0)
		return sov_err_prefix(e, "remove %s/%s: removed, but ",
				      root_of(b), name);
	return 0;
}

static void
local_close(struct bk_backend *b)
{
	if (b == NULL)
		return;
	if (L(b)->rootfd >= 0)
		(void)close(L(b)->rootfd); /* directory: nothing to lose */
	free(b);
}

static const struct bk_backend_ops local_ops = {
    .put = local_put,
    .get = local_get,
    .get_range = local_get_range,
    .stat = local_stat,
    .list = local_list,
    .writer_open = local_writer_open,
    .writer_write = local_writer_write,
    .writer_commit = local_writer_commit,
    .writer_abort = local_writer_abort,
    .remove = local_remove,
    .close = local_close,
};

/* 1 when the directory open as fd holds no entry but "." and "..". */
static int
dir_empty(int fd, const char *path, int *empty, struct sov_err *e)
{
	struct dirent *de;
	DIR *d;
	int dup_fd, rc = -1;

	*empty = 1;
	/* fdopendir takes the descriptor over: give it a copy. */
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0)
		return sov_err_sys(e, sov_exit_code_errno(errno), "read %s",
				   path);
	d = fdopendir(dup_fd);
	if (d == NULL) {
		sov_err_sys(e, sov_exit_code_errno(errno), "read %s", path);
		(void)close(dup_fd);
		return -1;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0) {
				sov_err_sys(e, sov_exit_code_errno(errno),
					    "read %s", path);
				goto out;
			}
			break;
		}
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			*empty = 0;
			break;
		}
	}
	rc = 0;
out:
	(void)closedir(d);
	return rc;
}

/* The parent directory of path, for mkdir -p and its fsync. */
static int
parent_path(const char *path, char *out, size_t size)
{
	size_t n = strlen(path);
	int w;

	while (n > 1 && path[n - 1] == '/')
		n--;
	while (n > 0 && path[n - 1] != '/')
		n--;
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 0)
		w = snprintf(out, size, ".");
	else
		w = snprintf(out, size, "%.*s", (int)n, path);
	return (w < 0 || (size_t)w >= size) ? -1 : 0;
}

/* Make the root (when missing) and the layout below it. */
static int
create_layout(const char *path, int *rootfd, struct sov_err *e)
{
	char parent[PATH_MAX], sub[8];
	struct stat st;
	int fd, empty, i, created = 0;

	if (mkdir(path, LOCAL_DIR_MODE) == 0) {
		created = 1;
	} else if (errno == ENOENT) {
		if (parent_path(path, parent, sizeof(parent)) != 0)
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "%s: path too long", path);
		if (sov_mkdir_p(parent, LOCAL_DIR_MODE, e) != 0)
			return sov_err_prefix(e,
					      "create repository %s: ", path);
		if (mkdir(path, LOCAL_DIR_MODE) != 0)
			return sov_err_sys(e, sov_exit_code_errno(errno),
					   "create repository %s", path);
		created = 1;
	} else if (errno != EEXIST) {
		return sov_err_sys(e, sov_exit_code_errno(errno),
				   "create repository %s", path);
	}
	if (created) {
		if (parent_path(path, parent, sizeof(parent)) != 0)
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "%s: path too long", path);
		if (sov_dir_fsync(parent, e) != 0)
			return sov_err_prefix(e,
					      "create repository %s: ", path);
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sov_err_sys(e, sov_exit_code_open(errno),
				   "create repository %s", path);
	*rootfd = fd;
	if (fstatat(fd, "config", &st, AT_SYMLINK_NOFOLLOW) == 0)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "create repository %s: already a "
				   "sov-backup repository",
				   path);
	if (dir_empty(fd, path, &empty, e) != 0)
		return -1;
	if (!empty)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "create repository %s: the directory is not "
				   "empty (a new repository needs a missing or "
				   "empty directory)",
				   path);
	for (i = 0; i < (int)(sizeof(layout) / sizeof(layout[0])); i++)
		if (mkdirat(fd, layout[i], LOCAL_DIR_MODE) != 0)
			return sov_err_sys(e, sov_exit_code_errno(errno),
					   "create repository: mkdir %s/%s",
					   path, layout[i]);
	for (i = 0; i < 256; i++) {
		if (snprintf(sub, sizeof(sub), "data/%02x", i) >=
		    (int)sizeof(sub))
			return sov_err_set(e, SOV_EXIT_FAIL, "mkdir: data/%x",
					   i);
		if (mkdirat(fd, sub, LOCAL_DIR_MODE) != 0)
			return sov_err_sys(e, sov_exit_code_errno(errno),
					   "create repository: mkdir %s/%s",
					   path, sub);
	}
	return 0;
}

struct bk_backend *
bk_backend_local_open(const char *path, int create, struct sov_err *e)
{
	struct bk_backend *ret = NULL;
	struct local *l = NULL;
	struct stat st;
	int rootfd = -1, n;

	if (path == NULL || path[0] == '\0') {
		sov_err_set(e, SOV_EXIT_USAGE, "repository: empty path");
		goto out;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "open repository %s", path);
		goto out;
	}
	l->rootfd = -1;
	l->base.ops = &local_ops;
	n = snprintf(l->base.display, sizeof(l->base.display), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(l->base.display)) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "repository %.64s...: path longer than %zu bytes",
			    path, sizeof(l->base.display) - 1);
		goto out;
	}
	/* "/srv/repo/" and "/srv/repo" name the same thing in messages. */
	while (n > 1 && l->base.display[n - 1] == '/')
		l->base.display[--n] = '\0';
	if (create) {
		if (create_layout(path, &rootfd, e) != 0)
			goto out;
		l->rootfd = rootfd;
		rootfd = -1;
		if (fsync_dir_at(&l->base, "data", e) != 0 ||
		    fsync_dir_at(&l->base, ".", e) != 0) {
			sov_err_prefix(e, "create repository: ");
			goto out;
		}
		ret = &l->base;
		goto out;
	}
	rootfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		sov_err_sys(e, sov_exit_code_open(errno), "open repository %s",
			    path);
		goto out;
	}
	if (fstatat(rootfd, "config", &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			sov_err_set(e, SOV_EXIT_USAGE,
				    "%s: not a sov-backup repository (no "
				    "config)",
				    l->base.display);
		else
			sov_err_sys(e, sov_exit_code_errno(errno),
				    "open repository: stat %s/config",
				    l->base.display);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "open repository: %s/config is not a regular file",
			    l->base.display);
		goto out;
	}
	l->rootfd = rootfd;
	rootfd = -1;
	ret = &l->base;
out:
	if (rootfd >= 0)
		(void)close(rootfd);
	if (ret == NULL && l != NULL)
		local_close(&l->base);
	return ret;
}
