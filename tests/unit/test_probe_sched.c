/*
 * test_probe_sched.c - sov-probe's schedule: first turns spread over the
 * interval on the tick's grid, every next turn exactly one interval on, a
 * turn that fell behind skipped and counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"
#include "tap.h"

#define N 1000
#define T0 1000000 /* "now" at start, ms */

static struct pr_target targets[N];
static char names[N][16];

static void
make_set(struct pr_set *set, int64_t interval_ms)
{
	memset(set, 0, sizeof(*set));
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "t%04d", i);
		memset(&targets[i], 0, sizeof(targets[i]));
		targets[i].name = names[i];
		targets[i].interval_ms = interval_ms;
	}
	set->targets = targets;
	set->ntargets = N;
}

/* Take every turn due up to `until`; the starts of target 0 go in starts. */
static int
run_until(struct pr_sched *s, const struct pr_set *set, int64_t until,
	  int64_t *starts, int max, int *nstarts, int *order_ok)
{
	size_t ti;
	int64_t due, last = 0;
	int turns = 0;

	while (pr_sched_peek(s, &ti, &due) && due <= until) {
		if (due < last)
			*order_ok = 0;
		last = due;
		if (ti == 0 && *nstarts < max)
			starts[(*nstarts)++] = due;
		pr_sched_advance(s, set, due);
		turns++;
	}
	return turns;
}

int
main(void)
{
	struct pr_set set;
	struct pr_sched s;
	int64_t starts[8], lo = INT64_MAX, hi = 0, due;
	int off_grid = 0, order_ok = 1, nstarts = 0, turns, ticks = 0;
	size_t ti;
	static unsigned char used[10000 / PR_SCHED_TICK_MS];

	make_set(&set, 10000);
	if (pr_sched_init(&s, &set, T0) < 0) {
		ok(0, "init");
		return done_testing();
	}
	for (int i = 0; i < N; i++) {
		int64_t d = s.due[i] - T0;

		off_grid += d % PR_SCHED_TICK_MS != 0;
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		if (d >= 0 && d < 10000 && !used[d / PR_SCHED_TICK_MS]++)
			ticks++;
	}
	is_int(off_grid, 0, "every first turn is on the tick's grid");
	ok(lo >= 0 && hi < 10000, "within one interval (%lld..%lld ms)",
	   (long long)lo, (long long)hi);
	/* 1,000 names hashed onto 40 ticks: all of them taken, so a burst
	 * is about 25 probes, not 1,000 */
	is_int(ticks, 10000 / PR_SCHED_TICK_MS, "spread over every tick");

	turns = run_until(&s, &set, T0 + 35000, starts, 8, &nstarts, &order_ok);
	ok(order_ok, "turns come earliest first");
	ok(turns >= 3 * N && turns <= 4 * N, "about 3.5 turns each (%d)",
	   turns);
	ok(nstarts >= 3, "target 0 had its turns");
	for (int i = 1; i < nstarts; i++)
		is_int(starts[i] - starts[i - 1], 10000,
		       "target 0: turn %d exactly one interval after the last",
		       i);
	is_int((int)s.skipped, 0, "nothing skipped while on time");

	/* the loop stalled for 25 s: target 0's missed turns are skipped */
	if (pr_sched_peek(&s, &ti, &due)) {
		int64_t before = due;

		pr_sched_advance(&s, &set, due + 25000);
		is_int((int)s.skipped, 2, "a turn 25 s late skips 2 of 10 s");
		ok(s.due[ti] > before + 25000 &&
		       (s.due[ti] - before) % 10000 == 0,
		   "and the next stays on its phase");
	}
	pr_sched_free(&s);

	/* an interval shorter than the tick: every target at the start */
	make_set(&set, 100);
	if (pr_sched_init(&s, &set, T0) == 0) {
		int at_start = 0;

		for (int i = 0; i < N; i++)
			at_start += s.due[i] == T0;
		is_int(at_start, N, "interval 100 ms < tick: all due at once");
		pr_sched_free(&s);
	}
	return done_testing();
}
