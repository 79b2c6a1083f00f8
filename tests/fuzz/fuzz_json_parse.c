/*
 * fuzz_json_parse.c - libFuzzer target for sov_json_parse, the one door for
 * JSON text from outside (HTTP bodies, records): any bytes give a value or a
 * clear error, never a crash or a leak; and what it accepts, printed (by
 * jq's printer and by sov_json_dump) and parsed again, is the same value.
 */
#include <stdint.h>
#include <string.h>

#include "json_dump.h"
#include "jsonl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* text (consumed) must parse back as v (borrowed). */
static void
reads_back(jv v, jv text)
{
	struct sov_err e;
	jv again =
	    sov_json_parse(jv_string_value(text),
			   (size_t)jv_string_length_bytes(jv_copy(text)), &e);

	if (!jv_is_valid(again) || !jv_equal(jv_copy(v), jv_copy(again)))
		__builtin_trap();
	jv_free(again);
	jv_free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sov_err e;
	jv v = sov_json_parse((const char *)data, size, &e);

	if (!jv_is_valid(v)) {
		if (e.code != SOV_EXIT_USAGE || e.msg[0] == '\0')
			__builtin_trap();
		jv_free(v);
		return 0;
	}
	reads_back(v, jv_dump_string(jv_copy(v), 0));
	reads_back(v, sov_json_dump(jv_copy(v)));
	jv_free(v);
	return 0;
}
