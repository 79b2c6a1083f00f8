/*
 * sched.h - when each target is next due: a binary heap on monotonic ms.
 *
 * A target's first turn is spread over its interval by a hash of its name
 * (a thousand targets of 10 s do not all fire in the same millisecond, and
 * a restart keeps each one's phase), rounded down to a multiple of
 * PR_SCHED_TICK_MS: targets of one interval fall on a few hundred ticks, so
 * one wake-up starts several probes and one poll often sees several
 * answers (a wake-up per probe was half the daemon's CPU: 0.22 against
 * 0.11 CPU-s per 1,000 probes of 1,000 targets). Every next
 * turn is the last one plus the interval, not the end of the probe plus
 * the interval, so nothing drifts and the rounding moves no interval. A
 * turn missed because the probe before it still ran is skipped and
 * counted.
 */
#ifndef PR_SCHED_H
#define PR_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "target.h"

#define PR_SCHED_TICK_MS 250

struct pr_sched {
	size_t *heap; /* target indexes, earliest due first */
	size_t n;
	int64_t *due; /* per target */
	uint64_t skipped;
};

int pr_sched_init(struct pr_sched *s, const struct pr_set *set,
		  int64_t now_ms);
void pr_sched_free(struct pr_sched *s);

/* The earliest target and when it is due; 0 when there are none. */
int pr_sched_peek(const struct pr_sched *s, size_t *ti, int64_t *due);

/* The earliest target's turn is taken (or skipped): its next one is one
 * interval on, or the first after now_ms. */
void pr_sched_advance(struct pr_sched *s, const struct pr_set *set,
		      int64_t now_ms);

#endif
