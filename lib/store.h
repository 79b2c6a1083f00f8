/*
 * store.h - one small API over SQLite and PostgreSQL.
 *
 * A store is named by URL:
 *   sqlite:PATH          a file (relative or absolute), WAL mode, busy timeout
 *   sqlite:///ABS/PATH   the same, absolute
 *   sqlite::memory:      a private in-memory database (tests)
 *   postgres://...  postgresql://...   handed to libpq as is
 *
 * SQL uses $1, $2, ... for parameters on both engines (SQLite binds "$N" by
 * name). Parameters are a jv array: numbers, strings, booleans, null; an
 * object or array is bound as its JSON text. Result rows come back as a jv
 * array of objects keyed by column name: integers and reals as numbers, text
 * as strings, NULL as null; on PostgreSQL bool is true/false and json/jsonb
 * columns are parsed into jv values. A SQLite BLOB and a PostgreSQL bytea
 * both read as the string "\x0102..". Numbers are doubles: integers beyond
 * 2^53 lose precision (cast them to text in SQL to keep them exact).
 *
 * Errors: a lost PostgreSQL connection, an unreachable server, SQLITE_BUSY /
 * SQLITE_LOCKED, and PostgreSQL serialization failures, deadlocks and lock
 * timeouts are SOV_EXIT_TEMPFAIL (75): worth retrying. Bad SQL is
 * SOV_EXIT_FAIL; a bad URL is SOV_EXIT_USAGE. Messages never contain a
 * password from the URL. After a PostgreSQL connection was lost, the next
 * call reconnects, unless a transaction was open: then every call fails
 * with 75 until sov_store_rollback. docs/store.md has the details.
 *
 * A store is used by one thread at a time.
 */
#ifndef SOV_STORE_H
#define SOV_STORE_H

#include <stddef.h>

#include <jv.h>

#include "err.h"

#define SOV_STORE_URL_MAX 4096
#define SOV_STORE_BUSY_TIMEOUT_MS 5000 /* default lock wait, both engines */
#define SOV_STORE_LOCK_TIMEOUT_MAX_MS 3600000 /* cap for _set_lock_timeout */
#define SOV_STORE_CONNECT_TIMEOUT_S 10 /* PostgreSQL, unless the URL says */
#define SOV_STORE_PARAMS_MAX 32766     /* bound parameters per statement */
#define SOV_STORE_ROWS_MAX 1000000     /* rows one query may return */
#define SOV_STORE_SCHEMA_MAX 64        /* length of a migration schema name */

enum sov_store_kind { SOV_STORE_SQLITE = 1, SOV_STORE_POSTGRES = 2 };

struct sov_store_url {
	enum sov_store_kind kind;
	char *path;     /* SQLite: file path or ":memory:"; else NULL */
	char *conninfo; /* PostgreSQL: the URL for libpq; else NULL */
	char *display;  /* the URL with any password replaced by "***" */
};

/* Parse and validate a store URL. Fills out (free with _clear). */
int sov_store_url_parse(const char *url, struct sov_store_url *out,
			struct sov_err *e);
void sov_store_url_clear(struct sov_store_url *u);

struct sov_store;

/* Open (and for SQLite create) the store. NULL on error. */
struct sov_store *sov_store_open(const char *url, struct sov_err *e);
void sov_store_close(struct sov_store *st); /* accepts NULL */

enum sov_store_kind sov_store_kind(const struct sov_store *st);
const char *sov_store_display(const struct sov_store *st); /* safe to print */

/* Run one or more statements with no parameters and no result. */
int sov_store_exec(struct sov_store *st, const char *sql, struct sov_err *e);

/*
 * Run one statement with bound parameters. params is consumed (pass
 * jv_array() for none); their count must match the $N the statement uses.
 * rows, when not NULL, receives an owned jv array of row objects (empty for
 * statements that return none; jv_invalid() on error). More than
 * SOV_STORE_ROWS_MAX rows is an error.
 */
int sov_store_query(struct sov_store *st, const char *sql, jv params, jv *rows,
		    struct sov_err *e);

/*
 * How long a statement waits for a lock another connection holds before it
 * fails with SOV_EXIT_TEMPFAIL: SQLite's busy timeout, PostgreSQL's
 * lock_timeout. 1..SOV_STORE_LOCK_TIMEOUT_MAX_MS; the default is
 * SOV_STORE_BUSY_TIMEOUT_MS.
 */
int sov_store_set_lock_timeout(struct sov_store *st, int ms, struct sov_err *e);

/*
 * The most page cache a SQLite store keeps, in KiB (64..1048576; SQLite's
 * default is 2000): a daemon that only appends needs little of it. Nothing
 * on PostgreSQL, whose cache is the server's.
 */
int sov_store_set_cache(struct sov_store *st, int kib, struct sov_err *e);

/*
 * Wake-ups between connections: PostgreSQL's LISTEN and NOTIFY, so that a
 * waiting worker starts at once instead of at its next poll.
 * - listen subscribes this connection to channel for good: a reconnect
 *   subscribes again (what was sent while it was away is lost: a waiter
 *   still looks again on its own now and then). One channel per
 *   connection: listening on a second is refused.
 * - notify, inside a transaction, wakes every connection listening on
 *   channel when the transaction commits (several in one transaction
 *   arrive as one).
 * - wait, outside a transaction, returns 1 as soon as a notification has
 *   arrived (also one that came in since the last wait, while this
 *   connection ran statements), 0 after timeout_ms (0: only look) without
 *   one, -1 with the connection lost (the next statement reconnects).
 * channel: 1..SOV_STORE_CHANNEL_MAX of a-z 0-9 _. On SQLite, which has no
 * such thing, listen and notify do nothing and wait returns 0 at once: the
 * caller polls, as it did.
 */
#define SOV_STORE_CHANNEL_MAX 63
int sov_store_listen(struct sov_store *st, const char *channel,
		     struct sov_err *e);
int sov_store_notify(struct sov_store *st, const char *channel,
		     struct sov_err *e);
int sov_store_wait(struct sov_store *st, int timeout_ms, struct sov_err *e);

/* Rows changed by the last sov_store_query that was an INSERT/UPDATE/DELETE. */
long sov_store_changes(const struct sov_store *st);

/*
 * Transactions. begin is BEGIN IMMEDIATE on SQLite (the write lock is taken
 * up front, so two writers never deadlock on upgrade) and BEGIN on
 * PostgreSQL; begin inside a transaction and commit outside one are errors.
 * rollback is safe to call when no transaction is open. On PostgreSQL an
 * error inside a transaction aborts it: commit then rolls back and fails;
 * on SQLite the transaction stays usable. Portable code rolls back after
 * any error.
 */
int sov_store_begin(struct sov_store *st, struct sov_err *e);
int sov_store_commit(struct sov_store *st, struct sov_err *e);
int sov_store_rollback(struct sov_store *st, struct sov_err *e);

/*
 * Versioned migrations, one schema per tool. steps[i].version must be
 * 1, 2, 3... in order; each step whose version is above the one recorded for
 * `schema` in the table sov_schema_migrations runs in its own transaction
 * together with the update of that record, so a crash leaves the schema at
 * the last whole step. Concurrent migrators are serialised (SQLite: the write
 * lock; PostgreSQL: an advisory transaction lock). A store whose recorded
 * version is newer than the newest step is refused (the tool is too old).
 * schema is 1..SOV_STORE_SCHEMA_MAX of A-Z a-z 0-9 _ . -; a step's SQL may
 * hold several statements but no BEGIN/COMMIT of its own.
 */
struct sov_migration {
	int version;
	const char *sqlite;   /* SQL for SQLite */
	const char *postgres; /* SQL for PostgreSQL */
};

int sov_store_migrate(struct sov_store *st, const char *schema,
		      const struct sov_migration *steps, size_t n,
		      struct sov_err *e);

/* The version recorded for schema (0 when none); -1 on error. */
int sov_store_schema_version(struct sov_store *st, const char *schema,
			     struct sov_err *e);

#endif
