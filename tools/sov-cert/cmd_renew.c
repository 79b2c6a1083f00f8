/*
 * cmd_renew.c - `sov-cert renew [NAME...] [--force] [--random-delay N]`:
 * every installed certificate (or the named ones) that is due is issued
 * again as meta.json says it was (domains, challenge, key type, profile,
 * key reuse, and the CA unless --server is given). Due: inside the CA's
 * renewal window when its directory offers ARI (RFC 9773; the window, the
 * instant picked in it and the next poll are kept in meta.json, and the
 * CA is asked again only once its Retry-After has passed; see ari.h),
 * otherwise, or while the CA has not answered, when a third of its
 * lifetime or less is left. The new order says which certificate it
 * replaces. A renewal refused with rateLimited is not tried again before
 * the CA's Retry-After (meta.json "rate_limited_until"; --force does).
 * Meant for a daily timer: with nothing due and no poll due it
 * connects to nothing, and --random-delay sleeps only before the first
 * connection. Exit 1 when any failed, else 75 when any failed retryably,
 * else 0 (a failed ARI poll is a warning and "ari_error" in the record).
 *
 * With a store (--metrics URL or $SOV_METRICS), at the end of the run:
 * cert.days_left (d) for every certificate looked at, and
 * cert.renewal.seconds (s) for every renewal tried, tagged
 * {"name","outcome": "renewed"|"failed"|"tempfailed"}. Written after the
 * work, so a store that is down never stops a renewal (a warning, and the
 * exit code becomes 75 if it was 0).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certs.h"
#include "cli.h"
#include "jsonl.h"
#include "metrics.h"
#include "renew.h"
#include "ari.h"
#include "timestamp.h"

#define MAX_DOMAINS 100

struct plan {
	struct ct_issue_args a;
	const char *domains[MAX_DOMAINS];
	jv meta; /* holds the strings a points into */
};

static const char *
meta_str(jv meta, const char *key)
{
	jv v = jv_object_get(jv_copy(meta), jv_string(key));
	const char *s = NULL;

	if (jv_get_kind(v) == JV_KIND_STRING)
		s = jv_string_value(v); /* alive while meta holds it */
	jv_free(v);
	return s;
}

/* meta.json -> issue arguments; the checks issue makes on its options. */
static int
plan_from_meta(struct plan *p, const char *name, long timeout_s,
	       struct sov_err *e)
{
	jv ds = jv_object_get(jv_copy(p->meta), jv_string("domains"));
	const char *chal = meta_str(p->meta, "challenge");
	const char *kt = meta_str(p->meta, "key_type");
	int n, rc = -1;

	memset(&p->a, 0, sizeof(p->a));
	p->a.name = name;
	p->a.domains = p->domains;
	p->a.timeout_s = timeout_s;
	if (jv_get_kind(ds) != JV_KIND_ARRAY ||
	    (n = jv_array_length(jv_copy(ds))) < 1 || n > MAX_DOMAINS) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: meta.json: domains: want "
			    "1 to %d names",
			    name, MAX_DOMAINS);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		jv d = jv_array_get(jv_copy(ds), i);

		if (jv_get_kind(d) != JV_KIND_STRING ||
		    !ct_domain_ok(jv_string_value(d))) {
			jv_free(d);
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: meta.json: "
				    "domains[%d]: not a DNS name",
				    name, i);
			goto out;
		}
		p->domains[p->a.ndomains++] = jv_string_value(d);
		jv_free(d); /* the array in meta keeps the string */
	}
	if (chal == NULL || ct_chal_type_parse(chal, &p->a.chal) < 0 ||
	    kt == NULL || ct_keytype_parse(kt, &p->a.key_type) < 0) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: meta.json: challenge or "
			    "key_type missing or unknown",
			    name);
		goto out;
	}
	p->a.webroot = meta_str(p->meta, "webroot");
	p->a.standalone = meta_str(p->meta, "standalone");
	p->a.dns_hook = meta_str(p->meta, "dns_hook");
	p->a.dns_nsupdate = meta_str(p->meta, "dns_nsupdate");
	p->a.tsig_file = meta_str(p->meta, "tsig_file");
	p->a.dns_zone = meta_str(p->meta, "dns_zone");
	p->a.preferred_chain = meta_str(p->meta, "preferred_chain");
	p->a.deploy_hook = meta_str(p->meta, "deploy_hook");
	p->a.profile = meta_str(p->meta, "profile");
	{
		jv rk = jv_object_get(jv_copy(p->meta), jv_string("reuse_key"));

		p->a.reuse_key = jv_get_kind(rk) == JV_KIND_TRUE;
		jv_free(rk);
	}
	if (p->a.profile != NULL && !ct_profile_ok(p->a.profile)) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: meta.json: bad profile",
			    name);
		goto out;
	}
	if (p->a.chal == CT_HTTP01
		? (p->a.webroot == NULL) == (p->a.standalone == NULL)
	    : p->a.chal == CT_TLSALPN01
		? p->a.standalone == NULL
		: p->a.dns_hook == NULL && p->a.dns_nsupdate == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: meta.json: no webroot, "
			    "standalone, dns_hook or dns_nsupdate for %s",
			    name, chal);
		goto out;
	}
	rc = 0;
out:
	jv_free(ds);
	return rc;
}

static jv
result(const char *name, const char *action, const struct ct_chain *c,
       const char *error)
{
	jv rec = sov_record_new("renew");
	char ts[SOV_TIME_RFC3339_LEN];

	rec = jv_object_set(rec, jv_string("name"), jv_string(name));
	rec = jv_object_set(rec, jv_string("action"), jv_string(action));
	if (c != NULL) {
		sov_time_format(c->not_after * 1000, ts);
		rec = jv_object_set(rec, jv_string("not_after"), jv_string(ts));
		rec = jv_object_set(
		    rec, jv_string("days_left"),
		    jv_number((double)ct_days_left(c->not_after)));
	}
	if (error != NULL)
		rec = jv_object_set(rec, jv_string("error"), jv_string(error));
	return rec;
}

static jv
time_str(int64_t secs)
{
	char ts[SOV_TIME_RFC3339_LEN];

	sov_time_format(secs * 1000, ts);
	return jv_string(ts);
}

/* The record's "ari" (the window kept in meta.json, when there is one)
 * and "ari_error" (this run's poll failed; what was kept decided). */
static jv
ari_result(jv rec, jv ari, const struct sov_err *ae)
{
	if (jv_get_kind(ari) == JV_KIND_OBJECT)
		rec = jv_object_set(rec, jv_string("ari"), jv_copy(ari));
	if (ae->code != SOV_EXIT_OK)
		rec = jv_object_set(rec, jv_string("ari_error"),
				    jv_string(ae->msg));
	return rec;
}

static int
has(const char *name, char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

static int
wanted(const char *name, char **only, int nonly)
{
	if (nonly == 0)
		return 1;
	for (int i = 0; i < nonly; i++)
		if (strcmp(only[i], name) == 0)
			return 1;
	return 0;
}

int
ct_cmd_renew(int argc, char **argv)
{
	enum { O_FORCE = CT_OPT_FIRST_OWN, O_METRICS, O_DELAY };
	static const struct option lo[] = {
	    CT_COMMON_OPTIONS,
	    {"force", no_argument, NULL, O_FORCE},
	    {"metrics", required_argument, NULL, O_METRICS},
	    {"random-delay", required_argument, NULL, O_DELAY},
	    {NULL, 0, NULL, 0}};
	const char *metrics = NULL;
	jv ms;
	static struct ct_renew_run run; /* static: it is large */
	struct ct_state st;
	struct ct_opts *o = &run.o;
	struct sov_err e = {0}, de = {0}, ae = {0};
	struct sov_jsonl_writer *w = NULL;
	char **names = NULL;
	size_t n = 0;
	int c, r, force = 0, failed = 0, tempfailed = 0;

	memset(&run, 0, sizeof(run));
	ct_opts_init(o);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if ((r = ct_opts_take(o, c, optarg, &e)) < 0)
			return sov_cli_fail(&e);
		if (r > 0)
			continue;
		if (c == O_METRICS)
			metrics = optarg;
		else if (c == O_FORCE)
			force = 1;
		else if (c == O_DELAY) {
			if (sov_cli_parse_long("--random-delay", optarg, 0,
					       CT_RANDOM_DELAY_MAX,
					       &run.random_delay, &e) < 0)
				return sov_cli_fail(&e);
		} else
			return SOV_EXIT_USAGE;
	}
	metrics = ct_metrics_url(metrics);
	for (int i = optind; i < argc; i++)
		if (!ct_cert_name_ok(argv[i]))
			return sov_cli_usage_error("renew: bad name \"%.100s\"",
						   argv[i]);
	if (ct_state_open(o->state, 0, &st, &e) < 0 ||
	    ct_certs_names(&st, &names, &n, &e) < 0)
		return sov_cli_fail(&e);
	for (int i = optind; i < argc; i++)
		if (!has(argv[i], names, n)) {
			ct_certs_names_free(names, n);
			return sov_cli_usage_error("renew: no certificate %s",
						   argv[i]);
		}
	w = sov_jsonl_writer_new(stdout, "stdout", 0);
	if (w == NULL) {
		ct_certs_names_free(names, n);
		return SOV_EXIT_FAIL;
	}
	ms = jv_array(); /* [name, value, unit, tags] for the store */
	for (size_t i = 0; i < n; i++) {
		struct ct_chain ch;
		struct plan p;
		jv rec = jv_invalid(), ari = jv_null();
		int64_t t0 = -1, now;
		char revbuf[64], *replaces = NULL;
		int polled = 0, revoked;
		int64_t held;
		struct sov_err ie = {0};

		if (!wanted(names[i], argv + optind, argc - optind))
			continue;
		sov_err_clear(&e);
		sov_err_clear(&ae);
		p.meta = jv_invalid();
		if (ct_certs_load(&st, names[i], &ch, &e) < 0)
			goto failed;
		now = (int64_t)time(NULL);
		revoked =
		    ct_certs_revoked(&st, names[i], revbuf, sizeof(revbuf));
		held = force ? -1 : ct_renew_held(&st, names[i]);
		if (held > now) { /* the CA said rateLimited: not before */
			ms = ct_measure(ms, "cert.days_left",
					(double)(ch.not_after - now) / 86400,
					"d", names[i], NULL);
			rec = result(names[i], "skipped", &ch, NULL);
			rec =
			    jv_object_set(rec, jv_string("rate_limited_until"),
					  time_str(held));
			ct_chain_free(&ch);
			goto write;
		}
		if (!force && !revoked) {
			/* ARI: ask the CA when its Retry-After has passed;
			 * otherwise (and when that fails) what is kept */
			ari = ct_renew_ari(&st, names[i]);
			if (ct_ari_poll_due(ari, now)) {
				p.meta = ct_state_meta(&st, names[i], &ae);
				polled = jv_is_valid(p.meta) &&
					 ct_renew_session(&run, p.meta,
							  names[i], &ae) == 0 &&
					 ct_renew_ari_poll(&run, names[i], &ari,
							   now, &ae) == 0;
				jv_free(p.meta);
				p.meta = jv_invalid();
				if (!polled)
					sov_cli_warn("renew %s: renewal "
						     "information: %s",
						     names[i], ae.msg);
			}
		}
		if (!force && !revoked && !ct_ari_due(ari, &ch, now)) {
			ms = ct_measure(ms, "cert.days_left",
					(double)(ch.not_after - now) / 86400,
					"d", names[i], NULL);
			rec = result(names[i], "skipped", &ch, NULL);
			rec = ari_result(rec, ari, &ae);
			ct_chain_free(&ch);
			goto write;
		}
		replaces = ct_ari_certid(sk_X509_value(ch.certs, 0), &ie);
		ct_chain_free(&ch);
		p.meta = ct_state_meta(&st, names[i], &e);
		if (!jv_is_valid(p.meta) ||
		    plan_from_meta(&p, names[i], o->timeout_s, &e) < 0)
			goto failed;
		t0 = sov_time_mono_ms();
		if (ct_renew_session(&run, p.meta, names[i], &e) < 0)
			goto failed;
		/* RFC 9773 section 5: say which certificate this replaces */
		if (run.s.acme.dir.renewal_info != NULL)
			p.a.replaces = replaces;
		sov_err_clear(&de);
		if (ct_issue_one(&run.s, &p.a, &rec, &de, &e) < 0)
			goto failed;
		ms = ct_measure(ms, "cert.renewal.seconds",
				(double)(sov_time_mono_ms() - t0) / 1000, "s",
				names[i], "renewed");
		jv_free(rec);
		if (ct_certs_load(&st, names[i], &ch, &e) < 0)
			goto failed;
		rec = result(names[i], "renewed", &ch,
			     de.code != SOV_EXIT_OK ? de.msg : NULL);
		rec = ari_result(rec, ari, &ae);
		if (p.a.replaces != NULL)
			rec = jv_object_set(rec, jv_string("replaces"),
					    jv_string(p.a.replaces));
		if (de.code != SOV_EXIT_OK) {
			sov_cli_warn("renew %s: %s", names[i], de.msg);
			if (de.code == SOV_EXIT_TEMPFAIL)
				tempfailed++;
			else
				failed++;
		}
		ms = ct_measure(ms, "cert.days_left",
				(double)(ch.not_after - (int64_t)time(NULL)) /
				    86400,
				"d", names[i], NULL);
		ct_chain_free(&ch);
		goto write;
	failed:
		sov_cli_warn("renew %s: %s", names[i], e.msg);
		if (t0 >= 0)
			ms = ct_measure(
			    ms, "cert.renewal.seconds",
			    (double)(sov_time_mono_ms() - t0) / 1000, "s",
			    names[i],
			    e.code == SOV_EXIT_TEMPFAIL ? "tempfailed"
							: "failed");
		if (e.code == SOV_EXIT_TEMPFAIL)
			tempfailed++;
		else
			failed++;
		rec = result(names[i], "failed", NULL, e.msg);
		if (strstr(e.msg, CT_ERR_RATE_LIMITED) != NULL &&
		    (held = ct_renew_hold(&run, names[i], (int64_t)time(NULL),
					  &ie)) > 0)
			rec =
			    jv_object_set(rec, jv_string("rate_limited_until"),
					  time_str(held));
	write:
		jv_free(p.meta);
		jv_free(ari);
		free(replaces);
		if (sov_jsonl_write(w, rec, &e) < 0) {
			failed++;
			sov_cli_fail(&e);
			break;
		}
	}
	if (run.open)
		ct_session_close(&run.s);
	ct_certs_names_free(names, n);
	if (sov_jsonl_writer_close(w, &e) < 0) {
		sov_cli_fail(&e);
		failed++;
	}
	if (metrics != NULL) {
		sov_err_clear(&e);
		if (ct_metrics_write(metrics, ms, &e) < 0) {
			sov_cli_warn("measurements: %s", e.msg);
			if (!failed)
				tempfailed++;
		}
	} else {
		jv_free(ms);
	}
	return failed       ? SOV_EXIT_FAIL
	       : tempfailed ? SOV_EXIT_TEMPFAIL
			    : SOV_EXIT_OK;
}
