/*
 * http.c - the libcurl client of http.h: one easy handle per client, the
 * request loop with its retries, response capture. Beside it: http_retry.c
 * (backoff, Retry-After, what is retryable), http_text.c (header lists,
 * URLs in messages), http_json.c (sov_http_json).
 *
 * Redirects are not followed (FOLLOWLOCATION off): the caller sees the 3xx
 * and resp->location and decides, so a redirect loop cannot happen here and
 * credentials never travel to a host the caller did not name.
 *
 * After a request resp describes the last attempt: on a transport error its
 * body is NULL (a partial body is never handed back) while status and
 * headers keep whatever arrived. Repeated Link lines are joined with ", ".
 *
 * A client is not thread-safe (one curl handle); use one per thread.
 */
#include "http.h"
#include "http_int.h"
#include "timestamp.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#ifndef SOV_VERSION
#define SOV_VERSION "0"
#endif

/* Limits on the options and on what a caller or a server hands us. */
#define SOV_HTTP_MAX_ATTEMPTS 20
#define SOV_HTTP_MAX_TIMEOUT_MS (24L * 3600 * 1000)
#define SOV_HTTP_MAX_DELAY_MS (3600L * 1000)
#define SOV_HTTP_MAX_BODY_LIMIT (1u << 30) /* also keeps jv_parse's int */
#define SOV_HTTP_MAX_UA 256
#define SOV_HTTP_MAX_PATH 4096
#define SOV_HTTP_MAX_URL 8192
#define SOV_HTTP_MAX_METHOD 16
#define SOV_HTTP_MAX_RESP_HEADERS 256
#define SOV_HTTP_MAX_RESP_HEADER_BYTES (256u << 10)
#define SOV_HTTP_MAX_HEADER_NAME 128

struct sov_http {
	CURL *curl;
	struct sov_http_opts opts; /* ca_file, user_agent point below */
	char *ca_file;
	char *user_agent;
	char errbuf[CURL_ERROR_SIZE];
};

/* One attempt's capture state, handed to the curl callbacks. */
struct xfer {
	struct sov_http_resp *resp;
	size_t max_body;
	size_t cap; /* bytes allocated for resp->body */
	size_t header_bytes;
	int nheaders;
	int body_over, headers_over, oom;
};

/*
 * curl_global_init is not safe to race with itself (before 7.84 not at all)
 * so it runs once per process under pthread_once; it is never undone, as
 * other clients may live on. sodium_init rides along for the jitter.
 */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;
static int sodium_rc = -1;

static void
global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	sodium_rc = sodium_init();
}

void
sov_http_opts_default(struct sov_http_opts *opts)
{
	if (opts == NULL)
		return;
	memset(opts, 0, sizeof(*opts));
	opts->timeout_ms = 30000;
	opts->connect_timeout_ms = 10000;
	opts->max_attempts = 4;
	opts->base_delay_ms = 500;
	opts->max_delay_ms = 30000;
	opts->max_retry_after_ms = 60000;
	opts->max_body = SOV_HTTP_MAX_BODY_DEFAULT;
}

static int
check_opts(const struct sov_http_opts *o, struct sov_err *e)
{
	if (o->timeout_ms < 1 || o->timeout_ms > SOV_HTTP_MAX_TIMEOUT_MS)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "http: timeout_ms %ld: must be 1..%ld",
				   o->timeout_ms, SOV_HTTP_MAX_TIMEOUT_MS);
	if (o->connect_timeout_ms < 1 ||
	    o->connect_timeout_ms > SOV_HTTP_MAX_TIMEOUT_MS)
		return sov_err_set(
		    e, SOV_EXIT_USAGE,
		    "http: connect_timeout_ms %ld: must be 1..%ld",
		    o->connect_timeout_ms, SOV_HTTP_MAX_TIMEOUT_MS);
	if (o->max_attempts < 1 || o->max_attempts > SOV_HTTP_MAX_ATTEMPTS)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "http: max_attempts %d: must be 1..%d",
				   o->max_attempts, SOV_HTTP_MAX_ATTEMPTS);
	if (o->base_delay_ms < 0 || o->base_delay_ms > SOV_HTTP_MAX_DELAY_MS)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "http: base_delay_ms %ld: must be 0..%ld",
				   o->base_delay_ms, SOV_HTTP_MAX_DELAY_MS);
	if (o->max_delay_ms < 0 || o->max_delay_ms > SOV_HTTP_MAX_DELAY_MS)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "http: max_delay_ms %ld: must be 0..%ld",
				   o->max_delay_ms, SOV_HTTP_MAX_DELAY_MS);
	if (o->max_retry_after_ms < 0 ||
	    o->max_retry_after_ms > SOV_HTTP_RETRY_AFTER_CAP_MS)
		return sov_err_set(
		    e, SOV_EXIT_USAGE,
		    "http: max_retry_after_ms %ld: must be 0..%ld",
		    o->max_retry_after_ms, SOV_HTTP_RETRY_AFTER_CAP_MS);
	if (o->max_body < 1 || o->max_body > SOV_HTTP_MAX_BODY_LIMIT)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "http: max_body %zu: must be 1..%u",
				   o->max_body, SOV_HTTP_MAX_BODY_LIMIT);
	if (o->user_agent != NULL &&
	    (strnlen(o->user_agent, SOV_HTTP_MAX_UA + 1) > SOV_HTTP_MAX_UA ||
	     strpbrk(o->user_agent, "\r\n") != NULL))
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "http: user_agent: over %d bytes or has a "
				   "line break",
				   SOV_HTTP_MAX_UA);
	if (o->ca_file != NULL &&
	    strnlen(o->ca_file, SOV_HTTP_MAX_PATH + 1) > SOV_HTTP_MAX_PATH)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "http: ca_file: path over %d bytes",
				   SOV_HTTP_MAX_PATH);
	return 0;
}

struct sov_http *
sov_http_new(const struct sov_http_opts *opts, struct sov_err *e)
{
	struct sov_http *h = NULL, *ret = NULL;
	struct sov_http_opts defaults;
	int fd;

	if (opts == NULL) {
		sov_http_opts_default(&defaults);
		opts = &defaults;
	}
	if (check_opts(opts, e) < 0)
		goto out;
	/* a missing CA file is named now, not as a TLS error later */
	if (opts->ca_file != NULL) {
		fd = open(opts->ca_file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			sov_err_sys(e, SOV_EXIT_FAIL, "http: ca_file %s",
				    opts->ca_file);
			goto out;
		}
		close(fd);
	}
	if (pthread_once(&global_once, global_init) != 0 ||
	    global_rc != CURLE_OK || sodium_rc < 0) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "http: initialising libcurl or libsodium failed");
		goto out;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		sov_err_sys(e, SOV_EXIT_FAIL, "http: allocating a client");
		goto out;
	}
	h->opts = *opts;
	if (opts->ca_file != NULL &&
	    (h->ca_file = strdup(opts->ca_file)) == NULL) {
		sov_err_sys(e, SOV_EXIT_FAIL, "http: copying ca_file");
		goto out;
	}
	h->user_agent = strdup(opts->user_agent != NULL ? opts->user_agent
							: "sov/" SOV_VERSION);
	if (h->user_agent == NULL) {
		sov_err_sys(e, SOV_EXIT_FAIL, "http: copying user_agent");
		goto out;
	}
	h->opts.ca_file = h->ca_file;
	h->opts.user_agent = h->user_agent;
	h->curl = curl_easy_init();
	if (h->curl == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "http: curl_easy_init failed");
		goto out;
	}
	ret = h;
	h = NULL;
out:
	sov_http_free(h);
	return ret;
}

void
sov_http_free(struct sov_http *h)
{
	if (h == NULL)
		return;
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	free(h->ca_file);
	free(h->user_agent);
	free(h);
}

void
sov_http_resp_clear(struct sov_http_resp *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	free(resp->content_type);
	free(resp->location);
	/* a zeroed jv is an invalid without a message: nothing to free */
	if (jv_get_kind(resp->headers) != JV_KIND_INVALID)
		jv_free(resp->headers);
	memset(resp, 0, sizeof(*resp));
	resp->retry_after_ms = -1;
	resp->headers = jv_invalid();
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	struct sov_http_resp *r = x->resp;
	size_t n = size * nmemb, want;
	char *p;

	if (n > x->max_body - r->len) {
		x->body_over = 1;
		return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
	}
	if (r->len + n + 1 > x->cap) {
		want = x->cap ? x->cap : 16384;
		while (want < r->len + n + 1)
			want *= 2;
		if (want > x->max_body + 1)
			want = x->max_body + 1;
		p = realloc(r->body, want);
		if (p == NULL) {
			x->oom = 1;
			return 0;
		}
		r->body = p;
		x->cap = want;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb, len = n, nlen, i;
	const char *colon, *v;
	char name[SOV_HTTP_MAX_HEADER_NAME];

	x->header_bytes += n;
	if (x->header_bytes > SOV_HTTP_MAX_RESP_HEADER_BYTES) {
		x->headers_over = 1;
		return 0;
	}
	/* a status line starts a new response (after a 1xx): forget the old */
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		jv_free(x->resp->headers);
		x->resp->headers = jv_object();
		x->nheaders = 0;
		return n;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	/* blank end-of-headers line, obsolete folding, no name: skipped */
	colon = memchr(data, ':', len);
	if (len == 0 || is_ows(data[0]) || colon == NULL || colon == data)
		return n;
	nlen = (size_t)(colon - data);
	if (nlen >= sizeof(name))
		return n;
	if (++x->nheaders > SOV_HTTP_MAX_RESP_HEADERS) {
		x->headers_over = 1;
		return 0;
	}
	for (i = 0; i < nlen; i++)
		name[i] = (data[i] >= 'A' && data[i] <= 'Z')
			      ? (char)(data[i] - 'A' + 'a')
			      : data[i];
	v = colon + 1;
	while (v < data + len && is_ows(*v))
		v++;
	while (len > 0 && data + len > v && is_ows(data[len - 1]))
		len--;
	/* Link is a list (RFC 8288) that servers send as several lines (ACME's
	 * alternate chains): those are joined with ", ", not replaced */
	if (nlen == 4 && memcmp(name, "link", 4) == 0) {
		jv old = jv_object_get(jv_copy(x->resp->headers),
				       jv_string("link"));

		if (jv_get_kind(old) == JV_KIND_STRING) {
			old = jv_string_append_str(old, ", ");
			x->resp->headers = jv_object_set(
			    x->resp->headers, jv_string("link"),
			    jv_string_append_buf(old, v,
						 (int)(data + len - v)));
			return n;
		}
		jv_free(old);
	}
	x->resp->headers =
	    jv_object_set(x->resp->headers, jv_string_sized(name, (int)nlen),
			  jv_string_sized(v, (int)(data + len - v)));
	return n;
}

/* A malloc'd copy of a header's value, or NULL (absent or out of memory). */
static char *
header_dup(jv headers, const char *name)
{
	jv v = jv_object_get(jv_copy(headers), jv_string(name));
	char *s = NULL;

	if (jv_get_kind(v) == JV_KIND_STRING)
		s = strdup(jv_string_value(v));
	jv_free(v);
	return s;
}

static int
method_ok(const char *m)
{
	size_t i;

	for (i = 0; m[i] != '\0'; i++)
		if (i >= SOV_HTTP_MAX_METHOD || m[i] < 'A' || m[i] > 'Z')
			return 0;
	return i > 0;
}

#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
#define SET_PROTOCOLS(c)                                                       \
	(curl_easy_setopt((c), CURLOPT_PROTOCOLS_STR, "http,https") |          \
	 curl_easy_setopt((c), CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
#else
#define SET_PROTOCOLS(c)                                                       \
	(curl_easy_setopt((c), CURLOPT_PROTOCOLS,                              \
			  (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) |          \
	 curl_easy_setopt((c), CURLOPT_REDIR_PROTOCOLS,                        \
			  (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)))
#endif

/* Every option of one request; curl_easy_reset keeps the connections. */
static int
setup(struct sov_http *h, const char *method, const char *url,
      struct curl_slist *hdrs, const void *body, size_t len, int sends_body,
      struct xfer *x)
{
	CURL *c = h->curl;
	unsigned rc = 0;

	curl_easy_reset(c);
	h->errbuf[0] = '\0';
	rc |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	rc |= curl_easy_setopt(c, CURLOPT_URL, url);
	rc |= SET_PROTOCOLS(c);
	rc |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->opts.timeout_ms);
	rc |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			       h->opts.connect_timeout_ms);
	rc |= curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent);
	if (h->ca_file != NULL)
		rc |= curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
	rc |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	rc |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	rc |= curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	rc |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	rc |= curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	if (strcmp(method, "GET") == 0) {
		rc |= curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "HEAD") == 0) {
		rc |= curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else {
		if (strcmp(method, "POST") != 0)
			rc |=
			    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		/* PUT/PATCH/POST always carry a length, even of nothing */
		if (sends_body) {
			rc |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
					       (curl_off_t)len);
			rc |= curl_easy_setopt(c, CURLOPT_POSTFIELDS,
					       body != NULL ? body : "");
		}
	}
	return rc == 0 ? 0 : -1;
}

/* Fill resp from what the attempt brought back. */
static void
collect(struct sov_http *h, struct sov_http_resp *resp)
{
	jv ra;

	if (curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status) !=
	    CURLE_OK)
		resp->status = 0;
	resp->content_type = header_dup(resp->headers, "content-type");
	resp->location = header_dup(resp->headers, "location");
	ra = jv_object_get(jv_copy(resp->headers), jv_string("retry-after"));
	if (jv_get_kind(ra) == JV_KIND_STRING)
		resp->retry_after_ms = sov_http_parse_retry_after(
		    jv_string_value(ra), (long long)sov_time_now_ms());
	jv_free(ra);
}

/* The transport failure in words, for "METHOD URL: words". */
static void
describe(struct sov_http *h, CURLcode cc, long sent, char *out, size_t size)
{
	long os_errno = 0, ms;

	if (cc == CURLE_OPERATION_TIMEDOUT) {
		ms = h->opts.timeout_ms;
		if (sent == 0 && h->opts.connect_timeout_ms < ms)
			ms = h->opts.connect_timeout_ms;
		snprintf(out, size, "timed out after %ld ms", ms);
		return;
	}
	if (cc == CURLE_COULDNT_CONNECT &&
	    curl_easy_getinfo(h->curl, CURLINFO_OS_ERRNO, &os_errno) ==
		CURLE_OK &&
	    os_errno != 0) {
		snprintf(out, size, "%s", strerror((int)os_errno));
		return;
	}
	snprintf(out, size, "%s",
		 h->errbuf[0] != '\0' ? h->errbuf : curl_easy_strerror(cc));
}

int
sov_http_request(struct sov_http *h, const char *method, const char *url,
		 const char *const *headers, const void *body, size_t len,
		 struct sov_http_resp *resp, struct sov_err *e)
{
	struct curl_slist *hdrs = NULL;
	struct xfer x;
	char shown[SOV_HTTP_SHOW_URL + 8], what[SOV_HTTP_SHOW_URL + 64];
	char why[CURL_ERROR_SIZE + 64];
	int rc = -1, attempt = 0, safe, give_up = 0, sends_body, n;
	long sent, delay;
	CURLcode cc;

	if (resp != NULL) {
		sov_http_resp_clear(resp);
		resp->attempts = 0;
	}
	if (h == NULL || method == NULL || url == NULL || resp == NULL ||
	    (body == NULL && len > 0)) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "http: request: missing client, method, URL or "
			    "response, or a length without a body");
		goto out;
	}
	sov_http_show_url(url, shown, sizeof(shown));
	if (!method_ok(method)) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "%s: bad HTTP method (want 1-%d letters A-Z)",
			    shown, SOV_HTTP_MAX_METHOD);
		goto out;
	}
	n = snprintf(what, sizeof(what), "%s %s", method, shown);
	if (n < 0 || (size_t)n >= sizeof(what)) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: message too long", shown);
		goto out;
	}
	if (strnlen(url, SOV_HTTP_MAX_URL + 1) > SOV_HTTP_MAX_URL) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: URL over %d bytes", what,
			    SOV_HTTP_MAX_URL);
		goto out;
	}
	if (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: bad URL: only http:// and https://", what);
		goto out;
	}
	if (body != NULL &&
	    (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: a body on a %s", what,
			    method);
		goto out;
	}
	sends_body = body != NULL || strcmp(method, "POST") == 0 ||
		     strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
	if (sov_http_build_headers(headers, sends_body, &hdrs, what, e) < 0)
		goto out;
	memset(&x, 0, sizeof(x));
	if (setup(h, method, url, hdrs, body, len, sends_body, &x) < 0) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: setting curl options failed",
			    what);
		goto out;
	}
	safe = h->opts.retry_unsafe || sov_http_method_safe(method);

	for (;;) {
		sov_http_resp_clear(resp);
		resp->attempts = ++attempt;
		resp->headers = jv_object();
		memset(&x, 0, sizeof(x));
		x.resp = resp;
		x.max_body = h->opts.max_body;
		cc = curl_easy_perform(h->curl);
		collect(h, resp);
		if (cc == CURLE_OK && resp->body == NULL) {
			resp->body = strdup(""); /* HEAD, 204, empty */
			if (resp->body == NULL) {
				sov_err_sys(e, SOV_EXIT_FAIL, "%s", what);
				goto out;
			}
		}
		if (cc == CURLE_OK) {
			if (!sov_http_status_retryable(resp->status, safe)) {
				rc = 0;
				goto out;
			}
			if (resp->retry_after_ms > h->opts.max_retry_after_ms) {
				sov_err_set(
				    e, SOV_EXIT_TEMPFAIL,
				    "%s: HTTP %ld, Retry-After %ld ms is "
				    "over the %ld ms limit (after %d "
				    "attempt%s)",
				    what, resp->status, resp->retry_after_ms,
				    h->opts.max_retry_after_ms, attempt,
				    attempt == 1 ? "" : "s");
				goto out;
			}
			snprintf(why, sizeof(why), "HTTP %ld", resp->status);
			/* the server's Retry-After, when given, replaces ours
			 */
			delay =
			    resp->retry_after_ms >= 0
				? resp->retry_after_ms
				: sov_http_backoff_ms(&h->opts, attempt - 1);
		} else {
			/* a partial body must not pass for the response */
			free(resp->body);
			resp->body = NULL;
			resp->len = 0;
			if (x.body_over) {
				sov_err_set(e, SOV_EXIT_FAIL,
					    "%s: response over %zu bytes", what,
					    h->opts.max_body);
				goto out;
			}
			if (x.headers_over) {
				sov_err_set(
				    e, SOV_EXIT_FAIL,
				    "%s: response headers over %u bytes "
				    "or %d lines",
				    what, SOV_HTTP_MAX_RESP_HEADER_BYTES,
				    SOV_HTTP_MAX_RESP_HEADERS);
				goto out;
			}
			if (x.oom) {
				sov_err_set(
				    e, SOV_EXIT_FAIL,
				    "%s: out of memory for the response", what);
				goto out;
			}
			if (curl_easy_getinfo(h->curl, CURLINFO_REQUEST_SIZE,
					      &sent) != CURLE_OK)
				sent = 1;
			describe(h, cc, sent, why, sizeof(why));
			if (!sov_http_curl_retryable(cc)) {
				sov_err_set(e, SOV_EXIT_FAIL, "%s: %s", what,
					    why);
				goto out;
			}
			/* the server may have acted on an unsafe request */
			if (!safe && sent > 0)
				give_up = 1;
			delay = sov_http_backoff_ms(&h->opts, attempt - 1);
		}
		if (give_up || attempt >= h->opts.max_attempts) {
			sov_err_set(e, SOV_EXIT_TEMPFAIL,
				    "%s: %s (after %d attempt%s)", what, why,
				    resp->attempts,
				    resp->attempts == 1 ? "" : "s");
			goto out;
		}
		sov_http_sleep_ms(delay);
	}
out:
	curl_slist_free_all(hdrs);
	return rc;
}
