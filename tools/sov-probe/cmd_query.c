/*
 * cmd_query.c - `sov-probe query NAME`: a measurement's series in buckets,
 * read from the measurements store (raw rows and 5-minute summaries alike;
 * series.h), as JSON lines:
 *
 *   {"ts": bucket start, "event": "series", "name", "target", "value",
 *    "count"}
 *
 * one per bucket and target, oldest first.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "jsonl.h"
#include "measure.h"
#include "probe.h"
#include "query_opts.h"
#include "series.h"
#include "timestamp.h"

int
pr_cmd_query(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"target", required_argument, NULL, 't'},
	    {"since", required_argument, NULL, 's'},
	    {"until", required_argument, NULL, 'u'},
	    {"every", required_argument, NULL, 'e'},
	    {"agg", required_argument, NULL, 'a'},
	    {"metrics", required_argument, NULL, 'm'},
	    {NULL, 0, NULL, 0}};
	struct pr_series_query q = {0};
	const char *since = "24h", *until = NULL, *metrics = NULL;
	struct sov_store *st = NULL;
	struct sov_jsonl_writer *w = NULL;
	struct sov_err e = {0};
	int64_t now = sov_time_now_ms();
	long skipped = 0;
	jv pts = jv_invalid();
	int c, rc = SOV_EXIT_FAIL;

	q.every_ms = 300000;
	q.agg = PR_AGG_AVG;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 't':
			q.target = optarg;
			break;
		case 's':
			since = optarg;
			break;
		case 'u':
			until = optarg;
			break;
		case 'e':
			if (sov_duration_parse(optarg, &q.every_ms, &e) < 0)
				return sov_cli_usage_error("--every: %s",
							   e.msg);
			break;
		case 'a':
			if (pr_agg_parse(optarg, &q.agg) < 0)
				return sov_cli_usage_error(
				    "--agg: want avg, min, max, p95 or count, "
				    "got \"%s\"",
				    optarg);
			break;
		case 'm':
			metrics = optarg;
			break;
		default:
			return SOV_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc)
		return sov_cli_usage_error(
		    "query: name one measurement (e.g. probe.seconds)");
	q.name = argv[optind];
	if (pr_when(since, now, &q.since_ms, &e) < 0)
		return sov_cli_usage_error("--since: %s", e.msg);
	q.until_ms = now;
	if (until != NULL && pr_when(until, now, &q.until_ms, &e) < 0)
		return sov_cli_usage_error("--until: %s", e.msg);
	if (q.since_ms >= q.until_ms)
		return sov_cli_usage_error("--since (%s) is not before --until "
					   "(%s)",
					   since, until ? until : "now");
	if (q.every_ms < PR_SERIES_EVERY_MIN_MS || q.every_ms % 1000 != 0)
		return sov_cli_usage_error(
		    "--every: want whole seconds, at least 1s");
	if ((st = pr_metrics_open(metrics, &e)) == NULL)
		return sov_cli_fail(&e);
	if (pr_series_query(st, &q, &pts, &skipped, &e) < 0) {
		rc = sov_cli_fail(&e);
		goto out;
	}
	if (skipped > 0)
		sov_cli_warn("%s: %ld rows in the window cannot be read and "
			     "were left out",
			     q.name, skipped);
	w = sov_jsonl_writer_new(stdout, "stdout", 0);
	if (w == NULL)
		goto out;
	for (int i = 0; i < jv_array_length(jv_copy(pts)); i++)
		if (sov_jsonl_write(w, jv_array_get(jv_copy(pts), i), &e) < 0)
			break;
	if (sov_jsonl_writer_close(w, e.code ? NULL : &e) < 0 || e.code) {
		rc = sov_cli_fail(&e);
		goto out;
	}
	rc = SOV_EXIT_OK;
out:
	jv_free(pts);
	sov_store_close(st);
	return rc;
}
