/*
 * slots.h - a workflow's `concurrency`: at most that many of its
 * executions running (or compensating, or cancelling) at once. The others
 * wait as 'queued', their first steps 'held', and start oldest first as
 * running ones end (docs/wf-store.md, "Concurrency").
 *
 * wf_slots holds one counter per workflow: the executions that hold a
 * slot. It changes only in the transaction that starts or ends such an
 * execution, so a kill -9 cannot make it drift. On PostgreSQL its row is
 * the lock that makes "is a slot free?" and "take it" one step across
 * workers; on SQLite the write transaction is.
 *
 * Every function runs inside the caller's transaction.
 */
#ifndef WF_SLOTS_H
#define WF_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "queue.h"
#include "registry.h"
#include "store.h"

/*
 * Give back n slots of workflow name (executions of it that held one
 * ended), then start the oldest queued executions for the slots free
 * under limit.
 */
int wf_slots_release(struct sov_store *st, const char *name, long limit, int n,
		     int64_t now, struct sov_err *e);

/*
 * Start the oldest queued executions of name for the slots free under
 * limit. An execution just enqueued 'queued' starts this way too: at once
 * when a slot is free and none older waits.
 */
int wf_slots_admit(struct sov_store *st, const char *name, long limit,
		   int64_t now, struct sov_err *e);

/*
 * The slots of the executions among v[0..n) that ended with this batch
 * and held one, given back: grouped by workflow and in the workflows'
 * name order, so that two batches never wait on each other's slot rows.
 */
int wf_slots_release_ended(struct sov_store *st, const struct wf_done *v,
			   size_t n, int64_t now, struct sov_err *e);

/*
 * Start what waits for a free slot in every workflow, under the limit of
 * its oldest waiting execution's definition: the self-repair for a release
 * that could not start one (it was locked by a cancel that then failed).
 * A worker runs it every second; its own transaction, only when something
 * waits.
 */
int wf_slots_sweep(struct sov_store *st, struct wf_cache *cache,
		   struct sov_err *e);

#endif
