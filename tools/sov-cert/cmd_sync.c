/*
 * cmd_sync.c - `sov-cert sync --config FILE [--force]`: make the state
 * directory hold what the definitions file (config.h) declares. For each
 * declared certificate, in name order:
 *
 *   not installed                               issue       reason "new"
 *   meta.json missing (a placeholder) or its    issue       reason "no
 *     domains, key type or CA differ                        meta.json",
 *                                                           "domains
 *                                                           changed", ...
 *   revoked                                     issue       "revoked"
 *   a third of its lifetime or less left        renew       "due"
 *   --force                                     renew       "forced"
 *   else                                        skipped
 *
 * always with the options the file declares now. Installed certificates the
 * file does not declare are left alone, each reported as "undeclared". The
 * whole file is checked before the state is touched (exit 2 naming the
 * JSON path); --check stops there (for a build that validates the file).
 * With nothing to issue it connects to nothing; when the CA cannot be
 * reached, the certificates after the first fail with the same error
 * without asking it again. Exit 1 when any failed, else 75 when any failed
 * retryably, else 0.
 *
 * Records: sync {"name","action": "issued"|"renewed"|"skipped"|"failed"|
 * "undeclared","reason","not_after","days_left","deploy_error","error"}.
 *
 * With a store (--metrics URL or $SOV_METRICS), after the run (metrics.h):
 * cert.days_left for every declared certificate looked at, and
 * cert.renewal.seconds for every issuance tried, its outcome "issued",
 * "renewed", "failed" or "tempfailed". A store that is down is a warning
 * (and exit 75 when the run was otherwise clean).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certs.h"
#include "cli.h"
#include "config.h"
#include "jsonl.h"
#include "metrics.h"
#include "timestamp.h"

struct run {
	struct ct_opts o;
	struct ct_state st;
	struct ct_session s;
	int session;
	struct sov_err session_e; /* why the session could not open */
	int failed, tempfailed;
	struct sov_jsonl_writer *w;
	jv ms; /* the measurements, written at the end (metrics.h) */
};

static double
days(const struct ct_chain *c)
{
	return (double)(c->not_after - (int64_t)time(NULL)) / 86400;
}

static jv
record(const char *name, const char *action, const char *reason,
       const struct ct_chain *c)
{
	jv rec = sov_record_new("sync");
	char ts[SOV_TIME_RFC3339_LEN];

	rec = jv_object_set(rec, jv_string("name"), jv_string(name));
	rec = jv_object_set(rec, jv_string("action"), jv_string(action));
	if (reason != NULL)
		rec =
		    jv_object_set(rec, jv_string("reason"), jv_string(reason));
	if (c != NULL) {
		sov_time_format(c->not_after * 1000, ts);
		rec = jv_object_set(rec, jv_string("not_after"), jv_string(ts));
		rec = jv_object_set(
		    rec, jv_string("days_left"),
		    jv_number((double)ct_days_left(c->not_after)));
	}
	return rec;
}

/* Why k must be issued now, or NULL when it need not. */
static const char *
reason(struct run *r, const struct ct_cfg_cert *k, int installed, int force)
{
	struct ct_chain ch;
	struct sov_err e = {0};
	const char *why;
	char rev[64];
	int due;

	if (!installed)
		return "new";
	if (ct_certs_load(&r->st, k->name, &ch, &e) < 0)
		return "unreadable";
	due = ct_certs_due(&ch, (int64_t)time(NULL));
	ct_chain_free(&ch);
	why = ct_config_changed(k, ct_state_meta(&r->st, k->name, &e),
				r->o.server);
	if (why != NULL)
		return why;
	if (ct_certs_revoked(&r->st, k->name, rev, sizeof(rev)))
		return "revoked";
	if (due)
		return "due";
	return force ? "forced" : NULL;
}

/* Issue k (why says why); the record. */
static jv
issue(struct run *r, const struct ct_cfg_cert *k, const char *why)
{
	struct ct_issue_args a;
	struct ct_chain ch;
	struct sov_err e = {0}, de = {0};
	jv rec = jv_invalid(), out;
	int64_t t0 = sov_time_mono_ms();
	const char *action = strcmp(why, "due") == 0 ||
				     strcmp(why, "forced") == 0 ||
				     strcmp(why, "revoked") == 0
				 ? "renewed"
				 : "issued";

	memset(&a, 0, sizeof(a));
	a.name = k->name;
	a.domains = (const char *const *)k->domains;
	a.ndomains = k->ndomains;
	a.chal = k->chal;
	a.webroot = k->webroot;
	a.standalone = k->standalone;
	a.dns_hook = k->dns_hook;
	a.key_type = k->key_type;
	a.timeout_s = r->o.timeout_s;
	a.preferred_chain = k->preferred_chain;
	a.deploy_hook = k->deploy_hook;
	if (!r->session) {
		/* Once the CA could not be reached, the rest fail alike
		 * without asking it again. */
		if (r->session_e.code != SOV_EXIT_OK) {
			e = r->session_e;
			goto failed;
		}
		if (ct_session_open(&r->s, &r->o, &e) < 0) {
			r->session_e = e;
			goto failed;
		}
		r->session = 1;
	}
	if (ct_issue_one(&r->s, &a, &rec, &de, &e) < 0)
		goto failed;
	jv_free(rec);
	r->ms = ct_measure(r->ms, "cert.renewal.seconds",
			   (double)(sov_time_mono_ms() - t0) / 1000, "s",
			   k->name, action);
	if (ct_certs_load(&r->st, k->name, &ch, &e) < 0)
		goto failed;
	out = record(k->name, action, why, &ch);
	r->ms =
	    ct_measure(r->ms, "cert.days_left", days(&ch), "d", k->name, NULL);
	ct_chain_free(&ch);
	if (de.code != SOV_EXIT_OK) {
		sov_cli_warn("sync %s: %s", k->name, de.msg);
		out = jv_object_set(out, jv_string("deploy_error"),
				    jv_string(de.msg));
		if (de.code == SOV_EXIT_TEMPFAIL)
			r->tempfailed++;
		else
			r->failed++;
	}
	return out;
failed:
	sov_cli_warn("sync %s: %s", k->name, e.msg);
	r->ms =
	    ct_measure(r->ms, "cert.renewal.seconds",
		       (double)(sov_time_mono_ms() - t0) / 1000, "s", k->name,
		       e.code == SOV_EXIT_TEMPFAIL ? "tempfailed" : "failed");
	if (e.code == SOV_EXIT_TEMPFAIL)
		r->tempfailed++;
	else
		r->failed++;
	out = record(k->name, "failed", why, NULL);
	return jv_object_set(out, jv_string("error"), jv_string(e.msg));
}

static int
emit(struct run *r, jv rec)
{
	struct sov_err e = {0};

	if (sov_jsonl_write(r->w, rec, &e) < 0) {
		sov_cli_fail(&e);
		r->failed++;
		return -1;
	}
	return 0;
}

static int
has(char **names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

/* The file's account and CA, where the command line gave none. */
static void
apply_config(struct ct_opts *o, const struct ct_config *cfg)
{
	if (!o->server_given && cfg->server != NULL)
		o->server = cfg->server;
	if (o->ca_file == NULL)
		o->ca_file = cfg->ca_file;
	if (o->email == NULL)
		o->email = cfg->email;
	if (!o->agree_tos)
		o->agree_tos = cfg->agree_tos;
	if (o->eab_kid == NULL) {
		o->eab_kid = cfg->eab_kid;
		if (o->eab_hmac_file == NULL)
			o->eab_hmac_file = cfg->eab_hmac_file;
	}
}

int
ct_cmd_sync(int argc, char **argv)
{
	enum { O_CONFIG = CT_OPT_FIRST_OWN, O_FORCE, O_CHECK, O_METRICS };
	static const struct option lo[] = {
	    CT_COMMON_OPTIONS,
	    {"config", required_argument, NULL, O_CONFIG},
	    {"force", no_argument, NULL, O_FORCE},
	    {"check", no_argument, NULL, O_CHECK},
	    {"metrics", required_argument, NULL, O_METRICS},
	    {NULL, 0, NULL, 0}};
	struct ct_config *cfg = NULL;
	const char *file = NULL, *metrics = NULL;
	struct sov_err e = {0};
	struct run r;
	char **names = NULL;
	size_t n = 0;
	int c, x, force = 0, check = 0;

	memset(&r, 0, sizeof(r));
	r.ms = jv_invalid();
	ct_opts_init(&r.o);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if ((x = ct_opts_take(&r.o, c, optarg, &e)) < 0)
			return sov_cli_fail(&e);
		if (x > 0)
			continue;
		if (c == O_CONFIG)
			file = optarg;
		else if (c == O_FORCE)
			force = 1;
		else if (c == O_CHECK)
			check = 1;
		else if (c == O_METRICS)
			metrics = optarg;
		else
			return SOV_EXIT_USAGE;
	}
	if (optind != argc)
		return sov_cli_usage_error("sync: no arguments, only "
					   "--config FILE");
	if (file == NULL)
		return sov_cli_usage_error("sync: give --config FILE");
	if (metrics == NULL && getenv("SOV_METRICS") != NULL &&
	    *getenv("SOV_METRICS") != '\0')
		metrics = getenv("SOV_METRICS");
	cfg = ct_config_load(file, &e);
	if (cfg == NULL)
		return sov_cli_fail(&e);
	if (check) { /* the file is valid: nothing else is looked at */
		ct_config_free(cfg);
		return SOV_EXIT_OK;
	}
	apply_config(&r.o, cfg);
	if (ct_state_open(r.o.state, 0, &r.st, &e) < 0 ||
	    ct_certs_names(&r.st, &names, &n, &e) < 0) {
		ct_state_close(&r.st);
		ct_config_free(cfg);
		return sov_cli_fail(&e);
	}
	r.ms = jv_array();
	r.w = sov_jsonl_writer_new(stdout, "stdout", 0);
	if (r.w == NULL) {
		r.failed++;
		goto out;
	}
	for (size_t i = 0; i < cfg->ncerts; i++) {
		const struct ct_cfg_cert *k = &cfg->certs[i];
		const char *why = reason(&r, k, has(names, n, k->name), force);
		struct ct_chain ch;
		jv rec;

		if (why != NULL) {
			rec = issue(&r, k, why);
		} else {
			sov_err_clear(&e);
			if (ct_certs_load(&r.st, k->name, &ch, &e) < 0) {
				rec = record(k->name, "failed", NULL, NULL);
				rec = jv_object_set(rec, jv_string("error"),
						    jv_string(e.msg));
				r.failed++;
			} else {
				rec = record(k->name, "skipped", NULL, &ch);
				r.ms =
				    ct_measure(r.ms, "cert.days_left",
					       days(&ch), "d", k->name, NULL);
				ct_chain_free(&ch);
			}
		}
		if (emit(&r, rec) < 0)
			goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (ct_config_find(cfg, names[i]) == NULL &&
		    emit(&r, record(names[i], "undeclared",
				    "not in the "
				    "definitions; "
				    "left alone",
				    NULL)) < 0)
			goto out;
out:
	if (r.session)
		ct_session_close(&r.s);
	ct_certs_names_free(names, n);
	ct_state_close(&r.st);
	if (r.w != NULL && sov_jsonl_writer_close(r.w, &e) < 0) {
		sov_cli_fail(&e);
		r.failed++;
	}
	ct_config_free(cfg);
	if (metrics != NULL && jv_is_valid(r.ms)) {
		sov_err_clear(&e);
		if (ct_metrics_write(metrics, r.ms, &e) < 0) {
			sov_cli_warn("measurements: %s", e.msg);
			if (!r.failed)
				r.tempfailed++;
		}
	} else {
		jv_free(r.ms);
	}
	return r.failed       ? SOV_EXIT_FAIL
	       : r.tempfailed ? SOV_EXIT_TEMPFAIL
			      : SOV_EXIT_OK;
}
