/*
 * cmd_worker.c - `sov-wf worker`, the long-running worker, and `sov-wf
 * run`, one execution started and worked on here until it ends.
 */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "json_dump.h"
#include "db.h"
#include "hook.h"
#include "jsonl.h"
#include "show.h"
#include "timestamp.h"
#include "wf.h"
#include "worker.h"

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int
catch_signals(struct sov_err *e)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGINT, &sa, NULL) < 0)
		return sov_err_sys(e, SOV_EXIT_FAIL, "sigaction");
	return 0;
}

static int
duration_opt(const char *opt, const char *s, int64_t min, int64_t *out,
	     struct sov_err *e)
{
	if (sov_duration_parse(s, out, e) < 0)
		return sov_err_set(e, SOV_EXIT_USAGE, "%s: %s", opt, e->msg);
	if (*out < min)
		return sov_err_set(e, SOV_EXIT_USAGE, "%s: at least %lld ms",
				   opt, (long long)min);
	return 0;
}

/* Options both commands share; 1 when c was one of them. */
static int
common_opt(int c, struct wf_worker_opts *o, struct sov_err *e, int *bad)
{
	long v;

	switch (c) {
	case 's':
		o->store = optarg;
		return 1;
	case 'm':
		o->metrics = optarg;
		return 1;
	case 'l':
		*bad |= duration_opt("--lease", optarg, WF_LEASE_MIN_MS,
				     &o->lease_ms, e) < 0;
		return 1;
	case 'p':
		*bad |= duration_opt("--poll", optarg, 1, &o->poll_ms, e) < 0;
		return 1;
	case 'b':
		*bad |= sov_cli_parse_long("--batch", optarg, 1, WF_CLAIM_MAX,
					   &v, e) < 0;
		o->batch = (size_t)v;
		return 1;
	default:
		return 0;
	}
}

#define COMMON_LONGOPTS                                                        \
	{"store", required_argument, NULL, 's'},                               \
	    {"metrics", required_argument, NULL, 'm'},                         \
	    {"lease", required_argument, NULL, 'l'},                           \
	    {"poll", required_argument, NULL, 'p'},                            \
	    {"batch", required_argument, NULL, 'b'},                           \
	{                                                                      \
		"workflows", required_argument, NULL, 'w'                      \
	}

int
wf_cmd_worker(int argc, char **argv)
{
	static const struct option lo[] = {
	    COMMON_LONGOPTS,
	    {"threads", required_argument, NULL, 't'},
	    {"name", required_argument, NULL, 'n'},
	    {"dlq-base", required_argument, NULL, 'D'},
	    {"dlq-max", required_argument, NULL, 'M'},
	    {"dlq-retries", required_argument, NULL, 'R'},
	    {"webhook", required_argument, NULL, 'H'},
	    {NULL, 0, NULL, 0}};
	struct wf_worker_opts o;
	struct wf_hook *hook = NULL;
	const char *listen = NULL;
	struct wf_registry reg = {0};
	struct sov_err e = {0};
	const char *dir = NULL;
	char path[PATH_MAX], status[16];
	int c, bad = 0, rc;
	long v;

	wf_worker_opts_default(&o);
	while (!bad && (c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (common_opt(c, &o, &e, &bad))
			continue;
		switch (c) {
		case 'w':
			dir = optarg;
			break;
		case 't':
			bad |= sov_cli_parse_long("--threads", optarg, 1,
						  WF_THREADS_MAX, &v, &e) < 0;
			o.threads = (int)v;
			break;
		case 'n':
			if (!*optarg || strlen(optarg) >= WF_OWNER_MAX) {
				bad = 1;
				sov_err_set(&e, SOV_EXIT_USAGE,
					    "--name: 1 to %d bytes",
					    WF_OWNER_MAX - 1);
			} else {
				snprintf(o.owner, sizeof(o.owner), "%s",
					 optarg);
			}
			break;
		case 'D':
			bad |= duration_opt("--dlq-base", optarg, 1,
					    &o.pol.dlq_base_ms, &e) < 0;
			break;
		case 'M':
			bad |= duration_opt("--dlq-max", optarg, 1,
					    &o.pol.dlq_max_ms, &e) < 0;
			break;
		case 'H':
			listen = optarg;
			break;
		case 'R':
			bad |= sov_cli_parse_long("--dlq-retries", optarg, -1,
						  INT_MAX, &v, &e) < 0;
			o.pol.dlq_retries = (int)v;
			break;
		default:
			return sov_cli_usage_error("bad option");
		}
	}
	if (bad)
		return sov_cli_fail(&e);
	if (optind != argc)
		return sov_cli_usage_error("worker takes no arguments");
	if (o.pol.dlq_max_ms < o.pol.dlq_base_ms)
		return sov_cli_usage_error("--dlq-max is less than --dlq-base");
	/* Cron triggers come from the workflows directory, when there is
	 * one; executions carry their own definitions. */
	if (wf_registry_dir(dir, path, sizeof(path), &e) < 0)
		return sov_cli_fail(&e);
	if (dir || getenv(WF_REGISTRY_DIR_ENV)) {
		/* Named by the operator: it must load. */
		if (wf_registry_load(path, WF_DEF_NO_COMPILE, &reg, &e) < 0)
			return sov_cli_fail(&e);
		o.reg = &reg;
	} else if (access(path, F_OK) == 0) {
		/* The default place, maybe empty: work on without it. */
		if (wf_registry_load(path, WF_DEF_NO_COMPILE, &reg, &e) < 0)
			sov_cli_warn("no cron or webhook triggers: %s", e.msg);
		else
			o.reg = &reg;
	}
	if (catch_signals(&e) < 0) {
		wf_registry_clear(&reg);
		return sov_cli_fail(&e);
	}
	o.stop = &stop_flag;
	if (listen) {
		if (!(hook = wf_hook_start(listen, o.store, o.reg, &e))) {
			wf_registry_clear(&reg);
			return sov_cli_fail(&e);
		}
		/* Said on stdout, so that a caller of port 0 learns it. */
		jv rec = sov_record_new("listening");

		rec =
		    jv_object_set(rec, jv_string("webhook"), jv_string(listen));
		rec = jv_object_set(rec, jv_string("port"),
				    jv_number(wf_hook_port(hook)));
		rec = sov_json_dump(rec);
		printf("%s\n", jv_string_value(rec));
		jv_free(rec);
		fflush(stdout);
	}
	rc = wf_worker_run(&o, status, &e);
	wf_hook_stop(hook);
	wf_registry_clear(&reg);
	return rc < 0 ? sov_cli_fail(&e) : SOV_EXIT_OK;
}

/* Print the execution's record; its exit code: 0 only when it succeeded. */
static int
print_execution(struct sov_store *st, long long id, struct sov_err *e)
{
	struct sov_jsonl_writer *w =
	    sov_jsonl_writer_new(stdout, "stdout", SOV_JSONL_FLUSH);
	jv rows = jv_invalid(), status;
	int rc = -1, ok;

	if (!w)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
	if (sov_store_query(st,
			    "SELECT " WF_SHOW_EXECUTION_COLS
			    " FROM wf_executions WHERE id = $1",
			    JV_ARRAY(jv_number((double)id)), &rows, e) < 0)
		goto out;
	if (jv_array_length(jv_copy(rows)) != 1) {
		sov_err_set(e, SOV_EXIT_FAIL, "execution %lld is gone", id);
		goto out;
	}
	status =
	    jv_object_get(jv_array_get(jv_copy(rows), 0), jv_string("status"));
	ok = jv_get_kind(status) == JV_KIND_STRING &&
	     strcmp(jv_string_value(status), "succeeded") == 0;
	jv_free(status);
	if (sov_jsonl_write(
		w, wf_show_record("execution", jv_array_get(jv_copy(rows), 0)),
		e) < 0 ||
	    sov_jsonl_writer_close(w, e) < 0) {
		w = NULL;
		goto out;
	}
	w = NULL;
	rc = ok ? SOV_EXIT_OK : SOV_EXIT_FAIL;
out:
	sov_jsonl_writer_close(w, NULL);
	jv_free(rows);
	return rc;
}

int
wf_cmd_run(int argc, char **argv)
{
	static const struct option lo[] = {
	    COMMON_LONGOPTS,
	    {"input", required_argument, NULL, 'i'},
	    {"key", required_argument, NULL, 'k'},
	    {"no-work", no_argument, NULL, 'N'},
	    {NULL, 0, NULL, 0}};
	struct wf_worker_opts o;
	struct wf_registry reg = {0};
	struct sov_store *st = NULL;
	struct sov_err e = {0};
	const char *dir = NULL, *input_text = "{}", *key = NULL;
	char status[16];
	jv input = jv_invalid();
	long long id = 0;
	long idx;
	int c, bad = 0, dup, no_work = 0, rc;

	wf_worker_opts_default(&o);
	o.threads = 1;
	o.housekeeping = 0;
	while (!bad && (c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (common_opt(c, &o, &e, &bad))
			continue;
		switch (c) {
		case 'w':
			dir = optarg;
			break;
		case 'i':
			input_text = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'N':
			no_work = 1;
			break;
		default:
			return sov_cli_usage_error("bad option");
		}
	}
	if (bad)
		return sov_cli_fail(&e);
	if (optind + 1 != argc)
		return sov_cli_usage_error("run needs one workflow NAME");
	input = sov_json_parse(input_text, strlen(input_text), &e);
	if (!jv_is_valid(input)) {
		jv_free(input);
		sov_err_set(&e, SOV_EXIT_USAGE, "--input: %s", e.msg);
		return sov_cli_fail(&e);
	}
	if (wf_cli_definition(dir, argv[optind], &reg, &idx, &e) < 0)
		goto fail;
	if (!(st = wf_db_open(o.store, &e)))
		goto fail;
	if (sov_store_begin(st, &e) < 0 ||
	    wf_registry_put(st, reg.defs[idx], reg.ids[idx], &e) < 0 ||
	    wf_queue_enqueue(st, reg.defs[idx], reg.ids[idx], input, key, "run",
			     &id, &dup, &e) < 0 ||
	    sov_store_commit(st, &e) < 0) {
		input = jv_invalid();
		sov_store_rollback(st, NULL);
		goto fail;
	}
	input = jv_invalid();
	if (catch_signals(&e) < 0)
		goto fail;
	o.stop = &stop_flag;
	o.only = id;
	if (!no_work) {
		if (wf_worker_run(&o, status, &e) < 0)
			goto fail;
	} else {
		/* Wait for other workers to finish it. */
		while (!stop_flag) {
			int ended = wf_execution_ended(st, id, status, &e);

			if (ended < 0)
				goto fail;
			if (ended)
				break;
			struct timespec ts = {0, 100 * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	if (stop_flag) {
		sov_err_set(&e, SOV_EXIT_TEMPFAIL,
			    "interrupted: execution %lld goes on in the store "
			    "(sov-wf show %lld)",
			    id, id);
		goto fail;
	}
	rc = print_execution(st, id, &e);
	if (rc < 0)
		goto fail;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	jv_free(input);
	sov_store_close(st);
	wf_registry_clear(&reg);
	return rc;
}
