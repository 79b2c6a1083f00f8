/*
 * cmd_enqueue.c - `sov-wf enqueue NAME`: one execution per JSON line on
 * stdin, the pipe entry point; and `sov-wf run NAME`: one execution, run
 * here (with any other workers) and waited for.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "db.h"
#include "jsonl.h"
#include "queue.h"
#include "registry.h"
#include "show.h"
#include "timestamp.h"
#include "wf.h"
#include "worker.h"

#define WF_ENQUEUE_BATCH 1000     /* lines per transaction at most */
#define WF_ENQUEUE_RETRY_MS 60000 /* how long a busy store is waited for */

/* The definition called name in the workflows directory. */
int
wf_cli_definition(const char *dir_opt, const char *name,
		  struct wf_registry *reg, long *idx, struct sov_err *e)
{
	char dir[PATH_MAX];

	if (wf_registry_dir(dir_opt, dir, sizeof(dir), e) < 0 ||
	    wf_registry_load(dir, WF_DEF_NO_COMPILE, reg, e) < 0)
		return -1;
	*idx = wf_registry_find(reg, name);
	if (*idx < 0) {
		wf_registry_clear(reg);
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "no workflow \"%s\" in %s", name, dir);
	}
	return 0;
}

static int
has_enqueue(const struct wf_def *d)
{
	for (size_t i = 0; i < d->n_triggers; i++)
		if (d->triggers[i].kind == WF_TRIGGER_ENQUEUE)
			return 1;
	return 0;
}

/* Whether no line is ready: time to commit what is pending rather than
 * hold the store's write lock while the writer thinks. */
static int
input_idle(const struct sov_jsonl_reader *r, FILE *f)
{
	struct pollfd p = {.fd = fileno(f), .events = POLLIN};

	if (sov_jsonl_reader_buffered(r))
		return 0;
	return poll(&p, 1, 0) == 0;
}

struct pending {
	jv inputs[WF_ENQUEUE_BATCH];
	jv keys[WF_ENQUEUE_BATCH];
	size_t n;
};

/* The pending executions in one transaction (left open on error). */
static int
insert_pending(struct sov_store *st, const struct wf_def *d, const char *id,
	       const struct pending *p, long long *ids, int *dups,
	       struct sov_err *e)
{
	if (sov_store_begin(st, e) < 0 || wf_registry_put(st, d, id, e) < 0)
		return -1;
	for (size_t i = 0; i < p->n; i++)
		if (wf_queue_enqueue(st, d, id, jv_copy(p->inputs[i]),
				     jv_get_kind(p->keys[i]) == JV_KIND_STRING
					 ? jv_string_value(p->keys[i])
					 : NULL,
				     "enqueue", &ids[i], &dups[i], e) < 0)
			return -1;
	return sov_store_commit(st, e);
}

static int
commit_pending(struct sov_store *st, const struct wf_def *d, const char *id,
	       struct pending *p, struct sov_jsonl_writer *w, struct sov_err *e)
{
	long long ids[WF_ENQUEUE_BATCH];
	int dups[WF_ENQUEUE_BATCH];
	int64_t deadline = sov_time_mono_ms() + WF_ENQUEUE_RETRY_MS;
	int rc = -1;

	if (p->n == 0)
		return 0;
	/* A store that is busy or away for a while (75) costs a wait, not
	 * the lines already read from the pipe. */
	for (int64_t wait = 10;; wait = wait < 1000 ? wait * 2 : 1000) {
		if (insert_pending(st, d, id, p, ids, dups, e) == 0)
			break;
		sov_store_rollback(st, NULL);
		if (e->code != SOV_EXIT_TEMPFAIL ||
		    sov_time_mono_ms() + wait > deadline)
			goto out;
		struct timespec ts = {(time_t)(wait / 1000),
				      (long)(wait % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < p->n; i++) {
		jv r = sov_record_new("enqueued");

		r = jv_object_set(r, jv_string("execution"),
				  jv_number((double)ids[i]));
		r = jv_object_set(r, jv_string("workflow"), jv_string(d->name));
		r = jv_object_set(r, jv_string("duplicate"), jv_bool(dups[i]));
		if (sov_jsonl_write(w, r, e) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		sov_store_rollback(st, NULL);
	for (size_t i = 0; i < p->n; i++) {
		jv_free(p->inputs[i]);
		jv_free(p->keys[i]);
	}
	p->n = 0;
	return rc;
}

int
wf_cmd_enqueue(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"store", required_argument, NULL, 's'},
	    {"workflows", required_argument, NULL, 'w'},
	    {"key", required_argument, NULL, 'k'},
	    {NULL, 0, NULL, 0}};
	const char *store = NULL, *dir = NULL, *key_src = NULL;
	struct wf_registry reg = {0};
	struct sov_store *st = NULL;
	struct sov_jq *key = NULL;
	struct sov_jsonl_reader *r = NULL;
	struct sov_jsonl_writer *w = NULL;
	struct pending *p = NULL;
	struct sov_err e = {0};
	const struct wf_def *d;
	long idx;
	int c, rc = SOV_EXIT_OK, bad = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 's')
			store = optarg;
		else if (c == 'w')
			dir = optarg;
		else if (c == 'k')
			key_src = optarg;
		else
			return sov_cli_usage_error("bad option");
	}
	if (optind + 1 != argc)
		return sov_cli_usage_error("enqueue needs one workflow NAME");
	if (wf_cli_definition(dir, argv[optind], &reg, &idx, &e) < 0)
		return sov_cli_fail(&e);
	d = reg.defs[idx];
	if (!has_enqueue(d)) {
		sov_err_set(&e, SOV_EXIT_USAGE,
			    "%s: workflow %s has no enqueue trigger "
			    "(add {\"enqueue\": true} to its triggers)",
			    d->file, d->name);
		goto fail;
	}
	if (key_src &&
	    !(key = sov_jq_compile(key_src, "--key", jv_invalid(), &e)))
		goto fail;
	if (!(p = calloc(1, sizeof(*p))) ||
	    !(r = sov_jsonl_reader_new(stdin, "stdin", 0, 0)) ||
	    !(w = sov_jsonl_writer_new(stdout, "stdout", SOV_JSONL_FLUSH))) {
		if (!e.code)
			sov_err_set(&e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto fail;
	}
	if (!(st = wf_db_open(store, &e)))
		goto fail;
	for (;;) {
		jv in, k = jv_null();
		int got = sov_jsonl_read(r, &in, &e);

		if (got < 0) {
			/* A bad line: said, skipped, and the exit code says
			 * so; the good lines around it still run. */
			if (e.code != SOV_EXIT_USAGE)
				goto fail;
			sov_cli_fail(&e);
			bad = 1;
			memset(&e, 0, sizeof(e));
			continue;
		}
		if (got == 0)
			break;
		if (jv_get_kind(in) != JV_KIND_OBJECT) {
			sov_cli_warn(
			    "stdin:%zu: an input must be a JSON object",
			    sov_jsonl_reader_line(r));
			jv_free(in);
			bad = 1;
			continue;
		}
		if (key) {
			jv kv;

			if (sov_jq_first(key, jv_copy(in), &kv, &e) < 0 ||
			    jv_get_kind(kv) != JV_KIND_STRING) {
				if (jv_is_valid(kv) || !e.code)
					sov_err_set(&e, SOV_EXIT_USAGE,
						    "--key must give a string");
				jv_free(kv);
				sov_cli_warn("stdin:%zu: %s",
					     sov_jsonl_reader_line(r), e.msg);
				memset(&e, 0, sizeof(e));
				jv_free(in);
				bad = 1;
				continue;
			}
			k = jv_string_fmt("%s:%s", d->name,
					  jv_string_value(kv));
			jv_free(kv);
		}
		p->inputs[p->n] = in;
		p->keys[p->n++] = k;
		if ((p->n == WF_ENQUEUE_BATCH || input_idle(r, stdin)) &&
		    commit_pending(st, d, reg.ids[idx], p, w, &e) < 0)
			goto fail;
	}
	if (commit_pending(st, d, reg.ids[idx], p, w, &e) < 0)
		goto fail;
	if (sov_jsonl_writer_close(w, &e) < 0) {
		w = NULL;
		goto fail;
	}
	w = NULL;
	rc = bad ? SOV_EXIT_USAGE : SOV_EXIT_OK;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	if (p) {
		for (size_t i = 0; i < p->n; i++) {
			jv_free(p->inputs[i]);
			jv_free(p->keys[i]);
		}
		free(p);
	}
	sov_jsonl_writer_close(w, NULL);
	sov_jsonl_reader_free(r);
	sov_jq_free(key);
	sov_store_close(st);
	wf_registry_clear(&reg);
	return rc;
}
