/*
 * index_batch.h - a new index written in files of bounded size.
 *
 * Prune and repair replace every index file. Written as one file, the new
 * index needed two copies of itself in memory (encoded, then sealed) and
 * stopped at BK_INDEX_FILE_MAX (256 MiB: about five million blobs). Here
 * packs go out in files of about BK_INDEX_BATCH_BYTES each, as they come;
 * the last file, written by bk_index_batch_finish, lists the index files
 * the new ones supersede. A crash before that file leaves the old files in
 * force beside the new ones, which only repeat what they say.
 */
#ifndef BK_INDEX_BATCH_H
#define BK_INDEX_BATCH_H

#include "repo.h"

#define BK_INDEX_BATCH_BYTES (1u << 20)

struct bk_lock;

struct bk_index_batch {
	struct bk_repo *r;
	const struct bk_lock *lock; /* NULL, or: nothing written once lost */
	struct bk_pack_info *v;
	size_t n, cap, entries;
	size_t max_bytes; /* of entries a file; 0: BK_INDEX_BATCH_BYTES */
	uint64_t files;   /* index files written */
};

/* Zero b and set r (and lock) before the first call. Take one pack:
 * its ents are taken over, also on error. */
int bk_index_batch_add(struct bk_index_batch *b, struct bk_pack_info *pi,
		       struct sov_err *e);
/* Write what is left, with the superseded index ids. */
int bk_index_batch_finish(struct bk_index_batch *b,
			  const unsigned char (*sup)[BK_ID_LEN], size_t nsup,
			  struct sov_err *e);
void bk_index_batch_free(struct bk_index_batch *b);

#endif
