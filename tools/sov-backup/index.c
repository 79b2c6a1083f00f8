/*
 * index.c - the in-memory blob index and the index file codec.
 */
#include <stdlib.h>
#include <string.h>

#include "index.h"

#define INDEX_AD "sov-backup index v1"

/*
 * Blobs live in blocks of a fixed size rather than one array: growing an
 * array by doubling held the old and the new copy at once, and up to half
 * of the new one unused, which set prune's peak on a large repository.
 * A blob never moves.
 */
#define BLOCK_SHIFT 14
#define BLOCK_BLOBS ((size_t)1 << BLOCK_SHIFT)
#define BLOCK_MASK (BLOCK_BLOBS - 1)

struct bk_index {
	struct bk_blob **blocks;
	size_t n, nblocks, capblocks;
	uint32_t *slots; /* blob number + 1; 0 is empty */
	size_t nslots;   /* a power of two, at most half full */
	unsigned char (*packs)[BK_ID_LEN];
	uint32_t npacks, cap_packs;
	uint32_t *pslots; /* pack number + 1 */
	size_t npslots;
};

/* Ids are uniformly random (keyed hashes): their first bytes hash well. */
static size_t
hash_id(const unsigned char *id)
{
	size_t h;

	memcpy(&h, id, sizeof(h));
	return h;
}

struct bk_index *
bk_index_new(struct sov_err *e)
{
	struct bk_index *x = calloc(1, sizeof(*x));

	if (!x) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "index");
		return NULL;
	}
	return x;
}

void
bk_index_free(struct bk_index *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->nblocks; i++)
		free(x->blocks[i]);
	free(x->blocks);
	free(x->slots);
	free(x->packs);
	free(x->pslots);
	free(x);
}

static int
grow_slots(uint32_t **slots, size_t *nslots, size_t used,
	   const unsigned char *(*key)(const void *, uint32_t), const void *arg)
{
	size_t n = *nslots ? *nslots * 2 : 1024;
	uint32_t *s;

	while (n < used * 2 + 2)
		n *= 2;
	s = calloc(n, sizeof(*s));
	if (!s)
		return -1;
	for (uint32_t i = 0; i < used; i++) {
		size_t j = hash_id(key(arg, i)) & (n - 1);

		while (s[j])
			j = (j + 1) & (n - 1);
		s[j] = i + 1;
	}
	free(*slots);
	*slots = s;
	*nslots = n;
	return 0;
}

static struct bk_blob *
blob_at(const struct bk_index *x, size_t i)
{
	return &x->blocks[i >> BLOCK_SHIFT][i & BLOCK_MASK];
}

static const unsigned char *
blob_key(const void *arg, uint32_t i)
{
	return blob_at(arg, i)->en.id;
}

static const unsigned char *
pack_key(const void *arg, uint32_t i)
{
	return ((const struct bk_index *)arg)->packs[i];
}

uint32_t
bk_index_pack(struct bk_index *x, const unsigned char id[BK_ID_LEN])
{
	size_t j;

	if (x->npslots) {
		j = hash_id(id) & (x->npslots - 1);
		while (x->pslots[j]) {
			if (memcmp(x->packs[x->pslots[j] - 1], id, BK_ID_LEN) ==
			    0)
				return x->pslots[j] - 1;
			j = (j + 1) & (x->npslots - 1);
		}
	}
	if (x->npacks >= BK_INDEX_MAX_PACKS)
		return UINT32_MAX;
	if (x->npacks == x->cap_packs) {
		uint32_t nc = x->cap_packs ? x->cap_packs * 2 : 64;
		void *np = realloc(x->packs, (size_t)nc * BK_ID_LEN);

		if (!np)
			return UINT32_MAX;
		x->packs = np;
		x->cap_packs = nc;
	}
	memcpy(x->packs[x->npacks], id, BK_ID_LEN);
	x->npacks++;
	if ((x->npacks) * 2 >= x->npslots) {
		if (grow_slots(&x->pslots, &x->npslots, x->npacks, pack_key,
			       x) < 0) {
			x->npacks--;
			return UINT32_MAX;
		}
	} else {
		j = hash_id(id) & (x->npslots - 1);
		while (x->pslots[j])
			j = (j + 1) & (x->npslots - 1);
		x->pslots[j] = x->npacks;
	}
	return x->npacks - 1;
}

const unsigned char *
bk_index_pack_id(const struct bk_index *x, uint32_t n)
{
	return n < x->npacks ? x->packs[n] : NULL;
}

uint32_t
bk_index_npacks(const struct bk_index *x)
{
	return x->npacks;
}

const struct bk_blob *
bk_index_find(const struct bk_index *x, const unsigned char id[BK_ID_LEN],
	      size_t *pos)
{
	size_t j;

	if (!x->nslots)
		return NULL;
	j = hash_id(id) & (x->nslots - 1);
	while (x->slots[j]) {
		const struct bk_blob *b = blob_at(x, x->slots[j] - 1);

		if (memcmp(b->en.id, id, BK_ID_LEN) == 0) {
			if (pos)
				*pos = x->slots[j] - 1;
			return b;
		}
		j = (j + 1) & (x->nslots - 1);
	}
	return NULL;
}

const struct bk_blob *
bk_index_get(const struct bk_index *x, const unsigned char id[BK_ID_LEN])
{
	return bk_index_find(x, id, NULL);
}

int
bk_index_add(struct bk_index *x, const struct bk_pack_entry *en, uint32_t pack,
	     struct sov_err *e)
{
	size_t j;

	if (bk_index_get(x, en->id))
		return 0;
	if (x->n >= UINT32_MAX - 1)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "index: over 4 billion blobs");
	if (x->n == x->nblocks << BLOCK_SHIFT) {
		struct bk_blob *b;

		if (x->nblocks == x->capblocks) {
			size_t nc = x->capblocks ? x->capblocks * 2 : 16;
			struct bk_blob **nb =
			    realloc(x->blocks, nc * sizeof(*nb));

			if (!nb)
				return sov_err_sys(e, SOV_EXIT_TEMPFAIL,
						   "index");
			x->blocks = nb;
			x->capblocks = nc;
		}
		b = malloc(BLOCK_BLOBS * sizeof(*b));
		if (!b)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "index");
		x->blocks[x->nblocks++] = b;
	}
	blob_at(x, x->n)->en = *en;
	blob_at(x, x->n)->pack = pack;
	x->n++;
	if (x->n * 2 >= x->nslots) {
		if (grow_slots(&x->slots, &x->nslots, x->n, blob_key, x) < 0) {
			x->n--;
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "index");
		}
		return 1;
	}
	j = hash_id(en->id) & (x->nslots - 1);
	while (x->slots[j])
		j = (j + 1) & (x->nslots - 1);
	x->slots[j] = (uint32_t)x->n;
	return 1;
}

size_t
bk_index_count(const struct bk_index *x)
{
	return x->n;
}

const struct bk_blob *
bk_index_at(const struct bk_index *x, size_t i)
{
	return i < x->n ? blob_at(x, i) : NULL;
}

int
bk_indexfile_encode(const struct bk_keys *k, const struct bk_pack_info *packs,
		    size_t npacks, const unsigned char (*sup)[BK_ID_LEN],
		    size_t nsup, unsigned char **out, size_t *len,
		    struct sov_err *e)
{
	size_t plen = 8 + 4 + nsup * BK_ID_LEN + 4, off;
	unsigned char *p = NULL, *s = NULL;

	*out = NULL;
	*len = 0;
	for (size_t i = 0; i < npacks; i++)
		plen += BK_ID_LEN + 4 + (size_t)packs[i].n * BK_PACK_ENTRY_LEN;
	if (plen > BK_INDEX_FILE_MAX - BK_SEAL_OVERHEAD)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "index file of %zu bytes: over the limit",
				   plen);
	p = malloc(plen);
	s = malloc(plen + BK_SEAL_OVERHEAD);
	if (!p || !s) {
		free(p);
		free(s);
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "index file");
	}
	memcpy(p, BK_INDEX_MAGIC, 8);
	bk_put_u32(p + 8, (uint32_t)nsup);
	off = 12;
	for (size_t i = 0; i < nsup; i++, off += BK_ID_LEN)
		memcpy(p + off, sup[i], BK_ID_LEN);
	bk_put_u32(p + off, (uint32_t)npacks);
	off += 4;
	for (size_t i = 0; i < npacks; i++) {
		memcpy(p + off, packs[i].id, BK_ID_LEN);
		bk_put_u32(p + off + BK_ID_LEN, packs[i].n);
		off += BK_ID_LEN + 4;
		for (uint32_t j = 0; j < packs[i].n; j++) {
			bk_entry_encode(&packs[i].ents[j], p + off);
			off += BK_PACK_ENTRY_LEN;
		}
	}
	bk_seal(k, INDEX_AD, strlen(INDEX_AD), p, plen, s);
	free(p);
	*out = s;
	*len = plen + BK_SEAL_OVERHEAD;
	return 0;
}

int
bk_indexfile_parse(const struct bk_keys *k, const unsigned char *sealed,
		   size_t len, const struct bk_index_visitor *v,
		   unsigned char (**sup)[BK_ID_LEN], size_t *nsup,
		   const char *name, struct sov_err *e)
{
	unsigned char *p = NULL;
	size_t plen, off;
	uint32_t ns, np;
	int rc = -1;

	if (len < BK_SEAL_OVERHEAD + 16 || len > BK_INDEX_FILE_MAX)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "index %s: %zu bytes is not a valid size",
				   name, len);
	plen = len - BK_SEAL_OVERHEAD;
	p = malloc(plen);
	if (!p)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "index %s", name);
	if (bk_unseal(k, INDEX_AD, strlen(INDEX_AD), sealed, len, p, "index",
		      e) < 0) {
		sov_err_prefix(e, "%s: ", name);
		goto out;
	}
	if (memcmp(p, BK_INDEX_MAGIC, 8) != 0) {
		sov_err_set(e, SOV_EXIT_FAIL, "index %s: bad magic", name);
		goto out;
	}
	ns = bk_get_u32(p + 8);
	off = 12;
	if (ns > (plen - off) / BK_ID_LEN) {
		sov_err_set(e, SOV_EXIT_FAIL, "index %s: truncated", name);
		goto out;
	}
	if (sup && ns) {
		void *ns_arr = realloc(*sup, (*nsup + ns) * BK_ID_LEN);

		if (!ns_arr) {
			sov_err_sys(e, SOV_EXIT_TEMPFAIL, "index %s", name);
			goto out;
		}
		*sup = ns_arr;
		memcpy((*sup)[*nsup], p + off, (size_t)ns * BK_ID_LEN);
		*nsup += ns;
	}
	off += (size_t)ns * BK_ID_LEN;
	if (plen - off < 4) {
		sov_err_set(e, SOV_EXIT_FAIL, "index %s: truncated", name);
		goto out;
	}
	np = bk_get_u32(p + off);
	off += 4;
	for (uint32_t i = 0; i < np; i++) {
		uint32_t cnt;

		if (plen - off < BK_ID_LEN + 4) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "index %s: truncated in pack %u", name, i);
			goto out;
		}
		cnt = bk_get_u32(p + off + BK_ID_LEN);
		if (cnt > BK_PACK_MAX_ENTRIES ||
		    (uint64_t)cnt * BK_PACK_ENTRY_LEN >
			plen - off - BK_ID_LEN - 4) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "index %s: pack %u: %u entries do not fit",
				    name, i, cnt);
			goto out;
		}
		if (v->pack(v->arg, p + off, e) < 0)
			goto out;
		off += BK_ID_LEN + 4;
		for (uint32_t j = 0; j < cnt; j++, off += BK_PACK_ENTRY_LEN) {
			struct bk_pack_entry en;

			bk_entry_decode(p + off, &en);
			if ((en.type != BK_BLOB_DATA &&
			     en.type != BK_BLOB_TREE) ||
			    en.comp > BK_COMP_ZSTD ||
			    en.length < BK_SEAL_OVERHEAD ||
			    en.raw > BK_BLOB_MAX) {
				sov_err_set(e, SOV_EXIT_FAIL,
					    "index %s: pack %u entry %u is "
					    "malformed",
					    name, i, j);
				goto out;
			}
			if (v->blob(v->arg, &en, e) < 0)
				goto out;
		}
	}
	if (off != plen) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "index %s: %zu bytes of trailing garbage", name,
			    plen - off);
		goto out;
	}
	rc = 0;
out:
	free(p);
	return rc;
}

static int
into_pack(void *arg, const unsigned char id[BK_ID_LEN], struct sov_err *e)
{
	struct bk_index_into *t = arg;

	t->pack = bk_index_pack(t->x, id);
	if (t->pack == UINT32_MAX)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL,
				   "index %s: out of memory", t->name);
	return 0;
}

static int
into_blob(void *arg, const struct bk_pack_entry *en, struct sov_err *e)
{
	struct bk_index_into *t = arg;

	return bk_index_add(t->x, en, t->pack, e) < 0 ? -1 : 0;
}

void
bk_index_into(struct bk_index_into *t, struct bk_index *x, const char *name,
	      struct bk_index_visitor *v)
{
	t->x = x;
	t->pack = 0;
	t->name = name;
	v->pack = into_pack;
	v->blob = into_blob;
	v->arg = t;
}

int
bk_indexfile_decode(const struct bk_keys *k, const unsigned char *sealed,
		    size_t len, struct bk_index *x,
		    unsigned char (**sup)[BK_ID_LEN], size_t *nsup,
		    const char *name, struct sov_err *e)
{
	struct bk_index_into t;
	struct bk_index_visitor v;

	bk_index_into(&t, x, name, &v);
	return bk_indexfile_parse(k, sealed, len, &v, sup, nsup, name, e);
}
