/*
 * def_eval.c - what the fields of a definition mean when it runs, kept
 * next to the loader so that the format has one meaning: default inputs,
 * accepted statuses, retry delays (docs/workflow-format.md).
 */
#include <math.h>
#include <string.h>

#include "def.h"

const char *
wf_kind_name(enum wf_kind k)
{
	switch (k) {
	case WF_KIND_RUN:
		return "run";
	case WF_KIND_JQ:
		return "jq";
	case WF_KIND_HTTP:
		return "http";
	}
	return "?";
}

const char *
wf_method_name(enum wf_method m)
{
	switch (m) {
	case WF_METHOD_GET:
		return "GET";
	case WF_METHOD_POST:
		return "POST";
	case WF_METHOD_PUT:
		return "PUT";
	case WF_METHOD_PATCH:
		return "PATCH";
	case WF_METHOD_DELETE:
		return "DELETE";
	}
	return "?";
}

int
wf_http_accepts(const struct wf_http *h, long status)
{
	if (h->n_expect == 0)
		return status >= 200 && status <= 299;
	for (size_t i = 0; i < h->n_expect; i++)
		if (h->expect[i] == status)
			return 1;
	return 0;
}

/* Run p on ctx (consumed) when it was given; 1 when it was not (ctx is
 * then left to the caller). */
static int
given(const struct sov_jq_prog *p, jv *ctx, jv *out, struct sov_err *e)
{
	jv in;

	if (p->src == NULL)
		return 1;
	in = *ctx;
	*ctx = jv_invalid();
	if (p->q == NULL) {
		jv_free(in);
		*out = jv_invalid();
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "jq program not compiled (loaded with "
				   "WF_DEF_NO_COMPILE)");
	}
	return sov_jq_first(p->q, in, out, e);
}

/* obj[key] (obj consumed), null when obj has no such member; obj must
 * be an object or null, as jq's .key would have it. */
static int
member(jv obj, const char *key, jv *out, struct sov_err *e)
{
	jv_kind k = jv_get_kind(obj);

	*out = jv_null();
	if (k == JV_KIND_NULL)
		return 0;
	if (k != JV_KIND_OBJECT) {
		jv_free(obj);
		*out = jv_invalid();
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "cannot take \"%s\" of a non-object", key);
	}
	*out = jv_object_get(obj, jv_string(key));
	if (!jv_is_valid(*out))
		*out = jv_null(); /* a missing member */
	return 0;
}

int
wf_step_input(const struct wf_def *d, const struct wf_step *s, jv ctx, jv *out,
	      struct sov_err *e)
{
	jv steps;
	int rc = given(&s->act.input, &ctx, out, e);

	if (rc <= 0)
		return rc;
	if (s->n_needs >= 2) {
		*out = ctx; /* "." */
		return 0;
	}
	if (s->n_needs == 0)
		return member(ctx, "input", out, e); /* ".input" */
	/* ".steps[NEED]" */
	if (member(ctx, "steps", &steps, e) < 0)
		return -1;
	return member(steps, d->steps[s->needs[0]].name, out, e);
}

int
wf_undo_input(const struct wf_step *s, jv ctx, jv *out, struct sov_err *e)
{
	int rc;

	if (s->undo == NULL) {
		jv_free(ctx);
		*out = jv_invalid();
		return sov_err_set(e, SOV_EXIT_FAIL, "step %s has no undo",
				   s->name);
	}
	rc = given(&s->undo->input, &ctx, out, e);
	if (rc <= 0)
		return rc;
	return member(ctx, "step", out, e); /* ".step" */
}

int64_t
wf_retry_delay_ms(const struct wf_retry *r, int attempt, double r01)
{
	double d;

	if (attempt < 2)
		return 0;
	d = (double)r->base_ms * pow(r->factor, attempt - 2);
	/* pow may overflow to inf; the cap handles it */
	if (!(d < (double)r->max_delay_ms))
		d = (double)r->max_delay_ms;
	if (r->jitter == WF_JITTER_FULL) {
		if (!(r01 >= 0) || r01 >= 1)
			r01 = 0;
		d *= r01;
	}
	return (int64_t)d;
}
