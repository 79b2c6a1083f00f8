/*
 * page_int.h - what the status page's files share: page.c gathers the
 * data (window, series, states) and writes the file, page_html.c renders
 * the document and a card per target, page_svg.c draws the charts.
 */
#ifndef PR_PAGE_INT_H
#define PR_PAGE_INT_H

#include "page.h"

/* Colours; the states are told apart by a word, a symbol and (bars) a
 * texture as well. */
#define C_UP "#16a34a"
#define C_DOWN "#dc2626"
#define C_DOWN_DARK "#991b1b"
#define C_PART "#d97706"
#define C_UNKNOWN "#6b7280"

#define BAR_W 6 /* SVG units a bar, gap included */
#define LINE_H 40

/* The page being written: every append is a no-op once bad is set. */
struct pr_page_buf {
	char *p;
	size_t len, cap;
	int bad; /* out of memory or over PR_PAGE_MAX */
};

/* One target's points of a series, by bar: value and count (count 0: none). */
struct pr_page_bars {
	double v[PR_PAGE_BARS + 2];
	double n[PR_PAGE_BARS + 2];
};

/* The window: now, its start, a bar's length, the start of the first
 * bar, and how many bars. */
struct pr_page_win {
	int64_t now, since, every, first;
	int nbars;
};

/* ---- page_html.c ---- */

/* Append, formatted; sets b->bad out of memory or over PR_PAGE_MAX. */
void pr_page_printf(struct pr_page_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Append s (NULL: nothing), escaped for HTML text and attribute values. */
void pr_page_esc(struct pr_page_buf *b, const char *s);

/* Append a duration: "24h", "7d", "30m", "90s". */
void pr_page_duration(struct pr_page_buf *b, int64_t ms);

/* The document up to the cards: head, style, banner (n targets, down of
 * them down, unknown not checked yet), legend. */
void pr_page_head(struct pr_page_buf *b, const struct pr_page_opts *o,
		  int64_t now_ms, int n, int down, int unknown);

/* One target's card; st is its object in the state (borrowed), up and lat
 * its bars or NULL. */
void pr_page_card(struct pr_page_buf *b, const struct pr_page_opts *o,
		  const struct pr_page_win *w, const char *name, jv st,
		  const struct pr_page_bars *up,
		  const struct pr_page_bars *lat);

/* The rest after the cards: how many were left out, the footer. */
void pr_page_foot(struct pr_page_buf *b, const struct pr_page_win *w, int n,
		  int shown);

/* ---- page_svg.c ---- */

/* The patterns the bars and the legend refer to (one hidden <svg>). */
extern const char pr_page_svg_defs[];

/* The legend of the bars' fills. */
void pr_page_legend(struct pr_page_buf *b);

/* Uptime bars over the window; up may be NULL (no checks). */
void pr_page_uptime_svg(struct pr_page_buf *b, const struct pr_page_win *w,
			const struct pr_page_bars *up);

/* The average latency per bar as a line over an area, labelled with the
 * highest; lat may be NULL. */
void pr_page_latency_svg(struct pr_page_buf *b, const struct pr_page_win *w,
			 const struct pr_page_bars *lat);

/* ---- page.c ---- */

/* o[k], or jv_invalid() when o is not an object (owned: free it). */
jv pr_page_field(jv o, const char *k);

/* v's string (borrowed from v), or dflt when v is not a string. */
const char *pr_page_str(jv v, const char *dflt);

#endif
