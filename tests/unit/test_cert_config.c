/*
 * test_cert_config.c - the definitions file of `sov-cert sync`
 * (tools/sov-cert/config.c): a full file and the defaults; every refusal a
 * usage error naming the file and the JSON path of the bad field; and
 * ct_config_changed, which decides a reissue from meta.json.
 */
#include <stdlib.h>
#include <string.h>

#include <jv.h>

#include "config.h"
#include "tap.h"

static struct ct_config *
P(const char *s, struct sov_err *e)
{
	sov_err_clear(e);
	return ct_config_parse(s, strlen(s), "c.json", e);
}

static void
test_full(void)
{
	struct sov_err e = {0};
	struct ct_config *c;
	const struct ct_cfg_cert *k;

	c = P("{\"server\":\"https://ca.test/dir\",\"ca_file\":\"/etc/ca.pem\","
	      "\"account\":{\"email\":\"ops@example.org\",\"agree_tos\":true,"
	      "\"eab_kid\":\"kid\",\"eab_hmac_file\":\"/run/keys/eab\"},"
	      "\"certs\":{\"web\":{\"domains\":[\"example.org\","
	      "\"www.example.org\"],\"key_type\":\"rsa2048\","
	      "\"challenge\":\"http-01\",\"webroot\":\"/srv/acme\","
	      "\"deploy_hook\":\"/bin/hook\",\"preferred_chain\":\"Root X\"},"
	      "\"api\":{\"domains\":[\"api.example.org\"]},"
	      "\"wild\":{\"domains\":[\"*.example.org\"],\"challenge\":"
	      "\"dns-01\",\"dns_hook\":\"/bin/dns\",\"standalone\":null}}}",
	      &e);
	ok(c != NULL, "a full file is accepted (%s)", e.msg);
	if (c == NULL) {
		skip(14, "nothing parsed");
		return;
	}
	is_str(c->server, "https://ca.test/dir", "server");
	is_str(c->ca_file, "/etc/ca.pem", "ca_file");
	is_str(c->email, "ops@example.org", "account.email");
	ok(c->agree_tos, "account.agree_tos");
	is_str(c->eab_kid, "kid", "account.eab_kid");
	is_str(c->eab_hmac_file, "/run/keys/eab", "account.eab_hmac_file");
	is_int(c->ncerts, 3, "three certificates");
	ok(strcmp(c->certs[0].name, "api") == 0 &&
	       strcmp(c->certs[1].name, "web") == 0 &&
	       strcmp(c->certs[2].name, "wild") == 0,
	   "sorted by name");
	k = &c->certs[0];
	ok(k->chal == CT_HTTP01 && k->key_type == CT_EC256 &&
	       k->webroot == NULL && k->standalone != NULL &&
	       strcmp(k->standalone, ":80") == 0 && k->deploy_hook == NULL,
	   "defaults: http-01, ec256, the responder on :80");
	k = ct_config_find(c, "web");
	ok(k != NULL && k->ndomains == 2 &&
	       strcmp(k->domains[1], "www.example.org") == 0 &&
	       k->key_type == CT_RSA2048 && k->standalone == NULL,
	   "web: names in order, rsa2048, no responder");
	ok(k != NULL && strcmp(k->webroot, "/srv/acme") == 0 &&
	       strcmp(k->deploy_hook, "/bin/hook") == 0 &&
	       strcmp(k->preferred_chain, "Root X") == 0,
	   "web: webroot, deploy hook, preferred chain");
	k = ct_config_find(c, "wild");
	ok(k != NULL && k->chal == CT_DNS01 &&
	       strcmp(k->dns_hook, "/bin/dns") == 0 && k->standalone == NULL,
	   "wild: dns-01 with its hook; null is absent");
	ok(ct_config_find(c, "nope") == NULL, "find: an undeclared name");
	ct_config_free(c);
	c = P("{\"certs\":{\"tls\":{\"domains\":[\"a.test\"],"
	      "\"challenge\":\"tls-alpn-01\"}}}",
	      &e);
	ok(c != NULL && c->certs[0].chal == CT_TLSALPN01 &&
	       c->certs[0].standalone != NULL &&
	       strcmp(c->certs[0].standalone, ":443") == 0,
	   "tls-alpn-01: its TLS server on :443 by default (%s)", e.msg);
	ct_config_free(c);

	c = P("{\"certs\":{}}", &e);
	ok(c != NULL && c->ncerts == 0 && c->server == NULL && !c->agree_tos,
	   "no certificates is a valid file");
	ct_config_free(c);
	ct_config_free(NULL);
	ok(1, "ct_config_free(NULL)");
}

static void
test_bad(void)
{
	static const char *bad[][2] = {
	    {"", "c.json: invalid JSON"},
	    {"[]", "c.json: .: must be an object"},
	    {"{}", "c.json: certs: required"},
	    {"{\"certs\":[]}", "c.json: certs: must be an object"},
	    {"{\"cert\":{}}", "unknown field (did you mean \"certs\"?)"},
	    {"{\"certs\":{},\"server\":\"ftp://x\"}",
	     "c.json: server: must be an http(s) URL"},
	    {"{\"certs\":{},\"server\":5}", "server: must be a string"},
	    {"{\"certs\":{},\"ca_file\":\"ca.pem\"}",
	     "ca_file: must be an absolute path"},
	    {"{\"certs\":{},\"account\":{\"email\":\"nobody\"}}",
	     "account.email: not an address"},
	    {"{\"certs\":{},\"account\":{\"agree_tos\":\"yes\"}}",
	     "account.agree_tos: must be true or false"},
	    {"{\"certs\":{},\"account\":{\"eab_hmac_file\":\"/k\"}}",
	     "account: eab_hmac_file needs eab_kid"},
	    {"{\"certs\":{},\"account\":{\"eab_kid\":\"\"}}",
	     "account.eab_kid: must not be empty"},
	    {"{\"certs\":{\".web\":{\"domains\":[\"a.test\"]}}}",
	     "certs[\".web\"]: a certificate name"},
	    {"{\"certs\":{\"a/b\":{\"domains\":[\"a.test\"]}}}",
	     "a certificate name"},
	    {"{\"certs\":{\"web\":{}}}", "certs.web.domains: required"},
	    {"{\"certs\":{\"web\":[]}}", "certs.web: must be an object"},
	    {"{\"certs\":{\"web\":{\"domains\":[]}}}",
	     "certs.web.domains: must be an array of 1 to 100"},
	    {"{\"certs\":{\"web\":{\"domains\":\"a.test\"}}}",
	     "certs.web.domains: must be an array"},
	    {"{\"certs\":{\"web\":{\"domains\":[\"a.test\",\"A.test\"]}}}",
	     "certs.web.domains[1]: not a DNS name"},
	    {"{\"certs\":{\"web\":{\"domains\":[\"a.test\",7]}}}",
	     "certs.web.domains[1]: must be a string"},
	    {"{\"certs\":{\"web\":{\"domains\":[\"a.test\",\"a.test\"]}}}",
	     "certs.web.domains[1]: \"a.test\" is given twice"},
	    {"{\"certs\":{\"web\":{\"domains\":[\"a.test\"],\"key_type\":"
	     "\"ec521\"}}}",
	     "certs.web.key_type: must be one of ec256"},
	    {"{\"certs\":{\"web\":{\"domains\":[\"a.test\"],\"challenge\":"
	     "\"tls-alpn-02\"}}}",
	     "certs.web.challenge: must be \"http-01\", \"dns-01\" or "
	     "\"tls-alpn-01\""},
	    {"{\"certs\":{\"web\":{\"domains\":[\"a.test\"],\"challenge\":"
	     "\"tls-alpn-01\",\"webroot\":\"/srv\"}}}",
	     "certs.web: tls-alpn-01: webroot and dns_hook do not apply"},
	    {"{\"certs\":{\"web\":{\"domains\":[\"*.a.test\"],\"challenge\":"
	     "\"tls-alpn-01\"}}}",
	     "certs.web: *.a.test: a wildcard needs dns-01"},
	    {"{\"certs\":{\"web\":{\"domains\":[\"a.test\"],\"webroot\":"
	     "\"srv\"}}}",
	     "certs.web.webroot: must be an absolute path"},
	    {"{\"certs\":{\"web\":{\"domains\":[\"a.test\"],\"standalone\":"
	     "\"nowhere\"}}}",
	     "certs.web.standalone: "},
	    {"{\"certs\":{\"web\":{\"domains\":[\"a.test\"],\"standalone\":"
	     "\":80\",\"webroot\":\"/w\"}}}",
	     "certs.web: http-01: give one of webroot and standalone"},
	    {"{\"certs\":{\"web\":{\"domains\":[\"a.test\"],\"dns_hook\":"
	     "\"/h\"}}}",
	     "certs.web: http-01: dns_hook does not apply"},
	    {"{\"certs\":{\"web\":{\"domains\":[\"*.a.test\"]}}}",
	     "certs.web: *.a.test: a wildcard needs dns-01"},
	    {"{\"certs\":{\"web\":{\"domains\":[\"a.test\"],\"challenge\":"
	     "\"dns-01\"}}}",
	     "certs.web: dns-01 needs dns_hook"},
	    {"{\"certs\":{\"web\":{\"domains\":[\"a.test\"],\"challenge\":"
	     "\"dns-01\",\"dns_hook\":\"/h\",\"webroot\":\"/w\"}}}",
	     "certs.web: dns-01: webroot and standalone do not apply"},
	    {"{\"certs\":{\"web\":{\"domains\":[\"a.test\"],\"deploy_hook\":"
	     "\"reload\"}}}",
	     "certs.web.deploy_hook: must be an absolute path"},
	    {"{\"certs\":{\"web\":{\"domains\":[\"a.test\"],\"preferred_"
	     "chain\":\"\"}}}",
	     "certs.web.preferred_chain: must not be empty"},
	    {"{\"certs\":{\"web\":{\"domains\":[\"a.test\"],\"Domains\":[]}}}",
	     "certs.web.Domains: unknown field"},
	    {"{\"certs\":{\"web\":{\"domains\":[\"a.test\"],\"webroot\":"
	     "\"/a\\u0000b\"}}}",
	     "certs.web.webroot: contains a NUL"},
	};
	struct sov_err e = {0};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ct_config *c = P(bad[i][0], &e);

		ok(c == NULL && e.code == SOV_EXIT_USAGE &&
		       strstr(e.msg, bad[i][1]) != NULL &&
		       strncmp(e.msg, "c.json: ", 8) == 0,
		   "refused: %s", bad[i][1]);
		if (c != NULL || strstr(e.msg, bad[i][1]) == NULL)
			diag("  got: %s", c ? "(accepted)" : e.msg);
		ct_config_free(c);
	}
}

static void
test_limits(void)
{
	struct sov_err e = {0};
	struct ct_config *c;
	char *s = malloc(CT_CONFIG_FILE_MAX + 2);
	size_t n = 0;

	if (s == NULL) {
		skip(3, "out of memory");
		return;
	}
	n += (size_t)sprintf(s, "{\"certs\":{");
	for (int i = 0; i <= CT_CONFIG_CERTS_MAX; i++)
		n += (size_t)sprintf(s + n,
				     "%s\"c%d\":{\"domains\":[\"a.test\"]}",
				     i ? "," : "", i);
	sprintf(s + n, "}}");
	c = P(s, &e);
	ok(c == NULL && strstr(e.msg, "certs: more than 100 certificates"),
	   "101 certificates refused (%s)", e.msg);
	ct_config_free(c);

	n = (size_t)sprintf(s, "{\"certs\":{\"w\":{\"domains\":[");
	for (int i = 0; i <= CT_CONFIG_DOMAINS_MAX; i++)
		n += (size_t)sprintf(s + n, "%s\"d%d.test\"", i ? "," : "", i);
	sprintf(s + n, "]}}}");
	c = P(s, &e);
	ok(c == NULL && strstr(e.msg, "certs.w.domains: must be an array of "
				      "1 to 100"),
	   "101 names refused (%s)", e.msg);
	ct_config_free(c);

	memset(s, ' ', CT_CONFIG_FILE_MAX + 1);
	c = ct_config_parse(s, CT_CONFIG_FILE_MAX + 1, "c.json", &e);
	ok(c == NULL && strstr(e.msg, "larger than"),
	   "a file over 1 MiB refused");
	ct_config_free(c);
	free(s);
}

static void
test_changed(void)
{
	struct sov_err e = {0};
	struct ct_config *c =
	    P("{\"certs\":{\"web\":{\"domains\":[\"a.test\",\"b.test\"],"
	      "\"key_type\":\"ec384\"}}}",
	      &e);
	const struct ct_cfg_cert *k = c ? &c->certs[0] : NULL;
	const char *w;

	if (k == NULL) {
		diag("%s", e.msg);
		skip(7, "nothing parsed");
		return;
	}
#define META(d, kt, sv)                                                        \
	jv_parse("{\"domains\":" d ",\"key_type\":\"" kt "\",\"server\":\"" sv \
		 "\"}")
	w = ct_config_changed(
	    k, META("[\"b.test\",\"a.test\"]", "ec384", "https://ca/"),
	    "https://ca/");
	ok(w == NULL, "same names in another order, same key type and CA");
	w = ct_config_changed(k, META("[\"a.test\"]", "ec384", "https://ca/"),
			      "https://ca/");
	is_str(w, "domains changed", "a name added");
	w = ct_config_changed(
	    k, META("[\"a.test\",\"b.test\",\"c.test\"]", "ec384", "x"), NULL);
	is_str(w, "domains changed", "a name removed");
	w = ct_config_changed(k, META("[\"a.test\",\"c.test\"]", "ec384", "x"),
			      NULL);
	is_str(w, "domains changed", "a name replaced");
	w = ct_config_changed(k, META("[\"a.test\",\"b.test\"]", "ec256", "x"),
			      NULL);
	is_str(w, "key type changed", "key type");
	w = ct_config_changed(
	    k, META("[\"a.test\",\"b.test\"]", "ec384", "https://staging/"),
	    "https://ca/");
	is_str(w, "CA changed", "another CA");
	w = ct_config_changed(k, jv_invalid(), NULL);
	is_str(w, "no meta.json", "no meta.json (a placeholder)");
#undef META
	ct_config_free(c);
}

int
main(void)
{
	test_full();
	test_bad();
	test_limits();
	test_changed();
	return done_testing();
}
