/*
 * fuzz_wf_webhook.c - libFuzzer target for the webhook signature check of
 * sov-wf: its headers and body come from anyone who reaches the port.
 *
 * Input: "TIMESTAMP\nSIGNATURE\nBODY"; a missing line is a missing header.
 * A SIGNATURE of "auto" is replaced by the right one, computed here with
 * libsodium's one-shot HMAC (upper-case hex when the body's length is
 * odd): then verify must accept exactly when the timestamp is 1 to 15
 * digits within the window, and must refuse the same signature with one
 * digit changed. Any other signature must be refused (accepting one would
 * be a forgery). A refusal is SOV_EXIT_USAGE with a message.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR_MAX 256
#define NOW INT64_C(1700000000)

static const unsigned char key[crypto_auth_hmacsha256_KEYBYTES] =
    "fuzz-webhook-secret-32-bytes-key";

/* Copy the line at *p (up to '\n' or the end) into out; NULL when there is
 * no line left. */
static const char *
line(const uint8_t **p, const uint8_t *end, char out[HDR_MAX + 1])
{
	const uint8_t *nl;
	size_t n;

	if (*p == NULL)
		return NULL;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl == NULL) {
		*p = NULL;
		return NULL;
	}
	n = (size_t)(nl - *p);
	if (n > HDR_MAX)
		n = HDR_MAX;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p = nl + 1;
	return out;
}

/* What verify must think of the timestamp, worked out again here. */
static int
fresh(const char *ts)
{
	int64_t v = 0;
	size_t n = strlen(ts);

	if (n == 0 || n > WF_WEBHOOK_TIMESTAMP_DIGITS_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (ts[i] < '0' || ts[i] > '9')
			return 0;
		v = v * 10 + (ts[i] - '0');
	}
	return v >= NOW - WF_WEBHOOK_SKEW_S && v <= NOW + WF_WEBHOOK_SKEW_S;
}

static void
refusal_ok(int rc, const struct sov_err *e)
{
	if (rc != -1 || e->code != SOV_EXIT_USAGE || e->msg[0] == '\0')
		__builtin_trap();
}

static void
check_auto(const char *ts, const uint8_t *body, size_t len)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char sig[WF_WEBHOOK_SIG_LEN + 1];
	size_t tlen = strlen(ts), plen = strlen(WF_WEBHOOK_SIG_PREFIX);
	unsigned char *msg = malloc(tlen + 1 + len + 1);
	struct sov_err e = {0};
	int rc;

	if (msg == NULL)
		return;
	memcpy(msg, ts, tlen);
	msg[tlen] = '.';
	if (len > 0)
		memcpy(msg + tlen + 1, body, len);
	crypto_auth_hmacsha256(mac, msg, tlen + 1 + len, key);
	free(msg);
	memcpy(sig, WF_WEBHOOK_SIG_PREFIX, plen);
	sodium_bin2hex(sig + plen, sizeof(sig) - plen, mac, sizeof(mac));
	if (len % 2 == 1)
		for (char *c = sig + plen; *c; c++)
			if (*c >= 'a' && *c <= 'f')
				*c = (char)(*c - 'a' + 'A');

	rc = wf_webhook_verify(key, sizeof(key), ts, sig, body, len, NOW, &e);
	if (fresh(ts) ? rc != 0 : rc != -1)
		__builtin_trap();
	if (rc != 0)
		refusal_ok(rc, &e);

	/* one digit off, wherever the input's length puts it */
	{
		size_t i = plen + (tlen + len) % 64;

		sig[i] = sig[i] == '0' ? '1' : '0';
		rc = wf_webhook_verify(key, sizeof(key), ts, sig, body, len,
				       NOW, &e);
		refusal_ok(rc, &e);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char tsbuf[HDR_MAX + 1], sigbuf[HDR_MAX + 1];
	const uint8_t *p = data, *end = data + size, *body;
	const char *ts, *sig;
	size_t len;
	struct sov_err e = {0}, he = {0};
	int rc;

	if (sodium_init() < 0)
		__builtin_trap();
	ts = line(&p, end, tsbuf);
	sig = line(&p, end, sigbuf);
	body = p != NULL ? p : data;
	len = p != NULL ? (size_t)(end - p) : size;

	if (ts != NULL && sig != NULL && strcmp(sig, "auto") == 0) {
		check_auto(ts, body, len);
		return 0;
	}
	rc = wf_webhook_verify(key, sizeof(key), ts, sig, body, len, NOW, &e);
	refusal_ok(rc, &e);

	/* the headers alone: refused for the same reason, or, when they
	 * pass, the MAC is what verify refused */
	rc = wf_webhook_verify_headers(ts, sig, NOW, &he);
	if (rc != 0) {
		refusal_ok(rc, &he);
		if (strcmp(he.msg, e.msg) != 0)
			__builtin_trap();
	} else if (strcmp(e.msg, "signature does not match") != 0) {
		__builtin_trap();
	}
	if (ts != NULL && wf_webhook_check_delivery(ts, &e) != 0)
		refusal_ok(-1, &e);
	return 0;
}
