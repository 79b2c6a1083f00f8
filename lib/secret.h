/*
 * secret.h - secrets from a file or a systemd credential, never from argv or
 * the environment, wiped after use.
 */
#ifndef SOV_SECRET_H
#define SOV_SECRET_H

#include <stddef.h>

#include "err.h"

#define SOV_SECRET_MAX (64u << 10)

struct sov_secret {
	unsigned char
	    *data;  /* sodium_malloc'ed, NUL-terminated; NULL if none */
	size_t len; /* without the NUL and one trailing newline */
};

/*
 * Load a secret. When file is not NULL it is read ("-" is refused: secrets
 * do not come through pipes shared with records). Otherwise, when
 * $CREDENTIALS_DIRECTORY is set and cred_id is not NULL,
 * $CREDENTIALS_DIRECTORY/cred_id is read. Neither: SOV_EXIT_USAGE naming both
 * ways. A file readable or writable by others is refused, as ssh refuses a
 * loose private key; an empty secret is refused; over SOV_SECRET_MAX is
 * refused. One trailing "\n" (or "\r\n") is dropped.
 *
 * Precisely: the last path component may not be a symlink (O_NOFOLLOW) and
 * must be a regular file; any permission bit for others (007) is refused,
 * group-readable is allowed (LoadCredential= sources, root:keys 0640) but
 * group-writable (020) is not. The cap applies to the file's bytes, before
 * the newline is dropped. Errors in what the caller named are
 * SOV_EXIT_USAGE. On error out->data is NULL.
 */
int sov_secret_load(const char *file, const char *cred_id,
		    struct sov_secret *out, struct sov_err *e);

/* Wipe and free; accepts a zeroed or already wiped secret. */
void sov_secret_wipe(struct sov_secret *s);

#endif
