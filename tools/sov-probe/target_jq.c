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
	struct sov_jq_prog **p;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < set->ntargets; i++)
		n += set->targets[i].type == PR_HTTP &&
		     set->targets[i].u.http.cond.src != NULL;
	if (n == 0)
		return 0;
	if ((p = calloc(n, sizeof(*p))) == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
	n = 0;
	for (size_t i = 0; i < set->ntargets; i++)
		if (set->targets[i].type == PR_HTTP &&
		    set->targets[i].u.http.cond.src != NULL)
			p[n++] = &set->targets[i].u.http.cond;
	rc = sov_jq_prog_compile_all(p, n, e);
	free(p);
	return rc;
}
