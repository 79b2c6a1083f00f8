/*
 * fs.c - durable writes, capped reads, mkdir -p and the state directory; see
 * fs.h.
 *
 * Exit codes follow sov_exit_code_errno and sov_exit_code_open (err.h); an
 * input over its cap and a bad argument are SOV_EXIT_USAGE.
 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Grow step for inputs of unknown size (pipes, /proc, growing files). */
#define SOV_FS_READ_CHUNK 4096
/* The longest tool name sov_state_dir takes. */
#define SOV_FS_TOOL_MAX 64

int
sov_dir_fsync(const char *dir, struct sov_err *e)
{
	int fd, rc = -1;

	if (dir == NULL || dir[0] == '\0')
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "fsync directory: empty "
				   "path");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sov_err_sys(e, sov_exit_code_open(errno),
				   "open directory %s", dir);
	while (fsync(fd) != 0) {
		if (errno == EINTR)
			continue;
		sov_err_sys(e, sov_exit_code_errno(errno), "fsync directory %s",
			    dir);
		goto out;
	}
	rc = 0;
out:
	/* Nothing was written through this fd: close cannot lose data. */
	(void)close(fd);
	return rc;
}

static int
write_all(int fd, const unsigned char *p, size_t len, const char *name,
	  struct sov_err *e)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sov_err_sys(e, sov_exit_code_errno(errno),
					   "write %s", name);
		if (n == 0) {
			errno = ENOSPC; /* write(2) made no progress */
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "write %s",
					   name);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
sov_file_write_atomic(const char *path, const void *data, size_t len,
		      mode_t mode, struct sov_err *e)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *slash, *base;
	int fd = -1, tmp_exists = 0, rc = -1, n;

	if (path == NULL || path[0] == '\0')
		return sov_err_set(e, SOV_EXIT_USAGE, "write: empty path");
	if (data == NULL && len > 0)
		return sov_err_set(e, SOV_EXIT_USAGE, "write %s: no data",
				   path);
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (base[0] == '\0' || strcmp(base, ".") == 0 ||
	    strcmp(base, "..") == 0)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "write %s: names a directory, not a file",
				   path);
	/* The temp file sits next to path: rename(2) never crosses devices. */
	n = snprintf(tmp, sizeof(tmp), "%.*s.%s.tmp.XXXXXX", (int)(base - path),
		     path, base);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "write %.80s...: path too long", path);
	if (slash == NULL)
		n = snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		n = snprintf(dir, sizeof(dir), "/");
	else
		n = snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path),
			     path);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "write %.80s...: path too long", path);

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		sov_err_sys(e, sov_exit_code_errno(errno),
			    "write %s: create a temp file in %s", path, dir);
		goto out;
	}
	tmp_exists = 1;
	/* mkostemp made it 0600; the exact mode, umask aside, before data. */
	if (fchmod(fd, mode & 07777) != 0) {
		sov_err_sys(e, sov_exit_code_errno(errno), "chmod %s", tmp);
		goto out;
	}
	if (write_all(fd, data, len, tmp, e) != 0)
		goto out;
	while (fsync(fd) != 0) {
		if (errno == EINTR)
			continue;
		sov_err_sys(e, sov_exit_code_errno(errno), "fsync %s", tmp);
		goto out;
	}
	n = close(fd);
	fd = -1; /* gone even when close fails (Linux): never close twice */
	if (n != 0) {
		sov_err_sys(e, sov_exit_code_errno(errno), "close %s", tmp);
		goto out;
	}
	if (rename(tmp, path) != 0) {
		sov_err_sys(e, sov_exit_code_errno(errno), "rename %s to %s",
			    tmp, path);
		goto out;
	}
	tmp_exists = 0;
	if (sov_dir_fsync(dir, e) != 0) {
		/* The new content is in place but its name may not survive a
		 * crash: the caller still has to hear about it. */
		sov_err_prefix(e, "write %s: replaced, but ", path);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		(void)close(fd); /* already failing: the temp goes anyway */
	if (tmp_exists)
		(void)unlink(tmp);
	return rc;
}

int
sov_file_read(const char *path, size_t max, char **out, size_t *len,
	      struct sov_err *e)
{
	const char *name;
	char *buf = NULL, *nbuf;
	size_t alloc, total = 0;
	struct stat st;
	int fd = -1, rc = -1;

	if (out != NULL)
		*out = NULL;
	if (len != NULL)
		*len = 0;
	if (path == NULL || path[0] == '\0' || out == NULL || len == NULL)
		return sov_err_set(e, SOV_EXIT_USAGE, "read: empty path");
	/* max + 2 must not overflow: one byte to see the cap pass, one NUL. */
	if (max > SIZE_MAX / 2)
		max = SIZE_MAX / 2;
	if (strcmp(path, "-") == 0) {
		name = "stdin";
		fd = STDIN_FILENO;
	} else {
		name = path;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			sov_err_sys(e, sov_exit_code_open(errno), "open %s",
				    path);
			goto out;
		}
	}
	if (fstat(fd, &st) != 0) {
		sov_err_sys(e, sov_exit_code_errno(errno), "stat %s", name);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		sov_err_sys(e, SOV_EXIT_USAGE, "read %s", name);
		goto out;
	}
	/* A regular file says its size: refuse before reading a byte. */
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "%s: %jd bytes, over the cap of %zu bytes", name,
			    (intmax_t)st.st_size, max);
		goto out;
	}
	if (S_ISREG(st.st_mode) && st.st_size > 0)
		alloc = (size_t)st.st_size + 2;
	else
		alloc = SOV_FS_READ_CHUNK;
	if (alloc > max + 2)
		alloc = max + 2;
	buf = malloc(alloc);
	if (buf == NULL) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "read %s", name);
		goto out;
	}
	/* The size seen by fstat may be stale (a growing file, a pipe): the
	 * cap is enforced on the bytes actually read. */
	for (;;) {
		ssize_t n;

		if (total + 1 == alloc) {
			size_t want = alloc * 2;

			if (want > max + 2)
				want = max + 2;
			nbuf = realloc(buf, want);
			if (nbuf == NULL) {
				sov_err_sys(e, SOV_EXIT_TEMPFAIL, "read %s",
					    name);
				goto out;
			}
			buf = nbuf;
			alloc = want;
		}
		n = read(fd, buf + total, alloc - 1 - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sov_err_sys(e, sov_exit_code_errno(errno), "read %s",
				    name);
			goto out;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (total > max) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "%s: over the cap of %zu bytes", name, max);
			goto out;
		}
	}
	buf[total] = '\0';
	*out = buf;
	*len = total;
	buf = NULL;
	rc = 0;
out:
	/* Read-only: a close error cannot lose data. stdin stays open. */
	if (fd >= 0 && fd != STDIN_FILENO)
		(void)close(fd);
	free(buf);
	return rc;
}

/* mkdir one path; an existing directory (or symlink to one) is fine. */
static int
mkdir_one(const char *path, mode_t mode, struct sov_err *e)
{
	struct stat st;
	int saved;

	if (mkdir(path, mode) == 0)
		return 0;
	saved = errno;
	/* Also when mkdir says EACCES or EROFS for a directory that exists. */
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (saved == EEXIST)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "mkdir %s: exists and is not a directory",
				   path);
	errno = saved;
	return sov_err_sys(e, sov_exit_code_errno(saved), "mkdir %s", path);
}

int
sov_mkdir_p(const char *path, mode_t mode, struct sov_err *e)
{
	char buf[PATH_MAX];
	size_t n;
	char *p;

	if (path == NULL || path[0] == '\0')
		return sov_err_set(e, SOV_EXIT_USAGE, "mkdir: empty path");
	n = strlen(path);
	if (n >= sizeof(buf))
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "mkdir %.64s...: path longer than %zu bytes",
				   path, sizeof(buf) - 1);
	memcpy(buf, path, n + 1);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/' || p[-1] == '/')
			continue;
		*p = '\0';
		if (mkdir_one(buf, mode, e) != 0)
			return -1;
		*p = '/';
	}
	return mkdir_one(buf, mode, e);
}

/* getenv, with an empty value taken as unset. */
static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0') ? v : NULL;
}

/*
 * A tool's directory of one kind (what: "state directory"), from vars in
 * precedence order: vars[0] as is, the first entry of vars[1] (systemd),
 * vars[2]/sov/TOOL (XDG), vars[3] (HOME)/home_sub/sov/TOOL; created 0700.
 */
static int
tool_dir(const char *what, const char *const vars[4], const char *home_sub,
	 const char *tool, char *buf, size_t size, struct sov_err *e)
{
	const char *v = NULL;
	size_t i, toollen;
	int n, rc = -1;

	if (buf == NULL || size == 0)
		return sov_err_set(e, SOV_EXIT_USAGE, "%s: no buffer", what);
	buf[0] = '\0';
	toollen = tool ? strlen(tool) : 0;
	if (toollen == 0 || toollen > SOV_FS_TOOL_MAX ||
	    strchr(tool, '/') != NULL || strcmp(tool, ".") == 0 ||
	    strcmp(tool, "..") == 0) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "%s: bad tool name '%.80s' (1 to %d characters, no "
			    "'/')",
			    what, tool ? tool : "", SOV_FS_TOOL_MAX);
		goto out;
	}
	for (i = 0; i < 4; i++)
		if ((v = env(vars[i])) != NULL)
			break;
	if (v == NULL) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "%s: none of $%s, $%s, $%s, $%s is set", what,
			    vars[0], vars[1], vars[2], vars[3]);
		goto out;
	}
	if (v[0] != '/') {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "%s: $%s is not an absolute path: '%.200s'", what,
			    vars[i], v);
		goto out;
	}
	if (i == 0)
		n = snprintf(buf, size, "%s", v);
	else if (i == 1) /* systemd: one path per *Directory= entry */
		n = snprintf(buf, size, "%.*s", (int)strcspn(v, ":"), v);
	else if (i == 2)
		n = snprintf(buf, size, "%s/sov/%s", v, tool);
	else
		n = snprintf(buf, size, "%s/%s/sov/%s", v, home_sub, tool);
	if (n < 0 || (size_t)n >= size) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "%s from $%s: longer than %zu bytes", what, vars[i],
			    size - 1);
		goto out;
	}
	if (sov_mkdir_p(buf, 0700, e) != 0) {
		sov_err_prefix(e, "%s from $%s: ", what, vars[i]);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		buf[0] = '\0';
	return rc;
}

int
sov_state_dir(const char *tool, char *buf, size_t size, struct sov_err *e)
{
	static const char *const vars[] = {"SOV_STATE_DIR", "STATE_DIRECTORY",
					   "XDG_STATE_HOME", "HOME"};

	return tool_dir("state directory", vars, ".local/state", tool, buf,
			size, e);
}

int
sov_cache_dir(const char *tool, char *buf, size_t size, struct sov_err *e)
{
	static const char *const vars[] = {"SOV_CACHE_DIR", "CACHE_DIRECTORY",
					   "XDG_CACHE_HOME", "HOME"};

	return tool_dir("cache directory", vars, ".cache", tool, buf, size, e);
}
