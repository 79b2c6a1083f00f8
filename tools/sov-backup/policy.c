/*
 * policy.c - the retention policy of `forget`; the rules are in policy.h.
 *
 * One pass per group, newest first, as restic's ApplyPolicy: each bucket
 * rule remembers the bucket it kept last and keeps a snapshot whose bucket
 * differs, while its count lasts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"
#include "timestamp.h"

#define BK_POLICY_SNAPSHOTS_MAX 1000000
#define BK_POLICY_ID_MAX 256
#define BK_POLICY_TIME_MAX 64
#define BK_POLICY_HOST_MAX 256
#define BK_POLICY_PATH_MAX 4096
#define BK_POLICY_PATHS_MAX 4096
#define BK_POLICY_TAG_MAX 256
#define BK_POLICY_TAGS_MAX 256
#define BK_POLICY_KEEP_TAGS_MAX 256
#define BK_POLICY_KEEP_TAG_MAX 4096 /* one entry: a comma-separated list */
#define BK_POLICY_GROUP_BY_MAX 64
#define BK_POLICY_REASON_MAX 64
#define BK_POLICY_QUOTE_MAX 80 /* a value quoted in an error message */

enum { R_LAST, R_HOURLY, R_DAILY, R_WEEKLY, R_MONTHLY, R_YEARLY, R_N };

static const char *const rule_name[R_N] = {"last",   "hourly",  "daily",
					   "weekly", "monthly", "yearly"};

/*
 * One snapshot. The jv fields share the input's storage where they can
 * (jv_copy costs no allocation): memory per snapshot is what limits a
 * repository with tens of thousands of snapshots.
 */
struct snap {
	size_t idx; /* in the input */
	int64_t ms;
	int year, mon, mday, hour, isoyear, isoweek; /* local time */
	unsigned group_by;
	jv id, host, paths, tags; /* paths and tags sorted, without dups */
	jv group;                 /* shared by the group */
	jv reasons;               /* jv_null() until the first one */
};

int
bk_policy_parse_group_by(const char *s, unsigned *out, struct sov_err *e)
{
	unsigned bits = 0;
	const char *p;
	size_t len;

	if (s == NULL)
		return sov_err_set(e, SOV_EXIT_USAGE, "--group-by: missing");
	len = strnlen(s, BK_POLICY_GROUP_BY_MAX + 1);
	if (len > BK_POLICY_GROUP_BY_MAX)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "--group-by: longer than %d bytes",
				   BK_POLICY_GROUP_BY_MAX);
	for (p = s; p <= s + len;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		/* restic's singular/plural spellings; "" parts are skipped */
		if (n == 0)
			;
		else if ((n == 4 && memcmp(p, "host", 4) == 0) ||
			 (n == 5 && memcmp(p, "hosts", 5) == 0))
			bits |= BK_GROUP_HOST;
		else if ((n == 4 && memcmp(p, "path", 4) == 0) ||
			 (n == 5 && memcmp(p, "paths", 5) == 0))
			bits |= BK_GROUP_PATHS;
		else if ((n == 3 && memcmp(p, "tag", 3) == 0) ||
			 (n == 4 && memcmp(p, "tags", 4) == 0))
			bits |= BK_GROUP_TAGS;
		else
			return sov_err_set(
			    e, SOV_EXIT_USAGE,
			    "--group-by: unknown field \"%.*s\": "
			    "want host, paths or tags, "
			    "comma-separated, or \"\" for none",
			    (int)n, p);
		p += n + 1;
	}
	*out = bits;
	return 0;
}

/* A JSON value, escaped and cut, for an error message. */
static const char *
quote(jv v, char buf[BK_POLICY_QUOTE_MAX])
{
	return jv_dump_string_trunc(jv_copy(v), buf, BK_POLICY_QUOTE_MAX);
}

/* "snapshot I (id "X"): <fmt>" as a usage error; returns -1. */
static int __attribute__((format(printf, 4, 5)))
snap_err(struct sov_err *e, size_t i, jv id, const char *fmt, ...)
{
	char what[SOV_ERR_MSG_MAX], q[BK_POLICY_QUOTE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (n < 0)
		what[0] = '\0';
	/* a cut message is still worth showing: sov_err_set marks it "..." */
	if (jv_get_kind(id) == JV_KIND_STRING)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "snapshot %zu (id %s): %s", i, quote(id, q),
				   what);
	return sov_err_set(e, SOV_EXIT_USAGE, "snapshot %zu: %s", i, what);
}

/* NULL when v is a string of at most max bytes without NUL, else why not. */
static const char *
bad_string(jv v, size_t max)
{
	size_t n;

	if (jv_get_kind(v) != JV_KIND_STRING)
		return "not a string";
	n = (size_t)jv_string_length_bytes(jv_copy(v));
	if (n > max)
		return "too long";
	if (strlen(jv_string_value(v)) != n)
		return "contains a NUL byte";
	return NULL;
}

/* Whether an array of strings is in strictly ascending byte order. */
static int
is_set(jv a, int n)
{
	for (int k = 1; k < n; k++) {
		jv x = jv_array_get(jv_copy(a), k - 1);
		jv y = jv_array_get(jv_copy(a), k);
		int c = strcmp(jv_string_value(x), jv_string_value(y));

		jv_free(x);
		jv_free(y);
		if (c >= 0)
			return 0;
	}
	return 1;
}

/*
 * obj[field] as an array of strings, sorted, without duplicates, into *out
 * (owned by the caller). Missing or null is none (a shared []) when none
 * is an array.
 */
static int
string_set(jv obj, size_t i, jv id, const char *field, size_t max_n,
	   size_t max_len, jv none, jv *out, struct sov_err *e)
{
	jv v = jv_object_get(jv_copy(obj), jv_string(field)), set;
	int rc = -1, n;

	if (jv_get_kind(none) == JV_KIND_ARRAY &&
	    (jv_get_kind(v) == JV_KIND_INVALID ||
	     jv_get_kind(v) == JV_KIND_NULL)) {
		*out = jv_copy(none);
		rc = 0;
		goto out;
	}
	if (jv_get_kind(v) != JV_KIND_ARRAY) {
		snap_err(e, i, id, "%s: missing or not an array of strings",
			 field);
		goto out;
	}
	n = jv_array_length(jv_copy(v));
	if ((size_t)n > max_n) {
		snap_err(e, i, id, "%s: more than %zu entries", field, max_n);
		goto out;
	}
	for (int k = 0; k < n; k++) {
		jv s = jv_array_get(jv_copy(v), k);
		const char *why = bad_string(s, max_len);

		jv_free(s);
		if (why) {
			snap_err(e, i, id, "%s[%d]: %s", field, k, why);
			goto out;
		}
	}
	if (is_set(v, n)) { /* the usual case: keep the input's array */
		*out = v;
		v = jv_null();
		rc = 0;
		goto out;
	}
	/* jv_sort's string order is byte order, as strcmp's */
	v = jv_sort(v, jv_copy(v));
	set = jv_array();
	for (int k = 0; k < n; k++) {
		jv s = jv_array_get(jv_copy(v), k);

		if (k > 0) {
			jv prev = jv_array_get(jv_copy(v), k - 1);

			if (jv_equal(prev, jv_copy(s))) {
				jv_free(s);
				continue;
			}
		}
		set = jv_array_append(set, s);
	}
	*out = set;
	rc = 0;
out:
	jv_free(v);
	return rc;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The weekday of 31 December of year y, 0 = Sunday. */
static int
dec31_wday(int64_t y)
{
	int64_t d = y + floor_div(y, 4) - floor_div(y, 100) + floor_div(y, 400);

	return (int)(d - floor_div(d, 7) * 7);
}

/* ISO 8601: 53 weeks when the year ends on a Thursday, or the year before
 * on a Wednesday (the year starts on a Thursday or is a leap year starting
 * on a Wednesday). */
static int
iso_weeks(int64_t y)
{
	return dec31_wday(y) == 4 || dec31_wday(y - 1) == 3 ? 53 : 52;
}

/* The ISO week of a day: the week (Monday first) with its Thursday. */
static void
iso_week(int year, int yday, int wday, int *isoyear, int *week)
{
	int wd = wday == 0 ? 7 : wday;
	int w = (yday + 1 - wd + 10) / 7;

	*isoyear = year;
	if (w < 1) {
		*isoyear = year - 1;
		w = iso_weeks(year - 1);
	} else if (w > iso_weeks(year)) {
		*isoyear = year + 1;
		w = 1;
	}
	*week = w;
}

static int
local_fields(struct snap *s)
{
	time_t t = (time_t)floor_div(s->ms, 1000);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return -1;
	s->year = tm.tm_year + 1900;
	s->mon = tm.tm_mon + 1;
	s->mday = tm.tm_mday;
	s->hour = tm.tm_hour;
	iso_week(s->year, tm.tm_yday, tm.tm_wday, &s->isoyear, &s->isoweek);
	return 0;
}

/* Check snaps[i] and fill *s; s's jv fields are jv_null() on entry. */
static int
load_snap(jv item, size_t i, jv none, struct snap *s, struct sov_err *e)
{
	char q[BK_POLICY_QUOTE_MAX];
	jv v = jv_null();
	const char *why;
	int rc = -1;

	s->idx = i;
	if (jv_get_kind(item) != JV_KIND_OBJECT) {
		snap_err(e, i, jv_null(), "not an object");
		goto out;
	}
	v = jv_object_get(jv_copy(item), jv_string("id"));
	if ((why = bad_string(v, BK_POLICY_ID_MAX)) != NULL ||
	    (why = jv_string_length_bytes(jv_copy(v)) == 0 ? "empty" : NULL)) {
		snap_err(e, i, jv_null(), "id: %s",
			 jv_get_kind(v) == JV_KIND_INVALID ? "missing" : why);
		goto out;
	}
	s->id = v;
	v = jv_object_get(jv_copy(item), jv_string("time"));
	if ((why = bad_string(v, BK_POLICY_TIME_MAX)) != NULL) {
		snap_err(e, i, s->id, "time: %s",
			 jv_get_kind(v) == JV_KIND_INVALID ? "missing" : why);
		goto out;
	}
	if (sov_time_parse(jv_string_value(v), &s->ms, e) < 0) {
		snap_err(e, i, s->id, "time: not an RFC 3339 time: %s",
			 quote(v, q));
		goto out;
	}
	if (local_fields(s) < 0) {
		snap_err(e, i, s->id, "time: %s: out of the local calendar",
			 quote(v, q));
		goto out;
	}
	jv_free(v);
	v = jv_object_get(jv_copy(item), jv_string("host"));
	if ((why = bad_string(v, BK_POLICY_HOST_MAX)) != NULL) {
		snap_err(e, i, s->id, "host: %s",
			 jv_get_kind(v) == JV_KIND_INVALID ? "missing" : why);
		goto out;
	}
	s->host = v;
	v = jv_null();
	jv_free(s->paths);
	if (string_set(item, i, s->id, "paths", BK_POLICY_PATHS_MAX,
		       BK_POLICY_PATH_MAX, jv_null(), &s->paths, e) < 0) {
		s->paths = jv_null();
		goto out;
	}
	jv_free(s->tags);
	if (string_set(item, i, s->id, "tags", BK_POLICY_TAGS_MAX,
		       BK_POLICY_TAG_MAX, none, &s->tags, e) < 0) {
		s->tags = jv_null();
		goto out;
	}
	rc = 0;
out:
	jv_free(item);
	jv_free(v);
	return rc;
}

/* Order of two sets of strings: element by element, then by length. */
static int
cmp_set(jv a, jv b)
{
	int na = jv_array_length(jv_copy(a)), nb = jv_array_length(jv_copy(b));

	for (int k = 0; k < na && k < nb; k++) {
		jv x = jv_array_get(jv_copy(a), k);
		jv y = jv_array_get(jv_copy(b), k);
		int c = strcmp(jv_string_value(x), jv_string_value(y));

		jv_free(x);
		jv_free(y);
		if (c != 0)
			return c;
	}
	return na < nb ? -1 : na > nb;
}

/* Order of the groups of two snapshots: host, paths, tags, as grouped. */
static int
cmp_group(const struct snap *x, const struct snap *y)
{
	int c;

	if ((x->group_by & BK_GROUP_HOST) &&
	    (c = strcmp(jv_string_value(x->host), jv_string_value(y->host))))
		return c;
	if ((x->group_by & BK_GROUP_PATHS) && (c = cmp_set(x->paths, y->paths)))
		return c;
	if ((x->group_by & BK_GROUP_TAGS) && (c = cmp_set(x->tags, y->tags)))
		return c;
	return 0;
}

/* The "group" object of a snapshot: the fields it is grouped by. */
static jv
group_of(const struct snap *s)
{
	jv g = jv_object();

	if (s->group_by & BK_GROUP_HOST)
		g = jv_object_set(g, jv_string("host"), jv_copy(s->host));
	if (s->group_by & BK_GROUP_PATHS)
		g = jv_object_set(g, jv_string("paths"), jv_copy(s->paths));
	if (s->group_by & BK_GROUP_TAGS)
		g = jv_object_set(g, jv_string("tags"), jv_copy(s->tags));
	return g;
}

static int
check_policy(const struct bk_policy *p, int *empty, struct sov_err *e)
{
	const int counts[R_N] = {p->last,   p->hourly,  p->daily,
				 p->weekly, p->monthly, p->yearly};
	int n = 0;

	*empty = 1;
	for (int r = 0; r < R_N; r++) {
		if (counts[r] < -1)
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "policy: keep-%s: %d: want a count, "
					   "or -1 for unlimited",
					   rule_name[r], counts[r]);
		if (counts[r] != 0)
			*empty = 0;
	}
	if (p->within_ms < 0)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "policy: keep-within: negative");
	if (p->within_ms > 0)
		*empty = 0;
	if (p->group_by &
	    ~(unsigned)(BK_GROUP_HOST | BK_GROUP_PATHS | BK_GROUP_TAGS))
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "policy: group-by: unknown bits 0x%x",
				   p->group_by);
	/* null, or a zeroed struct's jv (invalid): no tag rule */
	if (jv_get_kind(p->keep_tags) == JV_KIND_NULL ||
	    jv_get_kind(p->keep_tags) == JV_KIND_INVALID)
		return 0;
	if (jv_get_kind(p->keep_tags) != JV_KIND_ARRAY)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "policy: keep-tag: not an array of strings");
	n = jv_array_length(jv_copy(p->keep_tags));
	if (n > BK_POLICY_KEEP_TAGS_MAX)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "policy: keep-tag: more than %d",
				   BK_POLICY_KEEP_TAGS_MAX);
	for (int k = 0; k < n; k++) {
		jv t = jv_array_get(jv_copy(p->keep_tags), k);
		const char *why = bad_string(t, BK_POLICY_KEEP_TAG_MAX);

		jv_free(t);
		if (why)
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "policy: keep-tag[%d]: %s", k, why);
	}
	if (n > 0)
		*empty = 0;
	return 0;
}

/* Whether the sorted tag set holds the n bytes at t. */
static int
has_tag(jv tags, const char *t, size_t n)
{
	int len = jv_array_length(jv_copy(tags));

	for (int k = 0; k < len; k++) {
		jv s = jv_array_get(jv_copy(tags), k);
		int hit = (size_t)jv_string_length_bytes(jv_copy(s)) == n &&
			  memcmp(jv_string_value(s), t, n) == 0;

		jv_free(s);
		if (hit)
			return 1;
	}
	return 0;
}

/* A keep-tag entry "a,b": every tag present; an empty part: no tags. */
static int
tags_match(jv tags, const char *entry)
{
	int untagged = jv_array_length(jv_copy(tags)) == 0;
	const char *p = entry;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == 0 ? !untagged : !has_tag(tags, p, n))
			return 0;
		if (end == NULL)
			return 1;
		p = end + 1;
	}
}

static int64_t
bucket_of(const struct snap *s, int rule, size_t nr)
{
	switch (rule) {
	case R_HOURLY:
		return (((int64_t)s->year * 100 + s->mon) * 100 + s->mday) *
			   100 +
		       s->hour;
	case R_DAILY:
		return ((int64_t)s->year * 100 + s->mon) * 100 + s->mday;
	case R_WEEKLY:
		return (int64_t)s->isoyear * 100 + s->isoweek;
	case R_MONTHLY:
		return (int64_t)s->year * 100 + s->mon;
	case R_YEARLY:
		return s->year;
	default:
		return (int64_t)nr; /* last: every snapshot its own bucket */
	}
}

static void
push_reason(struct snap *s, jv r)
{
	if (jv_get_kind(s->reasons) != JV_KIND_ARRAY)
		s->reasons = jv_array_sized(R_N);
	s->reasons = jv_array_append(s->reasons, r);
}

static int add_reason(struct snap *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
add_reason(struct snap *s, const char *fmt, ...)
{
	char buf[BK_POLICY_REASON_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	push_reason(s, jv_string(buf));
	return 0;
}

static int
add_bucket_reason(struct snap *s, int rule, int oldest)
{
	const char *o = oldest ? "oldest " : "";

	switch (rule) {
	case R_HOURLY:
		return add_reason(s, "%shourly %04d-%02d-%02dT%02d", o, s->year,
				  s->mon, s->mday, s->hour);
	case R_DAILY:
		return add_reason(s, "%sdaily %04d-%02d-%02d", o, s->year,
				  s->mon, s->mday);
	case R_WEEKLY:
		return add_reason(s, "%sweekly %04d-W%02d", o, s->isoyear,
				  s->isoweek);
	case R_MONTHLY:
		return add_reason(s, "%smonthly %04d-%02d", o, s->year, s->mon);
	case R_YEARLY:
		return add_reason(s, "%syearly %04d", o, s->year);
	default:
		return add_reason(s, "%slast", o);
	}
}

/* "30d", "1d12h", "90m" -> "1h30m", "1500ms" -> "1s500ms". */
static int
format_duration(int64_t ms, char *buf, size_t size)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"d", 86400000},
		     {"h", 3600000},
		     {"m", 60000},
		     {"s", 1000},
		     {"ms", 1}};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		int64_t n = ms / units[u].ms;
		int w;

		if (n == 0)
			continue;
		ms -= n * units[u].ms;
		w = snprintf(buf + used, size - used, "%lld%s", (long long)n,
			     units[u].unit);
		if (w < 0 || (size_t)w >= size - used)
			return -1;
		used += (size_t)w;
	}
	return 0;
}

/* Keep what the rules keep in g[0..n), sorted newest first. */
static int
apply_group(const struct bk_policy *p, int empty, struct snap **g, size_t n,
	    const char *within, struct sov_err *e)
{
	int count[R_N] = {p->last,   p->hourly,  p->daily,
			  p->weekly, p->monthly, p->yearly};
	int64_t prev[R_N] = {0}, latest = 0;
	int seen[R_N] = {0}, has_latest = 0;
	int ntags = jv_get_kind(p->keep_tags) == JV_KIND_ARRAY
			? jv_array_length(jv_copy(p->keep_tags))
			: 0;

	/* within counts from the newest snapshot that is not in the future */
	for (size_t i = 0; i < n && !has_latest; i++)
		if (p->now_ms == 0 || g[i]->ms <= p->now_ms) {
			latest = g[i]->ms;
			has_latest = 1;
		}
	for (size_t i = 0; i < n; i++) {
		struct snap *s = g[i];

		if (empty && add_reason(s, "empty policy") < 0)
			goto full;
		for (int r = 0; r < R_N; r++) {
			int64_t b = bucket_of(s, r, i);
			int fresh = !seen[r] || b != prev[r];

			if (count[r] == 0 || !(fresh || i == n - 1))
				continue;
			if (add_bucket_reason(s, r, !fresh) < 0)
				goto full;
			seen[r] = 1;
			prev[r] = b;
			if (count[r] > 0)
				count[r]--;
		}
		/* s->ms > latest: in the future, never forgotten by within */
		if (p->within_ms > 0 &&
		    (!has_latest || s->ms > latest ||
		     latest - s->ms < p->within_ms) &&
		    add_reason(s, "within %s", within) < 0)
			goto full;
		for (int k = 0; k < ntags; k++) {
			jv t = jv_array_get(jv_copy(p->keep_tags), k);

			if (tags_match(s->tags, jv_string_value(t)))
				push_reason(
				    s, jv_string_length_bytes(jv_copy(t)) == 0
					   ? jv_string("untagged")
					   : jv_string_concat(jv_string("tag "),
							      jv_copy(t)));
			jv_free(t);
		}
	}
	return 0;
full:
	return sov_err_set(e, SOV_EXIT_FAIL, "policy: a reason was too long");
}

/* Group, then newest first; the input order breaks ties. */
static int
cmp_snap(const void *a, const void *b)
{
	const struct snap *x = *(struct snap *const *)a;
	const struct snap *y = *(struct snap *const *)b;
	int c = cmp_group(x, y);

	if (c != 0)
		return c;
	if (x->ms != y->ms)
		return x->ms > y->ms ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

jv
bk_policy_apply(const struct bk_policy *p, jv snaps, struct sov_err *e)
{
	char within[BK_POLICY_REASON_MAX] = "";
	struct snap *all = NULL, **order = NULL;
	jv res = jv_invalid(), none = jv_array();
	size_t n = 0;
	int empty, len;

	if (check_policy(p, &empty, e) < 0)
		goto out;
	if (p->within_ms > 0 &&
	    format_duration(p->within_ms, within, sizeof(within)) < 0) {
		sov_err_set(e, SOV_EXIT_FAIL, "policy: keep-within: too long");
		goto out;
	}
	if (jv_get_kind(snaps) != JV_KIND_ARRAY) {
		sov_err_set(e, SOV_EXIT_USAGE, "snapshots: not an array");
		goto out;
	}
	len = jv_array_length(jv_copy(snaps));
	if (len > BK_POLICY_SNAPSHOTS_MAX) {
		sov_err_set(e, SOV_EXIT_USAGE, "snapshots: more than %d",
			    BK_POLICY_SNAPSHOTS_MAX);
		goto out;
	}
	if (len == 0) {
		res = jv_array();
		goto out;
	}
	all = calloc((size_t)len, sizeof(*all));
	order = calloc((size_t)len, sizeof(*order));
	if (all == NULL || order == NULL) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "policy: %d snapshots", len);
		goto out;
	}
	tzset(); /* TZ may have changed since the last localtime_r */
	for (; n < (size_t)len; n++) {
		struct snap *s = &all[n];

		s->id = s->host = s->paths = s->tags = jv_null();
		s->group = s->reasons = jv_null();
		s->group_by = p->group_by;
		order[n] = s;
		if (load_snap(jv_array_get(jv_copy(snaps), (int)n), n, none, s,
			      e) < 0) {
			n++; /* its fields are freed below */
			goto out;
		}
	}
	jv_free(snaps); /* what is still needed is shared by all[] */
	snaps = jv_null();
	qsort(order, n, sizeof(*order), cmp_snap);
	for (size_t i = 0, j; i < n; i = j) {
		jv g = group_of(order[i]);

		for (j = i;
		     j < n && (j == i || cmp_group(order[i], order[j]) == 0);
		     j++)
			order[j]->group = jv_copy(g);
		jv_free(g);
		if (apply_group(p, empty, order + i, j - i, within, e) < 0)
			goto out;
	}
	res = jv_array_sized(len);
	for (size_t i = 0; i < n; i++) {
		struct snap *s = &all[i];
		int keep = jv_get_kind(s->reasons) == JV_KIND_ARRAY;
		jv o = jv_object();

		o = jv_object_set(o, jv_string("id"), jv_copy(s->id));
		o = jv_object_set(o, jv_string("keep"), jv_bool(keep));
		o = jv_object_set(o, jv_string("group"), jv_copy(s->group));
		o = jv_object_set(o, jv_string("reasons"),
				  keep ? jv_copy(s->reasons) : jv_copy(none));
		res = jv_array_append(res, o);
	}
out:
	for (size_t i = 0; i < n; i++) {
		jv_free(all[i].id);
		jv_free(all[i].host);
		jv_free(all[i].paths);
		jv_free(all[i].tags);
		jv_free(all[i].group);
		jv_free(all[i].reasons);
	}
	free(all);
	free(order);
	jv_free(none);
	jv_free(snaps);
	return res;
}
