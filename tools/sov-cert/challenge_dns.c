/*
 * challenge_dns.c - the dns-01 hook: HOOK set|unset NAME VALUE, run
 * directly with posix_spawn (no shell), stdin from /dev/null and stdout to
 * stderr (stdout carries only records), killed after CT_HOOK_TIMEOUT_MS.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "challenge.h"
#include "timestamp.h"

extern char **environ;

int
ct_hook_run(const char *hook, const char *const *args, struct sov_err *e)
{
	posix_spawn_file_actions_t fa;
	char *argv[8];
	size_t n = 0;
	int64_t deadline = sov_time_mono_ms() + CT_HOOK_TIMEOUT_MS;
	pid_t pid;
	int st = 0, err;

	argv[n++] = (char *)hook;
	while (args[n - 1] != NULL && n < 7) {
		argv[n] = (char *)args[n - 1];
		n++;
	}
	argv[n] = NULL;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "spawn");
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	err = posix_spawn(&pid, hook, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err != 0) {
		errno = err;
		return sov_err_sys(e, SOV_EXIT_USAGE, "--dns-hook %s", hook);
	}
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return sov_err_sys(e, SOV_EXIT_FAIL, "wait for %s",
					   hook);
		if (sov_time_mono_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return sov_err_set(e, SOV_EXIT_TEMPFAIL,
					   "%s %s %s: no exit after %d s", hook,
					   args[0], args[1],
					   CT_HOOK_TIMEOUT_MS / 1000);
		}
		nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		return sov_err_set(e,
				   WEXITSTATUS(st) == 75 ? SOV_EXIT_TEMPFAIL
							 : SOV_EXIT_FAIL,
				   "%s %s %s: exit %d", hook, args[0], args[1],
				   WEXITSTATUS(st));
	return sov_err_set(e, SOV_EXIT_FAIL, "%s %s %s: killed by signal %d",
			   hook, args[0], args[1], WTERMSIG(st));
}
