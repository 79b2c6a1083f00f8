/*
 * row.c - store row columns (row.h).
 */
#include "row.h"

#include <stdio.h>
#include <string.h>

double
wf_row_num(jv row, const char *k, double dflt)
{
	jv v = jv_object_get(jv_copy(row), jv_string(k));
	double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : dflt;

	jv_free(v);
	return d;
}

double
wf_row_first_num(jv rows, const char *k, double dflt)
{
	jv row;
	double d;

	if (jv_array_length(jv_copy(rows)) < 1)
		return dflt;
	row = jv_array_get(jv_copy(rows), 0);
	d = wf_row_num(row, k, dflt);
	jv_free(row);
	return d;
}

void
wf_row_text(jv row, const char *k, char *buf, size_t size)
{
	jv v = jv_object_get(jv_copy(row), jv_string(k));

	buf[0] = 0;
	if (jv_get_kind(v) == JV_KIND_STRING)
		snprintf(buf, size, "%s", jv_string_value(v));
	jv_free(v);
}

int
wf_row_is(jv row, const char *k, const char *s)
{
	jv v = jv_object_get(jv_copy(row), jv_string(k));
	int r = jv_get_kind(v) == JV_KIND_STRING &&
		strcmp(jv_string_value(v), s) == 0;

	jv_free(v);
	return r;
}

jv
wf_row_json(jv row, const char *k)
{
	jv v = jv_object_get(jv_copy(row), jv_string(k));
	jv out;

	if (jv_get_kind(v) != JV_KIND_STRING) {
		jv_free(v);
		return jv_null();
	}
	out = jv_parse_sized(jv_string_value(v),
			     jv_string_length_bytes(jv_copy(v)));
	jv_free(v);
	if (!jv_is_valid(out)) {
		jv_free(out);
		return jv_null();
	}
	return out;
}
