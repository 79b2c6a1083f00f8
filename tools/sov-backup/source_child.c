/*
 * source_child.c - a PostgreSQL client tool as a child process: started
 * with fork and execve (never a shell) on descriptors we chose, every other
 * one closed; its stderr in an unlinked file, read back on finish and
 * turned into an error with an exit code; see source.h and source_child.h.
 *
 * The stderr is a file rather than a pipe: a pipe we do not read while we
 * read the dump could fill and stall the child.
 */
#include "source_child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "source.h"
#include "timestamp.h"

/* The end of the child's stderr that we read, and what fits a message. */
#define BK_CHILD_ERR_TAIL 4096
#define BK_CHILD_MSG_MAX 700
/* After SIGTERM on abort, how long before SIGKILL. */
#define BK_CHILD_GRACE_MS 5000
/* Where the child parks descriptors before moving them to 0..3. */
#define BK_CHILD_PARK_FD 64
/* Without close_range(2), the descriptors closed one by one. */
#define BK_CHILD_CLOSE_MAX 65536

/* What the child's stderr says, as an exit code (first match wins). */
static const struct {
	const char *needle;
	int code;
} child_errors[] = {
    /* The server is not there, or not yet, or too busy: retry later. */
    {"Connection refused", SOV_EXIT_TEMPFAIL},
    {"No such file or directory", SOV_EXIT_TEMPFAIL}, /* the socket */
    {"the database system is starting up", SOV_EXIT_TEMPFAIL},
    {"the database system is shutting down", SOV_EXIT_TEMPFAIL},
    {"the database system is in recovery mode", SOV_EXIT_TEMPFAIL},
    {"the database system is not yet accepting connections", SOV_EXIT_TEMPFAIL},
    {"too many connections", SOV_EXIT_TEMPFAIL},
    {"remaining connection slots are reserved", SOV_EXIT_TEMPFAIL},
    {"server closed the connection unexpectedly", SOV_EXIT_TEMPFAIL},
    {"Connection timed out", SOV_EXIT_TEMPFAIL},
    {"timeout expired", SOV_EXIT_TEMPFAIL},
    {"Temporary failure in name resolution", SOV_EXIT_TEMPFAIL},
    /* What the caller named is wrong: credentials, names, the input. */
    {"password authentication failed", SOV_EXIT_USAGE},
    {"authentication failed", SOV_EXIT_USAGE},
    {"no password supplied", SOV_EXIT_USAGE},
    {"no pg_hba.conf entry", SOV_EXIT_USAGE},
    {"does not exist", SOV_EXIT_USAGE},
    {"permission denied", SOV_EXIT_USAGE},
    {"invalid connection option", SOV_EXIT_USAGE},
    {"invalid URI", SOV_EXIT_USAGE},
    {"missing \"=\" after", SOV_EXIT_USAGE},
    {"does not appear to be a valid archive", SOV_EXIT_USAGE},
    {"appears to be a text format dump", SOV_EXIT_USAGE},
    {"did not find magic string", SOV_EXIT_USAGE},
};

/*
 * One line of text from a child or libpq: control characters become
 * spaces, runs of spaces one, no space at either end. In place.
 */
void
bk_child_one_line(char *s)
{
	char *w = s;
	int space = 1;

	for (char *r = s; *r; r++) {
		unsigned char c = (unsigned char)*r;

		if (c < 0x20 || c == 0x7f || c == ' ') {
			if (!space)
				*w++ = ' ';
			space = 1;
		} else {
			*w++ = (char)c;
			space = 0;
		}
	}
	if (w > s && w[-1] == ' ')
		w--;
	*w = '\0';
}

/* An unlinked temporary file in $TMPDIR (close-on-exec), or -1. */
int
bk_child_tmpfile(const char *what, struct sov_err *e)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX];
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if (snprintf(path, sizeof(path), "%s/sov-backup-%s.XXXXXX", dir,
		     what) >= (int)sizeof(path))
		return sov_err_set(e, SOV_EXIT_USAGE, "TMPDIR %s: too long",
				   dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return sov_err_sys(e, sov_exit_code_open(errno), "%s", path);
	if (unlink(path) != 0) {
		sov_err_sys(e, SOV_EXIT_FAIL, "unlink %s", path);
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
child_exec(const char *path, char *const argv[], char *const envp[],
	   const int fds[], int nfds, int errpipe)
{
	static const int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa;
	sigset_t none;
	int parked[BK_CHILD_FDS_MAX], ew, err;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		(void)sigaction(sigs[i], &sa, NULL);
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	/* Park first: a source may itself be one of 0..3. */
	ew = fcntl(errpipe, F_DUPFD_CLOEXEC, BK_CHILD_PARK_FD);
	if (ew < 0)
		_exit(127);
	for (int i = 0; i < nfds; i++) {
		parked[i] = fcntl(fds[i], F_DUPFD, BK_CHILD_PARK_FD);
		if (parked[i] < 0)
			goto fail;
	}
	for (int i = 0; i < nfds; i++)
		if (dup2(parked[i], i) < 0)
			goto fail;
	if (close_range((unsigned)nfds, (unsigned)ew - 1, 0) != 0 ||
	    close_range((unsigned)ew + 1, ~0U, 0) != 0) {
		if (errno != ENOSYS) /* a kernel before 5.9: one by one */
			goto fail;
		for (int fd = nfds; fd < BK_CHILD_CLOSE_MAX; fd++)
			if (fd != ew)
				(void)close(fd);
	}
	execve(path, argv, envp);
fail:
	err = errno;
	if (write(ew, &err, sizeof(err)) < 0) /* nobody left to tell */
		_exit(126);
	_exit(127);
}

int
bk_child_spawn(const char *path, char *const argv[], char *const envp[],
	       const int fds[], int nfds, pid_t *pid_out, struct sov_err *e)
{
	int ep[2], err = 0, rc = -1, status;
	ssize_t n;
	pid_t pid;

	if (nfds < 0 || nfds > BK_CHILD_FDS_MAX)
		return sov_err_set(e, SOV_EXIT_FAIL, "%s: %d descriptors", path,
				   nfds);
	if (pipe2(ep, O_CLOEXEC) != 0)
		return sov_err_sys(e, sov_exit_code_errno(errno), "pipe");
	pid = fork();
	if (pid < 0) {
		sov_err_sys(e, sov_exit_code_errno(errno), "fork for %s", path);
		goto out;
	}
	if (pid == 0)
		child_exec(path, argv, envp, fds, nfds, ep[1]);
	(void)close(ep[1]);
	ep[1] = -1;
	do
		n = read(ep[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	if (n == 0) {
		*pid_out = pid;
		rc = 0;
		goto out;
	}
	if (n != (ssize_t)sizeof(err)) /* no word from it: do not wait */
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	errno = n == (ssize_t)sizeof(err) ? err : EIO;
	sov_err_sys(e, SOV_EXIT_FAIL, "exec %s", path);
out:
	(void)close(ep[0]);
	if (ep[1] >= 0)
		(void)close(ep[1]);
	return rc;
}

/* Wait for pid; on abort give it BK_CHILD_GRACE_MS, then SIGKILL. */
static int
reap(pid_t pid, int abort, int *status)
{
	int64_t deadline = sov_time_mono_ms() + BK_CHILD_GRACE_MS;
	struct timespec pause = {0, 10 * 1000 * 1000};
	pid_t r;

	while (abort) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (sov_time_mono_ms() >= deadline) {
			(void)kill(pid, SIGKILL);
			break;
		}
		(void)nanosleep(&pause, NULL);
	}
	while ((r = waitpid(pid, status, 0)) < 0 && errno == EINTR)
		;
	return r == pid ? 0 : -1;
}

/* The last lines of the child's stderr as one line, at most cap bytes. */
static void
err_tail(int fd, char *buf, size_t size)
{
	struct stat st;
	off_t from = 0;
	ssize_t n = 0;
	char *s = buf, *nl;
	size_t len;

	buf[0] = '\0';
	if (fd < 0 || fstat(fd, &st) != 0)
		return;
	if (st.st_size > (off_t)(size - 1))
		from = st.st_size - (off_t)(size - 1);
	do
		n = pread(fd, buf, size - 1, from);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		buf[0] = '\0';
		return;
	}
	buf[n] = '\0';
	/* Cut in the middle of a line: start at the next one. */
	if (from > 0 && (nl = strchr(buf, '\n')) != NULL && nl[1] != '\0')
		s = nl + 1;
	bk_child_one_line(s);
	len = strlen(s);
	if (len > BK_CHILD_MSG_MAX) {
		/* At least 4 bytes on: room for "..." before s. */
		s += len - BK_CHILD_MSG_MAX + 3;
		while ((*s & 0xc0) == 0x80) /* not inside a UTF-8 character */
			s++;
		s -= 3;
		memcpy(s, "...", 3);
	}
	if (s != buf)
		memmove(buf, s, strlen(s) + 1);
}

static int
classify(const char *tail)
{
	for (size_t i = 0; i < sizeof(child_errors) / sizeof(*child_errors);
	     i++)
		if (strstr(tail, child_errors[i].needle) != NULL)
			return child_errors[i].code;
	return SOV_EXIT_FAIL;
}

int
bk_child_finish(struct bk_child *child, int abort, struct sov_err *e)
{
	char tail[BK_CHILD_ERR_TAIL + 1];
	int rc = -1, status = 0;

	if (child->pid <= 0) {
		rc = 0;
		goto out;
	}
	if (abort)
		(void)kill(child->pid, SIGTERM);
	/* Reading: the child may now get EPIPE. Writing: its end of input. */
	if (child->fd >= 0 && close(child->fd) != 0 && !abort) {
		child->fd = -1;
		sov_err_sys(e, SOV_EXIT_FAIL, "%s: close its pipe",
			    child->what);
		(void)reap(child->pid, 1, &status);
		child->pid = -1;
		goto out;
	}
	child->fd = -1;
	if (reap(child->pid, abort, &status) < 0) {
		sov_err_sys(e, SOV_EXIT_FAIL, "%s: wait for pid %ld",
			    child->what, (long)child->pid);
		child->pid = -1;
		goto out;
	}
	child->pid = -1;
	if (abort || (WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		rc = 0;
		goto out;
	}
	err_tail(child->err_fd, tail, sizeof(tail));
	if (WIFSIGNALED(status))
		sov_err_set(e, SOV_EXIT_FAIL, "%s killed by signal %d (%s)%s%s",
			    child->what, WTERMSIG(status),
			    strsignal(WTERMSIG(status)), *tail ? ": " : "",
			    tail);
	else
		sov_err_set(e, classify(tail), "%s failed (exit status %d): %s",
			    child->what, WEXITSTATUS(status),
			    *tail ? tail : "no message");
out:
	if (child->fd >= 0)
		(void)close(child->fd);
	child->fd = -1;
	if (child->err_fd >= 0)
		(void)close(child->err_fd);
	child->err_fd = -1;
	return rc;
}
