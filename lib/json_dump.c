/*
 * json_dump.c - jv to compact JSON text into one growing buffer (see
 * json_dump.h). A jv string is valid UTF-8 by construction, so its bytes
 * are copied in runs, only '"', '\\' and control characters escaped.
 */
#include "json_dump.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUMP_DEPTH_MAX 10000 /* jq's parser stops at 10000 too */

struct buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void
reserve(struct buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->failed || b->cap - b->len > more)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len <= more) {
		if (cap > ((size_t)-1) / 2) {
			b->failed = 1;
			return;
		}
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (!p) {
		b->failed = 1;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void
put(struct buf *b, const char *s, size_t n)
{
	reserve(b, n);
	if (b->failed)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* An integer's digits: most numbers a tool writes are ids, counts and
 * times, and printf's machinery was a tenth of a sov-wf worker's CPU. */
static int
put_integer(long long v, char *buf)
{
	char tmp[24];
	unsigned long long u =
	    v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	int n = 0, k = 0;

	do {
		tmp[k++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[n++] = '-';
	while (k)
		buf[n++] = tmp[--k];
	buf[n] = 0;
	return n;
}

int
sov_json_number(double d, char buf[SOV_JSON_NUMBER_MAX])
{
	int n = 0;

	if (isnan(d))
		return snprintf(buf, SOV_JSON_NUMBER_MAX, "null");
	if (isinf(d))
		d = d > 0 ? DBL_MAX : -DBL_MAX;
	if (d == floor(d) && fabs(d) < 1e17) {
		n = put_integer((long long)d, buf);
	} else {
		/* the shortest of 15 to 17 digits that reads back the same */
		for (int prec = 15; prec <= 17; prec++) {
			n = snprintf(buf, SOV_JSON_NUMBER_MAX, "%.*g", prec, d);
			if (n < 0 || n >= SOV_JSON_NUMBER_MAX ||
			    strtod(buf, NULL) == d)
				break;
		}
	}
	if (n < 0 || n >= SOV_JSON_NUMBER_MAX)
		return -1;
	/* A decimal comma from a caller's setlocale() is no JSON. */
	for (char *p = buf; *p; p++)
		if (*p == ',')
			*p = '.';
	return n;
}

static void
put_number(struct buf *b, double d)
{
	char num[SOV_JSON_NUMBER_MAX];
	int n = sov_json_number(d, num);

	if (n < 0) {
		b->failed = 1;
		return;
	}
	put(b, num, (size_t)n);
}

/*
 * A number (borrowed) as jq prints it. Past 2^53 jq writes an integer's
 * shortest digits padded with zeros (and every digit up to about 1e32)
 * where sov_json_number writes all digits or an exponent: the canonical
 * text takes jq's for those, and for NaN and infinities.
 */
static void
put_jq_number(struct buf *b, jv v)
{
	jv s = jv_dump_string(jv_copy(v), 0);

	put(b, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
	jv_free(s);
}

static void
put_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t k = 2;

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		put(b, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			k = 6;
		}
		put(b, esc, k);
	}
	put(b, s + run, n - run);
	put(b, "\"", 1);
}

static void put_value(struct buf *b, jv v, int depth, int sorted);

/* A member of an object being dumped in key order. */
struct member {
	const char *key;
	size_t len;
	jv k, v;
};

/* jq's order for keys (jv_keys): bytewise, a prefix first. */
static int
cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->key, y->key, n);

	if (r != 0)
		return r;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* An object (borrowed) with its keys in jq's sorted order. */
static void
put_sorted_object(struct buf *b, jv v, int depth)
{
	struct member small[32], *m = small;
	size_t n = 0, cap = sizeof(small) / sizeof(*small);
	int len = jv_object_length(jv_copy(v));

	if (len > (int)cap) {
		cap = (size_t)len;
		m = malloc(cap * sizeof(*m));
		if (!m) {
			b->failed = 1;
			return;
		}
	}
	jv_object_foreach(v, key, item)
	{
		if (n == cap) { /* cannot happen: length said so */
			jv_free(key);
			jv_free(item);
			b->failed = 1;
			continue;
		}
		m[n].key = jv_string_value(key);
		m[n].len = (size_t)jv_string_length_bytes(jv_copy(key));
		m[n].k = key;
		m[n].v = item;
		n++;
	}
	qsort(m, n, sizeof(*m), cmp_member);
	put(b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			put(b, ",", 1);
		put_string(b, m[i].key, m[i].len);
		put(b, ":", 1);
		put_value(b, m[i].v, depth + 1, 1);
		jv_free(m[i].k);
		jv_free(m[i].v);
	}
	put(b, "}", 1);
	if (m != small)
		free(m);
}

/* v is borrowed. */
static void
put_value(struct buf *b, jv v, int depth, int sorted)
{
	int first = 1;

	if (b->failed)
		return;
	if (depth > DUMP_DEPTH_MAX) {
		b->failed = 1;
		return;
	}
	switch (jv_get_kind(v)) {
	case JV_KIND_NULL:
		put(b, "null", 4);
		break;
	case JV_KIND_TRUE:
		put(b, "true", 4);
		break;
	case JV_KIND_FALSE:
		put(b, "false", 5);
		break;
	case JV_KIND_NUMBER:
		if (sorted && !(fabs(jv_number_value(v)) <= 9007199254740992.0))
			put_jq_number(b, v);
		else
			put_number(b, jv_number_value(v));
		break;
	case JV_KIND_STRING:
		put_string(b, jv_string_value(v),
			   (size_t)jv_string_length_bytes(jv_copy(v)));
		break;
	case JV_KIND_ARRAY:
		put(b, "[", 1);
		jv_array_foreach(v, i, item)
		{
			if (i > 0)
				put(b, ",", 1);
			put_value(b, item, depth + 1, sorted);
			jv_free(item);
		}
		put(b, "]", 1);
		break;
	case JV_KIND_OBJECT:
		if (sorted) {
			put_sorted_object(b, v, depth);
			break;
		}
		put(b, "{", 1);
		jv_object_foreach(v, key, item)
		{
			if (!first)
				put(b, ",", 1);
			first = 0;
			put_string(b, jv_string_value(key),
				   (size_t)jv_string_length_bytes(
				       jv_copy(key)));
			put(b, ":", 1);
			put_value(b, item, depth + 1, 0);
			jv_free(key);
			jv_free(item);
		}
		put(b, "}", 1);
		break;
	default: /* invalid */
		b->failed = 1;
	}
}

static int
dump_text(jv v, int sorted, char **out, size_t *len)
{
	struct buf b = {0};

	put_value(&b, v, 0, sorted);
	jv_free(v);
	reserve(&b, 1);
	if (b.failed) {
		free(b.p);
		*out = NULL;
		*len = 0;
		return -1;
	}
	b.p[b.len] = 0;
	*out = b.p;
	*len = b.len;
	return 0;
}

int
sov_json_dump_text(jv v, char **out, size_t *len)
{
	return dump_text(v, 0, out, len);
}

int
sov_json_dump_text_sorted(jv v, char **out, size_t *len)
{
	return dump_text(v, 1, out, len);
}

jv
sov_json_dump(jv v)
{
	char *text;
	size_t len;
	jv s;

	/* Whatever this dumper cannot do (memory, depth) falls to jq's,
	 * which behaves as every other jv call does then. */
	if (sov_json_dump_text(jv_copy(v), &text, &len) < 0 ||
	    len > (size_t)2147483647) {
		free(text);
		return jv_dump_string(v, 0);
	}
	jv_free(v);
	s = jv_string_sized(text, (int)len);
	free(text);
	return s;
}
