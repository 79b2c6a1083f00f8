/*
 * cmd_issue.c - `sov-cert issue NAME --domain D ...`: one certificate,
 * issued, verified and installed as certs/NAME; and ct_issue_one, which
 * renew shares.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ari.h"
#include "cert.h"
#include "certs.h"
#include "cli.h"
#include "jsonl.h"
#include "metrics.h"
#include "order.h"
#include "timestamp.h"

long
ct_days_left(int64_t not_after)
{
	int64_t left = not_after - (int64_t)time(NULL);

	return left < 0 ? -1 - (long)((-left - 1) / 86400)
			: (long)(left / 86400);
}

static jv
strings(const char *const *v, size_t n)
{
	jv a = jv_array();

	for (size_t i = 0; i < n; i++)
		a = jv_array_append(a, jv_string(v[i]));
	return a;
}

static jv
opt_string(const char *s)
{
	return s != NULL ? jv_string(s) : jv_null();
}

/* The deploy hook after an install; the record says how it went. */
static jv
deploy(struct ct_session *s, const struct ct_issue_args *a, jv rec,
       struct sov_err *e)
{
	char rel[CT_CERT_NAME_MAX + 8], dir[PATH_MAX];
	const char *args[] = {"deployed", a->name, dir, NULL};
	int n = snprintf(rel, sizeof(rel), "certs/%s", a->name);

	if (n < 0 || (size_t)n >= sizeof(rel) ||
	    ct_state_path(&s->st, rel, dir, sizeof(dir), e) < 0 ||
	    ct_hook_run(a->deploy_hook, args, e) < 0) {
		if (e->code == SOV_EXIT_OK)
			e->code = SOV_EXIT_FAIL;
		sov_err_prefix(e, "installed, but the deploy hook failed: ");
		return jv_object_set(rec, jv_string("deploy_error"),
				     jv_string(e->msg));
	}
	return jv_object_set(rec, jv_string("deployed"), jv_true());
}

/* The CA does not offer the profile: say which it does. */
static int
profile_refused(struct ct_session *s, const char *profile, struct sov_err *e)
{
	char offered[512] = "";
	size_t k = 0;

	for (size_t i = 0; i < s->acme.dir.nprofiles; i++) {
		int n = snprintf(offered + k, sizeof(offered) - k, "%s%s",
				 i ? ", " : "", s->acme.dir.profiles[i]);

		if (n < 0 || (size_t)n >= sizeof(offered) - k)
			break;
		k += (size_t)n;
	}
	return sov_err_set(e, SOV_EXIT_USAGE, "--profile %s: %s offers %s%s",
			   profile, s->acme.server,
			   s->acme.dir.nprofiles ? "only " : "no profiles",
			   offered);
}

/* meta's "ari" for a new certificate: its CertID, nothing asked yet. */
static jv
ari_start(const char *pem, size_t len, jv meta)
{
	struct sov_err e = {0};
	struct ct_chain c;
	char *id = NULL;

	if (ct_chain_parse(pem, len, "chain", &c, &e) == 0) {
		id = ct_ari_certid(sk_X509_value(c.certs, 0), &e);
		ct_chain_free(&c);
	}
	if (id == NULL) /* no AKI: the third of its lifetime */
		return meta;
	meta = jv_object_set(
	    meta, jv_string("ari"),
	    jv_object_set(jv_object(), jv_string("cert_id"), jv_string(id)));
	free(id);
	return meta;
}

int
ct_issue_one(struct ct_session *s, const struct ct_issue_args *a, jv *rec,
	     struct sov_err *deploy_e, struct sov_err *e)
{
	struct ct_chal chal;
	struct ct_issue req;
	struct ct_chain c;
	EVP_PKEY *key = NULL;
	char *pem = NULL, ts[SOV_TIME_RFC3339_LEN];
	size_t len;
	int64_t t0 = sov_time_mono_ms();
	int requests0 = s->acme.requests, bad0 = s->acme.bad_nonces;
	jv meta;
	int rc = -1, chain_index = 0, reused = 0;

	*rec = jv_invalid();
	memset(&c, 0, sizeof(c));
	memset(&chal, 0, sizeof(chal));
	chal.type = a->chal;
	chal.webroot = a->webroot;
	chal.standalone = a->standalone;
	chal.dns_hook = a->dns_hook;
	chal.dns_nsupdate = a->dns_nsupdate;
	chal.tsig_file = a->tsig_file;
	chal.dns_zone = a->dns_zone;
	req.domains = a->domains;
	req.ndomains = a->ndomains;
	req.chal = &chal;
	req.deadline_ms = t0 + a->timeout_s * 1000;
	req.preferred_chain = a->preferred_chain;
	req.chain_index = &chain_index;
	req.profile = a->profile;
	req.replaces = a->replaces;
	if (a->profile != NULL &&
	    !ct_dir_has_profile(&s->acme.dir, a->profile)) {
		profile_refused(s, a->profile, e);
		goto out;
	}
	if (a->reuse_key)
		key = ct_certs_key(&s->st, a->name, a->key_type, e);
	if (key == NULL && e->code != SOV_EXIT_OK)
		goto out;
	reused = key != NULL;
	if (key == NULL)
		key = ct_key_generate(a->key_type, e);
	if (key == NULL)
		goto out;
	if (ct_order_issue(&s->acme, &req, key, &pem, &len, e) < 0)
		goto out;
	sov_time_format(sov_time_now_ms(), ts);
	meta = jv_object();
	meta = jv_object_set(meta, jv_string("name"), jv_string(a->name));
	meta = jv_object_set(meta, jv_string("domains"),
			     strings(a->domains, a->ndomains));
	meta = jv_object_set(meta, jv_string("key_type"),
			     jv_string(ct_keytype_name(a->key_type)));
	meta = jv_object_set(meta, jv_string("challenge"),
			     jv_string(ct_chal_type_name(a->chal)));
	meta =
	    jv_object_set(meta, jv_string("webroot"), opt_string(a->webroot));
	meta = jv_object_set(meta, jv_string("standalone"),
			     opt_string(a->standalone));
	meta =
	    jv_object_set(meta, jv_string("dns_hook"), opt_string(a->dns_hook));
	meta = jv_object_set(meta, jv_string("dns_nsupdate"),
			     opt_string(a->dns_nsupdate));
	meta = jv_object_set(meta, jv_string("tsig_file"),
			     opt_string(a->tsig_file));
	meta =
	    jv_object_set(meta, jv_string("dns_zone"), opt_string(a->dns_zone));
	meta = jv_object_set(meta, jv_string("deploy_hook"),
			     opt_string(a->deploy_hook));
	meta = jv_object_set(meta, jv_string("preferred_chain"),
			     opt_string(a->preferred_chain));
	meta =
	    jv_object_set(meta, jv_string("profile"), opt_string(a->profile));
	meta =
	    jv_object_set(meta, jv_string("reuse_key"), jv_bool(a->reuse_key));
	meta =
	    jv_object_set(meta, jv_string("server"), jv_string(s->acme.server));
	meta = jv_object_set(meta, jv_string("issued"), jv_string(ts));
	if (s->acme.dir.renewal_info != NULL) /* ARI from now on */
		meta = ari_start(pem, len, meta);
	if (ct_state_install(&s->st, a->name, pem, len, key, a->domains,
			     a->ndomains, meta, &c, e) < 0)
		goto out;
	*rec = sov_record_new("issued");
	*rec = jv_object_set(*rec, jv_string("name"), jv_string(a->name));
	*rec = jv_object_set(*rec, jv_string("domains"),
			     strings((const char *const *)c.names, c.nnames));
	*rec = jv_object_set(*rec, jv_string("issuer"), jv_string(c.issuer));
	*rec = jv_object_set(*rec, jv_string("serial"), jv_string(c.serial));
	sov_time_format(c.not_before * 1000, ts);
	*rec = jv_object_set(*rec, jv_string("not_before"), jv_string(ts));
	sov_time_format(c.not_after * 1000, ts);
	*rec = jv_object_set(*rec, jv_string("not_after"), jv_string(ts));
	*rec = jv_object_set(*rec, jv_string("days_left"),
			     jv_number((double)ct_days_left(c.not_after)));
	*rec = jv_object_set(*rec, jv_string("chain_root_issuer"),
			     jv_string(c.top_issuer_cn));
	*rec = jv_object_set(*rec, jv_string("alternate_chain"),
			     jv_number(chain_index));
	*rec = jv_object_set(*rec, jv_string("key_type"),
			     jv_string(ct_keytype_name(a->key_type)));
	*rec = jv_object_set(*rec, jv_string("challenge"),
			     jv_string(ct_chal_type_name(a->chal)));
	if (a->profile != NULL)
		*rec = jv_object_set(*rec, jv_string("profile"),
				     jv_string(a->profile));
	*rec = jv_object_set(*rec, jv_string("key_reused"),
			     jv_bool(a->reuse_key && reused));
	*rec =
	    jv_object_set(*rec, jv_string("seconds"),
			  jv_number((double)(sov_time_mono_ms() - t0) / 1000));
	*rec = jv_object_set(*rec, jv_string("requests"),
			     jv_number(s->acme.requests - requests0));
	*rec = jv_object_set(*rec, jv_string("bad_nonces"),
			     jv_number(s->acme.bad_nonces - bad0));
	if (a->deploy_hook != NULL)
		*rec = deploy(s, a, *rec, deploy_e);
	rc = 0;
out:
	ct_chain_free(&c);
	free(pem);
	EVP_PKEY_free(key);
	return rc;
}

#define MAX_DOMAINS 100

/*
 * issue's measurements (with --metrics or $SOV_METRICS): cert.days_left
 * and cert.renewal.seconds {"name","outcome":"issued"} from the record, or
 * only the seconds with the outcome when how is a string ("failed",
 * "tempfailed"). A store that is down is a warning; it changes nothing.
 * how is not consumed when it is the record.
 */
static void
issue_metrics(const char *url, const char *name, int64_t t0, jv how)
{
	double secs = (double)(sov_time_mono_ms() - t0) / 1000;
	struct sov_err e = {0};
	jv m;

	if (url == NULL) {
		if (jv_get_kind(how) == JV_KIND_STRING)
			jv_free(how);
		return;
	}
	m = jv_array();
	if (jv_get_kind(how) == JV_KIND_STRING) {
		m = ct_measure(m, "cert.renewal.seconds", secs, "s", name,
			       jv_string_value(how));
		jv_free(how);
	} else {
		jv na = jv_object_get(jv_copy(how), jv_string("not_after"));
		int64_t ms;

		m = ct_measure(m, "cert.renewal.seconds", secs, "s", name,
			       "issued");
		if (jv_get_kind(na) == JV_KIND_STRING &&
		    sov_time_parse(jv_string_value(na), &ms, &e) == 0)
			m = ct_measure(m, "cert.days_left",
				       (double)(ms - sov_time_now_ms()) /
					   86400000,
				       "d", name, NULL);
		jv_free(na);
	}
	if (ct_metrics_write(url, m, &e) < 0)
		sov_cli_warn("measurements: %s", e.msg);
}

/* Paths kept in meta.json for renew, which may run from anywhere. */
static int
absolute(const char *opt, const char *path)
{
	if (path[0] == '/' && strlen(path) < PATH_MAX)
		return 0;
	sov_cli_usage_error("%s: want an absolute path (renew runs it from "
			    "anywhere), got \"%.100s\"",
			    opt, path);
	return -1;
}

int
ct_cmd_issue(int argc, char **argv)
{
	enum {
		O_DOMAIN = CT_OPT_FIRST_OWN,
		O_CHAL,
		O_WEBROOT,
		O_STANDALONE,
		O_HOOK,
		O_KEYTYPE,
		O_PREFER,
		O_DEPLOY,
		O_PROFILE,
		O_REUSE_KEY,
		O_METRICS
	};
	static const struct option lo[] = {
	    CT_COMMON_OPTIONS,
	    {"domain", required_argument, NULL, O_DOMAIN},
	    {"challenge", required_argument, NULL, O_CHAL},
	    {"webroot", required_argument, NULL, O_WEBROOT},
	    {"standalone", required_argument, NULL, O_STANDALONE},
	    {"dns-hook", required_argument, NULL, O_HOOK},
	    {"key-type", required_argument, NULL, O_KEYTYPE},
	    {"preferred-chain", required_argument, NULL, O_PREFER},
	    {"deploy-hook", required_argument, NULL, O_DEPLOY},
	    {"profile", required_argument, NULL, O_PROFILE},
	    {"reuse-key", no_argument, NULL, O_REUSE_KEY},
	    {"metrics", required_argument, NULL, O_METRICS},
	    CT_NSUPDATE_OPTIONS,
	    {NULL, 0, NULL, 0}};
	const char *domains[MAX_DOMAINS];
	struct ct_issue_args a;
	struct ct_session s;
	struct ct_opts o;
	struct sov_err e = {0}, de = {0};
	struct sov_jsonl_writer *w = NULL;
	const char *metrics = NULL;
	int c, r, session = 0, rc = SOV_EXIT_USAGE;
	int64_t t0 = -1;
	jv rec = jv_invalid();

	memset(&a, 0, sizeof(a));
	ct_opts_init(&o);
	a.chal = CT_HTTP01;
	a.key_type = CT_EC256;
	a.domains = domains;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if ((r = ct_opts_take(&o, c, optarg, &e)) != 0) {
			if (r < 0)
				return sov_cli_fail(&e);
			continue;
		}
		if ((r = ct_nsupdate_take(&a, c, optarg, &e)) != 0) {
			if (r < 0)
				return sov_cli_fail(&e);
			continue;
		}
		switch (c) {
		case O_DOMAIN:
			if (a.ndomains >= MAX_DOMAINS)
				return sov_cli_usage_error(
				    "--domain: at most %d", MAX_DOMAINS);
			if (!ct_domain_ok(optarg))
				return sov_cli_usage_error(
				    "--domain: not a DNS name (lower case, "
				    "LDH labels, \"*.\" first allowed): "
				    "\"%.100s\"",
				    optarg);
			for (size_t i = 0; i < a.ndomains; i++)
				if (strcmp(domains[i], optarg) == 0)
					return sov_cli_usage_error(
					    "--domain %s: given twice", optarg);
			domains[a.ndomains++] = optarg;
			break;
		case O_CHAL:
			if (ct_chal_type_parse(optarg, &a.chal) < 0)
				return sov_cli_usage_error(
				    "--challenge: want http-01, dns-01 or "
				    "tls-alpn-01");
			break;
		case O_WEBROOT:
			if (absolute("--webroot", optarg) < 0)
				return SOV_EXIT_USAGE;
			a.webroot = optarg;
			break;
		case O_STANDALONE:
			if (ct_standalone_check(optarg, &e) < 0)
				return sov_cli_fail(&e);
			a.standalone = optarg;
			break;
		case O_HOOK:
			if (absolute("--dns-hook", optarg) < 0)
				return SOV_EXIT_USAGE;
			a.dns_hook = optarg;
			break;
		case O_KEYTYPE:
			if (ct_keytype_parse(optarg, &a.key_type) < 0)
				return sov_cli_usage_error(
				    "--key-type: want ec256, ec384, rsa2048, "
				    "rsa3072 or rsa4096");
			break;
		case O_DEPLOY:
			if (absolute("--deploy-hook", optarg) < 0)
				return SOV_EXIT_USAGE;
			a.deploy_hook = optarg;
			break;
		case O_PREFER:
			if (optarg[0] == '\0' || strlen(optarg) > 255)
				return sov_cli_usage_error(
				    "--preferred-chain: an issuer's common "
				    "name, 1 to 255 bytes");
			a.preferred_chain = optarg;
			break;
		case O_PROFILE:
			if (!ct_profile_ok(optarg))
				return sov_cli_usage_error(
				    "--profile: 1 to %d of A-Z a-z 0-9 . _ -",
				    CT_PROFILE_MAX);
			a.profile = optarg;
			break;
		case O_REUSE_KEY:
			a.reuse_key = 1;
			break;
		case O_METRICS:
			metrics = optarg;
			break;
		default:
			return SOV_EXIT_USAGE;
		}
	}
	metrics = ct_metrics_url(metrics);
	if (optind != argc - 1)
		return sov_cli_usage_error("issue: name one certificate");
	a.name = argv[optind];
	if (!ct_cert_name_ok(a.name))
		return sov_cli_usage_error(
		    "issue: NAME: 1 to %d of A-Z a-z 0-9 . _ -, not starting "
		    "with '.'",
		    CT_CERT_NAME_MAX);
	if (a.ndomains == 0) {
		if (!ct_domain_ok(a.name))
			return sov_cli_usage_error(
			    "issue: give --domain (NAME is not a DNS name)");
		domains[a.ndomains++] = a.name;
	}
	if (a.chal == CT_HTTP01 && a.webroot != NULL && a.standalone != NULL)
		return sov_cli_usage_error(
		    "http-01: give one of --webroot DIR or --standalone ADDR");
	if (a.chal == CT_HTTP01 && a.webroot == NULL && a.standalone == NULL)
		a.standalone = ":80"; /* the built-in responder by default */
	if (a.chal == CT_TLSALPN01 && (a.webroot || a.dns_hook))
		return sov_cli_usage_error(
		    "tls-alpn-01: --webroot and --dns-hook do not apply");
	if (a.chal == CT_TLSALPN01 && a.standalone == NULL)
		a.standalone = ":443";
	if (ct_nsupdate_check(&a, &e) < 0)
		return sov_cli_fail(&e);
	if (a.chal == CT_DNS01 && a.dns_hook == NULL && a.dns_nsupdate == NULL)
		return sov_cli_usage_error(
		    "dns-01: give --dns-hook CMD or --dns-nsupdate SERVER");
	if (a.chal != CT_DNS01)
		for (size_t i = 0; i < a.ndomains; i++)
			if (domains[i][0] == '*')
				return sov_cli_usage_error(
				    "%s: a wildcard needs dns-01", domains[i]);
	if (a.chal == CT_DNS01 && (a.webroot || a.standalone))
		return sov_cli_usage_error(
		    "dns-01: --webroot and --standalone do not apply");
	if (a.chal == CT_HTTP01 && a.dns_hook)
		return sov_cli_usage_error(
		    "http-01: --dns-hook does not apply");
	a.timeout_s = o.timeout_s;

	w = sov_jsonl_writer_new(stdout, "stdout", 0);
	if (w == NULL)
		return SOV_EXIT_FAIL;
	t0 = sov_time_mono_ms();
	if (ct_session_open(&s, &o, &e) < 0)
		goto fail;
	session = 1;
	if (ct_issue_one(&s, &a, &rec, &de, &e) < 0)
		goto fail;
	ct_session_close(&s);
	session = 0;
	issue_metrics(metrics, a.name, t0, rec);
	if (sov_jsonl_write(w, rec, &e) < 0)
		goto fail;
	if (sov_jsonl_writer_close(w, &e) < 0)
		return sov_cli_fail(&e);
	return de.code != SOV_EXIT_OK ? sov_cli_fail(&de) : SOV_EXIT_OK;
fail:
	rc = sov_cli_fail(&e);
	if (session)
		ct_session_close(&s);
	if (t0 >= 0 && rc != SOV_EXIT_USAGE)
		issue_metrics(metrics, a.name, t0,
			      jv_string(rc == SOV_EXIT_TEMPFAIL ? "tempfailed"
								: "failed"));
	sov_jsonl_writer_close(w, NULL);
	return rc;
}
