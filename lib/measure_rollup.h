/*
 * measure_rollup.h - rollup and retention of the measurements table: old
 * measurements become 5-minute summaries, and old summaries go.
 *
 * The table measurements_5m (the sov.measurements schema, version 2; the
 * same on SQLite and PostgreSQL) holds one row per 5-minute bucket and
 * series, a series being (name, unit, tags):
 *
 *   bucket  the bucket's start, a multiple of 5 minutes since the epoch
 *           (RFC 3339 UTC ms text / timestamptz)
 *   name, unit, tags   as in measurements
 *   count, sum, min, max   of the values rolled up
 *   sketch  their quantile sketch as text (sketch.h): a percentile read
 *           from it is within 1% (relative) of the exact one
 *
 * A bucket and series may have several rows (a chunk boundary, or
 * measurements that arrived late, after their bucket was rolled up); a
 * reader adds them up, as it adds raw rows of the same bucket: every
 * measurement counts exactly once, either as a raw row or inside one
 * summary. sov_measure_rollup keeps that true at every instant: each
 * chunk of at most `chunk` raw rows is deleted (DELETE ... RETURNING, so
 * exactly the rows deleted are summed) and its summaries inserted in one
 * transaction. A kill -9 at any point loses a chunk's work, never a row,
 * and never counts one twice; the next run goes on.
 *
 * On PostgreSQL with TimescaleDB (measurements a hypertable) nothing is
 * moved by hand: the same call makes sure there is a continuous aggregate
 * measurements_5m_cagg (bucket, name, unit, tags, count, sum, min, max,
 * p95: exact per 5-minute bucket), its refresh policy, and retention
 * policies that drop raw chunks after `after` and aggregate rows after
 * `keep`.
 */
#ifndef SOV_MEASURE_ROLLUP_H
#define SOV_MEASURE_ROLLUP_H

#include <stdint.h>

#include "err.h"
#include "store.h"

#define SOV_ROLLUP_BUCKET_MS INT64_C(300000) /* 5 minutes */
#define SOV_ROLLUP_CHUNK 5000                /* raw rows a transaction */
#define SOV_ROLLUP_CHUNK_MAX 100000
#define SOV_ROLLUP_TABLE "measurements_5m"
#define SOV_ROLLUP_CAGG "measurements_5m_cagg"

struct sov_rollup_opts {
	int64_t now_ms;   /* 0: the clock */
	int64_t after_ms; /* raw rows older than this are rolled up (> 0) */
	int64_t keep_ms;  /* summaries older than this are deleted (>= after) */
	int chunk;        /* raw rows a transaction; 0: SOV_ROLLUP_CHUNK */
	int dry_run;      /* count what would go, change nothing */
};

struct sov_rollup_stats {
	int64_t horizon_ms; /* raw rows before this were rolled up */
	int64_t expire_ms;  /* summaries before this were deleted */
	long raw;           /* raw rows rolled up (and deleted) */
	long written;       /* summary rows written */
	long expired;       /* summary rows deleted */
	long skipped;       /* raw rows before the horizon that cannot be read
			     * (a ts, value or tags that is not what it should
			     * be): left where they are */
	long transactions;
	int timescale; /* 1: TimescaleDB policies were set instead */
};

/*
 * Roll up and expire, in transactions of a bounded size. On an error the
 * chunks before it stay done (stats say how many) and nothing is half
 * done. A busy store is SOV_EXIT_TEMPFAIL. The daemon calls this every
 * hour; it is safe to run several at once.
 */
int sov_measure_rollup(struct sov_store *st, const struct sov_rollup_opts *o,
		       struct sov_rollup_stats *stats, struct sov_err *e);

/* Whether measurements is a TimescaleDB hypertable in this store (0 on
 * SQLite); -1 on error. */
int sov_measure_timescale(struct sov_store *st, struct sov_err *e);

#endif
