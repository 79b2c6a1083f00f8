/*
 * fuzz_timestamp.c - libFuzzer target for sov_time_parse and
 * sov_duration_parse: timestamps come in records from other programs
 * (sov-probe reads sov-backup's "ts"), durations from options and config.
 * Any bytes: a value or a clear error, no crash; an accepted timestamp that
 * is printed again parses to the same instant (to the millisecond).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "timestamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[SOV_TIME_RFC3339_LEN];
	struct sov_err e;
	int64_t ms, back, d;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (sov_time_parse(s, &ms, &e) == 0) {
		sov_time_format(ms, buf);
		/* years outside 0000-9999 print as a marker, not a time */
		if (strcmp(buf, "0000-00-00T00:00:00.000Z") != 0 &&
		    (sov_time_parse(buf, &back, &e) != 0 || back != ms))
			__builtin_trap();
	} else if (e.code != SOV_EXIT_USAGE) {
		__builtin_trap();
	}
	if (sov_duration_parse(s, &d, &e) == 0) {
		if (d < 0)
			__builtin_trap();
	} else if (e.code != SOV_EXIT_USAGE) {
		__builtin_trap();
	}
	free(s);
	return 0;
}
