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
#include <stdio.h>
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

int
sov_jq_batch_compile(const char *text, jv vars, jq_state **out)
{
	jq_state *jq = jq_init();
	int ok;

	*out = NULL;
	if (jq == NULL)
		return -1;
	jq_set_error_cb(jq, quiet, NULL);
	if (jv_is_valid(vars))
		ok = jq_compile_args(jq, text, jv_copy(vars));
	else
		ok = jq_compile(jq, text);
	if (!ok) {
		jq_teardown(&jq);
		return 0;
	}
	*out = jq;
	return 1;
}

/* The functions lo..hi, chosen by $__sovjq_sel in log2(k) comparisons. */
static void
print_dispatch(FILE *f, size_t lo, size_t hi)
{
	size_t mid = lo + (hi - lo) / 2;

	if (hi - lo == 1) {
		fprintf(f, PREFIX "%zu", lo);
		return;
	}
	fprintf(f, "if $" PREFIX "sel < %zu then ", mid);
	print_dispatch(f, lo, mid);
	fputs(" else ", f);
	print_dispatch(f, mid, hi);
	fputs(" end", f);
}

char *
sov_jq_batch_text(const char *const *src, const size_t *idx, size_t k,
		  int dispatch)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < k; i++)
		fprintf(f, "def " PREFIX "%zu: (%s\n);\n", i, src[idx[i]]);
	if (dispatch) {
		fputs(".[0] as $" PREFIX "sel | .[1] | ", f);
		print_dispatch(f, 0, k);
	} else {
		for (size_t i = 0; i < k; i++)
			fprintf(f, "%s" PREFIX "%zu", i ? ", " : "", i);
	}
	/* a failed write shows as an error on the stream */
	if (ferror(f) | fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

int
sov_jq_batches(const char *const *src, size_t n,
	       int (*alone)(size_t i, void *arg),
	       int (*together)(const size_t *idx, size_t k, void *arg),
	       void *arg, struct sov_err *e)
{
	size_t *idx, k = 0, bytes = 0;
	int rc = 0;

	if (n == 0)
		return 0;
	if ((idx = malloc(n * sizeof(*idx))) == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "jq: out of memory");
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t len = strnlen(src[i], SOV_JQ_BATCH_PROGRAM_MAX);

		if (!sov_jq_batchable(src[i])) {
			rc = alone(i, arg);
			continue;
		}
		if (k == SOV_JQ_BATCH_PROGRAMS ||
		    bytes + len > SOV_JQ_BATCH_BYTES) {
			rc = together(idx, k, arg);
			k = 0;
			bytes = 0;
		}
		idx[k++] = i;
		bytes += len;
	}
	if (rc == 0 && k > 0)
		rc = together(idx, k, arg);
	free(idx);
	return rc;
}

struct checking {
	const char *const *src;
	jv vars;
	unsigned char *bad;
	struct sov_err *e;
};

/* 1 compiles, 0 does not, -1 out of memory: exactly sov_jq_compile. */
static int
compiles_alone(const struct checking *c, size_t i)
{
	struct sov_err why = {0};
	struct sov_jq *q =
	    sov_jq_compile(c->src[i], NULL, jv_copy(c->vars), &why);

	if (q != NULL) {
		sov_jq_free(q);
		return 1;
	}
	if (why.code != SOV_EXIT_USAGE) {
		if (c->e != NULL)
			*c->e = why;
		return -1;
	}
	return 0;
}

/* 1 when every program of idx[0..k) compiles as part of one, 0 when the
 * batch does not compile, -1 out of memory. */
static int
compiles_together(const struct checking *c, const size_t *idx, size_t k)
{
	char *text = sov_jq_batch_text(c->src, idx, k, 0);
	jq_state *jq = NULL;
	int rc = text ? sov_jq_batch_compile(text, c->vars, &jq) : -1;

	free(text);
	if (jq != NULL)
		jq_teardown(&jq);
	if (rc < 0)
		return sov_err_set(c->e, SOV_EXIT_FAIL, "jq: out of memory");
	return rc;
}

static int
check_alone(size_t i, void *arg)
{
	struct checking *c = arg;
	int rc = compiles_alone(c, i);

	c->bad[i] = rc == 0;
	return rc < 0 ? -1 : 0;
}

/* Mark the bad among idx[0..k): together when they all compile, else
 * split in halves; two or fewer are compiled alone. */
static int
check_together(const size_t *idx, size_t k, void *arg)
{
	struct checking *c = arg;
	int rc;

	if (k <= 2) {
		for (size_t i = 0; i < k; i++)
			if (check_alone(idx[i], c) < 0)
				return -1;
		return 0;
	}
	if ((rc = compiles_together(c, idx, k)) != 0)
		return rc < 0 ? -1 : 0;
	if (check_together(idx, k / 2, c) < 0)
		return -1;
	return check_together(idx + k / 2, k - k / 2, c);
}

int
sov_jq_check_many(const char *const *src, size_t n, jv vars, unsigned char *bad,
		  struct sov_err *e)
{
	struct checking c = {src, vars, bad, e};

	if (n == 0)
		return 0;
	memset(bad, 0, n);
	return sov_jq_batches(src, n, check_alone, check_together, &c, e);
}
