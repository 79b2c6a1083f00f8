/*
 * account_ops.c - what changes an account after it exists, besides the
 * key rollover (session.c): finishing a rollover that was interrupted,
 * deactivation, and the contact addresses (RFC 8555 sections 7.3.2,
 * 7.3.6, 7.3.5).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cert.h"

/* A POST to the account URL (payload NULL: POST-as-GET). */
static int
account_post(struct ct_session *s, const char *payload, struct sov_err *e)
{
	struct ct_resp r;

	if (ct_acme_post(&s->acme, s->acme.kid, payload, 0, &r, e) < 0)
		return -1;
	ct_resp_clear(&r);
	return 0;
}

int
ct_account_recover(struct ct_session *s, int *what, struct sov_err *e)
{
	char np[PATH_MAX];
	struct stat st;
	struct sov_err old = {0};

	*what = 0;
	if (ct_state_path(&s->st, "account/key.pem.new", np, sizeof(np), e) < 0)
		return -1;
	if (lstat(np, &st) < 0 && errno == ENOENT)
		return 0;
	/* the CA still knows the old key: the rollover never happened */
	if (account_post(s, NULL, &old) == 0) {
		if (unlink(np) < 0)
			return sov_err_sys(e, SOV_EXIT_FAIL, "remove %s", np);
		*what = 2;
		return 0;
	}
	if (old.code == SOV_EXIT_TEMPFAIL) {
		*e = old;
		return sov_err_prefix(e,
				      "%s is left from a key rollover, and "
				      "the CA could not be asked which key "
				      "it has: ",
				      np);
	}
	/* the CA took the new key before the old run could rename it */
	if (ct_keyproc_load_next(&s->kp, e) < 0)
		return sov_err_prefix(e, "%s: ", np);
	s->acme.signer = &s->kp.next;
	if (account_post(s, NULL, e) < 0) {
		s->acme.signer = &s->kp.signer;
		return sov_err_prefix(e,
				      "neither account/key.pem (%s) nor %s "
				      "is the account's key: ",
				      old.msg, np);
	}
	s->acme.signer = &s->kp.signer;
	if (ct_keyproc_commit(&s->kp, e) < 0)
		return sov_err_prefix(e, "the CA has %s, but: ", np);
	*what = 1;
	return 0;
}

int
ct_account_deactivate(struct ct_session *s, struct sov_err *e)
{
	if (account_post(s, "{\"status\":\"deactivated\"}", e) < 0)
		return sov_err_prefix(e, "deactivate: ");
	return 0;
}

int
ct_account_contact(struct ct_session *s, const char *const *emails, size_t n,
		   struct sov_err *e)
{
	jv c = jv_array(), p;
	int rc;

	for (size_t i = 0; i < n; i++) {
		char mail[CT_EMAIL_MAX + 8];
		int k = snprintf(mail, sizeof(mail), "mailto:%s", emails[i]);

		if (k < 0 || (size_t)k >= sizeof(mail)) {
			jv_free(c);
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "--contact: too long");
		}
		c = jv_array_append(c, jv_string(mail));
	}
	p = jv_dump_string(jv_object_set(jv_object(), jv_string("contact"), c),
			   0);
	rc = account_post(s, jv_string_value(p), e);
	jv_free(p);
	return rc < 0 ? sov_err_prefix(e, "contact: ") : 0;
}
