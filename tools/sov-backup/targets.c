/*
 * targets.c - the tree of what one backup saves, from "/" down to every
 * PATH and source; the directories on the way keep their own metadata.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "node.h"
#include "timestamp.h"
#include "walk.h"

/* The target tree. */

struct target *
bk_target_new(const char *name, enum target_kind kind)
{
	struct target *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->name = strdup(name);
	if (!t->name) {
		free(t);
		return NULL;
	}
	t->kind = kind;
	t->fd = -1;
	t->child.fd = t->child.err_fd = -1;
	return t;
}

void
bk_target_free(struct target *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nkids; i++)
		bk_target_free(t->kids[i]);
	free(t->kids);
	if (t->child.pid > 0)
		bk_child_finish(&t->child, 1, NULL);
	else if (t->fd > 0)
		close(t->fd);
	free(t->name);
	free(t->srcpath);
	free(t);
}

/*
 * Add a target at an absolute path. Directories on the way become T_DIR.
 * A target inside a PATH target is dropped (the walk saves it) unless it
 * is a stream, which would collide: an error.
 */
struct target *
bk_target_add(struct target *root, const char *abspath, enum target_kind kind,
	      struct sov_err *e)
{
	jv parts = bk_path_split(abspath, e);
	struct target *t = root, *r = NULL;
	char prefix[PATH_MAX] = "";
	int n;

	if (!jv_is_valid(parts))
		return NULL;
	n = jv_array_length(jv_copy(parts));
	if (n == 0) {
		if (kind != T_PATH) {
			sov_err_set(e, SOV_EXIT_USAGE, "%s: not a file",
				    abspath);
			goto out;
		}
		root->kind = T_PATH;
		r = root;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		jv p = jv_array_get(jv_copy(parts), i);
		const char *nm = jv_string_value(p);
		struct target *k = NULL;
		size_t pl = strlen(prefix);

		if (snprintf(prefix + pl, sizeof(prefix) - pl, "/%s", nm) >=
		    (int)(sizeof(prefix) - pl)) {
			jv_free(p);
			sov_err_set(e, SOV_EXIT_USAGE, "%s: too long", abspath);
			goto out;
		}
		if (t->kind == T_PATH) {
			jv_free(p);
			if (kind == T_STREAM) {
				sov_err_set(e, SOV_EXIT_USAGE,
					    "%s: collides with the files "
					    "saved from %s",
					    abspath, t->srcpath);
				goto out;
			}
			r = t; /* already inside a saved path */
			goto out;
		}
		for (size_t j = 0; j < t->nkids; j++)
			if (strcmp(t->kids[j]->name, nm) == 0)
				k = t->kids[j];
		if (!k) {
			struct target **nk =
			    realloc(t->kids, (t->nkids + 1) * sizeof(*nk));

			k = nk ? bk_target_new(nm, T_DIR) : NULL;
			if (nk)
				t->kids = nk;
			if (!k || !(k->srcpath = strdup(prefix))) {
				bk_target_free(k);
				jv_free(p);
				sov_err_sys(e, SOV_EXIT_TEMPFAIL, "targets");
				goto out;
			}
			t->kids[t->nkids++] = k;
		} else if (i == n - 1 &&
			   (kind == T_STREAM || k->kind == T_STREAM)) {
			jv_free(p);
			sov_err_set(e, SOV_EXIT_USAGE,
				    "%s: named twice in one backup", abspath);
			goto out;
		}
		jv_free(p);
		t = k;
	}
	if (kind == T_PATH) {
		/* Everything below is saved by the walk now. */
		for (size_t j = 0; j < t->nkids; j++) {
			if (t->kids[j]->kind == T_STREAM) {
				sov_err_set(e, SOV_EXIT_USAGE,
					    "%s: collides with the stream "
					    "saved as %s/%s",
					    abspath, abspath, t->kids[j]->name);
				goto out;
			}
		}
	}
	if (t->kind == T_DIR || kind == T_PATH)
		t->kind = kind;
	r = t;
out:
	jv_free(parts);
	return r;
}

static int
cmp_target(const void *a, const void *b)
{
	return strcmp((*(struct target *const *)a)->name,
		      (*(struct target *const *)b)->name);
}

static jv
synth_node(const char *name, const char *type, mode_t mode)
{
	char ts[40];
	int64_t now = sov_time_now_ms();
	jv n = jv_object();

	/* RFC 3339 with nanoseconds, as node.c writes them. */
	sov_time_format(now, ts);
	ts[23] = '\0';
	snprintf(ts + 23, sizeof(ts) - 23, "000000Z");
	n = bk_node_set_name(n, name);
	n = jv_object_set(n, jv_string("type"), jv_string(type));
	n = jv_object_set(n, jv_string("mode"), jv_number(mode));
	n = jv_object_set(n, jv_string("uid"), jv_number(getuid()));
	n = jv_object_set(n, jv_string("gid"), jv_number(getgid()));
	n = jv_object_set(n, jv_string("mtime"), jv_string(ts));
	n = jv_object_set(n, jv_string("ctime"), jv_string(ts));
	return n;
}

static int save_target(struct bk_walk *c, struct target *t, jv pnodes,
		       jv *nodes, struct sov_err *e);

int
bk_target_save_kids(struct bk_walk *c, struct target *t, jv pnodes,
		    char hex[BK_ID_HEX_LEN], struct sov_err *e)
{
	jv nodes = jv_array();
	size_t mark = c->npend;

	qsort(t->kids, t->nkids, sizeof(*t->kids), cmp_target);
	for (size_t i = 0; i < t->nkids; i++)
		if (save_target(c, t->kids[i], pnodes, &nodes, e) < 0) {
			bk_walk_discard(c, mark);
			jv_free(nodes);
			return -1;
		}
	if (bk_walk_settle(c, mark, &nodes, e) < 0) {
		jv_free(nodes);
		return -1;
	}
	return bk_walk_save_tree(c, nodes, hex, e);
}

static int
open_parent(const char *path, const char **base, struct sov_err *e)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	*base = slash ? slash + 1 : path;
	if (!slash || slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sov_err_sys(e, sov_exit_code_open(errno), "%s", dir);
	return fd;
}

static int
save_target(struct bk_walk *c, struct target *t, jv pnodes, jv *nodes,
	    struct sov_err *e)
{
	jv pnode = bk_walk_parent_node(pnodes, t->name), node;
	char hex[BK_ID_HEX_LEN];
	int rc = -1;

	if (t->kind == T_PATH || t->kind == T_SQLITE) {
		const char *base;
		int pfd = open_parent(t->srcpath, &base, e);
		struct stat st;

		if (pfd < 0)
			goto out;
		if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
			c->dev = st.st_dev;
		rc = bk_walk_save_entry(c, pfd, base, t->srcpath, pnodes, nodes,
					e);
		close(pfd);
		goto out;
	}
	if (t->kind == T_STREAM) {
		node = synth_node(t->name, "file", 0600);
		node = jv_object_set(node, jv_string("source"),
				     jv_string(t->source));
		rc = bk_walk_save_file_node(
		    c, t->fd, node, jv_invalid(), t->srcpath,
		    strcmp(t->source, "stdin") != 0, nodes, e);
		if (rc == 0 && t->child.pid > 0) {
			t->fd = -1; /* bk_child_finish closes child.fd */
			rc = bk_child_finish(&t->child, 0, e);
			t->child.pid = 0;
		}
		goto out;
	}
	/* T_DIR: a directory on the way to targets. */
	{
		struct sov_err w = {0};
		int gone = 0;

		const char *base;
		int pfd = open_parent(t->srcpath, &base, &w);

		node = pfd >= 0
			   ? bk_walk_node(c, pfd, base, t->srcpath, &gone, &w)
			   : jv_invalid();
		if (pfd >= 0)
			close(pfd);
		if (jv_is_valid(node) &&
		    strcmp(bk_node_type(node), "dir") == 0) {
			node = bk_node_set_name(
			    jv_object_delete(
				jv_object_delete(node, jv_string("name")),
				jv_string("name_b64")),
			    t->name);
		} else {
			jv_free(node);
			node = synth_node(t->name, "dir", 0755);
		}
	}
	{
		jv psub = bk_walk_parent_subtree(c, pnode);

		rc = bk_target_save_kids(c, t, psub, hex, e);
		jv_free(psub);
	}
	if (rc < 0) {
		jv_free(node);
		goto out;
	}
	node = jv_object_set(node, jv_string("subtree"), jv_string(hex));
	*nodes = jv_array_append(*nodes, node);
out:
	jv_free(pnode);
	return rc;
}
