/*
 * sov-wf - durable workflows: a DAG of small reversible steps, retries with
 * backoff, one dead-letter queue, a measurement per execution.
 *
 * This slice holds the definitions (docs/workflow-format.md): validate and
 * graph. The engine's commands are listed, marked "(not yet)", and say so
 * when called.
 */
#include "cli.h"
#include "wf.h"

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
    {"run", wf_cmd_todo, "NAME --input JSON",
     "(not yet) run a workflow and wait for its result", NULL},
    {"enqueue", wf_cmd_todo, "NAME",
     "(not yet) one execution per JSON line on stdin", NULL},
    {"worker", wf_cmd_todo, "[OPTIONS]",
     "(not yet) run queued executions, cron triggers and webhooks", NULL},
    {"dlq", wf_cmd_todo, "list|show|retry|discard",
     "(not yet) the dead-letter queue", NULL},
    {"status", wf_cmd_todo, "", "(not yet) executions in flight", NULL},
    {"history", wf_cmd_todo, "[NAME]", "(not yet) past executions", NULL},
    {"show", wf_cmd_todo, "EXECUTION",
     "(not yet) every step, attempt, output and error of an execution", NULL},
    {"cancel", wf_cmd_todo, "EXECUTION", "(not yet) cancel an execution", NULL},
    {"logs", wf_cmd_todo, "EXECUTION", "(not yet) an execution's log", NULL},
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
