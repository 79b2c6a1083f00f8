/* test_timestamp.c - RFC 3339 timestamps and durations. */
#include <stdint.h>

#include "tap.h"
#include "timestamp.h"

static void
parse_ok(const char *s, int64_t want)
{
	struct sov_err e;
	int64_t ms = -1;

	ok(sov_time_parse(s, &ms, &e) == 0 && ms == want, "parse %s", s);
	if (ms != want)
		diag("  got %lld", (long long)ms);
}

static void
parse_bad(const char *s)
{
	struct sov_err e;
	int64_t ms;

	ok(sov_time_parse(s, &ms, &e) == -1 && e.code == SOV_EXIT_USAGE,
	   "refuse timestamp \"%s\"", s);
}

static void
dur(const char *s, int64_t want)
{
	struct sov_err e;
	int64_t ms = -1;
	int rc = sov_duration_parse(s, &ms, &e);

	if (want < 0)
		ok(rc == -1 && e.code == SOV_EXIT_USAGE,
		   "refuse duration \"%s\"", s);
	else
		ok(rc == 0 && ms == want, "duration %s = %lld ms", s,
		   (long long)want);
}

int
main(void)
{
	char buf[SOV_TIME_RFC3339_LEN];
	struct sov_err e;
	int64_t now = sov_time_now_ms(), back;

	sov_time_format(0, buf);
	is_str(buf, "1970-01-01T00:00:00.000Z", "epoch");
	sov_time_format(1795376492123LL, buf);
	is_str(buf, "2026-11-22T19:41:32.123Z", "a recent time with ms");
	sov_time_format(-1, buf);
	is_str(buf, "1969-12-31T23:59:59.999Z", "before the epoch");
	sov_time_format(now, buf);
	ok(sov_time_parse(buf, &back, &e) == 0 && back == now,
	   "format then parse round-trips");

	parse_ok("2026-11-22T19:41:32.123Z", 1795376492123LL);
	parse_ok("2026-11-22T19:41:32Z", 1795376492000LL);
	parse_ok("2026-11-22t19:41:32.1234567z", 1795376492123LL);
	parse_ok("2026-11-22T20:41:32.123+01:00", 1795376492123LL);
	parse_ok("2026-11-22T14:11:32.123-05:30", 1795376492123LL);
	parse_ok("2024-02-29T00:00:00Z", 1709164800000LL);
	parse_bad("2023-02-29T00:00:00Z");
	parse_bad("2026-11-22 19:41:32Z");
	parse_bad("2026-11-22T19:41:32");
	parse_bad("2026-13-01T00:00:00Z");
	parse_bad("2026-11-22T24:00:00Z");
	parse_bad("2026-11-22T19:41:32.Z");
	parse_bad("2026-11-22T19:41:32Zjunk");
	parse_bad("");
	ok(sov_time_parse("nonsense", &back, &e) == -1 &&
	       strstr(e.msg, "\"nonsense\"") != NULL,
	   "message quotes the bad text");

	dur("90s", 90000);
	dur("5m", 300000);
	dur("1h30m", 5400000);
	dur("250ms", 250);
	dur("7d", 604800000);
	dur("2w", 1209600000);
	dur("10", -1);
	dur("", -1);
	dur("5x", -1);
	dur("-5s", -1);
	dur("m", -1);
	dur("99999999999999999999s", -1);
	dur("9223372036854775807w", -1);
	ok(sov_duration_parse("5 m", &back, &e) == -1 &&
	       strstr(e.msg, "units ms s m h d w") != NULL,
	   "message lists the units");

	ok(sov_time_mono_ms() > 0, "monotonic clock");
	return done_testing();
}
