/*
 * tap.h - the Test Anything Protocol for the C unit tests, header only.
 *
 *   ok(cond, "what")            one test
 *   is_int(got, want, "what")   with both values shown on failure
 *   is_str(got, want, "what")   NULL-safe
 *   like(got, "needle", "what") substring
 *   skip(n, "why")              n skipped tests, the reason on each line
 *   return done_testing();      prints the plan, exit 1 if anything failed
 *
 * The plan is printed last, so a test program that crashes half way has no
 * plan line and the runner counts it as failed, never as passed.
 */
#ifndef SOV_TAP_H
#define SOV_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static void __attribute__((format(printf, 2, 3), unused))
tap_line(int pass, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!pass)
		tap_failed++;
	printf("%sok %d - ", pass ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

#define ok(cond, ...) tap_line(!!(cond), __VA_ARGS__)

#define diag(...)                                                              \
	do {                                                                   \
		printf("# ");                                                  \
		printf(__VA_ARGS__);                                           \
		printf("\n");                                                  \
	} while (0)

#define is_int(got, want, ...)                                                 \
	do {                                                                   \
		long long tap_g = (long long)(got), tap_w = (long long)(want); \
		tap_line(tap_g == tap_w, __VA_ARGS__);                         \
		if (tap_g != tap_w)                                            \
			diag("  got %lld, want %lld (%s:%d)", tap_g, tap_w,    \
			     __FILE__, __LINE__);                              \
	} while (0)

#define is_str(got, want, ...)                                                 \
	do {                                                                   \
		const char *tap_g = (got), *tap_w = (want);                    \
		int tap_p = (tap_g == NULL && tap_w == NULL) ||                \
			    (tap_g && tap_w && strcmp(tap_g, tap_w) == 0);     \
		tap_line(tap_p, __VA_ARGS__);                                  \
		if (!tap_p)                                                    \
			diag("  got \"%s\", want \"%s\" (%s:%d)",              \
			     tap_g ? tap_g : "(null)",                         \
			     tap_w ? tap_w : "(null)", __FILE__, __LINE__);    \
	} while (0)

#define like(got, needle, ...)                                                 \
	do {                                                                   \
		const char *tap_g = (got), *tap_w = (needle);                  \
		int tap_p = tap_g && tap_w && strstr(tap_g, tap_w) != NULL;    \
		tap_line(tap_p, __VA_ARGS__);                                  \
		if (!tap_p)                                                    \
			diag("  \"%s\" does not contain \"%s\" (%s:%d)",       \
			     tap_g ? tap_g : "(null)", tap_w, __FILE__,        \
			     __LINE__);                                        \
	} while (0)

/* snprintf that a test cannot outgrow unnoticed. */
static void __attribute__((format(printf, 3, 4), unused))
xsnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "xsnprintf: buffer of %zu too small for %s\n",
			size, fmt);
		abort();
	}
}

static void __attribute__((unused)) skip(int n, const char *why)
{
	for (int i = 0; i < n; i++) {
		tap_n++;
		printf("ok %d # skip %s\n", tap_n, why);
	}
	fflush(stdout);
}

static int __attribute__((unused)) done_testing(void)
{
	printf("1..%d\n", tap_n);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

#endif
