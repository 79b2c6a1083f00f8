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
#include "dircache.h"
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
	/* With the last run's cache (dircache.h): the recorded trees of the
	 * directories the lister found changed, and of the directories
	 * above them, for the reader to read, in that order. */
	int by_cache, listed_all;
	unsigned char (*queue)[BK_ID_LEN];
	size_t qhead, qtail, qcap;
};

/* A directory on the lister's way down, for a change to mark every
 * directory above it. */
struct frame {
	struct frame *up;
	unsigned char tree[BK_ID_LEN]; /* recorded, when known */
	int known, queued;
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

/* The recorded trees of f and of every directory above it that has none
 * queued yet, for the reader: each of them will be made again. */
static void
queue_changed(struct bk_dirahead *da, struct frame *f)
{
	pthread_mutex_lock(&da->mu);
	for (; f && !f->queued; f = f->up) {
		f->queued = 1;
		if (!f->known)
			continue;
		if (da->qtail == da->qcap) {
			size_t live = da->qtail - da->qhead;
			size_t nc = da->qcap ? 2 * da->qcap : 64;
			unsigned char(*nq)[BK_ID_LEN];

			if (da->qhead > 0 && live < da->qcap / 2) {
				memmove(da->queue, da->queue + da->qhead,
					live * BK_ID_LEN);
				da->qhead = 0;
				da->qtail = live;
			} else if ((nq = realloc(da->queue, nc * BK_ID_LEN))) {
				da->queue = nq;
				da->qcap = nc;
			} else {
				continue; /* the walk reads it itself */
			}
		}
		memcpy(da->queue[da->qtail++], f->tree, BK_ID_LEN);
	}
	pthread_cond_broadcast(&da->cv);
	pthread_mutex_unlock(&da->mu);
}

/* Whether the walk will make this directory's tree again: it is not in
 * the cache, or its listing is not the recorded one. */
static void
check_listing(struct bk_dirahead *da, const char *path,
	      const struct bk_walk_list *l, struct frame *me)
{
	unsigned char sum[BK_DIRSUM_LEN];

	me->known = bk_dircache_find(da->c->dc, path, sum, me->tree) == 0;
	if (!me->known || !l->summed || memcmp(sum, l->sum, BK_DIRSUM_LEN) != 0)
		queue_changed(da, me);
}

/* List the directory open at fd (consumed) as the walk will, then go into
 * its subdirectories in the walk's order. */
static void
warm_dir(struct bk_dirahead *da, int fd, const char *path, dev_t dev, int depth,
	 struct frame *up)
{
	const struct bk_walk *c = da->c;
	struct frame me = {.up = up};
	struct bk_walk_list l;
	struct sov_err e = {0};
	DIR *d;

	if (wait_room(da, &da->listed) < 0 || !(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	if (bk_walk_list(c, d, path, &l, &e) < 0) {
		closedir(d);
		return;
	}
	if (da->by_cache)
		check_listing(da, path, &l, &me);
	/* Only the names are kept on the way down: what is saved is marked
	 * in what[], and the stats are freed (one level of the path holds
	 * them at a time). */
	for (size_t i = 0; i < l.n; i++)
		if (l.what[i] == BK_ENTRY_SAVE &&
		    (!S_ISDIR(l.st[i].st_mode) || depth >= BK_DIRAHEAD_DEPTH ||
		     (c->one_fs && l.st[i].st_dev != dev)))
			l.what[i] = BK_ENTRY_SKIP;
	free(l.st);
	l.st = NULL;
	for (size_t i = 0; i < l.n && !stopping(da); i++) {
		char sub[PATH_MAX];
		int sfd;

		if (l.what[i] != BK_ENTRY_SAVE ||
		    bk_path_join(sub, path, l.names[i]) < 0)
			continue;
		sfd = openat(dirfd(d), l.names[i],
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd >= 0)
			warm_dir(da, sfd, sub, dev, depth + 1, &me);
	}
	bk_walk_list_free(&l);
	closedir(d);
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
			warm_dir(da, fd, da->paths[i], st.st_dev, 0, NULL);
	}
	pthread_mutex_lock(&da->mu);
	da->listed_all = 1;
	pthread_cond_broadcast(&da->cv);
	pthread_mutex_unlock(&da->mu);
	return NULL;
}

/* With the cache: the trees the lister queued, read and handed over. */
static void *
queue_reader_thread(void *arg)
{
	struct bk_dirahead *da = arg;

	for (;;) {
		unsigned char id[BK_ID_LEN];
		size_t raw;
		jv map;

		pthread_mutex_lock(&da->mu);
		while (!da->quit && da->qhead == da->qtail && !da->listed_all)
			pthread_cond_wait(&da->cv, &da->mu);
		if (da->quit || da->qhead == da->qtail) {
			pthread_mutex_unlock(&da->mu);
			return NULL;
		}
		memcpy(id, da->queue[da->qhead++], BK_ID_LEN);
		pthread_mutex_unlock(&da->mu);
		map = read_map(da, id, &raw);
		if (jv_is_valid(map))
			cache_put(da, id, map, raw);
		else
			jv_free(map);
	}
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
	da->by_cache = bk_dircache_loaded(c->dc);
	rc = pthread_create(&da->lister, NULL, lister_thread, da);
	if (rc == 0 && da->by_cache &&
	    pthread_create(&da->reader, NULL, queue_reader_thread, da) == 0)
		da->nthreads = 2;
	else if (rc == 0 && !da->by_cache && da->have_root &&
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
	if (da->waiting &&
	    ((da->listed + BK_DIRAHEAD_LEAD / 4 <=
	      da->walked + BK_DIRAHEAD_LEAD) ||
	     (!da->by_cache && da->read + BK_DIRAHEAD_LEAD / 4 <=
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
	free(da->queue);
	free(da);
}
