/*
 * queue.c - enqueue, claim and heartbeat (queue.h). The results of
 * attempts are recorded by complete.c.
 */
#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulk.h"
#include "json_dump.h"
#include "row.h"
#include "slots.h"
#include "timestamp.h"

#define SQL_MAX 16384

void
wf_claim_clear(struct wf_claim *c)
{
	jv_free(c->input);
	jv_free(c->outputs);
	jv_free(c->inputs);
	memset(c, 0, sizeof(*c));
	c->input = jv_null();
	c->outputs = jv_null();
	c->inputs = jv_null();
}

const char *
wf_queue_for_update(const struct sov_store *st)
{
	return sov_store_kind(st) == SOV_STORE_POSTGRES ? " FOR UPDATE" : "";
}

static const char *
skip_locked(const struct sov_store *st)
{
	return sov_store_kind(st) == SOV_STORE_POSTGRES
		   ? " FOR UPDATE SKIP LOCKED"
		   : "";
}

int
wf_queue_insert_steps(struct sov_store *st, const struct wf_def *d,
		      long long id, int held, int64_t now, struct sov_err *e)
{
	char sql[SQL_MAX];
	size_t len;
	jv params;

	/* One statement for all the steps: $1 the execution, $2 now. */
	len = (size_t)snprintf(sql, sizeof(sql),
			       "INSERT INTO wf_steps (execution_id, step, "
			       "status, needs_left, run_at) VALUES ");
	params = JV_ARRAY(jv_number((double)id), jv_number((double)now));
	for (size_t i = 0; i < d->n_steps; i++) {
		const struct wf_step *s = &d->steps[i];
		const char *status = held ? "held" : "ready";
		int k;

		if (s->n_needs)
			status = "waiting";
		k = snprintf(sql + len, sizeof(sql) - len,
			     "%s($1, $%zu, '%s', %zu, $2)", i ? ", " : "",
			     i + 3, status, s->n_needs);

		if (k < 0 || (size_t)k >= sizeof(sql) - len) {
			jv_free(params);
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "statement too long");
		}
		len += (size_t)k;
		params = jv_array_append(params, jv_string(s->name));
	}
	if (sov_store_query(st, sql, params, NULL, e) < 0)
		return -1;
	return held ? 0 : wf_queue_wake(st, e);
}

int
wf_queue_wake(struct sov_store *st, struct sov_err *e)
{
	return sov_store_notify(st, WF_WAKE_CHANNEL, e);
}

int
wf_queue_start(struct sov_store *st, const struct wf_def *d, long long id,
	       int64_t now, struct sov_err *e)
{
	int limited = d->concurrency > 0;

	/* Limited: its first steps held until it takes a slot, maybe now. */
	if (wf_queue_insert_steps(st, d, id, limited, now, e) < 0)
		return -1;
	return limited ? wf_slots_admit(st, d->name, d->concurrency, now, e)
		       : 0;
}

int
wf_queue_enqueue(struct sov_store *st, const struct wf_def *d,
		 const char *def_id, jv input, const char *key,
		 const char *trigger, long long *id, int *dup,
		 struct sov_err *e)
{
	jv rows = jv_invalid(), in_text;
	int64_t now = sov_time_now_ms();
	int rc = -1;

	*id = 0;
	*dup = 0;
	if (jv_get_kind(input) != JV_KIND_OBJECT) {
		jv_free(input);
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "the input of an execution must be a JSON "
				   "object");
	}
	if (key && (!*key || strlen(key) > WF_KEY_MAX)) {
		jv_free(input);
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "an idempotency key is 1 to %d bytes",
				   WF_KEY_MAX);
	}
	in_text = sov_json_dump(input);
	if (sov_store_query(
		st,
		"INSERT INTO wf_executions (workflow, def_id, status, key, "
		"trigger, input, steps_left, created_at, started_at) "
		"VALUES ($1, $2, $8, $3, $4, $5, $6, $7, $7) "
		"ON CONFLICT (key) WHERE key IS NOT NULL DO NOTHING RETURNING "
		"id",
		JV_ARRAY(jv_string(d->name), jv_string(def_id),
			 key ? jv_string(key) : jv_null(), jv_string(trigger),
			 in_text, jv_number((double)d->n_steps),
			 jv_number((double)now),
			 jv_string(d->concurrency > 0 ? "queued" : "running")),
		&rows, e) < 0)
		return -1;
	if (jv_array_length(jv_copy(rows)) == 0) {
		jv_free(rows);
		if (sov_store_query(
			st, "SELECT id FROM wf_executions WHERE key = $1",
			JV_ARRAY(jv_string(key)), &rows, e) < 0)
			return -1;
		if (jv_array_length(jv_copy(rows)) != 1) {
			sov_err_set(e, SOV_EXIT_TEMPFAIL,
				    "key \"%s\": conflict, but no execution",
				    key);
			goto out;
		}
		*dup = 1;
		*id = (long long)wf_row_first_num(rows, "id", 0);
		rc = 0;
		goto out;
	}
	*id = (long long)wf_row_first_num(rows, "id", 0);
	rc = wf_queue_start(st, d, *id, now, e);
out:
	jv_free(rows);
	return rc;
}

/* Fill the claims' execution fields and the outputs of finished steps. */
static int
load_context(struct sov_store *st, struct wf_claim *v, size_t n,
	     struct sov_err *e)
{
	char sql[512];
	jv rows = jv_invalid(), ids = jv_array();
	int rc = -1;

	/* The distinct executions, as one JSON array (bulk.h). */
	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < i && v[j].execution != v[i].execution; j++)
			;
		if (j == i)
			ids = jv_array_append(ids,
					      jv_number((double)v[i].execution));
	}
	snprintf(sql, sizeof(sql),
		 "SELECT id, def_id, workflow, input, run, status, started_at "
		 "FROM wf_executions WHERE id %s",
		 wf_bulk_in(st));
	if (sov_store_query(st, sql, JV_ARRAY(sov_json_dump(jv_copy(ids))),
			    &rows, e) < 0)
		goto out;
	jv_array_foreach(rows, ri, row)
	{
		long long id = (long long)wf_row_num(row, "id", 0);

		for (size_t i = 0; i < n; i++) {
			if (v[i].execution != id)
				continue;
			wf_row_text(row, "def_id", v[i].def_id,
				    sizeof(v[i].def_id));
			wf_row_text(row, "workflow", v[i].workflow,
				    sizeof(v[i].workflow));
			wf_row_text(row, "status", v[i].exec_status,
				    sizeof(v[i].exec_status));
			v[i].run = (int)wf_row_num(row, "run", 0);
			v[i].exec_started_at =
			    (int64_t)wf_row_num(row, "started_at", 0);
			jv_free(v[i].input);
			v[i].input = wf_row_json(row, "input");
			jv_free(v[i].outputs);
			v[i].outputs = jv_object();
			jv_free(v[i].inputs);
			v[i].inputs = jv_object();
		}
		jv_free(row);
		(void)ri;
	}
	jv_free(rows);
	snprintf(sql, sizeof(sql),
		 "SELECT execution_id, step, input, output FROM wf_steps "
		 "WHERE execution_id %s AND seq IS NOT NULL",
		 wf_bulk_in(st));
	if (sov_store_query(st, sql, JV_ARRAY(sov_json_dump(jv_copy(ids))),
			    &rows, e) < 0)
		goto out;
	jv_array_foreach(rows, ri2, row)
	{
		long long id = (long long)wf_row_num(row, "execution_id", 0);
		jv name = jv_object_get(jv_copy(row), jv_string("step"));

		for (size_t i = 0; i < n; i++) {
			if (v[i].execution != id)
				continue;
			v[i].outputs =
			    jv_object_set(v[i].outputs, jv_copy(name),
					  wf_row_json(row, "output"));
			if (v[i].undo)
				v[i].inputs =
				    jv_object_set(v[i].inputs, jv_copy(name),
						  wf_row_json(row, "input"));
		}
		jv_free(name);
		jv_free(row);
		(void)ri2;
	}
	rc = 0;
out:
	jv_free(rows);
	jv_free(ids);
	return rc;
}

static void
fill_claim(struct wf_claim *c, jv row, int64_t now)
{
	char status[16];

	wf_claim_clear(c);
	c->execution = (long long)wf_row_num(row, "execution_id", 0);
	wf_row_text(row, "step", c->step, sizeof(c->step));
	wf_row_text(row, "status", status, sizeof(status));
	c->undo = strcmp(status, "undoing") == 0;
	c->attempt = (int)wf_row_num(row, "attempt", 0);
	c->started_at = now;
}

/* Take over steps whose lease ran out, recording each lost attempt. */
static int
claim_expired(struct sov_store *st, const char *owner, int64_t lease_ms,
	      size_t max, long long only, struct wf_claim *out, size_t *n,
	      int64_t now, struct sov_err *e)
{
	char sql[1024];
	jv rows = jv_invalid();
	int rc = -1;

	snprintf(sql, sizeof(sql),
		 "SELECT s.execution_id, s.step, s.status, s.attempt, "
		 "s.lease_owner, s.started_at, e.run FROM wf_steps s "
		 "JOIN wf_executions e ON e.id = s.execution_id "
		 "WHERE s.status IN ('running', 'undoing') "
		 "AND s.lease_until < $1%s ORDER BY s.lease_until LIMIT $2%s",
		 only ? " AND s.execution_id = $3" : "",
		 sov_store_kind(st) == SOV_STORE_POSTGRES
		     ? " FOR UPDATE OF s SKIP LOCKED"
		     : "");
	if (sov_store_query(
		st, sql,
		only ? JV_ARRAY(jv_number((double)now), jv_number((double)max),
				jv_number((double)only))
		     : JV_ARRAY(jv_number((double)now), jv_number((double)max)),
		&rows, e) < 0)
		goto out;
	jv_array_foreach(rows, i, row)
	{
		char status[16];
		jv old = jv_object_get(jv_copy(row), jv_string("lease_owner"));
		jv err = jv_string_fmt("the lease of %s ran out",
				       jv_get_kind(old) == JV_KIND_STRING
					   ? jv_string_value(old)
					   : "a worker");

		wf_row_text(row, "status", status, sizeof(status));
		if (sov_store_query(
			st,
			"INSERT INTO wf_attempts (execution_id, run, step, "
			"undo, attempt, worker, started_at, finished_at, "
			"outcome, error) VALUES ($1, $2, $3, $4, $5, $6, $7, "
			"$8, 'lost', $9)",
			JV_ARRAY(jv_number(wf_row_num(row, "execution_id", 0)),
				 jv_number(wf_row_num(row, "run", 0)),
				 jv_object_get(jv_copy(row), jv_string("step")),
				 jv_number(strcmp(status, "undoing") == 0),
				 jv_number(wf_row_num(row, "attempt", 0)),
				 jv_copy(old),
				 jv_object_get(jv_copy(row),
					       jv_string("started_at")),
				 jv_number((double)now), err),
			NULL, e) < 0 ||
		    sov_store_query(
			st,
			"UPDATE wf_steps SET attempt = attempt + 1, "
			"lease_owner = $1, lease_until = $2, started_at = $3 "
			"WHERE execution_id = $4 AND step = $5 "
			"AND attempt = $6",
			JV_ARRAY(jv_string(owner),
				 jv_number((double)(now + lease_ms)),
				 jv_number((double)now),
				 jv_number(wf_row_num(row, "execution_id", 0)),
				 jv_object_get(jv_copy(row), jv_string("step")),
				 jv_number(wf_row_num(row, "attempt", 0))),
			NULL, e) < 0) {
			jv_free(old);
			jv_free(row);
			goto out;
		}
		jv_free(old);
		fill_claim(&out[*n], row, now);
		out[*n].attempt++;
		out[*n].lost = 1;
		(*n)++;
		jv_free(row);
	}
	rc = 0;
out:
	jv_free(rows);
	return rc;
}

int
wf_queue_claim_in(struct sov_store *st, const char *owner, int64_t lease_ms,
		  size_t max, int expired, long long only, struct wf_claim *out,
		  size_t *n, struct sov_err *e)
{
	char sql[2048];
	jv rows = jv_invalid();
	int64_t now = sov_time_now_ms();
	int rc = -1;

	*n = 0;
	if (max > WF_CLAIM_MAX)
		max = WF_CLAIM_MAX;
	if (expired) {
		if (claim_expired(st, owner, lease_ms, max, only, out, n, now,
				  e) < 0)
			goto out;
	} else {
		/* The subquery picks (and on PostgreSQL locks, skipping rows
		 * another worker holds) the oldest due rows; the update takes
		 * them. */
		snprintf(
		    sql, sizeof(sql),
		    "UPDATE wf_steps SET status = CASE status "
		    "WHEN 'ready' THEN 'running' ELSE 'undoing' END, "
		    "attempt = attempt + 1, lease_owner = $1, "
		    "lease_until = $2, started_at = $3 "
		    "FROM (SELECT execution_id AS cid, step AS cstep "
		    "FROM wf_steps WHERE status IN ('ready', 'undo_ready') "
		    "AND run_at <= $3%s ORDER BY run_at LIMIT $4%s) c "
		    "WHERE execution_id = c.cid AND step = c.cstep "
		    "RETURNING execution_id, step, status, attempt",
		    only ? " AND execution_id = $5" : "", skip_locked(st));
		jv params = JV_ARRAY(
		    jv_string(owner), jv_number((double)(now + lease_ms)),
		    jv_number((double)now), jv_number((double)max));
		if (only)
			params =
			    jv_array_append(params, jv_number((double)only));
		if (sov_store_query(st, sql, params, &rows, e) < 0)
			goto out;
		jv_array_foreach(rows, i, row)
		{
			if (*n < max)
				fill_claim(&out[(*n)++], row, now);
			jv_free(row);
			(void)i;
		}
	}
	if (*n > 0 && load_context(st, out, *n, e) < 0)
		goto out;
	rc = 0;
out:
	jv_free(rows);
	if (rc < 0) {
		for (size_t i = 0; i < *n; i++)
			wf_claim_clear(&out[i]);
		*n = 0;
	}
	return rc;
}

int
wf_queue_claim(struct sov_store *st, const char *owner, int64_t lease_ms,
	       size_t max, int expired, long long only, struct wf_claim *out,
	       size_t *n, struct sov_err *e)
{
	*n = 0;
	if (sov_store_begin(st, e) < 0) {
		/* A BEGIN lost with the connection leaves the store
		 * refusing calls until a rollback. */
		sov_store_rollback(st, NULL);
		return -1;
	}
	if (wf_queue_claim_in(st, owner, lease_ms, max, expired, only, out, n,
			      e) < 0 ||
	    sov_store_commit(st, e) < 0) {
		sov_store_rollback(st, NULL);
		for (size_t i = 0; i < *n; i++)
			wf_claim_clear(&out[i]);
		*n = 0;
		return -1;
	}
	return 0;
}

int
wf_queue_heartbeat(struct sov_store *st, const char *owner, int64_t lease_ms,
		   long *renewed, struct sov_err *e)
{
	/* On PostgreSQL, a row that a result is being recorded for is
	 * locked: it is skipped (it is finishing anyway) rather than waited
	 * for, since waiting on rows in scan order deadlocks with a batch. */
	int pg = sov_store_kind(st) == SOV_STORE_POSTGRES;

	*renewed = 0;
	if (sov_store_query(
		st,
		pg ? "UPDATE wf_steps SET lease_until = $2 "
		     "WHERE (execution_id, step) IN (SELECT execution_id, step "
		     "FROM wf_steps WHERE status IN ('running', 'undoing') "
		     "AND lease_owner = $1 FOR UPDATE SKIP LOCKED)"
		   : "UPDATE wf_steps SET lease_until = $2 "
		     "WHERE status IN ('running', 'undoing') "
		     "AND lease_owner = $1",
		JV_ARRAY(jv_string(owner),
			 jv_number((double)(sov_time_now_ms() + lease_ms))),
		NULL, e) < 0)
		return -1;
	*renewed = sov_store_changes(st);
	return 0;
}

int
wf_lock_execution(struct sov_store *st, long long id, char status[16],
		  char def_id[WF_DEF_ID_LEN + 1], struct sov_err *e)
{
	char sql[256];
	jv rows = jv_invalid(), row, v;

	snprintf(sql, sizeof(sql),
		 "SELECT status, def_id FROM wf_executions WHERE id = $1%s",
		 wf_queue_for_update(st));
	if (sov_store_query(st, sql, JV_ARRAY(jv_number((double)id)), &rows,
			    e) < 0)
		return -1;
	if (jv_array_length(jv_copy(rows)) != 1) {
		jv_free(rows);
		return sov_err_set(e, SOV_EXIT_USAGE, "no execution %lld", id);
	}
	row = jv_array_get(rows, 0);
	v = jv_object_get(jv_copy(row), jv_string("status"));
	snprintf(status, 16, "%s", jv_string_value(v));
	jv_free(v);
	v = jv_object_get(row, jv_string("def_id"));
	snprintf(def_id, WF_DEF_ID_LEN + 1, "%s", jv_string_value(v));
	jv_free(v);
	return 0;
}

int
wf_execution_ended(struct sov_store *st, long long id, char status[16],
		   struct sov_err *e)
{
	jv rows = jv_invalid(), row;
	int ended;

	status[0] = 0;
	if (sov_store_query(st,
			    "SELECT status FROM wf_executions WHERE id = $1",
			    JV_ARRAY(jv_number((double)id)), &rows, e) < 0)
		return -1;
	if (jv_array_length(jv_copy(rows)) != 1) {
		jv_free(rows);
		return sov_err_set(e, SOV_EXIT_FAIL, "execution %lld is gone",
				   id);
	}
	row = jv_array_get(rows, 0);
	ended = wf_row_is(row, "status", "succeeded") ||
		wf_row_is(row, "status", "failed") ||
		wf_row_is(row, "status", "cancelled");
	if (ended)
		wf_row_text(row, "status", status, 16);
	jv_free(row);
	return ended;
}
