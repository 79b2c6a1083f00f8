/*
 * complete_bulk.c - the common results of a batch in a handful of
 * statements rather than four or five each: steps that finished, each
 * the only result of its execution in the batch, the execution running
 * (complete.h). The guards are those of complete.c: a step row is written
 * only while this worker's claim holds it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bulk.h"
#include "json_dump.h"
#include "complete.h"
#include "row.h"

static jv
num_or_null(double v)
{
	return isnan(v) ? jv_null() : jv_number(v);
}

/* The steps' rows; marks each result held or stale. */
static int
set_steps(struct sov_store *st, const char *owner, struct wf_done *const *v,
	  const struct wf_exec_row *const *rows, size_t n, int64_t now,
	  struct sov_err *e)
{
	jv vals = jv_array(), held = jv_invalid();

	for (size_t i = 0; i < n; i++) {
		const struct wf_claim *c = v[i]->claim;

		vals = jv_array_append(
		    vals,
		    JV_OBJECT(
			jv_string("e"), jv_number((double)c->execution),
			jv_string("step"), jv_string(c->step),
			jv_string("attempt"), jv_number(c->attempt),
			jv_string("status"),
			jv_string(v[i]->verdict == WF_V_OK ? "done"
							   : "skipped"),
			jv_string("input"),
			sov_json_dump(jv_copy(v[i]->input)),
			jv_string("output"),
			sov_json_dump(jv_copy(v[i]->output)),
			jv_string("seq"), jv_number(rows[i]->seq + 1)));
		v[i]->stale = 1;
	}
	if (wf_bulk_query(
		st,
		"UPDATE wf_steps SET status = v.status, lease_owner = NULL, "
		"lease_until = NULL, error = NULL, finished_at = $2, "
		"input = v.input, output = v.output, seq = v.seq FROM ",
		"e BIGINT, step TEXT, attempt INTEGER, status TEXT, "
		"input TEXT, output TEXT, seq INTEGER",
		" WHERE wf_steps.execution_id = v.e AND wf_steps.step = v.step "
		"AND wf_steps.lease_owner = $3 AND wf_steps.attempt = "
		"v.attempt AND wf_steps.status = 'running' "
		"RETURNING wf_steps.execution_id, wf_steps.step",
		"wf_steps.execution_id", vals,
		JV_ARRAY(jv_number((double)now), jv_string(owner)), &held,
		e) < 0)
		return -1;
	jv_array_foreach(held, k, row)
	{
		long long id = (long long)wf_row_num(row, "execution_id", 0);

		/* One result per execution: the id finds it. */
		for (size_t i = 0; i < n; i++)
			if (v[i]->claim->execution == id &&
			    wf_row_is(row, "step", v[i]->claim->step))
				v[i]->stale = 0;
		jv_free(row);
		(void)k;
	}
	jv_free(held);
	return 0;
}

static int
record_attempts(struct sov_store *st, const char *owner,
		struct wf_done *const *v, size_t n, int64_t now,
		struct sov_err *e)
{
	jv vals = jv_array();

	for (size_t i = 0; i < n; i++) {
		const struct wf_claim *c = v[i]->claim;

		if (v[i]->stale)
			continue;
		vals = jv_array_append(
		    vals,
		    JV_OBJECT(jv_string("e"), jv_number((double)c->execution),
			      jv_string("run"), jv_number(c->run),
			      jv_string("step"), jv_string(c->step),
			      jv_string("attempt"), jv_number(c->attempt),
			      jv_string("started_at"),
			      jv_number((double)c->started_at),
			      jv_string("outcome"),
			      jv_string(wf_outcome_name(v[i]->verdict)),
			      jv_string("exit_code"),
			      v[i]->exit_code >= 0 ? jv_number(v[i]->exit_code)
						   : jv_null(),
			      jv_string("seconds"),
			      jv_number(v[i]->seconds)));
	}
	return wf_bulk_query(
	    st,
	    "INSERT INTO wf_attempts (execution_id, run, step, undo, attempt, "
	    "worker, started_at, finished_at, outcome, exit_code, seconds) "
	    "SELECT v.e, v.run, v.step, 0, v.attempt, $2, v.started_at, $3, "
	    "v.outcome, v.exit_code, v.seconds FROM ",
	    "e BIGINT, run INTEGER, step TEXT, attempt INTEGER, "
	    "started_at BIGINT, outcome TEXT, exit_code INTEGER, "
	    "seconds DOUBLE PRECISION",
	    "", NULL, vals, JV_ARRAY(jv_string(owner), jv_number((double)now)),
	    NULL, e);
}

/* Every step's output of the executions that ended with more than one. */
static int
read_outputs(struct sov_store *st, struct wf_done *const *v, size_t n,
	     const int *last, jv *outs, struct sov_err *e)
{
	char sql[512];
	jv ids = jv_array(), rows = jv_invalid();

	*outs = jv_object(); /* execution id as text -> {step: output} */
	for (size_t i = 0; i < n; i++)
		if (last[i] && v[i]->def->n_steps > 1)
			ids = jv_array_append(
			    ids, jv_number((double)v[i]->claim->execution));
	if (jv_array_length(jv_copy(ids)) == 0) {
		jv_free(ids);
		return 0;
	}
	snprintf(sql, sizeof(sql),
		 "SELECT execution_id, step, output FROM wf_steps "
		 "WHERE execution_id %s",
		 wf_bulk_in(st));
	if (sov_store_query(st, sql, JV_ARRAY(sov_json_dump(ids)), &rows,
			    e) < 0)
		return -1;
	jv_array_foreach(rows, k, row)
	{
		jv key = jv_string_fmt(
		    "%lld", (long long)wf_row_num(row, "execution_id", 0));
		jv one = jv_object_get(jv_copy(*outs), jv_copy(key));

		if (jv_get_kind(one) != JV_KIND_OBJECT) {
			jv_free(one);
			one = jv_object();
		}
		one = jv_object_set(one,
				    jv_object_get(jv_copy(row),
						  jv_string("step")),
				    wf_row_json(row, "output"));
		*outs = jv_object_set(*outs, key, one);
		jv_free(row);
		(void)k;
	}
	jv_free(rows);
	return 0;
}

/* The executions whose last step this was: succeeded. */
static int
end_executions(struct sov_store *st, struct wf_done *const *v,
	       const struct wf_exec_row *const *rows, size_t n,
	       const int *last, int64_t now, struct sov_err *e)
{
	jv outs, vals = jv_array(), rerun = jv_array();
	size_t ended = 0;
	int rc = -1;

	if (read_outputs(st, v, n, last, &outs, e) < 0) {
		jv_free(outs);
		jv_free(vals);
		jv_free(rerun);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct wf_claim *c = v[i]->claim;
		jv mine, output;

		if (!last[i])
			continue;
		if (v[i]->def->n_steps == 1) {
			mine = JV_OBJECT(jv_string(c->step),
					 jv_copy(v[i]->output));
		} else {
			mine = jv_object_get(
			    jv_copy(outs), jv_string_fmt("%lld", c->execution));
			if (jv_get_kind(mine) != JV_KIND_OBJECT) {
				jv_free(mine);
				mine = jv_object();
			}
		}
		output = wf_complete_output(v[i], mine, rows[i]->started_at,
					    now);
		vals = jv_array_append(
		    vals,
		    JV_OBJECT(jv_string("e"), jv_number((double)c->execution),
			      jv_string("output"), sov_json_dump(output),
			      jv_string("seconds"),
			      jv_number(v[i]->exec_seconds),
			      jv_string("tokens"), num_or_null(v[i]->tokens),
			      jv_string("cost"), num_or_null(v[i]->cost)));
		if (c->run > 1)
			rerun = jv_array_append(
			    rerun, jv_number((double)c->execution));
		ended++;
	}
	jv_free(outs);
	if (ended == 0) {
		rc = 0;
		goto out;
	}
	if (wf_bulk_query(
		st,
		"UPDATE wf_executions SET status = 'succeeded', "
		"output = v.output, finished_at = $2, seconds = v.seconds, "
		"tokens = v.tokens, cost = v.cost, steps_left = 0, "
		"seq = seq + 1 FROM ",
		"e BIGINT, output TEXT, seconds DOUBLE PRECISION, "
		"tokens DOUBLE PRECISION, cost DOUBLE PRECISION",
		" WHERE wf_executions.id = v.e", "wf_executions.id", vals,
		JV_ARRAY(jv_number((double)now)), NULL, e) < 0) {
		vals = jv_invalid();
		goto out;
	}
	vals = jv_invalid();
	/* Only a rerun from the DLQ has an entry there to clear. */
	if (jv_array_length(jv_copy(rerun)) > 0) {
		char sql[256];

		snprintf(sql, sizeof(sql),
			 "DELETE FROM wf_dlq WHERE execution_id %s",
			 wf_bulk_in(st));
		if (sov_store_query(st, sql,
				    JV_ARRAY(sov_json_dump(jv_copy(rerun))),
				    NULL, e) < 0)
			goto out;
	}
	rc = 0;
out:
	jv_free(vals);
	jv_free(rerun);
	return rc;
}

/* Executions with steps still to go: one less; their dependents. */
static int
count_down(struct sov_store *st, struct wf_done *const *v, size_t n,
	   const int *last, int64_t now, struct sov_err *e)
{
	char sql[256];
	jv ids = jv_array(), deps = jv_array();

	for (size_t i = 0; i < n; i++) {
		const struct wf_def *d = v[i]->def;
		long k;

		if (v[i]->stale || last[i])
			continue;
		ids = jv_array_append(
		    ids, jv_number((double)v[i]->claim->execution));
		k = wf_def_find(d, v[i]->claim->step);
		for (size_t j = 0; k >= 0 && j < d->n_steps; j++)
			for (size_t m = 0; m < d->steps[j].n_needs; m++)
				if (d->steps[j].needs[m] == (size_t)k)
					deps = jv_array_append(
					    deps,
					    JV_OBJECT(
						jv_string("e"),
						jv_number((double)v[i]
							      ->claim
							      ->execution),
						jv_string("step"),
						jv_string(d->steps[j].name)));
	}
	if (jv_array_length(jv_copy(ids)) == 0) {
		jv_free(ids);
		jv_free(deps);
		return 0;
	}
	snprintf(sql, sizeof(sql),
		 "UPDATE wf_executions SET steps_left = steps_left - 1, "
		 "seq = seq + 1 WHERE id %s",
		 wf_bulk_in(st));
	if (sov_store_query(st, sql, JV_ARRAY(sov_json_dump(ids)), NULL,
			    e) < 0) {
		jv_free(deps);
		return -1;
	}
	return wf_bulk_query(
	    st,
	    "UPDATE wf_steps SET needs_left = needs_left - 1, "
	    "status = CASE WHEN needs_left = 1 AND status = 'waiting' "
	    "THEN 'ready' ELSE status END, run_at = $2 FROM ",
	    "e BIGINT, step TEXT",
	    " WHERE wf_steps.execution_id = v.e AND wf_steps.step = v.step",
	    "wf_steps.execution_id", deps, JV_ARRAY(jv_number((double)now)),
	    NULL, e);
}

int
wf_complete_bulk(struct sov_store *st, const char *owner,
		 struct wf_done *const *v,
		 const struct wf_exec_row *const *rows, size_t n, int64_t now,
		 struct sov_err *e)
{
	int *last;
	int rc = -1;

	if (n == 0)
		return 0;
	last = calloc(n, sizeof(*last));
	if (!last)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
	if (set_steps(st, owner, v, rows, n, now, e) < 0 ||
	    record_attempts(st, owner, v, n, now, e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		last[i] = !v[i]->stale && rows[i]->steps_left == 1;
	if (end_executions(st, v, rows, n, last, now, e) < 0 ||
	    count_down(st, v, n, last, now, e) < 0)
		goto out;
	rc = 0;
out:
	free(last);
	return rc;
}
