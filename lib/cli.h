/*
 * cli.h - the command table, --help and --version, and the one place a tool
 * turns an error into a line on stderr and an exit code.
 *
 *   static const struct sov_cmd cmds[] = {
 *           {"backup", cmd_backup, "[OPTIONS] PATH...", "back up paths",
 *            "  --tag TAG   ...\n"},
 *           {NULL, NULL, NULL, NULL, NULL},
 *   };
 *   static const struct sov_tool tool = {"sov-backup", "encrypted ...", cmds};
 *   int main(int argc, char **argv) { return sov_cli_main(&tool, argc, argv); }
 *
 * A command's run() gets argv[0] set to "sov-NAME COMMAND" so getopt_long's
 * own messages name the command, and returns an exit code.
 */
#ifndef SOV_CLI_H
#define SOV_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct sov_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;   /* arguments, e.g. "[OPTIONS] PATH..." */
	const char *summary; /* one line */
	const char *help;    /* the options, one per line, or NULL */
};

struct sov_tool {
	const char *name;           /* "sov-backup" */
	const char *summary;        /* one line */
	const struct sov_cmd *cmds; /* ends with an entry whose name is NULL */
};

/*
 * Dispatch: no command → usage on stderr, exit 2; --help/-h/help → usage on
 * stdout, exit 0; help CMD or CMD --help → the command's help, exit 0;
 * --version → "sov-NAME VERSION", exit 0; an unknown command → exit 2 with
 * the nearest name. SIGPIPE is ignored, so a closed stdout is a write error
 * that the JSON-lines writer reports instead of a silent death.
 */
int sov_cli_main(const struct sov_tool *tool, int argc, char **argv);

/* The tool's name for messages ("sov-backup"), "sov" before sov_cli_main. */
const char *sov_cli_progname(void);

/* "sov-NAME: message" on stderr; returns the error's exit code. */
int sov_cli_fail(const struct sov_err *e);

/* A usage error: the message and a hint to --help on stderr; returns 2. */
int sov_cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* "sov-NAME: warning: message" on stderr. */
void sov_cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Parse an integer option value in [min, max]; the error names the option
 * ("--count: want an integer from 1 to 1000, got \"x\"").
 */
/* Edit distance of two short strings, for "did you mean" suggestions;
 * SIZE_MAX when either is over SOV_CLI_DISTANCE_MAX bytes. */
#define SOV_CLI_DISTANCE_MAX 32
size_t sov_cli_distance(const char *a, const char *b);

int sov_cli_parse_long(const char *opt, const char *s, long min, long max,
		       long *out, struct sov_err *e);

#endif
