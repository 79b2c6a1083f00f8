/*
 * exec_run.c - the run action: the command (started by exec_spawn.c) gets
 * the input on its stdin; its stdout is the output, the tail of its stderr
 * the error; all three pipes are polled together so that a big input and
 * a big output never wait on each other.
 *
 * SIGPIPE is blocked in this thread while the input is written, and one
 * raised by our write is taken back: a command that does not read its
 * input is fine.
 *
 * The child's exit is seen through a pidfd where the kernel has one, else
 * by looking every RUN_TICK_MS. It is then left a zombie (waitid WNOWAIT)
 * while whatever it left running in its group is killed, since its group
 * id cannot be reused before the zombie is reaped. The group gets SIGTERM
 * on a timeout and SIGKILL WF_KILL_GRACE_MS later.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_int.h"
#include "json_dump.h"

#define RUN_CHUNK (64u << 10)         /* bytes per read or write */
#define RUN_OUT_FIRST (64u << 10)     /* first size of the stdout buffer */
#define RUN_TICK_MS 50                /* exit checks without a pidfd */
#define RUN_TICK_IDLE_MS 5            /* ... once both pipes are closed */
#define RUN_DRAIN_MS WF_KILL_GRACE_MS /* pipes read after the exit */

struct run {
	pid_t pid;               /* 0: none */
	int reaped;              /* or gone: never signal pid again */
	int in, out, err, pidfd; /* our ends; -1 when closed */
	jv in_text;              /* the input, compact, and a newline */
	const char *in_buf;
	size_t in_len, in_off;
	char *out_buf;
	size_t out_len, out_cap, out_max;
	char tail[WF_STDERR_TAIL];
	size_t tail_len;
	int tail_cut;
	int exited, timed_out, killed, over;
	long long deadline, kill_at, drain_until;
	int status;
	sigset_t pipe_set;
};

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd); /* a pipe end: nothing to lose on close */
	*fd = -1;
}

static void
kill_group(struct run *ru, int sig)
{
	/* ESRCH: nobody left; anything else cannot happen for our group */
	if (ru->pid > 0 && !ru->reaped)
		(void)kill(-ru->pid, sig);
}

/* Our write raised SIGPIPE (blocked here): take it back, unless the
 * process ignores it anyway, when none is pending. */
static void
drop_sigpipe(struct run *ru)
{
	struct timespec zero = {0, 0};
	sigset_t pending;

	if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
		while (sigtimedwait(&ru->pipe_set, NULL, &zero) < 0 &&
		       errno == EINTR)
			;
}

static int
feed(struct run *ru, struct sov_err *e)
{
	size_t n = ru->in_len - ru->in_off;
	ssize_t w;

	if (n > RUN_CHUNK)
		n = RUN_CHUNK;
	w = write(ru->in, ru->in_buf + ru->in_off, n);
	if (w < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		if (errno == EPIPE) { /* it does not read its input: fine */
			drop_sigpipe(ru);
			close_fd(&ru->in);
			return 0;
		}
		return sov_err_sys(e, SOV_EXIT_FAIL,
				   "writing the command's stdin");
	}
	ru->in_off += (size_t)w;
	if (ru->in_off == ru->in_len)
		close_fd(&ru->in); /* EOF for the command */
	return 0;
}

static int
take_out(struct run *ru, struct sov_err *e)
{
	size_t cap;
	ssize_t n;
	char *p;

	if (ru->out_len == ru->out_cap) {
		/* up to one byte over the limit, to see it passed */
		cap = ru->out_cap ? ru->out_cap * 2 : RUN_OUT_FIRST;
		if (cap > ru->out_max + 1)
			cap = ru->out_max + 1;
		if ((p = realloc(ru->out_buf, cap)) == NULL)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL,
					   "buffering the command's stdout");
		ru->out_buf = p;
		ru->out_cap = cap;
	}
	n = read(ru->out, ru->out_buf + ru->out_len, ru->out_cap - ru->out_len);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		return sov_err_sys(e, SOV_EXIT_FAIL,
				   "reading the command's stdout");
	}
	if (n == 0) {
		close_fd(&ru->out);
		return 0;
	}
	ru->out_len += (size_t)n;
	if (ru->out_len > ru->out_max && !ru->over) {
		ru->over = 1;
		kill_group(ru, SIGKILL);
		ru->killed = 1;
		close_fd(&ru->out);
		close_fd(&ru->in);
	}
	return 0;
}

/* Read stderr, keeping only its last WF_STDERR_TAIL bytes. */
static int
take_err(struct run *ru, struct sov_err *e)
{
	char buf[16384], joined[WF_STDERR_TAIL];
	size_t keep, k;
	ssize_t n;

	n = read(ru->err, buf, sizeof(buf));
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		return sov_err_sys(e, SOV_EXIT_FAIL,
				   "reading the command's stderr");
	}
	if (n == 0) {
		close_fd(&ru->err);
		return 0;
	}
	k = (size_t)n;
	if (k >= sizeof(ru->tail)) {
		memcpy(ru->tail, buf + k - sizeof(ru->tail), sizeof(ru->tail));
		ru->tail_cut |= ru->tail_len > 0 || k > sizeof(ru->tail);
		ru->tail_len = sizeof(ru->tail);
		return 0;
	}
	if (ru->tail_len + k > sizeof(ru->tail)) {
		/* the old tail's last keep bytes, then these (no overlap) */
		keep = sizeof(ru->tail) - k;
		memcpy(joined, ru->tail + ru->tail_len - keep, keep);
		memcpy(joined + keep, buf, k);
		memcpy(ru->tail, joined, sizeof(ru->tail));
		ru->tail_len = sizeof(ru->tail);
		ru->tail_cut = 1;
		return 0;
	}
	memcpy(ru->tail + ru->tail_len, buf, k);
	ru->tail_len += k;
	return 0;
}

/* Has the child ended? It stays a zombie (WNOWAIT) until reap(). */
static int
check_exit(struct run *ru, struct sov_err *e)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)ru->pid, &si, WEXITED | WNOHANG | WNOWAIT) <
	    0) {
		if (errno == EINTR)
			return 0;
		/* ECHILD: someone reaped it (SIGCHLD ignored?): its pid
		 * may be reused, never signal it again */
		ru->reaped = 1;
		return sov_err_sys(e, SOV_EXIT_FAIL, "waiting for the command");
	}
	if (si.si_pid == 0)
		return 0;
	ru->exited = 1;
	kill_group(ru, SIGKILL); /* what it left running */
	close_fd(&ru->pidfd);
	close_fd(&ru->in);
	ru->drain_until = wf_exec_now_ms() + RUN_DRAIN_MS;
	return 0;
}

static int
reap(struct run *ru, struct sov_err *e)
{
	if (ru->pid <= 0 || ru->reaped)
		return 0;
	while (waitpid(ru->pid, &ru->status, 0) < 0) {
		if (errno != EINTR) {
			ru->reaped = 1;
			return sov_err_sys(e, SOV_EXIT_FAIL,
					   "reaping the command");
		}
	}
	ru->reaped = 1;
	return 0;
}

/* The poll timeout until the next thing to do, in ms (-1: none). */
static int
next_wait(const struct run *ru, long long now)
{
	long long until = -1, w;
	int tick;

	if (ru->exited)
		until = ru->drain_until;
	else if (!ru->timed_out && !ru->over)
		until = ru->deadline;
	else if (!ru->killed)
		until = ru->kill_at;
	w = until < 0 ? -1 : until - now;
	if (w > INT_MAX)
		w = INT_MAX;
	if (until >= 0 && w < 0)
		w = 0;
	if (!ru->exited && ru->pidfd < 0) {
		tick =
		    ru->out < 0 && ru->err < 0 ? RUN_TICK_IDLE_MS : RUN_TICK_MS;
		if (w < 0 || w > tick)
			w = tick;
	}
	return (int)w;
}

/* Feed, drain and watch the child until it has ended and its pipes are
 * closed (or RUN_DRAIN_MS after it ended). */
static int
watch(struct run *ru, struct sov_err *e)
{
	struct pollfd pfd[4];
	int *fds[4], n, i, w;
	long long now;

	for (;;) {
		now = wf_exec_now_ms();
		if (!ru->exited && check_exit(ru, e) < 0)
			return -1;
		if (ru->exited &&
		    ((ru->out < 0 && ru->err < 0) || now >= ru->drain_until))
			return 0;
		if (!ru->exited && !ru->timed_out && !ru->over &&
		    now >= ru->deadline) {
			ru->timed_out = 1;
			kill_group(ru, SIGTERM);
			ru->kill_at = now + WF_KILL_GRACE_MS;
			close_fd(&ru->in);
		}
		if (!ru->exited && ru->timed_out && !ru->killed &&
		    now >= ru->kill_at) {
			kill_group(ru, SIGKILL);
			ru->killed = 1;
		}
		n = 0;
		if (ru->in >= 0) {
			pfd[n] = (struct pollfd){ru->in, POLLOUT, 0};
			fds[n++] = &ru->in;
		}
		if (ru->out >= 0) {
			pfd[n] = (struct pollfd){ru->out, POLLIN, 0};
			fds[n++] = &ru->out;
		}
		if (ru->err >= 0) {
			pfd[n] = (struct pollfd){ru->err, POLLIN, 0};
			fds[n++] = &ru->err;
		}
		if (ru->pidfd >= 0) {
			pfd[n] = (struct pollfd){ru->pidfd, POLLIN, 0};
			fds[n++] = &ru->pidfd;
		}
		w = next_wait(ru, now);
		if (poll(pfd, (nfds_t)n, w) < 0) {
			if (errno == EINTR)
				continue;
			return sov_err_sys(e, SOV_EXIT_FAIL, "poll");
		}
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0 || *fds[i] < 0)
				continue; /* closed by an earlier handler */
			if (fds[i] == &ru->in && feed(ru, e) < 0)
				return -1;
			if (fds[i] == &ru->out && take_out(ru, e) < 0)
				return -1;
			if (fds[i] == &ru->err && take_err(ru, e) < 0)
				return -1;
			/* the pidfd: check_exit at the top of the loop */
		}
	}
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
tail_text(struct run *ru, char *buf, size_t size)
{
	char t[WF_STDERR_TAIL + 1];
	size_t skip = 0, len;

	/* a tail cut inside a character starts at the next one */
	while (ru->tail_cut && skip < ru->tail_len && skip < 3 &&
	       ((unsigned char)ru->tail[skip] & 0xc0) == 0x80)
		skip++;
	len = ru->tail_len - skip;
	memcpy(t, ru->tail + skip, len);
	len = wf_exec_clean(t, len);
	if (len == 0)
		buf[0] = '\0';
	else
		snprintf(buf, size, ": %s%s", ru->tail_cut ? "..." : "", t);
}

/* The outcome, once the child is reaped. */
static int
judge(struct run *ru, const struct wf_exec_call *call, struct wf_result *r)
{
	char tail[WF_STDERR_TAIL + 16], dur[32];
	struct sov_err perr;
	int several, code, sig;
	jv v;

	if (WIFSIGNALED(ru->status))
		r->exit_code = 128 + WTERMSIG(ru->status);
	else if (WIFEXITED(ru->status))
		r->exit_code = WEXITSTATUS(ru->status);
	tail_text(ru, tail, sizeof(tail));
	if (ru->timed_out) {
		wf_exec_duration(call->timeout_ms, dur, sizeof(dur));
		wf_exec_fail(r, WF_OUT_RETRY, "timed out after %s%s", dur,
			     tail);
		return 0;
	}
	if (ru->over) {
		wf_exec_fail(r, WF_OUT_FAIL, "output over %zu bytes",
			     ru->out_max);
		return 0;
	}
	if (WIFSIGNALED(ru->status)) {
		sig = WTERMSIG(ru->status);
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
	v = wf_exec_parse_output(ru->out_buf != NULL ? ru->out_buf : "",
				 ru->out_len, &several, &perr);
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

int
wf_exec_run(const struct wf_action *a, const struct wf_exec_call *call,
	    jv input, struct wf_result *r, struct sov_err *e)
{
	struct wf_child ch;
	struct run ru;
	int rc = -1, masked = 0, s;
	sigset_t old;

	memset(&ru, 0, sizeof(ru));
	ru.in = ru.out = ru.err = ru.pidfd = -1;
	ru.out_max = call->output_max;
	sigemptyset(&ru.pipe_set);
	sigaddset(&ru.pipe_set, SIGPIPE);
	ru.in_text = jv_string_append_str(sov_json_dump(input), "\n");
	if (jv_get_kind(ru.in_text) != JV_KIND_STRING) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "%s: serialising the input",
			    call->step);
		goto out;
	}
	ru.in_buf = jv_string_value(ru.in_text);
	ru.in_len = (size_t)jv_string_length_bytes(jv_copy(ru.in_text));
	ru.deadline = wf_exec_now_ms() + call->timeout_ms;
	s = wf_exec_spawn(a, call, &ch, r, e);
	if (s != 0) {
		rc = s < 0 ? -1 : 0;
		goto out;
	}
	ru.pid = ch.pid;
	ru.in = ch.in;
	ru.out = ch.out;
	ru.err = ch.err;
	if ((s = pthread_sigmask(SIG_BLOCK, &ru.pipe_set, &old)) != 0) {
		errno = s;
		sov_err_sys(e, SOV_EXIT_FAIL, "blocking SIGPIPE");
		goto out; /* kills and reaps it */
	}
	masked = 1;
#ifdef SYS_pidfd_open
	/* ENOSYS (before Linux 5.3), a seccomp filter: look by the tick */
	ru.pidfd = (int)syscall(SYS_pidfd_open, ru.pid, 0);
	if (ru.pidfd < 0)
		ru.pidfd = -1;
#endif
	if (watch(&ru, e) < 0) {
		kill_group(&ru, SIGKILL);
		(void)reap(&ru, NULL);
		goto out;
	}
	if (reap(&ru, e) < 0)
		goto out;
	rc = judge(&ru, call, r);
out:
	if (ru.pid > 0 && !ru.reaped) { /* a path above that did not reap */
		kill_group(&ru, SIGKILL);
		(void)reap(&ru, NULL);
	}
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	close_fd(&ru.in);
	close_fd(&ru.out);
	close_fd(&ru.err);
	close_fd(&ru.pidfd);
	free(ru.out_buf);
	jv_free(ru.in_text);
	return rc;
}
