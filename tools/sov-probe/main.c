/*
 * sov-probe - health checks into the time-series store, alerts when a
 * target changes state, and a static status page.
 *
 * Targets: docs/probe-targets.md. Records and measurements: probe.h.
 */
#include "cli.h"
#include "probe.h"

#define TARGETS_HELP                                                           \
	"  --targets PATH    a targets file or a directory of *.json (default\n" \
	"                    $SOV_PROBE_TARGETS, else STATE/targets.json)\n"
#define METRICS_HELP                                                           \
	"  --metrics URL     measurements store (default $SOV_METRICS, else\n" \
	"                    JSON lines on stdout)\n"

static const struct sov_cmd cmds[] = {
    {"validate", pr_cmd_validate, "PATH...",
     "check targets files fully, probe nothing",
     "  PATH      a targets file, a directory of *.json, or - for stdin\n\n"
     "One record per target on stdout; exit 2 with FILE: JSON.PATH: why\n"
     "when anything is wrong.\n"},
    {"run", pr_cmd_run, "[TARGET...] [OPTIONS]",
     "probe each target once, print a record each; exit 1 when any is down",
     TARGETS_HELP
     "  --metrics URL     also write the measurements there (default\n"
     "                    $SOV_METRICS; none: only the records)\n"
     "  --threads N       worker threads for the blocking kinds (4)\n"
     "  --concurrency N   probes at once (64)\n"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const struct sov_tool tool = {
    "sov-probe",
    "health checks, alerts on state changes, a status page",
    cmds,
};

int
main(int argc, char **argv)
{
	return sov_cli_main(&tool, argc, argv);
}
