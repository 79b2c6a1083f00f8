/*
 * target_type.c - one target object: the fields every type shares, the
 * fields of each type, and what must hold between them. The document
 * around it (files, defaults, alerts) is target.c.
 */
#include "target_int.h"

#include <arpa/nameser.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {
    NULL,      "http",    "tcp",    "tls",     "dns",       "icmp",
    "disk",    "postgres", "sqlite", "command", "systemd", "wireguard",
    "backup",
};

const char *
pr_type_name(enum pr_type t)
{
	if ((int)t < PR_HTTP || (int)t > PR_BACKUP)
		return NULL;
	return type_names[t];
}

static enum pr_type
type_from_name(const char *s)
{
	for (int t = PR_HTTP; t <= PR_BACKUP; t++)
		if (strcmp(type_names[t], s) == 0)
			return (enum pr_type)t;
	return 0;
}

/* ---- shared value shapes ---- */

static int
check_bool(struct sov_jcheck *c, jv v, int *out)
{
	if (jv_get_kind(v) == JV_KIND_TRUE)
		*out = 1;
	else if (jv_get_kind(v) == JV_KIND_FALSE)
		*out = 0;
	else
		return sov_jcheck_fail(c, "must be true or false, not %s",
				       sov_jcheck_kind(v));
	return 0;
}

static int
check_str(struct sov_jcheck *c, jv v, size_t max, char **out)
{
	free(*out);
	*out = NULL;
	if (jv_get_kind(v) != JV_KIND_STRING)
		return sov_jcheck_fail(c, "must be a string, not %s",
				       sov_jcheck_kind(v));
	return sov_jcheck_string(c, v, max, out);
}

/* A NULL-terminated list of 1..max strings of 1..len bytes. */
static int
check_strings(struct sov_jcheck *c, jv v, int max, size_t len, char ***out)
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
		int r = check_str(c, s, len, &list[i]);

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

static int
check_path(struct sov_jcheck *c, jv v, char **out)
{
	if (check_str(c, v, PR_PATH_MAX, out) < 0)
		return -1;
	if ((*out)[0] != '/')
		return sov_jcheck_fail(c, "must be an absolute path");
	return 0;
}

/* A host name or address: letters, digits, - . : [ ] _ only. */
static int
check_host(struct sov_jcheck *c, jv v, char **out)
{
	if (check_str(c, v, PR_HOST_MAX, out) < 0)
		return -1;
	for (const char *p = *out; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-.:_[]%", *p))
			return sov_jcheck_fail(c, "not a host name or address");
	return 0;
}

static int
check_percent(struct sov_jcheck *c, jv v, double *out)
{
	return sov_jcheck_number(c, v, 0, 100, out);
}

/* Bytes: a number, or a string with a binary unit ("10GiB", "512M"). */
static int
check_bytes(struct sov_jcheck *c, jv v, double *out)
{
	static const char units[] = "KMGTP";
	const char *s, *u;
	char *end;
	double n;

	if (jv_get_kind(v) == JV_KIND_NUMBER)
		return sov_jcheck_number(c, v, 0, 1e18, out);
	if (jv_get_kind(v) != JV_KIND_STRING)
		return sov_jcheck_fail(c, "must be bytes (a number or \"10GiB\"),"
					  " not %s",
				       sov_jcheck_kind(v));
	s = jv_string_value(v);
	n = strtod(s, &end);
	if (end == s || !isfinite(n) || n < 0)
		return sov_jcheck_fail(c, "not a size: want e.g. \"10GiB\"");
	while (*end == ' ')
		end++;
	if (*end && (u = strchr(units, toupper((unsigned char)*end)))) {
		for (const char *p = units; p <= u; p++)
			n *= 1024;
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || n > 1e18)
		return sov_jcheck_fail(c, "not a size: want e.g. \"10GiB\"");
	*out = n;
	return 0;
}

/* ---- the fields every target has ---- */

static int
f_type(struct sov_jcheck *c, jv v, void *t)
{
	(void)c, (void)v, (void)t; /* read before the object: pr_target_check */
	return 0;
}

static int
f_description(struct sov_jcheck *c, jv v, void *t)
{
	return check_str(c, v, PR_TEXT_MAX,
			 &((struct pr_tctx *)t)->t->description);
}

static int
f_interval(struct sov_jcheck *c, jv v, void *t)
{
	return sov_jcheck_duration(c, v, PR_INTERVAL_MIN_MS, PR_INTERVAL_MAX_MS,
				   &((struct pr_tctx *)t)->t->interval_ms);
}

static int
f_timeout(struct sov_jcheck *c, jv v, void *t)
{
	((struct pr_tctx *)t)->timeout_given = 1;
	return sov_jcheck_duration(c, v, PR_TIMEOUT_MIN_MS, PR_INTERVAL_MAX_MS,
				   &((struct pr_tctx *)t)->t->timeout_ms);
}

static int
f_latency(struct sov_jcheck *c, jv v, void *t)
{
	return sov_jcheck_duration(c, v, 1, PR_INTERVAL_MAX_MS,
				   &((struct pr_tctx *)t)->t->latency_ms);
}

static int
f_failures(struct sov_jcheck *c, jv v, void *t)
{
	long n;

	if (sov_jcheck_int(c, v, 1, PR_STREAK_MAX, &n) < 0)
		return -1;
	((struct pr_tctx *)t)->t->failures = (int)n;
	return 0;
}

static int
f_successes(struct sov_jcheck *c, jv v, void *t)
{
	long n;

	if (sov_jcheck_int(c, v, 1, PR_STREAK_MAX, &n) < 0)
		return -1;
	((struct pr_tctx *)t)->t->successes = (int)n;
	return 0;
}

static int
f_read_max(struct sov_jcheck *c, jv v, void *t)
{
	long n;

	if (sov_jcheck_int(c, v, 1, PR_READ_MAX_LIMIT, &n) < 0)
		return -1;
	((struct pr_tctx *)t)->t->read_max = (size_t)n;
	return 0;
}

static int
f_cert_days(struct sov_jcheck *c, jv v, void *t)
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
		return sov_jcheck_fail(c, "must be an object of strings, not %s",
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

static int
f_tags(struct sov_jcheck *c, jv v, void *t)
{
	return pr_check_tags(c, v, &((struct pr_tctx *)t)->t->tags);
}

int
pr_check_alert_names(struct sov_jcheck *c, jv v, jv *out)
{
	int n;

	if (jv_get_kind(v) != JV_KIND_ARRAY)
		return sov_jcheck_fail(c, "must be an array of alert names, "
					  "not %s",
				       sov_jcheck_kind(v));
	n = jv_array_length(jv_copy(v));
	if (n > PR_ALERTS_MAX)
		return sov_jcheck_fail(c, "more than %d alerts",
				       PR_ALERTS_MAX);
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

static int
f_alerts(struct sov_jcheck *c, jv v, void *t)
{
	return pr_check_alert_names(c, v, &((struct pr_tctx *)t)->alerts);
}

#define COMMON_FIELDS                                                          \
	{"alerts", f_alerts}, {"description", f_description},                  \
	    {"failures", f_failures}, {"interval", f_interval},                \
	    {"successes", f_successes}, {"tags", f_tags},                      \
	    {"timeout", f_timeout}, {                                          \
		"type", f_type                                                 \
	}
/* The fields a file's "defaults" may set: a target's, on a template. */
const struct sov_jfield pr_default_fields[] = {
    {"alerts", f_alerts},     {"failures", f_failures},
    {"interval", f_interval}, {"read_max", f_read_max},
    {"successes", f_successes}, {"tags", f_tags},
    {"timeout", f_timeout},   {NULL, NULL},
};

#define FIELDS_END                                                             \
	{                                                                      \
		NULL, NULL                                                     \
	}

/* ---- http ---- */

static struct pr_http *
H(void *t)
{
	return &((struct pr_tctx *)t)->t->u.http;
}

static int
f_url(struct sov_jcheck *c, jv v, void *t)
{
	char **url = &H(t)->url;

	if (check_str(c, v, PR_URL_MAX, url) < 0)
		return -1;
	if (strncmp(*url, "http://", 7) != 0 &&
	    strncmp(*url, "https://", 8) != 0)
		return sov_jcheck_fail(c, "must start with http:// or "
					  "https://");
	for (const char *p = *url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 127)
			return sov_jcheck_fail(c, "a URL cannot hold spaces or "
						  "control characters");
	return 0;
}

static int
f_method(struct sov_jcheck *c, jv v, void *t)
{
	static const char *const ok[] = {"GET",	    "HEAD",  "POST", "PUT",
					 "DELETE", "PATCH", "OPTIONS"};

	if (check_str(c, v, 16, &H(t)->method) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(ok[i], H(t)->method) == 0)
			return 0;
	return sov_jcheck_fail(c, "must be one of GET, HEAD, POST, PUT, "
				  "DELETE, PATCH, OPTIONS");
}

static int
f_headers(struct sov_jcheck *c, jv v, void *t)
{
	return pr_check_headers(c, v, &H(t)->headers);
}

static int
f_body(struct sov_jcheck *c, jv v, void *t)
{
	if (jv_get_kind(v) != JV_KIND_STRING)
		return sov_jcheck_fail(c, "must be a string, not %s",
				       sov_jcheck_kind(v));
	free(H(t)->body);
	H(t)->body_len = (size_t)jv_string_length_bytes(jv_copy(v));
	if (H(t)->body_len > PR_BODY_MAX)
		return sov_jcheck_fail(c, "longer than %u bytes", PR_BODY_MAX);
	H(t)->body = malloc(H(t)->body_len + 1);
	if (H(t)->body == NULL)
		return sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
	memcpy(H(t)->body, jv_string_value(v), H(t)->body_len + 1);
	return 0;
}

static int
f_status(struct sov_jcheck *c, jv v, void *t)
{
	struct pr_http *h = H(t);
	int n;

	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		long s;

		if (sov_jcheck_int(c, v, 100, 599, &s) < 0)
			return -1;
		h->status[0] = (int)s;
		h->nstatus = 1;
		return 0;
	}
	if (jv_get_kind(v) != JV_KIND_ARRAY)
		return sov_jcheck_fail(c, "must be a status code or an array of "
					  "them, not %s",
				       sov_jcheck_kind(v));
	n = jv_array_length(jv_copy(v));
	if (n < 1 || n > PR_STATUS_MAX)
		return sov_jcheck_fail(c, "must have 1 to %d codes",
				       PR_STATUS_MAX);
	for (int i = 0; i < n; i++) {
		size_t old = sov_jcheck_push_index(c, i);
		jv s = jv_array_get(jv_copy(v), i);
		long code;
		int r = sov_jcheck_int(c, s, 100, 599, &code);

		jv_free(s);
		if (r < 0)
			return -1;
		h->status[i] = (int)code;
		sov_jcheck_pop(c, old);
	}
	h->nstatus = n;
	return 0;
}

static int
f_contains(struct sov_jcheck *c, jv v, void *t)
{
	return check_str(c, v, PR_TEXT_MAX, &H(t)->contains);
}

static int
f_http_jq(struct sov_jcheck *c, jv v, void *t)
{
	return sov_jcheck_jq(c, v, PR_JQ_MAX, jv_invalid(), &H(t)->jq_src,
			     &H(t)->jq);
}

static int
f_redirects(struct sov_jcheck *c, jv v, void *t)
{
	long n;

	if (sov_jcheck_int(c, v, 0, PR_REDIRECTS_MAX, &n) < 0)
		return -1;
	H(t)->redirects = (int)n;
	return 0;
}

static int
f_reuse(struct sov_jcheck *c, jv v, void *t)
{
	return check_bool(c, v, &H(t)->reuse);
}

static int
f_insecure(struct sov_jcheck *c, jv v, void *t)
{
	return check_bool(c, v, &H(t)->insecure);
}

static int
f_http_ca_file(struct sov_jcheck *c, jv v, void *t)
{
	return check_path(c, v, &H(t)->ca_file);
}

static const struct sov_jfield http_fields[] = {
    COMMON_FIELDS,
    {"body", f_body},
    {"ca_file", f_http_ca_file},
    {"cert_days", f_cert_days},
    {"contains", f_contains},
    {"headers", f_headers},
    {"insecure", f_insecure},
    {"jq", f_http_jq},
    {"latency", f_latency},
    {"method", f_method},
    {"read_max", f_read_max},
    {"redirects", f_redirects},
    {"reuse", f_reuse},
    {"status", f_status},
    {"url", f_url},
    FIELDS_END,
};

/* ---- tcp, tls, icmp ---- */

static struct pr_tls *
N(void *t)
{
	return &((struct pr_tctx *)t)->t->u.net;
}

static int
f_host(struct sov_jcheck *c, jv v, void *t)
{
	return check_host(c, v, &N(t)->host);
}

static int
f_port(struct sov_jcheck *c, jv v, void *t)
{
	long n;

	if (sov_jcheck_int(c, v, 1, 65535, &n) < 0)
		return -1;
	N(t)->port = (int)n;
	return 0;
}

static int
f_server_name(struct sov_jcheck *c, jv v, void *t)
{
	return check_host(c, v, &N(t)->server_name);
}

static int
f_tls_ca_file(struct sov_jcheck *c, jv v, void *t)
{
	return check_path(c, v, &N(t)->ca_file);
}

static const struct sov_jfield tcp_fields[] = {
    COMMON_FIELDS,
    {"host", f_host},
    {"latency", f_latency},
    {"port", f_port},
    FIELDS_END,
};

static const struct sov_jfield tls_fields[] = {
    COMMON_FIELDS,
    {"ca_file", f_tls_ca_file},
    {"cert_days", f_cert_days},
    {"host", f_host},
    {"latency", f_latency},
    {"port", f_port},
    {"server_name", f_server_name},
    FIELDS_END,
};

static const struct sov_jfield icmp_fields[] = {
    COMMON_FIELDS,
    {"host", f_host},
    {"latency", f_latency},
    FIELDS_END,
};

/* ---- dns ---- */

static struct pr_dns *
D(void *t)
{
	return &((struct pr_tctx *)t)->t->u.dns;
}

static int
f_dns_name(struct sov_jcheck *c, jv v, void *t)
{
	return check_host(c, v, &D(t)->name);
}

static const struct {
	const char *name;
	int type;
} rr_types[] = {
    {"A", ns_t_a},   {"AAAA", ns_t_aaaa}, {"CNAME", ns_t_cname},
    {"MX", ns_t_mx}, {"TXT", ns_t_txt},   {"NS", ns_t_ns},
};

const char *
pr_rrtype_name(int type)
{
	for (size_t i = 0; i < sizeof(rr_types) / sizeof(rr_types[0]); i++)
		if (rr_types[i].type == type)
			return rr_types[i].name;
	return "?";
}

static int
f_record(struct sov_jcheck *c, jv v, void *t)
{
	if (jv_get_kind(v) == JV_KIND_STRING)
		for (size_t i = 0; i < sizeof(rr_types) / sizeof(rr_types[0]);
		     i++)
			if (strcmp(rr_types[i].name, jv_string_value(v)) == 0) {
				D(t)->rrtype = rr_types[i].type;
				return 0;
			}
	return sov_jcheck_fail(c, "must be one of A, AAAA, CNAME, MX, TXT, NS");
}

/* An IPv4 address, with a port or not: the resolver takes only those. */
static int
f_dns_server(struct sov_jcheck *c, jv v, void *t)
{
	char host[32];
	const char *s, *colon;
	unsigned char buf[4];
	char *end;
	long port = 53;

	if (check_str(c, v, 64, &D(t)->server) < 0)
		return -1;
	s = D(t)->server;
	colon = strchr(s, ':');
	if (colon) {
		port = strtol(colon + 1, &end, 10);
		if (*end || end == colon + 1)
			port = 0;
	}
	snprintf(host, sizeof(host), "%.*s",
		 (int)(colon ? (size_t)(colon - s) : strlen(s)), s);
	if (inet_pton(AF_INET, host, buf) != 1 || port < 1 || port > 65535)
		return sov_jcheck_fail(c, "must be an IPv4 address, with a "
					  "port or not (192.0.2.53:5353)");
	return 0;
}

static int
f_expect(struct sov_jcheck *c, jv v, void *t)
{
	return check_strings(c, v, PR_EXPECT_MAX, PR_TEXT_MAX, &D(t)->expect);
}

static const struct sov_jfield dns_fields[] = {
    COMMON_FIELDS,
    {"expect", f_expect},
    {"latency", f_latency},
    {"query_name", f_dns_name},
    {"record", f_record},
    {"server", f_dns_server},
    FIELDS_END,
};

/* ---- disk ---- */

static struct pr_disk *
K(void *t)
{
	return &((struct pr_tctx *)t)->t->u.disk;
}

static int
f_disk_path(struct sov_jcheck *c, jv v, void *t)
{
	return check_path(c, v, &K(t)->path);
}

static int
f_min_free_percent(struct sov_jcheck *c, jv v, void *t)
{
	return check_percent(c, v, &K(t)->min_free_percent);
}

static int
f_min_free_bytes(struct sov_jcheck *c, jv v, void *t)
{
	return check_bytes(c, v, &K(t)->min_free_bytes);
}

static int
f_min_inodes_percent(struct sov_jcheck *c, jv v, void *t)
{
	return check_percent(c, v, &K(t)->min_inodes_percent);
}

static const struct sov_jfield disk_fields[] = {
    COMMON_FIELDS,
    {"min_free_bytes", f_min_free_bytes},
    {"min_free_percent", f_min_free_percent},
    {"min_inodes_percent", f_min_inodes_percent},
    {"path", f_disk_path},
    FIELDS_END,
};

/* ---- postgres, sqlite ---- */

static struct pr_db *
B(void *t)
{
	return &((struct pr_tctx *)t)->t->u.db;
}

/* user:password@ in the authority, or a password= parameter. */
static int
pr_url_has_password(const char *url)
{
	const char *auth = strstr(url, "://"), *end, *at;

	if (strstr(url, "password="))
		return 1;
	if (auth == NULL)
		return 0;
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	at = memchr(auth, '@', (size_t)(end - auth));
	return at && memchr(auth, ':', (size_t)(at - auth)) != NULL;
}

static int
f_pg_url(struct sov_jcheck *c, jv v, void *t)
{
	char **url = &B(t)->url;

	if (check_str(c, v, PR_URL_MAX, url) < 0)
		return -1;
	if (strncmp(*url, "postgres://", 11) != 0 &&
	    strncmp(*url, "postgresql://", 13) != 0)
		return sov_jcheck_fail(c, "must start with postgres:// or "
					  "postgresql://");
	if (pr_url_has_password(*url))
		return sov_jcheck_fail(c, "holds a password: put the URL in a "
					  "file and name it in url_file");
	return 0;
}

static int
f_url_file(struct sov_jcheck *c, jv v, void *t)
{
	return check_str(c, v, PR_PATH_MAX, &B(t)->url_file);
}

static int
f_query(struct sov_jcheck *c, jv v, void *t)
{
	return check_str(c, v, PR_TEXT_MAX, &B(t)->query);
}

static int
f_db_jq(struct sov_jcheck *c, jv v, void *t)
{
	return sov_jcheck_jq(c, v, PR_JQ_MAX, jv_invalid(), &B(t)->jq_src,
			     &B(t)->jq);
}

static int
f_sqlite_path(struct sov_jcheck *c, jv v, void *t)
{
	return check_path(c, v, &B(t)->url);
}

static const struct sov_jfield postgres_fields[] = {
    COMMON_FIELDS,
    {"jq", f_db_jq},
    {"latency", f_latency},
    {"query", f_query},
    {"url", f_pg_url},
    {"url_file", f_url_file},
    FIELDS_END,
};

static const struct sov_jfield sqlite_fields[] = {
    COMMON_FIELDS,
    {"latency", f_latency},
    {"path", f_sqlite_path},
    FIELDS_END,
};

/* ---- command, backup ---- */

static struct pr_command *
C(void *t)
{
	return &((struct pr_tctx *)t)->t->u.cmd;
}

static int
f_argv(struct sov_jcheck *c, jv v, void *t)
{
	return check_strings(c, v, PR_ARGV_MAX, PR_ARG_MAX, &C(t)->argv);
}

static int
f_cmd_jq(struct sov_jcheck *c, jv v, void *t)
{
	return sov_jcheck_jq(c, v, PR_JQ_MAX, jv_invalid(), &C(t)->jq_src,
			     &C(t)->jq);
}

static int
f_max_age(struct sov_jcheck *c, jv v, void *t)
{
	struct pr_target *tg = ((struct pr_tctx *)t)->t;
	int64_t *out =
	    tg->type == PR_WIREGUARD ? &tg->u.wg.max_age_ms : &C(t)->max_age_ms;

	return sov_jcheck_duration(c, v, 1000, INT64_C(366) * 86400000, out);
}

static const struct sov_jfield command_fields[] = {
    COMMON_FIELDS,
    {"argv", f_argv},
    {"jq", f_cmd_jq},
    {"latency", f_latency},
    {"read_max", f_read_max},
    FIELDS_END,
};

static const struct sov_jfield backup_fields[] = {
    COMMON_FIELDS,
    {"argv", f_argv},
    {"jq", f_cmd_jq},
    {"max_age", f_max_age},
    {"read_max", f_read_max},
    FIELDS_END,
};

/* ---- systemd, wireguard ---- */

static int
f_unit(struct sov_jcheck *c, jv v, void *t)
{
	char **unit = &((struct pr_tctx *)t)->t->u.unit;

	if (check_str(c, v, 256, unit) < 0)
		return -1;
	for (const char *p = *unit; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(":-_.\\@", *p))
			return sov_jcheck_fail(c, "not a unit name");
	if ((*unit)[0] == '-')
		return sov_jcheck_fail(c, "not a unit name");
	return 0;
}

static const struct sov_jfield systemd_fields[] = {
    COMMON_FIELDS,
    {"unit", f_unit},
    FIELDS_END,
};

static int
f_interface(struct sov_jcheck *c, jv v, void *t)
{
	char **ifname = &((struct pr_tctx *)t)->t->u.wg.interface;

	if (check_str(c, v, 15, ifname) < 0)
		return -1;
	for (const char *p = *ifname; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
			return sov_jcheck_fail(c, "not an interface name");
	return 0;
}

static int
f_peers(struct sov_jcheck *c, jv v, void *t)
{
	char ***peers = &((struct pr_tctx *)t)->t->u.wg.peers;

	if (check_strings(c, v, PR_EXPECT_MAX, 64, peers) < 0)
		return -1;
	for (int i = 0; (*peers)[i]; i++) {
		const char *k = (*peers)[i];
		size_t n = strlen(k);
		int ok = n == 44 && k[43] == '=';

		for (size_t j = 0; ok && j < 43; j++)
			ok = isalnum((unsigned char)k[j]) || k[j] == '+' ||
			     k[j] == '/';
		if (!ok) {
			sov_jcheck_push_index(c, i);
			return sov_jcheck_fail(c, "not a WireGuard public key "
						  "(44 characters of base64)");
		}
	}
	return 0;
}

static const struct sov_jfield wireguard_fields[] = {
    COMMON_FIELDS,
    {"interface", f_interface},
    {"max_age", f_max_age},
    {"peers", f_peers},
    FIELDS_END,
};

static const struct sov_jfield *const type_fields[] = {
    NULL,	    http_fields,    tcp_fields,	   tls_fields,
    dns_fields,	    icmp_fields,    disk_fields,   postgres_fields,
    sqlite_fields,  command_fields, systemd_fields, wireguard_fields,
    backup_fields,
};

/* ---- the whole target ---- */

static int
required(struct sov_jcheck *c, const char *name)
{
	size_t old = sov_jcheck_push_name(c, name);

	sov_jcheck_fail(c, "required for this type");
	sov_jcheck_pop(c, old);
	return -1;
}

int
pr_check_timing(struct sov_jcheck *c, struct pr_tctx *tc)
{
	struct pr_target *t = tc->t;
	char a[32], b[32];

	if (!tc->timeout_given && t->timeout_ms > t->interval_ms)
		t->timeout_ms = t->interval_ms;
	if (t->timeout_ms > t->interval_ms)
		return sov_jcheck_fail(c, "timeout (%s) is longer than "
					  "interval (%s)",
				       sov_jcheck_ms(t->timeout_ms, a),
				       sov_jcheck_ms(t->interval_ms, b));
	return 0;
}

/* What must hold between fields, and the defaults that depend on type. */
static int
finish(struct sov_jcheck *c, struct pr_tctx *tc)
{
	struct pr_target *t = tc->t;

	switch (t->type) {
	case PR_HTTP:
		if (t->u.http.url == NULL)
			return required(c, "url");
		if (t->u.http.method == NULL &&
		    (t->u.http.method = strdup(t->u.http.body ? "POST"
							      : "GET")) == NULL)
			return sov_err_set(c->e, SOV_EXIT_FAIL,
					   "out of memory");
		if (t->cert_days > 0 &&
		    strncmp(t->u.http.url, "https://", 8) != 0)
			return sov_jcheck_fail(c, "cert_days needs an https:// "
						  "url");
		break;
	case PR_TCP:
	case PR_TLS:
	case PR_ICMP:
		if (t->u.net.host == NULL)
			return required(c, "host");
		if (t->type == PR_TCP && t->u.net.port == 0)
			return required(c, "port");
		if (t->type == PR_TLS && t->u.net.port == 0)
			t->u.net.port = 443;
		if (t->type == PR_TLS && t->cert_days == 0)
			t->cert_days = PR_CERT_DAYS_DEFAULT;
		break;
	case PR_DNS:
		if (t->u.dns.name == NULL)
			return required(c, "query_name");
		if (t->u.dns.rrtype == 0)
			t->u.dns.rrtype = ns_t_a;
		break;
	case PR_DISK:
		if (t->u.disk.path == NULL)
			return required(c, "path");
		if (t->u.disk.min_free_percent < 0 &&
		    t->u.disk.min_free_bytes < 0 &&
		    t->u.disk.min_inodes_percent < 0) {
			t->u.disk.min_free_percent = PR_DISK_FREE_DEFAULT;
			t->u.disk.min_inodes_percent = PR_DISK_FREE_DEFAULT;
		}
		break;
	case PR_POSTGRES:
		if ((t->u.db.url == NULL) == (t->u.db.url_file == NULL))
			return sov_jcheck_fail(c, "needs exactly one of url "
						  "and url_file");
		if (t->u.db.query == NULL &&
		    (t->u.db.query = strdup("SELECT 1")) == NULL)
			return sov_err_set(c->e, SOV_EXIT_FAIL,
					   "out of memory");
		break;
	case PR_SQLITE:
		if (t->u.db.url == NULL)
			return required(c, "path");
		break;
	case PR_COMMAND:
	case PR_BACKUP:
		if (t->u.cmd.argv == NULL)
			return required(c, "argv");
		if (t->type == PR_BACKUP && t->u.cmd.max_age_ms == 0)
			return required(c, "max_age");
		break;
	case PR_SYSTEMD:
		if (t->u.unit == NULL)
			return required(c, "unit");
		break;
	case PR_WIREGUARD:
		if (t->u.wg.interface == NULL)
			return required(c, "interface");
		if (t->u.wg.max_age_ms == 0)
			t->u.wg.max_age_ms = PR_HANDSHAKE_AGE_DEFAULT_MS;
		break;
	}
	if (pr_check_timing(c, tc) < 0)
		return -1;
	if (t->latency_ms > t->timeout_ms)
		return sov_jcheck_fail(c, "latency is longer than timeout: it "
					  "could never be exceeded");
	return 0;
}

int
pr_target_check(struct sov_jcheck *c, jv v, struct pr_tctx *tc)
{
	struct pr_target *t = tc->t;
	jv type;
	size_t old;

	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return sov_jcheck_fail(c, "must be an object, not %s",
				       sov_jcheck_kind(v));
	type = jv_object_get(jv_copy(v), jv_string("type"));
	old = sov_jcheck_push_name(c, "type");
	if (!jv_is_valid(type)) {
		jv_free(type);
		return sov_jcheck_fail(c, "required: one of http, tcp, tls, "
					  "dns, icmp, disk, postgres, sqlite, "
					  "command, systemd, wireguard, backup");
	}
	if (jv_get_kind(type) == JV_KIND_STRING)
		t->type = type_from_name(jv_string_value(type));
	jv_free(type);
	if (t->type == 0)
		return sov_jcheck_fail(c, "must be one of http, tcp, tls, dns, "
					  "icmp, disk, postgres, sqlite, "
					  "command, systemd, wireguard, backup");
	sov_jcheck_pop(c, old);
	if (t->type == PR_DISK) {
		t->u.disk.min_free_percent = -1;
		t->u.disk.min_free_bytes = -1;
		t->u.disk.min_inodes_percent = -1;
	}
	if (sov_jcheck_object(c, v, type_fields[t->type], tc) < 0)
		return -1;
	return finish(c, tc);
}
