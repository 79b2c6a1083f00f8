/*
 * cmd_query.c - what an operator asks the store: status (executions in
 * flight), history (those that ended), show (one execution: steps and
 * attempts), logs (its attempts in order), and cancel.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "jsonl.h"
#include "queue.h"
#include "saga.h"
#include "show.h"
#include "slots.h"
#include "timestamp.h"
#include "wf.h"
#include "worker.h"

#define WF_HISTORY_DEFAULT 50
#define WF_HISTORY_MAX 100000

struct qopts {
	const char *store;
	long limit;
	const char *workflow;
	long long id;
};

/* Parse --store, --limit and the positional argument (an id when want_id,
 * else an optional workflow name). */
static int
parse(int argc, char **argv, int want_id, struct qopts *q, struct sov_err *e)
{
	static const struct option lo[] = {
	    {"store", required_argument, NULL, 's'},
	    {"limit", required_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0}};
	int c;

	memset(q, 0, sizeof(*q));
	q->limit = WF_HISTORY_DEFAULT;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 's')
			q->store = optarg;
		else if (c == 'n') {
			if (sov_cli_parse_long("--limit", optarg, 1,
					       WF_HISTORY_MAX, &q->limit,
					       e) < 0)
				return -1;
		} else
			return sov_err_set(e, SOV_EXIT_USAGE, "bad option");
	}
	if (want_id) {
		if (optind + 1 != argc)
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "needs one EXECUTION id");
		return wf_show_parse_id(argv[optind], &q->id, e);
	}
	if (optind + 1 < argc)
		return sov_err_set(e, SOV_EXIT_USAGE, "too many arguments");
	q->workflow = optind < argc ? argv[optind] : NULL;
	return 0;
}

typedef int (*query_fn)(struct sov_store *st, struct sov_jsonl_writer *w,
			const struct qopts *q, struct sov_err *e);

static int
with_store(int argc, char **argv, int want_id, query_fn fn)
{
	struct qopts q;
	struct sov_err e = {0};
	struct sov_store *st = NULL;
	struct sov_jsonl_writer *w = NULL;
	int rc;

	if (parse(argc, argv, want_id, &q, &e) < 0)
		return e.code == SOV_EXIT_USAGE
			   ? sov_cli_usage_error("%s", e.msg)
			   : sov_cli_fail(&e);
	if (!(st = wf_db_open(q.store, &e)))
		return sov_cli_fail(&e);
	w = sov_jsonl_writer_new(stdout, "stdout", 0);
	if (!w) {
		sov_store_close(st);
		return sov_cli_fail(
		    &(struct sov_err){SOV_EXIT_TEMPFAIL, "out of memory"});
	}
	rc = fn(st, w, &q, &e);
	if (sov_jsonl_writer_close(w, rc < 0 ? NULL : &e) < 0)
		rc = -1;
	sov_store_close(st);
	return rc < 0 ? sov_cli_fail(&e) : rc;
}

static int
q_status(struct sov_store *st, struct sov_jsonl_writer *w,
	 const struct qopts *q, struct sov_err *e)
{
	if (q->workflow)
		return wf_show_rows(
		    st, w, "execution",
		    "SELECT " WF_SHOW_EXECUTION_COLS " FROM wf_executions "
		    "WHERE status IN ('queued', 'running', 'compensating', "
		    "'cancelling') AND workflow = $1 ORDER BY id LIMIT $2",
		    JV_ARRAY(jv_string(q->workflow),
			     jv_number((double)q->limit)),
		    e);
	return wf_show_rows(
	    st, w, "execution",
	    "SELECT " WF_SHOW_EXECUTION_COLS
	    " FROM wf_executions WHERE status IN ('queued', 'running', "
	    "'compensating', 'cancelling') ORDER BY id LIMIT $1",
	    JV_ARRAY(jv_number((double)q->limit)), e);
}

int
wf_cmd_status(int argc, char **argv)
{
	return with_store(argc, argv, 0, q_status);
}

static int
q_history(struct sov_store *st, struct sov_jsonl_writer *w,
	  const struct qopts *q, struct sov_err *e)
{
	/* Newest first, as an operator reads a history. */
	if (q->workflow)
		return wf_show_rows(
		    st, w, "execution",
		    "SELECT " WF_SHOW_EXECUTION_COLS " FROM wf_executions "
		    "WHERE status IN ('succeeded', 'failed', 'cancelled', "
		    "'discarded') AND workflow = $1 ORDER BY id DESC LIMIT $2",
		    JV_ARRAY(jv_string(q->workflow),
			     jv_number((double)q->limit)),
		    e);
	return wf_show_rows(
	    st, w, "execution",
	    "SELECT " WF_SHOW_EXECUTION_COLS " FROM wf_executions "
	    "WHERE status IN ('succeeded', 'failed', 'cancelled', "
	    "'discarded') ORDER BY id DESC LIMIT $1",
	    JV_ARRAY(jv_number((double)q->limit)), e);
}

int
wf_cmd_history(int argc, char **argv)
{
	return with_store(argc, argv, 0, q_history);
}

static int
exists(struct sov_store *st, long long id, struct sov_err *e)
{
	jv rows = jv_invalid();
	int n;

	if (sov_store_query(st, "SELECT id FROM wf_executions WHERE id = $1",
			    JV_ARRAY(jv_number((double)id)), &rows, e) < 0)
		return -1;
	n = jv_array_length(rows);
	if (n == 0)
		return sov_err_set(e, SOV_EXIT_USAGE, "no execution %lld", id);
	return 0;
}

#define ATTEMPT_COLS                                                           \
	"execution_id AS execution, run, step, undo, attempt, worker, "        \
	"started_at AS started, finished_at AS finished, outcome, error, "     \
	"exit_code, seconds"

static int
q_show(struct sov_store *st, struct sov_jsonl_writer *w, const struct qopts *q,
       struct sov_err *e)
{
	jv id = jv_number((double)q->id);

	if (exists(st, q->id, e) < 0) {
		jv_free(id);
		return -1;
	}
	if (wf_show_rows(st, w, "execution",
			 "SELECT " WF_SHOW_EXECUTION_COLS
			 " FROM wf_executions WHERE id = $1",
			 JV_ARRAY(jv_copy(id)), e) < 0 ||
	    wf_show_rows(st, w, "step",
			 "SELECT execution_id AS execution, step, status, "
			 "attempt, run_at, lease_owner, lease_until, input, "
			 "output, error, started_at AS started, "
			 "finished_at AS finished FROM wf_steps "
			 "WHERE execution_id = $1 ORDER BY seq, step",
			 JV_ARRAY(jv_copy(id)), e) < 0 ||
	    wf_show_rows(st, w, "attempt",
			 "SELECT " ATTEMPT_COLS " FROM wf_attempts "
			 "WHERE execution_id = $1 ORDER BY id",
			 JV_ARRAY(jv_copy(id)), e) < 0 ||
	    wf_show_rows(st, w, "dlq",
			 "SELECT execution_id AS execution, workflow, step, "
			 "error, state, retries, entered_at AS entered, "
			 "updated_at AS updated, next_retry_at AS next_retry "
			 "FROM wf_dlq WHERE execution_id = $1",
			 JV_ARRAY(jv_copy(id)), e) < 0) {
		jv_free(id);
		return -1;
	}
	jv_free(id);
	return 0;
}

int
wf_cmd_show(int argc, char **argv)
{
	return with_store(argc, argv, 1, q_show);
}

static int
q_logs(struct sov_store *st, struct sov_jsonl_writer *w, const struct qopts *q,
       struct sov_err *e)
{
	if (exists(st, q->id, e) < 0)
		return -1;
	return wf_show_rows(st, w, "attempt",
			    "SELECT " ATTEMPT_COLS " FROM wf_attempts "
			    "WHERE execution_id = $1 ORDER BY id",
			    JV_ARRAY(jv_number((double)q->id)), e);
}

int
wf_cmd_logs(int argc, char **argv)
{
	return with_store(argc, argv, 1, q_logs);
}

/* A queued execution has run nothing and holds no slot: it ends now. */
static int
cancel_queued(struct sov_store *st, long long id, struct sov_err *e)
{
	if (sov_store_query(
		st,
		"UPDATE wf_executions SET status = 'cancelled', "
		"error = 'cancelled by an operator', finished_at = $2, "
		"seconds = 0 WHERE id = $1 AND status = 'queued'",
		JV_ARRAY(jv_number((double)id),
			 jv_number((double)sov_time_now_ms())),
		NULL, e) < 0 ||
	    sov_store_query(st,
			    "UPDATE wf_steps SET status = 'cancelled' "
			    "WHERE execution_id = $1",
			    JV_ARRAY(jv_number((double)id)), NULL, e) < 0)
		return -1;
	/* A rerun from the DLQ waiting for a slot: out of the DLQ, as any
	 * cancelled execution. */
	return sov_store_query(st, "DELETE FROM wf_dlq WHERE execution_id = $1",
			       JV_ARRAY(jv_number((double)id)), NULL, e);
}

static int
q_cancel(struct sov_store *st, struct sov_jsonl_writer *w,
	 const struct qopts *q, struct sov_err *e)
{
	struct wf_cache *cache = wf_cache_new(e);
	struct wf_worker_opts o;
	const struct wf_def *d;
	char status[16], def_id[WF_DEF_ID_LEN + 1], end[16];
	int ended = 0, rc = -1;
	jv rec;

	if (!cache)
		return -1;
	wf_worker_opts_default(&o);
	if (sov_store_begin(st, e) < 0 ||
	    wf_lock_execution(st, q->id, status, def_id, e) < 0)
		goto out;
	if (!strcmp(status, "queued")) {
		if (cancel_queued(st, q->id, e) < 0 ||
		    sov_store_commit(st, e) < 0)
			goto out;
		ended = 1;
		snprintf(end, sizeof(end), "cancelled");
	} else if (strcmp(status, "running") != 0) {
		sov_err_set(
		    e, SOV_EXIT_USAGE, "execution %lld is %s, not running%s",
		    q->id, status,
		    !strcmp(status, "failed")
			? " (sov-wf dlq discard takes it out of the DLQ)"
			: "");
		goto out;
	} else if (!(d = wf_cache_get(cache, st, def_id, e)) ||
		   wf_saga_begin(st, q->id, "cancelling", NULL,
				 "cancelled by an operator", e) < 0 ||
		   wf_saga_advance(st, d, q->id, &o.pol, &ended, end, e) < 0 ||
		   (ended && d->concurrency > 0 &&
		    wf_slots_release(st, d->name, d->concurrency, 1,
				     sov_time_now_ms(), e) < 0) ||
		   sov_store_commit(st, e) < 0) {
		goto out;
	}
	rec = sov_record_new("cancel");
	rec = jv_object_set(rec, jv_string("execution"),
			    jv_number((double)q->id));
	rec = jv_object_set(rec, jv_string("status"),
			    jv_string(ended ? end : "cancelling"));
	rc = sov_jsonl_write(w, rec, e);
out:
	if (rc < 0)
		sov_store_rollback(st, NULL);
	wf_cache_free(cache);
	return rc;
}

int
wf_cmd_cancel(int argc, char **argv)
{
	return with_store(argc, argv, 1, q_cancel);
}
