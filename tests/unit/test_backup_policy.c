/* test_backup_policy.c - the retention policy of `sov-backup forget`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"
#include "tap.h"
#include "timestamp.h"

#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)
#define LIST_MAX 8192

static void
set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static int64_t
T(const char *s)
{
	struct sov_err e;
	int64_t ms = 0;

	if (sov_time_parse(s, &ms, &e) < 0) {
		diag("bad time in the test: %s", e.msg);
		abort();
	}
	return ms;
}

/* "a,b" -> ["a","b"]; "" -> []. */
static jv
csv(const char *s)
{
	jv a = jv_array();

	while (*s != '\0') {
		const char *end = strchr(s, ',');
		size_t n = end ? (size_t)(end - s) : strlen(s);

		a = jv_array_append(a, jv_string_sized(s, (int)n));
		s += n + (end != NULL);
	}
	return a;
}

/* tags NULL: the field is left out. */
static jv
snap(const char *id, const char *time, const char *host, const char *paths,
     const char *tags)
{
	jv o = jv_object();

	o = jv_object_set(o, jv_string("id"), jv_string(id));
	o = jv_object_set(o, jv_string("time"), jv_string(time));
	o = jv_object_set(o, jv_string("host"), jv_string(host));
	o = jv_object_set(o, jv_string("paths"), csv(paths));
	if (tags != NULL)
		o = jv_object_set(o, jv_string("tags"), csv(tags));
	return o;
}

/* One snapshot every step_ms from start, oldest first, host h, /data; the
 * id is the UTC time to the minute ("2026-11-22T18:00"). The snapshots
 * share their keys, host, paths and tags (as parsed JSON never does), to
 * keep the 100-year calendar quick under valgrind. */
static jv
calendar(int64_t start, int64_t step, int n)
{
	jv a = jv_array_sized(n), k_id = jv_string("id"),
	   k_time = jv_string("time"), k_host = jv_string("host"),
	   k_paths = jv_string("paths"), k_tags = jv_string("tags"),
	   host = jv_string("h"), paths = csv("/data"), tags = jv_array();

	for (int i = 0; i < n; i++) {
		char buf[SOV_TIME_RFC3339_LEN];
		jv o = jv_object();

		sov_time_format(start + step * i, buf);
		o = jv_object_set(o, jv_copy(k_id), jv_string_sized(buf, 16));
		o = jv_object_set(o, jv_copy(k_time), jv_string(buf));
		o = jv_object_set(o, jv_copy(k_host), jv_copy(host));
		o = jv_object_set(o, jv_copy(k_paths), jv_copy(paths));
		o = jv_object_set(o, jv_copy(k_tags), jv_copy(tags));
		a = jv_array_append(a, o);
	}
	jv_free(k_id);
	jv_free(k_time);
	jv_free(k_host);
	jv_free(k_paths);
	jv_free(k_tags);
	jv_free(host);
	jv_free(paths);
	jv_free(tags);
	return a;
}

static struct bk_policy
policy(void)
{
	struct bk_policy p;

	memset(&p, 0, sizeof(p));
	p.keep_tags = jv_null();
	p.group_by = BK_GROUP_HOST | BK_GROUP_PATHS;
	return p;
}

static jv
run(const struct bk_policy *p, jv snaps)
{
	struct sov_err e = {0};
	jv r = bk_policy_apply(p, snaps, &e);

	if (!jv_is_valid(r))
		diag("bk_policy_apply: %s", e.msg);
	return r;
}

/* The kept ids, in input order, space-separated (into a static buffer). */
static const char *
kept(jv res)
{
	static char buf[LIST_MAX];
	size_t used = 0;

	buf[0] = '\0';
	if (jv_get_kind(res) != JV_KIND_ARRAY)
		return "(not an array)";
	jv_array_foreach(res, i, o)
	{
		jv k = jv_object_get(jv_copy(o), jv_string("keep"));

		if (jv_get_kind(k) == JV_KIND_TRUE) {
			jv id = jv_object_get(jv_copy(o), jv_string("id"));
			int n = snprintf(buf + used, sizeof(buf) - used, "%s%s",
					 used ? " " : "", jv_string_value(id));

			jv_free(id);
			if (n < 0 || (size_t)n >= sizeof(buf) - used)
				return "(too long)";
			used += (size_t)n;
		}
		jv_free(k);
		jv_free(o);
	}
	return buf;
}

static int
count_kept(jv res)
{
	int n = 0;

	if (jv_get_kind(res) != JV_KIND_ARRAY)
		return -1;
	jv_array_foreach(res, i, o)
	{
		jv k = jv_object_get(o, jv_string("keep"));

		n += jv_get_kind(k) == JV_KIND_TRUE;
		jv_free(k);
	}
	return n;
}

/* The reasons of the snapshot with this id, joined by '|'. */
static const char *
reasons(jv res, const char *id)
{
	static char buf[LIST_MAX];

	snprintf(buf, sizeof(buf), "(no snapshot %s)", id);
	if (jv_get_kind(res) != JV_KIND_ARRAY)
		return "(not an array)";
	jv_array_foreach(res, i, o)
	{
		jv oid = jv_object_get(jv_copy(o), jv_string("id"));

		if (strcmp(jv_string_value(oid), id) == 0) {
			jv r = jv_object_get(jv_copy(o), jv_string("reasons"));
			size_t used = 0;

			buf[0] = '\0';
			jv_array_foreach(r, k, s)
			{
				int n = snprintf(buf + used, sizeof(buf) - used,
						 "%s%s", used ? "|" : "",
						 jv_string_value(s));

				jv_free(s);
				if (n > 0 && (size_t)n < sizeof(buf) - used)
					used += (size_t)n;
			}
			jv_free(r);
		}
		jv_free(oid);
		jv_free(o);
	}
	return buf;
}

/* The kept entries of a result (consumed). */
static jv
only_kept(jv res)
{
	jv out = jv_array();

	jv_array_foreach(res, i, o)
	{
		jv k = jv_object_get(jv_copy(o), jv_string("keep"));

		if (jv_get_kind(k) == JV_KIND_TRUE)
			out = jv_array_append(out, jv_copy(o));
		jv_free(k);
		jv_free(o);
	}
	jv_free(res);
	return out;
}

/* How many kept snapshots carry a reason starting with prefix. */
static int
count_reason(jv res, const char *prefix)
{
	int n = 0;

	jv_array_foreach(res, i, o)
	{
		jv r = jv_object_get(o, jv_string("reasons"));

		jv_array_foreach(r, k, s)
		{
			n += strncmp(jv_string_value(s), prefix,
				     strlen(prefix)) == 0;
			jv_free(s);
		}
		jv_free(r);
	}
	return n;
}

/* Expect failure: code SOV_EXIT_USAGE and a message containing needle. */
static void
fails(const struct bk_policy *p, jv snaps, const char *needle, const char *what)
{
	struct sov_err e = {0};
	jv r = bk_policy_apply(p, snaps, &e);

	ok(!jv_is_valid(r) && e.code == SOV_EXIT_USAGE, "refused: %s", what);
	like(e.msg, needle, "  message: %s", what);
	jv_free(r);
}

static void
test_group_by_parse(void)
{
	static const struct {
		const char *s;
		unsigned want;
	} good[] = {
	    {"host,paths", BK_GROUP_HOST | BK_GROUP_PATHS},
	    {"", 0},
	    {"host", BK_GROUP_HOST},
	    {"tags", BK_GROUP_TAGS},
	    {"paths,tags", BK_GROUP_PATHS | BK_GROUP_TAGS},
	    {"host,paths,tags", BK_GROUP_HOST | BK_GROUP_PATHS | BK_GROUP_TAGS},
	    {"hosts,path,tag", BK_GROUP_HOST | BK_GROUP_PATHS | BK_GROUP_TAGS},
	    {"tags,host,tags,", BK_GROUP_HOST | BK_GROUP_TAGS},
	    {",", 0},
	};
	static const struct {
		const char *s, *needle;
	} bad[] = {
	    {"foo", "unknown field \"foo\""},
	    {"host,pathz", "unknown field \"pathz\""},
	    {"host ", "unknown field \"host \""},
	    {"HOST", "unknown field \"HOST\""},
	    {"host,paths,tags,host,paths,tags,host,paths,tags,host,paths,tags,"
	     "host",
	     "longer than 64"},
	};
	struct sov_err e;
	unsigned out;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		out = 99;
		ok(bk_policy_parse_group_by(good[i].s, &out, &e) == 0 &&
		       out == good[i].want,
		   "group-by \"%s\" = %u", good[i].s, good[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = 99;
		e.code = 0;
		ok(bk_policy_parse_group_by(bad[i].s, &out, &e) == -1 &&
		       e.code == SOV_EXIT_USAGE && out == 99,
		   "group-by \"%s\" refused", bad[i].s);
		like(e.msg, bad[i].needle, "  and the message says why");
	}
	ok(bk_policy_parse_group_by(NULL, &out, &e) == -1 &&
	       e.code == SOV_EXIT_USAGE,
	   "group-by NULL refused");
}

static void
test_empty(void)
{
	struct bk_policy p = policy();
	jv r, s;

	p.last = 1;
	r = run(&p, jv_array());
	ok(jv_get_kind(r) == JV_KIND_ARRAY && jv_array_length(jv_copy(r)) == 0,
	   "no snapshots: an empty array");
	jv_free(r);

	/* no rule: everything kept, and the reason says so */
	p = policy();
	s = jv_array();
	s = jv_array_append(s,
			    snap("a", "2026-11-22T10:00:00Z", "h", "/x", ""));
	s = jv_array_append(s,
			    snap("b", "2026-11-22T10:00:00Z", "h", "/x", ""));
	r = run(&p, jv_copy(s));
	is_str(kept(r), "a b", "empty policy keeps everything");
	is_str(reasons(r, "b"), "empty policy", "  with the reason");
	jv_free(r);
	p.keep_tags = jv_array();
	r = run(&p, jv_copy(s));
	is_str(kept(r), "a b", "an empty keep_tags array is no rule either");
	jv_free(r);
	jv_free(p.keep_tags);

	/* a zeroed struct is a valid policy: no tag rule, no grouping */
	memset(&p, 0, sizeof(p));
	p.last = 1;
	r = run(&p, jv_copy(s));
	is_str(kept(r), "a", "a zeroed policy with keep-last 1: keep_tags off");
	jv_free(r);

	/* one rule that keeps nothing here: not the empty policy */
	p = policy();
	p.keep_tags = csv("x");
	r = run(&p, s);
	is_str(kept(r), "", "keep_tags alone is a rule: untagged ones go");
	jv_free(r);
	jv_free(p.keep_tags);
}

/* The whole output, field by field, for one small case. */
static void
test_output_shape(void)
{
	struct bk_policy p = policy();
	jv s = jv_array(), r, d;

	set_tz("UTC");
	p.last = 1;
	p.daily = 1;
	s = jv_array_append(
	    s, snap("old", "2026-11-21T08:00:00Z", "h", "/b,/a", "t"));
	s = jv_array_append(
	    s, snap("new", "2026-11-22T08:00:00+01:00", "h", "/a,/b,/a", NULL));
	r = run(&p, s);
	d = jv_dump_string(r, JV_PRINT_SORTED);
	is_str(jv_string_value(d),
	       "[{\"group\":{\"host\":\"h\",\"paths\":[\"/a\",\"/b\"]},"
	       "\"id\":\"old\",\"keep\":false,\"reasons\":[]},"
	       "{\"group\":{\"host\":\"h\",\"paths\":[\"/a\",\"/b\"]},"
	       "\"id\":\"new\",\"keep\":true,"
	       "\"reasons\":[\"last\",\"daily 2026-11-22\"]}]",
	       "output: input order, id, keep, group (paths as a set), "
	       "reasons");
	jv_free(d);
}

/*
 * restic's documentation (060_forget.rst): one backup every Sunday for 12
 * weeks, `forget --keep-daily 4` keeps 8f8018c0, 59403279, dfee9fb4,
 * e1ae2f40 and removes the 8 others.
 */
static void
test_restic_doc_sundays(void)
{
	static const char *const ids[] = {"0a1f9759", "46cfe4d5", "f6b1f037",
					  "eb430a5d", "8cf1cb9a", "5d33b116",
					  "b9553125", "e1a7b58b", "8f8018c0",
					  "59403279", "dfee9fb4", "e1ae2f40"};
	struct bk_policy p = policy();
	jv s = jv_array(), r;

	set_tz("UTC");
	for (int i = 0; i < 12; i++) {
		char t[SOV_TIME_RFC3339_LEN];

		sov_time_format(T("2019-09-01T11:00:00Z") + 7 * DAY_MS * i, t);
		s = jv_array_append(
		    s, snap(ids[i], t, "mopped", "/home/user/work", ""));
	}
	p.daily = 4;
	r = run(&p, s);
	is_str(kept(r), "8f8018c0 59403279 dfee9fb4 e1ae2f40",
	       "restic doc: 12 Sundays, keep-daily 4 keeps the last four");
	is_str(reasons(r, "8f8018c0"), "daily 2019-10-27",
	       "  8f8018c0 as the daily snapshot of 2019-10-27");
	is_int(jv_array_length(jv_copy(r)) - count_kept(r), 8,
	       "  and removes 8");
	jv_free(r);
}

/*
 * restic's documentation: a backup every day for 100 years and
 * --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --keep-yearly 75 keeps
 * 7 dailies, 4 more weeklies (the dailies hold one), 11 more monthlies
 * (one is the daily of this month) and 73 more yearlies (this year's and
 * last December's are kept already): 95.
 */
static void
test_restic_doc_100_years(void)
{
	struct bk_policy p = policy();
	int64_t end = T("2026-11-22T05:00:00Z"),
		start = T("1926-11-23T05:00:00Z");
	int n = (int)((end - start) / DAY_MS) + 1;
	jv r;

	set_tz("UTC");
	p.daily = 7;
	p.weekly = 5;
	p.monthly = 12;
	p.yearly = 75;
	r = run(&p, calendar(start, DAY_MS, n));
	is_int(n, 36525, "100 years of daily snapshots");
	is_int(jv_array_length(jv_copy(r)), n, "  one result for each");
	r = only_kept(r); /* the look-ups below are quick on 95 */
	is_int(count_kept(r), 95,
	       "restic doc: 7 daily, 5 weekly, 12 monthly, 75 yearly keep 95");
	is_int(count_reason(r, "daily "), 7, "  7 daily");
	is_int(count_reason(r, "weekly "), 5, "  5 weekly");
	is_int(count_reason(r, "monthly "), 12, "  12 monthly");
	is_int(count_reason(r, "yearly "), 75, "  75 yearly");
	is_str(reasons(r, "2026-11-22T05:00"),
	       "daily 2026-11-22|weekly 2026-W47|monthly 2026-11|yearly 2026",
	       "  the newest holds four reasons");
	is_str(reasons(r, "2025-12-31T05:00"), "monthly 2025-12|yearly 2025",
	       "  last New Year's Eve: monthly and yearly");
	is_str(reasons(r, "1952-12-31T05:00"), "yearly 1952",
	       "  the 75th year back is 1952");
	is_str(reasons(r, "1951-12-31T05:00"), "(no snapshot 1951-12-31T05:00)",
	       "  1951 is gone");
	is_str(reasons(r, "2026-10-25T05:00"), "weekly 2026-W43",
	       "  the fifth weekly: the Sunday of 2026-W43");
	is_str(reasons(r, "1926-11-23T05:00"), "(no snapshot 1926-11-23T05:00)",
	       "  the oldest goes: every count was used up");
	jv_free(r);
}

/* 400 days, one snapshot every 6 hours (00, 06, 12, 18 UTC), 2025-10-19 to
 * 2026-11-22 (a Sunday, ISO week 47), each rule alone. */
static void
test_each_rule(void)
{
	int64_t start = T("2025-10-19T00:00:00Z");
	jv cal = calendar(start, 6 * HOUR_MS, 1600), r;
	struct bk_policy p;

	set_tz("UTC");
	p = policy();
	p.last = 5;
	r = run(&p, jv_copy(cal));
	is_str(kept(r),
	       "2026-11-21T18:00 2026-11-22T00:00 2026-11-22T06:00 "
	       "2026-11-22T12:00 2026-11-22T18:00",
	       "keep-last 5: the five newest");
	is_str(reasons(r, "2026-11-21T18:00"), "last", "  reason \"last\"");
	jv_free(r);

	p = policy();
	p.hourly = 3;
	p.last = 0;
	r = run(&p, jv_copy(cal));
	is_str(kept(r), "2026-11-22T06:00 2026-11-22T12:00 2026-11-22T18:00",
	       "keep-hourly 3: the newest of the three newest hours with one");
	is_str(reasons(r, "2026-11-22T06:00"), "hourly 2026-11-22T06",
	       "  reason \"hourly 2026-11-22T06\"");
	jv_free(r);

	p = policy();
	p.daily = 7;
	r = run(&p, jv_copy(cal));
	is_str(kept(r),
	       "2026-11-16T18:00 2026-11-17T18:00 2026-11-18T18:00 "
	       "2026-11-19T18:00 2026-11-20T18:00 2026-11-21T18:00 "
	       "2026-11-22T18:00",
	       "keep-daily 7: the last snapshot of each of 7 days");
	is_str(reasons(r, "2026-11-16T18:00"), "daily 2026-11-16",
	       "  reason \"daily 2026-11-16\"");
	jv_free(r);

	p = policy();
	p.weekly = 4;
	r = run(&p, jv_copy(cal));
	is_str(kept(r),
	       "2026-11-01T18:00 2026-11-08T18:00 2026-11-15T18:00 "
	       "2026-11-22T18:00",
	       "keep-weekly 4: the last snapshot of each ISO week (Sundays)");
	is_str(reasons(r, "2026-11-01T18:00"), "weekly 2026-W44",
	       "  reason \"weekly 2026-W44\"");
	jv_free(r);

	p = policy();
	p.monthly = 3;
	r = run(&p, jv_copy(cal));
	is_str(kept(r), "2026-09-30T18:00 2026-10-31T18:00 2026-11-22T18:00",
	       "keep-monthly 3: this month's newest and two month ends");
	is_str(reasons(r, "2026-09-30T18:00"), "monthly 2026-09",
	       "  reason \"monthly 2026-09\"");
	jv_free(r);

	p = policy();
	p.yearly = 1;
	r = run(&p, jv_copy(cal));
	is_str(kept(r), "2026-11-22T18:00", "keep-yearly 1: the newest");
	is_str(reasons(r, "2026-11-22T18:00"), "yearly 2026",
	       "  reason \"yearly 2026\"");
	jv_free(r);

	/* more years asked than there are: restic keeps the oldest too */
	p = policy();
	p.yearly = 5;
	r = run(&p, jv_copy(cal));
	is_str(kept(r), "2025-10-19T00:00 2025-12-31T18:00 2026-11-22T18:00",
	       "keep-yearly 5 over two years: both, and the oldest");
	is_str(reasons(r, "2025-10-19T00:00"), "oldest yearly 2025",
	       "  reason \"oldest yearly 2025\"");
	jv_free(r);

	p = policy();
	p.hourly = 2000;
	r = run(&p, jv_copy(cal));
	is_int(count_kept(r), 1600,
	       "keep-hourly 2000 with 1600 hours: every one, nothing twice");
	is_str(reasons(r, "2025-10-19T00:00"), "hourly 2025-10-19T00",
	       "  the oldest is an hourly, not an extra");
	jv_free(r);

	/* exactly as many buckets as asked: the oldest is not added */
	p = policy();
	p.daily = 400;
	r = run(&p, jv_copy(cal));
	is_int(count_kept(r), 400, "keep-daily 400 over 400 days: 400");
	is_str(reasons(r, "2025-10-19T00:00"), "", "  the oldest goes");
	jv_free(r);
	p.daily = 401;
	r = run(&p, jv_copy(cal));
	is_int(count_kept(r), 401, "keep-daily 401: 400 and the oldest");
	is_str(reasons(r, "2025-10-19T00:00"), "oldest daily 2025-10-19",
	       "  reason \"oldest daily 2025-10-19\"");
	jv_free(r);

	jv_free(cal);
}

static void
test_unlimited(void)
{
	int64_t start = T("2025-10-19T00:00:00Z");
	jv cal = calendar(start, 6 * HOUR_MS, 1600), r;
	struct bk_policy p;
	int ok_days = 1;

	set_tz("UTC");
	p = policy();
	p.last = -1;
	r = run(&p, jv_copy(cal));
	is_int(count_kept(r), 1600, "keep-last -1 keeps all");
	jv_free(r);

	p = policy();
	p.daily = -1;
	r = run(&p, jv_copy(cal));
	is_int(count_kept(r), 401, "keep-daily -1: one a day, and the oldest");
	/* each kept one but the oldest is the 18:00 of its day */
	jv_array_foreach(r, i, o)
	{
		jv k = jv_object_get(jv_copy(o), jv_string("keep"));
		int want = i % 4 == 3 || i == 0;

		if ((jv_get_kind(k) == JV_KIND_TRUE) != want)
			ok_days = 0;
		jv_free(k);
		jv_free(o);
	}
	ok(ok_days, "  the last of each day, and the very first");
	jv_free(r);

	p = policy();
	p.monthly = -1;
	r = run(&p, jv_copy(cal));
	is_int(count_kept(r), 15,
	       "keep-monthly -1: 14 months (2025-10..2026-11) and the oldest");
	jv_free(r);

	p = policy();
	p.weekly = -1;
	p.yearly = -1;
	r = run(&p, jv_copy(cal));
	is_int(count_reason(r, "yearly "), 2, "keep-yearly -1: 2026, 2025");
	is_int(count_reason(r, "weekly "), 58,
	       "keep-weekly -1: 58 ISO weeks (2025-W42..2026-W47)");
	is_str(reasons(r, "2025-10-19T00:00"),
	       "oldest weekly 2025-W42|oldest yearly 2025",
	       "  and the oldest, for both rules");
	jv_free(r);
	jv_free(cal);
}

static void
test_within(void)
{
	int64_t start = T("2025-10-19T00:00:00Z");
	jv cal = calendar(start, 6 * HOUR_MS, 1600), s, r;
	struct bk_policy p;

	set_tz("UTC");
	p = policy();
	p.within_ms = 30 * DAY_MS;
	r = run(&p, jv_copy(cal));
	is_int(count_kept(r), 120, "keep-within 30d: 30 days of 4 a day");
	is_str(reasons(r, "2026-10-24T00:00"), "within 30d",
	       "  reason \"within 30d\"");
	is_str(reasons(r, "2026-10-23T18:00"), "",
	       "  exactly 30d before the newest is not younger: goes");
	jv_free(r);

	p.within_ms = 36 * HOUR_MS;
	r = run(&p, jv_copy(cal));
	is_str(kept(r),
	       "2026-11-21T12:00 2026-11-21T18:00 2026-11-22T00:00 "
	       "2026-11-22T06:00 2026-11-22T12:00 2026-11-22T18:00",
	       "keep-within 1d12h");
	is_str(reasons(r, "2026-11-22T18:00"), "within 1d12h",
	       "  reason \"within 1d12h\"");
	jv_free(r);
	p.within_ms = 90 * 60000 + 1500;
	r = run(&p, jv_copy(cal));
	is_str(reasons(r, "2026-11-22T18:00"), "within 1h30m1s500ms",
	       "  a duration with every unit reads back");
	jv_free(r);

	/* relative to the newest of the group, not to the clock */
	s = jv_array();
	s = jv_array_append(s, snap("a", "2020-01-01T00:00:00Z", "h", "/", ""));
	s = jv_array_append(s, snap("b", "2020-01-20T00:00:00Z", "h", "/", ""));
	s = jv_array_append(s, snap("c", "2020-02-01T00:00:00Z", "h", "/", ""));
	s = jv_array_append(s, snap("d", "2020-01-10T00:00:00Z", "g", "/", ""));
	p = policy();
	p.within_ms = 14 * DAY_MS;
	r = run(&p, jv_copy(s));
	is_str(kept(r), "b c d",
	       "keep-within 14d in 2020: by each group's newest, not today");
	jv_free(r);
	p.now_ms = T("2026-11-22T00:00:00Z");
	r = run(&p, jv_copy(s));
	is_str(kept(r), "b c d", "  the same with now set");
	jv_free(r);

	/* a snapshot dated in the future */
	s = jv_array_append(s, snap("f", "2099-01-01T00:00:00Z", "h", "/", ""));
	p.now_ms = 0;
	r = run(&p, jv_copy(s));
	is_str(kept(r), "d f", "without now, a 2099 snapshot is the newest");
	jv_free(r);
	p.now_ms = T("2026-11-22T00:00:00Z");
	r = run(&p, jv_copy(s));
	is_str(kept(r), "b c d f",
	       "with now, within counts from the newest not in the future");
	is_str(reasons(r, "f"), "within 14d", "  and keeps the future one");
	jv_free(r);
	p.now_ms = T("2000-01-01T00:00:00Z");
	r = run(&p, s);
	is_str(kept(r), "a b c d f", "every snapshot in the future: all kept");
	jv_free(r);
	jv_free(cal);
}

static void
test_combined(void)
{
	int64_t start = T("2025-10-19T00:00:00Z");
	jv cal = calendar(start, 6 * HOUR_MS, 1600), r;
	struct bk_policy p = policy();

	set_tz("UTC");
	p.last = 2;
	p.hourly = 1;
	p.daily = 3;
	p.weekly = 2;
	p.monthly = 2;
	p.yearly = 2;
	p.within_ms = 12 * HOUR_MS;
	r = run(&p, cal);
	is_str(kept(r),
	       "2025-12-31T18:00 2026-10-31T18:00 2026-11-15T18:00 "
	       "2026-11-20T18:00 2026-11-21T18:00 2026-11-22T12:00 "
	       "2026-11-22T18:00",
	       "combined: kept when any rule keeps");
	is_str(reasons(r, "2026-11-22T18:00"),
	       "last|hourly 2026-11-22T18|daily 2026-11-22|weekly 2026-W47|"
	       "monthly 2026-11|yearly 2026|within 12h",
	       "  the newest: every reason, in rule order");
	is_str(reasons(r, "2026-11-22T12:00"), "last|within 12h",
	       "  the second: last and within");
	is_str(reasons(r, "2026-11-22T06:00"), "",
	       "  12h before the newest: not kept");
	is_str(reasons(r, "2025-12-31T18:00"), "yearly 2025",
	       "  the last of 2025: yearly");
	jv_free(r);
}

static void
test_groups(void)
{
	struct bk_policy p = policy();
	jv s = jv_array(), r, g;

	set_tz("UTC");
	s = jv_array_append(
	    s, snap("a1", "2026-11-01T00:00:00Z", "a", "/x,/y", "t1"));
	s = jv_array_append(
	    s, snap("a2", "2026-11-02T00:00:00Z", "a", "/y,/x", "t2"));
	s = jv_array_append(
	    s, snap("a3", "2026-11-03T00:00:00Z", "a", "/y,/x,/y", "t1,t2"));
	s = jv_array_append(
	    s, snap("a4", "2026-11-04T00:00:00Z", "a", "/x", "t2,t1"));
	s = jv_array_append(
	    s, snap("b1", "2026-11-05T00:00:00Z", "b", "/x,/y", "t1"));
	s = jv_array_append(
	    s, snap("b2", "2026-10-05T00:00:00Z", "b", "/x,/y", NULL));
	p.last = 1;

	r = run(&p, jv_copy(s));
	is_str(kept(r), "a3 a4 b1",
	       "host,paths: paths compared as a set, one per group");
	g = jv_dump_string(jv_array_get(jv_copy(r), 2), JV_PRINT_SORTED);
	like(jv_string_value(g),
	     "\"group\":{\"host\":\"a\",\"paths\":[\"/x\","
	     "\"/y\"]}",
	     "  group shows host and sorted paths, without duplicates");
	jv_free(g);
	jv_free(r);

	p.group_by = BK_GROUP_HOST;
	r = run(&p, jv_copy(s));
	is_str(kept(r), "a4 b1", "host: one per host");
	jv_free(r);

	p.group_by = BK_GROUP_PATHS;
	r = run(&p, jv_copy(s));
	is_str(kept(r), "a4 b1", "paths: one per path set");
	jv_free(r);

	p.group_by = BK_GROUP_TAGS;
	r = run(&p, jv_copy(s));
	is_str(kept(r), "a2 a4 b1 b2",
	       "tags: [t1], [t2], [t1,t2]=[t2,t1], untagged");
	g = jv_dump_string(jv_array_get(jv_copy(r), 3), JV_PRINT_SORTED);
	like(jv_string_value(g), "\"group\":{\"tags\":[\"t1\",\"t2\"]}",
	     "  group shows the sorted tags only");
	jv_free(g);
	jv_free(r);

	p.group_by = BK_GROUP_HOST | BK_GROUP_PATHS | BK_GROUP_TAGS;
	r = run(&p, jv_copy(s));
	is_str(kept(r), "a1 a2 a3 a4 b1 b2", "host,paths,tags: six groups");
	jv_free(r);

	p.group_by = 0;
	r = run(&p, s);
	is_str(kept(r), "b1", "none: one group over everything");
	g = jv_dump_string(jv_array_get(jv_copy(r), 0), JV_PRINT_SORTED);
	like(jv_string_value(g), "\"group\":{}", "  and the group is {}");
	jv_free(g);
	jv_free(r);

	/* a missing, a null and an empty tags field are the same group */
	s = jv_array();
	s = jv_array_append(s,
			    snap("n1", "2026-11-01T00:00:00Z", "a", "/", ""));
	s = jv_array_append(s,
			    snap("n2", "2026-11-02T00:00:00Z", "a", "/", NULL));
	s = jv_array_append(
	    s, jv_object_set(snap("n3", "2026-11-03T00:00:00Z", "a", "/", NULL),
			     jv_string("tags"), jv_null()));
	p.group_by = BK_GROUP_TAGS;
	r = run(&p, s);
	is_str(kept(r), "n3", "tags: missing, null and [] are one group");
	jv_free(r);
}

static void
test_ties(void)
{
	struct bk_policy p = policy();
	jv s = jv_array(), r;

	set_tz("UTC");
	s = jv_array_append(s, snap("x", "2026-11-22T10:00:00Z", "h", "/", ""));
	s = jv_array_append(
	    s, snap("y", "2026-11-22T11:00:00+01:00", "h", "/", ""));
	s = jv_array_append(
	    s, snap("z", "2026-11-22T10:00:00.000Z", "h", "/", ""));
	p.last = 1;
	r = run(&p, jv_copy(s));
	is_str(kept(r), "x", "ties in time: the first given counts as newest");
	jv_free(r);
	p.last = 0;
	p.daily = 2;
	r = run(&p, jv_copy(s));
	is_str(kept(r), "x z",
	       "  keep-daily 2: the first given, and the last given as the "
	       "oldest");
	jv_free(r);
	p.daily = 0;
	p.last = 2;
	r = run(&p, jv_copy(s));
	is_str(kept(r), "x y", "  keep-last 2: the first two given");
	jv_free(r);

	/* the same snapshots in reverse order */
	jv rev = jv_array();
	for (int i = 2; i >= 0; i--)
		rev = jv_array_append(rev, jv_array_get(jv_copy(s), i));
	p.last = 1;
	r = run(&p, rev);
	is_str(kept(r), "z", "  reversed input: the other one");
	jv_free(r);
	jv_free(s);
}

/* The ISO week a single snapshot is kept as by keep-weekly 1. */
static const char *
week_of(const char *time)
{
	struct bk_policy p = policy();
	jv r;
	static char buf[64];

	p.weekly = 1;
	r = run(&p, jv_array_append(jv_array(), snap("s", time, "h", "/", "")));
	snprintf(buf, sizeof(buf), "%s", reasons(r, "s"));
	jv_free(r);
	return buf;
}

/* glibc's ISO week of an RFC 3339 UTC time, "2026-W53". */
static void
iso_label(const char *time, char label[16])
{
	time_t t = (time_t)(T(time) / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(label, 16, "%G-W%V", &tm) == 0)
		label[0] = '\0';
}

static void
test_iso_weeks(void)
{
	static const struct {
		const char *time, *want;
	} probes[] = {
	    {"2026-12-28T12:00:00Z", "weekly 2026-W53"},
	    {"2026-12-31T12:00:00Z", "weekly 2026-W53"},
	    {"2027-01-01T12:00:00Z", "weekly 2026-W53"},
	    {"2027-01-03T23:59:59Z", "weekly 2026-W53"},
	    {"2027-01-04T00:00:00Z", "weekly 2027-W01"},
	    {"2026-01-01T00:00:00Z", "weekly 2026-W01"},
	    {"2025-12-29T00:00:00Z", "weekly 2026-W01"},
	    {"2025-12-28T23:59:59Z", "weekly 2025-W52"},
	    {"2021-01-03T12:00:00Z", "weekly 2020-W53"},
	    {"2016-01-03T12:00:00Z", "weekly 2015-W53"},
	    {"2008-12-29T12:00:00Z", "weekly 2009-W01"},
	    {"2010-01-03T12:00:00Z", "weekly 2009-W53"},
	    {"2004-12-31T12:00:00Z", "weekly 2004-W53"},
	    {"2005-01-02T12:00:00Z", "weekly 2004-W53"},
	    {"2000-01-01T12:00:00Z", "weekly 1999-W52"},
	    {"1969-12-31T12:00:00Z", "weekly 1970-W01"},
	    {"2026-11-22T12:00:00Z", "weekly 2026-W47"},
	};
	struct bk_policy p = policy();
	int n = 0, bad = 0;
	jv s = jv_array(), r;

	set_tz("UTC");
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		is_str(week_of(probes[i].time), probes[i].want,
		       "ISO week of %s", probes[i].time);

	/* keep-weekly across 2026-W52, W53 and 2027-W01 */
	for (int i = 0; i < 22; i++) {
		char t[SOV_TIME_RFC3339_LEN];

		sov_time_format(T("2026-12-20T12:00:00Z") + i * DAY_MS, t);
		s = jv_array_append(s, snap(t, t, "h", "/", ""));
	}
	p.weekly = 3;
	r = run(&p, s);
	is_str(kept(r),
	       "2026-12-27T12:00:00.000Z 2027-01-03T12:00:00.000Z "
	       "2027-01-10T12:00:00.000Z",
	       "keep-weekly 3 over New Year: the Sundays of W52, W53, W01");
	is_str(reasons(r, "2027-01-03T12:00:00.000Z"), "weekly 2026-W53",
	       "  2027-01-03 is in 2026-W53");
	jv_free(r);

	/* every New Year 1900..2100, 22 days around it: keep-weekly -1
	 * keeps the newest of each ISO week by glibc's strftime %G-W%V */
	p.weekly = -1;
	s = jv_array();
	for (int y = 1900; y <= 2100; y++) {
		char t[64]; /* SOV_TIME_RFC3339_LEN and snprintf's worst case */
		int64_t jan1;

		snprintf(t, sizeof(t), "%04d-01-01T12:00:00Z", y);
		jan1 = T(t);
		for (int d = -12; d < 10; d++) {
			sov_time_format(jan1 + d * DAY_MS, t);
			s = jv_array_append(s, snap(t, t, "h", "/", ""));
			n++;
		}
	}
	r = run(&p, s);
	for (int i = 0; i < n; i++) {
		char want[64] = "", label[16], next[16];
		jv o = jv_array_get(jv_copy(r), i);
		jv rs = jv_object_get(jv_copy(o), jv_string("reasons"));
		jv got = jv_array_get(jv_copy(rs), 0);
		jv id = jv_object_get(o, jv_string("id"));

		iso_label(jv_string_value(id), label);
		if (i + 1 < n) {
			jv nid = jv_object_get(jv_array_get(jv_copy(r), i + 1),
					       jv_string("id"));

			iso_label(jv_string_value(nid), next);
			jv_free(nid);
		}
		if (i + 1 == n || strcmp(label, next) != 0)
			snprintf(want, sizeof(want), "weekly %s", label);
		else if (i == 0)
			snprintf(want, sizeof(want), "oldest weekly %s", label);
		if (jv_array_length(jv_copy(rs)) != (want[0] != '\0') ||
		    (want[0] != '\0' &&
		     strcmp(jv_string_value(got), want) != 0)) {
			if (bad++ < 5)
				diag("%s: want \"%s\"", jv_string_value(id),
				     want);
		}
		jv_free(got);
		jv_free(rs);
		jv_free(id);
	}
	ok(n == 201 * 22 && bad == 0,
	   "22 days around each New Year 1900-2100: the newest of each ISO "
	   "week (strftime %%G-W%%V) is kept as that week, no other day");
	jv_free(r);
}

static int
have_berlin(void)
{
	time_t t = (time_t)(T("2026-07-01T00:00:00Z") / 1000);
	struct tm tm;

	set_tz("Europe/Berlin");
	return localtime_r(&t, &tm) != NULL && tm.tm_hour == 2;
}

static void
test_dst_berlin(void)
{
	struct bk_policy p = policy();
	jv s = jv_array(), r;

	if (!have_berlin()) {
		skip(9, "tzdata: Europe/Berlin not installed");
		return;
	}
	/* 2026-10-25: 03:00 CEST falls back to 02:00 CET at 01:00Z */
	for (int i = 0; i < 10; i++) {
		char t[SOV_TIME_RFC3339_LEN];

		sov_time_format(T("2026-10-24T22:00:00Z") + i * HOUR_MS / 2, t);
		s = jv_array_append(s, snap(t, t, "h", "/", ""));
	}
	p.hourly = -1;
	r = run(&p, jv_copy(s));
	is_str(kept(r),
	       "2026-10-24T22:00:00.000Z 2026-10-24T22:30:00.000Z "
	       "2026-10-24T23:30:00.000Z 2026-10-25T01:30:00.000Z "
	       "2026-10-25T02:30:00.000Z",
	       "Berlin, DST ends: 02:xx CEST and 02:xx CET are one hour");
	is_str(reasons(r, "2026-10-25T01:30:00.000Z"), "hourly 2026-10-25T02",
	       "  labelled in local time");
	is_str(reasons(r, "2026-10-24T22:00:00.000Z"),
	       "oldest hourly 2026-10-25T00", "  and the oldest too");
	jv_free(r);
	set_tz("UTC");
	r = run(&p, jv_copy(s));
	is_str(kept(r),
	       "2026-10-24T22:00:00.000Z 2026-10-24T22:30:00.000Z "
	       "2026-10-24T23:30:00.000Z 2026-10-25T00:30:00.000Z "
	       "2026-10-25T01:30:00.000Z 2026-10-25T02:30:00.000Z",
	       "  the same in UTC: six hours");
	jv_free(r);
	jv_free(s);

	/* the 25-hour day: local midnight is 22:00Z before, 23:00Z after */
	s = jv_array();
	s = jv_array_append(s,
			    snap("sat", "2026-10-24T21:30:00Z", "h", "/", ""));
	s = jv_array_append(
	    s, snap("sun-early", "2026-10-24T22:30:00Z", "h", "/", ""));
	s = jv_array_append(
	    s, snap("sun-late", "2026-10-25T22:30:00Z", "h", "/", ""));
	s = jv_array_append(s,
			    snap("mon", "2026-10-25T23:30:00Z", "h", "/", ""));
	p = policy();
	p.daily = 3;
	set_tz("Europe/Berlin");
	r = run(&p, jv_copy(s));
	is_str(kept(r), "sat sun-late mon",
	       "Berlin keep-daily over the 25-hour Sunday");
	is_str(reasons(r, "sun-late"), "daily 2026-10-25",
	       "  23:30 CET is still 2026-10-25");
	jv_free(r);
	set_tz("UTC");
	p.daily = 2;
	r = run(&p, jv_copy(s));
	is_str(kept(r), "sun-early mon", "  in UTC the days split elsewhere");
	jv_free(r);
	jv_free(s);

	/* spring forward 2026-03-29 01:00Z: 02:00 CET becomes 03:00 CEST;
	 * and a month that starts at 23:00Z */
	s = jv_array();
	s = jv_array_append(s,
			    snap("cet", "2026-03-29T00:30:00Z", "h", "/", ""));
	s = jv_array_append(s,
			    snap("cest", "2026-03-29T01:00:00Z", "h", "/", ""));
	s = jv_array_append(s,
			    snap("nov", "2026-10-31T23:30:00Z", "h", "/", ""));
	p = policy();
	p.hourly = 3;
	p.monthly = 1;
	set_tz("Europe/Berlin");
	r = run(&p, s);
	is_str(reasons(r, "cest"), "hourly 2026-03-29T03",
	       "Berlin, DST starts: 01:00Z is 03:00, no hour 02");
	is_str(reasons(r, "nov"), "hourly 2026-11-01T00|monthly 2026-11",
	       "  2026-10-31T23:30Z is November in Berlin");
	jv_free(r);
	set_tz("UTC");
}

static void
test_keep_tags(void)
{
	struct bk_policy p = policy();
	jv s = jv_array(), r;

	set_tz("UTC");
	s = jv_array_append(s,
			    snap("a", "2026-11-01T00:00:00Z", "h", "/", "a"));
	s = jv_array_append(s,
			    snap("b", "2026-11-02T00:00:00Z", "h", "/", "b"));
	s = jv_array_append(
	    s, snap("ab", "2026-11-03T00:00:00Z", "h", "/", "b,a"));
	s = jv_array_append(
	    s, snap("none", "2026-11-04T00:00:00Z", "h", "/", NULL));
	s = jv_array_append(s,
			    snap("c", "2026-11-05T00:00:00Z", "h", "/", "c"));

	p.keep_tags = csv("a");
	r = run(&p, jv_copy(s));
	is_str(kept(r), "a ab", "keep-tag a: every snapshot carrying a");
	is_str(reasons(r, "ab"), "tag a", "  reason \"tag a\"");
	jv_free(r);
	jv_free(p.keep_tags);

	p.keep_tags = jv_array_append(csv("a"), jv_string("b"));
	r = run(&p, jv_copy(s));
	is_str(kept(r), "a b ab", "keep-tag a, keep-tag b: either");
	is_str(reasons(r, "ab"), "tag a|tag b", "  both reasons");
	jv_free(r);
	jv_free(p.keep_tags);

	p.keep_tags = jv_array_append(jv_array(), jv_string("a,b"));
	r = run(&p, jv_copy(s));
	is_str(kept(r), "ab", "keep-tag a,b: both tags needed (restic)");
	is_str(reasons(r, "ab"), "tag a,b", "  reason \"tag a,b\"");
	jv_free(r);
	jv_free(p.keep_tags);

	p.keep_tags = jv_array_append(jv_array(), jv_string(""));
	r = run(&p, jv_copy(s));
	is_str(kept(r), "none", "keep-tag \"\": the untagged (restic)");
	is_str(reasons(r, "none"), "untagged", "  reason \"untagged\"");
	jv_free(r);
	jv_free(p.keep_tags);

	/* with another rule: reasons accumulate, tags are not counted */
	p.keep_tags = csv("c");
	p.last = 1;
	p.daily = 2;
	r = run(&p, s);
	is_str(kept(r), "none c", "keep-tag with keep-last and keep-daily");
	is_str(reasons(r, "c"), "last|daily 2026-11-05|tag c",
	       "  reasons accumulate");
	jv_free(r);
	jv_free(p.keep_tags);
}

static void
test_bad_input(void)
{
	struct bk_policy p = policy();
	char long_path[4098], long_tag[258];
	jv big, r;

	set_tz("UTC");
	p.last = 1;
	fails(&p, jv_object(), "snapshots: not an array", "an object");
	fails(&p, jv_null(), "snapshots: not an array", "null");
	fails(&p,
	      jv_array_append(
		  jv_array_append(jv_array(), snap("a", "2026-11-22T00:00:00Z",
						   "h", "/", "")),
		  jv_number(3)),
	      "snapshot 1: not an object", "a number in the array");
	fails(&p,
	      jv_array_append(jv_array(),
			      jv_object_delete(snap("a", "2026-11-22T00:00:00Z",
						    "h", "/", ""),
					       jv_string("id"))),
	      "snapshot 0: id: missing", "no id");
	fails(&p,
	      jv_array_append(
		  jv_array(),
		  jv_object_set(snap("a", "2026-11-22T00:00:00Z", "h", "/", ""),
				jv_string("id"), jv_number(7))),
	      "snapshot 0: id: not a string", "a number as id");
	fails(&p,
	      jv_array_append(jv_array(),
			      snap("", "2026-11-22T00:00:00Z", "h", "/", "")),
	      "snapshot 0: id: empty", "an empty id");
	fails(&p,
	      jv_array_append(jv_array(),
			      jv_object_delete(snap("a", "2026-11-22T00:00:00Z",
						    "h", "/", ""),
					       jv_string("time"))),
	      "snapshot 0 (id \"a\"): time: missing", "no time");
	fails(&p,
	      jv_array_append(
		  jv_array_append(
		      jv_array_append(
			  jv_array(),
			  snap("a", "2026-11-22T00:00:00Z", "h", "/", "")),
		      snap("b", "2026-11-22T00:00:00Z", "h", "/", "")),
		  snap("c\n", "yesterday", "h", "/", "")),
	      "snapshot 2 (id \"c\\n\"): time: not an RFC 3339 time: "
	      "\"yesterday\"",
	      "a time that is not RFC 3339, the id escaped");
	fails(&p,
	      jv_array_append(jv_array(),
			      snap("a", "2026-11-22 00:00:00", "h", "/", "")),
	      "time: not an RFC 3339 time", "a time without T or zone");
	fails(&p,
	      jv_array_append(jv_array(),
			      jv_object_set(snap("a", "x", "h", "/", ""),
					    jv_string("time"),
					    jv_number(1795376492))),
	      "snapshot 0 (id \"a\"): time: not a string", "a number as time");
	fails(&p,
	      jv_array_append(jv_array(),
			      jv_object_delete(snap("a", "2026-11-22T00:00:00Z",
						    "h", "/", ""),
					       jv_string("host"))),
	      "snapshot 0 (id \"a\"): host: missing", "no host");
	fails(&p,
	      jv_array_append(
		  jv_array(),
		  jv_object_set(snap("a", "2026-11-22T00:00:00Z", "h", "/", ""),
				jv_string("host"), jv_string_sized("a\0b", 3))),
	      "host: contains a NUL byte", "a NUL in the host");
	fails(&p,
	      jv_array_append(jv_array(),
			      jv_object_delete(snap("a", "2026-11-22T00:00:00Z",
						    "h", "/", ""),
					       jv_string("paths"))),
	      "snapshot 0 (id \"a\"): paths: missing or not an array",
	      "no paths");
	fails(&p,
	      jv_array_append(
		  jv_array(),
		  jv_object_set(snap("a", "2026-11-22T00:00:00Z", "h", "/", ""),
				jv_string("paths"), jv_string("/etc"))),
	      "paths: missing or not an array", "paths as a string");
	fails(&p,
	      jv_array_append(
		  jv_array(),
		  jv_object_set(snap("a", "2026-11-22T00:00:00Z", "h", "/", ""),
				jv_string("paths"),
				jv_array_append(csv("/a,/b"), jv_number(1)))),
	      "snapshot 0 (id \"a\"): paths[2]: not a string",
	      "a number in paths");
	memset(long_path, 'p', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	fails(&p,
	      jv_array_append(
		  jv_array(),
		  jv_object_set(
		      snap("a", "2026-11-22T00:00:00Z", "h", "/", ""),
		      jv_string("paths"),
		      jv_array_append(jv_array(), jv_string(long_path)))),
	      "paths[0]: too long", "a path over 4096 bytes");
	fails(&p,
	      jv_array_append(
		  jv_array(),
		  jv_object_set(snap("a", "2026-11-22T00:00:00Z", "h", "/", ""),
				jv_string("tags"), jv_string("x"))),
	      "snapshot 0 (id \"a\"): tags: missing or not an array",
	      "tags as a string");
	memset(long_tag, 't', sizeof(long_tag) - 1);
	long_tag[sizeof(long_tag) - 1] = '\0';
	fails(&p,
	      jv_array_append(jv_array(), snap("a", "2026-11-22T00:00:00Z", "h",
					       "/", long_tag)),
	      "tags[0]: too long", "a tag over 256 bytes");
	big = jv_array();
	for (int i = 0; i < 257; i++)
		big = jv_array_append(big, jv_string("t"));
	fails(&p,
	      jv_array_append(
		  jv_array(),
		  jv_object_set(snap("a", "2026-11-22T00:00:00Z", "h", "/", ""),
				jv_string("tags"), big)),
	      "tags: more than 256 entries", "257 tags");
	/* setting index 1000000 fills the rest with null */
	big = jv_array_set(jv_array(), 1000000, jv_null());
	fails(&p, big, "snapshots: more than 1000000",
	      "over a million snapshots");

	/* the policy itself */
	p = policy();
	p.daily = -2;
	fails(&p, jv_array(), "policy: keep-daily: -2", "keep-daily -2");
	p = policy();
	p.yearly = -5;
	fails(&p, jv_array(), "policy: keep-yearly: -5", "keep-yearly -5");
	p = policy();
	p.within_ms = -1;
	fails(&p, jv_array(), "policy: keep-within: negative",
	      "negative within");
	p = policy();
	p.group_by = 8;
	fails(&p, jv_array(), "policy: group-by: unknown bits 0x8",
	      "unknown group_by bit");
	p = policy();
	p.keep_tags = jv_string("a");
	fails(&p, jv_array(), "policy: keep-tag: not an array",
	      "keep_tags a string");
	jv_free(p.keep_tags);
	p.keep_tags = jv_array_append(csv("a"), jv_true());
	fails(&p, jv_array(), "policy: keep-tag[1]: not a string",
	      "keep_tags with true");
	jv_free(p.keep_tags);

	/* a bad snapshot after good ones in several groups: no leak, and the
	 * error names the right index */
	p = policy();
	p.last = 1;
	fails(
	    &p,
	    jv_array_append(
		jv_array_append(
		    jv_array_append(
			jv_array(),
			snap("a", "2026-11-22T00:00:00Z", "h", "/x", "t")),
		    snap("b", "2026-11-22T00:00:00Z", "g", "/y", "")),
		jv_object_set(snap("c", "2026-11-22T00:00:00Z", "g", "/z", ""),
			      jv_string("host"), jv_number(1))),
	    "snapshot 2 (id \"c\"): host: not a string",
	    "a bad third snapshot after two good groups");
	memset(long_tag, 'i', sizeof(long_tag) - 1);
	fails(&p,
	      jv_array_append(jv_array(), snap(long_tag, "2026-11-22T00:00:00Z",
					       "h", "/", "")),
	      "snapshot 0: id: too long", "an id over 256 bytes");

	/* what is allowed: no paths, an empty host, extra fields */
	r = run(
	    &p,
	    jv_array_append(
		jv_array_append(
		    jv_array(),
		    jv_object_set(snap("a", "2026-11-22T00:00:00Z", "", "", ""),
				  jv_string("tree"), jv_string("x"))),
		snap("b", "2026-11-21T00:00:00Z", "", "", "")));
	is_str(kept(r), "a", "empty paths and host, an extra field: accepted");
	jv_free(r);
}

int
main(void)
{
	test_group_by_parse();
	test_empty();
	test_output_shape();
	test_restic_doc_sundays();
	test_restic_doc_100_years();
	test_each_rule();
	test_unlimited();
	test_within();
	test_combined();
	test_groups();
	test_ties();
	test_iso_weeks();
	test_dst_berlin();
	test_keep_tags();
	test_bad_input();
	return done_testing();
}
