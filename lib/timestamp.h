/*
 * timestamp.h - the timestamps and durations every record and option uses.
 *
 * Records carry "ts" as RFC 3339 UTC with milliseconds, fixed width
 * ("2026-11-22T19:41:32.123Z", 24 bytes) so that text order is time order.
 */
#ifndef SOV_TIMESTAMP_H
#define SOV_TIMESTAMP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SOV_TIME_RFC3339_LEN 25 /* 24 characters and the NUL */

/* Milliseconds since the epoch, wall clock. */
int64_t sov_time_now_ms(void);

/* Milliseconds from a monotonic clock, for measuring durations. */
int64_t sov_time_mono_ms(void);

/* Format ms since the epoch as RFC 3339 UTC with milliseconds. */
void sov_time_format(int64_t ms, char buf[SOV_TIME_RFC3339_LEN]);

/*
 * Parse RFC 3339 ("2026-11-22T19:41:32Z", fractional seconds of any length,
 * "Z" or a +HH:MM / -HH:MM offset, 't'/'z' in lower case too) into ms since
 * the epoch. -1 with an error naming the text on bad input.
 */
int sov_time_parse(const char *s, int64_t *ms, struct sov_err *e);

/*
 * Parse a duration: one or more <number><unit> groups, units ms, s, m, h, d,
 * w ("90s", "1h30m", "7d", "250ms"). A bare number is refused: the unit is
 * always said. Into milliseconds; overflow and negatives are errors.
 */
int sov_duration_parse(const char *s, int64_t *ms, struct sov_err *e);

#endif
