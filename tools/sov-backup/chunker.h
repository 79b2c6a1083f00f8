/*
 * chunker.h - content-defined chunking (FastCDC with normalised chunking),
 * keyed so that cut points do not reveal content to whoever sees sizes.
 *
 * The gear table (256 x 64-bit) is derived from a 32-byte secret of the
 * repository (BLAKE2b as a keyed PRF; the exact derivation is in chunker.c
 * and docs/repository-format.md), so two repositories cut the same file at
 * different places and an observer who knows a candidate plaintext cannot
 * predict the chunk lengths without the key. Cuts depend only on the bytes,
 * never on how the caller splits its reads: feeding a stream in 1-byte or
 * 1-MiB pieces gives the same chunks.
 *
 *   struct bk_chunker c;
 *   if (bk_chunker_init(&c, seed, &BK_CHUNK_FILES, &err) < 0) ...;
 *   while (... bytes in buf[0..n) ...) {
 *           size_t cut = bk_chunker_next(&c, buf, n, eof);
 *           if (cut == 0) break;        // need more bytes (or n == 0 at eof)
 *           emit(buf, cut); buf += cut; n -= cut;
 *   }
 *
 * The caller keeps unconsumed bytes and calls again with more appended; at
 * most params->max bytes are ever needed to find the next cut. Each call
 * scans from the chunk's start, so hand it at least max bytes (or all that
 * is left at eof) when you can: feeding a chunk in small pieces rescans it.
 *
 * Initialise once per repository and share: bk_chunker_next() only reads
 * the struct, so threads may use one chunker at once. The gear table is as
 * secret as the seed: sodium_memzero() the struct when done.
 *
 * Cut rule (what a third-party reader need not know, but a writer that
 * wants to dedup against sov-backup must reproduce): bytes [0, min) are not
 * hashed; from i = min on, h = (h << 1) + gear[buf[i]] (mod 2^64, h = 0 at
 * i = min) and the chunk ends after byte i when (h & mask) == 0, with
 * mask = mask_s while i + 1 <= avg and mask_l after; at max it ends anyway.
 */
#ifndef BK_CHUNKER_H
#define BK_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define BK_CHUNKER_SEED_LEN 32

struct bk_chunk_params {
	uint32_t min; /* no cut before min bytes */
	uint32_t avg; /* a power of two: the normalisation point */
	uint32_t max; /* always cut at max bytes */
};

/*
 * Ordinary files; and files that change in place by pages (SQLite, PG).
 * Chosen by measurement: docs/backup-chunking.md.
 */
extern const struct bk_chunk_params BK_CHUNK_FILES;
extern const struct bk_chunk_params BK_CHUNK_PAGES;

struct bk_chunker {
	uint64_t gear[256];
	uint64_t mask_s, mask_l; /* harder before avg, easier after */
	struct bk_chunk_params p;
};

/*
 * Derive the gear table from seed and set the parameters. Returns -1 with
 * e filled (SOV_EXIT_USAGE, naming the parameter) when params are unusable:
 * avg not a power of two, not min <= avg <= max, min < 64, or
 * max > BK_CHUNK_MAX_LIMIT.
 */
#define BK_CHUNK_MIN_LIMIT 64u
#define BK_CHUNK_MAX_LIMIT (64u << 20)
int bk_chunker_init(struct bk_chunker *c,
		    const unsigned char seed[BK_CHUNKER_SEED_LEN],
		    const struct bk_chunk_params *params, struct sov_err *e);

/*
 * The length of the next chunk at the start of buf[0..len): a cut point
 * found in it, or max when len >= max, or len when eof. 0 when more bytes
 * are needed (len < max and no cut found and not eof) or len == 0.
 */
size_t bk_chunker_next(const struct bk_chunker *c, const unsigned char *buf,
		       size_t len, int eof);

#endif
