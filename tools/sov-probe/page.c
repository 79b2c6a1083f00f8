/*
 * page.c - the status page as one HTML file; see page.h.
 */
#include "page.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "series.h"
#include "state.h"
#include "timestamp.h"

/* Colours; the states are told apart by a word, a symbol and (bars) a
 * texture as well. */
#define C_UP "#16a34a"
#define C_DOWN "#dc2626"
#define C_DOWN_DARK "#991b1b"
#define C_PART "#d97706"
#define C_UNKNOWN "#6b7280"

#define BAR_W 6 /* SVG units a bar, gap included */
#define LINE_H 40

struct buf {
	char *p;
	size_t len, cap;
	int bad; /* out of memory or over PR_PAGE_MAX */
};

static void
reserve(struct buf *b, size_t more)
{
	size_t cap;
	char *np;

	if (b->bad || b->len + more + 1 <= b->cap)
		return;
	if (b->len + more + 1 > PR_PAGE_MAX) {
		b->bad = 1;
		return;
	}
	cap = b->cap ? b->cap : 16384;
	while (cap < b->len + more + 1)
		cap *= 2;
	np = realloc(b->p, cap);
	if (np == NULL) {
		b->bad = 1;
		return;
	}
	b->p = np;
	b->cap = cap;
}

static void __attribute__((format(printf, 2, 3)))
bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->bad = 1;
		return;
	}
	reserve(b, (size_t)n);
	if (b->bad)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Text from outside, escaped for HTML text and attribute values. */
static void
besc(struct buf *b, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '&':
			bprintf(b, "&amp;");
			break;
		case '<':
			bprintf(b, "&lt;");
			break;
		case '>':
			bprintf(b, "&gt;");
			break;
		case '"':
			bprintf(b, "&quot;");
			break;
		case '\'':
			bprintf(b, "&#39;");
			break;
		default:
			reserve(b, 1);
			if (!b->bad)
				b->p[b->len++] = *s;
		}
	}
	if (!b->bad && b->p)
		b->p[b->len] = '\0';
}

/* A string field of an object, or NULL (borrowed from o: keep o alive). */
static jv
field(jv o, const char *k)
{
	if (jv_get_kind(o) != JV_KIND_OBJECT)
		return jv_invalid();
	return jv_object_get(jv_copy(o), jv_string(k));
}

static const char *
str_or(jv v, const char *dflt)
{
	return jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : dflt;
}

/* "3m ago", "2h ago", "5d ago" */
static void
ago(struct buf *b, int64_t now, const char *ts)
{
	int64_t t, d;
	struct sov_err e;

	if (ts == NULL || sov_time_parse(ts, &t, &e) < 0) {
		bprintf(b, "never");
		return;
	}
	d = (now - t) / 1000;
	if (d < 0)
		d = 0;
	if (d < 90)
		bprintf(b, "%llds ago", (long long)d);
	else if (d < 5400)
		bprintf(b, "%lldm ago", (long long)(d / 60));
	else if (d < 172800)
		bprintf(b, "%lldh ago", (long long)(d / 3600));
	else
		bprintf(b, "%lldd ago", (long long)(d / 86400));
}

/* "24h", "7d", "30m", "90s" */
static void
duration(struct buf *b, int64_t ms)
{
	if (ms % 86400000 == 0 && ms > 86400000)
		bprintf(b, "%lldd", (long long)(ms / 86400000));
	else if (ms % 3600000 == 0)
		bprintf(b, "%lldh", (long long)(ms / 3600000));
	else if (ms % 60000 == 0)
		bprintf(b, "%lldm", (long long)(ms / 60000));
	else
		bprintf(b, "%llds", (long long)(ms / 1000));
}

/* One target's points of a series, by bar: value and count (count 0: none). */
struct bars {
	double v[PR_PAGE_BARS + 2];
	double n[PR_PAGE_BARS + 2];
};

struct win {
	int64_t now, since, every, first;
	int nbars;
};

/* points (an array of series records, all targets) into per-target bars:
 * an object target -> index into *out. */
static int
spread(jv points, const struct win *w, jv *index, struct bars **out,
       size_t *nout, struct sov_err *e)
{
	int n = jv_array_length(jv_copy(points));

	for (int i = 0; i < n; i++) {
		jv p = jv_array_get(jv_copy(points), i);
		jv t = field(p, "target"), ts = field(p, "ts"),
		   v = field(p, "value"), c = field(p, "count");
		int64_t ms;
		struct sov_err ignored;

		if (jv_get_kind(t) == JV_KIND_STRING &&
		    jv_get_kind(v) == JV_KIND_NUMBER &&
		    jv_get_kind(c) == JV_KIND_NUMBER &&
		    sov_time_parse(str_or(ts, ""), &ms, &ignored) == 0) {
			jv k = jv_object_get(jv_copy(*index), jv_copy(t));
			size_t at;
			int64_t bar = (ms - w->first) / w->every;

			if (jv_get_kind(k) != JV_KIND_NUMBER) {
				struct bars *nb =
				    realloc(*out, (*nout + 1) * sizeof(**out));

				if (nb == NULL) {
					jv_free(k);
					jv_free(t);
					jv_free(ts);
					jv_free(v);
					jv_free(c);
					jv_free(p);
					return sov_err_set(e, SOV_EXIT_FAIL,
							   "page: out of "
							   "memory");
				}
				*out = nb;
				memset(&nb[*nout], 0, sizeof(*nb));
				*index =
				    jv_object_set(*index, jv_copy(t),
						  jv_number((double)*nout));
				at = (*nout)++;
			} else {
				at = (size_t)jv_number_value(k);
			}
			jv_free(k);
			if (bar >= 0 && bar < w->nbars) {
				(*out)[at].v[bar] = jv_number_value(v);
				(*out)[at].n[bar] = jv_number_value(c);
			}
		}
		jv_free(t);
		jv_free(ts);
		jv_free(v);
		jv_free(c);
		jv_free(p);
	}
	return 0;
}

static const struct bars *
bars_of(jv index, const struct bars *all, const char *target)
{
	jv k = jv_object_get(jv_copy(index), jv_string(target));
	const struct bars *b = NULL;

	if (jv_get_kind(k) == JV_KIND_NUMBER)
		b = &all[(size_t)jv_number_value(k)];
	jv_free(k);
	return b;
}

static void
bar_title(struct buf *b, const struct win *w, int i)
{
	char a[SOV_TIME_RFC3339_LEN], z[SOV_TIME_RFC3339_LEN];

	sov_time_format(w->first + i * w->every, a);
	sov_time_format(w->first + (i + 1) * w->every, z);
	/* "2026-11-22T19:00" to "19:30" */
	bprintf(b, "%.10s %.5s&#8211;%.5s UTC", a, a + 11, z + 11);
}

static void
uptime_svg(struct buf *b, const struct win *w, const struct bars *up)
{
	bprintf(b,
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

		bprintf(b,
			"<rect class=\"%s\" x=\"%d\" y=\"0\" width=\"%d\" "
			"height=\"30\" rx=\"1.5\"><title>",
			cls, i * BAR_W, BAR_W - 2);
		bar_title(b, w, i);
		if (n == 0)
			bprintf(b, ": no checks");
		else
			bprintf(b, ": %.4g%% up, %.0f checks", v * 100, n);
		bprintf(b, "</title></rect>");
	}
	bprintf(b, "</svg>");
}

/* The average latency per bar as a line over an area, scaled from 0 to a
 * little above the highest bar, which is labelled. */
static void
latency_svg(struct buf *b, const struct win *w, const struct bars *lat)
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
	bprintf(b, "<div class=\"latbox\">");
	bprintf(b,
		"<svg class=\"lat\" viewBox=\"0 0 %d %d\" "
		"preserveAspectRatio=\"none\" role=\"img\" "
		"aria-label=\"latency\">",
		w->nbars * BAR_W, LINE_H);
	if (lat != NULL && mx > 0) {
		for (int pass = 0; pass < 2; pass++) {
			int pts = 0;

			bprintf(b, pass ? "<polyline points=\""
					: "<polygon class=\"area\" points=\"");
			if (!pass)
				bprintf(b, "%d,%d ",
					first * BAR_W + (BAR_W - 2) / 2,
					LINE_H);
			for (int i = 0; i < w->nbars; i++) {
				if (lat->n[i] <= 0)
					continue;
				bprintf(b, "%s%d,%.1f", pts++ ? " " : "",
					i * BAR_W + (BAR_W - 2) / 2,
					LINE_H - LINE_H * lat->v[i] / top);
			}
			if (!pass)
				bprintf(b, " %d,%d",
					last * BAR_W + (BAR_W - 2) / 2, LINE_H);
			bprintf(b, "\" vector-effect=\"non-scaling-stroke\"/>");
		}
		for (int i = 0; i < w->nbars; i++) {
			if (lat->n[i] <= 0)
				continue;
			bprintf(b,
				"<rect class=\"hit\" x=\"%d\" y=\"0\" "
				"width=\"%d\" height=\"%d\"><title>",
				i * BAR_W, BAR_W, LINE_H);
			bar_title(b, w, i);
			bprintf(b, ": %.1f ms average</title></rect>",
				lat->v[i] * 1000);
		}
	}
	bprintf(b, "</svg>");
	if (mx > 0)
		bprintf(b, "<span class=\"latmax\">%.1f ms</span>", mx * 1000);
	bprintf(b, "</div>");
}

/* Uptime over the window, and mean latency: from the bars. */
static void
summary(const struct bars *x, int nbars, double *avg, double *n)
{
	double s = 0, c = 0;

	for (int i = 0; x && i < nbars; i++) {
		s += x->v[i] * x->n[i];
		c += x->n[i];
	}
	*avg = c > 0 ? s / c : NAN;
	*n = c;
}

static const char *const CSS =
    ":root{--bg:#f6f7f9;--card:#fff;--fg:#111827;--mut:#6b7280;"
    "--line:#e5e7eb;--up:" C_UP ";--down:" C_DOWN ";--part:" C_PART ";"
    "--unk:" C_UNKNOWN "}"
    "@media (prefers-color-scheme:dark){:root{--bg:#0b0f14;--card:#151b23;"
    "--fg:#e5e7eb;--mut:#9ca3af;--line:#273140}}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 "
    "system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,"
    "sans-serif}"
    "main{max-width:980px;margin:0 auto;padding:28px 18px 48px}"
    "header h1{font-size:22px;margin:0 0 14px;font-weight:650}"
    ".banner{display:flex;align-items:center;gap:12px;padding:16px 20px;"
    "border-radius:12px;color:#fff;font-weight:600;font-size:17px;"
    "margin-bottom:22px}"
    ".banner.ok{background:var(--up)}.banner.bad{background:var(--down)}"
    ".banner.unk{background:var(--unk)}"
    ".banner .sym{font-size:22px}.banner small{font-weight:400;opacity:.9;"
    "margin-left:auto;font-size:13px}"
    ".card{background:var(--card);border:1px solid var(--line);"
    "border-radius:12px;padding:16px 18px;margin-bottom:14px;"
    "box-shadow:0 1px 2px rgba(0,0,0,.04)}"
    ".card.down{border-left:6px solid var(--down)}"
    ".card.up{border-left:6px solid var(--up)}"
    ".card.unknown{border-left:6px dashed var(--unk)}"
    ".top{display:flex;align-items:center;gap:10px;flex-wrap:wrap}"
    ".name{font-weight:650;font-size:16px}"
    ".type{font-size:12px;color:var(--mut);border:1px solid var(--line);"
    "border-radius:999px;padding:1px 8px}"
    ".badge{font-size:12px;font-weight:700;letter-spacing:.04em;"
    "padding:3px 10px;border-radius:999px;color:#fff}"
    ".badge.up{background:var(--up)}.badge.down{background:var(--down)}"
    ".badge.unknown{background:var(--unk)}"
    ".pct{margin-left:auto;font-variant-numeric:tabular-nums;"
    "font-weight:600}"
    ".desc{color:var(--mut);margin:6px 0 0}"
    ".meta{font-size:13px;color:var(--mut);margin-top:6px;display:flex;"
    "gap:16px;flex-wrap:wrap}"
    ".err{margin-top:8px;font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,"
    "monospace;color:var(--down);background:rgba(220,38,38,.08);"
    "border-radius:8px;padding:8px 10px;white-space:pre-wrap;"
    "word-break:break-word}"
    "svg{display:block;width:100%}"
    ".bars{height:30px;margin-top:12px}"
    ".bars .up{fill:var(--up)}.bars .down{fill:url(#hatch)}"
    ".bars .part{fill:url(#dots)}"
    ".bars .none{fill:none;stroke:var(--line);stroke-width:1}"
    ".axis{display:flex;justify-content:space-between;font-size:12px;"
    "color:var(--mut);margin-top:4px}"
    ".latbox{position:relative;margin-top:10px}"
    ".lat{height:40px;overflow:visible}"
    ".lat polyline{fill:none;stroke:#2563eb;stroke-width:2;"
    "stroke-linejoin:round}"
    ".lat .area{fill:rgba(37,99,235,.12);stroke:none}"
    ".latmax{position:absolute;top:-2px;right:0;font-size:11px;"
    "color:var(--mut);background:var(--card);padding:0 4px}"
    ".lat .hit{fill:transparent}"
    ".legend{font-size:12px;color:var(--mut);display:flex;gap:14px;"
    "flex-wrap:wrap;margin:0 0 16px}"
    ".legend svg{display:inline-block;width:12px;height:12px;"
    "vertical-align:-2px;margin-right:4px}"
    "footer{font-size:12px;color:var(--mut);margin-top:24px}";

/* Patterns the bars refer to: down is hatched, partly down dotted, so that
 * they differ without colour too. */
static const char *const DEFS =
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

static void
legend(struct buf *b)
{
	bprintf(b,
		"<p class=\"legend\">"
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

/* The names to show: the set's, then any others the state has (sorted). */
static jv
names_of(const struct pr_page_opts *o)
{
	jv names = jv_object(), ts = field(o->state, "targets");

	for (size_t i = 0; o->set && i < o->set->ntargets; i++)
		names = jv_object_set(names, jv_string(o->set->targets[i].name),
				      jv_true());
	if (jv_get_kind(ts) == JV_KIND_OBJECT)
		jv_object_foreach(ts, k, v)
		{
			jv_free(v);
			names = jv_object_set(names, k, jv_true());
		}
	jv_free(ts);
	return jv_keys(names); /* sorted */
}

static void
card(struct buf *b, const struct pr_page_opts *o, const struct win *w,
     const char *name, jv st, const struct bars *up, const struct bars *lat)
{
	const struct pr_target *t = o->set ? pr_set_find(o->set, name) : NULL;
	jv state = field(st, "state"), since = field(st, "since"),
	   last = field(st, "last"), type = field(st, "type");
	jv lts = field(last, "ts"), lerr = field(last, "error"),
	   lsec = field(last, "seconds"), lup = field(last, "up");
	const char *s = str_or(state, "unknown");
	double upv, upn, latv, latn;

	if (strcmp(s, "up") != 0 && strcmp(s, "down") != 0)
		s = "unknown";
	summary(up, w->nbars, &upv, &upn);
	summary(lat, w->nbars, &latv, &latn);
	bprintf(b, "<section class=\"card %s\" id=\"t-", s);
	besc(b, name);
	bprintf(b,
		"\" data-state=\"%s\"><div class=\"top\">"
		"<span class=\"badge %s\">%s %s</span>"
		"<span class=\"name\">",
		s, s,
		strcmp(s, "up") == 0     ? "&#10004;"
		: strcmp(s, "down") == 0 ? "&#10006;"
					 : "?",
		strcmp(s, "up") == 0     ? "UP"
		: strcmp(s, "down") == 0 ? "DOWN"
					 : "UNKNOWN");
	besc(b, name);
	bprintf(b, "</span><span class=\"type\">");
	besc(b, t ? pr_type_name(t->type) : str_or(type, "?"));
	bprintf(b, "</span><span class=\"pct\" title=\"uptime over the "
		   "window\">");
	if (upn > 0)
		bprintf(b, "%.2f%%", upv * 100);
	else
		bprintf(b, "&#8212;");
	bprintf(b, "</span></div>");
	if (t != NULL && t->description != NULL) {
		bprintf(b, "<p class=\"desc\">");
		besc(b, t->description);
		bprintf(b, "</p>");
	}
	bprintf(b, "<div class=\"meta\"><span>");
	if (strcmp(s, "unknown") == 0) {
		bprintf(b, "not checked yet");
	} else if (jv_get_kind(since) == JV_KIND_STRING) {
		bprintf(b, "%s since ", s);
		bprintf(b, "<time datetime=\"");
		besc(b, jv_string_value(since));
		bprintf(b, "\">");
		ago(b, w->now, jv_string_value(since));
		bprintf(b, "</time>");
	} else {
		bprintf(b, "%s", s);
	}
	bprintf(b, "</span><span>last check ");
	ago(b, w->now,
	    jv_get_kind(lts) == JV_KIND_STRING ? jv_string_value(lts) : NULL);
	if (jv_get_kind(lsec) == JV_KIND_NUMBER)
		bprintf(b, " (%.1f ms)", jv_number_value(lsec) * 1000);
	bprintf(b, "</span>");
	if (latn > 0)
		bprintf(b, "<span>latency %.1f ms average</span>", latv * 1000);
	bprintf(b, "</div>");
	/* the last error, while the last result is a failure */
	if (jv_get_kind(lerr) == JV_KIND_STRING &&
	    jv_get_kind(lup) != JV_KIND_TRUE) {
		bprintf(b, "<div class=\"err\">");
		besc(b, jv_string_value(lerr));
		bprintf(b, "</div>");
	}
	uptime_svg(b, w, up);
	latency_svg(b, w, lat);
	bprintf(b, "<div class=\"axis\"><span>");
	duration(b, w->now - w->since);
	bprintf(b, " ago</span><span>now</span></div></section>\n");
	jv_free(state);
	jv_free(since);
	jv_free(last);
	jv_free(type);
	jv_free(lts);
	jv_free(lerr);
	jv_free(lsec);
	jv_free(lup);
}

/* The series of name, avg, over the window; jv_invalid() with no store. */
static int
series(const struct pr_page_opts *o, const struct win *w, const char *name,
       jv *pts, struct sov_err *e)
{
	struct pr_series_query q = {name,   NULL,     w->since,
				    w->now, w->every, PR_AGG_AVG};

	*pts = jv_array();
	if (o->st == NULL)
		return 0;
	jv_free(*pts);
	if (pr_series_query(o->st, &q, pts, NULL, e) < 0)
		return sov_err_prefix(e, "page: ");
	return 0;
}

int
pr_page_render(const struct pr_page_opts *o, char **html, size_t *len,
	       struct sov_err *e)
{
	struct buf b = {0};
	struct win w;
	struct bars *ub = NULL, *lb = NULL;
	size_t nub = 0, nlb = 0;
	jv names = jv_invalid(), ups = jv_invalid(), lats = jv_invalid(),
	   uidx = jv_object(), lidx = jv_object(),
	   targets = field(o->state, "targets");
	int rc = -1, n, shown, down = 0, unknown = 0;
	char now[SOV_TIME_RFC3339_LEN];

	*html = NULL;
	*len = 0;
	w.now = o->now_ms > 0 ? o->now_ms : sov_time_now_ms();
	w.every =
	    (o->window_ms > 0 ? o->window_ms : PR_PAGE_WINDOW_DEFAULT_MS) /
	    PR_PAGE_BARS / 1000 * 1000;
	if (w.every < 1000) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "page: the window must be at least %llds",
			    (long long)(PR_PAGE_WINDOW_MIN_MS / 1000));
		goto out;
	}
	/* whole buckets: the first starts at or before now - window */
	w.since = w.now - w.every * PR_PAGE_BARS;
	w.first = w.since / w.every * w.every;
	w.nbars = (int)((w.now - w.first + w.every - 1) / w.every);
	if (w.nbars > PR_PAGE_BARS + 1)
		w.nbars = PR_PAGE_BARS + 1;
	if (series(o, &w, "probe.up", &ups, e) < 0 ||
	    series(o, &w, "probe.seconds", &lats, e) < 0 ||
	    spread(ups, &w, &uidx, &ub, &nub, e) < 0 ||
	    spread(lats, &w, &lidx, &lb, &nlb, e) < 0)
		goto out;
	names = names_of(o);
	n = jv_array_length(jv_copy(names));
	shown = n < PR_PAGE_TARGETS_MAX ? n : PR_PAGE_TARGETS_MAX;
	for (int i = 0; i < n; i++) {
		jv nm = jv_array_get(jv_copy(names), i);
		jv st = jv_get_kind(targets) == JV_KIND_OBJECT
			    ? jv_object_get(jv_copy(targets), jv_copy(nm))
			    : jv_invalid();
		jv s = field(st, "state");
		const char *v = str_or(s, "unknown");

		down += strcmp(v, "down") == 0;
		unknown += strcmp(v, "down") != 0 && strcmp(v, "up") != 0;
		jv_free(s);
		jv_free(st);
		jv_free(nm);
	}
	sov_time_format(w.now, now);
	bprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
		    "<meta charset=\"utf-8\">"
		    "<meta name=\"viewport\" content=\"width=device-width,"
		    "initial-scale=1\">"
		    "<meta http-equiv=\"refresh\" content=\"60\">"
		    "<title>");
	besc(&b, o->title ? o->title : "Status");
	bprintf(&b,
		"</title><style>%s</style></head><body>%s<main><header>"
		"<h1>",
		CSS, DEFS);
	besc(&b, o->title ? o->title : "Status");
	bprintf(&b, "</h1>");
	if (n == 0)
		bprintf(&b, "<div class=\"banner unk\" data-down=\"0\">"
			    "<span class=\"sym\">?</span>No targets yet");
	else if (down > 0)
		bprintf(&b,
			"<div class=\"banner bad\" data-down=\"%d\">"
			"<span class=\"sym\">&#10006;</span>%d of %d down",
			down, down, n);
	else if (unknown > 0)
		bprintf(&b,
			"<div class=\"banner unk\" data-down=\"0\">"
			"<span class=\"sym\">?</span>None down, %d of %d not "
			"checked yet",
			unknown, n);
	else
		bprintf(&b,
			"<div class=\"banner ok\" data-down=\"0\">"
			"<span class=\"sym\">&#10004;</span>All %d up",
			n);
	bprintf(&b,
		"<small>updated <time datetime=\"%s\">%.10s %.5s "
		"UTC</time></small></div></header>",
		now, now, now + 11);
	legend(&b);
	for (int i = 0; i < shown; i++) {
		jv nm = jv_array_get(jv_copy(names), i);
		jv st = jv_get_kind(targets) == JV_KIND_OBJECT
			    ? jv_object_get(jv_copy(targets), jv_copy(nm))
			    : jv_invalid();

		card(&b, o, &w, jv_string_value(nm), st,
		     bars_of(uidx, ub, jv_string_value(nm)),
		     bars_of(lidx, lb, jv_string_value(nm)));
		jv_free(st);
		jv_free(nm);
	}
	if (shown < n)
		bprintf(&b,
			"<p class=\"legend\">%d more targets not shown "
			"(at most %d on one page)</p>",
			n - shown, PR_PAGE_TARGETS_MAX);
	bprintf(&b, "<footer>sov-probe &#183; bars of ");
	duration(&b, w.every);
	bprintf(&b, " over the last ");
	duration(&b, w.now - w.since);
	bprintf(&b, " &#183; the page reloads every minute</footer>"
		    "</main></body></html>\n");
	if (b.bad) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "page: out of memory or over %u bytes",
			    PR_PAGE_MAX);
		goto out;
	}
	*html = b.p;
	*len = b.len;
	b.p = NULL;
	rc = 0;
out:
	free(b.p);
	free(ub);
	free(lb);
	jv_free(names);
	jv_free(ups);
	jv_free(lats);
	jv_free(uidx);
	jv_free(lidx);
	jv_free(targets);
	return rc;
}

int
pr_page_write(const char *dir, const struct pr_page_opts *o, struct sov_err *e)
{
	char path[4096], *html = NULL;
	size_t len;
	int n, rc;

	n = snprintf(path, sizeof(path), "%s/%s", dir, PR_PAGE_FILE);
	if (n < 0 || (size_t)n >= sizeof(path))
		return sov_err_set(e, SOV_EXIT_USAGE, "%s: path too long", dir);
	if (pr_page_render(o, &html, &len, e) < 0)
		return -1;
	rc = sov_file_write_atomic(path, html, len, 0644, e);
	free(html);
	return rc;
}
