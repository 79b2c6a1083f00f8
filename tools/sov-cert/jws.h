/*
 * jws.h - JWS in the flattened JSON serialization, as ACME (RFC 8555
 * section 6.2) wants it: ES256, a protected header with alg, nonce, url and
 * either jwk (new accounts) or kid (everything after).
 *
 * The signature itself comes from a signer: in sov-cert the key child
 * (keyproc.c), so that the process that builds requests never holds the
 * account key; in tests an in-process key.
 */
#ifndef CT_JWS_H
#define CT_JWS_H

#include <stddef.h>

#include <jv.h>

#include "crypto.h"

#define CT_JWS_INPUT_MAX (64u << 10) /* bytes signed at once */

struct ct_signer {
	/* 0 with sig filled, or -1 with e filled */
	int (*sign)(void *ctx, const void *msg, size_t len,
		    unsigned char sig[CT_ES256_SIG_LEN], struct sov_err *e);
	void *ctx;
	char *jwk;                    /* canonical public JWK */
	char thumb[CT_THUMB_LEN + 1]; /* its RFC 7638 thumbprint */
};

/*
 * The JWS for url with payload (a JSON text; "" for POST-as-GET). kid NULL
 * puts the jwk in the header; nonce NULL leaves it out (the inner JWS of a
 * key change). *out is malloc'ed JSON text.
 */
int ct_jws(const struct ct_signer *s, const char *url, const char *nonce,
	   const char *kid, const char *payload, char **out, struct sov_err *e);

/*
 * The key authorization of a challenge token (RFC 8555 section 8.1):
 * token "." thumbprint, malloc'ed. Tokens must be base64url: NULL else.
 */
char *ct_key_authz(const char *token, const char *thumb);
/* dns-01's TXT value: base64url(SHA-256(key authorization)), malloc'ed. */
char *ct_dns_txt(const char *key_authz);

/*
 * External Account Binding (RFC 8555 section 7.3.4): the inner JWS, HS256
 * with the CA's MAC key over the account's JWK, for newAccount's
 * "externalAccountBinding". key is the decoded MAC key. *out gets the
 * flattened JWS as a jv object.
 */
int ct_eab_jws(const char *kid, const unsigned char *key, size_t klen,
	       const char *url, const char *jwk, jv *out, struct sov_err *e);

/* Signer over an in-process key (tests; `account` before the fork). */
int ct_signer_local(struct ct_signer *s, EVP_PKEY *k, struct sov_err *e);
void ct_signer_clear(struct ct_signer *s); /* frees jwk only */

#endif
