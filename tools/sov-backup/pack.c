/*
 * pack.c - pack writer, header parser, blob opener.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "pack.h"

#define PACK_AD "sov-backup pack v1"

void
bk_put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

uint32_t
bk_get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

void
bk_put_u64(unsigned char *p, uint64_t v)
{
	bk_put_u32(p, (uint32_t)v);
	bk_put_u32(p + 4, (uint32_t)(v >> 32));
}

uint64_t
bk_get_u64(const unsigned char *p)
{
	return (uint64_t)bk_get_u32(p) | (uint64_t)bk_get_u32(p + 4) << 32;
}

void
bk_entry_encode(const struct bk_pack_entry *en, unsigned char *p)
{
	p[0] = en->type;
	p[1] = en->comp;
	p[2] = p[3] = 0;
	bk_put_u32(p + 4, en->offset);
	bk_put_u32(p + 8, en->length);
	bk_put_u32(p + 12, en->raw);
	memcpy(p + 16, en->id, BK_ID_LEN);
}

void
bk_entry_decode(const unsigned char *p, struct bk_pack_entry *en)
{
	en->type = p[0];
	en->comp = p[1];
	en->offset = bk_get_u32(p + 4);
	en->length = bk_get_u32(p + 8);
	en->raw = bk_get_u32(p + 12);
	memcpy(en->id, p + 16, BK_ID_LEN);
}

void
bk_typed_id(const struct bk_keys *k, int type, const void *data, size_t len,
	    unsigned char out[BK_ID_LEN])
{
	if (type == BK_BLOB_TREE)
		bk_tree_id(k, data, len, out);
	else
		bk_blob_id(k, data, len, out);
}

void
bk_blob_ad(const struct bk_pack_entry *en, unsigned char ad[BK_BLOB_AD_LEN])
{
	ad[0] = en->type;
	ad[1] = en->comp;
	memcpy(ad + 2, en->id, BK_ID_LEN);
}

void
bk_packer_set_sink(struct bk_packer *p, bk_pack_sink sink, void *arg)
{
	p->sink = sink;
	p->sink_arg = arg;
}

static int
reserve(struct bk_packer *p, size_t more, struct sov_err *e)
{
	size_t cap;
	unsigned char *nb;

	if (p->len + more <= p->cap)
		return 0;
	/* Grow to what is needed (plus 1 MiB), not by doubling: a pack
	 * closes just past BK_PACK_TARGET, and doubling would keep 32 MiB
	 * per thread for the one blob that crosses the line. With a sink,
	 * buf holds one blob at a time. */
	cap = p->cap || p->sink ? 0 : (size_t)BK_PACK_TARGET + (1u << 20);
	if (cap < p->len + more)
		cap = p->len + more + (p->sink ? 0 : (1u << 20));
	nb = realloc(p->buf, cap);
	if (!nb)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "pack buffer");
	p->buf = nb;
	p->cap = cap;
	return 0;
}

static int
reserve_entry(struct bk_packer *p, struct sov_err *e)
{
	uint32_t nc;
	struct bk_pack_entry *ne;

	if (p->n < p->cap_ents)
		return 0;
	nc = p->cap_ents ? p->cap_ents * 2 : 256;
	ne = realloc(p->ents, nc * sizeof(*ne));
	if (!ne)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "pack entries");
	p->ents = ne;
	p->cap_ents = nc;
	return 0;
}

void
bk_pack_hash_blob(bk_storage_hash *h, const unsigned char *sealed, size_t len)
{
	if (len < BK_SEAL_OVERHEAD) { /* not a blob the packer wrote */
		bk_storage_hash_update(h, sealed, len);
		return;
	}
	bk_storage_hash_update(h, sealed, BK_NONCE_LEN);
	bk_storage_hash_update(h, sealed + len - BK_TAG_LEN, BK_TAG_LEN);
}

/* The n bytes just put at buf + len belong to the pack (a sealed blob when
 * blob is set): hash them into its name, and send them on when there is a
 * sink. */
static int
emit(struct bk_packer *p, size_t n, int blob, struct sov_err *e)
{
	if (!p->hashing) {
		bk_storage_hash_init(&p->hash);
		p->hashing = 1;
	}
	if (blob)
		bk_pack_hash_blob(&p->hash, p->buf + p->len, n);
	else
		bk_storage_hash_update(&p->hash, p->buf + p->len, n);
	p->size += n;
	if (!p->sink) {
		p->len += n;
		return 0;
	}
	return p->sink(p->sink_arg, p->buf + p->len, n, e);
}

int
bk_packer_add(struct bk_packer *p, const struct bk_keys *k, int type,
	      const unsigned char id[BK_ID_LEN], const void *data, size_t len,
	      int level, struct bk_pack_entry *out, struct sov_err *e)
{
	struct bk_pack_entry en;
	unsigned char ad[BK_BLOB_AD_LEN], *at;
	const void *plain = data;
	size_t plen = len, room;

	if (len > BK_BLOB_MAX)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "blob of %zu bytes: over "
				   "the limit of %u",
				   len, BK_BLOB_MAX);
	if (p->n >= BK_PACK_MAX_ENTRIES || p->size > BK_PACK_MAX / 2)
		return sov_err_set(e, SOV_EXIT_FAIL, "pack full");
	room = level > 0 && len >= 64 ? ZSTD_compressBound(len) : len;
	if (reserve(p, room + BK_SEAL_OVERHEAD, e) < 0 ||
	    reserve_entry(p, e) < 0)
		return -1;
	memset(&en, 0, sizeof(en));
	memcpy(en.id, id, BK_ID_LEN);
	en.type = (uint8_t)type;
	en.comp = BK_COMP_NONE;
	/* Compressed straight to where the ciphertext goes, then sealed in
	 * place: no buffer between. */
	at = p->buf + p->len + BK_NONCE_LEN;
	if (room != len) {
		size_t zn;

		if (!p->zctx && !(p->zctx = ZSTD_createCCtx()))
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL,
					   "compression context");
		zn = ZSTD_compressCCtx(p->zctx, at, room, data, len, level);
		/* Keep it raw unless compression saves at least 1/64:
		 * decompression is not free either. */
		if (!ZSTD_isError(zn) && zn < len - len / 64) {
			plain = at;
			plen = zn;
			en.comp = BK_COMP_ZSTD;
		}
	}
	en.offset = (uint32_t)p->size;
	en.length = (uint32_t)(plen + BK_SEAL_OVERHEAD);
	en.raw = (uint32_t)len;
	bk_blob_ad(&en, ad);
	bk_seal(k, ad, sizeof(ad), plain, plen, p->buf + p->len);
	if (emit(p, en.length, 1, e) < 0)
		return -1;
	p->ents[p->n++] = en;
	if (out)
		*out = en;
	return 0;
}

int
bk_packer_add_sealed(struct bk_packer *p, const struct bk_pack_entry *en,
		     const unsigned char *sealed, struct sov_err *e)
{
	if (p->n >= BK_PACK_MAX_ENTRIES || p->size > BK_PACK_MAX / 2)
		return sov_err_set(e, SOV_EXIT_FAIL, "pack full");
	if (reserve(p, en->length, e) < 0 || reserve_entry(p, e) < 0)
		return -1;
	memcpy(p->buf + p->len, sealed, en->length);
	p->ents[p->n] = *en;
	p->ents[p->n].offset = (uint32_t)p->size;
	if (emit(p, en->length, 1, e) < 0)
		return -1;
	p->n++;
	return 0;
}

int
bk_packer_finish(struct bk_packer *p, const struct bk_keys *k,
		 unsigned char id[BK_ID_LEN], struct sov_err *e)
{
	size_t hlen = BK_PACK_HEADER_FIXED + (size_t)p->n * BK_PACK_ENTRY_LEN;
	unsigned char *h = malloc(hlen);
	int rc = -1;

	if (!h)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "pack header");
	memcpy(h, BK_PACK_MAGIC, 8);
	bk_put_u32(h + 8, p->n);
	for (uint32_t i = 0; i < p->n; i++)
		bk_entry_encode(&p->ents[i], h + BK_PACK_HEADER_FIXED +
						 (size_t)i * BK_PACK_ENTRY_LEN);
	if (reserve(p, hlen + BK_SEAL_OVERHEAD + 4, e) < 0)
		goto out;
	bk_seal(k, PACK_AD, strlen(PACK_AD), h, hlen, p->buf + p->len);
	bk_put_u32(p->buf + p->len + hlen + BK_SEAL_OVERHEAD,
		   (uint32_t)(hlen + BK_SEAL_OVERHEAD));
	if (emit(p, hlen + BK_SEAL_OVERHEAD + 4, 0, e) < 0)
		goto out;
	bk_storage_hash_final(&p->hash, id);
	p->hashing = 0;
	rc = 0;
out:
	free(h);
	return rc;
}

void
bk_packer_reset(struct bk_packer *p)
{
	p->len = 0;
	p->size = 0;
	p->n = 0;
	p->hashing = 0;
}

void
bk_packer_free(struct bk_packer *p)
{
	free(p->buf);
	free(p->ents);
	ZSTD_freeCCtx(p->zctx);
	memset(p, 0, sizeof(*p));
}

int
bk_pack_parse_header(const struct bk_keys *k, const unsigned char *tail,
		     size_t tail_len, uint64_t pack_size,
		     struct bk_pack_entry **ents, uint32_t *n, size_t *need,
		     const char *name, struct sov_err *e)
{
	uint32_t hlen, count;
	size_t plen;
	uint64_t hstart, end = 0;
	unsigned char *h = NULL;
	struct bk_pack_entry *en = NULL;
	int rc = -1;

	*ents = NULL;
	*n = 0;
	*need = 0;
	if (pack_size < 4 + BK_SEAL_OVERHEAD + BK_PACK_HEADER_FIXED ||
	    tail_len < 4 || tail_len > pack_size)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "pack %s: truncated (%llu bytes)", name,
				   (unsigned long long)pack_size);
	hlen = bk_get_u32(tail + tail_len - 4);
	if (hlen < BK_SEAL_OVERHEAD + BK_PACK_HEADER_FIXED ||
	    hlen > pack_size - 4 ||
	    hlen > BK_SEAL_OVERHEAD + BK_PACK_HEADER_FIXED +
		       (uint64_t)BK_PACK_MAX_ENTRIES * BK_PACK_ENTRY_LEN)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "pack %s: header length %u does not fit a "
				   "pack of %llu bytes",
				   name, hlen, (unsigned long long)pack_size);
	if ((size_t)hlen + 4 > tail_len) {
		*need = (size_t)hlen + 4;
		return sov_err_set(e, SOV_EXIT_FAIL, "pack %s: short tail",
				   name);
	}
	hstart = pack_size - 4 - hlen;
	plen = hlen - BK_SEAL_OVERHEAD;
	h = malloc(plen);
	if (!h)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "pack header");
	if (bk_unseal(k, PACK_AD, strlen(PACK_AD), tail + tail_len - 4 - hlen,
		      hlen, h, "pack header", e) < 0) {
		sov_err_prefix(e, "pack %s: ", name);
		goto out;
	}
	if (memcmp(h, BK_PACK_MAGIC, 8) != 0) {
		sov_err_set(e, SOV_EXIT_FAIL, "pack %s: bad header magic",
			    name);
		goto out;
	}
	count = bk_get_u32(h + 8);
	if (count > BK_PACK_MAX_ENTRIES ||
	    plen != BK_PACK_HEADER_FIXED + (size_t)count * BK_PACK_ENTRY_LEN) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "pack %s: header says %u entries in %zu bytes",
			    name, count, plen);
		goto out;
	}
	en = calloc(count ? count : 1, sizeof(*en));
	if (!en) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "pack entries");
		goto out;
	}
	for (uint32_t i = 0; i < count; i++) {
		bk_entry_decode(h + BK_PACK_HEADER_FIXED +
				    (size_t)i * BK_PACK_ENTRY_LEN,
				&en[i]);
		if ((en[i].type != BK_BLOB_DATA &&
		     en[i].type != BK_BLOB_TREE) ||
		    en[i].comp > BK_COMP_ZSTD ||
		    en[i].length < BK_SEAL_OVERHEAD ||
		    en[i].raw > BK_BLOB_MAX || en[i].offset < end ||
		    (uint64_t)en[i].offset + en[i].length > hstart) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "pack %s: entry %u is malformed or out of "
				    "place",
				    name, i);
			goto out;
		}
		end = (uint64_t)en[i].offset + en[i].length;
	}
	*ents = en;
	*n = count;
	en = NULL;
	rc = 0;
out:
	free(h);
	free(en);
	return rc;
}

/*
 * A decompression context per thread, kept for the thread's life. Making
 * one is most of the cost of a small blob: ZSTD_decompress makes and frees
 * one per call, about 14 us here, longer than inflating a 4 KiB chunk.
 * NULL when there is none (no memory): the caller falls back to that.
 */
static pthread_key_t dctx_key;
static pthread_once_t dctx_once = PTHREAD_ONCE_INIT;
static int dctx_key_ok;

static void
dctx_free(void *d)
{
	ZSTD_freeDCtx(d);
}

static void
dctx_key_make(void)
{
	dctx_key_ok = pthread_key_create(&dctx_key, dctx_free) == 0;
}

static ZSTD_DCtx *
thread_dctx(void)
{
	ZSTD_DCtx *d;

	if (pthread_once(&dctx_once, dctx_key_make) != 0 || !dctx_key_ok)
		return NULL;
	d = pthread_getspecific(dctx_key);
	if (!d && (d = ZSTD_createDCtx()) != NULL &&
	    pthread_setspecific(dctx_key, d) != 0) {
		ZSTD_freeDCtx(d);
		d = NULL;
	}
	return d;
}

static size_t
decompress(void *dst, size_t cap, const void *src, size_t len)
{
	ZSTD_DCtx *d = thread_dctx();

	return d ? ZSTD_decompressDCtx(d, dst, cap, src, len)
		 : ZSTD_decompress(dst, cap, src, len);
}

int
bk_blob_open(const struct bk_keys *k, const struct bk_pack_entry *en,
	     const unsigned char *sealed, unsigned char **out, const char *what,
	     struct sov_err *e)
{
	unsigned char ad[BK_BLOB_AD_LEN], id[BK_ID_LEN];
	unsigned char *plain = NULL, *data = NULL;
	size_t plen;
	int rc = -1;

	*out = NULL;
	if (en->length < BK_SEAL_OVERHEAD || en->raw > BK_BLOB_MAX)
		return sov_err_set(e, SOV_EXIT_FAIL, "%s: bad blob length",
				   what);
	plen = en->length - BK_SEAL_OVERHEAD;
	plain = malloc(plen ? plen : 1);
	if (!plain)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", what);
	bk_blob_ad(en, ad);
	if (bk_unseal(k, ad, sizeof(ad), sealed, en->length, plain, what, e) <
	    0)
		goto out;
	if (en->comp == BK_COMP_ZSTD) {
		data = malloc(en->raw ? en->raw : 1);
		if (!data) {
			sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", what);
			goto out;
		}
		size_t dn = decompress(data, en->raw, plain, plen);
		if (ZSTD_isError(dn) || dn != en->raw) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: does not decompress to %u bytes", what,
				    en->raw);
			goto out;
		}
	} else {
		if (plen != en->raw) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: %zu bytes, the index says %u", what,
				    plen, en->raw);
			goto out;
		}
		data = plain;
		plain = NULL;
	}
	bk_typed_id(k, en->type, data, en->raw, id);
	if (memcmp(id, en->id, BK_ID_LEN) != 0) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: content does not match its id", what);
		goto out;
	}
	*out = data;
	data = NULL;
	rc = 0;
out:
	free(plain);
	free(data);
	return rc;
}
