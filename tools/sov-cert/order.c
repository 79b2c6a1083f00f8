/*
 * order.c - newOrder, authorizations, challenges, finalize, download.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jws.h"
#include "order.h"
#include "timestamp.h"

void
ct_crash_point(const char *point)
{
	const char *want = getenv("SOV_CERT_TEST_CRASH");

	if (want != NULL && strcmp(want, point) == 0)
		raise(SIGKILL);
}

/* Wait before poll number attempt; -1 when the deadline would pass. */
static int
poll_wait(long retry_after_ms, int attempt, int64_t deadline, const char *what,
	  struct sov_err *e)
{
	long ms = retry_after_ms >= 0 ? retry_after_ms
				      : 100L << (attempt < 5 ? attempt : 5);

	if (ms > CT_POLL_MAX_MS)
		ms = CT_POLL_MAX_MS;
	if (sov_time_mono_ms() + ms > deadline)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL,
				   "%s: still not done at the deadline "
				   "(--timeout)",
				   what);
	nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
	return 0;
}

/* POST newOrder with the payload p (consumed). */
static int
post_order(struct ct_acme *a, jv p, struct ct_resp *r, struct sov_err *e)
{
	jv d = jv_dump_string(p, 0);
	int rc = ct_acme_post(a, a->dir.new_order, jv_string_value(d), 0, r, e);

	jv_free(d);
	return rc;
}

static int
new_order(struct ct_acme *a, const struct ct_issue *req, struct ct_order *o,
	  char **url, struct sov_err *e)
{
	jv ids = jv_array(), p;
	struct ct_resp r;
	int rc = -1;

	for (size_t i = 0; i < req->ndomains; i++) {
		jv id = jv_object();

		id = jv_object_set(id, jv_string("type"), jv_string("dns"));
		id = jv_object_set(id, jv_string("value"),
				   jv_string(req->domains[i]));
		ids = jv_array_append(ids, id);
	}
	p = jv_object_set(jv_object(), jv_string("identifiers"), ids);
	if (req->profile != NULL)
		p = jv_object_set(p, jv_string("profile"),
				  jv_string(req->profile));
	if (req->replaces != NULL) {
		rc = post_order(a,
				jv_object_set(jv_copy(p), jv_string("replaces"),
					      jv_string(req->replaces)),
				&r, e);
		/* the CA will not have that one replaced (twice, or not
		 * ours): an order without "replaces" is still a renewal */
		if (rc < 0 && strstr(e->msg, CT_ERR_ALREADY_REPLACED) != NULL) {
			sov_err_clear(e);
			rc = post_order(a, jv_copy(p), &r, e);
		}
	} else {
		rc = post_order(a, jv_copy(p), &r, e);
	}
	if (rc < 0)
		goto out;
	rc = -1;
	if (r.location == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "newOrder: no Location");
		goto out;
	}
	if (ct_order_parse(jv_copy(r.body), r.location, o, e) < 0)
		goto out;
	*url = r.location;
	r.location = NULL;
	rc = 0;
out:
	jv_free(p);
	ct_resp_clear(&r);
	return rc;
}

static int
get_authz(struct ct_acme *a, const char *url, struct ct_authz *az,
	  long *retry_after, struct sov_err *e)
{
	struct ct_resp r;
	int rc;

	if (ct_acme_post(a, url, NULL, 0, &r, e) < 0)
		return -1;
	*retry_after = r.retry_after_ms;
	rc = ct_authz_parse(jv_copy(r.body), url, az, e);
	ct_resp_clear(&r);
	return rc;
}

static int
get_order(struct ct_acme *a, const char *url, struct ct_order *o,
	  long *retry_after, struct sov_err *e)
{
	struct ct_resp r;
	int rc;

	if (ct_acme_post(a, url, NULL, 0, &r, e) < 0)
		return -1;
	*retry_after = r.retry_after_ms;
	rc = ct_order_parse(jv_copy(r.body), url, o, e);
	ct_resp_clear(&r);
	return rc;
}

static int
authz_failed(struct ct_authz *az, const char *url, struct sov_err *e)
{
	char what[CT_URL_MAX + 300];
	int n = snprintf(what, sizeof(what), "%s: authorization of %s", url,
			 az->domain);

	if (n < 0 || (size_t)n >= sizeof(what))
		return sov_err_set(e, SOV_EXIT_FAIL, "authorization invalid");
	ct_problem_err(jv_copy(az->error), what, 0, -1, e);
	if (e->code == SOV_EXIT_OK)
		e->code = SOV_EXIT_FAIL;
	return -1;
}

/* Publish the answer for one authorization; *chal_url gets the challenge
 * to trigger (NULL when the authorization is valid already). */
static int
prepare(struct ct_acme *a, const struct ct_issue *req, const char *url,
	char **chal_url, struct sov_err *e)
{
	const char *want = ct_chal_type_name(req->chal->type);
	struct ct_authz az;
	struct ct_challenge *ch = NULL;
	char *ka = NULL;
	long ra;
	int rc = -1;

	*chal_url = NULL;
	if (get_authz(a, url, &az, &ra, e) < 0)
		return -1;
	if (az.status == CT_ST_VALID) {
		rc = 0;
		goto out;
	}
	if (az.status == CT_ST_INVALID) {
		authz_failed(&az, url, e);
		goto out;
	}
	for (size_t i = 0; i < az.nchals; i++)
		if (strcmp(az.chals[i].type, want) == 0)
			ch = &az.chals[i];
	if (ch == NULL || ch->token == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: the CA offers no %s "
			    "challenge for %s",
			    url, want, az.domain);
		goto out;
	}
	ka = ct_key_authz(ch->token, a->signer->thumb);
	if (ka == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: bad challenge token", url);
		goto out;
	}
	if (ct_chal_add(req->chal, az.domain, ch->token, ka, e) < 0)
		goto out;
	*chal_url = strdup(ch->url);
	if (*chal_url == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(ka);
	ct_authz_free(&az);
	return rc;
}

static int
wait_authz(struct ct_acme *a, const struct ct_issue *req, const char *url,
	   struct sov_err *e)
{
	for (int attempt = 0;; attempt++) {
		struct ct_authz az;
		long ra;
		enum ct_status st;

		if (get_authz(a, url, &az, &ra, e) < 0)
			return -1;
		st = az.status;
		if (st == CT_ST_INVALID) {
			authz_failed(&az, url, e);
			ct_authz_free(&az);
			return -1;
		}
		ct_authz_free(&az);
		if (st == CT_ST_VALID)
			return 0;
		if (poll_wait(ra, attempt, req->deadline_ms, url, e) < 0)
			return -1;
	}
}

/* Poll the order while its status is one of wait1/wait2. */
static int
wait_order(struct ct_acme *a, const struct ct_issue *req, const char *url,
	   enum ct_status wait1, enum ct_status wait2, struct ct_order *o,
	   struct sov_err *e)
{
	for (int attempt = 0;; attempt++) {
		long ra;

		ct_order_free(o);
		if (get_order(a, url, o, &ra, e) < 0)
			return -1;
		if (o->status == CT_ST_INVALID) {
			ct_problem_err(jv_copy(o->error), url, 0, -1, e);
			return sov_err_prefix(e, "order invalid: ");
		}
		if (o->status != wait1 && o->status != wait2)
			return 0;
		if (poll_wait(ra, attempt, req->deadline_ms, url, e) < 0)
			return -1;
	}
}

static int
finalize(struct ct_acme *a, const struct ct_issue *req, struct ct_order *o,
	 EVP_PKEY *certkey, struct sov_err *e)
{
	unsigned char *der = NULL;
	size_t dlen;
	char *csr = NULL;
	jv p = jv_invalid();
	struct ct_resp r;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	r.body = jv_null();
	if (ct_csr_der(certkey, req->domains, req->ndomains, &der, &dlen, e) <
	    0)
		goto out;
	csr = ct_b64url(der, dlen);
	if (csr == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	p = jv_dump_string(
	    jv_object_set(jv_object(), jv_string("csr"), jv_string(csr)), 0);
	if (ct_acme_post(a, o->finalize, jv_string_value(p), 0, &r, e) < 0)
		goto out;
	rc = 0;
out:
	ct_resp_clear(&r);
	jv_free(p);
	free(csr);
	free(der);
	return rc;
}

/* Does pem lead to the issuer named cn? */
static int
chain_matches(const char *pem, size_t len, const char *cn)
{
	struct sov_err e = {0};
	struct ct_chain c;
	int yes;

	if (ct_chain_parse(pem, len, "chain", &c, &e) < 0)
		return 0;
	yes = strcmp(c.top_issuer_cn, cn) == 0;
	ct_chain_free(&c);
	return yes;
}

/* Swap r's chain for the first alternate that leads to the preferred
 * issuer, if the default does not and one does. */
static int
choose_chain(struct ct_acme *a, const struct ct_issue *req, struct ct_resp *r,
	     struct sov_err *e)
{
	char *alts[CT_ALTERNATES_MAX];
	int n, rc = 0;

	if (req->chain_index != NULL)
		*req->chain_index = 0;
	if (req->preferred_chain == NULL || r->links == NULL ||
	    chain_matches(r->text, r->len, req->preferred_chain))
		return 0;
	n = ct_link_alternates(r->links, alts, CT_ALTERNATES_MAX);
	if (n < 0)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
	for (int i = 0; i < n; i++) {
		struct ct_resp alt;

		if (ct_acme_post(a, alts[i], NULL, 1, &alt, e) < 0) {
			rc = -1;
			break;
		}
		if (alt.len <= CT_CHAIN_MAX &&
		    chain_matches(alt.text, alt.len, req->preferred_chain)) {
			ct_resp_clear(r);
			*r = alt;
			if (req->chain_index != NULL)
				*req->chain_index = i + 1;
			break;
		}
		ct_resp_clear(&alt);
	}
	for (int i = 0; i < n; i++)
		free(alts[i]);
	return rc;
}

int
ct_order_issue(struct ct_acme *a, const struct ct_issue *req, EVP_PKEY *certkey,
	       char **pem, size_t *len, struct sov_err *e)
{
	struct ct_order o;
	struct ct_resp r;
	char *url = NULL, **chals = NULL;
	size_t nchals = 0;
	int rc = -1, started = 0;
	struct sov_err e2 = {0};

	*pem = NULL;
	*len = 0;
	memset(&o, 0, sizeof(o));
	o.error = jv_null();
	memset(&r, 0, sizeof(r));
	r.body = jv_null();
	if (new_order(a, req, &o, &url, e) < 0)
		goto out;
	ct_crash_point("ordered");
	if (o.status == CT_ST_PENDING) {
		chals = calloc(o.nauthzs, sizeof(*chals));
		if (chals == NULL) {
			sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
			goto out;
		}
		nchals = o.nauthzs;
		if (ct_chal_start(req->chal, e) < 0)
			goto out;
		started = 1;
		for (size_t i = 0; i < o.nauthzs; i++)
			if (prepare(a, req, o.authzs[i], &chals[i], e) < 0)
				goto out;
		for (size_t i = 0; i < o.nauthzs; i++) {
			if (chals[i] == NULL)
				continue;
			if (ct_acme_post(a, chals[i], "{}", 0, &r, e) < 0)
				goto out;
			ct_resp_clear(&r);
		}
		for (size_t i = 0; i < o.nauthzs; i++)
			if (chals[i] != NULL &&
			    wait_authz(a, req, o.authzs[i], e) < 0)
				goto out;
		started = 0;
		if (ct_chal_stop(req->chal, e) < 0)
			goto out;
		ct_crash_point("authorized");
	}
	if (wait_order(a, req, url, CT_ST_PENDING, CT_ST_OTHER, &o, e) < 0)
		goto out;
	if (o.status == CT_ST_READY) {
		if (finalize(a, req, &o, certkey, e) < 0)
			goto out;
		ct_crash_point("finalized");
		if (wait_order(a, req, url, CT_ST_PROCESSING, CT_ST_READY, &o,
			       e) < 0)
			goto out;
	}
	if (o.status != CT_ST_VALID || o.certificate == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: order not valid, or no "
			    "certificate URL",
			    url);
		goto out;
	}
	if (ct_acme_post(a, o.certificate, NULL, 1, &r, e) < 0)
		goto out;
	if (r.len <= CT_CHAIN_MAX && choose_chain(a, req, &r, e) < 0)
		goto out;
	if (r.len > CT_CHAIN_MAX) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: chain over %u bytes",
			    o.certificate, CT_CHAIN_MAX);
		goto out;
	}
	*pem = r.text;
	*len = r.len;
	r.text = NULL;
	ct_crash_point("downloaded");
	rc = 0;
out:
	if (started)
		ct_chal_stop(req->chal, &e2); /* the first error is kept */
	for (size_t i = 0; i < nchals; i++)
		free(chals[i]);
	free(chals);
	free(url);
	ct_resp_clear(&r);
	ct_order_free(&o);
	return rc;
}
