/*
 * db.h - sov-wf's schema in the store (docs/wf-store.md describes it): the
 * definitions executions ran with, executions, their steps (which are also
 * the queue), every attempt, and the one dead-letter queue.
 *
 * Times are integers, ms since the epoch (wall clock: workers on several
 * hosts compare lease times, so their clocks must agree to well under a
 * lease, which NTP gives). JSON values are TEXT on both engines and parsed
 * by the tool, so the two engines read back the same bytes.
 */
#ifndef WF_DB_H
#define WF_DB_H

#include "err.h"
#include "store.h"

#define WF_DB_SCHEMA "sov.wf"
#define WF_DB_ENV "SOV_WF_STORE"

/*
 * The store named by url, else $SOV_WF_STORE, else sqlite:STATE/wf.db
 * (lib/fs.h's state directory, created): opened and migrated. NULL on
 * error.
 */
struct sov_store *wf_db_open(const char *url, struct sov_err *e);

/* Create or migrate the schema in an open store. */
int wf_db_migrate(struct sov_store *st, struct sov_err *e);

#endif
