/*
 * csr.c - the certificate signing request sent to finalize an order: the
 * first name as subject CN, every name as a DNS SAN, signed with the
 * certificate's key (SHA-256).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "crypto.h"

int
ct_csr_der(EVP_PKEY *k, const char *const *names, size_t nnames,
	   unsigned char **der, size_t *len, struct sov_err *e)
{
	X509_REQ *req = NULL;
	X509_NAME *subj = NULL;
	GENERAL_NAMES *sans = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;
	unsigned char *p = NULL;
	int n, rc = -1;

	*der = NULL;
	*len = 0;
	if (nnames == 0 || nnames > CT_NAMES_MAX)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "CSR: want 1 to %d names, got %zu",
				   CT_NAMES_MAX, nnames);
	req = X509_REQ_new();
	subj = X509_NAME_new();
	sans = GENERAL_NAMES_new();
	exts = sk_X509_EXTENSION_new_null();
	if (req == NULL || subj == NULL || sans == NULL || exts == NULL)
		goto ossl;
	if (!X509_REQ_set_version(req, 0))
		goto ossl;
	/* a CN holds at most 64 bytes; longer first names go in SANs only */
	if (strlen(names[0]) <= 64 &&
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
					(const unsigned char *)names[0], -1, -1,
					0))
		goto ossl;
	if (!X509_REQ_set_subject_name(req, subj))
		goto ossl;
	for (size_t i = 0; i < nnames; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();

		if (g == NULL || s == NULL ||
		    !ASN1_STRING_set(s, names[i], (int)strlen(names[i]))) {
			GENERAL_NAME_free(g);
			ASN1_IA5STRING_free(s);
			goto ossl;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		if (!sk_GENERAL_NAME_push(sans, g)) {
			GENERAL_NAME_free(g);
			goto ossl;
		}
	}
	ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, sans);
	if (ext == NULL || !sk_X509_EXTENSION_push(exts, ext))
		goto ossl;
	ext = NULL; /* owned by exts */
	if (!X509_REQ_add_extensions(req, exts) ||
	    !X509_REQ_set_pubkey(req, k) ||
	    X509_REQ_sign(req, k, EVP_sha256()) <= 0)
		goto ossl;
	n = i2d_X509_REQ(req, &p);
	if (n <= 0)
		goto ossl;
	*der = malloc((size_t)n);
	if (*der == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	memcpy(*der, p, (size_t)n);
	*len = (size_t)n;
	rc = 0;
	goto out;
ossl:
	sov_err_set(e, SOV_EXIT_FAIL, "build CSR for %s", names[0]);
	ct_ossl_err(e);
out:
	OPENSSL_free(p);
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(sans);
	X509_NAME_free(subj);
	X509_REQ_free(req);
	return rc;
}
