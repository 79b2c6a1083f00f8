/*
 * fuzz_jqbatch.c - libFuzzer target for lib/jqbatch.c: the scanner that
 * decides a jq program may share a compile with others reads any bytes
 * without a fault, and a program it lets in gets the same answer from a
 * batch as from a compile of its own.
 *
 * The program is put between two good ones so that the three compile
 * together (one or two are compiled alone). A compile takes tens of
 * milliseconds, so only short inputs are compared. libjq 1.6's parser
 * leaks on some syntax errors (see fuzz_wf_def.c): leak checking is off
 * while jq compiles.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/lsan_interface.h>

#include "jqbatch.h"
#include "jqprog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SCAN_MAX 4096
#define COMPILE_MAX 256

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *src;
	const char *three[3];
	unsigned char bad[3];
	struct sov_err e = {0};
	struct sov_jq *q;

	if (size > SCAN_MAX || memchr(data, '\0', size) != NULL)
		return 0;
	if ((src = malloc(size + 1)) == NULL)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';
	if (!sov_jq_self_contained(src) || size > COMPILE_MAX) {
		free(src);
		return 0;
	}
	three[0] = ".a";
	three[1] = src;
	three[2] = "[.[] | . + 1]";
	__lsan_disable();
	if (sov_jq_check_many(three, 3, jv_invalid(), bad, &e) < 0)
		__builtin_trap(); /* only out of memory */
	q = sov_jq_compile(src, NULL, jv_invalid(), &e);
	__lsan_enable();
	if (bad[0] || bad[2] || bad[1] != (q == NULL))
		__builtin_trap();
	sov_jq_free(q);
	free(src);
	return 0;
}
