/*
 * complete.h - private to complete.c and complete_bulk.c, which record a
 * batch's results (queue.h's wf_queue_complete).
 */
#ifndef WF_COMPLETE_H
#define WF_COMPLETE_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "queue.h"

/* An execution's row as the batch locked it. */
struct wf_exec_row {
	long long id;
	char status[16];
	int run;
	int steps_left;
	int seq;
	int64_t started_at;
};

/*
 * dn's execution succeeded, outs (consumed) holding every step's output
 * by name: its output (returned), and in dn the measure and seconds.
 */
jv wf_complete_output(struct wf_done *dn, jv outs, int64_t started_at,
		      int64_t now);

/* "ok", "skipped", "retry", "fail". */
const char *wf_outcome_name(enum wf_verdict v);

/*
 * Record n results at once, each a finished (ok or skipped) step of a
 * running execution (rows[i], locked), no two of one execution: the
 * steps, their attempts, dependents released, executions counted down or
 * ended. A result whose claim lost its lease is marked stale.
 */
int wf_complete_bulk(struct sov_store *st, const char *owner,
		     struct wf_done *const *v,
		     const struct wf_exec_row *const *rows, size_t n,
		     int64_t now, struct sov_err *e);

#endif
