/*
 * bulk.h - one statement for many rows: a batch's values travel as one
 * JSON parameter, $1, that the SQL unpacks (json_each on SQLite,
 * json_to_recordset on PostgreSQL). The statement text stays the same
 * whatever the batch's size, so it is prepared once (lib/store_pg.c).
 */
#ifndef WF_BULK_H
#define WF_BULK_H

#include <stddef.h>

#include <jv.h>

#include "err.h"
#include "store.h"

#define WF_BULK_SQL_MAX 2048

/*
 * The test "is in the JSON array of integers in $1", for "id %s":
 * "IN (SELECT ...)" on SQLite, "= ANY(ARRAY(SELECT ...))" on PostgreSQL.
 * PostgreSQL takes a set-returning function for 100 rows whatever the
 * batch, so "IN (SELECT ...)" made it read the whole table once it held
 * a few thousand executions (a hash join: about 2 ms a statement at
 * 10,000 rows, about half of the statements' time); an array of unknown
 * length it takes for 10 elements, which leads it to the index.
 */
const char *wf_bulk_in(const struct sov_store *st);

/*
 * The FROM item "<rows> AS v": the JSON array of objects in $1 as rows of
 * cols ("e BIGINT, step TEXT, ..."; a TEXT column takes a JSON string,
 * whose text it gets). -1 when it does not fit size.
 */
int wf_bulk_rows(const struct sov_store *st, const char *cols, char *buf,
		 size_t size);

/*
 * Run head, the rows of cols (wf_bulk_rows), then tail, as one statement,
 * with $1 = the dump of values (consumed) and params after it (consumed).
 * rows as sov_store_query's. An empty values runs nothing.
 *
 * key, when not NULL, is the column of the table the statement changes
 * that the rows' "e" (a BIGINT column of cols) names, and tail starts
 * with " WHERE ": on PostgreSQL the WHERE then first limits key to the
 * rows' ids (wf_bulk_in's array), so that the table is reached through
 * its index rather than read whole for a hash join.
 */
int wf_bulk_query(struct sov_store *st, const char *head, const char *cols,
		  const char *tail, const char *key, jv values, jv params,
		  jv *rows, struct sov_err *e);

#endif
