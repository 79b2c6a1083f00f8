/*
 * restorer.h - file contents written by worker threads during a restore.
 *
 * The walk (one thread, which owns every jv) creates each file and hands
 * its open descriptor and chunk ids here; workers read, open and verify the
 * blobs and write them, one file per worker at a time, so a restore uses
 * every core for decryption and decompression. Metadata is applied by the
 * walk afterwards.
 */
#ifndef BK_RESTORER_H
#define BK_RESTORER_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "repo.h"

struct bk_restorer;

/* Read, open and verify each blob of ids in turn and write it to fd;
 * *bytes counts what was written. path names the file in errors. */
int bk_write_blobs(struct bk_repo *r, unsigned char (*ids)[BK_ID_LEN],
		   size_t nids, int fd, const char *path, uint64_t *bytes,
		   struct sov_err *e);

struct bk_restorer *bk_restorer_new(struct bk_repo *r, int threads,
				    struct sov_err *e);

/*
 * Queue one file: fd (closed by the restorer), nids chunk ids (the array
 * is taken over, malloc'ed), path for messages (copied). Blocks while the
 * queue is full. After a worker failed, returns -1 with its error (and
 * closes fd, frees ids).
 */
int bk_restorer_add(struct bk_restorer *w, int fd,
		    unsigned char (*ids)[BK_ID_LEN], size_t nids,
		    const char *path, struct sov_err *e);

/* Wait for every queued file; the bytes written; the first error. */
int bk_restorer_finish(struct bk_restorer *w, uint64_t *bytes,
		       struct sov_err *e);
void bk_restorer_free(struct bk_restorer *w);

#endif
