/*
 * cmd_run.c - `sov-probe run [TARGET...]`: probe each target once, print a
 * result record per target in name order, exit 1 when any is down.
 *
 * Measurements go to the store when one is named (--metrics or
 * $SOV_METRICS); without one the result records are the output.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "engine.h"
#include "jsonl.h"
#include "measure.h"
#include "probe.h"

struct run {
	const struct pr_set *set;
	jv *records; /* per target, jv_invalid() until it finished */
	int down;
	struct sov_metrics *m;
	struct sov_err merr;
};

static void
on_done(void *ctx, size_t ti, struct pr_result *r)
{
	struct run *ru = ctx;
	const struct pr_target *t = &ru->set->targets[ti];

	ru->records[ti] = pr_result_record(t, r);
	ru->down |= !r->up;
	if (ru->m && ru->merr.code == 0)
		pr_result_measure(ru->m, t, NULL, r, &ru->merr);
}

/* Mark the targets named in args (all when none); exit 2 on a bad name. */
static int
choose(const struct pr_set *set, char **names, int n, unsigned char *want,
       struct sov_err *e)
{
	if (n == 0) {
		memset(want, 1, set->ntargets);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		const struct pr_target *t = pr_set_find(set, names[i]);

		if (t == NULL) {
			const char *near = NULL;
			size_t best = 3;

			for (size_t k = 0; k < set->ntargets; k++) {
				size_t d = sov_cli_distance(
				    names[i], set->targets[k].name);

				if (d < best) {
					best = d;
					near = set->targets[k].name;
				}
			}
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "no target named \"%s\"%s%s%s",
					   names[i],
					   near ? " (did you mean \"" : "",
					   near ? near : "", near ? "\"?)" : "");
		}
		want[t - set->targets] = 1;
	}
	return 0;
}

static int
probe_all(struct pr_engine *g, const struct pr_set *set,
	  const unsigned char *want, struct sov_err *e)
{
	size_t next = 0;

	for (;;) {
		while (next < set->ntargets && pr_engine_room(g)) {
			if (want[next] && pr_engine_start(g, next, e) < 0)
				return -1;
			next++;
		}
		if (next >= set->ntargets && pr_engine_busy(g) == 0)
			return 0;
		if (pr_engine_wait(g, 1000, -1, e) < 0)
			return -1;
	}
}

int
pr_cmd_run(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"targets", required_argument, NULL, 't'},
	    {"metrics", required_argument, NULL, 'm'},
	    {"threads", required_argument, NULL, 'j'},
	    {"concurrency", required_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0},
	};
	const char *targets = NULL, *metrics = NULL;
	long threads = PR_THREADS_DEFAULT, conc = PR_CONCURRENCY_DEFAULT;
	struct sov_err e = {0};
	struct pr_set set = {0};
	struct run ru = {0};
	struct pr_engine *g = NULL;
	struct sov_jsonl_writer *w = NULL;
	unsigned char *want = NULL;
	char path[4096];
	int c, bad = 0, rc = SOV_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 't')
			targets = optarg;
		else if (c == 'm')
			metrics = optarg;
		else if (c == 'j')
			bad |= sov_cli_parse_long("--threads", optarg, 1,
						  PR_THREADS_MAX, &threads,
						  &e) < 0;
		else if (c == 'c')
			bad |= sov_cli_parse_long("--concurrency", optarg, 1,
						  PR_CONCURRENCY_MAX, &conc,
						  &e) < 0;
		else
			return SOV_EXIT_USAGE;
		if (bad)
			return sov_cli_fail(&e);
	}
	if (pr_targets_path(targets, path, sizeof(path), &e) < 0 ||
	    pr_set_load(path, 0, &set, &e) < 0)
		return sov_cli_fail(&e);
	want = calloc(set.ntargets + 1, 1);
	ru.records = calloc(set.ntargets + 1, sizeof(jv));
	if (want == NULL || ru.records == NULL) {
		sov_err_set(&e, SOV_EXIT_FAIL, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < set.ntargets; i++)
		ru.records[i] = jv_invalid();
	if (choose(&set, argv + optind, argc - optind, want, &e) < 0)
		goto fail;
	ru.set = &set;
	if (metrics || (getenv("SOV_METRICS") && *getenv("SOV_METRICS"))) {
		ru.m = sov_metrics_open(metrics, stdout, &e);
		if (ru.m == NULL)
			goto fail;
	}
	g = pr_engine_new(&set, (int)threads, (int)conc, on_done, &ru, &e);
	if (g == NULL)
		goto fail;
	if ((w = sov_jsonl_writer_new(stdout, "stdout", 0)) == NULL) {
		sov_err_set(&e, SOV_EXIT_FAIL, "out of memory");
		goto fail;
	}
	if (probe_all(g, &set, want, &e) < 0)
		goto fail;
	for (size_t i = 0; i < set.ntargets; i++) {
		if (!jv_is_valid(ru.records[i]))
			continue;
		if (sov_jsonl_write(w, ru.records[i], &e) < 0) {
			ru.records[i] = jv_invalid();
			goto fail;
		}
		ru.records[i] = jv_invalid();
	}
	if (ru.merr.code) {
		e = ru.merr;
		goto fail;
	}
	if (sov_metrics_close(ru.m, &e) < 0) {
		ru.m = NULL;
		goto fail;
	}
	ru.m = NULL;
	if (sov_jsonl_writer_close(w, &e) < 0) {
		w = NULL;
		goto fail;
	}
	w = NULL;
	rc = ru.down ? SOV_EXIT_FAIL : SOV_EXIT_OK;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	pr_engine_free(g);
	sov_jsonl_writer_close(w, NULL);
	sov_metrics_close(ru.m, NULL);
	for (size_t i = 0; ru.records && i < set.ntargets; i++)
		jv_free(ru.records[i]);
	free(ru.records);
	free(want);
	pr_set_free(&set);
	return rc;
}
