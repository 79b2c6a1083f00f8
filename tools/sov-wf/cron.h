/*
 * cron.h - five-field cron expressions and their next fire time, in UTC.
 *
 *   minute hour day-of-month month day-of-week
 *
 * Each field is `*` or a comma-separated list of items; an item is a
 * number, a range a-b (a <= b), either of those or `*` followed by /n (a
 * step: every nth value of the range, starting at its first). Months may
 * be named jan..dec, days of the week sun..sat (any case); day of week 0
 * and 7 are both Sunday. A single number with a step ("5/15") is refused:
 * Vixie cron refuses it too, and others read it differently; write 5-59/15.
 *
 * Shortcuts: @yearly (@annually) "0 0 1 1 *", @monthly "0 0 1 * *",
 * @weekly "0 0 * * 0", @daily (@midnight) "0 0 * * *", @hourly
 * "0 * * * *". @reboot means nothing to a workflow and is refused.
 *
 * Day of month and day of week, as Vixie cron (and cronie, and most
 * others): when both fields are restricted, a day matches when EITHER
 * matches ("0 0 13 * fri" is every 13th and every Friday); when either
 * field starts with an asterisk (a stepped one too), a day must match
 * both, so the starred one restricts only as far as its step does.
 *
 * An expression that can never fire ("0 0 30 2 *") is refused at parse
 * time. Times are UTC: no daylight saving, so every fire time exists
 * exactly once.
 */
#ifndef WF_CRON_H
#define WF_CRON_H

#include <stdint.h>

#include "err.h"

#define WF_CRON_TEXT_MAX 256 /* bytes of an expression */

/*
 * Days searched for the next fire time: one whole Gregorian cycle of 400
 * years, after which dates fall on the same weekdays again, so a day not
 * found in it never comes. Gaps of decades are real: February 29th that
 * is a Sunday (day of month 29, day of week a star stepped by 7, so the
 * two are AND-ed) comes in 2088 and next in 2128.
 */
#define WF_CRON_SEARCH_DAYS 146098

/* Fire times lie between 1970-01-01 and 9999-12-31 (UTC). */
#define WF_CRON_TIME_MAX_MS INT64_C(253402300799999)

enum {
	WF_CRON_DOM_STAR = 1 << 0, /* day-of-month field started with '*' */
	WF_CRON_DOW_STAR = 1 << 1, /* day-of-week field started with '*' */
};

struct wf_cron {
	uint64_t minute; /* bit m: minute m (0-59) */
	uint32_t hour;   /* bit h: hour h (0-23) */
	uint32_t dom;    /* bit d: day of month d (1-31) */
	uint16_t month;  /* bit m: month m (1-12) */
	uint8_t dow;     /* bit d: day of week d (0-6, 0 is Sunday) */
	unsigned flags;  /* WF_CRON_* */
};

/*
 * Parse text into *c. On error -1 with SOV_EXIT_USAGE and a message that
 * names the field and the item ("day-of-month: 32 is out of range 1-31");
 * the caller puts the file and JSON path in front.
 */
int wf_cron_parse(const char *text, struct wf_cron *c, struct sov_err *e);

/*
 * The first fire time strictly after after_ms (ms since the epoch, UTC),
 * on a whole minute, into *next_ms. -1 when there is none within
 * WF_CRON_SEARCH_DAYS or before WF_CRON_TIME_MAX_MS, or when after_ms is
 * before the epoch.
 */
int wf_cron_next(const struct wf_cron *c, int64_t after_ms, int64_t *next_ms,
		 struct sov_err *e);

#endif
