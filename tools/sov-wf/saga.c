/*
 * saga.c - compensation, the end of a failed or cancelled execution, and
 * the dead-letter queue's schedule and reruns (saga.h).
 */
#include "saga.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "row.h"
#include "timestamp.h"

#define WF_DLQ_ERROR_MAX 8192 /* bytes of a DLQ entry's error */

int
wf_saga_begin(struct sov_store *st, long long id, const char *status,
	      const char *step, const char *error, struct sov_err *e)
{
	if (sov_store_query(st,
			    "UPDATE wf_executions SET status = $2, error = $3, "
			    "failed_step = $4 WHERE id = $1",
			    JV_ARRAY(jv_number((double)id), jv_string(status),
				     jv_string(error),
				     step ? jv_string(step) : jv_null()),
			    NULL, e) < 0)
		return -1;
	return sov_store_query(st,
			       "UPDATE wf_steps SET status = 'cancelled' "
			       "WHERE execution_id = $1 "
			       "AND status IN ('waiting', 'ready', 'held')",
			       JV_ARRAY(jv_number((double)id)), NULL, e);
}

int64_t
wf_dlq_delay(const struct wf_policy *pol, int retries)
{
	int64_t d = pol->dlq_base_ms;

	for (int i = 0; i < retries && d < pol->dlq_max_ms; i++)
		d *= 2;
	return d < pol->dlq_max_ms ? d : pol->dlq_max_ms;
}

/* The DLQ entry of an execution that just failed: new, or back to
 * waiting with the next retry further out. */
static int
dead_letter(struct sov_store *st, long long id, const char *workflow,
	    const char *step, const char *error, const struct wf_policy *pol,
	    int64_t now, struct sov_err *e)
{
	jv rows = jv_invalid(), next;
	int retries = 0, rc = -1;

	if (sov_store_query(
		st, "SELECT retries FROM wf_dlq WHERE execution_id = $1",
		JV_ARRAY(jv_number((double)id)), &rows, e) < 0)
		goto out;
	if (jv_array_length(jv_copy(rows)) > 0)
		retries = (int)wf_row_first_num(rows, "retries", 0);
	if (pol->dlq_retries >= 0 && retries >= pol->dlq_retries)
		next = jv_null(); /* an operator decides */
	else
		next = jv_number((double)(now + wf_dlq_delay(pol, retries)));
	if (jv_array_length(jv_copy(rows)) == 0)
		rc = sov_store_query(
		    st,
		    "INSERT INTO wf_dlq (execution_id, workflow, step, error, "
		    "state, retries, entered_at, updated_at, next_retry_at) "
		    "VALUES ($1, $2, $3, $4, 'waiting', 0, $5, $5, $6)",
		    JV_ARRAY(jv_number((double)id), jv_string(workflow),
			     step ? jv_string(step) : jv_null(),
			     jv_string(error), jv_number((double)now), next),
		    NULL, e);
	else
		rc = sov_store_query(
		    st,
		    "UPDATE wf_dlq SET step = $2, error = $3, "
		    "state = 'waiting', updated_at = $4, next_retry_at = $5 "
		    "WHERE execution_id = $1",
		    JV_ARRAY(jv_number((double)id),
			     step ? jv_string(step) : jv_null(),
			     jv_string(error), jv_number((double)now), next),
		    NULL, e);
out:
	jv_free(rows);
	return rc;
}

/* End the execution: failed (into the DLQ) or cancelled. */
static int
finish(struct sov_store *st, const struct wf_def *d, long long id, jv steps,
       const struct wf_policy *pol, char status[16], struct sov_err *e)
{
	jv rows = jv_invalid(), row;
	int64_t now = sov_time_now_ms();
	char error[WF_DLQ_ERROR_MAX];
	size_t len;
	int cancelled, rc = -1;

	if (sov_store_query(st,
			    "SELECT status, error, failed_step, started_at "
			    "FROM wf_executions WHERE id = $1",
			    JV_ARRAY(jv_number((double)id)), &rows, e) < 0)
		goto out;
	if (jv_array_length(jv_copy(rows)) != 1) {
		sov_err_set(e, SOV_EXIT_FAIL, "execution %lld is gone", id);
		goto out;
	}
	row = jv_array_get(jv_copy(rows), 0);
	cancelled = wf_row_is(row, "status", "cancelling");
	wf_row_text(row, "error", error, sizeof(error));
	if (!error[0])
		snprintf(error, sizeof(error), "failed");
	/* An undo that failed needs a person: say so where they look. */
	len = strlen(error);
	jv_array_foreach(steps, i, s)
	{
		if (wf_row_is(s, "status", "undo_failed")) {
			jv name = jv_object_get(jv_copy(s), jv_string("step"));
			int k = snprintf(error + len, sizeof(error) - len,
					 "; undo of %s failed",
					 jv_string_value(name));

			if (k > 0 && (size_t)k < sizeof(error) - len)
				len += (size_t)k;
			jv_free(name);
		}
		jv_free(s);
		(void)i;
	}
	snprintf(status, 16, "%s", cancelled ? "cancelled" : "failed");
	if (sov_store_query(
		st,
		"UPDATE wf_executions SET status = $2, error = $3, "
		"finished_at = $4, seconds = ($4 - started_at) / 1000.0 "
		"WHERE id = $1",
		JV_ARRAY(jv_number((double)id), jv_string(status),
			 jv_string(error), jv_number((double)now)),
		NULL, e) < 0) {
		jv_free(row);
		goto out;
	}
	if (cancelled) {
		rc = sov_store_query(
		    st, "DELETE FROM wf_dlq WHERE execution_id = $1",
		    JV_ARRAY(jv_number((double)id)), NULL, e);
	} else {
		jv step = jv_object_get(jv_copy(row), jv_string("failed_step"));

		rc = dead_letter(st, id, d->name,
				 jv_get_kind(step) == JV_KIND_STRING
				     ? jv_string_value(step)
				     : NULL,
				 error, pol, now, e);
		jv_free(step);
	}
	jv_free(row);
out:
	jv_free(rows);
	return rc;
}

int
wf_saga_advance(struct sov_store *st, const struct wf_def *d, long long id,
		const struct wf_policy *pol, int *ended, char status[16],
		struct sov_err *e)
{
	jv rows = jv_invalid();
	size_t pos[WF_STEPS_MAX];
	long pick = -1;
	double pick_seq = -1;
	int busy = 0, rc = -1;

	*ended = 0;
	status[0] = 0;
	for (size_t i = 0; i < d->n_steps; i++)
		pos[d->order[i]] = i;
	if (sov_store_query(st,
			    "SELECT step, status, seq FROM wf_steps "
			    "WHERE execution_id = $1",
			    JV_ARRAY(jv_number((double)id)), &rows, e) < 0)
		goto out;
	jv_array_foreach(rows, i, row)
	{
		jv name = jv_object_get(jv_copy(row), jv_string("step"));
		long k = jv_get_kind(name) == JV_KIND_STRING
			     ? wf_def_find(d, jv_string_value(name))
			     : -1;
		double seq = wf_row_num(row, "seq", -1);

		if (wf_row_is(row, "status", "running") ||
		    wf_row_is(row, "status", "undo_ready") ||
		    wf_row_is(row, "status", "undoing"))
			busy = 1;
		/* Latest completed first; among steps completed in one
		 * transaction, the later in the graph's order first. */
		if (k >= 0 && d->steps[k].undo &&
		    wf_row_is(row, "status", "done") &&
		    (pick < 0 || seq > pick_seq ||
		     (seq == pick_seq && pos[k] > pos[pick]))) {
			pick = k;
			pick_seq = seq;
		}
		jv_free(name);
		jv_free(row);
		(void)i;
	}
	if (busy) {
		rc = 0;
	} else if (pick >= 0) {
		rc = sov_store_query(
		    st,
		    "UPDATE wf_steps SET status = 'undo_ready', attempt = 0, "
		    "run_at = $3, lease_owner = NULL, lease_until = NULL "
		    "WHERE execution_id = $1 AND step = $2",
		    JV_ARRAY(jv_number((double)id),
			     jv_string(d->steps[pick].name),
			     jv_number((double)sov_time_now_ms())),
		    NULL, e);
		if (rc == 0)
			rc = wf_queue_wake(st, e);
	} else {
		rc = finish(st, d, id, jv_copy(rows), pol, status, e);
		*ended = rc == 0;
	}
out:
	jv_free(rows);
	return rc;
}

int
wf_saga_rerun(struct sov_store *st, const struct wf_def *d, long long id,
	      struct sov_err *e)
{
	int64_t now = sov_time_now_ms();

	if (sov_store_query(
		st,
		"UPDATE wf_executions SET status = $4, run = run + 1, "
		"output = NULL, error = NULL, failed_step = NULL, "
		"steps_left = $2, seq = 0, started_at = $3, "
		"finished_at = NULL, seconds = NULL, tokens = NULL, "
		"cost = NULL WHERE id = $1 AND status = 'failed'",
		JV_ARRAY(jv_number((double)id), jv_number((double)d->n_steps),
			 jv_number((double)now),
			 jv_string(d->concurrency > 0 ? "queued" : "running")),
		NULL, e) < 0)
		return -1;
	if (sov_store_changes(st) != 1)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "execution %lld has not failed", id);
	if (sov_store_query(st, "DELETE FROM wf_steps WHERE execution_id = $1",
			    JV_ARRAY(jv_number((double)id)), NULL, e) < 0 ||
	    wf_queue_start(st, d, id, now, e) < 0)
		return -1;
	return sov_store_query(
	    st,
	    "UPDATE wf_dlq SET state = 'retrying', "
	    "retries = retries + 1, updated_at = $2, "
	    "next_retry_at = NULL WHERE execution_id = $1",
	    JV_ARRAY(jv_number((double)id), jv_number((double)now)), NULL, e);
}
