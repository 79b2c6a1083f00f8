/*
 * def_order.c - the steps as a graph: a topological order (Kahn's
 * algorithm, the smallest name first among the steps that are ready, so
 * the order never depends on how the file was written), each step's
 * ancestors, and, when there is no order, the cycle that prevents it.
 */
#include <stdlib.h>
#include <string.h>

#include "def_int.h"

#define CYCLE_TEXT_MAX SOV_ERR_MSG_MAX

/*
 * Some cycle among the steps not done: start at the first, follow each
 * step's first need that is not done (there always is one, or Kahn would
 * have taken the step) until a step comes round again. Written in the
 * direction work flows, "a -> b" for "b needs a", from its smallest name.
 */
static int
cycle_error(struct sov_jcheck *c, const struct wf_def *d,
	    const unsigned char *done)
{
	size_t n = d->n_steps, len = 0, cur = 0, start, lo, *walk = NULL;
	long *pos = NULL;
	char text[CYCLE_TEXT_MAX];
	int rc = -1;

	walk = calloc(n + 1, sizeof(*walk));
	pos = malloc((n + 1) * sizeof(*pos));
	if (walk == NULL || pos == NULL) {
		sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		pos[i] = -1;
	while (cur < n && done[cur])
		cur++;
	while (cur < n && pos[cur] < 0) {
		const struct wf_step *s = &d->steps[cur];
		size_t next = n;

		pos[cur] = (long)len;
		walk[len++] = cur;
		for (size_t j = 0; j < s->n_needs && next == n; j++)
			if (!done[s->needs[j]])
				next = s->needs[j];
		cur = next;
	}
	if (cur >= n) { /* cannot be: Kahn stopped for a reason */
		sov_err_set(c->e, SOV_EXIT_FAIL, "steps: no cycle found");
		goto out;
	}
	/* walk[pos[cur]..len) is the cycle, each needing the next */
	start = (size_t)pos[cur];
	lo = start;
	for (size_t i = start; i < len; i++)
		if (walk[i] < walk[lo])
			lo = i;
	text[0] = '\0';
	for (size_t k = 0, i = lo, used = 0; k <= len - start; k++) {
		const char *name = d->steps[walk[i]].name;
		size_t nl = strlen(name);

		/* stop, marked, before the message would overflow */
		if (used + nl + 8 >= sizeof(text)) {
			memcpy(text + used, " ...", 5);
			break;
		}
		if (k > 0) {
			memcpy(text + used, " -> ", 4);
			used += 4;
		}
		memcpy(text + used, name, nl + 1);
		used += nl;
		i = i == start ? len - 1 : i - 1;
	}
	sov_jcheck_fail(c, "cycle %s", text); /* the path is "steps" */
out:
	free(walk);
	free(pos);
	return rc;
}

int
wf_order_build(struct sov_jcheck *c, struct wf_def *d)
{
	size_t n = d->n_steps, *pending = NULL;
	unsigned char *done = NULL;
	int rc = -1;

	pending = calloc(n + 1, sizeof(*pending));
	done = calloc(n + 1, 1);
	d->order = calloc(n + 1, sizeof(*d->order));
	if (pending == NULL || done == NULL || d->order == NULL) {
		sov_err_set(c->e, SOV_EXIT_FAIL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		pending[i] = d->steps[i].n_needs;
	for (size_t k = 0; k < n; k++) {
		size_t i = 0;
		struct wf_step *s;

		/* steps are sorted by name: the first ready one is the
		 * smallest name */
		while (i < n && (done[i] || pending[i] > 0))
			i++;
		if (i == n) {
			cycle_error(c, d, done);
			goto out;
		}
		d->order[k] = i;
		done[i] = 1;
		s = &d->steps[i];
		for (size_t j = 0; j < s->n_needs; j++) {
			const struct wf_step *need = &d->steps[s->needs[j]];

			s->ancestors[need->index / 64] |= UINT64_C(1)
							  << (need->index % 64);
			for (size_t w = 0; w < WF_STEP_WORDS; w++)
				s->ancestors[w] |= need->ancestors[w];
		}
		for (size_t j = 0; j < n; j++)
			for (size_t q = 0; !done[j] && q < d->steps[j].n_needs;
			     q++)
				if (d->steps[j].needs[q] == i)
					pending[j]--;
	}
	rc = 0;
out:
	free(pending);
	free(done);
	return rc;
}
