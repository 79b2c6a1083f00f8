/*
 * test_backup_pack.c - tools/sov-backup/pack.c and index.c: the pack writer
 * (compression chosen per blob), the pack header parser with its "read more
 * of the tail" protocol and every rejection, opening blobs (and everything
 * that must make that fail), copying sealed blobs between packs; the
 * in-memory index under growth and hash collisions; the index file codec
 * and every way a decoder must refuse an index file.
 *
 * Malformed headers and index files are sealed here with the repository key
 * and the documented associated data, so the tests reach the checks behind
 * the authentication.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zstd.h>

#include "backup_test_helpers.h"
#include "crypto.h"
#include "index.h"
#include "pack.h"
#include "tap.h"

/* docs/repository-format.md */
#define PACK_AD "sov-backup pack v1"
#define INDEX_AD "sov-backup index v1"

static struct bk_keys *
keys_from_byte(unsigned char b)
{
	unsigned char m[BK_KEY_LEN];
	struct sov_err e = {0};
	struct bk_keys *k;

	memset(m, b, sizeof(m));
	k = bk_keys_new(m, &e);
	if (!k)
		die(e.msg);
	return k;
}

/* Text-like bytes: compress well. */
static void
fill_text(unsigned char *p, size_t n, unsigned seed)
{
	static const char *words[] = {"backup ",   "pack ", "index ", "blob ",
				      "snapshot ", "tree ", "chunk\n"};
	size_t i = 0;

	while (i < n) {
		const char *w;

		seed = seed * 1103515245u + 12345u;
		w = words[(seed >> 16) % 7];

		for (size_t j = 0; w[j] && i < n; j++)
			p[i++] = (unsigned char)w[j];
	}
}

static int
entry_eq(const struct bk_pack_entry *a, const struct bk_pack_entry *b)
{
	return memcmp(a->id, b->id, BK_ID_LEN) == 0 && a->offset == b->offset &&
	       a->length == b->length && a->raw == b->raw &&
	       a->type == b->type && a->comp == b->comp;
}

static void
test_le(void)
{
	unsigned char b[BK_PACK_ENTRY_LEN];
	struct bk_pack_entry en, back;

	bk_put_u32(b, 0x04030201u);
	ok(b[0] == 1 && b[1] == 2 && b[2] == 3 && b[3] == 4,
	   "u32: little endian");
	is_int(bk_get_u32(b), 0x04030201u, "u32: read back");
	bk_put_u32(b, 0xffffffffu);
	is_int(bk_get_u32(b), 0xffffffffu, "u32: all ones");

	memset(&en, 0, sizeof(en));
	for (int i = 0; i < BK_ID_LEN; i++)
		en.id[i] = (unsigned char)(i + 100);
	en.type = BK_BLOB_TREE;
	en.comp = BK_COMP_ZSTD;
	en.offset = 0x11223344u;
	en.length = 0x55667788u;
	en.raw = 0x99aabbccu;
	memset(b, 0xee, sizeof(b));
	bk_entry_encode(&en, b);
	ok(b[0] == 1 && b[1] == 1 && b[2] == 0 && b[3] == 0 &&
	       bk_get_u32(b + 4) == en.offset &&
	       bk_get_u32(b + 8) == en.length && bk_get_u32(b + 12) == en.raw &&
	       memcmp(b + 16, en.id, BK_ID_LEN) == 0,
	   "entry: the documented 48-byte layout");
	memset(&back, 0, sizeof(back));
	bk_entry_decode(b, &back);
	ok(entry_eq(&en, &back), "entry: encode/decode round trip");
	{
		unsigned char ad[BK_BLOB_AD_LEN];

		bk_blob_ad(&en, ad);
		ok(ad[0] == 1 && ad[1] == 1 &&
		       memcmp(ad + 2, en.id, BK_ID_LEN) == 0,
		   "blob AD: type || compression || id");
	}
}

#define MIXED (1u << 20)

static void
test_packer(struct bk_keys *k)
{
	struct bk_packer p;
	struct bk_pack_entry en[6], *ents = NULL;
	struct sov_err e = {0};
	unsigned char ids[6][BK_ID_LEN], packid[BK_ID_LEN], want[BK_ID_LEN];
	unsigned char *text = xmalloc(100000), *rnd = xmalloc(100000), *out;
	unsigned char *mixed = xmalloc(MIXED), *mixed2 = xmalloc(MIXED);
	uint32_t n = 0;
	size_t need = 0;
	int bad;

	memset(&p, 0, sizeof(p));
	fill_text(text, 100000, 7);
	randombytes_buf(rnd, 100000);
	/* 1 MiB of random bytes with a run of zeros: zstd saves about the
	 * run's length. 32 KiB is over 1/64 of the blob; 8 KiB is under it,
	 * but over 1/64 of zstd's 128 KiB block, so zstd itself still
	 * compresses it and only the packer's own rule keeps it raw. */
	randombytes_buf(mixed, MIXED);
	memcpy(mixed2, mixed, MIXED);
	memset(mixed + 300000, 0, 32768);
	memset(mixed2 + 300000, 0, 8192);

	bk_blob_id(k, text, 100000, ids[0]);
	is_int(bk_packer_add(&p, k, BK_BLOB_DATA, ids[0], text, 100000, 3,
			     &en[0], &e),
	       0, "packer: add compressible");
	is_int(en[0].comp, BK_COMP_ZSTD, "packer: compressible: zstd");
	ok(en[0].length < 100000 / 4, "packer: ... and much smaller (%u)",
	   en[0].length);
	is_int(en[0].offset, 0, "packer: first blob at 0");
	is_int(en[0].raw, 100000, "packer: raw length");
	is_int(en[0].type, BK_BLOB_DATA, "packer: type data");
	ok(memcmp(en[0].id, ids[0], BK_ID_LEN) == 0, "packer: id kept");

	bk_tree_id(k, rnd, 100000, ids[1]);
	is_int(bk_packer_add(&p, k, BK_BLOB_TREE, ids[1], rnd, 100000, 3,
			     &en[1], &e),
	       0, "packer: add incompressible");
	is_int(en[1].comp, BK_COMP_NONE, "packer: incompressible: stored raw");
	is_int(en[1].length, 100000 + BK_SEAL_OVERHEAD,
	       "packer: raw blob is data + seal overhead");
	is_int(en[1].offset, en[0].length, "packer: blobs follow each other");
	is_int(en[1].type, BK_BLOB_TREE, "packer: type tree");

	/* Compressible but at level 0, and too small to try. */
	bk_blob_id(k, text, 5000, ids[2]);
	bk_packer_add(&p, k, BK_BLOB_DATA, ids[2], text, 5000, 0, &en[2], &e);
	is_int(en[2].comp, BK_COMP_NONE, "packer: level 0 never compresses");
	bk_blob_id(k, text, 63, ids[3]);
	bk_packer_add(&p, k, BK_BLOB_DATA, ids[3], text, 63, 3, &en[3], &e);
	is_int(en[3].comp, BK_COMP_NONE,
	       "packer: under 64 bytes is not compressed");

	/* The 1/64 rule at both sides. */
	{
		size_t zc = ZSTD_compressBound(MIXED);
		unsigned char *z = xmalloc(zc);
		size_t z1 = ZSTD_compress(z, zc, mixed, MIXED, 3);
		size_t z2 = ZSTD_compress(z, zc, mixed2, MIXED, 3);

		ok(!ZSTD_isError(z1) && z1 < MIXED - MIXED / 64 &&
		       !ZSTD_isError(z2) && z2 >= MIXED - MIXED / 64 &&
		       z2 < MIXED,
		   "zstd itself: %zu and %zu bytes, either side of the 1/64 "
		   "line (%u), both smaller than %u",
		   z1, z2, MIXED - MIXED / 64, MIXED);
		free(z);
	}
	bk_blob_id(k, mixed, MIXED, ids[4]);
	bk_packer_add(&p, k, BK_BLOB_DATA, ids[4], mixed, MIXED, 3, &en[4], &e);
	is_int(en[4].comp, BK_COMP_ZSTD,
	       "packer: saving more than 1/64 compresses");
	bk_blob_id(k, mixed2, MIXED, ids[5]);
	bk_packer_add(&p, k, BK_BLOB_DATA, ids[5], mixed2, MIXED, 3, &en[5],
		      &e);
	is_int(en[5].comp, BK_COMP_NONE,
	       "packer: saving less than 1/64 stays raw");
	is_int(p.n, 6, "packer: six entries");
	bad = 0;
	for (int i = 0; i < 6; i++)
		if (!entry_eq(&p.ents[i], &en[i]))
			bad++;
	is_int(bad, 0, "packer: entries kept as returned");

	is_int(bk_packer_finish(&p, k, packid, &e), 0, "packer: finish");
	skeleton_id(p.buf, p.len, en, 6, want);
	ok(memcmp(packid, want, BK_ID_LEN) == 0,
	   "packer: the pack id hashes its skeleton (nonces, tags, header)");
	bk_storage_id(p.buf, p.len, want);
	ok(memcmp(packid, want, BK_ID_LEN) != 0,
	   "packer: ... not every byte (format version 2's name)");
	{
		/* A ciphertext byte is left to the tag; a nonce or tag
		 * byte changes the name. */
		unsigned char *mid = p.buf + en[1].offset + en[1].length / 2;
		unsigned char *tag = p.buf + en[1].offset + en[1].length - 1;

		*mid ^= 0x40;
		skeleton_id(p.buf, p.len, en, 6, want);
		ok(memcmp(packid, want, BK_ID_LEN) == 0,
		   "packer: a flipped ciphertext byte keeps the name");
		is_int(bk_blob_open(k, &en[1], p.buf + en[1].offset, &out,
				    "flipped", &e),
		       -1, "packer: ... and the blob no longer opens");
		like(e.msg, "authentication failed", "packer: ... says why");
		sov_err_clear(&e);
		*mid ^= 0x40;
		*tag ^= 0x01;
		skeleton_id(p.buf, p.len, en, 6, want);
		ok(memcmp(packid, want, BK_ID_LEN) != 0,
		   "packer: a flipped tag byte changes the name");
		*tag ^= 0x01;
	}
	is_int(bk_get_u32(p.buf + p.len - 4),
	       BK_SEAL_OVERHEAD + BK_PACK_HEADER_FIXED + 6 * BK_PACK_ENTRY_LEN,
	       "packer: trailer is the sealed header length");

	is_int(bk_pack_parse_header(k, p.buf, p.len, p.len, &ents, &n, &need,
				    "p1", &e),
	       0, "parse: the whole pack as the tail");
	is_int(n, 6, "parse: six entries");
	bad = 0;
	for (uint32_t i = 0; i < n && i < 6; i++)
		if (!entry_eq(&ents[i], &en[i]))
			bad++;
	is_int(bad, 0, "parse: entries as written");
	free(ents);

	/* The protocol: the last 4 bytes tell how much more to read. */
	sov_err_clear(&e);
	is_int(bk_pack_parse_header(k, p.buf + p.len - 4, 4, p.len, &ents, &n,
				    &need, "p1", &e),
	       -1, "parse: 4-byte tail: not enough");
	is_int(need, bk_get_u32(p.buf + p.len - 4) + 4,
	       "parse: *need is the header length + 4");
	like(e.msg, "pack p1: short tail", "parse: short tail message");
	ok(ents == NULL && n == 0, "parse: no entries on a short tail");
	is_int(bk_pack_parse_header(k, p.buf + p.len - (need - 1), need - 1,
				    p.len, &ents, &n, &need, "p1", &e),
	       -1, "parse: one byte short: not enough");
	is_int(need, bk_get_u32(p.buf + p.len - 4) + 4,
	       "parse: ... same *need");
	is_int(bk_pack_parse_header(k, p.buf + p.len - need, need, p.len, &ents,
				    &n, &need, "p1", &e),
	       0, "parse: exactly the bytes it asked for");
	is_int(n, 6, "parse: ... six entries");
	free(ents);
	ents = NULL;

	/* Open every blob from the pack buffer. */
	bad = 0;
	{
		const unsigned char *src[6] = {text, rnd,   text,
					       text, mixed, mixed2};

		for (int i = 0; i < 6; i++) {
			if (bk_blob_open(k, &en[i], p.buf + en[i].offset, &out,
					 "blob", &e) != 0 ||
			    memcmp(out, src[i], en[i].raw) != 0)
				bad++;
			free(out);
		}
	}
	is_int(bad, 0, "blob open: all six, compressed or not, read back");

	/* Reset and reuse. */
	bk_packer_reset(&p);
	ok(p.n == 0 && p.len == 0, "packer: reset empties it");
	is_int(
	    bk_packer_add(&p, k, BK_BLOB_DATA, ids[3], text, 63, 3, &en[0], &e),
	    0, "packer: add after reset");
	is_int(en[0].offset, 0, "packer: ... at offset 0 again");
	bk_packer_reset(&p);
	is_int(bk_packer_finish(&p, k, packid, &e), 0,
	       "packer: finish an empty pack");
	is_int(bk_pack_parse_header(k, p.buf, p.len, p.len, &ents, &n, &need,
				    "empty", &e),
	       0, "parse: an empty pack parses");
	is_int(n, 0, "parse: ... with no entries");
	free(ents);

	/* Over the blob limit: refused before anything is read. */
	{
		unsigned char *huge = calloc(1, (size_t)BK_BLOB_MAX + 1);

		if (!huge)
			die("calloc");
		bk_packer_reset(&p);
		sov_err_clear(&e);
		is_int(bk_packer_add(&p, k, BK_BLOB_DATA, ids[0], huge,
				     (size_t)BK_BLOB_MAX + 1, 1, NULL, &e),
		       -1, "packer: a blob over 64 MiB refused");
		like(e.msg, "over the limit", "packer: ... says so");
		is_int(p.n, 0, "packer: ... and adds nothing");
		/* exactly the limit is fine (zeros: compress to nothing) */
		is_int(bk_packer_add(&p, k, BK_BLOB_DATA, ids[0], huge,
				     BK_BLOB_MAX, 1, &en[0], &e),
		       0, "packer: a blob of exactly 64 MiB is accepted");
		free(huge);
	}
	bk_packer_free(&p);
	ok(p.buf == NULL && p.ents == NULL && p.n == 0,
	   "packer: free zeroes it");
	bk_packer_free(&p);
	ok(1, "packer: free twice is harmless");
	free(text);
	free(rnd);
	free(mixed);
	free(mixed2);
}

/* A pack whose blob area is area bytes of zeros and whose header is plain
 * (hlen bytes) sealed with key k and ad. */
static unsigned char *
craft_pack(const struct bk_keys *k, const char *ad, size_t area,
	   const unsigned char *plain, size_t hlen, size_t *size)
{
	unsigned char *b = calloc(1, area + hlen + BK_SEAL_OVERHEAD + 4);

	if (!b)
		die("calloc");
	bk_seal(k, ad, strlen(ad), plain, hlen, b + area);
	bk_put_u32(b + area + hlen + BK_SEAL_OVERHEAD,
		   (uint32_t)(hlen + BK_SEAL_OVERHEAD));
	*size = area + hlen + BK_SEAL_OVERHEAD + 4;
	return b;
}

/* A header of n entries, blobs of 100 sealed bytes from 0 on. */
static size_t
make_header(unsigned char *h, uint32_t n)
{
	memcpy(h, BK_PACK_MAGIC, 8);
	bk_put_u32(h + 8, n);
	for (uint32_t i = 0; i < n; i++) {
		struct bk_pack_entry en;

		memset(&en, 0, sizeof(en));
		en.id[0] = (unsigned char)i;
		en.offset = i * 100;
		en.length = 100;
		en.raw = 60;
		bk_entry_encode(&en, h + BK_PACK_HEADER_FIXED +
					 (size_t)i * BK_PACK_ENTRY_LEN);
	}
	return BK_PACK_HEADER_FIXED + (size_t)n * BK_PACK_ENTRY_LEN;
}

/* Parse a crafted pack; the error in e. */
static int
parse_crafted(const struct bk_keys *k, const char *ad, size_t area,
	      const unsigned char *h, size_t hlen, struct sov_err *e)
{
	size_t size, need = 0;
	unsigned char *b = craft_pack(k, ad, area, h, hlen, &size);
	struct bk_pack_entry *ents = NULL;
	uint32_t n = 0;
	int r;

	sov_err_clear(e);
	r = bk_pack_parse_header(k, b, size, size, &ents, &n, &need, "bad", e);
	if (r == 0)
		free(ents);
	else if (ents != NULL || n != 0 || need != 0)
		r = -2; /* a refusal must leave nothing behind */
	free(b);
	return r;
}

static void
test_header_rejections(struct bk_keys *k, struct bk_keys *other)
{
	unsigned char h[BK_PACK_HEADER_FIXED + 4 * BK_PACK_ENTRY_LEN];
	unsigned char *b, small[60];
	size_t hlen, size, need = 0;
	struct bk_pack_entry *ents = NULL, en;
	uint32_t n = 0;
	struct sov_err e = {0};
	unsigned char *ep;

	hlen = make_header(h, 3);
	is_int(parse_crafted(k, PACK_AD, 300, h, hlen, &e), 0,
	       "crafted: a well-formed header of 3 blobs parses (control)");
	is_int(parse_crafted(k, PACK_AD, 400, h, hlen, &e), 0,
	       "crafted: unused bytes before the header are allowed");

	/* size and trailer */
	memset(small, 0, sizeof(small));
	sov_err_clear(&e);
	is_int(
	    bk_pack_parse_header(k, small, 55, 55, &ents, &n, &need, "bad", &e),
	    -1, "parse: a pack of 55 bytes (under the minimum) refused");
	like(e.msg, "pack bad: truncated (55 bytes)",
	     "parse: ... \"truncated\", with the size");
	is_int(need, 0, "parse: ... *need 0: a real error");
	sov_err_clear(&e);
	is_int(bk_pack_parse_header(k, small, 3, 1000, &ents, &n, &need, "bad",
				    &e),
	       -1, "parse: a tail of 3 bytes refused");
	like(e.msg, "truncated", "parse: ... truncated");
	sov_err_clear(&e);
	is_int(
	    bk_pack_parse_header(k, small, 60, 59, &ents, &n, &need, "bad", &e),
	    -1, "parse: a tail longer than the pack refused");

	b = craft_pack(k, PACK_AD, 300, h, hlen, &size);
	bk_put_u32(b + size - 4, (uint32_t)size - 3);
	sov_err_clear(&e);
	is_int(
	    bk_pack_parse_header(k, b, size, size, &ents, &n, &need, "bad", &e),
	    -1, "parse: header length over the pack size refused");
	like(e.msg, "does not fit a pack of", "parse: ... message");
	is_int(need, 0, "parse: ... not taken for a short tail");
	bk_put_u32(b + size - 4, (uint32_t)size - 4);
	sov_err_clear(&e);
	is_int(
	    bk_pack_parse_header(k, b, size, size, &ents, &n, &need, "bad", &e),
	    -1,
	    "parse: a header length covering the whole pack refused "
	    "(those bytes do not authenticate)");
	bk_put_u32(b + size - 4, 0xffffffffu);
	sov_err_clear(&e);
	is_int(bk_pack_parse_header(k, b + size - 4, 4, 0xffffffffffull, &ents,
				    &n, &need, "bad", &e),
	       -1, "parse: header length 4 GiB in a huge pack refused");
	is_int(need, 0, "parse: ... without asking to read 4 GiB");
	like(e.msg, "header length 4294967295 does not fit",
	     "parse: ... message names the length");
	bk_put_u32(b + size - 4, BK_SEAL_OVERHEAD + BK_PACK_HEADER_FIXED - 1);
	sov_err_clear(&e);
	is_int(
	    bk_pack_parse_header(k, b, size, size, &ents, &n, &need, "bad", &e),
	    -1, "parse: header length 51 (too small) refused");
	like(e.msg, "header length 51", "parse: ... message");
	bk_put_u32(b + size - 4, (uint32_t)(hlen + BK_SEAL_OVERHEAD));
	b[size - 10] ^= 1;
	sov_err_clear(&e);
	is_int(
	    bk_pack_parse_header(k, b, size, size, &ents, &n, &need, "bad", &e),
	    -1, "parse: a bit of the sealed header flipped refused");
	is_int(e.code, SOV_EXIT_FAIL, "parse: ... code 1");
	like(e.msg, "pack bad: pack header: authentication failed",
	     "parse: ... authentication failed, naming the pack");
	b[size - 10] ^= 1;
	sov_err_clear(&e);
	is_int(bk_pack_parse_header(other, b, size, size, &ents, &n, &need,
				    "bad", &e),
	       -1, "parse: another repository's key refused");
	like(e.msg, "authentication failed", "parse: ... authentication");
	free(b);
	is_int(parse_crafted(k, INDEX_AD, 300, h, hlen, &e), -1,
	       "parse: a header sealed as an index (other AD) refused");

	/* magic and count */
	h[0] = 'X';
	is_int(parse_crafted(k, PACK_AD, 300, h, hlen, &e), -1,
	       "parse: bad magic refused");
	like(e.msg, "pack bad: bad header magic", "parse: ... message");
	hlen = make_header(h, 3);
	bk_put_u32(h + 8, 2);
	is_int(parse_crafted(k, PACK_AD, 300, h, hlen, &e), -1,
	       "parse: count 2 with 3 entries refused");
	like(e.msg, "header says 2 entries in 156 bytes", "parse: ... message");
	bk_put_u32(h + 8, 4);
	is_int(parse_crafted(k, PACK_AD, 300, h, hlen, &e), -1,
	       "parse: count 4 with 3 entries refused");
	bk_put_u32(h + 8, 0xffffffffu);
	is_int(parse_crafted(k, PACK_AD, 300, h, hlen, &e), -1,
	       "parse: count 2^32-1 refused");
	bk_put_u32(h + 8, 3);
	is_int(parse_crafted(k, PACK_AD, 300, h, hlen - 1, &e), -1,
	       "parse: a header one byte short of its entries refused");
	is_int(parse_crafted(k, PACK_AD, 300, h, 8, &e), -1,
	       "parse: a header of only the magic refused");

	/* entries */
	ep = h + BK_PACK_HEADER_FIXED + BK_PACK_ENTRY_LEN; /* entry 1 */
	bk_entry_decode(ep, &en);
	en.offset = 99; /* overlaps entry 0 [0, 100) */
	bk_entry_encode(&en, ep);
	is_int(parse_crafted(k, PACK_AD, 300, h, hlen, &e), -1,
	       "parse: overlapping entries refused");
	like(e.msg, "pack bad: entry 1 is malformed or out of place",
	     "parse: ... names the entry");
	en.offset = 0; /* same place as entry 0 */
	bk_entry_encode(&en, ep);
	is_int(parse_crafted(k, PACK_AD, 300, h, hlen, &e), -1,
	       "parse: two entries at the same offset refused");
	en.offset = 300; /* [300, 400), then entry 2 at 200 */
	bk_entry_encode(&en, ep);
	is_int(parse_crafted(k, PACK_AD, 400, h, hlen, &e), -1,
	       "parse: entries out of order refused");
	like(e.msg, "entry 2", "parse: ... at the entry out of order");
	en.offset = 100;
	bk_entry_encode(&en, ep);
	is_int(parse_crafted(k, PACK_AD, 300, h, hlen, &e), 0,
	       "parse: restored entry parses (control)");
	is_int(parse_crafted(k, PACK_AD, 299, h, hlen, &e), -1,
	       "parse: last blob running into the header refused");
	like(e.msg, "entry 2", "parse: ... names entry 2");
	{
		struct {
			const char *what;
			uint8_t type, comp;
			uint32_t length, raw, offset;
		} c[] = {
		    {"type 2", 2, 0, 100, 60, 100},
		    {"type 255", 255, 0, 100, 60, 100},
		    {"compression 2", 0, 2, 100, 60, 100},
		    {"length under the seal overhead", 0, 0, 39, 60, 100},
		    {"raw length over 64 MiB", 0, 1, 100, BK_BLOB_MAX + 1, 100},
		    {"offset at 2^32-100", 0, 0, 100, 60, 0xffffff9cu},
		    {"length 2^32-1", 0, 0, 0xffffffffu, 60, 100},
		};
		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			bk_entry_decode(ep, &en);
			en.type = c[i].type;
			en.comp = c[i].comp;
			en.length = c[i].length;
			en.raw = c[i].raw;
			en.offset = c[i].offset;
			bk_entry_encode(&en, ep);
			is_int(parse_crafted(k, PACK_AD, 300, h, hlen, &e), -1,
			       "parse: entry with %s refused", c[i].what);
			like(e.msg, "entry 1 is malformed",
			     "parse: ... %s names entry 1", c[i].what);
		}
	}
	hlen = make_header(h, 1);
	bk_entry_decode(h + BK_PACK_HEADER_FIXED, &en);
	en.raw = BK_BLOB_MAX;
	en.length = 40;
	bk_entry_encode(&en, h + BK_PACK_HEADER_FIXED);
	is_int(parse_crafted(k, PACK_AD, 40, h, hlen, &e), 0,
	       "parse: raw exactly 64 MiB, length exactly the overhead: ok");
}

static void
test_blob_open(struct bk_keys *k, struct bk_keys *other)
{
	struct bk_packer p;
	struct bk_pack_entry ez, er, en;
	struct sov_err e = {0};
	unsigned char idz[BK_ID_LEN], idr[BK_ID_LEN], bogus[BK_ID_LEN];
	unsigned char *text = xmalloc(20000), *rnd = xmalloc(3000), *out = NULL;
	unsigned char *sz, *sr;

	memset(&p, 0, sizeof(p));
	fill_text(text, 20000, 3);
	randombytes_buf(rnd, 3000);
	bk_blob_id(k, text, 20000, idz);
	bk_tree_id(k, rnd, 3000, idr);
	if (bk_packer_add(&p, k, BK_BLOB_DATA, idz, text, 20000, 1, &ez, &e) ||
	    bk_packer_add(&p, k, BK_BLOB_TREE, idr, rnd, 3000, 1, &er, &e))
		die(e.msg);
	if (ez.comp != BK_COMP_ZSTD || er.comp != BK_COMP_NONE)
		die("compression not as planned");
	sz = p.buf + ez.offset;
	sr = p.buf + er.offset;

	is_int(bk_blob_open(k, &ez, sz, &out, "blob z", &e), 0,
	       "open: compressed blob");
	ok(out && memcmp(out, text, 20000) == 0, "open: ... its bytes");
	free(out);
	is_int(bk_blob_open(k, &er, sr, &out, "blob r", &e), 0,
	       "open: raw blob");
	ok(out && memcmp(out, rnd, 3000) == 0, "open: ... its bytes");
	free(out);

	sz[100] ^= 4;
	sov_err_clear(&e);
	out = text; /* must be reset to NULL */
	is_int(bk_blob_open(k, &ez, sz, &out, "blob z", &e), -1,
	       "open: tampered ciphertext refused");
	ok(out == NULL, "open: ... *out NULL");
	is_int(e.code, SOV_EXIT_FAIL, "open: ... code 1");
	like(e.msg, "blob z: authentication failed", "open: ... names what");
	sz[100] ^= 4;
	sov_err_clear(&e);
	is_int(bk_blob_open(other, &ez, sz, &out, "blob z", &e), -1,
	       "open: wrong key refused");

	en = ez;
	en.id[5] ^= 1;
	sov_err_clear(&e);
	is_int(bk_blob_open(k, &en, sz, &out, "blob z", &e), -1,
	       "open: another id in the entry refused (the id is in the AD)");
	like(e.msg, "authentication failed", "open: ... authentication");
	en = ez;
	en.type = BK_BLOB_TREE;
	sov_err_clear(&e);
	is_int(bk_blob_open(k, &en, sz, &out, "blob z", &e), -1,
	       "open: data blob taken for a tree refused");
	en = ez;
	en.comp = BK_COMP_NONE;
	sov_err_clear(&e);
	is_int(bk_blob_open(k, &en, sz, &out, "blob z", &e), -1,
	       "open: compression flag flipped refused");
	like(e.msg, "authentication failed",
	     "open: ... caught by authentication, not by zstd");
	en = er;
	en.offset = ez.offset; /* offsets are not in the AD: harmless */
	is_int(bk_blob_open(k, &en, sr, &out, "blob r", &e), 0,
	       "open: the offset is not part of what is checked");
	free(out);

	/* Raw length (not authenticated: checked on its own). */
	en = er;
	en.raw = 3001;
	sov_err_clear(&e);
	is_int(bk_blob_open(k, &en, sr, &out, "blob r", &e), -1,
	       "open: raw length one more than the data refused");
	like(e.msg, "blob r: 3000 bytes, the index says 3001",
	     "open: ... says both lengths");
	en.raw = 2999;
	sov_err_clear(&e);
	is_int(bk_blob_open(k, &en, sr, &out, "blob r", &e), -1,
	       "open: raw length one less refused");
	en = ez;
	en.raw = 19999;
	sov_err_clear(&e);
	is_int(bk_blob_open(k, &en, sz, &out, "blob z", &e), -1,
	       "open: zstd blob bigger than its raw length refused");
	like(e.msg, "blob z: does not decompress to 19999 bytes",
	     "open: ... message");
	en.raw = 20001;
	sov_err_clear(&e);
	is_int(bk_blob_open(k, &en, sz, &out, "blob z", &e), -1,
	       "open: zstd blob smaller than its raw length refused");
	like(e.msg, "does not decompress to 20001 bytes", "open: ... message");
	en.raw = 0;
	sov_err_clear(&e);
	is_int(bk_blob_open(k, &en, sz, &out, "blob z", &e), -1,
	       "open: zstd blob with raw length 0 refused");
	en = ez;
	en.raw = BK_BLOB_MAX + 1;
	sov_err_clear(&e);
	is_int(bk_blob_open(k, &en, sz, &out, "blob z", &e), -1,
	       "open: raw length over 64 MiB refused");
	like(e.msg, "blob z: bad blob length", "open: ... message");
	en = ez;
	en.length = BK_SEAL_OVERHEAD - 1;
	sov_err_clear(&e);
	is_int(bk_blob_open(k, &en, sz, &out, "blob z", &e), -1,
	       "open: sealed length under the overhead refused");
	like(e.msg, "bad blob length", "open: ... message");

	/* Authentic but wrong inside: sealed under an id that is not the
	 * keyed hash of the content, and a zstd flag on bytes that are not
	 * a zstd frame. */
	bk_packer_reset(&p);
	memset(bogus, 0x42, sizeof(bogus));
	bk_packer_add(&p, k, BK_BLOB_DATA, bogus, rnd, 3000, 1, &en, &e);
	sov_err_clear(&e);
	is_int(bk_blob_open(k, &en, p.buf + en.offset, &out, "blob b", &e), -1,
	       "open: content that does not match its id refused");
	like(e.msg, "blob b: content does not match its id",
	     "open: ... message");
	{
		unsigned char ad[BK_BLOB_AD_LEN],
		    sealed[3000 + BK_SEAL_OVERHEAD];

		memset(&en, 0, sizeof(en));
		memcpy(en.id, idr, BK_ID_LEN);
		en.type = BK_BLOB_DATA;
		en.comp = BK_COMP_ZSTD;
		en.length = 3000 + BK_SEAL_OVERHEAD;
		en.raw = 3000;
		bk_blob_ad(&en, ad);
		bk_seal(k, ad, sizeof(ad), rnd, 3000, sealed);
		sov_err_clear(&e);
		is_int(bk_blob_open(k, &en, sealed, &out, "blob f", &e), -1,
		       "open: an authentic zstd blob that is not zstd refused");
		like(e.msg, "blob f: does not decompress", "open: ... message");

		/* an empty raw blob */
		en.comp = BK_COMP_NONE;
		en.length = BK_SEAL_OVERHEAD;
		en.raw = 0;
		bk_blob_id(k, "", 0, en.id);
		bk_blob_ad(&en, ad);
		bk_seal(k, ad, sizeof(ad), "", 0, sealed);
		is_int(bk_blob_open(k, &en, sealed, &out, "blob 0", &e), 0,
		       "open: an empty blob opens");
		ok(out != NULL, "open: ... *out is not NULL for 0 bytes");
		free(out);
	}
	bk_packer_free(&p);
	free(text);
	free(rnd);
}

static void
test_add_sealed(struct bk_keys *k)
{
	struct bk_packer a, b;
	struct bk_pack_entry en[3], *ents = NULL;
	struct sov_err e = {0};
	unsigned char id[3][BK_ID_LEN], packid[BK_ID_LEN], want[BK_ID_LEN];
	unsigned char *out = NULL;
	unsigned char *d[3];
	size_t sizes[3] = {5000, 70000, 1};
	uint32_t n = 0;
	size_t need = 0;
	int bad = 0;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	for (int i = 0; i < 3; i++) {
		d[i] = xmalloc(sizes[i]);
		if (i == 1)
			fill_text(d[i], sizes[i], 11);
		else
			randombytes_buf(d[i], sizes[i]);
		bk_typed_id(k, i == 2 ? BK_BLOB_TREE : BK_BLOB_DATA, d[i],
			    sizes[i], id[i]);
		if (bk_packer_add(&a, k, i == 2 ? BK_BLOB_TREE : BK_BLOB_DATA,
				  id[i], d[i], sizes[i], 1, &en[i], &e) < 0)
			die(e.msg);
	}
	if (bk_packer_finish(&a, k, packid, &e) < 0)
		die(e.msg);
	/* Copy blobs 2 and 1 (in that order) behind a new blob 0. */
	if (bk_packer_add(&b, k, BK_BLOB_DATA, id[0], d[0], sizes[0], 1, NULL,
			  &e) < 0)
		die(e.msg);
	is_int(bk_packer_add_sealed(&b, &en[2], a.buf + en[2].offset, &e), 0,
	       "add_sealed: a tree blob");
	is_int(bk_packer_add_sealed(&b, &en[1], a.buf + en[1].offset, &e), 0,
	       "add_sealed: a compressed data blob");
	is_int(b.n, 3, "add_sealed: three entries");
	is_int(b.ents[1].offset, b.ents[0].length,
	       "add_sealed: the copy gets its new offset");
	is_int(b.ents[2].offset, b.ents[1].offset + b.ents[1].length,
	       "add_sealed: ... and the next one after it");
	ok(b.ents[1].length == en[2].length && b.ents[1].raw == en[2].raw &&
	       b.ents[1].type == en[2].type && b.ents[1].comp == en[2].comp &&
	       memcmp(b.ents[1].id, en[2].id, BK_ID_LEN) == 0,
	   "add_sealed: everything else travels with the entry");
	is_int(bk_packer_finish(&b, k, packid, &e), 0, "add_sealed: finish");
	skeleton_id(b.buf, b.len, b.ents, b.n, want);
	ok(memcmp(packid, want, BK_ID_LEN) == 0,
	   "add_sealed: the new pack is named by its skeleton too");
	is_int(bk_pack_parse_header(k, b.buf, b.len, b.len, &ents, &n, &need,
				    "b", &e),
	       0, "add_sealed: the new pack parses");
	for (uint32_t i = 0; i < n; i++) {
		int which = i == 0 ? 0 : i == 1 ? 2 : 1;

		if (bk_blob_open(k, &ents[i], b.buf + ents[i].offset, &out,
				 "copied", &e) != 0 ||
		    ents[i].raw != sizes[which] ||
		    memcmp(out, d[which], sizes[which]) != 0)
			bad++;
		free(out);
	}
	is_int(bad, 0, "add_sealed: every blob of the new pack opens");
	free(ents);
	bk_packer_free(&a);
	bk_packer_free(&b);
	for (int i = 0; i < 3; i++)
		free(d[i]);
}

/* The in-memory index. */

static void
rand_entry(struct bk_pack_entry *en, uint32_t i)
{
	memset(en, 0, sizeof(*en));
	randombytes_buf(en->id, BK_ID_LEN);
	en->offset = i * 1000;
	en->length = 100 + i % 500;
	en->raw = i;
	en->type = (uint8_t)(i % 2);
	en->comp = (uint8_t)(i % 3 == 0);
}

static void
test_index(void)
{
	enum { N = 20000, P = 300 };
	struct sov_err e = {0};
	struct bk_index *x = bk_index_new(&e);
	struct bk_pack_entry *ens = xmalloc(N * sizeof(*ens)), en;
	unsigned char(*packs)[BK_ID_LEN] = xmalloc(P * BK_ID_LEN);
	unsigned char probe[BK_ID_LEN];
	int bad = 0, bad2 = 0;

	if (!x)
		die(e.msg);
	is_int(bk_index_count(x), 0, "index: new is empty");
	randombytes_buf(probe, sizeof(probe));
	ok(bk_index_get(x, probe) == NULL, "index: get on empty: NULL");
	ok(bk_index_at(x, 0) == NULL, "index: at(0) on empty: NULL");
	is_int(bk_index_npacks(x), 0, "index: no packs");
	ok(bk_index_pack_id(x, 0) == NULL, "index: pack_id(0) on empty: NULL");

	for (uint32_t i = 0; i < P; i++) {
		randombytes_buf(packs[i], BK_ID_LEN);
		if (bk_index_pack(x, packs[i]) != i)
			bad++;
	}
	is_int(bad, 0, "index: %d new packs numbered 0..%d in order", P, P - 1);
	bad = 0;
	for (uint32_t i = 0; i < P; i++)
		if (bk_index_pack(x, packs[P - 1 - i]) != P - 1 - i)
			bad++;
	is_int(bad, 0, "index: a known pack id gets its old number");
	is_int(bk_index_npacks(x), P, "index: no pack counted twice");
	bad = 0;
	for (uint32_t i = 0; i < P; i++)
		if (!bk_index_pack_id(x, i) ||
		    memcmp(bk_index_pack_id(x, i), packs[i], BK_ID_LEN) != 0)
			bad++;
	is_int(bad, 0, "index: pack_id(n) gives each id back");
	ok(bk_index_pack_id(x, P) == NULL, "index: pack_id past the end: NULL");

	bad = 0;
	for (uint32_t i = 0; i < N; i++) {
		rand_entry(&ens[i], i);
		if (bk_index_add(x, &ens[i], i % P, &e) != 1)
			bad++;
		/* an early one must survive every growth */
		if (!bk_index_get(x, ens[0].id))
			bad2++;
	}
	is_int(bad, 0, "index: %d random ids added (1 each)", N);
	is_int(bad2, 0, "index: the first id is found after every growth");
	is_int(bk_index_count(x), N, "index: count");
	bad = bad2 = 0;
	for (uint32_t i = 0; i < N; i++) {
		const struct bk_blob *b = bk_index_get(x, ens[i].id);
		const struct bk_blob *a = bk_index_at(x, i);

		if (!b || !entry_eq(&b->en, &ens[i]) || b->pack != i % P)
			bad++;
		if (!a || !entry_eq(&a->en, &ens[i]) || a->pack != i % P)
			bad2++;
	}
	is_int(bad, 0, "index: get finds every entry with its pack");
	is_int(bad2, 0, "index: at(i) is insertion order");
	ok(bk_index_at(x, N) == NULL, "index: at(count) is NULL");
	bad = 0;
	for (int i = 0; i < 1000; i++) {
		randombytes_buf(probe, sizeof(probe));
		if (bk_index_get(x, probe))
			bad++;
	}
	is_int(bad, 0, "index: 1000 unknown ids are not found");
	memcpy(probe, ens[7].id, BK_ID_LEN);
	probe[31] ^= 1;
	ok(bk_index_get(x, probe) == NULL,
	   "index: an id differing in its last bit is not found");

	bad = 0;
	for (uint32_t i = 0; i < N; i += 7) {
		en = ens[i];
		en.offset = 1;
		if (bk_index_add(x, &en, 5, &e) != 0)
			bad++;
	}
	is_int(bad, 0, "index: adding a present id returns 0");
	bad = 0;
	for (uint32_t i = 0; i < N; i += 7) {
		const struct bk_blob *b = bk_index_get(x, ens[i].id);

		if (!b || b->en.offset != ens[i].offset || b->pack != i % P)
			bad++;
	}
	is_int(bad, 0, "index: ... and keeps the first entry");
	is_int(bk_index_count(x), N, "index: ... count unchanged");
	bk_index_free(x);

	/* Ids whose first 8 bytes (what the table hashes) are all equal:
	 * one long probe chain must still find each. */
	x = bk_index_new(&e);
	bad = 0;
	for (uint32_t i = 0; i < 3000; i++) {
		rand_entry(&ens[i], i);
		memset(ens[i].id, 0xab, 8);
		if (bk_index_add(x, &ens[i], 0, &e) != 1)
			bad++;
	}
	for (uint32_t i = 0; i < 3000; i++) {
		const struct bk_blob *b = bk_index_get(x, ens[i].id);

		if (!b || !entry_eq(&b->en, &ens[i]))
			bad++;
	}
	is_int(bad, 0, "index: 3000 ids colliding in the hash: all found");
	memcpy(probe, ens[0].id, BK_ID_LEN);
	probe[20] ^= 0x10;
	ok(bk_index_get(x, probe) == NULL,
	   "index: ... and a colliding unknown id is not");
	bk_index_free(x);
	bk_index_free(NULL);
	ok(1, "index: free(NULL) is a no-op");
	free(ens);
	free(packs);
}

/* Index files. */

static unsigned char *
seal_plain(const struct bk_keys *k, const char *ad, const unsigned char *p,
	   size_t n, size_t *len)
{
	unsigned char *s = xmalloc(n + BK_SEAL_OVERHEAD);

	bk_seal(k, ad, strlen(ad), p, n, s);
	*len = n + BK_SEAL_OVERHEAD;
	return s;
}

/* Decode plain (sealed here with ad) into a fresh index; the error in e,
 * the blob count in *count. */
static int
decode_plain(const struct bk_keys *k, const char *ad, const unsigned char *p,
	     size_t n, size_t *count, struct sov_err *e)
{
	size_t len, nsup = 0;
	unsigned char *s = seal_plain(k, ad, p, n, &len);
	unsigned char(*sup)[BK_ID_LEN] = NULL;
	struct bk_index *x = bk_index_new(e);
	int r;

	sov_err_clear(e);
	r = bk_indexfile_decode(k, s, len, x, &sup, &nsup, "index/t", e);
	*count = bk_index_count(x);
	bk_index_free(x);
	free(sup);
	free(s);
	return r;
}

static void
test_indexfile(struct bk_keys *k, struct bk_keys *other)
{
	struct bk_pack_info pi[3];
	struct bk_pack_entry ents[7];
	unsigned char sup[2][BK_ID_LEN], (*gotsup)[BK_ID_LEN] = NULL;
	unsigned char *s = NULL, *plain;
	size_t len = 0, nsup = 0, cnt, plen;
	struct sov_err e = {0};
	struct bk_index *x;
	int bad = 0;

	memset(pi, 0, sizeof(pi));
	for (int i = 0; i < 7; i++)
		rand_entry(&ents[i], (uint32_t)i + 1);
	/* fixed pack ids: a misread one is never a valid entry type */
	for (int i = 0; i < 3; i++)
		memset(pi[i].id, 0x50 + i, BK_ID_LEN);
	pi[0].ents = ents;
	pi[0].n = 4;
	pi[1].ents = ents + 4;
	pi[1].n = 0; /* a pack with no blobs is representable */
	pi[2].ents = ents + 4;
	pi[2].n = 3;
	randombytes_buf(sup, sizeof(sup));

	is_int(bk_indexfile_encode(k, pi, 3,
				   (const unsigned char(*)[BK_ID_LEN])sup, 2,
				   &s, &len, &e),
	       0, "indexfile: encode");
	plen = len - BK_SEAL_OVERHEAD;
	is_int(plen, 8 + 4 + 2 * 32 + 4 + 3 * 36 + 7 * 48,
	       "indexfile: the documented size");
	x = bk_index_new(&e);
	is_int(bk_indexfile_decode(k, s, len, x, &gotsup, &nsup, "index/a", &e),
	       0, "indexfile: decode");
	is_int(bk_index_count(x), 7, "indexfile: seven blobs");
	is_int(nsup, 2, "indexfile: two superseded ids");
	ok(gotsup && memcmp(gotsup, sup, sizeof(sup)) == 0,
	   "indexfile: ... as written");
	for (int i = 0; i < 7; i++) {
		const struct bk_blob *b = bk_index_get(x, ents[i].id);
		int want = i < 4 ? 0 : 2;

		if (!b || !entry_eq(&b->en, &ents[i]) ||
		    memcmp(bk_index_pack_id(x, b->pack), pi[want].id,
			   BK_ID_LEN) != 0)
			bad++;
	}
	is_int(bad, 0, "indexfile: every entry with its pack id");
	is_int(bk_index_npacks(x), 3, "indexfile: the empty pack is counted");

	/* Decoding again appends to *sup, keeps present blobs. */
	is_int(bk_indexfile_decode(k, s, len, x, &gotsup, &nsup, "index/a", &e),
	       0, "indexfile: decode the same file again");
	is_int(nsup, 4, "indexfile: superseded ids appended");
	is_int(bk_index_count(x), 7, "indexfile: no blob twice");
	is_int(bk_index_npacks(x), 3, "indexfile: no pack twice");
	bk_index_free(x);
	free(gotsup);
	gotsup = NULL;
	nsup = 0;

	/* Present entries are kept. */
	x = bk_index_new(&e);
	{
		struct bk_pack_entry old = ents[1];
		unsigned char oldpack[BK_ID_LEN];
		uint32_t pn;
		const struct bk_blob *b;

		old.offset = 777;
		memset(oldpack, 0x33, sizeof(oldpack));
		pn = bk_index_pack(x, oldpack);
		bk_index_add(x, &old, pn, &e);
		is_int(bk_indexfile_decode(k, s, len, x, NULL, NULL, "index/a",
					   &e),
		       0, "indexfile: decode into a non-empty index, sup NULL");
		b = bk_index_get(x, ents[1].id);
		ok(b && b->en.offset == 777 && b->pack == pn,
		   "indexfile: an entry already present is kept as it was");
		is_int(bk_index_count(x), 7, "indexfile: the others are added");
	}
	bk_index_free(x);

	/* Authentication */
	x = bk_index_new(&e);
	s[len / 2] ^= 1;
	sov_err_clear(&e);
	is_int(bk_indexfile_decode(k, s, len, x, NULL, NULL, "index/a", &e), -1,
	       "indexfile: a flipped bit refused");
	like(e.msg, "index/a: index: authentication failed",
	     "indexfile: ... names the file");
	is_int(bk_index_count(x), 0, "indexfile: ... nothing added");
	s[len / 2] ^= 1;
	sov_err_clear(&e);
	is_int(bk_indexfile_decode(other, s, len, x, NULL, NULL, "index/a", &e),
	       -1, "indexfile: wrong key refused");
	bk_index_free(x);
	free(s);

	/* Re-encode the plaintext to craft bad ones. */
	plain = xmalloc(plen + 64);
	if (bk_indexfile_encode(k, pi, 3,
				(const unsigned char(*)[BK_ID_LEN])sup, 2, &s,
				&len, &e) < 0 ||
	    bk_unseal(k, INDEX_AD, strlen(INDEX_AD), s, len, plain, "i", &e) <
		0)
		die(e.msg);
	free(s);
	is_int(decode_plain(k, INDEX_AD, plain, plen, &cnt, &e), 0,
	       "indexfile: resealed plaintext decodes (control)");
	is_int(decode_plain(k, PACK_AD, plain, plen, &cnt, &e), -1,
	       "indexfile: sealed with the pack AD refused");
	like(e.msg, "authentication failed", "indexfile: ... authentication");
	is_int(decode_plain(k, "sov-backup snapshot v1", plain, plen, &cnt, &e),
	       -1, "indexfile: sealed with the snapshot AD refused");

	bad = 0;
	for (size_t n = 0; n < plen; n++) {
		if (decode_plain(k, INDEX_AD, plain, n, &cnt, &e) != -1 ||
		    e.code != SOV_EXIT_FAIL || !strstr(e.msg, "index/t")) {
			bad++;
			diag("cut at %zu: %s", n, e.msg);
		}
	}
	is_int(bad, 0,
	       "indexfile: cut at every one of %zu lengths: refused, naming "
	       "the file",
	       plen);
	decode_plain(k, INDEX_AD, plain, 15, &cnt, &e);
	like(e.msg, "index index/t: 55 bytes is not a valid size",
	     "indexfile: under 16 bytes of plaintext: not a valid size");
	decode_plain(k, INDEX_AD, plain, 12 + 63, &cnt, &e);
	like(e.msg, "index index/t: truncated",
	     "indexfile: cut in the superseded ids: truncated");
	decode_plain(k, INDEX_AD, plain, 12 + 64 + 2, &cnt, &e);
	like(e.msg, "index index/t: truncated",
	     "indexfile: cut in the pack count: truncated");
	decode_plain(k, INDEX_AD, plain, 12 + 64 + 4 + 20, &cnt, &e);
	like(e.msg, "truncated in pack 0",
	     "indexfile: cut in a pack id: truncated in pack 0");
	decode_plain(k, INDEX_AD, plain, 12 + 64 + 4 + 36 + 47, &cnt, &e);
	like(e.msg, "pack 0: 4 entries do not fit",
	     "indexfile: cut in an entry: the entries do not fit");
	decode_plain(k, INDEX_AD, plain, plen - 1, &cnt, &e);
	like(e.msg, "pack 2: 3 entries do not fit",
	     "indexfile: cut in the last entry");

	memset(plain + plen, 0, 64);
	is_int(decode_plain(k, INDEX_AD, plain, plen + 1, &cnt, &e), -1,
	       "indexfile: one byte of trailing garbage refused");
	like(e.msg, "index index/t: 1 bytes of trailing garbage",
	     "indexfile: ... says how much");
	is_int(decode_plain(k, INDEX_AD, plain, plen + 48, &cnt, &e), -1,
	       "indexfile: an entry's worth of trailing garbage refused");

	/* counts */
	plain[0] = 'Z';
	decode_plain(k, INDEX_AD, plain, plen, &cnt, &e);
	like(e.msg, "index index/t: bad magic", "indexfile: bad magic");
	plain[0] = 'S';
	bk_put_u32(plain + 8, 0xffffffffu);
	decode_plain(k, INDEX_AD, plain, plen, &cnt, &e);
	like(e.msg, "truncated", "indexfile: superseded count 2^32-1");
	bk_put_u32(plain + 8, 3);
	is_int(decode_plain(k, INDEX_AD, plain, plen, &cnt, &e), -1,
	       "indexfile: superseded count one too many refused");
	bk_put_u32(plain + 8, 2);
	bk_put_u32(plain + 76, 0xffffffffu);
	decode_plain(k, INDEX_AD, plain, plen, &cnt, &e);
	like(e.msg, "truncated in pack 3", "indexfile: pack count 2^32-1");
	bk_put_u32(plain + 76, 2);
	decode_plain(k, INDEX_AD, plain, plen, &cnt, &e);
	like(e.msg, "trailing garbage", "indexfile: pack count one too few");
	bk_put_u32(plain + 76, 3);
	bk_put_u32(plain + 80 + 32, 0xffffffffu);
	decode_plain(k, INDEX_AD, plain, plen, &cnt, &e);
	like(e.msg, "pack 0: 4294967295 entries do not fit",
	     "indexfile: entry count 2^32-1");
	bk_put_u32(plain + 80 + 32, BK_PACK_MAX_ENTRIES + 1);
	decode_plain(k, INDEX_AD, plain, plen, &cnt, &e);
	like(e.msg, "entries do not fit",
	     "indexfile: entry count over the per-pack maximum");
	bk_put_u32(plain + 80 + 32, 5);
	is_int(decode_plain(k, INDEX_AD, plain, plen, &cnt, &e), -1,
	       "indexfile: entry count one too many refused");
	bk_put_u32(plain + 80 + 32, 4);

	/* bad entries: pack 0, entry 1 */
	{
		size_t off = 80 + 36 + 48;
		struct bk_pack_entry en, keep;
		struct {
			const char *what;
			int field;
			uint32_t v;
		} c[] = {{"type 2", 0, 2},
			 {"compression 2", 1, 2},
			 {"length 39", 2, 39},
			 {"raw over 64 MiB", 3, BK_BLOB_MAX + 1}};

		bk_entry_decode(plain + off, &keep);
		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			en = keep;
			if (c[i].field == 0)
				en.type = (uint8_t)c[i].v;
			else if (c[i].field == 1)
				en.comp = (uint8_t)c[i].v;
			else if (c[i].field == 2)
				en.length = c[i].v;
			else
				en.raw = c[i].v;
			bk_entry_encode(&en, plain + off);
			is_int(decode_plain(k, INDEX_AD, plain, plen, &cnt, &e),
			       -1, "indexfile: entry with %s refused",
			       c[i].what);
			like(e.msg,
			     "index index/t: pack 0 entry 1 is malformed",
			     "indexfile: ... %s names pack and entry",
			     c[i].what);
		}
		bk_entry_encode(&keep, plain + off);
		is_int(decode_plain(k, INDEX_AD, plain, plen, &cnt, &e), 0,
		       "indexfile: restored plaintext decodes (control)");
	}

	/* over the size limit: refused before touching the entries */
	{
		struct bk_pack_info huge;

		memset(&huge, 0, sizeof(huge));
		huge.n = 6u << 20; /* 288 MiB of entries, none allocated */
		sov_err_clear(&e);
		is_int(bk_indexfile_encode(k, &huge, 1, NULL, 0, &s, &len, &e),
		       -1, "indexfile: encoding over 256 MiB refused");
		like(e.msg, "over the limit", "indexfile: ... message");
		ok(s == NULL && len == 0, "indexfile: ... no output");
	}

	/* an index of nothing */
	{
		unsigned char empty[16];

		memcpy(empty, BK_INDEX_MAGIC, 8);
		bk_put_u32(empty + 8, 0);
		bk_put_u32(empty + 12, 0);
		is_int(decode_plain(k, INDEX_AD, empty, 16, &cnt, &e), 0,
		       "indexfile: an empty index file decodes");
		is_int(cnt, 0, "indexfile: ... to nothing");
	}
	x = bk_index_new(&e);
	sov_err_clear(&e);
	{
		unsigned char *big = calloc(1, (size_t)BK_INDEX_FILE_MAX + 1);

		if (!big)
			die("calloc");
		is_int(bk_indexfile_decode(k, big,
					   (size_t)BK_INDEX_FILE_MAX + 1, x,
					   NULL, NULL, "index/big", &e),
		       -1, "indexfile: over 256 MiB refused before unsealing");
		like(e.msg,
		     "index index/big: 268435457 bytes is not a valid size",
		     "indexfile: ... message");
		free(big);
	}
	bk_index_free(x);
	free(plain);
}

int
main(void)
{
	struct sov_err e = {0};
	struct bk_keys *k, *other;

	if (bk_crypto_init(&e) < 0)
		die(e.msg);
	k = keys_from_byte(1);
	other = keys_from_byte(2);
	test_le();
	test_packer(k);
	test_header_rejections(k, other);
	test_blob_open(k, other);
	test_add_sealed(k);
	test_index();
	test_indexfile(k, other);
	bk_keys_free(k);
	bk_keys_free(other);
	return done_testing();
}
