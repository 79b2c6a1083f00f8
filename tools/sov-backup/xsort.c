/*
 * xsort.c - external merge sort of fixed-size records (see xsort.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xsort.h"

/* A run's read buffer is at least this big, whatever the budget says. */
#define READ_MIN (4u << 10)

struct run {
	uint64_t off, n; /* byte offset in the file, records */
};

struct reader {
	uint64_t off, left; /* next byte in the file, records not yet read */
	unsigned char *b;
	size_t have, pos; /* records in b, the current one */
};

struct bk_xsort {
	size_t rs, mem;
	bk_xsort_cmp cmp;
	unsigned char *buf; /* records not yet written */
	size_t n, cap;
	int fd;
	uint64_t end; /* bytes in the file */
	struct run *runs;
	size_t nruns, caprun;
	uint64_t count;
	int finished;
	size_t mpos; /* reading from buf: everything fitted */
	struct reader *rd;
	size_t *heap, nheap;
};

int
bk_tmpfile(const char *what, struct sov_err *e)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd, n;

	if (!dir || !*dir)
		dir = "/var/tmp";
	n = snprintf(path, sizeof(path), "%s/sov-backup-%s.XXXXXX", dir, what);
	if (n < 0 || (size_t)n >= sizeof(path))
		return sov_err_set(e, SOV_EXIT_USAGE, "TMPDIR: path too long");
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return sov_err_sys(e, sov_exit_code_errno(errno),
				   "a temporary file in %s", dir);
	if (unlink(path) < 0) {
		sov_err_sys(e, sov_exit_code_errno(errno), "%s", path);
		close(fd);
		return -1;
	}
	return fd;
}

struct bk_xsort *
bk_xsort_new(size_t recsize, bk_xsort_cmp cmp, size_t mem, struct sov_err *e)
{
	struct bk_xsort *s;

	if (recsize == 0 || recsize > BK_XSORT_REC_MAX) {
		sov_err_set(e, SOV_EXIT_FAIL, "xsort: bad record size");
		return NULL;
	}
	if (mem == 0)
		mem = BK_XSORT_MEM;
	if (mem < BK_XSORT_MEM_MIN)
		mem = BK_XSORT_MEM_MIN;
	s = calloc(1, sizeof(*s));
	if (!s) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "sort");
		return NULL;
	}
	s->rs = recsize;
	s->mem = mem;
	s->cmp = cmp;
	s->fd = -1;
	s->cap = mem / recsize;
	return s;
}

void
bk_xsort_free(struct bk_xsort *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->rd)
		for (size_t i = 0; i < s->nruns; i++)
			free(s->rd[i].b);
	free(s->rd);
	free(s->heap);
	free(s->runs);
	free(s->buf);
	free(s);
}

int
bk_tmp_write(int fd, const void *data, size_t len, uint64_t off,
	     struct sov_err *e)
{
	const unsigned char *p = data;

	while (len) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return sov_err_sys(e, sov_exit_code_errno(errno),
					   "writing a temporary file (TMPDIR)");
		p += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* Sort the buffer and append it to the file as one run. */
static int
spill(struct bk_xsort *s, struct sov_err *e)
{
	if (s->n == 0)
		return 0;
	if (s->fd < 0 && (s->fd = bk_tmpfile("sort", e)) < 0)
		return -1;
	if (s->nruns == s->caprun) {
		size_t nc = s->caprun ? s->caprun * 2 : 16;
		struct run *nr = realloc(s->runs, nc * sizeof(*nr));

		if (!nr)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "sort");
		s->runs = nr;
		s->caprun = nc;
	}
	qsort(s->buf, s->n, s->rs, s->cmp);
	if (bk_tmp_write(s->fd, s->buf, s->n * s->rs, s->end, e) < 0)
		return -1;
	s->runs[s->nruns].off = s->end;
	s->runs[s->nruns].n = s->n;
	s->nruns++;
	s->end += (uint64_t)s->n * s->rs;
	s->n = 0;
	return 0;
}

int
bk_xsort_add(struct bk_xsort *s, const void *rec, struct sov_err *e)
{
	if (s->finished)
		return sov_err_set(e, SOV_EXIT_FAIL, "xsort: add after finish");
	if (!s->buf) {
		s->buf = malloc(s->cap * s->rs);
		if (!s->buf)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "sort");
	}
	if (s->n == s->cap && spill(s, e) < 0)
		return -1;
	memcpy(s->buf + s->n * s->rs, rec, s->rs);
	s->n++;
	s->count++;
	return 0;
}

int
bk_xsort_finish(struct bk_xsort *s, struct sov_err *e)
{
	if (s->finished)
		return 0;
	s->finished = 1;
	if (s->nruns == 0) {
		/* Everything fitted: read straight from the buffer. */
		if (s->n)
			qsort(s->buf, s->n, s->rs, s->cmp);
		return 0;
	}
	if (spill(s, e) < 0)
		return -1;
	free(s->buf);
	s->buf = NULL;
	return 0;
}

static const unsigned char *
head(const struct bk_xsort *s, size_t r)
{
	return s->rd[r].b + s->rd[r].pos * s->rs;
}

static int
less(const struct bk_xsort *s, size_t a, size_t b)
{
	int c = s->cmp(head(s, a), head(s, b));

	return c < 0 || (c == 0 && a < b);
}

static void
sift_down(struct bk_xsort *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i, t;

		if (l < s->nheap && less(s, s->heap[l], s->heap[m]))
			m = l;
		if (l + 1 < s->nheap && less(s, s->heap[l + 1], s->heap[m]))
			m = l + 1;
		if (m == i)
			return;
		t = s->heap[i];
		s->heap[i] = s->heap[m];
		s->heap[m] = t;
		i = m;
	}
}

/* Refill run r's buffer: 1 when it holds a record, 0 when r is done. */
static int
refill(struct bk_xsort *s, size_t r, size_t per, struct sov_err *e)
{
	struct reader *d = &s->rd[r];
	size_t want = d->left < per ? (size_t)d->left : per, got = 0;

	while (got < want * s->rs) {
		ssize_t k = pread(s->fd, d->b + got, want * s->rs - got,
				  (off_t)(d->off + got));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL,
					   "reading a sort run back");
		got += (size_t)k;
	}
	d->off += got;
	d->left -= want;
	d->have = want;
	d->pos = 0;
	return want > 0;
}

/* Records a run's read buffer holds: the budget shared by the runs. */
static size_t
per_run(const struct bk_xsort *s)
{
	size_t per = s->mem / s->nruns / s->rs;

	return per * s->rs < READ_MIN ? (READ_MIN + s->rs - 1) / s->rs : per;
}

static int
merge_start(struct bk_xsort *s, struct sov_err *e)
{
	size_t per = per_run(s);

	s->rd = calloc(s->nruns, sizeof(*s->rd));
	s->heap = malloc(s->nruns * sizeof(*s->heap));
	if (!s->rd || !s->heap)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "sort");
	for (size_t r = 0; r < s->nruns; r++) {
		int k;

		s->rd[r].off = s->runs[r].off;
		s->rd[r].left = s->runs[r].n;
		s->rd[r].b = malloc(per * s->rs);
		if (!s->rd[r].b)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "sort");
		k = refill(s, r, per, e);
		if (k < 0)
			return -1;
		if (k)
			s->heap[s->nheap++] = r;
	}
	for (size_t i = s->nheap / 2; i-- > 0;)
		sift_down(s, i);
	return 0;
}

int
bk_xsort_next(struct bk_xsort *s, void *rec, struct sov_err *e)
{
	size_t r;

	if (!s->finished)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "xsort: next before finish");
	if (s->nruns == 0) {
		if (s->mpos == s->n)
			return 0;
		memcpy(rec, s->buf + s->mpos++ * s->rs, s->rs);
		return 1;
	}
	if (!s->rd && merge_start(s, e) < 0)
		return -1;
	if (s->nheap == 0)
		return 0;
	r = s->heap[0];
	memcpy(rec, head(s, r), s->rs);
	if (++s->rd[r].pos == s->rd[r].have) {
		switch (refill(s, r, per_run(s), e)) {
		case -1:
			return -1;
		case 0:
			s->heap[0] = s->heap[--s->nheap];
			break;
		}
	}
	if (s->nheap)
		sift_down(s, 0);
	return 1;
}

uint64_t
bk_xsort_count(const struct bk_xsort *s)
{
	return s->count;
}

size_t
bk_xsort_runs(const struct bk_xsort *s)
{
	return s->nruns;
}
