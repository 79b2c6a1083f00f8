/*
 * cmd_status.c - `sov-probe status [TARGET...]`: what the daemon last knew
 * of each target, from its state file. JSON lines, or a table for people
 * (a terminal on stdout, or --format table). Exit 1 when any is down,
 * so `sov-probe status >/dev/null || page-someone` works.
 *
 *   {"ts","event":"status","target","type","state","since","streak",
 *    "checks","failed","last_ts","seconds","error","age"}
 *
 * "age" is how old the state file is, in seconds: a daemon that stopped
 * shows here as an old file, not as everything up.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"
#include "jsonl.h"
#include "probe.h"
#include "state.h"
#include "timestamp.h"

/* o[k], null when o is no object or has no k (an older state file). */
static jv
get(jv o, const char *k)
{
	jv v = jv_get_kind(o) == JV_KIND_OBJECT
		   ? jv_object_get(jv_copy(o), jv_string(k))
		   : jv_null();

	if (!jv_is_valid(v)) {
		jv_free(v);
		v = jv_null();
	}
	return v;
}

static const char *
str(jv v, const char *dflt)
{
	return jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : dflt;
}

static jv
status_record(const char *name, jv t, double age)
{
	jv rec = sov_record_new("status"), last = get(t, "last");

	rec = jv_object_set(rec, jv_string("target"), jv_string(name));
	const char *keys[] = {"type", "state", "since", "streak", "checks",
			      "failed"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		rec = jv_object_set(rec, jv_string(keys[i]), get(t, keys[i]));
	rec = jv_object_set(rec, jv_string("last_ts"), get(last, "ts"));
	rec = jv_object_set(rec, jv_string("seconds"), get(last, "seconds"));
	rec = jv_object_set(rec, jv_string("error"), get(last, "error"));
	rec = jv_object_set(rec, jv_string("age"),
			    jv_number(round(age * 10) / 10));
	jv_free(last);
	return rec;
}

static void
table_row(FILE *f, jv rec)
{
	jv target = get(rec, "target"), type = get(rec, "type"),
	   state = get(rec, "state"), since = get(rec, "since"),
	   secs = get(rec, "seconds"), err = get(rec, "error");
	char ms[32] = "-";

	if (jv_get_kind(secs) == JV_KIND_NUMBER)
		snprintf(ms, sizeof(ms), "%.0f ms",
			 jv_number_value(secs) * 1000);
	fprintf(f, "%-24s %-9s %-7s %-24s %9s  %s\n", str(target, "?"),
		str(type, "?"), str(state, "?"), str(since, "-"), ms,
		str(err, ""));
	jv_free(target);
	jv_free(type);
	jv_free(state);
	jv_free(since);
	jv_free(secs);
	jv_free(err);
}

int
pr_cmd_status(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"state", required_argument, NULL, 's'},
	    {"format", required_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	const char *state = NULL;
	int table = isatty(STDOUT_FILENO), c, down = 0, rc = SOV_EXIT_FAIL;
	struct sov_err e = {0};
	struct sov_jsonl_writer *w = NULL;
	char path[4096];
	jv doc = jv_invalid(), targets, ts;
	int64_t written = 0;
	double age;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 's')
			state = optarg;
		else if (c == 'f' && !strcmp(optarg, "table"))
			table = 1;
		else if (c == 'f' && !strcmp(optarg, "json"))
			table = 0;
		else if (c == 'f')
			return sov_cli_usage_error("--format: json or table, "
						   "not \"%s\"",
						   optarg);
		else
			return SOV_EXIT_USAGE;
	}
	if (pr_state_path(state, path, sizeof(path), &e) < 0 ||
	    pr_state_read(path, &doc, &e) < 0)
		return sov_cli_fail(&e);
	ts = get(doc, "ts");
	sov_time_parse(str(ts, ""), &written, NULL);
	jv_free(ts);
	age = written ? (double)(sov_time_now_ms() - written) / 1000 : NAN;
	targets = get(doc, "targets");
	if (jv_get_kind(targets) != JV_KIND_OBJECT) {
		sov_err_set(&e, SOV_EXIT_FAIL, "%s: no targets in it", path);
		goto fail;
	}
	if (table)
		printf("%-24s %-9s %-7s %-24s %9s  %s\n", "TARGET", "TYPE",
		       "STATE", "SINCE", "LAST", "ERROR");
	else if ((w = sov_jsonl_writer_new(stdout, "stdout", 0)) == NULL) {
		sov_err_set(&e, SOV_EXIT_FAIL, "out of memory");
		goto fail;
	}
	jv_object_foreach(targets, k, t)
	{
		const char *name = jv_string_value(k);
		int pick = optind >= argc;
		jv rec, st;

		for (int i = optind; i < argc; i++)
			pick |= strcmp(argv[i], name) == 0;
		if (pick) {
			rec = status_record(name, t, age);
			st = get(t, "state");
			down |= !strcmp(str(st, ""), "down");
			jv_free(st);
			if (table) {
				table_row(stdout, rec);
				jv_free(rec);
			} else if (sov_jsonl_write(w, rec, &e) < 0) {
				jv_free(k);
				jv_free(t);
				goto fail;
			}
		}
		jv_free(k);
		jv_free(t);
	}
	if (table && isfinite(age) && age > 60)
		printf("(the state file is %.0f s old: is the daemon "
		       "running?)\n",
		       age);
	if (sov_jsonl_writer_close(w, &e) < 0 || (table && fflush(stdout))) {
		w = NULL;
		goto fail;
	}
	w = NULL;
	rc = down ? SOV_EXIT_FAIL : SOV_EXIT_OK;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	sov_jsonl_writer_close(w, NULL);
	jv_free(targets);
	jv_free(doc);
	return rc;
}
