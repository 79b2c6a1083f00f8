/*
 * session.c - common options; the session: state, key child, CA, account.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cert.h"
#include "cli.h"
#include "fs.h"
#include "jsonl.h"
#include "order.h"
#include "secret.h"
#include "timestamp.h"

void
ct_opts_init(struct ct_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->server = getenv("SOV_CERT_SERVER");
	if (o->server == NULL || o->server[0] == '\0')
		o->server = CT_DEFAULT_SERVER;
	o->timeout_s = CT_DEFAULT_TIMEOUT_S;
}

int
ct_opts_take(struct ct_opts *o, int c, const char *arg, struct sov_err *e)
{
	switch (c) {
	case CT_OPT_STATE:
		o->state = arg;
		return 1;
	case CT_OPT_SERVER:
		if (!ct_url_ok(arg))
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "--server: want an http(s) URL, "
					   "got \"%.100s\"",
					   arg);
		o->server = arg;
		o->server_given = 1;
		return 1;
	case CT_OPT_CA_FILE:
		o->ca_file = arg;
		return 1;
	case CT_OPT_TIMEOUT:
		return sov_cli_parse_long("--timeout", arg, 1, 86400,
					  &o->timeout_s, e) < 0
			   ? -1
			   : 1;
	case CT_OPT_EMAIL:
		if (strlen(arg) > CT_EMAIL_MAX || strchr(arg, '@') == NULL ||
		    strpbrk(arg, " ,:<>\"\r\n\t") != NULL)
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "--email: not an address: "
					   "\"%.100s\"",
					   arg);
		o->email = arg;
		return 1;
	case CT_OPT_AGREE_TOS:
		o->agree_tos = 1;
		return 1;
	case CT_OPT_EAB_KID:
		if (arg[0] == '\0' || strlen(arg) > CT_EAB_KID_MAX)
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "--eab-kid: 1 to %d bytes",
					   CT_EAB_KID_MAX);
		o->eab_kid = arg;
		return 1;
	case CT_OPT_EAB_HMAC_FILE:
		o->eab_hmac_file = arg;
		return 1;
	}
	return 0;
}

static jv
read_account(const struct ct_session *s, struct sov_err *e)
{
	char p[PATH_MAX], *buf = NULL;
	size_t len;
	jv v;

	if (ct_state_path(&s->st, "account/account.json", p, sizeof(p), e) < 0)
		return jv_invalid();
	if (access(p, F_OK) < 0 && errno == ENOENT)
		return jv_null();
	if (sov_file_read(p, CT_ACCOUNT_JSON_MAX, &buf, &len, e) < 0)
		return jv_invalid();
	v = sov_json_parse(buf, len, e);
	free(buf);
	if (!jv_is_valid(v))
		sov_err_prefix(e, "%s: ", p);
	return v;
}

/* The stored account URL, when it is for this server. */
static char *
stored_url(jv acct, const char *server)
{
	jv sv, url;
	char *out = NULL;

	if (jv_get_kind(acct) != JV_KIND_OBJECT)
		return NULL;
	sv = jv_object_get(jv_copy(acct), jv_string("server"));
	url = jv_object_get(jv_copy(acct), jv_string("url"));
	if (jv_get_kind(sv) == JV_KIND_STRING &&
	    jv_get_kind(url) == JV_KIND_STRING &&
	    strcmp(jv_string_value(sv), server) == 0 &&
	    ct_url_ok(jv_string_value(url)))
		out = strdup(jv_string_value(url));
	jv_free(sv);
	jv_free(url);
	return out;
}

/* The EAB object for newAccount, from --eab-kid and --eab-hmac-file. */
static int
eab_binding(struct ct_session *s, const struct ct_opts *o, jv *out,
	    struct sov_err *e)
{
	struct sov_secret sec = {0};
	unsigned char *key = NULL;
	size_t klen = 0;
	int rc = -1;

	*out = jv_invalid();
	if (sov_secret_load(o->eab_hmac_file, "eab-hmac", &sec, e) < 0)
		return -1;
	if (ct_b64url_decode((const char *)sec.data, sec.len, &key, &klen) <
		0 ||
	    klen < 16) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "%s: want the MAC key in base64url (16 bytes or "
			    "more)",
			    o->eab_hmac_file);
		goto out;
	}
	rc = ct_eab_jws(o->eab_kid, key, klen, s->acme.dir.new_account,
			s->kp.signer.jwk, out, e);
out:
	if (key != NULL) {
		sodium_memzero(key, klen);
		free(key);
	}
	sov_secret_wipe(&sec);
	return rc;
}

static int
new_account(struct ct_session *s, const struct ct_opts *o, struct sov_err *e)
{
	jv p = jv_object(), dumped, acct;
	struct ct_resp r;
	char path[PATH_MAX], ts[SOV_TIME_RFC3339_LEN];
	int rc = -1;

	memset(&r, 0, sizeof(r));
	r.body = jv_null();
	if (s->acme.dir.eab_required && o->agree_tos && o->eab_kid == NULL) {
		jv_free(p);
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "%s requires External Account Binding: "
				   "give --eab-kid and --eab-hmac-file",
				   o->server);
	}
	if (o->agree_tos && o->eab_kid != NULL) {
		jv eab;

		if (eab_binding(s, o, &eab, e) < 0) {
			jv_free(p);
			return -1;
		}
		p = jv_object_set(p, jv_string("externalAccountBinding"), eab);
	}
	if (o->agree_tos) {
		p = jv_object_set(p, jv_string("termsOfServiceAgreed"),
				  jv_true());
		if (o->email != NULL) {
			char mail[CT_EMAIL_MAX + 8];

			int n =
			    snprintf(mail, sizeof(mail), "mailto:%s", o->email);

			if (n < 0 || (size_t)n >= sizeof(mail)) {
				jv_free(p);
				return sov_err_set(e, SOV_EXIT_USAGE,
						   "--email: too long");
			}
			p = jv_object_set(p, jv_string("contact"),
					  JV_ARRAY(jv_string(mail)));
		}
	} else {
		p = jv_object_set(p, jv_string("onlyReturnExisting"),
				  jv_true());
	}
	dumped = jv_dump_string(p, 0);
	if (ct_acme_post(&s->acme, s->acme.dir.new_account,
			 jv_string_value(dumped), 0, &r, e) < 0) {
		if (!o->agree_tos)
			sov_err_prefix(e,
				       "no account for this key at %s (run "
				       "sov-cert account --agree-tos): ",
				       o->server);
		goto out;
	}
	if (r.location == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "newAccount: no Location");
		goto out;
	}
	s->account_created = r.status == 201;
	s->acme.kid = strdup(r.location);
	sov_time_format(sov_time_now_ms(), ts);
	acct = jv_object();
	acct = jv_object_set(acct, jv_string("server"), jv_string(o->server));
	acct = jv_object_set(acct, jv_string("url"), jv_string(r.location));
	acct = jv_object_set(acct, jv_string("created"), jv_string(ts));
	if (o->email != NULL)
		acct = jv_object_set(acct, jv_string("email"),
				     jv_string(o->email));
	jv_free(dumped);
	dumped = jv_dump_string(acct, 0);
	if (s->acme.kid == NULL ||
	    ct_state_path(&s->st, "account/account.json", path, sizeof(path),
			  e) < 0 ||
	    sov_file_write_atomic(
		path, jv_string_value(dumped),
		(size_t)jv_string_length_bytes(jv_copy(dumped)), 0600, e) < 0)
		goto out;
	rc = 0;
out:
	jv_free(dumped);
	ct_resp_clear(&r);
	return rc;
}

int
ct_session_open(struct ct_session *s, const struct ct_opts *o,
		struct sov_err *e)
{
	char key[PATH_MAX];
	struct stat st;
	jv acct = jv_invalid();
	int rc = -1;

	memset(s, 0, sizeof(*s));
	s->st.lockfd = -1;
	s->kp.fd = -1;
	if (ct_state_open(o->state, 1, &s->st, e) < 0 ||
	    ct_state_path(&s->st, "account/key.pem", key, sizeof(key), e) < 0)
		goto out;
	if (!o->agree_tos && lstat(key, &st) < 0 && errno == ENOENT) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "no account in %s: run sov-cert account "
			    "--agree-tos [--email ADDR] first",
			    s->st.root);
		goto out;
	}
	acct = read_account(s, e);
	if (!jv_is_valid(acct))
		goto out;
	/* fork before libcurl exists: the child has only its socket */
	if (ct_keyproc_start(&s->kp, key, o->agree_tos, e) < 0)
		goto out;
	if (ct_acme_open(&s->acme, o->server, o->ca_file, 30000, &s->kp.signer,
			 e) < 0)
		goto out;
	s->acme.kid = stored_url(acct, o->server);
	if (s->acme.kid != NULL) {
		int what;

		if (ct_account_recover(s, &what, e) < 0)
			goto out;
		if (what == 1)
			sov_cli_warn("finished a key rollover that was "
				     "interrupted: account/key.pem.new is "
				     "the account key now");
		else if (what == 2)
			sov_cli_warn("removed account/key.pem.new, left by a "
				     "key rollover the CA never took");
	}
	if (s->acme.kid == NULL && new_account(s, o, e) < 0)
		goto out;
	rc = 0;
out:
	jv_free(acct);
	if (rc < 0)
		ct_session_close(s);
	return rc;
}

void
ct_session_close(struct ct_session *s)
{
	ct_acme_close(&s->acme);
	if (s->kp.pid > 0 || s->kp.fd >= 0)
		ct_keyproc_stop(&s->kp);
	ct_state_close(&s->st);
}

int
ct_account_show(struct ct_session *s, jv *rec, struct sov_err *e)
{
	struct ct_resp r;
	jv v;

	*rec = jv_invalid();
	if (ct_acme_post(&s->acme, s->acme.kid, NULL, 0, &r, e) < 0)
		return -1;
	if (jv_get_kind(r.body) != JV_KIND_OBJECT) {
		ct_resp_clear(&r);
		return sov_err_set(e, SOV_EXIT_FAIL, "%s: not an account",
				   s->acme.kid);
	}
	*rec = sov_record_new("account");
	*rec =
	    jv_object_set(*rec, jv_string("server"), jv_string(s->acme.server));
	*rec = jv_object_set(*rec, jv_string("url"), jv_string(s->acme.kid));
	v = jv_object_get(jv_copy(r.body), jv_string("status"));
	*rec = jv_object_set(*rec, jv_string("status"),
			     jv_get_kind(v) == JV_KIND_STRING ? v : jv_null());
	if (jv_get_kind(v) != JV_KIND_STRING)
		jv_free(v);
	v = jv_object_get(jv_copy(r.body), jv_string("contact"));
	*rec = jv_object_set(*rec, jv_string("contact"),
			     jv_get_kind(v) == JV_KIND_ARRAY ? v : jv_array());
	if (jv_get_kind(v) != JV_KIND_ARRAY)
		jv_free(v);
	*rec = jv_object_set(*rec, jv_string("created"),
			     jv_bool(s->account_created));
	*rec = jv_object_set(*rec, jv_string("thumbprint"),
			     jv_string(s->kp.signer.thumb));
	ct_resp_clear(&r);
	return 0;
}

int
ct_account_rollover(struct ct_session *s, struct sov_err *e)
{
	jv p = jv_invalid(), old;
	char *inner = NULL;
	struct ct_resp r;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	r.body = jv_null();
	if (s->acme.dir.key_change == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "%s offers no keyChange",
				   s->acme.server);
	old = jv_parse(s->kp.signer.jwk);
	if (!jv_is_valid(old)) {
		jv_free(old);
		return sov_err_set(e, SOV_EXIT_FAIL, "the account JWK");
	}
	if (ct_keyproc_next(&s->kp, e) < 0) {
		jv_free(old);
		return -1;
	}
	p = jv_object_set(jv_object(), jv_string("account"),
			  jv_string(s->acme.kid));
	p = jv_object_set(p, jv_string("oldKey"), old);
	p = jv_dump_string(p, 0);
	if (ct_jws(&s->kp.next, s->acme.dir.key_change, NULL, NULL,
		   jv_string_value(p), &inner, e) < 0)
		goto out;
	if (ct_acme_post(&s->acme, s->acme.dir.key_change, inner, 0, &r, e) <
	    0) {
		sov_err_prefix(e, "keyChange: ");
		goto out;
	}
	ct_crash_point("rolled"); /* the CA has the new key; key.pem is old */
	if (ct_keyproc_commit(&s->kp, e) < 0) {
		sov_err_prefix(e, "the CA has the new key, but: ");
		goto out;
	}
	rc = 0;
out:
	ct_resp_clear(&r);
	free(inner);
	jv_free(p);
	return rc;
}
