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

static void
discard(void *data, jv msg)
{
	(void)data;
	jv_free(msg);
}

/* Compile idx[0..k) of src into one state shared by out[idx[i]]; -1 when
 * they do not compile together (e set) or memory ran out. */
static int
compile_together(const char *const *src, const char *const *where,
		 const size_t *idx, size_t k, jv vars, struct sov_jq **out,
		 struct sov_err *e)
{
	char *text = sov_jq_batch_text(src, idx, k, 1);
	int *refs = calloc(1, sizeof(*refs));
	jq_state *jq = NULL;
	int ok = 0;

	if (text == NULL || refs == NULL || (jq = jq_init()) == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "jq: out of memory");
		goto fail;
	}
	jq_set_error_cb(jq, discard, NULL);
	if (jv_is_valid(vars))
		ok = jq_compile_args(jq, text, jv_copy(vars));
	else
		ok = jq_compile(jq, text);
	if (!ok) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "%s: jq: does not compile "
			    "with the others",
			    where[idx[0]] ? where[idx[0]] : "jq program");
		goto fail;
	}
	for (size_t i = 0; i < k; i++) {
		struct sov_jq *q = calloc(1, sizeof(*q));

		if (q == NULL) {
			sov_err_set(e, SOV_EXIT_FAIL, "jq: out of memory");
			goto fail; /* the ones made so far are the caller's */
		}
		q->jq = jq;
		q->refs = refs;
		q->sel = (int)i;
		snprintf(q->where, sizeof(q->where), "%s",
			 where[idx[i]] ? where[idx[i]] : "jq program");
		out[idx[i]] = q;
		++*refs;
	}
	free(text);
	return 0;
fail:
	free(text);
	if (refs == NULL || *refs == 0) {
		free(refs);
		if (jq != NULL)
			jq_teardown(&jq);
	}
	return -1;
}

int
sov_jq_compile_set(const char *const *src, const char *const *where, size_t n,
		   jv vars, struct sov_jq **out, struct sov_err *e)
{
	size_t *idx = NULL, k = 0, bytes = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		out[i] = NULL;
	if (n > 0 && (idx = malloc(n * sizeof(*idx))) == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "jq: out of memory");
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t len = strnlen(src[i], SOV_JQ_BATCH_PROGRAM_MAX);

		if (!sov_jq_batchable(src[i])) {
			out[i] =
			    sov_jq_compile(src[i], where[i], jv_copy(vars), e);
			rc = out[i] == NULL ? -1 : 0;
			continue;
		}
		if (k == SOV_JQ_BATCH_PROGRAMS ||
		    bytes + len > SOV_JQ_BATCH_BYTES) {
			rc = compile_together(src, where, idx, k, vars, out, e);
			k = 0;
			bytes = 0;
		}
		idx[k++] = i;
		bytes += len;
	}
	if (rc == 0 && k == 1) /* nothing to share: no selector to pay */
		rc = (out[idx[0]] = sov_jq_compile(src[idx[0]], where[idx[0]],
						   jv_copy(vars), e))
			 ? 0
			 : -1;
	else if (rc == 0 && k > 1)
		rc = compile_together(src, where, idx, k, vars, out, e);
	free(idx);
	if (rc < 0)
		for (size_t i = 0; i < n; i++) {
			sov_jq_free(out[i]);
			out[i] = NULL;
		}
	return rc;
}

/* Turn an invalid value from jq_next into an error; 0 if it was the end. */
static int
runtime_error(struct sov_jq *q, jv v, struct sov_err *e)
{
	jv msg;

	if (!jv_invalid_has_msg(jv_copy(v))) {
		jv_free(v);
		if (jq_halted(q->jq))
			return sov_err_set(e, SOV_EXIT_FAIL, "%s: jq: halted",
					   q->where);
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

/* The run is over: -1 (e set) when it was halted for its deadline. */
static int
stop(struct sov_jq *q, struct sov_err *e)
{
	if (!sov_jq_watch_leave())
		return 0;
	return sov_err_set(e, SOV_EXIT_TEMPFAIL, "%s: timed out", q->where);
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
