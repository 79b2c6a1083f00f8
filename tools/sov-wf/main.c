/*
 * sov-wf - durable workflows: a DAG of small reversible steps, retries with
 * backoff, one dead-letter queue, a measurement per execution.
 *
 * Definitions: docs/workflow-format.md. The store: docs/wf-store.md.
 */
#include "cli.h"
#include "wf.h"

#define STORE_HELP                                                             \
	"  --store URL       sqlite:PATH or postgres://... (default\n"         \
	"                    $SOV_WF_STORE, else sqlite:STATE/wf.db)\n"

#define WORK_HELP                                                              \
	"  --lease DUR       how long a claimed step is this worker's "        \
	"without\n"                                                            \
	"                    a heartbeat (default 30s; renewed every third)\n" \
	"  --poll DUR        the longest wait between claims when idle "       \
	"(100ms)\n"                                                            \
	"  --batch N         the most steps one claim takes (128)\n"            \
	"  --metrics URL     measurements store (default $SOV_METRICS, else\n" \
	"                    JSON lines on stdout)\n"                          \
	"  --workflows DIR   definitions (default $SOV_WF_WORKFLOWS, else\n"   \
	"                    STATE/workflows)\n"

static const struct sov_cmd cmds[] = {
    {"validate", wf_cmd_validate, "FILE|DIR...",
     "check workflow definitions fully; a DIR means its *.json files",
     "  FILE      a definition; - reads stdin\n"
     "  DIR       every *.json in it, in name order\n\n"
     "One record per valid definition on stdout, one error per invalid one\n"
     "on stderr; exit 2 when any is invalid or two define the same name.\n"},
    {"graph", wf_cmd_graph, "FILE [--format dot|svg]",
     "draw a definition's steps as a Graphviz graph",
     "  --format dot   Graphviz DOT (the default)\n"
     "  --format svg   SVG, through Graphviz's dot (must be installed)\n"},
    {"run", wf_cmd_run, "NAME [--input JSON] [OPTIONS]",
     "start an execution, work on it here, print its result",
     "  --input JSON      the execution's input, an object (default {})\n"
     "  --key KEY         idempotency key: a second run with it starts\n"
     "                    nothing and waits for the first\n"
     "  --no-work         only wait: other workers run the steps\n" STORE_HELP
	 WORK_HELP "\nExit 0 when the execution succeeded, 1 when it failed "
     "or was\ncancelled, 75 when interrupted (it goes on in the "
     "store).\n"},
    {"enqueue", wf_cmd_enqueue, "NAME [OPTIONS] < LINES",
     "one execution per JSON line on stdin",
     "  --key JQ          idempotency key of each line, a jq program\n"
     "                    giving a string (e.g. .id); a line whose key was\n"
     "                    seen starts nothing\n"
     "  --workflows DIR   definitions (default $SOV_WF_WORKFLOWS)\n" STORE_HELP
     "\nThe workflow needs an {\"enqueue\": true} trigger. One record per\n"
     "line on stdout; a bad line is reported and skipped (exit 2 at the\n"
     "end).\n"},
    {"worker", wf_cmd_worker, "[OPTIONS]",
     "run queued steps, cron triggers and dead-letter retries until SIGTERM",
     "  --threads N       steps run at once (default: the cores)\n"
     "  --name ID         this worker's name in leases (default\n"
     "                    HOST:PID:RANDOM)\n"
     "  --dlq-base DUR    first automatic retry of a dead-lettered\n"
     "                    execution (default 1m), doubling to\n"
     "  --dlq-max DUR     (default 1d)\n"
     "  --dlq-retries N   automatic retries at most (default -1: no limit;\n"
     "                    0: only an operator retries)\n"
     "  --webhook ADDR:PORT  serve the webhook triggers there (an address\n"
     "                    of this host, e.g. its mesh address; port 0: "
     "any)\n" STORE_HELP WORK_HELP},
    {"status", wf_cmd_status, "[NAME] [--limit N]", "executions in flight",
     STORE_HELP},
    {"history", wf_cmd_history, "[NAME] [--limit N]",
     "executions that ended, newest first", STORE_HELP},
    {"show", wf_cmd_show, "EXECUTION",
     "an execution: every step, attempt, output and error", STORE_HELP},
    {"logs", wf_cmd_logs, "EXECUTION", "an execution's attempts in order",
     STORE_HELP},
    {"cancel", wf_cmd_cancel, "EXECUTION",
     "cancel a running execution (its completed steps are undone)", STORE_HELP},
    {"dlq", wf_cmd_dlq, "list|show ID|retry ID|discard ID",
     "the dead-letter queue",
     "  list          every entry, oldest first\n"
     "  show ID       an entry and its failed attempts\n"
     "  retry ID      run the execution again from the start, now\n"
     "  discard ID    take it out of the queue for good\n" STORE_HELP},
    {"purge", wf_cmd_purge, "--older-than DUR [--dry-run]",
     "delete executions that ended more than DUR ago (retention)",
     "  --older-than DUR  e.g. 30d; succeeded, cancelled and discarded\n"
     "                    executions, with their steps and attempts\n"
     "                    (never one in flight or in the dead-letter "
     "queue)\n"
     "  --dry-run         count them, delete nothing\n" STORE_HELP},
    {NULL, NULL, NULL, NULL, NULL},
};

static const struct sov_tool tool = {
    "sov-wf",
    "durable workflows of small reversible steps",
    cmds,
};

int
main(int argc, char **argv)
{
	return sov_cli_main(&tool, argc, argv);
}
