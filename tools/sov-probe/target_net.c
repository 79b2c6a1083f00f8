/*
 * target_net.c - the fields of the targets that probe over the network
 * (http, tcp, tls, icmp, dns), and what must hold between them.
 */
#include "target_int.h"

#include <arpa/nameser.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* A host name or address: letters, digits, - . : [ ] _ only. */
static int
check_host(struct sov_jcheck *c, jv v, char **out)
{
	if (pr_check_str(c, v, PR_HOST_MAX, out) < 0)
		return -1;
	for (const char *p = *out; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-.:_[]%", *p))
			return sov_jcheck_fail(c, "not a host name or address");
	return 0;
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

	if (pr_check_str(c, v, PR_URL_MAX, url) < 0)
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
	static const char *const ok[] = {"GET",    "HEAD",  "POST",   "PUT",
					 "DELETE", "PATCH", "OPTIONS"};

	if (pr_check_str(c, v, 16, &H(t)->method) < 0)
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
		return sov_jcheck_fail(c,
				       "must be a status code or an array of "
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
	return pr_check_str(c, v, PR_TEXT_MAX, &H(t)->contains);
}

static int
f_http_jq(struct sov_jcheck *c, jv v, void *t)
{
	/* compiled later with every other http condition (pr_set_compile) */
	if (!(c->flags & (SOV_JCHECK_NO_COMPILE | PR_LOAD_EACH_ALONE)))
		return sov_jcheck_jq_later(c, v, PR_JQ_MAX, &H(t)->cond);
	return sov_jcheck_jq(c, v, PR_JQ_MAX, jv_invalid(), &H(t)->cond.src,
			     &H(t)->cond.q);
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
	return pr_check_path(c, v, &H(t)->ca_file);
}

const struct sov_jfield pr_http_fields[] = {
    PR_COMMON_FIELDS,
    {"body", f_body},
    {"ca_file", f_http_ca_file},
    {"cert_days", pr_field_cert_days},
    {"contains", f_contains},
    {"headers", f_headers},
    {"insecure", f_insecure},
    {"jq", f_http_jq},
    {"latency", pr_field_latency},
    {"method", f_method},
    {"read_max", pr_field_read_max},
    {"redirects", f_redirects},
    {"reuse", f_reuse},
    {"status", f_status},
    {"url", f_url},
    PR_FIELDS_END,
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
	return pr_check_path(c, v, &N(t)->ca_file);
}

const struct sov_jfield pr_tcp_fields[] = {
    PR_COMMON_FIELDS, {"host", f_host}, {"latency", pr_field_latency},
    {"port", f_port}, PR_FIELDS_END,
};

const struct sov_jfield pr_tls_fields[] = {
    PR_COMMON_FIELDS,
    {"ca_file", f_tls_ca_file},
    {"cert_days", pr_field_cert_days},
    {"host", f_host},
    {"latency", pr_field_latency},
    {"port", f_port},
    {"server_name", f_server_name},
    PR_FIELDS_END,
};

const struct sov_jfield pr_icmp_fields[] = {
    PR_COMMON_FIELDS,
    {"host", f_host},
    {"latency", pr_field_latency},
    PR_FIELDS_END,
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

	if (pr_check_str(c, v, 64, &D(t)->server) < 0)
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
	return pr_check_strings(c, v, PR_EXPECT_MAX, PR_TEXT_MAX,
				&D(t)->expect);
}

const struct sov_jfield pr_dns_fields[] = {
    PR_COMMON_FIELDS,
    {"expect", f_expect},
    {"latency", pr_field_latency},
    {"query_name", f_dns_name},
    {"record", f_record},
    {"server", f_dns_server},
    PR_FIELDS_END,
};

int
pr_target_net_finish(struct sov_jcheck *c, struct pr_tctx *tc)
{
	struct pr_target *t = tc->t;

	switch (t->type) {
	case PR_HTTP:
		if (t->u.http.url == NULL)
			return pr_check_required(c, "url");
		if (t->u.http.method == NULL &&
		    (t->u.http.method =
			 strdup(t->u.http.body ? "POST" : "GET")) == NULL)
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
			return pr_check_required(c, "host");
		if (t->type == PR_TCP && t->u.net.port == 0)
			return pr_check_required(c, "port");
		if (t->type == PR_TLS && t->u.net.port == 0)
			t->u.net.port = 443;
		if (t->type == PR_TLS && t->cert_days == 0)
			t->cert_days = PR_CERT_DAYS_DEFAULT;
		break;
	case PR_DNS:
		if (t->u.dns.name == NULL)
			return pr_check_required(c, "query_name");
		if (t->u.dns.rrtype == 0)
			t->u.dns.rrtype = ns_t_a;
		break;
	default:
		break;
	}
	return 0;
}
