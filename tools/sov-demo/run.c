/*
 * run.c - sov-demo run: the foundation's demo.
 *
 * A day in the life of a heart, in numbers: three series sampled every five
 * minutes for the last 24 hours (the gateway's latency, the lead workflow's
 * run time, the free share of the data disk), written through libsov's
 * measurements API into a fresh store, read back by time range, and summed
 * up by one jq program compiled once. What is read back must be exactly
 * what was written, or the run fails.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "demo.h"
#include "fs.h"
#include "jqprog.h"
#include "jsonl.h"
#include "measure.h"
#include "timestamp.h"

#define DEMO_POINTS 288 /* a day at one sample per five minutes */
#define DEMO_STEP_MS 300000
#define DEMO_PATH_MAX 4096

struct series {
	const char *name, *unit, *tag_key, *tag_value;
	double (*value)(int i, int64_t ts, double noise);
};

/* Latency of the gateway: 40 ms, busier in the working day (UTC). */
static double
latency(int i, int64_t ts, double noise)
{
	double hour = (double)(ts % 86400000) / 3600000.0;

	(void)i;
	return 0.040 + 0.025 * fmax(0, sin((hour - 7) / 12 * M_PI)) +
	       0.010 * noise;
}

/* The lead pipeline: about 2 s, with an occasional slow enrichment. */
static double
workflow(int i, int64_t ts, double noise)
{
	(void)ts;
	return 1.8 + 0.6 * noise + (i % 97 == 0 ? 9.0 : 0);
}

/* The data disk fills slowly through the day. */
static double
disk(int i, int64_t ts, double noise)
{
	(void)ts;
	return 0.62 - 0.0002 * i + 0.001 * noise;
}

static const struct series series[] = {
    {"demo.probe.seconds", "s", "target", "https://shop.example", latency},
    {"demo.wf.execution.seconds", "s", "workflow", "lead-pipeline", workflow},
    {"demo.disk.free_ratio", "ratio", "mount", "/var/lib", disk},
};
#define NSERIES (sizeof(series) / sizeof(series[0]))

/* A fixed sequence, so every run of the demo shows the same numbers. */
static double
noise(unsigned *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return (*state % 10000) / 10000.0;
}

static const char summary_jq[] =
    "{event: \"demo.series\", ts: $ts, name: .[0].name, unit: .[0].unit,"
    " count: length, min: (map(.value) | min), max: (map(.value) | max),"
    " avg: (map(.value) | add / length),"
    " p95: (map(.value) | sort | .[(length * 0.95 | floor)]),"
    " first: .[0].ts, last: .[-1].ts}";

static void
print_table(jv summaries, const char *store, double write_s, int written)
{
	printf("sov demo: %d measurements written to %s in %.3f s "
	       "(%.0f/s), read back and checked\n\n",
	       written, store, write_s, write_s > 0 ? written / write_s : 0.0);
	printf("%-28s %6s %10s %10s %10s %10s  %s\n", "series", "count", "min",
	       "avg", "p95", "max", "unit");
	jv_array_foreach(summaries, i, s)
	{
		jv name = jv_object_get(jv_copy(s), jv_string("name"));
		jv unit = jv_object_get(jv_copy(s), jv_string("unit"));
		double v[5];
		const char *keys[5] = {"count", "min", "avg", "p95", "max"};

		for (int k = 0; k < 5; k++) {
			jv x = jv_object_get(jv_copy(s), jv_string(keys[k]));

			v[k] = jv_get_kind(x) == JV_KIND_NUMBER
				   ? jv_number_value(x)
				   : NAN;
			jv_free(x);
		}
		printf("%-28s %6.0f %10.4f %10.4f %10.4f %10.4f  %s\n",
		       jv_string_value(name), v[0], v[1], v[2], v[3], v[4],
		       jv_string_value(unit));
		jv_free(name);
		jv_free(unit);
		jv_free(s);
	}
	printf("\nAsk the store yourself: sov-demo query --limit 3 "
	       "--metrics %s demo.probe.seconds\n",
	       store);
	jv_free(summaries);
}

/* Write the day; returns the number written, -1 on error. */
static int
write_day(struct sov_metrics *m, int64_t end, struct sov_err *e)
{
	unsigned state = 2463534242u;
	int written = 0;

	for (size_t s = 0; s < NSERIES; s++) {
		for (int i = 0; i < DEMO_POINTS; i++) {
			int64_t ts =
			    end - (int64_t)(DEMO_POINTS - i) * DEMO_STEP_MS;
			jv tags = jv_object_set(jv_object(),
						jv_string(series[s].tag_key),
						jv_string(series[s].tag_value));

			if (sov_metrics_add_at(
				m, ts, series[s].name,
				series[s].value(i, ts, noise(&state)),
				series[s].unit, tags, e) < 0)
				return -1;
			written++;
		}
	}
	return sov_metrics_flush(m, e) < 0 ? -1 : written;
}

int
demo_cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"state-dir", required_argument, NULL, 'd'},
	    {"metrics", required_argument, NULL, 'M'},
	    {"format", required_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	char dir[DEMO_PATH_MAX], url[DEMO_PATH_MAX + 16],
	    ts[SOV_TIME_RFC3339_LEN];
	const char *state_dir = NULL, *metrics = NULL;
	struct sov_jsonl_writer *w = NULL;
	struct sov_metrics *m = NULL;
	struct sov_jq *q = NULL;
	struct sov_err e;
	jv summaries = jv_array(), rows = jv_invalid();
	int64_t now = sov_time_now_ms(), t0;
	int table = isatty(STDOUT_FILENO), c, written, rc = SOV_EXIT_FAIL;
	double write_s;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			state_dir = optarg;
			break;
		case 'M':
			metrics = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "json") != 0 &&
			    strcmp(optarg, "table") != 0) {
				jv_free(summaries);
				return sov_cli_usage_error(
				    "--format: want json "
				    "or table, got \"%s\"",
				    optarg);
			}
			table = strcmp(optarg, "table") == 0;
			break;
		default:
			jv_free(summaries);
			return SOV_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		jv_free(summaries);
		return sov_cli_usage_error("unexpected argument \"%s\"",
					   argv[optind]);
	}
	sov_time_format(now, ts);
	q = sov_jq_compile(
	    summary_jq, "summary",
	    jv_object_set(jv_object(), jv_string("ts"), jv_string(ts)), &e);
	if (q == NULL)
		goto fail;
	if (metrics == NULL) {
		if (state_dir != NULL) {
			if (sov_mkdir_p(state_dir, 0700, &e) < 0)
				goto fail;
			snprintf(dir, sizeof(dir), "%s", state_dir);
		} else if (sov_state_dir("demo", dir, sizeof(dir), &e) < 0) {
			goto fail;
		}
		if (snprintf(url, sizeof(url), "sqlite:%s/metrics.db", dir) >=
		    (int)sizeof(url)) {
			sov_err_set(&e, SOV_EXIT_USAGE,
				    "state directory path "
				    "too long");
			goto fail;
		}
		metrics = url;
	}
	if ((m = sov_metrics_open(metrics, stdout, &e)) == NULL)
		goto fail;
	if (sov_metrics_store(m) == NULL) {
		sov_err_set(&e, SOV_EXIT_USAGE, "the demo needs a store");
		goto fail;
	}
	now -= now % DEMO_STEP_MS;
	t0 = sov_time_mono_ms();
	if ((written = write_day(m, now, &e)) < 0)
		goto fail;
	write_s = (sov_time_mono_ms() - t0) / 1000.0;
	for (size_t s = 0; s < NSERIES; s++) {
		jv sum;
		int n;

		if (sov_metrics_query(sov_metrics_store(m), series[s].name,
				      now - 86400000, now + 1, 0, &rows,
				      &e) < 0)
			goto fail;
		n = jv_array_length(jv_copy(rows));
		if (n != DEMO_POINTS) {
			sov_err_set(&e, SOV_EXIT_FAIL,
				    "%s: read back %d measurements of the %d "
				    "written (a store shared with an earlier "
				    "run? use a fresh --state-dir)",
				    series[s].name, n, DEMO_POINTS);
			goto fail;
		}
		if (sov_jq_first(q, rows, &sum, &e) < 0)
			goto fail;
		rows = jv_invalid();
		summaries = jv_array_append(summaries, sum);
	}
	/* The demo measures itself, like every tool run does. */
	if (sov_metrics_add(m, "demo.run.write_seconds", write_s, "s",
			    jv_object(), &e) < 0 ||
	    sov_metrics_flush(m, &e) < 0)
		goto fail;
	if (table) {
		print_table(jv_copy(summaries),
			    sov_store_display(sov_metrics_store(m)), write_s,
			    written);
		if (fflush(stdout) != 0) {
			sov_err_sys(&e, SOV_EXIT_FAIL, "write stdout");
			goto fail;
		}
	} else {
		if ((w = sov_jsonl_writer_new(stdout, "stdout", 0)) == NULL) {
			sov_err_set(&e, SOV_EXIT_FAIL, "out of memory");
			goto fail;
		}
		jv_array_foreach(summaries, i, s)
		{
			if (sov_jsonl_write(w, s, &e) < 0)
				goto fail;
		}
		jv done = sov_record_new("demo.done");
		done = jv_object_set(
		    done, jv_string("store"),
		    jv_string(sov_store_display(sov_metrics_store(m))));
		done = jv_object_set(done, jv_string("written"),
				     jv_number(written));
		done = jv_object_set(done, jv_string("write_seconds"),
				     jv_number(write_s));
		if (sov_jsonl_write(w, done, &e) < 0)
			goto fail;
		rc = sov_jsonl_writer_close(w, &e);
		w = NULL;
		if (rc < 0)
			goto fail;
	}
	rc = SOV_EXIT_OK;
	if (sov_metrics_close(m, &e) < 0)
		rc = sov_cli_fail(&e);
	m = NULL;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	sov_jsonl_writer_close(w, NULL);
	sov_metrics_close(m, NULL);
	sov_jq_free(q);
	jv_free(rows);
	jv_free(summaries);
	return rc;
}
