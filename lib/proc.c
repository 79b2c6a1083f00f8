/*
 * proc.c - one command, its pipes, its process group and its deadline;
 * see proc.h.
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "timestamp.h"

extern char **environ;

#define PROC_CHUNK (64u << 10)     /* bytes per read or write */
#define PROC_OUT_FIRST (64u << 10) /* first size of the stdout buffer */
#define PROC_TICK_MS 50            /* exit checks without a pidfd */
#define PROC_TICK_IDLE_MS 5        /* ... once both pipes are closed */
#define PROC_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin" /* PATH unset */

struct run {
	const struct sov_proc_opts *o;
	struct sov_proc_result *r;
	pid_t pid;               /* 0: none */
	int reaped;              /* or gone: never signal pid again */
	int in, out, err, pidfd; /* our ends; -1 when closed */
	size_t in_off, out_cap;
	int exited, killed;
	int64_t deadline, kill_at, drain_until;
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

/* ---- starting it ---- */

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
 * The file to run for cmd (see proc.h). 0, or ENOENT, EACCES,
 * ENAMETOOLONG. Done here rather than by posix_spawnp so that "not found"
 * is told the same wherever the spawn cannot report a failed exec
 * (valgrind, old C libraries: exit 127).
 */
static int
find_command(const char *cmd, char *path, size_t size)
{
	const char *dirs = getenv("PATH"), *d, *end;
	struct stat st;
	int n, err = ENOENT;
	size_t len;

	if (strchr(cmd, '/') != NULL) {
		n = snprintf(path, size, "%s", cmd);
		if (n < 0 || (size_t)n >= size)
			return ENAMETOOLONG;
		if (stat(path, &st) < 0)
			return errno == ENOTDIR ? ENOENT : errno;
		return S_ISREG(st.st_mode) && access(path, X_OK) == 0 ? 0
								      : EACCES;
	}
	if (dirs == NULL)
		dirs = PROC_DEFAULT_PATH;
	for (d = dirs; *d != '\0'; d = *end != '\0' ? end + 1 : end) {
		end = strchr(d, ':');
		if (end == NULL)
			end = d + strlen(d);
		len = (size_t)(end - d);
		if (len == 0 || *d != '/' || len > INT_MAX)
			continue;
		n = snprintf(path, size, "%.*s/%s", (int)len, d, cmd);
		if (n < 0 || (size_t)n >= size || stat(path, &st) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (access(path, X_OK) == 0)
			return 0;
		err = EACCES; /* found, not executable: say so if nothing
				 else is */
	}
	return err;
}

/* 0: started; 1: it could not be (r->start_err); -1: e says why. */
static int
spawn(struct run *ru, const int child[3], struct sov_err *e)
{
	struct sov_proc_result *r = ru->r;
	char *const *env = ru->o->env ? ru->o->env : environ;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int rc = -1, err, have_fa = 0, have_at = 0, i;

	if ((err = find_command(ru->o->argv[0], r->path, sizeof(r->path))) != 0)
		goto refused;
	r->found = 1;
	if ((err = posix_spawn_file_actions_init(&fa)) != 0)
		goto fail;
	have_fa = 1;
	for (i = 0; i < 3; i++)
		if ((err = posix_spawn_file_actions_adddup2(&fa, child[i],
							    i)) != 0)
			goto fail;
	if ((err = posix_spawnattr_init(&at)) != 0)
		goto fail;
	have_at = 1;
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
	err = posix_spawn(&ru->pid, r->path, &fa, &at, ru->o->argv, env);
	if (err == 0) {
		rc = 0;
		goto out;
	}
	ru->pid = 0;
	if (err == ENOMEM || err == EAGAIN || err == EMFILE || err == ENFILE)
		goto fail;
refused:
	r->start_err = err;
	rc = 1;
	goto out;
fail:
	errno = err;
	sov_err_sys(e, sov_exit_code_errno(err), "cannot start %s",
		    ru->o->argv[0]);
	rc = -1;
out:
	if (have_at)
		posix_spawnattr_destroy(&at);
	if (have_fa)
		posix_spawn_file_actions_destroy(&fa);
	return rc;
}

/* ---- its pipes ---- */

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
	size_t n = ru->o->in_len - ru->in_off;
	ssize_t w;

	if (n > PROC_CHUNK)
		n = PROC_CHUNK;
	w = write(ru->in, ru->o->in + ru->in_off, n);
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
	if (ru->in_off == ru->o->in_len)
		close_fd(&ru->in); /* EOF for the command */
	return 0;
}

static int
take_out(struct run *ru, struct sov_err *e)
{
	struct sov_proc_result *r = ru->r;
	size_t cap;
	ssize_t n;
	char *p;

	if (r->out_len == ru->out_cap) {
		/* up to one byte over the limit, to see it passed */
		cap = ru->out_cap ? ru->out_cap * 2 : PROC_OUT_FIRST;
		if (cap > ru->o->out_max + 1)
			cap = ru->o->out_max + 1;
		/* and one for the NUL */
		if ((p = realloc(r->out, cap + 1)) == NULL)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL,
					   "buffering the command's stdout");
		r->out = p;
		r->out[r->out_len] = '\0';
		ru->out_cap = cap;
	}
	n = read(ru->out, r->out + r->out_len, ru->out_cap - r->out_len);
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
	r->out_len += (size_t)n;
	r->out[r->out_len] = '\0';
	if (r->out_len > ru->o->out_max && !r->over) {
		r->over = 1;
		kill_group(ru, SIGKILL);
		ru->killed = 1;
		close_fd(&ru->out);
		close_fd(&ru->in);
	}
	return 0;
}

/* Read stderr, keeping its first and its last SOV_PROC_ERR_KEEP bytes. */
static int
take_err(struct run *ru, struct sov_err *e)
{
	struct sov_proc_result *r = ru->r;
	char buf[16384], joined[SOV_PROC_ERR_KEEP];
	size_t keep, k, head;
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
	r->err_total += k;
	head = sizeof(r->err_head) - r->err_head_len;
	if (head > k)
		head = k;
	memcpy(r->err_head + r->err_head_len, buf, head);
	r->err_head_len += head;
	if (k >= sizeof(r->err_tail)) {
		memcpy(r->err_tail, buf + k - sizeof(r->err_tail),
		       sizeof(r->err_tail));
		r->err_tail_len = sizeof(r->err_tail);
	} else if (r->err_tail_len + k > sizeof(r->err_tail)) {
		/* the old tail's last keep bytes, then these (no overlap) */
		keep = sizeof(r->err_tail) - k;
		memcpy(joined, r->err_tail + r->err_tail_len - keep, keep);
		memcpy(joined + keep, buf, k);
		memcpy(r->err_tail, joined, sizeof(r->err_tail));
		r->err_tail_len = sizeof(r->err_tail);
	} else {
		memcpy(r->err_tail + r->err_tail_len, buf, k);
		r->err_tail_len += k;
	}
	return 0;
}

/* ---- its end ---- */

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
	ru->drain_until = sov_time_mono_ms() + SOV_PROC_DRAIN_MS;
	return 0;
}

static int
reap(struct run *ru, struct sov_err *e)
{
	if (ru->pid <= 0 || ru->reaped)
		return 0;
	while (waitpid(ru->pid, &ru->r->status, 0) < 0) {
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
next_wait(const struct run *ru, int64_t now)
{
	int64_t until = -1, w;
	int tick;

	if (ru->exited)
		until = ru->drain_until;
	else if (!ru->r->timed_out && !ru->r->over)
		until = ru->deadline;
	else if (!ru->killed)
		until = ru->kill_at;
	w = until < 0 ? -1 : until - now;
	if (w > INT_MAX)
		w = INT_MAX;
	if (until >= 0 && w < 0)
		w = 0;
	if (!ru->exited && ru->pidfd < 0) {
		tick = ru->out < 0 && ru->err < 0 ? PROC_TICK_IDLE_MS
						  : PROC_TICK_MS;
		if (w < 0 || w > tick)
			w = tick;
	}
	return (int)w;
}

/* At the deadline: SIGTERM and SIGKILL kill_grace_ms later, or SIGKILL. */
static void
deadline(struct run *ru, int64_t now)
{
	if (!ru->exited && !ru->r->timed_out && !ru->r->over &&
	    now >= ru->deadline) {
		ru->r->timed_out = 1;
		close_fd(&ru->in);
		if (ru->o->kill_grace_ms > 0) {
			kill_group(ru, SIGTERM);
			ru->kill_at = now + ru->o->kill_grace_ms;
		} else {
			ru->kill_at = now;
		}
	}
	if (!ru->exited && ru->r->timed_out && !ru->killed &&
	    now >= ru->kill_at) {
		kill_group(ru, SIGKILL);
		ru->killed = 1;
	}
}

/* Feed, drain and watch the child until it has ended and its pipes are
 * closed (or SOV_PROC_DRAIN_MS after it ended). */
static int
watch(struct run *ru, struct sov_err *e)
{
	struct pollfd pfd[4];
	int *fds[4], n, i, w;
	int64_t now;

	for (;;) {
		now = sov_time_mono_ms();
		if (!ru->exited && check_exit(ru, e) < 0)
			return -1;
		if (ru->exited &&
		    ((ru->out < 0 && ru->err < 0) || now >= ru->drain_until))
			return 0;
		deadline(ru, now);
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

void
sov_proc_result_free(struct sov_proc_result *r)
{
	free(r->out);
	r->out = NULL;
	r->out_len = 0;
}

int
sov_proc_run(const struct sov_proc_opts *o, struct sov_proc_result *r,
	     struct sov_err *e)
{
	int child[3] = {-1, -1, -1}, rc = -1, masked = 0, s, i;
	struct run ru;
	sigset_t old;

	memset(r, 0, sizeof(*r));
	memset(&ru, 0, sizeof(ru));
	ru.o = o;
	ru.r = r;
	ru.in = ru.out = ru.err = ru.pidfd = -1;
	sigemptyset(&ru.pipe_set);
	sigaddset(&ru.pipe_set, SIGPIPE);
	ru.deadline = sov_time_mono_ms() + o->timeout_ms;
	if (o->argv == NULL || o->argv[0] == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "no command");
		goto out;
	}
	if (make_pipes(&ru, child, e) < 0)
		goto out;
	s = spawn(&ru, child, e);
	for (i = 0; i < 3; i++)
		close_fd(&child[i]); /* the child has its copies */
	if (s != 0) {
		rc = s;
		goto out;
	}
	if (o->in == NULL || o->in_len == 0)
		close_fd(&ru.in);
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
	if (watch(&ru, e) < 0)
		goto out; /* kills and reaps it */
	if (reap(&ru, e) < 0)
		goto out;
	rc = 0;
out:
	if (ru.pid > 0 && !ru.reaped) { /* a path above that did not reap */
		kill_group(&ru, SIGKILL);
		(void)reap(&ru, NULL);
	}
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (i = 0; i < 3; i++)
		close_fd(&child[i]);
	close_fd(&ru.in);
	close_fd(&ru.out);
	close_fd(&ru.err);
	close_fd(&ru.pidfd);
	if (rc == 0 && r->out == NULL && (r->out = calloc(1, 1)) == NULL)
		rc = sov_err_sys(e, SOV_EXIT_TEMPFAIL,
				 "buffering the command's stdout");
	return rc;
}

const char *
sov_proc_refusal(const struct sov_proc_result *r, const char *cmd, char *buf,
		 size_t size)
{
	if (r->start_err == ENOENT && r->found) /* its interpreter is missing */
		snprintf(buf, size,
			 "cannot run %s: the interpreter its #! line names is "
			 "missing",
			 r->path);
	else if (r->start_err == ENOENT && strchr(cmd, '/') != NULL)
		snprintf(buf, size, "cannot run %s: no such file", cmd);
	else if (r->start_err == ENOENT)
		snprintf(buf, size, "cannot run %s: command not found in PATH",
			 cmd);
	else if (r->start_err == EACCES)
		snprintf(buf, size,
			 "cannot run %s: not executable (permission denied)",
			 cmd);
	else
		snprintf(buf, size, "cannot run %s: %s", cmd,
			 strerror(r->start_err));
	return buf;
}
