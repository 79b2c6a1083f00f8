/*
 * schedule.h - the cron triggers of the definitions a worker loaded: an
 * execution per fire time, started once among all workers (its key,
 * cron:NAME:TRIGGER:FIRE_MS, names the fire time), and for a trigger with
 * catch_up, the last fire time missed while no worker ran.
 */
#ifndef WF_SCHEDULE_H
#define WF_SCHEDULE_H

#include <stdint.h>

#include "err.h"
#include "registry.h"
#include "store.h"

struct wf_schedule;

/*
 * The next fire time of every cron trigger in reg (which must outlive
 * it). A catch_up trigger whose last execution in st is older than its
 * last fire time before now gets that fire time first. *out is NULL when
 * reg has no cron triggers.
 */
int wf_schedule_plan(const struct wf_registry *reg, struct sov_store *st,
		     struct wf_schedule **out, struct sov_err *e);

/* Start the executions whose fire time has come. A trigger whose start
 * failed is tried again at the next tick; e has the last failure. */
int wf_schedule_tick(struct wf_schedule *s, struct sov_store *st,
		     struct sov_err *e);

void wf_schedule_free(struct wf_schedule *s);

#endif
