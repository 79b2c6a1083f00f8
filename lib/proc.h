/*
 * proc.h - run one command to its end: posix_spawn in its own process
 * group, its stdin fed from a buffer, its stdout kept up to a cap, the
 * start and the end of its stderr kept, a deadline. Safe from any thread.
 *
 * posix_spawn, not fork: the callers have threads, and between fork and
 * exec only async-signal-safe calls are allowed. Every pipe is O_CLOEXEC,
 * so no other thread's child inherits one. The child gets every signal at
 * its default and unblocked, as a freshly started program expects.
 *
 * Its process group is killed as one: at the deadline (SIGTERM, then
 * SIGKILL kill_grace_ms later; or SIGKILL at once), when stdout passes the
 * cap (SIGKILL), and when the command ends (SIGKILL, whatever it left
 * running). The command is seen to end through a pidfd where the kernel
 * has one, else by looking every SOV_PROC_TICK_MS (50); it stays a zombie
 * until its group has been killed, so that the group id cannot be reused.
 *
 * SIGPIPE is blocked in the calling thread while the input is written,
 * and one raised by our write is taken back: a command that does not read
 * its input is fine.
 *
 * The process must keep SIGCHLD at its default (SIG_IGN reaps children
 * behind our back), no thread may wait(-1) or waitpid(-1, ...).
 */
#ifndef SOV_PROC_H
#define SOV_PROC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SOV_PROC_ERR_KEEP 2048 /* bytes kept of stderr's start and end */
#define SOV_PROC_PATH_MAX 4096 /* the file run, with its directory */
#define SOV_PROC_DRAIN_MS 2000 /* pipes still read after the command ended */

struct sov_proc_opts {
	/* argv[0]: a path when it has a slash, else the first executable
	 * regular file of that name in $PATH (entries that are not
	 * absolute skipped; /usr/local/bin:/usr/bin:/bin when unset) */
	char *const *argv;
	char *const *env;      /* the command's environment; NULL: environ */
	const char *in;        /* its stdin; NULL or in_len 0: empty */
	size_t in_len;         /* (borrowed: kept until the call returns) */
	int64_t timeout_ms;    /* from the call */
	int64_t kill_grace_ms; /* at the deadline: 0 SIGKILL; else SIGTERM,
				* and SIGKILL this much later */
	size_t out_max;        /* stdout bytes; past it the group is killed */
};

struct sov_proc_result {
	int status;    /* as from waitpid, when it started */
	int timed_out; /* its group was signalled at the deadline */
	int over;      /* stdout passed out_max: its group was killed */
	char *out;     /* stdout, NUL-terminated, never NULL after 0 (up to
			* out_max + 1 bytes when over); sov_proc_result_free */
	size_t out_len;
	char err_head[SOV_PROC_ERR_KEEP]; /* the first bytes of stderr */
	size_t err_head_len;
	char err_tail[SOV_PROC_ERR_KEEP]; /* the last bytes of stderr */
	size_t err_tail_len;
	size_t err_total; /* bytes of stderr read in all */
	/* it did not start (sov_proc_run returned 1): */
	int start_err; /* errno: ENOENT, EACCES, ETXTBSY, ... */
	int found;     /* argv[0] is an executable file, path (so ENOENT:
			* the interpreter its #! line names is missing) */
	char path[SOV_PROC_PATH_MAX];
};

/*
 * Run o->argv. 0: it ran to an exit or a signal (r->status, r->timed_out,
 * r->over); 1: it could not be started (r->start_err says why, r->found
 * and r->path what was tried); -1: our own failure (no pipe, no memory, no
 * process to spare, poll or wait failing), with e set. The command is
 * always reaped before this returns. r needs no initialisation; free it
 * with sov_proc_result_free whatever this returned.
 */
int sov_proc_run(const struct sov_proc_opts *o, struct sov_proc_result *r,
		 struct sov_err *e);

/* Frees r->out; safe twice. */
void sov_proc_result_free(struct sov_proc_result *r);

/*
 * Why cmd (argv[0]) could not be started, after sov_proc_run returned 1:
 * "cannot run CMD: command not found in PATH", "... no such file", "...
 * the interpreter its #! line names is missing", "... not executable
 * (permission denied)", or the errno's text. Into buf; returns buf.
 */
const char *sov_proc_refusal(const struct sov_proc_result *r, const char *cmd,
			     char *buf, size_t size);

#endif
