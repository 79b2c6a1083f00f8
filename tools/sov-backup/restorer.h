/*
 * restorer.h - file contents written by worker threads during a restore.
 *
 * The walk (one thread, which owns every jv) creates each file and hands
 * its open descriptor, chunk ids and metadata (a struct bk_meta, no node)
 * here. A small file is one job; a file of more than BK_RESTORE_SLICE raw
 * bytes is cut into slices of consecutive chunks, each a job of its own
 * written with pwrite at its offset, so every worker keeps busy while a
 * big file is decrypted and decompressed. Whoever finishes a file's last
 * job applies its metadata through the descriptor and closes it. The
 * queue is bounded, by the open-files limit (each queued file holds its
 * descriptor): memory does not grow with the number or size of files.
 * bk_restorer_new may raise the process's soft open-files limit toward
 * the hard one for that.
 */
#ifndef BK_RESTORER_H
#define BK_RESTORER_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "meta.h"
#include "repo.h"

/* Raw bytes of one slice of a big file (about: slices end on chunks). 4
 * and 16 MiB measured the same on the 1 GiB bench corpus. */
#define BK_RESTORE_SLICE (8u << 20)

struct bk_restorer;

/* Read, open and verify each blob of ids in turn and write it to fd
 * (sequentially: a pipe or a temporary file will do); *bytes counts what
 * was written. path names the file in errors. */
int bk_write_blobs(struct bk_repo *r, unsigned char (*ids)[BK_ID_LEN],
		   size_t nids, int fd, const char *path, uint64_t *bytes,
		   struct sov_err *e);

struct bk_restorer *bk_restorer_new(struct bk_repo *r, int threads,
				    struct sov_err *e);

/*
 * Queue one file: fd (a regular file, closed by the restorer, its close
 * checked), nids chunk ids (the array is taken over, malloc'ed), path for
 * messages (copied), meta applied through fd after its last byte (copied;
 * NULL: none). Blocks while the queue is full. A chunk missing from the
 * index is reported by the job that reads it, as bk_write_blobs does. A
 * failure in any slice is reported once, naming path; after it, or after
 * any worker failed, returns -1 with that error (fd closed, ids freed).
 */
int bk_restorer_add(struct bk_restorer *w, int fd,
		    unsigned char (*ids)[BK_ID_LEN], size_t nids,
		    const char *path, const struct bk_meta *meta,
		    struct sov_err *e);

/* Wait for every queued file; the bytes written; the first error. */
int bk_restorer_finish(struct bk_restorer *w, uint64_t *bytes,
		       struct sov_err *e);
void bk_restorer_free(struct bk_restorer *w);

#endif
