/*
 * fuzz_store_url.c - libFuzzer target for sov_store_url_parse: any bytes
 * either parse or fail with code 2 (or 1, out of memory) and a message;
 * a parsed URL has a display with no control characters and hides the
 * password libpq would use (see password_hidden). No connection is made.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The password libpq reads from url (malloc'ed), or NULL. */
static char *
libpq_password(const char *url)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL), *o;
	char *pw = NULL;

	for (o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
			pw = strdup(o->val);
	PQconninfoFree(opts);
	return pw;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/*
 * With P the password libpq reads from url: "***" marks where it was;
 * libpq reading the display does not find P again; and where nothing is
 * percent-encoded and P occurs once in url (so that occurrence is the
 * password itself) P is not in the display. P with a '*' could straddle
 * the "***" and is left to the first two checks.
 */
static int
password_hidden(const char *url, const char *display)
{
	char *pw = libpq_password(url), *again;
	int ok = 1;

	if (pw == NULL || pw[0] == '\0') {
		free(pw);
		return 1;
	}
	if (strstr(display, "***") == NULL)
		ok = 0;
	again = libpq_password(display);
	/* A password under 4 bytes is hidden where it stands, not wherever
	 * else its text appears (store_url.c's mark_value). */
	if (again != NULL && strcmp(pw, "***") != 0 && strlen(pw) >= 4 &&
	    strcmp(again, pw) == 0)
		ok = 0;
	if (strchr(url, '%') == NULL && strchr(pw, '*') == NULL &&
	    count(url, pw) == 1 && strstr(display, pw) != NULL)
		ok = 0;
	free(again);
	free(pw);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sov_store_url u;
	struct sov_err e = {0};
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (sov_store_url_parse(s, &u, &e) < 0) {
		if (e.code != SOV_EXIT_USAGE && e.code != SOV_EXIT_FAIL)
			abort();
		if (e.msg[0] == '\0' || u.display != NULL)
			abort();
		free(s);
		return 0;
	}
	if (u.display == NULL)
		abort();
	for (const char *p = u.display; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
	if (u.kind == SOV_STORE_SQLITE) {
		if (u.path == NULL || u.path[0] == '\0' || u.conninfo != NULL)
			abort();
	} else if (u.kind == SOV_STORE_POSTGRES) {
		if (u.conninfo == NULL || strcmp(u.conninfo, s) != 0)
			abort();
		if (!password_hidden(s, u.display))
			abort();
	} else {
		abort();
	}
	sov_store_url_clear(&u);
	free(s);
	return 0;
}
