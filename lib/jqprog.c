/*
 * jqprog.c - compile once, run per record; see jqprog.h.
 *
 * jq reports compile errors through its error callback, one message per
 * problem, and returns 0 from jq_compile; we gather them into the sov_err.
 * Runtime errors come back from jq_next as an invalid value with a message.
 */
#include "jqprog.h"

#include <jq.h>
#include <stdlib.h>
#include <string.h>

#include "jqbatch.h"
#include "json_dump.h"
#include "jqwatch.h"

#define SOV_JQ_WHERE_MAX 256
#define SOV_JQ_ERRORS_MAX 1024

struct sov_jq {
	jq_state *jq;
	int *refs; /* a set's members alive, shared by them; NULL: alone */
	int sel;   /* a set's function for this program; -1: alone */
	char where[SOV_JQ_WHERE_MAX];
	char errors[SOV_JQ_ERRORS_MAX]; /* compile messages, "; "-joined */
};

static void
collect_error(void *data, jv msg)
{
	struct sov_jq *q = data;
	size_t used = strlen(q->errors);
	const char *text;

	if (jv_get_kind(msg) == JV_KIND_STRING)
		text = jv_string_value(msg);
	else
		text = "unknown error";
	if (used < sizeof(q->errors) - 1)
		snprintf(q->errors + used, sizeof(q->errors) - used, "%s%s",
			 used ? "; " : "", text);
	jv_free(msg);
}

struct sov_jq *
sov_jq_compile(const char *src, const char *where, jv vars, struct sov_err *e)
{
	struct sov_jq *q = NULL;
	int ok;

	if (src == NULL ||
	    strnlen(src, SOV_JQ_PROGRAM_MAX) >= SOV_JQ_PROGRAM_MAX) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: %s",
			    where ? where : "jq program",
			    src ? "program longer than 64 KiB" : "no program");
		goto fail;
	}
	if (jv_is_valid(vars) && jv_get_kind(vars) != JV_KIND_OBJECT) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "%s: variables must be an object",
			    where ? where : "jq program");
		goto fail;
	}
	q = calloc(1, sizeof(*q));
	if (q != NULL)
		q->sel = -1;
	if (q == NULL || (q->jq = jq_init()) == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "jq: out of memory");
		goto fail;
	}
	snprintf(q->where, sizeof(q->where), "%s",
		 where ? where : "jq program");
	jq_set_error_cb(q->jq, collect_error, q);
	if (jv_is_valid(vars))
		ok = jq_compile_args(q->jq, src, vars);
	else
		ok = jq_compile(q->jq, src);
	vars = jv_invalid(); /* consumed by jq_compile_args */
	if (!ok) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: %s", q->where,
			    q->errors[0] ? q->errors : "jq: does not compile");
		sov_jq_free(q);
		return NULL;
	}
	/* Runtime messages come back from jq_next; none go to stderr. */
	q->errors[0] = '\0';
	return q;
fail:
	jv_free(vars);
	sov_jq_free(q);
	return NULL;
}

void
sov_jq_free(struct sov_jq *q)
{
	if (q == NULL)
		return;
	if (q->refs != NULL && --*q->refs > 0) {
		free(q); /* the state stays with the set's others */
		return;
	}
	free(q->refs);
	if (q->jq != NULL)
		jq_teardown(&q->jq);
	free(q);
}

struct compiling {
	const char *const *src, *const *where;
	jv vars;
	struct sov_jq **out;
	struct sov_err *e;
};

static int
set_alone(size_t i, void *arg)
{
	struct compiling *c = arg;

	c->out[i] =
	    sov_jq_compile(c->src[i], c->where[i], jv_copy(c->vars), c->e);
	return c->out[i] ? 0 : -1;
}

/* idx[0..k) into one state shared by their sov_jq; -1 when they do not
 * compile together (e set) or memory ran out. */
static int
set_together(const size_t *idx, size_t k, void *arg)
{
	struct compiling *c = arg;
	char *text;
	int *refs;
	jq_state *jq = NULL;
	int rc;

	if (k == 1) /* nothing to share: no selector to pay */
		return set_alone(idx[0], c);
	text = sov_jq_batch_text(c->src, idx, k, 1);
	refs = calloc(1, sizeof(*refs));
	rc = text && refs ? sov_jq_batch_compile(text, c->vars, &jq) : -1;
	free(text);
	if (rc <= 0) {
		free(refs);
		if (rc < 0)
			return sov_err_set(c->e, SOV_EXIT_FAIL,
					   "jq: out of memory");
		return sov_err_set(c->e, SOV_EXIT_USAGE,
				   "%s: jq: does not compile with the others",
				   c->where[idx[0]] ? c->where[idx[0]]
						    : "jq program");
	}
	for (size_t i = 0; i < k; i++) {
		struct sov_jq *q = calloc(1, sizeof(*q));

		if (q == NULL) {
			if (*refs == 0) {
				free(refs);
				jq_teardown(&jq);
			} /* else the ones made so far hold it */
			return sov_err_set(c->e, SOV_EXIT_FAIL,
					   "jq: out of memory");
		}
		q->jq = jq;
		q->refs = refs;
		q->sel = (int)i;
		snprintf(q->where, sizeof(q->where), "%s",
			 c->where[idx[i]] ? c->where[idx[i]] : "jq program");
		c->out[idx[i]] = q;
		++*refs;
	}
	return 0;
}

int
sov_jq_compile_set(const char *const *src, const char *const *where, size_t n,
		   jv vars, struct sov_jq **out, struct sov_err *e)
{
	struct compiling c = {src, where, vars, out, e};

	for (size_t i = 0; i < n; i++)
		out[i] = NULL;
	if (sov_jq_batches(src, n, set_alone, set_together, &c, e) == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		sov_jq_free(out[i]);
		out[i] = NULL;
	}
	return -1;
}

void
sov_jq_prog_clear(struct sov_jq_prog *p)
{
	sov_jq_free(p->q);
	free(p->src);
	free(p->where);
	p->q = NULL;
	p->src = NULL;
	p->where = NULL;
}

int
sov_jq_prog_compile_all(struct sov_jq_prog *const *p, size_t n,
			struct sov_err *e)
{
	const char **src, **where;
	struct sov_jq **q;
	int rc = -1;

	if (n == 0)
		return 0;
	src = calloc(n, sizeof(*src));
	where = calloc(n, sizeof(*where));
	q = calloc(n, sizeof(*q));
	if (!src || !where || !q) {
		sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		src[i] = p[i]->src;
		where[i] = p[i]->where;
	}
	if (sov_jq_compile_set(src, where, n, jv_invalid(), q, e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		sov_jq_free(p[i]->q);
		p[i]->q = q[i];
		free(p[i]->where);
		p[i]->where = NULL;
	}
	rc = 0;
out:
	free(src);
	free(where);
	free(q);
	return rc;
}

/* Turn an invalid value from jq_next into an error; 0 if it was the end
 * (a halt is stop's to report). */
static int
runtime_error(struct sov_jq *q, jv v, struct sov_err *e)
{
	jv msg;

	if (!jv_invalid_has_msg(jv_copy(v))) {
		jv_free(v);
		return 0;
	}
	msg = jv_invalid_get_msg(v);
	if (jv_get_kind(msg) == JV_KIND_STRING) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: jq: error: %s", q->where,
			    jv_string_value(msg));
	} else {
		/* error({...}) raises a non-string: show it as JSON */
		jv text = sov_json_dump(msg);

		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: jq: error (not a string): %s", q->where,
			    jv_string_value(text));
		jv_free(text);
		return -1;
	}
	jv_free(msg);
	return -1;
}

/* jq_start, unless the thread's deadline has passed (jqwatch.h). A
 * set's program gets [its function, input]. */
static int
start(struct sov_jq *q, jv input, struct sov_err *e)
{
	if (sov_jq_watch_enter(q->jq, q->where, e) < 0) {
		jv_free(input);
		return -1;
	}
	if (q->sel >= 0)
		input = jv_array_append(
		    jv_array_append(jv_array_sized(2), jv_number(q->sel)),
		    input);
	jq_start(q->jq, input, 0);
	return 0;
}

/*
 * A halted state made safe to start again. jq 1.6's reset (in every
 * jq_start and in jq_teardown) frees the halt's exit code and message but
 * keeps pointing at them, so each later reset would free them again (jq
 * 1.7 forgets them). One reset frees them; halting the fresh run at once
 * with nothing makes the pointers nothing, and the next reset is
 * harmless, on either version.
 */
static void
scrub_halt(jq_state *jq)
{
	jq_start(jq, jv_null(), 0);
	jq_halt(jq, jv_invalid(), jv_invalid());
}

/* The run is over: -1 (e set) when it was halted, for its deadline
 * (SOV_EXIT_TEMPFAIL) or by the program (halt, halt_error). */
static int
stop(struct sov_jq *q, struct sov_err *e)
{
	int fired = sov_jq_watch_leave(); /* the watchdog is done with it */
	jv msg;

	if (!jq_halted(q->jq))
		return 0;
	if (fired) {
		scrub_halt(q->jq);
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "%s: timed out",
				   q->where);
	}
	msg = jq_get_error_message(q->jq);
	if (jv_get_kind(msg) == JV_KIND_STRING)
		sov_err_set(e, SOV_EXIT_FAIL, "%s: jq: halted: %.*s", q->where,
			    200, jv_string_value(msg));
	else
		sov_err_set(e, SOV_EXIT_FAIL, "%s: jq: halted", q->where);
	jv_free(msg);
	scrub_halt(q->jq);
	return -1;
}

int
sov_jq_all(struct sov_jq *q, jv input, jv *out, struct sov_err *e)
{
	jv results = jv_array();
	jv v;

	*out = jv_invalid();
	if (start(q, input, e) < 0) {
		jv_free(results);
		return -1;
	}
	while (jv_is_valid(v = jq_next(q->jq)))
		results = jv_array_append(results, v);
	if (stop(q, e) < 0) {
		jv_free(v);
		jv_free(results);
		return -1;
	}
	if (runtime_error(q, v, e) < 0) {
		jv_free(results);
		*out = jv_invalid();
		return -1;
	}
	*out = results;
	return 0;
}

int
sov_jq_first(struct sov_jq *q, jv input, jv *out, struct sov_err *e)
{
	jv v;

	*out = jv_invalid();
	if (start(q, input, e) < 0)
		return -1;
	v = jq_next(q->jq);
	if (stop(q, e) < 0) {
		jv_free(v);
		return -1;
	}
	if (!jv_is_valid(v)) {
		if (runtime_error(q, v, e) < 0)
			return -1;
		return sov_err_set(e, SOV_EXIT_FAIL, "%s: produced no output",
				   q->where);
	}
	*out = v;
	return 0;
}

int
sov_jq_test(struct sov_jq *q, jv input, int *truth, struct sov_err *e)
{
	jv v;
	jv_kind k;

	*truth = 0;
	if (start(q, input, e) < 0)
		return -1;
	v = jq_next(q->jq);
	if (stop(q, e) < 0) {
		jv_free(v);
		return -1;
	}
	if (!jv_is_valid(v))
		return runtime_error(q, v, e);
	k = jv_get_kind(v);
	*truth = k != JV_KIND_FALSE && k != JV_KIND_NULL;
	jv_free(v);
	return 0;
}
