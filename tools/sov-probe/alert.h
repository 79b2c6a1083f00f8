/*
 * alert.h - what runs when a target changes state: a command with the
 * event record on stdin, a webhook that gets it as a JSON POST, or a
 * sov-wf workflow enqueued with it as the input (`sov-wf enqueue NAME`,
 * the workflow's own trigger; $SOV_WF_BIN names sov-wf when it is not on
 * PATH). They run on the engine's worker threads, never on the loop.
 */
#ifndef PR_ALERT_H
#define PR_ALERT_H

#include <jv.h>

#include "engine.h"
#include "target.h"

/* Told how an alert went (on the loop thread); rec is consumed. */
typedef void (*pr_alert_report)(void *ctx, jv rec);

/*
 * Run alert a with the event record (borrowed) for target. -1 only when
 * the job cannot be queued (out of memory).
 */
int pr_alert_fire(struct pr_engine *g, const struct pr_alert *a,
		  const char *target, jv event, pr_alert_report report,
		  void *ctx, struct sov_err *e);

#endif
