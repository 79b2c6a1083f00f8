/* http_json.c - JSON requests through jv on top of sov_http_request. */
#include "http.h"
#include "http_int.h"
#include "json_dump.h"
#include "jsonl.h"

#include <stdio.h>
#include <string.h>

/* How much of a body that is not JSON an error message shows. */
#define SOV_HTTP_SNIPPET 100

int
sov_http_json(struct sov_http *h, const char *method, const char *url,
	      const char *const *headers, jv body, long *status, jv *out,
	      struct sov_err *e)
{
	struct sov_http_resp resp;
	const char *all[SOV_HTTP_MAX_REQ_HEADERS + 3];
	const char *const *p;
	char shown[SOV_HTTP_SHOW_URL + 8], snip[SOV_HTTP_SNIPPET * 4 + 8];
	char why[256];
	struct sov_err perr;
	jv dumped = jv_invalid(), parsed;
	const char *data = NULL;
	size_t dlen = 0;
	int rc = -1, n = 0;

	memset(&resp, 0, sizeof(resp));
	if (out != NULL)
		*out = jv_invalid();
	if (status != NULL)
		*status = 0;
	if (out == NULL || status == NULL) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "http: json: missing status or out");
		goto out;
	}
	/* only what sov_http_request will check again, minus the count */
	if (!sov_http_has_header(headers, "accept"))
		all[n++] = "Accept: application/json";
	if (jv_get_kind(body) == JV_KIND_INVALID &&
	    jv_invalid_has_msg(jv_copy(body))) {
		/* a failed jv call upstream, not "no body": say so */
		sov_err_set(e, SOV_EXIT_USAGE,
			    "http: json: the body is an invalid JSON value");
		goto out;
	}
	if (jv_get_kind(body) != JV_KIND_INVALID) {
		dumped = sov_json_dump(jv_copy(body));
		data = jv_string_value(dumped);
		dlen = (size_t)jv_string_length_bytes(jv_copy(dumped));
		if (!sov_http_has_header(headers, "content-type"))
			all[n++] = "Content-Type: application/json";
	}
	for (p = headers; p != NULL && *p != NULL; p++) {
		if (n >= SOV_HTTP_MAX_REQ_HEADERS + 2) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "http: json: more than %d request headers",
				    SOV_HTTP_MAX_REQ_HEADERS);
			goto out;
		}
		all[n++] = *p;
	}
	all[n] = NULL;
	if (sov_http_request(h, method, url, all, data, dlen, &resp, e) < 0) {
		*status = resp.status;
		goto out;
	}
	*status = resp.status;
	if (resp.len == 0) {
		jv_free(*out);
		*out = jv_null();
		rc = 0;
		goto out;
	}
	parsed = sov_json_parse(resp.body, resp.len, &perr);
	if (jv_get_kind(parsed) == JV_KIND_INVALID) {
		snprintf(why, sizeof(why), "%.200s", perr.msg);
		sov_http_show_url(url, shown, sizeof(shown));
		sov_http_show_bytes(
		    resp.body,
		    resp.len < SOV_HTTP_SNIPPET ? resp.len : SOV_HTTP_SNIPPET,
		    snip, sizeof(snip));
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s %s: HTTP %ld: response is not JSON (%s): "
			    "\"%s\"%s",
			    method, shown, resp.status, why, snip,
			    resp.len > SOV_HTTP_SNIPPET ? "..." : "");
		goto out;
	}
	jv_free(*out);
	*out = parsed;
	rc = 0;
out:
	jv_free(body);
	jv_free(dumped);
	sov_http_resp_clear(&resp);
	return rc;
}
