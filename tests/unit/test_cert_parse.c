/*
 * test_cert_parse.c - the parsers of CA responses: directory, order,
 * authorization, problem documents; URL, nonce, name and domain checks.
 * Each refusal must say what was wrong; nothing may be half-filled.
 */
#include <stdlib.h>
#include <string.h>

#include <jv.h>

#include "acme.h"
#include "state.h"
#include "tap.h"

#define U "https://ca.test/"

static jv
J(const char *s)
{
	return jv_parse(s);
}

static void
test_dir(void)
{
	struct sov_err e = {0};
	struct ct_dir d;

	ok(ct_dir_parse(J("{\"newNonce\":\"" U "n\",\"newAccount\":\"" U
			  "a\",\"newOrder\":\"" U "o\",\"revokeCert\":\"" U
			  "r\",\"meta\":{\"termsOfService\":\"" U
			  "tos\",\"externalAccountRequired\":true}}"),
			"dir", &d, &e) == 0,
	   "a full directory");
	is_str(d.new_order, U "o", "newOrder");
	is_str(d.terms, U "tos", "termsOfService");
	ok(d.eab_required && d.renewal_info == NULL, "EAB flag, no ARI");
	ct_dir_free(&d);
	static const char *bad[][2] = {
	    {"[]", "want a JSON object"},
	    {"{\"newNonce\":\"" U "n\",\"newAccount\":\"" U "a\"}",
	     "newOrder is missing"},
	    {"{\"newNonce\":\"" U "n\",\"newAccount\":\"file:///x\","
	     "\"newOrder\":\"" U "o\"}",
	     "newAccount is not an http(s) URL"},
	    {"{\"newNonce\":5,\"newAccount\":\"" U "a\",\"newOrder\":\"" U
	     "o\"}",
	     "newNonce is not a string"},
	    {"{\"newNonce\":\"" U "n\\u0000x\",\"newAccount\":\"" U
	     "a\",\"newOrder\":\"" U "o\"}",
	     "newNonce"},
	    {"{\"newNonce\":\"" U "a b\",\"newAccount\":\"" U
	     "a\",\"newOrder\":\"" U "o\"}",
	     "not an http(s) URL"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sov_err_clear(&e);
		ok(ct_dir_parse(J(bad[i][0]), "dir", &d, &e) < 0 &&
		       e.code == SOV_EXIT_FAIL && strstr(e.msg, bad[i][1]) &&
		       d.new_nonce == NULL,
		   "refused: %s (%s)", bad[i][1], e.msg);
	}
}

static void
test_order(void)
{
	struct sov_err e = {0};
	struct ct_order o;

	ok(ct_order_parse(J("{\"status\":\"pending\",\"authorizations\":[\"" U
			    "z1\",\"" U "z2\"],\"finalize\":\"" U "f\"}"),
			  "o", &o, &e) == 0,
	   "an order");
	ok(o.status == CT_ST_PENDING && o.nauthzs == 2 &&
	       o.certificate == NULL && jv_get_kind(o.error) == JV_KIND_NULL,
	   "its fields");
	ct_order_free(&o);
	ok(ct_order_parse(J("{\"status\":\"invalid\",\"authorizations\":[\"" U
			    "z\"],\"finalize\":\"" U "f\",\"error\":{\"type\":"
			    "\"urn:x\"}}"),
			  "o", &o, &e) == 0 &&
	       o.status == CT_ST_INVALID &&
	       strcmp(ct_problem_type(o.error), "urn:x") == 0,
	   "an invalid order keeps its problem");
	ct_order_free(&o);
	static const char *bad[][2] = {
	    {"{\"authorizations\":[\"" U "z\"],\"finalize\":\"" U "f\"}",
	     "status missing"},
	    {"{\"status\":\"weird\",\"authorizations\":[\"" U
	     "z\"],\"finalize\":\"" U "f\"}",
	     "status missing or unknown"},
	    {"{\"status\":\"ready\",\"authorizations\":[],\"finalize\":\"" U
	     "f\"}",
	     "0 authorizations"},
	    {"{\"status\":\"ready\",\"authorizations\":[7],\"finalize\":\"" U
	     "f\"}",
	     "authorizations[0] is not a URL"},
	    {"{\"status\":\"ready\",\"authorizations\":\"" U
	     "z\",\"finalize\":\"" U "f\"}",
	     "not an array"},
	    {"{\"status\":\"ready\",\"authorizations\":[\"" U "z\"]}",
	     "finalize is missing"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sov_err_clear(&e);
		ok(ct_order_parse(J(bad[i][0]), "o", &o, &e) < 0 &&
		       strstr(e.msg, bad[i][1]) && o.authzs == NULL,
		   "refused: %s (%s)", bad[i][1], e.msg);
	}
}

static void
test_authz(void)
{
	struct sov_err e = {0};
	struct ct_authz a;

	ok(ct_authz_parse(
	       J("{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
		 "\"value\":\"w.test\"},\"wildcard\":true,\"challenges\":["
		 "{\"type\":\"dns-01\",\"url\":\"" U "c1\",\"token\":\"t1\","
		 "\"status\":\"pending\"},{\"type\":\"http-01\",\"url\":\"" U
		 "c2\",\"token\":\"t2\",\"status\":\"invalid\",\"error\":{"
		 "\"type\":\"urn:e\",\"detail\":\"d\"}}]}"),
	       "a", &a, &e) == 0,
	   "an authorization: %s", e.msg);
	ok(a.status == CT_ST_PENDING && a.wildcard && a.nchals == 2 &&
	       strcmp(a.domain, "w.test") == 0 &&
	       strcmp(a.chals[1].token, "t2") == 0,
	   "its fields");
	is_str(ct_problem_type(a.error), "urn:e", "the challenge's problem");
	ct_authz_free(&a);
	static const char *bad[][2] = {
	    {"{\"status\":\"deactivated\",\"identifier\":{\"type\":\"dns\","
	     "\"value\":\"a\"},\"challenges\":[]}",
	     "authorization status deactivated"},
	    {"{\"status\":\"pending\",\"identifier\":{\"type\":\"ip\","
	     "\"value\":\"1.2.3.4\"},\"challenges\":[]}",
	     "not a DNS name"},
	    {"{\"status\":\"pending\",\"challenges\":[]}",
	     "want a JSON object"},
	    {"{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
	     "\"value\":\"a\"},\"challenges\":[{\"type\":\"http-01\"}]}",
	     "challenges[0]: url is missing"},
	    {"{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
	     "\"value\":\"a\"},\"challenges\":[1]}",
	     "challenges[0]: want a JSON object"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sov_err_clear(&e);
		ok(ct_authz_parse(J(bad[i][0]), "a", &a, &e) < 0 &&
		       strstr(e.msg, bad[i][1]) && a.chals == NULL,
		   "refused: %s (%s)", bad[i][1], e.msg);
	}
}

static void
test_problem(void)
{
	struct sov_err e = {0};

	ct_problem_err(J("{\"type\":\"urn:ietf:params:acme:error:rejected"
			 "Identifier\",\"detail\":\"no\\nway\",\"subproblems\":"
			 "[{\"type\":\"urn:ietf:params:acme:error:caa\","
			 "\"detail\":\"CAA forbids\",\"identifier\":{\"type\":"
			 "\"dns\",\"value\":\"x.test\"}}]}"),
		       "U", 400, -1, &e);
	is_str(e.msg,
	       "U: HTTP 400: no?way (urn:ietf:params:acme:error:rejected"
	       "Identifier); x.test: CAA forbids "
	       "(urn:ietf:params:acme:error:caa)",
	       "problem with a subproblem, control characters shown as ?");
	is_int(e.code, SOV_EXIT_FAIL, "a rejection is a failure");
	ct_problem_err(J("{\"type\":\"" CT_ERR_RATE_LIMITED "\",\"detail\":"
			 "\"slow down\"}"),
		       "U", 429, 61000, &e);
	is_int(e.code, SOV_EXIT_TEMPFAIL, "rateLimited is 75");
	like(e.msg, "retry after 61 s", "with its Retry-After");
	ct_problem_err(jv_null(), "U", 503, -1, &e);
	is_int(e.code, SOV_EXIT_TEMPFAIL, "503 without a document is 75");
	like(e.msg, "no problem document", "and says so");
	ct_problem_err(J("\"a string\""), "U", 403, -1, &e);
	is_int(e.code, SOV_EXIT_FAIL, "a problem that is not an object");
	{
		char big[4000];

		memset(big, 'x', sizeof(big));
		memcpy(big, "{\"detail\":\"", 11);
		memcpy(big + sizeof(big) - 3, "\"}", 3);
		ct_problem_err(J(big), "U", 400, -1, &e);
		ok(strlen(e.msg) < SOV_ERR_MSG_MAX, "a long detail is cut");
	}
}

static void
test_checks(void)
{
	ok(ct_url_ok("https://a/b") && ct_url_ok("http://127.0.0.1:1/dir"),
	   "URLs");
	ok(!ct_url_ok("ftp://a") && !ct_url_ok("https://") &&
	       !ct_url_ok("https://a b") && !ct_url_ok("https://a\x7f"),
	   "not URLs");
	ok(ct_nonce_ok("abc-_09") && !ct_nonce_ok("") && !ct_nonce_ok("a=") &&
	       !ct_nonce_ok("a b"),
	   "nonces");
	ok(ct_domain_ok("a.b") && ct_domain_ok("*.a.b") &&
	       ct_domain_ok("x-1.sov.test"),
	   "domains");
	ok(!ct_domain_ok("a") && !ct_domain_ok("A.b") &&
	       !ct_domain_ok("-a.b") && !ct_domain_ok("a-.b") &&
	       !ct_domain_ok("a..b") && !ct_domain_ok("*.*.a.b") &&
	       !ct_domain_ok("a.b.") && !ct_domain_ok("a_b.c"),
	   "not domains");
	ok(ct_cert_name_ok("web") && ct_cert_name_ok("a.b_c-1") &&
	       !ct_cert_name_ok(".x") && !ct_cert_name_ok("a/b") &&
	       !ct_cert_name_ok(""),
	   "certificate names");
}

static void
test_links(void)
{
	char *u[CT_ALTERNATES_MAX];
	int n;

	n = ct_link_alternates("<" U "dir>;rel=\"index\", <" U
			       "cert/1>;rel=\"alternate\", <" U
			       "cert/2>; rel=alternate, <file:///x>;"
			       "rel=\"alternate\", <" U "up>;rel=\"up\"",
			       u, CT_ALTERNATES_MAX);
	is_int(n, 2, "two alternates (index, up and a non-URL skipped)");
	if (n == 2) {
		is_str(u[0], U "cert/1", "first");
		is_str(u[1], U "cert/2", "second");
	}
	while (n > 0)
		free(u[--n]);
	is_int(ct_link_alternates("<" U "a>;rel=\"alternates\"", u, 4), 0,
	       "rel=alternates is not rel=alternate");
	is_int(ct_link_alternates("<" U "a;rel=\"alternate\"", u, 4), 0,
	       "no closing >");
	n = ct_link_alternates("<" U "1>;rel=alternate,<" U
			       "2>;rel=alternate,<" U "3>;rel=alternate",
			       u, 2);
	is_int(n, 2, "at most max");
	while (n > 0)
		free(u[--n]);
}

int
main(void)
{
	test_dir();
	test_order();
	test_authz();
	test_problem();
	test_checks();
	test_links();
	return done_testing();
}
