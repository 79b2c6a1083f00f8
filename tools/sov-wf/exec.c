/*
 * exec.c - one action of a step: the entry point, the jq action, and what
 * the kinds share (one-line errors, output parsing). The run action is in
 * exec_run.c, the http action in exec_http.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec_int.h"
#include "jsonl.h"

long long
wf_exec_now_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bytes of the valid UTF-8 character at p[0..n), 0 when not valid. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned long cp, min;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2, cp = p[0] & 0x1fu, min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3, cp = p[0] & 0x0fu, min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4, cp = p[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

size_t
wf_exec_clean(char *s, size_t n)
{
	unsigned char *p = (unsigned char *)s;
	size_t i = 0, o = 0, len;
	int space = 0;

	while (i < n) {
		if (p[i] <= ' ' || p[i] == 0x7f) {
			space = 1; /* written before the next visible byte */
			i++;
			continue;
		}
		/* o < i whenever a space is pending: the space was skipped */
		if (space && o > 0)
			p[o++] = ' ';
		space = 0;
		len = utf8_len(p + i, n - i);
		if (len == 0) {
			p[o++] = '?';
			i++;
			continue;
		}
		while (len-- > 0) /* forward, o <= i: safe in place */
			p[o++] = p[i++];
	}
	p[o] = '\0';
	return o;
}

void
wf_exec_fail(struct wf_result *r, enum wf_outcome o, const char *fmt, ...)
{
	va_list ap;
	size_t len, cut;
	int n;

	r->outcome = o;
	va_start(ap, fmt);
	n = vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	if (n < 0) {
		snprintf(r->error, sizeof(r->error), "%s",
			 "(the error message could not be formatted)");
		return;
	}
	len = (size_t)n < sizeof(r->error) ? (size_t)n : sizeof(r->error) - 1;
	len = wf_exec_clean(r->error, len);
	if ((size_t)n < sizeof(r->error))
		return;
	/* cut at a character's start, leaving room for "..." */
	cut = len < sizeof(r->error) - 4 ? len : sizeof(r->error) - 4;
	while (cut > 0 && ((unsigned char)r->error[cut] & 0xc0) == 0x80)
		cut--;
	while (cut > 0 && r->error[cut - 1] == ' ')
		cut--;
	memcpy(r->error + cut, "...", 4);
}

void
wf_exec_duration(int64_t ms, char *buf, size_t size)
{
	if (ms % 1000 == 0)
		snprintf(buf, size, "%llds", (long long)(ms / 1000));
	else
		snprintf(buf, size, "%lldms", (long long)ms);
}

static int
json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

jv
wf_exec_parse_output(const char *s, size_t n, int *several, struct sov_err *e)
{
	const char *why = NULL;
	size_t i = 0;
	long off;
	jv v;

	*several = 0;
	while (i < n && json_space(s[i]))
		i++;
	if (i == n)
		return jv_null();
	v = sov_json_parse(s, n, e);
	if (jv_is_valid(v))
		return v;
	/* a whole value, then what may start another one */
	off = sov_json_check(s, n, &why);
	if (off > 0 && (size_t)off < n &&
	    sov_json_check(s, (size_t)off, NULL) < 0 &&
	    strchr("{[\"-0123456789tfn", s[off]) != NULL)
		*several = 1;
	return v;
}

struct wf_exec *
wf_exec_new(struct sov_err *e)
{
	struct wf_exec *x = calloc(1, sizeof(*x));

	if (x == NULL)
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "allocating a step runner");
	return x;
}

void
wf_exec_free(struct wf_exec *x)
{
	if (x == NULL)
		return;
	sov_http_free(x->http);
	free(x);
}

void
wf_result_clear(struct wf_result *r)
{
	if (r == NULL)
		return;
	/* a zeroed jv is an invalid without a message: nothing to free */
	if (jv_get_kind(r->output) != JV_KIND_INVALID)
		jv_free(r->output);
	r->output = jv_invalid();
}

/* The jq action. Its timeout is the thread's jq deadline, which the
 * engine sets for the whole step (lib/jqwatch.h): past it the program is
 * halted, and that is a timeout like a command's, so it is retried. */
static int
run_jq(const struct wf_action *a, const struct wf_exec_call *call, jv input,
       struct wf_result *r, struct sov_err *e)
{
	struct sov_err je;
	char dur[32];
	jv out;

	if (a->jq.q == NULL) {
		jv_free(input);
		return sov_err_set(
		    e, SOV_EXIT_FAIL,
		    "jq action: the program was not compiled "
		    "(definition loaded with WF_DEF_NO_COMPILE)");
	}
	sov_err_clear(&je);
	if (sov_jq_first(a->jq.q, input, &out, &je) < 0) {
		if (je.code == SOV_EXIT_TEMPFAIL) {
			wf_exec_duration(call->timeout_ms, dur, sizeof(dur));
			wf_exec_fail(r, WF_OUT_RETRY, "timed out after %s (%s)",
				     dur, je.msg);
		} else {
			wf_exec_fail(r, WF_OUT_FAIL, "%s", je.msg);
		}
		return 0;
	}
	r->output = out;
	r->outcome = WF_OUT_OK;
	return 0;
}

static int
check_call(const struct wf_action *a, const struct wf_exec_call *c,
	   struct sov_err *e)
{
	const char *k;

	if (a == NULL || c == NULL || c->workflow == NULL || c->step == NULL ||
	    c->idempotency_key == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "step runner: missing action, workflow, "
				   "step or idempotency key");
	if (c->timeout_ms < 1 || c->timeout_ms > WF_TIMEOUT_MAX_MS ||
	    c->output_max < 1 || c->output_max > WF_OUTPUT_MAX_LIMIT ||
	    c->attempt < 1)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "step runner: %s: timeout %lld ms, "
				   "output_max %zu or attempt %d out of range",
				   c->step, (long long)c->timeout_ms,
				   c->output_max, c->attempt);
	if (strnlen(c->idempotency_key, WF_IDEMPOTENCY_KEY_MAX + 1) >
	    WF_IDEMPOTENCY_KEY_MAX)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "step runner: %s: idempotency key over %d "
				   "bytes",
				   c->step, WF_IDEMPOTENCY_KEY_MAX);
	/* it becomes a header line */
	for (k = c->idempotency_key; *k != '\0'; k++)
		if ((unsigned char)*k < ' ' || *k == 0x7f)
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "step runner: %s: control "
					   "character in the idempotency key",
					   c->step);
	return 0;
}

int
wf_exec_action(struct wf_exec *x, const struct wf_action *a,
	       const struct wf_exec_call *call, jv input, struct wf_result *r,
	       struct sov_err *e)
{
	double t0 = now_seconds();
	int rc = -1;

	if (r == NULL) {
		jv_free(input);
		return sov_err_set(e, SOV_EXIT_FAIL, "step runner: no result");
	}
	r->outcome = WF_OUT_FAIL;
	r->output = jv_invalid();
	r->error[0] = '\0';
	r->exit_code = -1;
	r->http_status = 0;
	r->seconds = 0;
	if (x == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "step runner: no runner");
		jv_free(input);
		goto out;
	}
	if (check_call(a, call, e) < 0) {
		jv_free(input);
		goto out;
	}
	if (!jv_is_valid(input)) { /* a failed jv call in the caller */
		jv_free(input);
		sov_err_set(e, SOV_EXIT_FAIL, "step runner: %s: no valid input",
			    call->step);
		goto out;
	}
	switch (a->kind) {
	case WF_KIND_RUN:
		rc = wf_exec_run(a, call, input, r, e);
		break;
	case WF_KIND_JQ:
		rc = run_jq(a, call, input, r, e);
		break;
	case WF_KIND_HTTP:
		rc = wf_exec_http(x, a, call, input, r, e);
		break;
	default:
		jv_free(input);
		sov_err_set(e, SOV_EXIT_FAIL,
			    "step runner: %s: unknown kind %d", call->step,
			    (int)a->kind);
		break;
	}
out:
	if (rc < 0) {
		wf_result_clear(r);
		wf_exec_fail(r, WF_OUT_RETRY, "%s",
			     e != NULL ? e->msg : "step runner failed");
	}
	r->seconds = now_seconds() - t0;
	return rc;
}

/* A malloc'd string, or NULL (exec_int.h). */
char *
wf_exec_strf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	if (vsnprintf(s, (size_t)n + 1, fmt, ap) != n) {
		free(s);
		s = NULL;
	}
	va_end(ap);
	return s;
}
