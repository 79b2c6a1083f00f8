/*
 * saga.h - what happens after a step fails for good: the undo of every
 * completed step, one at a time, latest completed first; then the
 * execution ends as 'failed' and enters the one dead-letter queue, which
 * runs it again on its own schedule until it succeeds or an operator acts.
 * A cancelled execution is compensated the same way and ends 'cancelled'.
 *
 * Every function runs inside the caller's transaction, with the
 * execution's row already locked (queue.h's wf_queue_for_update).
 */
#ifndef WF_SAGA_H
#define WF_SAGA_H

#include <stdint.h>

#include "def.h"
#include "err.h"
#include "queue.h"
#include "store.h"

/*
 * Turn a running execution to `status` ("compensating" or "cancelling"),
 * naming the step and the error, and cancel every step not yet started.
 */
int wf_saga_begin(struct sov_store *st, long long id, const char *status,
		  const char *step, const char *error, struct sov_err *e);

/*
 * Move a compensating or cancelling execution on: when no step of it is
 * running or being undone, make the latest completed step with an undo
 * ready to undo, or, when none is left, end the execution (*ended = 1,
 * status "failed" into the DLQ, or "cancelled").
 */
int wf_saga_advance(struct sov_store *st, const struct wf_def *d, long long id,
		    const struct wf_policy *pol, int *ended, char status[16],
		    struct sov_err *e);

/* The wait before automatic DLQ retry number retries + 1. */
int64_t wf_dlq_delay(const struct wf_policy *pol, int retries);

/*
 * Run a failed execution again from the start (a DLQ retry): a new run
 * number, every step back to waiting or ready; the attempts of earlier
 * runs stay in the history. The DLQ entry stays, as 'retrying', until the
 * run ends.
 */
int wf_saga_rerun(struct sov_store *st, const struct wf_def *d, long long id,
		  struct sov_err *e);

#endif
