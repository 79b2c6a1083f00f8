/* query_opts.c - see query_opts.h. */
#include "query_opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "measure.h"
#include "timestamp.h"

int
pr_when(const char *s, int64_t now, int64_t *ms, struct sov_err *e)
{
	int64_t d;

	if (sov_time_parse(s, ms, NULL) == 0)
		return 0;
	if (sov_duration_parse(s, &d, NULL) == 0) {
		*ms = now - d;
		return 0;
	}
	return sov_err_set(e, SOV_EXIT_USAGE,
			   "\"%.64s\": want a time (RFC 3339) or a duration "
			   "back from now (e.g. 24h)",
			   s);
}

struct sov_store *
pr_metrics_open(const char *url, struct sov_err *e)
{
	struct sov_store_url u = {0};
	struct sov_store *st;

	if (url == NULL || *url == '\0')
		url = getenv("SOV_METRICS");
	if (url == NULL || *url == '\0') {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "no measurements store: give --metrics URL or set "
			    "$SOV_METRICS");
		return NULL;
	}
	if (sov_store_url_parse(url, &u, e) < 0)
		return NULL;
	if (u.kind == SOV_STORE_SQLITE && strcmp(u.path, ":memory:") != 0 &&
	    access(u.path, F_OK) != 0) {
		sov_err_sys(e, SOV_EXIT_USAGE, "%s: no such measurements store",
			    u.display);
		sov_store_url_clear(&u);
		return NULL;
	}
	sov_store_url_clear(&u);
	st = sov_store_open(url, e);
	if (st != NULL && sov_metrics_migrate(st, e) < 0) {
		sov_err_prefix(e, "%s: ", sov_store_display(st));
		sov_store_close(st);
		st = NULL;
	}
	return st;
}
