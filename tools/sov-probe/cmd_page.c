/*
 * cmd_page.c - `sov-probe page --out DIR`: write the status page
 * (page.h) once, from the targets, the daemon's state file and the
 * measurements store. One record: {"ts","event":"page","path"}.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"
#include "jsonl.h"
#include "page.h"
#include "probe.h"
#include "query_opts.h"
#include "state.h"
#include "target.h"
#include "timestamp.h"

int
pr_cmd_page(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"out", required_argument, NULL, 'o'},
	    {"targets", required_argument, NULL, 't'},
	    {"metrics", required_argument, NULL, 'm'},
	    {"state", required_argument, NULL, 's'},
	    {"since", required_argument, NULL, 'w'},
	    {"title", required_argument, NULL, 'T'},
	    {NULL, 0, NULL, 0}};
	const char *out = NULL, *targets = NULL, *metrics = NULL, *state = NULL;
	struct pr_page_opts o = {0};
	struct pr_set set = {0};
	struct sov_err e = {0};
	char tpath[4096], spath[4096], page[4200];
	int c, rc = SOV_EXIT_FAIL, have_set = 0;
	jv rec, doc = jv_invalid();

	o.state = jv_invalid();
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 't':
			targets = optarg;
			break;
		case 'm':
			metrics = optarg;
			break;
		case 's':
			state = optarg;
			break;
		case 'T':
			o.title = optarg;
			break;
		case 'w':
			if (sov_duration_parse(optarg, &o.window_ms, &e) < 0)
				return sov_cli_usage_error("--since: %s",
							   e.msg);
			if (o.window_ms < PR_PAGE_WINDOW_MIN_MS)
				return sov_cli_usage_error(
				    "--since: at least %llds",
				    (long long)(PR_PAGE_WINDOW_MIN_MS / 1000));
			break;
		default:
			return SOV_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return sov_cli_usage_error("page takes no arguments");
	if (out == NULL)
		return sov_cli_usage_error("page needs --out DIR");
	if (access(out, W_OK) != 0)
		return sov_cli_usage_error("--out %s: not a directory this can "
					   "write to",
					   out);
	/* The targets: as named, else the default file if there is one. */
	if (pr_targets_path(targets, tpath, sizeof(tpath), &e) < 0)
		return sov_cli_fail(&e);
	if (targets != NULL || getenv("SOV_PROBE_TARGETS") ||
	    access(tpath, F_OK) == 0) {
		if (pr_set_load(tpath, PR_LOAD_NO_COMPILE, &set, &e) < 0)
			return sov_cli_fail(&e);
		have_set = 1;
		o.set = &set;
	}
	/* The state: a missing default file means no daemon yet (every
	 * target unknown); a file named and missing is an error. */
	if (pr_state_path(state, spath, sizeof(spath), &e) < 0)
		goto fail;
	if (state != NULL || access(spath, F_OK) == 0) {
		if (pr_state_read(spath, &doc, &e) < 0)
			goto fail;
		o.state = doc;
	}
	if (metrics != NULL || getenv("SOV_METRICS")) {
		if ((o.st = pr_metrics_open(metrics, &e)) == NULL)
			goto fail;
	} else {
		sov_cli_warn("no measurements store (--metrics, $SOV_METRICS): "
			     "the page has no history");
	}
	if (pr_page_write(out, &o, &e) < 0)
		goto fail;
	if (snprintf(page, sizeof(page), "%s/%s", out, PR_PAGE_FILE) >=
	    (int)sizeof(page))
		goto fail;
	rec = sov_record_new("page");
	rec = jv_object_set(rec, jv_string("path"), jv_string(page));
	{
		struct sov_jsonl_writer *w =
		    sov_jsonl_writer_new(stdout, "stdout", 0);

		if (w == NULL) {
			jv_free(rec);
			goto fail;
		}
		if (sov_jsonl_write(w, rec, &e) < 0 ||
		    sov_jsonl_writer_close(w, &e) < 0)
			goto fail;
	}
	rc = SOV_EXIT_OK;
	goto out;
fail:
	rc = e.code ? sov_cli_fail(&e) : SOV_EXIT_FAIL;
out:
	sov_store_close(o.st);
	jv_free(doc);
	if (have_set)
		pr_set_free(&set);
	return rc;
}
