/*
 * test_measure.c - measurements into SQLite and a real PostgreSQL, and as
 * JSON lines when no store is named.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "measure.h"
#include "tap.h"
#include "timestamp.h"

#define CASES 22

static void
cases(const char *url, const char *engine)
{
	struct sov_metrics *m;
	struct sov_err e;
	int64_t base = 1795376400000LL; /* 2026-11-22T19:40:00Z */
	jv rows, r, tags;

	m = sov_metrics_open(url, stdout, &e);
	ok(m != NULL, "[%s] open and migrate", engine);
	if (m == NULL) {
		diag("%s", e.msg);
		skip(CASES - 1, "store did not open");
		return;
	}
	/* a server kept from an earlier run still has that run's rows */
	sov_store_query(sov_metrics_store(m),
			"DELETE FROM measurements WHERE name LIKE 'test.%'",
			jv_array(), NULL, NULL);
	for (int i = 0; i < 5; i++)
		sov_metrics_add_at(
		    m, base + i * 60000, "test.latency.seconds", 0.5 + i, "s",
		    jv_object_set(jv_object(), jv_string("target"),
				  jv_string("gw")),
		    &e);
	ok(sov_metrics_add_at(m, base, "test.other", 1, NULL, jv_invalid(),
			      &e) == 0,
	   "[%s] add with no unit and no tags", engine);
	ok(sov_metrics_flush(m, &e) == 0, "[%s] flush in one transaction",
	   engine);
	ok(sov_metrics_query(sov_metrics_store(m), "test.latency.seconds",
			     base + 60000, base + 240000, 0, &rows, &e) == 0,
	   "[%s] query a time range", engine);
	is_int(jv_array_length(jv_copy(rows)), 3,
	       "[%s] range is [since, until)", engine);
	r = jv_array_get(jv_copy(rows), 0);
	{
		jv ts = jv_object_get(jv_copy(r), jv_string("ts"));
		jv v = jv_object_get(jv_copy(r), jv_string("value"));
		jv ev = jv_object_get(jv_copy(r), jv_string("event"));

		is_str(jv_string_value(ts), "2026-11-22T19:41:00.000Z",
		       "[%s] ts comes back as RFC 3339 UTC ms", engine);
		ok(jv_get_kind(v) == JV_KIND_NUMBER &&
		       jv_number_value(v) == 1.5,
		   "[%s] value comes back as a number", engine);
		is_str(jv_string_value(ev), "measure", "[%s] a measure record",
		       engine);
		jv_free(ts);
		jv_free(v);
		jv_free(ev);
	}
	tags = jv_object_get(r, jv_string("tags"));
	ok(jv_get_kind(tags) == JV_KIND_OBJECT,
	   "[%s] tags come back as an "
	   "object",
	   engine);
	{
		jv t = jv_object_get(jv_copy(tags), jv_string("target"));
		jv h = jv_object_get(tags, jv_string("host"));

		is_str(jv_get_kind(t) == JV_KIND_STRING ? jv_string_value(t)
							: "",
		       "gw", "[%s] tag kept", engine);
		ok(jv_get_kind(h) == JV_KIND_STRING, "[%s] host tag added",
		   engine);
		jv_free(t);
		jv_free(h);
	}
	jv_free(rows);
	ok(sov_metrics_query(sov_metrics_store(m), "test.latency.seconds", base,
			     base + 600000, 2, &rows, &e) == 0 &&
	       jv_array_length(jv_copy(rows)) == 2,
	   "[%s] limit", engine);
	jv_free(rows);

	/* bad measurements: refused, nothing added */
	ok(sov_metrics_add(m, "Bad Name", 1, "s", jv_invalid(), &e) == -1 &&
	       e.code == SOV_EXIT_USAGE && strstr(e.msg, "Bad Name"),
	   "[%s] bad name refused, named", engine);
	ok(sov_metrics_add(m, "x.y", NAN, "s", jv_invalid(), &e) == -1 &&
	       strstr(e.msg, "not a finite number"),
	   "[%s] NaN refused", engine);
	ok(sov_metrics_add(m, "x.y", 1, "s", jv_parse("{\"a\":{\"b\":1}}"),
			   &e) == -1 &&
	       strstr(e.msg, "tags.a"),
	   "[%s] nested tag refused, field named", engine);
	ok(sov_metrics_add(m, "x.y", 1, "s e c", jv_invalid(), &e) == -1,
	   "[%s] bad unit refused", engine);

	/* tags made once, added as text: the same row as with the object */
	{
		char *text = sov_metrics_tags_text(
		    m, "test.t",
		    jv_object_set(jv_object(), jv_string("target"),
				  jv_string("gw")),
		    &e);
		jv a, b;

		ok(text != NULL && strstr(text, "\"target\":\"gw\"") &&
		       strstr(text, "\"host\":"),
		   "[%s] tags as text, host added", engine);
		ok(sov_metrics_add_text(m, base, "test.t.text", 2, "s",
					text ? text : "{}", &e) == 0 &&
		       sov_metrics_add_at(m, base, "test.t.obj", 2, "s",
					  jv_object_set(jv_object(),
							jv_string("target"),
							jv_string("gw")),
					  &e) == 0 &&
		       sov_metrics_flush(m, &e) == 0,
		   "[%s] added as text and as an object", engine);
		sov_metrics_query(sov_metrics_store(m), "test.t.text", base,
				  base + 1, 0, &a, &e);
		sov_metrics_query(sov_metrics_store(m), "test.t.obj", base,
				  base + 1, 0, &b, &e);
		a = jv_object_delete(jv_array_get(a, 0), jv_string("name"));
		b = jv_object_delete(jv_array_get(b, 0), jv_string("name"));
		ok(jv_equal(a, b), "[%s] the same row either way", engine);
		ok(sov_metrics_tags_text(m, "test.t", jv_parse("[1]"), &e) ==
			   NULL &&
		       e.code == SOV_EXIT_USAGE && strstr(e.msg, "test.t"),
		   "[%s] tags that are no object: no text, the error", engine);
		ok(sov_metrics_add_text(m, base, "Bad", 1, "s", "{}", &e) ==
			   -1 &&
		       strstr(e.msg, "Bad"),
		   "[%s] a bad name as text refused too", engine);
		free(text);
	}
	ok(sov_metrics_close(m, &e) == 0, "[%s] close", engine);
}

/*
 * A store held locked by another connection: the first add past a batch
 * tries it and fails, later adds do not (each would wait for the lock), the
 * buffer keeps the newest LIMIT records, and the next flush writes them.
 */
static void
store_away(const char *path, const char *url)
{
	struct sov_metrics *m = sov_metrics_open(url, stdout, NULL);
	struct sov_err e;
	sqlite3 *locker = NULL;
	int64_t base = 1795376400000LL;
	int fails = 0, i;
	size_t kept;
	jv rows;

	ok(m != NULL &&
	       sov_store_set_lock_timeout(sov_metrics_store(m), 20, &e) == 0,
	   "[away] open, 20 ms lock timeout");
	if (m == NULL || sqlite3_open(path, &locker) != SQLITE_OK ||
	    sqlite3_exec(locker, "BEGIN EXCLUSIVE", NULL, NULL, NULL) !=
		SQLITE_OK) {
		skip(6, "could not lock the store");
		sqlite3_close(locker);
		sov_metrics_close(m, NULL);
		return;
	}
	sov_metrics_set_limit(m, 2000);
	for (i = 0; i < 5000; i++)
		if (sov_metrics_add_at(m, base + i, "away.n", i, "",
				       jv_invalid(), &e) < 0)
			fails++;
	is_int(fails, 1, "[away] one add tried the locked store, not 4,001");
	kept = sov_metrics_pending(m);
	ok(kept <= 2000 && kept >= 1800, "[away] %zu kept, limit 2000", kept);
	is_int((long long)sov_metrics_dropped(m), (long long)(5000 - kept),
	       "[away] the rest counted as dropped");
	sqlite3_exec(locker, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(locker);
	ok(sov_metrics_flush(m, &e) == 0 && sov_metrics_pending(m) == 0,
	   "[away] the store back: one flush writes them");
	rows = jv_invalid();
	sov_metrics_query(sov_metrics_store(m), "away.n", base, base + 10000,
			  10000, &rows, &e);
	ok(jv_is_valid(rows) && (size_t)jv_array_length(jv_copy(rows)) == kept,
	   "[away] every kept record is in the store");
	ok(jv_is_valid(rows) && jv_array_length(jv_copy(rows)) > 0 &&
	       jv_number_value(jv_object_get(
		   jv_array_get(jv_copy(rows),
				jv_array_length(jv_copy(rows)) - 1),
		   jv_string("value"))) == 4999,
	   "[away] the newest kept, the oldest dropped");
	jv_free(rows);
	sov_metrics_close(m, NULL);
}

int
main(void)
{
	char path[512], url[600];
	const char *pg = getenv("SOV_TEST_PG_URL");
	struct sov_metrics *m;
	struct sov_err e;

	snprintf(path, sizeof(path), "%s/metrics.db",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	unlink(path);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	cases(url, "sqlite");
	/* reopening migrates nothing and keeps the data */
	m = sov_metrics_open(url, stdout, &e);
	ok(m != NULL, "[sqlite] reopen an existing store");
	sov_metrics_close(m, NULL);
	store_away(path, url);

	if (pg != NULL && pg[0] != '\0')
		cases(pg, "postgres");
	else if (getenv("SOV_REQUIRE_PG") &&
		 strcmp(getenv("SOV_REQUIRE_PG"), "1") == 0)
		ok(0, "[postgres] SOV_REQUIRE_PG=1 but SOV_TEST_PG_URL is not "
		      "set");
	else
		skip(CASES, "PostgreSQL: SOV_TEST_PG_URL not set");

	/* no store: JSON lines, so nothing is dropped */
	unsetenv("SOV_METRICS");
	{
		char buf[512];
		FILE *f = tmpfile();
		size_t n;

		m = sov_metrics_open(NULL, f, &e);
		ok(m != NULL && sov_metrics_store(m) == NULL,
		   "[jsonl] no URL, no $SOV_METRICS: JSON lines");
		sov_metrics_add_at(m, 0, "a.b", 2, "count", jv_invalid(), &e);
		sov_metrics_close(m, &e);
		rewind(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		like(buf,
		     "{\"ts\":\"1970-01-01T00:00:00.000Z\",\"event\":"
		     "\"measure\",\"name\":\"a.b\",\"value\":2,\"unit\":"
		     "\"count\",\"tags\":{\"host\":",
		     "[jsonl] the measure record");
	}
	setenv("SOV_METRICS", "mysql://x", 1);
	m = sov_metrics_open(NULL, stdout, &e);
	ok(m == NULL && e.code == SOV_EXIT_USAGE && strstr(e.msg, "mysql"),
	   "[env] $SOV_METRICS with an unknown scheme refused, named");
	return done_testing();
}
