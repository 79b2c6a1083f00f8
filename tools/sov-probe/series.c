/*
 * series.c - bucketed series from raw measurements and their 5-minute
 * summaries; see series.h.
 *
 * Three queries at most, each returning a row per bucket and target (never
 * a row per measurement): the raw rows aggregated, the summaries
 * aggregated, and for p95 on SQLite the two ranks around the 95th
 * percentile. Only a bucket that holds both raw rows and summaries has its
 * raw values read, to add them to the summaries' sketch.
 */
#include "series.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure.h"
#include "measure_rollup.h"
#include "sketch.h"
#include "timestamp.h"

#define FINITE_SQL                                                             \
	"value BETWEEN -1.7976931348623157e308 AND "                           \
	"1.7976931348623157e308"
#define SQLITE_READABLE                                                        \
	"strftime('%s', ts) IS NOT NULL AND typeof(value) IN ('integer', "     \
	"'real') AND " FINITE_SQL " AND json_valid(tags)"
#define SQLITE_TARGET "CAST(json_extract(tags, '$.target') AS TEXT)"
#define SQL_MAX 2048

/* $1 name, $2 since, $3 until, $4 every in seconds: rows with b, target,
 * value. */
#define SQLITE_RAW                                                             \
	"SELECT (CAST(strftime('%%s', ts) AS INTEGER) / CAST($4 AS INTEGER))"  \
	" * CAST($4 AS INTEGER) AS b, " SQLITE_TARGET " AS target, value"      \
	" FROM measurements WHERE name = $1 AND ts >= $2 AND ts < $3 AND "     \
	"strftime('%%s', ts) IS NOT NULL AND typeof(value) IN ('integer', "    \
	"'real') AND " FINITE_SQL " AND json_valid(tags)"

struct grp {
	int64_t b;    /* bucket start, s */
	char *target; /* NULL: none */
	double n, sum, mn, mx;
	double p95;     /* raw only: exact; NAN until known */
	double p95max;  /* TimescaleDB summaries: the largest p95 */
	char *sketches; /* summaries: ';'-separated texts, or NULL */
	int raw, roll;  /* which kinds of rows it holds */
};

static const char *const agg_names[] = {NULL,  "avg", "min",
					"max", "p95", "count"};

int
pr_agg_parse(const char *s, enum pr_agg *agg)
{
	for (int i = PR_AGG_AVG; i <= PR_AGG_COUNT; i++)
		if (strcmp(s, agg_names[i]) == 0) {
			*agg = (enum pr_agg)i;
			return 0;
		}
	return -1;
}

const char *
pr_agg_name(enum pr_agg agg)
{
	return agg >= PR_AGG_AVG && agg <= PR_AGG_COUNT ? agg_names[agg] : "?";
}

static int
grp_cmp(const void *a, const void *b)
{
	const struct grp *x = a, *y = b;

	if (x->b != y->b)
		return x->b < y->b ? -1 : 1;
	if (x->target == NULL || y->target == NULL)
		return (x->target != NULL) - (y->target != NULL);
	return strcmp(x->target, y->target);
}

static double
get_num(jv row, const char *k)
{
	jv v = jv_object_get(jv_copy(row), jv_string(k));
	double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : NAN;

	jv_free(v);
	return d;
}

/* A string column as a malloc'd copy; NULL for null (*oom set on failure). */
static char *
get_str(jv row, const char *k, int *oom)
{
	jv v = jv_object_get(jv_copy(row), jv_string(k));
	char *s = NULL;

	if (jv_get_kind(v) == JV_KIND_STRING) {
		s = strdup(jv_string_value(v));
		if (s == NULL)
			*oom = 1;
	}
	jv_free(v);
	return s;
}

struct grps {
	struct grp *g;
	size_t len, cap;
};

static void
grps_free(struct grps *gs)
{
	for (size_t i = 0; i < gs->len; i++) {
		free(gs->g[i].target);
		free(gs->g[i].sketches);
	}
	free(gs->g);
	gs->g = NULL;
	gs->len = gs->cap = 0;
}

/* Append a group per row of rows (consumed); raw says which kind. */
static int
grps_add(struct grps *gs, jv rows, int raw, struct sov_err *e)
{
	int len = jv_array_length(jv_copy(rows)), rc = -1;

	if (gs->len + (size_t)len > gs->cap) {
		size_t cap = gs->len + (size_t)len + 16;
		struct grp *ng = realloc(gs->g, cap * sizeof(*ng));

		if (ng == NULL) {
			sov_err_set(e, SOV_EXIT_FAIL, "series: out of memory");
			goto out;
		}
		gs->g = ng;
		gs->cap = cap;
	}
	for (int i = 0; i < len; i++) {
		jv row = jv_array_get(jv_copy(rows), i);
		struct grp *g = &gs->g[gs->len];
		int oom = 0;

		memset(g, 0, sizeof(*g));
		g->b = (int64_t)get_num(row, "b");
		g->n = get_num(row, "n");
		g->sum = get_num(row, "s");
		g->mn = get_num(row, "mn");
		g->mx = get_num(row, "mx");
		g->p95 = raw ? get_num(row, "p95") : NAN;
		g->p95max = raw ? NAN : get_num(row, "p95max");
		g->target = get_str(row, "target", &oom);
		g->sketches = raw ? NULL : get_str(row, "sk", &oom);
		g->raw = raw;
		g->roll = !raw;
		jv_free(row);
		gs->len++;
		if (oom) {
			sov_err_set(e, SOV_EXIT_FAIL, "series: out of memory");
			goto out;
		}
		if (!(g->n >= 1) || isnan(g->sum) || isnan(g->mn) ||
		    isnan(g->mx)) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "series: the store returned a bucket "
				    "without its count, sum, min or max");
			goto out;
		}
	}
	rc = 0;
out:
	jv_free(rows);
	return rc;
}

/* params for the window queries */
static jv
params(const struct pr_series_query *q, int64_t since, int64_t until)
{
	char a[SOV_TIME_RFC3339_LEN], b[SOV_TIME_RFC3339_LEN];
	jv p;

	sov_time_format(since, a);
	sov_time_format(until, b);
	p = JV_ARRAY(jv_string(q->name), jv_string(a), jv_string(b),
		     jv_number((double)(q->every_ms / 1000)));
	if (q->target != NULL)
		p = jv_array_append(p, jv_string(q->target));
	return p;
}

static int __attribute__((format(printf, 3, 4)))
sql_fmt(char *buf, struct sov_err *e, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, SQL_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= SQL_MAX)
		return sov_err_set(e, SOV_EXIT_FAIL, "series: SQL too long");
	return 0;
}

/* The raw rows of [since, until) aggregated by bucket and target. */
static int
query_raw(struct sov_store *st, const struct pr_series_query *q, int64_t since,
	  int64_t until, struct grps *gs, struct sov_err *e)
{
	int pg = sov_store_kind(st) == SOV_STORE_POSTGRES;
	int p95 = pg && q->agg == PR_AGG_P95;
	char sql[SQL_MAX];
	jv rows;

	if (since >= until)
		return 0;
	if (pg) {
		if (sql_fmt(
			sql, e,
			"SELECT (floor(extract(epoch FROM ts) / $4::float8)"
			" * $4::float8)::float8 AS b, tags->>'target' AS "
			"target,"
			" count(*)::float8 AS n, sum(value) AS s, min(value) AS"
			" mn, max(value) AS mx%s FROM measurements WHERE name ="
			" $1 AND ts >= $2::timestamptz AND ts < $3::timestamptz"
			" AND " FINITE_SQL "%s GROUP BY 1, 2 ORDER BY 1, 2",
			p95 ? ", percentile_cont(0.95) WITHIN GROUP (ORDER BY"
			      " value) AS p95"
			    : "",
			q->target ? " AND tags->>'target' = $5" : "") < 0)
			return -1;
	} else if (sql_fmt(
		       sql, e,
		       "SELECT b, target, count(*) AS n, sum(value) AS s,"
		       " min(value) AS mn, max(value) AS mx FROM (" SQLITE_RAW
		       ") x%s GROUP BY b, target ORDER BY b, target",
		       q->target ? " WHERE target = $5" : "") < 0) {
		return -1;
	}
	if (sov_store_query(st, sql, params(q, since, until), &rows, e) < 0)
		return sov_err_prefix(e, "series: %s: ", q->name);
	return grps_add(gs, rows, 1, e);
}

/* The summaries of [since, until) aggregated by bucket and target. */
static int
query_roll(struct sov_store *st, const struct pr_series_query *q, int64_t since,
	   int64_t until, int timescale, struct grps *gs, struct sov_err *e)
{
	int pg = sov_store_kind(st) == SOV_STORE_POSTGRES;
	int p95 = q->agg == PR_AGG_P95;
	char sql[SQL_MAX];
	jv rows;

	if (since >= until)
		return 0;
	if (pg) {
		if (sql_fmt(
			sql, e,
			"SELECT (floor(extract(epoch FROM bucket) / $4::float8)"
			" * $4::float8)::float8 AS b, tags->>'target' AS "
			"target,"
			" sum(count)::float8 AS n, sum(sum) AS s, min(min) AS "
			"mn,"
			" max(max) AS mx%s FROM %s WHERE name = $1 AND bucket "
			">="
			" $2::timestamptz AND bucket < $3::timestamptz%s"
			" GROUP BY 1, 2 ORDER BY 1, 2",
			!p95        ? ""
			: timescale ? ", max(p95) AS p95max"
				    : ", string_agg(sketch, ';') AS sk",
			timescale ? SOV_ROLLUP_CAGG : SOV_ROLLUP_TABLE,
			q->target ? " AND tags->>'target' = $5" : "") < 0)
			return -1;
	} else if (sql_fmt(
		       sql, e,
		       "SELECT b, target, sum(count) AS n, sum(sum) AS s,"
		       " min(min) AS mn, max(max) AS mx%s FROM (SELECT"
		       " (CAST(strftime('%%s', bucket) AS INTEGER) / CAST($4 AS"
		       " INTEGER)) * CAST($4 AS INTEGER) AS b, " SQLITE_TARGET
		       " AS target, count, sum, min, max, sketch FROM"
		       " measurements_5m WHERE name = $1 AND bucket >= $2 AND"
		       " bucket < $3 AND json_valid(tags)) x WHERE b IS NOT"
		       " NULL%s GROUP BY b, target ORDER BY b, target",
		       p95 ? ", group_concat(sketch, ';') AS sk" : "",
		       q->target ? " AND target = $5" : "") < 0) {
		return -1;
	}
	if (sov_store_query(st, sql, params(q, since, until), &rows, e) < 0)
		return sov_err_prefix(e, "series: %s: summaries: ", q->name);
	return grps_add(gs, rows, 0, e);
}

/* SQLite: the exact p95 of raw-only groups from the two ranks around it. */
static int
sqlite_p95(struct sov_store *st, const struct pr_series_query *q, int64_t since,
	   int64_t until, struct grp *g, size_t len, struct sov_err *e)
{
	char sql[SQL_MAX];
	jv rows;
	size_t k = 0;
	int n;

	if (sql_fmt(sql, e,
		    "SELECT b, target, rn, value FROM (SELECT b, target, value,"
		    " row_number() OVER (PARTITION BY b, target ORDER BY value)"
		    " AS rn, count(*) OVER (PARTITION BY b, target) AS n FROM"
		    " (" SQLITE_RAW ") x%s) WHERE rn = CAST((n - 1) * 0.95 AS"
		    " INTEGER) + 1 OR rn = CAST((n - 1) * 0.95 AS INTEGER) + 2"
		    " ORDER BY b, target, rn",
		    q->target ? " WHERE target = $5" : "") < 0)
		return -1;
	if (sov_store_query(st, sql, params(q, since, until), &rows, e) < 0)
		return sov_err_prefix(e, "series: %s: p95: ", q->name);
	n = jv_array_length(jv_copy(rows));
	for (int i = 0; i < n; i++) {
		jv row = jv_array_get(jv_copy(rows), i);
		int oom = 0;
		struct grp key = {0};
		double rn = get_num(row, "rn"), v = get_num(row, "value");

		key.b = (int64_t)get_num(row, "b");
		key.target = get_str(row, "target", &oom);
		jv_free(row);
		if (oom) {
			jv_free(rows);
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "series: out of memory");
		}
		while (k < len && grp_cmp(&g[k], &key) < 0)
			k++;
		if (k < len && grp_cmp(&g[k], &key) == 0) {
			double h = 0.95 * (g[k].n - 1);
			double lo = floor(h);

			if (rn == lo + 1)
				g[k].p95 = v;
			else if (rn == lo + 2 && !isnan(g[k].p95))
				g[k].p95 += (h - lo) * (v - g[k].p95);
		}
		free(key.target);
	}
	jv_free(rows);
	return 0;
}

/* A bucket with summaries and raw rows: its raw values into the sketch. */
static int
raw_into_sketch(struct sov_store *st, const struct pr_series_query *q,
		const struct grp *g, int64_t raw_since, int64_t until,
		struct sov_sketch *sk, struct sov_err *e)
{
	int pg = sov_store_kind(st) == SOV_STORE_POSTGRES;
	int64_t a = g->b * 1000, b = a + q->every_ms;
	char ta[SOV_TIME_RFC3339_LEN], tb[SOV_TIME_RFC3339_LEN];
	jv rows;
	int n, rc = 0;

	a = a < raw_since ? raw_since : a;
	b = b > until ? until : b;
	sov_time_format(a, ta);
	sov_time_format(b, tb);
	if (sov_store_query(
		st,
		pg ? "SELECT value FROM measurements WHERE name = $1 AND ts >="
		     " $2::timestamptz AND ts < $3::timestamptz AND " FINITE_SQL
		     " AND tags->>'target' IS NOT DISTINCT FROM $4"
		   : "SELECT value FROM measurements WHERE name = $1 AND ts >="
		     " $2 AND ts < $3 AND " SQLITE_READABLE
		     " AND " SQLITE_TARGET " IS $4",
		JV_ARRAY(jv_string(q->name), jv_string(ta), jv_string(tb),
			 g->target ? jv_string(g->target) : jv_null()),
		&rows, e) < 0)
		return sov_err_prefix(e, "series: %s: ", q->name);
	n = jv_array_length(jv_copy(rows));
	for (int i = 0; i < n && rc == 0; i++) {
		jv row = jv_array_get(jv_copy(rows), i);
		double v = get_num(row, "value");

		jv_free(row);

		if (!isnan(v) && sov_sketch_add(sk, v, 1) < 0)
			rc = sov_err_set(e, SOV_EXIT_FAIL,
					 "series: out of memory");
	}
	jv_free(rows);
	return rc;
}

/* The p95 of a group that holds summaries. */
static int
roll_p95(struct sov_store *st, const struct pr_series_query *q, struct grp *g,
	 int64_t raw_since, int64_t until, struct sov_err *e)
{
	struct sov_sketch *sk;
	const char *s;
	int rc = -1;

	if (g->sketches == NULL) { /* TimescaleDB: an upper bound */
		if (!g->raw || isnan(g->p95) || g->p95max > g->p95)
			g->p95 = g->p95max;
		return 0;
	}
	if ((sk = sov_sketch_new()) == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "series: out of memory");
	for (s = g->sketches; *s != '\0';) {
		const char *end = strchr(s, ';');
		size_t len = end ? (size_t)(end - s) : strlen(s);

		if (sov_sketch_merge_text(sk, s, len, e) < 0) {
			char ts[SOV_TIME_RFC3339_LEN];

			sov_time_format(g->b * 1000, ts);
			sov_err_prefix(e,
				       "series: %s: a summary in the bucket "
				       "at %s: ",
				       q->name, ts);
			goto out;
		}
		s = end ? end + 1 : s + len;
	}
	if (g->raw && raw_into_sketch(st, q, g, raw_since, until, sk, e) < 0)
		goto out;
	g->p95 = sov_sketch_quantile(sk, 0.95);
	rc = 0;
out:
	sov_sketch_free(sk);
	return rc;
}

/* Merge groups with the same bucket and target (gs sorted). */
static void
merge_same(struct grps *gs)
{
	size_t w = 0;

	for (size_t r = 0; r < gs->len; r++) {
		struct grp *x = &gs->g[r];

		if (w > 0 && grp_cmp(&gs->g[w - 1], x) == 0) {
			struct grp *y = &gs->g[w - 1];

			y->n += x->n;
			y->sum += x->sum;
			y->mn = x->mn < y->mn ? x->mn : y->mn;
			y->mx = x->mx > y->mx ? x->mx : y->mx;
			y->raw |= x->raw;
			y->roll |= x->roll;
			if (x->raw)
				y->p95 = x->p95;
			if (!x->raw) {
				y->p95max = x->p95max;
				free(y->sketches);
				y->sketches = x->sketches;
				x->sketches = NULL;
			}
			free(x->target);
			continue;
		}
		gs->g[w++] = *x;
	}
	gs->len = w;
}

/* Rows left out as unreadable in the window. */
static long
count_skipped(struct sov_store *st, const struct pr_series_query *q,
	      struct sov_err *e)
{
	int pg = sov_store_kind(st) == SOV_STORE_POSTGRES;
	char a[SOV_TIME_RFC3339_LEN], b[SOV_TIME_RFC3339_LEN];
	jv rows, v;
	long n = -1;

	sov_time_format(q->since_ms, a);
	sov_time_format(q->until_ms, b);
	if (sov_store_query(
		st,
		pg ? "SELECT count(*)::float8 AS n FROM measurements WHERE "
		     "name ="
		     " $1 AND ts >= $2::timestamptz AND ts < $3::timestamptz"
		     " AND NOT (" FINITE_SQL ")"
		   : "SELECT count(*) AS n FROM measurements WHERE name = $1"
		     " AND ts >= $2 AND ts < $3 AND NOT (" SQLITE_READABLE ")",
		JV_ARRAY(jv_string(q->name), jv_string(a), jv_string(b)), &rows,
		e) < 0)
		return sov_err_prefix(e, "series: %s: ", q->name);
	v = jv_object_get(jv_array_get(jv_copy(rows), 0), jv_string("n"));
	if (jv_get_kind(v) == JV_KIND_NUMBER)
		n = (long)jv_number_value(v);
	jv_free(v);
	jv_free(rows);
	return n < 0 ? sov_err_set(e, SOV_EXIT_FAIL, "series: no count") : n;
}

/*
 * Where the raw rows begin to be read: with TimescaleDB the continuous
 * aggregate also holds buckets whose raw rows are still there, so it is
 * read only before the first whole bucket of raw rows; otherwise summaries
 * and raw rows never hold the same measurement and both are read all
 * through.
 */
static int
raw_cutoff(struct sov_store *st, const struct pr_series_query *q, int timescale,
	   int64_t *cut, struct sov_err *e)
{
	jv rows, v;

	*cut = INT64_MIN;
	if (!timescale)
		return 0;
	if (sov_store_query(
		st,
		"SELECT (extract(epoch FROM min(ts)) * 1000)::float8"
		" AS ms FROM measurements WHERE name = $1",
		JV_ARRAY(jv_string(q->name)), &rows, e) < 0)
		return sov_err_prefix(e, "series: %s: ", q->name);
	v = jv_object_get(jv_array_get(jv_copy(rows), 0), jv_string("ms"));
	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		int64_t ms = (int64_t)jv_number_value(v);

		*cut = (ms + SOV_ROLLUP_BUCKET_MS - 1) / SOV_ROLLUP_BUCKET_MS *
		       SOV_ROLLUP_BUCKET_MS;
	} else {
		*cut = INT64_MAX; /* no raw rows: all from the aggregate */
	}
	jv_free(v);
	jv_free(rows);
	return 0;
}

static int
check_query(const struct pr_series_query *q, struct sov_err *e)
{
	if (q->name == NULL || q->name[0] == '\0' ||
	    strlen(q->name) > SOV_METRICS_NAME_MAX)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "series: a measurement name of 1 to %d "
				   "bytes is needed",
				   SOV_METRICS_NAME_MAX);
	if (q->since_ms >= q->until_ms)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "series: the window's start is not before "
				   "its end");
	if (q->every_ms < PR_SERIES_EVERY_MIN_MS || q->every_ms % 1000 != 0)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "series: the bucket width must be whole "
				   "seconds, at least 1s");
	if ((q->until_ms - q->since_ms) / q->every_ms >= PR_SERIES_BUCKETS_MAX)
		return sov_err_set(
		    e, SOV_EXIT_USAGE,
		    "series: %lld buckets of %llds; at most %d "
		    "in one query (a wider bucket or a shorter "
		    "window)",
		    (long long)((q->until_ms - q->since_ms) / q->every_ms),
		    (long long)(q->every_ms / 1000), PR_SERIES_BUCKETS_MAX);
	if (pr_agg_name(q->agg)[0] == '?')
		return sov_err_set(e, SOV_EXIT_USAGE, "series: no aggregate");
	return 0;
}

static jv
point(const struct pr_series_query *q, const struct grp *g)
{
	char ts[SOV_TIME_RFC3339_LEN];
	double v = 0;
	jv rec;

	switch (q->agg) {
	case PR_AGG_AVG:
		v = g->sum / g->n;
		break;
	case PR_AGG_MIN:
		v = g->mn;
		break;
	case PR_AGG_MAX:
		v = g->mx;
		break;
	case PR_AGG_P95:
		v = g->p95;
		break;
	case PR_AGG_COUNT:
		v = g->n;
		break;
	}
	sov_time_format(g->b * 1000, ts);
	rec = jv_object_set(jv_object(), jv_string("ts"), jv_string(ts));
	rec = jv_object_set(rec, jv_string("event"), jv_string("series"));
	rec = jv_object_set(rec, jv_string("name"), jv_string(q->name));
	rec = jv_object_set(rec, jv_string("target"),
			    g->target ? jv_string(g->target) : jv_null());
	rec = jv_object_set(rec, jv_string("value"),
			    isnan(v) ? jv_null() : jv_number(v));
	return jv_object_set(rec, jv_string("count"), jv_number(g->n));
}

int
pr_series_query(struct sov_store *st, const struct pr_series_query *q,
		jv *points, long *skipped, struct sov_err *e)
{
	struct grps gs = {0};
	int64_t cut, raw_since, roll_until;
	int ts, rc = -1;
	jv out = jv_invalid();

	*points = jv_invalid();
	if (check_query(q, e) < 0)
		return -1;
	/* One snapshot for all the queries: a rollup that commits between
	 * two of them would otherwise be counted twice or not at all.
	 * SQLite's deferred BEGIN takes no write lock. */
	if (sov_store_exec(
		st,
		sov_store_kind(st) == SOV_STORE_POSTGRES
		    ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
		    : "BEGIN",
		e) < 0)
		return sov_err_prefix(e, "series: ");
	if ((ts = sov_measure_timescale(st, e)) < 0) {
		sov_err_prefix(e, "series: ");
		goto out;
	}
	if (raw_cutoff(st, q, ts, &cut, e) < 0)
		goto out;
	raw_since = q->since_ms > cut ? q->since_ms : cut;
	roll_until = cut == INT64_MIN || q->until_ms < cut ? q->until_ms : cut;
	if (query_raw(st, q, raw_since, q->until_ms, &gs, e) < 0)
		goto out;
	if (q->agg == PR_AGG_P95 && sov_store_kind(st) == SOV_STORE_SQLITE &&
	    sqlite_p95(st, q, raw_since, q->until_ms, gs.g, gs.len, e) < 0)
		goto out;
	if (query_roll(st, q, q->since_ms, roll_until, ts, &gs, e) < 0)
		goto out;
	if (gs.len > 0)
		qsort(gs.g, gs.len, sizeof(*gs.g), grp_cmp);
	merge_same(&gs);
	out = jv_array_sized(gs.len > 0 ? (int)gs.len : 1);
	for (size_t i = 0; i < gs.len; i++) {
		if (q->agg == PR_AGG_P95 && gs.g[i].roll &&
		    roll_p95(st, q, &gs.g[i], raw_since, q->until_ms, e) < 0)
			goto out;
		out = jv_array_append(out, point(q, &gs.g[i]));
	}
	if (skipped != NULL && (*skipped = count_skipped(st, q, e)) < 0)
		goto out;
	*points = out;
	out = jv_invalid();
	rc = 0;
out:
	sov_store_rollback(st, NULL); /* read only: nothing to keep */
	jv_free(out);
	grps_free(&gs);
	return rc;
}
