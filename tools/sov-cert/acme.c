/*
 * acme.c - the signed transport: the directory fetched once, Replay-Nonce
 * kept from every response, badNonce retried with a fresh nonce, error
 * statuses turned into problem messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme.h"
#include "jsonl.h"

#define UA "sov-cert/" SOV_VERSION

void
ct_resp_clear(struct ct_resp *r)
{
	jv_free(r->body);
	free(r->text);
	free(r->location);
	free(r->links);
	memset(r, 0, sizeof(*r));
	r->body = jv_null();
	r->retry_after_ms = -1;
}

/* Keep the response's Replay-Nonce, if a good one came. */
static void
take_nonce(struct ct_acme *a, const struct sov_http_resp *hr)
{
	jv n = jv_object_get(jv_copy(hr->headers), jv_string("replay-nonce"));

	if (jv_get_kind(n) == JV_KIND_STRING &&
	    ct_nonce_ok(jv_string_value(n))) {
		char *s = strdup(jv_string_value(n));

		if (s != NULL) {
			free(a->nonce);
			a->nonce = s;
		}
	}
	jv_free(n);
}

/* The body as JSON when it says so (or when it must be). */
static int
fill_resp(const struct sov_http_resp *hr, const char *url, int pem,
	  struct ct_resp *r, struct sov_err *e)
{
	const char *ct = hr->content_type ? hr->content_type : "";

	r->status = hr->status;
	r->retry_after_ms = hr->retry_after_ms;
	if (hr->location != NULL) {
		if (!ct_url_ok(hr->location))
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "%s: Location is not a URL", url);
		r->location = strdup(hr->location);
		if (r->location == NULL)
			return sov_err_set(e, SOV_EXIT_TEMPFAIL,
					   "out of memory");
	}
	{
		jv l = jv_object_get(jv_copy(hr->headers), jv_string("link"));

		if (jv_get_kind(l) == JV_KIND_STRING)
			r->links = strdup(jv_string_value(l));
		jv_free(l);
	}
	if (pem && hr->status < 300) {
		r->text = malloc(hr->len + 1);
		if (r->text == NULL)
			return sov_err_set(e, SOV_EXIT_TEMPFAIL,
					   "out of memory");
		memcpy(r->text, hr->body, hr->len);
		r->text[hr->len] = '\0';
		r->len = hr->len;
		return 0;
	}
	if (hr->len == 0) {
		r->body = jv_null();
		return 0;
	}
	if (strstr(ct, "json") == NULL && hr->status < 300)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "%s: HTTP %ld: content type \"%.64s\", "
				   "want JSON",
				   url, hr->status, ct);
	r->body = sov_json_parse(hr->body, hr->len, e);
	if (!jv_is_valid(r->body)) {
		r->body = jv_null();
		if (hr->status >= 300) /* a broken problem: the status says */
			return 0;
		e->code = SOV_EXIT_FAIL;
		return sov_err_prefix(e, "%s: HTTP %ld: ", url, hr->status);
	}
	return 0;
}

int
ct_acme_open(struct ct_acme *a, const char *server, const char *ca_file,
	     long timeout_ms, const struct ct_signer *s, struct sov_err *e)
{
	struct sov_http_opts o;
	struct sov_http_resp hr = {0};
	struct ct_resp r;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	memset(&r, 0, sizeof(r));
	r.body = jv_null();
	a->signer = s;
	if (!ct_url_ok(server))
		return sov_err_set(
		    e, SOV_EXIT_USAGE,
		    "--server: want an http(s) URL, got \"%.100s\"", server);
	a->server = strdup(server);
	sov_http_opts_default(&o);
	o.ca_file = ca_file;
	o.timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
	o.connect_timeout_ms = 10000;
	o.max_attempts = 3;
	o.base_delay_ms = 250;
	o.max_delay_ms = 2000;
	o.max_retry_after_ms = 10000;
	o.max_body = CT_RESP_MAX;
	o.user_agent = UA;
	a->http = sov_http_new(&o, e);
	if (a->http == NULL || a->server == NULL)
		goto out;
	hr.headers = jv_invalid();
	if (sov_http_request(a->http, "GET", server, NULL, NULL, 0, &hr, e) <
		0 &&
	    hr.status < 400) {
		sov_err_prefix(e, "directory: ");
		goto out;
	}
	if (hr.status != 200) {
		/* the CA's own words, when it said any (the code is kept) */
		fill_resp(&hr, server, 0, &r, e);
		ct_problem_err(jv_copy(r.body), server, hr.status,
			       hr.retry_after_ms, e);
		sov_err_prefix(e, "directory: ");
		goto out;
	}
	take_nonce(a, &hr);
	if (fill_resp(&hr, server, 0, &r, e) < 0)
		goto out;
	if (ct_dir_parse(jv_copy(r.body), server, &a->dir, e) < 0)
		goto out;
	rc = 0;
out:
	sov_http_resp_clear(&hr);
	ct_resp_clear(&r);
	if (rc < 0)
		ct_acme_close(a);
	return rc;
}

void
ct_acme_close(struct ct_acme *a)
{
	sov_http_free(a->http);
	ct_dir_free(&a->dir);
	free(a->server);
	free(a->nonce);
	free(a->kid);
	memset(a, 0, sizeof(*a));
}

static int
fresh_nonce(struct ct_acme *a, struct sov_err *e)
{
	struct sov_http_resp hr = {0};
	int rc = -1;

	hr.headers = jv_invalid();
	free(a->nonce);
	a->nonce = NULL;
	if (sov_http_request(a->http, "HEAD", a->dir.new_nonce, NULL, NULL, 0,
			     &hr, e) < 0) {
		sov_err_prefix(e, "newNonce: ");
		goto out;
	}
	a->requests++;
	take_nonce(a, &hr);
	if (a->nonce == NULL) {
		sov_err_set(
		    e, hr.status >= 500 ? SOV_EXIT_TEMPFAIL : SOV_EXIT_FAIL,
		    "%s: HTTP %ld without a good Replay-Nonce",
		    a->dir.new_nonce, hr.status);
		goto out;
	}
	rc = 0;
out:
	sov_http_resp_clear(&hr);
	return rc;
}

int
ct_acme_post(struct ct_acme *a, const char *url, const char *payload, int pem,
	     struct ct_resp *r, struct sov_err *e)
{
	static const char *const jhdrs[] = {
	    "Content-Type: application/jose+json", NULL};
	static const char *const phdrs[] = {
	    "Content-Type: application/jose+json",
	    "Accept: application/pem-certificate-chain", NULL};
	struct sov_http_resp hr = {0};
	char *jws = NULL;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	r->body = jv_null();
	r->retry_after_ms = -1;
	a->err_status = 0;
	a->err_retry_after_ms = -1;
	hr.headers = jv_invalid();
	for (int attempt = 0;; attempt++) {
		int hrc;

		if (a->nonce == NULL && fresh_nonce(a, e) < 0)
			goto out;
		free(jws);
		if (ct_jws(a->signer, url, a->nonce, a->kid,
			   payload ? payload : "", &jws, e) < 0)
			goto out;
		free(a->nonce); /* a nonce is good once */
		a->nonce = NULL;
		sov_http_resp_clear(&hr);
		hrc =
		    sov_http_request(a->http, "POST", url, pem ? phdrs : jhdrs,
				     jws, strlen(jws), &hr, e);
		a->requests++;
		if (hr.status != 0)
			take_nonce(a, &hr);
		if (hrc < 0 && hr.status == 0)
			goto out; /* never arrived: the code says retry */
		ct_resp_clear(r);
		if (hr.status >= 200 && hr.status < 300) {
			if (hrc < 0)
				goto out;
			if (fill_resp(&hr, url, pem, r, e) < 0)
				goto out;
			break;
		}
		sov_err_clear(e);
		if (fill_resp(&hr, url, 0, r, e) < 0)
			goto out;
		if (strcmp(ct_problem_type(r->body), CT_ERR_BAD_NONCE) == 0 &&
		    attempt < CT_BADNONCE_RETRIES) {
			a->bad_nonces++;
			continue;
		}
		ct_problem_err(jv_copy(r->body), url, hr.status,
			       hr.retry_after_ms, e);
		a->err_status = hr.status;
		a->err_retry_after_ms = hr.retry_after_ms;
		goto out;
	}
	rc = 0;
out:
	free(jws);
	sov_http_resp_clear(&hr);
	if (rc < 0)
		ct_resp_clear(r);
	return rc;
}
