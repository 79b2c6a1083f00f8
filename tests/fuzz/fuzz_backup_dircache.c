/*
 * fuzz_backup_dircache.c - libFuzzer target for bk_dircache_parse, which
 * reads the local cache of directories at the start of every backup.
 *
 * The input is a cache file without its MAC; the MAC is computed with a
 * fixed key and appended (random bytes never pass it), so the checks
 * behind it are what is fuzzed. Then:
 *   - a refusal says why;
 *   - what is accepted lies inside the input: the three tables end
 *     exactly where the MAC begins, and the directories are in strictly
 *     increasing order of path hash, as lookups by bsearch need.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dircache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char key[BK_KEY_LEN], *buf;
	struct bk_dircache_file f;
	const char *why = NULL;

	if (size > (1u << 20))
		return 0;
	memset(key, 0x5a, sizeof(key));
	buf = malloc(size + 32);
	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);
	crypto_generichash(buf + size, 32, buf, size, key, sizeof(key));
	if (bk_dircache_parse(key, buf, size + 32, &f, &why) < 0) {
		if (!why || !*why)
			abort();
	} else {
		const unsigned char *end = buf + size;

		if (f.index < buf || f.owners < f.index || f.dirs < f.owners ||
		    f.dirs + f.ndirs * 64 != end ||
		    f.owners + f.nowners * 24 != f.dirs ||
		    f.index + f.nindex * BK_ID_LEN != f.owners)
			abort();
		for (uint64_t i = 1; i < f.ndirs; i++)
			if (memcmp(f.dirs + (i - 1) * 64, f.dirs + i * 64,
				   16) >= 0)
				abort();
	}
	free(buf);
	return 0;
}
