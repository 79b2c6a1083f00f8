/*
 * store.c - the engine-neutral part of the store: open by URL (parsed in
 * store_url.c), checks every engine shares, dispatch to store_sqlite.c or
 * store_pg.c. Migrations are in store_migrate.c.
 */
#include "store.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

/* ---- small shared helpers ---------------------------------------------- */

const char *
sov_store_oneline(char *dst, size_t size, const char *src)
{
	size_t n = 0;
	int space = 0;

	if (size == 0)
		return "";
	for (; src != NULL && *src != '\0'; src++) {
		if (isspace((unsigned char)*src)) {
			space = n > 0;
			continue;
		}
		if (n + (space ? 2 : 1) >= size)
			goto cut;
		if (space)
			dst[n++] = ' ';
		space = 0;
		dst[n++] = *src;
	}
	dst[n] = '\0';
	return dst;
cut:
	if (size >= 4) {
		n = n + 4 > size ? size - 4 : n;
		memcpy(dst + n, "...", 4);
	} else {
		dst[0] = '\0';
	}
	return dst;
}

int
sov_store_num_is_int(double d, long long *out)
{
	if (!isfinite(d) || d != trunc(d))
		return 0;
	if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
		return 0;
	*out = (long long)d;
	return 1;
}

/* Skip whitespace and SQL comments. */
static const char *
skip_blank(const char *p)
{
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (p[0] == '-' && p[1] == '-') {
			p += strcspn(p, "\n");
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");
			if (end == NULL)
				return p + strlen(p);
			p = end + 2;
		} else {
			return p;
		}
	}
}

int
sov_store_sql_is_dml(const char *sql)
{
	static const char *const kw[] = {"insert",  "update", "delete",
					 "replace", "merge",  "with"};
	const char *p = skip_blank(sql);
	size_t n = 0;

	while (isalpha((unsigned char)p[n]))
		n++;
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (strlen(kw[i]) == n && strncasecmp(p, kw[i], n) == 0)
			return 1;
	return 0;
}

/* ---- the store --------------------------------------------------------- */

struct sov_store *
sov_store_open(const char *url, struct sov_err *e)
{
	struct sov_store_url u;
	struct sov_store *st = NULL;
	int rc;

	if (sov_store_url_parse(url, &u, e) < 0)
		return NULL;
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "open store %s: out of memory",
			    u.display);
		goto out;
	}
	st->kind = u.kind;
	st->display = u.display;
	u.display = NULL;
	st->lock_timeout_ms = SOV_STORE_BUSY_TIMEOUT_MS;
	if (st->kind == SOV_STORE_SQLITE)
		rc = sov_store_sqlite_open(st, u.path, e);
	else
		rc = sov_store_pg_open(st, u.conninfo, e);
	if (rc < 0) {
		sov_store_close(st);
		st = NULL;
	}
out:
	sov_store_url_clear(&u);
	return st;
}

void
sov_store_close(struct sov_store *st)
{
	if (st == NULL)
		return;
	if (st->kind == SOV_STORE_SQLITE)
		sov_store_sqlite_close(st);
	else
		sov_store_pg_close(st);
	free(st->display);
	free(st);
}

enum sov_store_kind
sov_store_kind(const struct sov_store *st)
{
	return st ? st->kind : (enum sov_store_kind)0;
}

const char *
sov_store_display(const struct sov_store *st)
{
	return st ? st->display : "(no store)";
}

long
sov_store_changes(const struct sov_store *st)
{
	return st ? st->changes : 0;
}

int
sov_store_exec(struct sov_store *st, const char *sql, struct sov_err *e)
{
	if (st == NULL || sql == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "store exec: no %s",
				   st ? "SQL" : "store");
	if (st->kind == SOV_STORE_SQLITE)
		return sov_store_sqlite_exec(st, sql, e);
	return sov_store_pg_exec(st, sql, e);
}

/* The checks both engines share: what can be bound, and how many. */
static int
check_params(const struct sov_store *st, const char *sql, jv params,
	     struct sov_err *e)
{
	char snip[SOV_STORE_SNIPPET_MAX];
	int n;

	/* the snippet only for an error: a statement is checked on every run */
	if (jv_get_kind(params) != JV_KIND_ARRAY)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "%s: parameters must be a JSON array, not "
				   "%s (statement: %s)",
				   st->display,
				   jv_kind_name(jv_get_kind(params)),
				   sov_store_oneline(snip, sizeof(snip), sql));
	n = jv_array_length(jv_copy(params));
	if (n > SOV_STORE_PARAMS_MAX)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "%s: %d parameters, more than %d "
				   "(statement: %s)",
				   st->display, n, SOV_STORE_PARAMS_MAX,
				   sov_store_oneline(snip, sizeof(snip), sql));
	for (int i = 0; i < n; i++) {
		jv v = jv_array_get(jv_copy(params), i);
		jv_kind k = jv_get_kind(v);
		int bad = 0;

		if (k == JV_KIND_NUMBER && !isfinite(jv_number_value(v)))
			bad = 1;
		if (k == JV_KIND_STRING &&
		    memchr(jv_string_value(v), '\0',
			   (size_t)jv_string_length_bytes(jv_copy(v))) != NULL)
			bad = 2;
		jv_free(v);
		if (bad)
			return sov_err_set(
			    e, SOV_EXIT_FAIL,
			    "%s: parameter $%d %s (statement: %s)", st->display,
			    i + 1,
			    bad == 1 ? "is not a finite number"
				     : "contains a NUL character",
			    sov_store_oneline(snip, sizeof(snip), sql));
	}
	return 0;
}

int
sov_store_query(struct sov_store *st, const char *sql, jv params, jv *rows,
		struct sov_err *e)
{
	if (rows != NULL)
		*rows = jv_invalid();
	if (st == NULL || sql == NULL) {
		jv_free(params);
		return sov_err_set(e, SOV_EXIT_FAIL, "store query: no %s",
				   st ? "SQL" : "store");
	}
	if (check_params(st, sql, params, e) < 0) {
		jv_free(params);
		return -1;
	}
	if (st->kind == SOV_STORE_SQLITE)
		return sov_store_sqlite_query(st, sql, params, rows, e);
	return sov_store_pg_query(st, sql, params, rows, e);
}

static int
store_tx(struct sov_store *st, enum sov_store_tx op, struct sov_err *e)
{
	if (st == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "store transaction: no store");
	if (st->kind == SOV_STORE_SQLITE)
		return sov_store_sqlite_tx(st, op, e);
	return sov_store_pg_tx(st, op, e);
}

int
sov_store_begin(struct sov_store *st, struct sov_err *e)
{
	return store_tx(st, SOV_STORE_TX_BEGIN, e);
}

int
sov_store_commit(struct sov_store *st, struct sov_err *e)
{
	return store_tx(st, SOV_STORE_TX_COMMIT, e);
}

int
sov_store_rollback(struct sov_store *st, struct sov_err *e)
{
	return store_tx(st, SOV_STORE_TX_ROLLBACK, e);
}

int
sov_store_set_cache(struct sov_store *st, int kib, struct sov_err *e)
{
	if (st == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "store cache: no store");
	if (kib < 64 || kib > 1048576)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "%s: cache of %d KiB is outside 64..1048576",
				   st->display, kib);
	if (st->kind == SOV_STORE_SQLITE)
		return sov_store_sqlite_cache(st, kib, e);
	return 0; /* PostgreSQL's cache is the server's */
}

/*
 * listen and notify: 1 when PostgreSQL is to do it, 0 on SQLite (nothing
 * to do), -1 for a channel that is not an identifier needing no quoting.
 */
static int
channel_call(const struct sov_store *st, const char *channel, const char *what,
	     struct sov_err *e)
{
	size_t n = channel ? strspn(channel, "abcdefghijklmnopqrstuvwxyz"
					     "0123456789_")
			   : 0;

	if (st == NULL || n == 0 || n > SOV_STORE_CHANNEL_MAX ||
	    channel[n] != '\0')
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "store %s: not a channel name", what);
	return st->kind == SOV_STORE_POSTGRES;
}

int
sov_store_listen(struct sov_store *st, const char *channel, struct sov_err *e)
{
	int r = channel_call(st, channel, "listen", e);

	return r > 0 ? sov_store_pg_listen(st, channel, e) : r;
}

int
sov_store_notify(struct sov_store *st, const char *channel, struct sov_err *e)
{
	int r = channel_call(st, channel, "notify", e);

	return r > 0 ? sov_store_pg_notify(st, channel, e) : r;
}

int
sov_store_wait(struct sov_store *st, int timeout_ms, struct sov_err *e)
{
	if (st == NULL || timeout_ms < 0)
		return sov_err_set(e, SOV_EXIT_FAIL, "store wait: bad call");
	if (st->kind == SOV_STORE_SQLITE)
		return 0;
	return sov_store_pg_wait(st, timeout_ms, e);
}

int
sov_store_set_lock_timeout(struct sov_store *st, int ms, struct sov_err *e)
{
	int rc;

	if (st == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "store lock timeout: no store");
	if (ms < 1 || ms > SOV_STORE_LOCK_TIMEOUT_MAX_MS)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "%s: lock timeout %d ms is outside "
				   "1..%d",
				   st->display, ms,
				   SOV_STORE_LOCK_TIMEOUT_MAX_MS);
	if (st->kind == SOV_STORE_SQLITE)
		rc = sov_store_sqlite_lock_timeout(st, ms, e);
	else
		rc = sov_store_pg_lock_timeout(st, ms, e);
	if (rc == 0)
		st->lock_timeout_ms = ms;
	return rc;
}
