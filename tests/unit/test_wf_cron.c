/* test_wf_cron.c - cron expressions of sov-wf triggers: parsing, errors, and
 * next fire times checked against dates worked out by hand (UTC). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "tap.h"
#include "timestamp.h"

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

/* The next fire time of expr after `after`, as RFC 3339, or the error. */
static void
next_is(const char *expr, const char *after, const char *want)
{
	static char buf[SOV_ERR_MSG_MAX + 16];
	struct wf_cron c;
	struct sov_err e = {0};
	int64_t next = 0;

	if (wf_cron_parse(expr, &c, &e) < 0) {
		xsnprintf(buf, sizeof(buf), "parse: %s", e.msg);
	} else if (wf_cron_next(&c, T(after), &next, &e) < 0) {
		xsnprintf(buf, sizeof(buf), "next: %s", e.msg);
	} else {
		char ts[SOV_TIME_RFC3339_LEN];

		sov_time_format(next, ts);
		xsnprintf(buf, sizeof(buf), "%s", ts);
	}
	is_str(buf, want, "\"%s\" after %s", expr, after);
}

/* Parsing expr fails with a message containing want. */
static void
refused(const char *expr, const char *want)
{
	struct wf_cron c;
	struct sov_err e = {0};
	int rc = wf_cron_parse(expr, &c, &e);

	ok(rc == -1 && e.code == SOV_EXIT_USAGE, "\"%s\" is refused",
	   expr ? expr : "(null)");
	/* not like(): its NULL check makes gcc -O1 think want may be NULL */
	ok(strstr(e.msg, want) != NULL, "  saying \"%s\"", want);
	if (strstr(e.msg, want) == NULL)
		diag("  got \"%s\"", e.msg);
}

static void
test_fields(void)
{
	struct wf_cron c;
	struct sov_err e = {0};

	ok(wf_cron_parse("1,2,5-7,10-20/5 */6 1-31/10 jan,Jul-SEP sun,6", &c,
			 &e) == 0,
	   "lists, ranges, steps and names parse");
	is_int(c.minute,
	       (1ull << 1) | (1ull << 2) | (1ull << 5) | (1ull << 6) |
		   (1ull << 7) | (1ull << 10) | (1ull << 15) | (1ull << 20),
	       "minute bits");
	is_int(c.hour, (1u << 0) | (1u << 6) | (1u << 12) | (1u << 18),
	       "*/6 hours: 0, 6, 12, 18");
	is_int(c.dom, (1u << 1) | (1u << 11) | (1u << 21) | (1u << 31),
	       "1-31/10: 1, 11, 21, 31");
	is_int(c.month, (1u << 1) | (1u << 7) | (1u << 8) | (1u << 9),
	       "jan, jul..sep");
	is_int(c.dow, (1u << 0) | (1u << 6), "sun and 6");
	is_int(c.flags, 0, "neither day field starred");

	ok(wf_cron_parse("  0\t0  *  *  7 ", &c, &e) == 0,
	   "blanks and tabs around and between fields");
	is_int(c.dow, 1, "day-of-week 7 is Sunday");
	is_int(c.flags, WF_CRON_DOM_STAR, "day-of-month starred");

	ok(wf_cron_parse("0 0 */2 * 5-7", &c, &e) == 0, "a range to 7");
	is_int(c.dow, (1u << 0) | (1u << 5) | (1u << 6), "5-7: fri, sat, sun");
	is_int(c.flags, WF_CRON_DOM_STAR, "a stepped star still counts as *");

	ok(wf_cron_parse("* * * * */2", &c, &e) == 0, "*/2 day of week");
	is_int(c.dow, (1u << 0) | (1u << 2) | (1u << 4) | (1u << 6),
	       "*/2: sun, tue, thu, sat (not 7 again)");

	ok(wf_cron_parse("@weekly", &c, &e) == 0, "@weekly");
	is_int(c.dow, 1, "@weekly is Sunday");
	is_int(c.minute, 1, "at minute 0");
	ok(wf_cron_parse("0 0 30 2 1", &c, &e) == 0,
	   "Feb 30 OR Monday fires (on Mondays of February)");
	ok(wf_cron_parse("0 0 31 1,4 *", &c, &e) == 0,
	   "the 31st of January or April fires (January)");
}

static void
test_errors(void)
{
	char longer[WF_CRON_TEXT_MAX + 8];

	refused("", "want 5 fields");
	refused("   ", "got none");
	refused("* * * *", "got fewer");
	refused("* * * * * *", "got more");
	refused("60 * * * *", "minute: \"60\": 60 is out of range 0-59");
	refused("* 24 * * *", "hour: \"24\": 24 is out of range 0-23");
	refused("* * 0 * *", "day-of-month: \"0\": 0 is out of range 1-31");
	refused("* * 32 * *", "day-of-month: \"32\"");
	refused("* * * 13 *", "month: \"13\": 13 is out of range 1-12");
	refused("* * * 0 *", "month: \"0\"");
	refused("* * * * 8", "day-of-week: \"8\": 8 is out of range 0-7");
	refused("5-1 * * * *", "minute: \"5-1\": a range must go upwards");
	refused("* * * * fri-sun", "a range must go upwards (5-0)");
	refused("5/15 * * * *", "a step needs a range: write 5-59/...");
	refused("*/0 * * * *", "minute: \"*/0\": a step must be a number 1-60");
	refused("*/61 * * * *", "a step must be a number 1-60");
	refused("* */25 * * *", "hour: \"*/25\": a step must be a number 1-24");
	refused("*/ * * * *", "a step must be a number");
	refused("1,,2 * * * *", "minute: empty item in \"1,,2\"");
	refused(", * * * *", "minute: empty item");
	refused("1, * * * *", "minute: empty item");
	refused("mon * * * *", "minute: \"mon\": names are for month and "
			       "day-of-week only");
	refused("* * * foo *", "month: \"foo\": unknown name; want jan..dec");
	refused("* * * * monday", "unknown name; want sun..sat");
	refused("* * * * jan", "day-of-week: \"jan\": unknown name");
	refused("1- * * * *", "minute: \"1-\": want a number 0-59");
	refused("1x * * * *", "minute: \"1x\": unexpected 'x'");
	refused("*-5 * * * *", "unexpected '-'");
	refused("? * * * *", "minute: \"?\": want a number 0-59");
	refused("* * * ? *", "want a number 1-12 or a name jan..dec");
	refused("0000 * * * *", "minute: \"0000\": number too long");
	refused("*/0001 * * * *", "step too long");
	refused("0 0 30 2 *", "never fires");
	refused("0 0 31 4,6,9,11 *", "never fires");
	refused("0 0 30,31 feb *", "never fires");
	refused("@reboot", "unknown shortcut \"@reboot\"");
	refused("@daily 5", "a shortcut stands alone");
	refused("@", "unknown shortcut");
	refused("1\x01 * * * *", "byte 0x01 at offset 1 is not printable");
	refused("0 0 * * \xc3\xa9", "not printable ASCII");
	memset(longer, '1', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	refused(longer, "longer than 255 bytes");
	refused(NULL, "no expression");
}

static void
test_next(void)
{
	/* every minute: the next whole minute, strictly after */
	next_is("* * * * *", "2026-11-22T19:41:32.123Z",
		"2026-11-22T19:42:00.000Z");
	next_is("* * * * *", "2026-11-22T19:42:00.000Z",
		"2026-11-22T19:43:00.000Z");
	next_is("* * * * *", "2026-11-22T19:41:59.999Z",
		"2026-11-22T19:42:00.000Z");
	next_is("0 * * * *", "2026-11-22T19:00:00.000Z",
		"2026-11-22T20:00:00.000Z");
	next_is("0 * * * *", "2026-11-22T23:30:00.000Z",
		"2026-11-23T00:00:00.000Z");
	next_is("30 2 * * *", "2026-11-22T02:30:00.000Z",
		"2026-11-23T02:30:00.000Z");
	next_is("30 2 * * *", "2026-11-22T02:29:59.000Z",
		"2026-11-22T02:30:00.000Z");
	/* hour matches but every minute of it has passed */
	next_is("10 5,6 * * *", "2026-11-22T05:11:00.000Z",
		"2026-11-22T06:10:00.000Z");
	next_is("10 5 * * *", "2026-11-22T05:11:00.000Z",
		"2026-11-23T05:10:00.000Z");

	/* month and year ends */
	next_is("59 23 31 12 *", "2026-12-31T23:59:00.000Z",
		"2027-12-31T23:59:00.000Z");
	next_is("0 0 1 1 *", "2026-06-01T00:00:00.000Z",
		"2027-01-01T00:00:00.000Z");
	next_is("0 12 * jan,jul *", "2026-07-31T12:00:00.000Z",
		"2027-01-01T12:00:00.000Z");
	/* the 31st skips the months without one */
	next_is("0 0 31 * *", "2026-01-31T00:00:00.000Z",
		"2026-03-31T00:00:00.000Z");
	next_is("0 0 31 * *", "2026-03-31T00:00:00.000Z",
		"2026-05-31T00:00:00.000Z");
	next_is("0 0 31 * *", "2026-07-31T00:00:00.000Z",
		"2026-08-31T00:00:00.000Z");
	next_is("0 0 30 * *", "2026-01-30T00:00:00.000Z",
		"2026-03-30T00:00:00.000Z");

	/* a whole month skipped lands on the 1st of the next: February
	 * has 28 days, or 29, or 28 in a century year */
	next_is("0 0 1 3 *", "2025-02-10T00:00:00.000Z",
		"2025-03-01T00:00:00.000Z");
	next_is("0 0 1 3 *", "2024-02-10T00:00:00.000Z",
		"2024-03-01T00:00:00.000Z");
	next_is("0 0 1 3 *", "2100-02-10T00:00:00.000Z",
		"2100-03-01T00:00:00.000Z");
	next_is("0 0 1 3 *", "2000-02-10T00:00:00.000Z",
		"2000-03-01T00:00:00.000Z");
	next_is("0 0 1 5 *", "2026-04-30T12:00:00.000Z",
		"2026-05-01T00:00:00.000Z");

	/* February 29th: leap years, and century years that are not */
	next_is("0 0 29 2 *", "2023-03-01T00:00:00.000Z",
		"2024-02-29T00:00:00.000Z");
	next_is("0 0 29 2 *", "2024-02-28T23:59:00.000Z",
		"2024-02-29T00:00:00.000Z");
	next_is("0 0 29 2 *", "2024-02-29T00:00:00.000Z",
		"2028-02-29T00:00:00.000Z");
	next_is("0 0 29 2 *", "2096-02-29T00:00:00.000Z",
		"2104-02-29T00:00:00.000Z");
	next_is("0 0 29 2 *", "2399-01-01T00:00:00.000Z",
		"2400-02-29T00:00:00.000Z");
	next_is("0 0 * 3 *", "2100-02-28T12:00:00.000Z",
		"2100-03-01T00:00:00.000Z");
	next_is("0 0 * * *", "2024-02-28T00:00:00.000Z",
		"2024-02-29T00:00:00.000Z");
	/* Feb 29th that is a Sunday: the day fields AND-ed, 40 years */
	next_is("0 0 29 2 */7", "2088-03-01T00:00:00.000Z",
		"2128-02-29T00:00:00.000Z");

	/* day of month OR day of week, when both are restricted */
	next_is("0 0 13 * fri", "2026-11-01T00:00:00.000Z",
		"2026-11-06T00:00:00.000Z"); /* a Friday */
	next_is("0 0 13 * fri", "2026-11-06T00:00:00.000Z",
		"2026-11-13T00:00:00.000Z"); /* the 13th, also a Friday */
	next_is("0 0 13 * fri", "2026-11-13T00:00:00.000Z",
		"2026-11-20T00:00:00.000Z");
	next_is("0 0 1 * mon", "2026-11-24T00:00:00.000Z",
		"2026-11-30T00:00:00.000Z"); /* Monday before the 1st */
	next_is("0 0 30 2 1", "2026-11-22T00:00:00.000Z",
		"2027-02-01T00:00:00.000Z"); /* a Monday of February */
	/* AND when one is starred, a stepped star too */
	next_is("0 0 */2 * 1", "2026-11-22T00:00:00.000Z",
		"2026-11-23T00:00:00.000Z"); /* Monday the 23rd: odd */
	next_is("0 0 */2 * 1", "2026-11-23T00:00:00.000Z",
		"2026-12-07T00:00:00.000Z"); /* 30th even; Dec 7 odd */
	next_is("0 0 13 * *", "2026-11-14T00:00:00.000Z",
		"2026-12-13T00:00:00.000Z");
	next_is("0 0 * * 5", "2026-11-22T00:00:00.000Z",
		"2026-11-27T00:00:00.000Z");
	next_is("0 0 * * 7", "2026-11-22T00:00:00.000Z",
		"2026-11-29T00:00:00.000Z"); /* 7 is Sunday */

	/* office hours: Friday evening to Monday morning */
	next_is("*/15 9-17 * * mon-fri", "2026-11-20T17:50:00.000Z",
		"2026-11-23T09:00:00.000Z");
	next_is("*/15 9-17 * * mon-fri", "2026-11-23T09:00:00.000Z",
		"2026-11-23T09:15:00.000Z");
	next_is("*/15 9-17 * * mon-fri", "2026-11-23T17:45:00.000Z",
		"2026-11-24T09:00:00.000Z");

	/* shortcuts */
	next_is("@hourly", "2026-11-22T19:41:00.000Z",
		"2026-11-22T20:00:00.000Z");
	next_is("@daily", "2026-11-22T19:41:00.000Z",
		"2026-11-23T00:00:00.000Z");
	next_is("@midnight", "2026-11-22T19:41:00.000Z",
		"2026-11-23T00:00:00.000Z");
	next_is("@weekly", "2026-11-22T00:00:00.000Z",
		"2026-11-29T00:00:00.000Z");
	next_is("@monthly", "2026-11-22T19:41:00.000Z",
		"2026-12-01T00:00:00.000Z");
	next_is("@yearly", "2026-11-22T19:41:00.000Z",
		"2027-01-01T00:00:00.000Z");
	next_is("@annually", "2026-12-31T23:59:59.999Z",
		"2027-01-01T00:00:00.000Z");

	/* the ends of the range */
	next_is("0 0 1 1 *", "1970-01-01T00:00:00.000Z",
		"1971-01-01T00:00:00.000Z");
	next_is("* * * * *", "1970-01-01T00:00:00.000Z",
		"1970-01-01T00:01:00.000Z");
	next_is("58 23 31 12 *", "9999-12-31T23:57:00.000Z",
		"9999-12-31T23:58:00.000Z");
	next_is("* * * * *", "9999-12-31T23:59:00.000Z",
		"next: no fire time within 400 years or before year "
		"10000");
	next_is("0 0 1 1 *", "9999-06-01T00:00:00.000Z",
		"next: no fire time within 400 years or before year "
		"10000");
	next_is("* * * * *", "1969-12-31T23:59:00.000Z",
		"next: time -60000 is outside 1970..9999");
}

/* Every minute of February 2024, one at a time, against a second reading
 * of the expression: the search never skips a match nor invents one. */
static void
test_walk(void)
{
	struct wf_cron c;
	struct sov_err e = {0};
	int64_t start = T("2024-02-01T00:00:00Z"), prev = start - 1, next;
	int bad = 0, n = 0;

	if (wf_cron_parse("*/7 */5 1-10,29 * tue", &c, &e) < 0)
		abort();
	for (int64_t k = 0; k < 29 * 1440; k++) {
		int dom = (int)(k / 1440) + 1, h = (int)(k % 1440 / 60),
		    mi = (int)(k % 60);
		int wday = (4 + dom - 1) % 7; /* 2024-02-01 was a Thursday */
		int64_t at = start + k * 60000;

		if (mi % 7 != 0 || h % 5 != 0 ||
		    !((dom >= 1 && dom <= 10) || dom == 29 || wday == 2))
			continue;
		if (wf_cron_next(&c, prev, &next, &e) < 0 || next != at)
			bad++;
		prev = at;
		n++;
	}
	ok(n > 100 && bad == 0, "%d fire times in February 2024, %d wrong", n,
	   bad);
}

int
main(void)
{
	test_fields();
	test_errors();
	test_next();
	test_walk();
	return done_testing();
}
