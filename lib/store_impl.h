/*
 * store_impl.h - private to store.c, store_sqlite.c and store_pg.c: the
 * store object and the engine entry points store.c dispatches to. Not part
 * of libsov's API; tools include store.h only.
 */
#ifndef SOV_STORE_IMPL_H
#define SOV_STORE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "err.h"
#include "store.h"

/* How much of a statement an error message quotes. */
#define SOV_STORE_SNIPPET_MAX 120

enum sov_store_tx {
	SOV_STORE_TX_BEGIN,
	SOV_STORE_TX_COMMIT,
	SOV_STORE_TX_ROLLBACK
};

struct sov_store {
	enum sov_store_kind kind;
	char *display;       /* safe to print: no password */
	long changes;        /* see sov_store_changes */
	int lock_timeout_ms; /* kept so that a reconnect can set it again */
	struct sqlite3 *db;  /* SQLite */
	struct pg_conn *pg;  /* PostgreSQL */
	int pg_tx; /* PostgreSQL: a transaction was open at last look */
	struct pg_prepared *pg_stmts; /* PostgreSQL: this connection's */
	size_t pg_n_stmts;            /* prepared statements */
	int pg_prepare;               /* 0: SOV_PG_NO_PREPARE is set */
	char pg_listen[SOV_STORE_CHANNEL_MAX + 1]; /* PostgreSQL: LISTEN,
						    * again on reconnect */
	/* PostgreSQL: the channel already notified in the open transaction */
	char pg_notified[SOV_STORE_CHANNEL_MAX + 1];
	struct sqlite_cached *sq_stmts; /* SQLite: prepared statements */
	uint64_t sq_tick;               /* their last use is counted in */
};

/* Collapse whitespace runs to one space and cut with "..." to fit dst;
 * returns dst. */
const char *sov_store_oneline(char *dst, size_t size, const char *src);

/*
 * Is d an integer that fits an int64 (bound as one, printed without an
 * exponent)? Sets *out when it is.
 */
int sov_store_num_is_int(double d, long long *out);

/*
 * Is sql (after whitespace and comments) a statement whose first keyword is
 * one of INSERT, UPDATE, DELETE, REPLACE, MERGE or WITH? Used for
 * sov_store_changes on SQLite.
 */
int sov_store_sql_is_dml(const char *sql);

/* Engine entry points: st is valid, params is a jv array (consumed). */
int sov_store_sqlite_open(struct sov_store *st, const char *path,
			  struct sov_err *e);
void sov_store_sqlite_close(struct sov_store *st);
int sov_store_sqlite_exec(struct sov_store *st, const char *sql,
			  struct sov_err *e);
int sov_store_sqlite_query(struct sov_store *st, const char *sql, jv params,
			   jv *rows, struct sov_err *e);
int sov_store_sqlite_tx(struct sov_store *st, enum sov_store_tx op,
			struct sov_err *e);
int sov_store_sqlite_cache(struct sov_store *st, int kib, struct sov_err *e);
int sov_store_sqlite_lock_timeout(struct sov_store *st, int ms,
				  struct sov_err *e);

int sov_store_pg_open(struct sov_store *st, const char *conninfo,
		      struct sov_err *e);
void sov_store_pg_close(struct sov_store *st);
int sov_store_pg_exec(struct sov_store *st, const char *sql, struct sov_err *e);
int sov_store_pg_query(struct sov_store *st, const char *sql, jv params,
		       jv *rows, struct sov_err *e);
int sov_store_pg_tx(struct sov_store *st, enum sov_store_tx op,
		    struct sov_err *e);
int sov_store_pg_lock_timeout(struct sov_store *st, int ms, struct sov_err *e);
int sov_store_pg_listen(struct sov_store *st, const char *channel,
			struct sov_err *e);
int sov_store_pg_notify(struct sov_store *st, const char *channel,
			struct sov_err *e);
int sov_store_pg_wait(struct sov_store *st, int timeout_ms, struct sov_err *e);

#endif
