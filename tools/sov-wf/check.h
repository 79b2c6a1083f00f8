/*
 * check.h - the validator's tools: where in the document it is (a JSON
 * path for messages), objects checked key by key in sorted order, and
 * typed fields with their limits. Used by def.c and def_step.c only.
 *
 * Every failure fills the caller's sov_err with SOV_EXIT_USAGE and
 *   "FILE: PATH: message"
 * where PATH is jq-like: steps.score.retry.attempts, run[0],
 * steps["send-mail"] (a key that is not an identifier is quoted), and "."
 * for the document itself.
 */
#ifndef WF_CHECK_H
#define WF_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "def.h"
#include "err.h"

#define WF_CHECK_PATH_MAX 512 /* bytes of a path in a message */
#define WF_CHECK_KEY_SHOW 64  /* bytes of a key shown in a path */

struct wf_check {
	const char *file; /* for messages */
	int flags;        /* WF_DEF_* */
	struct sov_err *e;
	char path[WF_CHECK_PATH_MAX];
	size_t len; /* of path */
};

/* Descend into key (borrowed) or index; returns the length to go back to
 * with wf_check_pop. A path too long to show is cut with "...". */
size_t wf_check_push_key(struct wf_check *c, jv key);
size_t wf_check_push_name(struct wf_check *c, const char *key);
size_t wf_check_push_index(struct wf_check *c, int i);
void wf_check_pop(struct wf_check *c, size_t len);

/* "FILE: PATH: message" as a usage error; returns -1. */
int wf_check_fail(struct wf_check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A member of an object: its name, and how to check and keep its value
 * (borrowed) into the caller's target. */
struct wf_field {
	const char *name;
	int (*check)(struct wf_check *c, jv v, void *target);
};

/*
 * v must be an object ("must be an object, not a string"); every key, in
 * sorted order, must be one of fields (ending with a NULL name), whose
 * check then runs on its value with the path extended. An unknown key is
 * an error that suggests the nearest known name.
 */
int wf_check_object(struct wf_check *c, jv v, const struct wf_field *fields,
		    void *target);

/* "a string", "an object", ... for messages. */
const char *wf_check_kind(jv v);

/* A string of 1..max bytes without NUL, copied into *out (caller frees). */
int wf_check_string(struct wf_check *c, jv v, size_t max, char **out);

/* A name: [a-z0-9][a-z0-9_.-]{0,63}, copied into *out. */
int wf_check_name(struct wf_check *c, jv v, char **out);

/* Whether s is a name (for keys). NULL when it is, else why not. */
const char *wf_check_name_why(jv s);

/* An integer (a JSON number without fraction) in [lo, hi]. */
int wf_check_int(struct wf_check *c, jv v, long lo, long hi, long *out);

/* A finite number in [lo, hi]. */
int wf_check_number(struct wf_check *c, jv v, double lo, double hi,
		    double *out);

/* A duration string ("90s", "1h30m") in [lo_ms, hi_ms]. */
int wf_check_duration(struct wf_check *c, jv v, int64_t lo_ms, int64_t hi_ms,
		      int64_t *out);

/* 90000 -> "90s", 300000 -> "5m": a duration as people write it. */
const char *wf_check_ms(int64_t ms, char buf[32]);

/* A jq program: a non-empty string of at most WF_JQ_MAX bytes that
 * compiles (unless WF_DEF_NO_COMPILE), into *p. */
int wf_check_prog(struct wf_check *c, jv v, struct wf_prog *p);

/* Free a program's text and compiled form; accepts a zeroed one. */
void wf_prog_clear(struct wf_prog *p);

#endif
