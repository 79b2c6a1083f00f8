/*
 * prefetch.c - the walk's next files into the page cache (see prefetch.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prefetch.h"

/* Sizes of the entries after the walk's, by entry number modulo this. */
#define RING (2 * BK_PREFETCH_FILES)

struct bk_prefetch {
	pthread_t thread[BK_PREFETCH_THREADS];
	int nthreads;
	pthread_mutex_t mu;
	pthread_cond_t work;     /* the threads wait here for entries */
	pthread_cond_t idle;     /* the walk waits here for busy to reach 0 */
	int quit, waiting, busy; /* threads waiting, and reading */
	int dirfd;
	char *const *names; /* NULL: nothing to read */
	const unsigned char *want;
	size_t n, at, next; /* walk at entry at; next entry to read */
	size_t size[RING];
};

/* Bytes read ahead of the walk (the mutex held). */
static size_t
ahead_locked(const struct bk_prefetch *pf)
{
	size_t sum = 0;

	for (size_t i = pf->at + 1; i < pf->next; i++)
		sum += pf->size[i % RING];
	return sum;
}

/* Whether an entry is there to read, past the ones want leaves out (so
 * an incremental run, which wants few, wakes no thread for the rest). */
static int
has_work_locked(struct bk_prefetch *pf)
{
	if (!pf->names)
		return 0;
	while (pf->want && pf->next < pf->n && !pf->want[pf->next] &&
	       pf->next <= pf->at + BK_PREFETCH_FILES)
		pf->size[pf->next++ % RING] = 0;
	return pf->next < pf->n && pf->next <= pf->at + BK_PREFETCH_FILES &&
	       ahead_locked(pf) < BK_PREFETCH_BYTES;
}

/*
 * Ask the kernel to read name's first bytes; how many were asked for. A
 * stat first: only regular files are opened (opening a FIFO or a device
 * can block or act), and stat also brings the inode in for the walk.
 */
static size_t
read_one(int dirfd, const char *name)
{
	struct stat st;
	size_t len;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISREG(st.st_mode) || st.st_size <= 0)
		return 0;
	fd = openat(dirfd, name,
		    O_RDONLY | O_NOFOLLOW | O_NOATIME | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name,
			    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	len = (uint64_t)st.st_size < BK_PREFETCH_BYTES ? (size_t)st.st_size
						       : BK_PREFETCH_BYTES;
	/* Checked again on the open file: it may have been replaced. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    readahead(fd, 0, len) != 0)
		len = 0;
	close(fd);
	return len;
}

static void *
prefetch_thread(void *arg)
{
	struct bk_prefetch *pf = arg;

	pthread_mutex_lock(&pf->mu);
	while (!pf->quit) {
		size_t i, len;
		int dirfd;
		const char *name;

		if (!has_work_locked(pf)) {
			pf->waiting++;
			pthread_cond_wait(&pf->work, &pf->mu);
			pf->waiting--;
			continue;
		}
		i = pf->next++;
		pf->size[i % RING] = 0;
		dirfd = pf->dirfd;
		name = pf->names[i];
		pf->busy++;
		pthread_mutex_unlock(&pf->mu);
		len = read_one(dirfd, name);
		pthread_mutex_lock(&pf->mu);
		pf->size[i % RING] = len;
		if (--pf->busy == 0)
			pthread_cond_broadcast(&pf->idle);
	}
	pthread_mutex_unlock(&pf->mu);
	return NULL;
}

struct bk_prefetch *
bk_prefetch_new(struct sov_err *e)
{
	struct bk_prefetch *pf = calloc(1, sizeof(*pf));
	int rc;

	if (!pf) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "prefetch");
		return NULL;
	}
	pf->dirfd = -1;
	pthread_mutex_init(&pf->mu, NULL);
	pthread_cond_init(&pf->work, NULL);
	pthread_cond_init(&pf->idle, NULL);
	for (int i = 0; i < BK_PREFETCH_THREADS; i++) {
		rc = pthread_create(&pf->thread[i], NULL, prefetch_thread, pf);
		if (rc != 0)
			break;
		pf->nthreads++;
	}
	if (pf->nthreads == 0) {
		errno = rc;
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "prefetch: thread");
		pthread_cond_destroy(&pf->idle);
		pthread_cond_destroy(&pf->work);
		pthread_mutex_destroy(&pf->mu);
		free(pf);
		return NULL;
	}
	return pf;
}

/* Stop using names and dirfd (the mutex held): wait out a read_one. */
static void
drop_locked(struct bk_prefetch *pf)
{
	while (pf->busy)
		pthread_cond_wait(&pf->idle, &pf->mu);
	pf->names = NULL;
	pf->dirfd = -1;
}

void
bk_prefetch_dir(struct bk_prefetch *pf, int dirfd, char *const *names,
		const unsigned char *want, size_t n, size_t at)
{
	if (!pf)
		return;
	pthread_mutex_lock(&pf->mu);
	if (pf->names != names || pf->dirfd != dirfd) {
		drop_locked(pf);
		pf->names = names;
		pf->want = want;
		pf->dirfd = dirfd;
		pf->n = n;
		pf->next = at + 1;
		memset(pf->size, 0, sizeof(pf->size));
	}
	pf->at = at;
	if (pf->next <= at)
		pf->next = at + 1;
	/* Woken only when half the window is free: a wake-up per entry
	 * would cost more than it saves. */
	if (pf->waiting && pf->next <= at + BK_PREFETCH_FILES / 2 &&
	    has_work_locked(pf))
		pthread_cond_broadcast(&pf->work);
	pthread_mutex_unlock(&pf->mu);
}

void
bk_prefetch_leave(struct bk_prefetch *pf, char *const *names)
{
	if (!pf)
		return;
	pthread_mutex_lock(&pf->mu);
	if (pf->names == names)
		drop_locked(pf);
	pthread_mutex_unlock(&pf->mu);
}

void
bk_prefetch_free(struct bk_prefetch *pf)
{
	if (!pf)
		return;
	pthread_mutex_lock(&pf->mu);
	pf->quit = 1;
	pthread_cond_broadcast(&pf->work);
	pthread_mutex_unlock(&pf->mu);
	for (int i = 0; i < pf->nthreads; i++)
		pthread_join(pf->thread[i], NULL);
	pthread_cond_destroy(&pf->idle);
	pthread_cond_destroy(&pf->work);
	pthread_mutex_destroy(&pf->mu);
	free(pf);
}
