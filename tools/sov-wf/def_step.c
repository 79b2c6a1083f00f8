/*
 * def_step.c - the steps of a workflow definition: what each does (run,
 * jq or http, and its undo), when (needs, if), with what (input), and how
 * hard to try (retry, timeout, output_max). The format is in
 * docs/workflow-format.md.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "def_int.h"

/* The names of all steps: the sorted keys of "steps", for needs. */
struct names {
	jv keys; /* borrowed */
	int n;
};

/* An action being read: which of run, jq, http were given. */
struct act_ctx {
	struct wf_action *a;
	unsigned kinds; /* bit k: kind k given */
};

struct step_ctx {
	const struct names *names;
	struct wf_step *s;
	struct act_ctx act;
};

struct retry_ctx {
	struct wf_retry *r;
	int base_given, max_given;
};

/* ---- run, jq, http, input: the parts of an action ---- */

/* run[i] (borrowed) into a->argv[i]. */
static int
run_arg(struct sov_jcheck *c, jv arg, int i, struct wf_action *a)
{
	const char *s;
	size_t len;

	if (jv_get_kind(arg) != JV_KIND_STRING)
		return sov_jcheck_fail(c, "must be a string, not %s",
				     sov_jcheck_kind(arg));
	s = jv_string_value(arg);
	len = (size_t)jv_string_length_bytes(jv_copy(arg));
	if (len > WF_ARG_MAX)
		return sov_jcheck_fail(c, "longer than %d bytes", WF_ARG_MAX);
	if (strlen(s) != len)
		return sov_jcheck_fail(c, "contains a NUL character");
	/* argv[0]: absolute, or a name looked up in PATH when run; a
	 * relative path would depend on the worker's directory */
	if (i == 0 && len == 0)
		return sov_jcheck_fail(c, "must name a command");
	if (i == 0 && s[0] != '/' && strchr(s, '/') != NULL)
		return sov_jcheck_fail(c, "must be an absolute path or a command "
					"name found in PATH, not a relative "
					"path");
	a->argv[i] = strdup(s);
	if (a->argv[i] == NULL)
		return sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
	a->argc++;
	return 0;
}

static int
act_run(struct sov_jcheck *c, jv v, void *t)
{
	struct act_ctx *ac = t;
	struct wf_action *a = ac->a;
	int n;

	ac->kinds |= 1u << WF_KIND_RUN;
	if (jv_get_kind(v) != JV_KIND_ARRAY)
		return sov_jcheck_fail(c,
				     "must be an array of strings (the "
				     "command and its arguments), not %s",
				     sov_jcheck_kind(v));
	n = jv_array_length(jv_copy(v));
	if (n < 1 || n > WF_ARGV_MAX)
		return sov_jcheck_fail(c, "must have 1 to %d entries, not %d",
				     WF_ARGV_MAX, n);
	a->argv = calloc((size_t)n + 1, sizeof(*a->argv));
	if (a->argv == NULL)
		return sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
	for (int i = 0; i < n; i++) {
		jv arg = jv_array_get(jv_copy(v), i);
		size_t old = sov_jcheck_push_index(c, i);
		int rc = run_arg(c, arg, i, a);

		jv_free(arg);
		if (rc < 0)
			return -1;
		sov_jcheck_pop(c, old);
	}
	a->kind = WF_KIND_RUN;
	return 0;
}

static int
act_jq(struct sov_jcheck *c, jv v, void *t)
{
	struct act_ctx *ac = t;

	ac->kinds |= 1u << WF_KIND_JQ;
	ac->a->kind = WF_KIND_JQ;
	return wf_check_prog(c, v, &ac->a->jq);
}

static int
act_input(struct sov_jcheck *c, jv v, void *t)
{
	struct act_ctx *ac = t;

	return wf_check_prog(c, v, &ac->a->input);
}

static int
act_http(struct sov_jcheck *c, jv v, void *t)
{
	struct act_ctx *ac = t;

	ac->kinds |= 1u << WF_KIND_HTTP;
	ac->a->kind = WF_KIND_HTTP;
	return wf_http_check(c, v, &ac->a->http);
}

/* Exactly one of run, jq, http was given. */
static int
one_kind(struct sov_jcheck *c, unsigned kinds)
{
	static const char *const both[8] = {
	    NULL, NULL,           NULL,          "run and jq",
	    NULL, "run and http", "jq and http", "run, jq and http",
	};
	unsigned bits = kinds >> 1 & 7; /* run 1, jq 2, http 4 */

	if (bits == 0)
		return sov_jcheck_fail(c, "needs one of run, jq, http");
	if (bits & (bits - 1))
		return sov_jcheck_fail(c, "has %s: a step does one of them",
				     both[bits]);
	return 0;
}

static const struct sov_jfield undo_fields[] = {
    {"http", act_http}, {"input", act_input}, {"jq", act_jq},
    {"run", act_run},   {NULL, NULL},
};

static void
action_clear(struct wf_action *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; a->argv && i < a->argc; i++)
		free(a->argv[i]);
	free(a->argv);
	sov_jq_prog_clear(&a->jq);
	sov_jq_prog_clear(&a->input);
	free(a->http.url);
	jv_free(a->http.headers);
	sov_jq_prog_clear(&a->http.body);
	memset(a, 0, sizeof(*a));
}

/* ---- the step's own fields ---- */

static int
step_run(struct sov_jcheck *c, jv v, void *t)
{
	return act_run(c, v, &((struct step_ctx *)t)->act);
}

static int
step_jq(struct sov_jcheck *c, jv v, void *t)
{
	return act_jq(c, v, &((struct step_ctx *)t)->act);
}

static int
step_http(struct sov_jcheck *c, jv v, void *t)
{
	return act_http(c, v, &((struct step_ctx *)t)->act);
}

static int
step_input(struct sov_jcheck *c, jv v, void *t)
{
	return act_input(c, v, &((struct step_ctx *)t)->act);
}

static int
step_if(struct sov_jcheck *c, jv v, void *t)
{
	return wf_check_prog(c, v, &((struct step_ctx *)t)->s->cond);
}

static int
step_undo(struct sov_jcheck *c, jv v, void *t)
{
	struct wf_step *s = ((struct step_ctx *)t)->s;
	struct act_ctx ac;

	s->undo = calloc(1, sizeof(*s->undo));
	if (s->undo == NULL)
		return sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
	s->undo->http.headers = jv_null();
	ac.a = s->undo;
	ac.kinds = 0;
	if (sov_jcheck_object(c, v, undo_fields, &ac) < 0)
		return -1;
	return one_kind(c, ac.kinds);
}

static int
step_timeout(struct sov_jcheck *c, jv v, void *t)
{
	return sov_jcheck_duration(c, v, 1, WF_TIMEOUT_MAX_MS,
				 &((struct step_ctx *)t)->s->timeout_ms);
}

static int
step_output_max(struct sov_jcheck *c, jv v, void *t)
{
	long n;

	if (sov_jcheck_int(c, v, 1, WF_OUTPUT_MAX_LIMIT, &n) < 0)
		return -1;
	((struct step_ctx *)t)->s->output_max = (size_t)n;
	return 0;
}

static int
retry_attempts(struct sov_jcheck *c, jv v, void *t)
{
	long n;

	if (sov_jcheck_int(c, v, 1, WF_RETRY_ATTEMPTS_MAX, &n) < 0)
		return -1;
	((struct retry_ctx *)t)->r->attempts = (int)n;
	return 0;
}

static int
retry_base(struct sov_jcheck *c, jv v, void *t)
{
	struct retry_ctx *rc = t;

	rc->base_given = 1;
	return sov_jcheck_duration(c, v, 1, WF_RETRY_BASE_MAX_MS,
				 &rc->r->base_ms);
}

static int
retry_factor(struct sov_jcheck *c, jv v, void *t)
{
	return sov_jcheck_number(c, v, 1, WF_RETRY_FACTOR_MAX,
			       &((struct retry_ctx *)t)->r->factor);
}

static int
retry_max_delay(struct sov_jcheck *c, jv v, void *t)
{
	struct retry_ctx *rc = t;

	rc->max_given = 1;
	return sov_jcheck_duration(c, v, 1, WF_RETRY_MAX_DELAY_MAX_MS,
				 &rc->r->max_delay_ms);
}

static int
retry_jitter(struct sov_jcheck *c, jv v, void *t)
{
	struct wf_retry *r = ((struct retry_ctx *)t)->r;

	if (jv_get_kind(v) == JV_KIND_STRING &&
	    strcmp(jv_string_value(v), "full") == 0)
		r->jitter = WF_JITTER_FULL;
	else if (jv_get_kind(v) == JV_KIND_STRING &&
		 strcmp(jv_string_value(v), "none") == 0)
		r->jitter = WF_JITTER_NONE;
	else
		return sov_jcheck_fail(c, "must be \"full\" or \"none\"");
	return 0;
}

static const struct sov_jfield retry_fields[] = {
    {"attempts", retry_attempts},   {"base", retry_base},
    {"factor", retry_factor},       {"jitter", retry_jitter},
    {"max_delay", retry_max_delay}, {NULL, NULL},
};

static int
step_retry(struct sov_jcheck *c, jv v, void *t)
{
	struct retry_ctx rc = {&((struct step_ctx *)t)->s->retry, 0, 0};
	char a[32], b[32];

	if (sov_jcheck_object(c, v, retry_fields, &rc) < 0)
		return -1;
	if (rc.r->max_delay_ms >= rc.r->base_ms)
		return 0;
	/* blame the one that was written down (max_delay if both were) */
	sov_jcheck_push_name(c, rc.max_given ? "max_delay" : "base");
	return sov_jcheck_fail(
	    c, "max_delay (%s) must not be less than base (%s)",
	    sov_jcheck_ms(rc.r->max_delay_ms, b), sov_jcheck_ms(rc.r->base_ms, a));
}

/* The index of name among the step names, or -1. */
static int
find_name(const struct names *nm, const char *name)
{
	int lo = 0, hi = nm->n - 1;
	size_t len = strlen(name);

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2, cmp;
		jv k = jv_array_get(jv_copy(nm->keys), mid);
		size_t klen = (size_t)jv_string_length_bytes(jv_copy(k));

		/* jq's key order: bytes, then length */
		cmp = memcmp(jv_string_value(k), name, klen < len ? klen : len);
		if (cmp == 0)
			cmp = (klen > len) - (klen < len);
		jv_free(k);
		if (cmp == 0)
			return mid;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* A step name near name, to suggest; NULL when none is near. */
static const char *
near_name(const struct names *nm, const char *name, jv *hold)
{
	size_t best = 3;

	*hold = jv_null();
	for (int i = 0; i < nm->n; i++) {
		jv k = jv_array_get(jv_copy(nm->keys), i);
		size_t d = sov_cli_distance(jv_string_value(k), name);

		if (d < best) {
			best = d;
			jv_free(*hold);
			*hold = k;
		} else {
			jv_free(k);
		}
	}
	return jv_get_kind(*hold) == JV_KIND_STRING ? jv_string_value(*hold)
						    : NULL;
}

/* needs[i] (borrowed): a step's name, not this step's, not twice. */
static int
need_one(struct sov_jcheck *c, jv x, const struct step_ctx *sc)
{
	struct wf_step *s = sc->s;
	const char *why = sov_jcheck_name_why(x), *near;
	jv hold;
	int k;

	if (why)
		return sov_jcheck_fail(c, "%s", why);
	k = find_name(sc->names, jv_string_value(x));
	if (k < 0) {
		near = near_name(sc->names, jv_string_value(x), &hold);
		if (near)
			sov_jcheck_fail(c,
				      "\"%s\" names no step (did you mean "
				      "\"%s\"?)",
				      jv_string_value(x), near);
		else
			sov_jcheck_fail(c, "\"%s\" names no step",
				      jv_string_value(x));
		jv_free(hold);
		return -1;
	}
	if ((size_t)k == s->index)
		return sov_jcheck_fail(c, "a step cannot need itself");
	for (size_t j = 0; j < s->n_needs; j++)
		if (s->needs[j] == (size_t)k)
			return sov_jcheck_fail(c, "\"%s\" is listed twice",
					     jv_string_value(x));
	s->needs[s->n_needs++] = (size_t)k;
	return 0;
}

static int
step_needs(struct sov_jcheck *c, jv v, void *t)
{
	struct step_ctx *sc = t;
	struct wf_step *s = sc->s;
	int n;

	if (jv_get_kind(v) != JV_KIND_ARRAY)
		return sov_jcheck_fail(c,
				     "must be an array of step names, not %s",
				     sov_jcheck_kind(v));
	n = jv_array_length(jv_copy(v));
	if (n > WF_STEPS_MAX)
		return sov_jcheck_fail(c, "more than %d entries", WF_STEPS_MAX);
	s->needs = calloc((size_t)n + 1, sizeof(*s->needs));
	if (s->needs == NULL)
		return sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
	for (int i = 0; i < n; i++) {
		jv x = jv_array_get(jv_copy(v), i);
		size_t old = sov_jcheck_push_index(c, i);
		int rc = need_one(c, x, sc);

		jv_free(x);
		if (rc < 0)
			return -1;
		sov_jcheck_pop(c, old);
	}
	/* ascending, so that the order and the graph are the same however
	 * needs was written */
	for (size_t i = 1; i < s->n_needs; i++)
		for (size_t j = i; j > 0 && s->needs[j - 1] > s->needs[j];
		     j--) {
			size_t tmp = s->needs[j];

			s->needs[j] = s->needs[j - 1];
			s->needs[j - 1] = tmp;
		}
	return 0;
}

static const struct sov_jfield step_fields[] = {
    {"http", step_http},
    {"if", step_if},
    {"input", step_input},
    {"jq", step_jq},
    {"needs", step_needs},
    {"output_max", step_output_max},
    {"retry", step_retry},
    {"run", step_run},
    {"timeout", step_timeout},
    {"undo", step_undo},
    {NULL, NULL},
};

/* Every step starts so: wf_step_clear may then free any of them. */
static void
step_defaults(struct wf_step *s)
{
	s->act.http.headers = jv_null();
	s->timeout_ms = WF_TIMEOUT_DEFAULT_MS;
	s->output_max = WF_OUTPUT_MAX_DEFAULT;
	s->retry.attempts = WF_RETRY_ATTEMPTS_DEFAULT;
	s->retry.base_ms = WF_RETRY_BASE_DEFAULT_MS;
	s->retry.factor = WF_RETRY_FACTOR_DEFAULT;
	s->retry.max_delay_ms = WF_RETRY_MAX_DELAY_DEFAULT_MS;
	s->retry.jitter = WF_JITTER_FULL;
}

void
wf_step_clear(struct wf_step *s)
{
	free(s->name);
	free(s->needs);
	sov_jq_prog_clear(&s->cond);
	action_clear(&s->act);
	action_clear(s->undo);
	free(s->undo);
	memset(s, 0, sizeof(*s));
}

/* Step i of the sorted names: its key (borrowed) and object. */
static int
step_one(struct sov_jcheck *c, const struct names *nm, jv key, jv v,
	 struct wf_step *s)
{
	struct step_ctx sc = {nm, s, {&s->act, 0}};
	const char *why = sov_jcheck_name_why(key);

	if (why)
		return sov_jcheck_fail(c, "step name %s", why);
	if (sov_jcheck_string(c, key, WF_NAME_MAX, &s->name) < 0 ||
	    sov_jcheck_object(c, v, step_fields, &sc) < 0 ||
	    one_kind(c, sc.act.kinds) < 0)
		return -1;
	/* no needs: an empty list all the same, never NULL */
	if (s->needs == NULL &&
	    (s->needs = calloc(1, sizeof(*s->needs))) == NULL)
		return sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
	return 0;
}

int
wf_steps_check(struct sov_jcheck *c, jv steps, struct wf_def *d)
{
	struct names nm;
	int rc = -1;

	if (jv_get_kind(steps) != JV_KIND_OBJECT)
		return sov_jcheck_fail(c,
				     "must be an object of step names to "
				     "steps, not %s",
				     sov_jcheck_kind(steps));
	nm.keys = jv_keys(jv_copy(steps));
	nm.n = jv_array_length(jv_copy(nm.keys));
	if (nm.n < 1 || nm.n > WF_STEPS_MAX) {
		sov_jcheck_fail(c, "must have 1 to %d steps, not %d",
			      WF_STEPS_MAX, nm.n);
		goto out;
	}
	d->steps = calloc((size_t)nm.n, sizeof(*d->steps));
	if (d->steps == NULL) {
		sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
		goto out;
	}
	d->n_steps = (size_t)nm.n;
	for (int i = 0; i < nm.n; i++)
		step_defaults(&d->steps[i]);
	for (int i = 0; i < nm.n; i++) {
		jv k = jv_array_get(jv_copy(nm.keys), i);
		jv v = jv_object_get(jv_copy(steps), jv_copy(k));
		size_t old = sov_jcheck_push_key(c, k);
		int r;

		d->steps[i].index = (size_t)i;
		r = step_one(c, &nm, k, v, &d->steps[i]);
		jv_free(k);
		jv_free(v);
		if (r < 0)
			goto out;
		sov_jcheck_pop(c, old);
	}
	rc = 0;
out:
	jv_free(nm.keys);
	return rc;
}
