/*
 * source_child.h - what source_pg.c needs from source_child.c: a child
 * process on chosen descriptors, and the temporary files around it. Not
 * for use elsewhere: source.h is the interface.
 */
#ifndef BK_SOURCE_CHILD_H
#define BK_SOURCE_CHILD_H

#include <sys/types.h>

#include "err.h"

/* The most descriptors a child is given (0..3). */
#define BK_CHILD_FDS_MAX 4

/*
 * Run path with argv and envp: fds[i] becomes the child's descriptor i
 * (nfds of them, at most BK_CHILD_FDS_MAX), every other one is closed, the
 * signal mask is cleared and SIGPIPE, SIGINT, SIGTERM, SIGHUP are back to
 * their defaults. An exec that fails is reported here, not at finish.
 */
int bk_child_spawn(const char *path, char *const argv[], char *const envp[],
		   const int fds[], int nfds, pid_t *pid_out,
		   struct sov_err *e);

/* An unlinked temporary file in $TMPDIR (close-on-exec), or -1. what
 * goes into its short-lived name. */
int bk_child_tmpfile(const char *what, struct sov_err *e);

/*
 * Text from a child or libpq as one line, in place: control characters
 * become spaces, runs of spaces one, none at either end.
 */
void bk_child_one_line(char *s);

#endif
