/*
 * fault.h - run this test program again, as a child, under the
 * fault-injection shim (tests/helpers/faultinject.c), header only.
 *
 * The error paths a real disk will not produce on demand (ENOSPC, EIO on
 * fsync, EXDEV on rename, ...) are tested so: main() starts with
 *
 *   if (argc > 1 && strcmp(argv[1], "--child") == 0)
 *           return child_main(argc, argv);   // one operation, result on stdout
 *   fault_init(argv[0]);
 *
 * and a test calls fault_run("write:ENOSPC:path=.tmp.", args, out, size):
 * the child runs with LD_PRELOAD=faultinject.so (found next to this binary:
 * the Makefile builds both into $(B)/tests) and SOV_FAULT set, and its
 * stdout comes back in out. When the shim is missing fault_shim is "" and
 * the caller skips, saying why.
 */
#ifndef SOV_TEST_FAULT_H
#define SOV_TEST_FAULT_H

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FAULT_ARGS_MAX 8

static char fault_self[PATH_MAX]; /* this binary */
static char fault_shim[PATH_MAX]; /* faultinject.so, or "" */

/* Find this binary and the shim beside it; 1 when the shim is there. */
static int __attribute__((unused)) fault_init(const char *argv0)
{
	ssize_t n =
	    readlink("/proc/self/exe", fault_self, sizeof(fault_self) - 1);
	char *slash;

	if (n <= 0)
		snprintf(fault_self, sizeof(fault_self), "%s", argv0);
	else
		fault_self[n] = '\0';
	memcpy(fault_shim, fault_self, sizeof(fault_shim));
	slash = strrchr(fault_shim, '/');
	if (slash == NULL ||
	    (size_t)(slash - fault_shim) + sizeof("/faultinject.so") >
		sizeof(fault_shim)) {
		fault_shim[0] = '\0';
		return 0;
	}
	memcpy(slash + 1, "faultinject.so", sizeof("faultinject.so"));
	if (access(fault_shim, R_OK) != 0)
		fault_shim[0] = '\0';
	return fault_shim[0] != '\0';
}

/*
 * Run "self --child ARGS..." (args NULL-terminated, at most FAULT_ARGS_MAX)
 * with the shim and SOV_FAULT=fault; its stdout goes to out (NUL-terminated,
 * cut at size - 1). Returns the child's exit status, 128 when it died of a
 * signal, -1 when it could not be run.
 */
static int __attribute__((unused))
fault_run(const char *fault, const char *const *args, char *out, size_t size)
{
	int fds[2], status;
	size_t got = 0;
	pid_t pid;

	out[0] = '\0';
	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		const char *old = getenv("ASAN_OPTIONS");
		char *argv[FAULT_ARGS_MAX + 3];
		char asan[1024];
		int n = 0;

		argv[n++] = fault_self;
		argv[n++] = (char *)"--child";
		for (int i = 0; args[i] != NULL && i < FAULT_ARGS_MAX; i++)
			argv[n++] = (char *)args[i];
		argv[n] = NULL;
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		/* A sanitized build wants its runtime first in the list; the
		 * shim in front of it is harmless. */
		snprintf(asan, sizeof(asan), "%s%sverify_asan_link_order=0",
			 old ? old : "", old && old[0] ? ":" : "");
		setenv("ASAN_OPTIONS", asan, 1);
		setenv("LD_PRELOAD", fault_shim, 1);
		setenv("SOV_FAULT", fault, 1);
		execv(fault_self, argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n = read(fds[0], out + got, size - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == size - 1)
			break;
	}
	out[got] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

#endif
