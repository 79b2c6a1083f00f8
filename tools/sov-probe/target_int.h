/*
 * target_int.h - what target.c (the document) and the files that check one
 * target share: target_type.c (the table of types), target_field.c (shared
 * value shapes and the fields every target has), target_net.c,
 * target_local.c and target_cmd.c (each type's own fields).
 */
#ifndef PR_TARGET_INT_H
#define PR_TARGET_INT_H

#include <inttypes.h>

#include "target.h"

#define PR_CERT_DAYS_DEFAULT 14.0 /* tls targets */
#define PR_DISK_FREE_DEFAULT 10.0 /* % when no threshold is given */

/* Internal load flag: compile each jq condition as it is read, so that
 * the first bad one in document order is the error (as loading without
 * it would find a bad one only after reading everything). */
#define PR_LOAD_EACH_ALONE (1 << 8)

/* Compile every http target's condition together (its cond.q); -1 when any does
 * not compile or memory ran out. */
int pr_set_compile(struct pr_set *set, struct sov_err *e);

/* A target being checked, and what is resolved after every file is read. */
struct pr_tctx {
	struct pr_target *t;
	jv alerts;         /* the alert names it gave, or jv_null() */
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

/* ---- shared value shapes (target_field.c); each checks a borrowed v,
 * fails naming its place, and replaces *out ---- */

/* A string of at most max bytes. */
int pr_check_str(struct sov_jcheck *c, jv v, size_t max, char **out);

/* A NULL-terminated list of 1..max strings of at most len bytes. */
int pr_check_strings(struct sov_jcheck *c, jv v, int max, size_t len,
		     char ***out);

/* An absolute path. */
int pr_check_path(struct sov_jcheck *c, jv v, char **out);

/* A duration from a second to 366 days (backup and wireguard max_age). */
int pr_check_max_age(struct sov_jcheck *c, jv v, int64_t *out);

/* Fails for the missing field name: "required for this type"; -1. */
int pr_check_required(struct sov_jcheck *c, const char *name);

/* ---- the fields every target has (target_field.c): sov_jfield
 * callbacks on a struct pr_tctx ---- */
int pr_field_type(struct sov_jcheck *c, jv v, void *t);
int pr_field_description(struct sov_jcheck *c, jv v, void *t);
int pr_field_interval(struct sov_jcheck *c, jv v, void *t);
int pr_field_timeout(struct sov_jcheck *c, jv v, void *t);
int pr_field_latency(struct sov_jcheck *c, jv v, void *t);
int pr_field_failures(struct sov_jcheck *c, jv v, void *t);
int pr_field_successes(struct sov_jcheck *c, jv v, void *t);
int pr_field_read_max(struct sov_jcheck *c, jv v, void *t);
int pr_field_cert_days(struct sov_jcheck *c, jv v, void *t);
int pr_field_tags(struct sov_jcheck *c, jv v, void *t);
int pr_field_alerts(struct sov_jcheck *c, jv v, void *t);

/* The first entries of every type's table, and its end. */
#define PR_COMMON_FIELDS                                                       \
	{"alerts", pr_field_alerts}, {"description", pr_field_description},    \
	    {"failures", pr_field_failures}, {"interval", pr_field_interval},  \
	    {"successes", pr_field_successes}, {"tags", pr_field_tags},        \
	    {"timeout", pr_field_timeout},                                     \
	{                                                                      \
		"type", pr_field_type                                          \
	}
#define PR_FIELDS_END                                                          \
	{                                                                      \
		NULL, NULL                                                     \
	}

/* ---- each type's fields, and what must hold between them once the
 * object is read (defaults that depend on the type, required fields) ---- */

/* target_net.c */
extern const struct sov_jfield pr_http_fields[], pr_tcp_fields[],
    pr_tls_fields[], pr_icmp_fields[], pr_dns_fields[];
int pr_target_net_finish(struct sov_jcheck *c, struct pr_tctx *tc);

/* target_local.c */
extern const struct sov_jfield pr_disk_fields[], pr_postgres_fields[],
    pr_sqlite_fields[], pr_systemd_fields[], pr_wireguard_fields[];
int pr_target_local_finish(struct sov_jcheck *c, struct pr_tctx *tc);

/* target_cmd.c */
extern const struct sov_jfield pr_command_fields[], pr_backup_fields[];
int pr_target_cmd_finish(struct sov_jcheck *c, struct pr_tctx *tc);

/* Free a NULL-terminated list of strings; accepts NULL. */
void pr_strv_free(char **v);

#endif
