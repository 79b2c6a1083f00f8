/* jcheck.c - paths, objects and typed fields for validators; see jcheck.h. */
#include "jcheck.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "timestamp.h"

#define SUGGEST_DISTANCE 2 /* suggest a known name this close */

/* Append text; once the path is full it ends in "..." and stays so. */
static void
append(struct sov_jcheck *c, const char *text)
{
	size_t n = strlen(text), room = sizeof(c->path) - c->len - 1;

	if (n > room) {
		memcpy(c->path + sizeof(c->path) - 4, "...", 4);
		c->len = sizeof(c->path) - 1;
		return;
	}
	memcpy(c->path + c->len, text, n + 1);
	c->len += n;
}

static int
is_ident(const char *s, size_t n)
{
	if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') ||
			(s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

size_t
sov_jcheck_push_key(struct sov_jcheck *c, jv key)
{
	size_t old = c->len;
	const char *s = jv_string_value(key);
	size_t n = (size_t)jv_string_length_bytes(jv_copy(key));
	char q[SOV_JCHECK_KEY_SHOW + 8];

	if (is_ident(s, n) && n <= SOV_JCHECK_KEY_SHOW) {
		if (c->len > 0)
			append(c, ".");
		append(c, s);
		return old;
	}
	/* JSON-quoted and cut: any bytes at all may be in a key */
	jv_dump_string_trunc(jv_copy(key), q, sizeof(q));
	append(c, "[");
	append(c, q);
	append(c, "]");
	return old;
}

size_t
sov_jcheck_push_name(struct sov_jcheck *c, const char *key)
{
	jv k = jv_string(key);
	size_t old = sov_jcheck_push_key(c, k);

	jv_free(k);
	return old;
}

size_t
sov_jcheck_push_index(struct sov_jcheck *c, int i)
{
	size_t old = c->len;
	char buf[32];

	if (snprintf(buf, sizeof(buf), "[%d]", i) >= (int)sizeof(buf))
		buf[0] = '\0';
	append(c, buf);
	return old;
}

void
sov_jcheck_pop(struct sov_jcheck *c, size_t len)
{
	c->len = len;
	c->path[len] = '\0';
}

int
sov_jcheck_fail(struct sov_jcheck *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sov_err_vat(c->e, c->file, 0, c->len ? c->path : ".", fmt, ap);
	va_end(ap);
	return -1;
}

const char *
sov_jcheck_kind(jv v)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_NULL:
		return "null";
	case JV_KIND_TRUE:
	case JV_KIND_FALSE:
		return "a boolean";
	case JV_KIND_NUMBER:
		return "a number";
	case JV_KIND_STRING:
		return "a string";
	case JV_KIND_ARRAY:
		return "an array";
	case JV_KIND_OBJECT:
		return "an object";
	default:
		return "nothing";
	}
}

/* The known field nearest to key, when near enough to be a typo. */
static const char *
nearest(const char *key, const struct sov_jfield *fields)
{
	const char *best = NULL;
	size_t bestd = SUGGEST_DISTANCE + 1;

	for (const struct sov_jfield *f = fields; f->name; f++) {
		size_t d = sov_cli_distance(key, f->name);

		if (d < bestd) {
			bestd = d;
			best = f->name;
		}
	}
	return best;
}

int
sov_jcheck_object(struct sov_jcheck *c, jv v, const struct sov_jfield *fields,
		void *target)
{
	jv keys;
	int n, rc = -1;

	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return sov_jcheck_fail(c, "must be an object, not %s",
				     sov_jcheck_kind(v));
	keys = jv_keys(jv_copy(v)); /* sorted */
	n = jv_array_length(jv_copy(keys));
	for (int i = 0; i < n; i++) {
		jv k = jv_array_get(jv_copy(keys), i), val;
		const char *ks = jv_string_value(k);
		const struct sov_jfield *f = fields;
		size_t old;
		int r;

		/* a key with a NUL inside matches no field by strcmp alone */
		while (f->name && (strcmp(f->name, ks) != 0 ||
				   strlen(ks) != (size_t)jv_string_length_bytes(
						     jv_copy(k))))
			f++;
		old = sov_jcheck_push_key(c, k);
		if (f->name == NULL) {
			const char *near = nearest(ks, fields);

			if (near)
				sov_jcheck_fail(c,
					      "unknown field (did you mean "
					      "\"%s\"?)",
					      near);
			else
				sov_jcheck_fail(c, "unknown field");
			jv_free(k);
			goto out;
		}
		val = jv_object_get(jv_copy(v), k);
		r = f->check(c, val, target);
		jv_free(val);
		if (r < 0)
			goto out;
		sov_jcheck_pop(c, old);
	}
	rc = 0;
out:
	jv_free(keys);
	return rc;
}

int
sov_jcheck_string(struct sov_jcheck *c, jv v, size_t max, char **out)
{
	size_t n;

	if (jv_get_kind(v) != JV_KIND_STRING)
		return sov_jcheck_fail(c, "must be a string, not %s",
				     sov_jcheck_kind(v));
	n = (size_t)jv_string_length_bytes(jv_copy(v));
	if (n == 0)
		return sov_jcheck_fail(c, "must not be empty");
	if (n > max)
		return sov_jcheck_fail(c, "longer than %zu bytes", max);
	if (strlen(jv_string_value(v)) != n)
		return sov_jcheck_fail(c, "contains a NUL character");
	free(*out); /* keys are unique, so *out is NULL; stay safe anyway */
	*out = strdup(jv_string_value(v));
	if (*out == NULL)
		return sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
	return 0;
}

const char *
sov_jcheck_name_why(jv v)
{
	const char *s;
	size_t n;

	if (jv_get_kind(v) != JV_KIND_STRING)
		return "must be a string";
	s = jv_string_value(v);
	n = (size_t)jv_string_length_bytes(jv_copy(v));
	if (n == 0 || n > SOV_JCHECK_NAME_MAX)
		return "must be 1 to 64 characters";
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		int alnum =
		    (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum && (i == 0 || (ch != '_' && ch != '.' && ch != '-')))
			return "must be lower-case letters, digits and "
			       "_ . - (starting with a letter or digit)";
	}
	return NULL;
}

int
sov_jcheck_name(struct sov_jcheck *c, jv v, char **out)
{
	const char *why = sov_jcheck_name_why(v);

	if (why)
		return sov_jcheck_fail(c, "%s", why);
	return sov_jcheck_string(c, v, SOV_JCHECK_NAME_MAX, out);
}

int
sov_jcheck_number(struct sov_jcheck *c, jv v, double lo, double hi, double *out)
{
	double x;

	if (jv_get_kind(v) != JV_KIND_NUMBER)
		return sov_jcheck_fail(c,
				     "must be a number from %.10g to %.10g, "
				     "not %s",
				     lo, hi, sov_jcheck_kind(v));
	x = jv_number_value(v);
	if (!isfinite(x) || x < lo || x > hi)
		return sov_jcheck_fail(c, "must be a number from %.10g to %.10g",
				     lo, hi);
	*out = x;
	return 0;
}

int
sov_jcheck_int(struct sov_jcheck *c, jv v, long lo, long hi, long *out)
{
	double x;

	/* jq 1.6 and 1.7 disagree on jv_is_integer: decide here */
	if (jv_get_kind(v) != JV_KIND_NUMBER)
		return sov_jcheck_fail(c,
				     "must be an integer from %ld to %ld, not "
				     "%s",
				     lo, hi, sov_jcheck_kind(v));
	x = jv_number_value(v);
	if (!isfinite(x) || x != floor(x) || x < (double)lo || x > (double)hi)
		return sov_jcheck_fail(c, "must be an integer from %ld to %ld",
				     lo, hi);
	*out = (long)x;
	return 0;
}

const char *
sov_jcheck_ms(int64_t ms, char buf[32])
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"d", 86400000},
		     {"h", 3600000},
		     {"m", 60000},
		     {"s", 1000},
		     {"ms", 1}};

	for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++) {
		int n;

		/* "24h" reads better than "1d" */
		if (ms % units[i].ms != 0 || (i == 0 && ms < 2 * units[i].ms))
			continue;
		n = snprintf(buf, 32, "%lld%s", (long long)(ms / units[i].ms),
			     units[i].unit);
		return n > 0 && n < 32 ? buf : "?";
	}
	return "?";
}

int
sov_jcheck_duration(struct sov_jcheck *c, jv v, int64_t lo_ms, int64_t hi_ms,
		  int64_t *out)
{
	char lo[32], hi[32];
	struct sov_err pe = {0};
	int64_t ms;

	if (jv_get_kind(v) != JV_KIND_STRING)
		return sov_jcheck_fail(c,
				     "must be a duration string such as "
				     "\"90s\", not %s",
				     sov_jcheck_kind(v));
	if ((size_t)jv_string_length_bytes(jv_copy(v)) !=
	    strlen(jv_string_value(v)))
		return sov_jcheck_fail(c, "contains a NUL character");
	if (sov_duration_parse(jv_string_value(v), &ms, &pe) < 0)
		return sov_jcheck_fail(c, "%s", pe.msg);
	if (ms < lo_ms || ms > hi_ms)
		return sov_jcheck_fail(c, "must be from %s to %s",
				     sov_jcheck_ms(lo_ms, lo),
				     sov_jcheck_ms(hi_ms, hi));
	*out = ms;
	return 0;
}

int
sov_jcheck_where(struct sov_jcheck *c, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s: %s", c->file, c->len ? c->path : ".");

	if (n < 0 || (size_t)n >= size)
		return sov_jcheck_fail(c, "file name too long for messages");
	return 0;
}

int
sov_jcheck_jq(struct sov_jcheck *c, jv v, size_t max, jv vars, char **src,
	      struct sov_jq **q)
{
	char where[SOV_ERR_MSG_MAX];

	free(*src);
	sov_jq_free(*q);
	*src = NULL;
	*q = NULL;
	if (jv_get_kind(v) != JV_KIND_STRING) {
		jv_free(vars);
		return sov_jcheck_fail(
		    c, "must be a jq program (a string), not %s",
		    sov_jcheck_kind(v));
	}
	if (sov_jcheck_string(c, v, max, src) < 0) {
		jv_free(vars);
		return -1;
	}
	if (c->flags & SOV_JCHECK_NO_COMPILE) {
		jv_free(vars);
		return 0;
	}
	if (sov_jcheck_where(c, where, sizeof(where)) < 0) {
		jv_free(vars);
		return -1;
	}
	*q = sov_jq_compile(*src, where, vars, c->e);
	if (*q == NULL) {
		/* jq's message spans lines; keep ours to one */
		for (char *s = c->e ? c->e->msg : NULL; s && *s; s++)
			if (*s == '\n' || *s == '\r' || *s == '\t')
				*s = ' ';
		return -1;
	}
	return 0;
}

int
sov_jcheck_jq_later(struct sov_jcheck *c, jv v, size_t max,
		    struct sov_jq_prog *p)
{
	char buf[SOV_ERR_MSG_MAX];
	int flags = c->flags, rc;

	c->flags |= SOV_JCHECK_NO_COMPILE;
	rc = sov_jcheck_jq(c, v, max, jv_invalid(), &p->src, &p->q);
	c->flags = flags;
	if (rc < 0 || sov_jcheck_where(c, buf, sizeof(buf)) < 0)
		return -1;
	free(p->where);
	if ((p->where = strdup(buf)) == NULL)
		return sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
	return 0;
}

/* RFC 9110 token characters. */
static int
is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

int
sov_jcheck_headers(struct sov_jcheck *c, jv v, int max, size_t value_max,
		   const char *who)
{
	/* framing is curl's: a wrong one would corrupt the request */
	static const char *const reserved[] = {"content-length",
					       "transfer-encoding", "host"};
	jv keys;
	int n, rc = -1;

	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return sov_jcheck_fail(c,
				     "must be an object of header names to "
				     "strings, not %s",
				     sov_jcheck_kind(v));
	keys = jv_keys(jv_copy(v));
	n = jv_array_length(jv_copy(keys));
	if (n > max) {
		sov_jcheck_fail(c, "more than %d headers", max);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		jv k = jv_array_get(jv_copy(keys), i);
		jv val = jv_object_get(jv_copy(v), jv_copy(k));
		const char *ks = jv_string_value(k);
		size_t klen = (size_t)jv_string_length_bytes(jv_copy(k));
		size_t old = sov_jcheck_push_key(c, k);
		char *tmp = NULL;
		int bad = klen == 0 || klen > SOV_JCHECK_HEADER_NAME_MAX;

		for (size_t j = 0; j < klen && !bad; j++)
			bad = !is_tchar((unsigned char)ks[j]);
		if (bad)
			sov_jcheck_fail(c, "not a header name (letters, digits "
					 "and !#$%%&'*+-.^_`|~)");
		for (size_t j = 0;
		     j < sizeof(reserved) / sizeof(*reserved) && !bad; j++)
			if (strcasecmp(ks, reserved[j]) == 0) {
				sov_jcheck_fail(c, "is set by %s itself", who);
				bad = 1;
			}
		/* names differing in case only are the same header */
		for (int j = 0; j < i && !bad; j++) {
			jv o = jv_array_get(jv_copy(keys), j);

			if (strcasecmp(jv_string_value(o), ks) == 0) {
				sov_jcheck_fail(c, "given twice (as \"%s\")",
					      jv_string_value(o));
				bad = 1;
			}
			jv_free(o);
		}
		if (!bad &&
		    sov_jcheck_string(c, val, value_max, &tmp) < 0)
			bad = 1;
		for (const char *p = tmp; p && *p && !bad; p++)
			if ((*p > 0 && *p < ' ' && *p != '\t') || *p == 0x7f) {
				sov_jcheck_fail(c, "contains a control "
						 "character");
				bad = 1;
			}
		free(tmp);
		jv_free(k);
		jv_free(val);
		if (bad)
			goto out;
		sov_jcheck_pop(c, old);
	}
	rc = 0;
out:
	jv_free(keys);
	return rc;
}
