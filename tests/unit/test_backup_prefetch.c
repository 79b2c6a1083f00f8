/*
 * test_backup_prefetch.c - tools/sov-backup/prefetch.c: which files of a
 * real directory reach the page cache ahead of the walk, seen with
 * mincore(2) after evicting them with posix_fadvise(DONTNEED).
 *
 * Where the kernel keeps pages of fsynced files despite DONTNEED (some
 * file systems), the cache cannot be observed and those cases skip.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "prefetch.h"
#include "tap.h"

#define NFILES 48
#define FSIZE (64u << 10)

static char dir[PATH_MAX];
static char *names[NFILES + 2];

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "test_backup_prefetch: %s: %s\n", what,
		strerror(errno));
	exit(2);
}

/* 1 when the first page of dir/name is in the page cache. */
static int
cached(const char *name)
{
	char p[PATH_MAX + 64];
	unsigned char vec[1];
	void *m;
	int fd, rc;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		die(p);
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		die("mmap");
	rc = mincore(m, 4096, vec);
	munmap(m, 4096);
	if (rc != 0)
		die("mincore");
	return vec[0] & 1;
}

/* This process's threads, from /proc/self/status. */
static int
threads(void)
{
	char line[256];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

static void
evict(const char *name)
{
	char p[PATH_MAX + 64];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		die(p);
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

static void
evict_all(void)
{
	for (int i = 0; i < NFILES; i++)
		evict(names[i]);
}

static int
n_cached(int from, int to)
{
	int n = 0;

	for (int i = from; i < to; i++)
		n += cached(names[i]);
	return n;
}

/* Wait up to 3 s for the prefetcher to have read what it will. */
static void
settle(int want_idx)
{
	struct timespec ts = {0, 10 * 1000 * 1000};

	for (int t = 0; t < 300 && !cached(names[want_idx]); t++)
		nanosleep(&ts, NULL);
	ts.tv_nsec = 100 * 1000 * 1000; /* and a little more for the rest */
	nanosleep(&ts, NULL);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	struct sov_err e = {0};
	struct bk_prefetch *pf;
	unsigned char buf[FSIZE], want[NFILES + 2];
	int dfd, t0;

	alarm(60); /* a thread blocked on the FIFO would hang the test */
	snprintf(dir, sizeof(dir), "%s/sov-prefetch.XXXXXX",
		 tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		die("mkdtemp");
	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < NFILES; i++) {
		char p[PATH_MAX + 64];
		int fd;

		names[i] = malloc(16);
		snprintf(names[i], 16, "f%03d", i);
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)FSIZE ||
		    fsync(fd) != 0)
			die(p);
		close(fd);
	}
	/* a FIFO and a directory among the names: neither may be opened
	 * (opening the FIFO would block the thread for good) */
	names[NFILES] = strdup("fifo");
	names[NFILES + 1] = strdup("sub");
	{
		char p[PATH_MAX + 64];

		snprintf(p, sizeof(p), "%s/fifo", dir);
		if (mkfifo(p, 0600) != 0)
			die(p);
		snprintf(p, sizeof(p), "%s/sub", dir);
		if (mkdir(p, 0700) != 0)
			die(p);
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		die(dir);

	t0 = threads();
	pf = bk_prefetch_new(&e);
	ok(pf != NULL, "new: the thread starts (%s)", e.msg);
	is_int(threads(), t0 + BK_PREFETCH_THREADS,
	       "new: %d threads running", BK_PREFETCH_THREADS);
	if (!pf)
		return done_testing();

	evict_all();
	if (n_cached(0, NFILES) != 0) {
		skip(6, "this file system keeps fsynced pages despite "
			"POSIX_FADV_DONTNEED: the cache cannot be observed");
	} else {
		bk_prefetch_dir(pf, dfd, names, NULL, NFILES, 0);
		settle(1);
		ok(cached(names[1]) && cached(names[BK_PREFETCH_FILES]),
		   "the files after the walk's are read ahead (entries 1 and "
		   "%d)",
		   BK_PREFETCH_FILES);
		is_int(cached(names[0]), 0,
		       "the walk's own entry is left to the walk");
		is_int(n_cached(BK_PREFETCH_FILES + 1, NFILES), 0,
		       "no further than %d files ahead", BK_PREFETCH_FILES);

		/* the walk moves on: the window follows it */
		bk_prefetch_dir(pf, dfd, names, NULL, NFILES, 20);
		settle(NFILES - 1);
		ok(cached(names[NFILES - 1]),
		   "the walk at 20: the window reaches the last file");

		/* another directory listing, where want says which */
		bk_prefetch_leave(pf, names);
		evict_all();
		for (int i = 0; i < NFILES; i++)
			want[i] = i % 2;
		want[NFILES] = want[NFILES + 1] = 1;
		{
			/* the same names at another address: a new listing */
			char *copy[NFILES + 2];

			memcpy(copy, names, sizeof(copy));
			bk_prefetch_dir(pf, dfd, copy, want, NFILES + 2, 0);
			settle(1);
			ok(cached(names[1]) && cached(names[3]) &&
			       !cached(names[2]) && !cached(names[4]),
			   "want: only the wanted entries are read");
			/* through the FIFO and the directory at the end */
			bk_prefetch_dir(pf, dfd, copy, want, NFILES + 2,
					NFILES - 1);
			settle(NFILES - 1);
			bk_prefetch_leave(pf, copy);
			/* had the thread opened the FIFO, leave would wait
			 * for it for good, and alarm() below kills us */
			ok(1, "a FIFO and a directory in the listing: the "
			      "walk leaves the directory (the thread did not "
			      "block on the FIFO)");
		}
	}

	/* NULL is no prefetcher: every call is a no-op */
	bk_prefetch_dir(NULL, dfd, names, NULL, NFILES, 0);
	bk_prefetch_leave(NULL, names);
	bk_prefetch_free(NULL);
	ok(1, "a NULL prefetcher: every call is a no-op");

	bk_prefetch_free(pf);
	ok(1, "free: the thread stops and is joined");
	is_int(threads(), t0, "free: ... no thread left");

	close(dfd);
	for (int i = 0; i < NFILES + 2; i++) {
		char p[PATH_MAX + 64];

		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		if (i == NFILES + 1)
			rmdir(p);
		else
			unlink(p);
		free(names[i]);
	}
	rmdir(dir);
	return done_testing();
}
