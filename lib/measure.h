/*
 * measure.h - measurements into the time-series store.
 *
 * A measurement is a record {"ts","event":"measure","name","value","unit",
 * "tags"}. With a store (--metrics URL or $SOV_METRICS) it goes into the
 * table `measurements` of that store, one schema on SQLite and PostgreSQL:
 *
 *   ts    RFC 3339 UTC ms text (SQLite) / timestamptz (PostgreSQL)
 *   name  dotted, e.g. "wf.step.seconds"
 *   value double
 *   unit  "s", "bytes", "count", "%", ... ("" when none)
 *   tags  JSON object (text / jsonb); "host" is added when missing
 *
 * indexed on (name, ts) for time-range queries by name, and a TimescaleDB
 * hypertable on ts when that extension is installed in the database.
 * Without a store the records are written as JSON lines to the fallback
 * FILE (the tool's stdout), so nothing measured is ever dropped silently.
 *
 * Measurements are buffered and written in one transaction by
 * sov_metrics_flush (and every SOV_METRICS_BATCH additions). A flush that
 * fails (the store is down: 75) keeps everything buffered for the next one,
 * so a caller must not add the same measurement again. After a failed
 * flush, adding no longer flushes by itself (the caller's next flush tries
 * the store again), and the buffer is capped by sov_metrics_set_limit: past
 * it the oldest records are dropped and counted, so a daemon whose store is
 * gone for a day keeps its memory and its most recent history.
 */
#ifndef SOV_MEASURE_H
#define SOV_MEASURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jv.h>

#include "err.h"
#include "store.h"

#define SOV_METRICS_BATCH 1000
#define SOV_METRICS_NAME_MAX 128
#define SOV_METRICS_UNIT_MAX 32
#define SOV_METRICS_TAGS_MAX 4096 /* bytes of the tags as JSON */
#define SOV_METRICS_SCHEMA "sov.measurements"

struct sov_metrics;

/*
 * url NULL means $SOV_METRICS; when that is unset or empty, records go as
 * JSON lines to fallback. The store's schema is created or migrated here.
 */
struct sov_metrics *sov_metrics_open(const char *url, FILE *fallback,
				     struct sov_err *e);

/*
 * Add one measurement stamped now. tags is consumed: an object (or
 * jv_invalid() / jv_null() for none) whose values are strings, numbers or
 * booleans. A bad name, a value that is not finite, a bad unit or tags are
 * SOV_EXIT_USAGE and nothing is added.
 */
int sov_metrics_add(struct sov_metrics *m, const char *name, double value,
		    const char *unit, jv tags, struct sov_err *e);

/* Keep at most LIMIT records buffered (0, the default: no cap); past it
 * the oldest tenth is dropped. sov_metrics_dropped counts them, and
 * sov_metrics_pending says how many wait for the store. */
void sov_metrics_set_limit(struct sov_metrics *m, size_t limit);
uint64_t sov_metrics_dropped(const struct sov_metrics *m);
size_t sov_metrics_pending(const struct sov_metrics *m);

/* As sov_metrics_add with an explicit timestamp (ms since the epoch). */
int sov_metrics_add_at(struct sov_metrics *m, int64_t ts_ms, const char *name,
		       double value, const char *unit, jv tags,
		       struct sov_err *e);

/*
 * A caller that adds the same tags again and again (a daemon, for each
 * target) checks and serialises them once: sov_metrics_tags_text consumes
 * tags and returns their JSON text with "host" added (malloc'd), or NULL
 * and e set as sov_metrics_add would; sov_metrics_add_text takes that text
 * of this m as it is. name is only for the error message.
 */
char *sov_metrics_tags_text(struct sov_metrics *m, const char *name, jv tags,
			    struct sov_err *e);
int sov_metrics_add_text(struct sov_metrics *m, int64_t ts_ms, const char *name,
			 double value, const char *unit, const char *tags,
			 struct sov_err *e);

/* Write what is buffered, in one transaction; on error it stays buffered. */
int sov_metrics_flush(struct sov_metrics *m, struct sov_err *e);

/* Flush and free; -1 when the last flush failed. Accepts NULL. */
int sov_metrics_close(struct sov_metrics *m, struct sov_err *e);

/* The store written to, or NULL when writing JSON lines. */
struct sov_store *sov_metrics_store(struct sov_metrics *m);

/* Create or migrate the measurements schema in any open store. */
int sov_metrics_migrate(struct sov_store *st, struct sov_err *e);

/*
 * Measurements named name with since_ms <= ts < until_ms, oldest first, at
 * most limit (0: no limit), into *rows: an array of measure records as
 * above (tags parsed).
 */
int sov_metrics_query(struct sov_store *st, const char *name, int64_t since_ms,
		      int64_t until_ms, size_t limit, jv *rows,
		      struct sov_err *e);

#endif
