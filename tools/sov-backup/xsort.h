/*
 * xsort.h - sort fixed-size records in bounded memory (external merge sort).
 *
 * Prune needs the index sorted by blob id and again by pack, and the set of
 * used ids sorted; held in memory, these grow with the repository. Here
 * records collect in a buffer of at most mem bytes; a full buffer is sorted
 * and written as a run to an unlinked temporary file, and reading merges the
 * runs. Memory stays at about mem bytes however many records pass.
 *
 * The temporary file lives in $TMPDIR, else /var/tmp (not /tmp, which is
 * often a tmpfs, i.e. memory), and disappears with the process.
 */
#ifndef BK_XSORT_H
#define BK_XSORT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The default buffer, and the smallest one allowed (tests use it). */
#define BK_XSORT_MEM (1u << 20)
#define BK_XSORT_MEM_MIN (16u << 10)
#define BK_XSORT_REC_MAX 256

struct bk_xsort;

typedef int (*bk_xsort_cmp)(const void *a, const void *b);

/* recsize bytes a record, ordered by cmp; mem 0 means BK_XSORT_MEM. */
struct bk_xsort *bk_xsort_new(size_t recsize, bk_xsort_cmp cmp, size_t mem,
			      struct sov_err *e);
int bk_xsort_add(struct bk_xsort *s, const void *rec, struct sov_err *e);
/* No more records: after this, read them back in order with next. */
int bk_xsort_finish(struct bk_xsort *s, struct sov_err *e);
/* The next record into rec: 1, or 0 at the end, or -1 on error. */
int bk_xsort_next(struct bk_xsort *s, void *rec, struct sov_err *e);
uint64_t bk_xsort_count(const struct bk_xsort *s);
/* Runs written to disk so far (0: everything fitted in memory). */
size_t bk_xsort_runs(const struct bk_xsort *s);
void bk_xsort_free(struct bk_xsort *s); /* accepts NULL */

/* A temporary file, unlinked, in $TMPDIR or /var/tmp: a descriptor or -1. */
int bk_tmpfile(const char *what, struct sov_err *e);
/* Write all of data at off (a short write is retried; ENOSPC is 75). */
int bk_tmp_write(int fd, const void *data, size_t len, uint64_t off,
		 struct sov_err *e);

#endif
