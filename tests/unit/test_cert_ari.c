/*
 * test_cert_ari.c - ACME Renewal Information (RFC 9773): the CertID
 * (against the RFC's example), the renewalInfo parser (every refusal says
 * what was wrong), the instant picked in a window, Retry-After clamping,
 * the record kept in meta.json and the due decisions, with short
 * lifetimes; and the directory's meta.profiles.
 */
#include <stdlib.h>
#include <string.h>

#include <jv.h>
#include <openssl/x509v3.h>

#include "ari.h"
#include "certs.h"
#include "tap.h"

#define DAY 86400

/* A bare certificate with this AKI keyIdentifier (hex, or NULL) and
 * serial (hex). Only what the CertID reads is filled. */
static EVP_PKEY *key;

static X509 *
cert_with(const char *aki_hex, const char *serial_hex)
{
	X509 *x = X509_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *sn = NULL;

	if (x == NULL || !BN_hex2bn(&bn, serial_hex) ||
	    (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    !X509_set_serialNumber(x, sn))
		goto fail;
	if (aki_hex != NULL) {
		AUTHORITY_KEYID *ak = AUTHORITY_KEYID_new();
		long len = 0;
		unsigned char *id = OPENSSL_hexstr2buf(aki_hex, &len);

		if (ak == NULL || id == NULL ||
		    (ak->keyid = ASN1_OCTET_STRING_new()) == NULL ||
		    !ASN1_OCTET_STRING_set(ak->keyid, id, (int)len) ||
		    !X509_add1_ext_i2d(x, NID_authority_key_identifier, ak, 0,
				       X509V3_ADD_DEFAULT)) {
			OPENSSL_free(id);
			AUTHORITY_KEYID_free(ak);
			goto fail;
		}
		OPENSSL_free(id);
		AUTHORITY_KEYID_free(ak);
	}
	/* whole and signed: OpenSSL reads extensions only of such */
	if (!X509_set_version(x, 2) ||
	    !X509_NAME_add_entry_by_txt(
		X509_get_subject_name(x), "CN", MBSTRING_ASC,
		(const unsigned char *)"t", -1, -1, 0) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 3600) ||
	    !X509_set_pubkey(x, key) || !X509_sign(x, key, EVP_sha256()))
		goto fail;
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	return x;
fail:
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	X509_free(x);
	return NULL;
}

static void
certid_is(const char *aki, const char *serial, const char *want,
	  const char *name)
{
	struct sov_err e = {0};
	X509 *x = cert_with(aki, serial);
	char *id = x != NULL ? ct_ari_certid(x, &e) : NULL;

	if (want == NULL) {
		ok(id == NULL && e.msg[0] != '\0', "%s: refused (%s)", name,
		   e.msg);
	} else {
		is_str(id, want, "%s", name);
	}
	free(id);
	X509_free(x);
}

static void
test_certid(void)
{
	struct sov_err e = {0};

	key = ct_key_generate(CT_EC256, &e);
	ok(key != NULL, "a key to sign the test certificates");
	/* RFC 9773 section 4.1's example */
	certid_is("69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4",
		  "87654321", "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
		  "the RFC's example: a serial with its high bit set gets 00");
	certid_is("0102", "7F", "AQI.fw", "a one-byte serial, no 00");
	certid_is("0102", "0100", "AQI.AQA", "a serial of two bytes");
	certid_is(NULL, "01", NULL, "no Authority Key Identifier");
	EVP_PKEY_free(key);
}

static jv
J(const char *s)
{
	return jv_parse(s);
}

static void
test_parse(void)
{
	struct sov_err e = {0};
	struct ct_ari r;

	ok(ct_ari_parse(J("{\"suggestedWindow\":{\"start\":"
			  "\"2025-01-02T04:00:00Z\",\"end\":"
			  "\"2025-01-03T04:00:00Z\"},\"explanationURL\":"
			  "\"https://acme.example.com/docs/ari\"}"),
			"ri", &r, &e) == 0,
	   "a window with an explanation");
	is_int(r.start, 1735790400, "start");
	is_int(r.end - r.start, DAY, "end");
	is_str(r.explanation, "https://acme.example.com/docs/ari",
	       "explanationURL");
	ct_ari_free(&r);
	ok(ct_ari_parse(J("{\"suggestedWindow\":{\"start\":"
			  "\"2025-01-02T04:00:00.5+02:00\",\"end\":"
			  "\"2025-01-02T04:00:01Z\"},\"explanationURL\":null,"
			  "\"other\":1}"),
			"ri", &r, &e) == 0 &&
	       r.explanation == NULL,
	   "an offset, fractions; explanationURL null; unknown members");
	ct_ari_free(&r);
	const char *want;
	static const char *bad[][2] = {
	    {"[]", "want a JSON object"},
	    {"{}", "suggestedWindow is missing or not an object"},
	    {"{\"suggestedWindow\":[1,2]}",
	     "suggestedWindow is missing or not an object"},
	    {"{\"suggestedWindow\":{\"end\":\"2025-01-02T04:00:00Z\"}}",
	     "suggestedWindow.start: want an RFC 3339 time"},
	    {"{\"suggestedWindow\":{\"start\":5,\"end\":"
	     "\"2025-01-02T04:00:00Z\"}}",
	     "suggestedWindow.start: want an RFC 3339 time"},
	    {"{\"suggestedWindow\":{\"start\":\"2025-01-02\",\"end\":"
	     "\"2025-01-02T04:00:00Z\"}}",
	     "suggestedWindow.start: not an RFC 3339 time"},
	    {"{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\","
	     "\"end\":\"2025-01-02T04:00:00Z\"}}",
	     "end is not after start"},
	    {"{\"suggestedWindow\":{\"start\":\"2025-01-03T04:00:00Z\","
	     "\"end\":\"2025-01-02T04:00:00Z\"}}",
	     "end is not after start"},
	    {"{\"suggestedWindow\":{\"start\":\"1969-12-31T23:59:59Z\","
	     "\"end\":\"2025-01-02T04:00:00Z\"}}",
	     "not an RFC 3339 time (at most 64 bytes, 1970 to 9999)"},
	    {"{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00."
	     "0000000000000000000000000000000000000000000000000000000000"
	     "Z\",\"end\":\"2026-01-02T04:00:00Z\"}}",
	     "not an RFC 3339 time"},
	    {"{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\\u0000"
	     "\",\"end\":\"2026-01-02T04:00:00Z\"}}",
	     "not an RFC 3339 time"},
	    {"{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\","
	     "\"end\":\"2026-01-02T04:00:00Z\"},\"explanationURL\":"
	     "\"javascript:x\"}",
	     "explanationURL is not an http(s) URL"},
	    {"{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\","
	     "\"end\":\"2026-01-02T04:00:00Z\"},\"explanationURL\":7}",
	     "explanationURL is not a string"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		memset(&r, 0xff, sizeof(r));
		ok(ct_ari_parse(J(bad[i][0]), "ri", &r, &e) < 0 &&
		       r.explanation == NULL && r.start == 0,
		   "refused, nothing kept: %s", bad[i][0]);
		/* (gcc -O1 with the sanitizers cannot see the table holds no
		 * NULL and refuses a %s of it) */
		want = bad[i][1] ? bad[i][1] : "";
		like(e.msg, want, "says: %s", want);
		is_int(e.code, SOV_EXIT_FAIL, "a failure, not usage");
	}
}

static void
test_pick_and_delay(void)
{
	int inside = 1, low = 0, high = 0;

	for (int i = 0; i < 2000; i++) {
		int64_t t = ct_ari_pick(1000, 1010);

		inside &= t >= 1000 && t <= 1010;
		low |= t == 1000;
		high |= t == 1010;
	}
	ok(inside && low && high, "instants in [start, end], both ends");
	is_int(ct_ari_pick(5, 5), 5, "an empty window: its start");
	ok(ct_ari_pick(0, (int64_t)1 << 40) <= (int64_t)1 << 40,
	   "a window wider than 32 bits");
	is_int(ct_ari_poll_delay(-1), CT_ARI_DEFAULT_POLL_S,
	       "no Retry-After: 6 h");
	is_int(ct_ari_poll_delay(0), CT_ARI_MIN_POLL_S, "0: a minute");
	is_int(ct_ari_poll_delay(3600000), 3600, "an hour");
	is_int(ct_ari_poll_delay(1500), CT_ARI_MIN_POLL_S, "1.5 s: a minute");
	is_int(ct_ari_poll_delay(30L * DAY * 1000), CT_ARI_MAX_POLL_S,
	       "a month: a week");
}

static void
test_record_and_due(void)
{
	struct ct_ari r = {.start = 1000 * DAY, .end = 1001 * DAY};
	struct ct_chain c;
	jv rec, again;

	memset(&c, 0, sizeof(c));
	rec = ct_ari_record(jv_null(), "AQI.fw", &r, 990 * DAY, 7200 * 1000);
	ok(ct_ari_time(rec, "renew_at") >= r.start &&
	       ct_ari_time(rec, "renew_at") <= r.end,
	   "an instant in the window");
	is_int(ct_ari_time(rec, "next_poll"), 990 * DAY + 7200,
	       "next poll after the Retry-After");
	is_int(ct_ari_time(rec, "window_start"), r.start, "window kept");
	ok(!ct_ari_poll_due(rec, 990 * DAY + 7199), "not asked before it");
	ok(ct_ari_poll_due(rec, 990 * DAY + 7200), "asked from then on");
	again = J("{\"cert_id\":\"x\"}");
	ok(ct_ari_poll_due(again, 0), "never asked: asked now");
	jv_free(again);
	ok(!ct_ari_poll_due(jv_null(), 0), "no ARI: never asked");
	{
		int moved = 0;

		for (int i = 0; i < 20; i++) { /* the same window again */
			again = ct_ari_record(jv_copy(rec), "AQI.fw", &r,
					      991 * DAY, -1);
			moved += ct_ari_time(again, "renew_at") !=
				 ct_ari_time(rec, "renew_at");
			jv_free(again);
		}
		is_int(moved, 0, "the instant is kept while the window stays");
	}
	r.end += DAY;
	again = ct_ari_record(jv_copy(rec), "AQI.fw", &r, 991 * DAY, -1);
	ok(ct_ari_time(again, "window_end") == r.end &&
	       ct_ari_time(again, "renew_at") >= r.start,
	   "a new window: picked again in it");
	jv_free(again);

	/* a 6-day certificate: due with 2 days left (a third), not before */
	c.not_before = 100 * DAY;
	c.not_after = 106 * DAY;
	ok(!ct_ari_due(jv_null(), &c, 104 * DAY - 1), "6 days: not due at 4");
	ok(ct_ari_due(jv_null(), &c, 104 * DAY), "6 days: due at 4");
	/* 45 and 64 days (Let's Encrypt's coming lifetimes) */
	c.not_after = 145 * DAY;
	ok(ct_ari_due(jv_null(), &c, 130 * DAY) &&
	       !ct_ari_due(jv_null(), &c, 130 * DAY - 1),
	   "45 days: due with 15 left");
	c.not_after = 164 * DAY;
	ok(!ct_ari_due(jv_null(), &c, 142 * DAY) &&
	       ct_ari_due(jv_null(), &c, 143 * DAY),
	   "64 days: due with 21 left");
	/* the window decides over the third */
	c.not_before = 990 * DAY;
	c.not_after = 1090 * DAY;
	ok(!ct_ari_due(rec, &c, r.start - 1), "before the window: not due");
	ok(ct_ari_due(rec, &c, r.end), "at its end: due");
	ok(ct_ari_due(rec, &c, 1090 * DAY), "expired: due whatever it says");
	jv_free(rec);
}

static void
test_profiles(void)
{
	struct sov_err e = {0};
	struct ct_dir d;
	char many[4096] = "{\"newNonce\":\"https://c/n\",\"newAccount\":"
			  "\"https://c/a\",\"newOrder\":\"https://c/o\","
			  "\"meta\":{\"profiles\":{";

	ok(ct_dir_parse(J("{\"newNonce\":\"https://c/n\",\"newAccount\":"
			  "\"https://c/a\",\"newOrder\":\"https://c/o\","
			  "\"meta\":{\"profiles\":{\"classic\":\"90 days\","
			  "\"shortlived\":\"6 days\"}}}"),
			"dir", &d, &e) == 0,
	   "a directory with profiles");
	is_int(d.nprofiles, 2, "two");
	ok(ct_dir_has_profile(&d, "shortlived") &&
	       ct_dir_has_profile(&d, "classic") &&
	       !ct_dir_has_profile(&d, "tiny"),
	   "offered and not");
	ct_dir_free(&d);
	ok(ct_dir_parse(J("{\"newNonce\":\"https://c/n\",\"newAccount\":"
			  "\"https://c/a\",\"newOrder\":\"https://c/o\"}"),
			"dir", &d, &e) == 0 &&
	       d.nprofiles == 0 && !ct_dir_has_profile(&d, "classic"),
	   "none: nothing offered");
	ct_dir_free(&d);
	ok(ct_dir_parse(J("{\"newNonce\":\"https://c/n\",\"newAccount\":"
			  "\"https://c/a\",\"newOrder\":\"https://c/o\","
			  "\"meta\":{\"profiles\":[\"a\"]}}"),
			"dir", &d, &e) < 0,
	   "profiles not an object: refused");
	like(e.msg, "meta.profiles is not an object", "says so");
	ok(ct_dir_parse(J("{\"newNonce\":\"https://c/n\",\"newAccount\":"
			  "\"https://c/a\",\"newOrder\":\"https://c/o\","
			  "\"meta\":{\"profiles\":{\"a b\":\"x\"}}}"),
			"dir", &d, &e) < 0,
	   "a bad name: refused");
	like(e.msg, "meta.profiles: a name that is not", "says so");
	for (int i = 0; i <= CT_PROFILES_MAX; i++) {
		size_t k = strlen(many);

		snprintf(many + k, sizeof(many) - k, "%s\"p%d\":\"\"",
			 i ? "," : "", i);
	}
	strcat(many, "}}}");
	ok(ct_dir_parse(J(many), "dir", &d, &e) < 0, "too many: refused");
	like(e.msg, "over 32 profiles", "says so");
	ok(ct_profile_ok("shortlived") && !ct_profile_ok("") &&
	       !ct_profile_ok("a/b") &&
	       !ct_profile_ok(
		   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		   "aaaaaaaaaaaaaaaa"),
	   "profile names");
}

int
main(void)
{
	test_certid();
	test_parse();
	test_pick_and_delay();
	test_record_and_due();
	test_profiles();
	return done_testing();
}
