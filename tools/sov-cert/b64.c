/*
 * b64.c - base64url without padding (RFC 4648 section 5), as JWS uses it.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

static const char alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
ct_b64url(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t n = 4 * (len / 3) + 4, o = 0, i;
	char *out;

	if (len > (SIZE_MAX / 4) - 4)
		return NULL;
	out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		unsigned v =
		    (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];

		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		out[o++] = alpha[v & 63];
	}
	if (len - i == 1) {
		unsigned v = (unsigned)p[i] << 16;

		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
	} else if (len - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;

		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
	}
	out[o] = '\0';
	return out;
}

static int
val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
ct_b64url_decode(const char *s, size_t len, unsigned char **out, size_t *outlen)
{
	unsigned char *buf;
	unsigned acc = 0;
	size_t o = 0;
	int bits = 0;

	*out = NULL;
	*outlen = 0;
	if (len % 4 == 1)
		return -1;
	buf = malloc(len / 4 * 3 + 3);
	if (buf == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = val(s[i]);

		if (v < 0) {
			free(buf);
			return -1;
		}
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	/* the unused low bits of the last character must be zero */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = o;
	return 0;
}
