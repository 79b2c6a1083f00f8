/*
 * saver.h - new blobs into packs, on worker threads (one per core).
 *
 * The walk hands over a data blob's bytes and goes on reading; a worker
 * computes its id, checks it against the repository's index and the blobs
 * of this run, and when it is new compresses, seals and writes it into the
 * pack that worker is filling, straight to the backend (a worker holds one
 * blob in memory, not a pack). The ids come back to the walk in the order
 * the blobs were handed over. Index files are written every
 * BK_SAVER_INDEX_PACKS packs, so an interrupted backup's work is found by
 * the next one.
 *
 * Every function but bk_saver_locate is called from one thread (the
 * walk's).
 */
#ifndef BK_SAVER_H
#define BK_SAVER_H

#include "repo.h"

#define BK_SAVER_INDEX_PACKS 64

struct bk_saver;
struct bk_saver *bk_saver_new(struct bk_repo *r, int threads,
			      struct sov_err *e);

/*
 * A data blob (len bytes, copied) whose id a worker computes. When it is
 * known, fn(arg, id) is called, in submission order, from inside
 * bk_saver_submit (this call or a later one) or bk_saver_drain; fn
 * returning non-zero stops that call with -1 (fn filled e), and the blob
 * may or may not have been queued: callers treat it as fatal.
 */
typedef int (*bk_saver_id_fn)(void *arg, const unsigned char id[BK_ID_LEN],
			      struct sov_err *e);
int bk_saver_submit(struct bk_saver *s, const void *data, size_t len,
		    bk_saver_id_fn fn, void *arg, struct sov_err *e);
/*
 * fn(arg, id of zeros) once every blob submitted before has gone to its
 * fn: in order with them, from inside this call or a later submit, then
 * or drain, so the caller goes on without waiting for the workers. Never
 * called once a worker failed. -1 (e set): a worker or a callback
 * failed, and fn may or may not be registered: callers treat it as
 * fatal, and own arg until fn runs.
 */
int bk_saver_then(struct bk_saver *s, bk_saver_id_fn fn, void *arg,
		  struct sov_err *e);
/* Wait until every submitted blob's id has gone to its fn. */
int bk_saver_drain(struct bk_saver *s, struct sov_err *e);

/*
 * A blob whose id the caller computed (trees): saved unless the repository
 * or this run already has it. 1 when queued as new, 0 when known. data is
 * copied.
 */
int bk_saver_add(struct bk_saver *s, int type,
		 const unsigned char id[BK_ID_LEN], const void *data,
		 size_t len, struct sov_err *e);

/*
 * While a lock is set, no index file is written once it is lost: a prune
 * that took the repository over may be deleting the packs not yet
 * indexed, and an index naming them would point at nothing.
 */
struct bk_lock;
void bk_saver_set_lock(struct bk_saver *s, const struct bk_lock *l);

/*
 * Where the repository's index has blob id: its pack's id and entry,
 * copied. Safe from any thread (the index grows under the saver's lock
 * while a backup writes index files). 0 found, -1 not.
 */
int bk_saver_locate(struct bk_saver *s, const unsigned char id[BK_ID_LEN],
		    unsigned char pack[BK_ID_LEN], struct bk_pack_entry *en);

/* Bytes of new blobs (before compression), new blobs, bytes and packs
 * written. */
struct bk_saver_stats {
	uint64_t new_bytes, new_blobs, stored_bytes, packs;
};
void bk_saver_stats(struct bk_saver *s, struct bk_saver_stats *st);

/* Wait for the workers, write the last packs and index. */
int bk_saver_finish(struct bk_saver *s, struct sov_err *e);
void bk_saver_free(struct bk_saver *s);

#endif
