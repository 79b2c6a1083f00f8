/*
 * test_backup_chunker.c - the keyed FastCDC chunker: parameter checks, the
 * documented gear derivation and masks, determinism, cuts independent of
 * how reads are split, min/max/avg, seeds, locality of an edit, eof.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chunker.h"
#include "tap.h"

#define MAX_CUTS 200000

struct cuts {
	size_t n;
	size_t len[MAX_CUTS];
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

static unsigned char *
random_buf(size_t n)
{
	unsigned char *b = malloc(n ? n : 1);

	if (!b)
		abort();
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(rng() >> 24);
	return b;
}

static void
fill_seed(unsigned char seed[BK_CHUNKER_SEED_LEN], unsigned char v)
{
	for (int i = 0; i < BK_CHUNKER_SEED_LEN; i++)
		seed[i] = (unsigned char)(v + i);
}

/* Chunk a whole buffer in one go. */
static void
chunk_whole(const struct bk_chunker *c, const unsigned char *b, size_t n,
	    struct cuts *out)
{
	size_t off = 0;

	out->n = 0;
	while (off < n && out->n < MAX_CUTS) {
		size_t k = bk_chunker_next(c, b + off, n - off, 1);
		if (k == 0 || k > n - off)
			abort();
		out->len[out->n++] = k;
		off += k;
	}
}

/*
 * Feed the buffer in pieces as a reader would: step 0 means random piece
 * sizes from 1 to 3 * max; otherwise that fixed size. Unconsumed bytes are
 * kept and offered again with the next piece.
 */
static void
chunk_pieces(const struct bk_chunker *c, const unsigned char *b, size_t n,
	     size_t step, struct cuts *out)
{
	size_t start = 0, have = 0; /* window b[start .. start + have) */

	out->n = 0;
	while (start + have < n || have > 0) {
		size_t add = step ? step : 1 + rng() % (3 * (size_t)c->p.max);
		if (add > n - (start + have))
			add = n - (start + have);
		have += add;
		int eof = start + have == n;
		for (;;) {
			size_t k = bk_chunker_next(c, b + start, have, eof);
			if (k == 0)
				break;
			if (k > have || out->n >= MAX_CUTS)
				abort();
			out->len[out->n++] = k;
			start += k;
			have -= k;
		}
		if (eof && have != 0)
			abort();
	}
}

static int
cuts_equal(const struct cuts *a, const struct cuts *b)
{
	return a->n == b->n &&
	       memcmp(a->len, b->len, a->n * sizeof(a->len[0])) == 0;
}

/* The cut rule as documented in chunker.h, one byte at a time. */
static size_t
reference_next(const struct bk_chunker *c, const unsigned char *b, size_t len,
	       int eof)
{
	uint64_t h = 0;

	if (len == 0)
		return 0;
	for (size_t i = c->p.min; i < len && i < c->p.max; i++) {
		h = (h << 1) + c->gear[b[i]];
		if ((h & (i + 1 <= c->p.avg ? c->mask_s : c->mask_l)) == 0)
			return i + 1;
	}
	if (len >= c->p.max)
		return c->p.max;
	return eof ? len : 0;
}

static int
popcount64(uint64_t v)
{
	int n = 0;

	for (; v; v &= v - 1)
		n++;
	return n;
}

/* E[chunk length] on random data, from the cut rule's probabilities. */
static double
expected_mean(const struct bk_chunk_params *p)
{
	unsigned b = 0;
	double ps, pl, surv = 1.0, mean = 0;

	while ((1u << b) < p->avg)
		b++;
	ps = 1.0 / (double)(1ull << (b + 2));
	pl = 1.0 / (double)(1ull << (b - 2));
	for (size_t k = 0; k < p->max; k++) {
		mean += surv; /* P(L > k) */
		if (k >= p->min)
			surv *= 1 - (k + 1 <= p->avg ? ps : pl);
	}
	return mean;
}

static void
test_params(void)
{
	static const struct {
		struct bk_chunk_params p;
		const char *msg;
	} bad[] = {
	    {{1024, 3000, 8192}, "avg 3000 is not a power of two"},
	    {{1024, 0, 8192}, "avg 0 is not a power of two"},
	    {{63, 1024, 8192}, "min 63 is below 64"},
	    {{0, 1024, 8192}, "min 0 is below 64"},
	    {{1024, 4096, (64u << 20) + 1}, "max 67108865 is above 67108864"},
	    {{8192, 4096, 65536}, "need min <= avg <= max, got min 8192"},
	    {{1024, 4096, 4095},
	     "need min <= avg <= max, got min 1024 avg "
	     "4096 max 4095"},
	};
	unsigned char seed[BK_CHUNKER_SEED_LEN];
	struct bk_chunker c;
	struct sov_err e;

	fill_seed(seed, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sov_err_clear(&e);
		is_int(bk_chunker_init(&c, seed, &bad[i].p, &e), -1,
		       "init refuses %u/%u/%u", bad[i].p.min, bad[i].p.avg,
		       bad[i].p.max);
		is_int(e.code, SOV_EXIT_USAGE, "  ... as usage (%s)", e.msg);
		like(e.msg, bad[i].msg, "  ... naming the parameter");
		like(e.msg, "chunker: ", "  ... and the module");
	}

	static const struct bk_chunk_params good[] = {
	    {64, 64, 64},
	    {64, 64, 64u << 20},
	    {64u << 20, 64u << 20, 64u << 20},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		sov_err_clear(&e);
		is_int(bk_chunker_init(&c, seed, &good[i], &e), 0,
		       "init accepts the limits %u/%u/%u", good[i].min,
		       good[i].avg, good[i].max);
	}
	is_int(bk_chunker_init(&c, seed, &BK_CHUNK_FILES, &e), 0,
	       "BK_CHUNK_FILES is valid");
	is_int(bk_chunker_init(&c, seed, &BK_CHUNK_PAGES, &e), 0,
	       "BK_CHUNK_PAGES is valid");
	ok(BK_CHUNK_PAGES.avg < BK_CHUNK_FILES.avg,
	   "pages chunk smaller than files");
}

/*
 * The derivation is part of the repository format: check it against
 * libsodium's multi-part API (a different code path from the one-shot call
 * chunker.c makes) and pin a known answer so that it cannot drift.
 */
static void
test_gear_and_masks(void)
{
	unsigned char seed[BK_CHUNKER_SEED_LEN], out[64];
	struct bk_chunker c;
	struct sov_err e;
	int same = 1;

	fill_seed(seed, 0);
	if (bk_chunker_init(&c, seed, &BK_CHUNK_FILES, &e) != 0)
		abort();
	for (unsigned j = 0; j < 32; j++) {
		crypto_generichash_state st;
		unsigned char jb = (unsigned char)j;
		crypto_generichash_init(&st, seed, sizeof(seed), sizeof(out));
		crypto_generichash_update(
		    &st, (const unsigned char *)"sov-backup gear v1", 18);
		crypto_generichash_update(&st, &jb, 1);
		crypto_generichash_final(&st, out, sizeof(out));
		for (unsigned k = 0; k < 8; k++) {
			uint64_t v = 0;
			for (int i = 7; i >= 0; i--)
				v = (v << 8) | out[8 * k + (unsigned)i];
			if (c.gear[8 * j + k] != v)
				same = 0;
		}
	}
	ok(same, "gear table is BLAKE2b-512(key=seed, \"sov-backup gear v1\" "
		 "|| j), little-endian words");
	/* Known answer for seed 00 01 .. 1f (also computed with Python's
	 * hashlib.blake2b): changing it breaks every repository. */
	is_int(c.gear[0], (long long)0xe847abc4e9951fd2ull,
	       "gear[0] known answer");
	is_int(c.gear[255], (long long)0x63690417852b32eeull,
	       "gear[255] known answer");

	/* avg 1 MiB: b = 20. */
	is_int(popcount64(c.mask_s), 22, "mask_s has log2(avg)+2 bits");
	is_int(popcount64(c.mask_l), 18, "mask_l has log2(avg)-2 bits");
	is_int(c.mask_s & 0xffff, 0, "mask_s avoids the low 16 bits");
	is_int(c.mask_l & 0xffff, 0, "mask_l avoids the low 16 bits");
	ok((c.mask_s >> 63) & 1, "mask_s reaches bit 63 (64-byte window)");
	ok(c.mask_s & 0xffffffffull, "mask_s also uses bits below 32: spread");
	is_int((long long)c.mask_l, (long long)0xa4a4a4a4a4a40000ull,
	       "mask_l known answer (18 bits spread)");

	struct bk_chunk_params small = {64, 64, 128};
	if (bk_chunker_init(&c, seed, &small, &e) != 0)
		abort();
	is_int(popcount64(c.mask_l), 4, "smallest avg: mask_l has 4 bits");
	is_int(popcount64(c.mask_s), 8, "smallest avg: mask_s has 8 bits");

	unsigned char seed2[BK_CHUNKER_SEED_LEN];
	struct bk_chunker c2;
	fill_seed(seed2, 0);
	seed2[31] ^= 1;
	if (bk_chunker_init(&c2, seed2, &small, &e) != 0)
		abort();
	int shared = 0;
	for (int i = 0; i < 256; i++)
		shared += c.gear[i] == c2.gear[i];
	is_int(shared, 0, "one seed bit flipped: no gear entry in common");
}

static void
test_reference_and_splits(void)
{
	static const struct bk_chunk_params sets[] = {
	    {256, 1024, 4096}, /* small: many chunks, exercises every edge */
	    {64, 64, 64},      /* fixed size */
	    {64, 128, 192},    /* max reached often */
	    {1000, 1024, 1030}, {512, 4096, 65536},
	};
	unsigned char seed[BK_CHUNKER_SEED_LEN];
	struct bk_chunker c;
	struct sov_err e;
	size_t n = 1u << 20;
	unsigned char *b = random_buf(n);
	static struct cuts whole, one, rnd, ref;

	fill_seed(seed, 7);
	for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
		const struct bk_chunk_params *p = &sets[s];
		if (bk_chunker_init(&c, seed, p, &e) != 0)
			abort();
		chunk_whole(&c, b, n, &whole);

		/* Every cut agrees with the byte-at-a-time reference. */
		size_t off = 0;
		ref.n = 0;
		while (off < n) {
			size_t k = reference_next(&c, b + off, n - off, 1);
			ref.len[ref.n++] = k;
			off += k;
		}
		ok(cuts_equal(&whole, &ref),
		   "%u/%u/%u: same cuts as the byte-by-byte reference "
		   "(%zu chunks)",
		   p->min, p->avg, p->max, whole.n);

		size_t under = 0, over = 0, total = 0;
		for (size_t i = 0; i < whole.n; i++) {
			total += whole.len[i];
			if (i + 1 < whole.n && whole.len[i] <= p->min &&
			    p->min < p->max)
				under++;
			if (whole.len[i] > p->max)
				over++;
		}
		is_int(total, n, "  ... chunks cover the buffer");
		is_int(under, 0, "  ... no chunk but the last at or below min");
		is_int(over, 0, "  ... no chunk above max");

		/* 1-byte reads rescan the chunk each time: a 64 KiB prefix. */
		chunk_whole(&c, b, 64u << 10, &ref);
		chunk_pieces(&c, b, 64u << 10, 1, &one);
		ok(cuts_equal(&ref, &one),
		   "  ... same cuts fed 1 byte at a time (%zu chunks)", one.n);
		chunk_pieces(&c, b, n, 0, &rnd);
		ok(cuts_equal(&whole, &rnd), "  ... same cuts fed in random "
					     "pieces");
		chunk_pieces(&c, b, n, 4093, &rnd);
		ok(cuts_equal(&whole, &rnd), "  ... same cuts fed in 4093-byte "
					     "reads");
	}
	free(b);
}

static void
test_real_sets_split(void)
{
	unsigned char seed[BK_CHUNKER_SEED_LEN];
	struct bk_chunker c;
	struct sov_err e;
	size_t n = 24u << 20;
	unsigned char *b = random_buf(n);
	static struct cuts whole, rnd, big;

	fill_seed(seed, 9);
	if (bk_chunker_init(&c, seed, &BK_CHUNK_PAGES, &e) != 0)
		abort();
	chunk_whole(&c, b, n, &whole);
	chunk_pieces(&c, b, n, 0, &rnd);
	ok(cuts_equal(&whole, &rnd),
	   "BK_CHUNK_PAGES: random pieces give the same %zu chunks", whole.n);
	if (bk_chunker_init(&c, seed, &BK_CHUNK_FILES, &e) != 0)
		abort();
	chunk_whole(&c, b, n, &whole);
	chunk_pieces(&c, b, n, 0, &rnd);
	chunk_pieces(&c, b, n, 1u << 20, &big);
	ok(cuts_equal(&whole, &rnd) && cuts_equal(&whole, &big),
	   "BK_CHUNK_FILES: random and 1 MiB pieces give the same %zu chunks",
	   whole.n);
	free(b);
}

static void
test_sizes(void)
{
	static const struct bk_chunk_params sets[] = {
	    {1024, 4096, 32768},
	    {2048, 4096, 32768}, /* min = avg / 2, like BK_CHUNK_FILES */
	    {16384, 65536, 262144},
	};
	unsigned char seed[BK_CHUNKER_SEED_LEN];
	struct bk_chunker c;
	struct sov_err e;
	static struct cuts cu;

	fill_seed(seed, 3);
	for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
		const struct bk_chunk_params *p = &sets[s];
		size_t n = (size_t)p->avg * 5000;
		unsigned char *b = random_buf(n);
		size_t below = 0;
		double want = expected_mean(p), mean;

		if (bk_chunker_init(&c, seed, p, &e) != 0)
			abort();
		chunk_whole(&c, b, n, &cu);
		mean = (double)n / (double)cu.n;
		for (size_t i = 0; i + 1 < cu.n; i++)
			below += cu.len[i] <= p->avg;
		ok(mean > 0.75 * p->avg && mean < 1.25 * p->avg,
		   "%u/%u/%u: mean %.0f within 25%% of avg over %zu chunks",
		   p->min, p->avg, p->max, mean, cu.n);
		ok(mean > 0.95 * want && mean < 1.05 * want,
		   "  ... and within 5%% of the %.0f the masks predict", want);
		/* Normalisation: the hard mask makes cuts before avg rare. */
		ok((double)below / (double)cu.n < 0.25,
		   "  ... only %.1f%% of chunks end at or before avg",
		   100.0 * (double)below / (double)cu.n);
		free(b);
	}
}

static void
test_max_and_eof(void)
{
	unsigned char seed[BK_CHUNKER_SEED_LEN];
	struct bk_chunker c;
	struct sov_err e;
	struct bk_chunk_params p = {256, 1024, 4096};
	size_t n = 64u << 10;
	unsigned char *b = calloc(n, 1);
	int v, found = -1;

	if (!b)
		abort();
	fill_seed(seed, 5);
	if (bk_chunker_init(&c, seed, &p, &e) != 0)
		abort();
	/* A byte value whose run never hits the mask cuts only at max. */
	for (v = 0; v < 256 && found < 0; v++) {
		memset(b, v, n);
		if (bk_chunker_next(&c, b, n, 1) == p.max)
			found = v;
	}
	ok(found >= 0, "some constant byte run never cuts (value %d)", found);
	if (found >= 0) {
		is_int(bk_chunker_next(&c, b, n, 0), p.max,
		       "no cut: max when len > max, not at eof");
		is_int(bk_chunker_next(&c, b, p.max, 0), p.max,
		       "no cut: max when len == max, not at eof");
		is_int(bk_chunker_next(&c, b, p.max - 1, 0), 0,
		       "no cut, len < max, not eof: needs more");
		is_int(bk_chunker_next(&c, b, p.max - 1, 1), p.max - 1,
		       "no cut, len < max, eof: the rest");
		is_int(bk_chunker_next(&c, b, 3000, 1), 3000,
		       "no cut past avg, eof: the rest");
	}
	is_int(bk_chunker_next(&c, b, 0, 0), 0, "len 0: 0");
	is_int(bk_chunker_next(&c, b, 0, 1), 0, "len 0 at eof: 0");
	is_int(bk_chunker_next(&c, b, 1, 1), 1, "1 byte at eof: 1");
	is_int(bk_chunker_next(&c, b, 1, 0), 0, "1 byte, not eof: needs more");
	is_int(bk_chunker_next(&c, b, p.min, 0), 0,
	       "len == min, not eof: needs more");
	is_int(bk_chunker_next(&c, b, p.min, 1), p.min,
	       "len == min at eof: the rest");

	/* A cut found in a short buffer is final: more bytes keep it. */
	unsigned char *r = random_buf(n);
	size_t full = bk_chunker_next(&c, r, n, 0);
	ok(full > p.min && full < p.max,
	   "random data cuts between min and max");
	is_int(bk_chunker_next(&c, r, full, 0), full,
	       "the same cut with exactly the chunk's bytes, not at eof");
	is_int(bk_chunker_next(&c, r, full - 1, 0), 0,
	       "one byte short of the cut: needs more");
	is_int(bk_chunker_next(&c, r, full - 1, 1), full - 1,
	       "one byte short of the cut at eof: the rest");
	free(r);
	free(b);
}

static int
cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* Hashes of the chunks of b, sorted. Returns the count. */
static size_t
chunk_hashes(const struct bk_chunker *c, const unsigned char *b, size_t n,
	     unsigned char (*out)[32])
{
	static struct cuts cu;
	size_t off = 0;

	chunk_whole(c, b, n, &cu);
	for (size_t i = 0; i < cu.n; i++) {
		crypto_generichash(out[i], 32, b + off, cu.len[i], NULL, 0);
		off += cu.len[i];
	}
	qsort(out, cu.n, 32, cmp_hash);
	return cu.n;
}

static size_t
count_new(unsigned char (*old)[32], size_t nold, unsigned char (*cur)[32],
	  size_t ncur)
{
	size_t fresh = 0;

	for (size_t i = 0; i < ncur; i++)
		if (!bsearch(cur[i], old, nold, 32, cmp_hash))
			fresh++;
	return fresh;
}

static void
test_locality_and_seeds(void)
{
	unsigned char seed[BK_CHUNKER_SEED_LEN], seed2[BK_CHUNKER_SEED_LEN];
	struct bk_chunker c, c2;
	struct sov_err e;
	size_t n = 16u << 20;
	unsigned char *b = random_buf(n);
	unsigned char *b2 = malloc(n + 5);
	static unsigned char h1[MAX_CUTS][32], h2[MAX_CUTS][32];
	static struct cuts x, y;

	if (!b2)
		abort();
	fill_seed(seed, 11);
	if (bk_chunker_init(&c, seed, &BK_CHUNK_PAGES, &e) != 0)
		abort();

	/* 5 bytes inserted in the middle. */
	memcpy(b2, b, n / 2);
	memcpy(b2 + n / 2, "HELLO", 5);
	memcpy(b2 + n / 2 + 5, b + n / 2, n - n / 2);
	size_t n1 = chunk_hashes(&c, b, n, h1);
	size_t n2 = chunk_hashes(&c, b2, n + 5, h2);
	size_t fresh = count_new(h1, n1, h2, n2);
	ok(fresh >= 1 && fresh <= 2,
	   "5 bytes inserted: %zu of %zu chunks new (only around the edit)",
	   fresh, n2);

	/* 5 bytes deleted, and 1 byte overwritten elsewhere. */
	memcpy(b2, b, n);
	memmove(b2 + n / 3, b2 + n / 3 + 5, n - n / 3 - 5);
	b2[(n / 4) * 3] ^= 0x55;
	n2 = chunk_hashes(&c, b2, n - 5, h2);
	fresh = count_new(h1, n1, h2, n2);
	ok(fresh >= 2 && fresh <= 4,
	   "5 bytes deleted and 1 changed: %zu of %zu chunks new", fresh, n2);

	/* Same data, another seed: the cut points move. */
	memcpy(seed2, seed, sizeof(seed));
	seed2[0] ^= 0x80;
	if (bk_chunker_init(&c2, seed2, &BK_CHUNK_PAGES, &e) != 0)
		abort();
	chunk_whole(&c, b, n, &x);
	chunk_whole(&c2, b, n, &y);
	size_t same = 0, i = 0, j = 0, ox = 0, oy = 0;
	while (i < x.n && j < y.n) {
		if (ox + x.len[i] == oy + y.len[j])
			same++;
		if (ox + x.len[i] <= oy + y.len[j])
			ox += x.len[i++];
		else
			oy += y.len[j++];
	}
	ok(!cuts_equal(&x, &y), "another seed cuts the same data differently");
	ok(same <= x.n / 10,
	   "  ... %zu of %zu cut offsets in common (the end of the buffer is "
	   "one)",
	   same, x.n);
	free(b);
	free(b2);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_params();
	test_gear_and_masks();
	test_reference_and_splits();
	test_real_sets_split();
	test_sizes();
	test_max_and_eof();
	test_locality_and_seeds();
	return done_testing();
}
