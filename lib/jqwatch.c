/*
 * jqwatch.c - deadlines for jq programs, enforced from another thread
 * (jqwatch.h).
 */
#include "jqwatch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "timestamp.h"

struct sov_jq_watch {
	pthread_mutex_t mu; /* guards the rest against the watchdog */
	jq_state *running;  /* the program the thread runs now, or NULL */
	int64_t deadline;   /* sov_time_mono_ms; 0: none */
	int fired;          /* running was halted for its deadline */
};

static _Thread_local struct sov_jq_watch *bound;

struct sov_jq_watch *
sov_jq_watch_new(struct sov_err *e)
{
	struct sov_jq_watch *w = calloc(1, sizeof(*w));

	if (!w) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		return NULL;
	}
	if (pthread_mutex_init(&w->mu, NULL) != 0) {
		free(w);
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "cannot make a mutex");
		return NULL;
	}
	return w;
}

void
sov_jq_watch_free(struct sov_jq_watch *w)
{
	if (!w)
		return;
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void
sov_jq_watch_bind(struct sov_jq_watch *w)
{
	bound = w;
}

struct sov_jq_watch *
sov_jq_watch_bound(void)
{
	return bound;
}

int64_t
sov_jq_deadline(int64_t deadline_ms)
{
	struct sov_jq_watch *w = bound;
	int64_t old;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	old = w->deadline;
	w->deadline = deadline_ms;
	pthread_mutex_unlock(&w->mu);
	return old;
}

int
sov_jq_watch_check(struct sov_jq_watch *w, int64_t now_ms)
{
	int did = 0;

	pthread_mutex_lock(&w->mu);
	/* jq_halt asserts the program has not halted itself (jq's halt
	 * builtin); a program doing that right at its deadline is left to
	 * end on its own. */
	if (w->running && w->deadline && now_ms >= w->deadline && !w->fired &&
	    !jq_halted(w->running)) {
		jq_halt(w->running, jv_invalid(), jv_string("timed out"));
		w->fired = 1;
		did = 1;
	}
	pthread_mutex_unlock(&w->mu);
	return did;
}

int
sov_jq_watch_enter(jq_state *jq, const char *where, struct sov_err *e)
{
	struct sov_jq_watch *w = bound;
	int late;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	late = w->deadline && sov_time_mono_ms() >= w->deadline;
	w->fired = 0;
	w->running = late ? NULL : jq;
	pthread_mutex_unlock(&w->mu);
	if (late)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "%s: timed out",
				   where);
	return 0;
}

int
sov_jq_watch_leave(void)
{
	struct sov_jq_watch *w = bound;
	int fired;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	w->running = NULL;
	fired = w->fired;
	pthread_mutex_unlock(&w->mu);
	return fired;
}

struct sov_jq_watchdog {
	struct sov_jq_watch *const *w;
	int n;
	int tick_ms;
	void (*halted)(int i, void *arg);
	void *arg;
	pthread_t tid;
	pthread_mutex_t mu; /* guards stop; cv wakes the dog to stop */
	pthread_cond_t cv;
	int stop;
};

static void *
dog(void *arg)
{
	struct sov_jq_watchdog *d = arg;

	pthread_mutex_lock(&d->mu);
	while (!d->stop) {
		int64_t now = sov_time_mono_ms();
		struct timespec until;

		pthread_mutex_unlock(&d->mu);
		for (int i = 0; i < d->n; i++)
			if (d->w[i] && sov_jq_watch_check(d->w[i], now) &&
			    d->halted)
				d->halted(i, d->arg);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += (long)d->tick_ms * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&d->mu);
		while (!d->stop &&
		       pthread_cond_timedwait(&d->cv, &d->mu, &until) == 0)
			;
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

struct sov_jq_watchdog *
sov_jq_watchdog_start(struct sov_jq_watch *const *w, int n, int tick_ms,
		      void (*halted)(int i, void *arg), void *arg,
		      struct sov_err *e)
{
	struct sov_jq_watchdog *d = calloc(1, sizeof(*d));
	pthread_condattr_t ca;
	int rc;

	if (!d) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		return NULL;
	}
	*d = (struct sov_jq_watchdog){.w = w,
				      .n = n,
				      .tick_ms = tick_ms > 0 ? tick_ms : 1,
				      .halted = halted,
				      .arg = arg};
	/* The wait is on the monotonic clock, as the deadlines are. */
	if (pthread_condattr_init(&ca) != 0) {
		free(d);
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "cannot make a condition");
		return NULL;
	}
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	     pthread_cond_init(&d->cv, &ca) != 0;
	pthread_condattr_destroy(&ca);
	if (rc) {
		free(d);
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "cannot make a condition");
		return NULL;
	}
	pthread_mutex_init(&d->mu, NULL);
	rc = pthread_create(&d->tid, NULL, dog, d);
	if (rc != 0) {
		pthread_cond_destroy(&d->cv);
		pthread_mutex_destroy(&d->mu);
		free(d);
		errno = rc;
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "cannot start a thread");
		return NULL;
	}
	return d;
}

void
sov_jq_watchdog_stop(struct sov_jq_watchdog *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = 1;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->tid, NULL);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}
