/*
 * probe_curl.c - http, tcp and tls targets, as transfers of libcurl's
 * multi interface: set up an easy handle for a target, and judge what
 * came back once it is done. The event loop (engine.c) drives them.
 *
 * tcp and tls are CONNECT_ONLY transfers: curl connects (and for tls
 * completes the handshake, verifying the chain and the name) and stops.
 * Connections are fresh for every probe unless the target says reuse, so
 * a probe sees what a new client sees, as blackbox_exporter does.
 */
#include "probe_curl.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "jsonl.h"

void
pr_xfer_clear(struct pr_xfer *x)
{
	free(x->body);
	curl_slist_free_all(x->headers);
	curl_slist_free_all(x->connect_to);
	free(x->url);
	memset(x, 0, sizeof(*x));
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct pr_xfer *x = arg;
	size_t len = size * n;

	if (x->len + len > x->max) {
		x->too_big = 1;
		return 0; /* curl ends the transfer: CURLE_WRITE_ERROR */
	}
	if (x->len + len + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 4096;
		char *grown;

		while (cap < x->len + len + 1)
			cap *= 2;
		if ((grown = realloc(x->body, cap)) == NULL) {
			x->too_big = 1;
			return 0;
		}
		x->body = grown;
		x->cap = cap;
	}
	memcpy(x->body + x->len, data, len);
	x->len += len;
	x->body[x->len] = '\0';
	return len;
}

/* "host" or "[v6]" for a URL. */
static int
host_url(char **url, const char *scheme, const char *host, int port)
{
	int v6 = strchr(host, ':') != NULL && host[0] != '[';

	return asprintf(url, "%s://%s%s%s:%d/", scheme, v6 ? "[" : "", host,
			v6 ? "]" : "", port);
}

static int
setup_http(CURL *h, const struct pr_target *t, struct pr_xfer *x)
{
	const struct pr_http *hp = &t->u.http;
	CURLcode rc = CURLE_OK;

	for (char **p = hp->headers; p && *p; p++) {
		struct curl_slist *l = curl_slist_append(x->headers, *p);

		if (l == NULL)
			return -1;
		x->headers = l;
	}
	rc |= curl_easy_setopt(h, CURLOPT_URL, hp->url);
	if (strcmp(hp->method, "HEAD") == 0)
		rc |= curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(hp->method, "GET") != 0)
		rc |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, hp->method);
	if (hp->body) {
		rc |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, hp->body);
		rc |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				       (curl_off_t)hp->body_len);
	}
	if (x->headers)
		rc |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->headers);
	if (hp->redirects > 0) {
		rc |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
		rc |= curl_easy_setopt(h, CURLOPT_MAXREDIRS,
				       (long)hp->redirects);
	}
	rc |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	rc |= curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	if (hp->ca_file)
		rc |= curl_easy_setopt(h, CURLOPT_CAINFO, hp->ca_file);
	if (hp->insecure) {
		rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (t->cert_days > 0)
		rc |= curl_easy_setopt(h, CURLOPT_CERTINFO, 1L);
	if (!hp->reuse) {
		rc |= curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
		rc |= curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	}
	return rc == CURLE_OK ? 0 : -1;
}

static int
setup_net(CURL *h, const struct pr_target *t, struct pr_xfer *x)
{
	const struct pr_tls *n = &t->u.net;
	CURLcode rc = CURLE_OK;

	if (t->type == PR_TCP) {
		if (host_url(&x->url, "http", n->host, n->port) < 0)
			return x->url = NULL, -1;
	} else {
		const char *name = n->server_name ? n->server_name : n->host;
		char *to = NULL;

		if (host_url(&x->url, "https", name, n->port) < 0)
			return x->url = NULL, -1;
		if (n->server_name) { /* connect to host, verify name */
			if (asprintf(&to, "%s:%d:%s:%d", name, n->port,
				     n->host, n->port) < 0)
				return -1;
			x->connect_to = curl_slist_append(NULL, to);
			free(to);
			if (x->connect_to == NULL)
				return -1;
			rc |= curl_easy_setopt(h, CURLOPT_CONNECT_TO,
					       x->connect_to);
		}
		rc |= curl_easy_setopt(h, CURLOPT_CERTINFO, 1L);
		if (n->ca_file)
			rc |= curl_easy_setopt(h, CURLOPT_CAINFO, n->ca_file);
	}
	rc |= curl_easy_setopt(h, CURLOPT_URL, x->url);
	rc |= curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	return rc == CURLE_OK ? 0 : -1;
}

int
pr_xfer_setup(CURL *h, const struct pr_target *t, struct pr_xfer *x)
{
	CURLcode rc = CURLE_OK;

	memset(x, 0, sizeof(*x));
	x->max = t->read_max;
	curl_easy_reset(h);
	rc |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)t->timeout_ms);
	rc |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			       (long)t->timeout_ms);
	rc |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
	rc |= curl_easy_setopt(h, CURLOPT_USERAGENT, "sov-probe/" SOV_VERSION);
	rc |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	if (rc != CURLE_OK)
		return -1;
	return t->type == PR_HTTP ? setup_http(h, t, x) : setup_net(h, t, x);
}

/* Days until the leaf certificate's notAfter, from CURLINFO_CERTINFO;
 * NAN when curl has none (a reused connection, a plain http URL). */
static double
cert_days_left(CURL *h, time_t now)
{
	struct curl_certinfo *ci = NULL;

	if (curl_easy_getinfo(h, CURLINFO_CERTINFO, &ci) != CURLE_OK ||
	    ci == NULL || ci->num_of_certs < 1)
		return NAN;
	for (struct curl_slist *l = ci->certinfo[0]; l; l = l->next) {
		const char *v;
		struct tm tm = {0};

		if (strncmp(l->data, "Expire date:", 12) != 0)
			continue;
		v = l->data + 12;
		while (*v == ' ')
			v++;
		/* OpenSSL's form: "Jan  2 03:04:05 2027 GMT" */
		if (strptime(v, "%b %d %H:%M:%S %Y", &tm) == NULL)
			return NAN;
		return round((double)(timegm(&tm) - now) / 864.0) / 100;
	}
	return NAN;
}

static int
status_ok(const struct pr_http *hp, long status)
{
	if (hp->nstatus == 0)
		return status >= 200 && status < 400;
	for (int i = 0; i < hp->nstatus; i++)
		if (hp->status[i] == status)
			return 1;
	return 0;
}

static void
judge_body(const struct pr_target *t, struct pr_xfer *x,
	   struct pr_result *r)
{
	const struct pr_http *hp = &t->u.http;
	struct sov_err e = {0};

	if (hp->contains &&
	    (x->body == NULL || memmem(x->body, x->len, hp->contains,
				       strlen(hp->contains)) == NULL))
		pr_result_fail(r, "the body does not contain \"%s\"",
			       hp->contains);
	if (hp->cond.q) {
		jv body = sov_json_parse(x->body ? x->body : "", x->len, &e);
		int truth = 0;

		if (!jv_is_valid(body)) {
			jv_free(body);
			pr_result_fail(r, "the body is not JSON: %s", e.msg);
		} else if (pr_jq_test(t, hp->cond.q, body, &truth, &e) < 0) {
			pr_result_fail(r, "jq: %s", e.msg);
		} else if (!truth) {
			pr_result_fail(r, "the body does not pass %s",
				       hp->cond.src);
		}
	}
}

void
pr_xfer_judge(CURL *h, CURLcode done, const struct pr_target *t,
	      struct pr_xfer *x, struct pr_result *r)
{
	curl_off_t us = 0;
	long status = 0;
	double days;

	curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &us);
	r->seconds = (double)us / 1e6;
	if (t->type == PR_HTTP) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (status)
			pr_result_set(r, "status", jv_number((double)status));
		pr_result_set(r, "bytes", jv_number((double)x->len));
	}
	if (done != CURLE_OK) {
		if (x->too_big)
			pr_result_fail(r, "the body is larger than %zu bytes "
					  "(read_max)",
				       x->max);
		else
			pr_result_fail(r, "%s",
				       x->errbuf[0] ? x->errbuf
						    : curl_easy_strerror(done));
		return;
	}
	if ((t->type == PR_TLS || t->cert_days > 0)) {
		days = cert_days_left(h, time(NULL));
		if (isfinite(days)) {
			pr_result_set(r, "cert_days_left", jv_number(days));
			if (t->cert_days > 0 && days < t->cert_days)
				pr_result_fail(r, "the certificate expires in "
						  "%.1f days, fewer than %g",
					       days, t->cert_days);
		}
	}
	if (t->type == PR_HTTP) {
		if (!status_ok(&t->u.http, status))
			pr_result_fail(r, "status %ld", status);
		judge_body(t, x, r);
	}
	if (t->latency_ms && r->seconds * 1000 > (double)t->latency_ms)
		pr_result_fail(r, "took %.0f ms, over the %lld ms budget",
			       r->seconds * 1000, (long long)t->latency_ms);
}
