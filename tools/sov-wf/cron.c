/*
 * cron.c - cron expressions and their next fire time; the rules are in
 * cron.h.
 *
 * A field becomes a bit set; the next fire time walks forward day by day
 * (a whole month at a time when the month does not match) and takes the
 * first matching hour and minute of the first matching day.
 */
#include "cron.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define FIELDS 5
#define NUMBER_DIGITS_MAX 3 /* "059" is still a number; "0059" is not */
#define ITEM_SHOW_MAX 32    /* bytes of an item quoted in a message */
#define MS_PER_MINUTE INT64_C(60000)
#define MINUTES_PER_DAY 1440

struct field {
	const char *name;
	int lo, hi;  /* the values a number may take */
	int star_hi; /* the last value of '*' (day of week: 6, not 7) */
	int name_lo; /* the value of names[0] */
	const char *const *names; /* three-letter names, or NULL */
	const char *names_hint;   /* "jan..dec" */
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may",
					  "jun", "jul", "aug", "sep", "oct",
					  "nov", "dec", NULL};
static const char *const day_names[] = {"sun", "mon", "tue", "wed",
					"thu", "fri", "sat", NULL};

static const struct field fields[FIELDS] = {
    {"minute", 0, 59, 59, 0, NULL, NULL},
    {"hour", 0, 23, 23, 0, NULL, NULL},
    {"day-of-month", 1, 31, 31, 0, NULL, NULL},
    {"month", 1, 12, 12, 1, month_names, "jan..dec"},
    {"day-of-week", 0, 7, 6, 0, day_names, "sun..sat"},
};

static const struct {
	const char *name, *expansion;
} shortcuts[] = {
    {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* "field: "item": message" as a usage error; returns -1. */
static int __attribute__((format(printf, 4, 5)))
item_err(struct sov_err *e, const struct field *f, const char *item,
	 const char *fmt, ...)
{
	size_t n = strcspn(item, ",");
	va_list ap;

	va_start(ap, fmt);
	sov_err_vset(e, SOV_EXIT_USAGE, fmt, ap);
	va_end(ap);
	if (n > ITEM_SHOW_MAX)
		return sov_err_prefix(e, "%s: \"%.*s...\": ", f->name,
				      ITEM_SHOW_MAX, item);
	return sov_err_prefix(e, "%s: \"%.*s\": ", f->name, (int)n, item);
}

static int
lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

static int
is_alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int
is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

/* A number or a name at *p (advanced past it) into *v, range-checked. */
static int
value(const struct field *f, const char *item, const char **p, int *v,
      struct sov_err *e)
{
	const char *s = *p;
	int n = 0, len = 0;

	if (is_digit(*s)) {
		for (; is_digit(s[len]); len++) {
			if (len == NUMBER_DIGITS_MAX)
				return item_err(e, f, item, "number too long");
			n = n * 10 + (s[len] - '0');
		}
		if (n < f->lo || n > f->hi)
			return item_err(e, f, item, "%d is out of range %d-%d",
					n, f->lo, f->hi);
		*p = s + len;
		*v = n;
		return 0;
	}
	if (is_alpha(*s)) {
		while (is_alpha(s[len]))
			len++;
		if (f->names == NULL)
			return item_err(e, f, item,
					"names are for month and day-of-week "
					"only; want a number %d-%d",
					f->lo, f->hi);
		for (int i = 0; len == 3 && f->names[i]; i++)
			if (lower(s[0]) == f->names[i][0] &&
			    lower(s[1]) == f->names[i][1] &&
			    lower(s[2]) == f->names[i][2]) {
				*p = s + len;
				*v = f->name_lo + i;
				return 0;
			}
		return item_err(e, f, item, "unknown name; want %s",
				f->names_hint);
	}
	if (f->names != NULL)
		return item_err(e, f, item, "want a number %d-%d or a name %s",
				f->lo, f->hi, f->names_hint);
	return item_err(e, f, item, "want a number %d-%d", f->lo, f->hi);
}

/* A step "/n" at *p into *step (1 when there is none). */
static int
step_of(const struct field *f, const char *item, const char **p, int *step,
	struct sov_err *e)
{
	const char *s = *p;
	int n = 0, len = 0, span = f->star_hi - f->lo + 1;

	*step = 1;
	if (*s != '/')
		return 0;
	s++;
	for (; is_digit(s[len]); len++) {
		if (len == NUMBER_DIGITS_MAX)
			return item_err(e, f, item, "step too long");
		n = n * 10 + (s[len] - '0');
	}
	if (len == 0 || n < 1 || n > span)
		return item_err(e, f, item, "a step must be a number 1-%d",
				span);
	*p = s + len;
	*step = n;
	return 0;
}

/* One item of a list: *, a, a-b, each optionally /n. */
static int
item(const struct field *f, const char *it, uint64_t *bits, struct sov_err *e)
{
	const char *p = it;
	int a, b, step;

	if (*p == '*') {
		a = f->lo;
		b = f->star_hi;
		p++;
		if (step_of(f, it, &p, &step, e) < 0)
			return -1;
	} else {
		if (value(f, it, &p, &a, e) < 0)
			return -1;
		b = a;
		if (*p == '-') {
			p++;
			if (value(f, it, &p, &b, e) < 0)
				return -1;
			if (a > b)
				return item_err(e, f, it,
						"a range must go upwards "
						"(%d-%d)",
						a, b);
			if (step_of(f, it, &p, &step, e) < 0)
				return -1;
		} else if (*p == '/') {
			return item_err(e, f, it,
					"a step needs a range: write %d-%d/...",
					a, f->star_hi);
		} else {
			step = 1;
		}
	}
	if (*p != '\0' && *p != ',')
		return item_err(e, f, it, "unexpected '%c'", *p);
	for (int v = a; v <= b; v += step)
		*bits |= UINT64_C(1) << v;
	return 0;
}

/* A field: text[0..len), comma-separated items. */
static int
field(const struct field *f, const char *text, size_t len, uint64_t *bits,
      struct sov_err *e)
{
	char buf[WF_CRON_TEXT_MAX];
	char *p;

	/* a copy, NUL-terminated, so items end at ',' or NUL */
	memcpy(buf, text, len);
	buf[len] = '\0';
	*bits = 0;
	for (p = buf;; p++) {
		if (*p == ',' || *p == '\0')
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "%s: empty item in \"%s\"", f->name,
					   buf);
		if (item(f, p, bits, e) < 0)
			return -1;
		p += strcspn(p, ",");
		if (*p == '\0')
			return 0;
	}
}

/* ---- the calendar, in days since 1970-01-01 ---- */

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Howard Hinnant's civil_from_days. */
static void
civil(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t z = days + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
days_in_month(int64_t y, int m)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : mdays[m - 1];
}

static int
day_matches(const struct wf_cron *c, int d, int wday)
{
	int dom = (c->dom >> d) & 1, dow = (c->dow >> wday) & 1;

	if (c->flags & (WF_CRON_DOM_STAR | WF_CRON_DOW_STAR))
		return dom && dow;
	return dom || dow;
}

int
wf_cron_next(const struct wf_cron *c, int64_t after_ms, int64_t *next_ms,
	     struct sov_err *e)
{
	int64_t minute, day, last;
	int h, m;

	if (after_ms < 0 || after_ms >= WF_CRON_TIME_MAX_MS)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "time %lld is outside 1970..9999",
				   (long long)after_ms);
	minute = after_ms / MS_PER_MINUTE + 1;
	day = minute / MINUTES_PER_DAY;
	h = (int)(minute % MINUTES_PER_DAY / 60);
	m = (int)(minute % 60);
	last = day + WF_CRON_SEARCH_DAYS;
	while (day <= last) {
		int64_t y;
		int mo, d;

		civil(day, &y, &mo, &d);
		if (!(c->month >> mo & 1)) {
			/* to the first of the next month (always forward) */
			int skip = days_in_month(y, mo) - d + 1;

			day += skip > 0 ? skip : 1;
			h = m = 0;
			continue;
		}
		/* 1970-01-01 was a Thursday (4) */
		if (day_matches(c, d, (int)((day + 4) % 7))) {
			uint32_t hours = c->hour & (UINT32_C(0xffffffff) << h);

			while (hours) {
				int hh = __builtin_ctz(hours);
				uint64_t mins = c->minute;

				if (hh == h)
					mins &= UINT64_MAX << m;
				if (mins) {
					int64_t t = ((day * 24 + hh) * 60 +
						     __builtin_ctzll(mins)) *
						    MS_PER_MINUTE;

					if (t > WF_CRON_TIME_MAX_MS)
						goto none;
					*next_ms = t;
					return 0;
				}
				hours &= hours - 1;
			}
		}
		day++;
		h = m = 0;
	}
none:
	return sov_err_set(e, SOV_EXIT_USAGE,
			   "no fire time within 400 years or before "
			   "year 10000");
}

/* Split text at blanks into at most FIELDS fields; the count in *n. */
static int
split(const char *text, const char *start[FIELDS], size_t len[FIELDS], int *n)
{
	const char *p = text;

	*n = 0;
	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			return 0;
		if (*n == FIELDS)
			return -1;
		start[*n] = p;
		len[*n] = strcspn(p, " \t");
		p += len[*n];
		(*n)++;
	}
}

int
wf_cron_parse(const char *text, struct wf_cron *c, struct sov_err *e)
{
	const char *start[FIELDS];
	size_t len[FIELDS], tlen;
	uint64_t bits[FIELDS];
	int64_t probe;
	int n;

	memset(c, 0, sizeof(*c));
	if (text == NULL)
		return sov_err_set(e, SOV_EXIT_USAGE, "no expression");
	tlen = strnlen(text, WF_CRON_TEXT_MAX);
	if (tlen >= WF_CRON_TEXT_MAX)
		return sov_err_set(e, SOV_EXIT_USAGE, "longer than %d bytes",
				   WF_CRON_TEXT_MAX - 1);
	for (size_t i = 0; i < tlen; i++)
		if (text[i] != '\t' && (text[i] < ' ' || text[i] > '~'))
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "byte 0x%02x at offset %zu "
					   "is not printable ASCII",
					   (unsigned char)text[i], i);
	text += strspn(text, " \t");
	if (text[0] == '@') {
		size_t w = strcspn(text, " \t");

		if (text[w + strspn(text + w, " \t")] != '\0')
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "\"%s\": a shortcut stands "
					   "alone",
					   text);
		for (size_t i = 0; i < sizeof(shortcuts) / sizeof(*shortcuts);
		     i++)
			if (strlen(shortcuts[i].name) == w &&
			    strncmp(text, shortcuts[i].name, w) == 0)
				return wf_cron_parse(shortcuts[i].expansion, c,
						     e);
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "unknown shortcut \"%.*s\"; want "
				   "@hourly, @daily, @weekly, @monthly or "
				   "@yearly",
				   (int)w, text);
	}
	if (split(text, start, len, &n) < 0 || n != FIELDS)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "want 5 fields (minute hour "
				   "day-of-month month day-of-week), got %s",
				   n == FIELDS ? "more"
				   : n == 0    ? "none"
					       : "fewer");
	for (int i = 0; i < FIELDS; i++)
		if (field(&fields[i], start[i], len[i], &bits[i], e) < 0)
			return -1;
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->dom = (uint32_t)bits[2];
	c->month = (uint16_t)bits[3];
	/* day of week 7 is Sunday, as 0 */
	c->dow = (uint8_t)((bits[4] | bits[4] >> 7) & 0x7f);
	if (start[2][0] == '*')
		c->flags |= WF_CRON_DOM_STAR;
	if (start[4][0] == '*')
		c->flags |= WF_CRON_DOW_STAR;
	/* a whole calendar cycle from 1970 meets every date and weekday */
	if (wf_cron_next(c, 0, &probe, NULL) < 0) {
		memset(c, 0, sizeof(*c));
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "\"%s\" never fires (no month has "
				   "that day)",
				   text);
	}
	return 0;
}
