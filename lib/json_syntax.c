/*
 * json_syntax.c - JSON text from outside: a strict RFC 8259 syntax check that
 * allocates nothing, and sov_json_parse, which runs it before jq's parser.
 *
 * The JSON-lines reader runs it before jq's parser: every record is then
 * JSON that any other tool also accepts (jq 1.6 takes "nan" and raw control
 * characters in strings), an error names its exact column, and jq 1.6's
 * parser never sees the malformed shapes on whose error paths it leaks
 * (two values with no separator, e.g. {"a" "b"}).
 */
#include "jsonl.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { IN_ARRAY = 'a', IN_OBJECT = 'o' };

static size_t
skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n &&
	       (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A string starting at s[*i] == '"'; on success *i is past its end. */
static const char *
string(const char *s, size_t n, size_t *i)
{
	size_t j = *i + 1;

	while (j < n) {
		unsigned char c = (unsigned char)s[j];

		if (c == '"') {
			*i = j + 1;
			return NULL;
		}
		if (c < 0x20) {
			*i = j;
			return "control character in a string (escape it)";
		}
		if (c == '\\') {
			if (j + 1 >= n)
				break;
			c = (unsigned char)s[j + 1];
			if (c == 'u') {
				for (int k = 2; k < 6; k++) {
					if (j + k >= n || !is_hex(s[j + k])) {
						*i = j;
						return "bad \\u escape";
					}
				}
				j += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", c) || c == '\0') {
				*i = j;
				return "bad escape";
			}
			j += 2;
			continue;
		}
		j++;
	}
	*i = n;
	return "unfinished string";
}

/*
 * Would the number s[a..b) (valid syntax) overflow a double? jq would turn
 * it into +-DBL_MAX without a word; we refuse it instead. The decimal
 * magnitude is estimated from the digits and the exponent; only numbers
 * near the limit are converted, from a bounded copy.
 */
static int
out_of_range(const char *s, size_t a, size_t b)
{
	long mag = 0, ex = 0;
	int seen = 0, in_int = 0, exneg = 0;
	size_t k = a;
	char buf[72];

	if (s[k] == '-')
		k++;
	for (; k < b && is_digit(s[k]); k++) { /* integer part */
		if (seen || s[k] != '0') {
			seen = 1;
			mag++;
		}
	}
	in_int = seen;
	/* In the fraction, each digit up to the first significant one moves
	 * it down a place: 0.05 is 5e-2. */
	if (k < b && s[k] == '.')
		for (k++; k < b && is_digit(s[k]); k++) {
			if (seen)
				continue;
			if (s[k] != '0')
				seen = 1;
			mag--;
		}
	if (!seen)
		return 0; /* zero */
	if (in_int)
		mag--; /* 123 is 1.23e2 */
	if (k < b && (s[k] == 'e' || s[k] == 'E')) {
		k++;
		if (s[k] == '+' || s[k] == '-')
			exneg = s[k++] == '-';
		for (; k < b && is_digit(s[k]); k++)
			if (ex < 100000)
				ex = ex * 10 + (s[k] - '0');
	}
	mag += exneg ? -ex : ex;
	if (mag < 308)
		return 0;
	if (mag > 308 || b - a >= sizeof(buf))
		return 1;
	memcpy(buf, s + a, b - a);
	buf[b - a] = '\0';
	return isinf(strtod(buf, NULL));
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static const char *
number(const char *s, size_t n, size_t *i)
{
	size_t j = *i, start = *i;

	if (j < n && s[j] == '-')
		j++;
	if (j < n && s[j] == '0') {
		j++;
	} else if (j < n && is_digit(s[j])) {
		while (j < n && is_digit(s[j]))
			j++;
	} else {
		*i = j;
		return "bad number";
	}
	if (j < n && s[j] == '.') {
		if (++j >= n || !is_digit(s[j])) {
			*i = j;
			return "bad number: a digit must follow '.'";
		}
		while (j < n && is_digit(s[j]))
			j++;
	}
	if (j < n && (s[j] == 'e' || s[j] == 'E')) {
		j++;
		if (j < n && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j >= n || !is_digit(s[j])) {
			*i = j;
			return "bad number: a digit must follow the exponent";
		}
		while (j < n && is_digit(s[j]))
			j++;
	}
	if (out_of_range(s, start, j)) {
		*i = start;
		return "number out of range (beyond +-1.8e308)";
	}
	*i = j;
	return NULL;
}

static const char *
literal(const char *s, size_t n, size_t *i)
{
	static const char *const words[] = {"true", "false", "null"};

	for (size_t k = 0; k < 3; k++) {
		size_t l = strlen(words[k]);

		if (n - *i >= l && memcmp(s + *i, words[k], l) == 0) {
			*i += l;
			return NULL;
		}
	}
	return "expected a value";
}

long
sov_json_check(const char *s, size_t n, const char **why)
{
	char stack[SOV_JSON_DEPTH_MAX];
	size_t depth = 0, i = skip_ws(s, n, 0);
	const char *err = NULL;

	for (;;) {
		/* a value at s[i] */
		if (i >= n) {
			err = depth ? "unfinished: the line ends inside a value"
				    : "empty record";
			goto bad;
		}
		if (s[i] == '[' || s[i] == '{') {
			if (depth == SOV_JSON_DEPTH_MAX) {
				err = "nested deeper than the limit";
				goto bad;
			}
			stack[depth++] = s[i] == '[' ? IN_ARRAY : IN_OBJECT;
			i = skip_ws(s, n, i + 1);
			if (i < n && (s[i] == ']' || s[i] == '}') &&
			    s[i] ==
				(stack[depth - 1] == IN_ARRAY ? ']' : '}')) {
				depth--; /* empty container */
				i++;
				goto after_value;
			}
			if (stack[depth - 1] == IN_OBJECT)
				goto key;
			continue;
		}
		if (s[i] == '"')
			err = string(s, n, &i);
		else if (s[i] == '-' || is_digit(s[i]))
			err = number(s, n, &i);
		else
			err = literal(s, n, &i);
		if (err != NULL)
			goto bad;
	after_value:
		i = skip_ws(s, n, i);
		if (depth == 0) {
			if (i == n)
				return -1;
			err = "unexpected data after the value";
			goto bad;
		}
		if (i >= n) {
			err = "unfinished: the line ends inside a value";
			goto bad;
		}
		if (s[i] == (stack[depth - 1] == IN_ARRAY ? ']' : '}')) {
			depth--;
			i++;
			goto after_value;
		}
		if (s[i] != ',') {
			err = stack[depth - 1] == IN_ARRAY
				  ? "expected ',' or ']'"
				  : "expected ',' or '}'";
			goto bad;
		}
		i = skip_ws(s, n, i + 1);
		if (stack[depth - 1] == IN_ARRAY)
			continue;
	key:
		if (i >= n || s[i] != '"') {
			err = i >= n
				  ? "unfinished: the line ends inside a value"
				  : "expected a string key";
			goto bad;
		}
		if ((err = string(s, n, &i)) != NULL)
			goto bad;
		i = skip_ws(s, n, i);
		if (i >= n || s[i] != ':') {
			err = "expected ':' after the key";
			goto bad;
		}
		i = skip_ws(s, n, i + 1);
	}
bad:
	if (why != NULL)
		*why = err;
	return (long)(i < n ? i : n);
}

/* "column C" on the first line, "line L, column C" after it. */
static void
where(const char *s, size_t off, char *buf, size_t size)
{
	size_t line = 1, col = 1;

	for (size_t i = 0; i < off; i++) {
		if (s[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	if (line == 1)
		snprintf(buf, size, "column %zu", col);
	else
		snprintf(buf, size, "line %zu, column %zu", line, col);
}

jv
sov_json_parse(const char *s, size_t n, struct sov_err *e)
{
	const char *why = NULL, *nul;
	char at[64];
	long bad;
	jv v, msg;

	if (n > INT_MAX) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "JSON text of %zu bytes is too "
			    "large",
			    n);
		return jv_invalid();
	}
	if ((nul = memchr(s, '\0', n)) != NULL) {
		where(s, (size_t)(nul - s), at, sizeof(at));
		sov_err_set(e, SOV_EXIT_USAGE, "NUL byte at %s", at);
		return jv_invalid();
	}
	if ((bad = sov_utf8_check(s, n)) >= 0) {
		where(s, (size_t)bad, at, sizeof(at));
		sov_err_set(e, SOV_EXIT_USAGE, "invalid UTF-8 at %s", at);
		return jv_invalid();
	}
	if ((bad = sov_json_check(s, n, &why)) >= 0) {
		where(s, (size_t)bad, at, sizeof(at));
		sov_err_set(e, SOV_EXIT_USAGE, "invalid JSON at %s: %s", at,
			    why);
		return jv_invalid();
	}
	v = jv_parse_sized(s, (int)n);
	if (jv_is_valid(v))
		return v;
	/* Syntax passed, so this is rare (a limit of jq's). jq appends the
	 * whole input to its message: keep only its own words. */
	msg = jv_invalid_get_msg(v);
	if (jv_get_kind(msg) == JV_KIND_STRING) {
		const char *m = jv_string_value(msg);
		const char *cut = strstr(m, " (while parsing");

		sov_err_set(e, SOV_EXIT_USAGE, "invalid JSON: %.*s",
			    (int)(cut ? (size_t)(cut - m) : strlen(m)), m);
	} else {
		sov_err_set(e, SOV_EXIT_USAGE, "invalid JSON");
	}
	jv_free(msg);
	return jv_invalid();
}
