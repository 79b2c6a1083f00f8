/*
 * cmd_todo.c - the commands of the engine, which is not written yet: each
 * says so plainly rather than doing nothing.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "wf.h"

int
wf_cmd_todo(int argc, char **argv)
{
	/* sov_cli_main set argv[0] to "sov-wf COMMAND" */
	const char *sp = argc > 0 ? strrchr(argv[0], ' ') : NULL;

	fprintf(stderr, "%s: %s: not implemented yet\n", sov_cli_progname(),
		sp ? sp + 1 : "command");
	return SOV_EXIT_USAGE;
}
