/*
 * exec.h - run ONE action of a workflow step (its run, jq or http, or its
 * undo's) on the step's input, for the engine's worker threads.
 *
 * The outcome follows docs/workflow-format.md ("What a step does",
 * "Retry"): OK with the output, RETRY for a temporary failure (exit 75, a
 * timeout, HTTP 408/429/5xx, no response), FAIL for a permanent one, each
 * with one line saying why.
 *
 * Threads: each worker thread has its own struct wf_exec and passes
 * actions whose compiled jq programs it owns; nothing here is shared
 * between calls of different threads. For `run` the process must keep
 * SIGCHLD at its default (not SIG_IGN, which reaps children behind our
 * back), no thread may wait(-1) or waitpid(-1, ...), and no thread may
 * change the environment (setenv) while workers run: the child's
 * environment is copied from environ.
 */
#ifndef WF_EXEC_H
#define WF_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "def.h"
#include "err.h"

#define WF_ERROR_MAX 4096           /* bytes of an error message kept */
#define WF_STDERR_TAIL 2048         /* bytes of a command's stderr quoted */
#define WF_KILL_GRACE_MS 2000       /* SIGTERM to SIGKILL on a timeout */
#define WF_HTTP_BODY_QUOTED 200     /* bytes of a refused response quoted */
#define WF_IDEMPOTENCY_KEY_MAX 1024 /* bytes of call->idempotency_key */

enum wf_outcome { WF_OUT_OK = 0, WF_OUT_RETRY = 1, WF_OUT_FAIL = 2 };

struct wf_result {
	enum wf_outcome outcome;
	jv output; /* WF_OUT_OK: the output (owned); else jv_invalid() */
	/* not OK: one line (no control characters, valid UTF-8) saying why:
	 * "exit 3: <stderr tail>", "timed out after 30s" (and the stderr
	 * tail, if any), "HTTP 503 from URL: <body>", "stdout is not
	 * JSON: ...", "output over N bytes" */
	char error[WF_ERROR_MAX];
	int exit_code;    /* run: exit status, 128+signal when killed by a
			     signal, -1 otherwise */
	long http_status; /* http: 0 when no response */
	double seconds;   /* wall time of the action */
};

/* What the action is told about itself (environment / headers). */
struct wf_exec_call {
	const char *workflow;
	long long execution; /* id */
	const char *step;
	int attempt; /* 1, 2, ... */
	int undo;    /* 1: this is the step's undo */
	/* stable across attempts of one action, e.g. "wf:42:store" or
	 * "wf:42:store:undo"; at most WF_IDEMPOTENCY_KEY_MAX bytes, no
	 * control characters */
	const char *idempotency_key;
	int64_t timeout_ms; /* the step's */
	size_t output_max;  /* the step's */
};

struct wf_exec; /* per thread: holds an HTTP client (connection reuse) */

struct wf_exec *wf_exec_new(struct sov_err *e);
void wf_exec_free(struct wf_exec *x);      /* accepts NULL */
void wf_result_clear(struct wf_result *r); /* frees output; safe twice */

/*
 * Run action a (a step's act or its *undo) on input (consumed). Returns 0
 * whenever an outcome was decided (OK, RETRY and FAIL alike: r says
 * which); -1 only for the worker's own failures (out of memory, no fork
 * possible, no pipe, a bad call), which the engine treats as RETRY: r is
 * then RETRY with e's message in r->error. r needs no initialisation; it
 * is overwritten (clear it with wf_result_clear after use).
 *
 * run: the command in its own process group, stdin the input as compact
 * JSON and a newline (one JSON line), stdout the output (one JSON value, empty
 * = null), environment the worker's plus SOV_WF_WORKFLOW, SOV_WF_EXECUTION,
 * SOV_WF_STEP, SOV_WF_ATTEMPT, SOV_WF_UNDO, SOV_WF_IDEMPOTENCY_KEY. On a
 * timeout the group gets SIGTERM, WF_KILL_GRACE_MS later SIGKILL. When the
 * command ends, whatever it left running in its group is killed. The child is
 * always reaped before this returns.
 *
 * jq: the first output of the compiled program. http: one request
 * (the engine retries), with the definition's headers plus
 * Idempotency-Key and X-Sov-Attempt.
 */
int wf_exec_action(struct wf_exec *x, const struct wf_action *a,
		   const struct wf_exec_call *call, jv input,
		   struct wf_result *r, struct sov_err *e);

#endif
