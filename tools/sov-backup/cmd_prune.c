/*
 * cmd_prune.c - `sov-backup prune`: remove data no snapshot needs.
 *
 * Under the exclusive lock, prune_plan.c marks every blob a snapshot
 * reaches and counts per pack: all used, keep; none used, delete; partly
 * used, repack when its unused share is over --max-unused (the used blobs
 * are copied still sealed into new packs). Then, one pack at a time, in an
 * order that loses nothing a snapshot needs at any instant of a crash:
 *   1. write the new packs, and the index of every kept and new pack in
 *      files of bounded size (index_batch.h) as they come
 *   2. the last index file, which supersedes all the old ones
 *   3. delete the old index files
 *   4. delete the packs nothing indexes any more, and leftover temp files
 * A crash before 2 leaves new packs and index files beside the old ones,
 * which only repeat what those say (the next prune drops the copies);
 * after 2, readers ignore the old index files.
 *
 * Memory does not grow with the repository: the plan works in sorts of
 * bounded size on temporary files (--sort-memory), a repacked pack is read
 * one blob at a time, new packs go to disk as they are made. What grows is
 * a few dozen bytes per pack and the ids of the packs prune writes.
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
#include "prune_plan.h"
#include "timestamp.h"

/* What rewriting the repository holds between packs. */
struct rewrite {
	struct bk_repo *r;
	struct bk_prune_plan *plan;
	struct bk_index_batch ib;
	struct bk_packer pk;
	struct bk_pack_out out;
	unsigned char (*fresh)[BK_ID_LEN]; /* the packs prune wrote */
	size_t nfresh, capfresh;
	uint64_t written;
};

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, BK_ID_LEN);
}

/* A new pack is complete: into the new index, and among the fresh. */
static int
flush_packer(struct rewrite *w, struct sov_err *e)
{
	struct bk_pack_info pi;

	if (w->pk.n == 0)
		return 0;
	if (bk_pack_out_commit(w->r, &w->pk, &w->out, &pi, e) < 0)
		return -1;
	w->written += pi.size;
	if (w->nfresh == w->capfresh) {
		size_t nc = w->capfresh ? w->capfresh * 2 : 16;
		void *nv = realloc(w->fresh, nc * BK_ID_LEN);

		if (!nv) {
			free(pi.ents);
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "prune");
		}
		w->fresh = nv;
		w->capfresh = nc;
	}
	memcpy(w->fresh[w->nfresh++], pi.id, BK_ID_LEN);
	return bk_index_batch_add(&w->ib, &pi, e);
}

/* A repacked pack is read in ranges of adjacent used blobs up to this
 * size (or one blob, when larger): one read per blob was slow for packs of
 * many small ones, the whole pack at once held 16 MiB. */
#define REPACK_READ (4u << 20)

/* Copy the used blobs of one pack into new packs, each verified first:
 * prune must not spread damage. */
static int
repack(struct rewrite *w, const unsigned char pack[BK_ID_LEN],
       const struct bk_pack_entry *ents, const unsigned char *used, uint32_t n,
       struct sov_err *e)
{
	char name[BK_NAME_MAX];
	unsigned char *buf = NULL, *plain = NULL;
	size_t cap = 0;
	int rc = -1;

	bk_pack_name(pack, name);
	for (uint32_t i = 0; i < n;) {
		uint32_t j = i + 1;
		uint64_t base = ents[i].offset, len;

		if (!used[i]) {
			i++;
			continue;
		}
		len = ents[i].length;
		while (j < n && used[j] &&
		       ents[j].offset ==
			   ents[j - 1].offset + ents[j - 1].length &&
		       len + ents[j].length <= REPACK_READ)
			len += ents[j++].length;
		if (len > cap) {
			free(buf);
			buf = malloc(len);
			cap = buf ? len : 0;
			if (!buf) {
				sov_err_sys(e, SOV_EXIT_TEMPFAIL, "prune");
				goto out;
			}
		}
		if (bk_get_range(w->r->be, name, base, len, buf, e) < 0)
			goto out;
		for (; i < j; i++) {
			const unsigned char *sealed =
			    buf + (ents[i].offset - base);

			if (bk_blob_open(w->r->keys, &ents[i], sealed, &plain,
					 name, e) < 0)
				goto out;
			free(plain);
			plain = NULL;
			if (bk_packer_add_sealed(&w->pk, &ents[i], sealed, e) <
				0 ||
			    (w->pk.size >= BK_PACK_TARGET &&
			     flush_packer(w, e) < 0))
				goto out;
		}
	}
	rc = 0;
out:
	free(buf);
	free(plain);
	return rc;
}

/* One pack's blobs, as the plan's by-pack sort gives them. */
struct group {
	struct bk_pack_entry *ents;
	unsigned char *used;
	uint32_t n, cap;
};

static int
group_add(struct group *g, const struct bk_prune_rec *x, struct sov_err *e)
{
	if (g->n == g->cap) {
		uint32_t nc = g->cap ? g->cap * 2 : 256;
		struct bk_pack_entry *ne;
		unsigned char *nu;

		if (g->cap >= BK_PACK_MAX_ENTRIES)
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "a pack with over %u blobs",
					   BK_PACK_MAX_ENTRIES);
		ne = realloc(g->ents, nc * sizeof(*ne));
		if (ne)
			g->ents = ne;
		nu = ne ? realloc(g->used, nc) : NULL;
		if (!nu)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "prune");
		g->used = nu;
		g->cap = nc;
	}
	bk_prune_rec_entry(x, &g->ents[g->n]);
	g->used[g->n++] = x->used;
	return 0;
}

static int
finish_group(struct rewrite *w, uint32_t pack, struct group *g,
	     struct sov_err *e)
{
	const unsigned char *id = bk_index_pack_id(w->plan->packs, pack);
	struct bk_pack_info pi;

	switch (w->plan->ps[pack].action) {
	case BK_PRUNE_KEEP:
		memset(&pi, 0, sizeof(pi));
		memcpy(pi.id, id, BK_ID_LEN);
		pi.ents = malloc((size_t)g->n * sizeof(*pi.ents));
		if (!pi.ents)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "prune");
		memcpy(pi.ents, g->ents, (size_t)g->n * sizeof(*pi.ents));
		pi.n = g->n;
		return bk_index_batch_add(&w->ib, &pi, e);
	case BK_PRUNE_REPACK:
		return repack(w, id, g->ents, g->used, g->n, e);
	default:
		return 0;
	}
}

/* Steps 1 and 2: every pack in turn, then the superseding index file. */
static int
rewrite(struct rewrite *w, struct sov_err *e)
{
	struct bk_names *idx = &w->plan->index_files;
	unsigned char(*sup)[BK_ID_LEN] = NULL;
	struct group g = {0};
	struct bk_prune_rec x;
	size_t ns = 0;
	int k, rc = -1;

	k = bk_xsort_next(w->plan->by_pack, &x, e);
	while (k == 1) {
		uint32_t pack = x.pack;

		g.n = 0;
		while (k == 1 && x.pack == pack) {
			if (group_add(&g, &x, e) < 0)
				goto out;
			k = bk_xsort_next(w->plan->by_pack, &x, e);
		}
		if (k < 0 || finish_group(w, pack, &g, e) < 0)
			goto out;
	}
	if (k < 0 || flush_packer(w, e) < 0)
		goto out;
	sup = malloc((idx->n ? idx->n : 1) * BK_ID_LEN);
	if (!sup) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "prune");
		goto out;
	}
	for (size_t i = 0; i < idx->n; i++)
		if (bk_unhex(strrchr(idx->names[i], '/') + 1, sup[ns]) == 0)
			ns++;
	if (bk_index_batch_finish(
		&w->ib, (const unsigned char(*)[BK_ID_LEN])sup, ns, e) < 0)
		goto out;
	rc = 0;
out:
	free(sup);
	free(g.ents);
	free(g.used);
	return rc;
}

/* Steps 3 and 4. packs: the listing from before the rewrite. */
static int
delete_old(struct rewrite *w, const struct bk_names *packs, struct sov_err *e)
{
	const struct bk_names *idx = &w->plan->index_files;

	for (size_t i = 0; i < idx->n; i++)
		if (bk_remove(w->r->be, idx->names[i], e) < 0)
			return -1;
	qsort(w->fresh, w->nfresh, BK_ID_LEN, cmp_id);
	for (size_t i = 0; i < packs->n; i++) {
		unsigned char id[BK_ID_LEN];
		uint32_t p;

		if (bk_unhex(strrchr(packs->names[i], '/') + 1, id) < 0)
			continue;
		p = bk_index_pack(w->plan->packs, id);
		if (p < w->plan->npacks &&
		    w->plan->ps[p].action == BK_PRUNE_KEEP)
			continue;
		if (bsearch(id, w->fresh, w->nfresh, BK_ID_LEN, cmp_id))
			continue;
		if (bk_remove(w->r->be, packs->names[i], e) < 0)
			return -1;
	}
	return 0;
}

int
bk_prune_run(const struct bk_common *co, long max_unused, size_t sort_mem,
	     int dry)
{
	struct sov_err e = {0};
	struct bk_repo *r = NULL;
	struct bk_lock *lock = NULL;
	struct bk_prune_plan plan;
	struct rewrite w;
	struct bk_names packfiles = {0};
	uint64_t del_packs = 0, rep_packs = 0, freed = 0, unindexed = 0;
	uint64_t listed = 0;
	int rc = SOV_EXIT_FAIL;
	int64_t t0 = sov_time_mono_ms();
	jv snaps = jv_invalid(), rec;

	memset(&plan, 0, sizeof(plan));
	memset(&w, 0, sizeof(w));
	plan.mem = sort_mem;
	r = bk_open(co, &e);
	if (!r)
		goto fail;
	lock = bk_lock_acquire(r->be, 1, "prune", co->lock_wait_s * 1000, &e);
	if (!lock)
		goto fail;
	snaps = bk_repo_snapshots(r, &e);
	if (!jv_is_valid(snaps) ||
	    bk_prune_plan_make(r, snaps, max_unused, &plan, &e) < 0)
		goto fail;
	for (uint32_t p = 0; p < plan.npacks; p++) {
		const struct bk_prune_pack *ps = &plan.ps[p];

		if (!ps->listed)
			continue;
		listed++;
		if (ps->action == BK_PRUNE_DELETE)
			del_packs++, freed += ps->used_bytes + ps->unused_bytes;
		if (ps->action == BK_PRUNE_REPACK)
			rep_packs++, freed += ps->unused_bytes;
	}
	if (bk_repo_list(r, "data", &packfiles, &e) < 0)
		goto fail;
	for (size_t i = 0; i < packfiles.n; i++) {
		unsigned char id[BK_ID_LEN];

		uint32_t p;

		if (bk_unhex(strrchr(packfiles.names[i], '/') + 1, id) < 0)
			continue;
		p = bk_index_pack(plan.packs, id);
		if (p >= plan.npacks || !plan.ps[p].listed)
			unindexed++;
	}
	/* bk_index_pack added the unknown ones: npacks still bounds the
	 * packs with a plan. */
	if (dry)
		goto report;
	w.r = r;
	w.plan = &plan;
	w.ib.r = r;
	w.ib.lock = lock;
	w.out.be = r->be;
	bk_packer_set_sink(&w.pk, bk_pack_out_sink, &w.out);
	if (rewrite(&w, &e) < 0 || delete_old(&w, &packfiles, &e) < 0)
		goto fail;
report:
	rec = sov_record_new("summary");
	rec = jv_object_set(rec, jv_string("dry_run"), jv_bool(dry));
	rec = jv_object_set(rec, jv_string("snapshots"),
			    jv_number(jv_array_length(jv_copy(snaps))));
	rec = jv_object_set(rec, jv_string("trees"),
			    jv_number((double)plan.trees));
	rec = jv_object_set(rec, jv_string("blobs"),
			    jv_number((double)plan.blobs));
	rec = jv_object_set(rec, jv_string("duplicates"),
			    jv_number((double)plan.duplicates));
	rec = jv_object_set(rec, jv_string("sort_runs"),
			    jv_number((double)plan.sort_runs));
	rec = jv_object_set(rec, jv_string("packs"), jv_number((double)listed));
	rec = jv_object_set(rec, jv_string("packs_deleted"),
			    jv_number((double)del_packs));
	rec = jv_object_set(rec, jv_string("packs_repacked"),
			    jv_number((double)rep_packs));
	rec = jv_object_set(rec, jv_string("packs_unindexed"),
			    jv_number((double)unindexed));
	rec = jv_object_set(rec, jv_string("bytes_freed"),
			    jv_number((double)freed));
	rec = jv_object_set(rec, jv_string("index_files_written"),
			    jv_number((double)w.ib.files));
	rec = jv_object_set(rec, jv_string("bytes_written"),
			    jv_number((double)w.written));
	rec = jv_object_set(rec, jv_string("seconds"),
			    jv_number((sov_time_mono_ms() - t0) / 1000.0));
	if (bk_emit(rec, &e) < 0 || bk_emit_close(&e) < 0)
		goto fail;
	rc = SOV_EXIT_OK;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	bk_index_batch_free(&w.ib);
	bk_packer_free(&w.pk);
	bk_pack_out_abort(
	    &w.out); /* a new pack left half-written by an error */
	free(w.fresh);
	bk_names_free(&packfiles);
	bk_prune_plan_free(&plan);
	jv_free(snaps);
	bk_lock_release(lock, NULL);
	bk_repo_close(r);
	return rc;
}

int
bk_cmd_prune(int argc, char **argv)
{
	static const struct option lo[] = {
	    BK_COMMON_LONGOPTS,
	    {"dry-run", no_argument, NULL, 'n'},
	    {"max-unused", required_argument, NULL, 'u'},
	    {"sort-memory", required_argument, NULL, 'm'},
	    {NULL, 0, NULL, 0},
	};
	struct bk_common co = {.lock_wait_s = 60};
	struct sov_err e = {0};
	long max_unused = BK_PRUNE_MAX_UNUSED;
	long sort_kib = BK_XSORT_MEM >> 10;
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
		} else if (opt == 'm') {
			if (sov_cli_parse_long("--sort-memory", optarg,
					       BK_XSORT_MEM_MIN >> 10, 1 << 20,
					       &sort_kib, &e) < 0)
				return sov_cli_fail(&e);
		} else
			return sov_cli_usage_error("unknown option");
	}
	if (optind != argc)
		return sov_cli_usage_error("prune takes no arguments");
	return bk_prune_run(&co, max_unused, (size_t)sort_kib << 10, dry);
}
