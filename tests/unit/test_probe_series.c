/*
 * test_probe_series.c - bucketed series, rollup and retention of the
 * measurements table, on SQLite and on a real PostgreSQL ($SOV_TEST_PG_URL):
 * every aggregate checked against the same numbers computed here, before
 * and after the raw rows are rolled up; late rows; retention; unreadable
 * rows; kill -9 in the middle of a rollup; the quantile sketch's bound.
 */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "measure.h"
#include "measure_rollup.h"
#include "series.h"
#include "sketch.h"
#include "store.h"
#include "tap.h"
#include "timestamp.h"

#define BASE INT64_C(1795374000000) /* 2026-11-22T19:00:00Z, a whole hour */
#define STEP INT64_C(30000)
#define NPTS 240 /* two hours of points every 30 s, per target */
#define HOUR INT64_C(3600000)
#define DAY (24 * HOUR)

/* The value of target a at point i: spread over three decades. */
static double
val_a(int i)
{
	return 0.001 * (1 + (i * 37) % 1000);
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* percentile_cont(q) of v[0..n) (sorted here). */
static double
pct(double *v, int n, double q)
{
	double h = q * (n - 1);
	int lo = (int)floor(h);

	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	if (lo + 1 >= n)
		return v[lo];
	return v[lo] + (h - lo) * (v[lo + 1] - v[lo]);
}

/* The expected aggregate of target a over points [i0, i1). */
static double
expect_a(int i0, int i1, enum pr_agg agg)
{
	double v[NPTS], s = 0, mn = INFINITY, mx = -INFINITY;
	int n = 0;

	for (int i = i0; i < i1; i++) {
		v[n++] = val_a(i);
		s += val_a(i);
		mn = fmin(mn, val_a(i));
		mx = fmax(mx, val_a(i));
	}
	switch (agg) {
	case PR_AGG_AVG:
		return s / n;
	case PR_AGG_MIN:
		return mn;
	case PR_AGG_MAX:
		return mx;
	case PR_AGG_COUNT:
		return n;
	case PR_AGG_P95:
		return pct(v, n, 0.95);
	}
	return NAN;
}

static double
num_of(jv rec, const char *k)
{
	jv v = jv_object_get(jv_copy(rec), jv_string(k));
	double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : NAN;

	jv_free(v);
	return d;
}

static double
q_num(struct sov_store *st, const char *sql)
{
	struct sov_err e = {0};
	jv rows;
	double d;

	if (sov_store_query(st, sql, jv_array(), &rows, &e) < 0) {
		diag("%s: %s", sql, e.msg);
		return NAN;
	}
	rows = jv_array_get(rows, 0);
	d = num_of(rows, "n");
	jv_free(rows);
	return d;
}

/* Run a query; the points, or jv_invalid() with a failed test. */
static jv
run(struct sov_store *st, const char *name, const char *target, int64_t since,
    int64_t until, int64_t every, enum pr_agg agg, long *sk)
{
	struct pr_series_query q = {name, target, since, until, every, agg};
	struct sov_err e = {0};
	jv pts;

	if (pr_series_query(st, &q, &pts, sk, &e) < 0) {
		ok(0, "query %s %s: %s", name, pr_agg_name(agg), e.msg);
		return jv_invalid();
	}
	return pts;
}

/* Every aggregate of target a in 5-minute and 1-hour buckets, checked;
 * p95 within tol (relative). */
static void
check_aggs(struct sov_store *st, const char *eng, const char *when,
	   double p95_tol)
{
	static const int64_t everies[] = {5 * 60000, HOUR};
	int bad = 0, npts = 0;

	for (int a = PR_AGG_AVG; a <= PR_AGG_COUNT; a++) {
		for (size_t w = 0; w < 2; w++) {
			int64_t every = everies[w];
			int per = (int)(every / STEP);
			jv pts = run(st, "probe.seconds", "a", BASE,
				     BASE + NPTS * STEP, every, (enum pr_agg)a,
				     NULL);
			int n = jv_is_valid(pts) ? jv_array_length(jv_copy(pts))
						 : -1;

			if (n != NPTS / per) {
				diag("[%s] %s every %lld: %d points, want %d",
				     eng, pr_agg_name((enum pr_agg)a),
				     (long long)every, n, NPTS / per);
				bad++;
			}
			for (int k = 0; k < n; k++) {
				jv p = jv_array_get(jv_copy(pts), k);
				double got = num_of(p, "value");
				double want = expect_a(k * per, (k + 1) * per,
						       (enum pr_agg)a);
				double tol = a == PR_AGG_P95 ? p95_tol : 1e-9;

				npts++;
				if (!(fabs(got - want) <=
				      tol * fabs(want) + 1e-12)) {
					diag("[%s] %s every %lld bucket %d: "
					     "got %.9g want %.9g",
					     eng, pr_agg_name((enum pr_agg)a),
					     (long long)every, k, got, want);
					bad++;
				}
				jv_free(p);
			}
			jv_free(pts);
		}
	}
	ok(bad == 0 && npts > 0,
	   "[%s] %s: avg, min, max, count%s, p95%s "
	   "in 5m and 1h buckets (%d points)",
	   eng, when, p95_tol == 0 ? "" : " exact",
	   p95_tol == 0 ? " exact" : " within 1%", npts);
}

static void
fill(struct sov_store *st, const char *url, const char *eng)
{
	struct sov_err e = {0};
	struct sov_metrics *m = sov_metrics_open(url, NULL, &e);
	int rc = m ? 0 : -1;

	(void)st;
	for (int i = 0; rc == 0 && i < NPTS; i++) {
		rc |= sov_metrics_add_at(
		    m, BASE + i * STEP, "probe.seconds", val_a(i), "s",
		    jv_parse("{\"target\":\"a\",\"type\":\"http\"}"), &e);
		rc |= sov_metrics_add_at(
		    m, BASE + i * STEP, "probe.seconds", 0.5, "s",
		    jv_parse("{\"target\":\"b\",\"type\":\"tcp\"}"), &e);
		rc |= sov_metrics_add_at(
		    m, BASE + i * STEP, "probe.up", i % 10 == 0 ? 0 : 1, "",
		    jv_parse("{\"target\":\"a\",\"type\":\"http\"}"), &e);
	}
	if (sov_metrics_close(m, &e) < 0)
		rc = -1;
	ok(rc == 0, "[%s] %d measurements written", eng, NPTS * 3);
	if (rc != 0)
		diag("%s", e.msg);
}

static void
test_engine(const char *url, const char *eng)
{
	struct sov_err e = {0};
	struct sov_store *st = sov_store_open(url, &e);
	struct sov_rollup_opts o = {0};
	struct sov_rollup_stats s;
	jv pts, p;
	long sk = -1;

	ok(st != NULL && sov_metrics_migrate(st, &e) == 0,
	   "[%s] open and migrate (version 2: measurements_5m)", eng);
	if (st == NULL)
		return;
	is_int(sov_store_schema_version(st, SOV_METRICS_SCHEMA, &e), 2,
	       "[%s] sov.measurements is at version 2", eng);
	fill(st, url, eng);
	check_aggs(st, eng, "raw rows", 0);

	/* both targets, ordered by bucket then target */
	pts = run(st, "probe.seconds", NULL, BASE, BASE + HOUR, HOUR,
		  PR_AGG_COUNT, &sk);
	p = jv_array_get(jv_copy(pts), 1);
	ok(jv_array_length(jv_copy(pts)) == 2 &&
	       num_of(p, "count") == NPTS / 2 && sk == 0,
	   "[%s] no target filter: a point per target, nothing skipped", eng);
	{
		jv t = jv_object_get(jv_copy(p), jv_string("target"));
		jv ts = jv_object_get(jv_copy(p), jv_string("ts"));

		is_str(jv_get_kind(t) == JV_KIND_STRING ? jv_string_value(t)
							: "",
		       "b", "[%s] ordered by target within a bucket", eng);
		is_str(jv_string_value(ts), "2026-11-22T19:00:00.000Z",
		       "[%s] ts is the bucket's start", eng);
		jv_free(t);
		jv_free(ts);
	}
	jv_free(p);
	jv_free(pts);
	pts =
	    run(st, "probe.up", "a", BASE, BASE + HOUR, HOUR, PR_AGG_AVG, NULL);
	p = jv_array_get(jv_copy(pts), 0);
	ok(fabs(num_of(p, "value") - 0.9) < 1e-12,
	   "[%s] probe.up avg is the uptime (0.9)", eng);
	jv_free(p);
	jv_free(pts);

	/* roll up the first hour */
	o.now_ms = BASE + 10 * DAY;
	o.after_ms = 10 * DAY - HOUR;
	o.keep_ms = 400 * DAY;
	o.chunk = 37;
	o.dry_run = 1;
	ok(sov_measure_rollup(st, &o, &s, &e) == 0 && s.raw == NPTS * 3 / 2 &&
	       q_num(st, "SELECT count(*) AS n FROM measurements_5m") == 0,
	   "[%s] dry run counts %d rows, changes nothing", eng, NPTS * 3 / 2);
	o.dry_run = 0;
	ok(sov_measure_rollup(st, &o, &s, &e) == 0, "[%s] rollup", eng);
	if (e.code)
		diag("%s", e.msg);
	is_int(s.raw, NPTS * 3 / 2, "[%s] rolled the first hour's rows", eng);
	is_int(q_num(st, "SELECT count(*) AS n FROM measurements"),
	       NPTS * 3 / 2, "[%s] raw rows of the first hour deleted", eng);
	/* 12 buckets x 3 series; a chunk's edge may split a bucket of each
	 * of the two series of probe.seconds in two */
	ok(s.written >= 36 && s.written <= 36 + 2 * (NPTS * 3 / 2 / 37 + 2),
	   "[%s] one summary per bucket and series (and chunk edge): %ld", eng,
	   s.written);
	check_aggs(st, eng, "half rolled up", SOV_SKETCH_ALPHA);
	/* a day's bucket (buckets start at multiples of their width since
	 * the epoch) holds both hours */
	pts = run(st, "probe.seconds", "a", BASE, BASE + 2 * HOUR, DAY,
		  PR_AGG_P95, NULL);
	p = jv_array_get(jv_copy(pts), 0);
	{
		double want = expect_a(0, NPTS, PR_AGG_P95);
		double got = num_of(p, "value");

		ok(fabs(got - want) <= SOV_SKETCH_ALPHA * want,
		   "[%s] p95 of a bucket half summaries, half raw: %.6g, "
		   "exact %.6g",
		   eng, got, want);
	}
	jv_free(p);
	jv_free(pts);

	/* a row that arrives late, into a rolled-up bucket, counts once */
	{
		struct sov_metrics *m = sov_metrics_open(url, NULL, &e);

		sov_metrics_add_at(m, BASE + 1000, "probe.seconds", 7, "s",
				   jv_parse("{\"target\":\"a\"}"), &e);
		sov_metrics_close(m, &e);
	}
	pts = run(st, "probe.seconds", "a", BASE, BASE + 5 * 60000, 5 * 60000,
		  PR_AGG_COUNT, NULL);
	p = jv_array_get(jv_copy(pts), 0);
	is_int(num_of(p, "count"), 11,
	       "[%s] a late raw row adds to its "
	       "summarised bucket",
	       eng);
	jv_free(p);
	jv_free(pts);
	ok(sov_measure_rollup(st, &o, &s, &e) == 0 && s.raw == 1,
	   "[%s] and is rolled up by the next run", eng);
	pts = run(st, "probe.seconds", "a", BASE, BASE + 5 * 60000, 5 * 60000,
		  PR_AGG_MAX, NULL);
	p = jv_array_get(jv_copy(pts), 0);
	ok(num_of(p, "count") == 11 && num_of(p, "value") == 7,
	   "[%s] two summaries of one bucket add up (count 11, max 7)", eng);
	jv_free(p);
	jv_free(pts);

	/* retention: summaries older than keep go */
	o.keep_ms = 10 * DAY - HOUR / 2;
	{
		double before = q_num(st, "SELECT count(*) AS n FROM "
					  "measurements_5m");
		int rc = sov_measure_rollup(st, &o, &s, &e);

		ok(rc == 0 && s.expired > 0 && s.raw == 0 &&
		       q_num(st, "SELECT count(*) AS n FROM "
				 "measurements_5m") == before - s.expired,
		   "[%s] retention deleted %ld of %.0f summaries", eng,
		   s.expired, before);
	}
	pts = run(st, "probe.seconds", "a", BASE, BASE + 2 * HOUR, HOUR,
		  PR_AGG_COUNT, NULL);
	p = jv_array_get(jv_copy(pts), 0);
	ok(jv_array_length(jv_copy(pts)) == 2 && num_of(p, "count") == NPTS / 4,
	   "[%s] the first half hour is gone, the second is there", eng);
	jv_free(p);
	jv_free(pts);

	/* bad queries */
	{
		struct pr_series_query q = {"probe.up", NULL,  BASE,
					    BASE,       60000, PR_AGG_AVG};

		ok(pr_series_query(st, &q, &pts, NULL, &e) < 0 &&
		       e.code == SOV_EXIT_USAGE && strstr(e.msg, "not before"),
		   "[%s] since = until refused", eng);
		q.until_ms = BASE + HOUR;
		q.every_ms = 1500;
		ok(pr_series_query(st, &q, &pts, NULL, &e) < 0 &&
		       e.code == SOV_EXIT_USAGE && strstr(e.msg, "whole"),
		   "[%s] every 1.5s refused", eng);
		q.since_ms = 0;
		q.every_ms = 1000;
		ok(pr_series_query(st, &q, &pts, NULL, &e) < 0 &&
		       e.code == SOV_EXIT_USAGE && strstr(e.msg, "buckets"),
		   "[%s] too many buckets refused", eng);
	}
	sov_store_close(st);
}

/* SQLite's columns take anything: rows that are not readable. */
static void
test_corrupt(const char *url)
{
	struct sov_err e = {0};
	struct sov_store *st = sov_store_open(url, &e);
	struct sov_rollup_opts o = {0};
	struct sov_rollup_stats s;
	long sk = -1;
	jv pts, p;
	double before;

	pts = run(st, "probe.seconds", "b", BASE, BASE + 2 * HOUR, 2 * HOUR,
		  PR_AGG_AVG, NULL);
	pts = jv_array_get(pts, 0);
	before = num_of(pts, "count");
	jv_free(pts);
	ok(sov_store_exec(
	       st,
	       "INSERT INTO measurements VALUES"
	       " ('2026-11-22T19:10:00.000Z', 'probe.seconds', 'abc', 's',"
	       "  '{\"target\":\"b\"}'),"
	       " ('2026-11-22T19:10:01.000Z', 'probe.seconds', 1, 's',"
	       "  'not json'),"
	       " ('2026-11-22T19:1x:garbage', 'probe.seconds', 1, 's',"
	       "  '{\"target\":\"b\"}'),"
	       " ('2026-11-22T19:10:02.000Z', 'probe.seconds', 9e999, 's',"
	       "  '{\"target\":\"b\"}');"
	       "INSERT INTO measurements_5m VALUES ('2026-11-22T19:30:00.000Z',"
	       " 'probe.seconds', 's', '{\"target\":\"b\"}', 1, 1, 1, 1,"
	       " '{\"a\":0.01,\"p\":\"x\"}')",
	       &e) == 0,
	   "[sqlite] four unreadable rows and a bad sketch inserted");
	pts = run(st, "probe.seconds", "b", BASE, BASE + 2 * HOUR, 2 * HOUR,
		  PR_AGG_AVG, &sk);
	p = jv_array_get(jv_copy(pts), 0);
	ok(num_of(p, "count") == before + 1 && num_of(p, "value") >= 0.49 &&
	       sk == 4,
	   "[sqlite] unreadable rows left out and counted (%ld)", sk);
	jv_free(p);
	jv_free(pts);
	{
		struct pr_series_query q = {"probe.seconds", "b",  BASE,
					    BASE + 2 * HOUR, HOUR, PR_AGG_P95};

		ok(pr_series_query(st, &q, &pts, NULL, &e) < 0 &&
		       strstr(e.msg, "sketch") &&
		       strstr(e.msg, "2026-11-22T19:00:00.000Z"),
		   "[sqlite] a bad sketch is an error naming its bucket: %s",
		   e.msg);
	}
	o.now_ms = BASE + 10 * DAY;
	o.after_ms = 9 * DAY;
	o.keep_ms = 400 * DAY;
	ok(sov_measure_rollup(st, &o, &s, &e) == 0 && s.skipped == 4 &&
	       q_num(st, "SELECT count(*) AS n FROM measurements") == 4,
	   "[sqlite] rollup leaves the unreadable rows where they are "
	   "(skipped %ld)",
	   s.skipped);
	sov_store_close(st);
}

/* Raw rows + summaries: count and sum of everything (the invariant), in
 * one statement so that a rollup the killed child left committing in the
 * server cannot fall between two reads. */
static int
totals(struct sov_store *st, double *n, double *sum)
{
	struct sov_err e = {0};
	jv rows, r;

	if (sov_store_query(
		st,
		"SELECT (SELECT count(*) FROM measurements) +"
		" (SELECT coalesce(sum(count), 0) FROM measurements_5m) AS n,"
		" (SELECT coalesce(sum(value), 0) FROM measurements) +"
		" (SELECT coalesce(sum(sum), 0) FROM measurements_5m) AS s",
		jv_array(), &rows, &e) < 0) {
		diag("totals: %s", e.msg);
		return -1;
	}
	r = jv_array_get(rows, 0);
	*n = num_of(r, "n");
	*sum = num_of(r, "s");
	jv_free(r);
	return isnan(*n) || isnan(*sum) ? -1 : 0;
}

/* kill -9 a rollup at random instants: nothing lost, nothing twice. */
static void
test_kill(const char *url, const char *eng)
{
	struct sov_err e = {0};
	struct sov_store *st = sov_store_open(url, &e);
	struct sov_metrics *m = sov_metrics_open(url, NULL, &e);
	struct sov_rollup_opts o = {0};
	struct sov_rollup_stats s;
	double n0, s0, n, sum;
	int rounds = 0, mid = 0, bad = 0, rows = 20000;
	/* a run takes ~0.25 s on SQLite here, ~1 s on PostgreSQL (which
	 * needs longer to connect) */
	int pg = strncmp(url, "sqlite:", 7) != 0;
	int min_us = pg ? 30000 : 5000, span_us = pg ? 400000 : 100000;
	unsigned seed = (unsigned)time(NULL);

	for (int i = 0; i < rows; i++)
		sov_metrics_add_at(m, BASE - 30 * DAY + i * 1000, "kill.test",
				   i % 97, "s",
				   jv_parse(i % 2 ? "{\"target\":\"x\"}"
						  : "{\"target\":\"y\"}"),
				   &e);
	ok(sov_metrics_close(m, &e) == 0 && totals(st, &n0, &s0) == 0,
	   "[%s] kill test: %d rows", eng, rows);
	o.now_ms = BASE + 10 * DAY;
	o.after_ms = 5 * DAY;
	o.keep_ms = 400 * DAY;
	o.chunk = 25;
	diag("[%s] kill test seed %u", eng, seed);
	srand(seed);
	for (rounds = 0; rounds < 12; rounds++) {
		pid_t pid = fork();
		int status;
		double left;

		if (pid == 0) {
			struct sov_store *c = sov_store_open(url, &e);

			_exit(c && sov_measure_rollup(c, &o, &s, &e) == 0 ? 0
									  : 1);
		}
		usleep((useconds_t)(min_us + rand() % span_us));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (totals(st, &n, &sum) < 0 || n != n0 ||
		    fabs(sum - s0) > 1e-6 * s0) {
			diag("round %d: %.0f rows (want %.0f), sum %.17g (want "
			     "%.17g)",
			     rounds, n, n0, sum, s0);
			bad++;
		}
		left = q_num(st, "SELECT count(*) AS n FROM measurements "
				 "WHERE name = 'kill.test'");
		if (WIFSIGNALED(status) && left > 0 && left < rows)
			mid++;
		if (left == 0)
			break;
	}
	ok(bad == 0, "[%s] after each of %d kills: every row counted once", eng,
	   rounds + 1);
	ok(mid > 0, "[%s] %d kills landed in the middle of a rollup", eng, mid);
	ok(sov_measure_rollup(st, &o, &s, &e) == 0 &&
	       totals(st, &n, &sum) == 0 && n == n0 &&
	       fabs(sum - s0) <= 1e-6 * s0 &&
	       q_num(st, "SELECT count(*) AS n FROM measurements WHERE name"
			 " = 'kill.test'") == 0,
	   "[%s] a last run finishes the work, totals unchanged", eng);
	sov_store_close(st);
}

static void
test_sketch(void)
{
	struct sov_sketch *a = sov_sketch_new(), *b = sov_sketch_new();
	struct sov_err e = {0};
	double v[3003], worst = 0;
	char *t;
	int n = 0;

	/* log-normal-ish latencies from 100 us to 10 s, and some negatives */
	srand(7);
	for (int i = 0; i < 3000; i++) {
		double x = exp(-9 + 11.5 * rand() / (double)RAND_MAX);

		v[n++] = i % 50 == 0 ? -x : x;
		sov_sketch_add(i % 2 ? a : b, v[n - 1], 1);
	}
	sov_sketch_add(a, 0, 3);
	v[n++] = 0;
	v[n++] = 0;
	v[n++] = 0;
	t = sov_sketch_text(b);
	ok(t != NULL && sov_sketch_merge_text(a, t, strlen(t), &e) == 0,
	   "sketch: text form merges back");
	free(t);
	is_int(sov_sketch_count(a), 3003, "sketch: merged count");
	for (int k = 1; k < 100; k++) {
		double q = k / 100.0, want, got;

		want = pct(v, n, q);
		got = sov_sketch_quantile(a, q);
		if (fabs(got - want) / fabs(want ? want : 1) > worst)
			worst = fabs(got - want) / fabs(want ? want : 1);
	}
	ok(worst <= SOV_SKETCH_ALPHA,
	   "sketch: every percentile within 1%% "
	   "(worst %.4f%%)",
	   worst * 100);
#define TEXT(s) s, strlen(s)
	ok(sov_sketch_merge_text(a, TEXT("{\"a\":0.02}"), &e) < 0 &&
	       strstr(e.msg, "accuracy"),
	   "sketch: another accuracy refused");
	ok(sov_sketch_merge_text(a, TEXT("{\"a\":0.01,\"p\":[1]}"), &e) < 0 &&
	       strstr(e.msg, "pairs"),
	   "sketch: odd bins refused");
	ok(sov_sketch_merge_text(a, TEXT("{\"a\":0.01,\"p\":[1,-2]}"), &e) < 0,
	   "sketch: a negative count refused");
	ok(sov_sketch_merge_text(a, TEXT("["), &e) < 0,
	   "sketch: bad JSON refused");
	is_int(sov_sketch_count(a), 3003,
	       "sketch: a refused text adds nothing");
	ok(isnan(sov_sketch_quantile(b, 2)), "sketch: q out of range is NaN");
	sov_sketch_free(a);
	sov_sketch_free(b);
}

/* (Re)create database db on the server. */
static int
pg_recreate(struct sov_store *admin, const char *db, int drop_only)
{
	struct sov_err e = {0};
	char sql[128];

	xsnprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
		  db);
	if (sov_store_exec(admin, sql, &e) < 0)
		goto fail;
	if (drop_only)
		return 0;
	xsnprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	if (sov_store_exec(admin, sql, &e) < 0)
		goto fail;
	return 0;
fail:
	ok(0, "PostgreSQL: %s: %s", sql, e.msg);
	return -1;
}

static void
url_with_db(char *buf, size_t size, const char *url, const char *db)
{
	const char *p = strstr(url, "://"), *path, *query;

	p = p ? p + 3 : url;
	path = p + strcspn(p, "/?");
	query = strchr(path, '?');
	xsnprintf(buf, size, "%.*s/%s%s", (int)(path - url), url, db,
		  query ? query : "");
}

#define ENGINE_TESTS 27 /* test_engine + test_kill, for the skip line */

int
main(void)
{
	const char *pg = getenv("SOV_TEST_PG_URL"),
		   *req = getenv("SOV_REQUIRE_PG");
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[512], url[600], db[64], pgurl[SOV_STORE_URL_MAX];
	int n;

	test_sketch();
	xsnprintf(path, sizeof(path), "%s/series-%ld.db", tmp, (long)getpid());
	unlink(path);
	xsnprintf(url, sizeof(url), "sqlite:%s", path);
	n = tap_n;
	test_engine(url, "sqlite");
	test_kill(url, "sqlite");
	if (tap_n - n != ENGINE_TESTS)
		diag("ENGINE_TESTS should be %d", tap_n - n);
	test_corrupt(url);
	unlink(path);

	if (pg != NULL && *pg != '\0') {
		struct sov_err e = {0};
		struct sov_store *admin = sov_store_open(pg, &e);

		xsnprintf(db, sizeof(db), "sov_series_%ld", (long)getpid());
		url_with_db(pgurl, sizeof(pgurl), pg, db);
		if (admin == NULL || pg_recreate(admin, db, 0) < 0) {
			ok(0, "PostgreSQL: %s", e.msg);
		} else {
			test_engine(pgurl, "postgres");
			test_kill(pgurl, "postgres");
			pg_recreate(admin, db, 1);
		}
		sov_store_close(admin);
	} else if (req != NULL && strcmp(req, "1") == 0) {
		ok(0, "PostgreSQL: SOV_REQUIRE_PG=1 but SOV_TEST_PG_URL is not "
		      "set");
	} else {
		skip(ENGINE_TESTS, "PostgreSQL: SOV_TEST_PG_URL not set");
	}
	skip(1, "TimescaleDB: Debian 12 does not package it (the continuous "
		"aggregate and its policies are not run here)");
	return done_testing();
}
