/*
 * walk_list.c - a directory's entries as the walk takes them: the names,
 * sorted; what becomes of each (saved, excluded, too long); the lstat of
 * each saved one, taken once; and the sum of the listing the local cache
 * of directories compares (dircache.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backup.h"
#include "dircache.h"
#include "walk.h"

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

struct target *
bk_walk_sqlite_source(const struct bk_walk *c, const char *path)
{
	for (size_t i = 0; i < c->nsqlite; i++)
		if (strcmp(c->sqlite[i]->srcpath, path) == 0)
			return c->sqlite[i];
	return NULL;
}

static int
is_sqlite_companion(const struct bk_walk *c, const char *path)
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

void
bk_walk_list_free(struct bk_walk_list *l)
{
	bk_walk_free_names(l->names, l->n);
	free(l->what);
	free(l->st);
	memset(l, 0, sizeof(*l));
}

int
bk_walk_list(const struct bk_walk *c, DIR *d, const char *path,
	     struct bk_walk_list *l, struct sov_err *e)
{
	bk_dirsum s;

	memset(l, 0, sizeof(*l));
	if (bk_walk_read_names(d, &l->names, &l->n) < 0) {
		if (errno == ENOMEM)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", path);
		return sov_err_sys(e, SOV_EXIT_FAIL, "%s: readdir", path);
	}
	l->what = malloc(l->n ? l->n : 1);
	l->st = malloc((l->n ? l->n : 1) * sizeof(*l->st));
	if (!l->what || !l->st) {
		bk_walk_list_free(l);
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", path);
	}
	bk_dirsum_init(&s);
	l->summed = 1;
	for (size_t i = 0; i < l->n; i++) {
		const char *name = l->names[i];
		char sub[PATH_MAX];

		if (bk_path_join(sub, path, name) < 0) {
			l->what[i] = BK_ENTRY_TOO_LONG;
			l->summed = 0;
			continue;
		}
		if (bk_walk_excluded(c, sub, name) ||
		    is_sqlite_companion(c, sub)) {
			l->what[i] = BK_ENTRY_SKIP;
			continue;
		}
		if (fstatat(dirfd(d), name, &l->st[i], AT_SYMLINK_NOFOLLOW) <
		    0) {
			/* the entry's own save says why */
			l->what[i] = BK_ENTRY_SAVE_UNSTATED;
			l->summed = 0;
			continue;
		}
		if (c->have_repo_stat && S_ISDIR(l->st[i].st_mode) &&
		    l->st[i].st_dev == c->repo_dev &&
		    l->st[i].st_ino == c->repo_ino) {
			l->what[i] = BK_ENTRY_SKIP; /* never the repository */
			continue;
		}
		l->what[i] = BK_ENTRY_SAVE;
		/* an SQLite source is a copy taken now, whatever its stat */
		if (S_ISREG(l->st[i].st_mode) && bk_walk_sqlite_source(c, sub))
			l->summed = 0;
		bk_dirsum_add(&s, name, &l->st[i], c->atime);
	}
	bk_dirsum_final(&s, l->sum);
	return 0;
}
