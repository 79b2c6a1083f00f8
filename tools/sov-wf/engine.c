/*
 * engine.c - one attempt of one step (engine.h).
 */
#include "engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "jqwatch.h"
#include "timestamp.h"

int
wf_engine_init(struct wf_engine *g, struct sov_store *st, struct sov_err *e)
{
	memset(g, 0, sizeof(*g));
	g->st = st;
	g->cache = wf_cache_new(e);
	if (!g->cache)
		return -1;
	g->exec = wf_exec_new(e);
	if (!g->exec) {
		wf_cache_free(g->cache);
		g->cache = NULL;
		return -1;
	}
	return 0;
}

void
wf_engine_clear(struct wf_engine *g)
{
	wf_exec_free(g->exec);
	wf_cache_free(g->cache);
	memset(g, 0, sizeof(*g));
}

static void verdict(struct wf_done *dn, enum wf_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
verdict(struct wf_done *dn, enum wf_verdict v, const char *fmt, ...)
{
	va_list ap;
	char buf[WF_ERROR_MAX];

	dn->verdict = v;
	if (!fmt)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(dn->error);
	dn->error = strdup(buf); /* NULL on no memory: recorded without */
}

/* {"input", "steps": outputs of s's ancestors} */
static jv
context(const struct wf_def *d, const struct wf_step *s,
	const struct wf_claim *c)
{
	jv steps = jv_object();

	for (size_t i = 0; i < d->n_steps; i++) {
		if (!(s->ancestors[i / 64] >> (i % 64) & 1))
			continue;
		jv out = jv_object_get(jv_copy(c->outputs),
				       jv_string(d->steps[i].name));

		if (!jv_is_valid(out)) { /* not recorded: treat as skipped */
			jv_free(out);
			out = jv_null();
		}
		steps = jv_object_set(steps, jv_string(d->steps[i].name), out);
	}
	return JV_OBJECT(jv_string("input"), jv_copy(c->input),
			 jv_string("steps"), steps);
}

static double
random01(void)
{
	return (double)randombytes_random() / 4294967296.0;
}

/* A program of the step (if, input) that failed: a timeout is retried
 * like the step's own, anything else fails the step for good. */
static void
program_failed(struct wf_done *dn, const struct wf_step *s,
	       const struct wf_claim *c, const char *what,
	       const struct sov_err *e)
{
	if (e->code != SOV_EXIT_TEMPFAIL) {
		verdict(dn, WF_V_FAIL, "%s: %s", what, e->msg);
		return;
	}
	verdict(dn, WF_V_RETRY, "timed out after %lld ms (%s: %s)",
		(long long)s->timeout_ms, what, e->msg);
	dn->retry_at = sov_time_now_ms() +
		       wf_retry_delay_ms(&s->retry, c->attempt + 1, random01());
}

static void
run_step(struct wf_engine *g, struct wf_claim *c, struct wf_done *dn)
{
	struct sov_err e = {0};
	const struct wf_def *d;
	const struct wf_step *s;
	const struct wf_action *act;
	struct wf_result r;
	struct wf_exec_call call;
	char key[WF_NAME_MAX * 2 + 64];
	jv ctx, input = jv_invalid();
	long k;
	int truth;
	int64_t t0 = sov_time_mono_ms();

	memset(dn, 0, sizeof(*dn));
	dn->claim = c;
	dn->input = jv_null();
	dn->output = jv_null();
	dn->exit_code = -1;
	dn->verdict = WF_V_RETRY;
	dn->retry_at = sov_time_now_ms();
	d = wf_cache_get(g->cache, g->st, c->def_id, &e);
	if (!d) {
		int64_t wait = 1000;

		/* The definition is unreadable (store trouble) or does not
		 * compile on this host's jq. Without it there is no retry
		 * policy: again after a second, doubling up to an hour,
		 * until it loads. */
		verdict(dn, WF_V_RETRY, "definition %s: %s", c->def_id, e.msg);
		for (int i = 1; i < c->attempt && wait < 3600000; i++)
			wait *= 2;
		dn->retry_at += wait < 3600000 ? wait : 3600000;
		return;
	}
	dn->def = d;
	k = wf_def_find(d, c->step);
	if (k < 0) {
		verdict(dn, WF_V_FAIL, "no step %s in %s", c->step, d->name);
		return;
	}
	s = &d->steps[k];
	/* The step's timeout covers its jq programs too (lib/jqwatch.h):
	 * its if, its input and a jq action; a command or a request has its
	 * own timer besides. */
	sov_jq_deadline(t0 + s->timeout_ms);
	if (c->attempt > s->retry.attempts) {
		/* Claims lost with their workers used the attempts up. */
		verdict(dn, WF_V_FAIL,
			"attempt %d of %d: the earlier ones "
			"were lost with their workers",
			c->attempt, s->retry.attempts);
		return;
	}
	ctx = context(d, s, c);
	if (!c->undo) {
		if (s->cond.q) {
			if (sov_jq_test(s->cond.q, jv_copy(ctx), &truth, &e) <
			    0) {
				jv_free(ctx);
				program_failed(dn, s, c, "if", &e);
				return;
			}
			if (!truth) {
				jv_free(ctx);
				verdict(dn, WF_V_SKIPPED, NULL);
				return;
			}
		}
		if (wf_step_input(d, s, ctx, &input, &e) < 0) {
			program_failed(dn, s, c, "input", &e);
			return;
		}
		act = &s->act;
	} else {
		/* Separate statements: the order in which arguments are
		 * evaluated is not fixed, and each get consumes its key. */
		jv in = jv_object_get(jv_copy(c->inputs), jv_string(s->name));
		jv out = jv_object_get(jv_copy(c->outputs), jv_string(s->name));

		ctx = jv_object_set(
		    ctx, jv_string("step"),
		    JV_OBJECT(jv_string("input"),
			      jv_is_valid(in) ? in : (jv_free(in), jv_null()),
			      jv_string("output"),
			      jv_is_valid(out) ? out
					       : (jv_free(out), jv_null())));
		if (!s->undo) {
			jv_free(ctx);
			verdict(dn, WF_V_FAIL, "undo input: no undo");
			return;
		}
		if (wf_undo_input(s, ctx, &input, &e) < 0) {
			program_failed(dn, s, c, "undo input", &e);
			return;
		}
		act = s->undo;
	}
	snprintf(key, sizeof(key), "wf:%lld:%s%s", c->execution, c->step,
		 c->undo ? ":undo" : "");
	call = (struct wf_exec_call){
	    .workflow = d->name,
	    .execution = c->execution,
	    .step = c->step,
	    .attempt = c->attempt,
	    .undo = c->undo,
	    .idempotency_key = key,
	    .timeout_ms = s->timeout_ms,
	    .output_max = s->output_max,
	};
	dn->input = jv_copy(input);
	if (wf_exec_action(g->exec, act, &call, input, &r, &e) < 0 &&
	    !r.error[0])
		snprintf(r.error, sizeof(r.error), "%s", e.msg);
	dn->seconds = r.seconds > 0
			  ? r.seconds
			  : (double)(sov_time_mono_ms() - t0) / 1000.0;
	dn->exit_code = r.exit_code;
	switch (r.outcome) {
	case WF_OUT_OK:
		dn->verdict = WF_V_OK;
		jv_free(dn->output);
		dn->output = r.output;
		r.output = jv_invalid();
		break;
	case WF_OUT_RETRY:
		verdict(dn, WF_V_RETRY, "%s", r.error);
		dn->retry_at =
		    sov_time_now_ms() +
		    wf_retry_delay_ms(&s->retry, c->attempt + 1, random01());
		break;
	default:
		verdict(dn, WF_V_FAIL, "%s", r.error);
		break;
	}
	wf_result_clear(&r);
}

void
wf_engine_run(struct wf_engine *g, struct wf_claim *c, struct wf_done *dn)
{
	run_step(g, c, dn);
	sov_jq_deadline(0);
}
