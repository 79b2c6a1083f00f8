/* metrics.c - sov-demo measure and query: measurements from the shell. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "demo.h"
#include "jsonl.h"
#include "measure.h"
#include "timestamp.h"

#define DEMO_TAGS_MAX 32

static int
parse_value(const char *s, double *out, struct sov_err *e)
{
	char *end;

	*out = strtod(s, &end);
	if (*s == '\0' || *end != '\0')
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "VALUE: want a number, got \"%s\"", s);
	return 0;
}

int
demo_cmd_measure(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"metrics", required_argument, NULL, 'M'},
	    {"unit", required_argument, NULL, 'u'},
	    {"tag", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	const char *url = NULL, *unit = "";
	struct sov_metrics *m = NULL;
	struct sov_err e;
	jv tags = jv_object();
	double value;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char *eq;

		switch (c) {
		case 'M':
			url = optarg;
			break;
		case 'u':
			unit = optarg;
			break;
		case 't':
			eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg) {
				jv_free(tags);
				return sov_cli_usage_error(
				    "--tag: want KEY=VALUE, got \"%s\"",
				    optarg);
			}
			if (jv_object_length(jv_copy(tags)) >= DEMO_TAGS_MAX) {
				jv_free(tags);
				return sov_cli_usage_error(
				    "--tag: more than %d", DEMO_TAGS_MAX);
			}
			tags = jv_object_set(
			    tags, jv_string_sized(optarg, (int)(eq - optarg)),
			    jv_string(eq + 1));
			break;
		default:
			jv_free(tags);
			return SOV_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		jv_free(tags);
		return sov_cli_usage_error("want NAME VALUE");
	}
	if (parse_value(argv[optind + 1], &value, &e) < 0) {
		jv_free(tags);
		return sov_cli_fail(&e);
	}
	m = sov_metrics_open(url, stdout, &e);
	if (m == NULL) {
		jv_free(tags);
		return sov_cli_fail(&e);
	}
	if (sov_metrics_add(m, argv[optind], value, unit, tags, &e) < 0) {
		rc = sov_cli_fail(&e);
		sov_metrics_close(m, NULL);
		return rc;
	}
	if (sov_metrics_close(m, &e) < 0)
		return sov_cli_fail(&e);
	return SOV_EXIT_OK;
}

int
demo_cmd_query(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"metrics", required_argument, NULL, 'M'},
	    {"since", required_argument, NULL, 's'},
	    {"limit", required_argument, NULL, 'l'},
	    {NULL, 0, NULL, 0},
	};
	const char *url = getenv("SOV_METRICS");
	struct sov_jsonl_writer *w = NULL;
	struct sov_store *st = NULL;
	struct sov_err e;
	int64_t since = 86400000, now = sov_time_now_ms();
	long limit = 0;
	jv rows = jv_invalid();
	int c, rc = SOV_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'M':
			url = optarg;
			break;
		case 's':
			if (sov_duration_parse(optarg, &since, &e) < 0)
				return sov_cli_fail(&e);
			break;
		case 'l':
			if (sov_cli_parse_long("--limit", optarg, 1, 10000000,
					       &limit, &e) < 0)
				return sov_cli_fail(&e);
			break;
		default:
			return SOV_EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return sov_cli_usage_error("want NAME");
	if (url == NULL || url[0] == '\0')
		return sov_cli_usage_error(
		    "no store: give --metrics URL or set "
		    "SOV_METRICS");
	st = sov_store_open(url, &e);
	if (st == NULL || sov_metrics_migrate(st, &e) < 0 ||
	    sov_metrics_query(st, argv[optind], now - since, now + 1,
			      (size_t)limit, &rows, &e) < 0)
		goto fail;
	w = sov_jsonl_writer_new(stdout, "stdout", 0);
	if (w == NULL) {
		sov_err_set(&e, SOV_EXIT_FAIL, "out of memory");
		goto fail;
	}
	jv_array_foreach(rows, i, r)
	{
		if (sov_jsonl_write(w, r, &e) < 0)
			goto fail;
	}
	if (sov_jsonl_writer_close(w, &e) < 0) {
		w = NULL;
		goto fail;
	}
	w = NULL;
	rc = SOV_EXIT_OK;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	sov_jsonl_writer_close(w, NULL);
	jv_free(rows);
	sov_store_close(st);
	return rc;
}
