/*
 * http_retry.c - the retry side of http.h: the full-jitter backoff, the
 * Retry-After parser, and which failures are worth another attempt. Kept
 * apart from the transfer code; tests and the fuzz target need no network.
 */
#include "http.h"
#include "http_int.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

/*
 * The longest Retry-After value looked at: an IMF-fixdate is 29 bytes, the
 * RFC 850 form 30-33; longer is garbage (or an attack on the date parser).
 */
#define SOV_HTTP_RETRY_AFTER_MAX_LEN 64

long
sov_http_backoff_ms(const struct sov_http_opts *opts, int attempt)
{
	long base, max, cap;

	if (opts == NULL)
		return 0;
	base = opts->base_delay_ms;
	max = opts->max_delay_ms;
	if (base <= 0 || max <= 0)
		return 0;
	if (attempt < 0)
		attempt = 0;
	/* base * 2^attempt <= max  <=>  base <= max / 2^attempt (no overflow)
	 */
	cap = max;
	if (attempt < (int)(sizeof(long) * CHAR_BIT) - 1 &&
	    base <= (max >> attempt))
		cap = base << attempt;
	/* randombytes_uniform takes a 32-bit exclusive bound */
	if ((unsigned long)cap >= UINT32_MAX)
		cap = (long)(UINT32_MAX - 1);
	/* idempotent, thread-safe; should it fail: no jitter, the full wait */
	if (sodium_init() < 0)
		return cap;
	return (long)randombytes_uniform((uint32_t)cap + 1);
}

/* Not isdigit/isalpha: those follow the locale. */
static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Seconds from delta-seconds digits, saturating at the cap. */
static long
delta_seconds_ms(const char *s, size_t n)
{
	long long secs = 0;
	const long long cap_s = SOV_HTTP_RETRY_AFTER_CAP_MS / 1000;

	for (size_t i = 0; i < n; i++) {
		secs = secs * 10 + (s[i] - '0');
		if (secs > cap_s)
			return SOV_HTTP_RETRY_AFTER_CAP_MS;
	}
	return (long)(secs * 1000);
}

long
sov_http_parse_retry_after(const char *value, long long now_ms)
{
	char buf[SOV_HTTP_RETRY_AFTER_MAX_LEN + 1];
	const char *s;
	size_t n, i;
	time_t t;
	long long then_ms, diff;

	if (value == NULL)
		return -1;
	s = value;
	while (is_ows(*s))
		s++;
	n = strnlen(s, SOV_HTTP_RETRY_AFTER_MAX_LEN + 1);
	if (n > SOV_HTTP_RETRY_AFTER_MAX_LEN)
		return -1;
	while (n > 0 && is_ows(s[n - 1]))
		n--;
	if (n == 0)
		return -1;

	for (i = 0; i < n && is_digit(s[i]); i++)
		;
	if (i == n)
		return delta_seconds_ms(s, n);
	/*
	 * Every HTTP-date form starts with a day name; anything else (a sign,
	 * a fraction, digits then junk) is refused before curl_getdate, which
	 * is lenient enough to make a date of "1.5".
	 */
	if (!is_alpha(s[0]))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	t = curl_getdate(buf, NULL);
	if (t == -1)
		return -1;
	if ((long long)t > LLONG_MAX / 1000)
		return SOV_HTTP_RETRY_AFTER_CAP_MS;
	if ((long long)t < LLONG_MIN / 1000)
		return 0;
	then_ms = (long long)t * 1000;
	if (then_ms <= now_ms)
		return 0;
	/* then_ms - now_ms > 0 here, but may overflow for a negative now */
	if (now_ms < 0 && then_ms > LLONG_MAX + now_ms)
		return SOV_HTTP_RETRY_AFTER_CAP_MS;
	diff = then_ms - now_ms;
	return diff > SOV_HTTP_RETRY_AFTER_CAP_MS ? SOV_HTTP_RETRY_AFTER_CAP_MS
						  : (long)diff;
}

void
sov_http_sleep_ms(long ms)
{
	struct timespec ts, rem;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &rem) == -1 && errno == EINTR)
		ts = rem;
}

/* Would a retry mend this status? POST/PATCH only where nothing happened. */
int
sov_http_status_retryable(long status, int safe)
{
	if (status == 429 || status == 503)
		return 1;
	/* 501 and 505 say the server cannot do it: a retry will not mend */
	return safe && status >= 500 && status <= 599 && status != 501 &&
	       status != 505;
}

int
sov_http_curl_retryable(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR: /* a cut handshake; bad certs are 60 */
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

int
sov_http_method_safe(const char *m)
{
	static const char *const idem[] = {"GET",    "HEAD",    "PUT",
					   "DELETE", "OPTIONS", "TRACE"};

	for (size_t i = 0; i < sizeof(idem) / sizeof(idem[0]); i++)
		if (strcmp(m, idem[i]) == 0)
			return 1;
	return 0;
}
