/*
 * exec_run.c - the run action: a command in its own process group, the
 * input on its stdin, its stdout the output, the tail of its stderr the
 * error, all three pipes polled together so that a big input and a big
 * output never wait on each other.
 *
 * The worker is multi-threaded, so the child comes from posix_spawnp
 * (nothing but the spawn's own steps runs between fork and exec) and every
 * pipe is O_CLOEXEC, so no other thread's child inherits one. SIGPIPE is
 * blocked in this thread while the input is written and one raised by our
 * write is taken back: a command that does not read its input is fine.
 *
 * The child's exit is seen through a pidfd where the kernel has one, else
 * by looking every RUN_TICK_MS. It is then left a zombie (waitid WNOWAIT)
 * while whatever it left running in its group is killed, since its group
 * id cannot be reused before the zombie is reaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_int.h"

extern char **environ;

#define RUN_CHUNK (64u << 10)       /* bytes per read or write */
#define RUN_OUT_FIRST (64u << 10)   /* first size of the stdout buffer */
#define RUN_TICK_MS 50              /* exit checks without a pidfd */
#define RUN_TICK_IDLE_MS 5          /* ... once both pipes are closed */
#define RUN_ENV_MAX 100000          /* entries of the worker's environment */
#define RUN_DRAIN_MS WF_KILL_GRACE_MS /* pipes read after the exit */

/* The variables we set, replacing inherited ones; the order of own[]. */
static const char *const own_names[] = {
    "SOV_WF_WORKFLOW", "SOV_WF_EXECUTION", "SOV_WF_STEP",
    "SOV_WF_ATTEMPT",  "SOV_WF_UNDO",      "SOV_WF_IDEMPOTENCY_KEY",
};
#define N_OWN (sizeof(own_names) / sizeof(own_names[0]))

struct run {
	pid_t pid;  /* 0: none */
	int reaped; /* or gone: never signal pid again */
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

/* A malloc'd string, or NULL. */
static char *__attribute__((format(printf, 1, 2)))
dupf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	if (vsnprintf(s, (size_t)n + 1, fmt, ap) != n) {
		free(s);
		s = NULL;
	}
	va_end(ap);
	return s;
}

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

/* The child's environment: the worker's without our names, then ours. */
static int
make_env(const struct wf_exec_call *c, char *own[N_OWN], char ***envp,
	 struct sov_err *e)
{
	size_t n = 0, i, k = 0;
	char **env;

	own[0] = dupf("SOV_WF_WORKFLOW=%s", c->workflow);
	own[1] = dupf("SOV_WF_EXECUTION=%lld", c->execution);
	own[2] = dupf("SOV_WF_STEP=%s", c->step);
	own[3] = dupf("SOV_WF_ATTEMPT=%d", c->attempt);
	own[4] = dupf("SOV_WF_UNDO=%d", c->undo ? 1 : 0);
	own[5] = dupf("SOV_WF_IDEMPOTENCY_KEY=%s", c->idempotency_key);
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

/* fd moved above 2, so that dup2 onto 0, 1 or 2 never meets itself (dup2
 * of an fd onto itself would keep its close-on-exec). */
static int
above_stdio(int fd)
{
	int n, err;

	if (fd > 2)
		return fd;
	n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	err = errno;
	close(fd);
	errno = err;
	return n;
}

static int
nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -1 : 0;
}

/* child[i] is the child's end for its fd i; ru's in, out, err ours. */
static int
make_pipes(struct run *ru, int child[3], struct sov_err *e)
{
	int *ours[3] = {&ru->in, &ru->out, &ru->err};
	int p[2], i;

	for (i = 0; i < 3; i++) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return sov_err_sys(e, sov_exit_code_errno(errno),
					   "creating a pipe");
		/* stdin: the child reads p[0]; stdout, stderr: it writes */
		child[i] = above_stdio(i == 0 ? p[0] : p[1]);
		*ours[i] = above_stdio(i == 0 ? p[1] : p[0]);
		if (child[i] < 0 || *ours[i] < 0)
			return sov_err_sys(e, sov_exit_code_errno(errno),
					   "moving a pipe");
		if (nonblock(*ours[i]) < 0)
			return sov_err_sys(e, SOV_EXIT_FAIL,
					   "making a pipe non-blocking");
	}
	return 0;
}

/*
 * Start the command. 0: started; 1: it could not be (r says why, FAIL or
 * RETRY); -1: the worker's own failure.
 */
static int
spawn(struct run *ru, const struct wf_action *a, char **env,
      const int child[3], struct wf_result *r, struct sov_err *e)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	const char *cmd = a->argv[0];
	int rc = -1, err, have_fa = 0, have_at = 0, i;

	if ((err = posix_spawn_file_actions_init(&fa)) != 0)
		goto fail;
	have_fa = 1;
	for (i = 0; i < 3; i++)
		if ((err = posix_spawn_file_actions_adddup2(&fa, child[i], i)) !=
		    0)
			goto fail;
	if ((err = posix_spawnattr_init(&at)) != 0)
		goto fail;
	have_at = 1;
	/* its own group (killed as one); no signal blocked or ignored, as
	 * a freshly started program expects (the worker ignores SIGPIPE) */
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	if ((err = posix_spawnattr_setflags(
		 &at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
			  POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (err = posix_spawnattr_setpgroup(&at, 0)) != 0 ||
	    (err = posix_spawnattr_setsigmask(&at, &none)) != 0 ||
	    (err = posix_spawnattr_setsigdefault(&at, &all)) != 0)
		goto fail;
	err = posix_spawnp(&ru->pid, cmd, &fa, &at, a->argv, env);
	if (err == 0) {
		rc = 0;
		goto out;
	}
	ru->pid = 0;
	rc = 1;
	switch (err) {
	case ENOENT:
		if (strchr(cmd, '/') != NULL)
			wf_exec_fail(r, WF_OUT_FAIL,
				     "cannot run %s: no such file (or the "
				     "interpreter its #! line names is "
				     "missing)",
				     cmd);
		else
			wf_exec_fail(r, WF_OUT_FAIL,
				     "cannot run %s: command not found in "
				     "PATH",
				     cmd);
		break;
	case EACCES:
		wf_exec_fail(r, WF_OUT_FAIL,
			     "cannot run %s: not executable (permission "
			     "denied)",
			     cmd);
		break;
	case ETXTBSY: /* being written right now: try again later */
		wf_exec_fail(r, WF_OUT_RETRY, "cannot run %s: %s", cmd,
			     strerror(err));
		break;
	case ENOMEM:
	case EAGAIN:
	case EMFILE:
	case ENFILE:
		goto fail;
	default:
		wf_exec_fail(r, WF_OUT_FAIL, "cannot run %s: %s", cmd,
			     strerror(err));
		break;
	}
	goto out;
fail:
	errno = err;
	sov_err_sys(e, sov_exit_code_errno(err), "cannot start %s", cmd);
	rc = -1;
out:
	if (have_at)
		posix_spawnattr_destroy(&at);
	if (have_fa)
		posix_spawn_file_actions_destroy(&fa);
	return rc;
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
	char buf[16384];
	size_t drop, k;
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
		drop = ru->tail_len + k - sizeof(ru->tail);
		memmove(ru->tail, ru->tail + drop, ru->tail_len - drop);
		ru->tail_len -= drop;
		ru->tail_cut = 1;
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
	/* broken */
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
		tick = ru->out < 0 && ru->err < 0 ? RUN_TICK_IDLE_MS
						  : RUN_TICK_MS;
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
	switch (sig) {
	case SIGHUP: return "SIGHUP";
	case SIGINT: return "SIGINT";
	case SIGQUIT: return "SIGQUIT";
	case SIGILL: return "SIGILL";
	case SIGTRAP: return "SIGTRAP";
	case SIGABRT: return "SIGABRT";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	case SIGKILL: return "SIGKILL";
	case SIGUSR1: return "SIGUSR1";
	case SIGSEGV: return "SIGSEGV";
	case SIGUSR2: return "SIGUSR2";
	case SIGPIPE: return "SIGPIPE";
	case SIGALRM: return "SIGALRM";
	case SIGTERM: return "SIGTERM";
	case SIGXCPU: return "SIGXCPU";
	case SIGXFSZ: return "SIGXFSZ";
	case SIGSYS: return "SIGSYS";
	default: return "a signal";
	}
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
	struct run ru;
	char *own[N_OWN] = {NULL}, **env = NULL;
	int child[3] = {-1, -1, -1}, rc = -1, masked = 0, s, i;
	sigset_t old;

	memset(&ru, 0, sizeof(ru));
	ru.in = ru.out = ru.err = ru.pidfd = -1;
	ru.out_max = call->output_max;
	sigemptyset(&ru.pipe_set);
	sigaddset(&ru.pipe_set, SIGPIPE);
	ru.in_text = jv_string_append_str(jv_dump_string(input, 0), "\n");
	if (jv_get_kind(ru.in_text) != JV_KIND_STRING) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "%s: serialising the input",
			    call->step);
		goto out;
	}
	ru.in_buf = jv_string_value(ru.in_text);
	ru.in_len = (size_t)jv_string_length_bytes(jv_copy(ru.in_text));
	if (a->argc < 1 || a->argv == NULL || a->argv[0] == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: no command", call->step);
		goto out;
	}
	if (make_env(call, own, &env, e) < 0 || make_pipes(&ru, child, e) < 0)
		goto out;
	if ((s = pthread_sigmask(SIG_BLOCK, &ru.pipe_set, &old)) != 0) {
		errno = s;
		sov_err_sys(e, SOV_EXIT_FAIL, "blocking SIGPIPE");
		goto out;
	}
	masked = 1;
	ru.deadline = wf_exec_now_ms() + call->timeout_ms;
	s = spawn(&ru, a, env, child, r, e);
	for (i = 0; i < 3; i++)
		close_fd(&child[i]);
	if (s != 0) {
		rc = s < 0 ? -1 : 0;
		goto out;
	}
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
	for (i = 0; i < 3; i++)
		close_fd(&child[i]);
	free(ru.out_buf);
	jv_free(ru.in_text);
	free(env);
	for (i = 0; i < (int)N_OWN; i++)
		free(own[i]);
	return rc;
}
