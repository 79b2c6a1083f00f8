/*
 * store_pg.c - the PostgreSQL engine of the store, over libpq: text
 * parameters, rows typed by column OID, SQLSTATEs worth a retry mapped to
 * SOV_EXIT_TEMPFAIL, one reconnect when a connection was lost outside a
 * transaction, and statements with parameters prepared once per connection.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store_impl.h"
#include "json_dump.h"
#include "strhash.h"

/* Column type OIDs (pg_type.dat); libpq does not export them. */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_OID 26
#define OID_JSON 114
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700
#define OID_JSONB 3802

#define PG_MSG_MAX 600
#define PG_DETAIL_MAX 300

/* The library never prints: NOTICEs and WARNINGs are dropped. */
static void
drop_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/*
 * Retryable: connection exceptions (class 08, except a protocol violation,
 * which is a bug), serialization failure, deadlock, lock timeout, shutdown
 * and start-up, too many connections, and errors libpq raised itself.
 */
static int
code_of(PGconn *pg, const PGresult *res)
{
	static const char *const retry[] = {"40001", "40P01", "55P03", "57P01",
					    "57P02", "57P03", "53300"};
	const char *s;

	if (PQstatus(pg) == CONNECTION_BAD)
		return SOV_EXIT_TEMPFAIL;
	s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	/* No SQLSTATE: libpq's own error, not the server's. A server gone
	 * mid-statement ("server closed the connection unexpectedly") can
	 * come back with the connection not yet marked bad; it is worth a
	 * retry, as is a result libpq had no memory for. */
	if (s == NULL)
		return SOV_EXIT_TEMPFAIL;
	if (strncmp(s, "08", 2) == 0 && strcmp(s, "08P01") != 0)
		return SOV_EXIT_TEMPFAIL;
	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		if (strcmp(s, retry[i]) == 0)
			return SOV_EXIT_TEMPFAIL;
	return SOV_EXIT_FAIL;
}

static int
fail(struct sov_store *st, const PGresult *res, const char *sql,
     struct sov_err *e)
{
	char msg[PG_MSG_MAX], detail[PG_DETAIL_MAX],
	    snip[SOV_STORE_SNIPPET_MAX];
	const char *primary = NULL, *state = NULL, *det = NULL;
	int code = code_of(st->pg, res);

	if (res != NULL) {
		primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		det = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		if (primary == NULL && PQresultErrorMessage(res)[0] != '\0')
			primary = PQresultErrorMessage(res);
	}
	sov_store_oneline(msg, sizeof(msg),
			  primary ? primary : PQerrorMessage(st->pg));
	sov_store_oneline(detail, sizeof(detail), det ? det : "");
	sov_store_oneline(snip, sizeof(snip), sql ? sql : "");
	return sov_err_set(e, code, "%s: %s%s%s%s%s%s (statement: %s)",
			   st->display, msg, state ? " [SQLSTATE " : "",
			   state ? state : "", state ? "]" : "",
			   detail[0] ? ": " : "", detail, snip);
}

/* Leave COPY mode so that the connection stays usable. */
static void
end_copy(PGconn *pg, ExecStatusType s)
{
	PGresult *r;
	char *buf;

	if (s == PGRES_COPY_IN)
		PQputCopyEnd(pg, "COPY from the client is not supported");
	else
		while (PQgetCopyData(pg, &buf, 0) > 0)
			PQfreemem(buf);
	while ((r = PQgetResult(pg)) != NULL)
		PQclear(r);
}

static int
check(struct sov_store *st, PGresult *res, const char *sql, struct sov_err *e)
{
	char snip[SOV_STORE_SNIPPET_MAX];
	ExecStatusType s = PQresultStatus(res);

	switch (s) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:
		return 0;
	case PGRES_COPY_IN:
	case PGRES_COPY_OUT:
	case PGRES_COPY_BOTH:
		end_copy(st->pg, s);
		sov_store_oneline(snip, sizeof(snip), sql);
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "%s: COPY to or from the client is not "
				   "supported (statement: %s)",
				   st->display, snip);
	default:
		return fail(st, res, sql, e);
	}
}

/* Remember whether a transaction is open, for the reconnect rule. */
static void
track(struct sov_store *st)
{
	PGTransactionStatusType ts = PQtransactionStatus(st->pg);

	if (ts != PQTRANS_UNKNOWN)
		st->pg_tx = ts != PQTRANS_IDLE;
	if (!st->pg_tx) /* however it ended: the next one notifies anew */
		st->pg_notified[0] = '\0';
}

/*
 * Prepared statements: a statement run with parameters is parsed and
 * planned once per connection, not on every call (the worker's queue
 * statements spent as long in the planner as in the executor). The cache
 * is bounded; a statement past it runs unprepared. A reconnect starts a
 * session without them, so the cache is dropped with it.
 */
#define PG_PREPARED_MAX 256

struct pg_prepared {
	uint64_t hash;
	char *sql;
};

static void
forget_prepared(struct sov_store *st)
{
	for (size_t i = 0; i < st->pg_n_stmts; i++)
		free(st->pg_stmts[i].sql);
	free(st->pg_stmts);
	st->pg_stmts = NULL;
	st->pg_n_stmts = 0;
}

/*
 * The name of sql's prepared statement in name (preparing it first), or
 * name[0] = 0 when it runs unprepared. -1 when preparing failed: the
 * statement's own error (syntax, an aborted transaction), as running it
 * would have said.
 */
static int
prepared(struct sov_store *st, const char *sql, int n, char name[32],
	 struct sov_err *e)
{
	uint64_t h = sov_str_hash(sql);
	struct pg_prepared *slot;
	PGresult *res;
	size_t i;

	name[0] = 0;
	if (!st->pg_prepare)
		return 0;
	for (i = 0; i < st->pg_n_stmts; i++)
		if (st->pg_stmts[i].hash == h && !strcmp(st->pg_stmts[i].sql, sql))
			break;
	if (i < st->pg_n_stmts) {
		snprintf(name, 32, "sov_%zu", i);
		return 0;
	}
	if (st->pg_n_stmts == PG_PREPARED_MAX)
		return 0;
	if (st->pg_stmts == NULL) {
		st->pg_stmts = calloc(PG_PREPARED_MAX, sizeof(*st->pg_stmts));
		if (st->pg_stmts == NULL)
			return 0;
	}
	slot = &st->pg_stmts[st->pg_n_stmts];
	slot->sql = strdup(sql);
	if (slot->sql == NULL)
		return 0;
	snprintf(name, 32, "sov_%zu", st->pg_n_stmts);
	res = PQprepare(st->pg, name, sql, n, NULL);
	if (check(st, res, sql, e) < 0) {
		PQclear(res);
		track(st);
		free(slot->sql);
		slot->sql = NULL;
		name[0] = 0;
		return -1;
	}
	PQclear(res);
	slot->hash = h;
	st->pg_n_stmts++;
	return 0;
}

static int
run(struct sov_store *st, const char *sql, struct sov_err *e)
{
	PGresult *res = PQexec(st->pg, sql);
	int rc = check(st, res, sql, e);

	PQclear(res);
	track(st);
	return rc;
}

static int
setup(struct sov_store *st, struct sov_err *e)
{
	char sql[128 + SOV_STORE_CHANNEL_MAX];

	if (snprintf(sql, sizeof(sql),
		     "SET client_min_messages = warning; "
		     "SET lock_timeout = %d%s%s",
		     st->lock_timeout_ms, st->pg_listen[0] ? "; LISTEN " : "",
		     st->pg_listen) >= (int)sizeof(sql))
		return sov_err_set(e, SOV_EXIT_FAIL, "%s: setup too long",
				   st->display);
	st->pg_tx = 0;
	return run(st, sql, e);
}

/*
 * Before each operation: a connection lost outside a transaction is
 * opened again (the operation that saw the loss already failed with 75).
 * Inside one it is not: the caller must roll back and start over.
 */
static int
ready(struct sov_store *st, struct sov_err *e)
{
	char msg[PG_MSG_MAX];

	if (PQstatus(st->pg) == CONNECTION_OK)
		return 0;
	if (st->pg_tx)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL,
				   "%s: the connection was lost inside a "
				   "transaction; roll back, then retry",
				   st->display);
	PQreset(st->pg);
	forget_prepared(st);
	if (PQstatus(st->pg) != CONNECTION_OK) {
		sov_store_oneline(msg, sizeof(msg), PQerrorMessage(st->pg));
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "reconnect to %s: %s",
				   st->display, msg);
	}
	return setup(st, e);
}

int
sov_store_pg_open(struct sov_store *st, const char *conninfo, struct sov_err *e)
{
	/* Defaults first: what the URL itself says wins (expand_dbname). */
	const char *kw[] = {"connect_timeout", "fallback_application_name",
			    "client_encoding", "dbname", NULL};
	const char *val[5];
	char tmo[16], msg[PG_MSG_MAX];

	if (snprintf(tmo, sizeof(tmo), "%d", SOV_STORE_CONNECT_TIMEOUT_S) >=
	    (int)sizeof(tmo))
		return sov_err_set(e, SOV_EXIT_FAIL, "connect timeout");
	val[0] = tmo;
	val[1] = "sov";
	val[2] = "UTF8";
	val[3] = conninfo;
	val[4] = NULL;
	st->pg = PQconnectdbParams(kw, val, 1);
	if (st->pg == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "connect to %s: out of memory", st->display);
	PQsetNoticeProcessor(st->pg, drop_notice, NULL);
	/* A pooler in transaction mode (pgbouncer before 1.21) cannot keep
	 * a session's prepared statements. */
	st->pg_prepare = getenv("SOV_PG_NO_PREPARE") == NULL;
	if (PQstatus(st->pg) != CONNECTION_OK) {
		/* libpq's message names host and socket, never the password. */
		sov_store_oneline(msg, sizeof(msg), PQerrorMessage(st->pg));
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "connect to %s: %s",
				   st->display, msg);
	}
	if (setup(st, e) < 0)
		return sov_err_prefix(e, "connect: ");
	return 0;
}

void
sov_store_pg_close(struct sov_store *st)
{
	PQfinish(st->pg);
	st->pg = NULL;
	forget_prepared(st);
}

int
sov_store_pg_exec(struct sov_store *st, const char *sql, struct sov_err *e)
{
	if (ready(st, e) < 0)
		return -1;
	return run(st, sql, e);
}

/* A parameter as PostgreSQL text (malloc'ed); *out NULL for SQL NULL. */
static int
param_text(jv v, char **out)
{
	char buf[64];
	long long i;
	int n = 0;

	*out = NULL;
	switch (jv_get_kind(v)) {
	case JV_KIND_NULL:
		jv_free(v);
		return 0;
	case JV_KIND_TRUE:
	case JV_KIND_FALSE:
		*out =
		    strdup(jv_get_kind(v) == JV_KIND_TRUE ? "true" : "false");
		break;
	case JV_KIND_NUMBER:
		if (sov_store_num_is_int(jv_number_value(v), &i)) {
			n = snprintf(buf, sizeof(buf), "%lld", i);
		} else {
			/*
			 * The shortest text that reads back as the same
			 * double: 1.5e-07, not 1.4999999999999999e-07, so
			 * that a NUMERIC column stores what was meant.
			 */
			for (int prec = 15; prec <= 17; prec++) {
				n = snprintf(buf, sizeof(buf), "%.*g", prec,
					     jv_number_value(v));
				if (n < 0 || n >= (int)sizeof(buf) ||
				    strtod(buf, NULL) == jv_number_value(v))
					break;
			}
		}
		if (n < 0 || n >= (int)sizeof(buf))
			break;
		/* A decimal comma from a caller's setlocale() is no number. */
		for (char *p = buf; *p != '\0'; p++)
			if (*p == ',')
				*p = '.';
		*out = strdup(buf);
		break;
	case JV_KIND_STRING:
		*out = strdup(jv_string_value(v));
		break;
	default: /* an object or array: its JSON text */
		v = sov_json_dump(v);
		*out = strdup(jv_string_value(v));
		break;
	}
	jv_free(v);
	return *out ? 0 : -1;
}

/* Numbers through jq's parser: exact, and deaf to the C locale. */
static jv
number_or_string(const char *s, int len)
{
	char *end;
	double d;
	jv v;

	/* The server's text is NUL-terminated: strtod first, as jq's parser
	 * costs a parser's setup per value; it is the fallback (a caller's
	 * locale with a decimal comma stops strtod early). */
	d = strtod(s, &end);
	if (end == s + len && end != s && isfinite(d))
		return jv_number(d);
	v = jv_parse_sized(s, len);

	if (jv_get_kind(v) == JV_KIND_NUMBER && isfinite(jv_number_value(v)))
		return v;
	jv_free(v);
	return jv_string_sized(s, len); /* NaN, Infinity */
}

static jv
value_of(const PGresult *res, int r, int c)
{
	const char *s = PQgetvalue(res, r, c);
	int len = PQgetlength(res, r, c);
	jv v;

	if (PQgetisnull(res, r, c))
		return jv_null();
	switch (PQftype(res, c)) {
	case OID_BOOL:
		return jv_bool(s[0] == 't');
	case OID_INT8:
	case OID_INT2:
	case OID_INT4:
	case OID_OID:
	case OID_FLOAT4:
	case OID_FLOAT8:
	case OID_NUMERIC:
		return number_or_string(s, len);
	case OID_JSON:
	case OID_JSONB:
		v = jv_parse_sized(s, len);
		if (jv_is_valid(v))
			return v;
		jv_free(v);
		return jv_string_sized(s, len);
	default:
		return jv_string_sized(s, len);
	}
}

static jv
rows_of(const PGresult *res)
{
	jv out = jv_array();
	int nf = PQnfields(res);

	for (int r = 0; r < PQntuples(res); r++) {
		jv row = jv_object();
		for (int c = 0; c < nf; c++)
			row = jv_object_set(row, jv_string(PQfname(res, c)),
					    value_of(res, r, c));
		out = jv_array_append(out, row);
	}
	return out;
}

static int
is_dml_status(const char *cmd)
{
	static const char *const dml[] = {"INSERT ", "UPDATE ", "DELETE ",
					  "MERGE "};

	for (size_t i = 0; i < sizeof(dml) / sizeof(dml[0]); i++)
		if (strncmp(cmd, dml[i], strlen(dml[i])) == 0)
			return 1;
	return 0;
}

int
sov_store_pg_query(struct sov_store *st, const char *sql, jv params, jv *rows,
		   struct sov_err *e)
{
	int n = jv_array_length(jv_copy(params)), rc = -1;
	char **vals = calloc((size_t)n + 1, sizeof(*vals)),
	     snip[SOV_STORE_SNIPPET_MAX], name[32];
	PGresult *res = NULL;
	jv out = jv_invalid();

	if (vals == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: out of memory", st->display);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if (param_text(jv_array_get(jv_copy(params), i), &vals[i]) <
		    0) {
			sov_err_set(e, SOV_EXIT_FAIL, "%s: out of memory",
				    st->display);
			goto out;
		}
	}
	if (ready(st, e) < 0 || prepared(st, sql, n, name, e) < 0)
		goto out;
	if (name[0])
		res = PQexecPrepared(st->pg, name, n,
				     (const char *const *)vals, NULL, NULL, 0);
	else
		res = PQexecParams(st->pg, sql, n, NULL,
				   (const char *const *)vals, NULL, NULL, 0);
	if (check(st, res, sql, e) < 0)
		goto out;
	if (PQresultStatus(res) == PGRES_EMPTY_QUERY) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: empty statement",
			    st->display);
		goto out;
	}
	if (PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) > SOV_STORE_ROWS_MAX) {
		sov_store_oneline(snip, sizeof(snip), sql);
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: more than %d rows; add a LIMIT (statement: "
			    "%s)",
			    st->display, SOV_STORE_ROWS_MAX, snip);
		goto out;
	}
	if (is_dml_status(PQcmdStatus(res)))
		st->changes = strtol(PQcmdTuples(res), NULL, 10);
	if (rows != NULL)
		*rows = PQresultStatus(res) == PGRES_TUPLES_OK ? rows_of(res)
							       : jv_array();
	rc = 0;
out:
	if (res != NULL) {
		PQclear(res);
		track(st);
	}
	for (int i = 0; vals != NULL && i < n; i++)
		free(vals[i]);
	free(vals);
	jv_free(out);
	jv_free(params);
	return rc;
}

int
sov_store_pg_tx(struct sov_store *st, enum sov_store_tx op, struct sov_err *e)
{
	PGTransactionStatusType ts;
	PGresult *res;
	int rc;

	st->pg_notified[0] = '\0'; /* begin, commit, rollback: anew */
	if (op == SOV_STORE_TX_ROLLBACK && PQstatus(st->pg) != CONNECTION_OK) {
		/* The server dropped the transaction with the connection. */
		st->pg_tx = 0;
		return 0;
	}
	if (ready(st, e) < 0)
		return -1;
	ts = PQtransactionStatus(st->pg);
	switch (op) {
	case SOV_STORE_TX_BEGIN:
		if (ts != PQTRANS_IDLE)
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "%s: begin: a transaction is "
					   "already open",
					   st->display);
		return run(st, "BEGIN", e);
	case SOV_STORE_TX_COMMIT:
		if (ts == PQTRANS_IDLE)
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "%s: commit: no transaction is open",
					   st->display);
		if (ts == PQTRANS_INERROR) {
			struct sov_err ignored;
			run(st, "ROLLBACK", &ignored);
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "%s: commit: an earlier statement "
					   "failed, so the transaction was "
					   "rolled back",
					   st->display);
		}
		res = PQexec(st->pg, "COMMIT");
		rc = check(st, res, "COMMIT", e);
		if (rc == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0)
			rc = sov_err_set(e, SOV_EXIT_FAIL,
					 "%s: commit: the server rolled the "
					 "transaction back",
					 st->display);
		PQclear(res);
		track(st);
		return rc;
	default:
		if (ts == PQTRANS_IDLE)
			return 0;
		return run(st, "ROLLBACK", e);
	}
}

int
sov_store_pg_lock_timeout(struct sov_store *st, int ms, struct sov_err *e)
{
	char sql[64];

	if (snprintf(sql, sizeof(sql), "SET lock_timeout = %d", ms) >=
	    (int)sizeof(sql))
		return sov_err_set(e, SOV_EXIT_FAIL, "%s: lock timeout",
				   st->display);
	if (ready(st, e) < 0)
		return -1;
	return run(st, sql, e);
}
