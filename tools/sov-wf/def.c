/*
 * def.c - loading a workflow definition: the document, its triggers and
 * its measure (steps are def_step.c, their order def_order.c). The format
 * is docs/workflow-format.md.
 */
#include <stdlib.h>
#include <string.h>

#include "def_int.h"
#include "fs.h"
#include "jsonl.h"

#define WEBHOOK_PREFIX "/hooks/"

struct trig_ctx {
	struct wf_trigger *t;
	unsigned kinds; /* bit k: kind k given */
	int input_given;
	int catch_up_given;
};

/* ---- triggers ---- */

static int
trig_cron(struct sov_jcheck *c, jv v, void *target)
{
	struct trig_ctx *tc = target;
	struct sov_err pe = {0};

	tc->kinds |= 1u << WF_TRIGGER_CRON;
	tc->t->kind = WF_TRIGGER_CRON;
	if (sov_jcheck_string(c, v, WF_CRON_TEXT_MAX - 1, &tc->t->cron_src) < 0)
		return -1;
	if (wf_cron_parse(tc->t->cron_src, &tc->t->cron, &pe) < 0)
		return sov_jcheck_fail(c, "%s", pe.msg);
	return 0;
}

static int
trig_enqueue(struct sov_jcheck *c, jv v, void *target)
{
	struct trig_ctx *tc = target;

	tc->kinds |= 1u << WF_TRIGGER_ENQUEUE;
	tc->t->kind = WF_TRIGGER_ENQUEUE;
	if (jv_get_kind(v) != JV_KIND_TRUE)
		return sov_jcheck_fail(c, "must be true (leave the trigger out "
					"to turn it off)");
	return 0;
}

static int
trig_input(struct sov_jcheck *c, jv v, void *target)
{
	struct trig_ctx *tc = target;

	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return sov_jcheck_fail(c, "must be an object, not %s",
				     sov_jcheck_kind(v));
	tc->input_given = 1;
	jv_free(tc->t->input);
	tc->t->input = jv_copy(v);
	return 0;
}

static int
trig_catch_up(struct sov_jcheck *c, jv v, void *target)
{
	struct trig_ctx *tc = target;
	jv_kind k = jv_get_kind(v);

	if (k != JV_KIND_TRUE && k != JV_KIND_FALSE)
		return sov_jcheck_fail(c, "must be true or false, not %s",
				       sov_jcheck_kind(v));
	tc->catch_up_given = 1;
	tc->t->catch_up = k == JV_KIND_TRUE;
	return 0;
}

static int
hook_path(struct sov_jcheck *c, jv v, void *target)
{
	struct wf_trigger *t = target;
	size_t plen = strlen(WEBHOOK_PREFIX);
	jv rest;
	const char *why;

	if (sov_jcheck_string(c, v, plen + WF_NAME_MAX, &t->path) < 0)
		return -1;
	if (strncmp(t->path, WEBHOOK_PREFIX, plen) != 0)
		return sov_jcheck_fail(c, "must be " WEBHOOK_PREFIX "NAME");
	rest = jv_string(t->path + plen);
	why = sov_jcheck_name_why(rest);
	jv_free(rest);
	if (why)
		return sov_jcheck_fail(c, "NAME in " WEBHOOK_PREFIX "NAME %s",
				     why);
	return 0;
}

static int
hook_secret_file(struct sov_jcheck *c, jv v, void *target)
{
	struct wf_trigger *t = target;

	if (sov_jcheck_string(c, v, WF_FILE_PATH_MAX, &t->secret_file) < 0)
		return -1;
	if (t->secret_file[0] != '/')
		return sov_jcheck_fail(c, "must be an absolute path");
	return 0;
}

static int
hook_secret_credential(struct sov_jcheck *c, jv v, void *target)
{
	struct wf_trigger *t = target;
	const char *s;

	if (sov_jcheck_string(c, v, WF_CREDENTIAL_MAX, &t->secret_credential) < 0)
		return -1;
	s = t->secret_credential;
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0 ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_.-") != strlen(s))
		return sov_jcheck_fail(c, "must be a credential name: letters, "
					"digits and _ . -");
	return 0;
}

static const struct sov_jfield hook_fields[] = {
    {"path", hook_path},
    {"secret_credential", hook_secret_credential},
    {"secret_file", hook_secret_file},
    {NULL, NULL},
};

static int
trig_webhook(struct sov_jcheck *c, jv v, void *target)
{
	struct trig_ctx *tc = target;
	struct wf_trigger *t = tc->t;

	tc->kinds |= 1u << WF_TRIGGER_WEBHOOK;
	t->kind = WF_TRIGGER_WEBHOOK;
	if (sov_jcheck_object(c, v, hook_fields, t) < 0)
		return -1;
	if (t->path == NULL) {
		sov_jcheck_push_name(c, "path");
		return sov_jcheck_fail(c, "required (" WEBHOOK_PREFIX "NAME)");
	}
	if ((t->secret_file == NULL) == (t->secret_credential == NULL))
		return sov_jcheck_fail(c, "needs exactly one of secret_file, "
					"secret_credential");
	return 0;
}

static const struct sov_jfield trigger_fields[] = {
    {"catch_up", trig_catch_up}, {"cron", trig_cron},
    {"enqueue", trig_enqueue},   {"input", trig_input},
    {"webhook", trig_webhook},   {NULL, NULL},
};

/* Triggers i and j (j < i) may not be the same way in. */
static int
trig_clash(struct sov_jcheck *c, const struct wf_def *d, size_t i)
{
	const struct wf_trigger *t = &d->triggers[i];

	for (size_t j = 0; j < i; j++) {
		const struct wf_trigger *o = &d->triggers[j];

		if (t->kind == WF_TRIGGER_ENQUEUE &&
		    o->kind == WF_TRIGGER_ENQUEUE)
			return sov_jcheck_fail(c,
					     "a second enqueue trigger "
					     "(triggers[%zu])",
					     j);
		if (t->kind == WF_TRIGGER_WEBHOOK &&
		    o->kind == WF_TRIGGER_WEBHOOK &&
		    strcmp(t->path, o->path) == 0) {
			sov_jcheck_push_name(c, "webhook");
			sov_jcheck_push_name(c, "path");
			return sov_jcheck_fail(c, "\"%s\" is also triggers[%zu]",
					     t->path, j);
		}
	}
	return 0;
}

static int
top_triggers(struct sov_jcheck *c, jv v, void *target)
{
	struct wf_def *d = target;
	int n;

	if (jv_get_kind(v) != JV_KIND_ARRAY)
		return sov_jcheck_fail(c, "must be an array of triggers, not %s",
				     sov_jcheck_kind(v));
	n = jv_array_length(jv_copy(v));
	if (n > WF_TRIGGERS_MAX)
		return sov_jcheck_fail(c, "more than %d triggers",
				     WF_TRIGGERS_MAX);
	d->triggers = calloc((size_t)n + 1, sizeof(*d->triggers));
	if (d->triggers == NULL)
		return sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
	/* all of them, so that wf_def_free may free any */
	for (int i = 0; i < n; i++)
		d->triggers[i].input = jv_object();
	d->n_triggers = (size_t)n;
	for (int i = 0; i < n; i++) {
		jv x = jv_array_get(jv_copy(v), i);
		struct wf_trigger *t = &d->triggers[i];
		struct trig_ctx tc = {t, 0, 0, 0};
		size_t old = sov_jcheck_push_index(c, i);
		unsigned kinds;
		int r;

		r = sov_jcheck_object(c, x, trigger_fields, &tc);
		jv_free(x);
		if (r < 0)
			return -1;
		kinds = tc.kinds >> 1 & 7; /* cron 1, webhook 2, enqueue 4 */
		if (kinds == 0 || (kinds & (kinds - 1)))
			return sov_jcheck_fail(c, "needs exactly one of cron, "
						"webhook, enqueue");
		if (tc.input_given && t->kind != WF_TRIGGER_CRON) {
			sov_jcheck_push_name(c, "input");
			return sov_jcheck_fail(c, "only a cron trigger takes an "
						"input");
		}
		if (tc.catch_up_given && t->kind != WF_TRIGGER_CRON) {
			sov_jcheck_push_name(c, "catch_up");
			return sov_jcheck_fail(c, "only a cron trigger catches "
						  "up");
		}
		if (trig_clash(c, d, (size_t)i) < 0)
			return -1;
		sov_jcheck_pop(c, old);
	}
	return 0;
}

/* ---- measure ---- */

static int
measure_human_minutes(struct sov_jcheck *c, jv v, void *target)
{
	struct wf_measure *m = target;

	return sov_jcheck_number(c, v, 0, WF_HUMAN_MINUTES_MAX,
			       &m->human_minutes);
}

static int
measure_tokens(struct sov_jcheck *c, jv v, void *target)
{
	return wf_check_prog(c, v, &((struct wf_measure *)target)->tokens);
}

static int
measure_cost(struct sov_jcheck *c, jv v, void *target)
{
	return wf_check_prog(c, v, &((struct wf_measure *)target)->cost);
}

static const struct sov_jfield measure_fields[] = {
    {"cost", measure_cost},
    {"human_minutes", measure_human_minutes},
    {"tokens", measure_tokens},
    {NULL, NULL},
};

/* ---- the document ---- */

static int
top_measure(struct sov_jcheck *c, jv v, void *target)
{
	return sov_jcheck_object(c, v, measure_fields,
			       &((struct wf_def *)target)->measure);
}

static int
top_name(struct sov_jcheck *c, jv v, void *target)
{
	return sov_jcheck_name(c, v, &((struct wf_def *)target)->name);
}

static int
top_version(struct sov_jcheck *c, jv v, void *target)
{
	return sov_jcheck_int(c, v, 1, WF_VERSION_MAX,
			    &((struct wf_def *)target)->version);
}

static int
top_description(struct sov_jcheck *c, jv v, void *target)
{
	return sov_jcheck_string(c, v, WF_DESCRIPTION_MAX,
			       &((struct wf_def *)target)->description);
}

static int
top_concurrency(struct sov_jcheck *c, jv v, void *target)
{
	return sov_jcheck_int(c, v, 1, WF_CONCURRENCY_MAX,
			    &((struct wf_def *)target)->concurrency);
}

static int
top_steps(struct sov_jcheck *c, jv v, void *target)
{
	struct wf_def *d = target;

	/* the order right away: a cycle is an error at "steps", before
	 * anything that sorts after it */
	if (wf_steps_check(c, v, d) < 0)
		return -1;
	return wf_order_build(c, d);
}

static const struct sov_jfield top_fields[] = {
    {"concurrency", top_concurrency},
    {"description", top_description},
    {"measure", top_measure},
    {"name", top_name},
    {"steps", top_steps},
    {"triggers", top_triggers},
    {"version", top_version},
    {NULL, NULL},
};

int
wf_check_prog(struct sov_jcheck *c, jv v, struct sov_jq_prog *p)
{
	if (c->flags & (SOV_JCHECK_NO_COMPILE | WF_DEF_EACH_ALONE))
		return sov_jcheck_jq(c, v, WF_JQ_MAX, jv_invalid(), &p->src,
				     &p->q);
	return sov_jcheck_jq_later(c, v, WF_JQ_MAX, p);
}

void
wf_def_free(struct wf_def *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; d->steps && i < d->n_steps; i++)
		wf_step_clear(&d->steps[i]);
	free(d->steps);
	for (size_t i = 0; d->triggers && i < d->n_triggers; i++) {
		struct wf_trigger *t = &d->triggers[i];

		free(t->cron_src);
		jv_free(t->input);
		free(t->path);
		free(t->secret_file);
		free(t->secret_credential);
	}
	free(d->triggers);
	free(d->order);
	sov_jq_prog_clear(&d->measure.tokens);
	sov_jq_prog_clear(&d->measure.cost);
	free(d->name);
	free(d->description);
	free(d->file);
	jv_free(d->json);
	free(d);
}

static void
each_action_prog(struct wf_action *a, void (*fn)(struct sov_jq_prog *, void *),
		 void *arg)
{
	struct sov_jq_prog *p[] = {&a->input, &a->jq, &a->http.body};

	for (size_t i = 0; i < sizeof(p) / sizeof(*p); i++)
		if (p[i]->src != NULL)
			fn(p[i], arg);
}

void
wf_def_each_prog(struct wf_def *d, void (*fn)(struct sov_jq_prog *, void *),
		 void *arg)
{
	for (size_t k = 0; k < d->n_steps; k++) {
		struct wf_step *s = &d->steps[d->order[k]];

		if (s->cond.src != NULL)
			fn(&s->cond, arg);
		each_action_prog(&s->act, fn, arg);
		if (s->undo != NULL)
			each_action_prog(s->undo, fn, arg);
	}
	if (d->measure.tokens.src != NULL)
		fn(&d->measure.tokens, arg);
	if (d->measure.cost.src != NULL)
		fn(&d->measure.cost, arg);
}

struct progs {
	struct sov_jq_prog **p;
	size_t n;
};

static void
count_prog(struct sov_jq_prog *p, void *arg)
{
	(void)p;
	((struct progs *)arg)->n++;
}

static void
list_prog(struct sov_jq_prog *p, void *arg)
{
	struct progs *l = arg;

	l->p[l->n++] = p;
}

/* Compile d's programs together; -1 (e set) when any does not compile. */
static int
compile_progs(struct wf_def *d, struct sov_err *e)
{
	struct progs l = {NULL, 0};
	int rc;

	wf_def_each_prog(d, count_prog, &l);
	if (l.n == 0)
		return 0;
	if ((l.p = calloc(l.n, sizeof(*l.p))) == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
	l.n = 0;
	wf_def_each_prog(d, list_prog, &l);
	rc = sov_jq_prog_compile_all(l.p, l.n, e);
	free(l.p);
	return rc;
}

static struct wf_def *
load_def(jv json, const char *file, int flags, struct sov_err *e)
{
	struct sov_jcheck c = {0};
	struct wf_def *d = calloc(1, sizeof(*d));
	const char *missing = NULL;

	if (d != NULL)
		d->json = jv_null();
	if (d == NULL || (d->file = strdup(file ? file : "-")) == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
		goto fail;
	}
	c.file = d->file;
	c.flags = flags;
	c.e = e;
	if (sov_jcheck_object(&c, json, top_fields, d) < 0)
		goto fail;
	/* required members, in the same sorted order */
	if (d->name == NULL)
		missing = "name";
	else if (d->steps == NULL)
		missing = "steps";
	else if (d->version == 0)
		missing = "version";
	if (missing) {
		sov_jcheck_push_name(&c, missing);
		sov_jcheck_fail(&c, "required");
		goto fail;
	}
	d->json = json;
	return d;
fail:
	jv_free(json);
	wf_def_free(d);
	return NULL;
}

struct wf_def *
wf_def_from_jv(jv json, const char *file, int flags, struct sov_err *e)
{
	/* Programs are compiled together once the structure is good. A
	 * definition that fails either way is loaded again compiling each
	 * program as it is read, so that its error is the first in document
	 * order, as it always was. */
	int together = !(flags & (WF_DEF_NO_COMPILE | WF_DEF_EACH_ALONE));
	jv again = together ? jv_copy(json) : jv_invalid();
	struct sov_err local = {0};
	struct wf_def *d;

	if (e == NULL)
		e = &local;
	d = load_def(json, file, flags, e);
	if (!together)
		return d;
	if (d != NULL && compile_progs(d, e) == 0) {
		jv_free(again);
		return d;
	}
	wf_def_free(d);
	if (e->code != SOV_EXIT_USAGE) { /* out of memory */
		jv_free(again);
		return NULL;
	}
	sov_err_clear(e);
	return load_def(again, file, flags | WF_DEF_EACH_ALONE, e);
}

struct wf_def *
wf_def_from_text(const char *text, size_t len, const char *file, int flags,
		 struct sov_err *e)
{
	jv json;

	if (len > WF_DEF_FILE_MAX) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: larger than %u bytes",
			    file ? file : "-", WF_DEF_FILE_MAX);
		return NULL;
	}
	json = sov_json_parse(text, len, e);
	if (!jv_is_valid(json)) {
		sov_err_prefix(e, "%s: ", file ? file : "-");
		return NULL;
	}
	return wf_def_from_jv(json, file, flags, e);
}

struct wf_def *
wf_def_load(const char *path, int flags, struct sov_err *e)
{
	const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
	struct wf_def *d;
	char *text = NULL;
	size_t len = 0;

	if (sov_file_read(path, WF_DEF_FILE_MAX, &text, &len, e) < 0)
		return NULL;
	d = wf_def_from_text(text, len, name, flags, e);
	free(text);
	return d;
}

long
wf_def_find(const struct wf_def *d, const char *name)
{
	size_t lo = 0, hi = d->n_steps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(d->steps[mid].name, name);

		if (cmp == 0)
			return (long)mid;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}
