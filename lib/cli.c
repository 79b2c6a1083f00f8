/* cli.c - command table dispatch and error reporting; see cli.h. */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SOV_VERSION
#define SOV_VERSION "unknown"
#endif

#define SOV_CLI_ARGV0_MAX 128

static const char *progname = "sov";
static const char *cmdname;

const char *
sov_cli_progname(void)
{
	return progname;
}

static void
usage(FILE *f, const struct sov_tool *tool)
{
	fprintf(f, "usage: %s COMMAND [OPTIONS] [ARGS]\n\n%s\n\ncommands:\n",
		tool->name, tool->summary);
	for (const struct sov_cmd *c = tool->cmds; c->name; c++)
		fprintf(f, "  %-12s %s\n", c->name, c->summary);
	fprintf(f,
		"\n'%s COMMAND --help' shows a command's options; "
		"'%s --version' the version.\n",
		tool->name, tool->name);
}

static void
cmd_usage(FILE *f, const struct sov_tool *tool, const struct sov_cmd *c)
{
	fprintf(f, "usage: %s %s %s\n\n%s\n", tool->name, c->name,
		c->usage ? c->usage : "", c->summary);
	if (c->help != NULL && c->help[0] != '\0')
		fprintf(f, "\noptions:\n%s", c->help);
}

static const struct sov_cmd *
find(const struct sov_tool *tool, const char *name)
{
	for (const struct sov_cmd *c = tool->cmds; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* Edit distance, for "did you mean" (commands here, fields in sov-wf). */
size_t
sov_cli_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t prev[SOV_CLI_DISTANCE_MAX + 1], cur[SOV_CLI_DISTANCE_MAX + 1];

	if (la > SOV_CLI_DISTANCE_MAX || lb > SOV_CLI_DISTANCE_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins)
					   : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(prev));
	}
	return prev[lb];
}

static int
unknown(const struct sov_tool *tool, const char *name)
{
	const struct sov_cmd *best = NULL;
	size_t bestd = 3;

	for (const struct sov_cmd *c = tool->cmds; c->name; c++) {
		size_t d = sov_cli_distance(name, c->name);

		if (d < bestd) {
			bestd = d;
			best = c;
		}
	}
	if (best != NULL)
		fprintf(stderr,
			"%s: unknown command '%s'; did you mean '%s'?\n",
			tool->name, name, best->name);
	else
		fprintf(stderr, "%s: unknown command '%s' (see %s --help)\n",
			tool->name, name, tool->name);
	return SOV_EXIT_USAGE;
}

/* --help among a command's arguments (before any "--") */
static int
wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return 1;
	}
	return 0;
}

int
sov_cli_main(const struct sov_tool *tool, int argc, char **argv)
{
	static char argv0[SOV_CLI_ARGV0_MAX];
	const struct sov_cmd *c;
	const char *arg;
	int n;

	progname = tool->name;
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr, tool);
		return SOV_EXIT_USAGE;
	}
	arg = argv[1];
	if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 ||
	    strcmp(arg, "help") == 0) {
		if (argc > 2 && strcmp(arg, "help") == 0) {
			if ((c = find(tool, argv[2])) == NULL)
				return unknown(tool, argv[2]);
			cmd_usage(stdout, tool, c);
		} else {
			usage(stdout, tool);
		}
		return fflush(stdout) == 0 ? SOV_EXIT_OK : SOV_EXIT_FAIL;
	}
	if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
		printf("%s %s\n", tool->name, SOV_VERSION);
		return fflush(stdout) == 0 ? SOV_EXIT_OK : SOV_EXIT_FAIL;
	}
	if (arg[0] == '-')
		return sov_cli_usage_error("unknown option '%s' before the "
					   "command",
					   arg);
	if ((c = find(tool, arg)) == NULL)
		return unknown(tool, arg);
	if (wants_help(argc - 1, argv + 1)) {
		cmd_usage(stdout, tool, c);
		return fflush(stdout) == 0 ? SOV_EXIT_OK : SOV_EXIT_FAIL;
	}
	cmdname = c->name;
	n = snprintf(argv0, sizeof(argv0), "%s %s", tool->name, c->name);
	if (n > 0 && (size_t)n < sizeof(argv0))
		argv[1] = argv0;
	return c->run(argc - 1, argv + 1);
}

int
sov_cli_fail(const struct sov_err *e)
{
	fprintf(stderr, "%s: %s\n", progname,
		e && e->msg[0] ? e->msg : "failed (no message)");
	return sov_err_exit_code(e);
}

int
sov_cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmdname != NULL)
		fprintf(stderr, "\nTry '%s %s --help'.\n", progname, cmdname);
	else
		fprintf(stderr, "\nTry '%s --help'.\n", progname);
	return SOV_EXIT_USAGE;
}

void
sov_cli_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: warning: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
sov_cli_parse_long(const char *opt, const char *s, long min, long max,
		   long *out, struct sov_err *e)
{
	char *end;
	long v;

	errno = 0;
	v = s ? strtol(s, &end, 10) : 0;
	if (s == NULL || *s == '\0' || *end != '\0' || errno == ERANGE ||
	    v < min || v > max)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "%s: want an integer from %ld to %ld, got "
				   "\"%s\"",
				   opt, min, max, s ? s : "");
	*out = v;
	return 0;
}
