/*
 * test_strhash.c - sov_str_hash is 64-bit FNV-1a: the published test
 * vectors (the three copies it replaced had lost the offset basis's last
 * digit).
 */
#include <inttypes.h>
#include <stdint.h>

#include "strhash.h"
#include "tap.h"

static void
vector(const char *s, uint64_t want)
{
	uint64_t got = sov_str_hash(s);

	ok(got == want, "FNV-1a of \"%s\"", s);
	if (got != want)
		diag("  got %016" PRIx64 ", want %016" PRIx64, got, want);
}

int
main(void)
{
	vector("", 0xcbf29ce484222325ULL);
	vector("a", 0xaf63dc4c8601ec8cULL);
	vector("foobar", 0x85944171f73967e8ULL);
	ok(sov_str_hash("\xff") != sov_str_hash("\x7f"),
	   "bytes are taken unsigned");
	return done_testing();
}
