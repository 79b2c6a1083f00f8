/*
 * worker.c - the worker's threads (worker.h). Each thread has its own store
 * connection, compiled definitions and HTTP client; they share only the
 * options and two flags.
 */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "db.h"
#include "engine.h"
#include "jqwatch.h"
#include "measure.h"
#include "measure_done.h"
#include "saga.h"
#include "schedule.h"
#include "slots.h"
#include "timestamp.h"

#define WF_DLQ_SCAN_MS 1000 /* how often due DLQ entries are looked for */
#define WF_DLQ_SCAN_MAX 16  /* entries rerun per scan */
#define WF_HOUSE_TICK_MS 50 /* the housekeeping thread's sleep */
#define WF_WATCH_TICK_MS 10 /* how often jq deadlines are checked */
#define WF_WARN_EVERY_MS 10000

struct shared {
	const struct wf_worker_opts *o;
	atomic_int ended; /* only: the execution ended */
	char end_status[16];
	pthread_mutex_t mu;
};

struct thr {
	struct shared *sh;
	int idx;
	pthread_t tid;
	int started;
	struct sov_jq_watch *watch; /* work: its jq deadlines (jqwatch.h) */
};

void
wf_worker_opts_default(struct wf_worker_opts *o)
{
	char host[64] = "host";
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(o, 0, sizeof(*o));
	o->metrics_out = stdout;
	o->threads = n > 0 && n < WF_THREADS_MAX ? (int)n : 1;
	o->lease_ms = WF_LEASE_DEFAULT_MS;
	o->poll_ms = WF_POLL_DEFAULT_MS;
	o->batch = WF_BATCH_DEFAULT;
	o->pol.dlq_base_ms = WF_DLQ_BASE_DEFAULT_MS;
	o->pol.dlq_max_ms = WF_DLQ_MAX_DEFAULT_MS;
	o->pol.dlq_retries = -1;
	o->housekeeping = 1;
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "host");
	host[sizeof(host) - 1] = 0;
	snprintf(o->owner, sizeof(o->owner), "%s:%ld:%08x", host,
		 (long)getpid(), randombytes_random());
}

static int
stopping(const struct shared *sh)
{
	return (sh->o->stop && *sh->o->stop) || atomic_load(&sh->ended);
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Sleep up to ms, waking early when the worker stops. */
static void
nap(const struct shared *sh, int64_t ms)
{
	while (ms > 0 && !stopping(sh)) {
		int64_t step = ms < WF_HOUSE_TICK_MS ? ms : WF_HOUSE_TICK_MS;

		sleep_ms(step);
		ms -= step;
	}
}

/*
 * Wait up to ms for work: on PostgreSQL a new step's notification
 * (wf_queue_wake) ends the wait at once. On SQLite, and when waiting
 * fails (a lost connection, which the next claim opens again, listening
 * again), a nap: never a loop of claims without a pause.
 */
static void
await_work(const struct shared *sh, struct sov_store *st, int listening,
	   int64_t ms)
{
	if (!listening) {
		nap(sh, ms);
		return;
	}
	while (ms > 0 && !stopping(sh)) {
		int64_t step = ms < WF_HOUSE_TICK_MS ? ms : WF_HOUSE_TICK_MS;
		int r = sov_store_wait(st, (int)step, NULL);

		if (r == 1)
			return;
		if (r < 0) {
			nap(sh, ms);
			return;
		}
		ms -= step;
	}
}

/* A store error, at most every WF_WARN_EVERY_MS per thread. */
static void
warn_store(int64_t *last, const char *what, const struct sov_err *e)
{
	int64_t now = sov_time_mono_ms();

	if (now - *last < WF_WARN_EVERY_MS)
		return;
	*last = now;
	sov_cli_warn("%s: %s", what, e->msg);
}

static void
end_only(struct shared *sh, const char *status)
{
	pthread_mutex_lock(&sh->mu);
	snprintf(sh->end_status, sizeof(sh->end_status), "%s", status);
	pthread_mutex_unlock(&sh->mu);
	atomic_store(&sh->ended, 1);
}

/* Record a batch, retrying while the store is away (up to a lease: after
 * that the claims are someone else's anyway). */
static int
complete_batch(struct shared *sh, struct sov_store *st, struct wf_done *dn,
	       size_t n, struct wf_next *next, int64_t *warned)
{
	const struct wf_worker_opts *o = sh->o;
	int64_t until = sov_time_mono_ms() + o->lease_ms, wait = 10;
	struct sov_err e = {0};

	for (;;) {
		if (wf_queue_complete(st, o->owner, &o->pol, dn, n, next, &e) ==
		    0)
			return 0;
		warn_store(warned, "recording results", &e);
		if (e.code != SOV_EXIT_TEMPFAIL ||
		    sov_time_mono_ms() + wait > until)
			return -1;
		sleep_ms(wait);
		wait = wait * 2 < 1000 ? wait * 2 : 1000;
	}
}

static void *
work(void *arg)
{
	struct thr *t = arg;
	struct shared *sh = t->sh;
	const struct wf_worker_opts *o = sh->o;
	struct sov_err e = {0};
	struct sov_store *st = NULL;
	struct sov_metrics *m = NULL;
	struct wf_tags *tags = wf_tags_new(); /* NULL: measured uncached */
	struct wf_engine g;
	/* Two sets of claims: the results of one batch are recorded in the
	 * transaction that claims the next (wf_next), into the other set. */
	struct wf_claim *sets[2] = {NULL, NULL}, *claims;
	struct wf_done *dones = NULL;
	size_t want = 1, n = 0, carried = 0;
	int64_t next_expired = 0, idle = 1, warned = -WF_WARN_EVERY_MS;
	int engine = 0, listening = 0, cur = 0;

	sets[0] = calloc(WF_CLAIM_MAX, sizeof(*claims));
	sets[1] = calloc(WF_CLAIM_MAX, sizeof(*claims));
	dones = calloc(WF_CLAIM_MAX, sizeof(*dones));
	if (!sets[0] || !sets[1] || !dones) {
		sov_cli_warn("worker thread %d: out of memory", t->idx);
		goto out;
	}
	for (size_t i = 0; i < WF_CLAIM_MAX; i++) {
		wf_claim_clear(&sets[0][i]);
		wf_claim_clear(&sets[1][i]);
	}
	sov_jq_watch_bind(t->watch);
	/* The store may be down when the worker starts: wait for it. */
	while (!stopping(sh) && !(st = wf_db_open(o->store, &e))) {
		warn_store(&warned, "store", &e);
		nap(sh, 1000);
	}
	if (!st)
		goto out;
	if (sov_store_kind(st) == SOV_STORE_POSTGRES) {
		listening = sov_store_listen(st, WF_WAKE_CHANNEL, &e) == 0;
		if (!listening)
			sov_cli_warn("worker thread %d: %s (polling instead)",
				     t->idx, e.msg);
	}
	m = sov_metrics_open(o->metrics, o->metrics_out, &e);
	if (!m) {
		sov_cli_warn("metrics: %s", e.msg);
		goto out;
	}
	if (wf_engine_init(&g, st, &e) < 0) {
		sov_cli_warn("worker thread %d: %s", t->idx, e.msg);
		goto out;
	}
	engine = 1;
	/* What was claimed is run and recorded, stopping or not. */
	while (carried > 0 || !stopping(sh)) {
		int64_t now = sov_time_mono_ms();
		int expired = !carried && now >= next_expired, slow = 0;
		struct wf_next next = {.lease_ms = o->lease_ms,
				       .only = o->only,
				       .out = sets[!cur]};
		char status[16];

		claims = sets[cur];
		if (expired)
			next_expired = now + o->lease_ms / 4;
		/* What was notified so far is seen by the claim below; taken
		 * now so that a busy worker does not pile them up. */
		if (listening)
			sov_store_wait(st, 0, NULL);
		/* Steps taken over from a dead worker are claimed like any:
		 * a few at a time, and looked for again at once while there
		 * are more, so that every thread shares them. */
		if (carried > 0) {
			n = carried;
			carried = 0;
		} else if (wf_queue_claim(st, o->owner, o->lease_ms, want,
					  expired, o->only, claims, &n,
					  &e) < 0) {
			warn_store(&warned, "claiming steps", &e);
			nap(sh, o->poll_ms);
			continue;
		}
		if (n == 0) {
			if (expired)
				continue; /* now the due ones */
			if (o->only &&
			    wf_execution_ended(st, o->only, status, &e) == 1) {
				end_only(sh, status);
				break;
			}
			await_work(sh, st, listening, idle);
			idle = idle * 2 < o->poll_ms ? idle * 2 : o->poll_ms;
			continue;
		}
		idle = 1;
		if (expired)
			next_expired = 0;
		for (size_t i = 0; i < n; i++) {
			wf_engine_run(&g, &claims[i], &dones[i]);
			if (dones[i].def) {
				long k =
				    wf_def_find(dones[i].def, claims[i].step);

				if (k >= 0 && dones[i].def->steps[k].act.kind !=
						  WF_KIND_JQ)
					slow = 1;
			}
		}
		/* Commands and requests take long: one at a time, so that
		 * other workers share them; jq steps in growing batches. */
		want = slow ? 1 : (want * 2 < o->batch ? want * 2 : o->batch);
		/* The next batch is claimed with these results unless expired
		 * leases are due to be looked for, or the worker stops. */
		if (!stopping(sh) && sov_time_mono_ms() < next_expired)
			next.max = want;
		if (complete_batch(sh, st, dones, n, &next, &warned) == 0) {
			for (size_t i = 0; i < n; i++) {
				wf_measure_done(tags, m, &dones[i]);
				if (o->only && dones[i].ended &&
				    dones[i].claim->execution == o->only)
					end_only(sh, dones[i].end_status);
			}
			if (sov_metrics_flush(m, &e) < 0)
				warn_store(&warned, "metrics", &e);
		}
		for (size_t i = 0; i < n; i++) {
			wf_done_clear(&dones[i]);
			wf_claim_clear(&claims[i]);
		}
		wf_cache_trim(g.cache);
		if (next.n > 0) {
			carried = next.n;
			cur = !cur;
		}
	}
out:
	if (engine)
		wf_engine_clear(&g);
	if (m && sov_metrics_close(m, &e) < 0)
		sov_cli_warn("metrics: %s", e.msg);
	wf_tags_free(tags);
	sov_store_close(st);
	for (int k = 0; k < 2; k++)
		if (sets[k])
			for (size_t i = 0; i < WF_CLAIM_MAX; i++)
				wf_claim_clear(&sets[k][i]);
	free(sets[0]);
	free(sets[1]);
	free(dones);
	return NULL;
}

/* Due DLQ entries run again. Whether an entry is due is this worker's
 * schedule (--dlq-base, --dlq-max, --dlq-retries) applied to the entry's
 * retries so far and its last change, whoever dead-lettered it. */
static void
dlq_due(struct shared *sh, struct sov_store *st, struct wf_cache *cache,
	int64_t *warned)
{
	const struct wf_policy *pol = &sh->o->pol;
	struct sov_err e = {0};
	char sql[512];
	jv rows = jv_invalid();
	int64_t now = sov_time_now_ms();
	int done = 0;

	if (pol->dlq_retries == 0)
		return;
	snprintf(sql, sizeof(sql),
		 "SELECT q.execution_id, q.retries, q.updated_at, x.def_id "
		 "FROM wf_dlq q JOIN wf_executions x ON x.id = q.execution_id "
		 "WHERE q.state = 'waiting' AND q.updated_at <= $1 "
		 "AND x.status = 'failed' ORDER BY q.updated_at LIMIT %d%s",
		 WF_DLQ_SCAN_MAX * 16,
		 sov_store_kind(st) == SOV_STORE_POSTGRES
		     ? " FOR UPDATE OF q SKIP LOCKED"
		     : "");
	if (sov_store_begin(st, &e) < 0)
		goto fail;
	if (sov_store_query(
		st, sql, JV_ARRAY(jv_number((double)(now - pol->dlq_base_ms))),
		&rows, &e) < 0)
		goto fail;
	jv_array_foreach(rows, i, row)
	{
		jv id = jv_object_get(jv_copy(row), jv_string("execution_id"));
		jv n = jv_object_get(jv_copy(row), jv_string("retries"));
		jv at = jv_object_get(jv_copy(row), jv_string("updated_at"));
		jv def = jv_object_get(row, jv_string("def_id"));
		int retries = (int)jv_number_value(n);
		int due =
		    done < WF_DLQ_SCAN_MAX &&
		    (pol->dlq_retries < 0 || retries < pol->dlq_retries) &&
		    (int64_t)jv_number_value(at) + wf_dlq_delay(pol, retries) <=
			now;
		const struct wf_def *d =
		    due && jv_get_kind(def) == JV_KIND_STRING
			? wf_cache_get(cache, st, jv_string_value(def), &e)
			: NULL;
		int rc = !due ? 0
			 : d  ? wf_saga_rerun(st, d,
					      (long long)jv_number_value(id), &e)
			      : -1;

		jv_free(id);
		jv_free(n);
		jv_free(at);
		jv_free(def);
		if (rc < 0)
			goto fail;
		done += due;
		(void)i;
	}
	if (sov_store_commit(st, &e) < 0)
		goto fail;
	jv_free(rows);
	return;
fail:
	sov_store_rollback(st, NULL);
	jv_free(rows);
	warn_store(warned, "dead-letter retries", &e);
}

static void *
housekeep(void *arg)
{
	struct thr *t = arg;
	struct shared *sh = t->sh;
	const struct wf_worker_opts *o = sh->o;
	struct sov_err e = {0};
	struct sov_store *st = NULL;
	struct wf_cache *cache = NULL;
	struct wf_schedule *cron = NULL;
	int64_t next_beat = 0, next_dlq = 0, next_plan = 0;
	int64_t warned = -WF_WARN_EVERY_MS;
	long renewed;
	int planned;

	while (!stopping(sh) && !(st = wf_db_open(o->store, &e))) {
		warn_store(&warned, "store", &e);
		nap(sh, 1000);
	}
	if (!st)
		goto out;
	if (!(cache = wf_cache_new(&e))) {
		sov_cli_warn("housekeeping: %s", e.msg);
		goto out;
	}
	/* Planned once; a store error (catch-up looks there) plans again. */
	planned = !o->housekeeping || o->only;
	while (!stopping(sh)) {
		int64_t now = sov_time_mono_ms();

		if (now >= next_beat) {
			if (wf_queue_heartbeat(st, o->owner, o->lease_ms,
					       &renewed, &e) < 0)
				warn_store(&warned, "renewing leases", &e);
			next_beat = now + o->lease_ms / 3;
		}
		if (o->housekeeping && !o->only) {
			if (now >= next_dlq) {
				dlq_due(sh, st, cache, &warned);
				if (wf_slots_sweep(st, cache, &e) < 0)
					warn_store(&warned,
						   "starting queued "
						   "executions",
						   &e);
				wf_cache_trim(cache);
				next_dlq = now + WF_DLQ_SCAN_MS;
			}
			if (!planned && now >= next_plan) {
				planned = wf_schedule_plan(o->reg, st, &cron,
							   &e) == 0;
				if (!planned)
					warn_store(&warned, "cron", &e);
				next_plan = now + 1000;
			}
			if (planned && wf_schedule_tick(cron, st, &e) < 0)
				warn_store(&warned, "cron", &e);
		}
		nap(sh, WF_HOUSE_TICK_MS);
	}
out:
	wf_schedule_free(cron);
	wf_cache_free(cache);
	sov_store_close(st);
	return NULL;
}

/* The watchdog halted thread i's jq program (lib/jqwatch.h). */
static void
warn_halted(int i, void *arg)
{
	(void)arg;
	sov_cli_warn("thread %d: a jq program ran past its step's timeout: "
		     "halted",
		     i);
}

int
wf_worker_run(const struct wf_worker_opts *o, char end_status[16],
	      struct sov_err *e)
{
	struct shared sh = {.o = o};
	struct sov_jq_watchdog *wd = NULL;
	struct sov_jq_watch **watches = NULL;
	struct thr *ts;
	struct sov_store *st;
	struct sov_metrics *m;
	int n = o->threads > 0 ? o->threads : 1, rc = 0;

	end_status[0] = 0;
	/* Fail early on a bad URL or an unreachable store at start-up. */
	st = wf_db_open(o->store, e);
	if (!st)
		return -1;
	sov_store_close(st);
	/* And on bad measurements: a thread that cannot write them stops. */
	m = sov_metrics_open(o->metrics, o->metrics_out, e);
	if (!m)
		return -1;
	sov_metrics_close(m, NULL);
	ts = calloc((size_t)n + 1, sizeof(*ts));
	watches = calloc((size_t)n, sizeof(*watches));
	if (!ts || !watches) {
		rc = sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++)
		if (!(watches[i] = ts[i].watch = sov_jq_watch_new(e))) {
			rc = -1;
			goto out;
		}
	/* Last to stop: it halts a work thread's jq program that runs past
	 * its step's timeout, which jq cannot do itself. */
	wd = sov_jq_watchdog_start(watches, n, WF_WATCH_TICK_MS, warn_halted,
				   NULL, e);
	if (!wd) {
		rc = -1;
		goto out;
	}
	atomic_init(&sh.ended, 0);
	pthread_mutex_init(&sh.mu, NULL);
	for (int i = 0; i <= n; i++) {
		ts[i].sh = &sh;
		ts[i].idx = i;
		if (pthread_create(&ts[i].tid, NULL, i < n ? work : housekeep,
				   &ts[i]) != 0) {
			sov_err_set(e, SOV_EXIT_TEMPFAIL,
				    "cannot start a thread");
			atomic_store(&sh.ended, 1);
			rc = -1;
			break;
		}
		ts[i].started = 1;
	}
	/* In `only` mode a thread sets ended; otherwise a signal sets stop. */
	for (int i = 0; i < n; i++)
		if (ts[i].started)
			pthread_join(ts[i].tid, NULL);
	atomic_store(&sh.ended, 1);
	if (ts[n].started)
		pthread_join(ts[n].tid, NULL);
	snprintf(end_status, 16, "%s", sh.end_status);
	pthread_mutex_destroy(&sh.mu);
	sov_jq_watchdog_stop(wd);
out:
	for (int i = 0; ts && i < n; i++)
		sov_jq_watch_free(ts[i].watch);
	free(watches);
	free(ts);
	return rc;
}
