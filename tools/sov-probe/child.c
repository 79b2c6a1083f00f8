/*
 * child.c - one command, its pipes and its deadline; see child.h.
 *
 * posix_spawn instead of fork: the daemon has threads, and between fork
 * and exec only async-signal-safe calls are allowed. The child gets its
 * own process group (POSIX_SPAWN_SETPGROUP) so that a shell script's own
 * children die with it at the deadline.
 */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "timestamp.h"

extern char **environ;

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void
pr_child_out_clear(struct pr_child_out *o)
{
	free(o->out);
	memset(o, 0, sizeof(*o));
}

/* Keep the start of stderr as one line. */
static void
keep_err(struct pr_child_out *o, const char *buf, size_t n)
{
	size_t have = strlen(o->err);

	for (size_t i = 0; i < n && have + 1 < sizeof(o->err); i++)
		o->err[have++] = (buf[i] == '\n' || buf[i] == '\r' ||
				  buf[i] == '\t')
				     ? ' '
				     : buf[i];
	while (have > 0 && o->err[have - 1] == ' ')
		have--;
	o->err[have] = '\0';
}

static int
take_out(struct pr_child_out *o, int fd, size_t max)
{
	char buf[16384];
	ssize_t n = read(fd, buf, sizeof(buf));
	char *grown;

	if (n <= 0)
		return n < 0 && errno == EINTR ? 1 : 0;
	if (o->len + (size_t)n > max) {
		o->too_much = 1;
		return 0;
	}
	grown = realloc(o->out, o->len + (size_t)n + 1);
	if (grown == NULL) {
		o->too_much = 1;
		return 0;
	}
	o->out = grown;
	memcpy(o->out + o->len, buf, (size_t)n);
	o->len += (size_t)n;
	o->out[o->len] = '\0';
	return 1;
}

static int
spawn(char *const argv[], int pin[2], int pout[2], int perr[2], pid_t *pid,
      struct pr_child_out *o)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGINT);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
					  POSIX_SPAWN_SETSIGMASK |
					  POSIX_SPAWN_SETSIGDEF);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
	rc = posix_spawnp(pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0)
		snprintf(o->err, sizeof(o->err), "%s: %s", argv[0],
			 strerror(rc));
	return rc == 0 ? 0 : -1;
}

int
pr_child_run(char *const argv[], const char *in, size_t in_len,
	     int64_t timeout_ms, size_t max, struct pr_child_out *o)
{
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
	int64_t deadline = sov_time_mono_ms() + timeout_ms;
	size_t fed = 0;
	pid_t pid = 0;
	int rc = -1, reaped = 0;

	memset(o, 0, sizeof(*o));
	if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 ||
	    pipe2(perr, O_CLOEXEC) < 0) {
		snprintf(o->err, sizeof(o->err), "pipe: %s", strerror(errno));
		goto out;
	}
	if (spawn(argv, pin, pout, perr, &pid, o) < 0)
		goto out;
	close_fd(&pin[0]);
	close_fd(&pout[1]);
	close_fd(&perr[1]);
	fcntl(pin[1], F_SETFL, O_NONBLOCK);
	if (in == NULL || in_len == 0)
		close_fd(&pin[1]);
	while (pout[0] >= 0 || perr[0] >= 0) {
		struct pollfd fds[3] = {{pout[0], POLLIN, 0},
					{perr[0], POLLIN, 0},
					{pin[1], POLLOUT, 0}};
		int64_t left = deadline - sov_time_mono_ms();

		if (left <= 0) {
			o->timed_out = 1;
			break;
		}
		if (poll(fds, 3, (int)(left > 1000 ? 1000 : left)) < 0 &&
		    errno != EINTR)
			break;
		if (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) {
			ssize_t n = write(pin[1], in + fed, in_len - fed);

			if (n > 0)
				fed += (size_t)n;
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				fed = in_len; /* it stopped reading */
			if (fed == in_len)
				close_fd(&pin[1]);
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (!take_out(o, pout[0], max))
				close_fd(&pout[0]);
			if (o->too_much)
				break;
		}
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			char buf[4096];
			ssize_t n = read(perr[0], buf, sizeof(buf));

			if (n > 0)
				keep_err(o, buf, (size_t)n);
			else if (n == 0 || errno != EINTR)
				close_fd(&perr[0]);
		}
	}
	if (o->timed_out || o->too_much)
		kill(-pid, SIGKILL);
	/* its output is closed: it is exiting, or must be made to by now */
	while (!reaped) {
		pid_t w = waitpid(pid, &o->status, WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR)) {
			reaped = 1;
			break;
		}
		if (sov_time_mono_ms() >= deadline) {
			o->timed_out = 1;
			kill(-pid, SIGKILL);
			while (waitpid(pid, &o->status, 0) < 0 && errno == EINTR)
				;
			reaped = 1;
			break;
		}
		nanosleep(&(struct timespec){0, 2000000}, NULL);
	}
	rc = 0;
out:
	close_fd(&pin[0]);
	close_fd(&pin[1]);
	close_fd(&pout[0]);
	close_fd(&pout[1]);
	close_fd(&perr[0]);
	close_fd(&perr[1]);
	if (rc == 0 && o->out == NULL && (o->out = calloc(1, 1)) == NULL)
		rc = -1;
	return rc;
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
