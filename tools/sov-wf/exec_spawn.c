/*
 * exec_spawn.c - start the command of a run action: its environment, its
 * three pipes, the file its argv[0] names, and posix_spawn.
 *
 * The worker is multi-threaded, so the child comes from posix_spawn
 * (nothing but the spawn's own steps runs between fork and exec) and every
 * pipe is O_CLOEXEC, so no other thread's child inherits one. The child
 * gets its own process group (so that it is killed as one) and every
 * signal at its default, unblocked, as a freshly started program expects
 * (the worker ignores SIGPIPE).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "exec_int.h"

extern char **environ;

#define SPAWN_ENV_MAX 100000 /* entries of the worker's environment */
#define SPAWN_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin" /* PATH unset */

/* The variables we set, replacing inherited ones; the order of own[]. */
static const char *const own_names[] = {
    "SOV_WF_WORKFLOW", "SOV_WF_EXECUTION", "SOV_WF_STEP",
    "SOV_WF_ATTEMPT",  "SOV_WF_UNDO",      "SOV_WF_IDEMPOTENCY_KEY",
};
#define N_OWN (sizeof(own_names) / sizeof(own_names[0]))

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd); /* a pipe end: nothing to lose on close */
	*fd = -1;
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
		if (++n > SPAWN_ENV_MAX)
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "%s: the worker's environment has "
					   "over %d variables",
					   c->step, SPAWN_ENV_MAX);
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

/* child[i] is the child's end for its fd i; ch's in, out, err ours. */
static int
make_pipes(struct wf_child *ch, int child[3], struct sov_err *e)
{
	int *ours[3] = {&ch->in, &ch->out, &ch->err};
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
 * The file to run for cmd: itself when it has a slash, else the first
 * executable regular file of that name in the worker's PATH (entries that
 * are not absolute skipped: a step never depends on the worker's
 * directory). 0, or ENOENT, EACCES, ENAMETOOLONG. Done here rather than
 * by posix_spawnp so that "not found" is said the same wherever the spawn
 * cannot report a failed exec (valgrind, old C libraries: exit 127).
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
		dirs = SPAWN_DEFAULT_PATH;
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
		err =
		    EACCES; /* found, not executable: say so if nothing else */
	}
	return err;
}

/*
 * Start the command. 0: started; 1: it could not be (r says why, FAIL or
 * RETRY); -1: the worker's own failure.
 */
static int
spawn(struct wf_child *ch, const struct wf_action *a, char **env,
      const int child[3], struct wf_result *r, struct sov_err *e)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	const char *cmd = a->argv[0];
	char path[PATH_MAX];
	int rc = -1, err, have_fa = 0, have_at = 0, found = 0, i;

	if ((err = find_command(cmd, path, sizeof(path))) != 0)
		goto refused;
	found = 1;
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
	err = posix_spawn(&ch->pid, path, &fa, &at, a->argv, env);
	if (err == 0) {
		rc = 0;
		goto out;
	}
	ch->pid = 0;
refused:
	rc = 1;
	switch (err) {
	case ENOENT:
		if (found) /* so what is missing is its interpreter */
			wf_exec_fail(r, WF_OUT_FAIL,
				     "cannot run %s: the interpreter its #! "
				     "line names is missing",
				     path);
		else if (strchr(cmd, '/') != NULL)
			wf_exec_fail(r, WF_OUT_FAIL,
				     "cannot run %s: no such file", cmd);
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

int
wf_exec_spawn(const struct wf_action *a, const struct wf_exec_call *call,
	      struct wf_child *ch, struct wf_result *r, struct sov_err *e)
{
	char *own[N_OWN] = {NULL}, **env = NULL;
	int child[3] = {-1, -1, -1}, rc = -1, i;

	ch->pid = 0;
	ch->in = ch->out = ch->err = -1;
	if (a->argc < 1 || a->argv == NULL || a->argv[0] == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: no command", call->step);
		goto out;
	}
	if (make_env(call, own, &env, e) < 0 || make_pipes(ch, child, e) < 0)
		goto out;
	rc = spawn(ch, a, env, child, r, e);
out:
	for (i = 0; i < 3; i++)
		close_fd(&child[i]); /* the child has its copies */
	if (rc != 0) {
		close_fd(&ch->in);
		close_fd(&ch->out);
		close_fd(&ch->err);
	}
	free(env);
	for (i = 0; i < (int)N_OWN; i++)
		free(own[i]);
	return rc;
}
