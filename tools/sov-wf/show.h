/*
 * show.h - store rows as JSON-line records for status, history, show,
 * logs, dlq and run: times as RFC 3339, JSON columns parsed, null columns
 * left out.
 */
#ifndef WF_SHOW_H
#define WF_SHOW_H

#include <jv.h>

#include "err.h"
#include "jsonl.h"
#include "registry.h"
#include "store.h"

/* Columns holding ms since the epoch, and columns holding JSON text. */
extern const char *const wf_show_time_cols[];
extern const char *const wf_show_json_cols[];

/* A record {"ts","event", ...row} from a row (consumed). */
jv wf_show_record(const char *event, jv row);

/* Run sql with params (consumed) and write every row as an event record. */
int wf_show_rows(struct sov_store *st, struct sov_jsonl_writer *w,
		 const char *event, const char *sql, jv params,
		 struct sov_err *e);

/* The columns of an execution record, for SELECTs. */
#define WF_SHOW_EXECUTION_COLS                                                 \
	"id AS execution, workflow, status, run, trigger, key, input, "        \
	"output, error, failed_step, created_at AS created, "                  \
	"started_at AS started, finished_at AS finished, seconds, tokens, "    \
	"cost"

/* Parse an execution id argument ("42"). */
int wf_show_parse_id(const char *s, long long *id, struct sov_err *e);

/* The common options of the commands that read the store. */
int wf_cli_definition(const char *dir_opt, const char *name,
		      struct wf_registry *reg, long *idx, struct sov_err *e);

#endif
