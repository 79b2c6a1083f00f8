/*
 * strhash.c - FNV-1a over a NUL-terminated string (strhash.h).
 */
#include "strhash.h"

uint64_t
sov_str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* the offset basis */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL; /* the prime */
	return h;
}
