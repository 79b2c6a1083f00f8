/*
 * dirahead.c - the walk's next directories listed ahead of it; see
 * dirahead.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "dirahead.h"
#include "node.h"
#include "walk.h"

/* A parent tree read ahead, by name (bk_walk_by_name), for the walk to
 * take: only one thread holds a map at a time, since jv's reference counts
 * are not atomic. */
struct slot {
	unsigned char id[BK_ID_LEN];
	jv map;
	size_t raw;
	uint64_t age;
	int used;
};

/* A subdirectory of the parent tree: where its own tree is. */
struct subtree {
	char *name;
	unsigned char id[BK_ID_LEN];
};

struct bk_dirahead {
	const struct bk_walk *c;
	int have_root;
	unsigned char root[BK_ID_LEN];
	struct slot cache[BK_DIRAHEAD_TREES];
	size_t cache_raw;
	uint64_t clock;
	char **paths;
	size_t npaths;
	pthread_t lister, reader;
	int nthreads;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* directories listed, parent trees read, directories walked */
	uint64_t listed, read, walked;
	int quit, waiting;
};

/* Wait until the walk is less than the lead behind *done (one thread's
 * count), then count one more; 0 to go on, -1 to stop. */
static int
wait_room(struct bk_dirahead *da, uint64_t *done)
{
	int rc;

	pthread_mutex_lock(&da->mu);
	while (!da->quit && *done >= da->walked + BK_DIRAHEAD_LEAD) {
		da->waiting++;
		pthread_cond_wait(&da->cv, &da->mu);
		da->waiting--;
	}
	(*done)++;
	rc = da->quit ? -1 : 0;
	pthread_mutex_unlock(&da->mu);
	return rc;
}

static int
stopping(struct bk_dirahead *da)
{
	int q;

	pthread_mutex_lock(&da->mu);
	q = da->quit;
	pthread_mutex_unlock(&da->mu);
	return q;
}

/* The entries of the directory open at fd (consumed), sorted as the walk
 * sorts them; NULL when it cannot be read. */
static char **
list_dir(int fd, size_t *np)
{
	DIR *d = fdopendir(fd);
	char **names = NULL;

	*np = 0;
	if (!d) {
		close(fd);
		return NULL;
	}
	if (bk_walk_read_names(d, &names, np) < 0)
		names = NULL;
	closedir(d);
	return names;
}

/* Hand a map over (consumed): the oldest ones make room. */
static void
cache_put(struct bk_dirahead *da, const unsigned char id[BK_ID_LEN], jv map,
	  size_t raw)
{
	jv drop = jv_invalid();

	if (raw > BK_DIRAHEAD_TREE_BYTES) {
		jv_free(
		    map); /* larger than the whole cache: the walk reads it */
		return;
	}
	pthread_mutex_lock(&da->mu);
	for (;;) {
		struct slot *old = NULL, *free_slot = NULL;

		for (size_t i = 0; i < BK_DIRAHEAD_TREES; i++) {
			struct slot *sl = &da->cache[i];

			if (!sl->used && !free_slot)
				free_slot = sl;
			else if (sl->used && (!old || sl->age < old->age))
				old = sl;
		}
		if (free_slot &&
		    da->cache_raw + raw <= BK_DIRAHEAD_TREE_BYTES) {
			memcpy(free_slot->id, id, BK_ID_LEN);
			free_slot->map = map;
			free_slot->raw = raw;
			free_slot->age = da->clock++;
			free_slot->used = 1;
			da->cache_raw += raw;
			map = jv_invalid();
			break;
		}
		if (!old)
			break; /* cannot happen: it fits in an empty cache */
		/* the last one evicted is freed outside the lock */
		jv_free(drop);
		drop = old->map;
		old->used = 0;
		da->cache_raw -= old->raw;
	}
	pthread_mutex_unlock(&da->mu);
	jv_free(drop);
	jv_free(map);
}

/* The parent tree id's nodes by name, or invalid (size in *raw). */
static jv
read_map(struct bk_dirahead *da, const unsigned char id[BK_ID_LEN], size_t *raw)
{
	unsigned char pack[BK_ID_LEN];
	struct bk_pack_entry en;

	*raw = 0;
	if (bk_saver_locate(da->c->sv, id, pack, &en) < 0 ||
	    en.type != BK_BLOB_TREE)
		return jv_invalid();
	*raw = en.raw;
	return bk_walk_by_name(bk_repo_read_tree_at(da->c->r, pack, &en, NULL));
}

static int
cmp_subtree(const void *a, const void *b)
{
	return strcmp(((const struct subtree *)a)->name,
		      ((const struct subtree *)b)->name);
}

static void
free_subtrees(struct subtree *st, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(st[i].name);
	free(st);
}

/* The subdirectories of a map (by name), sorted; NULL when none. */
static struct subtree *
subtrees_of(jv map, size_t *np)
{
	struct subtree *st = NULL;
	size_t n = 0, cap = 0;

	*np = 0;
	if (jv_get_kind(map) != JV_KIND_OBJECT)
		return NULL;
	for (int it = jv_object_iter(map); jv_object_iter_valid(map, it);
	     it = jv_object_iter_next(map, it)) {
		jv k = jv_object_iter_key(map, it);
		jv v = jv_object_iter_value(map, it);
		unsigned char id[BK_ID_LEN];

		if (strcmp(bk_node_type(v), "dir") == 0 &&
		    bk_node_id(v, "subtree", id, NULL) == 0) {
			if (n == cap) {
				size_t nc = cap ? 2 * cap : 16;
				struct subtree *ns =
				    realloc(st, nc * sizeof(*ns));

				if (!ns)
					goto stop;
				st = ns;
				cap = nc;
			}
			st[n].name = strdup(jv_string_value(k));
			if (!st[n].name)
				goto stop;
			memcpy(st[n].id, id, BK_ID_LEN);
			n++;
		}
		jv_free(k);
		jv_free(v);
		continue;
	stop:
		jv_free(k);
		jv_free(v);
		break;
	}
	if (n)
		qsort(st, n, sizeof(*st), cmp_subtree);
	*np = n;
	return st;
}

/* The parent tree of a directory named name, from its parent's list. */
static const unsigned char *
subtree_find(const struct subtree *st, size_t n, const char *name)
{
	struct subtree key = {.name = (char *)name};
	const struct subtree *f =
	    n ? bsearch(&key, st, n, sizeof(*st), cmp_subtree) : NULL;

	return f ? f->id : NULL;
}

/* The parent snapshot's tree of an absolute path: down from its root. */
static int
path_tree(struct bk_dirahead *da, const char *path,
	  unsigned char out[BK_ID_LEN])
{
	char buf[PATH_MAX], *save = NULL;
	unsigned char id[BK_ID_LEN];

	if (!da->have_root ||
	    snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -1;
	memcpy(id, da->root, BK_ID_LEN);
	for (char *comp = strtok_r(buf, "/", &save); comp;
	     comp = strtok_r(NULL, "/", &save)) {
		size_t raw, n;
		jv map = read_map(da, id, &raw);
		struct subtree *st = subtrees_of(map, &n);
		const unsigned char *next = subtree_find(st, n, comp);

		if (next)
			memcpy(id, next, BK_ID_LEN);
		free_subtrees(st, n);
		jv_free(map);
		if (!next)
			return -1;
	}
	memcpy(out, id, BK_ID_LEN);
	return 0;
}

static void warm_dir(struct bk_dirahead *da, int fd, const char *path,
		     dev_t dev, int depth);

/* An entry of a directory: its inode read in, and a directory gone
 * into the way the walk will. */
static void
warm_entry(struct bk_dirahead *da, int dirfd, const char *name,
	   const char *path, dev_t dev, int depth)
{
	const struct bk_walk *c = da->c;
	unsigned char type = (unsigned char)name[strlen(name) + 1];
	struct stat st;
	char sub[PATH_MAX];
	int fd;

	if (bk_path_join(sub, path, name) < 0 || bk_walk_excluded(c, sub, name))
		return;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	if (type != DT_DIR && type != DT_UNKNOWN)
		return;
	if (!S_ISDIR(st.st_mode) || depth >= BK_DIRAHEAD_DEPTH ||
	    (c->one_fs && st.st_dev != dev) ||
	    (c->have_repo_stat && st.st_dev == c->repo_dev &&
	     st.st_ino == c->repo_ino))
		return;
	fd = openat(dirfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		warm_dir(da, fd, sub, dev, depth + 1);
}

/* List the directory open at fd (consumed), then go into its entries in
 * the walk's order. */
static void
warm_dir(struct bk_dirahead *da, int fd, const char *path, dev_t dev, int depth)
{
	char **names;
	size_t n;

	if (wait_room(da, &da->listed) < 0) {
		close(fd);
		return;
	}
	/* list_dir's closedir closes fd: the entries are reached through a
	 * duplicate. */
	{
		int keep = dup(fd);

		names = list_dir(fd, &n);
		fd = keep;
	}
	for (size_t i = 0; fd >= 0 && i < n && !stopping(da); i++)
		warm_entry(da, fd, names[i], path, dev, depth);
	bk_walk_free_names(names, n);
	if (fd >= 0)
		close(fd);
}

static void *
lister_thread(void *arg)
{
	struct bk_dirahead *da = arg;

	for (size_t i = 0; i < da->npaths && !stopping(da); i++) {
		struct stat st;
		int fd;

		if (lstat(da->paths[i], &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		fd = open(da->paths[i],
			  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			warm_dir(da, fd, da->paths[i], st.st_dev, 0);
	}
	return NULL;
}

/*
 * The parent tree id of the directory at path, read and handed over, then
 * its subdirectories' trees in the walk's order (the parent's entries are
 * sorted by name as the walk's are). Excluded directories are passed
 * over, so a changed exclude list costs nothing here.
 */
static void
read_trees(struct bk_dirahead *da, const unsigned char id[BK_ID_LEN],
	   const char *path, int depth)
{
	struct subtree *st;
	size_t raw, n;
	jv map;

	if (wait_room(da, &da->read) < 0)
		return;
	map = read_map(da, id, &raw);
	st = subtrees_of(map, &n);
	if (jv_is_valid(map))
		cache_put(da, id, map, raw);
	else
		jv_free(map);
	for (size_t i = 0; i < n && depth < BK_DIRAHEAD_DEPTH && !stopping(da);
	     i++) {
		char sub[PATH_MAX];

		if (bk_path_join(sub, path, st[i].name) < 0 ||
		    bk_walk_excluded(da->c, sub, st[i].name))
			continue;
		read_trees(da, st[i].id, sub, depth + 1);
	}
	free_subtrees(st, n);
}

static void *
reader_thread(void *arg)
{
	struct bk_dirahead *da = arg;

	for (size_t i = 0; i < da->npaths && !stopping(da); i++) {
		unsigned char id[BK_ID_LEN];

		if (path_tree(da, da->paths[i], id) == 0)
			read_trees(da, id, da->paths[i], 0);
	}
	return NULL;
}

/* Paths in the walk's order: by component, so "/a/b" comes before
 * "/a-c" (strcmp alone puts '-' before '/'). */
static int
cmp_path(const void *a, const void *b)
{
	const unsigned char *p = *(const unsigned char *const *)a;
	const unsigned char *q = *(const unsigned char *const *)b;

	for (; *p && *p == *q; p++, q++)
		;
	if (*p == *q)
		return 0;
	if (*p == '/' || *q == '/')
		return *p == '/' ? (*q ? -1 : 1) : (*p ? 1 : -1);
	return *p < *q ? -1 : 1;
}

struct bk_dirahead *
bk_dirahead_new(const struct bk_walk *c, const char *const *paths, size_t n,
		const unsigned char *proot, struct sov_err *e)
{
	struct bk_dirahead *da = calloc(1, sizeof(*da));
	int rc;

	if (!da || !(da->paths = calloc(n ? n : 1, sizeof(*da->paths))))
		goto nomem;
	da->c = c;
	if (proot) {
		memcpy(da->root, proot, BK_ID_LEN);
		da->have_root = 1;
	}
	for (; da->npaths < n; da->npaths++)
		if (!(da->paths[da->npaths] = strdup(paths[da->npaths])))
			goto nomem;
	qsort(da->paths, da->npaths, sizeof(*da->paths), cmp_path);
	pthread_mutex_init(&da->mu, NULL);
	pthread_cond_init(&da->cv, NULL);
	rc = pthread_create(&da->lister, NULL, lister_thread, da);
	if (rc == 0 && da->have_root &&
	    pthread_create(&da->reader, NULL, reader_thread, da) == 0)
		da->nthreads = 2;
	else if (rc == 0)
		da->nthreads = 1;
	if (rc != 0) {
		pthread_cond_destroy(&da->cv);
		pthread_mutex_destroy(&da->mu);
		errno = rc;
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "dirahead: thread");
		goto fail;
	}
	return da;
nomem:
	sov_err_sys(e, SOV_EXIT_TEMPFAIL, "dirahead");
fail:
	if (da) {
		for (size_t i = 0; i < da->npaths; i++)
			free(da->paths[i]);
		free(da->paths);
		free(da);
	}
	return NULL;
}

void
bk_dirahead_step(struct bk_dirahead *da)
{
	if (!da)
		return;
	pthread_mutex_lock(&da->mu);
	da->walked++;
	/* Woken when a quarter of the lead is free, not on every step. */
	if (da->waiting && ((da->listed + BK_DIRAHEAD_LEAD / 4 <=
			     da->walked + BK_DIRAHEAD_LEAD) ||
			    (da->read + BK_DIRAHEAD_LEAD / 4 <=
			     da->walked + BK_DIRAHEAD_LEAD)))
		pthread_cond_broadcast(&da->cv);
	pthread_mutex_unlock(&da->mu);
}

jv
bk_dirahead_take(struct bk_dirahead *da, const unsigned char id[BK_ID_LEN])
{
	jv map = jv_invalid();

	if (!da)
		return map;
	pthread_mutex_lock(&da->mu);
	for (size_t i = 0; i < BK_DIRAHEAD_TREES; i++) {
		struct slot *sl = &da->cache[i];

		if (sl->used && memcmp(sl->id, id, BK_ID_LEN) == 0) {
			map = sl->map;
			sl->used = 0;
			da->cache_raw -= sl->raw;
			break;
		}
	}
	pthread_mutex_unlock(&da->mu);
	return map;
}

void
bk_dirahead_free(struct bk_dirahead *da)
{
	if (!da)
		return;
	pthread_mutex_lock(&da->mu);
	da->quit = 1;
	pthread_cond_broadcast(&da->cv);
	pthread_mutex_unlock(&da->mu);
	pthread_join(da->lister, NULL);
	if (da->nthreads == 2)
		pthread_join(da->reader, NULL);
	pthread_cond_destroy(&da->cv);
	pthread_mutex_destroy(&da->mu);
	for (size_t i = 0; i < BK_DIRAHEAD_TREES; i++)
		if (da->cache[i].used)
			jv_free(da->cache[i].map);
	for (size_t i = 0; i < da->npaths; i++)
		free(da->paths[i]);
	free(da->paths);
	free(da);
}
