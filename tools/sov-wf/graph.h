/*
 * graph.h - a workflow definition as a Graphviz DOT graph.
 *
 * One box per step, labelled with its name and kind (and http method);
 * an edge from each need to the step that needs it; a step with an `if`
 * is dashed, as are the edges into it, and its label shows the condition
 * (cut to WF_GRAPH_COND_SHOW bytes); a step with an `undo` has a note
 * beside it naming the undo's kind. Every string is escaped for DOT.
 */
#ifndef WF_GRAPH_H
#define WF_GRAPH_H

#include <stddef.h>

#include "def.h"
#include "err.h"

#define WF_GRAPH_COND_SHOW 48 /* bytes of an `if` shown in a label */

/* The DOT text, malloc'ed and NUL-terminated, its length in *len (caller
 * frees). NULL when out of memory. */
char *wf_graph_dot(const struct wf_def *d, size_t *len, struct sov_err *e);

#endif
