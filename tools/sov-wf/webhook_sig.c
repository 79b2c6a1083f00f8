/*
 * webhook_sig.c - the webhook signature: HMAC-SHA256 over TIMESTAMP "."
 * BODY, compared in constant time; see webhook.h. No I/O and no clock
 * (the caller passes the time), so the tests and the fuzzer drive it.
 */
#include "webhook.h"

#include <sodium.h>
#include <string.h>

#define MAC_LEN crypto_auth_hmacsha256_BYTES

static int
parse_timestamp(const char *s, int64_t *out, struct sov_err *e)
{
	int64_t v = 0;
	size_t n;

	if (s == NULL)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "missing " WF_WEBHOOK_HDR_TIMESTAMP);
	/* At most 15 digits: no overflow, and no sign or blank to hide. */
	for (n = 0; s[n] != '\0'; n++) {
		if (s[n] < '0' || s[n] > '9' ||
		    n >= WF_WEBHOOK_TIMESTAMP_DIGITS_MAX)
			break;
		v = v * 10 + (s[n] - '0');
	}
	if (n == 0 || s[n] != '\0')
		return sov_err_set(e, SOV_EXIT_USAGE,
				   WF_WEBHOOK_HDR_TIMESTAMP
				   ": must be the Unix time in 1 to %d decimal "
				   "digits",
				   WF_WEBHOOK_TIMESTAMP_DIGITS_MAX);
	*out = v;
	return 0;
}

static int
parse_signature(const char *s, unsigned char mac[MAC_LEN], struct sov_err *e)
{
	size_t plen = strlen(WF_WEBHOOK_SIG_PREFIX);

	if (s == NULL)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "missing " WF_WEBHOOK_HDR_SIGNATURE);
	if (strncmp(s, WF_WEBHOOK_SIG_PREFIX, plen) != 0)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   WF_WEBHOOK_HDR_SIGNATURE
				   ": must start with \"" WF_WEBHOOK_SIG_PREFIX
				   "\"");
	/* strnlen: a long header is refused without reading all of it */
	if (strnlen(s, WF_WEBHOOK_SIG_LEN + 1) != WF_WEBHOOK_SIG_LEN)
		goto bad;
	{
		size_t n = 0;
		const char *end = NULL;

		/* exactly 2 * MAC_LEN digits: no separators, nothing after */
		if (sodium_hex2bin(mac, MAC_LEN, s + plen, 2 * MAC_LEN, NULL,
				   &n, &end) != 0 ||
		    n != MAC_LEN || end != s + plen + 2 * MAC_LEN)
			goto bad;
	}
	return 0;
bad:
	return sov_err_set(e, SOV_EXIT_USAGE,
			   WF_WEBHOOK_HDR_SIGNATURE
			   ": must be \"" WF_WEBHOOK_SIG_PREFIX
			   "\" and 64 hex digits");
}

/* Both headers well formed, the timestamp in the window; mac receives the
 * signature's bytes. */
static int
check_headers(const char *ts_hdr, const char *sig_hdr, int64_t now_s,
	      unsigned char mac[MAC_LEN], struct sov_err *e)
{
	int64_t ts = 0;

	if (parse_timestamp(ts_hdr, &ts, e) < 0 ||
	    parse_signature(sig_hdr, mac, e) < 0)
		return -1;
	/* ts is at most 15 digits, so ts +- the window cannot overflow; the
	 * differences are taken unsigned for a now_s far out either way */
	if (now_s > ts + WF_WEBHOOK_SKEW_S)
		return sov_err_set(
		    e, SOV_EXIT_USAGE,
		    WF_WEBHOOK_HDR_TIMESTAMP
		    ": %llu s in the past, more than %d s from "
		    "the server's clock",
		    (unsigned long long)((uint64_t)now_s - (uint64_t)ts),
		    WF_WEBHOOK_SKEW_S);
	if (now_s < ts - WF_WEBHOOK_SKEW_S)
		return sov_err_set(
		    e, SOV_EXIT_USAGE,
		    WF_WEBHOOK_HDR_TIMESTAMP
		    ": %llu s in the future, more than %d s from "
		    "the server's clock",
		    (unsigned long long)((uint64_t)ts - (uint64_t)now_s),
		    WF_WEBHOOK_SKEW_S);
	return 0;
}

int
wf_webhook_verify_headers(const char *timestamp_hdr, const char *signature_hdr,
			  int64_t now_s, struct sov_err *e)
{
	unsigned char mac[MAC_LEN];

	return check_headers(timestamp_hdr, signature_hdr, now_s, mac, e);
}

/* HMAC-SHA256(secret, ts "." body) into mac. */
static int
compute(const unsigned char *secret, size_t secret_len, const char *ts,
	const void *body, size_t len, unsigned char mac[MAC_LEN],
	struct sov_err *e)
{
	crypto_auth_hmacsha256_state st;
	int rc = -1;

	if (secret == NULL || secret_len == 0)
		return sov_err_set(e, SOV_EXIT_FAIL, "webhook: no secret");
	if (body == NULL && len > 0)
		return sov_err_set(e, SOV_EXIT_FAIL, "webhook: no body");
	/* Idempotent and thread-safe after the first call. */
	if (sodium_init() < 0)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "libsodium failed to initialise");
	if (crypto_auth_hmacsha256_init(&st, secret, secret_len) != 0 ||
	    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts,
					  strlen(ts)) != 0 ||
	    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1) !=
		0 ||
	    (len > 0 && crypto_auth_hmacsha256_update(
			    &st, body, (unsigned long long)len) != 0) ||
	    crypto_auth_hmacsha256_final(&st, mac) != 0) {
		sov_err_set(e, SOV_EXIT_FAIL, "webhook: HMAC-SHA256 failed");
		goto out;
	}
	rc = 0;
out:
	/* the state holds the key's pads */
	sodium_memzero(&st, sizeof(st));
	return rc;
}

int
wf_webhook_verify(const unsigned char *secret, size_t secret_len,
		  const char *timestamp_hdr, const char *signature_hdr,
		  const void *body, size_t len, int64_t now_s,
		  struct sov_err *e)
{
	unsigned char got[MAC_LEN], want[MAC_LEN];
	int rc = -1;

	if (check_headers(timestamp_hdr, signature_hdr, now_s, got, e) < 0)
		goto out;
	if (compute(secret, secret_len, timestamp_hdr, body, len, want, e) < 0)
		goto out;
	if (sodium_memcmp(got, want, MAC_LEN) != 0) {
		sov_err_set(e, SOV_EXIT_USAGE, "signature does not match");
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(want, sizeof(want));
	return rc;
}

int
wf_webhook_sign(const unsigned char *secret, size_t secret_len,
		const char *timestamp, const void *body, size_t len,
		char out[WF_WEBHOOK_SIG_LEN + 1], struct sov_err *e)
{
	size_t plen = strlen(WF_WEBHOOK_SIG_PREFIX);
	unsigned char mac[MAC_LEN];

	if (timestamp == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "webhook: no timestamp");
	if (compute(secret, secret_len, timestamp, body, len, mac, e) < 0)
		return -1;
	memcpy(out, WF_WEBHOOK_SIG_PREFIX, plen);
	/* writes 64 lower-case digits and a NUL */
	sodium_bin2hex(out + plen, WF_WEBHOOK_SIG_LEN + 1 - plen, mac,
		       sizeof(mac));
	sodium_memzero(mac, sizeof(mac));
	return 0;
}

int
wf_webhook_check_delivery(const char *d, struct sov_err *e)
{
	size_t n;

	if (d == NULL)
		return 0;
	for (n = 0; d[n] != '\0' && n <= WF_WEBHOOK_DELIVERY_MAX; n++) {
		char c = d[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == ':' || c == '-'))
			goto bad;
	}
	if (n >= 1 && n <= WF_WEBHOOK_DELIVERY_MAX)
		return 0;
bad:
	return sov_err_set(e, SOV_EXIT_USAGE,
			   WF_WEBHOOK_HDR_DELIVERY
			   ": must be 1 to %d bytes of A-Z a-z 0-9 . _ : -",
			   WF_WEBHOOK_DELIVERY_MAX);
}
