/*
 * cmd_graph.c - `sov-wf graph FILE [--format dot|svg]`: the definition's
 * DOT on stdout, or SVG from Graphviz's dot fed through a pipe.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "def.h"
#include "graph.h"
#include "wf.h"

#define PATH_ENV_MAX 65536 /* bytes of $PATH searched */

/* The first executable "dot" in $PATH into buf; -1 when there is none. */
static int
find_dot(char *buf, size_t size)
{
	const char *path = getenv("PATH");
	struct stat st;

	if (path == NULL || strnlen(path, PATH_ENV_MAX) >= PATH_ENV_MAX)
		return -1;
	while (*path) {
		size_t n = strcspn(path, ":");
		int k;

		/* an empty entry is the current directory */
		if (n == 0)
			k = snprintf(buf, size, "./dot");
		else
			k = snprintf(buf, size, "%.*s/dot", (int)n, path);
		if (k > 0 && (size_t)k < size && stat(buf, &st) == 0 &&
		    S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return 0;
		path += n + (path[n] == ':');
	}
	return -1;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* dot -Tsvg with text on its stdin and our stdout as its own. */
static int
to_svg(const char *text, size_t len, struct sov_err *e)
{
	char dot[PATH_MAX];
	int fds[2], status, werr = 0;
	pid_t pid;

	if (find_dot(dot, sizeof(dot)) < 0)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "--format svg: graphviz is not installed "
				   "(no 'dot' in PATH); install graphviz, or "
				   "use --format dot");
	if (fflush(stdout) != 0)
		return sov_err_sys(e, SOV_EXIT_FAIL, "stdout");
	if (pipe(fds) < 0)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "pipe");
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "fork");
	}
	if (pid == 0) {
		char *argv[] = {dot, (char *)"-Tsvg", NULL};

		if (dup2(fds[0], 0) < 0)
			_exit(127);
		close(fds[0]);
		close(fds[1]);
		execv(dot, argv);
		_exit(127);
	}
	close(fds[0]);
	if (write_all(fds[1], text, len) < 0)
		werr = errno;
	close(fds[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return sov_err_sys(e, SOV_EXIT_FAIL, "wait for %s",
					   dot);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return sov_err_set(e, SOV_EXIT_FAIL, "%s -Tsvg failed (%s %d)",
				   dot, WIFEXITED(status) ? "exit" : "signal",
				   WIFEXITED(status) ? WEXITSTATUS(status)
						     : WTERMSIG(status));
	if (werr) {
		errno = werr;
		return sov_err_sys(e, SOV_EXIT_FAIL, "write to %s", dot);
	}
	return 0;
}

int
wf_cmd_graph(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"format", required_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	struct sov_err e = {0};
	struct wf_def *d = NULL;
	const char *format = "dot";
	char *text = NULL;
	size_t len = 0;
	int opt, rc = SOV_EXIT_FAIL;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (opt != 'f') {
			rc = sov_cli_usage_error("bad option");
			goto out;
		}
		format = optarg;
	}
	if (strcmp(format, "dot") != 0 && strcmp(format, "svg") != 0) {
		rc = sov_cli_usage_error(
		    "--format: want dot or svg, not \"%s\"", format);
		goto out;
	}
	if (argc - optind != 1) {
		rc = sov_cli_usage_error("graph takes one FILE");
		goto out;
	}
	d = wf_def_load(argv[optind], 0, &e);
	if (d == NULL)
		goto fail;
	text = wf_graph_dot(d, &len, &e);
	if (text == NULL)
		goto fail;
	if (strcmp(format, "svg") == 0) {
		if (to_svg(text, len, &e) < 0)
			goto fail;
	} else if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
		sov_err_sys(&e, SOV_EXIT_FAIL, "stdout");
		goto fail;
	}
	rc = SOV_EXIT_OK;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	free(text);
	wf_def_free(d);
	return rc;
}
