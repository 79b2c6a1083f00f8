/* alert.c - running one alert action off the loop; see alert.h. */
#include "alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "child.h"
#include "http.h"
#include "json_dump.h"
#include "jsonl.h"

#define ALERT_OUT_MAX 65536

struct fire {
	const struct pr_alert *a;
	char *target;
	char *line; /* the event, one JSON line with its newline */
	size_t len;
	int ok;
	char error[SOV_ERR_MSG_MAX + 512];
	pr_alert_report report;
	void *ctx;
};

static void
run_command(struct fire *f, char *const argv[])
{
	struct pr_child_out o;
	char why[128];

	if (pr_child_run(argv, f->line, f->len, f->a->timeout_ms,
			 ALERT_OUT_MAX, &o) < 0) {
		snprintf(f->error, sizeof(f->error), "%s", o.err);
	} else if (o.timed_out || !WIFEXITED(o.status) ||
		   WEXITSTATUS(o.status) != 0) {
		snprintf(f->error, sizeof(f->error), "%.256s: %s%s%s", argv[0],
			 pr_child_why(&o, f->a->timeout_ms, why, sizeof(why)),
			 o.err[0] ? ": " : "", o.err);
	} else {
		f->ok = 1;
	}
	pr_child_out_clear(&o);
}

static void
run_webhook(struct fire *f)
{
	struct sov_http_opts opts;
	struct sov_http_resp resp = {0};
	struct sov_http *h;
	struct sov_err e = {0};
	const char **headers = NULL;
	size_t n = 0;

	sov_http_opts_default(&opts);
	opts.timeout_ms = (long)f->a->timeout_ms;
	opts.max_body = ALERT_OUT_MAX;
	opts.retry_unsafe = 0;
	for (char **p = f->a->headers; p && *p; p++)
		n++;
	headers = calloc(n + 2, sizeof(*headers));
	h = headers ? sov_http_new(&opts, &e) : NULL;
	if (h == NULL) {
		snprintf(f->error, sizeof(f->error), "%s",
			 e.msg[0] ? e.msg : "out of memory");
		free(headers);
		return;
	}
	headers[0] = "Content-Type: application/json";
	for (size_t i = 0; i < n; i++)
		headers[i + 1] = f->a->headers[i];
	if (sov_http_request(h, "POST", f->a->webhook, headers, f->line,
			     f->len, &resp, &e) < 0)
		snprintf(f->error, sizeof(f->error), "%s", e.msg);
	else if (resp.status < 200 || resp.status > 299)
		snprintf(f->error, sizeof(f->error), "%s answered %ld",
			 f->a->webhook, resp.status);
	else
		f->ok = 1;
	sov_http_resp_clear(&resp);
	sov_http_free(h);
	free(headers);
}

static void
fire_run(void *arg)
{
	struct fire *f = arg;

	if (f->a->command) {
		run_command(f, f->a->command);
	} else if (f->a->webhook) {
		run_webhook(f);
	} else {
		const char *wf = getenv("SOV_WF_BIN");
		char *argv[] = {(char *)(wf && *wf ? wf : "sov-wf"),
				(char *)"enqueue", f->a->enqueue, NULL};

		run_command(f, argv);
	}
}

static void
fire_finish(void *arg)
{
	struct fire *f = arg;
	jv rec = sov_record_new("probe.alert");

	rec = jv_object_set(rec, jv_string("alert"), jv_string(f->a->name));
	rec = jv_object_set(rec, jv_string("target"), jv_string(f->target));
	rec = jv_object_set(rec, jv_string("ok"), jv_bool(f->ok));
	rec = jv_object_set(rec, jv_string("error"),
			    f->ok ? jv_null() : jv_string(f->error));
	f->report(f->ctx, rec);
	free(f->target);
	free(f->line);
	free(f);
}

int
pr_alert_fire(struct pr_engine *g, const struct pr_alert *a,
	      const char *target, jv event, pr_alert_report report, void *ctx,
	      struct sov_err *e)
{
	struct fire *f = calloc(1, sizeof(*f));
	char *text = NULL;
	size_t len = 0;

	if (f == NULL || (f->target = strdup(target)) == NULL ||
	    sov_json_dump_text(jv_copy(event), &text, &len) < 0 ||
	    (f->line = malloc(len + 2)) == NULL) {
		if (f)
			free(f->target);
		free(f);
		free(text);
		return sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
	}
	memcpy(f->line, text, len);
	f->line[len] = '\n';
	f->line[len + 1] = '\0';
	f->len = len + 1;
	free(text);
	f->a = a;
	f->report = report;
	f->ctx = ctx;
	if (pr_engine_job(g, fire_run, fire_finish, f, e) < 0) {
		free(f->target);
		free(f->line);
		free(f);
		return -1;
	}
	return 0;
}
