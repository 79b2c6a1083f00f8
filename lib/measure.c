/* measure.c - measurements into the store or as JSON lines; see measure.h. */
#include "measure.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_dump.h"
#include "jsonl.h"
#include "timestamp.h"

#define SOV_METRICS_HOST_MAX 256
/*
 * Rows per INSERT, measured with sov-demo run: PostgreSQL gains from fewer
 * round trips (flat from 50 to 200 rows); SQLite, which looks
 * named parameters up linearly while preparing, is fastest at about 10.
 */
#define SOV_METRICS_PG_ROWS 50
#define SOV_METRICS_SQLITE_ROWS 10

static const struct sov_migration migrations[] = {
    {1,
     "CREATE TABLE measurements ("
     " ts TEXT NOT NULL,"
     " name TEXT NOT NULL,"
     " value REAL NOT NULL,"
     " unit TEXT NOT NULL DEFAULT '',"
     " tags TEXT NOT NULL DEFAULT '{}');"
     "CREATE INDEX measurements_name_ts ON measurements (name, ts);",
     "CREATE TABLE measurements ("
     " ts timestamptz NOT NULL,"
     " name text NOT NULL,"
     " value double precision NOT NULL,"
     " unit text NOT NULL DEFAULT '',"
     " tags jsonb NOT NULL DEFAULT '{}');"
     "CREATE INDEX measurements_name_ts ON measurements (name, ts);"
     /* TimescaleDB is used where the server has it (NixOS does). */
     "DO $$ BEGIN"
     " IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')"
     " THEN PERFORM create_hypertable('measurements', 'ts',"
     "  if_not_exists => true, migrate_data => true);"
     " END IF; END $$;"},
    /* 5-minute summaries of rolled-up measurements: measure_rollup.h */
    {2,
     "CREATE TABLE measurements_5m ("
     " bucket TEXT NOT NULL,"
     " name TEXT NOT NULL,"
     " unit TEXT NOT NULL DEFAULT '',"
     " tags TEXT NOT NULL DEFAULT '{}',"
     " count INTEGER NOT NULL,"
     " sum REAL NOT NULL,"
     " min REAL NOT NULL,"
     " max REAL NOT NULL,"
     " sketch TEXT NOT NULL DEFAULT '');"
     "CREATE INDEX measurements_5m_name_bucket"
     " ON measurements_5m (name, bucket);",
     "CREATE TABLE measurements_5m ("
     " bucket timestamptz NOT NULL,"
     " name text NOT NULL,"
     " unit text NOT NULL DEFAULT '',"
     " tags jsonb NOT NULL DEFAULT '{}',"
     " count bigint NOT NULL,"
     " sum double precision NOT NULL,"
     " min double precision NOT NULL,"
     " max double precision NOT NULL,"
     " sketch text NOT NULL DEFAULT '');"
     "CREATE INDEX measurements_5m_name_bucket"
     " ON measurements_5m (name, bucket);"},
};

/* A row not yet written: plain C, not jv, since a daemon adds thousands a
 * second and jv's strings and arrays cost more than the INSERT. */
struct pending_row {
	int64_t ts_ms;
	double value;
	char *text; /* name, unit and tags, each ending in '\0' */
};

struct sov_metrics {
	struct sov_store *st; /* NULL: JSON lines to out */
	struct sov_jsonl_writer *out;
	struct pending_row *rows; /* not yet written, oldest first */
	size_t nrows, caprows;
	size_t limit; /* most records kept while the store is away; 0: all */
	uint64_t dropped; /* the oldest, dropped past the limit */
	int failing;      /* the last flush failed: no flush from add */
	char host[SOV_METRICS_HOST_MAX];
};

int
sov_metrics_migrate(struct sov_store *st, struct sov_err *e)
{
	return sov_store_migrate(st, SOV_METRICS_SCHEMA, migrations,
				 sizeof(migrations) / sizeof(migrations[0]), e);
}

struct sov_metrics *
sov_metrics_open(const char *url, FILE *fallback, struct sov_err *e)
{
	struct sov_metrics *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "metrics: out of memory");
		return NULL;
	}
	if (gethostname(m->host, sizeof(m->host) - 1) != 0)
		snprintf(m->host, sizeof(m->host), "unknown");
	if (url == NULL)
		url = getenv("SOV_METRICS");
	if (url != NULL && url[0] != '\0') {
		m->st = sov_store_open(url, e);
		if (m->st == NULL || sov_metrics_migrate(m->st, e) < 0) {
			sov_err_prefix(e, "metrics: ");
			goto fail;
		}
	} else {
		/* Written out by sov_metrics_flush: a worker's batch of
		 * records is one write, not one each. */
		m->out = sov_jsonl_writer_new(fallback ? fallback : stdout,
					      "stdout", 0);
		if (m->out == NULL) {
			sov_err_set(e, SOV_EXIT_FAIL, "metrics: out of memory");
			goto fail;
		}
	}
	return m;
fail:
	sov_store_close(m->st);
	free(m);
	return NULL;
}

struct sov_store *
sov_metrics_store(struct sov_metrics *m)
{
	return m->st;
}

void
sov_metrics_set_limit(struct sov_metrics *m, size_t limit)
{
	m->limit = limit;
}

uint64_t
sov_metrics_dropped(const struct sov_metrics *m)
{
	return m->dropped;
}

size_t
sov_metrics_pending(const struct sov_metrics *m)
{
	return m->nrows;
}

static const char *
row_unit(const struct pending_row *r)
{
	return r->text + strlen(r->text) + 1;
}

static const char *
row_tags(const struct pending_row *r)
{
	const char *unit = row_unit(r);

	return unit + strlen(unit) + 1;
}

/* The oldest n rows go. */
static void
drop_rows(struct sov_metrics *m, size_t n)
{
	if (n == 0)
		return; /* rows may still be NULL: no memmove on it */
	for (size_t i = 0; i < n; i++)
		free(m->rows[i].text);
	memmove(m->rows, m->rows + n, (m->nrows - n) * sizeof(*m->rows));
	m->nrows -= n;
}

/* Past the limit, the oldest tenth goes at once: one move of the rows per
 * tenth, not one per record added. */
static void
trim(struct sov_metrics *m)
{
	size_t drop;

	if (m->limit == 0 || m->nrows <= m->limit)
		return;
	drop = m->nrows - m->limit + m->limit / 10;
	if (drop > m->nrows)
		drop = m->nrows;
	drop_rows(m, drop);
	m->dropped += (uint64_t)drop;
}

/* ASCII only, whatever the locale: these go into JSON unescaped. */
static int
isalnum_ascii(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* lower-case dotted words: "wf.step.seconds", "probe.cert.days_left" */
static int
valid_name(const char *s)
{
	size_t n = strnlen(s, SOV_METRICS_NAME_MAX + 1);
	int word_start = 1;

	if (n == 0 || n > SOV_METRICS_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (word_start)
				return 0;
			word_start = 1;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || isdigit(c) || c == '_'))
			return 0;
		if (word_start && isdigit(c) && i == 0)
			return 0;
		word_start = 0;
	}
	return !word_start;
}

static int
valid_unit(const char *s)
{
	size_t n = strnlen(s, SOV_METRICS_UNIT_MAX + 1);

	if (n > SOV_METRICS_UNIT_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum_ascii((unsigned char)s[i]) &&
		    !strchr("_%/.", s[i]))
			return 0;
	return 1;
}

char *
sov_metrics_tags_text(struct sov_metrics *m, const char *name, jv tags,
		      struct sov_err *e)
{
	char *text = NULL;
	size_t len;

	if (!jv_is_valid(tags) || jv_get_kind(tags) == JV_KIND_NULL) {
		jv_free(tags);
		tags = jv_object();
	}
	if (jv_get_kind(tags) != JV_KIND_OBJECT) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "measurement %s: tags: want an "
			    "object, got %s",
			    name, jv_kind_name(jv_get_kind(tags)));
		jv_free(tags);
		return NULL;
	}
	jv_object_foreach(tags, k, v)
	{
		jv_kind kind = jv_get_kind(v);

		if (kind == JV_KIND_OBJECT || kind == JV_KIND_ARRAY ||
		    kind == JV_KIND_NULL) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "measurement %s: tags.%s: want a string, "
				    "number or boolean, got %s",
				    name, jv_string_value(k),
				    jv_kind_name(kind));
			jv_free(k);
			jv_free(v);
			jv_free(tags);
			return NULL;
		}
		jv_free(k);
		jv_free(v);
	}
	if (!jv_object_has(jv_copy(tags), jv_string("host")))
		tags =
		    jv_object_set(tags, jv_string("host"), jv_string(m->host));
	if (sov_json_dump_text(tags, &text, &len) < 0) {
		sov_err_set(e, SOV_EXIT_FAIL, "measurement %s: out of memory",
			    name);
		return NULL;
	}
	if (len > SOV_METRICS_TAGS_MAX) {
		sov_err_set(
		    e, SOV_EXIT_USAGE,
		    "measurement %s: tags are %zu bytes as JSON, over %u", name,
		    len, SOV_METRICS_TAGS_MAX);
		free(text);
		return NULL;
	}
	return text;
}

/* One record as a JSON line, keys in the order the store's rows have. */
static int
write_line(struct sov_metrics *m, const char *ts, const char *name,
	   double value, const char *unit, const char *tags, struct sov_err *e)
{
	char num[SOV_JSON_NUMBER_MAX], *line;
	size_t cap = strlen(ts) + strlen(name) + strlen(unit) + strlen(tags) +
		     sizeof(num) + 80;
	int n, rc;

	if (sov_json_number(value, num) < 0)
		return sov_err_set(e, SOV_EXIT_USAGE, "measurement %s: value",
				   name);
	line = malloc(cap);
	if (!line)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "measurement %s: out of memory", name);
	n = snprintf(line, cap,
		     "{\"ts\":\"%s\",\"event\":\"measure\",\"name\":\"%s\","
		     "\"value\":%s,\"unit\":\"%s\",\"tags\":%s}",
		     ts, name, num, unit, tags);
	if (n < 0 || (size_t)n >= cap) {
		free(line);
		return sov_err_set(e, SOV_EXIT_FAIL, "measurement %s: too long",
				   name);
	}
	rc = sov_jsonl_write_text(m->out, line, (size_t)n, e);
	free(line);
	return rc;
}

/* What every measurement must be, whatever its tags. */
static int
check_row(const char *name, double value, const char *unit, struct sov_err *e)
{
	if (name == NULL || !valid_name(name))
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "measurement name \"%.*s\": want lower-case "
				   "dotted words, e.g. wf.step.seconds",
				   SOV_METRICS_NAME_MAX, name ? name : "");
	if (!isfinite(value))
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "measurement %s: value is not a finite "
				   "number",
				   name);
	if (!valid_unit(unit))
		return sov_err_set(
		    e, SOV_EXIT_USAGE,
		    "measurement %s: unit \"%.*s\": want up to %d "
		    "letters, digits or _%%/.",
		    name, SOV_METRICS_UNIT_MAX, unit, SOV_METRICS_UNIT_MAX);
	return 0;
}

/* A checked measurement: a JSON line, or a row buffered for the store. */
static int
add_row(struct sov_metrics *m, int64_t ts_ms, const char *name, double value,
	const char *unit, const char *tags, struct sov_err *e)
{
	size_t nl = strlen(name) + 1, ul = strlen(unit) + 1,
	       tl = strlen(tags) + 1;
	struct pending_row *r;

	if (m->st == NULL) {
		/* As JSON lines: name and unit were checked to need no
		 * escapes, and the tags are JSON already. */
		char ts[SOV_TIME_RFC3339_LEN];

		sov_time_format(ts_ms, ts);
		return write_line(m, ts, name, value, unit, tags, e);
	}
	if (m->nrows == m->caprows) {
		size_t cap = m->caprows ? m->caprows * 2 : 64;
		struct pending_row *grown =
		    realloc(m->rows, cap * sizeof(*m->rows));

		if (grown == NULL)
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "measurement %s: out of memory",
					   name);
		m->rows = grown;
		m->caprows = cap;
	}
	r = &m->rows[m->nrows];
	if ((r->text = malloc(nl + ul + tl)) == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "measurement %s: out of memory", name);
	memcpy(r->text, name, nl);
	memcpy(r->text + nl, unit, ul);
	memcpy(r->text + nl + ul, tags, tl);
	r->ts_ms = ts_ms;
	r->value = value;
	m->nrows++;
	trim(m);
	/* While the store is away, only the caller's own flushes try it:
	 * not a lock wait or a connect timeout on every measurement. */
	if (!m->failing && m->nrows >= SOV_METRICS_BATCH)
		return sov_metrics_flush(m, e);
	return 0;
}

int
sov_metrics_add_text(struct sov_metrics *m, int64_t ts_ms, const char *name,
		     double value, const char *unit, const char *tags,
		     struct sov_err *e)
{
	if (unit == NULL)
		unit = "";
	if (check_row(name, value, unit, e) < 0)
		return -1;
	return add_row(m, ts_ms, name, value, unit, tags, e);
}

int
sov_metrics_add_at(struct sov_metrics *m, int64_t ts_ms, const char *name,
		   double value, const char *unit, jv tags, struct sov_err *e)
{
	char *text;
	int rc;

	if (unit == NULL)
		unit = "";
	if (check_row(name, value, unit, e) < 0) {
		jv_free(tags);
		return -1;
	}
	text = sov_metrics_tags_text(m, name, tags, e);
	if (text == NULL)
		return -1;
	rc = add_row(m, ts_ms, name, value, unit, text, e);
	free(text);
	return rc;
}

int
sov_metrics_add(struct sov_metrics *m, const char *name, double value,
		const char *unit, jv tags, struct sov_err *e)
{
	return sov_metrics_add_at(m, sov_time_now_ms(), name, value, unit, tags,
				  e);
}

/*
 * INSERT rows [first, first + k) as one statement: one round trip per
 * chunk instead of one per row (PostgreSQL over a socket spends most of a
 * row's time waiting for the answer).
 */
static int
insert_rows(struct sov_metrics *m, size_t first, size_t k, struct sov_err *e)
{
	int pg = sov_store_kind(m->st) == SOV_STORE_POSTGRES, rc = -1;
	size_t cap = 80 + k * 64, len;
	char *sql = malloc(cap);
	jv p = jv_array_sized((int)(5 * k));

	if (sql == NULL) {
		jv_free(p);
		return sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
	}
	len = (size_t)snprintf(sql, cap,
			       "INSERT INTO measurements "
			       "(ts, name, value, unit, tags) VALUES ");
	for (size_t i = 0; i < k; i++) {
		const struct pending_row *r = &m->rows[first + i];
		char ts[SOV_TIME_RFC3339_LEN];
		int b = (int)i * 5, n;

		/* cannot truncate: 64 bytes a tuple is more than it needs */
		if (pg)
			n = snprintf(
			    sql + len, cap - len,
			    "%s($%d::timestamptz,$%d,$%d,$%d,$%d::jsonb)",
			    i ? "," : "", b + 1, b + 2, b + 3, b + 4, b + 5);
		else
			n = snprintf(sql + len, cap - len,
				     "%s($%d,$%d,$%d,$%d,$%d)", i ? "," : "",
				     b + 1, b + 2, b + 3, b + 4, b + 5);
		if (n < 0 || (size_t)n >= cap - len) {
			sov_err_set(e, SOV_EXIT_FAIL, "metrics: SQL too long");
			goto out;
		}
		len += (size_t)n;
		sov_time_format(r->ts_ms, ts);
		p = jv_array_append(p, jv_string(ts));
		p = jv_array_append(p, jv_string(r->text));
		p = jv_array_append(p, jv_number(r->value));
		p = jv_array_append(p, jv_string(row_unit(r)));
		p = jv_array_append(p, jv_string(row_tags(r)));
	}
	rc = sov_store_query(m->st, sql, p, NULL, e);
	p = jv_invalid(); /* consumed */
out:
	jv_free(p);
	free(sql);
	return rc;
}

int
sov_metrics_flush(struct sov_metrics *m, struct sov_err *e)
{
	size_t n = m->nrows, per;

	if (m->st == NULL)
		return sov_jsonl_flush(m->out, e);
	if (n == 0)
		return 0;
	if (sov_store_begin(m->st, e) < 0)
		goto fail;
	per = sov_store_kind(m->st) == SOV_STORE_POSTGRES
		  ? SOV_METRICS_PG_ROWS
		  : SOV_METRICS_SQLITE_ROWS;
	for (size_t i = 0; i < n; i += per) {
		size_t k = n - i < per ? n - i : per;

		if (insert_rows(m, i, k, e) < 0) {
			sov_store_rollback(m->st, NULL);
			goto fail;
		}
	}
	if (sov_store_commit(m->st, e) < 0) {
		sov_store_rollback(m->st, NULL);
		goto fail;
	}
	drop_rows(m, n);
	m->failing = 0;
	return 0;
fail:
	m->failing = 1;
	return sov_err_prefix(e, "metrics: writing %zu measurements: ", n);
}

int
sov_metrics_close(struct sov_metrics *m, struct sov_err *e)
{
	int rc;

	if (m == NULL)
		return 0;
	rc = sov_metrics_flush(m, e);
	if (m->out != NULL && sov_jsonl_writer_close(m->out, rc ? NULL : e) < 0)
		rc = -1;
	sov_store_close(m->st);
	drop_rows(m, m->nrows);
	free(m->rows);
	free(m);
	return rc;
}

int
sov_metrics_query(struct sov_store *st, const char *name, int64_t since_ms,
		  int64_t until_ms, size_t limit, jv *rows, struct sov_err *e)
{
	char since[SOV_TIME_RFC3339_LEN], until[SOV_TIME_RFC3339_LEN];
	const char *sql;
	jv raw, out;
	int n;

	*rows = jv_invalid();
	sov_time_format(since_ms, since);
	sov_time_format(until_ms, until);
	if (sov_store_kind(st) == SOV_STORE_POSTGRES)
		sql = "SELECT to_char(ts AT TIME ZONE 'UTC',"
		      " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS ts,"
		      " name, value, unit, tags FROM measurements"
		      " WHERE name = $1 AND ts >= $2::timestamptz"
		      " AND ts < $3::timestamptz ORDER BY ts LIMIT $4";
	else
		sql = "SELECT ts, name, value, unit, tags FROM measurements"
		      " WHERE name = $1 AND ts >= $2 AND ts < $3"
		      " ORDER BY ts LIMIT $4";
	if (sov_store_query(
		st, sql,
		jv_array_append(
		    jv_array_append(
			jv_array_append(
			    jv_array_append(jv_array(), jv_string(name)),
			    jv_string(since)),
			jv_string(until)),
		    jv_number(limit ? (double)limit : 1e15)),
		&raw, e) < 0)
		return sov_err_prefix(e, "metrics: query %s: ", name);
	n = jv_array_length(jv_copy(raw));
	out = jv_array_sized(n);
	for (int i = 0; i < n; i++) {
		jv r = jv_array_get(jv_copy(raw), i);
		jv tags = jv_object_get(jv_copy(r), jv_string("tags"));

		if (jv_get_kind(tags) ==
		    JV_KIND_STRING) { /* SQLite: JSON text */
			jv parsed = jv_parse(jv_string_value(tags));

			jv_free(tags);
			tags = parsed;
		}
		if (!jv_is_valid(tags)) {
			jv_free(tags);
			tags = jv_object();
		}
		/* the record in the conventional order: ts and event first */
		jv rec =
		    jv_object_set(jv_object(), jv_string("ts"),
				  jv_object_get(jv_copy(r), jv_string("ts")));

		rec = jv_object_set(rec, jv_string("event"),
				    jv_string("measure"));
		rec =
		    jv_object_set(rec, jv_string("name"),
				  jv_object_get(jv_copy(r), jv_string("name")));
		rec = jv_object_set(
		    rec, jv_string("value"),
		    jv_object_get(jv_copy(r), jv_string("value")));
		rec = jv_object_set(rec, jv_string("unit"),
				    jv_object_get(r, jv_string("unit")));
		rec = jv_object_set(rec, jv_string("tags"), tags);
		out = jv_array_append(out, rec);
	}
	jv_free(raw);
	*rows = out;
	return 0;
}
