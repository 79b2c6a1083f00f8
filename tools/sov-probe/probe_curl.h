/*
 * probe_curl.h - http, tcp and tls targets as libcurl transfers: set one
 * up on an easy handle, judge it when the multi handle says it is done.
 */
#ifndef PR_PROBE_CURL_H
#define PR_PROBE_CURL_H

#include <stddef.h>

#include <curl/curl.h>

#include "result.h"
#include "target.h"

/* What one transfer holds while it runs. */
struct pr_xfer {
	char *body; /* NUL-terminated when not NULL */
	size_t len, cap, max;
	int too_big;
	struct curl_slist *headers;
	struct curl_slist *connect_to;
	char *url; /* tcp, tls */
	char errbuf[CURL_ERROR_SIZE];
};

/* Reset h and set it up for t; x must stay put until the transfer ends.
 * -1 when curl refuses an option or memory runs out. */
int pr_xfer_setup(CURL *h, const struct pr_target *t, struct pr_xfer *x);

/* The result of a finished transfer (done: its CURLcode) into r. */
void pr_xfer_judge(CURL *h, CURLcode done, const struct pr_target *t,
		   struct pr_xfer *x, struct pr_result *r);

void pr_xfer_clear(struct pr_xfer *x);

#endif
