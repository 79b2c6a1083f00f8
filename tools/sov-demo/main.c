/*
 * sov-demo - the foundation's demo, and libsov's conventions end to end.
 *
 *   sov-demo run       a fresh store in the state directory, a day of
 *                      measurements written and read back, a summary
 *   sov-demo cat       JSON lines through libsov's reader, a jq filter and
 *                      its writer (the pipe conventions, testable)
 *   sov-demo measure   write one measurement (from a shell script or timer)
 *   sov-demo query     read measurements back
 *
 * It is not installed by `make install`: each tool issue grows `make demo`
 * until it is a whole heart in a box, and this program then goes.
 */
#include "cli.h"
#include "demo.h"

static const struct sov_cmd cmds[] = {
    {"run", demo_cmd_run,
     "[--state-dir DIR] [--metrics URL] [--format json|table]",
     "write a day of measurements into a fresh store, read them back, "
     "summarise",
     "  --state-dir DIR   where the store goes (default: the sov state "
     "directory)\n"
     "  --metrics URL     the store to use instead (sqlite:PATH, "
     "postgres://...)\n"
     "  --format FMT      json (JSON lines) or table (default: table on a "
     "terminal)\n"},
    {"cat", demo_cmd_cat,
     "[--filter JQ] [--objects] [--max-line BYTES] [FILE...]",
     "read JSON lines, optionally through a jq filter, write them",
     "  --filter JQ       a jq program run on every record; each output is "
     "written\n"
     "  --objects         every record must be a JSON object\n"
     "  --max-line BYTES  the longest record accepted (default 1048576)\n"
     "  FILE              files to read; none or - reads stdin\n"},
    {"measure", demo_cmd_measure, "[--unit UNIT] [--tag K=V]... NAME VALUE",
     "write one measurement",
     "  --metrics URL     the store (default $SOV_METRICS; none: a JSON "
     "line on stdout)\n"
     "  --unit UNIT       s, bytes, count, ...\n"
     "  --tag K=V         a tag (repeatable)\n"},
    {"query", demo_cmd_query, "[--since DURATION] [--limit N] NAME",
     "print measurements of NAME as JSON lines, oldest first",
     "  --metrics URL     the store (default $SOV_METRICS)\n"
     "  --since DURATION  how far back (default 24h)\n"
     "  --limit N         at most N records\n"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const struct sov_tool tool = {
    "sov-demo",
    "the sov foundation demo: libsov's store, measurements and JSON lines",
    cmds,
};

int
main(int argc, char **argv)
{
	return sov_cli_main(&tool, argc, argv);
}
