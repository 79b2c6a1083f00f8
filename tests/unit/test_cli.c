/*
 * test_cli.c - the command table: dispatch, --help on every level,
 * --version, unknown commands and options, error reporting, option values.
 * stdout and stderr of each call are captured into files and checked.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tap.h"

static char got_argv0[128], got_arg1[64];
static int got_argc, runs;

static int
cmd_echo(int argc, char **argv)
{
	runs++;
	got_argc = argc;
	snprintf(got_argv0, sizeof(got_argv0), "%s", argv[0]);
	snprintf(got_arg1, sizeof(got_arg1), "%s", argc > 1 ? argv[1] : "");
	return 7;
}

static const struct sov_cmd cmds[] = {
    {"backup", cmd_echo, "[OPTIONS] PATH...", "back up paths",
     "  --tag TAG   a tag\n"},
    {"restore", cmd_echo, "SNAPSHOT", "restore a snapshot", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
static const struct sov_tool tool = {"sov-t", "a test tool", cmds};

static char out[4096], err[4096];

/* Run sov_cli_main on a copy of args with stdout/stderr captured. */
static int
call(int argc, const char *const *args)
{
	char *argv[16], *mine[16], path_o[512], path_e[512];
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int so = dup(1), se = dup(2), fo, fe, rc;
	FILE *f;
	size_t n;

	/* sov_cli_main replaces argv[1]: free our own copies, not argv */
	for (int i = 0; i < argc && i < 15; i++)
		argv[i] = mine[i] = strdup(args[i]);
	argv[argc] = NULL;
	snprintf(path_o, sizeof(path_o), "%s/cli.out", tmp);
	snprintf(path_e, sizeof(path_e), "%s/cli.err", tmp);
	fflush(stdout);
	fo = open(path_o, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fe = open(path_e, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fo, 1);
	dup2(fe, 2);
	rc = sov_cli_main(&tool, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(fo);
	close(fe);
	f = fopen(path_o, "r");
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	f = fopen(path_e, "r");
	n = fread(err, 1, sizeof(err) - 1, f);
	err[n] = '\0';
	fclose(f);
	for (int i = 0; i < argc && i < 15; i++)
		free(mine[i]);
	return rc;
}

#define CALL(...)                                                              \
	call(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *),     \
	     (const char *[]){__VA_ARGS__})

int
main(void)
{
	struct sov_err e;
	long v;

	is_int(CALL("sov-t"), SOV_EXIT_USAGE, "no command: exit 2");
	like(err, "usage: sov-t COMMAND", "usage on stderr");
	is_str(out, "", "nothing on stdout");

	is_int(CALL("sov-t", "--help"), 0, "--help: exit 0");
	like(out, "usage: sov-t COMMAND", "usage on stdout");
	like(out, "  backup       back up paths", "commands listed");
	is_int(CALL("sov-t", "help"), 0, "help: exit 0");

	is_int(CALL("sov-t", "--version"), 0, "--version: exit 0");
	is_str(out, "sov-t " SOV_VERSION "\n", "name and version");

	is_int(CALL("sov-t", "help", "backup"), 0, "help CMD: exit 0");
	like(out, "usage: sov-t backup [OPTIONS] PATH...", "command usage");
	like(out, "--tag TAG", "command options");
	is_int(CALL("sov-t", "help", "nope"), SOV_EXIT_USAGE,
	       "help of an "
	       "unknown command");

	runs = 0;
	is_int(CALL("sov-t", "backup", "--help"), 0, "CMD --help: exit 0");
	is_int(runs, 0, "the command did not run");
	like(out, "usage: sov-t backup", "its usage shown");
	is_int(CALL("sov-t", "restore", "-h"), 0, "CMD -h: exit 0");

	is_int(CALL("sov-t", "backup", "--", "--help"), 7,
	       "after --, --help is an argument: the command runs");
	is_int(CALL("sov-t", "backup", "/etc"), 7,
	       "dispatch returns the "
	       "command's code");
	is_str(got_argv0, "sov-t backup", "argv[0] names tool and command");
	is_str(got_arg1, "/etc", "arguments passed on");
	is_int(got_argc, 2, "argc counts from the command");

	is_int(CALL("sov-t", "bakup"), SOV_EXIT_USAGE, "typo: exit 2");
	is_str(err, "sov-t: unknown command 'bakup'; did you mean 'backup'?\n",
	       "nearest command suggested");
	is_int(CALL("sov-t", "zzzzzzzz"), SOV_EXIT_USAGE, "unknown: exit 2");
	is_str(err, "sov-t: unknown command 'zzzzzzzz' (see sov-t --help)\n",
	       "nothing near: pointed to --help");
	is_int(CALL("sov-t", "--bogus"), SOV_EXIT_USAGE,
	       "option before the "
	       "command: exit 2");
	like(err, "unknown option '--bogus' before the command", "named");

	/* error reporting after sov_cli_main set the name */
	sov_err_set(&e, SOV_EXIT_TEMPFAIL, "store down");
	{
		int se = dup(2), fe;
		char path[512];
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "%s/fail.err",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		fe = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fe, 2);
		is_int(sov_cli_fail(&e), 75, "fail returns the error's code");
		sov_cli_warn("disk %d%% full", 91);
		fflush(stderr);
		dup2(se, 2);
		close(se);
		close(fe);
		f = fopen(path, "r");
		n = fread(err, 1, sizeof(err) - 1, f);
		err[n] = '\0';
		fclose(f);
		is_str(err,
		       "sov-t: store down\nsov-t: warning: disk 91% full\n",
		       "tool name, message; warnings marked");
	}

	ok(sov_cli_parse_long("--count", "42", 1, 100, &v, &e) == 0 && v == 42,
	   "parse 42");
	ok(sov_cli_parse_long("--count", "0", 1, 100, &v, &e) == -1 &&
	       e.code == SOV_EXIT_USAGE,
	   "below the range refused");
	is_str(e.msg, "--count: want an integer from 1 to 100, got \"0\"",
	       "message names option, range and value");
	ok(sov_cli_parse_long("--count", "12x", 1, 100, &v, &e) == -1,
	   "trailing junk refused");
	ok(sov_cli_parse_long("--count", "", 1, 100, &v, &e) == -1,
	   "empty refused");
	ok(sov_cli_parse_long("--count", "99999999999999999999", 1, 100, &v,
			      &e) == -1,
	   "overflow refused");

	/* edit distance, behind every "did you mean" */
	is_int(sov_cli_distance("measur", "measure"), 1, "distance: one added");
	is_int(sov_cli_distance("retyr", "retry"), 2,
	       "distance: a swap is two");
	is_int(sov_cli_distance("", "abc"), 3, "distance: from nothing");
	is_int(sov_cli_distance("same", "same"), 0, "distance: none");
	ok(sov_cli_distance("0123456789012345678901234567890123", "a") ==
	       SIZE_MAX,
	   "distance: over %d bytes is as far as can be", SOV_CLI_DISTANCE_MAX);
	return done_testing();
}
