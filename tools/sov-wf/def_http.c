/*
 * def_http.c - the http action of a step or an undo: url, method,
 * headers, body and expected statuses (docs/workflow-format.md, "http").
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "def_int.h"

struct http_ctx {
	struct wf_http *h;
	int method_given;
};

static int
http_url(struct sov_jcheck *c, jv v, void *t)
{
	struct http_ctx *hc = t;
	const char *u, *host;

	if (sov_jcheck_string(c, v, WF_URL_MAX, &hc->h->url) < 0)
		return -1;
	u = hc->h->url;
	if (strncmp(u, "https://", 8) == 0)
		host = u + 8;
	else if (strncmp(u, "http://", 7) == 0)
		host = u + 7;
	else
		return sov_jcheck_fail(c, "must start with http:// or https://");
	if (*host == '\0' || strchr("/?#:@", *host) != NULL)
		return sov_jcheck_fail(c, "names no host");
	for (const unsigned char *p = (const unsigned char *)u; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return sov_jcheck_fail(
			    c,
			    "byte 0x%02x at offset %zu: "
			    "percent-encode spaces, control "
			    "characters and non-ASCII",
			    *p, (size_t)(p - (const unsigned char *)u));
	return 0;
}

static int
http_method(struct sov_jcheck *c, jv v, void *t)
{
	static const char *const names[] = {"GET", "POST", "PUT", "PATCH",
					    "DELETE"};
	struct http_ctx *hc = t;

	if (jv_get_kind(v) == JV_KIND_STRING)
		for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
			if (strcmp(jv_string_value(v), names[i]) == 0) {
				hc->h->method = (enum wf_method)(i + 1);
				hc->method_given = 1;
				return 0;
			}
	return sov_jcheck_fail(c, "must be \"GET\", \"POST\", \"PUT\", "
				"\"PATCH\" or \"DELETE\"");
}

static int
http_headers(struct sov_jcheck *c, jv v, void *t)
{
	struct http_ctx *hc = t;

	if (sov_jcheck_headers(c, v, WF_HEADERS_MAX, WF_HEADER_VALUE_MAX,
			       "sov-wf") < 0)
		return -1;
	jv_free(hc->h->headers);
	hc->h->headers = jv_copy(v);
	return 0;
}

static int
http_body(struct sov_jcheck *c, jv v, void *t)
{
	struct http_ctx *hc = t;

	return wf_check_prog(c, v, &hc->h->body);
}

static int
http_expect(struct sov_jcheck *c, jv v, void *t)
{
	struct http_ctx *hc = t;
	struct wf_http *h = hc->h;
	int n;

	if (jv_get_kind(v) != JV_KIND_ARRAY)
		return sov_jcheck_fail(c,
				     "must be an array of status codes, not "
				     "%s",
				     sov_jcheck_kind(v));
	n = jv_array_length(jv_copy(v));
	if (n < 1 || n > WF_EXPECT_MAX)
		return sov_jcheck_fail(c, "must have 1 to %d status codes",
				     WF_EXPECT_MAX);
	for (int i = 0; i < n; i++) {
		jv x = jv_array_get(jv_copy(v), i);
		size_t old = sov_jcheck_push_index(c, i);
		long code;
		int rc = sov_jcheck_int(c, x, 100, 599, &code);

		jv_free(x);
		if (rc < 0)
			return -1;
		for (size_t j = 0; j < h->n_expect; j++)
			if (h->expect[j] == code)
				return sov_jcheck_fail(c, "%ld is listed twice",
						     code);
		h->expect[h->n_expect++] = (int)code;
		sov_jcheck_pop(c, old);
	}
	return 0;
}

static const struct sov_jfield http_fields[] = {
    {"body", http_body},     {"expect", http_expect}, {"headers", http_headers},
    {"method", http_method}, {"url", http_url},       {NULL, NULL},
};

int
wf_http_check(struct sov_jcheck *c, jv v, struct wf_http *h)
{
	struct http_ctx hc = {h, 0};

	if (sov_jcheck_object(c, v, http_fields, &hc) < 0)
		return -1;
	if (h->url == NULL) {
		sov_jcheck_push_name(c, "url");
		return sov_jcheck_fail(c, "required (http:// or https://)");
	}
	if (!hc.method_given)
		h->method = h->body.src ? WF_METHOD_POST : WF_METHOD_GET;
	if (h->method == WF_METHOD_GET && h->body.src) {
		sov_jcheck_push_name(c, "body");
		return sov_jcheck_fail(c, "a GET request has no body: drop "
					"body, or use another method");
	}
	if (jv_get_kind(h->headers) != JV_KIND_OBJECT) {
		jv_free(h->headers);
		h->headers = jv_object();
	}
	return 0;
}
