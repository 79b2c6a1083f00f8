/*
 * slots.c - a workflow's concurrency limit in the store (slots.h).
 */
#include "slots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulk.h"
#include "json_dump.h"
#include "row.h"
#include "timestamp.h"

/* The workflow's counter row, made when missing and locked. */
static int
lock_counter(struct sov_store *st, const char *name, long *active,
	     struct sov_err *e)
{
	char sql[128];
	jv rows = jv_invalid();

	if (sov_store_query(st,
			    "INSERT INTO wf_slots (workflow, active) "
			    "VALUES ($1, 0) ON CONFLICT (workflow) DO NOTHING",
			    JV_ARRAY(jv_string(name)), NULL, e) < 0)
		return -1;
	snprintf(sql, sizeof(sql),
		 "SELECT active FROM wf_slots WHERE workflow = $1%s",
		 wf_queue_for_update(st));
	if (sov_store_query(st, sql, JV_ARRAY(jv_string(name)), &rows, e) < 0)
		return -1;
	*active = (long)wf_row_first_num(rows, "active", 0);
	jv_free(rows);
	return 0;
}

static int
add_active(struct sov_store *st, const char *name, long delta,
	   struct sov_err *e)
{
	/* Never below 0: a counter from before a bug is not made worse. */
	return sov_store_query(
	    st,
	    "UPDATE wf_slots SET active = CASE WHEN active + $2 > 0 "
	    "THEN active + $2 ELSE 0 END WHERE workflow = $1",
	    JV_ARRAY(jv_string(name), jv_number((double)delta)), NULL, e);
}

/* Executions ids (a JSON array) from queued to running, from now. */
static int
start_queued(struct sov_store *st, jv ids, int64_t now, struct sov_err *e)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "UPDATE wf_executions SET status = 'running', "
		 "started_at = $2 WHERE id %s AND status = 'queued'",
		 wf_bulk_in(st));
	if (sov_store_query(
		st, sql,
		JV_ARRAY(sov_json_dump(jv_copy(ids)), jv_number((double)now)),
		NULL, e) < 0) {
		jv_free(ids);
		return -1;
	}
	snprintf(sql, sizeof(sql),
		 "UPDATE wf_steps SET status = 'ready', run_at = $2 "
		 "WHERE execution_id %s AND status = 'held'",
		 wf_bulk_in(st));
	if (sov_store_query(
		st, sql, JV_ARRAY(sov_json_dump(ids), jv_number((double)now)),
		NULL, e) < 0)
		return -1;
	return wf_queue_wake(st, e);
}

/* With the counter locked at active: start the oldest queued executions
 * of name for the slots free under limit. */
static int
fill(struct sov_store *st, const char *name, long limit, long active,
     int64_t now, struct sov_err *e)
{
	char sql[512];
	jv rows = jv_invalid(), ids = jv_array();
	long k = 0;
	int rc = -1;

	if (active >= limit) {
		rc = 0;
		goto out;
	}
	/* One a cancel holds is skipped, not waited for: it is leaving. */
	snprintf(sql, sizeof(sql),
		 "SELECT id FROM wf_executions WHERE workflow = $1 "
		 "AND status = 'queued' ORDER BY id LIMIT $2%s",
		 sov_store_kind(st) == SOV_STORE_POSTGRES
		     ? " FOR UPDATE SKIP LOCKED"
		     : "");
	if (sov_store_query(
		st, sql,
		JV_ARRAY(jv_string(name), jv_number((double)(limit - active))),
		&rows, e) < 0)
		goto out;
	jv_array_foreach(rows, i, row)
	{
		ids = jv_array_append(ids, jv_number(wf_row_num(row, "id", 0)));
		k++;
		jv_free(row);
		(void)i;
	}
	if (k == 0) {
		rc = 0;
		goto out;
	}
	if (add_active(st, name, k, e) < 0)
		goto out;
	rc = start_queued(st, ids, now, e);
	ids = jv_invalid();
out:
	jv_free(ids);
	jv_free(rows);
	return rc;
}

int
wf_slots_admit(struct sov_store *st, const char *name, long limit, int64_t now,
	       struct sov_err *e)
{
	long active;

	if (lock_counter(st, name, &active, e) < 0)
		return -1;
	return fill(st, name, limit, active, now, e);
}

int
wf_slots_release(struct sov_store *st, const char *name, long limit, int n,
		 int64_t now, struct sov_err *e)
{
	long active;

	/* Lock first, then count down: the same order as every taker. */
	if (lock_counter(st, name, &active, e) < 0 ||
	    add_active(st, name, -(long)n, e) < 0)
		return -1;
	active = active > n ? active - n : 0;
	return fill(st, name, limit, active, now, e);
}

static int
by_workflow(const void *a, const void *b)
{
	const struct wf_done *const *x = a, *const *y = b;

	return strcmp((*x)->def->name, (*y)->def->name);
}

int
wf_slots_release_ended(struct sov_store *st, const struct wf_done *v, size_t n,
		       int64_t now, struct sov_err *e)
{
	const struct wf_done **ended = NULL;
	size_t m = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++)
		m += v[i].ended && v[i].def && v[i].def->concurrency > 0;
	if (m == 0)
		return 0;
	if (!(ended = malloc(m * sizeof(*ended))))
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
	m = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].ended && v[i].def && v[i].def->concurrency > 0)
			ended[m++] = &v[i];
	qsort(ended, m, sizeof(*ended), by_workflow);
	for (size_t i = 0; i < m;) {
		size_t j = i + 1;

		while (j < m &&
		       strcmp(ended[j]->def->name, ended[i]->def->name) == 0)
			j++;
		/* Several versions of one workflow: the newest limit. */
		long limit = ended[i]->def->concurrency;

		for (size_t k = i; k < j; k++)
			if (ended[k]->def->version > ended[i]->def->version)
				limit = ended[k]->def->concurrency;
		if (wf_slots_release(st, ended[i]->def->name, limit,
				     (int)(j - i), now, e) < 0)
			goto out;
		i = j;
	}
	rc = 0;
out:
	free(ended);
	return rc;
}

int
wf_slots_sweep(struct sov_store *st, struct wf_cache *cache, struct sov_err *e)
{
	/* The oldest waiting execution of each workflow, in name order (the
	 * order slot rows are locked in). */
	static const char oldest[] =
	    "SELECT workflow, def_id FROM wf_executions "
	    "WHERE id IN (SELECT min(id) FROM wf_executions "
	    "WHERE status = 'queued' GROUP BY workflow) ORDER BY workflow";
	jv rows = jv_invalid();
	int64_t now = sov_time_now_ms();
	int rc = -1;

	/* Read first, outside a transaction: usually nothing waits, and a
	 * write transaction every second would take SQLite's lock from the
	 * workers. What is read is checked again under the counter's lock. */
	if (sov_store_query(st, oldest, jv_array(), &rows, e) < 0)
		return -1;
	if (jv_array_length(jv_copy(rows)) == 0) {
		jv_free(rows);
		return 0;
	}
	if (sov_store_begin(st, e) < 0) {
		sov_store_rollback(st, NULL);
		jv_free(rows);
		return -1;
	}
	jv_array_foreach(rows, i, row)
	{
		char def_id[WF_DEF_ID_LEN + 1];
		const struct wf_def *d;

		wf_row_text(row, "def_id", def_id, sizeof(def_id));
		jv_free(row);
		if (!(d = wf_cache_get(cache, st, def_id, e)))
			goto out;
		/* Only a limited definition queues an execution. */
		if (d->concurrency > 0 &&
		    wf_slots_admit(st, d->name, d->concurrency, now, e) < 0)
			goto out;
		(void)i;
	}
	rc = sov_store_commit(st, e);
out:
	if (rc < 0)
		sov_store_rollback(st, NULL);
	jv_free(rows);
	return rc;
}
