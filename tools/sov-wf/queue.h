/*
 * queue.h - executions and their steps in the store: enqueue, claim with a
 * lease, renew leases, and record what an attempt did (exactly once: a
 * result is recorded only while its claim still holds the lease).
 *
 * A step row moves through
 *   waiting -> ready -> running -> done | skipped | failed
 *                ^________| (retry, with run_at in the future)
 * and, when the execution is compensated (the saga, saga.h),
 *   done -> undo_ready -> undoing -> undone | undo_failed
 * Steps that had not started when the execution failed become 'cancelled'.
 * An execution is running -> succeeded, or running -> compensating ->
 * failed (and in the dead-letter queue), or -> cancelling -> cancelled.
 */
#ifndef WF_QUEUE_H
#define WF_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "def.h"
#include "err.h"
#include "registry.h"
#include "store.h"

#define WF_OWNER_MAX 128 /* bytes of a worker's name */
#define WF_CLAIM_MAX 256 /* steps claimed in one transaction */
#define WF_KEY_MAX 256   /* bytes of an idempotency key */
#define WF_TRIGGER_NAME_MAX 16

/* One claimed step (or undo of a step) and what running it needs. */
struct wf_claim {
	long long execution;
	char step[WF_NAME_MAX + 1];
	int undo;    /* 1: run the step's undo */
	int attempt; /* 1, 2, ... */
	int run;  /* the execution's run: 1, then +1 per retry from the DLQ */
	int lost; /* taken over from a worker whose lease ran out */
	char def_id[WF_DEF_ID_LEN + 1];
	char workflow[WF_NAME_MAX + 1];
	char exec_status[16];
	int64_t exec_started_at;
	int64_t started_at;
	jv input;   /* the execution's input */
	jv outputs; /* object: name -> output of every finished step */
	jv inputs;  /* object: name -> input of every finished step (undo) */
};

void wf_claim_clear(struct wf_claim *c);

/*
 * Start an execution of d (already recorded under def_id with
 * wf_registry_put) with input (consumed). key, when not NULL, makes the
 * call idempotent: a second enqueue with the same key starts nothing and
 * returns the first execution's id with *dup set. trigger says how it
 * started ("run", "enqueue", "cron", "webhook"). No transaction of its own:
 * batch several in the caller's.
 */
int wf_queue_enqueue(struct sov_store *st, const struct wf_def *d,
		     const char *def_id, jv input, const char *key,
		     const char *trigger, long long *id, int *dup,
		     struct sov_err *e);

/*
 * Wake the waiting workers (inside a transaction: when it commits): on
 * PostgreSQL a NOTIFY on WF_WAKE_CHANNEL, which every worker thread
 * listens on; nothing on SQLite, whose workers poll. Called wherever steps
 * become ready outside a worker's own loop (a new run, a slot given,
 * undo started by a cancel).
 */
#define WF_WAKE_CHANNEL "sov_wf"
int wf_queue_wake(struct sov_store *st, struct sov_err *e);

/* The step rows of a new run of execution id (inside a transaction); with
 * held, its first steps wait for a slot (slots.h) as 'held'. */
int wf_queue_insert_steps(struct sov_store *st, const struct wf_def *d,
			  long long id, int held, int64_t now,
			  struct sov_err *e);

/*
 * The steps of a new run of execution id, which is 'running', or 'queued'
 * when d has a concurrency limit: then it starts when it gets a slot,
 * maybe at once (inside a transaction).
 */
int wf_queue_start(struct sov_store *st, const struct wf_def *d, long long id,
		   int64_t now, struct sov_err *e);

/*
 * Claim up to max steps whose time has come (oldest first), or, with
 * expired, steps whose lease has run out (their lost attempt is recorded).
 * only, when not 0, limits the claim to that execution. Each claim holds
 * the lease until now + lease_ms. Its own transaction; *n claims in out.
 */
int wf_queue_claim(struct sov_store *st, const char *owner, int64_t lease_ms,
		   size_t max, int expired, long long only,
		   struct wf_claim *out, size_t *n, struct sov_err *e);

/* The same inside the caller's transaction; on error *n is 0, and the
 * caller rolls back. */
int wf_queue_claim_in(struct sov_store *st, const char *owner, int64_t lease_ms,
		      size_t max, int expired, long long only,
		      struct wf_claim *out, size_t *n, struct sov_err *e);

/* Extend every lease owner holds; *renewed gets how many. */
int wf_queue_heartbeat(struct sov_store *st, const char *owner,
		       int64_t lease_ms, long *renewed, struct sov_err *e);

/* The lock clause a row read for update needs on this store. */
const char *wf_queue_for_update(const struct sov_store *st);

/* An execution's status and definition id, its row locked (inside a
 * transaction); no such execution is SOV_EXIT_USAGE. */
int wf_lock_execution(struct sov_store *st, long long id, char status[16],
		      char def_id[WF_DEF_ID_LEN + 1], struct sov_err *e);

/* 1 when execution id has ended (its status into status), 0 when not,
 * -1 on a store error or when it is gone. */
int wf_execution_ended(struct sov_store *st, long long id, char status[16],
		       struct sov_err *e);

/* What an attempt came to, as the engine decided it. */
enum wf_verdict {
	WF_V_OK = 1,  /* output recorded, dependents may start */
	WF_V_SKIPPED, /* "if" was false: output null */
	WF_V_RETRY,   /* temporary: again at retry_at, if attempts remain */
	WF_V_FAIL,    /* permanent */
};

struct wf_done {
	struct wf_claim *claim;
	const struct wf_def *def;
	enum wf_verdict verdict;
	jv input;      /* what the step got (OK), else jv_null() */
	jv output;     /* OK: the output; else jv_null() */
	char *error;   /* RETRY/FAIL: why (owned) */
	int exit_code; /* -1 when none */
	double seconds;
	int64_t retry_at; /* RETRY: when */
	/* Filled by wf_queue_complete: */
	int stale;           /* the lease was lost: nothing recorded */
	int ended;           /* the execution ended with this result */
	char end_status[16]; /* "succeeded", "failed", "cancelled" */
	double exec_seconds; /* ended: from start to end of this run */
	double tokens, cost; /* ended: the measure, NAN when none */
};

void wf_done_clear(struct wf_done *d);

/* How the dead-letter queue retries (its schedule, saga.h). */
struct wf_policy {
	int64_t dlq_base_ms; /* first automatic retry after this */
	int64_t dlq_max_ms;  /* doubling up to this */
	int dlq_retries; /* automatic retries at most; 0: none, -1: no limit */
};

/*
 * Record the results of one batch in one transaction (a group commit):
 * each result only if its claim still holds the lease; dependents made
 * ready; an execution whose last step finished is completed (output,
 * measure); a permanent failure starts the saga. Executions are locked in
 * id order, so two workers never deadlock on a batch.
 */
struct wf_next {
	int64_t lease_ms;
	size_t max; /* 0: claim nothing */
	long long only;
	struct wf_claim *out; /* max of them, apart from the results' */
	size_t n;             /* claimed */
};

/*
 * next, when not NULL, also claims the next batch in the same transaction
 * (wf_queue_claim's due steps, not expired leases): one commit, one flush
 * of the log, where a worker made two. When the transaction fails, neither
 * the results nor the claims are kept (next->n is 0).
 */
int wf_queue_complete(struct sov_store *st, const char *owner,
		      const struct wf_policy *pol, struct wf_done *v, size_t n,
		      struct wf_next *next, struct sov_err *e);

#endif
