/*
 * x509.c - the issued chain: parsed from PEM (strictly: certificates and
 * whitespace only, capped), described (issuer, validity, serial, SANs) and
 * verified before it is installed.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crypto.h"

#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END "-----END CERTIFICATE-----"

void
ct_chain_free(struct ct_chain *c)
{
	if (c == NULL)
		return;
	sk_X509_pop_free(c->certs, X509_free);
	free(c->issuer);
	free(c->top_issuer_cn);
	free(c->serial);
	for (size_t i = 0; i < c->nnames; i++)
		free(c->names[i]);
	free(c->names);
	memset(c, 0, sizeof(*c));
}

static int
asn1_time_epoch(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int
describe(struct ct_chain *c, const char *what, struct sov_err *e)
{
	X509 *leaf = sk_X509_value(c->certs, 0);
	GENERAL_NAMES *gens = NULL;
	BIGNUM *bn = NULL;
	char *hex = NULL;
	BIO *b = NULL;
	int rc = -1, n;

	b = BIO_new(BIO_s_mem());
	if (b == NULL)
		goto ossl;
	if (X509_NAME_print_ex(b, X509_get_issuer_name(leaf), 0,
			       XN_FLAG_RFC2253) < 0)
		goto ossl;
	n = (int)BIO_pending(b);
	c->issuer = malloc((size_t)n + 1);
	if (c->issuer == NULL)
		goto ossl;
	if (n > 0 && BIO_read(b, c->issuer, n) != n)
		goto ossl;
	c->issuer[n] = '\0';
	if (asn1_time_epoch(X509_get0_notBefore(leaf), &c->not_before) < 0 ||
	    asn1_time_epoch(X509_get0_notAfter(leaf), &c->not_after) < 0) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: leaf: bad validity dates",
			    what);
		goto out;
	}
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
	hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	if (hex == NULL)
		goto ossl;
	c->serial = strdup(hex);
	if (c->serial == NULL)
		goto ossl;
	for (char *p = c->serial; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	{
		X509 *top = sk_X509_value(c->certs, sk_X509_num(c->certs) - 1);
		char cn[256] = "";

		if (X509_NAME_get_text_by_NID(X509_get_issuer_name(top),
					      NID_commonName, cn,
					      sizeof(cn)) < 0)
			cn[0] = '\0';
		for (char *p = cn; *p; p++)
			if (*p < ' ' || *p >= 0x7f)
				*p = '?';
		c->top_issuer_cn = strdup(cn);
		if (c->top_issuer_cn == NULL)
			goto ossl;
	}
	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: leaf has no subjectAltName",
			    what);
		goto out;
	}
	n = sk_GENERAL_NAME_num(gens);
	if (n > CT_NAMES_MAX) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: leaf: over %d names", what,
			    CT_NAMES_MAX);
		goto out;
	}
	c->names = calloc((size_t)n + 1, sizeof(*c->names));
	if (c->names == NULL)
		goto ossl;
	for (int i = 0; i < n; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *d;
		int len;

		if (g->type != GEN_DNS)
			continue;
		d = ASN1_STRING_get0_data(g->d.dNSName);
		len = ASN1_STRING_length(g->d.dNSName);
		if (len <= 0 || len > CT_NAME_MAX ||
		    memchr(d, '\0', (size_t)len) != NULL) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: leaf: bad DNS name in SAN", what);
			goto out;
		}
		c->names[c->nnames] = strndup((const char *)d, (size_t)len);
		if (c->names[c->nnames] == NULL)
			goto ossl;
		c->nnames++;
	}
	rc = 0;
	goto out;
ossl:
	sov_err_set(e, SOV_EXIT_FAIL, "%s: describe the leaf", what);
	ct_ossl_err(e);
out:
	GENERAL_NAMES_free(gens);
	OPENSSL_free(hex);
	BN_free(bn);
	BIO_free(b);
	return rc;
}

static const char *
skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

int
ct_chain_parse(const char *pem, size_t len, const char *what,
	       struct ct_chain *c, struct sov_err *e)
{
	const char *p = pem, *end = pem + len;

	memset(c, 0, sizeof(*c));
	if (len > CT_CHAIN_MAX)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "%s: certificate chain over %u bytes", what,
				   CT_CHAIN_MAX);
	c->certs = sk_X509_new_null();
	if (c->certs == NULL)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
	for (;;) {
		const char *stop;
		X509 *x;
		BIO *b;

		p = skip_space(p, end);
		if (p == end)
			break;
		if ((size_t)(end - p) < sizeof(PEM_BEGIN) - 1 ||
		    memcmp(p, PEM_BEGIN, sizeof(PEM_BEGIN) - 1) != 0) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: byte %zu: want \"" PEM_BEGIN "\"",
				    what, (size_t)(p - pem));
			goto fail;
		}
		stop =
		    memmem(p, (size_t)(end - p), PEM_END, sizeof(PEM_END) - 1);
		if (stop == NULL) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: certificate %d has no end line", what,
				    sk_X509_num(c->certs) + 1);
			goto fail;
		}
		stop += sizeof(PEM_END) - 1;
		if (sk_X509_num(c->certs) >= CT_CHAIN_CERTS_MAX) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: over %d certificates", what,
				    CT_CHAIN_CERTS_MAX);
			goto fail;
		}
		b = BIO_new_mem_buf(p, (int)(stop - p));
		x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		if (x == NULL) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: certificate %d does not parse", what,
				    sk_X509_num(c->certs) + 1);
			ct_ossl_err(e);
			goto fail;
		}
		if (!sk_X509_push(c->certs, x)) {
			X509_free(x);
			sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
			goto fail;
		}
		p = stop;
	}
	if (sk_X509_num(c->certs) == 0) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: no certificate", what);
		goto fail;
	}
	if (describe(c, what, e) < 0)
		goto fail;
	return 0;
fail:
	ERR_clear_error();
	ct_chain_free(c);
	return -1;
}

static int
name_covered(const struct ct_chain *c, const char *name)
{
	for (size_t i = 0; i < c->nnames; i++)
		if (strcasecmp(c->names[i], name) == 0)
			return 1;
	return 0;
}

int
ct_chain_verify(const struct ct_chain *c, EVP_PKEY *k, const char *const *names,
		size_t nnames, int64_t now, struct sov_err *e)
{
	X509 *leaf = sk_X509_value(c->certs, 0);
	int n = sk_X509_num(c->certs);

	if (k != NULL && X509_check_private_key(leaf, k) != 1) {
		ERR_clear_error();
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "issued certificate is not for our key");
	}
	for (size_t i = 0; i < nnames; i++)
		if (!name_covered(c, names[i]))
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "issued certificate lacks %s",
					   names[i]);
	if (now < c->not_before || now >= c->not_after)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "issued certificate is not valid now");
	for (int i = 0; i + 1 < n; i++) {
		X509 *sub = sk_X509_value(c->certs, i);
		X509 *iss = sk_X509_value(c->certs, i + 1);
		EVP_PKEY *ik = X509_get0_pubkey(iss);

		if (ik == NULL || X509_verify(sub, ik) != 1 ||
		    X509_NAME_cmp(X509_get_issuer_name(sub),
				  X509_get_subject_name(iss)) != 0) {
			ERR_clear_error();
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "chain: certificate %d is not "
					   "signed by certificate %d",
					   i + 1, i + 2);
		}
	}
	return 0;
}
