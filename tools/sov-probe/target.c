/*
 * target.c - a targets file or directory into a set: the document's
 * members (alerts, defaults, targets), alerts, merging files, and what is
 * checked across them (a name defined twice, an alert nobody defined).
 * One target object is target_type.c.
 */
#include "target_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"
#include "json_dump.h"
#include "jsonl.h"

void
pr_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* The document being read: the set it adds to, and its own defaults. */
struct doc {
	struct pr_set *set;
	jv *alert_names; /* per target of the set, parallel to targets */
	size_t cap;
	struct pr_target defaults; /* timing, streaks, read_max, tags */
	struct pr_tctx dctx; /* .t is &defaults, .alerts the default alerts */
	const char *file; /* owned by set->files */
};

/* ---- alerts ---- */

struct alert_ctx {
	struct pr_alert *a;
};

static int
a_command(struct sov_jcheck *c, jv v, void *t)
{
	struct pr_alert *a = ((struct alert_ctx *)t)->a;
	int n;

	if (jv_get_kind(v) != JV_KIND_ARRAY ||
	    (n = jv_array_length(jv_copy(v))) < 1 || n > PR_ARGV_MAX)
		return sov_jcheck_fail(c, "must be an argv: an array of 1 to %d "
					  "strings",
				       PR_ARGV_MAX);
	pr_strv_free(a->command);
	a->command = calloc((size_t)n + 1, sizeof(char *));
	if (a->command == NULL)
		return sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
	for (int i = 0; i < n; i++) {
		size_t old = sov_jcheck_push_index(c, i);
		jv s = jv_array_get(jv_copy(v), i);
		int r = jv_get_kind(s) == JV_KIND_STRING
			    ? sov_jcheck_string(c, s, PR_ARG_MAX, &a->command[i])
			    : sov_jcheck_fail(c, "must be a string, not %s",
					      sov_jcheck_kind(s));

		jv_free(s);
		if (r < 0)
			return -1;
		sov_jcheck_pop(c, old);
	}
	return 0;
}

static int
a_webhook(struct sov_jcheck *c, jv v, void *t)
{
	struct pr_alert *a = ((struct alert_ctx *)t)->a;

	if (jv_get_kind(v) != JV_KIND_STRING)
		return sov_jcheck_fail(c, "must be a URL, not %s",
				       sov_jcheck_kind(v));
	free(a->webhook);
	a->webhook = NULL;
	if (sov_jcheck_string(c, v, PR_URL_MAX, &a->webhook) < 0)
		return -1;
	if (strncmp(a->webhook, "http://", 7) != 0 &&
	    strncmp(a->webhook, "https://", 8) != 0)
		return sov_jcheck_fail(c, "must start with http:// or "
					  "https://");
	return 0;
}

static int
a_headers(struct sov_jcheck *c, jv v, void *t)
{
	return pr_check_headers(c, v, &((struct alert_ctx *)t)->a->headers);
}

static int
a_enqueue(struct sov_jcheck *c, jv v, void *t)
{
	struct pr_alert *a = ((struct alert_ctx *)t)->a;

	free(a->enqueue);
	a->enqueue = NULL;
	return sov_jcheck_name(c, v, &a->enqueue);
}

static int
a_timeout(struct sov_jcheck *c, jv v, void *t)
{
	return sov_jcheck_duration(c, v, 100, 3600000,
				   &((struct alert_ctx *)t)->a->timeout_ms);
}

static const struct sov_jfield alert_fields[] = {
    {"command", a_command}, {"enqueue", a_enqueue}, {"headers", a_headers},
    {"timeout", a_timeout}, {"webhook", a_webhook}, {NULL, NULL},
};

static void
alert_clear(struct pr_alert *a)
{
	free(a->name);
	pr_strv_free(a->command);
	free(a->webhook);
	pr_strv_free(a->headers);
	free(a->enqueue);
}

static int
top_alerts(struct sov_jcheck *c, jv v, void *t)
{
	struct doc *d = t;
	struct pr_set *set = d->set;
	jv keys;
	int n, rc = -1;

	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return sov_jcheck_fail(c, "must be an object of alerts by "
					  "name, not %s",
				       sov_jcheck_kind(v));
	keys = jv_keys(jv_copy(v));
	n = jv_array_length(jv_copy(keys));
	if ((size_t)n > PR_ALERTS_MAX - set->nalerts) {
		sov_jcheck_fail(c, "more than %d alerts in all", PR_ALERTS_MAX);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		jv k = jv_array_get(jv_copy(keys), i);
		jv val = jv_object_get(jv_copy(v), jv_copy(k));
		size_t old = sov_jcheck_push_key(c, k);
		struct pr_alert *a, *grown;
		struct alert_ctx ac;
		const char *why = sov_jcheck_name_why(k);
		int r, kinds;

		grown = realloc(set->alerts, (set->nalerts + 1) * sizeof(*a));
		if (grown == NULL) {
			jv_free(k);
			jv_free(val);
			sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
			goto out;
		}
		set->alerts = grown;
		a = &set->alerts[set->nalerts++];
		memset(a, 0, sizeof(*a));
		a->timeout_ms = 30000;
		a->file = d->file;
		ac.a = a;
		if (why)
			r = sov_jcheck_fail(c, "an alert name %s", why);
		else if ((a->name = strdup(jv_string_value(k))) == NULL)
			r = sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
		else
			r = sov_jcheck_object(c, val, alert_fields, &ac);
		jv_free(k);
		jv_free(val);
		if (r < 0)
			goto out;
		kinds = !!a->command + !!a->webhook + !!a->enqueue;
		if (kinds != 1) {
			sov_jcheck_fail(c, "needs exactly one of command, "
					   "webhook and enqueue");
			goto out;
		}
		if (a->headers && !a->webhook) {
			sov_jcheck_fail(c, "headers need a webhook");
			goto out;
		}
		sov_jcheck_pop(c, old);
	}
	rc = 0;
out:
	jv_free(keys);
	return rc;
}

/* ---- defaults ---- */

static int
top_defaults(struct sov_jcheck *c, jv v, void *t)
{
	struct doc *d = t;

	/* the same fields and checks as a target's own */
	if (sov_jcheck_object(c, v, pr_default_fields, &d->dctx) < 0)
		return -1;
	return pr_check_timing(c, &d->dctx);
}

/* ---- targets ---- */

static void
target_clear(struct pr_target *t)
{
	free(t->name);
	free(t->description);
	jv_free(t->tags);
	free(t->alerts);
	switch (t->type) {
	case PR_HTTP:
		free(t->u.http.url);
		free(t->u.http.method);
		pr_strv_free(t->u.http.headers);
		free(t->u.http.body);
		free(t->u.http.contains);
		sov_jq_prog_clear(&t->u.http.cond);
		free(t->u.http.ca_file);
		break;
	case PR_TCP:
	case PR_TLS:
	case PR_ICMP:
		free(t->u.net.host);
		free(t->u.net.server_name);
		free(t->u.net.ca_file);
		break;
	case PR_DNS:
		free(t->u.dns.name);
		free(t->u.dns.server);
		pr_strv_free(t->u.dns.expect);
		break;
	case PR_DISK:
		free(t->u.disk.path);
		break;
	case PR_POSTGRES:
	case PR_SQLITE:
		free(t->u.db.url);
		free(t->u.db.url_file);
		free(t->u.db.query);
		free(t->u.db.jq_src);
		sov_jq_free(t->u.db.jq);
		break;
	case PR_COMMAND:
	case PR_BACKUP:
		pr_strv_free(t->u.cmd.argv);
		free(t->u.cmd.jq_src);
		sov_jq_free(t->u.cmd.jq);
		break;
	case PR_SYSTEMD:
		free(t->u.unit);
		break;
	case PR_WIREGUARD:
		free(t->u.wg.interface);
		pr_strv_free(t->u.wg.peers);
		break;
	}
	memset(t, 0, sizeof(*t));
	t->tags = jv_null();
}

/* Room for one more target (and its alert names). */
static struct pr_target *
add_target(struct doc *d, struct sov_err *e)
{
	struct pr_set *set = d->set;

	if (set->ntargets == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct pr_target *t = realloc(set->targets, cap * sizeof(*t));
		jv *names;

		if (t == NULL) {
			sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
			return NULL;
		}
		set->targets = t;
		names = realloc(d->alert_names, cap * sizeof(*names));
		if (names == NULL) {
			sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
			return NULL;
		}
		d->alert_names = names;
		d->cap = cap;
	}
	d->alert_names[set->ntargets] = jv_null();
	return &set->targets[set->ntargets++];
}

static int
top_targets(struct sov_jcheck *c, jv v, void *t)
{
	struct doc *d = t;
	jv keys;
	int n, rc = -1;

	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return sov_jcheck_fail(c, "must be an object of targets by "
					  "name, not %s",
				       sov_jcheck_kind(v));
	keys = jv_keys(jv_copy(v));
	n = jv_array_length(jv_copy(keys));
	if ((size_t)n > PR_TARGETS_MAX - d->set->ntargets) {
		sov_jcheck_fail(c, "more than %d targets in all",
				PR_TARGETS_MAX);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		jv k = jv_array_get(jv_copy(keys), i);
		jv val = jv_object_get(jv_copy(v), jv_copy(k));
		size_t old = sov_jcheck_push_key(c, k);
		const char *why = sov_jcheck_name_why(k);
		struct pr_target *tg = add_target(d, c->e);
		struct pr_tctx tc;
		int r;

		if (tg == NULL) {
			jv_free(k);
			jv_free(val);
			goto out;
		}
		memset(tg, 0, sizeof(*tg));
		tg->interval_ms = d->defaults.interval_ms;
		tg->timeout_ms = d->defaults.timeout_ms;
		tg->failures = d->defaults.failures;
		tg->successes = d->defaults.successes;
		tg->read_max = d->defaults.read_max;
		tg->tags = jv_copy(d->defaults.tags);
		tg->file = d->file;
		tc.t = tg;
		tc.alerts = jv_copy(d->dctx.alerts);
		tc.timeout_given = d->dctx.timeout_given;
		if (why)
			r = sov_jcheck_fail(c, "a target name %s", why);
		else if ((tg->name = strdup(jv_string_value(k))) == NULL)
			r = sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
		else
			r = pr_target_check(c, val, &tc);
		d->alert_names[d->set->ntargets - 1] = tc.alerts;
		jv_free(k);
		jv_free(val);
		if (r < 0)
			goto out;
		sov_jcheck_pop(c, old);
	}
	rc = 0;
out:
	jv_free(keys);
	return rc;
}

static const struct sov_jfield top_fields[] = {
    {"alerts", top_alerts},
    {"defaults", top_defaults},
    {"targets", top_targets},
    {NULL, NULL},
};

/* ---- files and the set ---- */

static void
doc_defaults(struct doc *d)
{
	jv_free(d->defaults.tags);
	jv_free(d->dctx.alerts);
	memset(&d->defaults, 0, sizeof(d->defaults));
	d->defaults.interval_ms = PR_INTERVAL_DEFAULT_MS;
	d->defaults.timeout_ms = PR_TIMEOUT_DEFAULT_MS;
	d->defaults.failures = PR_FAILURES_DEFAULT;
	d->defaults.successes = PR_SUCCESSES_DEFAULT;
	d->defaults.read_max = PR_READ_MAX_DEFAULT;
	d->defaults.tags = jv_object();
	d->dctx.t = &d->defaults;
	d->dctx.alerts = jv_null();
	d->dctx.timeout_given = 0;
}

static int
remember_file(struct pr_set *set, const char *file, struct sov_err *e)
{
	char **files = realloc(set->files, (set->nfiles + 1) * sizeof(char *));

	if (files == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
	set->files = files;
	if ((files[set->nfiles] = strdup(file)) == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
	set->nfiles++;
	return 0;
}

/* One document (consumed) of file into the set. */
static int
doc_read(struct doc *d, jv json, const char *file, int flags,
	 struct sov_err *e)
{
	struct sov_jcheck c = {0};
	int rc;

	if (remember_file(d->set, file, e) < 0) {
		jv_free(json);
		return -1;
	}
	d->file = d->set->files[d->set->nfiles - 1];
	doc_defaults(d);
	c.file = d->file;
	c.flags = flags;
	c.e = e;
	rc = sov_jcheck_object(&c, json, top_fields, d);
	jv_free(json);
	return rc;
}

static int
doc_text(struct doc *d, const char *text, size_t len, const char *file,
	 int flags, struct sov_err *e)
{
	jv json;

	if (len > PR_FILE_MAX)
		return sov_err_set(e, SOV_EXIT_USAGE, "%s: larger than %u bytes",
				   file, PR_FILE_MAX);
	json = sov_json_parse(text, len, e);
	if (!jv_is_valid(json)) {
		jv_free(json);
		return sov_err_prefix(e, "%s: ", file);
	}
	return doc_read(d, json, file, flags, e);
}

static int
doc_file(struct doc *d, const char *path, int flags, struct sov_err *e)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (sov_file_read(path, PR_FILE_MAX, &text, &len, e) < 0)
		return -1;
	rc = doc_text(d, text, len, strcmp(path, "-") ? path : "stdin", flags,
		      e);
	free(text);
	return rc;
}

static int
json_name(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return de->d_name[0] != '.' && n > 5 &&
	       strcmp(de->d_name + n - 5, ".json") == 0;
}

static int
doc_dir(struct doc *d, const char *dir, int flags, struct sov_err *e)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, json_name, alphasort), rc = -1;

	if (n < 0)
		return sov_err_sys(e, sov_exit_code_open(errno), "%s", dir);
	if (n > PR_FILES_MAX) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: more than %d files", dir,
			    PR_FILES_MAX);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		char path[PR_PATH_MAX + 256];
		int w = snprintf(path, sizeof(path), "%s/%s", dir,
				 list[i]->d_name);

		if (w < 0 || (size_t)w >= sizeof(path)) {
			sov_err_set(e, SOV_EXIT_USAGE, "%s: name too long",
				    dir);
			goto out;
		}
		if (doc_file(d, path, flags, e) < 0)
			goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return rc;
}

static int
by_target_name(const void *a, const void *b)
{
	return strcmp(((const struct pr_target *)a)->name,
		      ((const struct pr_target *)b)->name);
}

static int
by_alert_name(const void *a, const void *b)
{
	return strcmp(((const struct pr_alert *)a)->name,
		      ((const struct pr_alert *)b)->name);
}

/* Each target's alert names into indexes; a name nobody defined is an
 * error at the target. Targets are still in the order read. */
static int
resolve_alerts(struct doc *d, struct sov_err *e)
{
	struct pr_set *set = d->set;

	for (size_t i = 0; i < set->ntargets; i++) {
		struct pr_target *t = &set->targets[i];
		jv names = d->alert_names[i];
		int n = jv_get_kind(names) == JV_KIND_ARRAY
			    ? jv_array_length(jv_copy(names))
			    : 0;

		if (n == 0)
			continue;
		t->alerts = calloc((size_t)n, sizeof(size_t));
		if (t->alerts == NULL)
			return sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
		for (int j = 0; j < n; j++) {
			jv s = jv_array_get(jv_copy(names), j);
			struct pr_alert key = {0}, *a;

			key.name = (char *)jv_string_value(s);
			a = set->nalerts == 0 ? NULL : bsearch(&key, set->alerts, set->nalerts,
				    sizeof(key), by_alert_name);
			if (a == NULL) {
				sov_err_set(e, SOV_EXIT_USAGE,
					    "%s: targets.%s.alerts[%d]: no "
					    "alert named \"%s\" is defined",
					    t->file, t->name, j, key.name);
				jv_free(s);
				return -1;
			}
			jv_free(s);
			t->alerts[t->nalerts++] = (size_t)(a - set->alerts);
		}
	}
	return 0;
}

static int
set_finish(struct doc *d, struct sov_err *e)
{
	struct pr_set *set = d->set;

	if (set->nalerts > 1)
		qsort(set->alerts, set->nalerts, sizeof(*set->alerts),
		      by_alert_name);
	for (size_t i = 1; i < set->nalerts; i++)
		if (!strcmp(set->alerts[i - 1].name, set->alerts[i].name))
			return sov_err_set(
			    e, SOV_EXIT_USAGE,
			    "alert \"%s\" is defined twice: in %s and %s",
			    set->alerts[i].name, set->alerts[i - 1].file,
			    set->alerts[i].file);
	if (resolve_alerts(d, e) < 0)
		return -1;
	if (set->ntargets > 1)
		qsort(set->targets, set->ntargets, sizeof(*set->targets),
		      by_target_name);
	for (size_t i = 1; i < set->ntargets; i++)
		if (!strcmp(set->targets[i - 1].name, set->targets[i].name))
			return sov_err_set(
			    e, SOV_EXIT_USAGE,
			    "target \"%s\" is defined twice: in %s and %s",
			    set->targets[i].name, set->targets[i - 1].file,
			    set->targets[i].file);
	return 0;
}

static void
doc_free(struct doc *d)
{
	for (size_t i = 0; d->alert_names && i < d->set->ntargets; i++)
		jv_free(d->alert_names[i]);
	free(d->alert_names);
	jv_free(d->defaults.tags);
	jv_free(d->dctx.alerts);
}

void
pr_set_free(struct pr_set *set)
{
	for (size_t i = 0; i < set->ntargets; i++)
		target_clear(&set->targets[i]);
	free(set->targets);
	for (size_t i = 0; i < set->nalerts; i++)
		alert_clear(&set->alerts[i]);
	free(set->alerts);
	for (size_t i = 0; i < set->nfiles; i++)
		free(set->files[i]);
	free(set->files);
	memset(set, 0, sizeof(*set));
}

static int
load(struct pr_set *set, int (*read)(struct doc *, const void *, int,
				     struct sov_err *),
     const void *arg, int flags, struct sov_err *e)
{
	struct doc d = {0};
	int rc;

	memset(set, 0, sizeof(*set));
	d.set = set;
	d.defaults.tags = jv_null();
	d.dctx.alerts = jv_null();
	rc = read(&d, arg, flags, e);
	if (rc == 0)
		rc = set_finish(&d, e);
	doc_free(&d);
	if (rc == 0 && !(flags & (PR_LOAD_NO_COMPILE | PR_LOAD_EACH_ALONE)) &&
	    pr_set_compile(set, e) < 0) {
		/* Again, compiling each as it is read: jq's own message, and
		 * the first bad program in document order. */
		pr_set_free(set);
		return load(set, read, arg, flags | PR_LOAD_EACH_ALONE, e);
	}
	if (rc < 0)
		pr_set_free(set);
	return rc;
}

static int
read_path(struct doc *d, const void *arg, int flags, struct sov_err *e)
{
	const char *path = arg;
	struct stat st;

	if (strcmp(path, "-") != 0 && stat(path, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		return doc_dir(d, path, flags, e);
	return doc_file(d, path, flags, e);
}

int
pr_set_load(const char *path, int flags, struct pr_set *set,
	    struct sov_err *e)
{
	return load(set, read_path, path, flags, e);
}

struct text_arg {
	const char *text;
	size_t len;
	const char *file;
};

static int
read_text(struct doc *d, const void *arg, int flags, struct sov_err *e)
{
	const struct text_arg *a = arg;

	return doc_text(d, a->text, a->len, a->file, flags, e);
}

int
pr_set_from_text(const char *text, size_t len, const char *file, int flags,
		 struct pr_set *set, struct sov_err *e)
{
	struct text_arg a = {text, len, file ? file : "-"};

	return load(set, read_text, &a, flags, e);
}

const struct pr_target *
pr_set_find(const struct pr_set *set, const char *name)
{
	struct pr_target key = {0};

	key.name = (char *)name;
	if (set->ntargets == 0)
		return NULL;
	return bsearch(&key, set->targets, set->ntargets, sizeof(key),
		       by_target_name);
}
