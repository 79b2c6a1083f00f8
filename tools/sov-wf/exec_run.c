/*
 * exec_run.c - the run action: the command gets the input on its stdin
 * (compact JSON and a newline); its stdout is the output, the tail of its
 * stderr the error; its environment the worker's with the SOV_WF_*
 * variables. The running (its own process group, the pipes polled
 * together, SIGTERM at the timeout and SIGKILL WF_KILL_GRACE_MS later,
 * whatever it left running killed when it ends) is libsov's sov_proc_run
 * (proc.h); this file says what its results mean for a step.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "exec_int.h"
#include "json_dump.h"
#include "proc.h"

extern char **environ;

#define RUN_ENV_MAX 100000 /* entries of the worker's environment */

_Static_assert(WF_STDERR_TAIL == SOV_PROC_ERR_KEEP,
	       "the stderr tail quoted is the one libsov keeps");

/* The variables we set, replacing inherited ones; the order of own[]. */
static const char *const own_names[] = {
    "SOV_WF_WORKFLOW", "SOV_WF_EXECUTION", "SOV_WF_STEP",
    "SOV_WF_ATTEMPT",  "SOV_WF_UNDO",      "SOV_WF_IDEMPOTENCY_KEY",
};
#define N_OWN (sizeof(own_names) / sizeof(own_names[0]))

static int
is_own(const char *entry)
{
	size_t i, n;

	for (i = 0; i < N_OWN; i++) {
		n = strlen(own_names[i]);
		if (strncmp(entry, own_names[i], n) == 0 && entry[n] == '=')
			return 1;
	}
	return 0;
}

/* The command's environment: the worker's without our names, then ours
 * (own[], freed by the caller; *envp's strings are borrowed). */
static int
make_env(const struct wf_exec_call *c, char *own[N_OWN], char ***envp,
	 struct sov_err *e)
{
	size_t n = 0, i, k = 0;
	char **env;

	own[0] = wf_exec_strf("SOV_WF_WORKFLOW=%s", c->workflow);
	own[1] = wf_exec_strf("SOV_WF_EXECUTION=%lld", c->execution);
	own[2] = wf_exec_strf("SOV_WF_STEP=%s", c->step);
	own[3] = wf_exec_strf("SOV_WF_ATTEMPT=%d", c->attempt);
	own[4] = wf_exec_strf("SOV_WF_UNDO=%d", c->undo ? 1 : 0);
	own[5] = wf_exec_strf("SOV_WF_IDEMPOTENCY_KEY=%s", c->idempotency_key);
	for (i = 0; i < N_OWN; i++)
		if (own[i] == NULL)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL,
					   "%s: building the environment",
					   c->step);
	while (environ != NULL && environ[n] != NULL)
		if (++n > RUN_ENV_MAX)
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "%s: the worker's environment has "
					   "over %d variables",
					   c->step, RUN_ENV_MAX);
	env = calloc(n + N_OWN + 1, sizeof(*env));
	if (env == NULL)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL,
				   "%s: building the environment", c->step);
	for (i = 0; i < n; i++)
		if (!is_own(environ[i]))
			env[k++] = environ[i];
	for (i = 0; i < N_OWN; i++)
		env[k++] = own[i];
	env[k] = NULL;
	*envp = env;
	return 0;
}

static const char *
signal_name(int sig)
{
	static const struct {
		int sig;
		const char *name;
	} names[] = {
	    {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},
	    {SIGILL, "SIGILL"},   {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},
	    {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
	    {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
	    {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
	    {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].sig == sig)
			return names[i].name;
	return "a signal";
}

/* The stderr tail for a message: ": text", "" when there was none. */
static void
tail_text(const struct sov_proc_result *p, char *buf, size_t size)
{
	char t[WF_STDERR_TAIL + 1];
	size_t skip = 0, len;
	int cut = p->err_total > p->err_tail_len;

	/* a tail cut inside a character starts at the next one */
	while (cut && skip < p->err_tail_len && skip < 3 &&
	       ((unsigned char)p->err_tail[skip] & 0xc0) == 0x80)
		skip++;
	len = p->err_tail_len - skip;
	memcpy(t, p->err_tail + skip, len);
	len = wf_exec_clean(t, len);
	if (len == 0)
		buf[0] = '\0';
	else
		snprintf(buf, size, ": %s%s", cut ? "..." : "", t);
}

/* The outcome, once the child is reaped. */
static int
judge(const struct sov_proc_result *p, const struct wf_exec_call *call,
      struct wf_result *r)
{
	char tail[WF_STDERR_TAIL + 16], dur[32];
	struct sov_err perr;
	int several, code, sig;
	jv v;

	if (WIFSIGNALED(p->status))
		r->exit_code = 128 + WTERMSIG(p->status);
	else if (WIFEXITED(p->status))
		r->exit_code = WEXITSTATUS(p->status);
	tail_text(p, tail, sizeof(tail));
	if (p->timed_out) {
		wf_exec_duration(call->timeout_ms, dur, sizeof(dur));
		wf_exec_fail(r, WF_OUT_RETRY, "timed out after %s%s", dur,
			     tail);
		return 0;
	}
	if (p->over) {
		wf_exec_fail(r, WF_OUT_FAIL, "output over %zu bytes",
			     call->output_max);
		return 0;
	}
	if (WIFSIGNALED(p->status)) {
		sig = WTERMSIG(p->status);
		wf_exec_fail(r, WF_OUT_FAIL, "killed by signal %d (%s)%s", sig,
			     signal_name(sig), tail);
		return 0;
	}
	code = r->exit_code;
	if (code == SOV_EXIT_TEMPFAIL) {
		wf_exec_fail(r, WF_OUT_RETRY, "exit %d%s", code, tail);
		return 0;
	}
	if (code != 0) {
		wf_exec_fail(r, WF_OUT_FAIL, "exit %d%s", code, tail);
		return 0;
	}
	sov_err_clear(&perr);
	v = wf_exec_parse_output(p->out != NULL ? p->out : "", p->out_len,
				 &several, &perr);
	if (!jv_is_valid(v)) {
		jv_free(v);
		wf_exec_fail(r, WF_OUT_FAIL, "stdout is not JSON: %s%s",
			     several ? "more than one JSON value: " : "",
			     perr.msg);
		return 0;
	}
	r->output = v;
	r->outcome = WF_OUT_OK;
	return 0;
}

/* Why the command could not be started, in r: FAIL, or RETRY for a file
 * being written right now. */
static void
refused(const struct sov_proc_result *p, const char *cmd, struct wf_result *r)
{
	char why[SOV_PROC_PATH_MAX + 128];

	wf_exec_fail(r, p->start_err == ETXTBSY ? WF_OUT_RETRY : WF_OUT_FAIL,
		     "%s", sov_proc_refusal(p, cmd, why, sizeof(why)));
}

int
wf_exec_run(const struct wf_action *a, const struct wf_exec_call *call,
	    jv input, struct wf_result *r, struct sov_err *e)
{
	char *own[N_OWN] = {NULL}, **env = NULL;
	struct sov_proc_opts po = {0};
	struct sov_proc_result p = {0};
	jv in_text;
	int rc = -1, s;
	size_t i;

	in_text = jv_string_append_str(sov_json_dump(input), "\n");
	if (jv_get_kind(in_text) != JV_KIND_STRING) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "%s: serialising the input",
			    call->step);
		goto out;
	}
	if (a->argc < 1 || a->argv == NULL || a->argv[0] == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: no command", call->step);
		goto out;
	}
	if (make_env(call, own, &env, e) < 0)
		goto out;
	po.argv = a->argv;
	po.env = env;
	po.in = jv_string_value(in_text);
	po.in_len = (size_t)jv_string_length_bytes(jv_copy(in_text));
	po.timeout_ms = call->timeout_ms;
	po.kill_grace_ms = WF_KILL_GRACE_MS;
	po.out_max = call->output_max;
	s = sov_proc_run(&po, &p, e);
	if (s < 0)
		goto out;
	if (s == 1)
		refused(&p, a->argv[0], r);
	else
		judge(&p, call, r);
	rc = 0;
out:
	sov_proc_result_free(&p);
	free(env);
	for (i = 0; i < N_OWN; i++)
		free(own[i]);
	jv_free(in_text);
	return rc;
}
