/*
 * worker.h - the worker: threads that claim steps in batches, run them and
 * record their results in one transaction per batch; a housekeeping thread
 * that renews the leases of what runs, starts cron executions and runs due
 * dead-letter entries again. `sov-wf worker` runs it until SIGTERM;
 * `sov-wf run` runs it on one execution until that execution ends.
 */
#ifndef WF_WORKER_H
#define WF_WORKER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "queue.h"
#include "registry.h"

#define WF_THREADS_MAX 256
#define WF_LEASE_DEFAULT_MS INT64_C(30000)
#define WF_LEASE_MIN_MS INT64_C(1000)
#define WF_POLL_DEFAULT_MS INT64_C(100)
#define WF_BATCH_DEFAULT 128 /* the best of 8, 32, 128 in bench/wf.sh */
#define WF_DLQ_BASE_DEFAULT_MS INT64_C(60000)   /* 1m */
#define WF_DLQ_MAX_DEFAULT_MS INT64_C(86400000) /* 1d */

struct wf_worker_opts {
	const char *store;   /* URL; NULL: wf_db_open's default */
	const char *metrics; /* URL; NULL: $SOV_METRICS, else JSON lines */
	FILE *metrics_out;   /* where JSON-line measurements go */
	int threads;
	int64_t lease_ms;
	int64_t poll_ms; /* the longest sleep when there is no work */
	size_t batch;    /* the most steps one claim takes */
	struct wf_policy pol;
	char owner[WF_OWNER_MAX];
	long long only; /* not 0: work on this execution alone, until it ends */
	const struct wf_registry *reg; /* cron triggers; NULL: none */
	int housekeeping;              /* cron, DLQ reruns */
	volatile sig_atomic_t *stop;   /* set by a signal handler */
};

/* Defaults, and a name unique to this process: HOST:PID:RANDOM. */
void wf_worker_opts_default(struct wf_worker_opts *o);

/*
 * Run until *stop (or, with only, until that execution ended; its final
 * status then in end_status). Returns -1 when the store cannot be opened
 * at the start; later store failures are retried (and logged on stderr),
 * as a worker must outlive its store's restarts.
 */
int wf_worker_run(const struct wf_worker_opts *o, char end_status[16],
		  struct sov_err *e);

#endif
