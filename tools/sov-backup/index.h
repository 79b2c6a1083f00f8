/*
 * index.h - where every blob is: the in-memory index, and index files.
 *
 * An index file (sealed, associated data "sov-backup index v1"):
 *   "SOVIDX01" | u32le s | s x 32-byte id of an index file it supersedes |
 *   u32le p | p x (32-byte pack id | u32le count | count x pack entry)
 * Pack entries as in pack.h. A reader loads every index file, then drops
 * the ones some loaded file supersedes (prune writes the new index before
 * deleting the old ones, so a crash in between leaves both, and the
 * superseded one is ignored).
 *
 * In memory a blob costs 56 bytes: the entry and a 32-bit pack number
 * into a table of pack ids, in blocks of 16384; an open-addressing table
 * of 32-bit slots (at most half full) finds it by id.
 */
#ifndef BK_INDEX_H
#define BK_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "pack.h"

#define BK_INDEX_MAGIC "SOVIDX01"
#define BK_INDEX_FILE_MAX (256u << 20)
#define BK_INDEX_MAX_PACKS (1u << 24)

struct bk_blob {
	struct bk_pack_entry en;
	uint32_t pack; /* into the pack table */
};

struct bk_index;

struct bk_index *bk_index_new(struct sov_err *e);
void bk_index_free(struct bk_index *x);

/* The number of a pack id, added when new. UINT32_MAX on out of memory. */
uint32_t bk_index_pack(struct bk_index *x, const unsigned char id[BK_ID_LEN]);
const unsigned char *bk_index_pack_id(const struct bk_index *x, uint32_t n);
uint32_t bk_index_npacks(const struct bk_index *x);

/* Add a blob unless its id is present: 1 added, 0 present, -1 error. */
int bk_index_add(struct bk_index *x, const struct bk_pack_entry *en,
		 uint32_t pack, struct sov_err *e);

/* The blob with this id, or NULL. Blobs never move: valid until the
 * index is freed. */
const struct bk_blob *bk_index_get(const struct bk_index *x,
				   const unsigned char id[BK_ID_LEN]);
/* The same, and its position (as bk_index_at numbers them) in *pos. */
const struct bk_blob *bk_index_find(const struct bk_index *x,
				    const unsigned char id[BK_ID_LEN],
				    size_t *pos);

/* Every blob, in insertion order: 0..count-1. */
size_t bk_index_count(const struct bk_index *x);
const struct bk_blob *bk_index_at(const struct bk_index *x, size_t i);

/* One pack's entries, as a backup or prune has just written them. */
struct bk_pack_info {
	unsigned char id[BK_ID_LEN];
	struct bk_pack_entry *ents;
	uint32_t n;
	uint64_t size;
};

/* Encode and seal an index file of packs (and superseded index ids). */
int bk_indexfile_encode(const struct bk_keys *k,
			const struct bk_pack_info *packs, size_t npacks,
			const unsigned char (*supersedes)[BK_ID_LEN],
			size_t nsup, unsigned char **out, size_t *len,
			struct sov_err *e);

/*
 * Unseal and decode an index file into x (blobs already present are kept
 * as they are). Its superseded ids are appended to *sup (malloc'ed array,
 * *nsup entries; may be NULL when not wanted). name for messages.
 */
int bk_indexfile_decode(const struct bk_keys *k, const unsigned char *sealed,
			size_t len, struct bk_index *x,
			unsigned char (**sup)[BK_ID_LEN], size_t *nsup,
			const char *name, struct sov_err *e);

/*
 * The same, handing each pack section and each of its entries to v instead
 * (prune streams them into a sort): pack is called before the section's
 * blobs. A callback's -1 stops the parse with its error.
 */
struct bk_index_visitor {
	int (*pack)(void *arg, const unsigned char id[BK_ID_LEN],
		    struct sov_err *e);
	int (*blob)(void *arg, const struct bk_pack_entry *en,
		    struct sov_err *e);
	void *arg;
};
int bk_indexfile_parse(const struct bk_keys *k, const unsigned char *sealed,
		       size_t len, const struct bk_index_visitor *v,
		       unsigned char (**sup)[BK_ID_LEN], size_t *nsup,
		       const char *name, struct sov_err *e);

/* A visitor that adds what it is handed into x, its state in *t. */
struct bk_index_into {
	struct bk_index *x;
	uint32_t pack;
	const char *name;
};
void bk_index_into(struct bk_index_into *t, struct bk_index *x,
		   const char *name, struct bk_index_visitor *v);

#endif
