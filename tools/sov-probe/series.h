/*
 * series.h - time-bucketed series from the measurements store, for
 * `sov-probe query` and the status page.
 *
 * A series is the measurements named NAME, grouped by their tag "target"
 * and by buckets of EVERY since the epoch (a bucket starts at a multiple of
 * EVERY, so the first may begin before SINCE), over SINCE <= ts < UNTIL.
 * Each bucket and target with data gives one point:
 *
 *   {"ts": bucket start, "event": "series", "name", "target" (null when
 *    the rows have none), "value", "count"}
 *
 * oldest first, then by target. Rows rolled up into 5-minute summaries
 * (measure_rollup.h) are read with the raw ones: a summary counts in the
 * bucket its 5 minutes start in, if SINCE <= its start < UNTIL. So a
 * query over 90 days works after the raw rows are gone, at 5-minute
 * resolution where they are.
 *
 * avg, min, max and count are exact either way. p95 is percentile_cont(0.95)
 * (linear between the two nearest ranks): exact over raw rows (PostgreSQL:
 * percentile_cont; SQLite: the two ranks picked by a window function, the
 * interpolation here); from the summaries' sketches within 1% of it where
 * a bucket holds summaries (sketch.h); with TimescaleDB's continuous
 * aggregate, which keeps an exact p95 per 5 minutes, the largest of those
 * (an upper bound of the bucket's p95).
 *
 * Rows that cannot be read (SQLite: a ts that is no time, a value that is
 * no finite number, tags that are no JSON) are left out and counted.
 */
#ifndef PR_SERIES_H
#define PR_SERIES_H

#include <stdint.h>

#include <jv.h>

#include "err.h"
#include "store.h"

#define PR_SERIES_BUCKETS_MAX 100000 /* buckets in one query */
#define PR_SERIES_EVERY_MIN_MS INT64_C(1000)

enum pr_agg {
	PR_AGG_AVG = 1,
	PR_AGG_MIN,
	PR_AGG_MAX,
	PR_AGG_P95,
	PR_AGG_COUNT
};

/* "avg" ... into *agg; -1 for anything else. */
int pr_agg_parse(const char *s, enum pr_agg *agg);
const char *pr_agg_name(enum pr_agg agg);

struct pr_series_query {
	const char *name;   /* the measurement's name */
	const char *target; /* only this target, or NULL: every one */
	int64_t since_ms, until_ms, every_ms;
	enum pr_agg agg;
};

/*
 * Run q against st into *points (an array of the records above, owned by
 * the caller; jv_invalid() on error). *skipped, when not NULL, receives the
 * count of rows in the window left out as unreadable. A bad query
 * (since >= until, every under a second or not whole seconds, more than
 * PR_SERIES_BUCKETS_MAX buckets) is SOV_EXIT_USAGE.
 */
int pr_series_query(struct sov_store *st, const struct pr_series_query *q,
		    jv *points, long *skipped, struct sov_err *e);

#endif
