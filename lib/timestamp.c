/* timestamp.c - RFC 3339 timestamps and durations; see timestamp.h. */
#include "timestamp.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SOV_TIME_TEXT_MAX 64

int64_t
sov_time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
sov_time_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
sov_time_format(int64_t ms, char buf[SOV_TIME_RFC3339_LEN])
{
	int64_t sec = ms / 1000;
	int milli = (int)(ms % 1000);
	struct tm tm;
	time_t t;

	if (milli < 0) { /* floor division for times before 1970 */
		milli += 1000;
		sec--;
	}
	t = (time_t)sec;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 0) {
		memcpy(buf, "0000-00-00T00:00:00.000Z", SOV_TIME_RFC3339_LEN);
		return;
	}
	if (strftime(buf, SOV_TIME_RFC3339_LEN, "%Y-%m-%dT%H:%M:%S", &tm) !=
	    19) {
		memcpy(buf, "0000-00-00T00:00:00.000Z", SOV_TIME_RFC3339_LEN);
		return;
	}
	buf[19] = '.';
	buf[20] = (char)('0' + milli / 100);
	buf[21] = (char)('0' + milli / 10 % 10);
	buf[22] = (char)('0' + milli % 10);
	buf[23] = 'Z';
	buf[24] = '\0';
}

/* Read exactly n digits at *p into *out and advance. */
static int
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : mdays[m - 1];
}

int
sov_time_parse(const char *s, int64_t *ms, struct sov_err *e)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, milli = 0;
	const char *p = s;

	if (s == NULL || strnlen(s, SOV_TIME_TEXT_MAX) >= SOV_TIME_TEXT_MAX)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "bad timestamp: missing or too long");
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
		goto bad;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) ||
	    *p++ != ':' || digits(&p, 2, &sec))
		goto bad;
	if (*p == '.') {
		int n = 0;

		p++;
		if (!isdigit((unsigned char)*p))
			goto bad;
		for (; isdigit((unsigned char)*p); p++, n++)
			if (n < 3)
				milli = milli * 10 + (*p - '0');
		for (; n < 3; n++)
			milli *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			goto bad;
	} else {
		goto bad;
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
		goto bad;
	if (sec == 60) /* a leap second folds into the next one */
		sec = 59, milli = 999;
	*ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 +
	      (int64_t)sec * 1000 + milli -
	      sign * ((int64_t)oh * 60 + om) * 60000;
	return 0;
bad:
	return sov_err_set(e, SOV_EXIT_USAGE,
			   "bad timestamp \"%s\": want RFC 3339, e.g. "
			   "2026-11-22T19:41:32.123Z",
			   s);
}

int
sov_duration_parse(const char *s, int64_t *ms, struct sov_err *e)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"ms", 1},      {"s", 1000},     {"m", 60000},
		     {"h", 3600000}, {"d", 86400000}, {"w", 604800000}};
	const char *p = s;
	int64_t total = 0;

	if (s == NULL || *s == '\0' ||
	    strnlen(s, SOV_TIME_TEXT_MAX) >= SOV_TIME_TEXT_MAX)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "bad duration: empty or too long");
	while (*p != '\0') {
		int64_t n = 0;
		size_t i, best = 0, best_len = 0;

		if (!isdigit((unsigned char)*p))
			goto bad;
		for (; isdigit((unsigned char)*p); p++) {
			if (n > (INT64_MAX - 9) / 10)
				goto overflow;
			n = n * 10 + (*p - '0');
		}
		/* longest unit that matches, so "ms" wins over "m" */
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);

			if (strncmp(p, units[i].unit, l) == 0 && l > best_len) {
				best = i;
				best_len = l;
			}
		}
		if (best_len == 0)
			goto bad;
		p += best_len;
		if (n > (INT64_MAX - total) / units[best].ms)
			goto overflow;
		total += n * units[best].ms;
	}
	*ms = total;
	return 0;
bad:
	return sov_err_set(e, SOV_EXIT_USAGE,
			   "bad duration \"%s\": want e.g. 90s, 5m, 1h30m, 7d "
			   "(units ms s m h d w)",
			   s);
overflow:
	return sov_err_set(e, SOV_EXIT_USAGE, "duration \"%s\" is too large",
			   s);
}
