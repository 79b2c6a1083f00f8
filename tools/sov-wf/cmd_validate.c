/*
 * cmd_validate.c - `sov-wf validate FILE|DIR...`: load every definition
 * fully, as a worker would, and say which are good.
 *
 * Each valid one gets a record on stdout:
 *   {"ts","event":"valid","file","name","version","steps":N,"order":[...]}
 * each invalid one an error on stderr. Across all of them, a name or a
 * webhook path may be defined only once. Exit 2 when any is invalid.
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

int
wf_cmd_validate(int argc, char **argv)
{
	static const struct option lo[] = {{NULL, 0, NULL, 0}};
	struct seen seen = {jv_object(), jv_object()};
	struct sov_jsonl_writer *w = NULL;
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
	for (int i = optind; i < argc; i++) {
		struct stat st;
		char **files = NULL;
		size_t n = 0;

		if (strcmp(argv[i], "-") == 0 || stat(argv[i], &st) < 0 ||
		    !S_ISDIR(st.st_mode)) {
			/* a missing file is reported by the loader */
			validate_file(argv[i], &seen, w, &worst);
			continue;
		}
		if (wf_registry_list_dir(argv[i], &files, &n, &e) < 0) {
			note(&worst, &e);
			continue;
		}
		for (size_t j = 0; j < n; j++) {
			validate_file(files[j], &seen, w, &worst);
			free(files[j]);
		}
		free(files);
	}
	if (sov_jsonl_writer_close(w, &e) < 0)
		note(&worst, &e);
	w = NULL;
out:
	sov_jsonl_writer_close(w, NULL);
	jv_free(seen.names);
	jv_free(seen.hooks);
	return worst;
}
