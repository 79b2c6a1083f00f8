/*
 * http.h - the HTTP client every tool uses, on libcurl.
 *
 * Timeouts on every request, a CA-file option, retries with exponential
 * backoff and full jitter (sleep = random(0, min(max_delay, base * 2^n)))
 * on connection errors, 429 and 5xx, honouring Retry-After (seconds or an
 * HTTP date) up to max_retry_after_ms; a cap on the response size; JSON
 * bodies through jv.
 *
 * Only idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS) are retried on
 * every retryable failure. POST and PATCH are retried only where the server
 * cannot have acted on them: the connection was never made, or it answered
 * 429 or 503 - unless opts.retry_unsafe is set.
 *
 * Results: 0 when a final response arrived (any status that is not worth a
 * retry, 2xx and 4xx alike: the caller judges it). -1 with SOV_EXIT_TEMPFAIL
 * when attempts ran out on a retryable failure (resp then holds the last
 * response, if any arrived), or with SOV_EXIT_FAIL for a body over max_body,
 * a bad URL and other errors that a retry will not mend.
 */
#ifndef SOV_HTTP_H
#define SOV_HTTP_H

#include <stddef.h>

#include <jv.h>

#include "err.h"

#define SOV_HTTP_MAX_BODY_DEFAULT (16u << 20)

struct sov_http_opts {
	long timeout_ms;         /* whole request, default 30000 */
	long connect_timeout_ms; /* default 10000 */
	const char *ca_file; /* PEM bundle to trust instead of the system's */
	int max_attempts;    /* including the first, default 4 */
	long base_delay_ms;  /* default 500 */
	long max_delay_ms;   /* default 30000 */
	long max_retry_after_ms; /* a longer Retry-After ends the retries; 60000
				  */
	size_t max_body;         /* response body cap, default 16 MiB */
	int retry_unsafe;        /* retry POST/PATCH like idempotent methods */
	const char *user_agent;  /* default "sov/VERSION" */
};

struct sov_http_resp {
	long status; /* 0 when no response arrived */
	char *body;  /* NUL-terminated (the NUL is not counted in len) */
	size_t len;
	char *content_type;  /* or NULL */
	char *location;      /* Location header, or NULL */
	long retry_after_ms; /* from Retry-After, -1 when absent */
	int attempts;        /* how many were made */
	jv headers;          /* object: lower-case name -> last value;
				Link lines all, joined with ", " */
};

/* Fill opts with the defaults above. */
void sov_http_opts_default(struct sov_http_opts *opts);

struct sov_http;

/* A client keeps one curl handle (connection reuse). NULL on error. */
struct sov_http *sov_http_new(const struct sov_http_opts *opts,
			      struct sov_err *e);
void sov_http_free(struct sov_http *h); /* accepts NULL */

/*
 * One request. headers is a NULL-terminated list of "Name: value" (or NULL).
 * resp must be zeroed or cleared before; clear it with sov_http_resp_clear.
 */
int sov_http_request(struct sov_http *h, const char *method, const char *url,
		     const char *const *headers, const void *body, size_t len,
		     struct sov_http_resp *resp, struct sov_err *e);
void sov_http_resp_clear(struct sov_http_resp *resp);

/*
 * A JSON request: body is consumed (jv_invalid() for no body), sent with
 * Content-Type application/json. *out receives the parsed response body
 * (jv_null() when empty); a body that is not JSON is an error naming the
 * URL and status. *status receives the HTTP status (0 when none arrived);
 * on error *out is jv_invalid().
 */
int sov_http_json(struct sov_http *h, const char *method, const char *url,
		  const char *const *headers, jv body, long *status, jv *out,
		  struct sov_err *e);

/* Parse a Retry-After value (delta-seconds or HTTP-date): ms, or -1. */
long sov_http_parse_retry_after(const char *value, long long now_ms);

/*
 * Retry-After values and dates further out are cut to this (one week; it
 * fits a 32-bit long). now_ms above is the wall clock in ms since the epoch;
 * a date in the past gives 0.
 */
#define SOV_HTTP_RETRY_AFTER_CAP_MS (7L * 24 * 3600 * 1000)

/*
 * The wait before retry number attempt + 1 (attempt 0 is the wait after the
 * first failure): uniform in [0, min(max_delay_ms, base_delay_ms * 2^attempt)]
 * from libsodium's randombytes. 0 when either delay is 0 or negative.
 */
long sov_http_backoff_ms(const struct sov_http_opts *opts, int attempt);

#endif
