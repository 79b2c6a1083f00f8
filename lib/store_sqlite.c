/*
 * store_sqlite.c - the SQLite engine of the store: WAL mode, a busy
 * timeout, "$N" parameters bound by name, rows as jv objects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store_impl.h"
#include "json_dump.h"
#include "strhash.h"
#include "timestamp.h"

static int
code_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return SOV_EXIT_TEMPFAIL;
	default:
		return SOV_EXIT_FAIL;
	}
}

/* The engine's message for rc, the statement it came from, and a hint. */
static int
fail(const struct sov_store *st, int rc, const char *msg, const char *sql,
     struct sov_err *e)
{
	char snip[SOV_STORE_SNIPPET_MAX];
	const char *hint = "";

	if (msg == NULL)
		msg = st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);
	if (code_of(rc) == SOV_EXIT_TEMPFAIL)
		hint = " (another connection holds the lock; retry)";
	if (sql == NULL || sql[strspn(sql, " \t\r\n")] == '\0')
		return sov_err_set(e, code_of(rc), "%s: %s%s", st->display, msg,
				   hint);
	sov_store_oneline(snip, sizeof(snip), sql);
	return sov_err_set(e, code_of(rc), "%s: %s%s (statement: %s)",
			   st->display, msg, hint, snip);
}

/*
 * Run a one-row PRAGMA and copy its text result. Switching a new file to
 * WAL takes an exclusive lock, and when several first openers race SQLite
 * answers BUSY at once, without calling its busy handler: so retry here
 * until the lock timeout.
 */
static int
pragma_text(struct sov_store *st, const char *sql, char *out, size_t size,
	    struct sov_err *e)
{
	int64_t deadline = sov_time_mono_ms() + st->lock_timeout_ms;
	sqlite3_stmt *stmt = NULL;
	const unsigned char *t;
	int r, rc = -1, pause = 1;

	for (;;) {
		r = sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL);
		if (r == SQLITE_OK)
			r = sqlite3_step(stmt);
		if ((r & 0xff) != SQLITE_BUSY || sov_time_mono_ms() >= deadline)
			break;
		sqlite3_finalize(stmt);
		stmt = NULL;
		sqlite3_sleep(pause);
		pause = pause < 64 ? pause * 2 : 64;
	}
	if (r != SQLITE_ROW) {
		fail(st, r, NULL, sql, e);
		goto out;
	}
	t = sqlite3_column_text(stmt, 0);
	if (snprintf(out, size, "%s", t ? (const char *)t : "") >= (int)size) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: %s: unexpected answer",
			    st->display, sql);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(stmt);
	return rc;
}

int
sov_store_sqlite_open(struct sov_store *st, const char *path, struct sov_err *e)
{
	char mode[32], *fixed = NULL;
	int r, rc = -1, memory = strcmp(path, ":memory:") == 0;
	size_t n;

	/* This SQLite may take "file:" names as URIs: keep them plain files. */
	if (strncmp(path, "file:", 5) == 0) {
		n = strlen(path) + 3;
		fixed = malloc(n);
		if (fixed == NULL ||
		    snprintf(fixed, n, "./%s", path) >= (int)n) {
			sov_err_set(e, SOV_EXIT_FAIL, "open %s: out of memory",
				    st->display);
			goto out;
		}
		path = fixed;
	}
	r = sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (r != SQLITE_OK) {
		int sys = st->db ? sqlite3_system_errno(st->db) : 0;
		sov_err_set(e, code_of(r), "open %s: %s%s%s", st->display,
			    st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(r),
			    sys ? ": " : "", sys ? strerror(sys) : "");
		goto out;
	}
	/* SQLite quietly opens a write-protected file read-only. */
	if (sqlite3_db_readonly(st->db, "main") == 1) {
		sov_err_set(e, SOV_EXIT_FAIL, "open %s: the file is read-only",
			    st->display);
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	/* The timeout first: switching to WAL may wait for other writers. */
	sqlite3_busy_timeout(st->db, st->lock_timeout_ms);
	if (pragma_text(st, "PRAGMA journal_mode = WAL", mode, sizeof(mode),
			e) < 0)
		goto prefixed;
	if (strcmp(mode, memory ? "memory" : "wal") != 0) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "open %s: cannot use WAL mode (journal_mode is "
			    "%s)",
			    st->display, mode);
		goto out;
	}
	if (sov_store_sqlite_exec(st,
				  "PRAGMA foreign_keys = ON; "
				  "PRAGMA synchronous = NORMAL",
				  e) < 0)
		goto prefixed;
	rc = 0;
	goto out;
prefixed:
	sov_err_prefix(e, "open: ");
out:
	free(fixed);
	return rc;
}

/*
 * Prepared statements are kept per connection, keyed by their text: the
 * tools run the same few statements over and over, and parsing and
 * planning the 10-row INSERT of sov-probe's measurements cost SQLite more
 * than twice as much as running it. At most
 * SQLITE_CACHED_MAX; the least recently used goes first. A cached statement
 * is reset after every run, so none holds a read snapshot or a lock
 * between runs.
 */
#define SQLITE_CACHED_MAX 32

struct sqlite_cached {
	uint64_t hash, used; /* used: st->sq_tick at the last run */
	char *sql;
	sqlite3_stmt *stmt;
};

static void
cache_drop(struct sqlite_cached *c)
{
	sqlite3_finalize(c->stmt);
	free(c->sql);
	memset(c, 0, sizeof(*c));
}

void
sov_store_sqlite_close(struct sov_store *st)
{
	for (size_t i = 0; st->sq_stmts && i < SQLITE_CACHED_MAX; i++)
		cache_drop(&st->sq_stmts[i]);
	free(st->sq_stmts);
	st->sq_stmts = NULL;
	/* Every statement is finalized, so close_v2 frees at once. */
	sqlite3_close_v2(st->db);
	st->db = NULL;
}

int
sov_store_sqlite_exec(struct sov_store *st, const char *sql, struct sov_err *e)
{
	char *msg = NULL;
	int r;

	r = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
	if (r != SQLITE_OK) {
		fail(st, r, msg, sql, e);
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Parse "$N" (N 1..max, no leading zero); 0 when it is anything else. */
static int
param_number(const char *name, int max)
{
	long n = 0;

	if (name == NULL || name[0] != '$' || name[1] < '1' || name[1] > '9')
		return 0;
	for (const char *p = name + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		n = n * 10 + (*p - '0');
		if (n > SOV_STORE_PARAMS_MAX)
			return 0;
	}
	return n <= max ? (int)n : -(int)n;
}

static int
bind_one(sqlite3_stmt *stmt, int idx, jv v)
{
	long long i;
	int r;

	switch (jv_get_kind(v)) {
	case JV_KIND_NULL:
		r = sqlite3_bind_null(stmt, idx);
		break;
	case JV_KIND_TRUE:
	case JV_KIND_FALSE:
		r = sqlite3_bind_int(stmt, idx, jv_get_kind(v) == JV_KIND_TRUE);
		break;
	case JV_KIND_NUMBER:
		if (sov_store_num_is_int(jv_number_value(v), &i))
			r = sqlite3_bind_int64(stmt, idx, i);
		else
			r = sqlite3_bind_double(stmt, idx, jv_number_value(v));
		break;
	case JV_KIND_STRING:
		r = sqlite3_bind_text(stmt, idx, jv_string_value(v),
				      jv_string_length_bytes(jv_copy(v)),
				      SQLITE_TRANSIENT);
		break;
	default: /* an object or array: its JSON text */
		v = sov_json_dump(v);
		r = sqlite3_bind_text(stmt, idx, jv_string_value(v),
				      jv_string_length_bytes(jv_copy(v)),
				      SQLITE_TRANSIENT);
		jv_free(v);
		return r;
	}
	jv_free(v);
	return r;
}

/* Bind params to the statement's $N, all of them and nothing else. */
static int
bind_all(struct sov_store *st, sqlite3_stmt *stmt, const char *sql, jv params,
	 struct sov_err *e)
{
	char snip[SOV_STORE_SNIPPET_MAX];
	int n = jv_array_length(jv_copy(params)), count, rc = -1;
	unsigned char *used = calloc((size_t)n + 1, 1);

	if (used == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: out of memory", st->display);
		goto out;
	}
	count = sqlite3_bind_parameter_count(stmt);
	for (int j = 1; j <= count; j++) {
		const char *name = sqlite3_bind_parameter_name(stmt, j);
		int k = param_number(name, n), r;

		if (k == 0) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: parameter %s: write $1, $2, ... "
				    "(statement: %s)",
				    st->display, name ? name : "?",
				    sov_store_oneline(snip, sizeof(snip), sql));
			goto out;
		}
		if (k < 0) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: the statement uses $%d but %d "
				    "parameters were given (statement: %s)",
				    st->display, -k, n,
				    sov_store_oneline(snip, sizeof(snip), sql));
			goto out;
		}
		used[k] = 1;
		r = bind_one(stmt, j, jv_array_get(jv_copy(params), k - 1));
		if (r != SQLITE_OK) {
			fail(st, r, NULL, sql, e);
			goto out;
		}
	}
	for (int k = 1; k <= n; k++) {
		if (!used[k]) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: %d parameters were given but the "
				    "statement does not use $%d (statement: "
				    "%s)",
				    st->display, n, k,
				    sov_store_oneline(snip, sizeof(snip), sql));
			goto out;
		}
	}
	rc = 0;
out:
	free(used);
	return rc;
}

/* A BLOB as PostgreSQL prints bytea: "\x" and lowercase hex. */
static jv
blob_hex(const unsigned char *p, int len)
{
	static const char hex[] = "0123456789abcdef";
	char *s = malloc((size_t)len * 2 + 3);
	jv out;

	if (s == NULL)
		return jv_invalid_with_msg(jv_string("out of memory"));
	s[0] = '\\';
	s[1] = 'x';
	for (int i = 0; i < len; i++) {
		s[2 + 2 * i] = hex[p[i] >> 4];
		s[3 + 2 * i] = hex[p[i] & 15];
	}
	out = jv_string_sized(s, len * 2 + 2);
	free(s);
	return out;
}

static jv
column_value(sqlite3_stmt *stmt, int i)
{
	const void *p;

	switch (sqlite3_column_type(stmt, i)) {
	case SQLITE_INTEGER:
		return jv_number((double)sqlite3_column_int64(stmt, i));
	case SQLITE_FLOAT:
		return jv_number(sqlite3_column_double(stmt, i));
	case SQLITE_TEXT:
		p = sqlite3_column_text(stmt, i);
		return jv_string_sized(p ? p : "",
				       p ? sqlite3_column_bytes(stmt, i) : 0);
	case SQLITE_BLOB:
		p = sqlite3_column_blob(stmt, i);
		return blob_hex(p, p ? sqlite3_column_bytes(stmt, i) : 0);
	default:
		return jv_null();
	}
}

static jv
row_object(sqlite3_stmt *stmt)
{
	jv row = jv_object();

	for (int i = 0; i < sqlite3_column_count(stmt); i++) {
		const char *name = sqlite3_column_name(stmt, i);
		jv v = column_value(stmt, i);

		if (name == NULL || !jv_is_valid(v)) {
			jv_free(v);
			jv_free(row);
			return jv_invalid();
		}
		row = jv_object_set(row, jv_string(name), v);
	}
	return row;
}

/* Prepare the one statement of sql; a second one is refused. */
static int
prepare_one(struct sov_store *st, const char *sql, sqlite3_stmt **stmt,
	    struct sov_err *e)
{
	sqlite3_stmt *more = NULL;
	const char *tail = NULL;
	int r;

	r = sqlite3_prepare_v2(st->db, sql, -1, stmt, &tail);
	if (r != SQLITE_OK)
		return fail(st, r, NULL, sql, e);
	if (*stmt == NULL)
		return fail(st, SQLITE_MISUSE, "empty statement", sql, e);
	/* Comments and blanks after the statement prepare to nothing. */
	r = sqlite3_prepare_v2(st->db, tail, -1, &more, NULL);
	sqlite3_finalize(more);
	if (r != SQLITE_OK || more != NULL)
		return fail(st, SQLITE_MISUSE,
			    "one statement per query; sov_store_exec runs "
			    "several",
			    sql, e);
	return 0;
}

/*
 * sql's statement, from the cache or prepared now (and cached, in an empty
 * slot or the least recently used one's). *cached: reset it after the run,
 * else finalize it. Out of memory only means it is not cached.
 */
static int
statement(struct sov_store *st, const char *sql, sqlite3_stmt **stmt,
	  int *cached, struct sov_err *e)
{
	uint64_t h = sov_str_hash(sql);
	struct sqlite_cached *victim = NULL;
	char *copy;

	*cached = 0;
	if (st->sq_stmts == NULL)
		st->sq_stmts = calloc(SQLITE_CACHED_MAX, sizeof(*st->sq_stmts));
	for (size_t i = 0; st->sq_stmts && i < SQLITE_CACHED_MAX; i++) {
		struct sqlite_cached *c = &st->sq_stmts[i];

		if (c->stmt && c->hash == h && strcmp(c->sql, sql) == 0) {
			c->used = ++st->sq_tick;
			*stmt = c->stmt;
			*cached = 1;
			return 0;
		}
		if (victim == NULL || c->used < victim->used)
			victim = c; /* an empty slot's used is 0 */
	}
	if (prepare_one(st, sql, stmt, e) < 0)
		return -1;
	if (victim == NULL || (copy = strdup(sql)) == NULL)
		return 0;
	cache_drop(victim);
	victim->hash = h;
	victim->used = ++st->sq_tick;
	victim->sql = copy;
	victim->stmt = *stmt;
	*cached = 1;
	return 0;
}

/* After a run, whatever its outcome: a cached statement reset (its read
 * snapshot and locks let go, its values unbound), any other finalized. */
static void
release(sqlite3_stmt *stmt, int cached)
{
	if (!cached) {
		sqlite3_finalize(stmt);
		return;
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

int
sov_store_sqlite_query(struct sov_store *st, const char *sql, jv params,
		       jv *rows, struct sov_err *e)
{
	sqlite3_stmt *stmt = NULL;
	jv out = jv_array();
	long nrows = 0;
	int r, rc = -1, dml, cached = 0;

	if (statement(st, sql, &stmt, &cached, e) < 0 ||
	    bind_all(st, stmt, sql, params, e) < 0)
		goto out;
	dml = !sqlite3_stmt_readonly(stmt) && sov_store_sql_is_dml(sql);
	while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
		jv row;

		if (++nrows > SOV_STORE_ROWS_MAX) {
			char msg[64];
			if (snprintf(msg, sizeof(msg),
				     "more than %d rows; add a LIMIT",
				     SOV_STORE_ROWS_MAX) >= (int)sizeof(msg))
				msg[0] = '\0';
			fail(st, SQLITE_TOOBIG, msg, sql, e);
			goto out;
		}
		if (rows == NULL)
			continue;
		row = row_object(stmt);
		if (!jv_is_valid(row)) {
			jv_free(row);
			fail(st, SQLITE_NOMEM, "out of memory", sql, e);
			goto out;
		}
		out = jv_array_append(out, row);
	}
	if (r != SQLITE_DONE) {
		fail(st, r, NULL, sql, e);
		goto out;
	}
	if (dml)
		st->changes = sqlite3_changes(st->db);
	if (rows != NULL) {
		*rows = out;
		out = jv_invalid();
	}
	rc = 0;
out:
	release(stmt, cached);
	jv_free(out);
	jv_free(params);
	return rc;
}

int
sov_store_sqlite_tx(struct sov_store *st, enum sov_store_tx op,
		    struct sov_err *e)
{
	int open = !sqlite3_get_autocommit(st->db);

	switch (op) {
	case SOV_STORE_TX_BEGIN:
		if (open)
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "%s: begin: a transaction is "
					   "already open",
					   st->display);
		return sov_store_sqlite_exec(st, "BEGIN IMMEDIATE", e);
	case SOV_STORE_TX_COMMIT:
		if (!open)
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "%s: commit: no transaction is open",
					   st->display);
		return sov_store_sqlite_exec(st, "COMMIT", e);
	default:
		if (!open)
			return 0;
		return sov_store_sqlite_exec(st, "ROLLBACK", e);
	}
}

int
sov_store_sqlite_lock_timeout(struct sov_store *st, int ms, struct sov_err *e)
{
	int r = sqlite3_busy_timeout(st->db, ms);

	if (r != SQLITE_OK)
		return fail(st, r, NULL, NULL, e);
	return 0;
}

int
sov_store_sqlite_cache(struct sov_store *st, int kib, struct sov_err *e)
{
	char sql[64];
	int r;

	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", kib);
	r = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	if (r != SQLITE_OK)
		return fail(st, r, NULL, NULL, e);
	return 0;
}
