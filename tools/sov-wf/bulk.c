/*
 * bulk.c - SQL that unpacks a JSON array parameter into rows (bulk.h).
 */
#include "bulk.h"
#include "json_dump.h"

#include <stdio.h>
#include <string.h>

const char *
wf_bulk_in(const struct sov_store *st)
{
	return sov_store_kind(st) == SOV_STORE_POSTGRES
		   ? "= ANY(ARRAY(SELECT json_array_elements_text($1::json)"
		     "::bigint))"
		   : "IN (SELECT value FROM json_each($1))";
}

int
wf_bulk_rows(const struct sov_store *st, const char *cols, char *buf,
	     size_t size)
{
	size_t len;
	int n;

	if (sov_store_kind(st) == SOV_STORE_POSTGRES) {
		n = snprintf(buf, size, "json_to_recordset($1::json) AS v(%s)",
			     cols);
		return n < 0 || (size_t)n >= size ? -1 : 0;
	}
	/* SQLite: one json_extract per column, by the column's name. */
	n = snprintf(buf, size, "(SELECT ");
	if (n < 0 || (size_t)n >= size)
		return -1;
	len = (size_t)n;
	for (const char *p = cols; *p;) {
		size_t name = strcspn(p, " ,");
		size_t item = strcspn(p, ",");

		n = snprintf(buf + len, size - len,
			     "%sjson_extract(value, '$.%.*s') AS %.*s",
			     p == cols ? "" : ", ", (int)name, p, (int)name,
			     p);
		if (n < 0 || (size_t)n >= size - len)
			return -1;
		len += (size_t)n;
		p += item;
		p += strspn(p, ", ");
	}
	n = snprintf(buf + len, size - len, " FROM json_each($1)) AS v");
	return n < 0 || (size_t)n >= size - len ? -1 : 0;
}

/* PostgreSQL: the ids of a bulk statement's rows, as wf_bulk_in's. */
#define BULK_WHERE " WHERE "
#define BULK_KEYS                                                              \
	" = ANY(ARRAY(SELECT (r->>'e')::bigint "                               \
	"FROM json_array_elements($1::json) AS r)) AND "

int
wf_bulk_query(struct sov_store *st, const char *head, const char *cols,
	      const char *tail, const char *key, jv values, jv params, jv *rows,
	      struct sov_err *e)
{
	char from[WF_BULK_SQL_MAX], sql[WF_BULK_SQL_MAX * 3];
	int n;

	if (jv_array_length(jv_copy(values)) == 0) {
		/* No rows: nothing to run. */
		jv_free(values);
		jv_free(params);
		if (rows)
			*rows = jv_array();
		return 0;
	}
	if (wf_bulk_rows(st, cols, from, sizeof(from)) < 0)
		goto long_sql;
	if (key && sov_store_kind(st) == SOV_STORE_POSTGRES) {
		if (strncmp(tail, BULK_WHERE, strlen(BULK_WHERE)) != 0) {
			jv_free(values);
			jv_free(params);
			return sov_err_set(
			    e, SOV_EXIT_FAIL,
			    "bulk statement: a key without WHERE");
		}
		n = snprintf(sql, sizeof(sql), "%s%s%s%s%s%s", head, from,
			     BULK_WHERE, key, BULK_KEYS,
			     tail + strlen(BULK_WHERE));
	} else
		n = snprintf(sql, sizeof(sql), "%s%s%s", head, from, tail);
	if (n < 0 || (size_t)n >= sizeof(sql))
		goto long_sql;
	return sov_store_query(
	    st, sql, jv_array_concat(JV_ARRAY(sov_json_dump(values)), params),
	    rows, e);
long_sql:
	jv_free(values);
	jv_free(params);
	return sov_err_set(e, SOV_EXIT_FAIL, "statement too long");
}
