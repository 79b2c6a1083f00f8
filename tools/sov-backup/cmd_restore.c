/*
 * cmd_restore.c - `sov-backup restore` and `sov-backup dump`.
 *
 * Restore writes only through directory file descriptors opened with
 * O_NOFOLLOW, and every name passes bk_node_name, so a hostile snapshot
 * (a name "..", a symlink followed by a file in it) cannot write outside
 * the target directory. Directory metadata is applied after their
 * contents, so read-only directories and their times come out right.
 * A file's metadata is applied by the worker that writes it, through its
 * descriptor: no node is kept, and memory does not grow with the files.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "cli.h"
#include "fs.h"
#include "jsonl.h"
#include "lock.h"
#include "meta.h"
#include "node.h"
#include "restorer.h"
#include "source.h"

#define MAX_INCLUDES 256

struct hardlink {
	uint64_t dev, ino;
	char *path; /* relative to the target */
};

/* A directory's metadata, applied after everything else. */
struct dirmeta {
	size_t name; /* its path relative to the target, in dirnames */
	struct bk_meta m;
};

struct rctx {
	struct bk_repo *r;
	int target_fd;
	const char *includes[MAX_INCLUDES];
	size_t nincludes;
	unsigned meta;
	struct hardlink *links;
	size_t nlinks, caplinks;
	uint64_t files, dirs, bytes, warnings;
	struct bk_restorer *pool; /* writes file contents, applies their meta */
	struct dirmeta *dm;       /* directories, post-order */
	size_t ndm, capdm;
	char *dirnames; /* their relative paths, each NUL-terminated */
	size_t dirnameslen, dirnamescap;
	/* database targets */
	const char *pg_url, *sqlite_target;
	unsigned pg_flags;
	int db_done;
};

/* A file node's chunk ids as a malloc'ed array. */
static int
content_ids(jv node, const char *path, unsigned char (**ids)[BK_ID_LEN],
	    size_t *n, struct sov_err *e)
{
	jv content = jv_object_get(jv_copy(node), jv_string("content"));
	int m;

	*ids = NULL;
	*n = 0;
	if (jv_get_kind(content) != JV_KIND_ARRAY) {
		jv_free(content);
		return sov_err_set(e, SOV_EXIT_FAIL, "%s: no content list",
				   path);
	}
	m = jv_array_length(jv_copy(content));
	*ids = malloc((size_t)(m ? m : 1) * BK_ID_LEN);
	if (!*ids) {
		jv_free(content);
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", path);
	}
	for (int i = 0; i < m; i++) {
		jv h = jv_array_get(jv_copy(content), i);
		int bad = jv_get_kind(h) != JV_KIND_STRING ||
			  bk_unhex(jv_string_value(h), (*ids)[i]) < 0;

		jv_free(h);
		if (bad) {
			free(*ids);
			*ids = NULL;
			jv_free(content);
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "%s: content %d is not an id", path,
					   i);
		}
	}
	jv_free(content);
	*n = (size_t)m;
	return 0;
}

/* Remember a directory's metadata (path "/..." in the snapshot) for the
 * end: it must come after its contents. */
static int
defer_dir(struct rctx *c, const char *path, jv node, struct sov_err *e)
{
	const char *rel = path + 1;
	size_t len = strlen(rel) + 1;
	struct bk_meta m;

	if (bk_meta_from_node(node, c->meta, &m, e) < 0)
		return -1;
	if (c->ndm == c->capdm) {
		size_t nc = c->capdm ? c->capdm * 2 : 256;
		struct dirmeta *nd = realloc(c->dm, nc * sizeof(*nd));

		if (!nd)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", path);
		c->dm = nd;
		c->capdm = nc;
	}
	if (c->dirnamescap - c->dirnameslen < len) {
		size_t nc = c->dirnamescap ? c->dirnamescap : 16384;
		char *nn;

		while (nc - c->dirnameslen < len)
			nc *= 2;
		if ((nn = realloc(c->dirnames, nc)) == NULL)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", path);
		c->dirnames = nn;
		c->dirnamescap = nc;
	}
	memcpy(c->dirnames + c->dirnameslen, rel, len);
	c->dm[c->ndm].name = c->dirnameslen;
	c->dm[c->ndm].m = m;
	c->dirnameslen += len;
	c->ndm++;
	return 0;
}

/* Write a file node's content to fd. */
static int
write_content(struct bk_repo *r, jv node, int fd, const char *path,
	      uint64_t *bytes, struct sov_err *e)
{
	unsigned char(*ids)[BK_ID_LEN] = NULL;
	size_t n = 0;
	int rc;

	if (content_ids(node, path, &ids, &n, e) < 0)
		return -1;
	rc = bk_write_blobs(r, ids, n, fd, path, bytes, e);
	free(ids);
	return rc;
}

/* 1: path is included; 2: path leads to an include; 0: neither. */
static int
included(struct rctx *c, const char *path)
{
	size_t pl = strlen(path);
	int r = c->nincludes ? 0 : 1;

	for (size_t i = 0; i < c->nincludes && r != 1; i++) {
		const char *inc = c->includes[i];
		size_t il = strlen(inc);

		while (il > 1 && inc[il - 1] == '/')
			il--;
		if (pl >= il && strncmp(path, inc, il) == 0 &&
		    (path[il] == '/' || path[il] == '\0' || il == 1))
			r = 1;
		else if (il > pl && strncmp(inc, path, pl) == 0 &&
			 (inc[pl] == '/' || pl == 1))
			r = 2;
	}
	return r;
}

static int restore_dir(struct rctx *c, int dirfd, jv node, const char *path,
		       int depth, struct sov_err *e);

static int
tmpfile_fd(struct sov_err *e)
{
	const char *t = getenv("TMPDIR");
	int fd =
	    open(t && *t ? t : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "temporary file");
	return fd;
}

static int
restore_database(struct rctx *c, jv node, const char *path, const char *src,
		 struct sov_err *e)
{
	int rc = -1, fd;

	if (c->db_done)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "%s: more than one database selected for "
				   "one target; choose with --include",
				   path);
	if (strcmp(src, "postgres") == 0) {
		struct bk_child ch = {.pid = 0, .fd = -1, .err_fd = -1};
		uint64_t b = 0;

		if (bk_pg_restore_start(c->pg_url, c->pg_flags, &ch, e) < 0)
			return -1;
		rc = write_content(c->r, node, ch.fd, path, &b, e);
		if (rc < 0) {
			/* pg_restore stopping early makes our write fail
			 * (EPIPE): its own error says why, so prefer it. */
			struct sov_err ce = {0};

			if (bk_child_finish(&ch, 0, &ce) < 0 && e)
				*e = ce;
		} else if (bk_child_finish(&ch, 0, e) < 0) {
			rc = -1;
		}
		c->bytes += b;
	} else {
		uint64_t b = 0;

		fd = tmpfile_fd(e);
		if (fd < 0)
			return -1;
		rc = write_content(c->r, node, fd, path, &b, e);
		if (rc == 0 && lseek(fd, 0, SEEK_SET) < 0)
			rc = sov_err_sys(e, SOV_EXIT_FAIL, "seek");
		if (rc == 0)
			rc = bk_sqlite_restore(fd, c->sqlite_target, 0, e);
		close(fd);
		c->bytes += b;
	}
	if (rc == 0) {
		jv rec = sov_record_new("restored");

		c->db_done = 1;
		rec = jv_object_set(rec, jv_string("path"), jv_string(path));
		rec = jv_object_set(rec, jv_string("into"),
				    jv_string(strcmp(src, "postgres") == 0
						  ? "postgresql"
						  : c->sqlite_target));
		rc = bk_emit(rec, e);
	}
	return rc;
}

static int
remember_link(struct rctx *c, jv node, const char *path, const char **have)
{
	uint64_t links = 0, dev = 0, ino = 0;

	*have = NULL;
	if (bk_node_u64(node, "links", &links, NULL) != 1 || links < 2 ||
	    bk_node_u64(node, "device", &dev, NULL) != 1 ||
	    bk_node_u64(node, "inode", &ino, NULL) != 1)
		return 0;
	for (size_t k = 0; k < c->nlinks; k++)
		if (c->links[k].dev == dev && c->links[k].ino == ino) {
			*have = c->links[k].path;
			return 0;
		}
	if (c->nlinks == c->caplinks) {
		size_t nc = c->caplinks ? c->caplinks * 2 : 64;
		struct hardlink *nl = realloc(c->links, nc * sizeof(*nl));

		if (!nl)
			return -1;
		c->links = nl;
		c->caplinks = nc;
	}
	c->links[c->nlinks].dev = dev;
	c->links[c->nlinks].ino = ino;
	c->links[c->nlinks].path = strdup(path + 1); /* relative */
	if (!c->links[c->nlinks].path)
		return -1;
	c->nlinks++;
	return 0;
}

/* A new file name in dirfd, open for writing; what is there first is
 * unlinked (a directory in the way makes it fail with EEXIST). */
static int
create_file(int dirfd, const char *name)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dirfd, name, flags, 0600);

	if (fd < 0 && errno == EEXIST) {
		(void)unlinkat(dirfd, name, 0);
		fd = openat(dirfd, name, flags, 0600);
	}
	return fd;
}

static int
restore_node(struct rctx *c, int dirfd, jv node, const char *path, int depth,
	     struct sov_err *e)
{
	const char *type = bk_node_type(node);
	char *name = bk_node_name(node, e);
	int rc = -1, fd = -1;

	if (!name)
		return sov_err_prefix(e, "%s: ", path);
	if (strcmp(type, "file") == 0) {
		jv src = jv_object_get(jv_copy(node), jv_string("source"));
		const char *s = jv_get_kind(src) == JV_KIND_STRING
				    ? jv_string_value(src)
				    : "";
		const char *have = NULL;

		if ((c->pg_url && strcmp(s, "postgres") == 0) ||
		    (c->sqlite_target && strcmp(s, "sqlite") == 0)) {
			rc = restore_database(c, node, path, s, e);
			jv_free(src);
			goto out;
		}
		jv_free(src);
		if (c->target_fd < 0) {
			rc = 0;
			goto out;
		}
		if (remember_link(c, node, path, &have) < 0) {
			sov_err_sys(e, SOV_EXIT_TEMPFAIL, "hard links");
			goto out;
		}
		if (have) {
			unlinkat(dirfd, name, 0);
			if (linkat(c->target_fd, have, dirfd, name, 0) == 0) {
				rc = 0;
				c->files++;
				goto out;
			}
			/* The first one may have been outside --include:
			 * write this one whole. */
		}
		{
			unsigned char(*ids)[BK_ID_LEN] = NULL;
			size_t nids = 0;
			struct bk_meta m;

			/* Checked before anything is created; applied by the
			 * worker that writes the last byte. */
			if (bk_meta_from_node(node, c->meta, &m, e) < 0 ||
			    content_ids(node, path, &ids, &nids, e) < 0)
				goto out;
			/* Whatever is in the way (a symlink too) is removed,
			 * never followed; into an empty target nothing is. */
			fd = create_file(dirfd, name);
			if (fd < 0) {
				free(ids);
				sov_err_sys(e, sov_exit_code_errno(errno), "%s",
					    path);
				goto out;
			}
			/* the pool owns fd and ids from here */
			rc = bk_restorer_add(c->pool, fd, ids, nids, path, &m,
					     e);
			fd = -1;
			if (rc < 0)
				goto out;
		}
		c->files++;
		rc = 0;
		goto out;
	}
	if (c->target_fd < 0 && strcmp(type, "dir") != 0) {
		rc = 0;
		goto out;
	}
	if (strcmp(type, "dir") == 0) {
		if (c->target_fd >= 0 && bk_node_create(dirfd, node, 1, e) < 0)
			goto out;
		fd = c->target_fd >= 0 ? openat(dirfd, name,
						O_RDONLY | O_DIRECTORY |
						    O_NOFOLLOW | O_CLOEXEC)
				       : -2;
		if (fd == -1) {
			sov_err_sys(e, SOV_EXIT_FAIL, "%s", path);
			goto out;
		}
		rc = restore_dir(c, fd, node, path, depth + 1, e);
		if (fd >= 0)
			close(fd);
		fd = -1;
		/* after its contents: a read-only directory, its times */
		if (rc == 0 && c->target_fd >= 0 && included(c, path) == 1)
			rc = defer_dir(c, path, node, e);
		c->dirs++;
		goto out;
	}
	/* symlinks, fifos, devices, sockets */
	if (bk_node_create(dirfd, node, 1, e) < 0) {
		if (strcmp(type, "chardev") == 0 ||
		    strcmp(type, "blockdev") == 0) {
			sov_cli_warn("%s", e->msg);
			sov_err_clear(e);
			c->warnings++;
			rc = 0;
		}
		goto out;
	}
	rc = strcmp(type, "socket") == 0
		 ? 0
		 : bk_node_apply_meta(dirfd, node, c->meta, e);
out:
	if (fd >= 0)
		close(fd);
	free(name);
	return rc;
}

static int
restore_dir(struct rctx *c, int dirfd, jv node, const char *path, int depth,
	    struct sov_err *e)
{
	unsigned char id[BK_ID_LEN];
	jv nodes;
	int n, rc = 0;

	if (depth > 512)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "%s: trees nested too deep", path);
	if (bk_node_id(node, "subtree", id, e) < 0)
		return sov_err_prefix(e, "%s: ", path);
	nodes = bk_repo_read_tree(c->r, id, e);
	if (!jv_is_valid(nodes))
		return sov_err_prefix(e, "%s: ", path);
	n = jv_array_length(jv_copy(nodes));
	for (int i = 0; i < n && rc == 0; i++) {
		jv nd = jv_array_get(jv_copy(nodes), i);
		char *nm = bk_node_name(nd, e);
		char sub[PATH_MAX];
		int inc;

		if (!nm) {
			jv_free(nd);
			rc = sov_err_prefix(e, "%s: ", path);
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
		inc = included(c, sub);
		if (inc == 1 ||
		    (inc == 2 && strcmp(bk_node_type(nd), "dir") == 0))
			rc = restore_node(c, dirfd, nd, sub, depth, e);
		jv_free(nd);
	}
	jv_free(nodes);
	return rc;
}

/*
 * Open the directory holding rel (relative to the target) one component at
 * a time, never following a symlink, so metadata lands inside the target
 * whatever was restored. The last directory is cached: entries arrive
 * grouped by directory.
 */
static int
open_parent(struct rctx *c, const char *rel, char *cached, int *cfd,
	    const char **base, struct sov_err *e)
{
	const char *slash = strrchr(rel, '/');
	size_t dl = slash ? (size_t)(slash - rel) : 0;
	char dir[PATH_MAX];
	int fd;

	*base = slash ? slash + 1 : rel;
	if (dl >= sizeof(dir))
		return sov_err_set(e, SOV_EXIT_FAIL, "%s: path too long", rel);
	memcpy(dir, rel, dl);
	dir[dl] = '\0';
	if (*cfd >= 0 && strcmp(dir, cached) == 0)
		return *cfd;
	if (*cfd >= 0)
		close(*cfd);
	*cfd = -1;
	fd = fcntl(c->target_fd, F_DUPFD_CLOEXEC, 0);
	for (char *save = NULL, *p = strtok_r(dir, "/", &save); fd >= 0 && p;
	     p = strtok_r(NULL, "/", &save)) {
		int next = openat(
		    fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		close(fd);
		fd = next;
	}
	if (fd < 0)
		return sov_err_sys(e, SOV_EXIT_FAIL, "%s: open its directory",
				   rel);
	memcpy(cached, rel, dl);
	cached[dl] = '\0';
	*cfd = fd;
	return fd;
}

/* Directories' metadata, in the order deferred: each after its contents. */
static int
apply_dirs(struct rctx *c, struct sov_err *e)
{
	char cached[PATH_MAX] = "";
	int rc = 0, cfd = -1;

	for (size_t i = 0; i < c->ndm && rc == 0; i++) {
		const char *rel = c->dirnames + c->dm[i].name, *base;
		int pfd = open_parent(c, rel, cached, &cfd, &base, e);

		if (pfd < 0) {
			rc = -1;
		} else {
			struct bk_shown sh;

			rc = bk_meta_apply_at(
			    pfd, base, &c->dm[i].m,
			    bk_node_show(&sh, rel, strlen(rel)), e);
		}
	}
	if (cfd >= 0)
		close(cfd);
	return rc;
}

int
bk_cmd_restore(int argc, char **argv)
{
	static const struct option lo[] = {
	    BK_COMMON_LONGOPTS,
	    {"target", required_argument, NULL, 'T'},
	    {"include", required_argument, NULL, 'i'},
	    {"postgres-target", required_argument, NULL, 'p'},
	    {"sqlite-target", required_argument, NULL, 'q'},
	    {"pg-clean", no_argument, NULL, 'c'},
	    {"no-owner", no_argument, NULL, 'O'},
	    {NULL, 0, NULL, 0},
	};
	struct bk_common co = {.lock_wait_s = 60};
	struct rctx c;
	struct sov_err e = {0};
	struct bk_lock *lock = NULL;
	const char *target = NULL;
	jv snap = jv_invalid(), root = jv_invalid(), rec;
	int opt, rc = SOV_EXIT_FAIL, no_owner = 0;

	memset(&c, 0, sizeof(c));
	c.target_fd = -1;
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		int k = bk_common_opt(&co, opt, optarg);

		if (k < 0)
			return SOV_EXIT_USAGE;
		if (k)
			continue;
		switch (opt) {
		case 'T':
			target = optarg;
			break;
		case 'i':
			if (c.nincludes == MAX_INCLUDES)
				return sov_cli_usage_error(
				    "too many --include");
			if (optarg[0] != '/')
				return sov_cli_usage_error(
				    "--include %s: want an absolute path in "
				    "the snapshot",
				    optarg);
			c.includes[c.nincludes++] = optarg;
			break;
		case 'p':
			c.pg_url = optarg;
			break;
		case 'q':
			c.sqlite_target = optarg;
			break;
		case 'c':
			c.pg_flags |= BK_PG_CLEAN;
			break;
		case 'O':
			no_owner = 1;
			break;
		default:
			return sov_cli_usage_error("unknown option");
		}
	}
	if (optind + 1 != argc)
		return sov_cli_usage_error("restore: want one SNAPSHOT");
	if (!target && !c.pg_url && !c.sqlite_target)
		return sov_cli_usage_error(
		    "restore: give --target DIR, --postgres-target URL or "
		    "--sqlite-target PATH");
	if (target && (c.pg_url || c.sqlite_target))
		return sov_cli_usage_error(
		    "restore: --target restores files; restore a database "
		    "in a separate run");
	c.meta =
	    (geteuid() == 0 && !no_owner ? BK_META_OWNER : 0) | BK_META_BY_NAME;
	if (no_owner)
		c.pg_flags |= BK_PG_NO_OWNER;
	c.r = bk_open(&co, &e);
	if (!c.r)
		goto fail;
	lock =
	    bk_lock_acquire(c.r->be, 0, "restore", co.lock_wait_s * 1000, &e);
	if (!lock || bk_repo_load_index(c.r, &e) < 0)
		goto fail;
	snap = bk_repo_find_snapshot(c.r, argv[optind], &e);
	if (!jv_is_valid(snap))
		goto fail;
	if (target) {
		if (sov_mkdir_p(target, 0700, &e) < 0)
			goto fail;
		c.target_fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (c.target_fd < 0) {
			sov_err_sys(&e, sov_exit_code_open(errno), "%s",
				    target);
			goto fail;
		}
	}
	root = jv_object_set(jv_object(), jv_string("type"), jv_string("dir"));
	root = jv_object_set(root, jv_string("subtree"),
			     jv_object_get(jv_copy(snap), jv_string("tree")));
	if (c.target_fd >= 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		c.pool = bk_restorer_new(c.r, ncpu > 0 ? (int)ncpu : 1, &e);
		if (!c.pool)
			goto fail;
	}
	if (restore_dir(&c, c.target_fd >= 0 ? c.target_fd : -1, root, "/", 0,
			&e) < 0)
		goto fail;
	if (c.pool) {
		uint64_t b = 0;
		int prc = bk_restorer_finish(c.pool, &b, &e);

		c.bytes += b;
		if (prc < 0 || apply_dirs(&c, &e) < 0)
			goto fail;
	}
	if ((c.pg_url || c.sqlite_target) && !c.db_done) {
		sov_err_set(&e, SOV_EXIT_USAGE,
			    "the snapshot has no %s database%s",
			    c.pg_url ? "PostgreSQL" : "SQLite",
			    c.nincludes ? " under the --include paths" : "");
		goto fail;
	}
	if (c.target_fd >= 0 && syncfs(c.target_fd) < 0) {
		sov_err_sys(&e, SOV_EXIT_FAIL, "%s: sync", target);
		goto fail;
	}
	rec = sov_record_new("summary");
	rec = jv_object_set(rec, jv_string("snapshot"),
			    jv_object_get(jv_copy(snap), jv_string("id")));
	rec =
	    jv_object_set(rec, jv_string("files"), jv_number((double)c.files));
	rec = jv_object_set(rec, jv_string("dirs"), jv_number((double)c.dirs));
	rec =
	    jv_object_set(rec, jv_string("bytes"), jv_number((double)c.bytes));
	rec = jv_object_set(rec, jv_string("warnings"),
			    jv_number((double)c.warnings));
	if (bk_emit(rec, &e) < 0 || bk_emit_close(&e) < 0)
		goto fail;
	rc = SOV_EXIT_OK;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	bk_restorer_free(c.pool);
	free(c.dm);
	free(c.dirnames);
	for (size_t i = 0; i < c.nlinks; i++)
		free(c.links[i].path);
	free(c.links);
	if (c.target_fd >= 0)
		close(c.target_fd);
	jv_free(snap);
	jv_free(root);
	bk_lock_release(lock, NULL);
	bk_repo_close(c.r);
	return rc;
}

int
bk_cmd_dump(int argc, char **argv)
{
	struct bk_common co = {.lock_wait_s = 60};
	struct sov_err e = {0};
	struct bk_repo *r = NULL;
	jv snap = jv_invalid(), node = jv_invalid();
	uint64_t bytes = 0;
	int rc = SOV_EXIT_FAIL;

	{
		int urc = bk_common_only(argc, argv, &co);

		if (urc)
			return urc;
	}
	if (optind + 2 != argc)
		return sov_cli_usage_error("dump: want SNAPSHOT PATH");
	r = bk_open(&co, &e);
	if (!r || bk_repo_load_index(r, &e) < 0)
		goto fail;
	snap = bk_repo_find_snapshot(r, argv[optind], &e);
	if (!jv_is_valid(snap))
		goto fail;
	node = bk_tree_lookup(r, snap, argv[optind + 1], &e);
	if (!jv_is_valid(node))
		goto fail;
	if (strcmp(bk_node_type(node), "file") != 0) {
		sov_err_set(&e, SOV_EXIT_USAGE, "%s: not a file (a %s)",
			    argv[optind + 1], bk_node_type(node));
		goto fail;
	}
	if (write_content(r, node, 1, argv[optind + 1], &bytes, &e) < 0)
		goto fail;
	rc = SOV_EXIT_OK;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	jv_free(snap);
	jv_free(node);
	bk_repo_close(r);
	return rc;
}
