/*
 * jqbatch.c - many jq programs checked in a few compiles; see jqbatch.h.
 *
 * A batch is one jq program:
 *   def __sovjq_0: (P0
 *   ); def __sovjq_1: (P1
 *   ); ... __sovjq_0, __sovjq_1, ...
 * Every function is called by the body because jq does not bind (so does
 * not check) a function nobody calls. The newline keeps a trailing
 * comment from swallowing the parenthesis, though comments are not
 * batched anyway. For running (sov_jq_compile_set) the body instead
 * picks one function by the selector its input carries:
 *   .[0] as $__sovjq_sel | .[1] | if $__sovjq_sel < 2 then ... end
 */
#include "jqbatch.h"

#include <jq.h>
#include <stdlib.h>
#include <string.h>

#include "jqprog.h"

#define NESTING_MAX 64
#define PREFIX "__sovjq_"

/* Found by a substring search, so also inside other words (.modules):
 * that only sends a program to be compiled alone. */
static const char *const directives[] = {"import", "include", "module"};

int
sov_jq_self_contained(const char *src)
{
	char open[NESTING_MAX]; /* ( [ { " and I for a \( in a string */
	size_t depth = 0;

	if (strstr(src, PREFIX) != NULL)
		return 0;
	for (size_t i = 0; i < sizeof(directives) / sizeof(*directives); i++)
		if (strstr(src, directives[i]) != NULL)
			return 0;
	for (const char *s = src; *s; s++) {
		int in_string = depth > 0 && open[depth - 1] == '"';

		if (in_string) {
			if (*s == '"') {
				depth--;
			} else if (*s == '\\') {
				if (s[1] == '\0')
					return 0;
				if (s[1] == '(') {
					if (depth == NESTING_MAX)
						return 0;
					open[depth++] = 'I';
				}
				s++;
			}
			continue;
		}
		switch (*s) {
		case '#':
			return 0;
		case '"':
		case '(':
		case '[':
		case '{':
			if (depth == NESTING_MAX)
				return 0;
			open[depth++] = *s;
			break;
		case ')':
			if (depth == 0 ||
			    (open[depth - 1] != '(' && open[depth - 1] != 'I'))
				return 0;
			depth--;
			break;
		case ']':
			if (depth == 0 || open[--depth] != '[')
				return 0;
			break;
		case '}':
			if (depth == 0 || open[--depth] != '{')
				return 0;
			break;
		default:
			break;
		}
	}
	return depth == 0;
}

int
sov_jq_batchable(const char *src)
{
	return strnlen(src, SOV_JQ_BATCH_PROGRAM_MAX) <
		   SOV_JQ_BATCH_PROGRAM_MAX &&
	       sov_jq_self_contained(src);
}

static void
quiet(void *data, jv msg)
{
	(void)data;
	jv_free(msg);
}

/* 1 compiles, 0 does not, -1 out of memory: exactly sov_jq_compile. */
static int
alone(const char *src, jv vars, struct sov_err *e)
{
	struct sov_err why = {0};
	struct sov_jq *q = sov_jq_compile(src, NULL, jv_copy(vars), &why);

	if (q != NULL) {
		sov_jq_free(q);
		return 1;
	}
	if (why.code != SOV_EXIT_USAGE) {
		if (e != NULL)
			*e = why;
		return -1;
	}
	return 0;
}

struct text {
	char *buf;
	size_t len, cap;
};

static int
append(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		char *p;

		while (t->len + n + 1 > cap)
			cap *= 2;
		if ((p = realloc(t->buf, cap)) == NULL)
			return -1;
		t->buf = p;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return 0;
}

static int
append_name(struct text *t, const char *before, size_t i, const char *after)
{
	char name[64];
	int n =
	    snprintf(name, sizeof(name), "%s" PREFIX "%zu%s", before, i, after);

	return append(t, name, (size_t)n);
}

/* The functions lo..hi, chosen by $__sovjq_sel in log2(k) comparisons. */
static int
append_dispatch(struct text *t, size_t lo, size_t hi)
{
	size_t mid = lo + (hi - lo) / 2;
	char test[64];
	int n;

	if (hi - lo == 1)
		return append_name(t, "", lo, "");
	n = snprintf(test, sizeof(test), "if $" PREFIX "sel < %zu then ", mid);
	if (append(t, test, (size_t)n) < 0 || append_dispatch(t, lo, mid) < 0 ||
	    append(t, " else ", 6) < 0 || append_dispatch(t, mid, hi) < 0 ||
	    append(t, " end", 4) < 0)
		return -1;
	return 0;
}

char *
sov_jq_batch_text(const char *const *src, const size_t *idx, size_t k,
		  int dispatch)
{
	struct text t = {0};

	for (size_t i = 0; i < k; i++)
		if (append_name(&t, "def ", i, ": (") < 0 ||
		    append(&t, src[idx[i]], strlen(src[idx[i]])) < 0 ||
		    append(&t, "\n);\n", 2 + 2) < 0)
			goto oom;
	if (dispatch) {
		static const char head[] = ".[0] as $" PREFIX "sel | .[1] | ";

		if (k == 0 || append(&t, head, sizeof(head) - 1) < 0 ||
		    append_dispatch(&t, 0, k) < 0)
			goto oom;
		return t.buf;
	}
	for (size_t i = 0; i < k; i++)
		if (append_name(&t, i ? ", " : "", i, "") < 0)
			goto oom;
	return t.buf;
oom:
	free(t.buf);
	return NULL;
}

/* 1 when every program of idx[0..k) compiles as part of one, 0 when the
 * batch does not compile, -1 out of memory. */
static int
together(const char *const *src, const size_t *idx, size_t k, jv vars,
	 struct sov_err *e)
{
	char *text = sov_jq_batch_text(src, idx, k, 0);
	jq_state *jq;
	int ok;

	if (text == NULL || (jq = jq_init()) == NULL) {
		free(text);
		return sov_err_set(e, SOV_EXIT_FAIL, "jq: out of memory");
	}
	jq_set_error_cb(jq, quiet, NULL);
	if (jv_is_valid(vars))
		ok = jq_compile_args(jq, text, jv_copy(vars));
	else
		ok = jq_compile(jq, text);
	jq_teardown(&jq);
	free(text);
	return ok ? 1 : 0;
}

/* Mark the bad among idx[0..k): together when they all compile, else
 * split in halves; two or fewer that fail are compiled alone. */
static int
check(const char *const *src, const size_t *idx, size_t k, jv vars,
      unsigned char *bad, struct sov_err *e)
{
	int rc;

	if (k == 0)
		return 0;
	if (k > 2) {
		if ((rc = together(src, idx, k, vars, e)) < 0)
			return -1;
		if (rc == 1)
			return 0;
		if (check(src, idx, k / 2, vars, bad, e) < 0)
			return -1;
		return check(src, idx + k / 2, k - k / 2, vars, bad, e);
	}
	for (size_t i = 0; i < k; i++) {
		if ((rc = alone(src[idx[i]], vars, e)) < 0)
			return -1;
		bad[idx[i]] = rc == 0;
	}
	return 0;
}

int
sov_jq_check_many(const char *const *src, size_t n, jv vars, unsigned char *bad,
		  struct sov_err *e)
{
	size_t *idx = NULL, k = 0, bytes = 0;
	int rc = 0;

	if (n == 0)
		return 0;
	if ((idx = malloc(n * sizeof(*idx))) == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "jq: out of memory");
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t len = strnlen(src[i], SOV_JQ_BATCH_PROGRAM_MAX);
		int r;

		bad[i] = 0;
		if (!sov_jq_batchable(src[i])) {
			if ((r = alone(src[i], vars, e)) < 0)
				rc = -1;
			bad[i] = r == 0;
			continue;
		}
		if (k == SOV_JQ_BATCH_PROGRAMS ||
		    bytes + len > SOV_JQ_BATCH_BYTES) {
			rc = check(src, idx, k, vars, bad, e);
			k = 0;
			bytes = 0;
		}
		idx[k++] = i;
		bytes += len;
	}
	if (rc == 0)
		rc = check(src, idx, k, vars, bad, e);
	free(idx);
	return rc;
}
