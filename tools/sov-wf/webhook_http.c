/*
 * webhook_http.c - one webhook request: refused from its headers before
 * the body is read where it can be, else read, verified, parsed and
 * handed to the callback; every answer JSON. See webhook.h.
 */
#include "webhook_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_dump.h"
#include "jsonl.h"

#define BODY_CHUNK (64u << 10) /* first buffer of a chunked body */

/* One request: libmicrohttpd's request context. */
struct req {
	const struct wf_webhook_route *route;
	char *body;
	size_t len, cap;
	uint64_t dropped; /* bytes past WF_WEBHOOK_BODY_MAX */
	int too_big;
	int64_t now_s; /* when its headers were in: the replay window's now */
};

/* ---- responses ---- */

/* Give the connection a new deadline: a response is going out, and the
 * next request on it gets the whole timeout again. */
static void
touch(struct wf_webhook *w, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct wf_webhook_conn *k = ci != NULL ? ci->socket_context : NULL;

	if (k != NULL && !k->cut)
		k->deadline_ms = wf_webhook_mono_ms() + w->timeout_ms;
}

/* Queue body (consumed) as JSON with status and one more header. */
static enum MHD_Result
respond(struct wf_webhook *w, struct MHD_Connection *c, unsigned status,
	jv body, const char *hname, const char *hval)
{
	struct MHD_Response *r;
	enum MHD_Result ret = MHD_NO;
	jv text = sov_json_dump(body);
	const char *s = jv_string_value(text);

	r = MHD_create_response_from_buffer(strlen(s), (void *)s,
					    MHD_RESPMEM_MUST_COPY);
	jv_free(text);
	if (r == NULL)
		return MHD_NO;
	if (MHD_add_response_header(r, "Content-Type", "application/json") !=
		MHD_YES ||
	    (hname != NULL &&
	     MHD_add_response_header(r, hname, hval) != MHD_YES))
		goto out;
	touch(w, c);
	ret = MHD_queue_response(c, status, r);
out:
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
fail(struct wf_webhook *w, struct MHD_Connection *c, unsigned status,
     const char *msg)
{
	jv body = jv_object_set(jv_object(), jv_string("error"),
				jv_string(msg[0] != '\0' ? msg : "error"));

	switch (status) {
	case MHD_HTTP_METHOD_NOT_ALLOWED:
		return respond(w, c, status, body, "Allow", "POST");
	case MHD_HTTP_UNAUTHORIZED:
		/* RFC 9110 wants a challenge with every 401 */
		return respond(w, c, status, body, "WWW-Authenticate",
			       WF_WEBHOOK_HDR_SIGNATURE " realm=\"sov-wf\"");
	case MHD_HTTP_SERVICE_UNAVAILABLE: {
		char ra[16];
		int n =
		    snprintf(ra, sizeof(ra), "%d", WF_WEBHOOK_RETRY_AFTER_S);

		if (n < 0 || (size_t)n >= sizeof(ra)) {
			jv_free(body);
			return MHD_NO;
		}
		return respond(w, c, status, body, "Retry-After", ra);
	}
	default:
		return respond(w, c, status, body, NULL, NULL);
	}
}

static enum MHD_Result
too_large(struct wf_webhook *w, struct MHD_Connection *c)
{
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "body over %u bytes",
			 WF_WEBHOOK_BODY_MAX);

	if (n < 0 || (size_t)n >= sizeof(msg))
		return MHD_NO;
	return fail(w, c, MHD_HTTP_CONTENT_TOO_LARGE, msg);
}

/* ---- requests ---- */

static const char *
header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static const struct wf_webhook_route *
find_route(const struct wf_webhook *w, const char *url)
{
	for (size_t i = 0; url != NULL && i < w->n; i++)
		if (strcmp(w->routes[i].path, url) == 0)
			return &w->routes[i];
	return NULL;
}

/* Content-Length: 1 when over the cap, else 0 with *len (0 if absent).
 * libmicrohttpd has refused a malformed one already. */
static int
content_length(struct MHD_Connection *c, size_t *len)
{
	const char *v = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t n = 0;

	*len = 0;
	for (size_t i = 0; v != NULL && v[i] >= '0' && v[i] <= '9'; i++) {
		n = n * 10 + (uint64_t)(v[i] - '0');
		if (n > WF_WEBHOOK_BODY_MAX)
			return 1;
	}
	*len = (size_t)n;
	return 0;
}

/* The first call, with the headers in: everything that can be refused
 * before reading the body is refused here, and the body is not read. */
static enum MHD_Result
begin(struct wf_webhook *w, struct MHD_Connection *c, const char *url,
      const char *method, void **ctx)
{
	const struct wf_webhook_route *route = find_route(w, url);
	struct sov_err e = {0};
	struct req *q;
	size_t len = 0;
	int64_t now = (int64_t)time(NULL);

	if (route == NULL)
		return fail(w, c, MHD_HTTP_NOT_FOUND,
			    "no webhook at this path");
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return fail(w, c, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "method not allowed: a webhook takes POST");
	if (wf_webhook_verify_headers(header(c, WF_WEBHOOK_HDR_TIMESTAMP),
				      header(c, WF_WEBHOOK_HDR_SIGNATURE), now,
				      &e) < 0)
		return fail(w, c, MHD_HTTP_UNAUTHORIZED, e.msg);
	if (wf_webhook_check_delivery(header(c, WF_WEBHOOK_HDR_DELIVERY), &e) <
	    0)
		return fail(w, c, MHD_HTTP_BAD_REQUEST, e.msg);
	if (content_length(c, &len) != 0)
		return too_large(w, c);
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return fail(w, c, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "out of memory");
	q->route = route;
	q->now_s = now;
	/* A known length is allocated once; a chunked body grows. */
	if (len > 0) {
		q->body = malloc(len);
		if (q->body == NULL) {
			free(q);
			return fail(w, c, MHD_HTTP_SERVICE_UNAVAILABLE,
				    "out of memory");
		}
		q->cap = len;
	}
	*ctx = q;
	return MHD_YES;
}

/* A piece of the body. MHD_NO closes the connection. */
static enum MHD_Result
take(struct req *q, const char *data, size_t n)
{
	if (!q->too_big && n > WF_WEBHOOK_BODY_MAX - q->len) {
		/* Only a chunked body gets here (Content-Length was checked):
		 * no response can be queued until it ends, so drop the rest */
		q->too_big = 1;
		free(q->body);
		q->body = NULL;
		q->len = q->cap = 0;
	}
	if (q->too_big) {
		q->dropped += n;
		return q->dropped > WF_WEBHOOK_DRAIN_MAX ? MHD_NO : MHD_YES;
	}
	if (n > q->cap - q->len) {
		size_t cap = q->cap > 0 ? q->cap : BODY_CHUNK;
		char *b;

		while (cap - q->len < n)
			cap = cap > WF_WEBHOOK_BODY_MAX / 2
				  ? WF_WEBHOOK_BODY_MAX
				  : cap * 2;
		b = realloc(q->body, cap);
		if (b == NULL)
			return MHD_NO;
		q->body = b;
		q->cap = cap;
	}
	memcpy(q->body + q->len, data, n);
	q->len += n;
	return MHD_YES;
}

static unsigned
status_of(int code)
{
	switch (code) {
	case SOV_EXIT_TEMPFAIL:
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	case SOV_EXIT_USAGE:
		return MHD_HTTP_UNPROCESSABLE_CONTENT;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

/* The last call: the body is in. Verify, parse, hand over, answer. */
static enum MHD_Result
finish(struct wf_webhook *w, struct MHD_Connection *c, struct req *q)
{
	const struct wf_webhook_route *r = q->route;
	struct sov_err e = {0};
	jv input, reply = jv_invalid();
	const char *body = q->body != NULL ? q->body : "";

	if (q->too_big)
		return too_large(w, c);
	if (wf_webhook_verify(r->secret, r->secret_len,
			      header(c, WF_WEBHOOK_HDR_TIMESTAMP),
			      header(c, WF_WEBHOOK_HDR_SIGNATURE), body, q->len,
			      q->now_s, &e) < 0)
		return fail(w, c,
			    e.code == SOV_EXIT_USAGE
				? MHD_HTTP_UNAUTHORIZED
				: MHD_HTTP_INTERNAL_SERVER_ERROR,
			    e.msg);
	input = sov_json_parse(body, q->len, &e);
	if (jv_get_kind(input) == JV_KIND_INVALID) {
		jv_free(input);
		sov_err_prefix(&e, "body: ");
		return fail(w, c, MHD_HTTP_BAD_REQUEST, e.msg);
	}
	if (jv_get_kind(input) != JV_KIND_OBJECT) {
		sov_err_set(&e, SOV_EXIT_USAGE,
			    "body: must be a JSON object (the execution's "
			    "input), not %s",
			    jv_kind_name(jv_get_kind(input)));
		jv_free(input);
		return fail(w, c, MHD_HTTP_BAD_REQUEST, e.msg);
	}
	if (w->fn(w->arg, r->workflow, input,
		  header(c, WF_WEBHOOK_HDR_DELIVERY), &reply, &e) < 0) {
		jv_free(reply);
		return fail(w, c, status_of(e.code), e.msg);
	}
	if (jv_get_kind(reply) == JV_KIND_INVALID) {
		jv_free(reply);
		reply = jv_object();
	}
	if (jv_get_kind(reply) != JV_KIND_OBJECT) {
		jv_free(reply);
		return fail(w, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
			    "internal error: the reply is not an object");
	}
	return respond(w, c, MHD_HTTP_ACCEPTED, reply, NULL, NULL);
}

enum MHD_Result
wf_webhook_handle(void *cls, struct MHD_Connection *c, const char *url,
		  const char *method, const char *version, const char *data,
		  size_t *size, void **ctx)
{
	struct wf_webhook *w = cls;
	struct req *q = *ctx;

	(void)version;
	if (q == NULL)
		return begin(w, c, url, method, ctx);
	if (*size > 0) {
		enum MHD_Result ret = take(q, data, *size);

		*size = 0;
		return ret;
	}
	return finish(w, c, q);
}

void
wf_webhook_request_done(void *cls, struct MHD_Connection *c, void **ctx,
			enum MHD_RequestTerminationCode why)
{
	struct req *q = *ctx;

	(void)cls;
	(void)c;
	(void)why;
	if (q != NULL) {
		free(q->body);
		free(q);
	}
	*ctx = NULL;
}
