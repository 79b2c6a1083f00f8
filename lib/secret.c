/*
 * secret.c - load a secret from a file or a systemd credential; see secret.h.
 *
 * Permissions: any bit for others (mode & 007) is refused, as ssh refuses a
 * loose key. Group-readable is allowed: LoadCredential= sources and files
 * handed out through a shared group (e.g. root:keys 0640) are group-readable
 * on purpose. Group-writable (020) is refused: whoever can write the file
 * chooses the secret.
 *
 * Only the last path component is checked with O_NOFOLLOW: a symlink there
 * is refused; directories above it may be symlinks.
 *
 * The secret lives only in sodium_malloc'ed memory (guard pages, mlock'ed
 * where the system allows): a scratch buffer the size of the cap, then the
 * exact-size result. The scratch buffer is wiped with sodium_memzero before
 * it is freed.
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The longest credential id taken from the caller (systemd allows 255). */
#define SOV_SECRET_ID_MAX 255

/* Read an open secret file into *out; path is for messages. */
static int
read_secret(int fd, const char *path, struct sov_secret *out, struct sov_err *e)
{
	unsigned char *scratch = NULL;
	size_t total = 0, len;
	struct stat st;
	int rc = -1;

	if (fstat(fd, &st) != 0) {
		sov_err_sys(e, SOV_EXIT_FAIL, "stat %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		sov_err_set(e, SOV_EXIT_USAGE, "secret %s: not a regular file",
			    path);
		goto out;
	}
	if ((st.st_mode & 007) != 0) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "secret %s: accessible by others (mode %04o): "
			    "refused; run: chmod o-rwx %s",
			    path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if ((st.st_mode & 020) != 0) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "secret %s: writable by its group (mode %04o): "
			    "refused; run: chmod g-w %s",
			    path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if ((uintmax_t)st.st_size > SOV_SECRET_MAX) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "secret %s: %jd bytes, over the cap of %u bytes",
			    path, (intmax_t)st.st_size, SOV_SECRET_MAX);
		goto out;
	}
	/* One byte past the cap shows a file that grew after fstat. */
	scratch = sodium_malloc(SOV_SECRET_MAX + 1);
	if (scratch == NULL) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "secret %s: sodium_malloc",
			    path);
		goto out;
	}
	for (;;) {
		ssize_t n =
		    read(fd, scratch + total, SOV_SECRET_MAX + 1 - total);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sov_err_sys(e, SOV_EXIT_FAIL, "read %s", path);
			goto out;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (total > SOV_SECRET_MAX) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "secret %s: over the cap of %u bytes", path,
				    SOV_SECRET_MAX);
			goto out;
		}
	}
	len = total;
	if (len > 0 && scratch[len - 1] == '\n') {
		len--;
		if (len > 0 && scratch[len - 1] == '\r')
			len--;
	}
	if (len == 0) {
		sov_err_set(e, SOV_EXIT_USAGE, "secret %s: empty", path);
		goto out;
	}
	out->data = sodium_malloc(len + 1);
	if (out->data == NULL) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "secret %s: sodium_malloc",
			    path);
		goto out;
	}
	memcpy(out->data, scratch, len);
	out->data[len] = '\0';
	out->len = len;
	rc = 0;
out:
	if (scratch != NULL) {
		sodium_memzero(scratch, total);
		sodium_free(scratch);
	}
	return rc;
}

int
sov_secret_load(const char *file, const char *cred_id, struct sov_secret *out,
		struct sov_err *e)
{
	char buf[PATH_MAX];
	const char *path, *dir;
	int fd = -1, rc = -1, n;

	if (out == NULL)
		return sov_err_set(e, SOV_EXIT_USAGE, "secret: no output");
	out->data = NULL;
	out->len = 0;
	/* Idempotent and thread-safe: 0 first time, 1 after, -1 failure. */
	if (sodium_init() < 0)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "secret: libsodium failed to initialise");

	dir = getenv("CREDENTIALS_DIRECTORY");
	if (dir != NULL && dir[0] == '\0')
		dir = NULL;
	if (file != NULL) {
		if (file[0] == '\0') {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "secret: empty file name");
			goto out;
		}
		if (strcmp(file, "-") == 0) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "secret: '-' refused: a secret is not read "
				    "from stdin; name a file");
			goto out;
		}
		path = file;
	} else if (dir != NULL && cred_id != NULL) {
		size_t idlen = strlen(cred_id);

		if (idlen == 0 || idlen > SOV_SECRET_ID_MAX ||
		    strchr(cred_id, '/') != NULL || strcmp(cred_id, ".") == 0 ||
		    strcmp(cred_id, "..") == 0) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "secret: bad credential id '%.80s'",
				    cred_id);
			goto out;
		}
		n = snprintf(buf, sizeof(buf), "%s/%s", dir, cred_id);
		if (n < 0 || (size_t)n >= sizeof(buf)) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "secret: $CREDENTIALS_DIRECTORY/%s: path "
				    "too long",
				    cred_id);
			goto out;
		}
		path = buf;
	} else {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "no secret given: neither a file nor "
			    "$CREDENTIALS_DIRECTORY/%s%s",
			    cred_id ? cred_id : "ID",
			    dir == NULL ? " ($CREDENTIALS_DIRECTORY is not set)"
					: " (no credential id)");
		goto out;
	}

	/* O_NONBLOCK: a FIFO must not hang us before fstat refuses it. */
	fd = open(path,
		  O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			sov_err_set(e, SOV_EXIT_USAGE,
				    "secret %s: a symbolic link: refused "
				    "(name the file itself)",
				    path);
		else
			sov_err_sys(e, sov_exit_code_open(errno), "open %s",
				    path);
		goto out;
	}
	if (read_secret(fd, path, out, e) != 0)
		goto out;
	rc = 0;
out:
	/* Read-only: a close error cannot lose data. */
	if (fd >= 0)
		(void)close(fd);
	return rc;
}

void
sov_secret_wipe(struct sov_secret *s)
{
	if (s == NULL)
		return;
	/* sodium_free zeroes the whole allocation before unmapping it. */
	if (s->data != NULL)
		sodium_free(s->data);
	s->data = NULL;
	s->len = 0;
}
