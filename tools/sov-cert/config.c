/*
 * config.c - the definitions file of `sov-cert sync` (config.h): parsed
 * with libsov's jcheck helpers, so every error names the JSON path, and
 * checked as `sov-cert issue` checks its options.
 */
#include <stdlib.h>
#include <string.h>

#include "acme.h"
#include "cert.h"
#include "config.h"
#include "fs.h"
#include "jcheck.h"
#include "jsonl.h"

#define PATH_FIELD_MAX 4095 /* bytes of a path (PATH_MAX less the NUL) */

/* s as a message shows it: printable ASCII, at most 100 bytes. */
static const char *
shown(const char *s, char buf[104])
{
	size_t i = 0;

	for (; s[i] != '\0' && i < 100; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (s[i] != '\0' && i >= 100) {
		memcpy(buf + 97, "...", 3);
		i = 100;
	}
	buf[i] = '\0';
	return buf;
}

/* null: absent, else a string of 1..max bytes into *out. */
static int
opt_string(struct sov_jcheck *c, jv v, size_t max, char **out)
{
	if (jv_get_kind(v) == JV_KIND_NULL)
		return 0;
	return sov_jcheck_string(c, v, max, out);
}

/* An absolute path (renewals run from anywhere), or null. */
static int
opt_path(struct sov_jcheck *c, jv v, char **out)
{
	char b[104];

	if (opt_string(c, v, PATH_FIELD_MAX, out) < 0)
		return -1;
	if (*out != NULL && (*out)[0] != '/')
		return sov_jcheck_fail(c,
				       "must be an absolute path, not "
				       "\"%s\"",
				       shown(*out, b));
	return 0;
}

static int
opt_bool(struct sov_jcheck *c, jv v, int *out)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_NULL:
		return 0;
	case JV_KIND_TRUE:
		*out = 1;
		return 0;
	case JV_KIND_FALSE:
		*out = 0;
		return 0;
	default:
		return sov_jcheck_fail(c, "must be true or false, not %s",
				       sov_jcheck_kind(v));
	}
}

/* ---- one certificate ---- */

static int
f_domains(struct sov_jcheck *c, jv v, void *t)
{
	struct ct_cfg_cert *k = t;
	char b[104];
	int n;

	if (jv_get_kind(v) != JV_KIND_ARRAY ||
	    (n = jv_array_length(jv_copy(v))) < 1 || n > CT_CONFIG_DOMAINS_MAX)
		return sov_jcheck_fail(c,
				       "must be an array of 1 to %d DNS "
				       "names",
				       CT_CONFIG_DOMAINS_MAX);
	k->domains = calloc((size_t)n, sizeof(char *));
	if (k->domains == NULL)
		return sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
	for (int i = 0; i < n; i++) {
		size_t old = sov_jcheck_push_index(c, i);
		jv d = jv_array_get(jv_copy(v), i);
		int r = sov_jcheck_string(c, d, 253, &k->domains[i]);

		jv_free(d);
		if (r < 0)
			return -1;
		k->ndomains++;
		if (!ct_domain_ok(k->domains[i]))
			return sov_jcheck_fail(c,
					       "not a DNS name (lower case, "
					       "LDH labels, \"*.\" first "
					       "allowed): \"%s\"",
					       shown(k->domains[i], b));
		for (int j = 0; j < i; j++)
			if (strcmp(k->domains[j], k->domains[i]) == 0)
				return sov_jcheck_fail(
				    c, "\"%s\" is given twice", k->domains[i]);
		sov_jcheck_pop(c, old);
	}
	return 0;
}

static int
f_key_type(struct sov_jcheck *c, jv v, void *t)
{
	struct ct_cfg_cert *k = t;

	if (jv_get_kind(v) == JV_KIND_NULL)
		return 0;
	if (jv_get_kind(v) != JV_KIND_STRING ||
	    ct_keytype_parse(jv_string_value(v), &k->key_type) < 0)
		return sov_jcheck_fail(c, "must be one of ec256, ec384, "
					  "rsa2048, rsa3072, rsa4096");
	return 0;
}

static int
f_challenge(struct sov_jcheck *c, jv v, void *t)
{
	struct ct_cfg_cert *k = t;

	if (jv_get_kind(v) == JV_KIND_NULL)
		return 0;
	if (jv_get_kind(v) != JV_KIND_STRING ||
	    ct_chal_type_parse(jv_string_value(v), &k->chal) < 0)
		return sov_jcheck_fail(
		    c, "must be \"http-01\", \"dns-01\" or \"tls-alpn-01\"");
	return 0;
}

static int
f_webroot(struct sov_jcheck *c, jv v, void *t)
{
	return opt_path(c, v, &((struct ct_cfg_cert *)t)->webroot);
}

static int
f_standalone(struct sov_jcheck *c, jv v, void *t)
{
	struct ct_cfg_cert *k = t;
	struct sov_err e = {0};

	if (opt_string(c, v, 64, &k->standalone) < 0)
		return -1;
	if (k->standalone != NULL && ct_standalone_check(k->standalone, &e) < 0)
		return sov_jcheck_fail(c, "%s", e.msg);
	return 0;
}

static int
f_dns_hook(struct sov_jcheck *c, jv v, void *t)
{
	return opt_path(c, v, &((struct ct_cfg_cert *)t)->dns_hook);
}

static int
f_deploy_hook(struct sov_jcheck *c, jv v, void *t)
{
	return opt_path(c, v, &((struct ct_cfg_cert *)t)->deploy_hook);
}

static int
f_preferred_chain(struct sov_jcheck *c, jv v, void *t)
{
	return opt_string(c, v, CT_CONFIG_CHAIN_MAX,
			  &((struct ct_cfg_cert *)t)->preferred_chain);
}

static const struct sov_jfield cert_fields[] = {
    {"challenge", f_challenge},
    {"deploy_hook", f_deploy_hook},
    {"dns_hook", f_dns_hook},
    {"domains", f_domains},
    {"key_type", f_key_type},
    {"preferred_chain", f_preferred_chain},
    {"standalone", f_standalone},
    {"webroot", f_webroot},
    {NULL, NULL},
};

/* What issue checks across its options, on a parsed certificate. */
static int
cert_consistent(struct sov_jcheck *c, struct ct_cfg_cert *k)
{
	if (k->ndomains == 0) {
		size_t old = sov_jcheck_push_name(c, "domains");
		int r = sov_jcheck_fail(c, "required");

		sov_jcheck_pop(c, old);
		return r;
	}
	if (k->chal == CT_HTTP01) {
		if (k->webroot != NULL && k->standalone != NULL)
			return sov_jcheck_fail(c, "http-01: give one of "
						  "webroot and standalone");
		if (k->dns_hook != NULL)
			return sov_jcheck_fail(c, "http-01: dns_hook does "
						  "not apply");
		for (size_t i = 0; i < k->ndomains; i++)
			if (k->domains[i][0] == '*')
				return sov_jcheck_fail(
				    c, "%s: a wildcard needs dns-01",
				    k->domains[i]);
		if (k->webroot == NULL && k->standalone == NULL &&
		    (k->standalone = strdup(":80")) == NULL)
			return sov_err_set(c->e, SOV_EXIT_FAIL,
					   "out of memory");
	} else if (k->chal == CT_TLSALPN01) {
		/* the built-in TLS server on standalone (default :443) */
		if (k->webroot != NULL || k->dns_hook != NULL)
			return sov_jcheck_fail(c, "tls-alpn-01: webroot and "
						  "dns_hook do not apply");
		for (size_t i = 0; i < k->ndomains; i++)
			if (k->domains[i][0] == '*')
				return sov_jcheck_fail(
				    c, "%s: a wildcard needs dns-01",
				    k->domains[i]);
		if (k->standalone == NULL &&
		    (k->standalone = strdup(":443")) == NULL)
			return sov_err_set(c->e, SOV_EXIT_FAIL,
					   "out of memory");
	} else {
		if (k->dns_hook == NULL)
			return sov_jcheck_fail(c, "dns-01 needs dns_hook");
		if (k->webroot != NULL || k->standalone != NULL)
			return sov_jcheck_fail(c, "dns-01: webroot and "
						  "standalone do not apply");
	}
	return 0;
}

static void
cert_clear(struct ct_cfg_cert *k)
{
	free(k->name);
	for (size_t i = 0; i < k->ndomains; i++)
		free(k->domains[i]);
	free(k->domains);
	free(k->webroot);
	free(k->standalone);
	free(k->dns_hook);
	free(k->deploy_hook);
	free(k->preferred_chain);
}

/* ---- the document ---- */

static int
f_certs(struct sov_jcheck *c, jv v, void *t)
{
	struct ct_config *cfg = t;
	jv keys;
	int n, rc = -1;

	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return sov_jcheck_fail(c,
				       "must be an object of certificates "
				       "by name, not %s",
				       sov_jcheck_kind(v));
	keys = jv_keys(jv_copy(v)); /* sorted */
	n = jv_array_length(jv_copy(keys));
	if (n > CT_CONFIG_CERTS_MAX) {
		sov_jcheck_fail(c, "more than %d certificates",
				CT_CONFIG_CERTS_MAX);
		goto out;
	}
	cfg->certs = calloc(n > 0 ? (size_t)n : 1, sizeof(*cfg->certs));
	if (cfg->certs == NULL) {
		sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		jv key = jv_array_get(jv_copy(keys), i);
		jv val = jv_object_get(jv_copy(v), jv_copy(key));
		size_t old = sov_jcheck_push_key(c, key);
		struct ct_cfg_cert *k = &cfg->certs[cfg->ncerts++];
		int r;

		k->chal = CT_HTTP01;
		k->key_type = CT_EC256;
		if (!ct_cert_name_ok(jv_string_value(key)) ||
		    strlen(jv_string_value(key)) !=
			(size_t)jv_string_length_bytes(jv_copy(key)))
			r = sov_jcheck_fail(c,
					    "a certificate name is 1 to %d "
					    "of A-Z a-z 0-9 . _ -, not "
					    "starting with '.'",
					    CT_CERT_NAME_MAX);
		else if ((k->name = strdup(jv_string_value(key))) == NULL)
			r = sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
		else if ((r = sov_jcheck_object(c, val, cert_fields, k)) == 0)
			r = cert_consistent(c, k);
		jv_free(key);
		jv_free(val);
		if (r < 0)
			goto out;
		sov_jcheck_pop(c, old);
	}
	rc = 0;
out:
	jv_free(keys);
	return rc;
}

static int
f_server(struct sov_jcheck *c, jv v, void *t)
{
	struct ct_config *cfg = t;
	char b[104];

	if (opt_string(c, v, CT_URL_MAX, &cfg->server) < 0)
		return -1;
	if (cfg->server != NULL && !ct_url_ok(cfg->server))
		return sov_jcheck_fail(c,
				       "must be an http(s) URL, not "
				       "\"%s\"",
				       shown(cfg->server, b));
	return 0;
}

static int
f_ca_file(struct sov_jcheck *c, jv v, void *t)
{
	return opt_path(c, v, &((struct ct_config *)t)->ca_file);
}

static int
a_email(struct sov_jcheck *c, jv v, void *t)
{
	struct ct_config *cfg = t;
	char b[104];

	if (opt_string(c, v, CT_EMAIL_MAX, &cfg->email) < 0)
		return -1;
	if (cfg->email != NULL && (strchr(cfg->email, '@') == NULL ||
				   strpbrk(cfg->email, " ,:<>\"\r\n\t")))
		return sov_jcheck_fail(c, "not an address: \"%s\"",
				       shown(cfg->email, b));
	return 0;
}

static int
a_agree_tos(struct sov_jcheck *c, jv v, void *t)
{
	return opt_bool(c, v, &((struct ct_config *)t)->agree_tos);
}

static int
a_eab_kid(struct sov_jcheck *c, jv v, void *t)
{
	return opt_string(c, v, CT_EAB_KID_MAX,
			  &((struct ct_config *)t)->eab_kid);
}

static int
a_eab_hmac_file(struct sov_jcheck *c, jv v, void *t)
{
	return opt_path(c, v, &((struct ct_config *)t)->eab_hmac_file);
}

static const struct sov_jfield account_fields[] = {
    {"agree_tos", a_agree_tos},
    {"eab_hmac_file", a_eab_hmac_file},
    {"eab_kid", a_eab_kid},
    {"email", a_email},
    {NULL, NULL},
};

static int
f_account(struct sov_jcheck *c, jv v, void *t)
{
	struct ct_config *cfg = t;

	if (jv_get_kind(v) == JV_KIND_NULL)
		return 0;
	if (sov_jcheck_object(c, v, account_fields, cfg) < 0)
		return -1;
	if (cfg->eab_hmac_file != NULL && cfg->eab_kid == NULL)
		return sov_jcheck_fail(c, "eab_hmac_file needs eab_kid");
	return 0;
}

static const struct sov_jfield top_fields[] = {
    {"account", f_account}, {"ca_file", f_ca_file}, {"certs", f_certs},
    {"server", f_server},   {NULL, NULL},
};

void
ct_config_free(struct ct_config *c)
{
	if (c == NULL)
		return;
	free(c->server);
	free(c->ca_file);
	free(c->email);
	free(c->eab_kid);
	free(c->eab_hmac_file);
	for (size_t i = 0; i < c->ncerts; i++)
		cert_clear(&c->certs[i]);
	free(c->certs);
	free(c);
}

struct ct_config *
ct_config_parse(const char *text, size_t len, const char *file,
		struct sov_err *e)
{
	struct sov_jcheck c;
	struct ct_config *cfg = NULL;
	jv doc;

	if (len > CT_CONFIG_FILE_MAX) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: larger than %u bytes", file,
			    CT_CONFIG_FILE_MAX);
		return NULL;
	}
	doc = sov_json_parse(text, len, e);
	if (!jv_is_valid(doc)) {
		sov_err_prefix(e, "%s: ", file);
		return NULL;
	}
	memset(&c, 0, sizeof(c));
	c.file = file;
	c.e = e;
	c.path[0] = '\0';
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
		goto fail;
	}
	if (sov_jcheck_object(&c, doc, top_fields, cfg) < 0)
		goto fail;
	if (cfg->certs == NULL) {
		sov_jcheck_push_name(&c, "certs");
		sov_jcheck_fail(&c, "required");
		goto fail;
	}
	jv_free(doc);
	return cfg;
fail:
	jv_free(doc);
	ct_config_free(cfg);
	return NULL;
}

struct ct_config *
ct_config_load(const char *path, struct sov_err *e)
{
	const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
	struct ct_config *cfg;
	char *text = NULL;
	size_t len = 0;

	if (sov_file_read(path, CT_CONFIG_FILE_MAX, &text, &len, e) < 0)
		return NULL;
	cfg = ct_config_parse(text, len, name, e);
	free(text);
	return cfg;
}

const struct ct_cfg_cert *
ct_config_find(const struct ct_config *c, const char *name)
{
	for (size_t i = 0; i < c->ncerts; i++)
		if (strcmp(c->certs[i].name, name) == 0)
			return &c->certs[i];
	return NULL;
}

/* Whether the strings of meta's array ds are the n names of v, as sets. */
static int
same_names(jv ds, char *const *v, size_t n)
{
	int m;

	if (jv_get_kind(ds) != JV_KIND_ARRAY ||
	    (m = jv_array_length(jv_copy(ds))) < 0 || (size_t)m != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int found = 0;

		for (int j = 0; j < m && !found; j++) {
			jv d = jv_array_get(jv_copy(ds), j);

			found = jv_get_kind(d) == JV_KIND_STRING &&
				strcmp(jv_string_value(d), v[i]) == 0;
			jv_free(d);
		}
		if (!found)
			return 0;
	}
	return 1; /* n distinct names (checked), each among m == n */
}

const char *
ct_config_changed(const struct ct_cfg_cert *k, jv meta, const char *server)
{
	jv ds, kt, sv;
	const char *why = NULL;

	if (jv_get_kind(meta) != JV_KIND_OBJECT) {
		jv_free(meta);
		return "no meta.json";
	}
	ds = jv_object_get(jv_copy(meta), jv_string("domains"));
	kt = jv_object_get(jv_copy(meta), jv_string("key_type"));
	sv = jv_object_get(jv_copy(meta), jv_string("server"));
	if (!same_names(ds, k->domains, k->ndomains))
		why = "domains changed";
	else if (jv_get_kind(kt) != JV_KIND_STRING ||
		 strcmp(jv_string_value(kt), ct_keytype_name(k->key_type)) != 0)
		why = "key type changed";
	else if (server != NULL && jv_get_kind(sv) == JV_KIND_STRING &&
		 strcmp(jv_string_value(sv), server) != 0)
		why = "CA changed";
	jv_free(ds);
	jv_free(kt);
	jv_free(sv);
	jv_free(meta);
	return why;
}
