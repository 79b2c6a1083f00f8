/*
 * target_describe.c - a target as the JSON object `validate` and `status`
 * print: what it checks and when, never a header value or a password.
 */
#include "target_int.h"

#include <stdlib.h>
#include <string.h>

static jv
strv(char **v)
{
	jv a = jv_array();

	for (char **p = v; p && *p; p++)
		a = jv_array_append(a, jv_string(*p));
	return a;
}

static jv
ms_text(int64_t ms)
{
	char buf[32];

	return jv_string(sov_jcheck_ms(ms, buf));
}

static jv
put(jv o, const char *k, jv v)
{
	return jv_object_set(o, jv_string(k), v);
}

static jv
put_str(jv o, const char *k, const char *s)
{
	return s ? put(o, k, jv_string(s)) : o;
}

static jv
describe_http(jv o, const struct pr_http *h)
{
	jv codes = jv_array(), names = jv_array();

	o = put_str(o, "url", h->url);
	o = put_str(o, "method", h->method);
	for (int i = 0; i < h->nstatus; i++)
		codes = jv_array_append(codes, jv_number(h->status[i]));
	o = put(o, "status", codes);
	for (char **p = h->headers; p && *p; p++) /* names only */
		names = jv_array_append(
		    names, jv_string_sized(*p, (int)strcspn(*p, ":")));
	if (h->headers)
		o = put(o, "headers", names);
	else
		jv_free(names);
	o = put_str(o, "contains", h->contains);
	o = put_str(o, "jq", h->cond.src);
	o = put(o, "redirects", jv_number(h->redirects));
	o = put(o, "reuse", jv_bool(h->reuse));
	if (h->insecure)
		o = put(o, "insecure", jv_true());
	return put_str(o, "ca_file", h->ca_file);
}

jv
pr_target_describe(const struct pr_set *set, const struct pr_target *t)
{
	jv o = jv_object(), names = jv_array();

	o = put(o, "name", jv_string(t->name));
	o = put(o, "type", jv_string(pr_type_name(t->type)));
	o = put(o, "file", jv_string(t->file ? t->file : "-"));
	o = put_str(o, "description", t->description);
	o = put(o, "interval", ms_text(t->interval_ms));
	o = put(o, "timeout", ms_text(t->timeout_ms));
	if (t->latency_ms)
		o = put(o, "latency", ms_text(t->latency_ms));
	o = put(o, "failures", jv_number(t->failures));
	o = put(o, "successes", jv_number(t->successes));
	if (t->cert_days > 0)
		o = put(o, "cert_days", jv_number(t->cert_days));
	o = put(o, "tags", jv_copy(t->tags));
	for (size_t i = 0; i < t->nalerts; i++)
		names = jv_array_append(
		    names, jv_string(set->alerts[t->alerts[i]].name));
	o = put(o, "alerts", names);
	switch (t->type) {
	case PR_HTTP:
		o = describe_http(o, &t->u.http);
		break;
	case PR_TCP:
	case PR_TLS:
	case PR_ICMP:
		o = put_str(o, "host", t->u.net.host);
		if (t->u.net.port)
			o = put(o, "port", jv_number(t->u.net.port));
		o = put_str(o, "server_name", t->u.net.server_name);
		o = put_str(o, "ca_file", t->u.net.ca_file);
		break;
	case PR_DNS:
		o = put_str(o, "query_name", t->u.dns.name);
		o = put(o, "record",
			jv_string(pr_rrtype_name(t->u.dns.rrtype)));
		o = put_str(o, "server", t->u.dns.server);
		if (t->u.dns.expect)
			o = put(o, "expect", strv(t->u.dns.expect));
		break;
	case PR_DISK:
		o = put_str(o, "path", t->u.disk.path);
		if (t->u.disk.min_free_percent >= 0)
			o = put(o, "min_free_percent",
				jv_number(t->u.disk.min_free_percent));
		if (t->u.disk.min_free_bytes >= 0)
			o = put(o, "min_free_bytes",
				jv_number(t->u.disk.min_free_bytes));
		if (t->u.disk.min_inodes_percent >= 0)
			o = put(o, "min_inodes_percent",
				jv_number(t->u.disk.min_inodes_percent));
		break;
	case PR_POSTGRES:
		o = put_str(o, "url", t->u.db.url);
		o = put_str(o, "url_file", t->u.db.url_file);
		o = put_str(o, "query", t->u.db.query);
		o = put_str(o, "jq", t->u.db.jq_src);
		break;
	case PR_SQLITE:
		o = put_str(o, "path", t->u.db.url);
		break;
	case PR_COMMAND:
	case PR_BACKUP:
		o = put(o, "argv", strv(t->u.cmd.argv));
		o = put_str(o, "jq", t->u.cmd.jq_src);
		if (t->u.cmd.max_age_ms)
			o = put(o, "max_age", ms_text(t->u.cmd.max_age_ms));
		break;
	case PR_SYSTEMD:
		o = put_str(o, "unit", t->u.unit);
		break;
	case PR_WIREGUARD:
		o = put_str(o, "interface", t->u.wg.interface);
		if (t->u.wg.peers)
			o = put(o, "peers", strv(t->u.wg.peers));
		o = put(o, "max_age", ms_text(t->u.wg.max_age_ms));
		break;
	}
	return o;
}
