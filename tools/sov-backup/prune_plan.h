/*
 * prune_plan.h - what prune keeps, in memory that does not grow with the
 * repository.
 *
 * The plan never loads the index into memory. It streams every index file
 * into a sort by blob id (xsort.h), and the trees into a second one written
 * out as a sorted file that the walk of the snapshots searches; the walk
 * streams every id it reaches into a third sort. One merge of the first
 * and the third then tells each blob used or not, counts per pack, and
 * fills a last sort of the blobs by pack and offset, which prune reads one
 * pack at a time. What stays in memory is the sort buffers (xsort.h), a
 * cache of the trees seen, and about 100 bytes per pack.
 *
 * Where an id is in the index more than once, the first in id order, then
 * index file, pack and offset, is the one kept; the others count as unused
 * bytes of their packs.
 */
#ifndef BK_PRUNE_PLAN_H
#define BK_PRUNE_PLAN_H

#include <jv.h>

#include "repo.h"
#include "xsort.h"

/* A blob as the sorts carry it. */
struct bk_prune_rec {
	unsigned char id[BK_ID_LEN];
	uint32_t pack; /* in the plan's pack table */
	uint32_t file; /* the index file it came from */
	uint32_t offset, length, raw;
	uint8_t type, comp, used, pad;
};

enum { BK_PRUNE_KEEP = 0, BK_PRUNE_DELETE = 1, BK_PRUNE_REPACK = 2 };

struct bk_prune_pack {
	uint64_t used_bytes, unused_bytes;
	uint32_t used, unused;
	int listed; /* by an index file in force (not only superseded ones) */
	int action;
};

struct bk_prune_plan {
	struct bk_index *packs; /* the pack table only, no blobs */
	uint32_t npacks;        /* the packs some index file names */
	struct bk_prune_pack *ps;
	struct bk_xsort *by_pack; /* bk_prune_rec, every blob kept in the
				     index (not duplicates), used set */
	struct bk_names index_files;
	size_t mem;                 /* of each sort; 0: BK_XSORT_MEM */
	uint64_t trees;             /* distinct trees the snapshots reach */
	uint64_t blobs, duplicates; /* in the index */
	uint64_t sort_runs;         /* buffers the sorts wrote to disk */
};

/*
 * Mark what the snapshots (an array of snapshot objects, not consumed)
 * need and count per pack; on return the packs' actions are set from
 * max_unused (a percentage) and by_pack is ready to read. A snapshot that
 * needs a blob the index lacks is an error: nothing may be deleted then.
 * Zero p and set p->mem before.
 */
int bk_prune_plan_make(struct bk_repo *r, jv snaps, long max_unused,
		       struct bk_prune_plan *p, struct sov_err *e);
void bk_prune_plan_free(struct bk_prune_plan *p);

/* A record's pack entry. */
void bk_prune_rec_entry(const struct bk_prune_rec *x, struct bk_pack_entry *en);

#endif
