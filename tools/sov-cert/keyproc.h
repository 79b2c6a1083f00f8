/*
 * keyproc.h - the key child: the only process that ever holds the account
 * key (after OpenBSD acme-client's keyproc/acctproc).
 *
 * ct_keyproc_start forks. The child loads the account key (or, when asked,
 * makes a new P-256 key and writes it 0600 without ever replacing a file),
 * sends its public JWK, and then answers signing requests on a socketpair
 * until the parent closes its end. It never touches the network; the
 * parent never holds the key.
 *
 * Frames on the socket, both ways: a 4-byte big-endian length, then that
 * many bytes. Requests start with a type byte: 'S' and the bytes to sign
 * (at most CT_JWS_INPUT_MAX), 'T' the same with the next key, 'N' make a
 * next key (written 0600 as PATH.new), 'L' load PATH.new as the next key
 * (left by an interrupted rollover), 'C' commit it (renamed over PATH,
 * and used from then on). Replies start with a type byte: 'J' a JWK text
 * (or 'N' at start: a new key was made), 'S' the 64-byte signature, 'K'
 * done, 'E' an exit code byte and a message. Replies are at most
 * CT_KEYPROC_REPLY_MAX bytes.
 */
#ifndef CT_KEYPROC_H
#define CT_KEYPROC_H

#include <sys/types.h>

#include "jws.h"

#define CT_KEYPROC_REPLY_MAX 4096

struct ct_keyproc {
	pid_t pid;
	int fd;
	int created;             /* the child made a new key */
	struct ct_signer signer; /* signs through the child */
	struct ct_signer next;   /* the next key during a rollover */
};

/*
 * Start the child for the key file at path; create: make one when the file
 * is missing. On success kp->signer is ready. On error nothing is left
 * running.
 */
int ct_keyproc_start(struct ct_keyproc *kp, const char *path, int create,
		     struct sov_err *e);
/* Key rollover: make the next key (kp->next signs with it), then, once
 * the CA has accepted it, make it the key (kp->signer follows). */
int ct_keyproc_next(struct ct_keyproc *kp, struct sov_err *e);
int ct_keyproc_commit(struct ct_keyproc *kp, struct sov_err *e);
/* The next key from PATH.new, as left by a rollover that was killed. */
int ct_keyproc_load_next(struct ct_keyproc *kp, struct sov_err *e);

/* Close the socket and reap the child; accepts a zeroed or stopped kp.
 * Returns -1 when the child did not exit 0. */
int ct_keyproc_stop(struct ct_keyproc *kp);

#endif
