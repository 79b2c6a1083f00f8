/* sketch.c - a mergeable quantile sketch of logarithmic bins; see sketch.h. */
#include "sketch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>

#include "json_dump.h"
#include "jsonl.h"

struct bin {
	int32_t i;
	uint64_t n;
};

/* One side: bins sorted by index. */
struct side {
	struct bin *b;
	size_t len, cap;
};

struct sov_sketch {
	struct side pos, neg;
	uint64_t zero;
	double lg; /* log(g) */
};

static double
gamma_of(double a)
{
	return (1 + a) / (1 - a);
}

struct sov_sketch *
sov_sketch_new(void)
{
	struct sov_sketch *s = calloc(1, sizeof(*s));

	if (s != NULL)
		s->lg = log(gamma_of(SOV_SKETCH_ALPHA));
	return s;
}

void
sov_sketch_free(struct sov_sketch *s)
{
	if (s == NULL)
		return;
	free(s->pos.b);
	free(s->neg.b);
	free(s);
}

/* Add n to bin i of side d. */
static int
side_add(struct side *d, int32_t i, uint64_t n)
{
	size_t lo = 0, hi = d->len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->b[mid].i < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < d->len && d->b[lo].i == i) {
		d->b[lo].n += n;
		return 0;
	}
	if (d->len >= SOV_SKETCH_BINS_MAX)
		return -1;
	if (d->len == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct bin *nb = realloc(d->b, cap * sizeof(*nb));

		if (nb == NULL)
			return -1;
		d->b = nb;
		d->cap = cap;
	}
	memmove(d->b + lo + 1, d->b + lo, (d->len - lo) * sizeof(*d->b));
	d->b[lo].i = i;
	d->b[lo].n = n;
	d->len++;
	return 0;
}

int
sov_sketch_add(struct sov_sketch *s, double v, uint64_t n)
{
	double a = fabs(v);

	if (!isfinite(v))
		return -1;
	if (n == 0)
		return 0;
	if (a < SOV_SKETCH_ZERO) {
		s->zero += n;
		return 0;
	}
	/* a >= 1e-9 and finite: the index is within about -1040..35900 */
	return side_add(v > 0 ? &s->pos : &s->neg,
			(int32_t)ceil(log(a) / s->lg), n);
}

int
sov_sketch_merge(struct sov_sketch *s, const struct sov_sketch *o)
{
	for (size_t k = 0; k < o->pos.len; k++)
		if (side_add(&s->pos, o->pos.b[k].i, o->pos.b[k].n) < 0)
			return -1;
	for (size_t k = 0; k < o->neg.len; k++)
		if (side_add(&s->neg, o->neg.b[k].i, o->neg.b[k].n) < 0)
			return -1;
	s->zero += o->zero;
	return 0;
}

uint64_t
sov_sketch_count(const struct sov_sketch *s)
{
	uint64_t n = s->zero;

	for (size_t k = 0; k < s->pos.len; k++)
		n += s->pos.b[k].n;
	for (size_t k = 0; k < s->neg.len; k++)
		n += s->neg.b[k].n;
	return n;
}

/* A count as stored: a whole number from 0 to 2^53. */
static int
count_of(jv v, uint64_t *n)
{
	double d;

	if (jv_get_kind(v) != JV_KIND_NUMBER)
		return -1;
	d = jv_number_value(v);
	if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d))
		return -1;
	*n = (uint64_t)d;
	return 0;
}

/* Check a side's flat pairs into tmp; the message on error in *why. */
static int
side_parse(jv arr, struct side *tmp, const char **why)
{
	int len;

	if (!jv_is_valid(arr) || jv_get_kind(arr) == JV_KIND_NULL)
		return 0; /* absent: empty */
	if (jv_get_kind(arr) != JV_KIND_ARRAY) {
		*why = "bins are not an array";
		return -1;
	}
	len = jv_array_length(jv_copy(arr));
	if (len % 2 != 0) {
		*why = "bins are not pairs";
		return -1;
	}
	for (int k = 0; k < len; k += 2) {
		jv vi = jv_array_get(jv_copy(arr), k);
		jv vn = jv_array_get(jv_copy(arr), k + 1);
		double di = jv_get_kind(vi) == JV_KIND_NUMBER
				? jv_number_value(vi)
				: NAN;
		uint64_t n = 0;
		int bad = !(di >= -1e6 && di <= 1e6) || di != floor(di) ||
			  count_of(vn, &n) < 0;

		jv_free(vi);
		jv_free(vn);
		if (bad) {
			*why = "a bin is not an integer index and count";
			return -1;
		}
		if (side_add(tmp, (int32_t)di, n) < 0) {
			*why = "too many bins";
			return -1;
		}
	}
	return 0;
}

int
sov_sketch_merge_text(struct sov_sketch *s, const char *text, size_t len,
		      struct sov_err *e)
{
	struct sov_sketch *tmp = NULL;
	const char *why = NULL;
	jv doc = jv_invalid(), a = jv_invalid(), z = jv_invalid(),
	   p = jv_invalid(), n = jv_invalid();
	uint64_t zn = 0;
	int rc = -1;

	if (len > SOV_SKETCH_TEXT_MAX) {
		why = "longer than the cap";
		goto out;
	}
	doc = sov_json_parse(text, len, NULL);
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		why = "not a JSON object";
		goto out;
	}
	a = jv_object_get(jv_copy(doc), jv_string("a"));
	if (jv_get_kind(a) != JV_KIND_NUMBER ||
	    jv_number_value(a) != SOV_SKETCH_ALPHA) {
		why = "\"a\" is not the relative accuracy this build uses";
		goto out;
	}
	z = jv_object_get(jv_copy(doc), jv_string("z"));
	if (jv_is_valid(z) && jv_get_kind(z) != JV_KIND_NULL &&
	    count_of(z, &zn) < 0) {
		why = "\"z\" is not a count";
		goto out;
	}
	tmp = sov_sketch_new();
	if (tmp == NULL) {
		why = "out of memory";
		goto out;
	}
	p = jv_object_get(jv_copy(doc), jv_string("p"));
	n = jv_object_get(jv_copy(doc), jv_string("n"));
	if (side_parse(p, &tmp->pos, &why) < 0 ||
	    side_parse(n, &tmp->neg, &why) < 0)
		goto out;
	tmp->zero = zn;
	if (sov_sketch_merge(s, tmp) < 0) {
		why = "too many bins";
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		sov_err_set(e, SOV_EXIT_FAIL, "sketch: %s", why);
	sov_sketch_free(tmp);
	jv_free(doc);
	jv_free(a);
	jv_free(z);
	jv_free(p);
	jv_free(n);
	return rc;
}

static jv
side_json(const struct side *d)
{
	jv a = jv_array_sized((int)d->len * 2);

	for (size_t k = 0; k < d->len; k++) {
		a = jv_array_append(a, jv_number(d->b[k].i));
		a = jv_array_append(a, jv_number((double)d->b[k].n));
	}
	return a;
}

char *
sov_sketch_text(const struct sov_sketch *s)
{
	jv o = jv_object();
	char *out = NULL;
	size_t len;

	o = jv_object_set(o, jv_string("a"), jv_number(SOV_SKETCH_ALPHA));
	o = jv_object_set(o, jv_string("z"), jv_number((double)s->zero));
	o = jv_object_set(o, jv_string("p"), side_json(&s->pos));
	o = jv_object_set(o, jv_string("n"), side_json(&s->neg));
	if (sov_json_dump_text(o, &out, &len) < 0)
		return NULL;
	return out;
}

/* The value of 0-based rank r in sorted order (r < count). */
static double
value_at(const struct sov_sketch *s, uint64_t r)
{
	double g = exp(s->lg);

	/* negative values, most negative (highest bin) first */
	for (size_t k = s->neg.len; k-- > 0;) {
		if (r < s->neg.b[k].n)
			return -2 * pow(g, s->neg.b[k].i) / (g + 1);
		r -= s->neg.b[k].n;
	}
	if (r < s->zero)
		return 0;
	r -= s->zero;
	for (size_t k = 0; k < s->pos.len; k++) {
		if (r < s->pos.b[k].n)
			return 2 * pow(g, s->pos.b[k].i) / (g + 1);
		r -= s->pos.b[k].n;
	}
	return NAN; /* not reached for r < count */
}

double
sov_sketch_quantile(const struct sov_sketch *s, double q)
{
	uint64_t n = sov_sketch_count(s), lo;
	double h, lv, hv;

	if (n == 0 || !(q >= 0 && q <= 1))
		return NAN;
	h = q * (double)(n - 1);
	lo = (uint64_t)floor(h);
	lv = value_at(s, lo);
	if (lo + 1 >= n)
		return lv;
	hv = value_at(s, lo + 1);
	return lv + (h - (double)lo) * (hv - lv);
}
