/*
 * cmd_renew.c - `sov-cert renew [NAME...] [--force]`: every installed
 * certificate (or the named ones) with a third of its lifetime or less
 * left is issued again as meta.json says it was (domains, challenge, key
 * type, and the CA unless --server is given), with a fresh key. Meant for a
 * daily timer: with nothing due it connects to nothing. Exit 1 when any failed,
 * else 75 when any failed retryably, else 0.
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
#include "measure.h"
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

/* Write the run's measurements (m: an array of [name, value, unit, tags]). */
static int
write_metrics(const char *url, jv m, struct sov_err *e)
{
	struct sov_metrics *mt;
	int n = jv_array_length(jv_copy(m)), rc = -1;

	mt = sov_metrics_open(url, stdout, e);
	if (mt == NULL)
		goto out;
	for (int i = 0; i < n; i++) {
		jv x = jv_array_get(jv_copy(m), i);
		jv name = jv_array_get(jv_copy(x), 0);
		jv unit = jv_array_get(jv_copy(x), 2);
		jv val = jv_array_get(jv_copy(x), 1);
		int r = sov_metrics_add(
		    mt, jv_string_value(name), jv_number_value(val),
		    jv_string_value(unit), jv_array_get(jv_copy(x), 3), e);

		jv_free(name);
		jv_free(unit);
		jv_free(val);
		jv_free(x);
		if (r < 0) {
			sov_metrics_close(mt, NULL);
			goto out;
		}
	}
	rc = sov_metrics_close(mt, e);
out:
	jv_free(m);
	return rc;
}

static jv
measure(jv list, const char *name, double value, const char *unit,
	const char *cert, const char *outcome)
{
	jv tags =
	    jv_object_set(jv_object(), jv_string("name"), jv_string(cert));

	if (outcome != NULL)
		tags = jv_object_set(tags, jv_string("outcome"),
				     jv_string(outcome));
	return jv_array_append(list, JV_ARRAY(jv_string(name), jv_number(value),
					      jv_string(unit), tags));
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
	enum { O_FORCE = CT_OPT_FIRST_OWN, O_METRICS };
	static const struct option lo[] = {
	    CT_COMMON_OPTIONS,
	    {"force", no_argument, NULL, O_FORCE},
	    {"metrics", required_argument, NULL, O_METRICS},
	    {NULL, 0, NULL, 0}};
	const char *metrics = NULL;
	jv ms;
	struct ct_session s;
	struct ct_state st;
	struct ct_opts o;
	struct sov_err e = {0}, de = {0};
	struct sov_jsonl_writer *w = NULL;
	char **names = NULL, server_buf[CT_URL_MAX + 1];
	size_t n = 0;
	int c, r, force = 0, session = 0, failed = 0, tempfailed = 0;

	ct_opts_init(&o);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if ((r = ct_opts_take(&o, c, optarg, &e)) < 0)
			return sov_cli_fail(&e);
		if (r > 0)
			continue;
		if (c == O_METRICS)
			metrics = optarg;
		else if (c == O_FORCE)
			force = 1;
		else
			return SOV_EXIT_USAGE;
	}
	if (metrics == NULL && getenv("SOV_METRICS") != NULL &&
	    *getenv("SOV_METRICS") != '\0')
		metrics = getenv("SOV_METRICS");
	for (int i = optind; i < argc; i++)
		if (!ct_cert_name_ok(argv[i]))
			return sov_cli_usage_error("renew: bad name \"%.100s\"",
						   argv[i]);
	if (ct_state_open(o.state, 0, &st, &e) < 0 ||
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
		jv rec = jv_invalid();
		const char *server;
		int64_t t0 = -1;
		char revbuf[64];

		if (!wanted(names[i], argv + optind, argc - optind))
			continue;
		sov_err_clear(&e);
		p.meta = jv_invalid();
		if (ct_certs_load(&st, names[i], &ch, &e) < 0)
			goto failed;
		if (!force && !ct_certs_due(&ch, (int64_t)time(NULL)) &&
		    !ct_certs_revoked(&st, names[i], revbuf, sizeof(revbuf))) {
			ms = measure(
			    ms, "cert.days_left",
			    (double)(ch.not_after - (int64_t)time(NULL)) /
				86400,
			    "d", names[i], NULL);
			rec = result(names[i], "skipped", &ch, NULL);
			ct_chain_free(&ch);
			goto write;
		}
		ct_chain_free(&ch);
		p.meta = ct_state_meta(&st, names[i], &e);
		if (!jv_is_valid(p.meta) ||
		    plan_from_meta(&p, names[i], o.timeout_s, &e) < 0)
			goto failed;
		server = meta_str(p.meta, "server");
		if (!o.server_given && server != NULL && ct_url_ok(server)) {
			if (!session) {
				snprintf(server_buf, sizeof(server_buf), "%s",
					 server); /* ct_url_ok: it fits */
				o.server = server_buf;
			} else if (strcmp(server, s.acme.server) != 0) {
				sov_err_set(&e, SOV_EXIT_USAGE,
					    "%s: issued by %s, not %s: renew "
					    "it on its own with --server",
					    names[i], server, s.acme.server);
				goto failed;
			}
		}
		t0 = sov_time_mono_ms();
		if (!session) {
			if (ct_session_open(&s, &o, &e) < 0)
				goto failed;
			session = 1;
		}
		sov_err_clear(&de);
		if (ct_issue_one(&s, &p.a, &rec, &de, &e) < 0)
			goto failed;
		ms = measure(ms, "cert.renewal.seconds",
			     (double)(sov_time_mono_ms() - t0) / 1000, "s",
			     names[i], "renewed");
		jv_free(rec);
		if (ct_certs_load(&st, names[i], &ch, &e) < 0)
			goto failed;
		rec = result(names[i], "renewed", &ch,
			     de.code != SOV_EXIT_OK ? de.msg : NULL);
		if (de.code != SOV_EXIT_OK) {
			sov_cli_warn("renew %s: %s", names[i], de.msg);
			if (de.code == SOV_EXIT_TEMPFAIL)
				tempfailed++;
			else
				failed++;
		}
		ms = measure(ms, "cert.days_left",
			     (double)(ch.not_after - (int64_t)time(NULL)) /
				 86400,
			     "d", names[i], NULL);
		ct_chain_free(&ch);
		goto write;
	failed:
		sov_cli_warn("renew %s: %s", names[i], e.msg);
		if (t0 >= 0)
			ms = measure(ms, "cert.renewal.seconds",
				     (double)(sov_time_mono_ms() - t0) / 1000,
				     "s", names[i],
				     e.code == SOV_EXIT_TEMPFAIL ? "tempfailed"
								 : "failed");
		if (e.code == SOV_EXIT_TEMPFAIL)
			tempfailed++;
		else
			failed++;
		rec = result(names[i], "failed", NULL, e.msg);
	write:
		jv_free(p.meta);
		if (sov_jsonl_write(w, rec, &e) < 0) {
			failed++;
			sov_cli_fail(&e);
			break;
		}
	}
	if (session)
		ct_session_close(&s);
	ct_certs_names_free(names, n);
	if (sov_jsonl_writer_close(w, &e) < 0) {
		sov_cli_fail(&e);
		failed++;
	}
	if (metrics != NULL) {
		sov_err_clear(&e);
		if (write_metrics(metrics, ms, &e) < 0) {
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
