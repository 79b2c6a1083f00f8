/*
 * cmd_dlq.c - `sov-wf dlq list|show|retry|discard`: the one dead-letter
 * queue. Every execution that failed for good is in it, after its saga,
 * until it succeeds on a retry or an operator discards it.
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
#include "wf.h"

#define DLQ_COLS                                                               \
	"q.execution_id AS execution, q.workflow, q.step, q.error, q.state, "  \
	"q.retries, q.entered_at AS entered, q.updated_at AS updated, "        \
	"q.next_retry_at AS next_retry, x.input"

static int
dlq_act(struct sov_store *st, long long id, const char *what, jv *rec,
	struct sov_err *e)
{
	struct wf_cache *cache = wf_cache_new(e);
	const struct wf_def *d;
	char status[16], def_id[WF_DEF_ID_LEN + 1];
	jv rows = jv_invalid();
	int rc = -1;

	if (!cache)
		return -1;
	if (sov_store_begin(st, e) < 0 ||
	    wf_lock_execution(st, id, status, def_id, e) < 0 ||
	    sov_store_query(st,
			    "SELECT state FROM wf_dlq WHERE execution_id = $1",
			    JV_ARRAY(jv_number((double)id)), &rows, e) < 0)
		goto out;
	if (jv_array_length(jv_copy(rows)) != 1 || strcmp(status, "failed")) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "execution %lld is not in the dead-letter queue "
			    "(it is %s)",
			    id, status);
		goto out;
	}
	if (!strcmp(what, "retry")) {
		if (!(d = wf_cache_get(cache, st, def_id, e)) ||
		    wf_saga_rerun(st, d, id, e) < 0)
			goto out;
	} else if (sov_store_query(st,
				   "UPDATE wf_executions SET status = "
				   "'discarded' WHERE id = $1",
				   JV_ARRAY(jv_number((double)id)), NULL,
				   e) < 0 ||
		   sov_store_query(
		       st, "DELETE FROM wf_dlq WHERE execution_id = $1",
		       JV_ARRAY(jv_number((double)id)), NULL, e) < 0) {
		goto out;
	}
	if (sov_store_commit(st, e) < 0)
		goto out;
	*rec = sov_record_new(!strcmp(what, "retry") ? "dlq_retry"
						     : "dlq_discard");
	*rec =
	    jv_object_set(*rec, jv_string("execution"), jv_number((double)id));
	rc = 0;
out:
	if (rc < 0)
		sov_store_rollback(st, NULL);
	jv_free(rows);
	wf_cache_free(cache);
	return rc;
}

int
wf_cmd_dlq(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"store", required_argument, NULL, 's'},
	    {"limit", required_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0}};
	const char *store = NULL, *sub;
	struct sov_store *st = NULL;
	struct sov_jsonl_writer *w = NULL;
	struct sov_err e = {0};
	long limit = 1000;
	long long id = 0;
	int c, rc = -1;
	jv rec;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 's')
			store = optarg;
		else if (c == 'n') {
			if (sov_cli_parse_long("--limit", optarg, 1, 1000000,
					       &limit, &e) < 0)
				return sov_cli_fail(&e);
		} else
			return sov_cli_usage_error("bad option");
	}
	if (optind >= argc)
		return sov_cli_usage_error("dlq needs list, show, retry or "
					   "discard");
	sub = argv[optind++];
	if (strcmp(sub, "list") == 0) {
		if (optind != argc)
			return sov_cli_usage_error("dlq list takes no "
						   "arguments");
	} else if (!strcmp(sub, "show") || !strcmp(sub, "retry") ||
		   !strcmp(sub, "discard")) {
		if (optind + 1 != argc)
			return sov_cli_usage_error("dlq %s needs one "
						   "EXECUTION id",
						   sub);
		if (wf_show_parse_id(argv[optind], &id, &e) < 0)
			return sov_cli_fail(&e);
	} else {
		return sov_cli_usage_error("dlq: unknown \"%s\" (list, show, "
					   "retry, discard)",
					   sub);
	}
	if (!(st = wf_db_open(store, &e)))
		return sov_cli_fail(&e);
	if (!(w = sov_jsonl_writer_new(stdout, "stdout", 0))) {
		sov_err_set(&e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	if (!strcmp(sub, "list")) {
		rc = wf_show_rows(st, w, "dlq",
				  "SELECT " DLQ_COLS " FROM wf_dlq q JOIN "
				  "wf_executions x ON x.id = q.execution_id "
				  "ORDER BY q.entered_at, q.execution_id "
				  "LIMIT $1",
				  JV_ARRAY(jv_number((double)limit)), &e);
	} else if (!strcmp(sub, "show")) {
		jv rows = jv_invalid();

		rc =
		    sov_store_query(st,
				    "SELECT " DLQ_COLS " FROM wf_dlq q JOIN "
				    "wf_executions x ON x.id = q.execution_id "
				    "WHERE q.execution_id = $1",
				    JV_ARRAY(jv_number((double)id)), &rows, &e);
		if (rc == 0 && jv_array_length(jv_copy(rows)) != 1)
			rc = sov_err_set(&e, SOV_EXIT_USAGE,
					 "execution %lld is not in the "
					 "dead-letter queue",
					 id);
		if (rc == 0)
			rc = sov_jsonl_write(
			    w,
			    wf_show_record("dlq",
					   jv_array_get(jv_copy(rows), 0)),
			    &e);
		jv_free(rows);
		if (rc == 0)
			rc = wf_show_rows(
			    st, w, "attempt",
			    "SELECT execution_id AS execution, run, step, "
			    "undo, attempt, worker, started_at AS started, "
			    "finished_at AS finished, outcome, error, "
			    "exit_code, seconds FROM wf_attempts WHERE "
			    "execution_id = $1 AND outcome <> 'ok' ORDER BY id",
			    JV_ARRAY(jv_number((double)id)), &e);
	} else {
		rc = dlq_act(st, id, sub, &rec, &e);
		if (rc == 0)
			rc = sov_jsonl_write(w, rec, &e);
	}
	if (sov_jsonl_writer_close(w, rc < 0 ? NULL : &e) < 0)
		rc = -1;
	w = NULL;
out:
	sov_jsonl_writer_close(w, NULL);
	sov_store_close(st);
	return rc < 0 ? sov_cli_fail(&e) : SOV_EXIT_OK;
}
