/*
 * store_migrate.c - versioned schema migrations over the store API, one
 * schema (a tool's name) per row of sov_schema_migrations. Each step runs
 * in its own transaction with the update of its row; the version is read
 * again under the lock, so concurrent migrators apply each step once.
 */
#include "store.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "store_impl.h"

static const char sqlite_table[] =
    "CREATE TABLE IF NOT EXISTS sov_schema_migrations ("
    "schema TEXT PRIMARY KEY, version INTEGER NOT NULL, "
    "applied_at TEXT NOT NULL)";
static const char pg_table[] =
    "CREATE TABLE IF NOT EXISTS sov_schema_migrations ("
    "schema TEXT PRIMARY KEY, version INTEGER NOT NULL, "
    "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())";

static const char sqlite_present[] =
    "SELECT count(*) AS present FROM sqlite_master "
    "WHERE type = 'table' AND name = 'sov_schema_migrations'";
static const char pg_present[] =
    "SELECT to_regclass('sov_schema_migrations') IS NOT NULL AS present";

static const char sqlite_record[] =
    "INSERT INTO sov_schema_migrations (schema, version, applied_at) "
    "VALUES ($1, $2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) "
    "ON CONFLICT (schema) DO UPDATE SET version = excluded.version, "
    "applied_at = excluded.applied_at";
static const char pg_record[] =
    "INSERT INTO sov_schema_migrations (schema, version, applied_at) "
    "VALUES ($1, $2, now()) "
    "ON CONFLICT (schema) DO UPDATE SET version = excluded.version, "
    "applied_at = excluded.applied_at";

static const char read_version[] =
    "SELECT version FROM sov_schema_migrations WHERE schema = $1";

/* PostgreSQL: one advisory lock per schema, one for creating the table. */
static const char pg_lock[] =
    "SELECT pg_advisory_xact_lock(hashtext('sov:' || $1))";

static int
check_schema(const struct sov_store *st, const char *schema, struct sov_err *e)
{
	size_t n;

	if (st == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "migrate: no store");
	if (schema == NULL || schema[0] == '\0')
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "%s: migrate: empty schema name",
				   st->display);
	n = strnlen(schema, SOV_STORE_SCHEMA_MAX + 1);
	if (n > SOV_STORE_SCHEMA_MAX ||
	    strspn(schema, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
		return sov_err_set(
		    e, SOV_EXIT_FAIL,
		    "%s: migrate: schema name \"%.*s\" must be 1 "
		    "to %d of A-Z a-z 0-9 _ . -",
		    st->display, SOV_STORE_SCHEMA_MAX, schema,
		    SOV_STORE_SCHEMA_MAX);
	return 0;
}

/* The one value of a one-row, one-column result as an int in 0..INT_MAX. */
static int
one_int(const struct sov_store *st, jv rows, const char *what, int *out,
	struct sov_err *e)
{
	jv row, v = jv_invalid();
	long long n;
	int rc = -1;

	if (jv_array_length(jv_copy(rows)) == 0) {
		*out = 0;
		rc = 0;
		goto out;
	}
	row = jv_array_get(jv_copy(rows), 0);
	if (jv_get_kind(row) == JV_KIND_OBJECT)
		v = jv_object_get(row, jv_string(what));
	else
		jv_free(row);
	if (jv_get_kind(v) == JV_KIND_TRUE || jv_get_kind(v) == JV_KIND_FALSE) {
		*out = jv_get_kind(v) == JV_KIND_TRUE;
		rc = 0;
	} else if (jv_get_kind(v) == JV_KIND_NUMBER &&
		   sov_store_num_is_int(jv_number_value(v), &n) && n >= 0 &&
		   n <= INT_MAX) {
		*out = (int)n;
		rc = 0;
	} else {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: sov_schema_migrations: %s is not a version "
			    "number",
			    st->display, what);
	}
out:
	jv_free(v);
	jv_free(rows);
	return rc;
}

static int
query_int(struct sov_store *st, const char *sql, jv params, const char *col,
	  int *out, struct sov_err *e)
{
	jv rows;

	if (sov_store_query(st, sql, params, &rows, e) < 0)
		return -1;
	return one_int(st, rows, col, out, e);
}

int
sov_store_schema_version(struct sov_store *st, const char *schema,
			 struct sov_err *e)
{
	int present, v;
	int pg;

	if (check_schema(st, schema, e) < 0)
		return -1;
	pg = st->kind == SOV_STORE_POSTGRES;
	if (query_int(st, pg ? pg_present : sqlite_present, jv_array(),
		      "present", &present, e) < 0)
		return -1;
	if (!present)
		return 0;
	if (query_int(st, read_version, JV_ARRAY(jv_string(schema)), "version",
		      &v, e) < 0)
		return -1;
	return v;
}

static int
too_new(const struct sov_store *st, const char *schema, int v, size_t n,
	struct sov_err *e)
{
	return sov_err_set(e, SOV_EXIT_FAIL,
			   "%s: schema \"%s\" is at version %d, newer than "
			   "version %zu this program knows: upgrade the "
			   "program",
			   st->display, schema, v, n);
}

static int
check_steps(const struct sov_store *st, const char *schema,
	    const struct sov_migration *steps, size_t n, struct sov_err *e)
{
	if (n > 0 && steps == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "%s: migrate schema \"%s\": no steps",
				   st->display, schema);
	if (n > INT_MAX)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "%s: migrate schema \"%s\": too many steps",
				   st->display, schema);
	for (size_t i = 0; i < n; i++) {
		const char *sql = st->kind == SOV_STORE_SQLITE
				      ? steps[i].sqlite
				      : steps[i].postgres;
		if (steps[i].version != (int)i + 1)
			return sov_err_set(
			    e, SOV_EXIT_FAIL,
			    "%s: migrate schema \"%s\": step %zu has "
			    "version %d, want %zu (versions run 1, 2, 3...)",
			    st->display, schema, i + 1, steps[i].version,
			    i + 1);
		if (sql == NULL)
			return sov_err_set(
			    e, SOV_EXIT_FAIL,
			    "%s: migrate schema \"%s\": step %d has no SQL "
			    "for %s",
			    st->display, schema, steps[i].version,
			    st->kind == SOV_STORE_SQLITE ? "SQLite"
							 : "PostgreSQL");
	}
	return 0;
}

/*
 * Inside a write transaction: take the lock (PostgreSQL; SQLite's BEGIN
 * IMMEDIATE already holds it), make sure the table exists, read the
 * version again.
 */
static int
locked_version(struct sov_store *st, const char *schema, int *v,
	       struct sov_err *e)
{
	int present;

	if (st->kind == SOV_STORE_SQLITE) {
		if (sov_store_exec(st, sqlite_table, e) < 0)
			return -1;
	} else {
		if (sov_store_query(st, pg_lock, JV_ARRAY(jv_string(schema)),
				    NULL, e) < 0)
			return -1;
		if (query_int(st, pg_present, jv_array(), "present", &present,
			      e) < 0)
			return -1;
		/* Two first migrators of different schemas must not race. */
		if (!present && (sov_store_query(st, pg_lock,
						 JV_ARRAY(jv_string(
						     "sov_schema_migrations")),
						 NULL, e) < 0 ||
				 sov_store_exec(st, pg_table, e) < 0))
			return -1;
	}
	return query_int(st, read_version, JV_ARRAY(jv_string(schema)),
			 "version", v, e);
}

int
sov_store_migrate(struct sov_store *st, const char *schema,
		  const struct sov_migration *steps, size_t n,
		  struct sov_err *e)
{
	struct sov_err ignored;
	int rc = -1, in_tx = 0, v, step = 0;

	if (check_schema(st, schema, e) < 0 ||
	    check_steps(st, schema, steps, n, e) < 0)
		return -1;
	/* A read first: an up-to-date store takes no write lock. */
	v = sov_store_schema_version(st, schema, e);
	if (v < 0)
		goto fail;
	if ((size_t)v > n) {
		too_new(st, schema, v, n, e);
		goto out;
	}
	while ((size_t)v < n) {
		if (sov_store_begin(st, e) < 0)
			goto fail;
		in_tx = 1;
		if (locked_version(st, schema, &v, e) < 0)
			goto fail;
		if ((size_t)v > n) {
			too_new(st, schema, v, n, e);
			goto out;
		}
		if ((size_t)v == n)
			break; /* another migrator finished the job */
		step = steps[v].version;
		if (sov_store_exec(st,
				   st->kind == SOV_STORE_SQLITE
				       ? steps[v].sqlite
				       : steps[v].postgres,
				   e) < 0)
			goto fail;
		if (sov_store_query(
			st,
			st->kind == SOV_STORE_SQLITE ? sqlite_record
						     : pg_record,
			JV_ARRAY(jv_string(schema), jv_number(step)), NULL,
			e) < 0 ||
		    sov_store_commit(st, e) < 0)
			goto fail;
		in_tx = 0;
		v = step;
		step = 0;
	}
	rc = 0;
	goto out;
fail:
	if (step > 0)
		sov_err_prefix(
		    e, "migrate schema \"%s\" to version %d: ", schema, step);
	else
		sov_err_prefix(e, "migrate schema \"%s\": ", schema);
out:
	if (in_tx)
		sov_store_rollback(st, &ignored);
	return rc;
}
