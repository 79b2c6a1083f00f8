/*
 * index_batch.c - a new index written in files of bounded size (see
 * index_batch.h).
 */
#include <stdlib.h>

#include "index_batch.h"
#include "lock.h"

static void
drop(struct bk_index_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].ents);
	b->n = 0;
	b->entries = 0;
}

static int
flush(struct bk_index_batch *b, const unsigned char (*sup)[BK_ID_LEN],
      size_t nsup, struct sov_err *e)
{
	int rc;

	if (b->n == 0 && nsup == 0)
		return 0;
	if (b->lock && bk_lock_lost(b->lock)) {
		drop(b);
		return sov_err_set(e, SOV_EXIT_TEMPFAIL,
				   "the repository lock was lost: stopped "
				   "before writing the index");
	}
	rc = bk_repo_put_index(b->r, b->v, b->n, sup, nsup, e);
	drop(b);
	if (rc == 0)
		b->files++;
	return rc;
}

int
bk_index_batch_add(struct bk_index_batch *b, struct bk_pack_info *pi,
		   struct sov_err *e)
{
	if (b->n == b->cap) {
		size_t nc = b->cap ? 2 * b->cap : 64;
		struct bk_pack_info *nv = realloc(b->v, nc * sizeof(*nv));

		if (!nv) {
			free(pi->ents);
			pi->ents = NULL;
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "index");
		}
		b->v = nv;
		b->cap = nc;
	}
	b->v[b->n++] = *pi;
	b->entries += pi->n;
	pi->ents = NULL;
	if ((uint64_t)b->entries * BK_PACK_ENTRY_LEN >=
	    (b->max_bytes ? b->max_bytes : BK_INDEX_BATCH_BYTES))
		return flush(b, NULL, 0, e);
	return 0;
}

int
bk_index_batch_finish(struct bk_index_batch *b,
		      const unsigned char (*sup)[BK_ID_LEN], size_t nsup,
		      struct sov_err *e)
{
	return flush(b, sup, nsup, e);
}

void
bk_index_batch_free(struct bk_index_batch *b)
{
	drop(b);
	free(b->v);
	b->v = NULL;
	b->cap = 0;
}
