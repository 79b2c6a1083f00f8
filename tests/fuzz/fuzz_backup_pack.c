/*
 * fuzz_backup_pack.c - libFuzzer target for sov-backup's pack reader:
 * bk_pack_parse_header and bk_blob_open, as check and restore call them
 * on packs read from a repository.
 *
 * Random bytes never pass the AEAD check, so the input is sealed with a
 * fixed test key first and the parsers behind it see fuzzer-made
 * plaintext. The first byte picks a mode:
 *
 *   0  [u16le gap] header plaintext: a pack of gap pattern bytes, the
 *      input sealed as its header, and the trailer. Parsed from the whole
 *      pack, from just its tail, and from a short tail through the *need
 *      protocol: the three must agree; accepted entries must lie in the
 *      blob area, in order, without overlap; opening each must fail
 *      (pattern bytes are not sealed).
 *   1  [u8 flags] [u32le extra] tail: the raw input is the tail of a pack
 *      of tail + extra (or just extra) bytes: the checks before the AEAD;
 *      it must fail, and *need must stay inside the pack. Its first 48
 *      bytes are also taken for an entry of a blob at its start.
 *   2  [u8 flags] [u32le raw] payload: payload sealed as a blob (zstd
 *      compressed or not, as the flags say) with a header entry for it;
 *      bk_blob_open must succeed exactly when the payload decompresses to
 *      raw bytes whose keyed id is the entry's, and give those bytes.
 *
 * Failures must carry a code and a message naming the pack or blob.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "crypto.h"
#include "pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PACK_AD "sov-backup pack v1"
#define NAME "fuzzpack"
/* Raw sizes above this (but under BK_BLOB_MAX) are folded below it, so a
 * hostile frame cannot make every run allocate and fill 64 MiB. */
#define RAW_FOLD (1u << 20)
/* The short tail a reader tries first (check reads the whole pack; a
 * reader of one blob reads a tail and asks again). */
#define SHORT_TAIL 64

static struct bk_keys *keys;

static const struct bk_keys *
test_keys(void)
{
	unsigned char master[BK_KEY_LEN];
	struct sov_err e;

	if (keys)
		return keys;
	for (size_t i = 0; i < sizeof(master); i++)
		master[i] = (unsigned char)(0xa5 ^ i);
	if (bk_crypto_init(&e) < 0 || !(keys = bk_keys_new(master, &e)))
		__builtin_trap();
	return keys;
}

/* A failure: a known code and a message that names what. */
static void
check_err(const struct sov_err *e, const char *what)
{
	if (e->msg[0] == '\0')
		__builtin_trap();
	if (e->code == SOV_EXIT_TEMPFAIL)
		return; /* out of memory: says "pack header" etc. */
	if (e->code != SOV_EXIT_FAIL || !strstr(e->msg, what))
		__builtin_trap();
}

/* What the header says about entries, whenever it is accepted. */
static void
check_entries(const struct bk_pack_entry *en, uint32_t n, uint64_t pack_size,
	      size_t hlen)
{
	uint64_t end = 0, hstart = pack_size - 4 - hlen;

	for (uint32_t i = 0; i < n; i++) {
		if ((en[i].type != BK_BLOB_DATA &&
		     en[i].type != BK_BLOB_TREE) ||
		    en[i].comp > BK_COMP_ZSTD ||
		    en[i].length < BK_SEAL_OVERHEAD ||
		    en[i].raw > BK_BLOB_MAX || en[i].offset < end ||
		    (uint64_t)en[i].offset + en[i].length > hstart)
			__builtin_trap();
		end = (uint64_t)en[i].offset + en[i].length;
	}
}

static int
same_entries(const struct bk_pack_entry *a, uint32_t na,
	     const struct bk_pack_entry *b, uint32_t nb)
{
	if (na != nb)
		return 0;
	for (uint32_t i = 0; i < na; i++)
		if (a[i].offset != b[i].offset || a[i].length != b[i].length ||
		    a[i].raw != b[i].raw || a[i].type != b[i].type ||
		    a[i].comp != b[i].comp ||
		    memcmp(a[i].id, b[i].id, BK_ID_LEN) != 0)
			return 0;
	return 1;
}

/* Sealed header and trailer after len bytes already in pack (which has
 * room for them); the new length. */
static size_t
seal_header(const unsigned char *h, size_t hlen, unsigned char *pack,
	    size_t len)
{
	bk_seal(test_keys(), PACK_AD, strlen(PACK_AD), h, hlen, pack + len);
	bk_put_u32(pack + len + hlen + BK_SEAL_OVERHEAD,
		   (uint32_t)(hlen + BK_SEAL_OVERHEAD));
	return len + hlen + BK_SEAL_OVERHEAD + 4;
}

static void
mode_header(const uint8_t *data, size_t size)
{
	const struct bk_keys *k = test_keys();
	struct bk_pack_entry *en = NULL, *en2 = NULL;
	unsigned char *pack = NULL, *out = NULL;
	size_t gap, hlen, len, need = 0, tl;
	uint32_t n = 0, n2 = 0;
	struct sov_err e;
	int rc, rc2;

	if (size < 2)
		return;
	gap = (size_t)data[0] | (size_t)data[1] << 8;
	data += 2;
	size -= 2;
	hlen = size;
	pack = malloc(gap + hlen + BK_SEAL_OVERHEAD + 4);
	if (!pack)
		return;
	for (size_t i = 0; i < gap; i++)
		pack[i] = (unsigned char)(i * 31 + 7);
	len = seal_header(data, hlen, pack, gap);

	/* The whole pack as its own tail, as check reads it. */
	sov_err_clear(&e);
	rc = bk_pack_parse_header(k, pack, len, len, &en, &n, &need, NAME, &e);
	if (rc < 0) {
		check_err(&e, NAME);
		if (need != 0 || en != NULL || n != 0)
			__builtin_trap();
	} else {
		check_entries(en, n, len, hlen + BK_SEAL_OVERHEAD);
	}

	/* A short tail first, then what *need asks for: the same answer. */
	tl = len < SHORT_TAIL ? len : SHORT_TAIL;
	sov_err_clear(&e);
	rc2 = bk_pack_parse_header(k, pack + len - tl, tl, len, &en2, &n2,
				   &need, NAME, &e);
	if (rc2 < 0 && need != 0) {
		if (need <= tl || need > len)
			__builtin_trap();
		tl = need;
		sov_err_clear(&e);
		rc2 = bk_pack_parse_header(k, pack + len - tl, tl, len, &en2,
					   &n2, &need, NAME, &e);
		if (rc2 < 0 && need != 0)
			__builtin_trap(); /* asked twice */
	}
	if (rc2 != rc || (rc == 0 && !same_entries(en, n, en2, n2)))
		__builtin_trap();

	/* Blobs where the header puts them: pattern bytes, never sealed. */
	for (uint32_t i = 0; i < n; i++) {
		sov_err_clear(&e);
		if (bk_blob_open(k, &en[i], pack + en[i].offset, &out,
				 "fuzzblob", &e) == 0)
			__builtin_trap();
		check_err(&e, "fuzzblob");
		if (out)
			__builtin_trap();
	}
	free(en);
	free(en2);
	free(pack);
}

static void
mode_tail(const uint8_t *data, size_t size)
{
	const struct bk_keys *k = test_keys();
	struct bk_pack_entry *en = NULL;
	uint64_t pack_size;
	size_t need = 0;
	uint32_t n = 0;
	struct sov_err e;

	if (size < 5)
		return;
	pack_size = bk_get_u32(data + 1);
	if (data[0] & 1)
		pack_size += size - 5;
	sov_err_clear(&e);
	if (bk_pack_parse_header(k, data + 5, size - 5, pack_size, &en, &n,
				 &need, NAME, &e) == 0)
		__builtin_trap(); /* unsealed bytes authenticated */
	check_err(&e, NAME);
	if (en || n)
		__builtin_trap();
	if (need != 0 && (need <= size - 5 || need > pack_size))
		__builtin_trap();

	/* An entry straight from the input, as an index file may give one
	 * (unchecked by a header): bk_blob_open's own checks. */
	if (size - 5 >= BK_PACK_ENTRY_LEN) {
		struct bk_pack_entry en1;
		unsigned char *out = NULL;

		bk_entry_decode(data + 5, &en1);
		if (en1.length <= size - 5) {
			sov_err_clear(&e);
			if (bk_blob_open(k, &en1, data + 5, &out, "fuzzblob",
					 &e) == 0 ||
			    out)
				__builtin_trap();
			check_err(&e, "fuzzblob");
		}
	}
}

static void
mode_blob(const uint8_t *data, size_t size)
{
	const struct bk_keys *k = test_keys();
	struct bk_pack_entry en, *got = NULL;
	unsigned char ad[BK_BLOB_AD_LEN],
	    h[BK_PACK_HEADER_FIXED + BK_PACK_ENTRY_LEN];
	unsigned char *pack = NULL, *want = NULL, *out = NULL;
	const unsigned char *payload;
	size_t plen, len, need = 0;
	uint32_t raw, n = 0;
	int flags, ok = 0, rc;
	struct sov_err e;

	if (size < 5)
		return;
	flags = data[0];
	raw = bk_get_u32(data + 1);
	payload = data + 5;
	plen = size - 5;
	if (raw > RAW_FOLD && raw < BK_BLOB_MAX)
		raw %= RAW_FOLD;
	memset(&en, 0, sizeof(en));
	en.type = flags & 1 ? BK_BLOB_TREE : BK_BLOB_DATA;
	en.comp = flags & 2 ? BK_COMP_ZSTD : BK_COMP_NONE;
	if (!(flags & 8)) {
		/* Raw size from the data itself, so the fuzzer reaches the
		 * end of the path without guessing lengths. */
		unsigned long long fcs =
		    ZSTD_getFrameContentSize(payload, plen);

		if (en.comp == BK_COMP_NONE)
			raw = (uint32_t)(plen > BK_BLOB_MAX ? raw : plen);
		else if (fcs <= RAW_FOLD)
			raw = (uint32_t)fcs;
	}
	/* What bk_blob_open should make of it. */
	if (raw <= BK_BLOB_MAX) {
		if (en.comp == BK_COMP_ZSTD) {
			want = malloc(raw ? raw : 1);
			if (!want)
				return;
			size_t dn = ZSTD_decompress(want, raw, payload, plen);

			ok = !ZSTD_isError(dn) && dn == raw;
		} else if (plen == raw) {
			want = malloc(raw ? raw : 1);
			if (!want)
				return;
			memcpy(want, payload, plen);
			ok = 1;
		}
	}
	if (ok && (flags & 4))
		bk_typed_id(k, en.type, want, raw, en.id);
	else
		memset(en.id, 0x5a, BK_ID_LEN);
	ok = ok && (flags & 4);
	en.offset = 0;
	en.length = (uint32_t)(plen + BK_SEAL_OVERHEAD);
	en.raw = raw;

	pack = malloc(plen + 2 * BK_SEAL_OVERHEAD + sizeof(h) + 4);
	if (!pack)
		goto out;
	bk_blob_ad(&en, ad);
	bk_seal(k, ad, sizeof(ad), payload, plen, pack);
	if (flags & 16) {
		/* The header says another compression than the blob was
		 * sealed with: the associated data must catch it. */
		en.comp ^= 1;
		ok = 0;
	}
	memcpy(h, BK_PACK_MAGIC, 8);
	bk_put_u32(h + 8, 1);
	bk_entry_encode(&en, h + BK_PACK_HEADER_FIXED);
	len = seal_header(h, sizeof(h), pack, plen + BK_SEAL_OVERHEAD);

	sov_err_clear(&e);
	rc = bk_pack_parse_header(k, pack, len, len, &got, &n, &need, NAME, &e);
	if (raw > BK_BLOB_MAX) {
		/* The header refuses the entry. */
		if (rc == 0)
			__builtin_trap();
		check_err(&e, NAME);
		goto out;
	}
	if (rc < 0 || n != 1 || !same_entries(&en, 1, got, 1))
		__builtin_trap();
	sov_err_clear(&e);
	rc = bk_blob_open(k, &got[0], pack + got[0].offset, &out, "fuzzblob",
			  &e);
	if (rc != (ok ? 0 : -1))
		__builtin_trap();
	if (rc == 0 && (!out || (raw && memcmp(out, want, raw) != 0)))
		__builtin_trap();
	if (rc < 0) {
		check_err(&e, "fuzzblob");
		if (out)
			__builtin_trap();
	}
out:
	free(out);
	free(got);
	free(want);
	free(pack);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		mode_header(data + 1, size - 1);
		break;
	case 1:
		mode_tail(data + 1, size - 1);
		break;
	default:
		mode_blob(data + 1, size - 1);
		break;
	}
	return 0;
}
