/*
 * dirahead.h - a thread that lists the walk's next directories before the
 * walk gets there.
 *
 * With a cold cache a directory's first getdents is a read from the device
 * that the walk's thread waited for, and in an incremental run, where
 * almost every file is unchanged and never opened, those waits and the
 * device requests behind them were most of the walk's time beside its own
 * CPU work (1 GiB corpus, 3,500 directories). This thread goes through the
 * same PATHs in the walk's order (depth first, entries sorted by name, the
 * same excludes, --one-file-system and the repository left out), opening
 * each directory, reading its entries and stat'ing them, and stays at most
 * BK_DIRAHEAD_LEAD directories ahead of the walk. It only reads: it never
 * changes what is saved, and an error it meets is ignored (the walk meets
 * it again and reports it). A tree that changes under it only makes it
 * less useful.
 *
 * In an incremental run it also reads the parent snapshot's tree of each
 * of those directories (from the pack, decrypted, checked, parsed and
 * keyed by name, as bk_walk_parent_subtree would) and hands it over for
 * the walk to take, so the walk's thread, the one that does every stat
 * and builds every node, no longer waits for the repository either.
 *
 * With the last run's cache of directories (dircache.h) the lister sums
 * each listing as the walk will, and only the recorded trees the walk
 * will need are read: those of directories whose listing changed or that
 * are new, and of every directory above them (each gets a new subtree).
 */
#ifndef BK_DIRAHEAD_H
#define BK_DIRAHEAD_H

#include <jv.h>

#include "crypto.h"
#include "err.h"

/* Directories listed ahead of the walk, at most. */
#define BK_DIRAHEAD_LEAD 64
/* Deeper directories are left to the walk (each level holds a file
 * descriptor while the thread is below it). */
#define BK_DIRAHEAD_DEPTH 64

/* Parent trees held for the walk, at most: by count and by their bytes
 * as stored (a large directory's tree is not held twice). */
#define BK_DIRAHEAD_TREES (2 * BK_DIRAHEAD_LEAD)
#define BK_DIRAHEAD_TREE_BYTES (4u << 20)

struct bk_walk;
struct bk_dirahead;

/*
 * Start on the n absolute paths (copied); proot is the parent snapshot's
 * root tree (copied), or NULL. c's excludes, one_fs, repository identity,
 * repository and saver are used from the thread: they must not change
 * until bk_dirahead_free. NULL with e set when the thread cannot start.
 */
struct bk_dirahead *bk_dirahead_new(const struct bk_walk *c,
				    const char *const *paths, size_t n,
				    const unsigned char *proot,
				    struct sov_err *e);
/* The parent tree id read ahead, by name (bk_walk_by_name's map), now the
 * caller's; invalid when it was not (yet) read. da may be NULL. */
jv bk_dirahead_take(struct bk_dirahead *da, const unsigned char id[BK_ID_LEN]);
/* The walk opened its next directory. da may be NULL. */
void bk_dirahead_step(struct bk_dirahead *da);
/* Stop the thread and free everything; NULL is fine. */
void bk_dirahead_free(struct bk_dirahead *da);

#endif
