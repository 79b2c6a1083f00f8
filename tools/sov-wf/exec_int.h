/*
 * exec_int.h - what the files of the action runner (exec*.c) share. Not
 * for the engine: it includes exec.h.
 */
#ifndef WF_EXEC_INT_H
#define WF_EXEC_INT_H

#include <stddef.h>
#include <sys/types.h>

#include <jv.h>

#include "exec.h"
#include "http.h"

struct wf_exec {
	/* kept while the per-call options stay the same (exec_http.c) */
	struct sov_http *http;
	long http_timeout_ms;
	size_t http_max_body;
};

/* Monotonic clock, ms. */
long long wf_exec_now_ms(void);

/*
 * Set r's outcome and error (printf format); the message is made one line
 * of valid UTF-8 (wf_exec_clean) and cut with "..." to fit.
 */
void wf_exec_fail(struct wf_result *r, enum wf_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Make s[0..n) printable on one line, in place: every run of control
 * characters and white space becomes one space, a byte that is not part
 * of valid UTF-8 becomes '?', leading and trailing spaces go. Returns the
 * new length and NUL-terminates (s needs n + 1 bytes).
 */
size_t wf_exec_clean(char *s, size_t n);

/* "30s" or "250ms" into buf. */
void wf_exec_duration(int64_t ms, char *buf, size_t size);

/*
 * An action's output from text: exactly one JSON value, white space
 * around it allowed, nothing but white space = null. Else jv_invalid()
 * with the reason in e (SOV_EXIT_USAGE) and *several set when the text
 * starts with one whole value and something follows it.
 */
jv wf_exec_parse_output(const char *s, size_t n, int *several,
			struct sov_err *e);

/* The kinds of action, one file each. input is consumed. */
int wf_exec_run(const struct wf_action *a, const struct wf_exec_call *call,
		jv input, struct wf_result *r, struct sov_err *e);
int wf_exec_http(struct wf_exec *x, const struct wf_action *a,
		 const struct wf_exec_call *call, jv input, struct wf_result *r,
		 struct sov_err *e);

/* printf into a new malloc'd string; NULL when out of memory. */
char *wf_exec_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
