/*
 * repo.c - open and create repositories; blobs, index files, snapshots.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "jsonl.h"
#include "lock.h"
#include "repo.h"
#include "secret.h"
#include "timestamp.h"

#define CONFIG_AD "sov-backup config v1"
#define SNAPSHOT_AD "sov-backup snapshot v1"
#define KEYS_MAX 64

int
bk_password_load(const char *file, struct sov_secret *out, struct sov_err *e)
{
	if (sov_secret_load(file, "password", out, e) < 0)
		return sov_err_prefix(e, "password: ");
	return 0;
}

void
bk_pack_name(const unsigned char id[BK_ID_LEN], char name[BK_NAME_MAX])
{
	char hex[BK_ID_HEX_LEN];

	bk_hex(id, hex);
	snprintf(name, BK_NAME_MAX, "data/%.2s/%s", hex, hex);
}

int
bk_pack_out_sink(void *arg, const void *data, size_t len, struct sov_err *e)
{
	struct bk_pack_out *o = arg;

	if (!o->w && bk_writer_open(o->be, "data", &o->w, e) < 0)
		return -1;
	return bk_writer_write(o->w, data, len, e);
}

int
bk_pack_out_commit(struct bk_repo *r, struct bk_packer *p,
		   struct bk_pack_out *o, struct bk_pack_info *pi,
		   struct sov_err *e)
{
	char name[BK_NAME_MAX];
	int rc;

	memset(pi, 0, sizeof(*pi));
	if (bk_packer_finish(p, r->keys, pi->id, e) < 0)
		return -1;
	bk_pack_name(pi->id, name);
	rc = bk_writer_commit(o->w, name, e);
	o->w = NULL;
	if (rc < 0)
		return -1;
	pi->n = p->n;
	pi->size = p->size;
	pi->ents = malloc((size_t)p->n * sizeof(*pi->ents));
	if (!pi->ents)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "pack entries");
	memcpy(pi->ents, p->ents, (size_t)p->n * sizeof(*pi->ents));
	bk_packer_reset(p);
	return 0;
}

void
bk_pack_out_abort(struct bk_pack_out *o)
{
	bk_writer_abort(o->w);
	o->w = NULL;
}

static struct bk_repo *
repo_new(struct sov_err *e)
{
	struct bk_repo *r = calloc(1, sizeof(*r));

	if (!r) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "repository");
		return NULL;
	}
	r->config = jv_null();
	r->zstd_level = BK_ZSTD_LEVEL;
	r->idx = bk_index_new(e);
	if (!r->idx) {
		free(r);
		return NULL;
	}
	return r;
}

void
bk_repo_close(struct bk_repo *r)
{
	if (!r)
		return;
	bk_backend_close(r->be);
	bk_keys_free(r->keys);
	jv_free(r->config);
	bk_index_free(r->idx);
	free(r->index_files);
	free(r);
}

static jv
params_json(const struct bk_chunk_params *p)
{
	jv o = jv_object();

	o = jv_object_set(o, jv_string("min"), jv_number(p->min));
	o = jv_object_set(o, jv_string("avg"), jv_number(p->avg));
	o = jv_object_set(o, jv_string("max"), jv_number(p->max));
	return o;
}

static int
params_parse(jv cfg, const char *which, struct bk_chunk_params *p,
	     struct sov_err *e)
{
	jv c = jv_object_get(jv_copy(cfg), jv_string("chunker"));
	jv o = jv_get_kind(c) == JV_KIND_OBJECT
		   ? jv_object_get(jv_copy(c), jv_string(which))
		   : jv_invalid();
	const char *names[3] = {"min", "avg", "max"};
	uint32_t *dst[3] = {&p->min, &p->avg, &p->max};
	int rc = -1;
	struct bk_chunker ck;
	unsigned char seed[BK_CHUNKER_SEED_LEN] = {0};

	if (jv_get_kind(o) != JV_KIND_OBJECT) {
		sov_err_set(e, SOV_EXIT_FAIL, "config: chunker.%s: missing",
			    which);
		goto out;
	}
	for (int i = 0; i < 3; i++) {
		jv v = jv_object_get(jv_copy(o), jv_string(names[i]));
		double d =
		    jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;

		jv_free(v);
		if (!(d >= 0 && d <= BK_CHUNK_MAX_LIMIT) || d != (uint32_t)d) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "config: chunker.%s.%s: not a size", which,
				    names[i]);
			goto out;
		}
		*dst[i] = (uint32_t)d;
	}
	if (bk_chunker_init(&ck, seed, p, NULL) < 0) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "config: chunker.%s: unusable sizes", which);
		goto out;
	}
	rc = 0;
out:
	jv_free(c);
	jv_free(o);
	return rc;
}

int
bk_repo_put_sealed(struct bk_repo *r, const char *dir, const char *ad,
		   const void *plain, size_t len,
		   unsigned char id_out[BK_ID_LEN], struct sov_err *e)
{
	unsigned char *s = malloc(len + BK_SEAL_OVERHEAD);
	char hex[BK_ID_HEX_LEN], name[BK_NAME_MAX];
	int rc;

	if (!s)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", dir);
	bk_seal(r->keys, ad, strlen(ad), plain, len, s);
	bk_storage_id(s, len + BK_SEAL_OVERHEAD, id_out);
	bk_hex(id_out, hex);
	snprintf(name, sizeof(name), "%s/%s", dir, hex);
	rc = bk_put(r->be, name, s, len + BK_SEAL_OVERHEAD, e);
	free(s);
	return rc;
}

int
bk_repo_get_sealed(struct bk_repo *r, const char *name, const char *ad,
		   size_t max, unsigned char **out, size_t *len,
		   struct sov_err *e)
{
	unsigned char *s = NULL, *p = NULL;
	unsigned char want[BK_ID_LEN], got[BK_ID_LEN];
	const char *slash = strrchr(name, '/');
	size_t n = 0;
	int rc = -1;

	*out = NULL;
	*len = 0;
	if (bk_get(r->be, name, max + BK_SEAL_OVERHEAD, &s, &n, NULL, e) < 0)
		return -1;
	if (slash && bk_unhex(slash + 1, want) == 0) {
		bk_storage_id(s, n, got);
		if (memcmp(want, got, BK_ID_LEN) != 0) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: content does not match its name "
				    "(changed or damaged)",
				    name);
			goto out;
		}
	}
	if (n < BK_SEAL_OVERHEAD) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: truncated", name);
		goto out;
	}
	p = malloc(n - BK_SEAL_OVERHEAD + 1);
	if (!p) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", name);
		goto out;
	}
	if (bk_unseal(r->keys, ad, strlen(ad), s, n, p, name, e) < 0)
		goto out;
	p[n - BK_SEAL_OVERHEAD] = '\0';
	*out = p;
	*len = n - BK_SEAL_OVERHEAD;
	p = NULL;
	rc = 0;
out:
	free(s);
	free(p);
	return rc;
}

static int
parse_config(struct bk_repo *r, const unsigned char *p, size_t n,
	     struct sov_err *e)
{
	jv v = sov_json_parse((const char *)p, n, e), ver;
	int rc = -1;

	if (!jv_is_valid(v)) {
		jv_free(v);
		if (e)
			e->code =
			    SOV_EXIT_FAIL; /* damage, not the caller's input */
		return sov_err_prefix(e, "config: ");
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		sov_err_set(e, SOV_EXIT_FAIL, "config: not an object");
		goto out;
	}
	ver = jv_object_get(jv_copy(v), jv_string("version"));
	if (jv_get_kind(ver) != JV_KIND_NUMBER) {
		sov_err_set(e, SOV_EXIT_FAIL, "config: no format version");
		jv_free(ver);
		goto out;
	}
	if (jv_number_value(ver) != BK_FORMAT_VERSION) {
		/* Versions 1 and 2 were never released: development builds
		 * gave a tree and a file of the same bytes one id (1), or
		 * named a pack by the hash of all its bytes (2). */
		sov_err_set(e, SOV_EXIT_FAIL,
			    "config: repository format version %g, this "
			    "sov-backup reads version %d only%s",
			    jv_number_value(ver), BK_FORMAT_VERSION,
			    jv_number_value(ver) > BK_FORMAT_VERSION
				? ": a newer sov-backup wrote it"
				: ": a development build wrote it; init a new "
				  "repository (docs/repository-format.md, "
				  "History)");
		jv_free(ver);
		goto out;
	}
	jv_free(ver);
	if (params_parse(v, "files", &r->files, e) < 0 ||
	    params_parse(v, "pages", &r->pages, e) < 0)
		goto out;
	jv_free(r->config);
	r->config = jv_copy(v);
	rc = 0;
out:
	jv_free(v);
	return rc;
}

struct bk_repo *
bk_repo_init(const char *location, const unsigned char *pw, size_t pwlen,
	     struct sov_err *e)
{
	struct bk_repo *r = NULL;
	unsigned char rid[16], kid[BK_ID_LEN];
	char rhex[33], ts[SOV_TIME_RFC3339_LEN], khex[BK_ID_HEX_LEN];
	char kname[BK_NAME_MAX];
	jv cfg = jv_invalid(), kf = jv_invalid(), s = jv_invalid();
	unsigned char *sealed = NULL;

	if (bk_crypto_init(e) < 0)
		return NULL;
	r = repo_new(e);
	if (!r)
		return NULL;
	r->keys = bk_keys_new(NULL, e);
	if (!r->keys)
		goto fail;
	r->be = bk_backend_open(location, 1, e);
	if (!r->be)
		goto fail;
	kf = bk_keyfile_new(r->keys, pw, pwlen, e);
	if (!jv_is_valid(kf))
		goto fail;
	s = jv_dump_string(jv_copy(kf), 0);
	randombytes_buf(kid, sizeof(kid));
	bk_hex(kid, khex);
	snprintf(kname, sizeof(kname), "keys/%.16s", khex);
	if (bk_put(r->be, kname, jv_string_value(s),
		   (size_t)jv_string_length_bytes(jv_copy(s)), e) < 0)
		goto fail;
	snprintf(r->key_name, sizeof(r->key_name), "%s", kname);
	jv_free(s);
	s = jv_invalid();
	randombytes_buf(rid, sizeof(rid));
	sodium_bin2hex(rhex, sizeof(rhex), rid, sizeof(rid));
	sov_time_format(sov_time_now_ms(), ts);
	r->files = BK_CHUNK_FILES;
	r->pages = BK_CHUNK_PAGES;
	cfg = jv_object();
	cfg = jv_object_set(cfg, jv_string("version"),
			    jv_number(BK_FORMAT_VERSION));
	cfg = jv_object_set(cfg, jv_string("id"), jv_string(rhex));
	cfg = jv_object_set(cfg, jv_string("created"), jv_string(ts));
	cfg = jv_object_set(
	    cfg, jv_string("chunker"),
	    jv_object_set(jv_object_set(jv_object(), jv_string("files"),
					params_json(&r->files)),
			  jv_string("pages"), params_json(&r->pages)));
	s = jv_dump_string(jv_copy(cfg), 0);
	{
		size_t n = (size_t)jv_string_length_bytes(jv_copy(s));

		sealed = malloc(n + BK_SEAL_OVERHEAD);
		if (!sealed) {
			sov_err_sys(e, SOV_EXIT_TEMPFAIL, "config");
			goto fail;
		}
		bk_seal(r->keys, CONFIG_AD, strlen(CONFIG_AD),
			jv_string_value(s), n, sealed);
		/* config last: a repository is one once it has a config. */
		if (bk_put(r->be, "config", sealed, n + BK_SEAL_OVERHEAD, e) <
		    0)
			goto fail;
	}
	jv_free(r->config);
	r->config = cfg;
	cfg = jv_invalid();
	r->index_loaded = 1;
	jv_free(kf);
	jv_free(s);
	free(sealed);
	return r;
fail:
	jv_free(cfg);
	jv_free(kf);
	jv_free(s);
	free(sealed);
	bk_repo_close(r);
	return NULL;
}

struct key_list {
	char names[KEYS_MAX][BK_NAME_MAX];
	int n;
	int over;
};

static int
collect_key(const char *name, uint64_t size, void *arg)
{
	struct key_list *kl = arg;

	(void)size;
	if (kl->n >= KEYS_MAX) {
		kl->over = 1;
		return 0;
	}
	snprintf(kl->names[kl->n++], BK_NAME_MAX, "%s", name);
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

struct bk_repo *
bk_repo_open(const char *location, const unsigned char *pw, size_t pwlen,
	     struct sov_err *e)
{
	struct bk_repo *r = NULL;
	struct key_list *kl = NULL;
	unsigned char *buf = NULL, *cfg = NULL;
	size_t n = 0;
	int wrong = 0, damaged = 0;

	if (bk_crypto_init(e) < 0)
		return NULL;
	r = repo_new(e);
	kl = calloc(1, sizeof(*kl));
	if (!r || !kl) {
		if (!kl)
			sov_err_sys(e, SOV_EXIT_TEMPFAIL, "keys");
		goto fail;
	}
	r->be = bk_backend_open(location, 0, e);
	if (!r->be)
		goto fail;
	if (bk_list(r->be, "keys", collect_key, kl, e) < 0)
		goto fail;
	if (kl->n == 0) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: no key files in keys/",
			    r->be->display);
		goto fail;
	}
	if (kl->over) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: more than %d key files in keys/; remove the "
			    "ones no longer used (key remove)",
			    r->be->display, KEYS_MAX);
		goto fail;
	}
	qsort(kl->names, (size_t)kl->n, BK_NAME_MAX, cmp_names);
	/*
	 * Try every key file: one that is damaged, or that wraps another
	 * repository's key under the same password (config does not open),
	 * must not hide the one that works. The first such problem is
	 * reported when none works.
	 */
	for (int i = 0; i < kl->n && !r->keys; i++) {
		struct sov_err le = {0};
		jv kf;

		free(buf);
		buf = NULL;
		if (bk_get(r->be, kl->names[i], BK_KEYFILE_MAX, &buf, &n, NULL,
			   &le) < 0) {
			if (le.code == SOV_EXIT_TEMPFAIL) {
				if (e)
					*e = le;
				goto fail;
			}
			goto bad_key;
		}
		kf = sov_json_parse((const char *)buf, n, &le);
		if (!jv_is_valid(kf)) {
			jv_free(kf);
			sov_err_prefix(&le, "%s: ", kl->names[i]);
			goto bad_key;
		}
		r->keys = bk_keyfile_open(kf, pw, pwlen, kl->names[i], &le);
		jv_free(kf);
		if (!r->keys) {
			if (le.code == SOV_EXIT_USAGE) {
				wrong++;
				continue;
			}
			goto bad_key;
		}
		free(cfg);
		cfg = NULL;
		if (bk_repo_get_sealed(r, "config", CONFIG_AD, BK_CONFIG_MAX,
				       &cfg, &n, &le) < 0) {
			int missing = strstr(le.msg, "authentication") == NULL;

			bk_keys_free(r->keys);
			r->keys = NULL;
			if (missing) { /* config itself is unreadable */
				if (e)
					*e = le;
				goto fail;
			}
			sov_err_prefix(&le, "%s opens, but: ", kl->names[i]);
			goto bad_key;
		}
		snprintf(r->key_name, sizeof(r->key_name), "%s", kl->names[i]);
		continue;
	bad_key:
		le.code = SOV_EXIT_FAIL;
		if (!damaged++ && e)
			*e = le;
	}
	if (!r->keys) {
		if (damaged && !wrong)
			goto fail; /* e holds the first damaged key file */
		if (damaged) {
			/* A damaged key may be the one this password is
			 * for: damage (1), with the first one named. */
			char first[SOV_ERR_MSG_MAX / 2];

			/* cut, so the whole message fits */
			snprintf(first, sizeof(first), "%.400s",
				 e ? e->msg : "");
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: no key file opens with this password: "
				    "%d do not, %d are damaged or belong to "
				    "another repository (%s)",
				    r->be->display, wrong, damaged, first);
		} else
			sov_err_set(e, SOV_EXIT_USAGE,
				    "%s: wrong password (no key file of %d "
				    "opens with it)",
				    r->be->display, wrong);
		goto fail;
	}
	if (parse_config(r, cfg, n, e) < 0)
		goto fail;
	free(buf);
	free(cfg);
	free(kl);
	return r;
fail:
	free(buf);
	free(cfg);
	free(kl);
	bk_repo_close(r);
	return NULL;
}

static int
collect_name(const char *name, uint64_t size, void *arg)
{
	struct bk_names *l = arg;

	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		void *nn = realloc(l->names, nc * BK_NAME_MAX);
		uint64_t *ns;

		if (!nn)
			return -1;
		l->names = nn;
		ns = realloc(l->sizes, nc * sizeof(*ns));
		if (!ns)
			return -1;
		l->sizes = ns;
		l->cap = nc;
	}
	snprintf(l->names[l->n], BK_NAME_MAX, "%s", name);
	l->sizes[l->n++] = size;
	return 0;
}

/* Sort names and sizes together: an index by name, then permute. */
struct name_at {
	const char *name;
	size_t i;
};

static int
cmp_name_at(const void *a, const void *b)
{
	return strcmp(((const struct name_at *)a)->name,
		      ((const struct name_at *)b)->name);
}

int
bk_repo_list(struct bk_repo *r, const char *dir, struct bk_names *l,
	     struct sov_err *e)
{
	struct name_at *at = NULL;
	char(*names)[BK_NAME_MAX] = NULL;
	uint64_t *sizes = NULL;
	int rc = bk_list(r->be, dir, collect_name, l, e);

	/* collect_name stops the listing only when out of memory */
	if (rc != 0 && (rc > 0 || !e || e->code == 0))
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "list %s", dir);
	if (rc < 0)
		return -1;
	if (l->n < 2)
		return 0;
	at = malloc(l->n * sizeof(*at));
	names = malloc(l->n * BK_NAME_MAX);
	sizes = malloc(l->n * sizeof(*sizes));
	if (!at || !names || !sizes) {
		free(at);
		free(names);
		free(sizes);
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "list %s", dir);
	}
	for (size_t i = 0; i < l->n; i++)
		at[i] = (struct name_at){l->names[i], i};
	qsort(at, l->n, sizeof(*at), cmp_name_at);
	for (size_t i = 0; i < l->n; i++) {
		memcpy(names[i], l->names[at[i].i], BK_NAME_MAX);
		sizes[i] = l->sizes[at[i].i];
	}
	free(at);
	free(l->names);
	free(l->sizes);
	l->names = names;
	l->sizes = sizes;
	l->cap = l->n;
	return 0;
}

void
bk_names_free(struct bk_names *l)
{
	free(l->names);
	free(l->sizes);
	memset(l, 0, sizeof(*l));
}

int
bk_repo_visit_index_file(struct bk_repo *r, const char *name,
			 const unsigned char id[BK_ID_LEN],
			 const struct bk_index_visitor *v,
			 unsigned char (**sup)[BK_ID_LEN], size_t *nsup,
			 struct sov_err *e)
{
	unsigned char *buf = NULL, got[BK_ID_LEN];
	size_t n = 0;
	int rc = -1;

	if (bk_get(r->be, name, BK_INDEX_FILE_MAX, &buf, &n, NULL, e) < 0)
		return -1;
	bk_storage_id(buf, n, got);
	if (memcmp(got, id, BK_ID_LEN) != 0)
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: content does not match its name (changed or "
			    "damaged)",
			    name);
	else
		rc = bk_indexfile_parse(r->keys, buf, n, v, sup, nsup, name, e);
	free(buf);
	return rc;
}

static int
load_index_file(struct bk_repo *r, const char *name,
		const unsigned char id[BK_ID_LEN],
		unsigned char (**sup)[BK_ID_LEN], size_t *nsup,
		struct sov_err *e)
{
	struct bk_index_into t;
	struct bk_index_visitor v;
	void *nf;

	bk_index_into(&t, r->idx, name, &v);
	if (bk_repo_visit_index_file(r, name, id, &v, sup, nsup, e) < 0)
		return -1;
	nf = realloc(r->index_files, (r->nindex_files + 1) * BK_ID_LEN);
	if (!nf)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "index");
	r->index_files = nf;
	memcpy(r->index_files[r->nindex_files++], id, BK_ID_LEN);
	return 0;
}

static int
superseded(unsigned char (*sup)[BK_ID_LEN], size_t nsup,
	   const unsigned char *id)
{
	for (size_t j = 0; j < nsup; j++)
		if (memcmp(sup[j], id, BK_ID_LEN) == 0)
			return 1;
	return 0;
}

int
bk_repo_load_index(struct bk_repo *r, struct sov_err *e)
{
	struct bk_names l = {0};
	unsigned char(*sup)[BK_ID_LEN] = NULL;
	size_t nsup = 0;
	unsigned char id[BK_ID_LEN];
	int rc = -1;

	if (r->index_loaded)
		return 0;
	if (bk_repo_list(r, "index", &l, e) < 0)
		goto out;
	for (size_t i = 0; i < l.n; i++) {
		if (bk_unhex(strrchr(l.names[i], '/') + 1, id) < 0)
			continue;
		if (load_index_file(r, l.names[i], id, &sup, &nsup, e) < 0)
			goto out;
	}
	if (nsup) {
		/* A prune was interrupted after writing its new index: load
		 * again without the index files it replaces. */
		bk_index_free(r->idx);
		r->idx = bk_index_new(e);
		r->nindex_files = 0;
		if (!r->idx)
			goto out;
		for (size_t i = 0; i < l.n; i++) {
			if (bk_unhex(strrchr(l.names[i], '/') + 1, id) < 0 ||
			    superseded(sup, nsup, id))
				continue;
			if (load_index_file(r, l.names[i], id, NULL, NULL, e) <
			    0)
				goto out;
		}
	}
	r->index_loaded = 1;
	rc = 0;
out:
	free(sup);
	bk_names_free(&l);
	return rc;
}

int
bk_repo_read_entry(struct bk_repo *r, const unsigned char pack[BK_ID_LEN],
		   const struct bk_pack_entry *en, int type,
		   unsigned char **out, size_t *len, struct sov_err *e)
{
	char name[BK_NAME_MAX], hex[BK_ID_HEX_LEN], what[BK_NAME_MAX + 96];
	unsigned char *sealed = NULL;
	int rc = -1;

	*out = NULL;
	*len = 0;
	bk_hex(en->id, hex);
	if (en->type != type)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "blob %s: is a %s blob, wanted %s", hex,
				   en->type == BK_BLOB_TREE ? "tree" : "data",
				   type == BK_BLOB_TREE ? "tree" : "data");
	bk_pack_name(pack, name);
	snprintf(what, sizeof(what), "blob %.16s in %s", hex, name);
	sealed = malloc(en->length);
	if (!sealed)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", what);
	if (bk_get_range(r->be, name, en->offset, en->length, sealed, e) < 0)
		goto out;
	if (bk_blob_open(r->keys, en, sealed, out, what, e) < 0)
		goto out;
	*len = en->raw;
	rc = 0;
out:
	free(sealed);
	return rc;
}

int
bk_repo_read_blob(struct bk_repo *r, const unsigned char id[BK_ID_LEN],
		  int type, unsigned char **out, size_t *len, struct sov_err *e)
{
	const struct bk_blob *b = bk_index_get(r->idx, id);
	char hex[BK_ID_HEX_LEN];

	*out = NULL;
	*len = 0;
	if (!b) {
		bk_hex(id, hex);
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "blob %s: not in the index (missing)", hex);
	}
	return bk_repo_read_entry(r, bk_index_pack_id(r->idx, b->pack), &b->en,
				  type, out, len, e);
}

/* An index file's write; its id in id (all zero when none was needed). */
static int
put_index(struct bk_repo *r, const struct bk_pack_info *packs, size_t n,
	  const unsigned char (*sup)[BK_ID_LEN], size_t nsup,
	  unsigned char id[BK_ID_LEN], struct sov_err *e)
{
	unsigned char *buf = NULL;
	char hex[BK_ID_HEX_LEN], name[BK_NAME_MAX];
	size_t len = 0;
	int rc;

	memset(id, 0, BK_ID_LEN);
	if (n == 0 && nsup == 0)
		return 0;
	if (bk_indexfile_encode(r->keys, packs, n, sup, nsup, &buf, &len, e) <
	    0)
		return -1;
	bk_storage_id(buf, len, id);
	bk_hex(id, hex);
	snprintf(name, sizeof(name), "index/%s", hex);
	rc = bk_put(r->be, name, buf, len, e);
	free(buf);
	return rc;
}

int
bk_repo_put_index(struct bk_repo *r, const struct bk_pack_info *packs, size_t n,
		  const unsigned char (*sup)[BK_ID_LEN], size_t nsup,
		  struct sov_err *e)
{
	unsigned char id[BK_ID_LEN];

	return put_index(r, packs, n, sup, nsup, id, e);
}

int
bk_repo_write_index(struct bk_repo *r, const struct bk_pack_info *packs,
		    size_t n, const unsigned char (*sup)[BK_ID_LEN],
		    size_t nsup, struct sov_err *e)
{
	unsigned char id[BK_ID_LEN];
	void *nf;

	if (put_index(r, packs, n, sup, nsup, id, e) < 0)
		return -1;
	if (n || nsup) {
		/* one of the index files the repository now has (the local
		 * cache of directories records them) */
		nf = realloc(r->index_files, (r->nindex_files + 1) * BK_ID_LEN);
		if (!nf)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "index");
		r->index_files = nf;
		memcpy(r->index_files[r->nindex_files++], id, BK_ID_LEN);
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t pn = bk_index_pack(r->idx, packs[i].id);

		if (pn == UINT32_MAX)
			return sov_err_set(e, SOV_EXIT_TEMPFAIL,
					   "index: out of memory");
		for (uint32_t j = 0; j < packs[i].n; j++)
			if (bk_index_add(r->idx, &packs[i].ents[j], pn, e) < 0)
				return -1;
	}
	return 0;
}

/* Snapshots. */

int
bk_repo_save_snapshot(struct bk_repo *r, jv snap,
		      unsigned char id_out[BK_ID_LEN], struct sov_err *e)
{
	jv s = jv_dump_string(snap, 0);
	int rc = bk_repo_put_sealed(
	    r, "snapshots", SNAPSHOT_AD, jv_string_value(s),
	    (size_t)jv_string_length_bytes(jv_copy(s)), id_out, e);

	jv_free(s);
	return rc;
}

/* Oldest first by the instant (times may carry offsets), then by id. */
static int
cmp_time(const void *a, const void *b)
{
	const jv *x = a, *y = b;
	jv tx = jv_object_get(jv_copy(*x), jv_string("time"));
	jv ty = jv_object_get(jv_copy(*y), jv_string("time"));
	int64_t mx = 0, my = 0;
	int c;

	sov_time_parse(jv_string_value(tx), &mx, NULL);
	sov_time_parse(jv_string_value(ty), &my, NULL);
	jv_free(tx);
	jv_free(ty);
	c = (mx > my) - (mx < my);
	if (c == 0) {
		tx = jv_object_get(jv_copy(*x), jv_string("id"));
		ty = jv_object_get(jv_copy(*y), jv_string("id"));
		c = strcmp(jv_string_value(tx), jv_string_value(ty));
		jv_free(tx);
		jv_free(ty);
	}
	return c;
}

static int
snapshot_valid(jv s, const char *name, struct sov_err *e)
{
	static const char *strs[] = {"time", "host", "tree"};
	int64_t ms;
	unsigned char id[BK_ID_LEN];

	if (jv_get_kind(s) != JV_KIND_OBJECT)
		return sov_err_set(e, SOV_EXIT_FAIL, "%s: not an object", name);
	for (size_t i = 0; i < 3; i++) {
		jv v = jv_object_get(jv_copy(s), jv_string(strs[i]));
		int bad = jv_get_kind(v) != JV_KIND_STRING;

		if (!bad && i == 0 &&
		    sov_time_parse(jv_string_value(v), &ms, NULL) < 0)
			bad = 1;
		if (!bad && i == 2 && bk_unhex(jv_string_value(v), id) < 0)
			bad = 1;
		jv_free(v);
		if (bad)
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "%s: %s: missing or malformed", name,
					   strs[i]);
	}
	return 0;
}

jv
bk_repo_snapshots(struct bk_repo *r, struct sov_err *e)
{
	struct bk_names l = {0};
	jv *arr = NULL, out = jv_invalid();
	size_t n = 0;

	if (bk_repo_list(r, "snapshots", &l, e) < 0)
		goto out;
	arr = calloc(l.n ? l.n : 1, sizeof(*arr));
	if (!arr) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "snapshots");
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		unsigned char *p = NULL, id[BK_ID_LEN];
		size_t len = 0;
		const char *hex = strrchr(l.names[i], '/') + 1;
		jv s;

		if (bk_unhex(hex, id) < 0)
			continue;
		if (bk_repo_get_sealed(r, l.names[i], SNAPSHOT_AD,
				       BK_SNAPSHOT_MAX, &p, &len, e) < 0)
			goto out;
		s = sov_json_parse((const char *)p, len, e);
		free(p);
		if (!jv_is_valid(s)) {
			jv_free(s);
			if (e)
				e->code = SOV_EXIT_FAIL;
			sov_err_prefix(e, "%s: ", l.names[i]);
			goto out;
		}
		if (snapshot_valid(s, l.names[i], e) < 0) {
			jv_free(s);
			goto out;
		}
		arr[n++] = jv_object_set(s, jv_string("id"), jv_string(hex));
	}
	qsort(arr, n, sizeof(*arr), cmp_time);
	out = jv_array();
	for (size_t i = 0; i < n; i++) {
		out = jv_array_append(out, arr[i]);
		arr[i] = jv_invalid();
	}
out:
	for (size_t i = 0; i < n; i++)
		jv_free(arr[i]);
	free(arr);
	bk_names_free(&l);
	return out;
}

jv
bk_repo_find_snapshot(struct bk_repo *r, const char *which, struct sov_err *e)
{
	jv all = bk_repo_snapshots(r, e);

	if (!jv_is_valid(all))
		return all;
	return bk_snapshot_pick(all, which, e);
}

jv
bk_snapshot_pick(jv all, const char *which, struct sov_err *e)
{
	jv found = jv_invalid();
	size_t wl = strlen(which);
	int n, matches = 0;

	n = jv_array_length(jv_copy(all));
	if (strcmp(which, "latest") == 0) {
		if (n == 0) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "latest: the repository has no snapshots");
			goto out;
		}
		found = jv_array_get(jv_copy(all), n - 1);
		goto out;
	}
	if (wl < 4 || wl > 64 || strspn(which, "0123456789abcdef") != wl) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "%s: not a snapshot id (hex, at least 4 digits, "
			    "or \"latest\")",
			    which);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(all), i);
		jv id = jv_object_get(jv_copy(s), jv_string("id"));

		if (strncmp(jv_string_value(id), which, wl) == 0) {
			matches++;
			jv_free(found);
			found = jv_copy(s);
		}
		jv_free(id);
		jv_free(s);
	}
	if (matches != 1) {
		jv_free(found);
		found = jv_invalid();
		sov_err_set(e, SOV_EXIT_USAGE,
			    matches ? "%s: matches %d snapshots, say more"
				    : "%s: no such snapshot%.0d",
			    which, matches);
	}
out:
	jv_free(all);
	return found;
}

/* A tree blob's bytes into its nodes array. */
static jv
parse_tree(const unsigned char *p, size_t len,
	   const unsigned char id[BK_ID_LEN], struct sov_err *e)
{
	char hex[BK_ID_HEX_LEN];
	jv t, nodes;

	bk_hex(id, hex);
	t = sov_json_parse((const char *)p, len, e);
	if (!jv_is_valid(t)) {
		if (e)
			e->code = SOV_EXIT_FAIL;
		sov_err_prefix(e, "tree %.16s: ", hex);
		return t;
	}
	nodes = jv_get_kind(t) == JV_KIND_OBJECT
		    ? jv_object_get(jv_copy(t), jv_string("nodes"))
		    : jv_invalid();
	jv_free(t);
	if (jv_get_kind(nodes) != JV_KIND_ARRAY) {
		jv_free(nodes);
		sov_err_set(e, SOV_EXIT_FAIL, "tree %.16s: no \"nodes\" array",
			    hex);
		return jv_invalid();
	}
	return nodes;
}

jv
bk_repo_read_tree(struct bk_repo *r, const unsigned char id[BK_ID_LEN],
		  struct sov_err *e)
{
	unsigned char *p = NULL;
	size_t len = 0;
	jv nodes;

	if (bk_repo_read_blob(r, id, BK_BLOB_TREE, &p, &len, e) < 0)
		return jv_invalid();
	nodes = parse_tree(p, len, id, e);
	free(p);
	return nodes;
}

jv
bk_repo_read_tree_at(struct bk_repo *r, const unsigned char pack[BK_ID_LEN],
		     const struct bk_pack_entry *en, struct sov_err *e)
{
	unsigned char *p = NULL;
	size_t len = 0;
	jv nodes;

	if (bk_repo_read_entry(r, pack, en, BK_BLOB_TREE, &p, &len, e) < 0)
		return jv_invalid();
	nodes = parse_tree(p, len, en->id, e);
	free(p);
	return nodes;
}

/* Enough for the header of a typical pack in one read. */
#define TAIL_GUESS (64u << 10)

int
bk_repo_pack_header(struct bk_repo *r, const char *name, uint64_t size,
		    struct bk_pack_entry **ents, uint32_t *n, struct sov_err *e)
{
	size_t want = size < TAIL_GUESS ? (size_t)size : TAIL_GUESS, need = 0;
	unsigned char *tail = NULL;
	int rc = -1;

	*ents = NULL;
	*n = 0;
	for (int round = 0; round < 2; round++) {
		free(tail);
		tail = malloc(want ? want : 1);
		if (!tail)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", name);
		if (bk_get_range(r->be, name, size - want, want, tail, e) < 0)
			goto out;
		if (bk_pack_parse_header(r->keys, tail, want, size, ents, n,
					 &need, name, e) == 0) {
			rc = 0;
			goto out;
		}
		if (!need || need > size)
			goto out;
		want = need;
	}
out:
	free(tail);
	return rc;
}
