/*
 * exec_http.c - the http action: one request through lib/http.h (the
 * engine does the retries, so the client makes one attempt), judged by
 * the step's expect (wf_http_accepts). Outside expect, 408, 429 and 5xx
 * are temporary and every other status permanent; no response at all is
 * temporary when the client says a retry may mend it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exec_int.h"
#include "json_dump.h"

/* What lib/http.c takes (SOV_HTTP_MAX_REQ_HEADERS in its internal
 * header): the definition's headers and ours must fit in it. */
#define HTTP_CLIENT_HEADERS_MAX 64
#define HTTP_OWN_HEADERS 3 /* Content-Type, Idempotency-Key, X-Sov-Attempt */
#define HTTP_CONNECT_TIMEOUT_MS 10000L

/* The client for this call's timeout and size cap; kept while they stay
 * the same, so that connections are reused. */
static int
client(struct wf_exec *x, const struct wf_exec_call *c, struct sov_err *e)
{
	struct sov_http_opts o;

	if (x->http != NULL && x->http_timeout_ms == (long)c->timeout_ms &&
	    x->http_max_body == c->output_max)
		return 0;
	sov_http_free(x->http);
	x->http = NULL;
	sov_http_opts_default(&o);
	o.timeout_ms = (long)c->timeout_ms;
	o.connect_timeout_ms = o.timeout_ms < HTTP_CONNECT_TIMEOUT_MS
				   ? o.timeout_ms
				   : HTTP_CONNECT_TIMEOUT_MS;
	o.max_attempts = 1;
	o.max_body = c->output_max;
	x->http = sov_http_new(&o, e);
	if (x->http == NULL)
		return -1;
	x->http_timeout_ms = o.timeout_ms;
	x->http_max_body = o.max_body;
	return 0;
}

struct hdrs {
	char *line[WF_HEADERS_MAX + HTTP_OWN_HEADERS];
	const char *list[WF_HEADERS_MAX + HTTP_OWN_HEADERS + 1];
	size_t n;
};

static void
hdrs_free(struct hdrs *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->line[i]);
	h->n = 0;
}

static int
hdrs_add(struct hdrs *h, char *s, const char *step, struct sov_err *e)
{
	if (s == NULL)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL,
				   "%s: building the request headers", step);
	h->line[h->n] = s;
	h->list[h->n] = s;
	h->n++;
	h->list[h->n] = NULL;
	return 0;
}

/*
 * The definition's headers, then Content-Type (with a body),
 * Idempotency-Key and X-Sov-Attempt where the definition did not set
 * them. 0, 1 when they do not fit (r says so), -1.
 */
static int
headers(const struct wf_action *a, const struct wf_exec_call *c, int has_body,
	struct hdrs *h, struct wf_result *r, struct sov_err *e)
{
	int has_ct = 0, has_key = 0, has_attempt = 0, it, rc = -1;
	jv k = jv_invalid(), v = jv_invalid();
	const char *name;

	h->n = 0;
	h->list[0] = NULL;
	if (jv_get_kind(a->http.headers) == JV_KIND_OBJECT) {
		for (it = jv_object_iter(a->http.headers);
		     jv_object_iter_valid(a->http.headers, it);
		     it = jv_object_iter_next(a->http.headers, it)) {
			k = jv_object_iter_key(a->http.headers, it);
			v = jv_object_iter_value(a->http.headers, it);
			if (h->n >= WF_HEADERS_MAX ||
			    jv_get_kind(k) != JV_KIND_STRING ||
			    jv_get_kind(v) != JV_KIND_STRING) {
				sov_err_set(e, SOV_EXIT_FAIL,
					    "%s: headers: over %d or not "
					    "strings (not validated?)",
					    c->step, WF_HEADERS_MAX);
				goto out;
			}
			name = jv_string_value(k);
			has_ct |= strcasecmp(name, "Content-Type") == 0;
			has_key |= strcasecmp(name, "Idempotency-Key") == 0;
			has_attempt |= strcasecmp(name, "X-Sov-Attempt") == 0;
			if (hdrs_add(h,
				     wf_exec_strf("%s: %s", name,
						  jv_string_value(v)),
				     c->step, e) < 0)
				goto out;
			jv_free(k);
			jv_free(v);
			k = v = jv_invalid();
		}
	}
	if (has_body && !has_ct &&
	    hdrs_add(h, wf_exec_strf("Content-Type: application/json"), c->step,
		     e) < 0)
		goto out;
	if (!has_key &&
	    hdrs_add(h, wf_exec_strf("Idempotency-Key: %s", c->idempotency_key),
		     c->step, e) < 0)
		goto out;
	if (!has_attempt &&
	    hdrs_add(h, wf_exec_strf("X-Sov-Attempt: %d", c->attempt), c->step,
		     e) < 0)
		goto out;
	rc = 0;
	if (h->n > HTTP_CLIENT_HEADERS_MAX) {
		wf_exec_fail(r, WF_OUT_FAIL,
			     "%zu request headers with Content-Type, "
			     "Idempotency-Key and X-Sov-Attempt: the HTTP "
			     "client takes at most %d",
			     h->n, HTTP_CLIENT_HEADERS_MAX);
		rc = 1;
	}
out:
	jv_free(k);
	jv_free(v);
	return rc;
}

static int
retryable(long status)
{
	return status == 408 || status == 429 ||
	       (status >= 500 && status <= 599);
}

/* The response, judged by the step's expect. */
static void
judge(const struct wf_action *a, const struct sov_http_resp *resp,
      struct wf_result *r)
{
	char quoted[WF_HTTP_BODY_QUOTED + 1];
	struct sov_err perr;
	size_t n;
	int several;
	jv v;

	if (wf_http_accepts(&a->http, resp->status)) {
		sov_err_clear(&perr);
		v = wf_exec_parse_output(resp->body, resp->len, &several,
					 &perr);
		if (!jv_is_valid(v)) { /* not JSON: the text, as a string */
			jv_free(v);
			v = jv_string_sized(resp->body, (int)resp->len);
		}
		r->output = v;
		r->outcome = WF_OUT_OK;
		return;
	}
	n = resp->len < WF_HTTP_BODY_QUOTED ? resp->len : WF_HTTP_BODY_QUOTED;
	memcpy(quoted, resp->body, n);
	n = wf_exec_clean(quoted, n);
	wf_exec_fail(r, retryable(resp->status) ? WF_OUT_RETRY : WF_OUT_FAIL,
		     "HTTP %ld from %s%s%s%s", resp->status, a->http.url,
		     n > 0 ? ": " : "", quoted,
		     n > 0 && resp->len > WF_HTTP_BODY_QUOTED ? "..." : "");
}

int
wf_exec_http(struct wf_exec *x, const struct wf_action *a,
	     const struct wf_exec_call *call, jv input, struct wf_result *r,
	     struct sov_err *e)
{
	struct sov_http_resp resp;
	struct sov_err he;
	struct hdrs h;
	jv body = jv_invalid(), text = jv_invalid();
	const char *data = NULL;
	size_t len = 0;
	int rc = -1, s;

	memset(&resp, 0, sizeof(resp));
	h.n = 0;
	if (a->http.url == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: http action without a URL",
			    call->step);
		goto out;
	}
	if (a->http.body.src != NULL) {
		if (a->http.body.q == NULL) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: http body: the program was not "
				    "compiled (definition loaded with "
				    "WF_DEF_NO_COMPILE)",
				    call->step);
			goto out;
		}
		sov_err_clear(&he);
		s = sov_jq_first(a->http.body.q, input, &body, &he);
		input = jv_invalid(); /* consumed */
		if (s < 0) {
			wf_exec_fail(r, WF_OUT_FAIL, "%s", he.msg);
			rc = 0;
			goto out;
		}
		text = sov_json_dump(body);
		body = jv_invalid();
		data = jv_string_value(text);
		len = (size_t)jv_string_length_bytes(jv_copy(text));
	}
	s = headers(a, call, data != NULL, &h, r, e);
	if (s != 0) {
		rc = s < 0 ? -1 : 0;
		goto out;
	}
	if (client(x, call, e) < 0)
		goto out;
	sov_err_clear(&he);
	s = sov_http_request(x->http, wf_method_name(a->http.method),
			     a->http.url, h.list, data, len, &resp, &he);
	r->http_status = resp.status;
	rc = 0;
	if (resp.status != 0 && resp.body != NULL)
		judge(a, &resp, r); /* a retryable status is -1 too */
	else if (s < 0)
		wf_exec_fail(r,
			     he.code == SOV_EXIT_TEMPFAIL ? WF_OUT_RETRY
							  : WF_OUT_FAIL,
			     "%s", he.msg);
	else
		wf_exec_fail(r, WF_OUT_RETRY, "%s: no response", a->http.url);
out:
	sov_http_resp_clear(&resp);
	hdrs_free(&h);
	jv_free(input);
	jv_free(body);
	jv_free(text);
	return rc;
}
