/*
 * complete.c - record the results of attempts (queue.h's
 * wf_queue_complete): exactly once, under the lease that ran them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulk.h"
#include "json_dump.h"
#include "complete.h"
#include "queue.h"
#include "jqwatch.h"
#include "row.h"
#include "slots.h"
#include "saga.h"
#include "timestamp.h"

#define SQL_MAX 8192
#define WF_MEASURE_TIMEOUT_MS 1000 /* a measure program, in a transaction */

void
wf_done_clear(struct wf_done *d)
{
	jv_free(d->input);
	jv_free(d->output);
	free(d->error);
	d->input = jv_null();
	d->output = jv_null();
	d->error = NULL;
}

static int
by_execution(const void *a, const void *b)
{
	const struct wf_done *x = a, *y = b;

	if (x->claim->execution != y->claim->execution)
		return x->claim->execution < y->claim->execution ? -1 : 1;
	return 0;
}

/* A measure program's number on ctx, NAN when none or not a number. It
 * runs inside the batch's transaction: one that loops is halted after
 * WF_MEASURE_TIMEOUT_MS (lib/jqwatch.h) and measures nothing. */
static double
measure(const struct sov_jq_prog *p, jv ctx)
{
	jv out;
	double v = NAN;
	struct sov_err e = {0};
	int64_t old;
	int rc;

	if (!p->q) {
		jv_free(ctx);
		return NAN;
	}
	old = sov_jq_deadline(sov_time_mono_ms() + WF_MEASURE_TIMEOUT_MS);
	rc = sov_jq_first(p->q, ctx, &out, &e);
	sov_jq_deadline(old);
	if (rc < 0)
		return NAN;
	if (jv_get_kind(out) == JV_KIND_NUMBER &&
	    isfinite(jv_number_value(out)))
		v = jv_number_value(out);
	jv_free(out);
	return v;
}

static jv
num_or_null(double v)
{
	return isnan(v) ? jv_null() : jv_number(v);
}

jv
wf_complete_output(struct wf_done *dn, jv outs, int64_t started_at,
		   int64_t now)
{
	const struct wf_def *d = dn->def;
	jv output = jv_object(), ctx;
	size_t sinks = 0;
	long last = -1;

	/* The output: the one step no other needs, or all such by name. */
	for (size_t i = 0; i < d->n_steps; i++) {
		int needed = 0;

		for (size_t j = 0; j < d->n_steps && !needed; j++)
			for (size_t k = 0; k < d->steps[j].n_needs; k++)
				if (d->steps[j].needs[k] == i)
					needed = 1;
		if (needed)
			continue;
		sinks++;
		last = (long)i;
		output = jv_object_set(
		    output, jv_string(d->steps[i].name),
		    jv_object_get(jv_copy(outs), jv_string(d->steps[i].name)));
	}
	if (sinks == 1) {
		jv_free(output);
		output = jv_object_get(jv_copy(outs),
				       jv_string(d->steps[last].name));
	}
	ctx = JV_OBJECT(jv_string("input"), jv_copy(dn->claim->input),
			jv_string("steps"), outs);
	dn->tokens = measure(&d->measure.tokens, jv_copy(ctx));
	dn->cost = measure(&d->measure.cost, ctx);
	dn->exec_seconds = (double)(now - started_at) / 1000.0;
	dn->ended = 1;
	snprintf(dn->end_status, sizeof(dn->end_status), "succeeded");
	return output;
}

/* Every step finished: the execution's output and measure, and its end. */
static int
succeed(struct sov_store *st, struct wf_done *dn, int64_t started_at, int rerun,
	int64_t now, struct sov_err *e)
{
	jv rows = jv_invalid(), outs = jv_object(), output;

	if (sov_store_query(st,
			    "SELECT step, output FROM wf_steps "
			    "WHERE execution_id = $1",
			    JV_ARRAY(jv_number((double)dn->claim->execution)),
			    &rows, e) < 0) {
		jv_free(outs);
		return -1;
	}
	jv_array_foreach(rows, i, row)
	{
		outs = jv_object_set(
		    outs, jv_object_get(jv_copy(row), jv_string("step")),
		    wf_row_json(row, "output"));
		jv_free(row);
		(void)i;
	}
	jv_free(rows);
	output = wf_complete_output(dn, outs, started_at, now);
	if (sov_store_query(
		st,
		"UPDATE wf_executions SET status = 'succeeded', output = $2, "
		"finished_at = $3, seconds = $4, tokens = $5, cost = $6, "
		"steps_left = 0, seq = seq + 1 WHERE id = $1",
		JV_ARRAY(jv_number((double)dn->claim->execution),
			 sov_json_dump(output), jv_number((double)now),
			 jv_number(dn->exec_seconds), num_or_null(dn->tokens),
			 num_or_null(dn->cost)),
		NULL, e) < 0)
		return -1;
	/* Only a rerun from the DLQ has an entry there to clear. */
	if (rerun &&
	    sov_store_query(st, "DELETE FROM wf_dlq WHERE execution_id = $1",
			    JV_ARRAY(jv_number((double)dn->claim->execution)),
			    NULL, e) < 0)
		return -1;
	return 0;
}

/* Dependents of step s whose needs are now all met become ready. */
static int
release(struct sov_store *st, const struct wf_def *d, const struct wf_step *s,
	long long id, int64_t now, struct sov_err *e)
{
	char sql[SQL_MAX];
	size_t len;
	jv params = JV_ARRAY(jv_number((double)id), jv_number((double)now));
	int any = 0;

	len = (size_t)snprintf(
	    sql, sizeof(sql),
	    "UPDATE wf_steps SET needs_left = needs_left - 1, "
	    "status = CASE WHEN needs_left = 1 AND status = 'waiting' "
	    "THEN 'ready' ELSE status END, run_at = $2 "
	    "WHERE execution_id = $1 AND step IN (");
	for (size_t j = 0; j < d->n_steps; j++) {
		for (size_t k = 0; k < d->steps[j].n_needs; k++) {
			int n;

			if (d->steps[j].needs[k] != s->index)
				continue;
			params = jv_array_append(params,
						 jv_string(d->steps[j].name));
			n = snprintf(sql + len, sizeof(sql) - len, "%s$%d",
				     any ? ", " : "",
				     jv_array_length(jv_copy(params)));
			if (n < 0 || (size_t)n >= sizeof(sql) - len) {
				jv_free(params);
				return sov_err_set(e, SOV_EXIT_FAIL,
						   "statement too long");
			}
			len += (size_t)n;
			any = 1;
		}
	}
	if (!any) {
		jv_free(params);
		return 0;
	}
	if (len + 2 > sizeof(sql)) {
		jv_free(params);
		return sov_err_set(e, SOV_EXIT_FAIL, "statement too long");
	}
	sql[len++] = ')';
	sql[len] = 0;
	return sov_store_query(st, sql, params, NULL, e);
}

const char *
wf_outcome_name(enum wf_verdict v)
{
	switch (v) {
	case WF_V_OK:
		return "ok";
	case WF_V_SKIPPED:
		return "skipped";
	case WF_V_RETRY:
		return "retry";
	default:
		return "fail";
	}
}

static int
record_attempt(struct sov_store *st, const char *owner, struct wf_done *dn,
	       int64_t now, const char *outcome, struct sov_err *e)
{
	const struct wf_claim *c = dn->claim;

	jv params = JV_ARRAY(jv_number((double)c->execution), jv_number(c->run),
			     jv_string(c->step), jv_number(c->undo),
			     jv_number(c->attempt), jv_string(owner),
			     jv_number((double)c->started_at),
			     jv_number((double)now), jv_string(outcome));

	/* JV_ARRAY takes at most nine. */
	params = jv_array_append(params,
				 dn->error ? jv_string(dn->error) : jv_null());
	params = jv_array_append(
	    params, dn->exit_code >= 0 ? jv_number(dn->exit_code) : jv_null());
	params = jv_array_append(params, jv_number(dn->seconds));
	return sov_store_query(
	    st,
	    "INSERT INTO wf_attempts (execution_id, run, step, undo, attempt, "
	    "worker, started_at, finished_at, outcome, error, exit_code, "
	    "seconds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
	    "$12)",
	    params, NULL, e);
}

/* Set the step's row, only while this claim holds it; *held 0 if not. */
static int
set_step(struct sov_store *st, const char *owner, struct wf_done *dn,
	 const char *status, int64_t now, int *held, struct sov_err *e)
{
	const struct wf_claim *c = dn->claim;
	int finished = !strcmp(status, "done") || !strcmp(status, "skipped");
	int rc;

	rc = sov_store_query(
	    st,
	    finished
		? "UPDATE wf_steps SET status = $5, lease_owner = NULL, "
		  "lease_until = NULL, error = NULL, finished_at = $6, "
		  "input = $7, output = $8, seq = (SELECT seq + 1 FROM "
		  "wf_executions WHERE id = $1) WHERE execution_id = $1 AND "
		  "step = $2 AND lease_owner = $3 AND attempt = $4 AND "
		  "status = 'running'"
		: "UPDATE wf_steps SET status = $5, lease_owner = NULL, "
		  "lease_until = NULL, finished_at = $6, run_at = $7, "
		  "error = $8 WHERE execution_id = $1 AND step = $2 AND "
		  "lease_owner = $3 AND attempt = $4 AND "
		  "status IN ('running', 'undoing')",
	    finished
		? JV_ARRAY(jv_number((double)c->execution), jv_string(c->step),
			   jv_string(owner), jv_number(c->attempt),
			   jv_string(status), jv_number((double)now),
			   sov_json_dump(jv_copy(dn->input)),
			   sov_json_dump(jv_copy(dn->output)))
		: JV_ARRAY(jv_number((double)c->execution), jv_string(c->step),
			   jv_string(owner), jv_number(c->attempt),
			   jv_string(status), jv_number((double)now),
			   jv_number((double)(dn->verdict == WF_V_RETRY
						  ? dn->retry_at
						  : now)),
			   dn->error ? jv_string(dn->error) : jv_null()),
	    NULL, e);
	*held = rc == 0 && sov_store_changes(st) == 1;
	return rc;
}

/* One result, inside the batch's transaction. */
static int
complete_one(struct sov_store *st, const char *owner,
	     const struct wf_policy *pol, struct wf_done *dn, int64_t now,
	     struct sov_err *e)
{
	const struct wf_claim *c = dn->claim;
	const struct wf_def *d = dn->def;
	long k;
	const struct wf_step *s;
	jv rows = jv_invalid(), row = jv_invalid();
	char status[16] = "", *err = NULL;
	int held = 0, running, retry_left, last, rc = -1;
	int64_t started_at;
	const char *to;

	if (!d) {
		/* The worker could not load the definition: the attempt goes
		 * back to the queue as it was (engine.c set the wait). */
		if (set_step(st, owner, dn, c->undo ? "undo_ready" : "ready",
			     now, &held, e) < 0)
			return -1;
		if (!held) {
			dn->stale = 1;
			return 0;
		}
		return record_attempt(st, owner, dn, now, "retry", e);
	}
	k = wf_def_find(d, c->step);
	if (k < 0)
		return sov_err_set(e, SOV_EXIT_FAIL, "%s: no step %s", d->name,
				   c->step);
	s = &d->steps[k];
	/* Read again, not taken from the batch's lock: an earlier result of
	 * this execution in the batch may have changed it (a saga begun, a
	 * step counted down). Already locked by lock_executions. */
	if (sov_store_query(st,
			    "SELECT status, run, steps_left, started_at FROM "
			    "wf_executions WHERE id = $1",
			    JV_ARRAY(jv_number((double)c->execution)), &rows,
			    e) < 0)
		goto out;
	if (jv_array_length(jv_copy(rows)) != 1) {
		dn->stale = 1; /* deleted meanwhile */
		rc = 0;
		goto out;
	}
	row = jv_array_get(jv_copy(rows), 0);
	if ((int)wf_row_num(row, "run", 0) != c->run) {
		dn->stale = 1; /* run again from the DLQ meanwhile */
		rc = 0;
		goto out;
	}
	started_at = (int64_t)wf_row_num(row, "started_at", 0);
	wf_row_text(row, "status", status, sizeof(status));
	running = strcmp(status, "running") == 0;
	retry_left = c->attempt < s->retry.attempts;

	if (c->undo) {
		if (dn->verdict == WF_V_OK)
			to = "undone";
		else if (dn->verdict == WF_V_RETRY && retry_left)
			to = "undo_ready";
		else
			to = "undo_failed";
		if (set_step(st, owner, dn, to, now, &held, e) < 0)
			goto out;
		if (!held)
			goto stale;
		if (record_attempt(st, owner, dn, now,
				   wf_outcome_name(dn->verdict), e) < 0)
			goto out;
		if (strcmp(to, "undo_ready") != 0 &&
		    wf_saga_advance(st, d, c->execution, pol, &dn->ended,
				    dn->end_status, e) < 0)
			goto out;
		rc = 0;
		goto out;
	}
	if (dn->verdict == WF_V_OK || dn->verdict == WF_V_SKIPPED) {
		if (set_step(st, owner, dn,
			     dn->verdict == WF_V_OK ? "done" : "skipped", now,
			     &held, e) < 0)
			goto out;
		if (!held)
			goto stale;
		last = running && (int)wf_row_num(row, "steps_left", 0) == 1;
		if (record_attempt(st, owner, dn, now,
				   wf_outcome_name(dn->verdict), e) < 0)
			goto out;
		/* The last step's count goes with the execution's end. */
		if (!last &&
		    sov_store_query(
			st,
			"UPDATE wf_executions SET steps_left = "
			"steps_left - 1, seq = seq + 1 WHERE id = $1",
			JV_ARRAY(jv_number((double)c->execution)), NULL, e) < 0)
			goto out;
		if (!running) {
			/* Finished while the saga waited for it: it is
			 * undone like the others. */
			if (wf_saga_advance(st, d, c->execution, pol,
					    &dn->ended, dn->end_status, e) < 0)
				goto out;
		} else if (last) {
			if (succeed(st, dn, started_at, c->run > 1, now, e) < 0)
				goto out;
		} else if (release(st, d, s, c->execution, now, e) < 0) {
			goto out;
		}
		rc = 0;
		goto out;
	}
	/* RETRY or FAIL. */
	if (running && dn->verdict == WF_V_RETRY && retry_left) {
		if (set_step(st, owner, dn, "ready", now, &held, e) < 0)
			goto out;
		if (!held)
			goto stale;
		rc = record_attempt(st, owner, dn, now, "retry", e);
		goto out;
	}
	if (set_step(st, owner, dn, running ? "failed" : "cancelled", now,
		     &held, e) < 0)
		goto out;
	if (!held)
		goto stale;
	if (record_attempt(st, owner, dn, now, wf_outcome_name(dn->verdict), e) <
	    0)
		goto out;
	if (running) {
		jv msg = jv_string_fmt(
		    "step %s%s: %s", c->step,
		    dn->verdict == WF_V_RETRY ? " (attempts used up)" : "",
		    dn->error ? dn->error : "failed");

		err = strdup(jv_string_value(msg));
		jv_free(msg);
		if (!err) {
			sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
			goto out;
		}
		if (wf_saga_begin(st, c->execution, "compensating", c->step,
				  err, e) < 0)
			goto out;
	}
	rc = wf_saga_advance(st, d, c->execution, pol, &dn->ended,
			     dn->end_status, e);
	goto out;
stale:
	dn->stale = 1;
	rc = 0;
out:
	free(err);
	jv_free(row);
	jv_free(rows);
	return rc;
}

/* Lock the batch's executions in id order, one statement; rows[i] is
 * v[i]'s, or NULL when it is gone. */
static int
lock_executions(struct sov_store *st, struct wf_done *v, size_t n,
		struct wf_exec_row *locked, const struct wf_exec_row **rows,
		struct sov_err *e)
{
	char sql[512];
	jv ids = jv_array(), got = jv_invalid();
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		rows[i] = NULL;
		if (i == 0 || v[i].claim->execution != v[i - 1].claim->execution)
			ids = jv_array_append(
			    ids, jv_number((double)v[i].claim->execution));
	}
	snprintf(sql, sizeof(sql),
		 "SELECT id, status, run, steps_left, seq, started_at "
		 "FROM wf_executions WHERE id %s ORDER BY id%s",
		 wf_bulk_in(st), wf_queue_for_update(st));
	if (sov_store_query(st, sql, JV_ARRAY(sov_json_dump(ids)), &got,
			    e) < 0)
		return -1;
	jv_array_foreach(got, k, row)
	{
		struct wf_exec_row *r = &locked[m++];

		r->id = (long long)wf_row_num(row, "id", 0);
		wf_row_text(row, "status", r->status, sizeof(r->status));
		r->run = (int)wf_row_num(row, "run", 0);
		r->steps_left = (int)wf_row_num(row, "steps_left", 0);
		r->seq = (int)wf_row_num(row, "seq", 0);
		r->started_at = (int64_t)wf_row_num(row, "started_at", 0);
		for (size_t i = 0; i < n; i++)
			if (v[i].claim->execution == r->id)
				rows[i] = r;
		jv_free(row);
		(void)k;
	}
	jv_free(got);
	return 0;
}

/* Can v[i] go with the bulk (complete_bulk.c)? */
static int
common_case(const struct wf_done *v, size_t n, size_t i,
	    const struct wf_exec_row *row)
{
	const struct wf_claim *c = v[i].claim;

	if (!row || !v[i].def || c->undo || row->run != c->run ||
	    strcmp(row->status, "running") != 0 ||
	    (v[i].verdict != WF_V_OK && v[i].verdict != WF_V_SKIPPED) ||
	    wf_def_find(v[i].def, c->step) < 0)
		return 0;
	/* The only result of its execution in the batch (v is sorted). */
	return !(i > 0 && v[i - 1].claim->execution == c->execution) &&
	       !(i + 1 < n && v[i + 1].claim->execution == c->execution);
}

static int
complete_batch(struct sov_store *st, const char *owner,
	       const struct wf_policy *pol, struct wf_done *v, size_t n,
	       int64_t now, struct sov_err *e)
{
	struct wf_exec_row *locked = calloc(n, sizeof(*locked));
	const struct wf_exec_row **rows = calloc(n, sizeof(*rows)),
				 **bulk_rows = calloc(n, sizeof(*bulk_rows));
	struct wf_done **bulk = calloc(n, sizeof(*bulk));
	size_t nb = 0;
	int rc = -1;

	if (!locked || !rows || !bulk_rows || !bulk) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	if (lock_executions(st, v, n, locked, rows, e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (common_case(v, n, i, rows[i])) {
			bulk_rows[nb] = rows[i];
			bulk[nb++] = &v[i];
		}
	if (wf_complete_bulk(st, owner, bulk, bulk_rows, nb, now, e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!common_case(v, n, i, rows[i]) &&
		    complete_one(st, owner, pol, &v[i], now, e) < 0)
			goto out;
	/* Last: the slot rows are locked after every execution row. */
	if (wf_slots_release_ended(st, v, n, now, e) < 0)
		goto out;
	rc = 0;
out:
	free(locked);
	free(rows);
	free(bulk_rows);
	free(bulk);
	return rc;
}

int
wf_queue_complete(struct sov_store *st, const char *owner,
		  const struct wf_policy *pol, struct wf_done *v, size_t n,
		  struct wf_next *next, struct sov_err *e)
{
	int64_t now = sov_time_now_ms();

	if (next)
		next->n = 0;
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), by_execution);
	for (size_t i = 0; i < n; i++) {
		v[i].stale = 0;
		v[i].ended = 0;
		v[i].end_status[0] = 0;
		v[i].tokens = v[i].cost = NAN;
	}
	if (sov_store_begin(st, e) < 0) {
		/* A BEGIN lost with the connection leaves the store
		 * refusing calls until a rollback. */
		sov_store_rollback(st, NULL);
		return -1;
	}
	if (complete_batch(st, owner, pol, v, n, now, e) < 0 ||
	    (next && next->max > 0 &&
	     wf_queue_claim_in(st, owner, next->lease_ms, next->max, 0,
			       next->only, next->out, &next->n, e) < 0) ||
	    sov_store_commit(st, e) < 0) {
		sov_store_rollback(st, NULL);
		if (next) {
			for (size_t i = 0; i < next->n; i++)
				wf_claim_clear(&next->out[i]);
			next->n = 0;
		}
		return -1;
	}
	return 0;
}
