/*
 * dircache.h - the last backup's directories, kept on this machine, so an
 * unchanged directory costs a listing and a stat of each entry, not a
 * parse of its parent tree, a node per entry and a tree to write and hash.
 *
 * A backup records, for every directory it walked, a sum of its listing
 * (each entry saved, by name, with every lstat field its node is made of)
 * and the tree it saved. The next backup of the same host and paths sums
 * each directory again: when the sum is the same and every subdirectory
 * came out as the same tree, the directory's tree is the recorded one,
 * byte for byte, since a tree is made from exactly those inputs (a file
 * whose stat is unchanged keeps its parent's content). When only a
 * subdirectory changed, the recorded tree is read and only the
 * subdirectories' ids are new. When the sum differs, the walk compares
 * entry by entry with the recorded tree as it did with the parent's.
 *
 * The cache is only used when it can only be right:
 *   - its snapshot is this backup's parent (the newest one of the same
 *     host and paths), so its trees are the parent's, and no prune can
 *     have removed their blobs while the parent is kept;
 *   - every index file it saw is still in the repository (a prune or
 *     repair rewrites them: the next run compares entry by entry, and a
 *     blob lost from the index is read and saved again, as before);
 *   - every user and group id it met still has the same name (nodes
 *     carry the names);
 *   - the same --atime, and its MAC, keyed from the repository's master
 *     key, is right (a file changed or torn by a crash is not used, and
 *     it names no path: paths are keyed hashes).
 * Otherwise the backup runs as without it and writes a new one. Only a
 * directory without warnings, SQLite sources or mount points below
 * --one-file-system gets a sum.
 *
 * File (little-endian), all sizes checked:
 *   magic "SOVBKDC1", u32 version (1), u32 flags (1: --atime),
 *   snapshot[32], selection[32] (keyed hash of host and paths),
 *   u64 index files, u64 owners, u64 directories,
 *   index file ids [32] each, sorted,
 *   owners: u32 id, u8 group, u8 named, u8[2] zero, name hash[16],
 *   directories: path hash[16], sum[16] (zero: none), tree[32], sorted
 *     by path hash,
 *   mac[32]: keyed BLAKE2b-256 of everything before it.
 */
#ifndef BK_DIRCACHE_H
#define BK_DIRCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <jv.h>
#include <sodium.h>

#include "crypto.h"
#include "err.h"

#define BK_DIRSUM_LEN 16
#define BK_DIRCACHE_VERSION 1
/* A cache larger than this is not read (4 million directories). */
#define BK_DIRCACHE_MAX (256u << 20)

struct bk_repo;
struct bk_dircache;

/* A directory's listing sum, entry by entry in the walk's order. */
typedef crypto_generichash_state bk_dirsum;
void bk_dirsum_init(bk_dirsum *s);
void bk_dirsum_add(bk_dirsum *s, const char *name, const struct stat *st,
		   int atime);
void bk_dirsum_final(bk_dirsum *s, unsigned char out[BK_DIRSUM_LEN]);

/*
 * Open the cache under root (--cache-dir, else sov_cache_dir's: lib/fs.h;
 * empty: none) for this repository, host and paths (sorted), recording
 * from now on; the previous one is loaded when parent (the parent
 * snapshot's id, or NULL) is its snapshot and it passes every check
 * above, else *why says why not (a static string). NULL with e set only
 * when out of memory.
 */
struct bk_dircache *bk_dircache_open(struct bk_repo *r, const char *root,
				     const char *host, jv paths, int atime,
				     const unsigned char *parent,
				     const char **why, struct sov_err *e);
/* Whether the previous run's cache was loaded. */
int bk_dircache_loaded(const struct bk_dircache *dc);
/*
 * The previous run's directory at path: its sum (all zero: none) and
 * tree. 0 found, -1 not. Safe from any thread (the loaded cache does not
 * change).
 */
int bk_dircache_find(const struct bk_dircache *dc, const char *path,
		     unsigned char sum[BK_DIRSUM_LEN],
		     unsigned char tree[BK_ID_LEN]);
/* Record this run's directory at path (sum NULL: none). The walk's thread
 * only, as are the rest. */
int bk_dircache_add(struct bk_dircache *dc, const char *path,
		    const unsigned char *sum,
		    const unsigned char tree[BK_ID_LEN], struct sov_err *e);
/* A user and group id this run met (their names are in the nodes). */
int bk_dircache_owner(struct bk_dircache *dc, uint32_t uid, uint32_t gid,
		      struct sov_err *e);
/*
 * Write this run's cache for snapshot (atomically: a temporary file
 * renamed over the last one). The index files are the repository's as
 * loaded and written by this run.
 */
int bk_dircache_save(struct bk_dircache *dc,
		     const unsigned char snapshot[BK_ID_LEN],
		     struct sov_err *e);
void bk_dircache_free(struct bk_dircache *dc);

/*
 * The file's checks and parse, for the loader and the fuzz target: buf
 * (len bytes) under the MAC key; the directories found (a pointer into
 * buf) and the counts. 0, or -1 with *why set.
 */
struct bk_dircache_file {
	uint32_t flags;
	const unsigned char *snapshot, *selection;
	const unsigned char *index, *owners, *dirs;
	uint64_t nindex, nowners, ndirs;
};
int bk_dircache_parse(const unsigned char key[BK_KEY_LEN],
		      const unsigned char *buf, size_t len,
		      struct bk_dircache_file *f, const char **why);

#endif
