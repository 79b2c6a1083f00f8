/*
 * test_wf_exec.c - one action of a step, run for real: commands are small
 * shell scripts written into a temp dir (timeouts, crashes, floods, big
 * inputs, the environment), jq steps, and http steps against
 * libmicrohttpd on 127.0.0.1 inside this program (the test stand-in for a
 * service a step calls).
 *
 * SIGPIPE keeps its default here on purpose: a write to a command that
 * does not read its input must not kill the worker.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "def.h"
#include "exec.h"
#include "exec_int.h"
#include "jsonl.h"
#include "tap.h"

#define JSON_MAX (64u << 10)
#define UPLOAD_MAX (1u << 20)
#define BIG_INPUT (4u << 20)
#define FILES_MAX 64

static char dir[64];
static char *files[FILES_MAX];
static size_t n_files;
static struct wf_exec *X;
static char base[64]; /* http://127.0.0.1:PORT */

/* What the next action is told (reset by each test that changes it). */
static int g_attempt = 1, g_undo;
static const char *g_key = "wf:42:s";

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ' -> " (the JSON never needs a real ') */
static const char *
Q(const char *s)
{
	static char buf[JSON_MAX];
	size_t n = strlen(s);

	if (n >= sizeof(buf))
		abort();
	for (size_t i = 0; i <= n; i++)
		buf[i] = s[i] == '\'' ? '"' : s[i];
	return buf;
}

static const char *__attribute__((format(printf, 1, 2))) fmt(const char *f, ...)
{
	static char buf[JSON_MAX];
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		abort();
	return buf;
}

/* dir/name holding text, with mode; returns its path (owned by files[]). */
static const char *
file_mode(const char *name, const char *text, mode_t mode)
{
	char *path;
	FILE *f;

	if (n_files >= FILES_MAX || asprintf(&path, "%s/%s", dir, name) < 0)
		abort();
	files[n_files++] = path;
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0 ||
	    chmod(path, mode) != 0)
		abort();
	return path;
}

/* A shell script dir/name of body, executable unless !exec. */
static const char *
script_mode(const char *name, const char *body, int exec)
{
	return file_mode(name, fmt("#!/bin/sh\n%s\n", body),
			 exec ? 0755 : 0644);
}

static const char *
script(const char *name, const char *body)
{
	return script_mode(name, body, 1);
}

/* {"name":"t","version":1,"steps":{"s":{STEP}}} (' for "), loaded. */
static struct wf_def *
load(const char *step)
{
	static char json[JSON_MAX];
	struct wf_def *d;
	struct sov_err e;
	const char *text;
	int n;

	/* step may be fmt()'s buffer: not fmt() again */
	n = snprintf(json, sizeof(json),
		     "{'name':'t','version':1,'steps':{'s':{%s}}}", step);
	if (n < 0 || (size_t)n >= sizeof(json))
		abort();
	text = Q(json);
	sov_err_clear(&e);
	d = wf_def_from_text(text, strlen(text), "t.json", 0, &e);
	if (d == NULL)
		diag("definition: %s", e.msg);
	return d;
}

/* Run step s's action (its undo when g_undo) on input (consumed) with
 * x; the step's timeout and output_max go into the call. */
static int
act_def(struct wf_exec *x, const struct wf_def *d, jv input,
	struct wf_result *r)
{
	struct wf_exec_call call;
	struct sov_err e;
	int rc;

	memset(&call, 0, sizeof(call));
	call.workflow = "t";
	call.execution = 42;
	call.step = "s";
	call.attempt = g_attempt;
	call.undo = g_undo;
	call.idempotency_key = g_key;
	call.timeout_ms = d->steps[0].timeout_ms;
	call.output_max = d->steps[0].output_max;
	sov_err_clear(&e);
	rc = wf_exec_action(x, g_undo ? d->steps[0].undo : &d->steps[0].act,
			    &call, input, r, &e);
	if (rc < 0)
		diag("wf_exec_action: %s", e.msg);
	return rc;
}

/* Load the step and run its action with X. */
static int
act(const char *step, jv input, struct wf_result *r)
{
	struct wf_def *d = load(step);
	int rc;

	if (d == NULL) {
		jv_free(input);
		memset(r, 0, sizeof(*r));
		r->outcome = WF_OUT_FAIL;
		r->output = jv_invalid();
		snprintf(r->error, sizeof(r->error), "(bad test definition)");
		return -2;
	}
	rc = act_def(X, d, input, r);
	wf_def_free(d);
	return rc;
}

/* The output as compact JSON, for comparing ("(invalid)" when none). */
static const char *
out_text(const struct wf_result *r)
{
	static char buf[JSON_MAX];
	jv s;

	if (!jv_is_valid(r->output))
		return "(invalid)";
	s = jv_dump_string(jv_copy(r->output), JV_PRINT_SORTED);
	snprintf(buf, sizeof(buf), "%s", jv_string_value(s));
	jv_free(s);
	return buf;
}

/* As out_text, into the caller's thread's own buffer. */
static const char *
out_text_r(const struct wf_result *r)
{
	static _Thread_local char buf[256];
	jv s;

	if (!jv_is_valid(r->output))
		return "(invalid)";
	s = jv_dump_string(jv_copy(r->output), JV_PRINT_SORTED);
	snprintf(buf, sizeof(buf), "%s", jv_string_value(s));
	jv_free(s);
	return buf;
}

static jv
parse(const char *s)
{
	jv v = jv_parse(Q(s));

	if (!jv_is_valid(v))
		abort();
	return v;
}

/* Does a process of group pgid still live (zombies, which run nothing
 * and wait for init to reap them, do not count)? */
static int
group_alive_now(pid_t pgid)
{
	char path[300], buf[512], state;
	const char *rp;
	struct dirent *de;
	int alive = 0, ppid, pgrp;
	ssize_t n;
	DIR *d;
	FILE *f;

	if ((d = opendir("/proc")) == NULL)
		abort();
	while (!alive && (de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue; /* gone meanwhile */
		n = (ssize_t)fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n > 0 ? n : 0] = '\0';
		/* "pid (comm) state ppid pgrp ...": comm may hold anything */
		if ((rp = strrchr(buf, ')')) == NULL ||
		    sscanf(rp + 1, " %c %d %d", &state, &ppid, &pgrp) != 3)
			continue;
		alive = pgrp == pgid && state != 'Z' && state != 'X';
	}
	closedir(d);
	return alive;
}

/* Is every process of group pgid dead? SIGKILL lands in a moment: look
 * for up to a second. */
static int
group_gone(pid_t pgid)
{
	if (pgid <= 0)
		return 0;
	for (int i = 0; i < 100; i++) {
		if (!group_alive_now(pgid))
			return 1;
		usleep(10 * 1000);
	}
	return 0;
}

static pid_t
read_pid(const char *name)
{
	char path[128];
	long pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return (pid_t)pid;
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static int
under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "vgpreload") != NULL;
}

static long
max_rss_kb(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

static void
test_basics(void)
{
	struct wf_result r;

	is_int(act("'run':['cat']", parse("{'a':[1,'x',{'b':null}]}"), &r), 0,
	       "cat: decided");
	is_int(r.outcome, WF_OUT_OK, "cat: OK");
	is_str(out_text(&r), Q("{'a':[1,'x',{'b':null}]}"),
	       "cat: the input comes back as the output");
	is_int(r.exit_code, 0, "cat: exit code 0");
	ok(r.seconds > 0 && r.seconds < 5, "cat: its wall time (%.3f s)",
	   r.seconds);
	wf_result_clear(&r);
	wf_result_clear(&r);
	ok(jv_get_kind(r.output) == JV_KIND_INVALID,
	   "wf_result_clear twice leaves no output");

	act("'jq':'{b: (.a + 1)}'", parse("{'a':1}"), &r);
	is_int(r.outcome, WF_OUT_OK, "jq: OK");
	is_str(out_text(&r), Q("{'b':2}"), "jq: its first output");
	is_int(r.exit_code, -1, "jq: no exit code");
	wf_result_clear(&r);

	act("'jq':'.a.b'", parse("{'a':1}"), &r);
	is_int(r.outcome, WF_OUT_FAIL, "jq runtime error: FAIL");
	like(r.error, "Cannot index number", "jq runtime error: jq's words");
	ok(!jv_is_valid(r.output), "jq runtime error: no output");
	wf_result_clear(&r);

	act("'jq':'error(\\'line one\\\\nline two\\')'", jv_null(), &r);
	like(r.error, "line one line two",
	     "an error with a newline is one line (%s)", r.error);
	wf_result_clear(&r);

	act("'jq':'error(\\'x\\' * 10000)'", jv_null(), &r);
	is_int(r.outcome, WF_OUT_FAIL, "a long jq error: FAIL");
	ok(strlen(r.error) < WF_ERROR_MAX &&
	       strcmp(r.error + strlen(r.error) - 3, "...") == 0,
	   "a long jq error: cut with ... (%zu bytes)", strlen(r.error));
	wf_result_clear(&r);
}

/* wf_exec_fail itself: one line, valid UTF-8, cut to fit with "...". */
static void
test_messages(void)
{
	static char long_text[3 * WF_ERROR_MAX];
	struct wf_result r;
	size_t i, len;

	for (i = 0; i + 2 < sizeof(long_text); i += 2)
		memcpy(long_text + i, "\xc3\xa9", 2); /* U+00E9, 2 bytes */
	long_text[i] = '\0';
	memset(&r, 0, sizeof(r));
	wf_exec_fail(&r, WF_OUT_FAIL, "x%s", long_text);
	len = strlen(r.error);
	ok(len < WF_ERROR_MAX && len > WF_ERROR_MAX - 8,
	   "a long message fills the buffer (%zu bytes)", len);
	ok(strcmp(r.error + len - 3, "...") == 0, "... and ends in ...");
	ok(sov_utf8_check(r.error, len) < 0,
	   "... cut between characters, not inside one");
	is_int(r.outcome, WF_OUT_FAIL, "... with its outcome");

	wf_exec_fail(&r, WF_OUT_RETRY, "a\r\n\tb \x01 c\xff\xfe d  \n");
	is_str(r.error, "a b c?? d",
	       "control bytes and bad UTF-8 made one line");
	is_int(r.outcome, WF_OUT_RETRY, "... RETRY kept");
}

static void
test_exits(void)
{
	struct wf_result r;
	const char *p;
	char *old_path;

	p = script("exit75", "echo 'busy, later' >&2; exit 75");
	act(fmt("'run':['%s']", p), jv_null(), &r);
	is_int(r.outcome, WF_OUT_RETRY, "exit 75: RETRY");
	is_str(r.error, "exit 75: busy, later", "exit 75: with stderr");
	is_int(r.exit_code, 75, "exit 75: exit code");
	wf_result_clear(&r);

	p = script("exit3", "echo 'first line' >&2\n"
			    "printf 'bad\\tthing\\001\\n\\n' >&2; exit 3");
	act(fmt("'run':['%s']", p), jv_null(), &r);
	is_int(r.outcome, WF_OUT_FAIL, "exit 3: FAIL");
	is_str(r.error, "exit 3: first line bad thing",
	       "exit 3: the stderr tail on one line");
	is_int(r.exit_code, 3, "exit 3: exit code");
	wf_result_clear(&r);

	p = script("exit4", "exit 4");
	act(fmt("'run':['%s']", p), jv_null(), &r);
	is_str(r.error, "exit 4", "exit 4 without stderr");
	wf_result_clear(&r);

	p = script("segv", "echo 'about to crash' >&2; kill -SEGV $$");
	act(fmt("'run':['%s']", p), jv_null(), &r);
	is_int(r.outcome, WF_OUT_FAIL, "a crash: FAIL");
	is_str(r.error, "killed by signal 11 (SIGSEGV): about to crash",
	       "a crash: the signal named");
	is_int(r.exit_code, 128 + SIGSEGV, "a crash: 128 + signal");
	wf_result_clear(&r);

	act("'run':['no-such-command-wf-exec']", jv_null(), &r);
	is_int(r.outcome, WF_OUT_FAIL, "command not found: FAIL");
	is_str(r.error,
	       "cannot run no-such-command-wf-exec: command not found in PATH",
	       "command not found: said clearly");
	wf_result_clear(&r);

	act("'run':['/nonexistent/wf-exec']", jv_null(), &r);
	is_int(r.outcome, WF_OUT_FAIL, "no such file: FAIL");
	like(r.error, "cannot run /nonexistent/wf-exec: no such file",
	     "no such file: said clearly");
	wf_result_clear(&r);

	p = file_mode("badinterp", "#!/nonexistent/sh\nexit 0\n", 0755);
	act(fmt("'run':['%s']", p), jv_null(), &r);
	is_int(r.outcome, WF_OUT_FAIL, "a missing #! interpreter: FAIL");
	if (under_valgrind())
		skip(1, "valgrind's posix_spawn cannot report a failed exec");
	else
		like(r.error, "the interpreter its #! line names is missing",
		     "a missing #! interpreter: said so (%s)", r.error);
	wf_result_clear(&r);

	/* a bare name from PATH; entries that are not absolute skipped */
	old_path = strdup(getenv("PATH"));
	script("inpath", "echo '\"found\"'");
	if (old_path == NULL ||
	    setenv("PATH", fmt(".:rel:%s:%s", dir, old_path), 1) != 0)
		abort();
	act("'run':['inpath']", jv_null(), &r);
	is_str(out_text(&r), "\"found\"", "a bare name found in PATH");
	wf_result_clear(&r);
	/* the cwd is dir: "." would find it */
	if (setenv("PATH", fmt(".:%s", old_path), 1) != 0)
		abort();
	act("'run':['inpath']", jv_null(), &r);
	like(r.error, "command not found in PATH",
	     "PATH is searched in absolute entries only");
	wf_result_clear(&r);
	if (setenv("PATH", old_path, 1) != 0)
		abort();
	free(old_path);

	p = script_mode("noexec", "exit 0", 0);
	act(fmt("'run':['%s']", p), jv_null(), &r);
	is_int(r.outcome, WF_OUT_FAIL, "not executable: FAIL");
	like(r.error, "not executable", "not executable: said clearly (%s)",
	     r.error);
	wf_result_clear(&r);
}

static void
test_stdout(void)
{
	struct wf_result r;
	const char *p;

	p = script("hello", "echo hello");
	act(fmt("'run':['%s']", p), jv_null(), &r);
	is_int(r.outcome, WF_OUT_FAIL, "non-JSON stdout: FAIL");
	like(r.error, "stdout is not JSON: invalid JSON at column 1",
	     "non-JSON stdout: the parser's words (%s)", r.error);
	wf_result_clear(&r);

	p = script("two", "printf '1 2'");
	act(fmt("'run':['%s']", p), jv_null(), &r);
	is_int(r.outcome, WF_OUT_FAIL, "two JSON values: FAIL");
	like(r.error, "stdout is not JSON: more than one JSON value",
	     "two JSON values: said so (%s)", r.error);
	wf_result_clear(&r);

	p = script("ws", "printf '  \\n\\t {\"a\" : 1}  \\n\\n'");
	act(fmt("'run':['%s']", p), jv_null(), &r);
	is_str(out_text(&r), Q("{'a':1}"), "white space around the value");
	wf_result_clear(&r);

	act("'run':['true']", jv_null(), &r);
	is_int(r.outcome, WF_OUT_OK, "empty stdout: OK");
	is_str(out_text(&r), "null", "empty stdout: null");
	wf_result_clear(&r);

	p = script("blank", "printf '  \\n '");
	act(fmt("'run':['%s']", p), jv_null(), &r);
	is_str(out_text(&r), "null", "only white space: null");
	wf_result_clear(&r);
}

static void
test_env(void)
{
	struct wf_result r;
	const char *p;

	/* inherited ones are replaced, others kept */
	if (setenv("SOV_WF_STEP", "inherited", 1) != 0 ||
	    setenv("WF_EXEC_KEEP", "kept", 1) != 0)
		abort();
	p = script("env",
		   "printf '{\"w\":\"%s\",\"e\":\"%s\",\"s\":\"%s\","
		   "\"a\":\"%s\",\"u\":\"%s\",\"k\":\"%s\",\"keep\":\"%s\","
		   "\"steps\":%s}' \"$SOV_WF_WORKFLOW\" \"$SOV_WF_EXECUTION\" "
		   "\"$SOV_WF_STEP\" \"$SOV_WF_ATTEMPT\" \"$SOV_WF_UNDO\" "
		   "\"$SOV_WF_IDEMPOTENCY_KEY\" \"$WF_EXEC_KEEP\" "
		   "\"$(tr '\\0' '\\n' < /proc/$$/environ | "
		   "grep -c '^SOV_WF_STEP=')\"");
	g_attempt = 3;
	act(fmt("'run':['%s'],'undo':{'run':['%s']}", p, p), jv_null(), &r);
	is_str(out_text(&r),
	       Q("{'a':'3','e':'42','k':'wf:42:s','keep':'kept','s':'s',"
		 "'steps':1,'u':'0','w':'t'}"),
	       "the SOV_WF_* environment, inherited ones replaced");
	wf_result_clear(&r);
	g_undo = 1;
	g_key = "wf:42:s:undo";
	act(fmt("'run':['%s'],'undo':{'run':['%s']}", p, p), jv_null(), &r);
	is_str(out_text(&r),
	       Q("{'a':'3','e':'42','k':'wf:42:s:undo','keep':'kept','s':'s',"
		 "'steps':1,'u':'1','w':'t'}"),
	       "an undo: SOV_WF_UNDO=1 and its own key");
	wf_result_clear(&r);
	g_undo = 0;
	g_attempt = 1;
	g_key = "wf:42:s";
	unsetenv("SOV_WF_STEP");
	unsetenv("WF_EXEC_KEEP");
}

static void
test_timeouts(void)
{
	struct wf_result r;
	long long t0, ms;
	const char *p;
	pid_t pg;

	p = script("sleeper", "echo $$ > sleeper.pid; sleep 30 & sleep 30");
	t0 = mono_ms();
	act(fmt("'run':['%s'],'timeout':'200ms'", p), jv_null(), &r);
	ms = mono_ms() - t0;
	is_int(r.outcome, WF_OUT_RETRY, "timeout: RETRY");
	is_str(r.error, "timed out after 200ms", "timeout: said so");
	ok(ms >= 200 && ms < 2500, "timeout: back in %lld ms", ms);
	pg = read_pid("sleeper.pid");
	ok(group_gone(pg), "timeout: no process left in group %ld", (long)pg);
	is_int(r.exit_code, 128 + SIGTERM, "timeout: ended by SIGTERM");
	wf_result_clear(&r);

	p = script("stubborn",
		   "trap '' TERM; echo $$ > stubborn.pid; sleep 30 & sleep 30");
	t0 = mono_ms();
	act(fmt("'run':['%s'],'timeout':'1s'", p), jv_null(), &r);
	ms = mono_ms() - t0;
	is_int(r.outcome, WF_OUT_RETRY, "SIGTERM ignored: RETRY");
	is_str(r.error, "timed out after 1s", "SIGTERM ignored: timed out");
	ok(ms >= 1000 + WF_KILL_GRACE_MS && ms < 1000 + WF_KILL_GRACE_MS + 1500,
	   "SIGTERM ignored: SIGKILL after the grace (%lld ms)", ms);
	is_int(r.exit_code, 128 + SIGKILL, "SIGTERM ignored: SIGKILLed");
	pg = read_pid("stubborn.pid");
	ok(group_gone(pg), "SIGTERM ignored: no process left in group");
	wf_result_clear(&r);

	/* ends at once, leaving a sleeper behind in its group */
	p = script("leaver", "echo $$ > leaver.pid; sleep 30 & echo 7");
	t0 = mono_ms();
	act(fmt("'run':['%s']", p), jv_null(), &r);
	ms = mono_ms() - t0;
	is_str(out_text(&r), "7", "leftovers: the output");
	ok(ms < 1500, "leftovers: not waited for (%lld ms)", ms);
	ok(group_gone(read_pid("leaver.pid")), "leftovers: killed");
	wf_result_clear(&r);
}

static void
test_floods(void)
{
	struct wf_result r;
	long rss0, rss1;
	const char *p;

	rss0 = max_rss_kb();
	act("'run':['yes']", jv_null(), &r);
	is_int(r.outcome, WF_OUT_FAIL, "stdout flood: FAIL");
	is_str(r.error, "output over 1048576 bytes", "stdout flood: said so");
	wf_result_clear(&r);

	act("'run':['yes'],'output_max':1000", jv_null(), &r);
	is_str(r.error, "output over 1000 bytes", "output_max 1000");
	wf_result_clear(&r);

	p = script("exact", "head -c 1000 /dev/zero | tr '\\0' ' '");
	act(fmt("'run':['%s'],'output_max':1000", p), jv_null(), &r);
	is_int(r.outcome, WF_OUT_OK, "exactly output_max bytes: OK (%s)",
	       r.error);
	wf_result_clear(&r);

	p = script("errflood", "yes 'an error line' | head -c 52428800 >&2\n"
			       "echo 'the last words' >&2; exit 3");
	act(fmt("'run':['%s']", p), jv_null(), &r);
	is_int(r.outcome, WF_OUT_FAIL, "stderr flood: FAIL");
	ok(strncmp(r.error, "exit 3: ...", 11) == 0 &&
	       strstr(r.error, "an error line an error line") != NULL &&
	       strlen(r.error) <= WF_STDERR_TAIL + 16 &&
	       strcmp(r.error + strlen(r.error) - 14, "the last words") == 0,
	   "stderr flood: only the tail kept (%zu bytes)", strlen(r.error));
	wf_result_clear(&r);
	rss1 = max_rss_kb();
	ok(rss1 - rss0 < 25 * 1024,
	   "floods: memory stayed bounded (peak grew %ld KiB)", rss1 - rss0);
}

static jv
big_input(void)
{
	char *s = malloc(BIG_INPUT);
	jv v;

	if (s == NULL)
		abort();
	for (size_t i = 0; i < BIG_INPUT; i++)
		s[i] = (char)('a' + i % 26);
	v = jv_string_sized(s, BIG_INPUT);
	free(s);
	return v;
}

static void
test_big(void)
{
	struct wf_result r;
	jv want, got;
	const char *p;
	long long t0;

	p = script("noread", "echo '{\"ok\":true}'");
	t0 = mono_ms();
	act(fmt("'run':['%s']", p), big_input(), &r);
	is_int(r.outcome, WF_OUT_OK, "4 MiB to a command that does not read");
	is_str(out_text(&r), Q("{'ok':true}"), "... its output");
	ok(mono_ms() - t0 < 5000, "... no hang");
	wf_result_clear(&r);

	/* and one that fails at once, before the first write */
	act("'run':['false']", big_input(), &r);
	is_str(r.error, "exit 1", "4 MiB to a command that exits at once");
	wf_result_clear(&r);

	want = big_input();
	act("'run':['cat'],'output_max':8388608", jv_copy(want), &r);
	is_int(r.outcome, WF_OUT_OK, "4 MiB through cat: OK (%s)", r.error);
	got = jv_copy(r.output);
	ok(jv_equal(got, want), "4 MiB through cat: the same value back");
	wf_result_clear(&r);
}

/* ---- http: libmicrohttpd as the test stand-in for a service ---- */

struct upload {
	char *data;
	size_t len;
};

struct count {
	const char *name;
	int n;
};

static enum MHD_Result
count_header(void *cls, enum MHD_ValueKind kind, const char *key,
	     const char *value)
{
	struct count *c = cls;

	(void)kind;
	(void)value;
	if (strcasecmp(key, c->name) == 0)
		c->n++;
	return MHD_YES;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body,
					    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
reply_str(struct MHD_Connection *c, unsigned status, const char *body)
{
	return reply(c, status, body, strlen(body));
}

static const char *
req_header(struct MHD_Connection *c, const char *name)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

	return v != NULL ? v : "-";
}

/* Paths that answer the same every time. */
static const struct {
	const char *url;
	unsigned status;
	const char *body;
} canned[] = {
    {"/json", 200, "{\"x\": [1, 2]}\n"},
    {"/text", 200, "hello, world"},
    {"/empty", 204, ""},
    {"/created", 201, "{\"id\": 7}"},
    {"/503", 503, "busy\nnow"},
    {"/500", 500, "oops"},
    {"/429", 429, "slow down"},
    {"/408", 408, ""},
    {"/404", 404, "nope\nnot here"},
};

static enum MHD_Result
route(struct MHD_Connection *c, const char *url, const char *method,
      struct upload *u)
{
	static char big[10000];
	char buf[4096];
	struct count key = {"Idempotency-Key", 0};
	int n;

	for (size_t i = 0; i < sizeof(canned) / sizeof(canned[0]); i++)
		if (strcmp(url, canned[i].url) == 0)
			return reply_str(c, canned[i].status, canned[i].body);
	if (strcmp(url, "/big") == 0) {
		memset(big, 'x', sizeof(big));
		return reply(c, 200, big, sizeof(big));
	}
	if (strcmp(url, "/404big") == 0) {
		memset(big, 'y', sizeof(big));
		return reply(c, 404, big, sizeof(big));
	}
	if (strcmp(url, "/slow") == 0) {
		usleep(1000 * 1000);
		return reply_str(c, 200, "{}");
	}
	if (strcmp(url, "/seen") == 0) {
		MHD_get_connection_values(c, MHD_HEADER_KIND, count_header,
					  &key);
		/* our bodies are compact JSON without a NUL */
		n = snprintf(buf, sizeof(buf),
			     "{\"method\":\"%s\",\"key\":\"%s\",\"keys\":%d,"
			     "\"attempt\":\"%s\",\"ctype\":\"%s\","
			     "\"custom\":\"%s\",\"body\":%.*s}",
			     method, req_header(c, "Idempotency-Key"), key.n,
			     req_header(c, "X-Sov-Attempt"),
			     req_header(c, "Content-Type"),
			     req_header(c, "X-Custom"),
			     u->len > 0 ? (int)u->len : 4,
			     u->len > 0 ? u->data : "null");
		if (n < 0 || (size_t)n >= sizeof(buf))
			return reply_str(c, 500, "seen: too long");
		return reply_str(c, 200, buf);
	}
	return reply_str(c, 404, "no route");
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
	const char *method, const char *version, const char *upload_data,
	size_t *upload_size, void **con_cls)
{
	struct upload *u = *con_cls;
	char *p;

	(void)cls;
	(void)version;
	if (u == NULL) {
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return MHD_NO;
		*con_cls = u;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (u->len + *upload_size > UPLOAD_MAX ||
		    (p = realloc(u->data, u->len + *upload_size)) == NULL)
			return MHD_NO;
		memcpy(p + u->len, upload_data, *upload_size);
		u->data = p;
		u->len += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}
	return route(c, url, method, u);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
	  enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (u != NULL) {
		free(u->data);
		free(u);
	}
	*con_cls = NULL;
}

static struct MHD_Daemon *
stand_in_start(void)
{
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
	    NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, completed,
	    NULL, MHD_OPTION_END);
	if (d == NULL)
		return NULL;
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL)
		abort();
	snprintf(base, sizeof(base), "http://127.0.0.1:%u",
		 (unsigned)info->port);
	return d;
}

/* A port nothing listens on (bound, then closed). */
static unsigned
closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) < 0)
		abort();
	close(s);
	return ntohs(sa.sin_port);
}

static void
test_http(void)
{
	struct wf_result r;
	long long t0;

	act(fmt("'http':{'url':'%s/json'}", base), jv_null(), &r);
	is_int(r.outcome, WF_OUT_OK, "200 JSON: OK (%s)", r.error);
	is_str(out_text(&r), Q("{'x':[1,2]}"), "200 JSON: parsed");
	is_int(r.http_status, 200, "200 JSON: status");
	is_int(r.exit_code, -1, "http: no exit code");
	wf_result_clear(&r);

	act(fmt("'http':{'url':'%s/text'}", base), jv_null(), &r);
	is_str(out_text(&r), Q("'hello, world'"), "200 not JSON: a string");
	wf_result_clear(&r);

	act(fmt("'http':{'url':'%s/empty'}", base), jv_null(), &r);
	is_int(r.outcome, WF_OUT_OK, "204: OK");
	is_str(out_text(&r), "null", "204: null");
	is_int(r.http_status, 204, "204: status");
	wf_result_clear(&r);

	act(fmt("'http':{'url':'%s/503'}", base), jv_null(), &r);
	is_int(r.outcome, WF_OUT_RETRY, "503: RETRY");
	is_str(r.error, fmt("HTTP 503 from %s/503: busy now", base),
	       "503: the status, URL and body on one line");
	is_int(r.http_status, 503, "503: status");
	wf_result_clear(&r);

	act(fmt("'http':{'url':'%s/500','method':'POST'}", base), jv_null(),
	    &r);
	is_int(r.outcome, WF_OUT_RETRY, "500 to a POST: RETRY");
	wf_result_clear(&r);
	act(fmt("'http':{'url':'%s/429'}", base), jv_null(), &r);
	is_int(r.outcome, WF_OUT_RETRY, "429: RETRY");
	wf_result_clear(&r);
	act(fmt("'http':{'url':'%s/408'}", base), jv_null(), &r);
	is_int(r.outcome, WF_OUT_RETRY, "408: RETRY");
	is_str(r.error, fmt("HTTP 408 from %s/408", base),
	       "408: no body, no colon");
	wf_result_clear(&r);

	act(fmt("'http':{'url':'%s/404'}", base), jv_null(), &r);
	is_int(r.outcome, WF_OUT_FAIL, "404: FAIL");
	is_str(r.error, fmt("HTTP 404 from %s/404: nope not here", base),
	       "404: said so");
	wf_result_clear(&r);

	act(fmt("'http':{'url':'%s/404big'}", base), jv_null(), &r);
	ok(strlen(r.error) == strlen(base) + strlen("HTTP 404 from /404big: ") +
				  WF_HTTP_BODY_QUOTED + 3,
	   "a long refused body: its first %d bytes quoted",
	   WF_HTTP_BODY_QUOTED);
	wf_result_clear(&r);

	act(fmt("'http':{'url':'%s/created','expect':[201]}", base), jv_null(),
	    &r);
	is_str(out_text(&r), Q("{'id':7}"), "expect [201]: 201 is OK");
	wf_result_clear(&r);
	act(fmt("'http':{'url':'%s/json','expect':[201]}", base), jv_null(),
	    &r);
	is_int(r.outcome, WF_OUT_FAIL, "expect [201]: 200 FAILs");
	like(r.error, "HTTP 200 from", "expect [201]: said so");
	wf_result_clear(&r);
	act(fmt("'http':{'url':'%s/404','expect':[200,404]}", base), jv_null(),
	    &r);
	is_int(r.outcome, WF_OUT_OK, "expect [200,404]: 404 is OK");
	is_str(out_text(&r), Q("'nope\\nnot here'"),
	       "expect [200,404]: the body as a string");
	wf_result_clear(&r);

	act(fmt("'http':{'url':'http://127.0.0.1:%u/x'}", closed_port()),
	    jv_null(), &r);
	is_int(r.outcome, WF_OUT_RETRY, "connection refused: RETRY");
	like(r.error, "Connection refused",
	     "connection refused: curl's reason");
	is_int(r.http_status, 0, "connection refused: no status");
	wf_result_clear(&r);

	t0 = mono_ms();
	act(fmt("'http':{'url':'%s/slow'},'timeout':'200ms'", base), jv_null(),
	    &r);
	is_int(r.outcome, WF_OUT_RETRY, "no answer in time: RETRY");
	like(r.error, "timed out", "no answer in time: said so (%s)", r.error);
	ok(mono_ms() - t0 < 900, "no answer in time: the step's timeout");
	wf_result_clear(&r);

	act(fmt("'http':{'url':'%s/big'},'output_max':1000", base), jv_null(),
	    &r);
	is_int(r.outcome, WF_OUT_FAIL, "response over output_max: FAIL");
	like(r.error, "response over 1000 bytes", "... said so");
	wf_result_clear(&r);
	act(fmt("'http':{'url':'%s/big'},'output_max':10000", base), jv_null(),
	    &r);
	is_int(r.outcome, WF_OUT_OK, "response of exactly output_max: OK");
	wf_result_clear(&r);

	g_attempt = 3;
	act(fmt("'http':{'url':'%s/seen','body':'.in',"
		"'headers':{'X-Custom':'v1'}}",
		base),
	    parse("{'in':{'a':[1,'b']}}"), &r);
	is_str(out_text(&r),
	       Q("{'attempt':'3','body':{'a':[1,'b']},'ctype':'application/"
		 "json','custom':'v1','key':'wf:42:s','keys':1,'method':"
		 "'POST'}"),
	       "what arrives: Idempotency-Key, X-Sov-Attempt, the body as "
	       "JSON");
	wf_result_clear(&r);
	act(fmt("'http':{'url':'%s/seen','method':'PUT','body':'.',"
		"'headers':{'idempotency-key':'mine','x-sov-attempt':'9',"
		"'content-type':'application/x-json'}}",
		base),
	    jv_number(5), &r);
	is_str(out_text(&r),
	       Q("{'attempt':'9','body':5,'ctype':'application/x-json',"
		 "'custom':'-','key':'mine','keys':1,'method':'PUT'}"),
	       "the definition's own headers win, ignoring case");
	wf_result_clear(&r);
	g_attempt = 1;
	act(fmt("'http':{'url':'%s/seen'}", base), jv_null(), &r);
	is_str(out_text(&r),
	       Q("{'attempt':'1','body':null,'ctype':'-','custom':'-',"
		 "'key':'wf:42:s','keys':1,'method':'GET'}"),
	       "a GET: no body, no Content-Type");
	wf_result_clear(&r);

	act(fmt("'http':{'url':'%s/seen','body':'.a.b'}", base),
	    parse("{'a':1}"), &r);
	is_int(r.outcome, WF_OUT_FAIL, "a body program that fails: FAIL");
	like(r.error, "Cannot index number", "... with jq's words");
	wf_result_clear(&r);
}

/* ---- several worker threads at once, each with its own runner ---- */

#define THREADS 4
#define ROUNDS 15

struct worker {
	struct wf_def *cat, *jq, *http, *slow;
	int bad;         /* actions with an unexpected outcome */
	long long worst; /* ms of the slowest quick action */
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct wf_result r;
	struct wf_exec *x;
	struct sov_err e;
	long long t0, ms;
	char want[64];
	jv in;

	if ((x = wf_exec_new(&e)) == NULL) {
		w->bad++;
		return NULL;
	}
	for (int i = 0; i < ROUNDS; i++) {
		if (w->slow != NULL && i % 5 == 0) {
			act_def(x, w->slow, jv_null(), &r);
			w->bad += r.outcome != WF_OUT_OK;
			wf_result_clear(&r);
		}
		t0 = mono_ms();
		in = jv_object_set(jv_object(), jv_string("i"), jv_number(i));
		act_def(x, w->cat, in, &r);
		ms = mono_ms() - t0;
		snprintf(want, sizeof(want), "{\"i\":%d}", i);
		w->bad +=
		    r.outcome != WF_OUT_OK || strcmp(out_text_r(&r), want) != 0;
		w->worst = ms > w->worst ? ms : w->worst;
		wf_result_clear(&r);
		act_def(x, w->jq, jv_number(i), &r);
		w->bad += r.outcome != WF_OUT_OK ||
			  jv_number_value(r.output) != i + 1;
		wf_result_clear(&r);
		if (w->http != NULL) {
			act_def(x, w->http, jv_null(), &r);
			w->bad += r.outcome != WF_OUT_OK;
			wf_result_clear(&r);
		}
	}
	wf_exec_free(x);
	return NULL;
}

static void
test_threads(int with_http)
{
	struct worker w[THREADS];
	pthread_t t[THREADS];
	const char *slow;
	int i, started = 0, bad = 0;
	long long worst = 0;

	/* loaded here: each thread owns its definitions' jq programs */
	slow = script("slow", "sleep 1; echo 1");
	memset(w, 0, sizeof(w));
	for (i = 0; i < THREADS; i++) {
		w[i].cat = load("'run':['cat']");
		w[i].jq = load("'jq':'. + 1'");
		w[i].http = with_http
				? load(fmt("'http':{'url':'%s/json'}", base))
				: NULL;
		w[i].slow = i == 0 ? load(fmt("'run':['%s']", slow)) : NULL;
		if (w[i].cat == NULL || w[i].jq == NULL)
			abort();
	}
	for (i = 0; i < THREADS; i++)
		started += pthread_create(&t[i], NULL, worker_main, &w[i]) == 0;
	is_int(started, THREADS, "threads: %d started", THREADS);
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < THREADS; i++) {
		bad += w[i].bad;
		worst = w[i].worst > worst ? w[i].worst : worst;
		wf_def_free(w[i].cat);
		wf_def_free(w[i].jq);
		wf_def_free(w[i].http);
		wf_def_free(w[i].slow);
	}
	is_int(bad, 0, "threads: every action as expected%s",
	       with_http ? " (run, jq, http)" : " (run, jq)");
	/* a pipe end leaked into another thread's child would hold a quick
	 * step until that child (a 1 s sleeper) ends */
	ok(worst < 800, "threads: no step waits on another's child (%lld ms)",
	   worst);
}

static void
test_bad_calls(void)
{
	struct wf_exec_call call;
	struct wf_action a;
	struct wf_result r;
	struct sov_err e;
	char *argv[] = {(char *)"true", NULL};

	memset(&a, 0, sizeof(a));
	a.kind = WF_KIND_RUN;
	a.argv = argv;
	a.argc = 1;
	memset(&call, 0, sizeof(call));
	call.workflow = "t";
	call.step = "s";
	call.attempt = 1;
	call.idempotency_key = "k";
	call.timeout_ms = 0;
	call.output_max = 10;
	sov_err_clear(&e);
	is_int(wf_exec_action(X, &a, &call, jv_null(), &r, &e), -1,
	       "a timeout of 0: the worker's error");
	is_int(r.outcome, WF_OUT_RETRY, "... RETRY");
	like(r.error, "out of range", "... with the message");
	call.timeout_ms = 1000;
	call.idempotency_key = "a\nb";
	is_int(wf_exec_action(X, &a, &call, jv_null(), &r, &e), -1,
	       "a control character in the key: refused");
	call.idempotency_key = "k";
	a.kind = WF_KIND_JQ;
	is_int(wf_exec_action(X, &a, &call, jv_null(), &r, &e), -1,
	       "a jq action not compiled: the worker's error");
	like(e.msg, "WF_DEF_NO_COMPILE", "... said so");
}

int
main(void)
{
	struct MHD_Daemon *d;
	struct rlimit nocore = {0, 0};
	struct sov_err e;
	sigset_t before, after;
	int fds0, fds1, st;

	/* no core files from the crash test; stray files in the temp dir */
	if (setrlimit(RLIMIT_CORE, &nocore) != 0)
		return 1;
	snprintf(dir, sizeof(dir), "/tmp/test_wf_exec.XXXXXX");
	if (mkdtemp(dir) == NULL || chdir(dir) != 0)
		return 1;
	X = wf_exec_new(&e);
	if (X == NULL)
		return 1;
	pthread_sigmask(SIG_SETMASK, NULL, &before);
	fds0 = count_fds();

	test_basics();
	test_messages();
	test_exits();
	test_stdout();
	test_env();
	test_timeouts();
	test_floods();
	test_big();
	test_bad_calls();

	ok(waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD,
	   "every child reaped");
	is_int(count_fds(), fds0, "no descriptor left open");
	pthread_sigmask(SIG_SETMASK, NULL, &after);
	ok(sigismember(&after, SIGPIPE) == sigismember(&before, SIGPIPE),
	   "the signal mask is restored");

	d = stand_in_start();
	if (d == NULL) {
		skip(1, "libmicrohttpd could not listen on 127.0.0.1");
		test_threads(0);
	} else {
		test_http();
		test_threads(1);
		MHD_stop_daemon(d);
	}
	wf_exec_free(X);
	fds1 = count_fds();
	ok(fds1 <= fds0, "no descriptor left after the http client");

	for (size_t i = 0; i < n_files; i++) {
		unlink(files[i]);
		free(files[i]);
	}
	unlink("sleeper.pid");
	unlink("stubborn.pid");
	unlink("leaver.pid");
	if (chdir("/") != 0 || rmdir(dir) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
