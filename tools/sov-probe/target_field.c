/*
 * target_field.c - the value shapes more than one target type checks
 * (strings, paths, headers, tags, alert names), and the fields every
 * target has. The types' own fields are target_net.c, target_local.c and
 * target_cmd.c; the table of types and what holds between fields is
 * target_type.c.
 */
#include "target_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared value shapes ---- */

int
pr_check_str(struct sov_jcheck *c, jv v, size_t max, char **out)
{
	free(*out);
	*out = NULL;
	if (jv_get_kind(v) != JV_KIND_STRING)
		return sov_jcheck_fail(c, "must be a string, not %s",
				       sov_jcheck_kind(v));
	return sov_jcheck_string(c, v, max, out);
}

/* A NULL-terminated list of 1..max strings of 1..len bytes. */
int
pr_check_strings(struct sov_jcheck *c, jv v, int max, size_t len, char ***out)
{
	int n, rc = -1;
	char **list;

	pr_strv_free(*out);
	*out = NULL;
	if (jv_get_kind(v) != JV_KIND_ARRAY)
		return sov_jcheck_fail(c, "must be an array of strings, not %s",
				       sov_jcheck_kind(v));
	n = jv_array_length(jv_copy(v));
	if (n < 1 || n > max)
		return sov_jcheck_fail(c, "must have 1 to %d entries", max);
	list = calloc((size_t)n + 1, sizeof(*list));
	if (list == NULL)
		return sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
	for (int i = 0; i < n; i++) {
		size_t old = sov_jcheck_push_index(c, i);
		jv s = jv_array_get(jv_copy(v), i);
		int r = pr_check_str(c, s, len, &list[i]);

		jv_free(s);
		if (r < 0)
			goto out;
		sov_jcheck_pop(c, old);
	}
	*out = list;
	list = NULL;
	rc = 0;
out:
	pr_strv_free(list);
	return rc;
}

/* An object of header names to strings, checked as sov-wf's are, kept as
 * "Name: value" lines for curl. */
int
pr_check_headers(struct sov_jcheck *c, jv v, char ***out)
{
	size_t n = 0;
	char **list;

	pr_strv_free(*out);
	*out = NULL;
	if (sov_jcheck_headers(c, v, PR_HEADERS_MAX, PR_HEADER_MAX,
			       "sov-probe") < 0)
		return -1;
	list = calloc((size_t)jv_object_length(jv_copy(v)) + 1, sizeof(*list));
	if (list == NULL)
		return sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
	jv_object_foreach(v, k, val)
	{
		if (list && asprintf(&list[n], "%s: %s", jv_string_value(k),
				     jv_string_value(val)) < 0) {
			list[n] = NULL;
			pr_strv_free(list);
			list = NULL;
		}
		n++;
		jv_free(k);
		jv_free(val);
	}
	if (list == NULL)
		return sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
	*out = list;
	return 0;
}

int
pr_check_path(struct sov_jcheck *c, jv v, char **out)
{
	if (pr_check_str(c, v, PR_PATH_MAX, out) < 0)
		return -1;
	if ((*out)[0] != '/')
		return sov_jcheck_fail(c, "must be an absolute path");
	return 0;
}

int
pr_check_max_age(struct sov_jcheck *c, jv v, int64_t *out)
{
	return sov_jcheck_duration(c, v, 1000, INT64_C(366) * 86400000, out);
}

int
pr_check_required(struct sov_jcheck *c, const char *name)
{
	size_t old = sov_jcheck_push_name(c, name);

	sov_jcheck_fail(c, "required for this type");
	sov_jcheck_pop(c, old);
	return -1;
}

/* ---- the fields every target has ---- */

int
pr_field_type(struct sov_jcheck *c, jv v, void *t)
{
	(void)c, (void)v, (void)t; /* read before the object: pr_target_check */
	return 0;
}

int
pr_field_description(struct sov_jcheck *c, jv v, void *t)
{
	return pr_check_str(c, v, PR_TEXT_MAX,
			    &((struct pr_tctx *)t)->t->description);
}

int
pr_field_interval(struct sov_jcheck *c, jv v, void *t)
{
	return sov_jcheck_duration(c, v, PR_INTERVAL_MIN_MS, PR_INTERVAL_MAX_MS,
				   &((struct pr_tctx *)t)->t->interval_ms);
}

int
pr_field_timeout(struct sov_jcheck *c, jv v, void *t)
{
	((struct pr_tctx *)t)->timeout_given = 1;
	return sov_jcheck_duration(c, v, PR_TIMEOUT_MIN_MS, PR_INTERVAL_MAX_MS,
				   &((struct pr_tctx *)t)->t->timeout_ms);
}

int
pr_field_latency(struct sov_jcheck *c, jv v, void *t)
{
	return sov_jcheck_duration(c, v, 1, PR_INTERVAL_MAX_MS,
				   &((struct pr_tctx *)t)->t->latency_ms);
}

int
pr_field_failures(struct sov_jcheck *c, jv v, void *t)
{
	long n;

	if (sov_jcheck_int(c, v, 1, PR_STREAK_MAX, &n) < 0)
		return -1;
	((struct pr_tctx *)t)->t->failures = (int)n;
	return 0;
}

int
pr_field_successes(struct sov_jcheck *c, jv v, void *t)
{
	long n;

	if (sov_jcheck_int(c, v, 1, PR_STREAK_MAX, &n) < 0)
		return -1;
	((struct pr_tctx *)t)->t->successes = (int)n;
	return 0;
}

int
pr_field_read_max(struct sov_jcheck *c, jv v, void *t)
{
	long n;

	if (sov_jcheck_int(c, v, 1, PR_READ_MAX_LIMIT, &n) < 0)
		return -1;
	((struct pr_tctx *)t)->t->read_max = (size_t)n;
	return 0;
}

int
pr_field_cert_days(struct sov_jcheck *c, jv v, void *t)
{
	return sov_jcheck_number(c, v, 0, 3650,
				 &((struct pr_tctx *)t)->t->cert_days);
}

int
pr_check_tags(struct sov_jcheck *c, jv v, jv *out)
{
	jv keys;
	int n, rc = -1;

	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return sov_jcheck_fail(c,
				       "must be an object of strings, not %s",
				       sov_jcheck_kind(v));
	keys = jv_keys(jv_copy(v));
	n = jv_array_length(jv_copy(keys));
	if (n > PR_TAGS_MAX) {
		sov_jcheck_fail(c, "more than %d tags", PR_TAGS_MAX);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		jv k = jv_array_get(jv_copy(keys), i);
		jv val = jv_object_get(jv_copy(v), jv_copy(k));
		size_t old = sov_jcheck_push_key(c, k);
		const char *why = sov_jcheck_name_why(k);
		int bad = 0;

		if (why)
			bad = sov_jcheck_fail(c, "a tag name %s", why);
		else if (!strcmp(jv_string_value(k), "target") ||
			 !strcmp(jv_string_value(k), "type"))
			bad = sov_jcheck_fail(c, "is set by sov-probe itself");
		else if (jv_get_kind(val) != JV_KIND_STRING)
			bad = sov_jcheck_fail(c, "must be a string, not %s",
					      sov_jcheck_kind(val));
		else if (jv_string_length_bytes(jv_copy(val)) > PR_TAG_MAX)
			bad = sov_jcheck_fail(c, "longer than %d bytes",
					      PR_TAG_MAX);
		jv_free(k);
		jv_free(val);
		if (bad)
			goto out;
		sov_jcheck_pop(c, old);
	}
	jv_free(*out);
	*out = jv_copy(v);
	rc = 0;
out:
	jv_free(keys);
	return rc;
}

int
pr_field_tags(struct sov_jcheck *c, jv v, void *t)
{
	return pr_check_tags(c, v, &((struct pr_tctx *)t)->t->tags);
}

int
pr_check_alert_names(struct sov_jcheck *c, jv v, jv *out)
{
	int n;

	if (jv_get_kind(v) != JV_KIND_ARRAY)
		return sov_jcheck_fail(c,
				       "must be an array of alert names, "
				       "not %s",
				       sov_jcheck_kind(v));
	n = jv_array_length(jv_copy(v));
	if (n > PR_ALERTS_MAX)
		return sov_jcheck_fail(c, "more than %d alerts", PR_ALERTS_MAX);
	for (int i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(v), i);
		const char *why = sov_jcheck_name_why(s);
		size_t old = sov_jcheck_push_index(c, i);

		jv_free(s);
		if (why)
			return sov_jcheck_fail(c, "an alert name %s", why);
		sov_jcheck_pop(c, old);
	}
	jv_free(*out);
	*out = jv_copy(v);
	return 0;
}

int
pr_field_alerts(struct sov_jcheck *c, jv v, void *t)
{
	return pr_check_alert_names(c, v, &((struct pr_tctx *)t)->alerts);
}

/* The fields a file's "defaults" may set: a target's, on a template. */
const struct sov_jfield pr_default_fields[] = {
    {"alerts", pr_field_alerts},       {"failures", pr_field_failures},
    {"interval", pr_field_interval},   {"read_max", pr_field_read_max},
    {"successes", pr_field_successes}, {"tags", pr_field_tags},
    {"timeout", pr_field_timeout},     {NULL, NULL},
};
