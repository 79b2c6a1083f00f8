/*
 * child.c - a command run by libsov's sov_proc_run, told as sov-probe
 * tells it; see child.h.
 */
#include "child.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "proc.h"

void
pr_child_out_clear(struct pr_child_out *o)
{
	free(o->out);
	memset(o, 0, sizeof(*o));
}

/* The start of stderr as one line: tabs and line ends become spaces,
 * trailing spaces go. */
static void
keep_err(struct pr_child_out *o, const char *buf, size_t n)
{
	size_t have = 0;

	for (size_t i = 0; i < n && have + 1 < sizeof(o->err); i++)
		o->err[have++] =
		    (buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t')
			? ' '
			: buf[i];
	while (have > 0 && o->err[have - 1] == ' ')
		have--;
	o->err[have] = '\0';
}

int
pr_child_run(char *const argv[], const char *in, size_t in_len,
	     int64_t timeout_ms, size_t max, struct pr_child_out *o)
{
	struct sov_proc_opts po = {
	    .argv = argv,
	    .in = in,
	    .in_len = in_len,
	    .timeout_ms = timeout_ms,
	    .kill_grace_ms = 0, /* SIGKILL at the deadline */
	    .out_max = max,
	};
	struct sov_proc_result r;
	struct sov_err e = {0};
	int rc;

	memset(o, 0, sizeof(*o));
	rc = sov_proc_run(&po, &r, &e);
	if (rc == 1)
		sov_proc_refusal(&r, argv[0], o->err, sizeof(o->err));
	else if (rc < 0)
		snprintf(o->err, sizeof(o->err), "%.*s",
			 (int)sizeof(o->err) - 1, e.msg); /* cut on purpose */
	if (rc != 0) {
		sov_proc_result_free(&r);
		return -1;
	}
	o->status = r.status;
	o->timed_out = r.timed_out;
	o->too_much = r.over;
	o->out = r.out; /* ours now */
	o->len = r.out_len;
	keep_err(o, r.err_head, r.err_head_len);
	return 0;
}

const char *
pr_child_why(const struct pr_child_out *o, int64_t timeout_ms, char *buf,
	     size_t size)
{
	if (o->timed_out)
		snprintf(buf, size, "timed out after %lld ms",
			 (long long)timeout_ms);
	else if (o->too_much)
		snprintf(buf, size, "printed more than the output cap");
	else if (WIFEXITED(o->status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(o->status));
	else if (WIFSIGNALED(o->status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(o->status));
	else
		snprintf(buf, size, "ended oddly (status %d)", o->status);
	return buf;
}
