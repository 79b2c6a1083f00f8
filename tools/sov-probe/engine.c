/*
 * engine.c - the multi handle, the easy-handle pool, the worker threads
 * and their queues; see engine.h.
 *
 * Worker threads take jobs from `todo` and put them on `done`, then write
 * the eventfd that curl_multi_poll watches beside curl's own sockets, so
 * one poll wakes for either.
 */
#include "engine.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <curl/curl.h>

#include "jqwatch.h"
#include "probe_blocking.h"
#include "probe_curl.h"
#include "timestamp.h"

#define PR_WATCH_TICK_MS 100 /* how often jq deadlines are checked */

struct job {
	struct job *next;
	size_t ti; /* a probe's target, when fn is NULL */
	struct pr_result r;
	void (*fn)(void *);
	void (*finish)(void *);
	void *arg;
};

/* A transfer in flight on one easy handle. */
struct slot {
	CURL *easy;
	size_t ti;
	struct pr_result r;
	struct pr_xfer x;
};

struct pr_engine {
	const struct pr_set *set;
	pr_engine_done done_fn;
	void *ctx;
	unsigned char *running; /* per target */
	size_t busy, jobs;
	int concurrency;

	CURLM *multi;
	struct slot *slots; /* concurrency of them */
	size_t *free_slots, nfree;

	pthread_t *threads;
	int nthreads;
	/* jq conditions' time limits: watches[i] is worker i's, the last
	 * the loop's; the watchdog halts what runs past its deadline */
	struct sov_jq_watch **watches;
	struct sov_jq_watchdog *watchdog;
	int nwatching;    /* workers that took their watch */
	int nthreads_max; /* watches[0..nthreads_max] exist */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *todo, **todo_tail;
	struct job *done;
	int stop;
	int efd;
};

static void *
worker(void *arg)
{
	struct pr_engine *g = arg;

	pthread_mutex_lock(&g->mu);
	sov_jq_watch_bind(g->watches[g->nwatching++]);
	pthread_mutex_unlock(&g->mu);
	for (;;) {
		struct job *j;
		uint64_t one = 1;

		pthread_mutex_lock(&g->mu);
		while (g->todo == NULL && !g->stop)
			pthread_cond_wait(&g->cv, &g->mu);
		if (g->todo == NULL) {
			pthread_mutex_unlock(&g->mu);
			return NULL;
		}
		j = g->todo;
		g->todo = j->next;
		if (g->todo == NULL)
			g->todo_tail = &g->todo;
		pthread_mutex_unlock(&g->mu);
		if (j->fn)
			j->fn(j->arg);
		else
			pr_probe_blocking(&g->set->targets[j->ti], &j->r);
		pthread_mutex_lock(&g->mu);
		j->next = g->done;
		g->done = j;
		pthread_mutex_unlock(&g->mu);
		/* a full counter (EAGAIN) already wakes the loop */
		if (write(g->efd, &one, sizeof(one)) < 0)
			continue;
	}
}

struct pr_engine *
pr_engine_new(const struct pr_set *set, int threads, int concurrency,
	      pr_engine_done done, void *ctx, struct sov_err *e)
{
	struct pr_engine *g = calloc(1, sizeof(*g));

	if (g == NULL)
		goto oom;
	g->set = set;
	g->done_fn = done;
	g->ctx = ctx;
	g->efd = -1;
	g->concurrency = concurrency;
	g->todo_tail = &g->todo;
	g->nthreads_max = threads;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->running = calloc(set->ntargets ? set->ntargets : 1, 1);
	g->slots = calloc((size_t)concurrency, sizeof(*g->slots));
	g->free_slots = calloc((size_t)concurrency, sizeof(size_t));
	g->threads = calloc((size_t)threads, sizeof(pthread_t));
	g->watches = calloc((size_t)threads + 1, sizeof(*g->watches));
	if (!g->running || !g->slots || !g->free_slots || !g->threads ||
	    !g->watches)
		goto oom;
	for (int i = 0; i <= threads; i++)
		if (!(g->watches[i] = sov_jq_watch_new(e)))
			goto fail;
	g->watchdog = sov_jq_watchdog_start(g->watches, threads + 1,
					    PR_WATCH_TICK_MS, NULL, NULL, e);
	if (!g->watchdog)
		goto fail;
	sov_jq_watch_bind(g->watches[threads]);
	for (int i = concurrency - 1; i >= 0; i--)
		g->free_slots[g->nfree++] = (size_t)i;
	g->multi = curl_multi_init();
	if (g->multi == NULL)
		goto oom;
	g->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (g->efd < 0) {
		sov_err_sys(e, SOV_EXIT_FAIL, "eventfd");
		goto fail;
	}
	for (; g->nthreads < threads; g->nthreads++) {
		int rc =
		    pthread_create(&g->threads[g->nthreads], NULL, worker, g);

		if (rc != 0) {
			errno = rc;
			sov_err_sys(e, SOV_EXIT_TEMPFAIL, "start a thread");
			goto fail;
		}
	}
	return g;
oom:
	sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
fail:
	pr_engine_free(g);
	return NULL;
}

static void
free_job(struct job *j)
{
	if (j->fn == NULL)
		pr_result_clear(&j->r);
	free(j);
}

void
pr_engine_free(struct pr_engine *g)
{
	if (g == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = 1;
	/* probes not started yet are dropped; jobs (alerts) still run */
	for (struct job **p = &g->todo; *p;) {
		struct job *j = *p;

		if (j->fn == NULL) {
			*p = j->next;
			free_job(j);
		} else {
			p = &j->next;
		}
	}
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	for (int i = 0; i < g->nthreads; i++)
		pthread_join(g->threads[i], NULL);
	while (g->done) {
		struct job *j = g->done;

		g->done = j->next;
		if (j->finish)
			j->finish(j->arg);
		free_job(j);
	}
	for (int i = 0; g->slots && i < g->concurrency; i++) {
		struct slot *s = &g->slots[i];

		if (s->easy) {
			curl_multi_remove_handle(g->multi, s->easy);
			curl_easy_cleanup(s->easy);
		}
		pr_xfer_clear(&s->x);
		if (jv_is_valid(s->r.fields))
			pr_result_clear(&s->r);
	}
	if (g->multi)
		curl_multi_cleanup(g->multi);
	if (g->efd >= 0)
		close(g->efd);
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	sov_jq_watchdog_stop(g->watchdog);
	if (g->watches) {
		/* the loop's, unless another engine has bound its own since */
		if (sov_jq_watch_bound() == g->watches[g->nthreads_max])
			sov_jq_watch_bind(NULL);
		for (int i = 0; i <= g->nthreads_max; i++)
			sov_jq_watch_free(g->watches[i]);
	}
	free(g->watches);
	free(g->running);
	free(g->slots);
	free(g->free_slots);
	free(g->threads);
	free(g);
}

int64_t
pr_jq_limit(const struct pr_target *t)
{
	int64_t ms = t->timeout_ms < PR_JQ_TIME_MAX_MS ? t->timeout_ms
						       : PR_JQ_TIME_MAX_MS;

	return sov_jq_deadline(sov_time_mono_ms() + ms);
}

int
pr_engine_running(const struct pr_engine *g, size_t ti)
{
	return g->running[ti];
}

size_t
pr_engine_busy(const struct pr_engine *g)
{
	return g->busy;
}

int
pr_engine_room(const struct pr_engine *g)
{
	return g->busy < (size_t)g->concurrency;
}

size_t
pr_engine_jobs(const struct pr_engine *g)
{
	return g->jobs;
}

static void
push(struct pr_engine *g, struct job *j)
{
	pthread_mutex_lock(&g->mu);
	j->next = NULL;
	*g->todo_tail = j;
	g->todo_tail = &j->next;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static int
start_transfer(struct pr_engine *g, size_t ti, struct sov_err *e)
{
	const struct pr_target *t = &g->set->targets[ti];
	size_t si = g->free_slots[--g->nfree];
	struct slot *s = &g->slots[si];

	if (s->easy == NULL && (s->easy = curl_easy_init()) == NULL)
		goto fail;
	s->ti = ti;
	pr_result_init(&s->r);
	if (pr_xfer_setup(s->easy, t, &s->x) < 0 ||
	    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, (void *)s) != CURLE_OK ||
	    curl_multi_add_handle(g->multi, s->easy) != CURLM_OK) {
		pr_xfer_clear(&s->x);
		pr_result_clear(&s->r);
		goto fail;
	}
	return 0;
fail:
	g->nfree++;
	return sov_err_set(e, SOV_EXIT_FAIL, "%s: cannot set up the transfer",
			   t->name);
}

int
pr_engine_start(struct pr_engine *g, size_t ti, struct sov_err *e)
{
	const struct pr_target *t = &g->set->targets[ti];

	if (g->running[ti] || !pr_engine_room(g))
		return sov_err_set(e, SOV_EXIT_FAIL, "%s: no room to start",
				   t->name);
	if (pr_is_blocking(t)) {
		struct job *j = calloc(1, sizeof(*j));

		if (j == NULL)
			return sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
		j->ti = ti;
		pr_result_init(&j->r);
		push(g, j);
	} else if (start_transfer(g, ti, e) < 0) {
		return -1;
	}
	g->running[ti] = 1;
	g->busy++;
	return 0;
}

int
pr_engine_job(struct pr_engine *g, void (*fn)(void *), void (*finish)(void *),
	      void *arg, struct sov_err *e)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
	j->fn = fn;
	j->finish = finish;
	j->arg = arg;
	g->jobs++;
	push(g, j);
	return 0;
}

static void
finish_transfers(struct pr_engine *g)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(g->multi, &left)) != NULL) {
		struct slot *s = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
				  (char **)&s);
		pr_xfer_judge(s->easy, m->data.result, &g->set->targets[s->ti],
			      &s->x, &s->r);
		curl_multi_remove_handle(g->multi, s->easy);
		pr_xfer_clear(&s->x);
		g->running[s->ti] = 0;
		g->busy--;
		g->free_slots[g->nfree++] = (size_t)(s - g->slots);
		g->done_fn(g->ctx, s->ti, &s->r);
		pr_result_clear(&s->r);
	}
}

static void
finish_jobs(struct pr_engine *g)
{
	struct job *list, *next;
	uint64_t n;

	/* Only when the poll saw a wake-up: a job is on the list before its
	 * wake-up is written, so one that is not seen now is seen at the next
	 * wake. The read resets the counter; the list is what counts. */
	if (read(g->efd, &n, sizeof(n)) < 0)
		n = 0;
	pthread_mutex_lock(&g->mu);
	list = g->done;
	g->done = NULL;
	pthread_mutex_unlock(&g->mu);
	for (; list; list = next) {
		next = list->next;
		if (list->fn) {
			g->jobs--;
			if (list->finish)
				list->finish(list->arg);
		} else {
			g->running[list->ti] = 0;
			g->busy--;
			g->done_fn(g->ctx, list->ti, &list->r);
		}
		free_job(list);
	}
}

int
pr_engine_wait(struct pr_engine *g, int timeout_ms, int extra_fd,
	       struct sov_err *e)
{
	struct curl_waitfd fds[2] = {{g->efd, CURL_WAIT_POLLIN, 0},
				     {extra_fd, CURL_WAIT_POLLIN, 0}};
	int still, n = 0;
	CURLMcode mc;

	mc = curl_multi_poll(g->multi, fds, extra_fd >= 0 ? 2 : 1,
			     timeout_ms < 0 ? 0 : timeout_ms, &n);
	if (mc != CURLM_OK && mc != CURLM_UNRECOVERABLE_POLL)
		return sov_err_set(e, SOV_EXIT_FAIL, "poll: %s",
				   curl_multi_strerror(mc));
	mc = curl_multi_perform(g->multi, &still);
	if (mc != CURLM_OK)
		return sov_err_set(e, SOV_EXIT_FAIL, "curl: %s",
				   curl_multi_strerror(mc));
	finish_transfers(g);
	if (fds[0].revents & CURL_WAIT_POLLIN)
		finish_jobs(g);
	return extra_fd >= 0 && (fds[1].revents & CURL_WAIT_POLLIN) ? 1 : 0;
}

int
pr_jq_test(const struct pr_target *t, struct sov_jq *q, jv input, int *truth,
	   struct sov_err *e)
{
	int64_t old = pr_jq_limit(t);
	int rc = sov_jq_test(q, input, truth, e);

	sov_jq_deadline(old);
	return rc;
}
