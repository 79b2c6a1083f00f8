/*
 * restorer.c - worker threads writing restored file contents; see
 * restorer.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "restorer.h"

/*
 * Jobs queued. Each queued file holds an open descriptor, so the queue is
 * bounded by the open-files limit; memory is a few dozen bytes a job. A
 * deep queue lets the walk, which creates every file, run ahead through
 * thousands of small files while the workers are busy on a big one, rather
 * than the workers starving behind it: 64 jobs measured about 0.25 s
 * slower on the 1 GiB bench corpus (medians of six alternated runs,
 * README).
 */
#define RQUEUE_MAX 1024
#define RQUEUE_MIN 16
/* Descriptors left for the rest: one per directory level of the walk
 * (restore_dir allows 512), a pack per worker, the repository's own. */
#define FD_RESERVE 640

/*
 * A slice of at least this many bytes has its write-back started as soon
 * as it is written (sync_file_range, not waiting), so the disk writes
 * while the workers go on rather than all in the syncfs at the end. Small
 * files are left to that syncfs: started one by one they cost the workers
 * more than they save (measured slower).
 */
#define FLUSH_MIN (256u << 10)

/* A file being written, shared by its slices; the last one frees it. */
struct rfile {
	int fd;
	size_t refs; /* queued slices not finished, and the adder's */
	int failed;  /* a slice failed: no metadata */
	int has_meta;
	struct bk_meta meta;
	unsigned char (*ids)[BK_ID_LEN];
	char path[]; /* for messages */
};

/* Chunks ids[first .. first + n) of f, the first at offset off. */
struct rjob {
	struct rfile *f;
	size_t first, n;
	uint64_t off;
};

struct bk_restorer {
	struct bk_repo *r;
	pthread_t *threads;
	int nthreads;
	pthread_mutex_t mu;
	pthread_cond_t can_put, can_take;
	struct rjob *q;
	int cap, head, len, closing, failed;
	struct sov_err err;
	uint64_t bytes;
};

/*
 * Read, open and verify ids[0 .. nids) and write them to fd: from offset
 * at on (pwrite, slices of one file written by several workers), or at the
 * descriptor's position when at < 0 (pipes, dump).
 */
static int
write_blobs_at(struct bk_repo *r, unsigned char (*ids)[BK_ID_LEN],
	       size_t nids, int fd, int64_t at, const char *path,
	       uint64_t *bytes, struct sov_err *e)
{
	for (size_t i = 0; i < nids; i++) {
		unsigned char *data = NULL;
		size_t len = 0, off = 0;

		if (bk_repo_read_blob(r, ids[i], BK_BLOB_DATA, &data, &len, e) <
		    0)
			return sov_err_prefix(e, "%s: ", path);
		while (off < len) {
			ssize_t n = at < 0 ? write(fd, data + off, len - off)
					   : pwrite(fd, data + off, len - off,
						    (off_t)at + (off_t)off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (n == 0) /* no progress: treat as EIO */
					errno = EIO;
				free(data);
				return sov_err_sys(e,
						   sov_exit_code_errno(errno),
						   "%s: write", path);
			}
			off += (size_t)n;
		}
		if (at >= 0)
			at += (int64_t)len;
		*bytes += len;
		free(data);
	}
	return 0;
}

int
bk_write_blobs(struct bk_repo *r, unsigned char (*ids)[BK_ID_LEN], size_t nids,
	       int fd, const char *path, uint64_t *bytes, struct sov_err *e)
{
	return write_blobs_at(r, ids, nids, fd, -1, path, bytes, e);
}

/* Keep the first error; stop the adder waiting. Lock held. */
static void
fail_locked(struct bk_restorer *w, const struct sov_err *e)
{
	if (!w->failed) {
		w->failed = 1;
		w->err = *e;
	}
	pthread_cond_broadcast(&w->can_put);
}

/*
 * Drop drop references to f and count bytes. The last one applies f's
 * metadata (unless a slice or the restore failed), closes the fd and
 * frees f; its errors go to w. Called without the lock.
 */
static void
file_release(struct bk_restorer *w, struct rfile *f, size_t drop,
	     uint64_t bytes)
{
	struct sov_err e = {0};
	int last, ok, rc = 0;

	pthread_mutex_lock(&w->mu);
	w->bytes += bytes;
	f->refs -= drop;
	last = f->refs == 0;
	ok = !f->failed && !w->failed;
	pthread_mutex_unlock(&w->mu);
	if (!last)
		return;
	if (ok && f->has_meta &&
	    bk_meta_apply_fd(f->fd, &f->meta, f->path, &e) < 0)
		rc = -1;
	if (close(f->fd) < 0 && ok && rc == 0)
		rc = sov_err_sys(&e, SOV_EXIT_FAIL, "%s: close", f->path);
	if (rc < 0) {
		pthread_mutex_lock(&w->mu);
		fail_locked(w, &e);
		pthread_mutex_unlock(&w->mu);
	}
	free(f->ids);
	free(f);
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
		w->head = (w->head + 1) % w->cap;
		w->len--;
		skip = w->failed || j.f->failed;
		pthread_cond_signal(&w->can_put);
		pthread_mutex_unlock(&w->mu);
		if (!skip &&
		    write_blobs_at(w->r, j.f->ids + j.first, j.n, j.f->fd,
				   (int64_t)j.off, j.f->path, &bytes, &e) < 0) {
			pthread_mutex_lock(&w->mu);
			j.f->failed = 1;
			fail_locked(w, &e);
			pthread_mutex_unlock(&w->mu);
		} else if (!skip && bytes >= FLUSH_MIN) {
			/* Advice only: syncfs at the end reports errors. */
			(void)sync_file_range(j.f->fd, (off_t)j.off,
					      (off_t)bytes,
					      SYNC_FILE_RANGE_WRITE);
		}
		file_release(w, j.f, 1, bytes);
	}
}

/*
 * How many jobs may be queued: RQUEUE_MAX when the open-files limit leaves
 * room for them beside FD_RESERVE. The soft limit is raised toward the
 * hard one for that (often 1024 against 524288 under systemd), as Go does
 * for restic at start; a limit that cannot be raised only shortens the
 * queue.
 */
static int
queue_room(void)
{
	const rlim_t want = RQUEUE_MAX + FD_RESERVE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return RQUEUE_MIN;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		struct rlimit up = rl;

		up.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want
				  ? want
				  : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return RQUEUE_MAX;
	if (rl.rlim_cur < FD_RESERVE + RQUEUE_MIN)
		return RQUEUE_MIN;
	return (int)(rl.rlim_cur - FD_RESERVE);
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
	w->cap = queue_room();
	w->q = calloc((size_t)w->cap, sizeof(*w->q));
	w->threads = calloc((size_t)threads, sizeof(*w->threads));
	if (!w->q || !w->threads) {
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

/* Queue one slice of f; -1 with the restore's error once it failed. */
static int
enqueue(struct bk_restorer *w, struct rfile *f, size_t first, size_t n,
	uint64_t off, struct sov_err *e)
{
	struct rjob j = {f, first, n, off};

	pthread_mutex_lock(&w->mu);
	while (w->len == w->cap && !w->failed)
		pthread_cond_wait(&w->can_put, &w->mu);
	if (w->failed) {
		if (e)
			*e = w->err;
		pthread_mutex_unlock(&w->mu);
		return -1;
	}
	f->refs++; /* the slice's own, dropped by its worker */
	w->q[(w->head + w->len) % w->cap] = j;
	w->len++;
	pthread_cond_signal(&w->can_take);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/*
 * How many chunks from ids[first] make the next slice (about
 * BK_RESTORE_SLICE raw bytes), their bytes in *raw. Past a chunk the index
 * lacks, offsets are unknown: every chunk left is one slice, whose job
 * reports the missing one as bk_write_blobs would.
 */
static size_t
slice_len(struct bk_restorer *w, unsigned char (*ids)[BK_ID_LEN], size_t nids,
	  size_t first, uint64_t *raw)
{
	size_t n = 0;

	*raw = 0;
	while (first + n < nids && *raw < BK_RESTORE_SLICE) {
		const struct bk_blob *b =
		    bk_index_get(w->r->idx, ids[first + n]);

		if (!b)
			return nids - first;
		*raw += b->en.raw;
		n++;
	}
	return n;
}

int
bk_restorer_add(struct bk_restorer *w, int fd, unsigned char (*ids)[BK_ID_LEN],
		size_t nids, const char *path, const struct bk_meta *meta,
		struct sov_err *e)
{
	size_t pl = strlen(path), first = 0;
	struct rfile *f = malloc(sizeof(*f) + pl + 1);
	uint64_t off = 0;
	int rc = 0;

	if (!f) {
		close(fd);
		free(ids);
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", path);
	}
	f->fd = fd;
	/* The adder's own reference, dropped below: whoever drops the last
	 * one (a worker, or here for an empty file or when queueing failed)
	 * applies the metadata and closes the file. */
	f->refs = 1;
	f->failed = 0;
	f->has_meta = meta != NULL;
	if (meta)
		f->meta = *meta;
	f->ids = ids;
	memcpy(f->path, path, pl + 1);
	while (first < nids) {
		uint64_t raw;
		size_t n = slice_len(w, ids, nids, first, &raw);

		/* Fails only once the restore failed: then no metadata
		 * is applied to this half-queued file either. */
		if ((rc = enqueue(w, f, first, n, off, e)) < 0)
			break;
		first += n;
		off += raw;
	}
	file_release(w, f, 1, 0);
	return rc;
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
	/* Workers drain the queue before they end: nothing is left in it
	 * unless none ever started, and then nothing was queued. */
	free(w->threads);
	free(w->q);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->can_put);
	pthread_cond_destroy(&w->can_take);
	free(w);
}
