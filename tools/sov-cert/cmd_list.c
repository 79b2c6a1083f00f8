/*
 * cmd_list.c - `sov-cert list`: one record per installed certificate,
 * read from the certificates themselves (not from what was asked for).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ari.h"
#include "certs.h"
#include "cli.h"
#include "jsonl.h"
#include "renew.h"
#include "timestamp.h"

static jv
describe(const struct ct_state *st, const char *name, const struct ct_chain *c)
{
	char revoked[64];
	int rv = ct_certs_revoked(st, name, revoked, sizeof(revoked));
	char ts[SOV_TIME_RFC3339_LEN];
	jv rec = sov_record_new("cert"), names = jv_array();
	jv ari = ct_renew_ari(st, name); /* null when none */

	for (size_t i = 0; i < c->nnames; i++)
		names = jv_array_append(names, jv_string(c->names[i]));
	rec = jv_object_set(rec, jv_string("name"), jv_string(name));
	rec = jv_object_set(rec, jv_string("domains"), names);
	rec = jv_object_set(rec, jv_string("issuer"), jv_string(c->issuer));
	rec = jv_object_set(rec, jv_string("serial"), jv_string(c->serial));
	sov_time_format(c->not_before * 1000, ts);
	rec = jv_object_set(rec, jv_string("not_before"), jv_string(ts));
	sov_time_format(c->not_after * 1000, ts);
	rec = jv_object_set(rec, jv_string("not_after"), jv_string(ts));
	rec = jv_object_set(rec, jv_string("days_left"),
			    jv_number((double)ct_days_left(c->not_after)));
	rec = jv_object_set(
	    rec, jv_string("due"),
	    jv_bool(rv || ct_ari_due(ari, c, (int64_t)time(NULL))));
	if (jv_get_kind(ari) == JV_KIND_OBJECT) /* the CA's window */
		rec = jv_object_set(rec, jv_string("ari"), jv_copy(ari));
	jv_free(ari);
	if (rv)
		rec = jv_object_set(rec, jv_string("revoked"),
				    jv_string(revoked));
	return rec;
}

int
ct_cmd_list(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"state", required_argument, NULL, CT_OPT_STATE},
	    {NULL, 0, NULL, 0}};
	struct ct_state st;
	struct ct_opts o;
	struct sov_err e = {0};
	struct sov_jsonl_writer *w = NULL;
	char **names = NULL;
	size_t n = 0;
	int c, rc = SOV_EXIT_OK;

	ct_opts_init(&o);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1)
		if (ct_opts_take(&o, c, optarg, &e) <= 0)
			return SOV_EXIT_USAGE;
	if (optind != argc)
		return sov_cli_usage_error("list: no arguments");
	if (ct_state_open(o.state, 0, &st, &e) < 0 ||
	    ct_certs_names(&st, &names, &n, &e) < 0)
		return sov_cli_fail(&e);
	w = sov_jsonl_writer_new(stdout, "stdout", 0);
	if (w == NULL) {
		ct_certs_names_free(names, n);
		return SOV_EXIT_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		struct ct_chain ch;

		if (ct_certs_load(&st, names[i], &ch, &e) < 0) {
			sov_cli_warn("%s", e.msg);
			rc = SOV_EXIT_FAIL;
			continue;
		}
		if (sov_jsonl_write(w, describe(&st, names[i], &ch), &e) < 0) {
			ct_chain_free(&ch);
			rc = sov_cli_fail(&e);
			break;
		}
		ct_chain_free(&ch);
	}
	ct_certs_names_free(names, n);
	if (sov_jsonl_writer_close(w, &e) < 0 && rc == SOV_EXIT_OK)
		rc = sov_cli_fail(&e);
	return rc;
}
