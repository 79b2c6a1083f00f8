/*
 * cmd_diff.c - `sov-backup diff` (what changed between two snapshots) and
 * `sov-backup stats` (what the repository holds).
 *
 * diff walks both trees side by side, by name; equal subtree ids are
 * skipped without reading them, so comparing two nightly snapshots reads
 * only the directories that changed.
 */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "cli.h"
#include "jsonl.h"
#include "node.h"

struct dstat {
	uint64_t added, removed, modified, metadata;
};

static int
emit_change(const char *change, const char *path, jv node, struct sov_err *e)
{
	jv rec = sov_record_new("diff");

	rec = jv_object_set(rec, jv_string("change"), jv_string(change));
	rec = jv_object_set(rec, jv_string("path"), jv_string(path));
	rec = jv_object_set(rec, jv_string("type"),
			    jv_string(bk_node_type(node)));
	return bk_emit(rec, e);
}

static jv
subtree_nodes(struct bk_repo *r, jv node, struct sov_err *e)
{
	unsigned char id[BK_ID_LEN];

	if (!jv_is_valid(node) || strcmp(bk_node_type(node), "dir") != 0)
		return jv_array();
	if (bk_node_id(node, "subtree", id, e) < 0)
		return jv_invalid();
	return bk_repo_read_tree(r, id, e);
}

static int diff_nodes(struct bk_repo *r, jv a, jv b, const char *path,
		      int depth, struct dstat *st, struct sov_err *e);

/* Every node below a dir as added or removed. */
static int
whole(struct bk_repo *r, jv node, const char *path, const char *change,
      int depth, struct dstat *st, struct sov_err *e)
{
	jv none = jv_array(), kids = subtree_nodes(r, node, e);
	int rc;

	if (!jv_is_valid(kids)) {
		jv_free(none);
		return -1;
	}
	if (strcmp(change, "added") == 0)
		rc = diff_nodes(r, none, kids, path, depth + 1, st, e);
	else
		rc = diff_nodes(r, kids, none, path, depth + 1, st, e);
	return rc;
}

static int
diff_nodes(struct bk_repo *r, jv a, jv b, const char *path, int depth,
	   struct dstat *st, struct sov_err *e)
{
	int na = jv_array_length(jv_copy(a)), nb = jv_array_length(jv_copy(b));
	int i = 0, j = 0, rc = 0;

	if (depth > 512) {
		rc = sov_err_set(e, SOV_EXIT_FAIL, "trees nested too deep");
		goto out;
	}
	while (rc == 0 && (i < na || j < nb)) {
		jv x = i < na ? jv_array_get(jv_copy(a), i) : jv_invalid();
		jv y = j < nb ? jv_array_get(jv_copy(b), j) : jv_invalid();
		char *xn = jv_is_valid(x) ? bk_node_name(x, e) : NULL;
		char *yn = jv_is_valid(y) ? bk_node_name(y, e) : NULL;
		char sub[PATH_MAX];
		int c;

		if ((jv_is_valid(x) && !xn) || (jv_is_valid(y) && !yn)) {
			rc = -1;
		} else {
			c = !xn ? 1 : !yn ? -1 : strcmp(xn, yn);
			if (bk_path_join(sub, path, c <= 0 ? xn : yn) < 0) {
				rc = sov_err_set(e, SOV_EXIT_FAIL,
						 "%s: path too long", path);
			} else if (c < 0) {
				st->removed++;
				rc = emit_change("removed", sub, x, e);
				if (rc == 0)
					rc = whole(r, x, sub, "removed", depth,
						   st, e);
				i++;
			} else if (c > 0) {
				st->added++;
				rc = emit_change("added", sub, y, e);
				if (rc == 0)
					rc = whole(r, y, sub, "added", depth,
						   st, e);
				j++;
			} else {
				const char *tx = bk_node_type(x);
				const char *ty = bk_node_type(y);
				jv cx = jv_object_get(jv_copy(x),
						      jv_string("content"));
				jv cy = jv_object_get(jv_copy(y),
						      jv_string("content"));
				jv sx = jv_object_get(jv_copy(x),
						      jv_string("subtree"));
				jv sy = jv_object_get(jv_copy(y),
						      jv_string("subtree"));
				int same_content = jv_equal(cx, cy);
				int same_sub = jv_equal(sx, sy);

				if (strcmp(tx, ty) != 0 || !same_content) {
					st->modified++;
					rc = emit_change("modified", sub, y, e);
				} else if (strcmp(tx, "dir") != 0 &&
					   !jv_equal(jv_copy(x), jv_copy(y))) {
					st->metadata++;
					rc = emit_change("metadata", sub, y, e);
				}
				if (rc == 0 && strcmp(tx, "dir") == 0 &&
				    strcmp(ty, "dir") == 0 && !same_sub) {
					jv ka = subtree_nodes(r, x, e);
					jv kb = jv_is_valid(ka)
						    ? subtree_nodes(r, y, e)
						    : jv_invalid();

					if (!jv_is_valid(ka) ||
					    !jv_is_valid(kb)) {
						jv_free(ka);
						jv_free(kb);
						rc = -1;
					} else {
						rc = diff_nodes(r, ka, kb, sub,
								depth + 1, st,
								e);
					}
				}
				i++;
				j++;
			}
		}
		free(xn);
		free(yn);
		jv_free(x);
		jv_free(y);
	}
out:
	jv_free(a);
	jv_free(b);
	return rc;
}

int
bk_cmd_diff(int argc, char **argv)
{
	struct bk_common co = {.lock_wait_s = 60};
	struct sov_err e = {0};
	struct bk_repo *r = NULL;
	struct dstat st = {0};
	jv s1 = jv_invalid(), s2 = jv_invalid(), t1, t2, rec;
	unsigned char id[BK_ID_LEN];
	int rc = SOV_EXIT_FAIL;

	{
		int urc = bk_common_only(argc, argv, &co);

		if (urc)
			return urc;
	}
	if (optind + 2 != argc)
		return sov_cli_usage_error("diff: want SNAPSHOT SNAPSHOT");
	r = bk_open(&co, &e);
	if (!r || bk_repo_load_index(r, &e) < 0)
		goto fail;
	s1 = bk_repo_snapshots(r, &e);
	if (!jv_is_valid(s1))
		goto fail;
	s2 = bk_snapshot_pick(jv_copy(s1), argv[optind + 1], &e);
	s1 = jv_is_valid(s2) ? bk_snapshot_pick(s1, argv[optind], &e) : s1;
	if (!jv_is_valid(s1) || !jv_is_valid(s2))
		goto fail;
	if (bk_node_id(s1, "tree", id, &e) < 0)
		goto fail;
	t1 = bk_repo_read_tree(r, id, &e);
	if (!jv_is_valid(t1))
		goto fail;
	if (bk_node_id(s2, "tree", id, &e) < 0) {
		jv_free(t1);
		goto fail;
	}
	t2 = bk_repo_read_tree(r, id, &e);
	if (!jv_is_valid(t2)) {
		jv_free(t1);
		goto fail;
	}
	if (diff_nodes(r, t1, t2, "/", 0, &st, &e) < 0)
		goto fail;
	rec = sov_record_new("summary");
	rec =
	    jv_object_set(rec, jv_string("added"), jv_number((double)st.added));
	rec = jv_object_set(rec, jv_string("removed"),
			    jv_number((double)st.removed));
	rec = jv_object_set(rec, jv_string("modified"),
			    jv_number((double)st.modified));
	rec = jv_object_set(rec, jv_string("metadata"),
			    jv_number((double)st.metadata));
	if (bk_emit(rec, &e) < 0 || bk_emit_close(&e) < 0)
		goto fail;
	rc = SOV_EXIT_OK;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	jv_free(s1);
	jv_free(s2);
	bk_repo_close(r);
	return rc;
}

int
bk_cmd_stats(int argc, char **argv)
{
	struct bk_common co = {.lock_wait_s = 60};
	struct sov_err e = {0};
	struct bk_repo *r = NULL;
	uint64_t raw = 0, stored = 0, data = 0, trees = 0;
	jv snaps = jv_invalid(), rec;
	int rc = SOV_EXIT_FAIL;

	{
		int urc = bk_common_only(argc, argv, &co);

		if (urc)
			return urc;
	}
	if (optind != argc)
		return sov_cli_usage_error("stats takes no arguments");
	r = bk_open(&co, &e);
	if (!r || bk_repo_load_index(r, &e) < 0)
		goto fail;
	snaps = bk_repo_snapshots(r, &e);
	if (!jv_is_valid(snaps))
		goto fail;
	for (size_t i = 0; i < bk_index_count(r->idx); i++) {
		const struct bk_blob *b = bk_index_at(r->idx, i);

		raw += b->en.raw;
		stored += b->en.length;
		if (b->en.type == BK_BLOB_TREE)
			trees++;
		else
			data++;
	}
	rec = sov_record_new("stats");
	rec = jv_object_set(rec, jv_string("snapshots"),
			    jv_number(jv_array_length(jv_copy(snaps))));
	rec = jv_object_set(rec, jv_string("packs"),
			    jv_number(bk_index_npacks(r->idx)));
	rec = jv_object_set(rec, jv_string("data_blobs"),
			    jv_number((double)data));
	rec = jv_object_set(rec, jv_string("tree_blobs"),
			    jv_number((double)trees));
	rec = jv_object_set(rec, jv_string("bytes_unique"),
			    jv_number((double)raw));
	rec = jv_object_set(rec, jv_string("bytes_stored"),
			    jv_number((double)stored));
	rec = jv_object_set(rec, jv_string("compression_ratio"),
			    jv_number(stored ? (double)raw / stored : 0));
	rec = jv_object_set(rec, jv_string("index_files"),
			    jv_number((double)r->nindex_files));
	if (bk_emit(rec, &e) < 0 || bk_emit_close(&e) < 0)
		goto fail;
	rc = SOV_EXIT_OK;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	jv_free(snaps);
	bk_repo_close(r);
	return rc;
}
