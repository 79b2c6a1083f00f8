/*
 * saver.c - new blobs into packs on worker threads; see saver.h.
 *
 * One mutex guards the queue, the ids coming back, the blobs of this run
 * (pending), the finished packs and the repository's index while a worker
 * looks an id up in it (the walk's thread adds to that index when it
 * writes an index file, under the same mutex).
 */
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "lock.h"
#include "saver.h"

/* Blobs waiting for a worker: at most QUEUE_MAX, and no more than
 * QUEUE_BYTES of them unless the queue is empty (a chunk may be 8 MiB).
 * Enough to keep every core busy, little enough to keep memory flat. */
#define QUEUE_MAX 64
#define QUEUE_BYTES (8u << 20)
/* Ids not yet collected by the walk: queued, on a worker, or done. */
#define RESULTS (2 * QUEUE_MAX)

struct job {
	unsigned char id[BK_ID_LEN];
	unsigned char *data;
	size_t len;
	int type;
	int hash;     /* the id is the worker's to compute */
	uint64_t seq; /* its result slot, when hash */
};

struct result {
	unsigned char id[BK_ID_LEN];
	int done;
	bk_saver_id_fn fn;
	void *arg;
};

struct bk_saver {
	struct bk_repo *r;
	pthread_t *threads;
	int nthreads, started;
	pthread_mutex_t mu;
	pthread_cond_t can_put, can_take, result_ready;
	struct job q[QUEUE_MAX];
	int qhead, qlen, closing;
	size_t qbytes;
	struct result res[RESULTS];
	uint64_t next_seq, collect_seq;
	/* finished packs not yet in an index file */
	struct bk_pack_info *done;
	size_t ndone, capdone;
	struct sov_err err; /* the first worker error */
	int failed;
	struct bk_index *pending; /* ids new in this run */
	struct bk_saver_stats st;
	const struct bk_lock *lock;
};

/* What a worker needs besides the saver: the pack it fills. */
struct worker {
	struct bk_saver *s;
	struct bk_packer p;
	struct bk_pack_out out; /* the pack's object, open from its first byte */
};

void
bk_saver_set_lock(struct bk_saver *s, const struct bk_lock *l)
{
	s->lock = l;
}

static void
fail_locked(struct bk_saver *s, const struct sov_err *e)
{
	if (!s->failed) {
		s->failed = 1;
		s->err = *e;
	}
	pthread_cond_broadcast(&s->can_put);
	pthread_cond_broadcast(&s->result_ready);
}

static void
fail(struct bk_saver *s, const struct sov_err *e)
{
	pthread_mutex_lock(&s->mu);
	fail_locked(s, e);
	pthread_mutex_unlock(&s->mu);
}

static int
pack_done(struct worker *wk, struct sov_err *e)
{
	struct bk_saver *s = wk->s;
	struct bk_pack_info pi;

	if (bk_pack_out_commit(s->r, &wk->p, &wk->out, &pi, e) < 0)
		return -1;
	pthread_mutex_lock(&s->mu);
	if (s->ndone == s->capdone) {
		size_t nc = s->capdone ? s->capdone * 2 : 16;
		void *nd = realloc(s->done, nc * sizeof(*s->done));

		if (!nd) {
			pthread_mutex_unlock(&s->mu);
			free(pi.ents);
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "packs");
		}
		s->done = nd;
		s->capdone = nc;
	}
	s->done[s->ndone++] = pi;
	s->st.packs++;
	s->st.stored_bytes += pi.size;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* Under the mutex: 1 when id is new to the repository and to this run
 * (now claimed, and counted), 0 when known, -1 on error. */
static int
claim_locked(struct bk_saver *s, const unsigned char id[BK_ID_LEN], size_t len,
	     struct sov_err *e)
{
	struct bk_pack_entry en;
	int rc;

	if (bk_index_get(s->r->idx, id) || bk_index_get(s->pending, id))
		return 0;
	memset(&en, 0, sizeof(en));
	memcpy(en.id, id, BK_ID_LEN);
	rc = bk_index_add(s->pending, &en, 0, e);
	if (rc > 0) {
		s->st.new_bytes += len;
		s->st.new_blobs++;
	}
	return rc;
}

/*
 * A job whose id the worker computes: hash, then (under the mutex) claim
 * the blob and hand the id back. 1 when it is new and this worker saves
 * it, 0 when known, -1 on error.
 */
static int
hash_and_claim(struct bk_saver *s, struct job *j, struct sov_err *e)
{
	struct result *res;
	int rc;

	bk_blob_id(s->r->keys, j->data, j->len, j->id);
	pthread_mutex_lock(&s->mu);
	rc = claim_locked(s, j->id, j->len, e);
	if (rc >= 0) {
		res = &s->res[j->seq % RESULTS];
		memcpy(res->id, j->id, BK_ID_LEN);
		res->done = 1;
		pthread_cond_broadcast(&s->result_ready);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void *
saver_worker(void *arg)
{
	struct worker *wk = arg;
	struct bk_saver *s = wk->s;
	struct sov_err e = {0};
	int failed = 0;

	for (;;) {
		struct job j;
		int save = 1;

		pthread_mutex_lock(&s->mu);
		while (s->qlen == 0 && !s->closing)
			pthread_cond_wait(&s->can_take, &s->mu);
		if (s->qlen == 0) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		j = s->q[s->qhead];
		s->qhead = (s->qhead + 1) % QUEUE_MAX;
		s->qlen--;
		s->qbytes -= j.len;
		failed = s->failed;
		pthread_cond_signal(&s->can_put);
		pthread_mutex_unlock(&s->mu);
		if (!failed && j.hash && (save = hash_and_claim(s, &j, &e)) < 0)
			failed = 1;
		if (!failed && save &&
		    (bk_packer_add(&wk->p, s->r->keys, j.type, j.id, j.data,
				   j.len, s->r->zstd_level, NULL, &e) < 0 ||
		     (wk->p.size >= BK_PACK_TARGET && pack_done(wk, &e) < 0)))
			failed = 1;
		free(j.data);
		if (failed)
			fail(s, &e);
	}
	if (!failed && wk->p.n > 0 && pack_done(wk, &e) < 0)
		fail(s, &e);
	bk_pack_out_abort(&wk->out); /* a pack left half-written by an error */
	bk_packer_free(&wk->p);
	free(wk);
	return NULL;
}

int
bk_saver_locate(struct bk_saver *s, const unsigned char id[BK_ID_LEN],
		unsigned char pack[BK_ID_LEN], struct bk_pack_entry *en)
{
	const struct bk_blob *b;
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	b = bk_index_get(s->r->idx, id);
	if (b) {
		memcpy(pack, bk_index_pack_id(s->r->idx, b->pack), BK_ID_LEN);
		*en = b->en;
		rc = 0;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

struct bk_saver *
bk_saver_new(struct bk_repo *r, int threads, struct sov_err *e)
{
	struct bk_saver *s = calloc(1, sizeof(*s));

	if (!s) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "saver");
		return NULL;
	}
	s->r = r;
	if (threads < 1)
		threads = 1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->can_put, NULL);
	pthread_cond_init(&s->can_take, NULL);
	pthread_cond_init(&s->result_ready, NULL);
	s->started = 1;
	s->pending = bk_index_new(e);
	s->threads = calloc((size_t)threads, sizeof(*s->threads));
	if (!s->pending || !s->threads) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "saver");
		bk_saver_free(s);
		return NULL;
	}
	for (int i = 0; i < threads; i++) {
		struct worker *wk = calloc(1, sizeof(*wk));

		if (wk) {
			wk->s = s;
			wk->out.be = r->be;
			bk_packer_set_sink(&wk->p, bk_pack_out_sink, &wk->out);
		}
		if (!wk ||
		    pthread_create(&s->threads[i], NULL, saver_worker, wk) != 0) {
			free(wk);
			sov_err_set(e, SOV_EXIT_TEMPFAIL,
				    "cannot start a worker thread");
			bk_saver_finish(s, NULL);
			bk_saver_free(s);
			return NULL;
		}
		s->nthreads++;
	}
	return s;
}

/* Take the finished packs out for an index file (caller frees). */
static struct bk_pack_info *
take_done(struct bk_saver *s, size_t *n)
{
	struct bk_pack_info *d;

	pthread_mutex_lock(&s->mu);
	d = s->done;
	*n = s->ndone;
	s->done = NULL;
	s->ndone = s->capdone = 0;
	pthread_mutex_unlock(&s->mu);
	return d;
}

static void
free_packs(struct bk_pack_info *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(d[i].ents);
	free(d);
}

static int
write_done(struct bk_saver *s, struct sov_err *e)
{
	size_t n = 0;
	struct bk_pack_info *d;
	int rc;

	if (s->lock && bk_lock_lost(s->lock))
		return sov_err_set(e, SOV_EXIT_TEMPFAIL,
				   "the repository lock was lost (its lease "
				   "could not be renewed): no index written");
	d = take_done(s, &n);
	/* The index grows here while workers look ids up in it. */
	pthread_mutex_lock(&s->mu);
	rc = bk_repo_write_index(s->r, d, n, NULL, 0, e);
	pthread_mutex_unlock(&s->mu);
	free_packs(d, n);
	return rc;
}

/* Queue a job (the mutex held); waits for room. -1 when a worker failed. */
static int
enqueue_locked(struct bk_saver *s, struct job *j, struct sov_err *e)
{
	while (!s->failed &&
	       (s->qlen == QUEUE_MAX ||
		(s->qlen > 0 && s->qbytes + j->len > QUEUE_BYTES)))
		pthread_cond_wait(&s->can_put, &s->mu);
	if (s->failed) {
		if (e)
			*e = s->err;
		return -1;
	}
	s->q[(s->qhead + s->qlen) % QUEUE_MAX] = *j;
	s->qlen++;
	s->qbytes += j->len;
	pthread_cond_signal(&s->can_take);
	return 0;
}

/* After queueing: an index file when enough packs are waiting for one. */
static int
maybe_index(struct bk_saver *s, struct sov_err *e)
{
	int due;

	pthread_mutex_lock(&s->mu);
	due = s->ndone >= BK_SAVER_INDEX_PACKS;
	pthread_mutex_unlock(&s->mu);
	return due ? write_done(s, e) : 0;
}

/*
 * Hand the ids that are ready, oldest first, to their callbacks; with
 * wait, until fewer than keep are outstanding. The mutex is held on entry
 * and exit, released around each callback.
 */
static int
collect_locked(struct bk_saver *s, uint64_t keep, struct sov_err *e)
{
	for (;;) {
		struct result *res = &s->res[s->collect_seq % RESULTS];
		unsigned char id[BK_ID_LEN];
		int rc;

		/* Once a worker failed, no callback runs again: the walk
		 * may have dropped the arrays they fill. */
		if (s->failed) {
			if (e)
				*e = s->err;
			return -1;
		}
		if (s->collect_seq == s->next_seq)
			return 0;
		if (!res->done) {
			if (s->next_seq - s->collect_seq < keep)
				return 0;
			pthread_cond_wait(&s->result_ready, &s->mu);
			continue;
		}
		memcpy(id, res->id, BK_ID_LEN);
		res->done = 0;
		s->collect_seq++;
		pthread_mutex_unlock(&s->mu);
		rc = res->fn(res->arg, id, e);
		pthread_mutex_lock(&s->mu);
		if (rc != 0)
			return -1;
	}
}

int
bk_saver_submit(struct bk_saver *s, const void *data, size_t len,
		bk_saver_id_fn fn, void *arg, struct sov_err *e)
{
	struct job j;
	int rc, queued = 0;

	memset(&j, 0, sizeof(j));
	j.type = BK_BLOB_DATA;
	j.len = len;
	j.hash = 1;
	j.data = malloc(len ? len : 1);
	if (!j.data)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "blob buffer");
	if (len)
		memcpy(j.data, data, len);
	pthread_mutex_lock(&s->mu);
	/* A free result slot first: the oldest ids go to their callbacks. */
	rc = collect_locked(s, RESULTS, e);
	if (rc == 0) {
		j.seq = s->next_seq;
		s->res[j.seq % RESULTS].fn = fn;
		s->res[j.seq % RESULTS].arg = arg;
		rc = enqueue_locked(s, &j, e);
		if (rc == 0) {
			queued = 1;
			s->next_seq++;
			rc = collect_locked(s, UINT64_MAX, e);
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (!queued)
		free(j.data);
	if (rc < 0)
		return -1;
	return maybe_index(s, e);
}

int
bk_saver_then(struct bk_saver *s, bk_saver_id_fn fn, void *arg,
	      struct sov_err *e)
{
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = collect_locked(s, RESULTS, e);
	if (rc == 0) {
		struct result *res = &s->res[s->next_seq % RESULTS];

		/* Done from the start: it waits only for the slots before
		 * it, which collect_locked empties in order. */
		res->fn = fn;
		res->arg = arg;
		memset(res->id, 0, BK_ID_LEN);
		res->done = 1;
		s->next_seq++;
		rc = collect_locked(s, UINT64_MAX, e);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
bk_saver_drain(struct bk_saver *s, struct sov_err *e)
{
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = collect_locked(s, 1, e);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
bk_saver_add(struct bk_saver *s, int type, const unsigned char id[BK_ID_LEN],
	     const void *data, size_t len, struct sov_err *e)
{
	struct job j;
	int rc;

	memset(&j, 0, sizeof(j));
	pthread_mutex_lock(&s->mu);
	rc = claim_locked(s, id, len, e);
	pthread_mutex_unlock(&s->mu);
	if (rc <= 0)
		return rc;
	j.type = type;
	j.len = len;
	memcpy(j.id, id, BK_ID_LEN);
	j.data = malloc(len ? len : 1);
	if (!j.data)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "blob buffer");
	if (len)
		memcpy(j.data, data, len);
	pthread_mutex_lock(&s->mu);
	rc = enqueue_locked(s, &j, e);
	pthread_mutex_unlock(&s->mu);
	if (rc < 0) {
		free(j.data);
		return -1;
	}
	if (maybe_index(s, e) < 0)
		return -1;
	return 1;
}

void
bk_saver_stats(struct bk_saver *s, struct bk_saver_stats *st)
{
	pthread_mutex_lock(&s->mu);
	*st = s->st;
	pthread_mutex_unlock(&s->mu);
}

int
bk_saver_finish(struct bk_saver *s, struct sov_err *e)
{
	pthread_mutex_lock(&s->mu);
	s->closing = 1;
	pthread_cond_broadcast(&s->can_take);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	s->nthreads = 0;
	if (s->failed) {
		if (e)
			*e = s->err;
		/* Packs already written still go into an index: the next
		 * backup will not store them again. */
		write_done(s, NULL);
		return -1;
	}
	return write_done(s, e);
}

void
bk_saver_free(struct bk_saver *s)
{
	if (!s)
		return;
	if (s->nthreads)
		bk_saver_finish(s, NULL);
	for (int i = 0; i < s->qlen; i++)
		free(s->q[(s->qhead + i) % QUEUE_MAX].data);
	free_packs(s->done, s->ndone);
	bk_index_free(s->pending);
	free(s->threads);
	if (s->started) {
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->can_put);
		pthread_cond_destroy(&s->can_take);
		pthread_cond_destroy(&s->result_ready);
	}
	free(s);
}
