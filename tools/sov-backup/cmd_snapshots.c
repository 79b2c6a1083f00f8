/*
 * cmd_snapshots.c - `sov-backup snapshots` and `sov-backup ls`.
 */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "cli.h"
#include "jsonl.h"
#include "lock.h"
#include "node.h"

/* A snapshot as a record: the snapshot's members and its short id. */
jv bk_snapshot_record(jv snap);
jv
bk_snapshot_record(jv snap)
{
	jv rec = sov_record_new("snapshot");
	jv id = jv_object_get(jv_copy(snap), jv_string("id"));

	rec = jv_object_set(rec, jv_string("short_id"),
			    jv_string_sized(jv_string_value(id), 8));
	jv_free(id);
	return jv_object_merge(rec, snap);
}

int
bk_cmd_snapshots(int argc, char **argv)
{
	static const struct option lo[] = {
	    BK_COMMON_LONGOPTS,
	    {"host", required_argument, NULL, 'H'},
	    {"tag", required_argument, NULL, 't'},
	    {"path", required_argument, NULL, 'P'},
	    {"latest", required_argument, NULL, 'l'},
	    {NULL, 0, NULL, 0},
	};
	struct bk_common co = {.lock_wait_s = 60};
	struct sov_err e = {0};
	struct bk_repo *r = NULL;
	const char *host = NULL, *tag = NULL, *path = NULL;
	long latest = 0;
	jv all = jv_invalid(), sel = jv_array();
	int opt, rc = SOV_EXIT_FAIL, n, m;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		int k = bk_common_opt(&co, opt, optarg);

		if (k < 0)
			goto usage;
		if (k)
			continue;
		switch (opt) {
		case 'H':
			host = optarg;
			break;
		case 't':
			tag = optarg;
			break;
		case 'P':
			path = optarg;
			break;
		case 'l':
			if (sov_cli_parse_long("--latest", optarg, 1, INT_MAX,
					       &latest, &e) < 0) {
				rc = sov_cli_fail(&e);
				goto out;
			}
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc) {
		rc = sov_cli_usage_error("snapshots takes no arguments");
		goto out;
	}
	r = bk_open(&co, &e);
	if (!r)
		goto fail;
	all = bk_repo_snapshots(r, &e);
	if (!jv_is_valid(all))
		goto fail;
	n = jv_array_length(jv_copy(all));
	for (int i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(all), i);
		jv h = jv_object_get(jv_copy(s), jv_string("host"));
		jv tg = jv_object_get(jv_copy(s), jv_string("tags"));
		jv ps = jv_object_get(jv_copy(s), jv_string("paths"));
		int keep = (!host || strcmp(jv_string_value(h), host) == 0) &&
			   (!tag || bk_has_string(tg, tag)) &&
			   (!path || bk_has_string(ps, path));

		jv_free(h);
		jv_free(tg);
		jv_free(ps);
		if (keep)
			sel = jv_array_append(sel, s);
		else
			jv_free(s);
	}
	m = jv_array_length(jv_copy(sel));
	for (int i = latest && m > latest ? m - (int)latest : 0; i < m; i++)
		if (bk_emit(bk_snapshot_record(jv_array_get(jv_copy(sel), i)),
			    &e) < 0)
			goto fail;
	if (bk_emit_close(&e) < 0)
		goto fail;
	rc = SOV_EXIT_OK;
	goto out;
usage:
	rc = sov_cli_usage_error("bad option");
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	jv_free(all);
	jv_free(sel);
	bk_repo_close(r);
	return rc;
}

/* List a tree recursively: one record per node, with its path. */
static int
ls_tree(struct bk_repo *r, jv node, const char *path, int depth,
	struct sov_err *e)
{
	unsigned char id[BK_ID_LEN];
	jv nodes;
	int n, rc = 0;

	if (depth > 512)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "%s: trees nested too deep", path);
	if (strcmp(bk_node_type(node), "dir") != 0)
		return 0;
	if (bk_node_id(node, "subtree", id, e) < 0)
		return -1;
	nodes = bk_repo_read_tree(r, id, e);
	if (!jv_is_valid(nodes))
		return -1;
	n = jv_array_length(jv_copy(nodes));
	for (int i = 0; i < n && rc == 0; i++) {
		jv nd = jv_array_get(jv_copy(nodes), i), rec;
		char *nm = bk_node_name(nd, e);
		char sub[PATH_MAX];

		if (!nm) {
			jv_free(nd);
			rc = -1;
			break;
		}
		if (bk_path_join(sub, path, nm) < 0) {
			free(nm);
			jv_free(nd);
			rc = sov_err_set(e, SOV_EXIT_FAIL, "%s: path too long",
					 path);
			break;
		}
		free(nm);
		/* The node first, then our fields: a node's own "path" or
		 * "event" member must not pass for ours. */
		rec = jv_object_merge(
		    jv_object_delete(
			jv_object_delete(jv_copy(nd), jv_string("content")),
			jv_string("subtree")),
		    sov_record_new("node"));
		rec = jv_object_set(rec, jv_string("path"), jv_string(sub));
		rc = bk_emit(rec, e);
		if (rc == 0)
			rc = ls_tree(r, nd, sub, depth + 1, e);
		jv_free(nd);
	}
	jv_free(nodes);
	return rc;
}

int
bk_cmd_ls(int argc, char **argv)
{
	struct bk_common co = {.lock_wait_s = 60};
	struct sov_err e = {0};
	struct bk_repo *r = NULL;
	jv snap = jv_invalid();
	int rc = SOV_EXIT_FAIL;

	{
		int urc = bk_common_only(argc, argv, &co);

		if (urc)
			return urc;
	}
	if (optind >= argc)
		return sov_cli_usage_error("ls: want SNAPSHOT [PATH...]");
	r = bk_open(&co, &e);
	if (!r || bk_repo_load_index(r, &e) < 0)
		goto fail;
	snap = bk_repo_find_snapshot(r, argv[optind], &e);
	if (!jv_is_valid(snap))
		goto fail;
	for (int i = optind + 1; i < argc || i == optind + 1; i++) {
		const char *p = i < argc ? argv[i] : "/";
		jv node = bk_tree_lookup(r, snap, p, &e);

		if (!jv_is_valid(node))
			goto fail;
		if (strcmp(bk_node_type(node), "dir") != 0) {
			jv rec = jv_object_merge(
			    jv_object_delete(node, jv_string("content")),
			    sov_record_new("node"));

			rec =
			    jv_object_set(rec, jv_string("path"), jv_string(p));
			if (bk_emit(rec, &e) < 0)
				goto fail;
			continue;
		}
		{
			int r2 =
			    ls_tree(r, node, strcmp(p, "/") ? p : "/", 0, &e);

			jv_free(node);
			if (r2 < 0)
				goto fail;
		}
	}
	if (bk_emit_close(&e) < 0)
		goto fail;
	rc = SOV_EXIT_OK;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	jv_free(snap);
	bk_repo_close(r);
	return rc;
}
