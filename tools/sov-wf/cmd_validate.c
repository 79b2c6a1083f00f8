/*
 * cmd_validate.c - `sov-wf validate FILE|DIR...`: load every definition
 * fully, as a worker would, and say which are good.
 *
 * Each valid one gets a record on stdout:
 *   {"ts","event":"valid","file","name","version","steps":N,"order":[...]}
 * each invalid one an error on stderr. Across all of them, a name or a
 * webhook path may be defined only once. Exit 2 when any is invalid.
 *
 * Compiling is the cost: jq 1.6 takes some 16 ms a program. Files are
 * taken a window at a time: their structure loaded without compiling,
 * then all their programs checked together (jqbatch.h). A file that
 * fails either way is loaded once more the full way, so that its message
 * is the one it gets alone.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "def.h"
#include "jqbatch.h"
#include "jsonl.h"
#include "registry.h"
#include "wf.h"

/* What the files so far have claimed: name -> file, path -> file. */
struct seen {
	jv names;
	jv hooks;
};

static jv
valid_record(const struct wf_def *d, const char *file)
{
	jv rec = sov_record_new("valid"), order = jv_array();

	for (size_t k = 0; k < d->n_steps; k++)
		order = jv_array_append(order,
					jv_string(d->steps[d->order[k]].name));
	rec = jv_object_set(rec, jv_string("file"), jv_string(file));
	rec = jv_object_set(rec, jv_string("name"), jv_string(d->name));
	rec = jv_object_set(rec, jv_string("version"),
			    jv_number((double)d->version));
	rec = jv_object_set(rec, jv_string("steps"),
			    jv_number((double)d->n_steps));
	return jv_object_set(rec, jv_string("order"), order);
}

/* A second definition of a name or a webhook path is an error. */
static int
claim(struct seen *seen, const struct wf_def *d, struct sov_err *e)
{
	jv other = jv_object_get(jv_copy(seen->names), jv_string(d->name));

	if (jv_is_valid(other)) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "%s: name: \"%s\" is already defined by %s",
			    d->file, d->name, jv_string_value(other));
		jv_free(other);
		return -1;
	}
	jv_free(other);
	for (size_t i = 0; i < d->n_triggers; i++) {
		const struct wf_trigger *t = &d->triggers[i];

		if (t->kind != WF_TRIGGER_WEBHOOK)
			continue;
		other = jv_object_get(jv_copy(seen->hooks), jv_string(t->path));
		if (jv_is_valid(other)) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "%s: triggers[%zu].webhook.path: \"%s\" is "
				    "also the webhook of %s",
				    d->file, i, t->path,
				    jv_string_value(other));
			jv_free(other);
			return -1;
		}
		jv_free(other);
	}
	seen->names =
	    jv_object_set(seen->names, jv_string(d->name), jv_string(d->file));
	for (size_t i = 0; i < d->n_triggers; i++)
		if (d->triggers[i].kind == WF_TRIGGER_WEBHOOK)
			seen->hooks = jv_object_set(
			    seen->hooks, jv_string(d->triggers[i].path),
			    jv_string(d->file));
	return 0;
}

/* Remember the worst outcome: usage errors are 2, anything else wins. */
static void
note(int *worst, const struct sov_err *e)
{
	int code = sov_cli_fail(e);

	if (*worst == SOV_EXIT_OK || code != SOV_EXIT_USAGE)
		*worst = code;
}

static void
validate_file(const char *path, struct seen *seen, struct sov_jsonl_writer *w,
	      int *worst)
{
	struct sov_err e = {0};
	struct wf_def *d = wf_def_load(path, 0, &e);

	if (d == NULL || claim(seen, d, &e) < 0) {
		note(worst, &e);
	} else if (sov_jsonl_write(w, valid_record(d, d->file), &e) < 0) {
		note(worst, &e);
	}
	wf_def_free(d);
}

/* Files held at once: memory stays bounded whatever the directory holds,
 * and 256 of the lead workflow make some 15 batches of programs. */
#define WINDOW_FILES 256

struct window {
	char *path[WINDOW_FILES];         /* owned */
	struct wf_def *def[WINDOW_FILES]; /* NULL: the structure is bad */
	size_t first[WINDOW_FILES], count[WINDOW_FILES]; /* in src */
	size_t n;
	const char **src; /* every program of the window's definitions */
	size_t n_src, cap_src;
	int oom;
};

static void
gather(struct sov_jq_prog *p, void *arg)
{
	struct window *win = arg;

	if (win->n_src == win->cap_src) {
		size_t cap = win->cap_src ? 2 * win->cap_src : 1024;
		const char **src = realloc(win->src, cap * sizeof(*src));

		if (src == NULL) {
			win->oom = 1;
			return;
		}
		win->src = src;
		win->cap_src = cap;
	}
	win->src[win->n_src++] = p->src;
}

/* Whether all of def i's programs compile, per bad (NULL: unknown). */
static int
all_good(const struct window *win, size_t i, const unsigned char *bad)
{
	if (win->def[i] == NULL || bad == NULL)
		return 0;
	for (size_t k = 0; k < win->count[i]; k++)
		if (bad[win->first[i] + k])
			return 0;
	return 1;
}

/* Check the window's files, report each in order, and empty it. */
static void
flush(struct window *win, struct seen *seen, struct sov_jsonl_writer *w,
      int *worst)
{
	unsigned char *bad = NULL;
	struct sov_err e = {0};

	win->n_src = 0;
	win->oom = 0;
	for (size_t i = 0; i < win->n; i++) {
		win->def[i] = wf_def_load(win->path[i], WF_DEF_NO_COMPILE, &e);
		win->first[i] = win->n_src;
		if (win->def[i] != NULL)
			wf_def_each_prog(win->def[i], gather, win);
		win->count[i] = win->n_src - win->first[i];
	}
	/* out of memory here: every file the full way, which says so */
	if (!win->oom && (bad = malloc(win->n_src ? win->n_src : 1)) != NULL &&
	    sov_jq_check_many(win->src, win->n_src, jv_invalid(), bad, &e) <
		0) {
		free(bad);
		bad = NULL;
	}
	for (size_t i = 0; i < win->n; i++) {
		struct wf_def *d = win->def[i];

		if (!all_good(win, i, bad))
			validate_file(win->path[i], seen, w, worst);
		else if (claim(seen, d, &e) < 0 ||
			 sov_jsonl_write(w, valid_record(d, d->file), &e) < 0)
			note(worst, &e);
		wf_def_free(d);
		free(win->path[i]);
	}
	free(bad);
	win->n = 0;
}

/* Queue path (consumed); a full window is checked first. */
static void
add(struct window *win, char *path, struct seen *seen,
    struct sov_jsonl_writer *w, int *worst)
{
	if (win->n == WINDOW_FILES)
		flush(win, seen, w, worst);
	win->path[win->n++] = path;
}

int
wf_cmd_validate(int argc, char **argv)
{
	static const struct option lo[] = {{NULL, 0, NULL, 0}};
	struct seen seen = {jv_object(), jv_object()};
	struct sov_jsonl_writer *w = NULL;
	struct window *win = NULL;
	struct sov_err e = {0};
	int worst = SOV_EXIT_OK;

	if (getopt_long(argc, argv, "", lo, NULL) != -1) {
		worst = sov_cli_usage_error("bad option");
		goto out;
	}
	if (optind == argc) {
		worst = sov_cli_usage_error("validate needs a FILE or DIR");
		goto out;
	}
	w = sov_jsonl_writer_new(stdout, "stdout", SOV_JSONL_FLUSH);
	if (w == NULL) {
		worst = sov_cli_fail(
		    &(struct sov_err){SOV_EXIT_TEMPFAIL, "out of memory"});
		goto out;
	}
	if ((win = calloc(1, sizeof(*win))) == NULL) {
		worst = sov_cli_fail(
		    &(struct sov_err){SOV_EXIT_TEMPFAIL, "out of memory"});
		goto out;
	}
	for (int i = optind; i < argc; i++) {
		struct stat st;
		char **files = NULL;
		size_t n = 0;

		if (strcmp(argv[i], "-") == 0) {
			/* stdin can be read once: not batched */
			flush(win, &seen, w, &worst);
			validate_file(argv[i], &seen, w, &worst);
			continue;
		}
		if (stat(argv[i], &st) < 0 || !S_ISDIR(st.st_mode)) {
			/* a missing file is reported by the loader */
			char *path = strdup(argv[i]);

			if (path == NULL) {
				flush(win, &seen, w, &worst);
				validate_file(argv[i], &seen, w, &worst);
			} else {
				add(win, path, &seen, w, &worst);
			}
			continue;
		}
		if (wf_registry_list_dir(argv[i], &files, &n, &e) < 0) {
			flush(win, &seen, w, &worst);
			note(&worst, &e);
			continue;
		}
		for (size_t j = 0; j < n; j++)
			add(win, files[j], &seen, w, &worst);
		free(files);
	}
	flush(win, &seen, w, &worst);
	if (sov_jsonl_writer_close(w, &e) < 0)
		note(&worst, &e);
	w = NULL;
out:
	if (win != NULL)
		free(win->src);
	free(win);
	sov_jsonl_writer_close(w, NULL);
	jv_free(seen.names);
	jv_free(seen.hooks);
	return worst;
}
