/*
 * fuzz_cert_ca.c - libFuzzer target for every parser sov-cert runs on what
 * a CA sends: the first byte picks one (0 directory, 1 order, 2
 * authorization, 3 problem document, 4 PEM certificate chain, 5 a Link
 * header, 6 a renewalInfo response (RFC 9773)), the rest is
 * the body, parsed the way acme.c does (sov_json_parse, then the parser).
 *
 * Checks: a refusal is an error of one line with a failure code (a CA's
 * garbage is never the user's usage error, except JSON syntax, which
 * sov_json_parse reports as 2 before the CA context is added); an
 * accepted resource holds only URLs that pass ct_url_ok and counts within
 * the caps; a chain's names are capped; nothing leaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acme.h"
#include "ari.h"
#include "crypto.h"
#include "jsonl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_err(const struct sov_err *e)
{
	if (e->msg[0] == '\0' || strchr(e->msg, '\n') != NULL ||
	    (e->code != SOV_EXIT_FAIL && e->code != SOV_EXIT_TEMPFAIL &&
	     e->code != SOV_EXIT_USAGE))
		__builtin_trap();
}

static void
url(const char *u, int optional)
{
	if (u == NULL ? !optional : !ct_url_ok(u))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sov_err e = {0};
	const char *body = (const char *)data + 1;
	jv v;

	if (size < 1)
		return 0;
	size--;
	if (data[0] % 7 == 5) {
		char *text = strndup(body, size), *urls[CT_ALTERNATES_MAX];
		int n;

		if (text == NULL)
			return 0;
		n = ct_link_alternates(text, urls, CT_ALTERNATES_MAX);
		if (n > CT_ALTERNATES_MAX)
			__builtin_trap();
		for (int i = 0; i < n; i++) {
			url(urls[i], 0);
			free(urls[i]);
		}
		free(text);
		return 0;
	}
	if (data[0] % 7 == 4) {
		struct ct_chain c;

		if (ct_chain_parse(body, size, "fuzz", &c, &e) < 0) {
			check_err(&e);
			return 0;
		}
		if (sk_X509_num(c.certs) < 1 ||
		    sk_X509_num(c.certs) > CT_CHAIN_CERTS_MAX ||
		    c.nnames > CT_NAMES_MAX || c.issuer == NULL ||
		    c.serial == NULL)
			__builtin_trap();
		ct_chain_verify(&c, NULL, NULL, 0, 0, &e);
		ct_chain_free(&c);
		return 0;
	}
	v = sov_json_parse(body, size, &e);
	if (!jv_is_valid(v)) {
		check_err(&e);
		jv_free(v);
		return 0;
	}
	switch (data[0] % 7) {
	case 0: {
		struct ct_dir d;

		if (ct_dir_parse(v, "fuzz", &d, &e) < 0) {
			check_err(&e);
			break;
		}
		url(d.new_nonce, 0);
		url(d.new_account, 0);
		url(d.new_order, 0);
		url(d.revoke_cert, 1);
		url(d.key_change, 1);
		url(d.renewal_info, 1);
		if (d.nprofiles > CT_PROFILES_MAX)
			__builtin_trap();
		for (size_t i = 0; i < d.nprofiles; i++)
			if (!ct_profile_ok(d.profiles[i]) ||
			    !ct_dir_has_profile(&d, d.profiles[i]))
				__builtin_trap();
		ct_dir_free(&d);
		break;
	}
	case 1: {
		struct ct_order o;

		if (ct_order_parse(v, "fuzz", &o, &e) < 0) {
			check_err(&e);
			break;
		}
		if (o.nauthzs < 1 || o.nauthzs > 100 || o.status == CT_ST_OTHER)
			__builtin_trap();
		for (size_t i = 0; i < o.nauthzs; i++)
			url(o.authzs[i], 0);
		url(o.finalize, 0);
		url(o.certificate, 1);
		ct_order_free(&o);
		break;
	}
	case 2: {
		struct ct_authz a;

		if (ct_authz_parse(v, "fuzz", &a, &e) < 0) {
			check_err(&e);
			break;
		}
		if (a.nchals > CT_CHALLENGES_MAX || a.domain == NULL ||
		    strlen(a.domain) > 253)
			__builtin_trap();
		for (size_t i = 0; i < a.nchals; i++) {
			url(a.chals[i].url, 0);
			if (a.chals[i].type == NULL)
				__builtin_trap();
		}
		ct_authz_free(&a);
		break;
	}
	case 3:
		ct_problem_err(v, "fuzz", 400, 1000, &e);
		check_err(&e);
		break;
	case 6: {
		struct ct_ari r;
		jv rec;

		if (ct_ari_parse(v, "fuzz", &r, &e) < 0) {
			check_err(&e);
			if (r.explanation != NULL || r.start || r.end)
				__builtin_trap();
			break;
		}
		if (r.end <= r.start || r.start < 0)
			__builtin_trap();
		url(r.explanation, 1);
		/* what renew keeps: the picked instant inside the window */
		rec = ct_ari_record(jv_null(), "AQI.fw", &r, 0, -1);
		if (ct_ari_time(rec, "renew_at") < r.start ||
		    ct_ari_time(rec, "renew_at") > r.end)
			__builtin_trap();
		jv_free(rec);
		ct_ari_free(&r);
		break;
	}
	}
	return 0;
}
