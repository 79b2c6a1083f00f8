/* test_wf_graph.c - a workflow definition as Graphviz DOT: what is drawn,
 * and that no text from the definition can break out of a DOT string. */
#include <stdlib.h>
#include <string.h>

#include "def.h"
#include "graph.h"
#include "tap.h"

static char *
graph_of(const char *json)
{
	struct sov_err e;
	struct wf_def *d;
	char *dot;
	size_t len;

	d = wf_def_from_text(json, strlen(json), "g.json", WF_DEF_NO_COMPILE,
			     &e);
	if (d == NULL) {
		diag("%s", e.msg);
		return NULL;
	}
	dot = wf_graph_dot(d, &len, &e);
	ok(dot != NULL && strlen(dot) == len, "DOT of %zu bytes", len);
	wf_def_free(d);
	return dot;
}

/* Every line has an even number of unescaped quotes: no string is left
 * open, whatever the definition held. */
static int
balanced(const char *dot)
{
	int quotes = 0;

	for (const char *p = dot; *p; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			quotes++;
		else if (*p == '\n' && quotes % 2 != 0)
			return 0;
	}
	return quotes % 2 == 0;
}

int
main(void)
{
	char *dot;

	dot = graph_of("{\"name\":\"w\",\"version\":3,\"steps\":{"
		       "\"b\":{\"needs\":[\"a\"],\"jq\":\".\"},"
		       "\"a\":{\"http\":{\"url\":\"https://h\",\"body\":\".\"},"
		       "\"undo\":{\"jq\":\".\"}}}}");
	like(dot, "digraph \"w\" {\n", "a digraph named after the workflow");
	like(dot, "label=\"w v3\"", "labelled with its version");
	like(dot, "\t\"step:a\" [label=\"a\\n(http POST)\"];\n",
	     "a step: name and kind");
	like(dot, "\t\"undo:a\" [shape=note", "an undo is a note");
	like(dot, "\t\"step:a\" -> \"undo:a\" [style=dotted, arrowhead=none];",
	     "tied to its step");
	like(dot, "\t\"step:a\" -> \"step:b\";\n", "an edge from a need");
	ok(strstr(dot, "\"step:a\" [") < strstr(dot, "\"step:b\" ["),
	   "nodes in topological order");
	ok(balanced(dot), "quotes balanced");
	free(dot);

	/* an if: quotes, backslashes, a newline, a DOT escape (\N, \l) */
	dot = graph_of("{\"name\":\"w\",\"version\":1,\"steps\":{"
		       "\"a\":{\"run\":[\"x\"]},\"b\":{\"needs\":[\"a\"],"
		       "\"run\":[\"x\"],\"if\":\"\\\"\\\\N\\\\l\\n\\\"\"}}}");
	like(dot, "if \\\"\\\\N\\\\l \\\"\", style=\"rounded,dashed\"",
	     "an if is escaped: \\\" and \\\\, a newline is a space");
	like(dot, "\"step:a\" -> \"step:b\" [style=dashed, label=\"if\"];",
	     "edges into a conditional step are dashed");
	ok(balanced(dot), "quotes balanced");
	free(dot);

	/* a long if is cut at a character, not inside one: 47 ASCII bytes
	 * then "é" (2 bytes) straddles the 48-byte limit */
	dot = graph_of("{\"name\":\"w\",\"version\":1,\"steps\":{"
		       "\"a\":{\"run\":[\"x\"],\"if\":\""
		       "12345678901234567890123456789012345678901234567"
		       "\xc3\xa9 and more\"}}}");
	like(dot, "if 12345678901234567890123456789012345678901234567...\"",
	     "cut before the character that does not fit, marked ...");
	free(dot);
	return done_testing();
}
