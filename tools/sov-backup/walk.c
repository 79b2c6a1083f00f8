/*
 * walk.c - directories into tree blobs, each entry into a node; an
 * unchanged file's node is its parent's (walk_file.c has the contents).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "cli.h"
#include "dirahead.h"
#include "json_dump.h"
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

int
bk_walk_excluded(const struct bk_walk *c, const char *path, const char *name)
{
	for (size_t i = 0; i < c->nexcludes; i++) {
		const char *p = c->excludes[i];

		if (strchr(p, '/') ? fnmatch(p, path, 0) == 0
				   : fnmatch(p, name, FNM_PERIOD) == 0)
			return 1;
	}
	return 0;
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

static struct target *
sqlite_source(struct bk_walk *c, const char *path)
{
	for (size_t i = 0; i < c->nsqlite; i++)
		if (strcmp(c->sqlite[i]->srcpath, path) == 0)
			return c->sqlite[i];
	return NULL;
}

static int
is_sqlite_companion(struct bk_walk *c, const char *path)
{
	static const char *sfx[] = {"-wal", "-shm", "-journal"};

	for (size_t i = 0; i < c->nsqlite; i++) {
		size_t n = strlen(c->sqlite[i]->srcpath);

		for (size_t j = 0; j < 3; j++)
			if (strncmp(path, c->sqlite[i]->srcpath, n) == 0 &&
			    strcmp(path + n, sfx[j]) == 0)
				return 1;
	}
	return 0;
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

int bk_walk_save_entry(struct bk_walk *c, int dirfd, const char *name,
		       const char *path, jv pnodes, jv *nodes,
		       struct sov_err *e);

/* What save_dir does with an entry. */
enum { ENTRY_SAVE, ENTRY_SKIP, ENTRY_TOO_LONG };

/* A directory entry's name, with readdir's d_type kept in the byte after
 * its NUL: an ordinary C string that sorts as one. */
static char *
dup_entry(const struct dirent *de)
{
	size_t len = strlen(de->d_name);
	char *p = malloc(len + 2);

	if (!p)
		return NULL;
	memcpy(p, de->d_name, len + 1);
	p[len + 1] = (char)de->d_type;
	return p;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
bk_walk_free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
bk_walk_read_names(DIR *d, char ***out, size_t *nout)
{
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int err;

	*out = NULL;
	*nout = 0;
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char **nn = realloc(names, nc * sizeof(*nn));

			if (!nn)
				goto fail;
			names = nn;
			cap = nc;
		}
		if (!(names[n] = dup_entry(de)))
			goto fail;
		n++;
		errno = 0;
	}
	if (errno)
		goto fail;
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	*out = names;
	*nout = n;
	return 0;
fail:
	err = errno ? errno : ENOMEM;
	bk_walk_free_names(names, n);
	errno = err;
	return -1;
}

/* Only a directory can be the repository: the extra stat that looks for
 * it is skipped for the rest (most entries), as readdir says. */
static int
may_be_dir(const char *name)
{
	unsigned char t = (unsigned char)name[strlen(name) + 1];

	return t == DT_DIR || t == DT_UNKNOWN;
}

/* Save the directory open at fd (path for messages) as a tree. */
int
bk_walk_save_dir(struct bk_walk *c, int fd, const char *path, jv pnodes,
		 const char *phex, char hex[BK_ID_HEX_LEN], struct sov_err *e)
{
	DIR *d = fdopendir(fd);
	char **names = NULL;
	unsigned char *what = NULL, *want = NULL; /* per entry */
	size_t n = 0, mark = c->npend;
	jv nodes = jv_array();
	int rc = -1;

	if (!d) {
		close(fd);
		sov_err_sys(e, SOV_EXIT_FAIL, "%s: opendir", path);
		goto out;
	}
	bk_dirahead_step(c->da);
	if (bk_walk_read_names(d, &names, &n) < 0) {
		if (errno == ENOMEM)
			sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", path);
		else
			sov_err_sys(e, SOV_EXIT_FAIL, "%s: readdir", path);
		goto out;
	}
	/* What becomes of each entry, decided once; the prefetchers read
	 * only what is saved and new to this snapshot (what the parent has
	 * is mostly unchanged, never read). */
	what = malloc(n ? n : 1);
	want = malloc(n ? n : 1);
	if (!what || !want) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", path);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char sub[PATH_MAX];
		jv pn;

		if (bk_path_join(sub, path, names[i]) < 0)
			what[i] = ENTRY_TOO_LONG;
		else if (bk_walk_excluded(c, sub, names[i]) ||
			 is_sqlite_companion(c, sub))
			what[i] = ENTRY_SKIP;
		else
			what[i] = ENTRY_SAVE;
		pn = what[i] == ENTRY_SAVE
			 ? bk_walk_parent_node(pnodes, names[i])
			 : jv_null();
		want[i] = what[i] == ENTRY_SAVE && !jv_is_valid(pn);
		jv_free(pn);
	}
	for (size_t i = 0; i < n; i++) {
		char sub[PATH_MAX];

		bk_prefetch_dir(c->pf, dirfd(d), names, want, n, i);
		if (what[i] == ENTRY_TOO_LONG) {
			struct sov_err w = {0};

			sov_err_set(&w, SOV_EXIT_FAIL,
				    "%s/%s: path too long, skipped", path,
				    names[i]);
			warn_path(c, &w);
			continue;
		}
		if (what[i] == ENTRY_SKIP)
			continue;
		(void)bk_path_join(sub, path, names[i]); /* fit: checked above */
		if (c->have_repo_stat && may_be_dir(names[i])) {
			struct stat st;

			if (fstatat(dirfd(d), names[i], &st,
				    AT_SYMLINK_NOFOLLOW) == 0 &&
			    st.st_dev == c->repo_dev &&
			    st.st_ino == c->repo_ino)
				continue; /* never back up the repository */
		}
		if (bk_walk_save_entry(c, dirfd(d), names[i], sub, pnodes,
				       &nodes, e) < 0)
			goto out;
	}
	if (bk_walk_settle(c, mark, &nodes, e) < 0)
		goto out;
	if (phex && same_nodes(nodes, pnodes)) {
		/* Byte for byte the parent's tree: no need to write it out
		 * and hash it again. */
		memcpy(hex, phex, BK_ID_HEX_LEN);
		c->dirs++;
		rc = 0;
		goto out;
	}
	rc = bk_walk_save_tree(c, nodes, hex, e);
	nodes = jv_invalid();
out:
	bk_walk_discard(c, mark);
	bk_prefetch_leave(c->pf, names);
	bk_walk_free_names(names, n);
	free(what);
	free(want);
	jv_free(nodes);
	if (d)
		closedir(d);
	return rc;
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
	    sqlite_source(c, path) ||
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

int
bk_walk_save_entry(struct bk_walk *c, int dirfd, const char *name,
		   const char *path, jv pnodes, jv *nodes, struct sov_err *e)
{
	struct sov_err w = {0};
	int gone = 0, rc = -1, fd = -1;
	struct stat st;
	int have_st = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	jv pnode = bk_walk_parent_node(pnodes, name), node;
	const char *type;
	struct target *sq;

	if (have_st && take_parent_node(c, name, path, &st, &pnode, nodes))
		return 0;
	/* Without the stat, the node's own lstat fails again and says why. */
	node = bk_node_from_entry_atime(dirfd, name, path, have_st ? &st : NULL,
					c->atime, &gone, &w);
	if (!jv_is_valid(node)) {
		jv_free(node);
		jv_free(pnode);
		if (gone)
			c->vanished++;
		warn_path(c, &w);
		return 0;
	}
	type = bk_node_type(node);
	sq = strcmp(type, "file") == 0 ? sqlite_source(c, path) : NULL;
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
			if (errno == ENOENT)
				c->vanished++;
			sov_err_sys(&w, SOV_EXIT_FAIL, "%s: open", path);
			warn_path(c, &w);
			jv_free(node);
			rc = 0;
			goto out;
		}
		rc = bk_walk_save_file_node(c, fd, node, jv_invalid(), path, 0,
					    nodes, e);
		goto out;
	}
	if (strcmp(type, "dir") == 0) {
		char hex[BK_ID_HEX_LEN];
		struct stat dst;
		jv psub;

		fd = openat(dirfd, name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				c->vanished++;
			sov_err_sys(&w, SOV_EXIT_FAIL, "%s: open", path);
			warn_path(c, &w);
			jv_free(node);
			rc = 0;
			goto out;
		}
		if (c->one_fs && fstat(fd, &dst) == 0 && dst.st_dev != c->dev) {
			/* A mount point: kept, its contents are not. */
			close(fd);
			fd = -1;
			rc = bk_walk_save_tree(c, jv_array(), hex, e);
		} else {
			unsigned char pid[BK_ID_LEN];
			char phex[BK_ID_HEX_LEN];
			int reuse =
			    jv_is_valid(pnode) &&
			    bk_node_id(pnode, "subtree", pid, NULL) == 0;

			if (reuse)
				bk_hex(pid, phex);
			psub = bk_walk_parent_subtree(c, pnode);
			rc = bk_walk_save_dir(c, fd, path, psub,
					      reuse ? phex : NULL, hex, e);
			fd = -1; /* save_dir owns it */
			jv_free(psub);
		}
		if (rc < 0) {
			jv_free(node);
			goto out;
		}
		node =
		    jv_object_set(node, jv_string("subtree"), jv_string(hex));
	}
	*nodes = jv_array_append(*nodes, node);
	rc = 0;
out:
	jv_free(pnode);
	if (fd >= 0)
		close(fd);
	return rc;
}
