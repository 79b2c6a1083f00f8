/*
 * walk_tree.c - a directory's nodes into its tree blob, once the workers
 * have given every pending node its last field: a file's chunk ids, a
 * subdirectory's tree id.
 *
 * A directory's tree waits for its files' chunks to be hashed. Waiting
 * for them at the directory's end (a drain of the saver) left the walk
 * idle at every directory while the workers finished its last files, and
 * then the workers idle while the walk read the next one: on the bench's
 * cold initial backup the walk waited there 1.2 s of 6.3. Instead the
 * directory's end hands the saver a continuation (bk_saver_then), which
 * runs once every blob submitted before it is in, in order: the files'
 * ids, and the trees of its subdirectories, whose own continuations came
 * first. The walk goes on to the next directory meanwhile.
 */
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "dircache.h"
#include "json_dump.h"
#include "node.h"
#include "walk.h"

/* A directory whose tree is made when the saver reaches it. */
struct bk_walk_dirend {
	struct bk_walk *c;
	struct bk_walk_dirend *prev, *next; /* c->ends: not yet made */
	jv nodes, pnodes;
	char phex[BK_ID_HEX_LEN]; /* "" when none */
	char *path;
	unsigned char sum[BK_DIRSUM_LEN];
	int summed;
	char *out; /* where the tree's id goes */
	struct bk_walk_pending **pend;
	size_t npend;
};

int
bk_walk_push_pending(struct bk_walk *c, struct bk_walk_pending *p,
		     struct sov_err *e)
{
	if (c->npend == c->cappend) {
		size_t nc = c->cappend ? 2 * c->cappend : 64;
		struct bk_walk_pending **np =
		    realloc(c->pend, nc * sizeof(*np));

		if (!np)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "walk");
		c->pend = np;
		c->cappend = nc;
	}
	c->pend[c->npend++] = p;
	return 0;
}

static void
free_pending(struct bk_walk_pending **pend, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		jv_free(pend[i]->content);
		free(pend[i]);
	}
}

/* Every pending node its last field (the pending entries freed). */
static void
fill(jv *nodes, struct bk_walk_pending **pend, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct bk_walk_pending *p = pend[i];
		jv node = jv_array_get(jv_copy(*nodes), (int)p->idx);

		/* out of the array first, so the node is not copied */
		*nodes = jv_array_set(*nodes, (int)p->idx, jv_null());
		if (p->dir)
			node = jv_object_set(node, jv_string("subtree"),
					     jv_string(p->hex));
		else
			node = jv_object_set(node, jv_string("content"),
					     p->content);
		*nodes = jv_array_set(*nodes, (int)p->idx, node);
		free(p);
	}
}

static void
unlink_end(struct bk_walk_dirend *d)
{
	struct bk_walk *c = d->c;

	if (d->prev)
		d->prev->next = d->next;
	else
		c->ends = d->next;
	if (d->next)
		d->next->prev = d->prev;
}

static void
free_end(struct bk_walk_dirend *d)
{
	unlink_end(d);
	free_pending(d->pend, d->npend);
	free(d->pend);
	jv_free(d->nodes);
	jv_free(d->pnodes);
	free(d->path);
	free(d);
}

void
bk_walk_stop(struct bk_walk *c)
{
	c->stopped = 1;
	/* the ids still on their way must not land in freed arrays */
	(void)bk_saver_drain(c->sv, NULL);
}

void
bk_walk_discard(struct bk_walk *c, size_t mark)
{
	/* Even with nothing pending above mark: a directory's tree still to
	 * be made may write into what the caller frees next. */
	c->stopped = 1;
	if (c->npend <= mark && (mark > 0 || !c->ends))
		return;
	bk_walk_stop(c);
	free_pending(c->pend + mark, c->npend - mark);
	c->npend = mark;
	if (mark == 0)
		while (c->ends)
			free_end(c->ends);
}

int
bk_walk_settle(struct bk_walk *c, size_t mark, jv *nodes, struct sov_err *e)
{
	if (c->npend <= mark)
		return 0;
	if (bk_saver_drain(c->sv, e) < 0) {
		bk_walk_discard(c, mark);
		return -1;
	}
	fill(nodes, c->pend + mark, c->npend - mark);
	c->npend = mark;
	return 0;
}

int
bk_walk_save_tree(struct bk_walk *c, jv nodes, char hex[BK_ID_HEX_LEN],
		  struct sov_err *e)
{
	jv t = jv_object_set(jv_object(), jv_string("nodes"), nodes);
	unsigned char id[BK_ID_LEN];
	char *s = NULL;
	size_t n = 0;
	int rc;

	/* jq's own sorted dump, byte for byte (test_json_dump): jq's took a
	 * sixth of an incremental run's walk. */
	if (sov_json_dump_text_sorted(t, &s, &n) < 0)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL,
				   "a directory's tree: out of memory");
	if (n > BK_TREE_MAX) {
		free(s);
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "a directory of %zu bytes of metadata: over "
				   "the limit",
				   n);
	}
	bk_tree_id(c->r->keys, s, n, id);
	rc = bk_saver_add(c->sv, BK_BLOB_TREE, id, s, n, e);
	free(s);
	if (rc < 0)
		return -1;
	bk_hex(id, hex);
	c->dirs++;
	return 0;
}

int
bk_walk_cache_add(struct bk_walk *c, const char *path, const unsigned char *sum,
		  const char *hex, struct sov_err *e)
{
	unsigned char id[BK_ID_LEN];

	if (bk_unhex(hex, id) < 0)
		return sov_err_set(e, SOV_EXIT_FAIL, "%s: a bad tree id", path);
	return bk_dircache_add(c->dc, path, sum, id, e);
}

/*
 * 1 when nodes (this run's, in name order) are exactly the parent tree's
 * (pnodes, by name): the same names, each node equal. The parent's tree
 * was written from such nodes by this same walk, so it is this tree.
 */
static int
same_nodes(jv nodes, jv pnodes)
{
	int n;

	if (jv_get_kind(pnodes) != JV_KIND_OBJECT)
		return 0;
	n = jv_array_length(jv_copy(nodes));
	if (n != jv_object_length(jv_copy(pnodes)))
		return 0;
	for (int i = 0; i < n; i++) {
		jv nd = jv_array_get(jv_copy(nodes), i);
		char *nm = bk_node_name(nd, NULL);
		jv pn = nm ? bk_walk_parent_node(pnodes, nm) : jv_invalid();
		int eq = 0;

		/* an unchanged file's node is the parent's own value */
		if (jv_is_valid(pn))
			eq = jv_identical(jv_copy(nd), jv_copy(pn)) ||
			     jv_equal(jv_copy(nd), jv_copy(pn));
		jv_free(nd);
		jv_free(pn);
		free(nm);
		if (!eq)
			return 0;
	}
	return 1;
}

/* The saver's continuation: every pending node is complete. */
static int
make_tree(void *arg, const unsigned char id[BK_ID_LEN], struct sov_err *e)
{
	struct bk_walk_dirend *d = arg;
	struct bk_walk *c = d->c;
	char hex[BK_ID_HEX_LEN];
	int rc;

	(void)id;
	/* The drains without an error to fill (e NULL) come after a stop. */
	if (c->stopped) {
		free_end(d);
		return 0;
	}
	fill(&d->nodes, d->pend, d->npend);
	d->npend = 0;
	if (d->phex[0] && same_nodes(d->nodes, d->pnodes)) {
		/* Byte for byte the parent's tree: no need to write it out
		 * and hash it again. */
		memcpy(hex, d->phex, BK_ID_HEX_LEN);
		c->dirs++;
	} else {
		rc = bk_walk_save_tree(c, d->nodes, hex, e);
		d->nodes = jv_invalid();
		if (rc < 0)
			goto fail;
	}
	if (bk_walk_cache_add(c, d->path, d->summed ? d->sum : NULL, hex, e) <
	    0)
		goto fail;
	memcpy(d->out, hex, BK_ID_HEX_LEN);
	free_end(d);
	return 0;
fail:
	free_end(d);
	c->stopped = 1;
	return -1;
}

int
bk_walk_end_dir(struct bk_walk *c, size_t mark, jv nodes, jv pnodes,
		const char *phex, const char *path, const unsigned char *sum,
		char hex[BK_ID_HEX_LEN], struct sov_err *e)
{
	struct bk_walk_dirend *d = calloc(1, sizeof(*d));
	size_t n = c->npend - mark;

	if (!d || !(d->path = strdup(path)) ||
	    !(d->pend = malloc((n ? n : 1) * sizeof(*d->pend)))) {
		if (d)
			free(d->path);
		free(d);
		jv_free(nodes);
		jv_free(pnodes);
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", path);
	}
	d->c = c;
	d->nodes = nodes;
	d->pnodes = pnodes;
	if (phex)
		memcpy(d->phex, phex, BK_ID_HEX_LEN);
	if (sum) {
		memcpy(d->sum, sum, BK_DIRSUM_LEN);
		d->summed = 1;
	}
	d->out = hex;
	memcpy(d->pend, c->pend + mark, n * sizeof(*d->pend));
	d->npend = n;
	c->npend = mark;
	d->next = c->ends;
	if (c->ends)
		c->ends->prev = d;
	c->ends = d;
	/* On failure d stays on c->ends, which bk_walk_discard frees. */
	return bk_saver_then(c->sv, make_tree, d, e);
}
