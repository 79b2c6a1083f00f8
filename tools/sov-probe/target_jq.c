/*
 * target_jq.c - the http targets' jq conditions, compiled together.
 *
 * jq 1.6 spends some 16 ms of every compile on its builtins, so a
 * thousand targets compiled one by one took 16 s to load; together they
 * cost a few compiles (lib/jqbatch.h). Only http conditions share: they
 * all run on the engine's loop, one at a time. The other types' run on
 * worker threads, where a shared jq state would be raced, so each of
 * those is compiled alone as it is read.
 */
#include "target_int.h"

#include <stdlib.h>

int
pr_set_compile(struct pr_set *set, struct sov_err *e)
{
	const char **src = NULL, **where = NULL;
	struct sov_jq **out = NULL;
	size_t *of = NULL, n = 0;
	int rc = -1;

	for (size_t i = 0; i < set->ntargets; i++)
		n += set->targets[i].type == PR_HTTP &&
		     set->targets[i].u.http.jq_src != NULL;
	if (n == 0)
		return 0;
	src = calloc(n, sizeof(*src));
	where = calloc(n, sizeof(*where));
	out = calloc(n, sizeof(*out));
	of = calloc(n, sizeof(*of));
	if (!src || !where || !out || !of) {
		sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
		goto done;
	}
	n = 0;
	for (size_t i = 0; i < set->ntargets; i++) {
		const struct pr_http *h = &set->targets[i].u.http;

		if (set->targets[i].type != PR_HTTP || h->jq_src == NULL)
			continue;
		src[n] = h->jq_src;
		where[n] = h->jq_where;
		of[n++] = i;
	}
	if (sov_jq_compile_set(src, where, n, jv_invalid(), out, e) < 0)
		goto done;
	for (size_t k = 0; k < n; k++) {
		struct pr_http *h = &set->targets[of[k]].u.http;

		h->jq = out[k];
		free(h->jq_where);
		h->jq_where = NULL;
	}
	rc = 0;
done:
	free(src);
	free(where);
	free(out);
	free(of);
	return rc;
}
