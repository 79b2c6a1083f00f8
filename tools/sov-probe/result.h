/*
 * result.h - what one probe of one target found, as a record and as
 * measurements (probe.h lists both).
 */
#ifndef PR_RESULT_H
#define PR_RESULT_H

#include <stdint.h>

#include <jv.h>

#include "err.h"
#include "measure.h"
#include "target.h"

#define PR_ERROR_MAX 512

struct pr_result {
	int up;
	double seconds;           /* how long the probe took */
	int64_t ts_ms;            /* wall clock when it started */
	char error[PR_ERROR_MAX]; /* why it is down; "" when up */
	jv fields;                /* the type's own ("status", ...), owned */
};

/* Up, no error, no fields, stamped now. */
void pr_result_init(struct pr_result *r);
void pr_result_clear(struct pr_result *r);

/*
 * Down, with the reason (printf format), made one printable line and cut
 * to fit. The first reason given is kept: it is usually the cause.
 */
void pr_result_fail(struct pr_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Add a field of the type's own (v consumed). */
void pr_result_set(struct pr_result *r, const char *key, jv v);

/* {"ts","event":"probe","target","type","up","seconds","error",...fields} */
jv pr_result_record(const struct pr_target *t, const struct pr_result *r);

/* The tags of t's measurements for m, as text (malloc'd; NULL and e set
 * when they cannot be): made once per target by a caller that measures it
 * again and again. */
char *pr_result_tags(struct sov_metrics *m, const struct pr_target *t,
		     struct sov_err *e);

/* probe.up, probe.seconds and what the fields carry, into m; tags from
 * pr_result_tags, or NULL to make them for this call. */
int pr_result_measure(struct sov_metrics *m, const struct pr_target *t,
		      const char *tags, const struct pr_result *r,
		      struct sov_err *e);

#endif
