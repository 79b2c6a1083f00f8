/*
 * cmd_revoke.c - `sov-cert revoke NAME [--reason N]`: revoke the installed
 * certificate NAME with the account key (RFC 8555 section 7.6), then mark
 * its meta.json "revoked", so that list shows it and renew replaces it on
 * its next run whether or not it is due. The files stay where they are (a
 * server keeps serving until the new one is installed). --with-cert-key:
 * the request is signed with the certificate's own key (an ec256 one) and
 * carries its JWK instead of the account (RFC 8555 section 7.6, for a key
 * that leaked, or an account that is lost): no key child, no account.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "cert.h"
#include "certs.h"
#include "cli.h"
#include "fs.h"
#include "jsonl.h"
#include "timestamp.h"

/*
 * POST revokeCert signed with certs/NAME/key.pem and its JWK (no kid): a
 * client of its own, no key child and no account (st is locked).
 */
static int
post_with_cert_key(const struct ct_state *st, const struct ct_opts *o,
		   const char *name, const char *p, struct sov_err *e)
{
	char rel[CT_CERT_NAME_MAX + 32], path[PATH_MAX];
	struct ct_signer local;
	struct ct_acme acme;
	struct ct_resp r;
	EVP_PKEY *k = NULL;
	int n = snprintf(rel, sizeof(rel), "certs/%s/key.pem", name), rc = -1;

	memset(&local, 0, sizeof(local));
	memset(&acme, 0, sizeof(acme));
	if (n < 0 || (size_t)n >= sizeof(rel) ||
	    ct_state_path(st, rel, path, sizeof(path), e) < 0 ||
	    (k = ct_key_load(path, e)) == NULL)
		goto out;
	if (!EVP_PKEY_is_a(k, "EC") || EVP_PKEY_get_bits(k) != 256) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "--with-cert-key: %s is not an ec256 key (only "
			    "ES256 is spoken); revoke with the account key",
			    path);
		goto out;
	}
	if (ct_signer_local(&local, k, e) < 0 ||
	    ct_acme_open(&acme, o->server, o->ca_file, 30000, &local, e) < 0)
		goto out;
	if (acme.dir.revoke_cert == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s offers no revokeCert",
			    o->server);
		goto out;
	}
	/* no kid: the JWS carries the certificate key's jwk */
	if (ct_acme_post(&acme, acme.dir.revoke_cert, p, 0, &r, e) < 0)
		goto out;
	ct_resp_clear(&r);
	rc = 0;
out:
	ct_acme_close(&acme);
	ct_signer_clear(&local);
	EVP_PKEY_free(k);
	return rc;
}

/* The payload: {"certificate": base64url(DER of the leaf), "reason"}. */
static int
payload(const struct ct_chain *c, long reason, jv *out, struct sov_err *e)
{
	unsigned char *der = NULL;
	char *b64;
	int n = i2d_X509(sk_X509_value(c->certs, 0), &der);
	jv p;

	*out = jv_invalid();
	if (n <= 0)
		return sov_err_set(e, SOV_EXIT_FAIL, "encode the certificate");
	b64 = ct_b64url(der, (size_t)n);
	OPENSSL_free(der);
	if (b64 == NULL)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
	p = jv_object_set(jv_object(), jv_string("certificate"),
			  jv_string(b64));
	free(b64);
	if (reason >= 0)
		p = jv_object_set(p, jv_string("reason"),
				  jv_number((double)reason));
	*out = jv_dump_string(p, 0);
	return 0;
}

static int
mark_revoked(const struct ct_state *st, const char *name, struct sov_err *e)
{
	char rel[CT_CERT_NAME_MAX + 32], p[PATH_MAX], ts[SOV_TIME_RFC3339_LEN];
	jv meta = ct_state_meta(st, name, e), text;
	int n = snprintf(rel, sizeof(rel), "certs/%s/meta.json", name), rc;

	if (!jv_is_valid(meta))
		return -1;
	if (n < 0 || (size_t)n >= sizeof(rel) ||
	    ct_state_path(st, rel, p, sizeof(p), e) < 0) {
		jv_free(meta);
		return sov_err_set(e, SOV_EXIT_USAGE, "%s: too long", name);
	}
	sov_time_format(sov_time_now_ms(), ts);
	meta = jv_object_set(meta, jv_string("revoked"), jv_string(ts));
	text = jv_dump_string(meta, 0);
	rc = sov_file_write_atomic(
	    p, jv_string_value(text),
	    (size_t)jv_string_length_bytes(jv_copy(text)), 0644, e);
	jv_free(text);
	return rc;
}

int
ct_cmd_revoke(int argc, char **argv)
{
	enum { O_REASON = CT_OPT_FIRST_OWN, O_CERT_KEY };
	static const struct option lo[] = {
	    CT_COMMON_OPTIONS,
	    {"reason", required_argument, NULL, O_REASON},
	    {"with-cert-key", no_argument, NULL, O_CERT_KEY},
	    {NULL, 0, NULL, 0}};
	int cert_key = 0;
	struct ct_session s;
	struct ct_state st;
	struct ct_opts o;
	struct ct_chain c;
	struct ct_resp r;
	struct sov_err e = {0};
	struct sov_jsonl_writer *w = NULL;
	const char *name, *server;
	long reason = -1;
	int ch, k, session = 0, rc = SOV_EXIT_USAGE;
	jv meta = jv_invalid(), p = jv_invalid(), rec;

	memset(&c, 0, sizeof(c));
	ct_opts_init(&o);
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if ((k = ct_opts_take(&o, ch, optarg, &e)) < 0)
			return sov_cli_fail(&e);
		if (k > 0)
			continue;
		if (ch == O_CERT_KEY) {
			cert_key = 1;
			continue;
		}
		if (ch != O_REASON)
			return SOV_EXIT_USAGE;
		/* RFC 5280 CRLReason; 7 is not used */
		if (sov_cli_parse_long("--reason", optarg, 0, 10, &reason, &e) <
		    0)
			return sov_cli_fail(&e);
		if (reason == 7)
			return sov_cli_usage_error("--reason: 7 is unused");
	}
	if (optind != argc - 1 || !ct_cert_name_ok(argv[optind]))
		return sov_cli_usage_error("revoke: name one certificate");
	name = argv[optind];
	/* with the certificate key there is no session: lock here */
	if (ct_state_open(o.state, cert_key, &st, &e) < 0 ||
	    ct_certs_load(&st, name, &c, &e) < 0)
		goto fail;
	meta = ct_state_meta(&st, name, &e);
	if (!jv_is_valid(meta))
		goto fail;
	server = NULL;
	{
		jv sv = jv_object_get(jv_copy(meta), jv_string("server"));

		if (!o.server_given && jv_get_kind(sv) == JV_KIND_STRING &&
		    ct_url_ok(jv_string_value(sv)))
			server = jv_string_value(sv); /* meta holds it */
		jv_free(sv);
	}
	if (server != NULL)
		o.server = server;
	if (payload(&c, reason, &p, &e) < 0)
		goto fail;
	if (cert_key) {
		if (post_with_cert_key(&st, &o, name, jv_string_value(p), &e) <
		    0)
			goto fail;
	} else {
		if (ct_session_open(&s, &o, &e) < 0)
			goto fail;
		session = 1;
		if (s.acme.dir.revoke_cert == NULL) {
			sov_err_set(&e, SOV_EXIT_FAIL,
				    "%s offers no revokeCert", o.server);
			goto fail;
		}
		if (ct_acme_post(&s.acme, s.acme.dir.revoke_cert,
				 jv_string_value(p), 0, &r, &e) < 0)
			goto fail;
		ct_resp_clear(&r);
	}
	if (mark_revoked(session ? &s.st : &st, name, &e) < 0) {
		sov_err_prefix(&e, "revoked, but ");
		goto fail;
	}
	w = sov_jsonl_writer_new(stdout, "stdout", 0);
	if (w == NULL)
		goto fail;
	rec = sov_record_new("revoked");
	rec = jv_object_set(rec, jv_string("name"), jv_string(name));
	rec = jv_object_set(rec, jv_string("serial"), jv_string(c.serial));
	rec =
	    jv_object_set(rec, jv_string("reason"),
			  reason >= 0 ? jv_number((double)reason) : jv_null());
	rec =
	    jv_object_set(rec, jv_string("signed_with"),
			  jv_string(cert_key ? "certificate key" : "account"));
	if (sov_jsonl_write(w, rec, &e) < 0 ||
	    sov_jsonl_writer_close(w, &e) < 0) {
		w = NULL;
		goto fail;
	}
	w = NULL;
	rc = SOV_EXIT_OK;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	if (session)
		ct_session_close(&s);
	ct_state_close(&st); /* the lock, with --with-cert-key */
	sov_jsonl_writer_close(w, NULL);
	ct_chain_free(&c);
	jv_free(meta);
	jv_free(p);
	return rc;
}
