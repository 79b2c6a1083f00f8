/*
 * restorer.c - worker threads writing restored file contents.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "restorer.h"

#define RQUEUE 64 /* files queued: bounded, each holds an open fd */

struct rjob {
	int fd;
	unsigned char (*ids)[BK_ID_LEN];
	size_t nids;
	char *path;
};

struct bk_restorer {
	struct bk_repo *r;
	pthread_t *threads;
	int nthreads;
	pthread_mutex_t mu;
	pthread_cond_t can_put, can_take;
	struct rjob q[RQUEUE];
	int head, len, closing, failed;
	struct sov_err err;
	uint64_t bytes;
};

static void
job_free(struct rjob *j)
{
	if (j->fd >= 0)
		close(j->fd);
	free(j->ids);
	free(j->path);
	j->fd = -1;
	j->ids = NULL;
	j->path = NULL;
}

int
bk_write_blobs(struct bk_repo *r, unsigned char (*ids)[BK_ID_LEN], size_t nids,
	       int fd, const char *path, uint64_t *bytes, struct sov_err *e)
{
	for (size_t i = 0; i < nids; i++) {
		unsigned char *data = NULL;
		size_t len = 0, off = 0;

		if (bk_repo_read_blob(r, ids[i], BK_BLOB_DATA, &data, &len, e) <
		    0)
			return sov_err_prefix(e, "%s: ", path);
		while (off < len) {
			ssize_t n = write(fd, data + off, len - off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				free(data);
				return sov_err_sys(e,
						   sov_exit_code_errno(errno),
						   "%s: write", path);
			}
			off += (size_t)n;
		}
		*bytes += len;
		free(data);
	}
	return 0;
}

static int
write_job(struct bk_restorer *w, struct rjob *j, uint64_t *bytes,
	  struct sov_err *e)
{
	if (bk_write_blobs(w->r, j->ids, j->nids, j->fd, j->path, bytes, e) < 0)
		return -1;
	if (close(j->fd) < 0) {
		j->fd = -1;
		return sov_err_sys(e, SOV_EXIT_FAIL, "%s: close", j->path);
	}
	j->fd = -1;
	return 0;
}

static void *
worker(void *arg)
{
	struct bk_restorer *w = arg;

	for (;;) {
		struct rjob j;
		struct sov_err e = {0};
		uint64_t bytes = 0;
		int skip;

		pthread_mutex_lock(&w->mu);
		while (w->len == 0 && !w->closing)
			pthread_cond_wait(&w->can_take, &w->mu);
		if (w->len == 0) {
			pthread_mutex_unlock(&w->mu);
			return NULL;
		}
		j = w->q[w->head];
		w->head = (w->head + 1) % RQUEUE;
		w->len--;
		skip = w->failed;
		pthread_cond_signal(&w->can_put);
		pthread_mutex_unlock(&w->mu);
		if (!skip && write_job(w, &j, &bytes, &e) < 0) {
			pthread_mutex_lock(&w->mu);
			if (!w->failed) {
				w->failed = 1;
				w->err = e;
			}
			pthread_cond_broadcast(&w->can_put);
			pthread_mutex_unlock(&w->mu);
		}
		job_free(&j);
		pthread_mutex_lock(&w->mu);
		w->bytes += bytes;
		pthread_mutex_unlock(&w->mu);
	}
}

struct bk_restorer *
bk_restorer_new(struct bk_repo *r, int threads, struct sov_err *e)
{
	struct bk_restorer *w = calloc(1, sizeof(*w));

	if (!w) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "restore");
		return NULL;
	}
	if (threads < 1)
		threads = 1;
	w->r = r;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->can_put, NULL);
	pthread_cond_init(&w->can_take, NULL);
	w->threads = calloc((size_t)threads, sizeof(*w->threads));
	if (!w->threads) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "restore");
		bk_restorer_free(w);
		return NULL;
	}
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&w->threads[i], NULL, worker, w) != 0) {
			sov_err_set(e, SOV_EXIT_TEMPFAIL,
				    "cannot start a restore thread");
			bk_restorer_free(w);
			return NULL;
		}
		w->nthreads++;
	}
	return w;
}

int
bk_restorer_add(struct bk_restorer *w, int fd, unsigned char (*ids)[BK_ID_LEN],
		size_t nids, const char *path, struct sov_err *e)
{
	struct rjob j = {fd, ids, nids, strdup(path)};

	if (!j.path) {
		job_free(&j);
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "restore");
	}
	pthread_mutex_lock(&w->mu);
	while (w->len == RQUEUE && !w->failed)
		pthread_cond_wait(&w->can_put, &w->mu);
	if (w->failed) {
		if (e)
			*e = w->err;
		pthread_mutex_unlock(&w->mu);
		job_free(&j);
		return -1;
	}
	w->q[(w->head + w->len) % RQUEUE] = j;
	w->len++;
	pthread_cond_signal(&w->can_take);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int
bk_restorer_finish(struct bk_restorer *w, uint64_t *bytes, struct sov_err *e)
{
	pthread_mutex_lock(&w->mu);
	w->closing = 1;
	pthread_cond_broadcast(&w->can_take);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	w->nthreads = 0;
	if (bytes)
		*bytes = w->bytes;
	if (w->failed) {
		if (e)
			*e = w->err;
		return -1;
	}
	return 0;
}

void
bk_restorer_free(struct bk_restorer *w)
{
	if (!w)
		return;
	if (w->nthreads)
		bk_restorer_finish(w, NULL, NULL);
	for (int i = 0; i < w->len; i++)
		job_free(&w->q[(w->head + i) % RQUEUE]);
	free(w->threads);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->can_put);
	pthread_cond_destroy(&w->can_take);
	free(w);
}
