/*
 * db.c - open sov-wf's store and keep its schema current. The SQL of both
 * engines is side by side so that a change to one is made to the other.
 */
#include "db.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "fs.h"

/*
 * Version 1. wf_steps is the queue: a row is claimable when its status is
 * 'ready' or 'undo_ready' and run_at has come, or when it is 'running' or
 * 'undoing' and its lease has run out. The partial indexes hold only those
 * rows, so a claim never scans finished work.
 */
static const char sqlite_v1[] =
    "CREATE TABLE wf_defs ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL,"
    " json TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE wf_executions ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " workflow TEXT NOT NULL, def_id TEXT NOT NULL REFERENCES wf_defs(id),"
    " status TEXT NOT NULL, run INTEGER NOT NULL DEFAULT 1,"
    " key TEXT UNIQUE, trigger TEXT NOT NULL, input TEXT NOT NULL,"
    " output TEXT, error TEXT, failed_step TEXT,"
    " steps_left INTEGER NOT NULL, seq INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL, started_at INTEGER NOT NULL,"
    " finished_at INTEGER, seconds REAL, tokens REAL, cost REAL);"
    "CREATE INDEX wf_executions_status ON wf_executions(status, id);"
    "CREATE INDEX wf_executions_workflow ON wf_executions(workflow, id);"
    "CREATE TABLE wf_steps ("
    " execution_id INTEGER NOT NULL REFERENCES wf_executions(id)"
    "  ON DELETE CASCADE,"
    " step TEXT NOT NULL, status TEXT NOT NULL,"
    " needs_left INTEGER NOT NULL, attempt INTEGER NOT NULL DEFAULT 0,"
    " run_at INTEGER NOT NULL, lease_owner TEXT, lease_until INTEGER,"
    " seq INTEGER, input TEXT, output TEXT, error TEXT,"
    " started_at INTEGER, finished_at INTEGER,"
    " PRIMARY KEY (execution_id, step));"
    "CREATE INDEX wf_steps_queue ON wf_steps(run_at)"
    " WHERE status IN ('ready', 'undo_ready');"
    "CREATE INDEX wf_steps_leases ON wf_steps(lease_until)"
    " WHERE status IN ('running', 'undoing');"
    "CREATE TABLE wf_attempts ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " execution_id INTEGER NOT NULL, run INTEGER NOT NULL,"
    " step TEXT NOT NULL, undo INTEGER NOT NULL, attempt INTEGER NOT NULL,"
    " worker TEXT, started_at INTEGER, finished_at INTEGER NOT NULL,"
    " outcome TEXT NOT NULL, error TEXT, exit_code INTEGER, seconds REAL);"
    "CREATE INDEX wf_attempts_execution ON wf_attempts(execution_id, id);"
    "CREATE TABLE wf_dlq ("
    " execution_id INTEGER PRIMARY KEY REFERENCES wf_executions(id)"
    "  ON DELETE CASCADE,"
    " workflow TEXT NOT NULL, step TEXT, error TEXT NOT NULL,"
    " state TEXT NOT NULL, retries INTEGER NOT NULL DEFAULT 0,"
    " entered_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    " next_retry_at INTEGER);"
    "CREATE INDEX wf_dlq_due ON wf_dlq(next_retry_at)"
    " WHERE state = 'waiting';";

static const char postgres_v1[] =
    "CREATE TABLE wf_defs ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, version BIGINT NOT NULL,"
    " json TEXT NOT NULL, created_at BIGINT NOT NULL);"
    "CREATE TABLE wf_executions ("
    " id BIGSERIAL PRIMARY KEY,"
    " workflow TEXT NOT NULL, def_id TEXT NOT NULL REFERENCES wf_defs(id),"
    " status TEXT NOT NULL, run INTEGER NOT NULL DEFAULT 1,"
    " key TEXT UNIQUE, trigger TEXT NOT NULL, input TEXT NOT NULL,"
    " output TEXT, error TEXT, failed_step TEXT,"
    " steps_left INTEGER NOT NULL, seq INTEGER NOT NULL DEFAULT 0,"
    " created_at BIGINT NOT NULL, started_at BIGINT NOT NULL,"
    " finished_at BIGINT, seconds DOUBLE PRECISION,"
    " tokens DOUBLE PRECISION, cost DOUBLE PRECISION);"
    "CREATE INDEX wf_executions_status ON wf_executions(status, id);"
    "CREATE INDEX wf_executions_workflow ON wf_executions(workflow, id);"
    "CREATE TABLE wf_steps ("
    " execution_id BIGINT NOT NULL REFERENCES wf_executions(id)"
    "  ON DELETE CASCADE,"
    " step TEXT NOT NULL, status TEXT NOT NULL,"
    " needs_left INTEGER NOT NULL, attempt INTEGER NOT NULL DEFAULT 0,"
    " run_at BIGINT NOT NULL, lease_owner TEXT, lease_until BIGINT,"
    " seq INTEGER, input TEXT, output TEXT, error TEXT,"
    " started_at BIGINT, finished_at BIGINT,"
    " PRIMARY KEY (execution_id, step));"
    "CREATE INDEX wf_steps_queue ON wf_steps(run_at)"
    " WHERE status IN ('ready', 'undo_ready');"
    "CREATE INDEX wf_steps_leases ON wf_steps(lease_until)"
    " WHERE status IN ('running', 'undoing');"
    "CREATE TABLE wf_attempts ("
    " id BIGSERIAL PRIMARY KEY,"
    " execution_id BIGINT NOT NULL, run INTEGER NOT NULL,"
    " step TEXT NOT NULL, undo INTEGER NOT NULL, attempt INTEGER NOT NULL,"
    " worker TEXT, started_at BIGINT, finished_at BIGINT NOT NULL,"
    " outcome TEXT NOT NULL, error TEXT, exit_code INTEGER,"
    " seconds DOUBLE PRECISION);"
    "CREATE INDEX wf_attempts_execution ON wf_attempts(execution_id, id);"
    "CREATE TABLE wf_dlq ("
    " execution_id BIGINT PRIMARY KEY REFERENCES wf_executions(id)"
    "  ON DELETE CASCADE,"
    " workflow TEXT NOT NULL, step TEXT, error TEXT NOT NULL,"
    " state TEXT NOT NULL, retries INTEGER NOT NULL DEFAULT 0,"
    " entered_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
    " next_retry_at BIGINT);"
    "CREATE INDEX wf_dlq_due ON wf_dlq(next_retry_at)"
    " WHERE state = 'waiting';";

/*
 * Version 2: a workflow's concurrency (slots.h). wf_slots counts the
 * executions holding a slot; the partial index finds the oldest queued
 * execution of a workflow without scanning its history. Same SQL on both.
 */
static const char v2[] =
    "CREATE TABLE wf_slots ("
    " workflow TEXT PRIMARY KEY, active INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX wf_executions_queued ON wf_executions(workflow, id)"
    " WHERE status = 'queued';";

/*
 * Version 3: fewer index entries per finished execution, the largest part
 * of what PostgreSQL does for it. The index of every execution by status
 * becomes one of those in flight only (what `status` reads; `history`
 * reads the ended ones newest first along the primary key), and on
 * PostgreSQL the idempotency key's unique index leaves out executions with
 * none. SQLite keeps its UNIQUE constraint: dropping it would rebuild the
 * table, and the enqueue's conflict clause fits both.
 */
#define V3_ACTIVE                                                              \
	"DROP INDEX wf_executions_status;"                                     \
	"CREATE INDEX wf_executions_active ON wf_executions(id)"               \
	" WHERE status IN ('queued', 'running', 'compensating',"               \
	" 'cancelling');"

static const char sqlite_v3[] = V3_ACTIVE;

static const char postgres_v3[] =
    V3_ACTIVE "ALTER TABLE wf_executions DROP CONSTRAINT wf_executions_key_key;"
	      "CREATE UNIQUE INDEX wf_executions_key ON wf_executions(key)"
	      " WHERE key IS NOT NULL;";

static const struct sov_migration migrations[] = {
    {1, sqlite_v1, postgres_v1},
    {2, v2, v2},
    {3, sqlite_v3, postgres_v3},
};

int
wf_db_migrate(struct sov_store *st, struct sov_err *e)
{
	return sov_store_migrate(st, WF_DB_SCHEMA, migrations,
				 sizeof(migrations) / sizeof(migrations[0]), e);
}

struct sov_store *
wf_db_open(const char *url, struct sov_err *e)
{
	char dir[PATH_MAX], dflt[PATH_MAX + 16];
	struct sov_store *st;
	int n;

	if (!url || !*url)
		url = getenv(WF_DB_ENV);
	if (!url || !*url) {
		if (sov_state_dir("sov-wf", dir, sizeof(dir), e) < 0)
			return NULL;
		n = snprintf(dflt, sizeof(dflt), "sqlite:%s/wf.db", dir);
		if (n < 0 || (size_t)n >= sizeof(dflt)) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "state directory path too long");
			return NULL;
		}
		url = dflt;
	}
	st = sov_store_open(url, e);
	if (!st)
		return NULL;
	if (wf_db_migrate(st, e) < 0) {
		sov_store_close(st);
		return NULL;
	}
	return st;
}
