/*
 * jws.c - flattened JWS with ES256, key authorizations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>
#include <openssl/sha.h>
#include <sodium.h>

#include "jws.h"

#define TOKEN_MAX 256 /* bytes of a challenge token */

static char *
b64_str(const char *s)
{
	return ct_b64url(s, strlen(s));
}

int
ct_jws(const struct ct_signer *s, const char *url, const char *nonce,
       const char *kid, const char *payload, char **out, struct sov_err *e)
{
	jv hdr = jv_object(), body = jv_invalid(), dumped = jv_invalid();
	char *phdr = NULL, *ppay = NULL, *input = NULL, *sig64 = NULL;
	unsigned char sig[CT_ES256_SIG_LEN];
	size_t n;
	int rc = -1;

	*out = NULL;
	hdr = jv_object_set(hdr, jv_string("alg"), jv_string("ES256"));
	if (nonce != NULL) /* none in keyChange's inner JWS */
		hdr = jv_object_set(hdr, jv_string("nonce"), jv_string(nonce));
	hdr = jv_object_set(hdr, jv_string("url"), jv_string(url));
	if (kid != NULL) {
		hdr = jv_object_set(hdr, jv_string("kid"), jv_string(kid));
	} else {
		jv jwk = jv_parse(s->jwk);

		if (!jv_is_valid(jwk)) {
			jv_free(jwk);
			sov_err_set(e, SOV_EXIT_FAIL, "JWS: bad JWK");
			goto out;
		}
		hdr = jv_object_set(hdr, jv_string("jwk"), jwk);
	}
	dumped = jv_dump_string(hdr, 0);
	hdr = jv_invalid();
	phdr = b64_str(jv_string_value(dumped));
	ppay = b64_str(payload);
	if (phdr == NULL || ppay == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	n = strlen(phdr) + strlen(ppay) + 2;
	if (n > CT_JWS_INPUT_MAX) {
		sov_err_set(e, SOV_EXIT_FAIL, "JWS: over %u bytes to sign",
			    CT_JWS_INPUT_MAX);
		goto out;
	}
	input = malloc(n);
	if (input == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	if (snprintf(input, n, "%s.%s", phdr, ppay) != (int)n - 1) {
		sov_err_set(e, SOV_EXIT_FAIL, "JWS: signing input");
		goto out;
	}
	if (s->sign(s->ctx, input, n - 1, sig, e) < 0)
		goto out;
	sig64 = ct_b64url(sig, sizeof(sig));
	if (sig64 == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	body = jv_object();
	body = jv_object_set(body, jv_string("protected"), jv_string(phdr));
	body = jv_object_set(body, jv_string("payload"), jv_string(ppay));
	body = jv_object_set(body, jv_string("signature"), jv_string(sig64));
	jv_free(dumped);
	dumped = jv_dump_string(body, 0);
	body = jv_invalid();
	*out = strdup(jv_string_value(dumped));
	if (*out == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	jv_free(hdr);
	jv_free(body);
	jv_free(dumped);
	free(phdr);
	free(ppay);
	free(input);
	free(sig64);
	return rc;
}

char *
ct_key_authz(const char *token, const char *thumb)
{
	size_t tl = strlen(token), n;
	char *out;

	if (tl == 0 || tl > TOKEN_MAX ||
	    strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			  "0123456789-_") != tl)
		return NULL;
	n = tl + strlen(thumb) + 2;
	out = malloc(n);
	if (out != NULL &&
	    snprintf(out, n, "%s.%s", token, thumb) != (int)n - 1) {
		free(out);
		out = NULL;
	}
	return out;
}

char *
ct_dns_txt(const char *key_authz)
{
	unsigned char d[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)key_authz, strlen(key_authz), d);
	return ct_b64url(d, sizeof(d));
}

static int
local_sign(void *ctx, const void *msg, size_t len,
	   unsigned char sig[CT_ES256_SIG_LEN], struct sov_err *e)
{
	return ct_es256_sign(ctx, msg, len, sig, e);
}

int
ct_signer_local(struct ct_signer *s, EVP_PKEY *k, struct sov_err *e)
{
	memset(s, 0, sizeof(*s));
	s->jwk = ct_jwk_canonical(k, e);
	if (s->jwk == NULL)
		return -1;
	if (ct_jwk_thumbprint(s->jwk, s->thumb) < 0) {
		ct_signer_clear(s);
		return sov_err_set(e, SOV_EXIT_FAIL, "JWK thumbprint");
	}
	s->sign = local_sign;
	s->ctx = k;
	return 0;
}

void
ct_signer_clear(struct ct_signer *s)
{
	free(s->jwk);
	s->jwk = NULL;
}

int
ct_eab_jws(const char *kid, const unsigned char *key, size_t klen,
	   const char *url, const char *jwk, jv *out, struct sov_err *e)
{
	jv hdr = jv_object(), dumped;
	char *phdr = NULL, *ppay = NULL, *sig64 = NULL;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	int rc = -1;

	*out = jv_invalid();
	hdr = jv_object_set(hdr, jv_string("alg"), jv_string("HS256"));
	hdr = jv_object_set(hdr, jv_string("kid"), jv_string(kid));
	hdr = jv_object_set(hdr, jv_string("url"), jv_string(url));
	dumped = jv_dump_string(hdr, 0);
	phdr = b64_str(jv_string_value(dumped));
	ppay = b64_str(jwk);
	if (phdr == NULL || ppay == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	if (crypto_auth_hmacsha256_init(&st, key, klen) != 0 ||
	    crypto_auth_hmacsha256_update(&st, (const unsigned char *)phdr,
					  strlen(phdr)) != 0 ||
	    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1) !=
		0 ||
	    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ppay,
					  strlen(ppay)) != 0 ||
	    crypto_auth_hmacsha256_final(&st, mac) != 0) {
		sov_err_set(e, SOV_EXIT_FAIL, "EAB: HMAC");
		goto out;
	}
	sig64 = ct_b64url(mac, sizeof(mac));
	if (sig64 == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	*out = jv_object();
	*out = jv_object_set(*out, jv_string("protected"), jv_string(phdr));
	*out = jv_object_set(*out, jv_string("payload"), jv_string(ppay));
	*out = jv_object_set(*out, jv_string("signature"), jv_string(sig64));
	rc = 0;
out:
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(mac, sizeof(mac));
	jv_free(dumped);
	free(phdr);
	free(ppay);
	free(sig64);
	return rc;
}
