/*
 * cmd_prune.c - `sov-backup prune`: remove data no snapshot needs.
 *
 * Under the exclusive lock: mark every blob reachable from a snapshot (one
 * bit per indexed blob), then per pack: all used, keep; none used, delete;
 * partly used, repack when its unused share is over --max-unused (the used
 * blobs are copied still sealed into new packs). Order, so that a crash at
 * any instant loses nothing a snapshot needs:
 *   1. write the new packs
 *   2. write the index of every kept and new pack, in files of bounded
 *      size (index_batch.h); the last supersedes all the old ones
 *   3. delete the old index files
 *   4. delete the packs nothing indexes any more, and leftover temp files
 * A crash before 2 leaves unindexed packs (removed by the next prune); in
 * 2, new index files beside the old ones, repeating them; after 2, readers
 * ignore the old index files.
 *
 * Memory: the index (56 bytes per blob and its hash slot), a bit and a
 * position (4 bytes) per blob and a few counters per pack; trees are read
 * one at a time, packs to repack one at a time, new packs go to disk as
 * they are made, and the new index in files of 4 MiB. It grows with the
 * index, not with the snapshots or the data (see the README for what is
 * measured).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "cli.h"
#include "jsonl.h"
#include "index_batch.h"
#include "lock.h"
#include "node.h"
#include "timestamp.h"

struct pctx {
	struct bk_repo *r;
	unsigned char *used;   /* bit per blob, by index position */
	struct bk_index *seen; /* tree ids visited */
	uint64_t trees;
};

static void
mark_pos(struct pctx *c, size_t i)
{
	c->used[i / 8] |= (unsigned char)(1u << (i % 8));
}

static int
is_used(struct pctx *c, size_t i)
{
	return c->used[i / 8] & (1u << (i % 8));
}

static int
mark_tree(struct pctx *c, const unsigned char id[BK_ID_LEN], int depth,
	  struct sov_err *e)
{
	size_t pos = 0;
	const struct bk_blob *b = bk_index_find(c->r->idx, id, &pos);
	struct bk_pack_entry en;
	jv nodes;
	int n, rc = 0;

	if (bk_index_get(c->seen, id))
		return 0;
	if (!b)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "a snapshot needs a tree that is missing: "
				   "run check; prune stops here and deletes "
				   "nothing");
	if (depth > 512)
		return sov_err_set(e, SOV_EXIT_FAIL, "trees nested too deep");
	memset(&en, 0, sizeof(en));
	memcpy(en.id, id, BK_ID_LEN);
	if (bk_index_add(c->seen, &en, 0, e) < 0)
		return -1;
	mark_pos(c, pos);
	c->trees++;
	nodes = bk_repo_read_tree(c->r, id, e);
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
		} else if (strcmp(type, "file") == 0) {
			jv ct =
			    jv_object_get(jv_copy(nd), jv_string("content"));
			int m = jv_get_kind(ct) == JV_KIND_ARRAY
				    ? jv_array_length(jv_copy(ct))
				    : 0;

			for (int j = 0; j < m && rc == 0; j++) {
				jv h = jv_array_get(jv_copy(ct), j);
				const struct bk_blob *db = NULL;
				size_t dpos = 0;

				if (jv_get_kind(h) == JV_KIND_STRING &&
				    bk_unhex(jv_string_value(h), sub) == 0)
					db = bk_index_find(c->r->idx, sub,
							   &dpos);
				jv_free(h);
				if (!db)
					rc = sov_err_set(
					    e, SOV_EXIT_FAIL,
					    "a snapshot needs a chunk that is "
					    "missing: run check; prune stops "
					    "here and deletes nothing");
				else
					mark_pos(c, dpos);
			}
			jv_free(ct);
		}
		jv_free(nd);
	}
	jv_free(nodes);
	return rc;
}

struct packstat {
	uint64_t used_bytes, unused_bytes;
	uint32_t used, unused;
	int action; /* 0 keep, 1 delete, 2 repack */
};

/* Append one finished pack to the list that goes into the new index. */
static int
keep_pack(struct bk_pack_info **v, size_t *n, size_t *cap,
	  const struct bk_pack_info *pi, struct sov_err *e)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		void *nv = realloc(*v, nc * sizeof(**v));

		if (!nv)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "prune");
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = *pi;
	return 0;
}

static int
flush_packer(struct bk_repo *r, struct bk_packer *pk, struct bk_pack_out *out,
	     struct bk_pack_info **v, size_t *n, size_t *cap,
	     uint64_t *written, struct sov_err *e)
{
	struct bk_pack_info pi;

	if (pk->n == 0)
		return 0;
	if (bk_pack_out_commit(r, pk, out, &pi, e) < 0)
		return -1;
	*written += pi.size;
	if (keep_pack(v, n, cap, &pi, e) < 0) {
		free(pi.ents);
		return -1;
	}
	return 0;
}

/*
 * The index positions of each pack's blobs, in index order: those of pack
 * p are order[start[p] .. start[p + 1]). One pass per pack over the whole
 * index made prune quadratic in the repository's size.
 */
static int
group_by_pack(const struct bk_index *x, uint32_t np, uint32_t **start,
	      uint32_t **order, struct sov_err *e)
{
	size_t n = bk_index_count(x);
	uint32_t *at;

	*start = calloc((size_t)np + 1, sizeof(**start));
	*order = malloc((n ? n : 1) * sizeof(**order));
	at = calloc((size_t)np + 1, sizeof(*at));
	if (!*start || !*order || !at) {
		free(at);
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "prune");
	}
	for (size_t i = 0; i < n; i++)
		(*start)[bk_index_at(x, i)->pack + 1]++;
	for (uint32_t p = 0; p < np; p++)
		(*start)[p + 1] += (*start)[p];
	memcpy(at, *start, (size_t)np * sizeof(*at));
	for (size_t i = 0; i < n; i++)
		(*order)[at[bk_index_at(x, i)->pack]++] = (uint32_t)i;
	free(at);
	return 0;
}

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, BK_ID_LEN);
}

int
bk_prune_run(const struct bk_common *co, long max_unused, int dry)
{
	struct sov_err e = {0};
	struct pctx c;
	struct bk_lock *lock = NULL;
	struct packstat *ps = NULL;
	struct bk_pack_info *keep = NULL; /* the packs prune wrote */
	size_t nkeep = 0, capkeep = 0;
	struct bk_index_batch ib = {0};
	struct bk_packer pk;
	struct bk_pack_out out = {0};
	struct bk_names idxfiles = {0}, packfiles = {0};
	uint32_t *start = NULL, *order = NULL;
	unsigned char(*fresh)[BK_ID_LEN] = NULL;
	size_t nfresh = 0;
	uint64_t del_packs = 0, rep_packs = 0, freed = 0, written = 0;
	uint64_t unindexed = 0;
	int rc = SOV_EXIT_FAIL;
	int64_t t0 = sov_time_mono_ms();
	jv snaps = jv_invalid(), rec;
	uint32_t np;
	unsigned char(*sup)[BK_ID_LEN] = NULL;

	memset(&c, 0, sizeof(c));
	memset(&pk, 0, sizeof(pk));
	c.r = bk_open(co, &e);
	if (!c.r)
		goto fail;
	out.be = c.r->be;
	bk_packer_set_sink(&pk, bk_pack_out_sink, &out);
	lock = bk_lock_acquire(c.r->be, 1, "prune", co->lock_wait_s * 1000, &e);
	if (!lock || bk_repo_load_index(c.r, &e) < 0)
		goto fail;
	c.used = calloc(bk_index_count(c.r->idx) / 8 + 1, 1);
	c.seen = bk_index_new(&e);
	np = bk_index_npacks(c.r->idx);
	ps = calloc(np ? np : 1, sizeof(*ps));
	if (!c.used || !c.seen || !ps) {
		sov_err_sys(&e, SOV_EXIT_TEMPFAIL, "prune");
		goto fail;
	}
	snaps = bk_repo_snapshots(c.r, &e);
	if (!jv_is_valid(snaps))
		goto fail;
	for (int i = 0; i < jv_array_length(jv_copy(snaps)); i++) {
		jv s = jv_array_get(jv_copy(snaps), i);
		unsigned char tid[BK_ID_LEN];
		int r2 = bk_node_id(s, "tree", tid, &e);

		jv_free(s);
		if (r2 < 0 || mark_tree(&c, tid, 0, &e) < 0)
			goto fail;
	}
	for (size_t i = 0; i < bk_index_count(c.r->idx); i++) {
		const struct bk_blob *b = bk_index_at(c.r->idx, i);
		struct packstat *p = &ps[b->pack];

		if (is_used(&c, i)) {
			p->used++;
			p->used_bytes += b->en.length;
		} else {
			p->unused++;
			p->unused_bytes += b->en.length;
		}
	}
	for (uint32_t p = 0; p < np; p++) {
		uint64_t total = ps[p].used_bytes + ps[p].unused_bytes;

		if (ps[p].used == 0)
			ps[p].action = 1;
		else if (ps[p].unused && ps[p].unused_bytes * 100 >
					     total * (uint64_t)max_unused)
			ps[p].action = 2;
		if (ps[p].action == 1)
			del_packs++, freed += total;
		if (ps[p].action == 2)
			rep_packs++, freed += ps[p].unused_bytes;
	}
	if (bk_repo_list(c.r, "data", &packfiles, &e) < 0 ||
	    bk_repo_list(c.r, "index", &idxfiles, &e) < 0)
		goto fail;
	for (size_t i = 0; i < packfiles.n; i++) {
		unsigned char id[BK_ID_LEN];

		if (bk_unhex(strrchr(packfiles.names[i], '/') + 1, id) == 0 &&
		    bk_index_pack(c.r->idx, id) >= np)
			unindexed++;
	}
	/* bk_index_pack added the unindexed ones: np still bounds ours. */
	if (dry)
		goto report;
	if (group_by_pack(c.r->idx, np, &start, &order, &e) < 0)
		goto fail;

	/* 1. repack */
	for (uint32_t p = 0; p < np; p++) {
		char name[BK_NAME_MAX];
		unsigned char *buf = NULL, *scratch = NULL;
		size_t len = 0;

		if (ps[p].action != 2)
			continue;
		bk_pack_name(bk_index_pack_id(c.r->idx, p), name);
		if (bk_get(c.r->be, name, BK_PACK_MAX, &buf, &len, NULL, &e) <
		    0)
			goto fail;
		for (uint32_t k = start[p]; k < start[p + 1]; k++) {
			size_t i = order[k];
			const struct bk_blob *b = bk_index_at(c.r->idx, i);

			if (!is_used(&c, i))
				continue;
			if ((uint64_t)b->en.offset + b->en.length > len) {
				free(buf);
				sov_err_set(&e, SOV_EXIT_FAIL,
					    "%s: shorter than its index says; "
					    "run check",
					    name);
				goto fail;
			}
			/* Verify before copying: prune must not spread
			 * damage into new packs. */
			if (bk_blob_open(c.r->keys, &b->en, buf + b->en.offset,
					 &scratch, name, &e) < 0) {
				free(buf);
				goto fail;
			}
			free(scratch);
			scratch = NULL;
			if (bk_packer_add_sealed(&pk, &b->en,
						 buf + b->en.offset, &e) < 0 ||
			    (pk.size >= BK_PACK_TARGET &&
			     flush_packer(c.r, &pk, &out, &keep, &nkeep,
					  &capkeep, &written, &e) < 0)) {
				free(buf);
				goto fail;
			}
		}
		free(buf);
	}
	if (flush_packer(c.r, &pk, &out, &keep, &nkeep, &capkeep, &written,
			 &e) < 0)
		goto fail;
	/* The packs just written, sorted, for step 4. */
	nfresh = nkeep;
	fresh = malloc((nfresh ? nfresh : 1) * BK_ID_LEN);
	if (!fresh) {
		sov_err_sys(&e, SOV_EXIT_TEMPFAIL, "prune");
		goto fail;
	}
	for (size_t k = 0; k < nfresh; k++)
		memcpy(fresh[k], keep[k].id, BK_ID_LEN);
	qsort(fresh, nfresh, BK_ID_LEN, cmp_id);
	/* 2. the new index of everything kept, in files of bounded size;
	 * the last one supersedes every old index file */
	ib.r = c.r;
	ib.lock = lock;
	for (uint32_t p = 0; p < np; p++) {
		struct bk_pack_info pi;
		uint32_t k = 0;

		if (ps[p].action != 0)
			continue;
		memset(&pi, 0, sizeof(pi));
		memcpy(pi.id, bk_index_pack_id(c.r->idx, p), BK_ID_LEN);
		pi.ents = malloc(((size_t)ps[p].used + ps[p].unused) *
				 sizeof(*pi.ents));
		if (!pi.ents) {
			sov_err_sys(&e, SOV_EXIT_TEMPFAIL, "prune");
			goto fail;
		}
		for (uint32_t j = start[p]; j < start[p + 1]; j++)
			pi.ents[k++] = bk_index_at(c.r->idx, order[j])->en;
		pi.n = k;
		if (bk_index_batch_add(&ib, &pi, &e) < 0)
			goto fail;
	}
	for (size_t k = 0; k < nkeep; k++)
		if (bk_index_batch_add(&ib, &keep[k], &e) < 0)
			goto fail;
	sup = malloc((idxfiles.n ? idxfiles.n : 1) * BK_ID_LEN);
	if (!sup) {
		sov_err_sys(&e, SOV_EXIT_TEMPFAIL, "prune");
		goto fail;
	}
	{
		size_t ns = 0;

		for (size_t i = 0; i < idxfiles.n; i++)
			if (bk_unhex(strrchr(idxfiles.names[i], '/') + 1,
				     sup[ns]) == 0)
				ns++;
		/* A fresh in-memory index is not needed: the process ends. */
		if (bk_index_batch_finish(
			&ib, (const unsigned char(*)[BK_ID_LEN])sup, ns, &e) <
		    0)
			goto fail;
	}
	/* 3. old index files */
	for (size_t i = 0; i < idxfiles.n; i++)
		if (bk_remove(c.r->be, idxfiles.names[i], &e) < 0)
			goto fail;
	/* 4. packs no index names: deleted, repacked, unindexed leftovers */
	for (size_t i = 0; i < packfiles.n; i++) {
		unsigned char id[BK_ID_LEN];
		uint32_t p;
		int live = 0;

		if (bk_unhex(strrchr(packfiles.names[i], '/') + 1, id) < 0)
			continue;
		p = bk_index_pack(c.r->idx, id);
		if (p < np && ps[p].action == 0)
			live = 1;
		if (!live && bsearch(id, fresh, nfresh, BK_ID_LEN, cmp_id))
			live = 1;
		if (!live && bk_remove(c.r->be, packfiles.names[i], &e) < 0)
			goto fail;
	}
report:
	rec = sov_record_new("summary");
	rec = jv_object_set(rec, jv_string("dry_run"), jv_bool(dry));
	rec = jv_object_set(rec, jv_string("snapshots"),
			    jv_number(jv_array_length(jv_copy(snaps))));
	rec =
	    jv_object_set(rec, jv_string("trees"), jv_number((double)c.trees));
	rec = jv_object_set(rec, jv_string("packs"), jv_number(np));
	rec = jv_object_set(rec, jv_string("packs_deleted"),
			    jv_number((double)del_packs));
	rec = jv_object_set(rec, jv_string("packs_repacked"),
			    jv_number((double)rep_packs));
	rec = jv_object_set(rec, jv_string("packs_unindexed"),
			    jv_number((double)unindexed));
	rec = jv_object_set(rec, jv_string("bytes_freed"),
			    jv_number((double)freed));
	rec = jv_object_set(rec, jv_string("index_files_written"),
			    jv_number((double)ib.files));
	rec = jv_object_set(rec, jv_string("bytes_written"),
			    jv_number((double)written));
	rec = jv_object_set(rec, jv_string("seconds"),
			    jv_number((sov_time_mono_ms() - t0) / 1000.0));
	if (bk_emit(rec, &e) < 0 || bk_emit_close(&e) < 0)
		goto fail;
	rc = SOV_EXIT_OK;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	for (size_t k = 0; k < nkeep; k++)
		free(keep[k].ents);
	free(keep);
	bk_index_batch_free(&ib);
	free(sup);
	bk_names_free(&idxfiles);
	bk_names_free(&packfiles);
	bk_packer_free(&pk);
	bk_pack_out_abort(&out); /* a new pack left half-written by an error */
	free(start);
	free(order);
	free(fresh);
	free(ps);
	free(c.used);
	bk_index_free(c.seen);
	jv_free(snaps);
	bk_lock_release(lock, NULL);
	bk_repo_close(c.r);
	return rc;
}

int
bk_cmd_prune(int argc, char **argv)
{
	static const struct option lo[] = {
	    BK_COMMON_LONGOPTS,
	    {"dry-run", no_argument, NULL, 'n'},
	    {"max-unused", required_argument, NULL, 'u'},
	    {NULL, 0, NULL, 0},
	};
	struct bk_common co = {.lock_wait_s = 60};
	struct sov_err e = {0};
	long max_unused = BK_PRUNE_MAX_UNUSED;
	int dry = 0, opt;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		int k = bk_common_opt(&co, opt, optarg);

		if (k < 0)
			return SOV_EXIT_USAGE;
		if (k)
			continue;
		if (opt == 'n')
			dry = 1;
		else if (opt == 'u') {
			if (sov_cli_parse_long("--max-unused", optarg, 0, 100,
					       &max_unused, &e) < 0)
				return sov_cli_fail(&e);
		} else
			return sov_cli_usage_error("unknown option");
	}
	if (optind != argc)
		return sov_cli_usage_error("prune takes no arguments");
	return bk_prune_run(&co, max_unused, dry);
}
