/* state.c - up, down and the streaks between; the state file. See state.h. */
#include "state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "jsonl.h"
#include "json_dump.h"
#include "timestamp.h"

static const char *const names[] = {"unknown", "up", "down"};

const char *
pr_state_name(enum pr_state s)
{
	return (int)s >= 0 && (int)s <= PR_DOWN ? names[s] : "unknown";
}

static enum pr_state
state_from_name(const char *s)
{
	for (int i = 0; i <= PR_DOWN; i++)
		if (strcmp(names[i], s) == 0)
			return (enum pr_state)i;
	return PR_UNKNOWN;
}

void
pr_tstate_init(struct pr_tstate *s)
{
	memset(s, 0, sizeof(*s));
	s->last = jv_null();
}

void
pr_tstate_clear(struct pr_tstate *s)
{
	jv_free(s->last);
	s->last = jv_null();
}

int
pr_state_apply(struct pr_tstate *s, const struct pr_target *t,
	       const struct pr_result *r, jv record, enum pr_state *from)
{
	enum pr_state to = s->state;

	s->checks++;
	if (!r->up)
		s->failed++;
	if (s->checks > 1 && s->last_up == r->up)
		s->streak++;
	else
		s->streak = 1;
	s->last_up = r->up;
	jv_free(s->last);
	s->last = record;
	if (s->state == PR_UNKNOWN)
		to = r->up ? PR_UP : PR_DOWN; /* the first result decides */
	else if (s->state == PR_UP && !r->up && s->streak >= t->failures)
		to = PR_DOWN;
	else if (s->state == PR_DOWN && r->up && s->streak >= t->successes)
		to = PR_UP;
	*from = s->state;
	if (to == s->state)
		return 0;
	s->state = to;
	s->since_ms = r->ts_ms;
	return 1;
}

jv
pr_state_event(const struct pr_target *t, const struct pr_tstate *s,
	       enum pr_state from, const struct pr_result *r)
{
	jv rec = sov_record_new("probe.state");

	rec = jv_object_set(rec, jv_string("target"), jv_string(t->name));
	rec = jv_object_set(rec, jv_string("type"),
			    jv_string(pr_type_name(t->type)));
	rec = jv_object_set(rec, jv_string("from"),
			    jv_string(pr_state_name(from)));
	rec = jv_object_set(rec, jv_string("to"),
			    jv_string(pr_state_name(s->state)));
	rec = jv_object_set(rec, jv_string("error"),
			    r->up ? jv_null() : jv_string(r->error));
	rec = jv_object_set(rec, jv_string("streak"), jv_number(s->streak));
	if (t->description)
		rec = jv_object_set(rec, jv_string("description"),
				    jv_string(t->description));
	return rec;
}

static jv
ts_or_null(int64_t ms)
{
	char ts[SOV_TIME_RFC3339_LEN];

	if (ms <= 0)
		return jv_null();
	sov_time_format(ms, ts);
	return jv_string(ts);
}

jv
pr_state_doc(const struct pr_set *set, const struct pr_tstate *states,
	     long pid)
{
	jv doc = sov_record_new("state"), targets = jv_object();

	for (size_t i = 0; i < set->ntargets; i++) {
		const struct pr_tstate *s = &states[i];
		jv o = jv_object();

		o = jv_object_set(o, jv_string("type"),
				  jv_string(pr_type_name(set->targets[i].type)));
		o = jv_object_set(o, jv_string("state"),
				  jv_string(pr_state_name(s->state)));
		o = jv_object_set(o, jv_string("since"),
				  s->state == PR_UNKNOWN ? jv_null()
							 : ts_or_null(s->since_ms));
		o = jv_object_set(o, jv_string("streak"), jv_number(s->streak));
		o = jv_object_set(o, jv_string("checks"),
				  jv_number((double)s->checks));
		o = jv_object_set(o, jv_string("failed"),
				  jv_number((double)s->failed));
		o = jv_object_set(o, jv_string("last"), jv_copy(s->last));
		targets = jv_object_set(targets,
					jv_string(set->targets[i].name), o);
	}
	doc = jv_object_set(doc, jv_string("pid"), jv_number((double)pid));
	return jv_object_set(doc, jv_string("targets"), targets);
}

int
pr_state_write(const char *path, jv doc, struct sov_err *e)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (sov_json_dump_text(doc, &text, &len) < 0)
		return sov_err_set(e, SOV_EXIT_FAIL, "state: out of memory");
	rc = sov_file_write_atomic(path, text, len, 0644, e);
	free(text);
	return rc;
}

int
pr_state_read(const char *path, jv *out, struct sov_err *e)
{
	char *text = NULL;
	size_t len = 0;
	jv doc;

	*out = jv_invalid();
	if (sov_file_read(path, PR_STATE_FILE_MAX, &text, &len, e) < 0) {
		if (access(path, F_OK) != 0)
			sov_err_set(e, SOV_EXIT_USAGE,
				    "%s: no daemon has written it yet", path);
		return -1;
	}
	doc = sov_json_parse(text, len, e);
	free(text);
	if (!jv_is_valid(doc)) {
		jv_free(doc);
		return sov_err_prefix(e, "%s: ", path);
	}
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		jv_free(doc);
		return sov_err_set(e, SOV_EXIT_FAIL, "%s: not a state file",
				   path);
	}
	*out = doc;
	return 0;
}

void
pr_state_restore(const struct pr_set *set, struct pr_tstate *states, jv doc)
{
	jv targets = jv_object_get(jv_copy(doc), jv_string("targets"));

	for (size_t i = 0; i < set->ntargets &&
			   jv_get_kind(targets) == JV_KIND_OBJECT;
	     i++) {
		jv o = jv_object_get(jv_copy(targets),
				     jv_string(set->targets[i].name));
		jv st = jv_get_kind(o) == JV_KIND_OBJECT
			    ? jv_object_get(jv_copy(o), jv_string("state"))
			    : jv_invalid();
		jv since = jv_get_kind(o) == JV_KIND_OBJECT
			       ? jv_object_get(jv_copy(o), jv_string("since"))
			       : jv_invalid();
		jv type = jv_get_kind(o) == JV_KIND_OBJECT
			      ? jv_object_get(jv_copy(o), jv_string("type"))
			      : jv_invalid();
		int64_t ms;

		/* only the same kind of check carries its state over */
		if (jv_get_kind(st) == JV_KIND_STRING &&
		    jv_get_kind(since) == JV_KIND_STRING &&
		    jv_get_kind(type) == JV_KIND_STRING &&
		    strcmp(jv_string_value(type),
			   pr_type_name(set->targets[i].type)) == 0 &&
		    sov_time_parse(jv_string_value(since), &ms, NULL) == 0) {
			states[i].state = state_from_name(jv_string_value(st));
			states[i].since_ms = ms;
		}
		jv_free(o);
		jv_free(st);
		jv_free(since);
		jv_free(type);
	}
	jv_free(targets);
}
