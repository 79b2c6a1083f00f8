/*
 * cmd_account.c - `sov-cert account [--email ADDR] [--agree-tos]`: create
 * the account (with --agree-tos; the key is made by the key child), or
 * find and show the one this state's key already has. --rollover: replace
 * the account key with a new one (RFC 8555 section 7.3.5), then show.
 */
#include <getopt.h>
#include <stdio.h>

#include "cert.h"
#include "cli.h"
#include "jsonl.h"

int
ct_cmd_account(int argc, char **argv)
{
	enum { O_ROLLOVER = CT_OPT_FIRST_OWN };
	static const struct option lo[] = {
	    CT_COMMON_OPTIONS,
	    {"rollover", no_argument, NULL, O_ROLLOVER},
	    {NULL, 0, NULL, 0}};
	int rollover = 0;
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
		if (r == 0 && c != O_ROLLOVER)
			return SOV_EXIT_USAGE;
		if (r == 0)
			rollover = 1;
	}
	if (optind != argc)
		return sov_cli_usage_error("account: no arguments");
	w = sov_jsonl_writer_new(stdout, "stdout", 0);
	if (w == NULL)
		return SOV_EXIT_FAIL;
	if (ct_session_open(&s, &o, &e) < 0) {
		sov_jsonl_writer_close(w, NULL);
		return sov_cli_fail(&e);
	}
	if ((rollover && ct_account_rollover(&s, &e) < 0) ||
	    ct_account_show(&s, &rec, &e) < 0 ||
	    sov_jsonl_write(w, rec, &e) < 0) {
		rc = sov_cli_fail(&e);
		ct_session_close(&s);
		sov_jsonl_writer_close(w, NULL);
		return rc;
	}
	ct_session_close(&s);
	if (sov_jsonl_writer_close(w, &e) < 0)
		return sov_cli_fail(&e);
	return SOV_EXIT_OK;
}
