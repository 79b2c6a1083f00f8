/* sched.c - the heap of due times; see sched.h. */
#include "sched.h"

#include <stdlib.h>
#include <string.h>

#include "strhash.h"

static int
before(const struct pr_sched *s, size_t a, size_t b)
{
	return s->due[s->heap[a]] < s->due[s->heap[b]];
}

static void
swap(struct pr_sched *s, size_t a, size_t b)
{
	size_t t = s->heap[a];

	s->heap[a] = s->heap[b];
	s->heap[b] = t;
}

static void
down(struct pr_sched *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < s->n && before(s, l, m))
			m = l;
		if (r < s->n && before(s, r, m))
			m = r;
		if (m == i)
			return;
		swap(s, i, m);
		i = m;
	}
}

int
pr_sched_init(struct pr_sched *s, const struct pr_set *set, int64_t now_ms)
{
	memset(s, 0, sizeof(*s));
	s->heap = calloc(set->ntargets + 1, sizeof(*s->heap));
	s->due = calloc(set->ntargets + 1, sizeof(*s->due));
	if (s->heap == NULL || s->due == NULL) {
		pr_sched_free(s);
		return -1;
	}
	for (size_t i = 0; i < set->ntargets; i++) {
		/* A stable phase per name: targets spread over the interval,
		 * the same from one run to the next. */
		int64_t phase =
		    (int64_t)(sov_str_hash(set->targets[i].name) %
			      (uint64_t)set->targets[i].interval_ms);

		s->due[i] = now_ms + phase - phase % PR_SCHED_TICK_MS;
		s->heap[s->n++] = i;
	}
	for (size_t i = s->n / 2; i-- > 0;)
		down(s, i);
	return 0;
}

void
pr_sched_free(struct pr_sched *s)
{
	free(s->heap);
	free(s->due);
	memset(s, 0, sizeof(*s));
}

int
pr_sched_peek(const struct pr_sched *s, size_t *ti, int64_t *due)
{
	if (s->n == 0)
		return 0;
	*ti = s->heap[0];
	*due = s->due[*ti];
	return 1;
}

void
pr_sched_advance(struct pr_sched *s, const struct pr_set *set, int64_t now_ms)
{
	size_t ti = s->heap[0];
	int64_t iv = set->targets[ti].interval_ms;

	s->due[ti] += iv;
	if (s->due[ti] <= now_ms) { /* fell behind: the next turn after now */
		int64_t missed = (now_ms - s->due[ti]) / iv + 1;

		s->due[ti] += missed * iv;
		s->skipped += (uint64_t)missed;
	}
	down(s, 0);
}
