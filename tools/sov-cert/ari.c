/*
 * ari.c - ACME Renewal Information (RFC 9773); see ari.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>
#include <sodium.h>

#include "ari.h"
#include "certs.h"
#include "jsonl.h"
#include "timestamp.h"

/* The content octets of the serial's DER INTEGER (after tag and length). */
static unsigned char *
serial_octets(X509 *leaf, size_t *len)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(leaf);
	unsigned char *der = NULL, *out = NULL;
	int n = sn != NULL ? i2d_ASN1_INTEGER(sn, &der) : -1;
	size_t hdr = 2;

	if (n < 3 || der[0] != 0x02)
		goto out;
	if (der[1] & 0x80) { /* long form: 0x8N and N length bytes */
		hdr += der[1] & 0x7f;
		if ((der[1] & 0x7f) > 2 || hdr >= (size_t)n)
			goto out;
	}
	*len = (size_t)n - hdr;
	out = malloc(*len);
	if (out != NULL)
		memcpy(out, der + hdr, *len);
out:
	OPENSSL_free(der);
	return out;
}

char *
ct_ari_certid(X509 *leaf, struct sov_err *e)
{
	const ASN1_OCTET_STRING *kid = X509_get0_authority_key_id(leaf);
	unsigned char *ser = NULL;
	size_t slen = 0;
	char *a = NULL, *b = NULL, *out = NULL;

	if (kid == NULL || ASN1_STRING_length(kid) < 1 ||
	    ASN1_STRING_length(kid) > 64) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "the certificate has no Authority Key Identifier "
			    "keyIdentifier (1 to 64 bytes): no ARI CertID");
		return NULL;
	}
	ser = serial_octets(leaf, &slen);
	if (ser == NULL || slen < 1 || slen > 21) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "the certificate's serial number: no ARI CertID");
		goto out;
	}
	a = ct_b64url(ASN1_STRING_get0_data(kid),
		      (size_t)ASN1_STRING_length(kid));
	b = ct_b64url(ser, slen);
	if (a == NULL || b == NULL ||
	    (out = malloc(strlen(a) + strlen(b) + 2)) == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	memcpy(out, a, strlen(a));
	out[strlen(a)] = '.';
	memcpy(out + strlen(a) + 1, b, strlen(b) + 1);
out:
	free(ser);
	free(a);
	free(b);
	return out;
}

void
ct_ari_free(struct ct_ari *r)
{
	free(r->explanation);
	memset(r, 0, sizeof(*r));
}

/* o[key] as an RFC 3339 time in seconds. Does not consume o. */
static int
get_time(jv o, const char *key, int64_t *out, const char *what,
	 struct sov_err *e)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));
	struct sov_err pe = {0};
	int64_t ms;
	int rc = -1;

	if (jv_get_kind(v) != JV_KIND_STRING) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: suggestedWindow.%s: want an RFC 3339 time",
			    what, key);
		goto out;
	}
	if (jv_string_length_bytes(jv_copy(v)) > CT_ARI_TIME_MAX ||
	    strlen(jv_string_value(v)) !=
		(size_t)jv_string_length_bytes(jv_copy(v)) ||
	    sov_time_parse(jv_string_value(v), &ms, &pe) < 0 || ms < 0 ||
	    ms > (int64_t)253402300799000) { /* 9999-12-31T23:59:59Z */
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: suggestedWindow.%s: not an RFC 3339 time "
			    "(at most %d bytes, 1970 to 9999)",
			    what, key, CT_ARI_TIME_MAX);
		goto out;
	}
	*out = ms / 1000;
	rc = 0;
out:
	jv_free(v);
	return rc;
}

int
ct_ari_parse(jv v, const char *what, struct ct_ari *r, struct sov_err *e)
{
	jv w = jv_invalid(), x = jv_invalid();
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: want a JSON object", what);
		goto out;
	}
	w = jv_object_get(jv_copy(v), jv_string("suggestedWindow"));
	if (jv_get_kind(w) != JV_KIND_OBJECT) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: suggestedWindow is missing or not an object",
			    what);
		goto out;
	}
	if (get_time(w, "start", &r->start, what, e) < 0 ||
	    get_time(w, "end", &r->end, what, e) < 0)
		goto out;
	if (r->end <= r->start) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: suggestedWindow: end is not after start",
			    what);
		goto out;
	}
	x = jv_object_get(jv_copy(v), jv_string("explanationURL"));
	if (jv_get_kind(x) == JV_KIND_STRING) {
		if (!ct_url_ok(jv_string_value(x)) ||
		    strlen(jv_string_value(x)) !=
			(size_t)jv_string_length_bytes(jv_copy(x))) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: explanationURL is not an http(s) URL",
				    what);
			goto out;
		}
		r->explanation = strdup(jv_string_value(x));
		if (r->explanation == NULL) {
			sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
			goto out;
		}
	} else if (jv_get_kind(x) != JV_KIND_INVALID &&
		   jv_get_kind(x) != JV_KIND_NULL) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: explanationURL is not a string", what);
		goto out;
	}
	rc = 0;
out:
	jv_free(x);
	jv_free(w);
	jv_free(v);
	if (rc < 0)
		ct_ari_free(r);
	return rc;
}

int64_t
ct_ari_pick(int64_t start, int64_t end)
{
	uint64_t span = end > start ? (uint64_t)(end - start) : 0, r;

	if (span == 0)
		return start;
	if (span < UINT32_MAX)
		return start + (int64_t)randombytes_uniform((uint32_t)span + 1);
	randombytes_buf(&r, sizeof(r));
	return start + (int64_t)(r % (span + 1));
}

int64_t
ct_ari_poll_delay(long retry_after_ms)
{
	int64_t s = retry_after_ms < 0 ? CT_ARI_DEFAULT_POLL_S
				       : ((int64_t)retry_after_ms + 999) / 1000;

	if (s < CT_ARI_MIN_POLL_S)
		s = CT_ARI_MIN_POLL_S;
	if (s > CT_ARI_MAX_POLL_S)
		s = CT_ARI_MAX_POLL_S;
	return s;
}

int
ct_ari_fetch(struct ct_acme *a, const char *cert_id, struct ct_ari *r,
	     long *retry_after_ms, struct sov_err *e)
{
	struct sov_http_resp hr = {0};
	const char *base = a->dir.renewal_info;
	char url[CT_URL_MAX + CT_ARI_CERTID_MAX + 2];
	jv v = jv_invalid();
	int n, rc = -1;

	memset(r, 0, sizeof(*r));
	*retry_after_ms = -1;
	hr.headers = jv_invalid();
	if (base == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "%s offers no renewalInfo",
				   a->server);
	if (strlen(cert_id) > CT_ARI_CERTID_MAX)
		return sov_err_set(e, SOV_EXIT_FAIL, "ARI CertID too long");
	n = snprintf(url, sizeof(url), "%s%s%s", base,
		     base[strlen(base) - 1] == '/' ? "" : "/", cert_id);
	if (n < 0 || (size_t)n >= sizeof(url))
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "renewalInfo URL too long");
	a->requests++;
	if (sov_http_request(a->http, "GET", url, NULL, NULL, 0, &hr, e) < 0 &&
	    hr.status == 0) {
		sov_err_prefix(e, "renewalInfo: ");
		goto out;
	}
	if (hr.status != 200) {
		jv prob = jv_null();
		struct sov_err pe = {0};

		if (hr.body != NULL && hr.len > 0)
			prob = sov_json_parse(hr.body, hr.len, &pe);
		if (!jv_is_valid(prob)) {
			jv_free(prob);
			prob = jv_null();
		}
		ct_problem_err(prob, url, hr.status, hr.retry_after_ms, e);
		sov_err_prefix(e, "renewalInfo: ");
		goto out;
	}
	v = sov_json_parse(hr.body != NULL ? hr.body : "", hr.len, e);
	if (!jv_is_valid(v)) {
		e->code = SOV_EXIT_FAIL;
		sov_err_prefix(e, "renewalInfo: %s: ", url);
		goto out;
	}
	*retry_after_ms = hr.retry_after_ms;
	rc = ct_ari_parse(v, url, r, e);
	v = jv_invalid();
	if (rc < 0)
		sov_err_prefix(e, "renewalInfo: ");
out:
	jv_free(v);
	sov_http_resp_clear(&hr);
	return rc;
}

static jv
time_str(int64_t secs)
{
	char buf[SOV_TIME_RFC3339_LEN];

	sov_time_format(secs * 1000, buf);
	return jv_string(buf);
}

int64_t
ct_ari_time(jv ari, const char *key)
{
	struct sov_err e = {0};
	jv v;
	int64_t ms = -1;

	if (jv_get_kind(ari) != JV_KIND_OBJECT)
		return -1;
	v = jv_object_get(jv_copy(ari), jv_string(key));
	if (jv_get_kind(v) != JV_KIND_STRING ||
	    jv_string_length_bytes(jv_copy(v)) > CT_ARI_TIME_MAX ||
	    sov_time_parse(jv_string_value(v), &ms, &e) < 0 || ms < 0)
		ms = -1;
	jv_free(v);
	return ms < 0 ? -1 : ms / 1000;
}

jv
ct_ari_record(jv old, const char *cert_id, const struct ct_ari *r, int64_t now,
	      long retry_after_ms)
{
	int64_t at = ct_ari_time(old, "renew_at");
	jv rec = jv_object();

	/* the same window as before: keep the instant picked in it */
	if (at < r->start || at > r->end ||
	    ct_ari_time(old, "window_start") != r->start ||
	    ct_ari_time(old, "window_end") != r->end)
		at = ct_ari_pick(r->start, r->end);
	jv_free(old);
	rec = jv_object_set(rec, jv_string("cert_id"), jv_string(cert_id));
	rec = jv_object_set(rec, jv_string("window_start"), time_str(r->start));
	rec = jv_object_set(rec, jv_string("window_end"), time_str(r->end));
	rec = jv_object_set(rec, jv_string("renew_at"), time_str(at));
	rec = jv_object_set(rec, jv_string("checked"), time_str(now));
	rec = jv_object_set(rec, jv_string("next_poll"),
			    time_str(now + ct_ari_poll_delay(retry_after_ms)));
	if (r->explanation != NULL)
		rec = jv_object_set(rec, jv_string("explanation_url"),
				    jv_string(r->explanation));
	return rec;
}

int
ct_ari_due(jv ari, const struct ct_chain *c, int64_t now)
{
	int64_t at = ct_ari_time(ari, "renew_at");

	if (at < 0)
		return ct_certs_due(c, now);
	return now >= at || now >= c->not_after;
}

int
ct_ari_poll_due(jv ari, int64_t now)
{
	jv id;
	int yes;

	if (jv_get_kind(ari) != JV_KIND_OBJECT)
		return 0;
	id = jv_object_get(jv_copy(ari), jv_string("cert_id"));
	yes = jv_get_kind(id) == JV_KIND_STRING;
	jv_free(id);
	return yes && (ct_ari_time(ari, "next_poll") < 0 ||
		       now >= ct_ari_time(ari, "next_poll"));
}
