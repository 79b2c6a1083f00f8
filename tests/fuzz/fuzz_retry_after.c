/*
 * fuzz_retry_after.c - sov_http_parse_retry_after on arbitrary bytes: it
 * must never crash, and must answer -1 or a wait in [0, the cap].
 */
#include "http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Wed, 21 Oct 2015 07:28:00 GMT: dates near it give small waits */
	const long long now_ms = 1445412480LL * 1000;
	char *s = malloc(size + 1);
	long r;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	r = sov_http_parse_retry_after(s, now_ms);
	if (r != -1 && (r < 0 || r > SOV_HTTP_RETRY_AFTER_CAP_MS))
		abort();
	/* the clock's extremes must not overflow either */
	r = sov_http_parse_retry_after(s, -9000000000000000000LL);
	if (r != -1 && (r < 0 || r > SOV_HTTP_RETRY_AFTER_CAP_MS))
		abort();
	r = sov_http_parse_retry_after(s, 9000000000000000000LL);
	if (r != -1 && (r < 0 || r > SOV_HTTP_RETRY_AFTER_CAP_MS))
		abort();
	free(s);
	return 0;
}
