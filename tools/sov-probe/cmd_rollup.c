/*
 * cmd_rollup.c - `sov-probe rollup --after 7d --keep 400d`: measurements
 * older than --after become 5-minute summaries, summaries older than
 * --keep are deleted (measure_rollup.h; TimescaleDB: its continuous
 * aggregate and retention policies are set instead). One record:
 *
 *   {"ts","event":"rollup","before","expire_before","rows","summaries",
 *    "expired","skipped","transactions","timescaledb","dry_run"}
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "jsonl.h"
#include "measure_rollup.h"
#include "probe.h"
#include "query_opts.h"
#include "timestamp.h"

int
pr_cmd_rollup(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"after", required_argument, NULL, 'a'},
	    {"keep", required_argument, NULL, 'k'},
	    {"metrics", required_argument, NULL, 'm'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"chunk", required_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0}};
	struct sov_rollup_opts o = {0};
	struct sov_rollup_stats s;
	const char *metrics = NULL;
	struct sov_store *st;
	struct sov_err e = {0};
	char h[SOV_TIME_RFC3339_LEN], x[SOV_TIME_RFC3339_LEN];
	long chunk;
	int c, rc;
	jv rec;

	o.after_ms = 7 * INT64_C(86400000);
	o.keep_ms = 400 * INT64_C(86400000);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (sov_duration_parse(optarg, &o.after_ms, &e) < 0 ||
			    o.after_ms <= 0)
				return sov_cli_usage_error(
				    "--after: %s", e.code ? e.msg : "want > 0");
			break;
		case 'k':
			if (sov_duration_parse(optarg, &o.keep_ms, &e) < 0)
				return sov_cli_usage_error("--keep: %s", e.msg);
			break;
		case 'm':
			metrics = optarg;
			break;
		case 'n':
			o.dry_run = 1;
			break;
		case 'c':
			if (sov_cli_parse_long("--chunk", optarg, 1,
					       SOV_ROLLUP_CHUNK_MAX, &chunk,
					       &e) < 0)
				return sov_cli_usage_error("%s", e.msg);
			o.chunk = (int)chunk;
			break;
		default:
			return SOV_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return sov_cli_usage_error("rollup takes no arguments");
	if (o.keep_ms < o.after_ms)
		return sov_cli_usage_error("--keep must be at least --after: "
					   "summaries are kept longer than raw "
					   "rows");
	if ((st = pr_metrics_open(metrics, &e)) == NULL)
		return sov_cli_fail(&e);
	rc = sov_measure_rollup(st, &o, &s, &e);
	sov_store_close(st);
	if (rc < 0) {
		/* the chunks before the error are done for good: say so */
		if (s.raw > 0)
			sov_err_prefix(&e,
				       "after rolling up %ld rows: ", s.raw);
		return sov_cli_fail(&e);
	}
	if (s.skipped > 0)
		sov_cli_warn("%ld rows older than --after cannot be read and "
			     "were left where they are",
			     s.skipped);
	sov_time_format(s.horizon_ms, h);
	sov_time_format(s.expire_ms, x);
	rec = sov_record_new("rollup");
	rec = jv_object_set(rec, jv_string("before"), jv_string(h));
	rec = jv_object_set(rec, jv_string("expire_before"), jv_string(x));
	rec = jv_object_set(rec, jv_string("rows"), jv_number((double)s.raw));
	rec = jv_object_set(rec, jv_string("summaries"),
			    jv_number((double)s.written));
	rec = jv_object_set(rec, jv_string("expired"),
			    jv_number((double)s.expired));
	rec = jv_object_set(rec, jv_string("skipped"),
			    jv_number((double)s.skipped));
	rec = jv_object_set(rec, jv_string("transactions"),
			    jv_number((double)s.transactions));
	rec =
	    jv_object_set(rec, jv_string("timescaledb"), jv_bool(s.timescale));
	rec = jv_object_set(rec, jv_string("dry_run"), jv_bool(o.dry_run));
	{
		struct sov_jsonl_writer *w =
		    sov_jsonl_writer_new(stdout, "stdout", 0);

		if (w == NULL || sov_jsonl_write(w, rec, &e) < 0 ||
		    sov_jsonl_writer_close(w, &e) < 0) {
			if (w == NULL)
				jv_free(rec);
			return sov_cli_fail(&e);
		}
	}
	return SOV_EXIT_OK;
}
