/*
 * json_syntax.c - a strict RFC 8259 syntax check that allocates nothing.
 *
 * The JSON-lines reader runs it before jq's parser: every record is then
 * JSON that any other tool also accepts (jq 1.6 takes "nan" and raw control
 * characters in strings), an error names its exact column, and jq 1.6's
 * parser never sees the malformed shapes on whose error paths it leaks
 * (two values with no separator, e.g. {"a" "b"}).
 */
#include "jsonl.h"

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

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static const char *
number(const char *s, size_t n, size_t *i)
{
	size_t j = *i;

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
