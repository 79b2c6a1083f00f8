/*
 * child.h - run a command to its end with a deadline: stdin from a buffer
 * (or empty), stdout kept up to a cap, the start of stderr kept for the
 * error message. Safe from any thread. The running is libsov's
 * (proc.h); this is sov-probe's view of it: SIGKILL at the deadline, and
 * the messages its results and alerts give.
 */
#ifndef PR_CHILD_H
#define PR_CHILD_H

#include <stddef.h>
#include <stdint.h>

#define PR_CHILD_STDERR_MAX 512

struct pr_child_out {
	int status;    /* as from waitpid; valid when ran */
	int timed_out; /* killed at the deadline */
	int too_much;  /* stdout went past the cap (the child was killed) */
	char *out;     /* stdout, NUL-terminated (caller frees) */
	size_t len;
	char err[PR_CHILD_STDERR_MAX]; /* the start of stderr, one line */
};

/*
 * Run argv (argv[0] looked up in PATH) in its own process group; the whole
 * group is killed at timeout_ms, when stdout passes max bytes, and when
 * the command ends. 0 when it ran to an exit or a signal (see o->status,
 * o->timed_out, o->too_much); -1 with why in o->err ("ARGV0: errno text"
 * when it could not start).
 */
int pr_child_run(char *const argv[], const char *in, size_t in_len,
		 int64_t timeout_ms, size_t max, struct pr_child_out *o);

void pr_child_out_clear(struct pr_child_out *o);

/* "exit 3", "killed by SIGKILL", "timed out after 5s", ... into buf. */
const char *pr_child_why(const struct pr_child_out *o, int64_t timeout_ms,
			 char *buf, size_t size);

#endif
