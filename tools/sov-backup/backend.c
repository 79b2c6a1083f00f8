/*
 * backend.c - the backend interface: opening a location, the name rule, and
 * the shorthands every module calls; see backend.h.
 *
 * The shorthands check the name again although every backend does: a new
 * backend that forgets cannot open a hole.
 */
#include "backend.h"

#include <string.h>

/* A location prefix up to ':' is taken as a URL scheme when it is this
 * short and made of scheme characters (RFC 3986). */
#define BK_SCHEME_MAX 16

/* Other tools' backend prefixes: refused, so "s3:bucket" never becomes a
 * local directory by mistake. */
static const char *const foreign_schemes[] = {
    "s3", "sftp",  "rest",   "b2",   "azure",
    "gs", "swift", "rclone", "http", "https",
};

static int
name_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-' || c == '/';
}

/* A copy of s safe to print: at most 64 bytes, others than [ -~] as '?'. */
static void
printable(const char *s, char *out, size_t size)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 4 < size && i < 64; i++)
		out[i] = (s[i] >= ' ' && s[i] <= '~') ? s[i] : '?';
	if (s[i] != '\0' && i + 4 <= size) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

int
bk_name_check(const char *what, const char *name, struct sov_err *e)
{
	const char *why = NULL;
	char shown[80];
	size_t i, len;

	if (what == NULL)
		what = "object";
	if (name == NULL || name[0] == '\0')
		return sov_err_set(e, SOV_EXIT_USAGE, "%s: empty object name",
				   what);
	len = strnlen(name, BK_NAME_MAX + 1);
	if (len > BK_NAME_MAX) {
		printable(name, shown, sizeof(shown));
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "%s: bad object name '%s': longer than %d "
				   "bytes",
				   what, shown, BK_NAME_MAX);
	}
	for (i = 0; i < len && why == NULL; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!name_char_ok(c))
			why = "only a-z 0-9 . _ - / allowed";
		else if (c == '/' && (i == 0 || name[i - 1] == '/'))
			why = i == 0 ? "starts with '/'" : "empty component";
		else if (c == '.' && (i == 0 || name[i - 1] == '/'))
			why = "a component starts with '.'";
	}
	if (why == NULL && name[len - 1] == '/')
		why = "ends with '/'";
	if (why == NULL)
		return 0;
	printable(name, shown, sizeof(shown));
	return sov_err_set(e, SOV_EXIT_USAGE, "%s: bad object name '%s': %s",
			   what, shown, why);
}

/* 1 when location starts with a URL scheme ("xyz:") other than file:,
 * with the scheme in scheme[]. */
static int
foreign_scheme(const char *location, char *scheme, size_t size)
{
	size_t n = 0, i;

	while (n < BK_SCHEME_MAX &&
	       ((location[n] >= 'a' && location[n] <= 'z') ||
		(location[n] >= 'A' && location[n] <= 'Z') ||
		(n > 0 && ((location[n] >= '0' && location[n] <= '9') ||
			   location[n] == '+' || location[n] == '-' ||
			   location[n] == '.'))))
		n++;
	if (n == 0 || n >= size || location[n] != ':')
		return 0;
	memcpy(scheme, location, n);
	scheme[n] = '\0';
	if (strncmp(location + n, "://", 3) == 0)
		return 1;
	for (i = 0; i < sizeof(foreign_schemes) / sizeof(foreign_schemes[0]);
	     i++)
		if (strcmp(scheme, foreign_schemes[i]) == 0)
			return 1;
	return 0;
}

struct bk_backend *
bk_backend_open(const char *location, int create, struct sov_err *e)
{
	char scheme[BK_SCHEME_MAX + 1], shown[80];

	if (location == NULL || location[0] == '\0') {
		sov_err_set(e, SOV_EXIT_USAGE, "repository: empty location");
		return NULL;
	}
	if (strncmp(location, "file:", 5) == 0) {
		location += 5;
		if (location[0] == '\0') {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "repository 'file:': empty path");
			return NULL;
		}
		/* file:///srv/repo and file:/srv/repo alike; no hosts. */
		if (strncmp(location, "///", 3) == 0) {
			location += 2;
		} else if (strncmp(location, "//", 2) == 0) {
			printable(location - 5, shown, sizeof(shown));
			sov_err_set(e, SOV_EXIT_USAGE,
				    "repository '%s': file://HOST/ is not "
				    "supported (file:///PATH or file:PATH)",
				    shown);
			return NULL;
		}
		return bk_backend_local_open(location, create, e);
	}
	if (foreign_scheme(location, scheme, sizeof(scheme))) {
		printable(location, shown, sizeof(shown));
		sov_err_set(e, SOV_EXIT_USAGE,
			    "repository '%s': unsupported location type '%s:' "
			    "(a directory path or file:PATH; write './%s' for "
			    "a relative directory of that name)",
			    shown, scheme, shown);
		return NULL;
	}
	return bk_backend_local_open(location, create, e);
}

/* The checks every shorthand starts with. */
static int
check(struct bk_backend *b, const char *what, const char *name,
      struct sov_err *e)
{
	if (b == NULL || b->ops == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "%s: no repository open",
				   what);
	return bk_name_check(what, name, e);
}

int
bk_put(struct bk_backend *b, const char *name, const void *data, size_t len,
       struct sov_err *e)
{
	if (check(b, "put", name, e) != 0)
		return -1;
	return b->ops->put(b, name, data, len, e);
}

int
bk_get(struct bk_backend *b, const char *name, size_t max, unsigned char **out,
       size_t *len, int *missing, struct sov_err *e)
{
	if (out != NULL)
		*out = NULL;
	if (len != NULL)
		*len = 0;
	if (missing != NULL)
		*missing = 0;
	if (check(b, "get", name, e) != 0)
		return -1;
	return b->ops->get(b, name, max, out, len, missing, e);
}

int
bk_get_range(struct bk_backend *b, const char *name, uint64_t off, size_t len,
	     unsigned char *buf, struct sov_err *e)
{
	if (check(b, "read", name, e) != 0)
		return -1;
	return b->ops->get_range(b, name, off, len, buf, e);
}

int
bk_stat(struct bk_backend *b, const char *name, uint64_t *size, int *exists,
	struct sov_err *e)
{
	if (size != NULL)
		*size = 0;
	if (exists != NULL)
		*exists = 0;
	if (check(b, "stat", name, e) != 0)
		return -1;
	return b->ops->stat(b, name, size, exists, e);
}

int
bk_list(struct bk_backend *b, const char *dir,
	int (*fn)(const char *name, uint64_t size, void *arg), void *arg,
	struct sov_err *e)
{
	if (check(b, "list", dir, e) != 0)
		return -1;
	return b->ops->list(b, dir, fn, arg, e);
}

int
bk_remove(struct bk_backend *b, const char *name, struct sov_err *e)
{
	if (check(b, "remove", name, e) != 0)
		return -1;
	return b->ops->remove(b, name, e);
}

int
bk_writer_open(struct bk_backend *b, const char *dir, struct bk_writer **w,
	       struct sov_err *e)
{
	*w = NULL;
	if (check(b, "write", dir, e) != 0)
		return -1;
	return b->ops->writer_open(b, dir, w, e);
}

int
bk_writer_write(struct bk_writer *w, const void *data, size_t len,
		struct sov_err *e)
{
	return w->b->ops->writer_write(w, data, len, e);
}

int
bk_writer_commit(struct bk_writer *w, const char *name, struct sov_err *e)
{
	if (bk_name_check("put", name, e) != 0) {
		w->b->ops->writer_abort(w);
		return -1;
	}
	return w->b->ops->writer_commit(w, name, e);
}

void
bk_writer_abort(struct bk_writer *w)
{
	if (w != NULL)
		w->b->ops->writer_abort(w);
}

void
bk_backend_close(struct bk_backend *b)
{
	if (b != NULL && b->ops != NULL)
		b->ops->close(b);
}
