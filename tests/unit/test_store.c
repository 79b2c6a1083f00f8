/*
 * test_store.c - the store: URLs, then the same cases against a SQLite
 * file under $TMPDIR and against the real PostgreSQL in $SOV_TEST_PG_URL
 * (a fresh database per run, dropped at the end), then what only one
 * engine has (WAL, lost connections).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "tap.h"

/* Tests test_pg_only and the final drop run, for the skip line. */
#define PG_ONLY_TESTS 22

struct eng {
	const char *name; /* "SQLite" or "PostgreSQL" */
	const char *url;
	int pg;
	const char *fresh; /* another, empty store for the race */
};

#define RACERS 4

static char tmp[PATH_MAX];
static char self_exe[PATH_MAX]; /* this program, to run racers */

static void __attribute__((format(printf, 3, 4)))
mkpath(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)size) {
		fprintf(stderr, "path too long\n");
		exit(99);
	}
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Run a query; rows on success, jv_invalid() (and a diag) on error. */
static jv
q(struct sov_store *st, const char *sql, jv params)
{
	struct sov_err e = {0};
	jv rows;

	if (sov_store_query(st, sql, params, &rows, &e) < 0) {
		diag("query failed: %s", e.msg);
		return jv_invalid();
	}
	return rows;
}

/* The value of column k in row i of rows (consumed). */
static jv
cell(jv rows, int i, const char *k)
{
	jv row;

	if (jv_get_kind(rows) != JV_KIND_ARRAY) {
		jv_free(rows);
		return jv_invalid();
	}
	row = jv_array_get(rows, i);
	if (jv_get_kind(row) != JV_KIND_OBJECT) {
		jv_free(row);
		return jv_invalid();
	}
	return jv_object_get(row, jv_string(k));
}

/* A number in a cell, or -999999 when there is none. */
static double
num(jv v)
{
	double d =
	    jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -999999;

	jv_free(v);
	return d;
}

static double
q_num(struct sov_store *st, const char *sql, jv params, const char *k)
{
	return num(cell(q(st, sql, params), 0, k));
}

/* Does v equal the JSON text want? Consumes v. */
static int
json_is(jv v, const char *want)
{
	jv w = jv_parse(want);
	int eq;

	if (!jv_is_valid(v)) {
		jv_free(v);
		jv_free(w);
		return 0;
	}
	eq = jv_equal(jv_copy(v), w);
	if (!eq) {
		jv d = jv_dump_string(v, 0);
		diag("  got %s, want %s", jv_string_value(d), want);
		jv_free(d);
	} else {
		jv_free(v);
	}
	return eq;
}

static int
count_rows(struct sov_store *st, const char *sql, jv params)
{
	jv rows = q(st, sql, params);
	int n = jv_get_kind(rows) == JV_KIND_ARRAY ? jv_array_length(rows) : -1;
	if (n < 0)
		jv_free(rows);
	return n;
}

/* ---- URLs ---------------------------------------------------------------- */

static void
url_ok(const char *url, enum sov_store_kind kind, const char *path,
       const char *display)
{
	struct sov_store_url u;
	struct sov_err e = {0};

	is_int(sov_store_url_parse(url, &u, &e), 0, "url %s parses", url);
	is_int(u.kind, kind, "url %s: kind", url);
	if (kind == SOV_STORE_SQLITE) {
		is_str(u.path, path, "url %s: path", url);
		ok(u.conninfo == NULL, "url %s: no conninfo", url);
	} else {
		ok(u.conninfo != NULL && strcmp(u.conninfo, url) == 0,
		   "url %s: conninfo is the URL as is", url);
		ok(u.path == NULL, "url %s: no path", url);
	}
	is_str(u.display, display, "url %s: display", url);
	sov_store_url_clear(&u);
}

static void
url_bad(const char *url, const char *needle, const char *secret,
	const char *what)
{
	struct sov_store_url u;
	struct sov_err e = {0};

	is_int(sov_store_url_parse(url, &u, &e), -1, "%s: refused", what);
	is_int(e.code, SOV_EXIT_USAGE, "%s: code 2", what);
	like(e.msg, needle, "%s: message", what);
	if (secret != NULL)
		ok(strstr(e.msg, secret) == NULL,
		   "%s: message hides the password (%s)", what, e.msg);
	ok(u.display == NULL && u.path == NULL && u.conninfo == NULL,
	   "%s: nothing left allocated", what);
}

static void
test_urls(void)
{
	struct sov_err e = {0};
	struct sov_store_url u;
	char *big;

	url_ok("sqlite:data/x.db", SOV_STORE_SQLITE, "data/x.db",
	       "sqlite:data/x.db");
	url_ok("sqlite:/var/lib/x.db", SOV_STORE_SQLITE, "/var/lib/x.db",
	       "sqlite:/var/lib/x.db");
	url_ok("sqlite:///var/lib/x.db", SOV_STORE_SQLITE, "/var/lib/x.db",
	       "sqlite:///var/lib/x.db");
	url_ok("sqlite::memory:", SOV_STORE_SQLITE,
	       ":memory:", "sqlite::memory:");
	url_ok("postgres://db.example/sov", SOV_STORE_POSTGRES, NULL,
	       "postgres://db.example/sov");
	url_ok("postgresql:///sov?host=/run/postgresql&user=sov",
	       SOV_STORE_POSTGRES, NULL,
	       "postgresql:///sov?host=/run/postgresql&user=sov");
	url_ok("postgresql://sov:s3cret@db.example:5433/sov",
	       SOV_STORE_POSTGRES, NULL,
	       "postgresql://sov:***@db.example:5433/sov");
	url_ok("postgresql://db.example/sov?user=sov&password=s3cret&sslmode="
	       "require",
	       SOV_STORE_POSTGRES, NULL,
	       "postgresql://db.example/sov?user=sov&password=***&sslmode="
	       "require");
	url_ok("postgresql://db.example/sov?%70assword=s3cret",
	       SOV_STORE_POSTGRES, NULL,
	       "postgresql://db.example/sov?%70assword=***");
	url_ok("postgres://u:p@ss@db.example/x", SOV_STORE_POSTGRES, NULL,
	       "postgres://u:***@db.example/x");

	url_bad("mysql://root:s3cret@localhost/x", "unknown scheme \"mysql\"",
		"s3cret", "unknown scheme");
	url_bad("mysql://x", "postgresql://", NULL,
		"unknown scheme lists the accepted ones");
	url_bad("mysql://x", "sqlite:PATH", NULL,
		"unknown scheme lists sqlite");
	url_bad("data/x.db", "no scheme", NULL, "no scheme");
	url_bad("", "empty", NULL, "empty URL");
	url_bad(NULL, "empty", NULL, "NULL URL");
	url_bad("sqlite:", "no file path", NULL, "sqlite: without a path");
	url_bad("sqlite://host/x.db", "with a host", NULL, "sqlite://host");
	url_bad("sqlite:/var/lib/", "directory", NULL, "sqlite: a directory");
	url_bad("sqlite:a\nb", "control character at byte 9", NULL,
		"control character");
	url_bad("postgresql://u:s3cret@[::1/x", "***", "s3cret",
		"libpq's parse error");
	url_bad("postgresql://h/x?password=%zzsecret", "percent", "zzsecret",
		"bad percent escape in the password");
	url_bad("postgresql://h/x?bogus=1", "bogus", NULL,
		"unknown libpq parameter");

	big = malloc(SOV_STORE_URL_MAX + 2);
	if (big == NULL)
		exit(99);
	memcpy(big, "sqlite:", 7);
	memset(big + 7, 'a', SOV_STORE_URL_MAX - 6);
	big[SOV_STORE_URL_MAX + 1] = '\0';
	url_bad(big, "longer than 4096", NULL, "URL of 4097 bytes");
	big[SOV_STORE_URL_MAX] = '\0';
	is_int(sov_store_url_parse(big, &u, &e), 0, "URL of 4096 bytes parses");
	sov_store_url_clear(&u);
	free(big);
	sov_store_url_clear(NULL);
	ok(1, "url_clear(NULL) is harmless");
}

/* ---- the same cases on both engines -------------------------------------- */

static void
test_types(const struct eng *g, struct sov_store *st)
{
	struct sov_err e = {0};
	jv rows;

	is_int(sov_store_exec(st,
			      g->pg ? "CREATE TABLE t (id INTEGER PRIMARY KEY, "
				      "i BIGINT, r DOUBLE PRECISION, s TEXT, "
				      "b BOOLEAN, j JSONB, n TEXT)"
				    : "CREATE TABLE t (id INTEGER PRIMARY KEY, "
				      "i BIGINT, r DOUBLE PRECISION, s TEXT, "
				      "b BOOLEAN, j TEXT, n TEXT)",
			      &e),
	       0, "%s: exec CREATE TABLE", g->name);
	is_int(sov_store_query(
		   st,
		   "INSERT INTO t (id, i, r, s, b, j, n) "
		   "VALUES ($1, $2, $3, $4, $5, $6, $7)",
		   JV_ARRAY(jv_number(1), jv_number(42), jv_number(3.25),
			    jv_string("héllo ✓"), jv_true(),
			    jv_parse("{\"a\":[1,2,\"x\"]}"), jv_null()),
		   NULL, &e),
	       0, "%s: insert binds every jv kind", g->name);
	is_int(sov_store_changes(st), 1, "%s: changes after one insert",
	       g->name);

	rows = q(st, "SELECT * FROM t WHERE id = $1", JV_ARRAY(jv_number(1)));
	ok(json_is(cell(jv_copy(rows), 0, "i"), "42"), "%s: integer back",
	   g->name);
	ok(json_is(cell(jv_copy(rows), 0, "r"), "3.25"), "%s: real back",
	   g->name);
	ok(json_is(cell(jv_copy(rows), 0, "s"), "\"héllo ✓\""),
	   "%s: UTF-8 text back", g->name);
	ok(json_is(cell(jv_copy(rows), 0, "b"), g->pg ? "true" : "1"),
	   "%s: boolean back (%s)", g->name, g->pg ? "true" : "1");
	ok(json_is(cell(jv_copy(rows), 0, "j"),
		   g->pg ? "{\"a\":[1,2,\"x\"]}"
			 : "\"{\\\"a\\\":[1,2,\\\"x\\\"]}\""),
	   "%s: object bound as JSON text (%s)", g->name,
	   g->pg ? "jsonb parsed" : "text");
	ok(json_is(cell(jv_copy(rows), 0, "n"), "null"), "%s: NULL back",
	   g->name);
	ok(json_is(jv_array_get(jv_copy(rows), 0),
		   g->pg ? "{\"id\":1,\"i\":42,\"r\":3.25,\"s\":\"héllo ✓\","
			   "\"b\":true,\"j\":{\"a\":[1,2,\"x\"]},\"n\":null}"
			 : "{\"id\":1,\"i\":42,\"r\":3.25,\"s\":\"héllo ✓\","
			   "\"b\":1,\"j\":\"{\\\"a\\\":[1,2,\\\"x\\\"]}\","
			   "\"n\":null}"),
	   "%s: the row is an object keyed by column", g->name);
	jv_free(rows);

	is_int(sov_store_query(st,
			       "INSERT INTO t (id, i, r, s, b) "
			       "VALUES ($1, $2, $3, $4, $5)",
			       JV_ARRAY(jv_number(2),
					jv_number(9007199254740992.0),
					jv_number(0.1), jv_parse("[1,\"two\"]"),
					jv_false()),
			       NULL, &e),
	       0, "%s: insert 2^53, 0.1, an array, false", g->name);
	rows = q(st, "SELECT i, r, s, b FROM t WHERE id = 2", jv_array());
	ok(num(cell(jv_copy(rows), 0, "i")) == 9007199254740992.0,
	   "%s: 2^53 round-trips exactly", g->name);
	ok(num(cell(jv_copy(rows), 0, "r")) == 0.1,
	   "%s: 0.1 round-trips exactly", g->name);
	ok(json_is(cell(jv_copy(rows), 0, "s"), "\"[1,\\\"two\\\"]\""),
	   "%s: array bound as its JSON text", g->name);
	ok(json_is(cell(jv_copy(rows), 0, "b"), g->pg ? "false" : "0"),
	   "%s: false back", g->name);
	jv_free(rows);

	is_int(sov_store_query(
		   st, "INSERT INTO t (id, i, r) VALUES ($1, $2, $3)",
		   JV_ARRAY(jv_number(3), jv_number(-5), jv_number(1e300)),
		   NULL, &e),
	       0, "%s: insert -5 and 1e300", g->name);
	ok(q_num(st, "SELECT i FROM t WHERE id = 3", jv_array(), "i") == -5,
	   "%s: negative integer back", g->name);
	ok(q_num(st, "SELECT r FROM t WHERE id = 3", jv_array(), "r") == 1e300,
	   "%s: 1e300 back", g->name);

	ok(json_is(q(st, "SELECT $1 AS x", JV_ARRAY(jv_null())),
		   "[{\"x\":null}]"),
	   "%s: a NULL parameter comes back null", g->name);
	ok(q_num(st, "SELECT count(*) AS c FROM t WHERE n IS NULL", jv_array(),
		 "c") == 3,
	   "%s: NULL column counted with IS NULL", g->name);
	ok(json_is(q(st,
		     "SELECT 1 AS one, 'x' AS two UNION ALL "
		     "SELECT 2, 'y' ORDER BY one",
		     jv_array()),
		   "[{\"one\":1,\"two\":\"x\"},{\"one\":2,\"two\":\"y\"}]"),
	   "%s: rows in order, objects keyed by column", g->name);
	ok(json_is(q(st, "SELECT id FROM t WHERE id > 100", jv_array()), "[]"),
	   "%s: no rows is an empty array", g->name);
}

static void
test_changes(const struct eng *g, struct sov_store *st)
{
	struct sov_err e = {0};

	is_int(sov_store_query(
		   st,
		   "INSERT INTO t (id, s) VALUES ($1, 'a'), "
		   "($2, 'b'), ($3, 'c')",
		   JV_ARRAY(jv_number(10), jv_number(11), jv_number(12)), NULL,
		   &e),
	       0, "%s: insert three rows", g->name);
	is_int(sov_store_changes(st), 3, "%s: changes 3", g->name);
	count_rows(st, "SELECT * FROM t", jv_array());
	is_int(sov_store_changes(st), 3, "%s: a SELECT keeps changes", g->name);
	is_int(sov_store_query(st, "UPDATE t SET s = 'z' WHERE id >= $1",
			       JV_ARRAY(jv_number(11)), NULL, &e),
	       0, "%s: update", g->name);
	is_int(sov_store_changes(st), 2, "%s: changes 2 after update", g->name);
	is_int(sov_store_query(st, "UPDATE t SET s = 'z' WHERE id = 999",
			       jv_array(), NULL, &e),
	       0, "%s: update of nothing", g->name);
	is_int(sov_store_changes(st), 0, "%s: changes 0", g->name);
	is_int(sov_store_query(st, "DELETE FROM t WHERE id >= 10", jv_array(),
			       NULL, &e),
	       0, "%s: delete", g->name);
	is_int(sov_store_changes(st), 3, "%s: changes 3 after delete", g->name);
	is_int(sov_store_query(st,
			       "/* a comment */ -- and another\n"
			       "  UPDATE t SET s = 'c' WHERE id = 1",
			       jv_array(), NULL, &e),
	       0, "%s: update after comments", g->name);
	is_int(sov_store_changes(st), 1, "%s: still counted", g->name);
	ok(json_is(q(st,
		     "INSERT INTO t (id, s) VALUES (20, 'r'), (21, 'r') "
		     "RETURNING id",
		     jv_array()),
		   "[{\"id\":20},{\"id\":21}]"),
	   "%s: INSERT ... RETURNING gives rows", g->name);
	is_int(sov_store_changes(st), 2, "%s: and changes 2", g->name);
	is_int(sov_store_query(st, "CREATE TABLE c_ddl (x INTEGER)", jv_array(),
			       NULL, &e),
	       0, "%s: DDL through query", g->name);
	is_int(sov_store_changes(st), 2, "%s: DDL keeps changes", g->name);
}

static void
expect_fail(struct sov_store *st, const char *sql, jv params, int code,
	    const char *needle, const char *what)
{
	struct sov_err e = {0};
	jv rows = jv_null();

	is_int(sov_store_query(st, sql, params, &rows, &e), -1, "%s: fails",
	       what);
	is_int(e.code, code, "%s: code %d", what, code);
	like(e.msg, needle, "%s: message", what);
	ok(!jv_is_valid(rows), "%s: rows is invalid", what);
	jv_free(rows);
}

static void
test_errors(const struct eng *g, struct sov_store *st)
{
	struct sov_err e = {0};
	char what[128];

#define W(s) (snprintf(what, sizeof(what), "%s: %s", g->name, s), what)
	is_int(sov_store_exec(st, "SELEC 1", &e), -1, "%s: exec bad SQL",
	       g->name);
	is_int(e.code, SOV_EXIT_FAIL, "%s: bad SQL is code 1", g->name);
	like(e.msg, "syntax error", "%s: the engine's message", g->name);
	like(e.msg, g->url, "%s: the message names the store", g->name);
	expect_fail(st, "SELEC 1", jv_array(), SOV_EXIT_FAIL,
		    "(statement: SELEC 1)", W("query bad SQL names it"));
	expect_fail(st,
		    "SELECT 1 AS a FROM nope_table WHERE a = 1 AND a = 2 AND "
		    "a = 3 AND a = 4 AND a = 5 AND a = 6 AND a = 7 AND a = 8 "
		    "AND a = 9 AND a = 10 AND a = 11",
		    jv_array(), SOV_EXIT_FAIL, "a = 8 AND ...)",
		    W("a long statement is cut"));
	expect_fail(st, "SELECT * FROM nope_table", jv_array(), SOV_EXIT_FAIL,
		    "nope_table", W("unknown table"));
	expect_fail(st, "SELECT $1 AS a", jv_array(), SOV_EXIT_FAIL,
		    "SELECT $1 AS a", W("too few parameters"));
	expect_fail(st, "SELECT $1 AS a", JV_ARRAY(jv_number(1), jv_number(2)),
		    SOV_EXIT_FAIL, "SELECT $1 AS a", W("too many parameters"));
	expect_fail(st, "SELECT ? AS a", JV_ARRAY(jv_number(1)), SOV_EXIT_FAIL,
		    "SELECT ? AS a", W("a ? parameter"));
	expect_fail(st, "SELECT $1 AS a", jv_object(), SOV_EXIT_FAIL,
		    "must be a JSON array", W("params not an array"));
	expect_fail(st, "SELECT $1 AS a", JV_ARRAY(jv_number(0.0 / 0.0)),
		    SOV_EXIT_FAIL, "$1 is not a finite number", W("NaN"));
	expect_fail(st, "SELECT $1 AS a", JV_ARRAY(jv_string_sized("a\0b", 3)),
		    SOV_EXIT_FAIL, "$1 contains a NUL", W("NUL in a string"));
	expect_fail(st, "SELECT 1 AS a; SELECT 2 AS b", jv_array(),
		    SOV_EXIT_FAIL, "SELECT 1 AS a; SELECT 2",
		    W("two statements"));
	expect_fail(st, "  ", jv_array(), SOV_EXIT_FAIL, "empty statement",
		    W("empty statement"));
	expect_fail(st, NULL, jv_array(), SOV_EXIT_FAIL, "no SQL",
		    W("NULL SQL"));
	/* rows NULL: the cap holds even when nothing is kept (and is quick). */
	is_int(sov_store_query(st,
			       "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
			       "SELECT x + 1 FROM c WHERE x < 1000001) "
			       "SELECT x FROM c",
			       jv_array(), NULL, &e),
	       -1, "%s: more rows than the cap fail", g->name);
	like(e.msg, "more than 1000000 rows; add a LIMIT", "%s: saying so",
	     g->name);
	is_int(sov_store_set_lock_timeout(st, 0, &e), -1,
	       "%s: lock timeout 0 refused", g->name);
	is_int(e.code, SOV_EXIT_USAGE, "%s: lock timeout 0 is code 2", g->name);
	is_int(sov_store_set_cache(st, 10, &e), -1,
	       "%s: a 10 KiB cache refused", g->name);
	is_int(sov_store_set_cache(st, 256, &e), 0, "%s: a 256 KiB cache",
	       g->name);
	if (sov_store_kind(st) == SOV_STORE_SQLITE) {
		jv rows = jv_invalid();

		sov_store_query(st, "PRAGMA cache_size", jv_array(), &rows, &e);
		ok(jv_is_valid(rows) && jv_array_length(jv_copy(rows)) == 1 &&
		       jv_number_value(
			   jv_object_get(jv_array_get(jv_copy(rows), 0),
					 jv_string("cache_size"))) == -256,
		   "%s: PRAGMA cache_size is -256 (KiB)", g->name);
		jv_free(rows);
	} else {
		ok(1, "%s: no cache to set on PostgreSQL", g->name);
	}
	ok(count_rows(st, "SELECT 1 AS still_fine", jv_array()) == 1,
	   "%s: the store works after the errors", g->name);
#undef W
}

static int
has_id(struct sov_store *st, int id)
{
	return count_rows(st, "SELECT id FROM t WHERE id = $1",
			  JV_ARRAY(jv_number(id)));
}

static int
insert_id(struct sov_store *st, int id)
{
	struct sov_err e = {0};
	int rc = sov_store_query(st, "INSERT INTO t (id) VALUES ($1)",
				 JV_ARRAY(jv_number(id)), NULL, &e);
	if (rc < 0)
		diag("insert %d: %s", id, e.msg);
	return rc;
}

static void
test_tx(const struct eng *g, struct sov_store *st, struct sov_store *st2)
{
	struct sov_err e = {0};

	is_int(sov_store_begin(st, &e), 0, "%s: begin", g->name);
	is_int(insert_id(st, 100), 0, "%s: insert in a transaction", g->name);
	is_int(has_id(st2, 100), 0, "%s: not visible to another connection yet",
	       g->name);
	is_int(sov_store_commit(st, &e), 0, "%s: commit", g->name);
	is_int(has_id(st2, 100), 1,
	       "%s: committed row visible to another "
	       "connection",
	       g->name);

	is_int(sov_store_begin(st, &e), 0, "%s: begin again", g->name);
	insert_id(st, 101);
	is_int(has_id(st, 101), 1, "%s: own uncommitted row visible", g->name);
	is_int(sov_store_rollback(st, &e), 0, "%s: rollback", g->name);
	is_int(has_id(st, 101), 0, "%s: rolled back row gone", g->name);
	is_int(has_id(st2, 101), 0, "%s: never seen by another connection",
	       g->name);

	is_int(sov_store_rollback(st, &e), 0, "%s: rollback with none open",
	       g->name);
	is_int(sov_store_commit(st, &e), -1, "%s: commit with none open",
	       g->name);
	like(e.msg, "no transaction is open", "%s: commit says why", g->name);
	sov_store_begin(st, &e);
	is_int(sov_store_begin(st, &e), -1, "%s: nested begin refused",
	       g->name);
	like(e.msg, "already open", "%s: nested begin says why", g->name);
	sov_store_rollback(st, &e);

	/* An error inside a transaction: PostgreSQL aborts it, SQLite not. */
	sov_store_begin(st, &e);
	insert_id(st, 102);
	is_int(sov_store_exec(st, "SELEC 1", &e), -1,
	       "%s: error inside a "
	       "transaction",
	       g->name);
	if (g->pg) {
		is_int(sov_store_commit(st, &e), -1,
		       "%s: commit after an error fails", g->name);
		like(e.msg, "rolled back", "%s: and says it rolled back",
		     g->name);
		is_int(has_id(st2, 102), 0, "%s: nothing of it was committed",
		       g->name);
	} else {
		is_int(sov_store_commit(st, &e), 0,
		       "%s: commit after an error commits the rest", g->name);
		ok(1, "%s: (nothing to say)", g->name);
		is_int(has_id(st2, 102), 1, "%s: the good insert committed",
		       g->name);
	}
}

static void
test_busy(const struct eng *g, struct sov_store *st, struct sov_store *st2)
{
	struct sov_err e = {0};
	double t0, ms;
	int rc;

	/* st2 holds the write lock (SQLite) or the row lock (PostgreSQL). */
	is_int(sov_store_begin(st2, &e), 0, "%s: second connection begins",
	       g->name);
	is_int(sov_store_query(st2, "UPDATE t SET s = 'held' WHERE id = 1",
			       jv_array(), NULL, &e),
	       0, "%s: second connection writes", g->name);
	is_int(sov_store_set_lock_timeout(st, 200, &e), 0,
	       "%s: lock timeout 200 ms", g->name);
	t0 = now_ms();
	rc = sov_store_query(st, "UPDATE t SET s = 'mine' WHERE id = 1",
			     jv_array(), NULL, &e);
	ms = now_ms() - t0;
	is_int(rc, -1, "%s: a write behind a held lock fails", g->name);
	is_int(e.code, SOV_EXIT_TEMPFAIL, "%s: busy is code 75", g->name);
	like(e.msg, g->pg ? "lock timeout" : "locked", "%s: busy message",
	     g->name);
	ok(ms >= 150 && ms < 3000, "%s: it waited the timeout (%.0f ms)",
	   g->name, ms);
	sov_store_rollback(st, &e);
	is_int(sov_store_rollback(st2, &e), 0, "%s: second connection lets go",
	       g->name);
	is_int(sov_store_query(st, "UPDATE t SET s = 'mine' WHERE id = 1",
			       jv_array(), NULL, &e),
	       0, "%s: then the write goes through", g->name);
	sov_store_set_lock_timeout(st, SOV_STORE_BUSY_TIMEOUT_MS, &e);
}

static const struct sov_migration steps[] = {
    {1, "CREATE TABLE m1 (a INTEGER)", "CREATE TABLE m1 (a INTEGER)"},
    {2, "CREATE TABLE m2 (b TEXT); INSERT INTO m1 (a) VALUES (1)",
     "CREATE TABLE m2 (b TEXT); INSERT INTO m1 (a) VALUES (1)"},
    /* Half of it works, then it fails: the half must be rolled back. */
    {3, "CREATE TABLE m3 (x INTEGER); CREATE TABLE m3 (y INTEGER)",
     "CREATE TABLE m3 (x INTEGER); CREATE TABLE m3 (y INTEGER)"},
};

static void
test_migrate(const struct eng *g, struct sov_store *st, struct sov_store *st2)
{
	struct sov_err e = {0};
	struct sov_migration gap[] = {{1, "SELECT 1", "SELECT 1"},
				      {3, "SELECT 1", "SELECT 1"}};
	struct sov_migration nosql[] = {{1, NULL, NULL}};
	struct sov_migration held[] = {{1, "CREATE TABLE held1 (a INTEGER)",
					"CREATE TABLE held1 (a INTEGER)"}};
	int rc;

	is_int(sov_store_schema_version(st, "demo", &e), 0,
	       "%s: no migrations table yet: version 0", g->name);
	is_int(sov_store_migrate(st, "demo", steps, 2, &e), 0,
	       "%s: migrate to 2", g->name);
	is_int(sov_store_schema_version(st, "demo", &e), 2, "%s: version 2",
	       g->name);
	ok(q_num(st, "SELECT count(*) AS c FROM m1", jv_array(), "c") == 1,
	   "%s: both steps ran", g->name);
	/* Step 1 is no CREATE ... IF NOT EXISTS: a re-run would fail. */
	is_int(sov_store_migrate(st2, "demo", steps, 2, &e), 0,
	       "%s: re-run from another connection is a no-op", g->name);
	ok(q_num(st, "SELECT count(*) AS c FROM m1", jv_array(), "c") == 1,
	   "%s: nothing ran twice", g->name);
	is_int(sov_store_schema_version(st, "other", &e), 0,
	       "%s: another schema is still at 0", g->name);

	rc = sov_store_migrate(st, "demo", steps, 3, &e);
	is_int(rc, -1, "%s: a failing step fails", g->name);
	is_int(e.code, SOV_EXIT_FAIL, "%s: code 1", g->name);
	like(e.msg, "migrate schema \"demo\" to version 3",
	     "%s: names schema "
	     "and step",
	     g->name);
	like(e.msg, "m3", "%s: and the engine's complaint", g->name);
	is_int(sov_store_schema_version(st, "demo", &e), 2,
	       "%s: still at the last whole step", g->name);
	is_int(sov_store_query(st, "SELECT * FROM m3", jv_array(), NULL, &e),
	       -1, "%s: the failed step's first table was rolled back",
	       g->name);

	is_int(sov_store_migrate(st, "demo", steps, 1, &e), -1,
	       "%s: a store newer than the program is refused", g->name);
	like(e.msg, "version 2, newer than version 1", "%s: says so", g->name);
	like(e.msg, "\"demo\"", "%s: names the schema", g->name);

	is_int(sov_store_migrate(st, "gap", gap, 2, &e), -1,
	       "%s: versions with a gap refused", g->name);
	like(e.msg, "step 2 has version 3", "%s: names the bad step", g->name);
	is_int(sov_store_migrate(st, "nosql", nosql, 1, &e), -1,
	       "%s: a step without SQL refused", g->name);
	like(e.msg, g->pg ? "no SQL for PostgreSQL" : "no SQL for SQLite",
	     "%s: names the engine", g->name);
	is_int(sov_store_migrate(st, "bad name", steps, 1, &e), -1,
	       "%s: bad schema name refused", g->name);
	like(e.msg, "\"bad name\"", "%s: names it", g->name);
	is_int(sov_store_schema_version(st, "", &e), -1,
	       "%s: empty schema name refused", g->name);

	/* A migrator waits for another's lock, then gives up with 75. */
	sov_store_begin(st2, &e);
	if (g->pg)
		sov_store_query(st2,
				"SELECT pg_advisory_xact_lock(hashtext('sov:' "
				"|| $1))",
				JV_ARRAY(jv_string("held")), NULL, &e);
	sov_store_set_lock_timeout(st, 200, &e);
	rc = sov_store_migrate(st, "held", held, 1, &e);
	is_int(rc, -1, "%s: migrate behind a held lock fails", g->name);
	is_int(e.code, SOV_EXIT_TEMPFAIL, "%s: with 75", g->name);
	like(e.msg, "migrate schema \"held\"", "%s: naming the schema",
	     g->name);
	sov_store_rollback(st2, &e);
	is_int(sov_store_migrate(st, "held", held, 1, &e), 0,
	       "%s: and succeeds once the lock is free", g->name);
	sov_store_set_lock_timeout(st, SOV_STORE_BUSY_TIMEOUT_MS, &e);
}

/*
 * RACERS processes migrate one fresh store at once: the same schema (each
 * step must run once) and one schema each (the table itself must be
 * created once, without a unique-violation race on PostgreSQL).
 */
static int
racer(const char *url, int i)
{
	static const struct sov_migration same[] = {
	    {1, "CREATE TABLE race_t (x INTEGER)",
	     "CREATE TABLE race_t (x INTEGER)"},
	    {2, "INSERT INTO race_t (x) VALUES (1)",
	     "INSERT INTO race_t (x) VALUES (1)"},
	};
	struct sov_migration own[1];
	struct sov_err e = {0};
	struct sov_store *st;
	char schema[32], sql[64];
	int rc = 0;

	if (read(0, schema, 1) < 0) /* the gate: EOF when the parent says go */
		return 98;
	if (snprintf(schema, sizeof(schema), "race_%d", i) >=
		(int)sizeof(schema) ||
	    snprintf(sql, sizeof(sql), "CREATE TABLE race_%d (x INTEGER)", i) >=
		(int)sizeof(sql))
		return 99;
	own[0].version = 1;
	own[0].sqlite = own[0].postgres = sql;
	st = sov_store_open(url, &e);
	if (st == NULL || sov_store_migrate(st, schema, own, 1, &e) < 0 ||
	    sov_store_migrate(st, "race", same, 2, &e) < 0) {
		fprintf(stderr, "racer %d: %s\n", i, e.msg);
		rc = e.code ? e.code : 1;
	}
	sov_store_close(st);
	return rc;
}

static void
test_race(const struct eng *g)
{
	struct sov_err e = {0};
	struct sov_store *st;
	pid_t pids[RACERS];
	int gate[2], status, good = 0;
	char schema[32];

	if (pipe(gate) != 0)
		exit(99);
	fflush(stdout);
	for (int i = 0; i < RACERS; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			exit(99);
		if (pids[i] == 0) {
			/* A fresh process (not a fork of this one's heap),
			 * its stdin the gate. */
			char idx[16];
			if (snprintf(idx, sizeof(idx), "%d", i) >=
				(int)sizeof(idx) ||
			    dup2(gate[0], 0) < 0)
				_exit(97);
			close(gate[0]);
			close(gate[1]);
			execl(self_exe, "test_store", "--racer", g->fresh, idx,
			      (char *)NULL);
			_exit(96);
		}
	}
	close(gate[0]);
	close(gate[1]); /* go */
	for (int i = 0; i < RACERS; i++)
		if (waitpid(pids[i], &status, 0) == pids[i] &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0)
			good++;
	is_int(good, RACERS, "%s: %d concurrent migrators all succeed", g->name,
	       RACERS);
	st = sov_store_open(g->fresh, &e);
	ok(st != NULL, "%s: open the raced store", g->name);
	if (st == NULL)
		return;
	ok(q_num(st, "SELECT count(*) AS c FROM race_t", jv_array(), "c") == 1,
	   "%s: the shared step ran once", g->name);
	is_int(sov_store_schema_version(st, "race", &e), 2,
	       "%s: shared schema at 2", g->name);
	for (int i = 0; i < RACERS; i++) {
		if (snprintf(schema, sizeof(schema), "race_%d", i) >=
		    (int)sizeof(schema))
			exit(99);
		is_int(sov_store_schema_version(st, schema, &e), 1,
		       "%s: schema %s at 1", g->name, schema);
	}
	sov_store_close(st);
}

static void
test_engine(const struct eng *g)
{
	struct sov_err e = {0};
	struct sov_store *st, *st2;

	st = sov_store_open(g->url, &e);
	ok(st != NULL, "%s: open %s", g->name, g->url);
	if (st == NULL) {
		diag("%s", e.msg);
		return;
	}
	st2 = sov_store_open(g->url, &e);
	ok(st2 != NULL, "%s: open a second connection", g->name);
	if (st2 == NULL) {
		sov_store_close(st);
		return;
	}
	is_int(sov_store_kind(st),
	       g->pg ? SOV_STORE_POSTGRES : SOV_STORE_SQLITE, "%s: kind",
	       g->name);
	is_str(sov_store_display(st), g->url, "%s: display", g->name);
	is_int(sov_store_exec(st,
			      "CREATE TABLE x1 (a INTEGER); "
			      "INSERT INTO x1 VALUES (1); "
			      "INSERT INTO x1 VALUES (2)",
			      &e),
	       0, "%s: exec runs several statements", g->name);
	ok(q_num(st, "SELECT count(*) AS c FROM x1", jv_array(), "c") == 2,
	   "%s: all of them", g->name);

	test_types(g, st);
	test_changes(g, st);
	test_errors(g, st);
	test_tx(g, st, st2);
	test_busy(g, st, st2);
	test_migrate(g, st, st2);
	test_race(g);
	sov_store_close(st2);
	sov_store_close(st);
	sov_store_close(NULL);
}

/* ---- SQLite only --------------------------------------------------------- */

static void
test_sqlite_only(const char *url, const char *path)
{
	struct sov_err e = {0};
	struct sov_store *st;
	char p[PATH_MAX + 16], u[PATH_MAX + 16], cwd[PATH_MAX];
	struct stat sb;
	int fd;

	st = sov_store_open(url, &e);
	ok(json_is(q(st, "PRAGMA journal_mode", jv_array()),
		   "[{\"journal_mode\":\"wal\"}]"),
	   "SQLite: journal_mode is wal");
	mkpath(p, sizeof(p), "%s-wal", path);
	ok(stat(p, &sb) == 0, "SQLite: the -wal file exists");
	ok(json_is(q(st, "PRAGMA foreign_keys", jv_array()),
		   "[{\"foreign_keys\":1}]"),
	   "SQLite: foreign keys on");
	ok(json_is(q(st, "SELECT x'0102ff' AS b, 1.5 AS f", jv_array()),
		   "[{\"b\":\"\\\\x0102ff\",\"f\":1.5}]"),
	   "SQLite: a BLOB comes back as \\x hex");
	expect_fail(st, "SELECT $01 AS a", JV_ARRAY(jv_number(1)),
		    SOV_EXIT_FAIL, "parameter $01", "SQLite: $01");
	expect_fail(st, "SELECT $2 AS a", JV_ARRAY(jv_number(1)), SOV_EXIT_FAIL,
		    "uses $2 but 1 parameters", "SQLite: $2 of 1");
	ok(json_is(q(st, "SELECT $2 AS b, $1 AS a, $2 AS c",
		     JV_ARRAY(jv_string("one"), jv_string("two"))),
		   "[{\"b\":\"two\",\"a\":\"one\",\"c\":\"two\"}]"),
	   "SQLite: $N bound by name, in any order, twice");
	sov_store_close(st);

	mkpath(u, sizeof(u), "sqlite:%s/no/such/dir/x.db", tmp);
	st = sov_store_open(u, &e);
	ok(st == NULL, "SQLite: open in a missing directory fails");
	is_int(e.code, SOV_EXIT_FAIL, "SQLite: code 1");
	like(e.msg, "unable to open database file", "SQLite: engine message");
	like(e.msg, "No such file or directory", "SQLite: and the errno");
	like(e.msg, "no/such/dir/x.db", "SQLite: and the path");

	mkpath(p, sizeof(p), "%s/garbage.db", tmp);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 ||
	    write(fd, "this is not SQLite, this is text\n", 33) != 33 ||
	    close(fd) != 0)
		exit(99);
	mkpath(u, sizeof(u), "sqlite:%s", p);
	st = sov_store_open(u, &e);
	ok(st == NULL, "SQLite: a file that is not a database fails");
	like(e.msg, "file is not a database", "SQLite: says so");
	like(e.msg, "garbage.db", "SQLite: naming it");

	st = sov_store_open("sqlite::memory:", &e);
	ok(st != NULL &&
	       sov_store_exec(st, "CREATE TABLE a (x INTEGER)", &e) == 0,
	   "SQLite: :memory: works");
	sov_store_close(st);

	/* "file:" is a plain file name here, never an SQLite URI. */
	if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(tmp) != 0)
		exit(99);
	st = sov_store_open("sqlite:file:plain.db?mode=ro", &e);
	ok(st != NULL &&
	       sov_store_exec(st, "CREATE TABLE a (x INTEGER)", &e) == 0,
	   "SQLite: sqlite:file:X?mode=ro is a writable plain file");
	ok(stat("file:plain.db?mode=ro", &sb) == 0,
	   "SQLite: named exactly that");
	sov_store_close(st);
	if (chdir(cwd) != 0)
		exit(99);
}

/* SQLite keeps prepared statements per connection: each run is still its
 * own, whatever ran before it on the same statement. */
static void
test_sqlite_cached(const char *url)
{
	struct sov_err e = {0};
	struct sov_store *a = sov_store_open(url, &e);
	struct sov_store *b = a ? sov_store_open(url, &e) : NULL;
	const char *ins = "INSERT INTO cache_t (k, v) VALUES ($1, $2)";
	const char *count = "SELECT count(*) AS n FROM cache_t";
	const char *one = "SELECT * FROM cache_t WHERE k = $1";
	char sql[96];
	int good = 0;

	if (b == NULL ||
	    sov_store_exec(a,
			   "CREATE TABLE cache_t (k INTEGER PRIMARY KEY, "
			   "v TEXT)",
			   &e) < 0) {
		ok(0, "SQLite cache: setup: %s", e.msg);
		goto out;
	}
	for (int i = 0; i < 100; i++) {
		snprintf(sql, sizeof(sql), "SELECT $1 + %d AS v", i);
		good += q_num(a, sql, JV_ARRAY(jv_number(i)), "v") == 2 * i;
	}
	is_int(good, 100, "SQLite cache: 100 distinct statements, past it");
	ok(q_num(a, "SELECT $1 + 0 AS v", JV_ARRAY(jv_number(5)), "v") == 5,
	   "SQLite cache: one it let go prepares again");
	ok(q_num(a, "SELECT $1 + 99 AS v", JV_ARRAY(jv_number(1)), "v") == 100,
	   "SQLite cache: one it kept runs with new values");

	ok(sov_store_query(a, ins, JV_ARRAY(jv_number(1), jv_string("a")), NULL,
			   &e) == 0,
	   "SQLite cache: an insert");
	is_int(sov_store_query(a, ins, JV_ARRAY(jv_number(1), jv_string("b")),
			       NULL, &e),
	       -1, "SQLite cache: the same insert breaking the key fails");
	like(e.msg, "UNIQUE", "SQLite cache: with the engine's message");
	ok(sov_store_query(a, ins, JV_ARRAY(jv_number(2), jv_string("b")), NULL,
			   &e) == 0,
	   "SQLite cache: and then runs again");

	ok(q_num(a, count, jv_array(), "n") == 2, "SQLite cache: two rows");
	if (sov_store_query(b, ins, JV_ARRAY(jv_number(3), jv_string("c")),
			    NULL, &e) < 0)
		diag("insert on b: %s", e.msg);
	ok(q_num(a, count, jv_array(), "n") == 3,
	   "SQLite cache: a row another connection committed is seen");
	is_int((int)q_num(b, "PRAGMA wal_checkpoint(TRUNCATE)", jv_array(),
			  "busy"),
	       0,
	       "SQLite cache: no snapshot held between runs (a truncating "
	       "checkpoint is not blocked)");

	ok(json_is(q(a, one, JV_ARRAY(jv_number(1))),
		   "[{\"k\":1,\"v\":\"a\"}]"),
	   "SQLite cache: a row by key");
	if (sov_store_exec(b,
			   "ALTER TABLE cache_t ADD COLUMN w INTEGER "
			   "DEFAULT 7",
			   &e) < 0)
		diag("alter on b: %s", e.msg);
	ok(json_is(q(a, one, JV_ARRAY(jv_number(1))),
		   "[{\"k\":1,\"v\":\"a\",\"w\":7}]"),
	   "SQLite cache: after another connection's ALTER, the new column");

	sov_store_begin(a, &e);
	sov_store_query(a, ins, JV_ARRAY(jv_number(4), jv_string("d")), NULL,
			&e);
	sov_store_rollback(a, &e);
	ok(q_num(a, count, jv_array(), "n") == 3,
	   "SQLite cache: an insert rolled back is gone");
	ok(sov_store_query(a, ins, JV_ARRAY(jv_number(4), jv_string("d")), NULL,
			   &e) == 0 &&
	       q_num(a, count, jv_array(), "n") == 4,
	   "SQLite cache: and the same insert outside it stays");
out:
	sov_store_close(a);
	sov_store_close(b);
}

/* ---- PostgreSQL ---------------------------------------------------------- */

static void
test_pg_unreachable(void)
{
	struct sov_err e = {0};
	struct sov_store *st;
	char u[PATH_MAX + 128];

	mkpath(u, sizeof(u),
	       "postgresql://sov:s3cret@/postgres?host=%s&connect_timeout=2",
	       tmp);
	st = sov_store_open(u, &e);
	ok(st == NULL, "PostgreSQL: no server in the socket dir");
	is_int(e.code, SOV_EXIT_TEMPFAIL, "PostgreSQL: unreachable is 75");
	like(e.msg, tmp, "PostgreSQL: the message names the socket dir");
	like(e.msg, "postgresql://sov:***@", "PostgreSQL: shows the URL");
	ok(strstr(e.msg, "s3cret") == NULL,
	   "PostgreSQL: but never the password");
}

/* The server URL with another database: "scheme://auth/DB?query". */
static void
url_with_db(char *buf, size_t size, const char *url, const char *db)
{
	const char *p = strstr(url, "://"), *path, *query;

	p = p ? p + 3 : url;
	path = p + strcspn(p, "/?");
	query = strchr(path, '?');
	if (snprintf(buf, size, "%.*s/%s%s", (int)(path - url), url, db,
		     query ? query : "") >= (int)size)
		exit(99);
}

static int
backend_pid(struct sov_store *st)
{
	return (int)q_num(st, "SELECT pg_backend_pid() AS pid", jv_array(),
			  "pid");
}

static void
terminate(struct sov_store *killer, int pid)
{
	struct sov_err e = {0};

	if (sov_store_query(killer, "SELECT pg_terminate_backend($1)",
			    JV_ARRAY(jv_number(pid)), NULL, &e) < 0)
		diag("terminate: %s", e.msg);
	usleep(100000); /* let the backend go */
}

/* Statements with parameters are prepared once per connection, bounded. */
static void
test_pg_prepared(const char *url)
{
	struct sov_err e = {0};
	struct sov_store *st = sov_store_open(url, &e), *plain;
	char sql[96];
	int good = 0;

	if (st == NULL) {
		ok(0, "PostgreSQL: open: %s", e.msg);
		return;
	}
	for (int i = 0; i < 300; i++) {
		snprintf(sql, sizeof(sql), "SELECT $1::int + %d AS v", i);
		good += q_num(st, sql, JV_ARRAY(jv_number(1)), "v") == i + 1;
	}
	is_int(good, 300,
	       "PostgreSQL: 300 distinct statements, past the cache");
	is_int((int)q_num(st,
			  "SELECT count(*) AS n FROM pg_prepared_statements",
			  jv_array(), "n"),
	       256, "PostgreSQL: 256 kept prepared, no more");
	snprintf(sql, sizeof(sql), "SELECT $1::int + %d AS v", 7);
	ok(q_num(st, sql, JV_ARRAY(jv_number(1)), "v") == 8,
	   "PostgreSQL: a cached statement runs again");
	is_int(
	    sov_store_query(st, "SELEC $1", JV_ARRAY(jv_number(1)), NULL, &e),
	    -1, "PostgreSQL: a statement that cannot prepare fails");
	like(e.msg, "syntax error", "PostgreSQL: with the server's message");
	sov_store_begin(st, &e);
	sov_store_query(st, "SELECT 1/0 AS x", jv_array(), NULL, &e);
	is_int(sov_store_query(st, "SELECT $1::int AS fresh",
			       JV_ARRAY(jv_number(3)), NULL, &e),
	       -1, "PostgreSQL: preparing in an aborted transaction fails");
	sov_store_rollback(st, &e);
	ok(q_num(st, "SELECT $1::int AS fresh", JV_ARRAY(jv_number(3)),
		 "fresh") == 3,
	   "PostgreSQL: and works after the rollback");
	sov_store_close(st);

	setenv("SOV_PG_NO_PREPARE", "1", 1);
	plain = sov_store_open(url, &e);
	unsetenv("SOV_PG_NO_PREPARE");
	if (plain == NULL) {
		ok(0, "PostgreSQL: open: %s", e.msg);
		return;
	}
	ok(q_num(plain, "SELECT $1::int + 1 AS v", JV_ARRAY(jv_number(1)),
		 "v") == 2,
	   "PostgreSQL: SOV_PG_NO_PREPARE runs statements unprepared");
	is_int((int)q_num(plain,
			  "SELECT count(*) AS n FROM pg_prepared_statements",
			  jv_array(), "n"),
	       0, "PostgreSQL: and prepares none");
	sov_store_close(plain);
}

static void
test_pg_only(const char *url, const char *server_url)
{
	struct sov_err e = {0};
	struct sov_store *st, *killer;
	char u[SOV_STORE_URL_MAX];
	int pid;

	st = sov_store_open(url, &e);
	killer = sov_store_open(url, &e);
	if (st == NULL || killer == NULL) {
		ok(0, "PostgreSQL: open: %s", e.msg);
		sov_store_close(st);
		return;
	}
	ok(json_is(q(st,
		     "SELECT '{\"a\":1}'::json AS j, '[true]'::jsonb AS "
		     "jb, 1.5::numeric AS n, 'NaN'::float8 AS nan, "
		     "2::int2 AS s, 7::oid AS o, 't'::bool AS b, "
		     "'\\x01ff'::bytea AS by",
		     jv_array()),
		   "[{\"j\":{\"a\":1},\"jb\":[true],\"n\":1.5,\"nan\":\"NaN\","
		   "\"s\":2,\"o\":7,\"b\":true,\"by\":\"\\\\x01ff\"}]"),
	   "PostgreSQL: types by OID");
	ok(json_is(q(st, "SELECT $1::numeric::text AS t",
		     JV_ARRAY(jv_number(1.5e-7))),
		   "[{\"t\":\"0.00000015\"}]"),
	   "PostgreSQL: a double is sent as its shortest exact text");
	is_int(sov_store_exec(st, "COPY (SELECT 1) TO STDOUT", &e), -1,
	       "PostgreSQL: COPY TO STDOUT refused");
	like(e.msg, "COPY", "PostgreSQL: says COPY");
	is_int(sov_store_exec(st,
			      "CREATE TABLE cp (x INTEGER); "
			      "COPY cp FROM STDIN",
			      &e),
	       -1, "PostgreSQL: COPY FROM STDIN refused");
	ok(q_num(st, "SELECT 41 + 1 AS v", jv_array(), "v") == 42,
	   "PostgreSQL: the connection still works after COPY");

	/* A lost connection: the next query fails with 75, then reconnects. */
	pid = backend_pid(st);
	ok(pid > 0, "PostgreSQL: backend pid %d", pid);
	terminate(killer, pid);
	is_int(sov_store_query(st, "SELECT 1 AS one", jv_array(), NULL, &e), -1,
	       "PostgreSQL: query on a terminated connection fails");
	is_int(e.code, SOV_EXIT_TEMPFAIL, "PostgreSQL: lost connection is 75");
	like(e.msg, url, "PostgreSQL: naming the store");
	ok(backend_pid(st) > 0 && backend_pid(st) != pid,
	   "PostgreSQL: the next query reconnects");

	/* Lost inside a transaction: no silent reconnect until rollback. */
	sov_store_begin(st, &e);
	insert_id(st, 500);
	terminate(killer, backend_pid(st));
	is_int(sov_store_query(st, "INSERT INTO t (id) VALUES (501)",
			       jv_array(), NULL, &e),
	       -1, "PostgreSQL: lost inside a transaction");
	is_int(sov_store_query(st, "SELECT 1 AS one", jv_array(), NULL, &e), -1,
	       "PostgreSQL: the next statement is refused too");
	is_int(e.code, SOV_EXIT_TEMPFAIL, "PostgreSQL: with 75");
	like(e.msg, "roll back, then retry", "PostgreSQL: saying what to do");
	is_int(sov_store_commit(st, &e), -1, "PostgreSQL: commit refused");
	is_int(e.code, SOV_EXIT_TEMPFAIL, "PostgreSQL: commit with 75");
	is_int(sov_store_rollback(st, &e), 0, "PostgreSQL: rollback is fine");
	is_int(has_id(st, 500), 0,
	       "PostgreSQL: reconnected, nothing of the lost transaction");

	test_pg_prepared(url);

	/* Reachable server, missing database. */
	url_with_db(u, sizeof(u), server_url, "sov_no_such_db");
	sov_store_close(sov_store_open(u, &e));
	is_int(e.code, SOV_EXIT_TEMPFAIL, "PostgreSQL: missing database is 75");
	like(e.msg, "\"sov_no_such_db\" does not exist",
	     "PostgreSQL: says which database");

	sov_store_close(killer);
	sov_store_close(st);
}

/* (Re)create database db on the server; -1 (and a failed test) on error. */
static int
pg_recreate(struct sov_store *admin, const char *db, int drop_only)
{
	struct sov_err e = {0};
	char sql[128];

	if (snprintf(sql, sizeof(sql),
		     "DROP DATABASE IF EXISTS %s WITH (FORCE)",
		     db) >= (int)sizeof(sql))
		exit(99);
	if (sov_store_exec(admin, sql, &e) < 0)
		goto fail;
	if (drop_only)
		return 0;
	if (snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db) >=
	    (int)sizeof(sql))
		exit(99);
	if (sov_store_exec(admin, sql, &e) < 0)
		goto fail;
	return 0;
fail:
	ok(0, "PostgreSQL: %s: %s", sql, e.msg);
	return -1;
}

static void
run_pg(const char *server_url, int engine_tests)
{
	struct sov_err e = {0};
	struct sov_store *admin;
	char db[64], race_db[80], url[SOV_STORE_URL_MAX],
	    fresh[SOV_STORE_URL_MAX];
	struct eng g = {"PostgreSQL", url, 1, fresh};
	int n;

	if (snprintf(db, sizeof(db), "sov_test_%ld", (long)getpid()) >=
		(int)sizeof(db) ||
	    snprintf(race_db, sizeof(race_db), "%s_race", db) >=
		(int)sizeof(race_db))
		exit(99);
	url_with_db(url, sizeof(url), server_url, db);
	url_with_db(fresh, sizeof(fresh), server_url, race_db);
	admin = sov_store_open(server_url, &e);
	if (admin == NULL) {
		ok(0, "PostgreSQL: open %s: %s", server_url, e.msg);
		skip(engine_tests + PG_ONLY_TESTS, "PostgreSQL: not reachable");
		return;
	}
	if (pg_recreate(admin, db, 0) < 0 ||
	    pg_recreate(admin, race_db, 0) < 0) {
		sov_store_close(admin);
		return;
	}
	diag("PostgreSQL: databases %s, %s", db, race_db);
	n = tap_n;
	test_engine(&g);
	if (tap_n - n != engine_tests)
		diag("PostgreSQL ran %d engine tests, SQLite %d", tap_n - n,
		     engine_tests);
	n = tap_n;
	test_pg_only(url, server_url);
	if (tap_n - n + 1 != PG_ONLY_TESTS)
		diag("PG_ONLY_TESTS should be %d", tap_n - n + 1);
	ok(pg_recreate(admin, db, 1) == 0 &&
	       pg_recreate(admin, race_db, 1) == 0,
	   "PostgreSQL: drop the test databases");
	sov_store_close(admin);
}

/* Remove the scratch dir (files only one level deep, as made here). */
static void
cleanup(void)
{
	static const char *const names[] = {"store.db",
					    "store.db-wal",
					    "store.db-shm",
					    "garbage.db",
					    "race.db",
					    "race.db-wal",
					    "race.db-shm",
					    "file:plain.db?mode=ro",
					    "file:plain.db?mode=ro-wal",
					    "file:plain.db?mode=ro-shm"};
	char p[PATH_MAX + 64];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		mkpath(p, sizeof(p), "%s/", tmp);
		if (strlen(p) + strlen(names[i]) >= sizeof(p))
			exit(99);
		strncat(p, names[i], sizeof(p) - strlen(p) - 1);
		if (unlink(p) != 0 && errno != ENOENT)
			diag("unlink %s: %s", p, strerror(errno));
	}
	if (rmdir(tmp) != 0)
		diag("rmdir %s: %s", tmp, strerror(errno));
}

int
main(int argc, char **argv)
{
	const char *t = getenv("TMPDIR"), *pg = getenv("SOV_TEST_PG_URL");
	const char *req = getenv("SOV_REQUIRE_PG");
	char path[PATH_MAX], url[PATH_MAX + 16], fresh[PATH_MAX + 16];
	struct eng g = {"SQLite", url, 0, fresh};
	int engine_tests;
	ssize_t n;

	if (argc == 4 && strcmp(argv[1], "--racer") == 0)
		return racer(argv[2], atoi(argv[3]));
	/* readlink, not "/proc/self/exe" itself: under valgrind that is
	 * valgrind, and readlink is what it answers for the program. */
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(self_exe) - 1) {
		perror("test_store: /proc/self/exe");
		return 99;
	}
	self_exe[n] = '\0';
	if (snprintf(tmp, sizeof(tmp), "%s/test_store.%ld",
		     t && *t ? t : "/tmp",
		     (long)getpid()) >= (int)sizeof(tmp) ||
	    mkdir(tmp, 0700) != 0) {
		perror("test_store: scratch dir");
		return 99;
	}
	mkpath(path, sizeof(path), "%s/store.db", tmp);
	mkpath(url, sizeof(url), "sqlite:%s", path);
	mkpath(fresh, sizeof(fresh), "sqlite:%s/race.db", tmp);

	test_urls();
	engine_tests = tap_n;
	test_engine(&g);
	engine_tests = tap_n - engine_tests;
	test_sqlite_only(url, path);
	test_sqlite_cached(url);
	test_pg_unreachable();
	if (pg != NULL && *pg != '\0')
		run_pg(pg, engine_tests);
	else if (req != NULL && strcmp(req, "1") == 0)
		ok(0, "PostgreSQL: SOV_REQUIRE_PG=1 but SOV_TEST_PG_URL is not "
		      "set");
	else
		skip(engine_tests + PG_ONLY_TESTS,
		     "PostgreSQL: SOV_TEST_PG_URL not set");
	cleanup();
	return done_testing();
}
