/*
 * engine.h - probes in flight: one event loop on libcurl's multi interface
 * for http, tcp and tls targets, and a few worker threads for the kinds
 * that block (probe_blocking.h). No thread per target: a thousand http
 * targets are a thousand transfers on one thread, at most `concurrency`
 * at once, each on an easy handle taken from a small pool.
 *
 * Everything here but the worker threads' probes runs on the caller's
 * thread: pr_engine_wait calls `done` for each finished probe there.
 */
#ifndef PR_ENGINE_H
#define PR_ENGINE_H

#include <stddef.h>

#include "err.h"
#include "result.h"
#include "target.h"

#define PR_THREADS_DEFAULT 4
#define PR_THREADS_MAX 64
#define PR_CONCURRENCY_DEFAULT 64
#define PR_CONCURRENCY_MAX 4096
#define PR_JQ_TIME_MAX_MS 1000 /* a jq condition's run, at most */

/* r is the engine's; it is cleared after the call. */
typedef void (*pr_engine_done)(void *ctx, size_t ti, struct pr_result *r);

struct pr_engine;

/* set must outlive the engine and stay unchanged while probes run. */
struct pr_engine *pr_engine_new(const struct pr_set *set, int threads,
				int concurrency, pr_engine_done done,
				void *ctx, struct sov_err *e);

/* Waits for the worker threads' current probes (each bounded by its
 * timeout); transfers in flight are dropped. Accepts NULL. */
void pr_engine_free(struct pr_engine *g);

/* Start probing target ti now. -1 when it is already running, when
 * `concurrency` probes are (see pr_engine_room), or out of memory. */
int pr_engine_start(struct pr_engine *g, size_t ti, struct sov_err *e);

int pr_engine_running(const struct pr_engine *g, size_t ti);
size_t pr_engine_busy(const struct pr_engine *g);
int pr_engine_room(const struct pr_engine *g); /* busy < concurrency */

/*
 * Wait at most timeout_ms for something to finish, and finish it: `done`
 * for each probe, a job's own finish for each job. Returns 1 when
 * extra_fd (-1: none) became readable, 0 otherwise, -1 on error.
 */
int pr_engine_wait(struct pr_engine *g, int timeout_ms, int extra_fd,
		   struct sov_err *e);

/* Run fn(arg) on a worker thread, then finish(arg) from pr_engine_wait
 * (alerts: a command or a webhook must not stall the loop). */
int pr_engine_job(struct pr_engine *g, void (*fn)(void *),
		  void (*finish)(void *), void *arg, struct sov_err *e);

/* Jobs (not probes) not finished yet. */
size_t pr_engine_jobs(const struct pr_engine *g);

/*
 * A jq condition's time limit: the target's timeout, and at most
 * PR_JQ_TIME_MAX_MS, because http conditions run on the loop that times
 * every other probe. Sets the calling thread's jq deadline from now
 * (jqwatch.h: the engine's threads have watches) and returns the one to
 * restore with sov_jq_deadline. A condition past it fails "timed out".
 */
int64_t pr_jq_limit(const struct pr_target *t);

/* sov_jq_test of t's condition q under that limit. */
int pr_jq_test(const struct pr_target *t, struct sov_jq *q, jv input,
	       int *truth, struct sov_err *e);

#endif
