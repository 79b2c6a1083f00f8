/*
 * fuzz_backup_index.c - libFuzzer target for bk_indexfile_decode, which
 * reads every index file of a repository when it is opened.
 *
 * The input is the plaintext of an index file; it is sealed with a fixed
 * test key (random bytes never pass the AEAD check) and decoded into a
 * fresh index, as bk_repo_load_index does. Then:
 *   - a failure carries a code and a message naming the file;
 *   - every blob the index holds is found again by its id, has a pack,
 *     and is well formed; ids it does not hold are not found;
 *   - the superseded ids are the ones in the file;
 *   - decoding the same file again into the same index adds nothing;
 *   - encoding what was decoded and decoding that gives the same blobs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "index.h"
#include "pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INDEX_AD "sov-backup index v1"
#define NAME "index/fuzz"

static struct bk_keys *keys;

static const struct bk_keys *
test_keys(void)
{
	unsigned char master[BK_KEY_LEN];
	struct sov_err e;

	if (keys)
		return keys;
	for (size_t i = 0; i < sizeof(master); i++)
		master[i] = (unsigned char)(0x3c ^ i);
	if (bk_crypto_init(&e) < 0 || !(keys = bk_keys_new(master, &e)))
		__builtin_trap();
	return keys;
}

static void
check_err(const struct sov_err *e)
{
	if (e->msg[0] == '\0')
		__builtin_trap();
	if (e->code == SOV_EXIT_TEMPFAIL)
		return; /* out of memory */
	if (e->code != SOV_EXIT_FAIL || !strstr(e->msg, NAME))
		__builtin_trap();
}

/* Every blob is found by its id and is what a reader may rely on. */
static void
check_index(const struct bk_index *x)
{
	size_t n = bk_index_count(x);
	unsigned char probe[BK_ID_LEN];

	for (size_t i = 0; i < n; i++) {
		const struct bk_blob *b = bk_index_at(x, i);

		if (!b || bk_index_get(x, b->en.id) != b ||
		    !bk_index_pack_id(x, b->pack) ||
		    (b->en.type != BK_BLOB_DATA &&
		     b->en.type != BK_BLOB_TREE) ||
		    b->en.comp > BK_COMP_ZSTD ||
		    b->en.length < BK_SEAL_OVERHEAD || b->en.raw > BK_BLOB_MAX)
			__builtin_trap();
		/* A near miss is either absent or really that id. */
		memcpy(probe, b->en.id, BK_ID_LEN);
		probe[BK_ID_LEN - 1] ^= 1;
		const struct bk_blob *o = bk_index_get(x, probe);

		if (o && memcmp(o->en.id, probe, BK_ID_LEN) != 0)
			__builtin_trap();
	}
	if (bk_index_at(x, n) != NULL ||
	    bk_index_pack_id(x, bk_index_npacks(x)) != NULL)
		__builtin_trap();
	memset(probe, 0xee, sizeof(probe));
	const struct bk_blob *o = bk_index_get(x, probe);

	if (o && memcmp(o->en.id, probe, BK_ID_LEN) != 0)
		__builtin_trap();
}

/* Field by field: the struct has padding. */
static int
same_entry(const struct bk_pack_entry *a, const struct bk_pack_entry *b)
{
	return a->offset == b->offset && a->length == b->length &&
	       a->raw == b->raw && a->type == b->type && a->comp == b->comp &&
	       memcmp(a->id, b->id, BK_ID_LEN) == 0;
}

/* Encode x again (its blobs grouped by pack) and decode that into a new
 * index: the same blobs in the same packs. */
static void
round_trip(const struct bk_index *x)
{
	const struct bk_keys *k = test_keys();
	uint32_t np = bk_index_npacks(x);
	size_t n = bk_index_count(x), len = 0;
	struct bk_pack_info *packs = calloc(np ? np : 1, sizeof(*packs));
	struct bk_pack_entry *ents = calloc(n ? n : 1, sizeof(*ents));
	unsigned char *sealed = NULL;
	struct bk_index *y = NULL;
	struct sov_err e;
	size_t used = 0;

	if (!packs || !ents)
		goto out;
	for (uint32_t p = 0; p < np; p++) {
		memcpy(packs[p].id, bk_index_pack_id(x, p), BK_ID_LEN);
		packs[p].ents = ents + used;
		for (size_t i = 0; i < n; i++)
			if (bk_index_at(x, i)->pack == p)
				ents[used++] = bk_index_at(x, i)->en;
		packs[p].n = (uint32_t)(ents + used - packs[p].ents);
	}
	if (used != n)
		__builtin_trap();
	sov_err_clear(&e);
	if (bk_indexfile_encode(k, packs, np, NULL, 0, &sealed, &len, &e) < 0)
		goto out; /* too large for the limit: fine */
	if (!(y = bk_index_new(&e)))
		goto out;
	sov_err_clear(&e);
	if (bk_indexfile_decode(k, sealed, len, y, NULL, NULL, NAME, &e) < 0) {
		if (e.code == SOV_EXIT_TEMPFAIL)
			goto out;
		__builtin_trap();
	}
	if (bk_index_count(y) != n)
		__builtin_trap();
	for (size_t i = 0; i < n; i++) {
		const struct bk_blob *a = bk_index_at(x, i);
		const struct bk_blob *b = bk_index_get(y, a->en.id);

		if (!b || !same_entry(&a->en, &b->en) ||
		    memcmp(bk_index_pack_id(y, b->pack),
			   bk_index_pack_id(x, a->pack), BK_ID_LEN) != 0)
			__builtin_trap();
	}
out:
	bk_index_free(y);
	free(sealed);
	free(ents);
	free(packs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct bk_keys *k = test_keys();
	unsigned char(*sup)[BK_ID_LEN] = NULL;
	unsigned char *sealed;
	struct bk_index *x;
	size_t nsup = 0, count;
	struct sov_err e;
	int rc;

	if (size > BK_INDEX_FILE_MAX - BK_SEAL_OVERHEAD)
		return 0;
	sealed = malloc(size + BK_SEAL_OVERHEAD);
	if (!sealed)
		return 0;
	bk_seal(k, INDEX_AD, strlen(INDEX_AD), data, size, sealed);
	if (!(x = bk_index_new(&e)))
		__builtin_trap();
	/* One bit changed: refused before anything is added. */
	sealed[size + BK_SEAL_OVERHEAD - 1] ^= 0x80;
	sov_err_clear(&e);
	if (bk_indexfile_decode(k, sealed, size + BK_SEAL_OVERHEAD, x, &sup,
				&nsup, NAME, &e) == 0 ||
	    bk_index_count(x) != 0 || nsup != 0)
		__builtin_trap();
	check_err(&e);
	sealed[size + BK_SEAL_OVERHEAD - 1] ^= 0x80;
	sov_err_clear(&e);
	rc = bk_indexfile_decode(k, sealed, size + BK_SEAL_OVERHEAD, x, &sup,
				 &nsup, NAME, &e);
	if (rc < 0) {
		check_err(&e);
		goto out;
	}
	/* The superseded ids are the file's, in its order. */
	if (nsup != bk_get_u32(data + 8) ||
	    (nsup && memcmp(sup, data + 12, nsup * BK_ID_LEN) != 0))
		__builtin_trap();
	check_index(x);
	count = bk_index_count(x);
	sov_err_clear(&e);
	if (bk_indexfile_decode(k, sealed, size + BK_SEAL_OVERHEAD, x, &sup,
				&nsup, NAME, &e) < 0) {
		if (e.code != SOV_EXIT_TEMPFAIL)
			__builtin_trap();
		goto out;
	}
	if (bk_index_count(x) != count ||
	    nsup != 2 * (size_t)bk_get_u32(data + 8))
		__builtin_trap();
	round_trip(x);
out:
	free(sup);
	bk_index_free(x);
	free(sealed);
	return 0;
}
