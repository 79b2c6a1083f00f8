/*
 * prune_plan.c - mark what the snapshots need, in bounded memory (see
 * prune_plan.h).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup.h"
#include "node.h"
#include "prune_plan.h"

/* Trees seen, by id: a direct-mapped cache. A tree pushed out is walked
 * again if met again, which costs time, never correctness. */
#define SEEN_SLOTS (1u << 14)
#define TREE_DEPTH_MAX 512
/* Records of the tree file written at once. */
#define TREE_WRITE_RECS 1024

struct plan_ctx {
	struct bk_repo *r;
	struct bk_prune_plan *p;
	struct bk_xsort *by_id, *trees, *used;
	uint32_t file; /* the index file being read */
	uint32_t pack; /* its section being read */
	unsigned char (*sup)[BK_ID_LEN];
	size_t nsup;
	unsigned char *superseded; /* a byte per index file */
	int tree_fd;               /* the sorted trees, searched by the walk */
	uint64_t ntrees;
	unsigned char (*seen)[BK_ID_LEN];
};

void
bk_prune_rec_entry(const struct bk_prune_rec *x, struct bk_pack_entry *en)
{
	memcpy(en->id, x->id, BK_ID_LEN);
	en->offset = x->offset;
	en->length = x->length;
	en->raw = x->raw;
	en->type = x->type;
	en->comp = x->comp;
}

/* By id, then index file, pack and offset: which duplicate comes first. */
static int
cmp_by_id(const void *a, const void *b)
{
	const struct bk_prune_rec *x = a, *y = b;
	int c = memcmp(x->id, y->id, BK_ID_LEN);

	if (c)
		return c;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int
cmp_by_pack(const void *a, const void *b)
{
	const struct bk_prune_rec *x = a, *y = b;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, BK_ID_LEN);
}

static int
visit_pack(void *arg, const unsigned char id[BK_ID_LEN], struct sov_err *e)
{
	struct plan_ctx *c = arg;

	c->pack = bk_index_pack(c->p->packs, id);
	if (c->pack == UINT32_MAX)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL,
				   "index: out of memory (pack table)");
	return 0;
}

static int
visit_blob(void *arg, const struct bk_pack_entry *en, struct sov_err *e)
{
	struct plan_ctx *c = arg;
	struct bk_prune_rec x;

	memset(&x, 0, sizeof(x));
	memcpy(x.id, en->id, BK_ID_LEN);
	x.pack = c->pack;
	x.file = c->file;
	x.offset = en->offset;
	x.length = en->length;
	x.raw = en->raw;
	x.type = en->type;
	x.comp = en->comp;
	if (bk_xsort_add(c->by_id, &x, e) < 0)
		return -1;
	return en->type == BK_BLOB_TREE ? bk_xsort_add(c->trees, &x, e) : 0;
}

/* 1. Every index file into the sorts; which files later ones supersede. */
static int
read_index(struct plan_ctx *c, struct sov_err *e)
{
	struct bk_names *l = &c->p->index_files;
	struct bk_index_visitor v = {visit_pack, visit_blob, c};
	unsigned char id[BK_ID_LEN];

	if (bk_repo_list(c->r, "index", l, e) < 0)
		return -1;
	c->superseded = calloc(l->n ? l->n : 1, 1);
	if (!c->superseded)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "prune");
	for (size_t i = 0; i < l->n; i++) {
		if (bk_unhex(strrchr(l->names[i], '/') + 1, id) < 0) {
			c->superseded[i] = 1; /* not an index file: unread */
			continue;
		}
		c->file = (uint32_t)i;
		if (bk_repo_visit_index_file(c->r, l->names[i], id, &v, &c->sup,
					     &c->nsup, e) < 0)
			return -1;
	}
	for (size_t i = 0; i < l->n && c->nsup; i++) {
		if (c->superseded[i] ||
		    bk_unhex(strrchr(l->names[i], '/') + 1, id) < 0)
			continue;
		for (size_t j = 0; j < c->nsup && !c->superseded[i]; j++)
			if (memcmp(c->sup[j], id, BK_ID_LEN) == 0)
				c->superseded[i] = 1;
	}
	c->p->npacks = bk_index_npacks(c->p->packs);
	return 0;
}

/*
 * The next record of a by-id sort that counts: not from a superseded file,
 * and the first of its id (*last, valid when *have_last). The same entry
 * again (an index file repeating another, as an interrupted prune leaves
 * them) is skipped; another copy of the blob, in another place, is a
 * duplicate: unused bytes of its pack, when ps is given. 1, 0 at the end,
 * -1 on error.
 */
static int
next_kept(struct plan_ctx *c, struct bk_xsort *s, struct bk_prune_rec *x,
	  int *have_last, struct bk_prune_rec *last, struct bk_prune_pack *ps,
	  struct sov_err *e)
{
	for (;;) {
		int k = bk_xsort_next(s, x, e);

		if (k <= 0)
			return k;
		if (c->superseded[x->file])
			continue;
		if (ps)
			ps[x->pack].listed = 1;
		if (*have_last && memcmp(last->id, x->id, BK_ID_LEN) == 0) {
			if (ps && (x->pack != last->pack ||
				   x->offset != last->offset)) {
				ps[x->pack].unused++;
				ps[x->pack].unused_bytes += x->length;
				c->p->duplicates++;
			}
			continue;
		}
		*last = *x;
		*have_last = 1;
		return 1;
	}
}

/* 2a. The trees, sorted, to a file the walk searches. */
static int
write_trees(struct plan_ctx *c, struct sov_err *e)
{
	struct bk_prune_rec x, last, buf[TREE_WRITE_RECS];
	size_t nbuf = 0;
	int have = 0, k;

	if (bk_xsort_finish(c->trees, e) < 0)
		return -1;
	c->tree_fd = bk_tmpfile("trees", e);
	if (c->tree_fd < 0)
		return -1;
	while ((k = next_kept(c, c->trees, &x, &have, &last, NULL, e)) == 1) {
		buf[nbuf++] = x;
		if (nbuf == TREE_WRITE_RECS) {
			if (bk_tmp_write(c->tree_fd, buf, nbuf * sizeof(x),
					 c->ntrees * sizeof(x), e) < 0)
				return -1;
			c->ntrees += nbuf;
			nbuf = 0;
		}
	}
	if (k < 0 || bk_tmp_write(c->tree_fd, buf, nbuf * sizeof(x),
				  c->ntrees * sizeof(x), e) < 0)
		return -1;
	c->ntrees += nbuf;
	c->p->sort_runs += bk_xsort_runs(c->trees);
	bk_xsort_free(c->trees);
	c->trees = NULL;
	return 0;
}

/* A tree's record by binary search in the tree file: 1, 0 if absent. */
static int
find_tree(struct plan_ctx *c, const unsigned char id[BK_ID_LEN],
	  struct bk_prune_rec *x, struct sov_err *e)
{
	uint64_t lo = 0, hi = c->ntrees;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		ssize_t n =
		    pread(c->tree_fd, x, sizeof(*x), (off_t)(mid * sizeof(*x)));
		int d;

		if (n != (ssize_t)sizeof(*x))
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL,
					   "reading the tree list back");
		d = memcmp(id, x->id, BK_ID_LEN);
		if (d == 0)
			return 1;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

static int
seen_before(struct plan_ctx *c, const unsigned char id[BK_ID_LEN])
{
	uint32_t h;

	memcpy(&h, id, sizeof(h)); /* ids are keyed hashes: uniform */
	h &= SEEN_SLOTS - 1;
	if (memcmp(c->seen[h], id, BK_ID_LEN) == 0)
		return 1;
	memcpy(c->seen[h], id, BK_ID_LEN);
	return 0;
}

static int mark_tree(struct plan_ctx *c, const unsigned char id[BK_ID_LEN],
		     int depth, struct sov_err *e);

static int
mark_file(struct plan_ctx *c, jv nd, struct sov_err *e)
{
	jv ct = jv_object_get(jv_copy(nd), jv_string("content"));
	int m =
	    jv_get_kind(ct) == JV_KIND_ARRAY ? jv_array_length(jv_copy(ct)) : 0;
	int rc = 0;

	for (int j = 0; j < m && rc == 0; j++) {
		jv h = jv_array_get(jv_copy(ct), j);
		unsigned char id[BK_ID_LEN];

		if (jv_get_kind(h) != JV_KIND_STRING ||
		    bk_unhex(jv_string_value(h), id) < 0)
			rc = sov_err_set(e, SOV_EXIT_FAIL,
					 "a file's content holds a malformed "
					 "id: run check; prune stops here and "
					 "deletes nothing");
		else
			rc = bk_xsort_add(c->used, id, e);
		jv_free(h);
	}
	jv_free(ct);
	return rc;
}

static int
mark_tree(struct plan_ctx *c, const unsigned char id[BK_ID_LEN], int depth,
	  struct sov_err *e)
{
	struct bk_prune_rec x;
	struct bk_pack_entry en;
	jv nodes;
	int n, k, rc = 0;

	if (seen_before(c, id))
		return 0;
	if (depth > TREE_DEPTH_MAX)
		return sov_err_set(e, SOV_EXIT_FAIL, "trees nested too deep");
	k = find_tree(c, id, &x, e);
	if (k < 0)
		return -1;
	if (k == 0)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "a snapshot needs a tree that is missing: "
				   "run check; prune stops here and deletes "
				   "nothing");
	if (bk_xsort_add(c->used, id, e) < 0)
		return -1;
	bk_prune_rec_entry(&x, &en);
	nodes = bk_repo_read_tree_at(
	    c->r, bk_index_pack_id(c->p->packs, x.pack), &en, e);
	if (!jv_is_valid(nodes))
		return -1;
	n = jv_array_length(jv_copy(nodes));
	for (int i = 0; i < n && rc == 0; i++) {
		jv nd = jv_array_get(jv_copy(nodes), i);
		const char *type = bk_node_type(nd);
		unsigned char sub[BK_ID_LEN];

		if (strcmp(type, "dir") == 0) {
			rc = bk_node_id(nd, "subtree", sub, e);
			if (rc == 0)
				rc = mark_tree(c, sub, depth + 1, e);
		} else if (strcmp(type, "file") == 0)
			rc = mark_file(c, nd, e);
		jv_free(nd);
	}
	jv_free(nodes);
	return rc;
}

/* 2b. Every id the snapshots reach into the used sort. */
static int
walk_snapshots(struct plan_ctx *c, jv snaps, struct sov_err *e)
{
	int n = jv_array_length(jv_copy(snaps));

	c->seen = calloc(SEEN_SLOTS, BK_ID_LEN);
	if (!c->seen)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "prune");
	for (int i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(snaps), i);
		unsigned char tid[BK_ID_LEN];
		int rc = bk_node_id(s, "tree", tid, e);

		jv_free(s);
		if (rc < 0 || mark_tree(c, tid, 0, e) < 0)
			return -1;
	}
	free(c->seen);
	c->seen = NULL;
	return 0;
}

/* The next distinct used id: 1, or 0 at the end, -1. */
static int
next_used(struct bk_xsort *s, unsigned char id[BK_ID_LEN], int *have,
	  struct sov_err *e)
{
	unsigned char nx[BK_ID_LEN];
	int k;

	while ((k = bk_xsort_next(s, nx, e)) == 1)
		if (!*have || memcmp(nx, id, BK_ID_LEN) != 0)
			break;
	if (k == 1) {
		memcpy(id, nx, BK_ID_LEN);
		*have = 1;
	}
	return k;
}

static int
missing_chunk(struct sov_err *e)
{
	return sov_err_set(e, SOV_EXIT_FAIL,
			   "a snapshot needs a chunk that is missing: run "
			   "check; prune stops here and deletes nothing");
}

/* 3. Merge the index with the used ids: counts, and the by-pack sort. */
static int
merge(struct plan_ctx *c, struct sov_err *e)
{
	struct bk_prune_plan *p = c->p;
	struct bk_prune_rec x, last;
	unsigned char u[BK_ID_LEN];
	int have_last = 0, have_u = 0, ku, kx;

	if (bk_xsort_finish(c->by_id, e) < 0 || bk_xsort_finish(c->used, e) < 0)
		return -1;
	ku = next_used(c->used, u, &have_u, e);
	if (ku < 0)
		return -1;
	while ((kx = next_kept(c, c->by_id, &x, &have_last, &last, p->ps, e)) ==
	       1) {
		struct bk_prune_pack *ps = &p->ps[x.pack];

		/* Used ids and the index go up together: a used id
		 * below the index's next one is in no index file. */
		if (ku == 1 && memcmp(u, x.id, BK_ID_LEN) < 0)
			return missing_chunk(e);
		x.used = ku == 1 && memcmp(u, x.id, BK_ID_LEN) == 0;
		if (x.used) {
			p->trees += x.type == BK_BLOB_TREE;
			ps->used++;
			ps->used_bytes += x.length;
			ku = next_used(c->used, u, &have_u, e);
			if (ku < 0)
				return -1;
		} else {
			ps->unused++;
			ps->unused_bytes += x.length;
		}
		p->blobs++;
		if (bk_xsort_add(p->by_pack, &x, e) < 0)
			return -1;
	}
	if (kx < 0)
		return -1;
	if (ku == 1)
		return missing_chunk(e);
	return bk_xsort_finish(p->by_pack, e);
}

static void
decide(struct bk_prune_plan *p, long max_unused)
{
	for (uint32_t i = 0; i < p->npacks; i++) {
		struct bk_prune_pack *ps = &p->ps[i];
		uint64_t total = ps->used_bytes + ps->unused_bytes;

		if (ps->used == 0)
			ps->action = BK_PRUNE_DELETE;
		else if (ps->unused &&
			 ps->unused_bytes * 100 > total * (uint64_t)max_unused)
			ps->action = BK_PRUNE_REPACK;
		else
			ps->action = BK_PRUNE_KEEP;
	}
}

int
bk_prune_plan_make(struct bk_repo *r, jv snaps, long max_unused,
		   struct bk_prune_plan *p, struct sov_err *e)
{
	struct plan_ctx c;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.r = r;
	c.p = p;
	c.tree_fd = -1;
	p->packs = bk_index_new(e);
	if (!p->packs)
		return -1;
	c.by_id =
	    bk_xsort_new(sizeof(struct bk_prune_rec), cmp_by_id, p->mem, e);
	c.trees =
	    bk_xsort_new(sizeof(struct bk_prune_rec), cmp_by_id, p->mem, e);
	c.used = bk_xsort_new(BK_ID_LEN, cmp_id, p->mem, e);
	p->by_pack =
	    bk_xsort_new(sizeof(struct bk_prune_rec), cmp_by_pack, p->mem, e);
	if (!c.by_id || !c.trees || !c.used || !p->by_pack)
		goto out;
	if (read_index(&c, e) < 0)
		goto out;
	p->ps = calloc(p->npacks ? p->npacks : 1, sizeof(*p->ps));
	if (!p->ps) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "prune");
		goto out;
	}
	/* The by-id sort goes to disk before the walk fills another. */
	if (write_trees(&c, e) < 0 || bk_xsort_finish(c.by_id, e) < 0 ||
	    walk_snapshots(&c, snaps, e) < 0 || merge(&c, e) < 0)
		goto out;
	p->sort_runs += bk_xsort_runs(c.by_id) + bk_xsort_runs(c.used) +
			bk_xsort_runs(p->by_pack);
	decide(p, max_unused);
	rc = 0;
out:
	bk_xsort_free(c.by_id);
	bk_xsort_free(c.trees);
	bk_xsort_free(c.used);
	if (c.tree_fd >= 0)
		close(c.tree_fd);
	free(c.seen);
	free(c.sup);
	free(c.superseded);
	return rc;
}

void
bk_prune_plan_free(struct bk_prune_plan *p)
{
	bk_index_free(p->packs);
	free(p->ps);
	bk_xsort_free(p->by_pack);
	bk_names_free(&p->index_files);
	memset(p, 0, sizeof(*p));
}
