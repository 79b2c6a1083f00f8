/* query_opts.h - what query, rollup and page read the same way. */
#ifndef PR_QUERY_OPTS_H
#define PR_QUERY_OPTS_H

#include <stdint.h>

#include "err.h"
#include "store.h"

/* s as RFC 3339, or as a duration back from now ("24h": a day ago). */
int pr_when(const char *s, int64_t now, int64_t *ms, struct sov_err *e);

/*
 * Open the measurements store: url, else $SOV_METRICS; neither is
 * SOV_EXIT_USAGE saying so. A SQLite file that does not exist is refused
 * (SOV_EXIT_USAGE) rather than created empty. The schema is migrated.
 */
struct sov_store *pr_metrics_open(const char *url, struct sov_err *e);

#endif
