/*
 * cmd_purge.c - `sov-wf purge --older-than DUR`: retention. Executions
 * that ended (succeeded, cancelled, or failed and then discarded from the
 * dead-letter queue) longer ago than DUR are deleted with their steps and
 * attempts, a chunk per transaction so that workers are never held up for
 * long. Nothing in flight and nothing in the dead-letter queue is touched.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulk.h"
#include "cli.h"
#include "db.h"
#include "json_dump.h"
#include "jsonl.h"
#include "timestamp.h"
#include "wf.h"

#define PURGE_CHUNK 1000 /* executions a transaction */

/* The ended statuses: 'failed' is in the DLQ until retried or discarded. */
#define PURGE_WHERE                                                            \
	"status IN ('succeeded', 'cancelled', 'discarded') "                   \
	"AND finished_at < $1"

/* Delete one chunk; *n executions and *attempts rows went. */
static int
purge_chunk(struct sov_store *st, int64_t before, long *n, long *attempts,
	    struct sov_err *e)
{
	jv rows = jv_invalid(), ids = jv_array(), text;
	char sql[512];
	int rc = -1;

	*n = *attempts = 0;
	if (sov_store_begin(st, e) < 0)
		goto out;
	if (sov_store_query(st,
			    "SELECT id FROM wf_executions WHERE " PURGE_WHERE
			    " ORDER BY id LIMIT $2",
			    JV_ARRAY(jv_number((double)before),
				     jv_number(PURGE_CHUNK)),
			    &rows, e) < 0)
		goto out;
	jv_array_foreach(rows, i, row)
	{
		ids = jv_array_append(ids,
				      jv_object_get(row, jv_string("id")));
		(void)i;
	}
	*n = jv_array_length(jv_copy(ids));
	if (*n == 0) {
		rc = sov_store_commit(st, e);
		goto out;
	}
	text = sov_json_dump(jv_copy(ids));
	for (int t = 0; t < 2; t++) {
		snprintf(sql, sizeof(sql),
			 "DELETE FROM %s WHERE execution_id %s",
			 t == 0 ? "wf_attempts" : "wf_steps", wf_bulk_in(st));
		if (sov_store_query(st, sql, JV_ARRAY(jv_copy(text)), NULL,
				    e) < 0) {
			jv_free(text);
			goto out;
		}
		if (t == 0)
			*attempts = sov_store_changes(st);
	}
	/* Checked again: an execution rerun meanwhile is not ended. */
	snprintf(sql, sizeof(sql),
		 "DELETE FROM wf_executions WHERE id %s AND "
		 "status IN ('succeeded', 'cancelled', 'discarded')",
		 wf_bulk_in(st));
	if (sov_store_query(st, sql, JV_ARRAY(text), NULL, e) < 0)
		goto out;
	rc = sov_store_commit(st, e);
out:
	if (rc < 0)
		sov_store_rollback(st, NULL);
	jv_free(rows);
	jv_free(ids);
	return rc;
}

static int
purge_count(struct sov_store *st, int64_t before, long *n, struct sov_err *e)
{
	jv rows = jv_invalid();

	if (sov_store_query(st,
			    "SELECT count(*) AS n FROM wf_executions WHERE "
			    PURGE_WHERE,
			    JV_ARRAY(jv_number((double)before)), &rows, e) < 0)
		return -1;
	*n = 0;
	if (jv_array_length(jv_copy(rows)) == 1) {
		jv row = jv_array_get(jv_copy(rows), 0),
		   v = jv_object_get(row, jv_string("n"));

		if (jv_get_kind(v) == JV_KIND_NUMBER)
			*n = (long)jv_number_value(v);
		jv_free(v);
	}
	jv_free(rows);
	return 0;
}

int
wf_cmd_purge(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"store", required_argument, NULL, 's'},
	    {"older-than", required_argument, NULL, 'o'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0}};
	const char *store = NULL;
	struct sov_store *st = NULL;
	struct sov_err e = {0};
	int64_t age = -1, before;
	long n = 0, total = 0, attempts = 0, a;
	int c, dry = 0, rc = -1;
	char ts[SOV_TIME_RFC3339_LEN];
	jv rec;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 's') {
			store = optarg;
		} else if (c == 'o') {
			if (sov_duration_parse(optarg, &age, &e) < 0)
				return sov_cli_usage_error("--older-than: %s",
							   e.msg);
		} else if (c == 'n') {
			dry = 1;
		} else {
			return sov_cli_usage_error("bad option");
		}
	}
	if (optind != argc)
		return sov_cli_usage_error("purge takes no arguments");
	if (age < 0)
		return sov_cli_usage_error(
		    "purge needs --older-than DURATION (e.g. 30d)");
	before = sov_time_now_ms() - age;
	if (!(st = wf_db_open(store, &e)))
		return sov_cli_fail(&e);
	if (dry) {
		rc = purge_count(st, before, &total, &e);
	} else {
		do {
			rc = purge_chunk(st, before, &n, &a, &e);
			total += n;
			attempts += a;
		} while (rc == 0 && n == PURGE_CHUNK);
	}
	sov_store_close(st);
	if (rc < 0) {
		/* What went before this chunk is gone for good: say so. */
		if (total > 0)
			sov_err_prefix(&e, "after purging %ld executions: ",
				       total);
		return sov_cli_fail(&e);
	}
	rec = sov_record_new("purge");
	rec = jv_object_set(rec, jv_string("executions"),
			    jv_number((double)total));
	if (!dry)
		rec = jv_object_set(rec, jv_string("attempts"),
				    jv_number((double)attempts));
	sov_time_format(before, ts);
	rec = jv_object_set(rec, jv_string("before"), jv_string(ts));
	rec = jv_object_set(rec, jv_string("dry_run"), jv_bool(dry));
	rec = sov_json_dump(rec);
	printf("%s\n", jv_string_value(rec));
	jv_free(rec);
	return fflush(stdout) == 0 ? SOV_EXIT_OK : SOV_EXIT_FAIL;
}
