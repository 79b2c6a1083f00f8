/*
 * cmd_daemon.c - `sov-probe daemon`: probe every target on its interval
 * until SIGTERM; measurements into the store, a record and the alerts on
 * every state change, the state file for `status` and `page`.
 *
 * SIGHUP reloads the targets: nothing new starts, what runs finishes, the
 * new set replaces the old (a bad file is reported and the old set kept),
 * and each target that kept its name and type keeps its state. SIGTERM
 * and SIGINT stop it: probes in flight are dropped, what was measured is
 * written, the state file is written last.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "alert.h"
#include "cli.h"
#include "common.h"
#include "engine.h"
#include "jsonl.h"
#include "measure.h"
#include "measure_rollup.h"
#include "page.h"
#include "probe.h"
#include "sched.h"
#include "state.h"
#include "timestamp.h"

#define FLUSH_EVERY_MS 1000
/* a store that is away is tried at most this often */
#define FLUSH_BACKOFF_MAX_MS 60000
#define BUFFER_DEFAULT 100000 /* measurements kept while it is away */
#define BUFFER_MAX 10000000
#define STORE_CACHE_KIB 256
#define STATE_EVERY_MS 5000    /* when only counters changed, */
#define STATE_PER_TARGET_MS 30 /* or this per target, if longer */
#define STATE_SOON_MS 1000  /* when a target changed state */
#define STORE_WARN_EVERY_MS 60000
#define PAGE_EVERY_DEFAULT_MS 60000
#define ROLLUP_EVERY_MS 3600000
#define ROLLUP_AFTER_DEFAULT_MS (INT64_C(7) * 86400000)
#define ROLLUP_KEEP_DEFAULT_MS (INT64_C(400) * 86400000)

struct daemon {
	char targets_path[4096];
	char state_path[4096];
	int threads, concurrency, results;
	const char *page_dir;
	int64_t page_every, rollup_after, rollup_keep;
	int64_t last_page, last_rollup;
	struct pr_set set;
	struct pr_tstate *states;
	char **tags; /* per target: its measurements' tags as text, or NULL */
	struct pr_sched sched;
	struct pr_engine *g;
	struct sov_metrics *m;
	struct sov_jsonl_writer *out;
	int state_dirty, state_now, reload, stop;
	int64_t last_flush, flush_every, last_state, last_store_warn;
	long buffer;
	uint64_t probes, state_writes; /* said when the daemon stops */
	struct sov_err fatal;          /* a write to stdout failed */
};

static void
emit(struct daemon *d, jv rec)
{
	if (d->fatal.code == 0 && sov_jsonl_write(d->out, rec, &d->fatal) == 0)
		sov_jsonl_flush(d->out, &d->fatal);
	else if (d->fatal.code)
		jv_free(rec);
}

static void
on_alert(void *ctx, jv rec)
{
	struct daemon *d = ctx;
	jv ok = jv_object_get(jv_copy(rec), jv_string("ok"));

	if (jv_get_kind(ok) != JV_KIND_TRUE) {
		jv err = jv_object_get(jv_copy(rec), jv_string("error"));
		jv name = jv_object_get(jv_copy(rec), jv_string("alert"));

		sov_cli_warn("alert %s: %s", jv_string_value(name),
			     jv_get_kind(err) == JV_KIND_STRING
				 ? jv_string_value(err)
				 : "failed");
		jv_free(err);
		jv_free(name);
	}
	jv_free(ok);
	emit(d, rec);
}

static void
on_done(void *ctx, size_t ti, struct pr_result *r)
{
	struct daemon *d = ctx;
	const struct pr_target *t = &d->set.targets[ti];
	struct pr_tstate *s = &d->states[ti];
	struct sov_err e = {0};
	enum pr_state from;
	jv rec = pr_result_record(t, r);

	d->probes++;
	if (pr_result_measure(d->m, t, d->tags[ti], r, &e) < 0)
		sov_cli_warn("%s: %s", t->name, e.msg);
	if (d->results)
		emit(d, jv_copy(rec));
	d->state_dirty = 1;
	if (!pr_state_apply(s, t, r, rec, &from))
		return;
	d->state_now = 1;
	rec = pr_state_event(t, s, from, r);
	/* a target first seen up is news to nobody */
	if (from != PR_UNKNOWN || s->state == PR_DOWN)
		for (size_t i = 0; i < t->nalerts; i++)
			if (pr_alert_fire(d->g, &d->set.alerts[t->alerts[i]],
					  t->name, rec, on_alert, d, &e) < 0)
				sov_cli_warn("%s: %s", t->name, e.msg);
	emit(d, rec);
}

static void
write_state(struct daemon *d, int64_t now)
{
	struct sov_err e = {0};

	if (pr_state_write(d->state_path,
			   pr_state_doc(&d->set, d->states, (long)getpid()),
			   &e) < 0)
		sov_cli_warn("%s", e.msg);
	d->state_dirty = d->state_now = 0;
	d->last_state = now;
	d->state_writes++;
}

static void
flush_metrics(struct daemon *d, int64_t now)
{
	struct sov_err e = {0};

	d->last_flush = now;
	if (sov_metrics_flush(d->m, &e) == 0) {
		if (d->last_store_warn) {
			sov_cli_warn("measurements: the store is back");
			d->last_store_warn = 0;
		}
		d->flush_every = FLUSH_EVERY_MS;
		return;
	}
	/* Kept buffered for the next flush, tried less often while it fails
	 * (a store that does not answer costs its timeout each time); said
	 * once a minute. */
	d->flush_every = d->flush_every * 2 > FLUSH_BACKOFF_MAX_MS
			     ? FLUSH_BACKOFF_MAX_MS
			     : d->flush_every * 2;
	if (d->last_store_warn == 0 ||
	    now - d->last_store_warn >= STORE_WARN_EVERY_MS) {
		sov_cli_warn("measurements kept for later (%zu; %llu oldest "
			     "dropped past --buffer %ld): %s",
			     sov_metrics_pending(d->m),
			     (unsigned long long)sov_metrics_dropped(d->m),
			     d->buffer, e.msg);
		d->last_store_warn = now;
	}
}

/* The status page, from the state in memory and the store's history. */
static void
write_page(struct daemon *d, int64_t now)
{
	struct pr_page_opts o = {0};
	struct sov_err e = {0};

	o.set = &d->set;
	o.state = pr_state_doc(&d->set, d->states, (long)getpid());
	o.st = sov_metrics_store(d->m);
	if (pr_page_write(d->page_dir, &o, &e) < 0)
		sov_cli_warn("page: %s", e.msg);
	jv_free(o.state);
	d->last_page = now;
}

/* Old measurements into 5-minute summaries, an hour at a time. */
static void
rollup(struct daemon *d, int64_t now)
{
	struct sov_rollup_opts o = {0};
	struct sov_rollup_stats st;
	struct sov_err e = {0};
	struct sov_store *store = sov_metrics_store(d->m);

	d->last_rollup = now;
	if (store == NULL)
		return;
	o.after_ms = d->rollup_after;
	o.keep_ms = d->rollup_keep;
	if (sov_measure_rollup(store, &o, &st, &e) < 0)
		sov_cli_warn("rollup: %s", e.msg);
}

static int64_t
state_every(const struct daemon *d)
{
	int64_t per = (int64_t)d->set.ntargets * STATE_PER_TARGET_MS;

	return per > STATE_EVERY_MS ? per : STATE_EVERY_MS;
}

static void
periodic(struct daemon *d, int64_t now)
{
	if (d->page_dir && now - d->last_page >= d->page_every)
		write_page(d, now);
	if (d->rollup_after > 0 && now - d->last_rollup >= ROLLUP_EVERY_MS)
		rollup(d, now);
	if (now - d->last_flush >= d->flush_every)
		flush_metrics(d, now);
	/* The whole file each time (about 300 bytes a target): a first cycle
	 * or an outage that changes every target at once is one write a
	 * second, not one per target. With only counters and last results
	 * changed, a thousand targets are written every 30 s, not 5: each
	 * write costs as much as 300 probes. */
	if ((d->state_now && now - d->last_state >= STATE_SOON_MS) ||
	    (d->state_dirty && now - d->last_state >= state_every(d)))
		write_state(d, now);
}

static int
start_due(struct daemon *d, int64_t now, struct sov_err *e)
{
	size_t ti;
	int64_t due;

	while (!d->reload && pr_sched_peek(&d->sched, &ti, &due) &&
	       due <= now) {
		if (pr_engine_running(d->g, ti)) {
			d->sched.skipped++; /* the last one still runs */
		} else if (!pr_engine_room(d->g)) {
			return 0; /* late: it starts when one ends */
		} else if (pr_engine_start(d->g, ti, e) < 0) {
			return -1;
		}
		pr_sched_advance(&d->sched, &d->set, now);
	}
	return 0;
}

/* Until the next turn, at most a second (the periodic work). */
static int
wait_ms(const struct daemon *d, int64_t now)
{
	size_t ti;
	int64_t due;

	if (d->reload || !pr_sched_peek(&d->sched, &ti, &due))
		return 1000;
	if (due <= now)
		return pr_engine_room(d->g) ? 0 : 1000;
	return due - now > 1000 ? 1000 : (int)(due - now);
}

static void
free_states(struct pr_tstate *states, size_t n)
{
	for (size_t i = 0; states && i < n; i++)
		pr_tstate_clear(&states[i]);
	free(states);
}

/* The set and what hangs on it: states, schedule, engine. */
static int
arm(struct daemon *d, struct sov_err *e)
{
	d->states = calloc(d->set.ntargets + 1, sizeof(*d->states));
	if (d->states == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
	for (size_t i = 0; i < d->set.ntargets; i++)
		pr_tstate_init(&d->states[i]);
	/* made once: serialising a target's tags was a third of the cost of
	 * a measurement. One that cannot be made is made, and its error
	 * said, at each measurement. */
	d->tags = calloc(d->set.ntargets + 1, sizeof(*d->tags));
	if (d->tags == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
	for (size_t i = 0; i < d->set.ntargets; i++) {
		struct sov_err te = {0};

		d->tags[i] = pr_result_tags(d->m, &d->set.targets[i], &te);
	}
	if (pr_sched_init(&d->sched, &d->set, sov_time_mono_ms()) < 0)
		return sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
	d->g =
	    pr_engine_new(&d->set, d->threads, d->concurrency, on_done, d, e);
	return d->g ? 0 : -1;
}

static void
disarm(struct daemon *d)
{
	pr_engine_free(d->g);
	d->g = NULL;
	pr_sched_free(&d->sched);
	free_states(d->states, d->set.ntargets);
	d->states = NULL;
	for (size_t i = 0; d->tags && i < d->set.ntargets; i++)
		free(d->tags[i]);
	free(d->tags);
	d->tags = NULL;
}

/* Once nothing runs: the new set in, states carried by name and type. */
static void
reload(struct daemon *d)
{
	struct sov_err e = {0};
	struct pr_set set;
	jv old;

	d->reload = 0;
	if (pr_set_load(d->targets_path, 0, &set, &e) < 0) {
		sov_cli_warn("reload: %s; the old targets stay", e.msg);
		return;
	}
	old = pr_state_doc(&d->set, d->states, 0);
	disarm(d);
	pr_set_free(&d->set);
	d->set = set;
	if (arm(d, &e) < 0) {
		jv_free(old);
		d->fatal = e;
		return;
	}
	pr_state_restore(&d->set, d->states, old);
	jv_free(old);
	d->state_now = 1;
	fprintf(stderr, "sov-probe: reloaded: %zu targets\n", d->set.ntargets);
}

static void
on_signal(struct daemon *d, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			d->reload = 1;
		else
			d->stop = 1;
	}
}

static int
loop(struct daemon *d, int sfd, struct sov_err *e)
{
	while (!d->stop && d->fatal.code == 0) {
		int64_t now = sov_time_mono_ms();
		int r;

		if (start_due(d, now, e) < 0)
			return -1;
		r = pr_engine_wait(d->g, wait_ms(d, now), sfd, e);
		if (r < 0)
			return -1;
		if (r == 1)
			on_signal(d, sfd);
		if (d->reload && pr_engine_busy(d->g) == 0 &&
		    pr_engine_jobs(d->g) == 0)
			reload(d);
		periodic(d, sov_time_mono_ms());
	}
	if (d->fatal.code) {
		*e = d->fatal;
		return -1;
	}
	return 0;
}

static int
parse(struct daemon *d, int argc, char **argv, const char **targets,
      const char **metrics, const char **state, struct sov_err *e)
{
	static const struct option lo[] = {
	    {"targets", required_argument, NULL, 't'},
	    {"metrics", required_argument, NULL, 'm'},
	    {"state", required_argument, NULL, 's'},
	    {"threads", required_argument, NULL, 'j'},
	    {"concurrency", required_argument, NULL, 'c'},
	    {"results", no_argument, NULL, 'r'},
	    {"page", required_argument, NULL, 'p'},
	    {"page-every", required_argument, NULL, 'P'},
	    {"rollup-after", required_argument, NULL, 'a'},
	    {"keep", required_argument, NULL, 'k'},
	    {"buffer", required_argument, NULL, 'b'},
	    {NULL, 0, NULL, 0},
	};
	long n;
	int c;

	d->page_every = PAGE_EVERY_DEFAULT_MS;
	d->rollup_after = ROLLUP_AFTER_DEFAULT_MS;
	d->rollup_keep = ROLLUP_KEEP_DEFAULT_MS;
	d->threads = PR_THREADS_DEFAULT;
	d->concurrency = PR_CONCURRENCY_DEFAULT;
	d->buffer = BUFFER_DEFAULT;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 't':
			*targets = optarg;
			break;
		case 'm':
			*metrics = optarg;
			break;
		case 's':
			*state = optarg;
			break;
		case 'r':
			d->results = 1;
			break;
		case 'p':
			d->page_dir = optarg;
			break;
		case 'P':
		case 'a':
		case 'k': {
			int64_t ms;

			if (sov_duration_parse(optarg, &ms, e) < 0)
				return sov_err_prefix(e, "--%s: ",
						      c == 'P' ? "page-every"
						      : c == 'a'
							  ? "rollup-after"
							  : "keep");
			if (c == 'P')
				d->page_every = ms < 1000 ? 1000 : ms;
			else if (c == 'a')
				d->rollup_after = ms;
			else
				d->rollup_keep = ms;
			break;
		}
		case 'j':
			if (sov_cli_parse_long("--threads", optarg, 1,
					       PR_THREADS_MAX, &n, e) < 0)
				return -1;
			d->threads = (int)n;
			break;
		case 'b':
			if (sov_cli_parse_long("--buffer", optarg, 100,
					       BUFFER_MAX, &d->buffer, e) < 0)
				return -1;
			break;
		case 'c':
			if (sov_cli_parse_long("--concurrency", optarg, 1,
					       PR_CONCURRENCY_MAX, &n, e) < 0)
				return -1;
			d->concurrency = (int)n;
			break;
		default:
			return sov_err_set(e, SOV_EXIT_USAGE, "see --help");
		}
	}
	if (optind < argc)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "daemon takes no arguments (\"%s\")",
				   argv[optind]);
	if (d->rollup_after > 0 && d->rollup_keep < d->rollup_after)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "--keep must be at least --rollup-after");
	return 0;
}

int
pr_cmd_daemon(int argc, char **argv)
{
	struct daemon d;
	struct sov_err e = {0};
	const char *targets = NULL, *metrics = NULL, *state = NULL;
	sigset_t sigs;
	int sfd = -1, rc = SOV_EXIT_FAIL;
	jv prev;

	memset(&d, 0, sizeof(d));
	if (parse(&d, argc, argv, &targets, &metrics, &state, &e) < 0)
		return sov_cli_fail(&e);
	/* everything checked before anything starts */
	if (pr_targets_path(targets, d.targets_path, sizeof(d.targets_path),
			    &e) < 0 ||
	    pr_state_path(state, d.state_path, sizeof(d.state_path), &e) < 0 ||
	    pr_set_load(d.targets_path, 0, &d.set, &e) < 0)
		return sov_cli_fail(&e);
	/* the signals go to the signalfd: blocked before any thread starts */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0 ||
	    (sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		sov_err_sys(&e, SOV_EXIT_FAIL, "signalfd");
		goto out;
	}
	d.out = sov_jsonl_writer_new(stdout, "stdout", 0);
	d.m = d.out ? sov_metrics_open(metrics, stdout, &e) : NULL;
	if (d.out == NULL || d.m == NULL || arm(&d, &e) < 0)
		goto fail;
	/* a locked store must not stall the probes: the flush fails fast
	 * and its measurements wait for the next one */
	if (sov_metrics_store(d.m) &&
	    sov_store_set_lock_timeout(sov_metrics_store(d.m), 250, &e) < 0)
		goto fail;
	/* it appends, and the page's reads come from the OS's cache: a
	 * small SQLite cache saves up to 1.75 MB of heap */
	if (sov_metrics_store(d.m) &&
	    sov_store_set_cache(sov_metrics_store(d.m), STORE_CACHE_KIB, &e) <
		0)
		goto fail;
	sov_metrics_set_limit(d.m, (size_t)d.buffer);
	d.flush_every = FLUSH_EVERY_MS;
	if (pr_state_read(d.state_path, &prev, &e) == 0)
		pr_state_restore(&d.set, d.states, prev);
	jv_free(prev);
	sov_err_clear(&e);
	fprintf(stderr, "sov-probe: probing %zu targets from %s\n",
		d.set.ntargets, d.targets_path);
	if (loop(&d, sfd, &e) < 0)
		goto fail;
	rc = SOV_EXIT_OK;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	if (d.g) {
		pr_engine_free(d.g); /* alerts in flight end first */
		d.g = NULL;
		flush_metrics(&d, sov_time_mono_ms());
		write_state(&d, sov_time_mono_ms());
		if (d.page_dir)
			write_page(&d, sov_time_mono_ms());
		fprintf(stderr,
			"sov-probe: stopped after %llu probes; the state "
			"file written %llu times; %llu measurements dropped\n",
			(unsigned long long)d.probes,
			(unsigned long long)d.state_writes,
			(unsigned long long)sov_metrics_dropped(d.m));
	}
	disarm(&d);
	if (sov_metrics_close(d.m, &e) < 0 && rc == SOV_EXIT_OK)
		rc = sov_cli_fail(&e);
	if (sov_jsonl_writer_close(d.out, &e) < 0 && rc == SOV_EXIT_OK)
		rc = sov_cli_fail(&e);
	pr_set_free(&d.set);
	if (sfd >= 0)
		close(sfd);
	return rc;
}
