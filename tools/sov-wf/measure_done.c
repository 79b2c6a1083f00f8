/*
 * measure_done.c - a worker thread's measurements, their tags' text
 * cached (measure_done.h).
 */
#include "measure_done.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timestamp.h"

#define TAGS_SLOTS 512 /* a power of two; emptied at three quarters full */

struct slot {
	char *key; /* NULL: empty */
	char *text;
};

struct wf_tags {
	struct slot s[TAGS_SLOTS];
	size_t used;
};

struct wf_tags *
wf_tags_new(void)
{
	return calloc(1, sizeof(struct wf_tags));
}

static void
empty(struct wf_tags *t)
{
	for (size_t i = 0; i < TAGS_SLOTS; i++) {
		free(t->s[i].key);
		free(t->s[i].text);
		t->s[i].key = t->s[i].text = NULL;
	}
	t->used = 0;
}

void
wf_tags_free(struct wf_tags *t)
{
	if (!t)
		return;
	empty(t);
	free(t);
}

static uint32_t
fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/*
 * The tags' text for key, made from tags (consumed) on a miss; NULL when
 * they are refused or memory runs out. With t NULL nothing is kept: *own
 * says the caller frees the result.
 */
static const char *
lookup(struct wf_tags *t, struct sov_metrics *m, const char *name,
       const char *key, jv tags, char **own)
{
	struct sov_err e = {0};
	struct slot *sl = NULL;
	char *text;

	*own = NULL;
	if (t) {
		size_t i = fnv1a(key) & (TAGS_SLOTS - 1);

		while (t->s[i].key && strcmp(t->s[i].key, key) != 0)
			i = (i + 1) & (TAGS_SLOTS - 1);
		if (t->s[i].key) {
			jv_free(tags);
			return t->s[i].text;
		}
		sl = &t->s[i];
	}
	text = sov_metrics_tags_text(m, name, tags, &e);
	if (!text)
		return NULL;
	if (!sl) {
		*own = text;
		return text;
	}
	if (t->used >= TAGS_SLOTS / 4 * 3) {
		/* Emptied, the slot found above is free again, and the
		 * probe from it would start at the same place. */
		empty(t);
		sl = &t->s[fnv1a(key) & (TAGS_SLOTS - 1)];
	}
	if (!(sl->key = strdup(key))) {
		*own = text;
		return text;
	}
	sl->text = text;
	t->used++;
	return text;
}

/* One measurement whose tags are kind's fields a, b, c (NULL: absent). */
static void
add(struct wf_tags *t, struct sov_metrics *m, int64_t now, const char *name,
    double value, const char *unit, char kind, const char *wf, const char *step,
    const char *outcome, int undo)
{
	char *key, *own;
	const char *text;
	size_t n = strlen(wf) + (step ? strlen(step) : 0) +
		   (outcome ? strlen(outcome) : 0) + 8;
	jv tags;
	struct sov_err e = {0};

	if (!(key = malloc(n)))
		return;
	switch (kind) {
	case 's': /* a step: workflow, step, outcome, undo */
		snprintf(key, n, "s\x1f%s\x1f%s\x1f%s\x1f%d", wf, step, outcome,
			 undo);
		tags = JV_OBJECT(jv_string("workflow"), jv_string(wf),
				 jv_string("step"), jv_string(step),
				 jv_string("outcome"), jv_string(outcome),
				 jv_string("undo"), jv_bool(undo));
		break;
	case 'e': /* an execution: workflow, status */
		snprintf(key, n, "e\x1f%s\x1f%s", wf, outcome);
		tags = JV_OBJECT(jv_string("workflow"), jv_string(wf),
				 jv_string("status"), jv_string(outcome));
		break;
	default: /* the workflow alone */
		snprintf(key, n, "w\x1f%s", wf);
		tags = JV_OBJECT(jv_string("workflow"), jv_string(wf));
		break;
	}
	text = lookup(t, m, name, key, tags, &own);
	free(key);
	if (text)
		sov_metrics_add_text(m, now, name, value, unit, text, &e);
	free(own);
}

void
wf_measure_done(struct wf_tags *t, struct sov_metrics *m,
		const struct wf_done *dn)
{
	static const char *const outcomes[] = {"", "ok", "skipped", "retry",
					       "fail"};
	const struct wf_claim *c = dn->claim;
	const char *wf = dn->def ? dn->def->name : c->workflow;
	int64_t now = sov_time_now_ms();

	if (dn->stale)
		return;
	add(t, m, now, "wf.step.seconds", dn->seconds, "s", 's', wf, c->step,
	    outcomes[dn->verdict], c->undo);
	if (!dn->ended)
		return;
	add(t, m, now, "wf.execution.seconds",
	    dn->exec_seconds > 0 ? dn->exec_seconds
				 : (double)(now - c->exec_started_at) / 1000.0,
	    "s", 'e', wf, NULL, dn->end_status, 0);
	add(t, m, now, "wf.executions", 1, "count", 'e', wf, NULL,
	    dn->end_status, 0);
	if (strcmp(dn->end_status, "succeeded") != 0)
		return;
	if (dn->def && dn->def->measure.human_minutes > 0)
		add(t, m, now, "wf.human_minutes_saved",
		    dn->def->measure.human_minutes, "min", 'w', wf, NULL, NULL,
		    0);
	if (!isnan(dn->tokens))
		add(t, m, now, "wf.tokens", dn->tokens, "count", 'w', wf, NULL,
		    NULL, 0);
	if (!isnan(dn->cost))
		add(t, m, now, "wf.cost", dn->cost, "", 'w', wf, NULL, NULL, 0);
}
