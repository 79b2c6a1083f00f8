/* graph.c - a definition as Graphviz DOT; see graph.h. */
#include "graph.h"

#include <stdio.h>
#include <stdlib.h>

/*
 * s as the inside of a DOT quoted string: quotes and backslashes escaped
 * (so DOT's own \N, \G, \l never happen), control characters as spaces,
 * at most max bytes, cut at a UTF-8 character boundary with "...".
 */
static void
put_escaped(FILE *f, const char *s, size_t max)
{
	size_t n = 0;

	while (s[n] && n < max)
		n++;
	if (s[n]) /* cut: not inside a character */
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < ' ' || ch == 0x7f)
			fputc(' ', f);
		else
			fputc(ch, f);
	}
	if (s[n])
		fputs("...", f);
}

/* "step:NAME" and "undo:NAME": ':' is not in names, so no id collides */
static void
put_id(FILE *f, const char *kind, const char *name)
{
	fprintf(f, "\"%s:", kind);
	put_escaped(f, name, WF_NAME_MAX);
	fputc('"', f);
}

static void
put_kind(FILE *f, const struct wf_action *a)
{
	fputs(wf_kind_name(a->kind), f);
	if (a->kind == WF_KIND_HTTP)
		fprintf(f, " %s", wf_method_name(a->http.method));
}

static void
put_step(FILE *f, const struct wf_step *s)
{
	fputc('\t', f);
	put_id(f, "step", s->name);
	fputs(" [label=\"", f);
	put_escaped(f, s->name, WF_NAME_MAX);
	fputs("\\n(", f);
	put_kind(f, &s->act);
	fputc(')', f);
	if (s->cond.src) {
		fputs("\\nif ", f);
		put_escaped(f, s->cond.src, WF_GRAPH_COND_SHOW);
		fputs("\", style=\"rounded,dashed", f);
	}
	fputs("\"];\n", f);
	if (s->undo) {
		fputc('\t', f);
		put_id(f, "undo", s->name);
		fputs(" [shape=note, style=\"\", fontsize=10, label=\"undo ",
		      f);
		put_escaped(f, s->name, WF_NAME_MAX);
		fputs("\\n(", f);
		put_kind(f, s->undo);
		fputs(")\"];\n\t", f);
		put_id(f, "step", s->name);
		fputs(" -> ", f);
		put_id(f, "undo", s->name);
		fputs(" [style=dotted, arrowhead=none];\n", f);
	}
}

char *
wf_graph_dot(const struct wf_def *d, size_t *len, struct sov_err *e)
{
	char *buf = NULL;
	FILE *f;
	int bad;

	*len = 0;
	f = open_memstream(&buf, len);
	if (f == NULL) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "graph");
		return NULL;
	}
	fputs("digraph \"", f);
	put_escaped(f, d->name, WF_NAME_MAX);
	fputs("\" {\n\tgraph [rankdir=LR, labelloc=t, label=\"", f);
	put_escaped(f, d->name, WF_NAME_MAX);
	fprintf(f, " v%ld\", fontname=\"sans-serif\"];\n", d->version);
	fputs("\tnode [shape=box, style=rounded, fontname=\"sans-serif\"];\n"
	      "\tedge [fontname=\"sans-serif\"];\n",
	      f);
	for (size_t k = 0; k < d->n_steps; k++)
		put_step(f, &d->steps[d->order[k]]);
	for (size_t k = 0; k < d->n_steps; k++) {
		const struct wf_step *s = &d->steps[d->order[k]];

		for (size_t j = 0; j < s->n_needs; j++) {
			fputc('\t', f);
			put_id(f, "step", d->steps[s->needs[j]].name);
			fputs(" -> ", f);
			put_id(f, "step", s->name);
			fputs(s->cond.src ? " [style=dashed, label=\"if\"];\n"
					  : ";\n",
			      f);
		}
	}
	fputs("}\n", f);
	bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(buf);
		*len = 0;
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "graph: out of memory");
		return NULL;
	}
	return buf;
}
