/*
 * measure_done.h - a worker thread's measurements of its recorded results
 * (wf.step.seconds, wf.execution.seconds, wf.executions,
 * wf.human_minutes_saved, wf.tokens, wf.cost).
 *
 * The tags of a measurement repeat (one workflow, its few steps and
 * outcomes), and checking and serialising them was a sixth of a worker's
 * CPU on jq steps: each thread keeps their text, checked once, in a small
 * table that is emptied when it fills.
 */
#ifndef WF_MEASURE_DONE_H
#define WF_MEASURE_DONE_H

#include "measure.h"
#include "queue.h"

struct wf_tags;

struct wf_tags *wf_tags_new(void);
void wf_tags_free(struct wf_tags *t);

/* The measurements of one recorded result (none when it was stale). A
 * measurement that cannot be made is left out: results are recorded
 * already, and measurements must not stop the worker. */
void wf_measure_done(struct wf_tags *t, struct sov_metrics *m,
		     const struct wf_done *dn);

#endif
