/*
 * walk.c - directories into tree blobs, each entry into a node; an
 * unchanged file's node is its parent's (walk_file.c has the contents).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "cli.h"
#include "dirahead.h"
#include "dircache.h"
#include "jsonl.h"
#include "node.h"
#include "prefetch.h"
#include "timestamp.h"
#include "walk.h"

static void
warn_path(struct bk_walk *c, const struct sov_err *e)
{
	c->warnings++;
	sov_cli_warn("%s", e->msg);
}

/* An entry that could not be opened (errno): a warning, counted as
 * vanished when it is gone. */
static void
warn_open(struct bk_walk *c, const char *path)
{
	struct sov_err w = {0};

	if (errno == ENOENT)
		c->vanished++;
	sov_err_sys(&w, SOV_EXIT_FAIL, "%s: open", path);
	warn_path(c, &w);
}

void
bk_walk_progress(struct bk_walk *c, int final)
{
	struct bk_saver_stats st;
	int64_t now;

	if (!c->progress)
		return;
	now = sov_time_mono_ms();
	if (!final && now - c->last_progress < 500)
		return;
	c->last_progress = now;
	bk_saver_stats(c->sv, &st);
	fprintf(stderr,
		"\r%llu files, %.1f MiB read, %.1f MiB new, %llu unchanged%s",
		(unsigned long long)c->files, c->bytes_read / 1048576.0,
		st.new_bytes / 1048576.0, (unsigned long long)c->unchanged,
		final ? "\n" : "");
}

/*
 * The parent tree's nodes as an object by name (consumes nodes), so each
 * entry of a directory finds its parent node in constant time: a linear
 * scan per entry made large directories quadratic. A name that is not
 * UTF-8 is left out (its file is read again); a wrong match cannot reuse
 * content, since inode, device, size and times must match too.
 */
jv
bk_walk_by_name(jv nodes)
{
	jv m = jv_object();
	int n;

	if (jv_get_kind(nodes) != JV_KIND_ARRAY) {
		jv_free(nodes);
		jv_free(m);
		return jv_invalid();
	}
	n = jv_array_length(jv_copy(nodes));
	for (int i = 0; i < n; i++) {
		jv nd = jv_array_get(jv_copy(nodes), i);
		char *nm = bk_node_name(nd, NULL);

		if (nm && sov_utf8_check(nm, strlen(nm)) < 0)
			m = jv_object_set(m, jv_string(nm), nd);
		else
			jv_free(nd);
		free(nm);
	}
	jv_free(nodes);
	return m;
}

/* The parent tree's node called name, from by_name's map (or invalid). */
jv
bk_walk_parent_node(jv pmap, const char *name)
{
	if (jv_get_kind(pmap) != JV_KIND_OBJECT ||
	    sov_utf8_check(name, strlen(name)) >= 0)
		return jv_invalid();
	return jv_object_get(jv_copy(pmap), jv_string(name));
}

jv
bk_walk_parent_subtree(struct bk_walk *c, jv pnode)
{
	unsigned char id[BK_ID_LEN];

	jv m;

	if (!jv_is_valid(pnode) || strcmp(bk_node_type(pnode), "dir") != 0 ||
	    bk_node_id(pnode, "subtree", id, NULL) < 0)
		return jv_invalid();
	m = bk_dirahead_take(c->da, id);
	if (jv_is_valid(m))
		return m;
	jv_free(m);
	return bk_walk_by_name(bk_repo_read_tree(c->r, id, NULL));
}

static int save_entry(struct bk_walk *c, int dirfd, const char *name,
		      const char *path, const struct stat *st0, const char *kid,
		      jv pnodes, jv *nodes, struct sov_err *e);
static int walk_subdir(struct bk_walk *c, int dirfd, const char *name,
		       const char *path, jv pnode, char hex[BK_ID_HEX_LEN],
		       int *skipped, struct sov_err *e);

/* The last run's tree of a directory, by name, read ahead or now. */
static jv
recorded_map(struct bk_walk *c, const unsigned char id[BK_ID_LEN])
{
	jv m = bk_dirahead_take(c->da, id);

	if (jv_is_valid(m))
		return m;
	jv_free(m);
	return bk_walk_by_name(bk_repo_read_tree(c->r, id, NULL));
}

/*
 * A directory whose listing is the one the last run recorded: its
 * subdirectories walked first, their trees in kids (an empty string: left
 * out with a warning). 1 when each came out as the tree recorded for it,
 * so the directory's tree is the recorded one; 0 when not; -1 on error.
 */
static int
walk_kids_first(struct bk_walk *c, DIR *d, const char *path,
		const struct bk_walk_list *l, char (*kids)[BK_ID_HEX_LEN],
		struct sov_err *e)
{
	int same = 1;

	for (size_t i = 0; i < l->n; i++) {
		char sub[PATH_MAX];
		int skipped = 0;

		if (l->what[i] != BK_ENTRY_SAVE || !S_ISDIR(l->st[i].st_mode))
			continue;
		(void)bk_path_join(sub, path, l->names[i]); /* fit: listed */
		if (walk_subdir(c, dirfd(d), l->names[i], sub, jv_invalid(),
				kids[i], &skipped, e) < 0)
			return -1;
		if (skipped)
			kids[i][0] = '\0';
	}
	/* The subdirectories' trees are made once the workers are done. */
	if (bk_saver_drain(c->sv, e) < 0)
		return -1;
	for (size_t i = 0; i < l->n; i++) {
		char sub[PATH_MAX];
		unsigned char osum[BK_DIRSUM_LEN], otree[BK_ID_LEN];
		char ohex[BK_ID_HEX_LEN];

		if (l->what[i] != BK_ENTRY_SAVE || !S_ISDIR(l->st[i].st_mode))
			continue;
		if (!kids[i][0]) { /* left out */
			same = 0;
			continue;
		}
		(void)bk_path_join(sub, path, l->names[i]); /* fit: listed */
		if (bk_dircache_find(c->dc, sub, osum, otree) < 0) {
			same = 0;
			continue;
		}
		bk_hex(otree, ohex);
		if (strcmp(ohex, kids[i]) != 0)
			same = 0;
	}
	return same;
}

/* The regular files of a listing (counted as unchanged when its tree is
 * the recorded one). */
static uint64_t
count_files(const struct bk_walk_list *l)
{
	uint64_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->what[i] == BK_ENTRY_SAVE && S_ISREG(l->st[i].st_mode))
			n++;
	return n;
}

/* Save the directory open at fd (path for messages) as a tree: into hex
 * when the workers are done with it (bk_walk_end_dir). */
static int
save_dir(struct bk_walk *c, int fd, const char *path, jv pnodes,
	 const char *phex, char hex[BK_ID_HEX_LEN], struct sov_err *e)
{
	DIR *d = fdopendir(fd);
	struct bk_walk_list l = {0};
	unsigned char *want = NULL; /* per entry */
	char(*kids)[BK_ID_HEX_LEN] = NULL;
	unsigned char osum[BK_DIRSUM_LEN], otree[BK_ID_LEN];
	char ohex[BK_ID_HEX_LEN];
	size_t mark = c->npend;
	uint64_t warned = c->warnings;
	int known = 0, own = 0, rc = -1;
	jv nodes = jv_array();

	if (!d) {
		close(fd);
		sov_err_sys(e, SOV_EXIT_FAIL, "%s: opendir", path);
		goto out;
	}
	bk_dirahead_step(c->da);
	if (bk_walk_list(c, d, path, &l, e) < 0)
		goto out;
	for (size_t i = 0; i < l.n; i++)
		if (l.what[i] == BK_ENTRY_SAVE &&
		    bk_dircache_owner(c->dc, (uint32_t)l.st[i].st_uid,
				      (uint32_t)l.st[i].st_gid, e) < 0)
			goto out;
	known = bk_dircache_find(c->dc, path, osum, otree) == 0;
	if (known)
		bk_hex(otree, ohex);
	if (known && l.summed && memcmp(l.sum, osum, BK_DIRSUM_LEN) == 0) {
		int same;

		kids = calloc(l.n ? l.n : 1, sizeof(*kids));
		if (!kids) {
			sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", path);
			goto out;
		}
		same = walk_kids_first(c, d, path, &l, kids, e);
		if (same < 0)
			goto out;
		if (same && c->warnings == warned) {
			/* Nothing in it changed: the recorded tree. */
			uint64_t files = count_files(&l);

			memcpy(hex, ohex, BK_ID_HEX_LEN);
			c->files += files;
			c->unchanged += files;
			c->dirs++;
			rc = bk_dircache_add(c->dc, path, l.sum, otree, e);
			goto out;
		}
		/* A subdirectory changed: the recorded tree's nodes, with
		 * the new subtrees. */
	}
	if (known && !jv_is_valid(pnodes)) {
		/* The caller walked from the cache: the last run's tree of
		 * this directory is the parent snapshot's. */
		pnodes = recorded_map(c, otree);
		phex = ohex;
		own = 1;
	}
	/* The prefetchers read only what is saved and new to this snapshot
	 * (what the parent has is mostly unchanged, never read). */
	want = malloc(l.n ? l.n : 1);
	if (!want) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", path);
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		jv pn = l.what[i] == BK_ENTRY_SAVE
			    ? bk_walk_parent_node(pnodes, l.names[i])
			    : jv_null();

		want[i] = l.what[i] == BK_ENTRY_SAVE && !jv_is_valid(pn);
		jv_free(pn);
	}
	for (size_t i = 0; i < l.n; i++) {
		char sub[PATH_MAX];

		bk_prefetch_dir(c->pf, dirfd(d), l.names, want, l.n, i);
		if (l.what[i] == BK_ENTRY_TOO_LONG) {
			struct sov_err w = {0};

			sov_err_set(&w, SOV_EXIT_FAIL,
				    "%s/%s: path too long, skipped", path,
				    l.names[i]);
			warn_path(c, &w);
			continue;
		}
		if (l.what[i] == BK_ENTRY_SKIP)
			continue;
		(void)bk_path_join(sub, path, l.names[i]); /* fit: listed */
		if (save_entry(c, dirfd(d), l.names[i], sub,
			       l.what[i] == BK_ENTRY_SAVE ? &l.st[i] : NULL,
			       kids && l.what[i] == BK_ENTRY_SAVE &&
				       S_ISDIR(l.st[i].st_mode)
				   ? kids[i]
				   : NULL,
			       pnodes, &nodes, e) < 0)
			goto out;
	}
	rc = bk_walk_end_dir(c, mark, nodes, jv_copy(pnodes), phex, path,
			     l.summed && c->warnings == warned ? l.sum : NULL,
			     hex, e);
	nodes = jv_invalid();
out:
	if (rc < 0)
		bk_walk_discard(c, mark);
	bk_prefetch_leave(c->pf, l.names);
	bk_walk_list_free(&l);
	free(want);
	free(kids);
	jv_free(nodes);
	if (own)
		jv_free(pnodes);
	if (d)
		closedir(d);
	return rc;
}

int
bk_walk_save_dir(struct bk_walk *c, int fd, const char *path, jv pnodes,
		 const char *phex, char hex[BK_ID_HEX_LEN], struct sov_err *e)
{
	if (save_dir(c, fd, path, pnodes, phex, hex, e) < 0)
		return -1;
	return bk_saver_drain(c->sv, e);
}

/*
 * Reading a directory or a symlink sets its access time (under relatime,
 * at least once a day), so a nightly backup stored a new atime for every
 * directory: every tree came out new, and was written again, even with
 * nothing changed. Like borg, atime is kept only when asked for.
 */
jv
bk_walk_node(struct bk_walk *c, int dirfd, const char *name, const char *path,
	     int *gone, struct sov_err *e)
{
	return bk_node_from_entry_atime(dirfd, name, path, NULL, c->atime, gone,
					e);
}

/*
 * An unchanged regular file whose parent node is exactly the node its
 * stat would make (bk_node_same_file) is saved as that node, content and
 * all, when every chunk is still in the index: no node is built, no
 * fields compared through jq, and the directory's comparison with the
 * parent's tree finds the same value. 1 when appended (*pnode consumed).
 */
static int
take_parent_node(struct bk_walk *c, const char *name, const char *path,
		 const struct stat *st, jv *pnode, jv *nodes)
{
	jv content;

	if (!jv_is_valid(*pnode) || !S_ISREG(st->st_mode) ||
	    bk_walk_sqlite_source(c, path) ||
	    !bk_node_same_file(*pnode, name, st, c->atime))
		return 0;
	content = bk_walk_indexed_content(c, *pnode);
	if (!jv_is_valid(content))
		return 0;
	jv_free(content);
	c->files++;
	c->unchanged++;
	*nodes = jv_array_append(*nodes, *pnode);
	*pnode = jv_invalid();
	return 1;
}

/*
 * The subdirectory name of dirfd (path) saved as a tree into hex, with
 * its parent node pnode (consumed; invalid: none, or the walk goes by the
 * cache). A subdirectory that cannot be opened is a warning: *skipped
 * set, 0. A mount point under --one-file-system is an empty tree.
 */
static int
walk_subdir(struct bk_walk *c, int dirfd, const char *name, const char *path,
	    jv pnode, char hex[BK_ID_HEX_LEN], int *skipped, struct sov_err *e)
{
	struct stat dst;
	unsigned char pid[BK_ID_LEN], id[BK_ID_LEN], sum[BK_DIRSUM_LEN];
	char phex[BK_ID_HEX_LEN];
	int reuse, rc,
	    fd = openat(dirfd, name,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	jv psub;

	*skipped = 0;
	if (fd < 0) {
		warn_open(c, path);
		jv_free(pnode);
		*skipped = 1;
		return 0;
	}
	if (c->one_fs && fstat(fd, &dst) == 0 && dst.st_dev != c->dev) {
		/* A mount point: kept, its contents are not. */
		close(fd);
		jv_free(pnode);
		rc = bk_walk_save_tree(c, jv_array(), hex, e);
		if (rc == 0)
			rc = bk_walk_cache_add(c, path, NULL, hex, e);
		return rc;
	}
	reuse =
	    jv_is_valid(pnode) && bk_node_id(pnode, "subtree", pid, NULL) == 0;
	if (reuse)
		bk_hex(pid, phex);
	/* When the last run's cache has it, the directory finds its tree
	 * there, and reads it only when something in it changed. */
	psub = bk_dircache_find(c->dc, path, sum, id) == 0
		   ? jv_invalid()
		   : bk_walk_parent_subtree(c, pnode);
	jv_free(pnode);
	rc = save_dir(c, fd, path, psub, reuse ? phex : NULL, hex, e);
	jv_free(psub);
	return rc;
}

int
bk_walk_save_entry(struct bk_walk *c, int dirfd, const char *name,
		   const char *path, jv pnodes, jv *nodes, struct sov_err *e)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return save_entry(c, dirfd, name, path, &st, NULL, pnodes,
				  nodes, e);
	return save_entry(c, dirfd, name, path, NULL, NULL, pnodes, nodes, e);
}

/*
 * One entry of a directory into nodes. st0: its lstat (NULL: it failed,
 * and the node's own says why). kid: a subdirectory's tree already walked
 * ("" when it was left out), or NULL to walk it now.
 */
static int
save_entry(struct bk_walk *c, int dirfd, const char *name, const char *path,
	   const struct stat *st0, const char *kid, jv pnodes, jv *nodes,
	   struct sov_err *e)
{
	struct sov_err w = {0};
	int gone = 0, rc = -1, fd = -1;
	jv pnode = bk_walk_parent_node(pnodes, name), node;
	const char *type;
	struct target *sq;

	if (st0 && take_parent_node(c, name, path, st0, &pnode, nodes))
		return 0;
	if (kid && !*kid) {
		jv_free(pnode);
		return 0; /* warned when it was walked */
	}
	/* Without the stat, the node's own lstat fails again and says why. */
	node = bk_node_from_entry_atime(dirfd, name, path, st0, c->atime, &gone,
					&w);
	if (!jv_is_valid(node)) {
		jv_free(node);
		jv_free(pnode);
		if (gone)
			c->vanished++;
		warn_path(c, &w);
		return 0;
	}
	type = bk_node_type(node);
	sq = strcmp(type, "file") == 0 ? bk_walk_sqlite_source(c, path) : NULL;
	if (sq) {
		node = jv_object_set(node, jv_string("source"),
				     jv_string("sqlite"));
		node = jv_object_delete(node, jv_string("inode"));
		node = jv_object_delete(node, jv_string("links"));
		rc = bk_walk_save_file_node(c, sq->fd, node, jv_invalid(), path,
					    1, nodes, e);
		goto out;
	}
	if (strcmp(type, "file") == 0) {
		/* An unchanged file is not opened: in a nightly run that is
		 * almost every file, and an open and a close each. */
		if (bk_walk_save_unchanged(c, &node, pnode, nodes)) {
			rc = 0;
			goto out;
		}
		fd = openat(dirfd, name,
			    O_RDONLY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC);
		if (fd < 0 && errno == EPERM)
			fd = openat(dirfd, name,
				    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			warn_open(c, path);
			jv_free(node);
			rc = 0;
			goto out;
		}
		rc = bk_walk_save_file_node(c, fd, node, jv_invalid(), path, 0,
					    nodes, e);
		goto out;
	}
	if (strcmp(type, "dir") == 0 && kid) {
		node =
		    jv_object_set(node, jv_string("subtree"), jv_string(kid));
	} else if (strcmp(type, "dir") == 0) {
		/* Its tree id comes when the workers are done with it. */
		struct bk_walk_pending *p = calloc(1, sizeof(*p));
		int skipped = 0;

		if (!p) {
			jv_free(node);
			sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", path);
			goto out;
		}
		p->dir = 1;
		p->content = jv_null();
		rc = walk_subdir(c, dirfd, name, path, pnode, p->hex, &skipped,
				 e);
		pnode = jv_invalid();
		p->idx = (size_t)jv_array_length(jv_copy(*nodes));
		if (rc < 0 || skipped || bk_walk_push_pending(c, p, e) < 0) {
			if (rc == 0 && !skipped)
				rc = -1; /* push_pending's */
			if (rc < 0)      /* its tree must not land in p */
				c->stopped = 1;
			free(p);
			jv_free(node);
			goto out;
		}
	}
	*nodes = jv_array_append(*nodes, node);
	rc = 0;
out:
	jv_free(pnode);
	if (fd >= 0)
		close(fd);
	return rc;
}
