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
    {"daemon", pr_cmd_daemon, "[OPTIONS]",
     "probe every target on its interval until SIGTERM; SIGHUP reloads",
     TARGETS_HELP METRICS_HELP
     "  --state FILE      the state file (default STATE/state.json)\n"
     "  --threads N       worker threads for the blocking kinds (4)\n"
     "  --concurrency N   probes at once (64); a turn that finds no room\n"
     "                    starts late, when one ends\n"
     "  --results         print every result, not only state changes\n"
     "  --page DIR        write the status page DIR/index.html\n"
     "  --page-every DUR  how often (1m)\n"
     "  --rollup-after D  measurements older than D (7d) become 5-minute\n"
     "                    summaries, hourly; 0s: never\n"
     "  --keep DUR        summaries older than this go (400d)\n"
     "  --buffer N        measurements kept while the store is away\n"
     "                    (100000); past it the oldest are dropped\n\n"
     "stdout: a probe.state record on every change, and probe.alert for\n"
     "each alert run; the measurements go to the store.\n"},
    {"status", pr_cmd_status, "[TARGET...] [--format json|table]",
     "each target's state, from the daemon's state file; exit 1 if any "
     "is down",
     "  --state FILE      the state file (default STATE/state.json)\n"
     "  --format F        json lines, or a table (the default on a "
     "terminal)\n"},
    {"query", pr_cmd_query, "NAME [--target T] [OPTIONS]",
     "a measurement's series in time buckets, from the store",
     "  --target T        only this target (tags.target)\n"
     "  --since TS|DUR    the window's start (default 24h: a day ago)\n"
     "  --until TS|DUR    its end (default now)\n"
     "  --every DUR       bucket width, whole seconds (default 5m)\n"
     "  --agg AGG         avg, min, max, p95 or count (default avg)\n"
     "  --metrics URL     measurements store (default $SOV_METRICS)\n\n"
     "One record per bucket and target, oldest first:\n"
     "{\"ts\",\"event\":\"series\",\"name\",\"target\",\"value\","
     "\"count\"}.\nRolled-up time is read from its 5-minute summaries.\n"},
    {"rollup", pr_cmd_rollup, "[--after DUR] [--keep DUR] [--dry-run]",
     "roll old measurements up into 5-minute summaries; expire old ones",
     "  --after DUR       raw rows older than this are rolled up (7d)\n"
     "  --keep DUR        summaries older than this are deleted (400d)\n"
     "  --dry-run         count, change nothing\n"
     "  --chunk N         raw rows a transaction (5000)\n"
     "  --metrics URL     measurements store (default $SOV_METRICS)\n"},
    {"page", pr_cmd_page, "--out DIR [OPTIONS]",
     "write the status page, DIR/index.html (one file, no script)",
     "  --out DIR         where index.html goes (replaced atomically)\n"
     TARGETS_HELP
     "  --state FILE      the daemon's state (default STATE/state.json;\n"
     "                    none yet: every target unknown)\n"
     "  --since DUR       the window of the bars (default 24h)\n"
     "  --title TEXT      the page's title (default Status)\n"
     "  --metrics URL     measurements store (default $SOV_METRICS; none:\n"
     "                    no history)\n"},
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
