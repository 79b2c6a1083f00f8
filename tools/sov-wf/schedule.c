/*
 * schedule.c - cron triggers run by the worker (schedule.h).
 */
#include "schedule.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "row.h"
#include "timestamp.h"

/* Executions of a workflow looked through for its trigger's last one. */
#define WF_CATCH_UP_LOOKBACK 1000
/* Fire times stepped through from the last one to now, at most: a year
 * of minutes. */
#define WF_CATCH_UP_STEPS 600000

struct cron_next {
	size_t def, trig;
	int64_t at; /* -1: never again */
};

struct wf_schedule {
	const struct wf_registry *reg;
	struct cron_next *cn;
	size_t n;
};

static void
cron_key(char *key, size_t size, const char *name, size_t trig, int64_t at)
{
	snprintf(key, size, "cron:%s:%zu:%" PRId64, name, trig, at);
}

/* The fire time of the trigger's newest execution in the store, 0 when
 * none is left. */
static int
last_fired(struct sov_store *st, const char *name, size_t trig, int64_t *at,
	   struct sov_err *e)
{
	char prefix[WF_KEY_MAX];
	jv rows = jv_invalid();
	size_t plen;

	*at = 0;
	snprintf(prefix, sizeof(prefix), "cron:%s:%zu:", name, trig);
	plen = strlen(prefix);
	/* By the workflow's index, newest first; the key's fire time is the
	 * one to trust (a late tick created it later). */
	if (sov_store_query(
		st,
		"SELECT key FROM wf_executions WHERE workflow = $1 "
		"AND trigger = 'cron' ORDER BY id DESC LIMIT $2",
		JV_ARRAY(jv_string(name), jv_number(WF_CATCH_UP_LOOKBACK)),
		&rows, e) < 0)
		return -1;
	jv_array_foreach(rows, i, row)
	{
		char key[WF_KEY_MAX];
		char *end;
		long long v;

		wf_row_text(row, "key", key, sizeof(key));
		jv_free(row);
		if (strncmp(key, prefix, plen) != 0)
			continue;
		v = strtoll(key + plen, &end, 10);
		if (*end == '\0' && v > *at)
			*at = v;
		(void)i;
	}
	jv_free(rows);
	return 0;
}

/* The last fire time in (after, now], or -1 when there is none. */
static int64_t
last_missed(const struct wf_cron *c, int64_t after, int64_t now)
{
	int64_t at = after, next, missed = -1;
	struct sov_err e = {0};

	for (long i = 0; i < WF_CATCH_UP_STEPS; i++) {
		if (wf_cron_next(c, at, &next, &e) < 0 || next > now)
			return missed;
		missed = at = next;
	}
	return missed; /* a year behind: the last one found will do */
}

int
wf_schedule_plan(const struct wf_registry *reg, struct sov_store *st,
		 struct wf_schedule **out, struct sov_err *e)
{
	int64_t now = sov_time_now_ms();
	struct wf_schedule *s;
	size_t cap = 0;

	*out = NULL;
	for (size_t i = 0; reg && i < reg->n; i++)
		for (size_t j = 0; j < reg->defs[i]->n_triggers; j++)
			cap +=
			    reg->defs[i]->triggers[j].kind == WF_TRIGGER_CRON;
	if (cap == 0)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->cn = calloc(cap, sizeof(*s->cn)))) {
		free(s);
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
	}
	s->reg = reg;
	for (size_t i = 0; i < reg->n; i++)
		for (size_t j = 0; j < reg->defs[i]->n_triggers; j++) {
			const struct wf_trigger *tr =
			    &reg->defs[i]->triggers[j];
			struct cron_next *c = &s->cn[s->n];
			int64_t last;

			if (tr->kind != WF_TRIGGER_CRON)
				continue;
			c->def = i;
			c->trig = j;
			s->n++;
			if (wf_cron_next(&tr->cron, now, &c->at, e) < 0)
				c->at = -1;
			if (!tr->catch_up)
				continue;
			/* Never run (a new trigger): nothing was missed. */
			if (last_fired(st, reg->defs[i]->name, j, &last, e) <
			    0) {
				wf_schedule_free(s);
				return -1;
			}
			if (last > 0) {
				int64_t missed =
				    last_missed(&tr->cron, last, now);

				if (missed > 0)
					c->at = missed;
			}
		}
	*out = s;
	return 0;
}

int
wf_schedule_tick(struct wf_schedule *s, struct sov_store *st, struct sov_err *e)
{
	int64_t now = sov_time_now_ms();
	int rc = 0;

	for (size_t i = 0; s && i < s->n; i++) {
		struct cron_next *c = &s->cn[i];
		const struct wf_def *d = s->reg->defs[c->def];
		const struct wf_trigger *tr = &d->triggers[c->trig];
		char key[WF_KEY_MAX];
		long long id;
		int dup;

		if (c->at < 0 || c->at > now)
			continue;
		cron_key(key, sizeof(key), d->name, c->trig, c->at);
		if (sov_store_begin(st, e) < 0 ||
		    wf_registry_put(st, d, s->reg->ids[c->def], e) < 0 ||
		    wf_queue_enqueue(st, d, s->reg->ids[c->def],
				     jv_copy(tr->input), key, "cron", &id, &dup,
				     e) < 0 ||
		    sov_store_commit(st, e) < 0) {
			sov_store_rollback(st, NULL);
			rc = -1;
			continue; /* again at the next tick */
		}
		if (wf_cron_next(&tr->cron, c->at, &c->at, e) < 0)
			c->at = -1;
	}
	return rc;
}

void
wf_schedule_free(struct wf_schedule *s)
{
	if (!s)
		return;
	free(s->cn);
	free(s);
}
