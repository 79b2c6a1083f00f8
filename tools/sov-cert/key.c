/*
 * key.c - private keys: generate, PEM in and out, durable 0600 files, the
 * public JWK (RFC 7638 canonical form) and its thumbprint, ES256.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "crypto.h"
#include "fs.h"

static const struct {
	const char *name;
	enum ct_keytype type;
} keytypes[] = {
    {"ec256", CT_EC256},     {"ec384", CT_EC384},     {"rsa2048", CT_RSA2048},
    {"rsa3072", CT_RSA3072}, {"rsa4096", CT_RSA4096},
};

int
ct_keytype_parse(const char *s, enum ct_keytype *out)
{
	for (size_t i = 0; i < sizeof(keytypes) / sizeof(keytypes[0]); i++)
		if (strcmp(s, keytypes[i].name) == 0) {
			*out = keytypes[i].type;
			return 0;
		}
	return -1;
}

const char *
ct_keytype_name(enum ct_keytype t)
{
	for (size_t i = 0; i < sizeof(keytypes) / sizeof(keytypes[0]); i++)
		if (keytypes[i].type == t)
			return keytypes[i].name;
	return "?";
}

void
ct_ossl_err(struct sov_err *e)
{
	unsigned long code = ERR_get_error();
	char buf[256];

	if (code != 0 && e != NULL) {
		ERR_error_string_n(code, buf, sizeof(buf));
		size_t n = strlen(e->msg);
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", buf);
	}
	ERR_clear_error();
}

EVP_PKEY *
ct_key_generate(enum ct_keytype t, struct sov_err *e)
{
	EVP_PKEY *k = NULL;

	switch (t) {
	case CT_EC256:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case CT_EC384:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case CT_RSA2048:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case CT_RSA3072:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case CT_RSA4096:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
		break;
	}
	if (k == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "generate %s key",
			    ct_keytype_name(t));
		ct_ossl_err(e);
	}
	return k;
}

EVP_PKEY *
ct_key_from_pem(const char *pem, size_t len, const char *what,
		struct sov_err *e)
{
	EVP_PKEY *k = NULL;
	BIO *b;

	if (len > CT_KEY_FILE_MAX || len > INT_MAX) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: over %u bytes", what,
			    CT_KEY_FILE_MAX);
		return NULL;
	}
	b = BIO_new_mem_buf(pem, (int)len);
	if (b == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "%s: out of memory", what);
		return NULL;
	}
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (k == NULL) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: not a PEM private key",
			    what);
		ct_ossl_err(e);
	}
	return k;
}

void
ct_wipe_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

EVP_PKEY *
ct_key_load(const char *path, struct sov_err *e)
{
	char *buf = NULL;
	size_t len = 0;
	EVP_PKEY *k;

	if (sov_file_read(path, CT_KEY_FILE_MAX, &buf, &len, e) < 0)
		return NULL;
	k = ct_key_from_pem(buf, len, path, e);
	ct_wipe_free(buf, len);
	return k;
}

int
ct_key_pem(EVP_PKEY *k, char **pem, size_t *len, struct sov_err *e)
{
	BIO *b = BIO_new(BIO_s_secmem());
	BUF_MEM *m = NULL;
	int rc = -1;

	*pem = NULL;
	*len = 0;
	if (b == NULL)
		b = BIO_new(BIO_s_mem());
	if (b == NULL ||
	    !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) {
		sov_err_set(e, SOV_EXIT_FAIL, "write private key");
		ct_ossl_err(e);
		goto out;
	}
	BIO_get_mem_ptr(b, &m);
	*pem = malloc(m->length + 1);
	if (*pem == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	memcpy(*pem, m->data, m->length);
	(*pem)[m->length] = '\0';
	*len = m->length;
	rc = 0;
out:
	BIO_free(b); /* a secmem/mem BIO clears its buffer on free */
	return rc;
}

static int
dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	int n;

	if (slash == NULL)
		n = snprintf(dir, size, ".");
	else if (slash == path)
		n = snprintf(dir, size, "/");
	else
		n = snprintf(dir, size, "%.*s", (int)(slash - path), path);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
ct_write_secret(const char *path, const void *data, size_t len, int noclobber,
		struct sov_err *e)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const unsigned char *p = data;
	int fd = -1, rc = -1, made = 0;
	int n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp) ||
	    dir_of(path, dir, sizeof(dir)) < 0)
		return sov_err_set(e, SOV_EXIT_USAGE, "%s: path too long",
				   path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		sov_err_sys(e, sov_exit_code_errno(errno), "create %s", tmp);
		goto out;
	}
	made = 1;
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			sov_err_sys(e, sov_exit_code_errno(errno), "write %s",
				    tmp);
			goto out;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) < 0) {
		sov_err_sys(e, sov_exit_code_errno(errno), "fsync %s", tmp);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		sov_err_sys(e, sov_exit_code_errno(errno), "close %s", tmp);
		goto out;
	}
	fd = -1;
	if (noclobber) {
		if (link(tmp, path) < 0) {
			sov_err_sys(
			    e, errno == EEXIST ? SOV_EXIT_USAGE : SOV_EXIT_FAIL,
			    "create %s", path);
			goto out;
		}
	} else if (rename(tmp, path) < 0) {
		sov_err_sys(e, sov_exit_code_errno(errno), "rename %s", tmp);
		goto out;
	} else {
		made = 0;
	}
	if (sov_dir_fsync(dir, e) < 0)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (made)
		unlink(tmp);
	return rc;
}

int
ct_key_save(const char *path, EVP_PKEY *k, int noclobber, struct sov_err *e)
{
	char *pem = NULL;
	size_t len = 0;
	int rc;

	if (ct_key_pem(k, &pem, &len, e) < 0)
		return -1;
	rc = ct_write_secret(path, pem, len, noclobber, e);
	ct_wipe_free(pem, len);
	return rc;
}

/* A big number parameter as base64url of its fixed-width big-endian bytes
 * (width 0: minimal). */
static char *
bn_param_b64(EVP_PKEY *k, const char *param, int width)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	char *s = NULL;
	int n;

	if (!EVP_PKEY_get_bn_param(k, param, &bn))
		return NULL;
	n = width > 0 ? width : BN_num_bytes(bn);
	if (n <= (int)sizeof(buf) && BN_bn2binpad(bn, buf, n) == n)
		s = ct_b64url(buf, (size_t)n);
	BN_free(bn);
	return s;
}

char *
ct_jwk_canonical(EVP_PKEY *k, struct sov_err *e)
{
	char *a = NULL, *b = NULL, *out = NULL;
	const char *crv = NULL;
	int width = 0;
	size_t size;
	int n;

	if (EVP_PKEY_is_a(k, "EC")) {
		int bits = EVP_PKEY_get_bits(k);

		if (bits == 256) {
			crv = "P-256";
			width = 32;
		} else if (bits == 384) {
			crv = "P-384";
			width = 48;
		} else {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "EC key of %d bits: want P-256 or P-384",
				    bits);
			return NULL;
		}
		a = bn_param_b64(k, OSSL_PKEY_PARAM_EC_PUB_X, width);
		b = bn_param_b64(k, OSSL_PKEY_PARAM_EC_PUB_Y, width);
	} else if (EVP_PKEY_is_a(k, "RSA")) {
		a = bn_param_b64(k, OSSL_PKEY_PARAM_RSA_E, 0);
		b = bn_param_b64(k, OSSL_PKEY_PARAM_RSA_N, 0);
	} else {
		sov_err_set(e, SOV_EXIT_USAGE, "key type: want EC or RSA");
		return NULL;
	}
	if (a == NULL || b == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "public key parameters");
		ct_ossl_err(e);
		goto out;
	}
	size = strlen(a) + strlen(b) + 64;
	out = malloc(size);
	if (out == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	if (crv != NULL)
		n = snprintf(out, size,
			     "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\","
			     "\"y\":\"%s\"}",
			     crv, a, b);
	else
		n = snprintf(out, size,
			     "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", a,
			     b);
	if (n < 0 || (size_t)n >= size) {
		free(out);
		out = NULL;
		sov_err_set(e, SOV_EXIT_FAIL, "JWK too long");
	}
out:
	free(a);
	free(b);
	return out;
}

int
ct_jwk_thumbprint(const char *canonical, char out[CT_THUMB_LEN + 1])
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	char *s;

	SHA256((const unsigned char *)canonical, strlen(canonical), d);
	s = ct_b64url(d, sizeof(d));
	if (s == NULL || strlen(s) != CT_THUMB_LEN) {
		free(s);
		return -1;
	}
	memcpy(out, s, CT_THUMB_LEN + 1);
	free(s);
	return 0;
}

int
ct_es256_sign(EVP_PKEY *k, const void *msg, size_t len,
	      unsigned char sig[CT_ES256_SIG_LEN], struct sov_err *e)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char der[128];
	const unsigned char *p = der;
	size_t dlen = sizeof(der);
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	int rc = -1;

	if (!EVP_PKEY_is_a(k, "EC") || EVP_PKEY_get_bits(k) != 256)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "ES256 needs an EC P-256 key");
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(ctx, der, &dlen, msg, len) != 1) {
		sov_err_set(e, SOV_EXIT_FAIL, "ES256 sign");
		ct_ossl_err(e);
		goto out;
	}
	es = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
	if (es == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "ES256 sign: bad DER signature");
		goto out;
	}
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, 32) != 32 ||
	    BN_bn2binpad(s, sig + 32, 32) != 32) {
		sov_err_set(e, SOV_EXIT_FAIL, "ES256 sign: r or s too long");
		goto out;
	}
	rc = 0;
out:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
ct_es256_verify(EVP_PKEY *k, const void *msg, size_t len,
		const unsigned char sig[CT_ES256_SIG_LEN])
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL),
	       *s = BN_bin2bn(sig + 32, 32, NULL);
	unsigned char *der = NULL;
	EVP_MD_CTX *ctx = NULL;
	int dlen, rc = -1;

	if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	dlen = i2d_ECDSA_SIG(es, &der);
	ctx = EVP_MD_CTX_new();
	if (dlen > 0 && ctx != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k) == 1 &&
	    EVP_DigestVerify(ctx, der, (size_t)dlen, msg, len) == 1)
		rc = 0;
out:
	ERR_clear_error();
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	ECDSA_SIG_free(es);
	return rc;
}
