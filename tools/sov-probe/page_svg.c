/*
 * page_svg.c - the status page's charts: a target's uptime bars and its
 * latency line, the patterns they are filled with, and their legend.
 */
#include "page_int.h"

#include "timestamp.h"

static void
bar_title(struct pr_page_buf *b, const struct pr_page_win *w, int i)
{
	char a[SOV_TIME_RFC3339_LEN], z[SOV_TIME_RFC3339_LEN];

	sov_time_format(w->first + i * w->every, a);
	sov_time_format(w->first + (i + 1) * w->every, z);
	/* "2026-11-22T19:00" to "19:30" */
	pr_page_printf(b, "%.10s %.5s&#8211;%.5s UTC", a, a + 11, z + 11);
}

void
pr_page_uptime_svg(struct pr_page_buf *b, const struct pr_page_win *w,
		   const struct pr_page_bars *up)
{
	pr_page_printf(b,
		       "<svg class=\"bars\" viewBox=\"0 0 %d 30\" "
		       "preserveAspectRatio=\"none\" role=\"img\" "
		       "aria-label=\"uptime, %d bars\">",
		       w->nbars * BAR_W, w->nbars);
	for (int i = 0; i < w->nbars; i++) {
		double n = up ? up->n[i] : 0, v = up ? up->v[i] : 0;
		const char *cls = n == 0        ? "none"
				  : v >= 0.9995 ? "up"
				  : v <= 0      ? "down"
						: "part";

		pr_page_printf(
		    b,
		    "<rect class=\"%s\" x=\"%d\" y=\"0\" width=\"%d\" "
		    "height=\"30\" rx=\"1.5\"><title>",
		    cls, i * BAR_W, BAR_W - 2);
		bar_title(b, w, i);
		if (n == 0)
			pr_page_printf(b, ": no checks");
		else
			pr_page_printf(b, ": %.4g%% up, %.0f checks", v * 100,
				       n);
		pr_page_printf(b, "</title></rect>");
	}
	pr_page_printf(b, "</svg>");
}

/* The average latency per bar as a line over an area, scaled from 0 to a
 * little above the highest bar, which is labelled. */
void
pr_page_latency_svg(struct pr_page_buf *b, const struct pr_page_win *w,
		    const struct pr_page_bars *lat)
{
	double mx = 0, top;
	int first = -1, last = -1;

	for (int i = 0; lat && i < w->nbars; i++)
		if (lat->n[i] > 0) {
			mx = lat->v[i] > mx ? lat->v[i] : mx;
			first = first < 0 ? i : first;
			last = i;
		}
	top = mx * 1.25;
	pr_page_printf(b, "<div class=\"latbox\">");
	pr_page_printf(b,
		       "<svg class=\"lat\" viewBox=\"0 0 %d %d\" "
		       "preserveAspectRatio=\"none\" role=\"img\" "
		       "aria-label=\"latency\">",
		       w->nbars * BAR_W, LINE_H);
	if (lat != NULL && mx > 0) {
		for (int pass = 0; pass < 2; pass++) {
			int pts = 0;

			pr_page_printf(
			    b, pass ? "<polyline points=\""
				    : "<polygon class=\"area\" points=\"");
			if (!pass)
				pr_page_printf(b, "%d,%d ",
					       first * BAR_W + (BAR_W - 2) / 2,
					       LINE_H);
			for (int i = 0; i < w->nbars; i++) {
				if (lat->n[i] <= 0)
					continue;
				pr_page_printf(b, "%s%d,%.1f", pts++ ? " " : "",
					       i * BAR_W + (BAR_W - 2) / 2,
					       LINE_H -
						   LINE_H * lat->v[i] / top);
			}
			if (!pass)
				pr_page_printf(b, " %d,%d",
					       last * BAR_W + (BAR_W - 2) / 2,
					       LINE_H);
			pr_page_printf(
			    b, "\" vector-effect=\"non-scaling-stroke\"/>");
		}
		for (int i = 0; i < w->nbars; i++) {
			if (lat->n[i] <= 0)
				continue;
			pr_page_printf(b,
				       "<rect class=\"hit\" x=\"%d\" y=\"0\" "
				       "width=\"%d\" height=\"%d\"><title>",
				       i * BAR_W, BAR_W, LINE_H);
			bar_title(b, w, i);
			pr_page_printf(b, ": %.1f ms average</title></rect>",
				       lat->v[i] * 1000);
		}
	}
	pr_page_printf(b, "</svg>");
	if (mx > 0)
		pr_page_printf(b, "<span class=\"latmax\">%.1f ms</span>",
			       mx * 1000);
	pr_page_printf(b, "</div>");
}

/* Patterns the bars refer to: down is hatched, partly down dotted, so that
 * they differ without colour too. */
const char pr_page_svg_defs[] =
    "<svg width=\"0\" height=\"0\" style=\"position:absolute\" "
    "aria-hidden=\"true\"><defs>"
    "<pattern id=\"hatch\" width=\"4\" height=\"4\" "
    "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
    "<rect width=\"4\" height=\"4\" fill=\"" C_DOWN "\"/>"
    "<rect width=\"1.6\" height=\"4\" fill=\"" C_DOWN_DARK "\"/></pattern>"
    "<pattern id=\"dots\" width=\"3\" height=\"3\" "
    "patternUnits=\"userSpaceOnUse\">"
    "<rect width=\"3\" height=\"3\" fill=\"" C_PART "\"/>"
    "<circle cx=\"1.5\" cy=\"1.5\" r=\"0.7\" fill=\"#fff\"/></pattern>"
    "</defs></svg>";

void
pr_page_legend(struct pr_page_buf *b)
{
	pr_page_printf(
	    b, "<p class=\"legend\">"
	       "<span><svg viewBox=\"0 0 12 12\"><rect width=\"12\" "
	       "height=\"12\" fill=\"" C_UP "\"/></svg>up</span>"
	       "<span><svg viewBox=\"0 0 12 12\"><rect width=\"12\" "
	       "height=\"12\" fill=\"url(#dots)\"/></svg>partly down</span>"
	       "<span><svg viewBox=\"0 0 12 12\"><rect width=\"12\" "
	       "height=\"12\" fill=\"url(#hatch)\"/></svg>down</span>"
	       "<span><svg viewBox=\"0 0 12 12\"><rect x=\".5\" y=\".5\" "
	       "width=\"11\" height=\"11\" fill=\"none\" stroke=\"#9ca3af\"/>"
	       "</svg>no checks</span></p>");
}
