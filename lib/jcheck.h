/*
 * jcheck.h - validating a JSON configuration (workflows, probe targets):
 * where in the document it is (a JSON path for messages), objects checked
 * key by key in sorted order, and typed fields with their limits.
 *
 * Every failure fills the caller's sov_err with SOV_EXIT_USAGE and
 *   "FILE: PATH: message"
 * where PATH is jq-like: steps.score.retry.attempts, run[0],
 * steps["send-mail"] (a key that is not an identifier is quoted), and "."
 * for the document itself.
 */
#ifndef SOV_JCHECK_H
#define SOV_JCHECK_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "err.h"
#include "jqprog.h"

#define SOV_JCHECK_PATH_MAX 512 /* bytes of a path in a message */
#define SOV_JCHECK_KEY_SHOW 64  /* bytes of a key shown in a path */

/* Check the structure only: compile no jq program. */
#define SOV_JCHECK_NO_COMPILE (1 << 0)

struct sov_jcheck {
	const char *file; /* for messages */
	int flags;        /* SOV_JCHECK_*, and the caller's own above them */
	struct sov_err *e;
	char path[SOV_JCHECK_PATH_MAX];
	size_t len; /* of path */
};

/* Descend into key (borrowed) or index; returns the length to go back to
 * with sov_jcheck_pop. A path too long to show is cut with "...". */
size_t sov_jcheck_push_key(struct sov_jcheck *c, jv key);
size_t sov_jcheck_push_name(struct sov_jcheck *c, const char *key);
size_t sov_jcheck_push_index(struct sov_jcheck *c, int i);
void sov_jcheck_pop(struct sov_jcheck *c, size_t len);

/* "FILE: PATH: message" as a usage error; returns -1. */
int sov_jcheck_fail(struct sov_jcheck *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A member of an object: its name, and how to check and keep its value
 * (borrowed) into the caller's target. */
struct sov_jfield {
	const char *name;
	int (*check)(struct sov_jcheck *c, jv v, void *target);
};

/*
 * v must be an object ("must be an object, not a string"); every key, in
 * sorted order, must be one of fields (ending with a NULL name), whose
 * check then runs on its value with the path extended. An unknown key is
 * an error that suggests the nearest known name.
 */
int sov_jcheck_object(struct sov_jcheck *c, jv v, const struct sov_jfield *fields,
		    void *target);

/* "a string", "an object", ... for messages. */
const char *sov_jcheck_kind(jv v);

/* A string of 1..max bytes without NUL, copied into *out (caller frees). */
int sov_jcheck_string(struct sov_jcheck *c, jv v, size_t max, char **out);

#define SOV_JCHECK_NAME_MAX 64 /* bytes of a name */

/* A name: [a-z0-9][a-z0-9_.-]{0,63}, copied into *out. */
int sov_jcheck_name(struct sov_jcheck *c, jv v, char **out);

/* Whether s is a name (for keys). NULL when it is, else why not. */
const char *sov_jcheck_name_why(jv s);

/* An integer (a JSON number without fraction) in [lo, hi]. */
int sov_jcheck_int(struct sov_jcheck *c, jv v, long lo, long hi, long *out);

/* A finite number in [lo, hi]. */
int sov_jcheck_number(struct sov_jcheck *c, jv v, double lo, double hi,
		    double *out);

/* A duration string ("90s", "1h30m") in [lo_ms, hi_ms]. */
int sov_jcheck_duration(struct sov_jcheck *c, jv v, int64_t lo_ms, int64_t hi_ms,
		      int64_t *out);

/* 90000 -> "90s", 300000 -> "5m": a duration as people write it. */
const char *sov_jcheck_ms(int64_t ms, char buf[32]);

#define SOV_JCHECK_HEADER_NAME_MAX 256 /* bytes of an HTTP header name */

/*
 * An object of HTTP header names to values (borrowed; nothing is kept):
 * at most max of them, RFC 9110 token names, none of Content-Length,
 * Transfer-Encoding and Host ("is set by WHO itself": framing is the HTTP
 * client's), no name twice in any case, string values of at most
 * value_max bytes without control characters (a tab is allowed).
 */
int sov_jcheck_headers(struct sov_jcheck *c, jv v, int max, size_t value_max,
		       const char *who);

/* "FILE: PATH" of where c is, for a message made later (a jq program's
 * runtime errors); -1 (c's error set) when it does not fit size. */
int sov_jcheck_where(struct sov_jcheck *c, char *buf, size_t size);

/*
 * A jq program: a non-empty string of at most max bytes, copied into *src,
 * and unless SOV_JCHECK_NO_COMPILE compiled into *q (both replaced; free
 * them with free and sov_jq_free). vars as for sov_jq_compile (consumed).
 */
int sov_jcheck_jq(struct sov_jcheck *c, jv v, size_t max, jv vars, char **src,
		  struct sov_jq **q);

/*
 * A jq program to compile later, with others (sov_jq_prog_compile_all):
 * checked as sov_jcheck_jq does without compiling, into p->src, and where
 * it is into p->where for the compile's messages (p's old contents
 * freed).
 */
int sov_jcheck_jq_later(struct sov_jcheck *c, jv v, size_t max,
			struct sov_jq_prog *p);

#endif
