/*
 * test_cert_crypto.c - sov-cert's crypto core: base64url (RFC 4648
 * vectors), the JWK thumbprint (RFC 7638's example), ES256 and the JWS it
 * signs, key files, CSRs, chains, and the key child.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jv.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "jws.h"
#include "keyproc.h"
#include "tap.h"

static char dir[256];

/* o[k] as text (rotating static buffers; "" when not a string). */
static const char *
jget(jv o, const char *k)
{
	static char buf[4][256];
	static int i;
	jv v = jv_object_get(jv_copy(o), jv_string(k));
	char *b = buf[i++ % 4];

	xsnprintf(b, sizeof(buf[0]), "%s",
		  jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : "");
	jv_free(v);
	return b;
}

static void
test_b64(void)
{
	static const char *vec[][2] = {
	    {"", ""},
	    {"f", "Zg"},
	    {"fo", "Zm8"},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg"},
	    {"fooba", "Zm9vYmE"},
	    {"foobar", "Zm9vYmFy"},
	};
	unsigned char bin[] = {0xfb, 0xff, 0xfe};
	unsigned char *d;
	size_t dl;
	char *s;

	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		s = ct_b64url(vec[i][0], strlen(vec[i][0]));
		is_str(s, vec[i][1], "b64url(\"%s\")", vec[i][0]);
		free(s);
		ok(ct_b64url_decode(vec[i][1], strlen(vec[i][1]), &d, &dl) ==
			   0 &&
		       dl == strlen(vec[i][0]) && memcmp(d, vec[i][0], dl) == 0,
		   "decode \"%s\"", vec[i][1]);
		free(d);
	}
	s = ct_b64url(bin, 3);
	is_str(s, "-__-", "the URL alphabet: - and _");
	free(s);
	ok(ct_b64url_decode("Zm9v=", 5, &d, &dl) < 0, "padding refused");
	ok(ct_b64url_decode("Zm+v", 4, &d, &dl) < 0, "'+' refused");
	ok(ct_b64url_decode("Z", 1, &d, &dl) < 0, "a lone character refused");
	ok(ct_b64url_decode("Zh", 2, &d, &dl) < 0,
	   "non-zero trailing bits refused");
}

/* RFC 7638 section 3.1 */
static const char rfc_n[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aP"
    "FFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl"
    "93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgd"
    "AZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr"
    "3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

static void
test_thumbprint(void)
{
	unsigned char *n = NULL;
	size_t nl;
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *p = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *k = NULL;
	BIGNUM *bn_n, *bn_e = BN_new();
	char thumb[CT_THUMB_LEN + 1], want[1024];
	char *jwk;
	struct sov_err e = {0};

	ok(ct_b64url_decode(rfc_n, strlen(rfc_n), &n, &nl) == 0, "RFC n");
	bn_n = BN_bin2bn(n, (int)nl, NULL);
	BN_set_word(bn_e, 65537);
	OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn_n);
	OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, bn_e);
	p = OSSL_PARAM_BLD_to_param(b);
	ok(EVP_PKEY_fromdata_init(ctx) == 1 &&
	       EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, p) == 1,
	   "RSA key from RFC 7638's n and e");
	jwk = ct_jwk_canonical(k, &e);
	xsnprintf(want, sizeof(want),
		  "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"%s\"}", rfc_n);
	is_str(jwk, want, "canonical JWK: members in order, no spaces");
	ok(jwk && ct_jwk_thumbprint(jwk, thumb) == 0, "thumbprint");
	is_str(thumb, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
	       "RFC 7638's thumbprint");
	free(jwk);
	free(n);
	BN_free(bn_n);
	BN_free(bn_e);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(k);
}

static void
test_es256_jws(void)
{
	struct sov_err e = {0};
	EVP_PKEY *k = ct_key_generate(CT_EC256, &e), *k384;
	struct ct_signer s;
	unsigned char sig[CT_ES256_SIG_LEN], *d = NULL;
	size_t dl;
	char *jws = NULL, *ka, *txt, *jwk;
	jv v, hdr;

	ok(k != NULL, "generate P-256");
	jwk = ct_jwk_canonical(k, &e);
	ok(jwk &&
	       strncmp(jwk, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"", 31) ==
		   0 &&
	       strlen(jwk) == 31 + 43 + 7 + 43 + 2,
	   "EC JWK canonical with 32-byte coordinates");
	free(jwk);
	ok(ct_es256_sign(k, "abc", 3, sig, &e) == 0, "sign");
	ok(ct_es256_verify(k, "abc", 3, sig) == 0, "r||s verifies");
	sig[5] ^= 1;
	ok(ct_es256_verify(k, "abc", 3, sig) < 0, "a flipped bit does not");
	k384 = ct_key_generate(CT_EC384, &e);
	ok(k384 && ct_es256_sign(k384, "abc", 3, sig, &e) < 0,
	   "ES256 refuses a P-384 key");
	EVP_PKEY_free(k384);

	ok(ct_signer_local(&s, k, &e) == 0, "local signer");
	ok(ct_jws(&s, "https://ca/new-acct", "NONCE1", NULL, "{\"a\":1}", &jws,
		  &e) == 0,
	   "JWS with jwk");
	v = jv_parse(jws ? jws : "null");
	ok(jv_get_kind(v) == JV_KIND_OBJECT, "JWS is a JSON object");
	{
		jv pr = jv_object_get(jv_copy(v), jv_string("protected"));
		jv pa = jv_object_get(jv_copy(v), jv_string("payload"));
		jv sg = jv_object_get(jv_copy(v), jv_string("signature"));
		const char *ps = jv_string_value(pr), *as = jv_string_value(pa);
		size_t n = strlen(ps) + strlen(as) + 2;
		char *input = malloc(n);

		xsnprintf(input, n, "%s.%s", ps, as);
		ok(ct_b64url_decode(jv_string_value(sg),
				    strlen(jv_string_value(sg)), &d,
				    &dl) == 0 &&
		       dl == 64 && ct_es256_verify(k, input, n - 1, d) == 0,
		   "JWS signature verifies over protected.payload");
		free(d);
		ok(ct_b64url_decode(ps, strlen(ps), &d, &dl) == 0, "header");
		hdr = jv_parse_sized((char *)d, (int)dl);
		free(d);
		is_str(jget(hdr, "alg"), "ES256", "alg");
		is_str(jget(hdr, "nonce"), "NONCE1", "nonce");
		ok(jv_object_has(jv_copy(hdr), jv_string("jwk")) &&
		       !jv_object_has(jv_copy(hdr), jv_string("kid")),
		   "jwk, no kid");
		jv_free(hdr);
		free(input);
		jv_free(pr);
		jv_free(pa);
		jv_free(sg);
	}
	jv_free(v);
	free(jws);
	ok(ct_jws(&s, "https://ca/order", "N2", "https://ca/acct/1", "", &jws,
		  &e) == 0,
	   "POST-as-GET JWS with kid");
	v = jv_parse(jws);
	is_str(jget(v, "payload"), "", "empty payload");
	jv_free(v);
	free(jws);

	ka = ct_key_authz("tok-EN_1", s.thumb);
	ok(ka && strncmp(ka, "tok-EN_1.", 9) == 0 && strlen(ka) == 9 + 43,
	   "key authorization: token.thumbprint");
	/* RFC 8555 8.4: base64url(SHA-256(keyauth)); want from Python hashlib
	 */
	txt = ct_dns_txt("a.b");
	is_str(txt, "LnM23I66h-9HLfVow1SCq_JXXcPl6sDFxiuP-urCyTQ",
	       "dns-01 TXT value");
	free(txt);
	free(ka);
	ok(ct_key_authz("bad/token", s.thumb) == NULL, "bad token refused");
	ok(ct_key_authz("", s.thumb) == NULL, "empty token refused");
	ct_signer_clear(&s);
	EVP_PKEY_free(k);
}

static void
test_key_files(void)
{
	struct sov_err e = {0};
	char path[512];
	struct stat st;
	EVP_PKEY *k, *l;
	const enum ct_keytype types[] = {CT_EC256, CT_EC384, CT_RSA2048};

	for (size_t i = 0; i < 3; i++) {
		xsnprintf(path, sizeof(path), "%s/k%zu.pem", dir, i);
		k = ct_key_generate(types[i], &e);
		ok(k && ct_key_save(path, k, 1, &e) == 0, "save %s",
		   ct_keytype_name(types[i]));
		ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
		   "mode 0600");
		l = ct_key_load(path, &e);
		ok(l && EVP_PKEY_eq(k, l) == 1, "load gives the same key");
		ok(ct_key_save(path, k, 1, &e) < 0 && e.code == SOV_EXIT_USAGE,
		   "noclobber refuses an existing file: %s", e.msg);
		ok(ct_key_save(path, k, 0, &e) == 0, "replace when asked");
		EVP_PKEY_free(k);
		EVP_PKEY_free(l);
	}
	xsnprintf(path, sizeof(path), "%s/junk.pem", dir);
	ct_write_secret(path, "junk", 4, 0, &e);
	sov_err_clear(&e);
	ok(ct_key_load(path, &e) == NULL && e.code == SOV_EXIT_USAGE,
	   "junk is not a key: %s", e.msg);
	{
		enum ct_keytype t;

		ok(ct_keytype_parse("rsa4096", &t) == 0 && t == CT_RSA4096,
		   "key type names");
		ok(ct_keytype_parse("dsa", &t) < 0, "unknown type refused");
	}
}

/* A certificate for k, signed by ik (self-signed when ik == k). */
static X509 *
make_cert(EVP_PKEY *k, EVP_PKEY *ik, X509 *issuer, const char *cn,
	  const char *san, long days)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), days * 86400);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm);
	X509_set_pubkey(x, k);
	if (san) {
		X509V3_CTX c;
		X509_EXTENSION *ext;

		X509V3_set_ctx_nodb(&c);
		X509V3_set_ctx(&c, issuer ? issuer : x, x, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &c, NID_subject_alt_name, san);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	X509_sign(x, ik, EVP_sha256());
	X509_NAME_free(nm);
	return x;
}

static char *
pem_of(X509 *a, X509 *b, const char *between)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	PEM_write_bio_X509(bio, a);
	if (between)
		BIO_puts(bio, between);
	if (b)
		PEM_write_bio_X509(bio, b);
	n = BIO_get_mem_data(bio, &p);
	out = strndup(p, (size_t)n);
	BIO_free(bio);
	return out;
}

static void
test_csr_chain(void)
{
	struct sov_err e = {0};
	EVP_PKEY *ca = ct_key_generate(CT_EC256, &e);
	EVP_PKEY *k = ct_key_generate(CT_EC256, &e);
	EVP_PKEY *other = ct_key_generate(CT_EC256, &e);
	const char *names[] = {"a.sov.test", "b.sov.test"};
	unsigned char *der = NULL;
	const unsigned char *dp;
	size_t dl;
	X509_REQ *req;
	X509 *cax, *leaf;
	struct ct_chain c;
	char *pem;
	int64_t now = (int64_t)time(NULL);

	ok(ct_csr_der(k, names, 2, &der, &dl, &e) == 0, "CSR");
	dp = der;
	req = d2i_X509_REQ(NULL, &dp, (long)dl);
	ok(req && X509_REQ_verify(req, k) == 1, "CSR signed by the key");
	{
		STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
		GENERAL_NAMES *g =
		    X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);

		ok(g && sk_GENERAL_NAME_num(g) == 2, "CSR has both SANs");
		GENERAL_NAMES_free(g);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	X509_REQ_free(req);
	free(der);
	ok(ct_csr_der(k, names, 0, &der, &dl, &e) < 0, "no names refused");

	cax = make_cert(ca, ca, NULL, "Sov Test CA", NULL, 3650);
	leaf = make_cert(k, ca, cax, "a.sov.test",
			 "DNS:a.sov.test,DNS:b.sov.test", 90);
	pem = pem_of(leaf, cax, "\n");
	ok(ct_chain_parse(pem, strlen(pem), "chain", &c, &e) == 0,
	   "chain parses: %s", e.msg);
	is_int(sk_X509_num(c.certs), 2, "two certificates");
	is_int(c.nnames, 2, "two names");
	is_str(c.issuer, "CN=Sov Test CA", "issuer");
	is_str(c.serial, "1092", "serial in hex");
	ok(c.not_after - now > 89 * 86400 && c.not_after - now <= 90 * 86400,
	   "not_after");
	ok(ct_chain_verify(&c, k, names, 2, now, &e) == 0, "verifies: %s",
	   e.msg);
	ok(ct_chain_verify(&c, other, names, 2, now, &e) < 0, "other key: %s",
	   e.msg);
	{
		const char *more[] = {"a.sov.test", "c.sov.test"};

		ok(ct_chain_verify(&c, k, more, 2, now, &e) < 0 &&
		       strstr(e.msg, "c.sov.test"),
		   "missing name: %s", e.msg);
	}
	ok(ct_chain_verify(&c, k, names, 2, now + 91 * 86400, &e) < 0,
	   "expired refused");
	ct_chain_free(&c);
	free(pem);
	pem = pem_of(cax, leaf, "\n");
	ok(ct_chain_parse(pem, strlen(pem), "chain", &c, &e) < 0 ||
	       ct_chain_verify(&c, NULL, NULL, 0, now, &e) < 0,
	   "wrong order refused: %s", e.msg);
	ct_chain_free(&c);
	free(pem);
	pem = pem_of(leaf, cax, "junk\n");
	ok(ct_chain_parse(pem, strlen(pem), "chain", &c, &e) < 0 &&
	       strstr(e.msg, "byte"),
	   "junk between refused: %s", e.msg);
	free(pem);
	ok(ct_chain_parse("", 0, "chain", &c, &e) < 0, "empty refused");
	pem = pem_of(leaf, NULL, NULL);
	pem[strlen(pem) - 10] = '\0';
	ok(ct_chain_parse(pem, strlen(pem), "chain", &c, &e) < 0,
	   "truncated refused: %s", e.msg);
	free(pem);
	X509_free(cax);
	X509_free(leaf);
	EVP_PKEY_free(ca);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

static void
test_keyproc(void)
{
	struct sov_err e = {0};
	struct ct_keyproc kp;
	char path[512];
	unsigned char sig[CT_ES256_SIG_LEN];
	EVP_PKEY *k;
	struct stat st;

	xsnprintf(path, sizeof(path), "%s/account.pem", dir);
	ok(ct_keyproc_start(&kp, path, 0, &e) < 0, "no key, no create: %s",
	   e.msg);
	ok(ct_keyproc_start(&kp, path, 1, &e) == 0 && kp.created,
	   "the child makes a key: %s", e.msg);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "0600");
	ok(kp.signer.sign(kp.signer.ctx, "hello", 5, sig, &e) == 0,
	   "the child signs");
	k = ct_key_load(path, &e);
	ok(k && ct_es256_verify(k, "hello", 5, sig) == 0,
	   "with the key in the file");
	{
		char *jwk = ct_jwk_canonical(k, &e);

		is_str(kp.signer.jwk, jwk, "its JWK");
		free(jwk);
	}
	is_int(ct_keyproc_stop(&kp), 0, "the child exits 0");
	ok(ct_keyproc_start(&kp, path, 1, &e) == 0 && !kp.created,
	   "an existing key is loaded, not replaced");
	ok(kp.signer.sign(kp.signer.ctx, "x", 1, sig, &e) == 0 &&
	       ct_es256_verify(k, "x", 1, sig) == 0,
	   "same key");
	{
		char np[600];
		EVP_PKEY *nk;

		xsnprintf(np, sizeof(np), "%s.new", path);
		ok(ct_keyproc_next(&kp, &e) == 0 && kp.next.jwk != NULL,
		   "rollover: a next key: %s", e.msg);
		nk = ct_key_load(np, &e);
		ok(nk != NULL, "written as PATH.new");
		ok(kp.next.sign(kp.next.ctx, "n", 1, sig, &e) == 0 && nk &&
			   ct_es256_verify(nk, "n", 1, sig) == 0,
		   "the next signer signs with it");
		ok(kp.signer.sign(kp.signer.ctx, "o", 1, sig, &e) == 0 &&
			   ct_es256_verify(k, "o", 1, sig) == 0,
		   "the signer still with the old one");
		ok(ct_keyproc_commit(&kp, &e) == 0, "commit");
		ok(kp.signer.sign(kp.signer.ctx, "c", 1, sig, &e) == 0 && nk &&
			   ct_es256_verify(nk, "c", 1, sig) == 0,
		   "after commit the signer uses the new key");
		EVP_PKEY_free(k);
		k = ct_key_load(path, &e);
		ok(k && nk && EVP_PKEY_eq(k, nk) == 1 && access(np, F_OK) < 0,
		   "PATH holds the new key, PATH.new is gone");
		ok(ct_keyproc_commit(&kp, &e) < 0 && strstr(e.msg, "no next"),
		   "a second commit refused: %s", e.msg);
		EVP_PKEY_free(nk);
	}
	ct_keyproc_stop(&kp);
	EVP_PKEY_free(k);
	k = ct_key_generate(CT_EC384, &e);
	xsnprintf(path, sizeof(path), "%s/p384.pem", dir);
	ct_key_save(path, k, 1, &e);
	EVP_PKEY_free(k);
	ok(ct_keyproc_start(&kp, path, 0, &e) < 0 && strstr(e.msg, "P-256"),
	   "a P-384 account key refused: %s", e.msg);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	xsnprintf(dir, sizeof(dir), "%s/certXXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 1;
	test_b64();
	test_thumbprint();
	test_es256_jws();
	test_key_files();
	test_csr_chain();
	test_keyproc();
	{
		char cmd[600];

		xsnprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			diag("could not remove %s", dir);
	}
	return done_testing();
}
