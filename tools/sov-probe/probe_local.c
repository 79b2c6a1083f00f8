/*
 * probe_local.c - disk, sqlite and postgres targets: free space and inodes
 * of a mount, a SQLite file's quick_check, a query on a PostgreSQL server.
 */
#include "probe_blocking.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <sqlite3.h>

#include "engine.h"
#include "fs.h"
#include "store.h"
#include "timestamp.h"

#define URL_FILE_MAX 4096

static double
percent(double part, double whole)
{
	return whole > 0 ? round(part / whole * 1e5) / 1e3 : NAN;
}

void
pr_probe_disk(const struct pr_target *t, struct pr_result *r)
{
	const struct pr_disk *d = &t->u.disk;
	struct statvfs sv;
	double free_pct, free_bytes, inodes_pct = NAN;

	if (statvfs(d->path, &sv) < 0) {
		pr_result_fail(r, "%s: %s", d->path, strerror(errno));
		return;
	}
	free_bytes = (double)sv.f_bavail * (double)sv.f_frsize;
	free_pct = percent((double)sv.f_bavail, (double)sv.f_blocks);
	if (sv.f_files > 0) /* btrfs and others report none */
		inodes_pct = percent((double)sv.f_favail, (double)sv.f_files);
	pr_result_set(r, "free_bytes", jv_number(free_bytes));
	if (isfinite(free_pct))
		pr_result_set(r, "free_percent", jv_number(free_pct));
	if (isfinite(inodes_pct))
		pr_result_set(r, "inodes_free_percent", jv_number(inodes_pct));
	if (d->min_free_percent >= 0 && isfinite(free_pct) &&
	    free_pct < d->min_free_percent)
		pr_result_fail(r, "%s: %.1f%% free, below %g%%", d->path,
			       free_pct, d->min_free_percent);
	if (d->min_free_bytes >= 0 && free_bytes < d->min_free_bytes)
		pr_result_fail(r, "%s: %.0f MiB free, below %.0f MiB", d->path,
			       free_bytes / 1048576, d->min_free_bytes / 1048576);
	if (d->min_inodes_percent >= 0 && isfinite(inodes_pct) &&
	    inodes_pct < d->min_inodes_percent)
		pr_result_fail(r, "%s: %.1f%% of inodes free, below %g%%",
			       d->path, inodes_pct, d->min_inodes_percent);
}

/* quick_check stops at the deadline instead of reading a huge file. */
static int
past_deadline(void *arg)
{
	return sov_time_mono_ms() > *(const int64_t *)arg;
}

void
pr_probe_sqlite(const struct pr_target *t, struct pr_result *r)
{
	int64_t deadline = sov_time_mono_ms() + t->timeout_ms;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	/* read-only, and never created: a missing file is a failure */
	rc = sqlite3_open_v2(t->u.db.url, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		pr_result_fail(r, "%s: %s", t->u.db.url,
			       db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_busy_timeout(db, (int)t->timeout_ms);
	sqlite3_progress_handler(db, 1000, past_deadline, &deadline);
	rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_INTERRUPT) {
		pr_result_fail(r, "%s: quick_check did not finish in %lld ms",
			       t->u.db.url, (long long)t->timeout_ms);
	} else if (rc != SQLITE_ROW) {
		pr_result_fail(r, "%s: %s", t->u.db.url, sqlite3_errmsg(db));
	} else {
		const char *msg = (const char *)sqlite3_column_text(st, 0);

		pr_result_set(r, "check", jv_string(msg ? msg : ""));
		if (msg == NULL || strcmp(msg, "ok") != 0)
			pr_result_fail(r, "%s: quick_check: %s", t->u.db.url,
				       msg ? msg : "no answer");
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* The URL, from the target or its file, with our timeouts unless it sets
 * its own. Caller frees. */
static char *
pg_url(const struct pr_target *t, struct pr_result *r)
{
	const struct pr_db *d = &t->u.db;
	char *text = NULL, *url = NULL;
	size_t len = 0;
	struct sov_err e = {0};
	long secs = (long)((t->timeout_ms + 999) / 1000);

	if (d->url_file) {
		if (sov_file_read(d->url_file, URL_FILE_MAX, &text, &len, &e) <
		    0) {
			pr_result_fail(r, "%s", e.msg);
			return NULL;
		}
		while (len > 0 && (text[len - 1] == '\n' ||
				   text[len - 1] == '\r' || text[len - 1] == ' '))
			text[--len] = '\0';
	}
	if (asprintf(&url, "%s%sconnect_timeout=%ld&options=-c%%20"
			   "statement_timeout%%3D%lld",
		     text ? text : d->url,
		     strchr(text ? text : d->url, '?') ? "&" : "?",
		     secs < 2 ? 2 : secs, (long long)t->timeout_ms) < 0) {
		url = NULL;
		pr_result_fail(r, "out of memory");
	}
	if (text)
		memset(text, 0, len); /* it may hold a password */
	free(text);
	return url;
}

void
pr_probe_postgres(const struct pr_target *t, struct pr_result *r)
{
	struct sov_err e = {0};
	struct sov_store *st = NULL;
	char *url = pg_url(t, r);
	jv rows = jv_invalid();

	if (url == NULL)
		return;
	st = sov_store_open(url, &e);
	if (st == NULL) {
		pr_result_fail(r, "%s", e.msg);
		goto out;
	}
	if (sov_store_query(st, t->u.db.query, jv_array(), &rows, &e) < 0) {
		pr_result_fail(r, "%s", e.msg);
		goto out;
	}
	pr_result_set(r, "rows", jv_number(jv_array_length(jv_copy(rows))));
	if (t->u.db.jq) {
		int truth = 0;

		if (pr_jq_test(t, t->u.db.jq, jv_copy(rows), &truth, &e) < 0)
			pr_result_fail(r, "jq: %s", e.msg);
		else if (!truth)
			pr_result_fail(r, "the rows do not pass %s",
				       t->u.db.jq_src);
	}
out:
	jv_free(rows);
	sov_store_close(st);
	memset(url, 0, strlen(url));
	free(url);
}
