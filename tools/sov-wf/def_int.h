/*
 * def_int.h - what the files of the definition loader share: def.c (the
 * document, triggers, measure), def_step.c (steps and their actions),
 * def_http.c (http actions) and def_order.c (the graph).
 */
#ifndef WF_DEF_INT_H
#define WF_DEF_INT_H

#include <jv.h>

#include "jcheck.h"
#include "def.h"

/* Compile every program as it is read, one compile each: slower, but
 * its first error is the one reported when the definition has several
 * (what a loader falls back to when a definition does not load). */
#define WF_DEF_EACH_ALONE (1 << 8)

/* A jq program of at most WF_JQ_MAX bytes into *p (see sov_jcheck_jq);
 * compiled at once only with WF_DEF_EACH_ALONE, else p->where is kept for
 * wf_def_from_jv to compile the definition's programs together. */
int wf_check_prog(struct sov_jcheck *c, jv v, struct sov_jq_prog *p);

/* An http object (borrowed) into *h, defaults filled in. */
int wf_http_check(struct sov_jcheck *c, jv v, struct wf_http *h);

/* The "steps" object (borrowed) into d->steps, sorted by name. */
int wf_steps_check(struct sov_jcheck *c, jv steps, struct wf_def *d);

/* Free what a step holds (not the step itself). */
void wf_step_clear(struct wf_step *s);

/* d->order and every step's ancestors; a cycle is an error at "steps". */
int wf_order_build(struct sov_jcheck *c, struct wf_def *d);

#endif
