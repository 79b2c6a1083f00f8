/*
 * registry.c - definitions from a directory and from the store.
 */
#include "registry.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "fs.h"
#include "timestamp.h"

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_json_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] != '.' && len > 5 && strcmp(n + len - 5, ".json") == 0;
}

int
wf_registry_list_dir(const char *dir, char ***out, size_t *n, struct sov_err *e)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t cap = 0;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (dh == NULL)
		return sov_err_sys(e, sov_exit_code_open(errno), "%s", dir);
	while ((errno = 0, de = readdir(dh)) != NULL) {
		char full[PATH_MAX];
		struct stat st;
		int k;

		if (!is_json_name(de->d_name))
			continue;
		k = snprintf(full, sizeof(full), "%s%s%s", dir,
			     dir[strlen(dir) - 1] == '/' ? "" : "/",
			     de->d_name);
		if (k < 0 || (size_t)k >= sizeof(full)) {
			sov_err_set(e, SOV_EXIT_USAGE, "%s/%s: path too long",
				    dir, de->d_name);
			goto out;
		}
		if (stat(full, &st) < 0 || !S_ISREG(st.st_mode))
			continue; /* a directory called x.json, a dangling link
				   */
		if (*n == WF_REGISTRY_FILES_MAX) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "%s: more than %d *.json files", dir,
				    WF_REGISTRY_FILES_MAX);
			goto out;
		}
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nn = realloc(names, ncap * sizeof(*nn));

			if (nn == NULL) {
				sov_err_set(e, SOV_EXIT_TEMPFAIL,
					    "out of memory");
				goto out;
			}
			names = nn;
			cap = ncap;
		}
		if ((names[*n] = strdup(full)) == NULL) {
			sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
			goto out;
		}
		(*n)++;
	}
	if (errno != 0) {
		sov_err_sys(e, SOV_EXIT_FAIL, "%s", dir);
		goto out;
	}
	if (*n == 0) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: no *.json files", dir);
		goto out;
	}
	qsort(names, *n, sizeof(*names), by_name);
	*out = names;
	names = NULL;
	rc = 0;
out:
	if (names != NULL) {
		for (size_t i = 0; i < *n; i++)
			free(names[i]);
		free(names);
		*n = 0;
	}
	closedir(dh);
	return rc;
}

int
wf_def_id(const struct wf_def *d, char out[WF_DEF_ID_LEN + 1],
	  struct sov_err *e)
{
	unsigned char h[WF_DEF_ID_LEN / 2];
	jv text = jv_dump_string(jv_copy(d->json), JV_PRINT_SORTED);
	const char *s;

	if (!jv_is_valid(text)) {
		jv_free(text);
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
	}
	s = jv_string_value(text);
	crypto_generichash(
	    h, sizeof(h), (const unsigned char *)s,
	    (unsigned long long)jv_string_length_bytes(jv_copy(text)), NULL, 0);
	jv_free(text);
	sodium_bin2hex(out, WF_DEF_ID_LEN + 1, h, sizeof(h));
	return 0;
}

static int
by_def_name(const void *a, const void *b)
{
	const struct wf_def *x = *(struct wf_def *const *)a;
	const struct wf_def *y = *(struct wf_def *const *)b;

	return strcmp(x->name, y->name);
}

void
wf_registry_clear(struct wf_registry *r)
{
	for (size_t i = 0; i < r->n; i++)
		wf_def_free(r->defs[i]);
	free(r->defs);
	free(r->ids);
	memset(r, 0, sizeof(*r));
}

int
wf_registry_load(const char *dir, int flags, struct wf_registry *r,
		 struct sov_err *e)
{
	char **files = NULL;
	size_t n = 0;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (wf_registry_list_dir(dir, &files, &n, e) < 0)
		return -1;
	r->defs = calloc(n, sizeof(*r->defs));
	r->ids = calloc(n, sizeof(*r->ids));
	if (!r->defs || !r->ids) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		r->defs[i] = wf_def_load(files[i], flags, e);
		if (!r->defs[i])
			goto out;
		r->n++;
	}
	qsort(r->defs, r->n, sizeof(*r->defs), by_def_name);
	for (size_t i = 0; i < r->n; i++) {
		if (i > 0 &&
		    strcmp(r->defs[i - 1]->name, r->defs[i]->name) == 0) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "%s: workflow \"%s\" is also defined in %s",
				    r->defs[i]->file, r->defs[i]->name,
				    r->defs[i - 1]->file);
			goto out;
		}
		if (wf_def_id(r->defs[i], r->ids[i], e) < 0)
			goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
	if (rc < 0)
		wf_registry_clear(r);
	return rc;
}

long
wf_registry_find(const struct wf_registry *r, const char *name)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(r->defs[mid]->name, name);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int
wf_registry_dir(const char *dir, char *buf, size_t size, struct sov_err *e)
{
	char state[PATH_MAX];
	int n;

	if (!dir || !*dir)
		dir = getenv(WF_REGISTRY_DIR_ENV);
	if (dir && *dir) {
		n = snprintf(buf, size, "%s", dir);
	} else {
		if (sov_state_dir("sov-wf", state, sizeof(state), e) < 0)
			return -1;
		n = snprintf(buf, size, "%s/workflows", state);
	}
	if (n < 0 || (size_t)n >= size)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "workflows directory path too long");
	return 0;
}

int
wf_registry_put(struct sov_store *st, const struct wf_def *d, const char *id,
		struct sov_err *e)
{
	jv text = jv_dump_string(jv_copy(d->json), JV_PRINT_SORTED);

	if (!jv_is_valid(text)) {
		jv_free(text);
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
	}
	return sov_store_query(
	    st,
	    "INSERT INTO wf_defs (id, name, version, json, created_at) "
	    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
	    JV_ARRAY(jv_string(id), jv_string(d->name),
		     jv_number((double)d->version), text,
		     jv_number((double)sov_time_now_ms())),
	    NULL, e);
}

struct wf_cache_entry {
	char id[WF_DEF_ID_LEN + 1];
	struct wf_def *def;
};

struct wf_cache {
	struct wf_cache_entry *v;
	size_t n, cap;
};

struct wf_cache *
wf_cache_new(struct sov_err *e)
{
	struct wf_cache *c = calloc(1, sizeof(*c));

	if (!c)
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
	return c;
}

void
wf_cache_free(struct wf_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		wf_def_free(c->v[i].def);
	free(c->v);
	free(c);
}

void
wf_cache_trim(struct wf_cache *c)
{
	/* Executions of this many versions at once are not expected; start
	 * over rather than grow without bound. */
	if (c->n < WF_CACHE_MAX)
		return;
	for (size_t i = 0; i < c->n; i++)
		wf_def_free(c->v[i].def);
	c->n = 0;
}

const struct wf_def *
wf_cache_get(struct wf_cache *c, struct sov_store *st, const char *id,
	     struct sov_err *e)
{
	jv rows = jv_invalid(), json;
	struct wf_def *d = NULL;
	char where[WF_DEF_ID_LEN + 32];

	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].id, id) == 0)
			return c->v[i].def;
	if (strlen(id) != WF_DEF_ID_LEN) {
		sov_err_set(e, SOV_EXIT_FAIL, "bad definition id \"%s\"", id);
		return NULL;
	}
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 16;
		struct wf_cache_entry *nv = realloc(c->v, ncap * sizeof(*nv));

		if (!nv) {
			sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
			return NULL;
		}
		c->v = nv;
		c->cap = ncap;
	}
	if (sov_store_query(st, "SELECT json FROM wf_defs WHERE id = $1",
			    JV_ARRAY(jv_string(id)), &rows, e) < 0)
		return NULL;
	if (jv_array_length(jv_copy(rows)) != 1) {
		jv_free(rows);
		sov_err_set(e, SOV_EXIT_FAIL,
			    "definition %s is missing from the store", id);
		return NULL;
	}
	json = jv_object_get(jv_array_get(rows, 0), jv_string("json"));
	snprintf(where, sizeof(where), "store:%s", id);
	if (jv_get_kind(json) == JV_KIND_STRING)
		d = wf_def_from_text(
		    jv_string_value(json),
		    (size_t)jv_string_length_bytes(jv_copy(json)), where, 0, e);
	else
		sov_err_set(e, SOV_EXIT_FAIL, "definition %s: bad row", id);
	jv_free(json);
	if (!d)
		return NULL;
	memcpy(c->v[c->n].id, id, WF_DEF_ID_LEN + 1);
	c->v[c->n].def = d;
	return c->v[c->n++].def;
}
