/*
 * chunker.c - keyed FastCDC (gear hash, normalised chunking, level 2).
 *
 * Gear table, exactly (docs/repository-format.md refers here):
 *
 *   for j in 0..31:
 *     out_j = BLAKE2b(key = seed (32 bytes), outlen = 64,
 *                     message = "sov-backup gear v1" (18 ASCII bytes, no NUL)
 *                               || one byte j)
 *     gear[8*j + k] = out_j[8*k .. 8*k+7] read as little-endian uint64,
 *                     k in 0..7
 *
 * (libsodium's crypto_generichash with a key is BLAKE2b in keyed mode.)
 *
 * Masks: with b = log2(avg), mask_s has b + 2 bits and mask_l has b - 2
 * bits (FastCDC's normalisation level 2). n bits sit at positions
 * 63 - floor(48 * i / n) for i in 0..n-1: spread over bits 16..63, never the
 * low bits, because bit k of a gear hash depends only on the last k + 1
 * bytes: a mask of low bits would judge a cut on a window of a few bytes.
 */
#include <string.h>

#include <sodium.h>

#include "chunker.h"

/* See docs/backup-chunking.md for the measurements behind both sets. */
const struct bk_chunk_params BK_CHUNK_FILES = {
    .min = 512u << 10, .avg = 1u << 20, .max = 8u << 20};
const struct bk_chunk_params BK_CHUNK_PAGES = {
    .min = 16u << 10, .avg = 64u << 10, .max = 256u << 10};

#define GEAR_DOMAIN "sov-backup gear v1"
#define GEAR_BLOCK 64 /* BLAKE2b's largest output: 8 gear entries */
#define MASK_SPAN 48  /* mask bits spread over the top 48 bits */

static uint64_t
load_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t
spread_mask(unsigned nbits)
{
	uint64_t m = 0;

	for (unsigned i = 0; i < nbits; i++)
		m |= (uint64_t)1 << (63 - (MASK_SPAN * i) / nbits);
	return m;
}

static unsigned
log2_u32(uint32_t v)
{
	unsigned b = 0;

	while (v >>= 1)
		b++;
	return b;
}

int
bk_chunker_init(struct bk_chunker *c,
		const unsigned char seed[BK_CHUNKER_SEED_LEN],
		const struct bk_chunk_params *params, struct sov_err *e)
{
	unsigned char msg[sizeof(GEAR_DOMAIN)];
	unsigned char out[GEAR_BLOCK];
	const struct bk_chunk_params *p = params;
	unsigned b;
	int rc = -1;

	if (p->avg == 0 || (p->avg & (p->avg - 1)) != 0) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "chunker: avg %u is not a power of two", p->avg);
		goto out;
	}
	if (p->min < BK_CHUNK_MIN_LIMIT) {
		sov_err_set(e, SOV_EXIT_USAGE, "chunker: min %u is below %u",
			    p->min, BK_CHUNK_MIN_LIMIT);
		goto out;
	}
	if (p->max > BK_CHUNK_MAX_LIMIT) {
		sov_err_set(e, SOV_EXIT_USAGE, "chunker: max %u is above %u",
			    p->max, BK_CHUNK_MAX_LIMIT);
		goto out;
	}
	if (p->min > p->avg || p->avg > p->max) {
		sov_err_set(
		    e, SOV_EXIT_USAGE,
		    "chunker: need min <= avg <= max, got min %u avg %u "
		    "max %u",
		    p->min, p->avg, p->max);
		goto out;
	}

	memcpy(msg, GEAR_DOMAIN, sizeof(GEAR_DOMAIN) - 1);
	for (unsigned j = 0; j < 256 / 8; j++) {
		msg[sizeof(GEAR_DOMAIN) - 1] = (unsigned char)j;
		if (crypto_generichash(out, sizeof(out), msg, sizeof(msg), seed,
				       BK_CHUNKER_SEED_LEN) != 0) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "chunker: BLAKE2b of gear block %u failed",
				    j);
			goto out;
		}
		for (unsigned k = 0; k < 8; k++)
			c->gear[8 * j + k] = load_le64(out + 8 * k);
	}
	/* min >= 64 and avg >= min, so b >= 6: mask_l keeps >= 4 bits. */
	b = log2_u32(p->avg);
	c->mask_s = spread_mask(b + 2);
	c->mask_l = spread_mask(b - 2);
	c->p = *p;
	rc = 0;
out:
	sodium_memzero(out, sizeof(out));
	return rc;
}

/*
 * Roll the gear hash over buf[i..end) and return the length of the chunk
 * that ends at the first byte where (h & mask) == 0, or 0. Two bytes per
 * iteration: halves the loop overhead; the test per byte is kept, so the
 * cut is the same as byte by byte.
 */
static size_t
scan(const uint64_t *restrict gear, const unsigned char *restrict buf, size_t i,
     size_t end, uint64_t mask, uint64_t *hp)
{
	uint64_t h = *hp;

	for (; i + 2 <= end; i += 2) {
		h = (h << 1) + gear[buf[i]];
		if (!(h & mask)) {
			*hp = h;
			return i + 1;
		}
		h = (h << 1) + gear[buf[i + 1]];
		if (!(h & mask)) {
			*hp = h;
			return i + 2;
		}
	}
	if (i < end) {
		h = (h << 1) + gear[buf[i]];
		if (!(h & mask)) {
			*hp = h;
			return i + 1;
		}
	}
	*hp = h;
	return 0;
}

size_t
bk_chunker_next(const struct bk_chunker *c, const unsigned char *buf,
		size_t len, int eof)
{
	size_t min = c->p.min, avg = c->p.avg, max = c->p.max;
	size_t end, cut;
	uint64_t h = 0;

	if (len == 0)
		return 0;
	end = len < max ? len : max;
	if (end > min) {
		cut = scan(c->gear, buf, min, end < avg ? end : avg, c->mask_s,
			   &h);
		if (cut)
			return cut;
		if (end > avg) {
			cut = scan(c->gear, buf, avg, end, c->mask_l, &h);
			if (cut)
				return cut;
		}
	}
	if (len >= max)
		return max;
	return eof ? len : 0;
}
