/*
 * cmd_account.c - `sov-cert account [--email ADDR] [--agree-tos]`: create
 * the account (with --agree-tos; the key is made by the key child), or
 * find and show the one this state's key already has. --rollover: replace
 * the account key with a new one (RFC 8555 section 7.3.5), then show.
 * --contact ADDR (repeatable): replace the account's contact addresses.
 * --deactivate: deactivate it for good (RFC 8555 section 7.3.6); the
 * state's account is of no use afterwards (remove account/ to start
 * again).
 */
#include <getopt.h>
#include <stdio.h>

#include "cert.h"
#include "cli.h"
#include "jsonl.h"

int
ct_cmd_account(int argc, char **argv)
{
	enum { O_ROLLOVER = CT_OPT_FIRST_OWN, O_CONTACT, O_DEACTIVATE };
	static const struct option lo[] = {
	    CT_COMMON_OPTIONS,
	    {"rollover", no_argument, NULL, O_ROLLOVER},
	    {"contact", required_argument, NULL, O_CONTACT},
	    {"deactivate", no_argument, NULL, O_DEACTIVATE},
	    {NULL, 0, NULL, 0}};
	const char *contacts[CT_CONTACTS_MAX];
	size_t ncontacts = 0;
	int rollover = 0, deactivate = 0;
	struct ct_session s;
	struct ct_opts o;
	struct sov_err e = {0};
	struct sov_jsonl_writer *w;
	jv rec;
	int c, r, rc;

	ct_opts_init(&o);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if ((r = ct_opts_take(&o, c, optarg, &e)) < 0)
			return sov_cli_fail(&e);
		if (r > 0)
			continue;
		if (c == O_ROLLOVER) {
			rollover = 1;
		} else if (c == O_DEACTIVATE) {
			deactivate = 1;
		} else if (c == O_CONTACT) {
			/* the --email check, by way of ct_opts_take */
			struct ct_opts t;

			ct_opts_init(&t);
			if (ct_opts_take(&t, CT_OPT_EMAIL, optarg, &e) < 0)
				return sov_cli_usage_error(
				    "--contact: not an address: \"%.100s\"",
				    optarg);
			if (ncontacts >= CT_CONTACTS_MAX)
				return sov_cli_usage_error(
				    "--contact: at most %d", CT_CONTACTS_MAX);
			contacts[ncontacts++] = optarg;
		} else {
			return SOV_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return sov_cli_usage_error("account: no arguments");
	if (deactivate && (rollover || ncontacts || o.agree_tos))
		return sov_cli_usage_error(
		    "--deactivate: alone (not with --rollover, --contact or "
		    "--agree-tos)");
	w = sov_jsonl_writer_new(stdout, "stdout", 0);
	if (w == NULL)
		return SOV_EXIT_FAIL;
	if (ct_session_open(&s, &o, &e) < 0) {
		sov_jsonl_writer_close(w, NULL);
		return sov_cli_fail(&e);
	}
	if (deactivate) {
		if (ct_account_deactivate(&s, &e) < 0)
			goto fail;
		rec = sov_record_new("account");
		rec = jv_object_set(rec, jv_string("server"),
				    jv_string(s.acme.server));
		rec =
		    jv_object_set(rec, jv_string("url"), jv_string(s.acme.kid));
		rec = jv_object_set(rec, jv_string("status"),
				    jv_string("deactivated"));
		rec = jv_object_set(rec, jv_string("thumbprint"),
				    jv_string(s.kp.signer.thumb));
		if (sov_jsonl_write(w, rec, &e) < 0)
			goto fail;
		goto done;
	}
	if ((rollover && ct_account_rollover(&s, &e) < 0) ||
	    (ncontacts > 0 &&
	     ct_account_contact(&s, contacts, ncontacts, &e) < 0) ||
	    ct_account_show(&s, &rec, &e) < 0 ||
	    sov_jsonl_write(w, rec, &e) < 0)
		goto fail;
done:
	ct_session_close(&s);
	if (sov_jsonl_writer_close(w, &e) < 0)
		return sov_cli_fail(&e);
	return SOV_EXIT_OK;
fail:
	rc = sov_cli_fail(&e);
	ct_session_close(&s);
	sov_jsonl_writer_close(w, NULL);
	return rc;
}
