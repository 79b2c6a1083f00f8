/*
 * fuzz_wf_cron.c - libFuzzer target for sov-wf's cron expressions: they
 * come from workflow definitions that Nix and operators write.
 *
 * Any bytes: a parsed expression or a usage error with a message, no
 * crash. For a parsed one, the next fire time after a few instants (from
 * the input's tail) is checked against a second reading of the bit sets:
 * strictly later, on a whole minute, a time the expression matches, and
 * no minute between the instant and it (within a day) matches.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TEXT_MAX 300
#define GAP_CHECKED_MINUTES 1440

static int
matches(const struct wf_cron *c, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	int dom, dow;

	if (gmtime_r(&t, &tm) == NULL)
		__builtin_trap();
	dom = (c->dom >> tm.tm_mday) & 1;
	dow = (c->dow >> tm.tm_wday) & 1;
	if (!((c->minute >> tm.tm_min) & 1) || !((c->hour >> tm.tm_hour) & 1) ||
	    !((c->month >> (tm.tm_mon + 1)) & 1))
		return 0;
	if (c->flags & (WF_CRON_DOM_STAR | WF_CRON_DOW_STAR))
		return dom && dow;
	return dom || dow;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[TEXT_MAX + 1];
	size_t n = size < TEXT_MAX ? size : TEXT_MAX;
	struct wf_cron c;
	struct sov_err e = {0};
	uint64_t seed = 0;

	memcpy(text, data, n);
	text[n] = '\0';
	if (wf_cron_parse(text, &c, &e) < 0) {
		if (e.code != SOV_EXIT_USAGE || e.msg[0] == '\0')
			__builtin_trap();
		return 0;
	}
	if (c.minute == 0 || c.hour == 0 || c.month == 0)
		__builtin_trap();
	for (size_t i = 0; i < size; i++)
		seed = seed * 131 + data[i];
	for (int k = 0; k < 3; k++) {
		/* 1970 .. ~2300 */
		int64_t after = (int64_t)(seed % INT64_C(10400000000000)), next;

		seed = seed * 6364136223846793005u + 1442695040888963407u;
		if (wf_cron_next(&c, after, &next, &e) < 0)
			__builtin_trap(); /* parse proved it fires */
		if (next <= after || next % 60000 != 0 || !matches(&c, next))
			__builtin_trap();
		for (int64_t m = (after / 60000 + 1) * 60000, i = 0;
		     m < next && i < GAP_CHECKED_MINUTES; m += 60000, i++)
			if (matches(&c, m))
				__builtin_trap();
	}
	return 0;
}
