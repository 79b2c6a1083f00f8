/*
 * http_text.c - the text work of the HTTP client: checking the caller's
 * request headers into a curl list, and rendering URLs and bytes for error
 * messages without leaking a password or a control byte.
 */
#include "http.h"
#include "http_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/*
 * A URL for a message: control bytes escaped, a userinfo password masked,
 * cut at SOV_HTTP_SHOW_URL. Never fails.
 */
void
sov_http_show_url(const char *url, char *out, size_t size)
{
	const char *p = strstr(url, "://"), *auth_end, *at = NULL;
	const char *pw = NULL, *q;
	size_t o = 0;
	int masked = 0;

	if (p != NULL) {
		p += 3;
		auth_end = p + strcspn(p, "/?#");
		for (q = p; q < auth_end; q++)
			if (*q == '@')
				at = q;
		if (at != NULL)
			pw = memchr(p, ':', (size_t)(at - p));
	}
	for (q = url; *q != '\0' && o + 8 < size; q++) {
		unsigned char c = (unsigned char)*q;

		if (pw != NULL && q == pw + 1 && !masked) {
			memcpy(out + o, "***", 3);
			o += 3;
			masked = 1;
			q = at - 1;
			continue;
		}
		if (c < 0x20 || c >= 0x7f) {
			snprintf(out + o, size - o, "%%%02X", c);
			o += 3;
		} else {
			out[o++] = (char)c;
		}
	}
	if (*q != '\0')
		memcpy(out + o, "...", 4);
	else
		out[o] = '\0';
}

/* Bytes for a message: printable ASCII kept, the rest as \xNN. */
void
sov_http_show_bytes(const char *s, size_t n, char *out, size_t size)
{
	size_t o = 0, i;

	for (i = 0; i < n && o + 8 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(out + o, size - o, "\\x%02x", c);
			o += 4;
		} else {
			out[o++] = (char)c;
		}
	}
	if (i < n)
		memcpy(out + o, "...", 4);
	else
		out[o] = '\0';
}

/* Is there a header "name: ..." in the list (name without the colon)? */
int
sov_http_has_header(const char *const *headers, const char *name)
{
	size_t n = strlen(name);

	for (; headers != NULL && *headers != NULL; headers++)
		if (strncasecmp(*headers, name, n) == 0 && (*headers)[n] == ':')
			return 1;
	return 0;
}

/* Check the caller's headers and build curl's list (ours first). */
int
sov_http_build_headers(const char *const *headers, int has_body,
		       struct curl_slist **out, const char *what,
		       struct sov_err *e)
{
	struct curl_slist *list = NULL, *l;
	const char *const *p;
	int n = 0, rc = -1;

	for (p = headers; p != NULL && *p != NULL; p++) {
		const char *c = strchr(*p, ':');

		if (++n > SOV_HTTP_MAX_REQ_HEADERS) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "%s: more than %d request headers", what,
				    SOV_HTTP_MAX_REQ_HEADERS);
			goto out;
		}
		if (c == NULL || c == *p ||
		    strnlen(*p, SOV_HTTP_MAX_HEADER_LINE + 1) >
			SOV_HTTP_MAX_HEADER_LINE ||
		    strpbrk(*p, "\r\n") != NULL ||
		    strcspn(*p, " \t") < (size_t)(c - *p)) {
			/* the name only: the value may be a secret */
			sov_err_set(
			    e, SOV_EXIT_USAGE,
			    "%s: request header %d: not \"Name: value\" "
			    "on one line of at most %d bytes",
			    what, n, SOV_HTTP_MAX_HEADER_LINE);
			goto out;
		}
	}
	/* no "Expect: 100-continue" stall; no invented form Content-Type */
	if (!sov_http_has_header(headers, "expect")) {
		if ((l = curl_slist_append(list, "Expect:")) == NULL)
			goto oom;
		list = l;
	}
	if (has_body && !sov_http_has_header(headers, "content-type")) {
		if ((l = curl_slist_append(list, "Content-Type:")) == NULL)
			goto oom;
		list = l;
	}
	for (p = headers; p != NULL && *p != NULL; p++) {
		if ((l = curl_slist_append(list, *p)) == NULL)
			goto oom;
		list = l;
	}
	*out = list;
	list = NULL;
	rc = 0;
	goto out;
oom:
	sov_err_set(e, SOV_EXIT_FAIL, "%s: out of memory for headers", what);
out:
	curl_slist_free_all(list);
	return rc;
}
