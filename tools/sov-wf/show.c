/*
 * show.c - rows to records (show.h).
 */
#include "show.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "timestamp.h"

const char *const wf_show_time_cols[] = {"created", "started",     "finished",
					 "entered", "updated",     "next_retry",
					 "run_at",  "lease_until", NULL};
const char *const wf_show_json_cols[] = {"input", "output", NULL};

static int
listed(const char *const *cols, const char *k)
{
	for (size_t i = 0; cols[i]; i++)
		if (strcmp(cols[i], k) == 0)
			return 1;
	return 0;
}

jv
wf_show_record(const char *event, jv row)
{
	jv rec = sov_record_new(event);

	jv_object_foreach(row, k, v)
	{
		const char *name = jv_string_value(k);

		if (jv_get_kind(v) == JV_KIND_NULL) {
			jv_free(v);
		} else if (listed(wf_show_time_cols, name) &&
			   jv_get_kind(v) == JV_KIND_NUMBER) {
			char buf[SOV_TIME_RFC3339_LEN];

			sov_time_format((int64_t)jv_number_value(v), buf);
			jv_free(v);
			rec = jv_object_set(rec, jv_copy(k), jv_string(buf));
		} else if (listed(wf_show_json_cols, name) &&
			   jv_get_kind(v) == JV_KIND_STRING) {
			jv p =
			    jv_parse_sized(jv_string_value(v),
					   jv_string_length_bytes(jv_copy(v)));

			if (jv_is_valid(p)) {
				jv_free(v);
				rec = jv_object_set(rec, jv_copy(k), p);
			} else {
				jv_free(p);
				rec = jv_object_set(rec, jv_copy(k), v);
			}
		} else {
			rec = jv_object_set(rec, jv_copy(k), v);
		}
		jv_free(k);
	}
	jv_free(row);
	return rec;
}

int
wf_show_rows(struct sov_store *st, struct sov_jsonl_writer *w,
	     const char *event, const char *sql, jv params, struct sov_err *e)
{
	jv rows = jv_invalid();
	int rc = -1;

	if (sov_store_query(st, sql, params, &rows, e) < 0)
		return -1;
	jv_array_foreach(rows, i, row)
	{
		if (sov_jsonl_write(w, wf_show_record(event, row), e) < 0)
			goto out;
		(void)i;
	}
	rc = 0;
out:
	jv_free(rows);
	return rc;
}

int
wf_show_parse_id(const char *s, long long *id, struct sov_err *e)
{
	char *end;

	errno = 0;
	*id = strtoll(s, &end, 10);
	if (errno || end == s || *end || *id <= 0)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "\"%s\" is not an execution id", s);
	return 0;
}
