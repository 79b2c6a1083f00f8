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

#include "strhash.h"
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

/* key's slot in t: its own, or the empty one where it would go. */
static struct slot *
find(struct wf_tags *t, const char *key)
{
	size_t i = sov_str_hash(key) & (TAGS_SLOTS - 1);

	while (t->s[i].key && strcmp(t->s[i].key, key) != 0)
		i = (i + 1) & (TAGS_SLOTS - 1);
	return &t->s[i];
}

/* The tags of kind's fields (see add) as checked text; NULL when they are
 * refused or memory runs out. */
static char *
tags_text(struct sov_metrics *m, const char *name, char kind, const char *wf,
	  const char *step, const char *outcome, int undo)
{
	struct sov_err e = {0};
	jv tags;

	switch (kind) {
	case 's':
		tags = JV_OBJECT(jv_string("workflow"), jv_string(wf),
				 jv_string("step"), jv_string(step),
				 jv_string("outcome"), jv_string(outcome),
				 jv_string("undo"), jv_bool(undo));
		break;
	case 'e':
		tags = JV_OBJECT(jv_string("workflow"), jv_string(wf),
				 jv_string("status"), jv_string(outcome));
		break;
	default:
		tags = JV_OBJECT(jv_string("workflow"), jv_string(wf));
		break;
	}
	return sov_metrics_tags_text(m, name, tags, &e);
}

/*
 * One measurement whose tags are kind's fields: 's' a step (workflow, step,
 * outcome, undo), 'e' an execution (workflow, status in outcome), 'w' the
 * workflow alone. Their text is made on a miss only; with t NULL, every
 * time.
 */
static void
add(struct wf_tags *t, struct sov_metrics *m, int64_t now, const char *name,
    double value, const char *unit, char kind, const char *wf, const char *step,
    const char *outcome, int undo)
{
	size_t n = strlen(wf) + (step ? strlen(step) : 0) +
		   (outcome ? strlen(outcome) : 0) + 16;
	char *key = malloc(n), *own = NULL;
	const char *text = NULL;
	struct slot *sl = NULL;
	struct sov_err e = {0};

	if (!key)
		return;
	if (kind == 's')
		snprintf(key, n, "s\x1f%s\x1f%s\x1f%s\x1f%d", wf, step, outcome,
			 undo);
	else if (kind == 'e')
		snprintf(key, n, "e\x1f%s\x1f%s", wf, outcome);
	else
		snprintf(key, n, "w\x1f%s", wf);
	if (t) {
		sl = find(t, key);
		text = sl->text;
	}
	if (!text) {
		own = tags_text(m, name, kind, wf, step, outcome, undo);
		text = own;
		if (own && t) {
			if (t->used >= TAGS_SLOTS / 4 * 3) {
				/* Emptied, key's slot is its home one. */
				empty(t);
				sl = find(t, key);
			}
			if ((sl->key = strdup(key))) {
				sl->text = own;
				own = NULL;
				t->used++;
			}
		}
	}
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
