/*
 * http_int.h - what the files of the HTTP client (http*.c) share. Not for
 * tools: they include http.h.
 */
#ifndef SOV_HTTP_INT_H
#define SOV_HTTP_INT_H

#include <stddef.h>

#include <curl/curl.h>

#include "err.h"

/* sov-wf allows 64 headers in a definition and adds up to three of its own */
#define SOV_HTTP_MAX_REQ_HEADERS 72
#define SOV_HTTP_MAX_HEADER_LINE 8192
#define SOV_HTTP_SHOW_URL 512 /* how much of a URL a message shows */

/* http_retry.c: would a retry mend it? safe: idempotent or retry_unsafe. */
int sov_http_status_retryable(long status, int safe);
int sov_http_curl_retryable(CURLcode cc);
int sov_http_method_safe(const char *method);
void sov_http_sleep_ms(long ms); /* restarts on EINTR */

/*
 * http_text.c. show_url: control bytes as %XX, a userinfo password as ***,
 * cut with "..."; out needs SOV_HTTP_SHOW_URL + 8 bytes. show_bytes: as a
 * C string body, non-printables as \xNN, cut with "..." to fit size.
 */
void sov_http_show_url(const char *url, char *out, size_t size);
void sov_http_show_bytes(const char *s, size_t n, char *out, size_t size);
int sov_http_has_header(const char *const *headers, const char *name);

/*
 * Check the caller's "Name: value" lines (count, length, no line breaks)
 * and build curl's list with ours first: "Expect:" and, when a body is
 * sent without one, an empty Content-Type that stops curl's form default.
 * what prefixes error messages ("GET URL"); header values never appear.
 */
int sov_http_build_headers(const char *const *headers, int sends_body,
			   struct curl_slist **out, const char *what,
			   struct sov_err *e);

#endif
