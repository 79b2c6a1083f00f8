/*
 * registry.h - where definitions come from: a directory of NAME.json files
 * (what an operator or Nix writes), and the store, which keeps every
 * definition an execution was started with, under the hash of its
 * canonical JSON. A worker runs an execution with the definition it started
 * with, even after the file changed or on a host that never had the file.
 */
#ifndef WF_REGISTRY_H
#define WF_REGISTRY_H

#include <stddef.h>

#include "def.h"
#include "err.h"
#include "store.h"

#define WF_REGISTRY_FILES_MAX 100000 /* *.json files in one directory */
#define WF_DEF_ID_LEN 32             /* hex digits of a definition id */
#define WF_CACHE_MAX 4096            /* compiled definitions per thread */
#define WF_REGISTRY_DIR_ENV "SOV_WF_WORKFLOWS"

/* Every regular *.json file of dir, sorted, into *out (caller frees each
 * and the array). No such files is an error. */
int wf_registry_list_dir(const char *dir, char ***out, size_t *n,
			 struct sov_err *e);

/* The id of a definition: BLAKE2b-128 of its JSON with keys sorted, hex. */
int wf_def_id(const struct wf_def *d, char out[WF_DEF_ID_LEN + 1],
	      struct sov_err *e);

struct wf_registry {
	struct wf_def **defs; /* sorted by name */
	char (*ids)[WF_DEF_ID_LEN + 1];
	size_t n;
};

/*
 * Load every definition of dir (flags as wf_def_load: WF_DEF_NO_COMPILE
 * checks the structure only, which is what a worker needs to schedule;
 * programs are compiled where they run). The first invalid file, or two
 * files defining one name, is an error.
 */
int wf_registry_load(const char *dir, int flags, struct wf_registry *r,
		     struct sov_err *e);
void wf_registry_clear(struct wf_registry *r);

/* The definition called name, or -1. */
long wf_registry_find(const struct wf_registry *r, const char *name);

/* The directory: dir, else $SOV_WF_WORKFLOWS, else STATE/workflows. */
int wf_registry_dir(const char *dir, char *buf, size_t size, struct sov_err *e);

/* Record a definition in the store under its id (once; no transaction of
 * its own, so it joins the caller's). */
int wf_registry_put(struct sov_store *st, const struct wf_def *d,
		    const char *id, struct sov_err *e);

/*
 * A thread's compiled definitions by id, read from the store on first use.
 * Compiled programs are not shared between threads (a jq state runs one
 * program at a time).
 */
struct wf_cache;
struct wf_cache *wf_cache_new(struct sov_err *e);
void wf_cache_free(struct wf_cache *c); /* accepts NULL */
/* Borrowed; lives until the cache is trimmed or freed. */
const struct wf_def *wf_cache_get(struct wf_cache *c, struct sov_store *st,
				  const char *id, struct sov_err *e);

/* Drop every definition when there are WF_CACHE_MAX or more: call it
 * where no pointer from wf_cache_get is held (between batches). */
void wf_cache_trim(struct wf_cache *c);

#endif
