/*
 * common.c - what every command shares: options, opening the repository,
 * the JSON lines writer, paths inside a snapshot.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "cli.h"
#include "jsonl.h"
#include "node.h"
#include "secret.h"

static struct sov_jsonl_writer *out_w;

int
bk_common_opt(struct bk_common *c, int opt, const char *arg)
{
	struct sov_err e = {0};

	switch (opt) {
	case 0x1001:
		c->repo = arg;
		return 1;
	case 0x1002:
		c->password_file = arg;
		return 1;
	case 0x1003:
		c->metrics = arg;
		return 1;
	case 0x1004:
		if (sov_cli_parse_long("--lock-wait", arg, 0, 86400,
				       &c->lock_wait_s, &e) < 0) {
			sov_cli_fail(&e);
			return -1;
		}
		return 1;
	}
	return 0;
}

int
bk_common_only(int argc, char **argv, struct bk_common *c)
{
	static const struct option lo[] = {BK_COMMON_LONGOPTS,
					   {NULL, 0, NULL, 0}};
	int opt;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		int k = bk_common_opt(c, opt, optarg);

		if (k <= 0)
			return k < 0 ? SOV_EXIT_USAGE
				     : sov_cli_usage_error("unknown option");
	}
	return 0;
}

struct bk_repo *
bk_open(const struct bk_common *c, struct sov_err *e)
{
	struct sov_secret pw = {0};
	struct bk_repo *r;
	const char *loc = c->repo ? c->repo : getenv("SOV_BACKUP_REPO");

	if (!loc || !*loc) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "no repository: give --repo DIR or set "
			    "SOV_BACKUP_REPO");
		return NULL;
	}
	if (bk_password_load(c->password_file, &pw, e) < 0)
		return NULL;
	r = bk_repo_open(loc, pw.data, pw.len, e);
	sov_secret_wipe(&pw);
	return r;
}

int
bk_emit(jv rec, struct sov_err *e)
{
	if (!out_w) {
		out_w = sov_jsonl_writer_new(stdout, "stdout", SOV_JSONL_FLUSH);
		if (!out_w) {
			jv_free(rec);
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "stdout");
		}
	}
	return sov_jsonl_write(out_w, rec, e);
}

int
bk_emit_close(struct sov_err *e)
{
	int rc = 0;

	if (out_w)
		rc = sov_jsonl_writer_close(out_w, e);
	out_w = NULL;
	return rc;
}

int
bk_has_string(jv arr, const char *s)
{
	int n = jv_get_kind(arr) == JV_KIND_ARRAY
		    ? jv_array_length(jv_copy(arr))
		    : 0,
	    hit = 0;

	for (int i = 0; i < n && !hit; i++) {
		jv v = jv_array_get(jv_copy(arr), i);

		hit = jv_get_kind(v) == JV_KIND_STRING &&
		      strcmp(jv_string_value(v), s) == 0;
		jv_free(v);
	}
	return hit;
}

jv
bk_path_split(const char *path, struct sov_err *e)
{
	jv parts = jv_array();
	const char *p = path;

	while (*p) {
		const char *s = strchr(p, '/');
		size_t n = s ? (size_t)(s - p) : strlen(p);

		if (n > 0) {
			if ((n == 1 && p[0] == '.') ||
			    (n == 2 && p[0] == '.' && p[1] == '.')) {
				jv_free(parts);
				sov_err_set(e, SOV_EXIT_USAGE,
					    "%s: \".\" and \"..\" are not "
					    "allowed in a snapshot path",
					    path);
				return jv_invalid();
			}
			parts =
			    jv_array_append(parts, jv_string_sized(p, (int)n));
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return parts;
}

int
bk_node_id(jv node, const char *member, unsigned char id[BK_ID_LEN],
	   struct sov_err *e)
{
	jv v = jv_get_kind(node) == JV_KIND_OBJECT
		   ? jv_object_get(jv_copy(node), jv_string(member))
		   : jv_invalid();
	int rc = 0;

	if (jv_get_kind(v) != JV_KIND_STRING ||
	    bk_unhex(jv_string_value(v), id) < 0)
		rc = sov_err_set(e, SOV_EXIT_FAIL,
				 "tree node: %s: missing or not an id", member);
	jv_free(v);
	return rc;
}

jv
bk_tree_lookup(struct bk_repo *r, jv snap, const char *path, struct sov_err *e)
{
	jv parts = bk_path_split(path, e), node = jv_invalid();
	unsigned char id[BK_ID_LEN];
	int n;

	if (!jv_is_valid(parts))
		return parts;
	if (bk_node_id(snap, "tree", id, e) < 0)
		goto out;
	node = jv_object_set(jv_object(), jv_string("type"), jv_string("dir"));
	node = jv_object_set(node, jv_string("name"), jv_string("/"));
	node = jv_object_set(node, jv_string("subtree"),
			     jv_object_get(jv_copy(snap), jv_string("tree")));
	n = jv_array_length(jv_copy(parts));
	for (int i = 0; i < n; i++) {
		jv want = jv_array_get(jv_copy(parts), i), nodes, found;
		int m;

		if (strcmp(bk_node_type(node), "dir") != 0 ||
		    bk_node_id(node, "subtree", id, e) < 0) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "%s: not found in the snapshot (a "
				    "component is not a directory)",
				    path);
			jv_free(want);
			jv_free(node);
			node = jv_invalid();
			goto out;
		}
		nodes = bk_repo_read_tree(r, id, e);
		jv_free(node);
		node = jv_invalid();
		if (!jv_is_valid(nodes)) {
			jv_free(want);
			goto out;
		}
		found = jv_invalid();
		m = jv_array_length(jv_copy(nodes));
		for (int j = 0; j < m && !jv_is_valid(found); j++) {
			jv nd = jv_array_get(jv_copy(nodes), j);
			char *nm = bk_node_name(nd, NULL);

			if (nm && strcmp(nm, jv_string_value(want)) == 0)
				found = jv_copy(nd);
			free(nm);
			jv_free(nd);
		}
		jv_free(nodes);
		jv_free(want);
		if (!jv_is_valid(found)) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "%s: not found in the snapshot", path);
			goto out;
		}
		node = found;
	}
out:
	jv_free(parts);
	return node;
}

int
bk_path_join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir,
			 name);

	return n < 0 || n >= PATH_MAX ? -1 : 0;
}
