/*
 * json_dump.h - a jv value as compact JSON text, fast.
 *
 * The same JSON as jq's jv_dump_string(v, 0) means (keys in the object's
 * order, NaN as null, infinities as the largest double), in a tenth of its
 * time: jq 1.6 appends a string's escaped text a character at a time, and
 * a worker that writes three measurement records per execution spent 40%
 * of its time there.
 */
#ifndef SOV_JSON_DUMP_H
#define SOV_JSON_DUMP_H

#include <stddef.h>

#include <jv.h>

/*
 * v (consumed) as a JSON string value, as jv_dump_string(v, 0) gives it;
 * what this dumper cannot do (no memory, nesting past 10000) is left to
 * that function.
 */
jv sov_json_dump(jv v);

/*
 * v (consumed) as JSON text in *out (malloc'd, NUL-terminated), its length
 * in *len; -1 when out of memory or v is invalid (*out NULL).
 */
int sov_json_dump_text(jv v, char **out, size_t *len);

/*
 * The same with every object's keys in jq's sorted order, as
 * jv_dump_string(v, JV_PRINT_SORTED) gives them: the canonical text that
 * sov-backup hashes for a tree.
 */
int sov_json_dump_text_sorted(jv v, char **out, size_t *len);

/*
 * d as a JSON number into buf (NUL-terminated), as the dumpers print it:
 * an integer without a fraction, else the shortest of 15 to 17 digits
 * that reads back the same; NaN as null. Returns the length, -1 if it
 * does not fit.
 */
#define SOV_JSON_NUMBER_MAX 40
int sov_json_number(double d, char buf[SOV_JSON_NUMBER_MAX]);

#endif
