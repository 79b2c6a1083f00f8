/*
 * pack.h - packs: many sealed blobs in one object, and their header.
 *
 *   blob_0 ... blob_n-1 | sealed header | u32le length of the sealed header
 *
 * A blob is seal(zstd(data) or data) with the associated data
 * type || compression || id, so a blob cannot be swapped for another, moved
 * to another type, or have its compression flag flipped unnoticed. The
 * header (sealed, associated data "sov-backup pack v1") is
 *   "SOVPACK1" | u32le count | count x entry
 *   entry: u8 type | u8 compression | u16 0 | u32le offset | u32le length |
 *          u32le raw length | 32-byte blob id                  (48 bytes)
 * All integers little endian. The pack's name is the BLAKE2b-256 of its
 * skeleton: the pack's bytes with each blob's ciphertext left out, its
 * nonce and tag kept (format version 3). Every byte is still verified, the
 * skeleton by the name and each ciphertext by its tag (with the key), and
 * BLAKE2b reads 40 bytes a blob instead of all of them: hashing the whole
 * pack was a second pass over every byte a backup writes. See
 * docs/repository-format.md.
 */
#ifndef BK_PACK_H
#define BK_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"

enum { BK_BLOB_DATA = 0, BK_BLOB_TREE = 1 };
enum { BK_COMP_NONE = 0, BK_COMP_ZSTD = 1 };

#define BK_PACK_ENTRY_LEN 48
#define BK_PACK_MAGIC "SOVPACK1"
#define BK_PACK_HEADER_FIXED 12 /* magic and count */
#define BK_PACK_MAX_ENTRIES (1u << 20)
#define BK_BLOB_MAX (64u << 20) /* raw bytes of one blob */
#define BK_PACK_MAX ((uint64_t)1 << 32)
/* A pack is closed once it holds this many bytes. */
#define BK_PACK_TARGET (16u << 20)

struct bk_pack_entry {
	unsigned char id[BK_ID_LEN];
	uint32_t offset, length, raw;
	uint8_t type, comp;
};

/* The id of a blob of this type: bk_tree_id for trees, else bk_blob_id. */
void bk_typed_id(const struct bk_keys *k, int type, const void *data,
		 size_t len, unsigned char out[BK_ID_LEN]);

/* The associated data of a blob: type, compression, id. */
#define BK_BLOB_AD_LEN (2 + BK_ID_LEN)
void bk_blob_ad(const struct bk_pack_entry *en,
		unsigned char ad[BK_BLOB_AD_LEN]);

/*
 * Where a packer's bytes go as they are made: with a sink, every sealed
 * blob leaves as soon as it is sealed and buf holds one blob, so a thread
 * filling a pack keeps one blob in memory rather than the whole pack.
 * Without one, buf holds the whole pack (prune, tests).
 */
typedef int (*bk_pack_sink)(void *arg, const void *data, size_t len,
			    struct sov_err *e);

/* A pack being filled; zero it, then bk_packer_set_sink if wanted. */
struct bk_packer {
	unsigned char *buf;
	size_t len, cap; /* bytes in buf */
	uint64_t size;   /* bytes of the pack so far */
	struct bk_pack_entry *ents;
	uint32_t n, cap_ents;
	bk_storage_hash hash; /* of the skeleton so far: the pack's name */
	int hashing;
	void *zctx; /* kept between blobs: a context per blob costs more */
	bk_pack_sink sink;
	void *sink_arg;
};

void bk_packer_set_sink(struct bk_packer *p, bk_pack_sink sink, void *arg);

/*
 * Compress (zstd level, when that saves at least 1/64) and seal data as a
 * blob of the given type and id, appended to the packer. The entry is
 * returned in *out (also kept in the packer).
 */
int bk_packer_add(struct bk_packer *p, const struct bk_keys *k, int type,
		  const unsigned char id[BK_ID_LEN], const void *data,
		  size_t len, int level, struct bk_pack_entry *out,
		  struct sov_err *e);

/* Append a blob that is already sealed (prune copies blobs between packs
 * without opening them: the associated data travels with the entry). */
int bk_packer_add_sealed(struct bk_packer *p, const struct bk_pack_entry *en,
			 const unsigned char *sealed, struct sov_err *e);

/* Feed one sealed blob (nonce || ciphertext || tag, len bytes) to a pack's
 * name: its nonce and tag. Bytes outside every blob are hashed whole. */
void bk_pack_hash_blob(bk_storage_hash *h, const unsigned char *sealed,
		       size_t len);

/* Append the sealed header and trailer; the pack's name in id. The
 * packer keeps ents (and, without a sink, buf) for the caller to write and
 * index, then reset. */
int bk_packer_finish(struct bk_packer *p, const struct bk_keys *k,
		     unsigned char id[BK_ID_LEN], struct sov_err *e);
void bk_packer_reset(struct bk_packer *p);
void bk_packer_free(struct bk_packer *p);

/*
 * Parse a pack's header from its tail: tail holds the last tail_len bytes
 * of a pack of pack_size bytes (tail_len may be the whole pack). When the
 * header is longer than the tail, -1 with *need set to the bytes needed
 * (the caller reads that many and calls again); *need 0 means a real
 * error. Entries are checked to lie inside the blob area, in order,
 * without overlap. *ents is malloc'ed.
 */
int bk_pack_parse_header(const struct bk_keys *k, const unsigned char *tail,
			 size_t tail_len, uint64_t pack_size,
			 struct bk_pack_entry **ents, uint32_t *n, size_t *need,
			 const char *name, struct sov_err *e);

/*
 * Open one blob read from a pack (sealed bytes of en->length): unseal,
 * decompress into *out (malloc'ed, en->raw bytes), and check that its
 * keyed id is en->id. Errors name what.
 */
int bk_blob_open(const struct bk_keys *k, const struct bk_pack_entry *en,
		 const unsigned char *sealed, unsigned char **out,
		 const char *what, struct sov_err *e);

/* Little-endian helpers shared by the index codec and the local cache. */
void bk_put_u32(unsigned char *p, uint32_t v);
uint32_t bk_get_u32(const unsigned char *p);
void bk_put_u64(unsigned char *p, uint64_t v);
uint64_t bk_get_u64(const unsigned char *p);
void bk_entry_encode(const struct bk_pack_entry *en, unsigned char *p);
void bk_entry_decode(const unsigned char *p, struct bk_pack_entry *en);

#endif
