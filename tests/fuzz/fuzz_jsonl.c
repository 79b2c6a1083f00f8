/*
 * fuzz_jsonl.c - libFuzzer target for the JSON-lines reader: any bytes, any
 * line cap, must give records or clear errors, never a crash or a leak.
 * The first byte picks the cap and flags so short caps are explored too.
 */
#include <stdint.h>
#include <stdio.h>

#include "jsonl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sov_jsonl_reader *r;
	struct sov_err e;
	size_t cap;
	int flags, rc, guard = 0;
	FILE *f;
	jv v;

	if (size < 1)
		return 0;
	cap = (data[0] & 0x7f) ? (size_t)(data[0] & 0x7f) * 8 : 0;
	flags = (data[0] & 0x80) ? SOV_JSONL_OBJECTS : 0;
	f = fmemopen((void *)(data + 1), size - 1 ? size - 1 : 1, "r");
	if (f == NULL)
		return 0;
	r = sov_jsonl_reader_new(f, "fuzz", cap, flags);
	while (r != NULL && (rc = sov_jsonl_read(r, &v, &e)) != 0 &&
	       guard++ < 100000) {
		if (rc > 0) {
			jv s = jv_dump_string(v, 0);

			/* what we accept must be valid UTF-8 when printed */
			if (sov_utf8_check(jv_string_value(s),
					   (size_t)jv_string_length_bytes(
					       jv_copy(s))) >= 0)
				__builtin_trap();
			jv_free(s);
		} else if (e.code != SOV_EXIT_USAGE) {
			break;
		}
	}
	sov_jsonl_reader_free(r);
	fclose(f);
	return 0;
}
