/*
 * dircache.c - the last backup's directories on this machine; see
 * dircache.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dircache.h"
#include "fs.h"
#include "node.h"
#include "pack.h"
#include "repo.h"

#define MAGIC "SOVBKDC1"
#define PATH_HASH_LEN 16
#define HEAD_LEN (8 + 4 + 4 + 32 + 32 + 3 * 8)
#define OWNER_LEN 24
#define DIR_LEN (PATH_HASH_LEN + BK_DIRSUM_LEN + BK_ID_LEN)
#define MAC_LEN 32
#define FLAG_ATIME 1u

struct owner {
	uint32_t id;
	uint8_t group;
};

struct bk_dircache {
	unsigned char key[BK_KEY_LEN]; /* MAC and path hashes */
	unsigned char selection[32];
	uint32_t flags;
	char file[PATH_MAX];
	struct bk_repo *r;
	/* the previous run's, as read (NULL: none) */
	unsigned char *old;
	const unsigned char *old_dirs;
	uint64_t old_ndirs;
	/* this run's */
	unsigned char *dirs;
	size_t ndirs, capdirs;
	struct owner *owners;
	size_t nowners, capowners;
	uint32_t last_uid, last_gid;
	int have_last;
	int overflow; /* more directories than a cache holds */
};

/* ---- the listing sum ---- */

void
bk_dirsum_init(bk_dirsum *s)
{
	crypto_generichash_init(s, NULL, 0, BK_DIRSUM_LEN);
}

void
bk_dirsum_add(bk_dirsum *s, const char *name, const struct stat *st, int atime)
{
	uint64_t v[14];
	size_t n = 0;

	crypto_generichash_update(s, (const unsigned char *)name,
				  strlen(name) + 1);
	v[n++] = (uint64_t)st->st_mode;
	v[n++] = (uint64_t)st->st_uid;
	v[n++] = (uint64_t)st->st_gid;
	v[n++] = (uint64_t)st->st_size;
	v[n++] = (uint64_t)st->st_mtim.tv_sec;
	v[n++] = (uint64_t)st->st_mtim.tv_nsec;
	v[n++] = (uint64_t)st->st_ctim.tv_sec;
	v[n++] = (uint64_t)st->st_ctim.tv_nsec;
	v[n++] = (uint64_t)st->st_ino;
	v[n++] = (uint64_t)st->st_dev;
	v[n++] = (uint64_t)st->st_nlink;
	v[n++] = (uint64_t)st->st_rdev;
	if (atime) {
		v[n++] = (uint64_t)st->st_atim.tv_sec;
		v[n++] = (uint64_t)st->st_atim.tv_nsec;
	}
	crypto_generichash_update(s, (const unsigned char *)v, n * sizeof(*v));
}

void
bk_dirsum_final(bk_dirsum *s, unsigned char out[BK_DIRSUM_LEN])
{
	static const unsigned char zero[BK_DIRSUM_LEN];

	crypto_generichash_final(s, out, BK_DIRSUM_LEN);
	/* all zero means "no sum" in the file */
	if (sodium_memcmp(out, zero, BK_DIRSUM_LEN) == 0)
		out[0] = 1;
}

/* ---- the file ---- */

int
bk_dircache_parse(const unsigned char key[BK_KEY_LEN], const unsigned char *buf,
		  size_t len, struct bk_dircache_file *f, const char **why)
{
	unsigned char mac[MAC_LEN];
	size_t body, need;

	if (len < HEAD_LEN + MAC_LEN || len > BK_DIRCACHE_MAX) {
		*why = "damaged (size)";
		return -1;
	}
	body = len - MAC_LEN;
	crypto_generichash(mac, MAC_LEN, buf, body, key, BK_KEY_LEN);
	if (sodium_memcmp(mac, buf + body, MAC_LEN) != 0) {
		*why = "damaged, or of another key (MAC)";
		return -1;
	}
	if (memcmp(buf, MAGIC, 8) != 0 ||
	    bk_get_u32(buf + 8) != BK_DIRCACHE_VERSION) {
		*why = "another version";
		return -1;
	}
	f->flags = bk_get_u32(buf + 12);
	f->snapshot = buf + 16;
	f->selection = buf + 48;
	f->nindex = bk_get_u64(buf + 80);
	f->nowners = bk_get_u64(buf + 88);
	f->ndirs = bk_get_u64(buf + 96);
	/* each count is under len, so the products below cannot wrap */
	if (f->nindex > len || f->nowners > len || f->ndirs > len) {
		*why = "damaged (counts)";
		return -1;
	}
	need = HEAD_LEN + (size_t)f->nindex * BK_ID_LEN +
	       (size_t)f->nowners * OWNER_LEN + (size_t)f->ndirs * DIR_LEN;
	if (need != body) {
		*why = "damaged (counts)";
		return -1;
	}
	f->index = buf + HEAD_LEN;
	f->owners = f->index + f->nindex * BK_ID_LEN;
	f->dirs = f->owners + f->nowners * OWNER_LEN;
	for (uint64_t i = 1; i < f->ndirs; i++)
		if (memcmp(f->dirs + (i - 1) * DIR_LEN, f->dirs + i * DIR_LEN,
			   PATH_HASH_LEN) >= 0) {
			*why = "damaged (order)";
			return -1;
		}
	return 0;
}

static void
path_hash(const struct bk_dircache *dc, const char *path,
	  unsigned char out[PATH_HASH_LEN])
{
	crypto_generichash(out, PATH_HASH_LEN, (const unsigned char *)path,
			   strlen(path), dc->key, BK_KEY_LEN);
}

static void
name_hash(const char *name, unsigned char out[16])
{
	if (!name) {
		memset(out, 0, 16);
		return;
	}
	crypto_generichash(out, 16, (const unsigned char *)name, strlen(name),
			   NULL, 0);
}

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, BK_ID_LEN);
}

/* Every index file the cache saw is still there. */
static int
index_kept(const struct bk_repo *r, const struct bk_dircache_file *f)
{
	unsigned char(*now)[BK_ID_LEN] = NULL;
	int ok = 1;

	if (f->nindex == 0)
		return 1;
	if (r->nindex_files == 0)
		return 0;
	now = malloc(r->nindex_files * BK_ID_LEN);
	if (!now)
		return 0;
	memcpy(now, r->index_files, r->nindex_files * BK_ID_LEN);
	qsort(now, r->nindex_files, BK_ID_LEN, cmp_id);
	for (uint64_t i = 0; i < f->nindex && ok; i++)
		ok = bsearch(f->index + i * BK_ID_LEN, now, r->nindex_files,
			     BK_ID_LEN, cmp_id) != NULL;
	free(now);
	return ok;
}

/* Every owner id the cache met has the name it had. */
static int
owners_same(const struct bk_dircache_file *f)
{
	for (uint64_t i = 0; i < f->nowners; i++) {
		const unsigned char *o = f->owners + i * OWNER_LEN;
		const char *name = bk_node_owner_name(o[4], bk_get_u32(o));
		unsigned char h[16];

		if ((name != NULL) != (o[5] != 0))
			return 0;
		name_hash(name, h);
		if (memcmp(h, o + 8, 16) != 0)
			return 0;
	}
	return 1;
}

static const char *
load(struct bk_dircache *dc, const unsigned char *parent)
{
	struct bk_dircache_file f;
	const char *why = NULL;
	struct stat st;
	size_t got = 0;
	int fd;

	/* No parent (the first run, or --force): no use reading it. */
	if (!parent)
		return access(dc->file, F_OK) == 0
			   ? "of another snapshot than the parent"
			   : "none yet";
	fd = open(dc->file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? "none yet" : "unreadable";
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > BK_DIRCACHE_MAX) {
		close(fd);
		return "unreadable";
	}
	dc->old = malloc(st.st_size ? (size_t)st.st_size : 1);
	while (dc->old && got < (size_t)st.st_size) {
		ssize_t n = read(fd, dc->old + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!dc->old || got != (size_t)st.st_size)
		why = "unreadable";
	else if (bk_dircache_parse(dc->key, dc->old, got, &f, &why) < 0)
		;
	else if (memcmp(f.snapshot, parent, BK_ID_LEN) != 0)
		why = "of another snapshot than the parent";
	else if (memcmp(f.selection, dc->selection, 32) != 0)
		why = "of other paths"; /* a collision of file names */
	else if (f.flags != dc->flags)
		why = "of other options (--atime)";
	else if (!index_kept(dc->r, &f))
		why = "index files changed since (prune or repair)";
	else if (!owners_same(&f))
		why = "user or group names changed since";
	if (why) {
		free(dc->old);
		dc->old = NULL;
		return why;
	}
	dc->old_dirs = f.dirs;
	dc->old_ndirs = f.ndirs;
	return NULL;
}

struct bk_dircache *
bk_dircache_open(struct bk_repo *r, const char *root, const char *host,
		 jv paths, int atime, const unsigned char *parent,
		 const char **why, struct sov_err *e)
{
	static const char ctx[] = "sov-backup dircache 1";
	struct bk_dircache *dc = calloc(1, sizeof(*dc));
	crypto_generichash_state h;
	jv rid = jv_object_get(jv_copy(r->config), jv_string("id"));
	char sel[17];
	int n = jv_array_length(jv_copy(paths));

	*why = NULL;
	if (!dc) {
		jv_free(rid);
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "cache");
		return NULL;
	}
	dc->r = r;
	dc->flags = atime ? FLAG_ATIME : 0;
	crypto_generichash(dc->key, BK_KEY_LEN, (const unsigned char *)ctx,
			   sizeof(ctx) - 1, r->keys->master, BK_KEY_LEN);
	crypto_generichash_init(&h, dc->key, BK_KEY_LEN, sizeof(dc->selection));
	crypto_generichash_update(&h, (const unsigned char *)host,
				  strlen(host) + 1);
	for (int i = 0; i < n; i++) {
		jv p = jv_array_get(jv_copy(paths), i);

		if (jv_get_kind(p) == JV_KIND_STRING)
			crypto_generichash_update(
			    &h, (const unsigned char *)jv_string_value(p),
			    (size_t)jv_string_length_bytes(jv_copy(p)) + 1);
		jv_free(p);
	}
	crypto_generichash_final(&h, dc->selection, sizeof(dc->selection));
	sodium_bin2hex(sel, sizeof(sel), dc->selection, 8);
	if (!root || !*root)
		*why = "no cache directory";
	else if (jv_get_kind(rid) != JV_KIND_STRING ||
		 strspn(jv_string_value(rid), "0123456789abcdef") !=
		     strlen(jv_string_value(rid)) ||
		 !*jv_string_value(rid))
		*why = "the repository has no id";
	else if (snprintf(dc->file, sizeof(dc->file), "%s/%s/dirs-%s", root,
			  jv_string_value(rid), sel) >= (int)sizeof(dc->file))
		*why = "cache path too long";
	jv_free(rid);
	if (*why) {
		dc->file[0] = '\0';
		return dc;
	}
	*why = load(dc, parent);
	return dc;
}

int
bk_dircache_loaded(const struct bk_dircache *dc)
{
	return dc && dc->old_dirs != NULL;
}

static int
cmp_path_hash(const void *a, const void *b)
{
	return memcmp(a, b, PATH_HASH_LEN);
}

int
bk_dircache_find(const struct bk_dircache *dc, const char *path,
		 unsigned char sum[BK_DIRSUM_LEN],
		 unsigned char tree[BK_ID_LEN])
{
	unsigned char k[PATH_HASH_LEN];
	const unsigned char *f;

	if (!bk_dircache_loaded(dc) || dc->old_ndirs == 0)
		return -1;
	path_hash(dc, path, k);
	f = bsearch(k, dc->old_dirs, (size_t)dc->old_ndirs, DIR_LEN,
		    cmp_path_hash);
	if (!f)
		return -1;
	memcpy(sum, f + PATH_HASH_LEN, BK_DIRSUM_LEN);
	memcpy(tree, f + PATH_HASH_LEN + BK_DIRSUM_LEN, BK_ID_LEN);
	return 0;
}

int
bk_dircache_add(struct bk_dircache *dc, const char *path,
		const unsigned char *sum, const unsigned char tree[BK_ID_LEN],
		struct sov_err *e)
{
	unsigned char *d;

	if (!dc || !dc->file[0])
		return 0;
	if (dc->ndirs == dc->capdirs) {
		size_t nc = dc->capdirs ? 2 * dc->capdirs : 256;
		unsigned char *nd;

		if (nc > BK_DIRCACHE_MAX / DIR_LEN) {
			dc->overflow = 1; /* too many: no file is written */
			return 0;
		}
		nd = realloc(dc->dirs, nc * DIR_LEN);
		if (!nd)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "cache");
		dc->dirs = nd;
		dc->capdirs = nc;
	}
	d = dc->dirs + dc->ndirs++ * DIR_LEN;
	path_hash(dc, path, d);
	if (sum)
		memcpy(d + PATH_HASH_LEN, sum, BK_DIRSUM_LEN);
	else
		memset(d + PATH_HASH_LEN, 0, BK_DIRSUM_LEN);
	memcpy(d + PATH_HASH_LEN + BK_DIRSUM_LEN, tree, BK_ID_LEN);
	return 0;
}

static int
add_owner(struct bk_dircache *dc, uint8_t group, uint32_t id, struct sov_err *e)
{
	for (size_t i = 0; i < dc->nowners; i++)
		if (dc->owners[i].id == id && dc->owners[i].group == group)
			return 0;
	if (dc->nowners == dc->capowners) {
		size_t nc = dc->capowners ? 2 * dc->capowners : 16;
		struct owner *no = realloc(dc->owners, nc * sizeof(*no));

		if (!no)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "cache");
		dc->owners = no;
		dc->capowners = nc;
	}
	dc->owners[dc->nowners].id = id;
	dc->owners[dc->nowners++].group = group;
	return 0;
}

int
bk_dircache_owner(struct bk_dircache *dc, uint32_t uid, uint32_t gid,
		  struct sov_err *e)
{
	if (!dc || !dc->file[0] ||
	    (dc->have_last && uid == dc->last_uid && gid == dc->last_gid))
		return 0;
	if (add_owner(dc, 0, uid, e) < 0 || add_owner(dc, 1, gid, e) < 0)
		return -1;
	dc->last_uid = uid;
	dc->last_gid = gid;
	dc->have_last = 1;
	return 0;
}

/* No cache this time: the last one goes too, or the next run would read
 * all of it only to find it is of another snapshot. */
static int
drop_file(struct bk_dircache *dc)
{
	(void)unlink(dc->file); /* best effort: a stale file is refused */
	return 0;
}

int
bk_dircache_save(struct bk_dircache *dc,
		 const unsigned char snapshot[BK_ID_LEN], struct sov_err *e)
{
	const struct bk_repo *r;
	unsigned char *buf, *p;
	size_t len;
	char dir[PATH_MAX];
	int rc;

	if (!dc || !dc->file[0])
		return 0;
	r = dc->r;
	len = HEAD_LEN + r->nindex_files * BK_ID_LEN + dc->nowners * OWNER_LEN +
	      dc->ndirs * DIR_LEN + MAC_LEN;
	if (dc->overflow || len > BK_DIRCACHE_MAX)
		return drop_file(dc);
	buf = calloc(1, len);
	if (!buf)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "cache");
	memcpy(buf, MAGIC, 8);
	bk_put_u32(buf + 8, BK_DIRCACHE_VERSION);
	bk_put_u32(buf + 12, dc->flags);
	memcpy(buf + 16, snapshot, BK_ID_LEN);
	memcpy(buf + 48, dc->selection, 32);
	bk_put_u64(buf + 80, r->nindex_files);
	bk_put_u64(buf + 88, dc->nowners);
	bk_put_u64(buf + 96, dc->ndirs);
	p = buf + HEAD_LEN;
	if (r->nindex_files) {
		memcpy(p, r->index_files, r->nindex_files * BK_ID_LEN);
		qsort(p, r->nindex_files, BK_ID_LEN, cmp_id);
		p += r->nindex_files * BK_ID_LEN;
	}
	for (size_t i = 0; i < dc->nowners; i++, p += OWNER_LEN) {
		const char *name =
		    bk_node_owner_name(dc->owners[i].group, dc->owners[i].id);

		bk_put_u32(p, dc->owners[i].id);
		p[4] = dc->owners[i].group;
		p[5] = name != NULL;
		name_hash(name, p + 8);
	}
	if (dc->ndirs) {
		memcpy(p, dc->dirs, dc->ndirs * DIR_LEN);
		qsort(p, dc->ndirs, DIR_LEN, cmp_path_hash);
		/* a directory walked twice (a PATH inside another): no
		 * cache this time rather than a guess at which tree is whose */
		for (size_t i = 1; i < dc->ndirs; i++)
			if (memcmp(p + (i - 1) * DIR_LEN, p + i * DIR_LEN,
				   PATH_HASH_LEN) == 0) {
				free(buf);
				return drop_file(dc);
			}
		p += dc->ndirs * DIR_LEN;
	}
	crypto_generichash(p, MAC_LEN, buf, (size_t)(p - buf), dc->key,
			   BK_KEY_LEN);
	snprintf(dir, sizeof(dir), "%s", dc->file);
	*strrchr(dir, '/') = '\0';
	rc = sov_mkdir_p(dir, 0700, e);
	if (rc == 0)
		rc = sov_file_write_atomic(dc->file, buf, len, 0600, e);
	free(buf);
	return rc;
}

void
bk_dircache_free(struct bk_dircache *dc)
{
	if (!dc)
		return;
	sodium_memzero(dc->key, sizeof(dc->key));
	free(dc->old);
	free(dc->dirs);
	free(dc->owners);
	free(dc);
}
