/*
 * cmd_backup.c - `sov-backup backup`: walk paths and database sources into
 * trees of nodes and chunks, save a snapshot.
 *
 * The snapshot's tree mirrors the file system from "/". Each PATH is saved
 * whole under its absolute path; directories on the way to it are saved
 * with their own metadata but only the entries leading to a PATH. Database
 * sources are files in the same tree: an SQLite database at its own path
 * (a consistent copy, not the live bytes), a PostgreSQL dump at
 * /postgresql/DBNAME.pgdump, stdin at /NAME.
 *
 * Unchanged files are not read again: a file whose type, size, mtime,
 * ctime and inode equal those in the parent snapshot (the newest one of
 * the same host and paths) keeps its chunk list, when every chunk is still
 * in the index.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "backup.h"
#include "chunker.h"
#include "cli.h"
#include "fs.h"
#include "jsonl.h"
#include "lock.h"
#include "measure.h"
#include "node.h"
#include "source.h"
#include "timestamp.h"

#define MAX_EXCLUDES 1024
#define MAX_TARGETS 256
#define EXCLUDE_FILE_MAX (1u << 20)

enum target_kind { T_DIR, T_PATH, T_SQLITE, T_STREAM };

/* The tree of what to save: every PATH and source, and the directories on
 * the way to them. */
struct target {
	char *name;
	enum target_kind kind;
	int fd;		 /* T_STREAM, T_SQLITE: the bytes to save */
	char *srcpath; /* T_PATH, T_SQLITE, T_DIR: the real path, or NULL */
	const char *source; /* "sqlite", "postgres", "stdin" */
	struct bk_child child; /* postgres */
	struct target **kids;
	size_t nkids;
};

struct ctx {
	struct bk_repo *r;
	struct bk_saver *sv;
	struct bk_chunker ck_files, ck_pages;
	const char *excludes[MAX_EXCLUDES];
	size_t nexcludes;
	int one_fs;
	dev_t dev; /* of the PATH being walked, for --one-file-system */
	dev_t repo_dev;
	ino_t repo_ino;
	int have_repo_stat;
	unsigned char *buf;
	size_t bufcap;
	uint64_t files, dirs, bytes_read, warnings, vanished, unchanged;
	int64_t last_progress;
	int progress;
	struct target *root;
	/* SQLite sources by path, so a walk meeting one saves the copy */
	struct target *sqlite[MAX_TARGETS];
	size_t nsqlite;
	struct target *loose[MAX_TARGETS]; /* sources inside a PATH */
	size_t nloose;
};

static void
warn_path(struct ctx *c, const struct sov_err *e)
{
	c->warnings++;
	sov_cli_warn("%s", e->msg);
}

static void
progress(struct ctx *c, int final)
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

static int
excluded(struct ctx *c, const char *path, const char *name)
{
	for (size_t i = 0; i < c->nexcludes; i++) {
		const char *p = c->excludes[i];

		if (strchr(p, '/') ? fnmatch(p, path, 0) == 0
				   : fnmatch(p, name, FNM_PERIOD) == 0)
			return 1;
	}
	return 0;
}

static int
is_page_file(const unsigned char *b, size_t n)
{
	return (n >= 16 && memcmp(b, "SQLite format 3", 16) == 0) ||
	       (n >= 5 && memcmp(b, "PGDMP", 5) == 0);
}

/*
 * Chunk everything readable from fd into content ids. The buffer holds
 * [pos, have); it is compacted only before a read, so a chunk costs no
 * copy of the bytes after it.
 */
static jv
save_content(struct ctx *c, int fd, const char *path, int pages,
	     uint64_t *size, struct sov_err *e)
{
	const struct bk_chunker *ck = pages ? &c->ck_pages : &c->ck_files;
	jv content = jv_array();
	size_t have = 0, pos = 0, need = c->ck_files.p.max;
	int eof = 0, first = 1;

	*size = 0;
	if (c->ck_pages.p.max > need)
		need = c->ck_pages.p.max;
	for (;;) {
		size_t cut;

		if (!eof && have - pos < need) {
			memmove(c->buf, c->buf + pos, have - pos);
			have -= pos;
			pos = 0;
		}
		while (!eof && have - pos < need) {
			ssize_t n = read(fd, c->buf + have, c->bufcap - have);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				sov_err_sys(e, sov_exit_code_errno(errno),
					    "%s: read", path);
				jv_free(content);
				return jv_invalid();
			}
			if (n == 0)
				eof = 1;
			have += (size_t)n;
			c->bytes_read += (uint64_t)n;
		}
		if (first) {
			first = 0;
			if (!pages && is_page_file(c->buf, have))
				ck = &c->ck_pages;
		}
		cut = bk_chunker_next(ck, c->buf + pos, have - pos, eof);
		if (cut == 0)
			break;
		{
			unsigned char id[BK_ID_LEN];
			char hex[BK_ID_HEX_LEN];

			bk_blob_id(c->r->keys, c->buf + pos, cut, id);
			if (bk_saver_add(c->sv, BK_BLOB_DATA, id, c->buf + pos,
					 cut, e) < 0) {
				jv_free(content);
				return jv_invalid();
			}
			bk_hex(id, hex);
			content = jv_array_append(content, jv_string(hex));
		}
		*size += cut;
		pos += cut;
		progress(c, 0);
	}
	return content;
}

/* A parent's node of the same name, when unchanged: its content. */
static jv
unchanged_content(struct ctx *c, jv node, jv pnode)
{
	static const char *same[] = {"type", "size", "mtime", "ctime",
				     "inode", "device"};
	jv content;
	int n;

	if (!jv_is_valid(pnode) || jv_get_kind(pnode) != JV_KIND_OBJECT)
		return jv_invalid();
	for (size_t i = 0; i < sizeof(same) / sizeof(*same); i++) {
		jv a = jv_object_get(jv_copy(node), jv_string(same[i]));
		jv b = jv_object_get(jv_copy(pnode), jv_string(same[i]));
		int eq = jv_equal(a, b);

		if (!eq)
			return jv_invalid();
	}
	content = jv_object_get(jv_copy(pnode), jv_string("content"));
	if (jv_get_kind(content) != JV_KIND_ARRAY) {
		jv_free(content);
		return jv_invalid();
	}
	n = jv_array_length(jv_copy(content));
	for (int i = 0; i < n; i++) {
		jv h = jv_array_get(jv_copy(content), i);
		unsigned char id[BK_ID_LEN];
		int ok = jv_get_kind(h) == JV_KIND_STRING &&
			 bk_unhex(jv_string_value(h), id) == 0 &&
			 bk_index_get(c->r->idx, id) != NULL;

		jv_free(h);
		if (!ok) {
			jv_free(content);
			return jv_invalid();
		}
	}
	return content;
}

/*
 * The parent tree's nodes as an object by name (consumes nodes), so each
 * entry of a directory finds its parent node in constant time: a linear
 * scan per entry made large directories quadratic. A name that is not
 * UTF-8 is left out (its file is read again); a wrong match cannot reuse
 * content, since inode, device, size and times must match too.
 */
static jv
by_name(jv nodes)
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
static jv
parent_node(jv pmap, const char *name)
{
	if (jv_get_kind(pmap) != JV_KIND_OBJECT ||
	    sov_utf8_check(name, strlen(name)) >= 0)
		return jv_invalid();
	return jv_object_get(jv_copy(pmap), jv_string(name));
}

static jv
parent_subtree(struct ctx *c, jv pnode)
{
	unsigned char id[BK_ID_LEN];

	if (!jv_is_valid(pnode) || strcmp(bk_node_type(pnode), "dir") != 0 ||
	    bk_node_id(pnode, "subtree", id, NULL) < 0)
		return jv_invalid();
	return by_name(bk_repo_read_tree(c->r, id, NULL));
}

static int
save_tree(struct ctx *c, jv nodes, char hex[BK_ID_HEX_LEN], struct sov_err *e)
{
	jv t = jv_object_set(jv_object(), jv_string("nodes"), nodes);
	jv s = jv_dump_string(t, JV_PRINT_SORTED);
	unsigned char id[BK_ID_LEN];
	size_t n = (size_t)jv_string_length_bytes(jv_copy(s));
	int rc;

	if (n > BK_TREE_MAX) {
		jv_free(s);
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "a directory of %zu bytes of metadata: over "
				   "the limit",
				   n);
	}
	bk_blob_id(c->r->keys, jv_string_value(s), n, id);
	rc = bk_saver_add(c->sv, BK_BLOB_TREE, id, jv_string_value(s), n, e);
	jv_free(s);
	if (rc < 0)
		return -1;
	bk_hex(id, hex);
	c->dirs++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static struct target *sqlite_source(struct ctx *c, const char *path)
{
	for (size_t i = 0; i < c->nsqlite; i++)
		if (strcmp(c->sqlite[i]->srcpath, path) == 0)
			return c->sqlite[i];
	return NULL;
}

static int is_sqlite_companion(struct ctx *c, const char *path)
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

static int save_entry(struct ctx *c, int dirfd, const char *name,
		      const char *path, jv pnodes, jv *nodes,
		      struct sov_err *e);

/* Save the directory open at fd (path for messages) as a tree. */
static int
save_dir(struct ctx *c, int fd, const char *path, jv pnodes,
	 char hex[BK_ID_HEX_LEN], struct sov_err *e)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	jv nodes = jv_array();
	int rc = -1;

	if (!d) {
		close(fd);
		sov_err_sys(e, SOV_EXIT_FAIL, "%s: opendir", path);
		goto out;
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char **nn = realloc(names, nc * sizeof(*nn));

			if (!nn) {
				sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", path);
				goto out;
			}
			names = nn;
			cap = nc;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", path);
			goto out;
		}
		n++;
		errno = 0;
	}
	if (errno) {
		sov_err_sys(e, SOV_EXIT_FAIL, "%s: readdir", path);
		goto out;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char sub[PATH_MAX];

		if (snprintf(sub, sizeof(sub), "%s/%s",
			     strcmp(path, "/") == 0 ? "" : path,
			     names[i]) >= (int)sizeof(sub)) {
			struct sov_err w = {0};

			sov_err_set(&w, SOV_EXIT_FAIL,
				    "%s/%s: path too long, skipped", path,
				    names[i]);
			warn_path(c, &w);
			continue;
		}
		if (excluded(c, sub, names[i]) || is_sqlite_companion(c, sub))
			continue;
		if (c->have_repo_stat) {
			struct stat st;

			if (fstatat(dirfd(d), names[i], &st,
				    AT_SYMLINK_NOFOLLOW) == 0 &&
			    st.st_dev == c->repo_dev &&
			    st.st_ino == c->repo_ino)
				continue; /* never back up the repository */
		}
		if (save_entry(c, dirfd(d), names[i], sub, pnodes, &nodes, e) <
		    0)
			goto out;
	}
	rc = save_tree(c, nodes, hex, e);
	nodes = jv_invalid();
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	jv_free(nodes);
	if (d)
		closedir(d);
	return rc;
}

static int
save_file_node(struct ctx *c, int fd, jv node, jv pnode, const char *path,
	       int pages, jv *nodes, struct sov_err *e)
{
	jv content = unchanged_content(c, node, pnode);
	uint64_t size = 0;

	c->files++;
	if (jv_is_valid(content)) {
		c->unchanged++;
	} else {
		content = save_content(c, fd, path, pages, &size, e);
		if (!jv_is_valid(content)) {
			jv_free(node);
			return -1;
		}
		node = jv_object_set(node, jv_string("size"),
				     jv_number((double)size));
	}
	node = jv_object_set(node, jv_string("content"), content);
	*nodes = jv_array_append(*nodes, node);
	return 0;
}

static int
save_entry(struct ctx *c, int dirfd, const char *name, const char *path,
	   jv pnodes, jv *nodes, struct sov_err *e)
{
	struct sov_err w = {0};
	int gone = 0, rc = -1, fd = -1;
	jv node = bk_node_from_entry(dirfd, name, path, NULL, &gone, &w);
	jv pnode = jv_invalid();
	const char *type;
	struct target *sq;

	if (!jv_is_valid(node)) {
		jv_free(node);
		if (gone)
			c->vanished++;
		warn_path(c, &w);
		return 0;
	}
	pnode = parent_node(pnodes, name);
	type = bk_node_type(node);
	sq = strcmp(type, "file") == 0 ? sqlite_source(c, path) : NULL;
	if (sq) {
		node = jv_object_set(node, jv_string("source"),
				     jv_string("sqlite"));
		node = jv_object_delete(node, jv_string("inode"));
		node = jv_object_delete(node, jv_string("links"));
		rc = save_file_node(c, sq->fd, node, jv_invalid(), path, 1,
				    nodes, e);
		goto out;
	}
	if (strcmp(type, "file") == 0) {
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOATIME |
					     O_CLOEXEC);
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
		rc = save_file_node(c, fd, node, jv_copy(pnode), path, 0,
				    nodes, e);
		goto out;
	}
	if (strcmp(type, "dir") == 0) {
		char hex[BK_ID_HEX_LEN];
		struct stat st;
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
		if (c->one_fs && fstat(fd, &st) == 0 && st.st_dev != c->dev) {
			/* A mount point: kept, its contents are not. */
			close(fd);
			fd = -1;
			rc = save_tree(c, jv_array(), hex, e);
		} else {
			psub = parent_subtree(c, pnode);
			rc = save_dir(c, fd, path, psub, hex, e);
			fd = -1; /* save_dir owns it */
			jv_free(psub);
		}
		if (rc < 0) {
			jv_free(node);
			goto out;
		}
		node = jv_object_set(node, jv_string("subtree"),
				     jv_string(hex));
	}
	*nodes = jv_array_append(*nodes, node);
	rc = 0;
out:
	jv_free(pnode);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The target tree. */

static struct target *
target_new(const char *name, enum target_kind kind)
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

static void
target_free(struct target *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nkids; i++)
		target_free(t->kids[i]);
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
static struct target *
target_add(struct target *root, const char *abspath, enum target_kind kind,
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

			k = nk ? target_new(nm, T_DIR) : NULL;
			if (nk)
				t->kids = nk;
			if (!k || !(k->srcpath = strdup(prefix))) {
				target_free(k);
				jv_free(p);
				sov_err_sys(e, SOV_EXIT_TEMPFAIL, "targets");
				goto out;
			}
			t->kids[t->nkids++] = k;
		} else if (i == n - 1 && (kind == T_STREAM ||
					  k->kind == T_STREAM)) {
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
	n = jv_object_set(n, jv_string("atime"), jv_string(ts));
	n = jv_object_set(n, jv_string("ctime"), jv_string(ts));
	return n;
}

static int save_target(struct ctx *c, struct target *t, jv pnodes, jv *nodes,
		       struct sov_err *e);

static int
save_target_kids(struct ctx *c, struct target *t, jv pnodes,
		 char hex[BK_ID_HEX_LEN], struct sov_err *e)
{
	jv nodes = jv_array();

	qsort(t->kids, t->nkids, sizeof(*t->kids), cmp_target);
	for (size_t i = 0; i < t->nkids; i++)
		if (save_target(c, t->kids[i], pnodes, &nodes, e) < 0) {
			jv_free(nodes);
			return -1;
		}
	return save_tree(c, nodes, hex, e);
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
save_target(struct ctx *c, struct target *t, jv pnodes, jv *nodes,
	    struct sov_err *e)
{
	jv pnode = parent_node(pnodes, t->name), node;
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
		rc = save_entry(c, pfd, base, t->srcpath, pnodes, nodes, e);
		close(pfd);
		goto out;
	}
	if (t->kind == T_STREAM) {
		node = synth_node(t->name, "file", 0600);
		node = jv_object_set(node, jv_string("source"),
				     jv_string(t->source));
		rc = save_file_node(c, t->fd, node, jv_invalid(), t->srcpath,
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

		node = pfd >= 0 ? bk_node_from_entry(pfd, base, t->srcpath,
						     NULL, &gone, &w)
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
		jv psub = parent_subtree(c, pnode);

		rc = save_target_kids(c, t, psub, hex, e);
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

/* The command. */

static int
load_exclude_file(struct ctx *c, const char *file, char **keep,
		  struct sov_err *e)
{
	char *buf = NULL, *p, *save = NULL;
	size_t len = 0;

	if (sov_file_read(file, EXCLUDE_FILE_MAX, &buf, &len, e) < 0)
		return -1;
	for (p = strtok_r(buf, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(p);

		if (n && p[n - 1] == '\r')
			p[--n] = '\0';
		if (!n || p[0] == '#')
			continue;
		if (c->nexcludes == MAX_EXCLUDES) {
			free(buf);
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "%s: more than %d excludes", file,
					   MAX_EXCLUDES);
		}
		c->excludes[c->nexcludes++] = p;
	}
	*keep = buf;
	return 0;
}

/* The parent: the newest snapshot of this host with the same paths. */
static jv
find_parent(struct bk_repo *r, const char *host, jv paths)
{
	struct sov_err e = {0};
	jv all = bk_repo_snapshots(r, &e), found = jv_invalid();
	int n;

	if (!jv_is_valid(all))
		return all;
	n = jv_array_length(jv_copy(all));
	for (int i = n - 1; i >= 0 && !jv_is_valid(found); i--) {
		jv s = jv_array_get(jv_copy(all), i);
		jv h = jv_object_get(jv_copy(s), jv_string("host"));
		jv p = jv_object_get(jv_copy(s), jv_string("paths"));

		if (jv_get_kind(h) == JV_KIND_STRING &&
		    strcmp(jv_string_value(h), host) == 0 &&
		    jv_equal(p, jv_copy(paths)))
			found = jv_copy(s);
		else
			jv_free(p);
		jv_free(h);
		jv_free(s);
	}
	jv_free(all);
	return found;
}

static struct target *
add_stream(struct ctx *c, const char *path, const char *source, int fd,
	   struct sov_err *e)
{
	struct target *t = target_add(c->root, path, T_STREAM, e);

	if (!t)
		return NULL;
	t->source = source;
	t->fd = fd;
	return t;
}

int
bk_cmd_backup(int argc, char **argv)
{
	static const struct option lo[] = {
	    BK_COMMON_LONGOPTS,
	    {"tag", required_argument, NULL, 't'},
	    {"host", required_argument, NULL, 'H'},
	    {"exclude", required_argument, NULL, 'e'},
	    {"exclude-file", required_argument, NULL, 'E'},
	    {"one-file-system", no_argument, NULL, 'x'},
	    {"stdin", required_argument, NULL, 's'},
	    {"sqlite", required_argument, NULL, 'q'},
	    {"postgres", required_argument, NULL, 'p'},
	    {"threads", required_argument, NULL, 'T'},
	    {"compression", required_argument, NULL, 'z'},
	    {"force", no_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	struct bk_common co = {.lock_wait_s = 60};
	struct ctx c;
	struct sov_err e = {0};
	struct bk_lock *lock = NULL;
	struct sov_metrics *m = NULL;
	const char *stdin_name = NULL, *sqlite[MAX_TARGETS], *pg[MAX_TARGETS];
	size_t nsq = 0, npg = 0;
	char *exclude_bufs[8] = {0};
	size_t nexbuf = 0;
	jv tags = jv_array(), paths = jv_array(), sources = jv_array();
	jv parent = jv_invalid(), proot = jv_invalid(), snap = jv_invalid();
	char host[256] = "", hex[BK_ID_HEX_LEN], ts[SOV_TIME_RFC3339_LEN];
	const char *hostopt = NULL;
	long threads = sysconf(_SC_NPROCESSORS_ONLN), level = 1;
	int force = 0, opt, rc = SOV_EXIT_FAIL;
	int64_t t0 = sov_time_mono_ms(), started = sov_time_now_ms();
	unsigned char sid[BK_ID_LEN];
	struct bk_saver_stats st;

	memset(&c, 0, sizeof(c));
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		int k = bk_common_opt(&co, opt, optarg);

		if (k < 0)
			return SOV_EXIT_USAGE;
		if (k)
			continue;
		switch (opt) {
		case 't':
			tags = jv_array_append(tags, jv_string(optarg));
			break;
		case 'H':
			hostopt = optarg;
			break;
		case 'e':
			if (c.nexcludes == MAX_EXCLUDES)
				return sov_cli_usage_error("too many --exclude");
			c.excludes[c.nexcludes++] = optarg;
			break;
		case 'E':
			if (nexbuf == 8)
				return sov_cli_usage_error(
				    "too many --exclude-file");
			if (load_exclude_file(&c, optarg,
					      &exclude_bufs[nexbuf], &e) < 0) {
				rc = sov_cli_fail(&e);
				goto out;
			}
			nexbuf++;
			break;
		case 'x':
			c.one_fs = 1;
			break;
		case 's':
			stdin_name = optarg;
			break;
		case 'q':
		case 'p':
			if ((opt == 'q' ? nsq : npg) == MAX_TARGETS)
				return sov_cli_usage_error("too many sources");
			if (opt == 'q')
				sqlite[nsq++] = optarg;
			else
				pg[npg++] = optarg;
			break;
		case 'T':
			if (sov_cli_parse_long("--threads", optarg, 1, 64,
					       &threads, &e) < 0)
				return sov_cli_fail(&e);
			break;
		case 'z':
			if (sov_cli_parse_long("--compression", optarg, 0, 19,
					       &level, &e) < 0)
				return sov_cli_fail(&e);
			break;
		case 'f':
			force = 1;
			break;
		default:
			return sov_cli_usage_error("unknown option");
		}
	}
	if (optind == argc && !stdin_name && nsq == 0 && npg == 0) {
		rc = sov_cli_usage_error(
		    "nothing to back up: give PATHs, --sqlite, --postgres or "
		    "--stdin");
		goto out;
	}
	if (threads < 1)
		threads = 1;
	c.progress = isatty(2);
	c.root = target_new("/", T_DIR);
	if (!c.root || !(c.root->srcpath = strdup("/"))) {
		sov_err_sys(&e, SOV_EXIT_TEMPFAIL, "targets");
		goto fail;
	}
	if (hostopt)
		snprintf(host, sizeof(host), "%s", hostopt);
	else if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "unknown");

	/* Open the repository before starting any dump. */
	c.r = bk_open(&co, &e);
	if (!c.r)
		goto fail;
	c.r->zstd_level = (int)level;
	{
		struct stat rst;

		if (stat(c.r->be->display, &rst) == 0) {
			c.repo_dev = rst.st_dev;
			c.repo_ino = rst.st_ino;
			c.have_repo_stat = 1;
		}
	}
	if (bk_chunker_init(&c.ck_files, c.r->keys->chunker, &c.r->files, &e) <
		0 ||
	    bk_chunker_init(&c.ck_pages, c.r->keys->chunker, &c.r->pages, &e) < 0)
		goto fail;
	/* The largest chunk, and room to read ahead in 1 MiB steps. */
	c.bufcap = (size_t)c.ck_files.p.max + (1u << 20);
	if (c.ck_pages.p.max + (1u << 20) > c.bufcap)
		c.bufcap = (size_t)c.ck_pages.p.max + (1u << 20);
	c.buf = malloc(c.bufcap);
	if (!c.buf) {
		sov_err_sys(&e, SOV_EXIT_TEMPFAIL, "read buffer");
		goto fail;
	}
	lock = bk_lock_acquire(c.r->be, 0, "backup", co.lock_wait_s * 1000,
			       &e);
	if (!lock)
		goto fail;
	if (bk_repo_load_index(c.r, &e) < 0)
		goto fail;

	for (int i = optind; i < argc; i++) {
		char abs[PATH_MAX];
		struct target *t;
		struct stat pst;

		if (lstat(argv[i], &pst) < 0) {
			sov_err_sys(&e, sov_exit_code_open(errno), "%s",
				    argv[i]);
			goto fail;
		}
		if (!realpath(argv[i], abs)) {
			sov_err_sys(&e, sov_exit_code_open(errno), "%s",
				    argv[i]);
			goto fail;
		}
		t = target_add(c.root, abs, T_PATH, &e);
		if (!t)
			goto fail;
		paths = jv_array_append(paths, jv_string(abs));
	}
	for (size_t i = 0; i < nsq; i++) {
		char abs[PATH_MAX];
		struct target *t;
		int fd = -1;

		if (!realpath(sqlite[i], abs)) {
			sov_err_sys(&e, sov_exit_code_open(errno), "--sqlite %s",
				    sqlite[i]);
			goto fail;
		}
		if (bk_sqlite_snapshot(abs, NULL, 30000, &fd, &e) < 0)
			goto fail;
		t = target_add(c.root, abs, T_SQLITE, &e);
		if (t && t->kind != T_SQLITE) {
			/* Inside a PATH: the walk meets it by its path. */
			t = target_new(abs, T_SQLITE);
			if (t)
				c.loose[c.nloose++] = t;
			else
				sov_err_sys(&e, SOV_EXIT_TEMPFAIL, "targets");
			if (t && !(t->srcpath = strdup(abs))) {
				sov_err_sys(&e, SOV_EXIT_TEMPFAIL, "targets");
				t = NULL;
			}
		}
		if (!t) {
			close(fd);
			goto fail;
		}
		t->fd = fd;
		c.sqlite[c.nsqlite++] = t;
		sources = jv_array_append(
		    sources,
		    jv_object_set(jv_object_set(jv_object(), jv_string("kind"),
						jv_string("sqlite")),
				  jv_string("path"), jv_string(abs)));
		paths = jv_array_append(paths, jv_string(abs));
	}
	for (size_t i = 0; i < npg; i++) {
		char *db = bk_pg_url_dbname(pg[i], &e);
		char spath[PATH_MAX];
		struct target *t;

		if (!db)
			goto fail;
		snprintf(spath, sizeof(spath), "/postgresql/%s.pgdump", db);
		sources = jv_array_append(
		    sources,
		    jv_object_set(
			jv_object_set(jv_object_set(jv_object(),
						    jv_string("kind"),
						    jv_string("postgres")),
				      jv_string("database"), jv_string(db)),
			jv_string("path"), jv_string(spath)));
		paths = jv_array_append(paths, jv_string(spath));
		free(db);
		t = add_stream(&c, spath, "postgres", -1, &e);
		if (!t || bk_pg_dump_start(pg[i], &t->child, &e) < 0)
			goto fail;
		t->fd = t->child.fd;
	}
	if (stdin_name) {
		char spath[PATH_MAX];

		if (!*stdin_name || strchr(stdin_name, '/') ||
		    strcmp(stdin_name, ".") == 0 ||
		    strcmp(stdin_name, "..") == 0) {
			rc = sov_cli_usage_error(
			    "--stdin NAME: a file name, without /");
			goto out;
		}
		snprintf(spath, sizeof(spath), "/%s", stdin_name);
		if (!add_stream(&c, spath, "stdin", 0, &e))
			goto fail;
		sources = jv_array_append(
		    sources,
		    jv_object_set(jv_object_set(jv_object(), jv_string("kind"),
						jv_string("stdin")),
				  jv_string("path"), jv_string(spath)));
		paths = jv_array_append(paths, jv_string(spath));
	}
	paths = jv_sort(paths, jv_copy(paths));

	if (!force) {
		parent = find_parent(c.r, host, jv_copy(paths));
		if (jv_is_valid(parent)) {
			unsigned char pid[BK_ID_LEN];

			if (bk_node_id(parent, "tree", pid, NULL) == 0)
				proot = by_name(
				    bk_repo_read_tree(c.r, pid, NULL));
		}
	}
	c.sv = bk_saver_new(c.r, (int)threads, &e);
	if (!c.sv)
		goto fail;
	if (c.root->kind == T_PATH) {
		int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct stat rst;

		if (fd < 0) {
			sov_err_sys(&e, SOV_EXIT_FAIL, "/");
			goto fail;
		}
		if (fstat(fd, &rst) == 0)
			c.dev = rst.st_dev;
		if (save_dir(&c, fd, "/", proot, hex, &e) < 0)
			goto fail;
	} else if (save_target_kids(&c, c.root, proot, hex, &e) < 0) {
		goto fail;
	}
	if (bk_saver_finish(c.sv, &e) < 0)
		goto fail;
	progress(&c, 1);
	bk_saver_stats(c.sv, &st);

	sov_time_format(started, ts);
	snap = jv_object();
	snap = jv_object_set(snap, jv_string("version"), jv_number(1));
	snap = jv_object_set(snap, jv_string("time"), jv_string(ts));
	snap = jv_object_set(snap, jv_string("host"), jv_string(host));
	snap = jv_object_set(snap, jv_string("paths"), jv_copy(paths));
	snap = jv_object_set(snap, jv_string("tags"), jv_sort(jv_copy(tags), jv_copy(tags)));
	snap = jv_object_set(snap, jv_string("tree"), jv_string(hex));
	snap = jv_object_set(snap, jv_string("sources"), jv_copy(sources));
	snap = jv_object_set(snap, jv_string("program"),
			     jv_string("sov-backup " SOV_VERSION));
	if (jv_is_valid(parent))
		snap = jv_object_set(
		    snap, jv_string("parent"),
		    jv_object_get(jv_copy(parent), jv_string("id")));
	{
		double secs = (sov_time_mono_ms() - t0) / 1000.0;
		jv sum = jv_object();

		sum = jv_object_set(sum, jv_string("files"),
				    jv_number((double)c.files));
		sum = jv_object_set(sum, jv_string("dirs"),
				    jv_number((double)c.dirs));
		sum = jv_object_set(sum, jv_string("unchanged"),
				    jv_number((double)c.unchanged));
		sum = jv_object_set(sum, jv_string("bytes_read"),
				    jv_number((double)c.bytes_read));
		sum = jv_object_set(sum, jv_string("bytes_new"),
				    jv_number((double)st.new_bytes));
		sum = jv_object_set(sum, jv_string("blobs_new"),
				    jv_number((double)st.new_blobs));
		sum = jv_object_set(sum, jv_string("bytes_stored"),
				    jv_number((double)st.stored_bytes));
		sum = jv_object_set(sum, jv_string("packs"),
				    jv_number((double)st.packs));
		sum = jv_object_set(sum, jv_string("warnings"),
				    jv_number((double)c.warnings));
		sum = jv_object_set(sum, jv_string("vanished"),
				    jv_number((double)c.vanished));
		sum = jv_object_set(sum, jv_string("seconds"),
				    jv_number(secs));
		snap = jv_object_set(snap, jv_string("summary"), sum);
	}
	if (bk_lock_lost(lock)) {
		sov_err_set(&e, SOV_EXIT_TEMPFAIL,
			    "the repository lock was lost (its lease could "
			    "not be renewed): no snapshot saved");
		goto fail;
	}
	if (bk_repo_save_snapshot(c.r, jv_copy(snap), sid, &e) < 0)
		goto fail;
	{
		char shex[BK_ID_HEX_LEN];
		jv rec = sov_record_new("snapshot");
		jv sum = jv_object_get(jv_copy(snap), jv_string("summary"));
		double secs = jv_number_value(
		    jv_object_get(jv_copy(sum), jv_string("seconds")));
		double ratio = st.new_bytes ? (double)c.bytes_read /
						  (double)st.new_bytes
					    : 0;

		bk_hex(sid, shex);
		rec = jv_object_set(rec, jv_string("id"), jv_string(shex));
		rec = jv_object_set(rec, jv_string("short_id"),
				    jv_string_sized(shex, 8));
		rec = jv_object_set(rec, jv_string("host"), jv_string(host));
		rec = jv_object_set(rec, jv_string("paths"), jv_copy(paths));
		rec = jv_object_set(rec, jv_string("tags"), jv_copy(tags));
		{
			int nk = 0;
			jv keys = jv_keys(jv_copy(sum));

			nk = jv_array_length(jv_copy(keys));
			for (int i = 0; i < nk; i++) {
				jv k = jv_array_get(jv_copy(keys), i);

				rec = jv_object_set(
				    rec, jv_copy(k),
				    jv_object_get(jv_copy(sum), k));
			}
			jv_free(keys);
		}
		rec = jv_object_set(rec, jv_string("dedup_ratio"),
				    jv_number(ratio));
		jv_free(sum);
		if (bk_emit(rec, &e) < 0)
			goto fail;
		m = sov_metrics_open(co.metrics, NULL, &e);
		if (m) {
			jv tg = jv_object_set(
			    jv_object_set(jv_object(), jv_string("repo"),
					  jv_string(c.r->be->display)),
			    jv_string("host"), jv_string(host));
			struct {
				const char *name;
				double v;
				const char *unit;
			} ms[] = {
			    {"backup.bytes_read", (double)c.bytes_read,
			     "bytes"},
			    {"backup.bytes_new", (double)st.new_bytes, "bytes"},
			    {"backup.bytes_stored", (double)st.stored_bytes,
			     "bytes"},
			    {"backup.files", (double)c.files, "count"},
			    {"backup.seconds", secs, "s"},
			    {"backup.dedup_ratio", ratio, ""},
			    {"backup.warnings", (double)c.warnings, "count"},
			};
			for (size_t i = 0; i < sizeof(ms) / sizeof(*ms); i++)
				if (sov_metrics_add(m, ms[i].name, ms[i].v,
						    ms[i].unit, jv_copy(tg),
						    &e) < 0)
					break;
			jv_free(tg);
			if (sov_metrics_close(m, &e) < 0)
				sov_cli_warn("measurements: %s", e.msg);
			m = NULL;
		} else if (co.metrics || getenv("SOV_METRICS")) {
			sov_cli_warn("measurements: %s", e.msg);
		}
		sov_err_clear(&e);
	}
	rc = c.warnings > c.vanished ? SOV_EXIT_FAIL : SOV_EXIT_OK;
	if (rc != SOV_EXIT_OK)
		sov_cli_warn("snapshot saved, but %llu files or directories "
			     "could not be read (see above)",
			     (unsigned long long)(c.warnings - c.vanished));
	if (bk_emit_close(&e) < 0)
		rc = sov_cli_fail(&e);
	goto out;
fail:
	if (c.progress)
		fputc('\n', stderr);
	rc = sov_cli_fail(&e);
out:
	if (c.sv) {
		bk_saver_finish(c.sv, NULL);
		bk_saver_free(c.sv);
	}
	target_free(c.root);
	for (size_t i = 0; i < c.nloose; i++)
		target_free(c.loose[i]);
	bk_lock_release(lock, NULL);
	bk_repo_close(c.r);
	free(c.buf);
	for (size_t i = 0; i < nexbuf; i++)
		free(exclude_bufs[i]);
	jv_free(tags);
	jv_free(paths);
	jv_free(sources);
	jv_free(parent);
	jv_free(proot);
	jv_free(snap);
	sodium_memzero(&c.ck_files, sizeof(c.ck_files));
	sodium_memzero(&c.ck_pages, sizeof(c.ck_pages));
	return rc;
}
