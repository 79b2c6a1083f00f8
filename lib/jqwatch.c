/*
 * jqwatch.c - deadlines for jq programs, enforced from another thread
 * (jqwatch.h).
 */
#include "jqwatch.h"

#include <pthread.h>
#include <stdlib.h>

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
