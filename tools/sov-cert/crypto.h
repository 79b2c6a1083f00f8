/*
 * crypto.h - the libcrypto side of sov-cert: base64url, keys, JWK and its
 * RFC 7638 thumbprint, ES256 signatures in JWS form, CSRs, X.509 chains.
 *
 * Nothing here prints or exits; errors fill a struct sov_err. Private key
 * bytes that pass through memory are wiped (OPENSSL_cleanse) before free.
 */
#ifndef CT_CRYPTO_H
#define CT_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "err.h"

#define CT_KEY_FILE_MAX (16u << 10) /* a PEM private key file */
#define CT_CHAIN_MAX (256u << 10)   /* a PEM certificate chain */
#define CT_CHAIN_CERTS_MAX 8        /* certificates in one chain */
#define CT_NAMES_MAX 100            /* names in one certificate */
#define CT_NAME_MAX 253             /* bytes of one DNS name */
#define CT_ES256_SIG_LEN 64         /* r || s, 32 bytes each */
#define CT_THUMB_LEN 43             /* base64url of a SHA-256 digest */

/* base64url without padding (RFC 4648 section 5). *out is malloc'ed and
 * NUL-terminated; NULL when out of memory. */
char *ct_b64url(const void *data, size_t len);
/* Decode; padding and anything outside the alphabet refused: -1. *out is
 * malloc'ed (caller frees), *outlen its length. */
int ct_b64url_decode(const char *s, size_t len, unsigned char **out,
		     size_t *outlen);

enum ct_keytype { CT_EC256, CT_EC384, CT_RSA2048, CT_RSA3072, CT_RSA4096 };

/* "ec256" ... "rsa4096" -> type; -1 when unknown. */
int ct_keytype_parse(const char *s, enum ct_keytype *out);
const char *ct_keytype_name(enum ct_keytype t);

EVP_PKEY *ct_key_generate(enum ct_keytype t, struct sov_err *e);
/* A PEM private key from memory (its bytes are not kept). */
EVP_PKEY *ct_key_from_pem(const char *pem, size_t len, const char *what,
			  struct sov_err *e);
/* A PEM private key file, capped at CT_KEY_FILE_MAX, wiped after parsing. */
EVP_PKEY *ct_key_load(const char *path, struct sov_err *e);
/* PKCS#8 PEM of the private key; *pem is malloc'ed: wipe it with
 * ct_wipe_free(pem, len). */
int ct_key_pem(EVP_PKEY *k, char **pem, size_t *len, struct sov_err *e);
void ct_wipe_free(void *p, size_t len);

/*
 * Write secret bytes durably at path, mode 0600: a temp file in the same
 * directory opened O_EXCL|O_NOFOLLOW, fsync, then rename over path (or,
 * with noclobber, link(2) so that an existing path is never replaced:
 * EEXIST is an error), fsync the directory. The temp file never remains.
 */
int ct_write_secret(const char *path, const void *data, size_t len,
		    int noclobber, struct sov_err *e);
int ct_key_save(const char *path, EVP_PKEY *k, int noclobber,
		struct sov_err *e);

/*
 * The public JWK of an EC P-256/P-384 or RSA key in the canonical form of
 * RFC 7638 (required members only, in lexicographic order, no spaces), so
 * that it serves both in a JWS header and for the thumbprint. malloc'ed.
 */
char *ct_jwk_canonical(EVP_PKEY *k, struct sov_err *e);
/* base64url(SHA-256(canonical JWK)) into out[CT_THUMB_LEN + 1]. */
int ct_jwk_thumbprint(const char *canonical, char out[CT_THUMB_LEN + 1]);

/* ES256 over msg with an EC P-256 key: the raw 64-byte r || s form. */
int ct_es256_sign(EVP_PKEY *k, const void *msg, size_t len,
		  unsigned char sig[CT_ES256_SIG_LEN], struct sov_err *e);
/* The check (tests, and the key child's self-test): 0 when valid. */
int ct_es256_verify(EVP_PKEY *k, const void *msg, size_t len,
		    const unsigned char sig[CT_ES256_SIG_LEN]);

/* A DER CSR for names (the first is the subject CN; all are SANs), signed
 * with k. *der is malloc'ed. */
int ct_csr_der(EVP_PKEY *k, const char *const *names, size_t nnames,
	       unsigned char **der, size_t *len, struct sov_err *e);

/* A parsed PEM chain: the leaf first. */
struct ct_chain {
	STACK_OF(X509) * certs;
	char *issuer;        /* leaf's issuer, one line, malloc'ed */
	char *top_issuer_cn; /* CN of the last certificate's issuer (the
				root a chain leads to), or "" */
	int64_t not_before;  /* seconds since the epoch */
	int64_t not_after;
	char *serial; /* hex */
	char **names; /* the leaf's DNS SANs */
	size_t nnames;
};

/*
 * Parse a PEM chain (at most CT_CHAIN_MAX bytes and CT_CHAIN_CERTS_MAX
 * certificates; nothing but certificates and whitespace between them).
 * what names the source in errors. SOV_EXIT_FAIL on bad input (a CA that
 * sends garbage is a failure of the run, not the user's input).
 */
int ct_chain_parse(const char *pem, size_t len, const char *what,
		   struct ct_chain *c, struct sov_err *e);
void ct_chain_free(struct ct_chain *c); /* accepts a zeroed chain */

/*
 * Check a chain before it is installed: the leaf's key is k, its SANs
 * cover every name, it is valid at now, and each certificate is signed by
 * the next one's key.
 */
int ct_chain_verify(const struct ct_chain *c, EVP_PKEY *k,
		    const char *const *names, size_t nnames, int64_t now,
		    struct sov_err *e);

/* Add OpenSSL's queued errors to e's message (": why"), clearing them. */
void ct_ossl_err(struct sov_err *e);

#endif
