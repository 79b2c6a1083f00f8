/*
 * target_int.h - what target.c (the document) and target_type.c (one
 * target) share.
 */
#ifndef PR_TARGET_INT_H
#define PR_TARGET_INT_H

#include <inttypes.h>

#include "target.h"

#define PR_CERT_DAYS_DEFAULT 14.0 /* tls targets */
#define PR_DISK_FREE_DEFAULT 10.0 /* % when no threshold is given */

/* A target being checked, and what is resolved after every file is read. */
struct pr_tctx {
	struct pr_target *t;
	jv alerts; /* the alert names it gave, or jv_null() */
	int timeout_given; /* by the target or its file's defaults; else the
			    * default is cut to the interval */
};

/* One target object (borrowed) into tc->t, which holds the defaults. */
int pr_target_check(struct sov_jcheck *c, jv v, struct pr_tctx *tc);

/* The fields of a file's "defaults", checked into tc->t (a template). */
extern const struct sov_jfield pr_default_fields[];

/* Timeout against interval: a default timeout is cut to a shorter
 * interval; a given one longer than it is an error. */
int pr_check_timing(struct sov_jcheck *c, struct pr_tctx *tc);

/* A tags object (borrowed) into *out (replaced). */
int pr_check_tags(struct sov_jcheck *c, jv v, jv *out);

/* An object of header names to strings (borrowed) into "Name: value"
 * lines (replaced). */
int pr_check_headers(struct sov_jcheck *c, jv v, char ***out);

/* An array of alert names (borrowed) into *out (replaced). */
int pr_check_alert_names(struct sov_jcheck *c, jv v, jv *out);

/* Free a NULL-terminated list of strings; accepts NULL. */
void pr_strv_free(char **v);

#endif
