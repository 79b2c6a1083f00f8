/*
 * test_proc.c - sov_proc_run on real commands (/bin/sh scripts): an exit,
 * a failing exit, a signal, a timeout that kills the whole process group,
 * SIGTERM before SIGKILL, output over the cap, a big input the command
 * does not read, a missing or non-executable file, the start and the end
 * of stderr, the environment.
 *
 * SIGPIPE keeps its default here on purpose: a write to a command that
 * does not read its input must not kill the caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "tap.h"
#include "timestamp.h"

/* argv and env entries from literals (never written to) */
#define S(lit) ((char *)(lit))

static char dir[256];

static int
run_sh(const char *script, int64_t timeout_ms, int64_t grace_ms, size_t out_max,
       struct sov_proc_result *r, struct sov_err *e)
{
	char *argv[] = {S("/bin/sh"), S("-c"), (char *)script, NULL};
	struct sov_proc_opts o = {.argv = argv,
				  .timeout_ms = timeout_ms,
				  .kill_grace_ms = grace_ms,
				  .out_max = out_max};

	return sov_proc_run(&o, r, e);
}

/* Gone, or a zombie nobody has reaped yet: either way not running. */
static int
dead(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && (p[2] == 'Z' || p[2] == 'X');
}

static pid_t
read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	int pid = 0;

	if (f != NULL) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

static void
test_exits(void)
{
	struct sov_proc_result r;
	struct sov_err e = {0};
	int rc;

	rc = run_sh("echo hello; echo warn >&2", 5000, 0, 1024, &r, &e);
	ok(rc == 0 && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
	   "a normal exit: 0, exit status 0");
	is_str(r.out, "hello\n", "its stdout");
	ok(r.err_head_len == 5 && memcmp(r.err_head, "warn\n", 5) == 0 &&
	       r.err_tail_len == 5 && r.err_total == 5,
	   "its stderr, at the start and the end");
	ok(!r.timed_out && !r.over, "neither timed out nor over the cap");
	sov_proc_result_free(&r);
	sov_proc_result_free(&r); /* safe twice */

	rc = run_sh("echo half; exit 3", 5000, 0, 1024, &r, &e);
	ok(rc == 0 && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 3,
	   "a non-zero exit: 0, exit status 3");
	is_str(r.out, "half\n", "its stdout all the same");
	sov_proc_result_free(&r);

	rc = run_sh(":", 5000, 0, 1024, &r, &e);
	ok(rc == 0 && r.out != NULL && r.out_len == 0 && r.out[0] == '\0',
	   "no output: an empty string, not NULL");
	sov_proc_result_free(&r);

	rc = run_sh("kill -TERM $$; sleep 5", 5000, 0, 1024, &r, &e);
	ok(rc == 0 && WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGTERM,
	   "killed by a signal: 0, WIFSIGNALED SIGTERM");
	ok(!r.timed_out, "not taken for a timeout");
	sov_proc_result_free(&r);
}

static void
test_timeout(void)
{
	struct sov_proc_result r;
	struct sov_err e = {0};
	char script[512], pidfile[320];
	int64_t t0, took;
	pid_t sleeper;
	int rc;

	/* a child that forks a sleeper, both in the group */
	snprintf(pidfile, sizeof(pidfile), "%s/sleeper", dir);
	snprintf(script, sizeof(script),
		 "sleep 30 & echo $! >%s; echo started; sleep 30", pidfile);
	t0 = sov_time_mono_ms();
	rc = run_sh(script, 300, 0, 1024, &r, &e);
	took = sov_time_mono_ms() - t0;
	ok(rc == 0 && r.timed_out, "a timeout: 0, timed_out");
	ok(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGKILL,
	   "killed by SIGKILL (no grace)");
	ok(took >= 300 && took < 3000, "at the deadline (%lld ms)",
	   (long long)took);
	is_str(r.out, "started\n", "what it printed before is kept");
	sleeper = read_pid(pidfile);
	for (int i = 0; i < 100 && sleeper > 0 && !dead(sleeper); i++)
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	ok(sleeper > 0 && dead(sleeper),
	   "the sleeper it forked is killed with it (its process group)");
	sov_proc_result_free(&r);

	/* with a grace: SIGTERM first, and it may end on its own */
	t0 = sov_time_mono_ms();
	rc = run_sh("trap 'echo term >&2; exit 7' TERM; sleep 30 & wait", 300,
		    5000, 1024, &r, &e);
	took = sov_time_mono_ms() - t0;
	ok(rc == 0 && r.timed_out && WIFEXITED(r.status) &&
	       WEXITSTATUS(r.status) == 7,
	   "with a grace: SIGTERM, which it caught, then exit 7");
	ok(took < 4000, "well before the SIGKILL (%lld ms)", (long long)took);
	ok(r.err_tail_len == 5 && memcmp(r.err_tail, "term\n", 5) == 0,
	   "what it said on SIGTERM is kept");
	sov_proc_result_free(&r);

	/* one that ignores SIGTERM gets SIGKILL after the grace */
	t0 = sov_time_mono_ms();
	rc = run_sh("trap '' TERM; while :; do sleep 0.05; done", 200, 300,
		    1024, &r, &e);
	took = sov_time_mono_ms() - t0;
	ok(rc == 0 && r.timed_out && WIFSIGNALED(r.status) &&
	       WTERMSIG(r.status) == SIGKILL,
	   "ignoring SIGTERM: SIGKILL after the grace");
	ok(took >= 500 && took < 4000, "at deadline + grace (%lld ms)",
	   (long long)took);
	sov_proc_result_free(&r);

	/* pipes closed early do not end the wait: the deadline does */
	rc = run_sh("exec >&- 2>&-; sleep 30", 200, 0, 1024, &r, &e);
	ok(rc == 0 && r.timed_out, "stdout and stderr closed, still timed "
				   "out at the deadline");
	sov_proc_result_free(&r);
}

static void
test_output_cap(void)
{
	struct sov_proc_result r;
	struct sov_err e = {0};
	int64_t t0 = sov_time_mono_ms(), took;
	int rc;

	rc = run_sh("yes", 10000, 0, 1000, &r, &e);
	took = sov_time_mono_ms() - t0;
	ok(rc == 0 && r.over && !r.timed_out, "over the cap: 0, over");
	ok(r.out_len == 1001 && strlen(r.out) == 1001,
	   "one byte past the cap kept, NUL-terminated (%zu)", r.out_len);
	ok(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGKILL,
	   "killed with SIGKILL");
	ok(took < 3000, "at once (%lld ms)", (long long)took);
	sov_proc_result_free(&r);

	rc = run_sh("head -c 1000 /dev/zero", 10000, 0, 1000, &r, &e);
	ok(rc == 0 && !r.over && r.out_len == 1000 && WIFEXITED(r.status),
	   "exactly the cap is not over it");
	sov_proc_result_free(&r);
}

static void
test_stdin(void)
{
	size_t big = 8u << 20;
	char *in = malloc(big),
	     *argv[] = {S("/bin/sh"), S("-c"), S("exit 0"), NULL},
	     *wc[] = {S("wc"), S("-c"), NULL};
	struct sov_proc_opts o = {
	    .argv = argv, .in_len = big, .timeout_ms = 10000, .out_max = 1024};
	struct sov_proc_result r;
	struct sov_err e = {0};
	int rc;

	memset(in, 'x', big);
	o.in = in;
	rc = sov_proc_run(&o, &r, &e);
	ok(rc == 0 && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0 &&
	       !r.timed_out,
	   "8 MiB to a command that reads none of it: no deadlock, and we "
	   "are alive (no SIGPIPE)");
	sov_proc_result_free(&r);

	o.argv = wc;
	rc = sov_proc_run(&o, &r, &e);
	ok(rc == 0 && r.out != NULL && atol(r.out) == (long)big,
	   "8 MiB to one that reads it all: wc -c says %s",
	   r.out ? r.out : "nothing");
	sov_proc_result_free(&r);

	o.in = NULL;
	o.in_len = 0;
	rc = sov_proc_run(&o, &r, &e);
	ok(rc == 0 && r.out != NULL && atol(r.out) == 0,
	   "no input: an empty stdin");
	sov_proc_result_free(&r);
	free(in);
}

static void
test_start(void)
{
	char *missing[] = {S("/nonexistent/sov-proc-test"), NULL},
	     *unknown[] = {S("sov-proc-no-such-command"), NULL}, notexec[320],
	     *noexec[] = {notexec, NULL};
	struct sov_proc_opts o = {.timeout_ms = 5000, .out_max = 1024};
	struct sov_proc_result r;
	struct sov_err e = {0};
	int rc, fd;

	o.argv = missing;
	rc = sov_proc_run(&o, &r, &e);
	ok(rc == 1 && r.start_err == ENOENT && !r.found,
	   "a missing file: 1, ENOENT, not found");
	sov_proc_result_free(&r);

	o.argv = unknown;
	rc = sov_proc_run(&o, &r, &e);
	ok(rc == 1 && r.start_err == ENOENT && !r.found,
	   "a command not in PATH: 1, ENOENT");
	sov_proc_result_free(&r);

	snprintf(notexec, sizeof(notexec), "%s/notexec", dir);
	fd = open(notexec, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		close(fd);
	o.argv = noexec;
	rc = sov_proc_run(&o, &r, &e);
	ok(rc == 1 && r.start_err == EACCES, "a file not executable: 1, "
					     "EACCES");
	sov_proc_result_free(&r);
	unlink(notexec);

	o.argv = NULL;
	rc = sov_proc_run(&o, &r, &e);
	ok(rc == -1 && strstr(e.msg, "no command") != NULL,
	   "no argv: -1, \"%s\"", e.msg);
	sov_proc_result_free(&r);
}

static void
test_stderr_and_env(void)
{
	char *argv[] = {S("/bin/sh"), S("-c"), S("echo \"$SOV_PROC_T\""), NULL},
	     *env[] = {S("SOV_PROC_T=from the caller"), S("PATH=/usr/bin:/bin"),
		       NULL};
	struct sov_proc_opts o = {
	    .argv = argv, .env = env, .timeout_ms = 5000, .out_max = 1024};
	struct sov_proc_result r;
	struct sov_err e = {0};
	int rc;

	rc = run_sh("head -c 5000 /dev/zero | tr '\\000' a >&2; echo END >&2",
		    5000, 0, 1024, &r, &e);
	ok(rc == 0 && r.err_total == 5004, "5004 bytes of stderr read (%zu)",
	   r.err_total);
	ok(r.err_head_len == SOV_PROC_ERR_KEEP && r.err_head[0] == 'a',
	   "its first %d kept", SOV_PROC_ERR_KEEP);
	ok(r.err_tail_len == SOV_PROC_ERR_KEEP &&
	       memcmp(r.err_tail + SOV_PROC_ERR_KEEP - 4, "END\n", 4) == 0 &&
	       r.err_tail[0] == 'a',
	   "its last %d kept", SOV_PROC_ERR_KEEP);
	sov_proc_result_free(&r);

	rc = sov_proc_run(&o, &r, &e);
	is_str(rc == 0 ? r.out : NULL, "from the caller\n",
	       "the environment given, not ours");
	sov_proc_result_free(&r);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "%s/test_proc.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_exits();
	test_timeout();
	test_output_cap();
	test_stdin();
	test_start();
	test_stderr_and_env();
	{
		char path[320];

		snprintf(path, sizeof(path), "%s/sleeper", dir);
		unlink(path);
		rmdir(dir);
	}
	return done_testing();
}
