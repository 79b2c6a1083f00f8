/*
 * page_html.c - the status page's HTML: the buffer it is written into,
 * escaping, the document around the cards (style, banner, footer) and a
 * card per target. The charts in a card are page_svg.c.
 */
#include "page_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timestamp.h"

static void
reserve(struct pr_page_buf *b, size_t more)
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

void
pr_page_printf(struct pr_page_buf *b, const char *fmt, ...)
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
void
pr_page_esc(struct pr_page_buf *b, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '&':
			pr_page_printf(b, "&amp;");
			break;
		case '<':
			pr_page_printf(b, "&lt;");
			break;
		case '>':
			pr_page_printf(b, "&gt;");
			break;
		case '"':
			pr_page_printf(b, "&quot;");
			break;
		case '\'':
			pr_page_printf(b, "&#39;");
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

/* "3m ago", "2h ago", "5d ago" */
static void
ago(struct pr_page_buf *b, int64_t now, const char *ts)
{
	int64_t t, d;
	struct sov_err e;

	if (ts == NULL || sov_time_parse(ts, &t, &e) < 0) {
		pr_page_printf(b, "never");
		return;
	}
	d = (now - t) / 1000;
	if (d < 0)
		d = 0;
	if (d < 90)
		pr_page_printf(b, "%llds ago", (long long)d);
	else if (d < 5400)
		pr_page_printf(b, "%lldm ago", (long long)(d / 60));
	else if (d < 172800)
		pr_page_printf(b, "%lldh ago", (long long)(d / 3600));
	else
		pr_page_printf(b, "%lldd ago", (long long)(d / 86400));
}

/* "24h", "7d", "30m", "90s" */
void
pr_page_duration(struct pr_page_buf *b, int64_t ms)
{
	if (ms % 86400000 == 0 && ms > 86400000)
		pr_page_printf(b, "%lldd", (long long)(ms / 86400000));
	else if (ms % 3600000 == 0)
		pr_page_printf(b, "%lldh", (long long)(ms / 3600000));
	else if (ms % 60000 == 0)
		pr_page_printf(b, "%lldm", (long long)(ms / 60000));
	else
		pr_page_printf(b, "%llds", (long long)(ms / 1000));
}

/* Uptime over the window, and mean latency: from the bars. */
static void
summary(const struct pr_page_bars *x, int nbars, double *avg, double *n)
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

void
pr_page_card(struct pr_page_buf *b, const struct pr_page_opts *o,
	     const struct pr_page_win *w, const char *name, jv st,
	     const struct pr_page_bars *up, const struct pr_page_bars *lat)
{
	const struct pr_target *t = o->set ? pr_set_find(o->set, name) : NULL;
	jv state = pr_page_field(st, "state"),
	   since = pr_page_field(st, "since"), last = pr_page_field(st, "last"),
	   type = pr_page_field(st, "type");
	jv lts = pr_page_field(last, "ts"), lerr = pr_page_field(last, "error"),
	   lsec = pr_page_field(last, "seconds"),
	   lup = pr_page_field(last, "up");
	const char *s = pr_page_str(state, "unknown");
	double upv, upn, latv, latn;

	if (strcmp(s, "up") != 0 && strcmp(s, "down") != 0)
		s = "unknown";
	summary(up, w->nbars, &upv, &upn);
	summary(lat, w->nbars, &latv, &latn);
	pr_page_printf(b, "<section class=\"card %s\" id=\"t-", s);
	pr_page_esc(b, name);
	pr_page_printf(b,
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
	pr_page_esc(b, name);
	pr_page_printf(b, "</span><span class=\"type\">");
	pr_page_esc(b, t ? pr_type_name(t->type) : pr_page_str(type, "?"));
	pr_page_printf(b, "</span><span class=\"pct\" title=\"uptime over the "
			  "window\">");
	if (upn > 0)
		pr_page_printf(b, "%.2f%%", upv * 100);
	else
		pr_page_printf(b, "&#8212;");
	pr_page_printf(b, "</span></div>");
	if (t != NULL && t->description != NULL) {
		pr_page_printf(b, "<p class=\"desc\">");
		pr_page_esc(b, t->description);
		pr_page_printf(b, "</p>");
	}
	pr_page_printf(b, "<div class=\"meta\"><span>");
	if (strcmp(s, "unknown") == 0) {
		pr_page_printf(b, "not checked yet");
	} else if (jv_get_kind(since) == JV_KIND_STRING) {
		pr_page_printf(b, "%s since ", s);
		pr_page_printf(b, "<time datetime=\"");
		pr_page_esc(b, jv_string_value(since));
		pr_page_printf(b, "\">");
		ago(b, w->now, jv_string_value(since));
		pr_page_printf(b, "</time>");
	} else {
		pr_page_printf(b, "%s", s);
	}
	pr_page_printf(b, "</span><span>last check ");
	ago(b, w->now,
	    jv_get_kind(lts) == JV_KIND_STRING ? jv_string_value(lts) : NULL);
	if (jv_get_kind(lsec) == JV_KIND_NUMBER)
		pr_page_printf(b, " (%.1f ms)", jv_number_value(lsec) * 1000);
	pr_page_printf(b, "</span>");
	if (latn > 0)
		pr_page_printf(b, "<span>latency %.1f ms average</span>",
			       latv * 1000);
	pr_page_printf(b, "</div>");
	/* the last error, while the last result is a failure */
	if (jv_get_kind(lerr) == JV_KIND_STRING &&
	    jv_get_kind(lup) != JV_KIND_TRUE) {
		pr_page_printf(b, "<div class=\"err\">");
		pr_page_esc(b, jv_string_value(lerr));
		pr_page_printf(b, "</div>");
	}
	pr_page_uptime_svg(b, w, up);
	pr_page_latency_svg(b, w, lat);
	pr_page_printf(b, "<div class=\"axis\"><span>");
	pr_page_duration(b, w->now - w->since);
	pr_page_printf(b, " ago</span><span>now</span></div></section>\n");
	jv_free(state);
	jv_free(since);
	jv_free(last);
	jv_free(type);
	jv_free(lts);
	jv_free(lerr);
	jv_free(lsec);
	jv_free(lup);
}

void
pr_page_head(struct pr_page_buf *b, const struct pr_page_opts *o,
	     int64_t now_ms, int n, int down, int unknown)
{
	char now[SOV_TIME_RFC3339_LEN];

	sov_time_format(now_ms, now);
	pr_page_printf(b,
		       "<!DOCTYPE html>\n<html lang=\"en\"><head>"
		       "<meta charset=\"utf-8\">"
		       "<meta name=\"viewport\" content=\"width=device-width,"
		       "initial-scale=1\">"
		       "<meta http-equiv=\"refresh\" content=\"60\">"
		       "<title>");
	pr_page_esc(b, o->title ? o->title : "Status");
	pr_page_printf(b,
		       "</title><style>%s</style></head><body>%s<main><header>"
		       "<h1>",
		       CSS, pr_page_svg_defs);
	pr_page_esc(b, o->title ? o->title : "Status");
	pr_page_printf(b, "</h1>");
	if (n == 0)
		pr_page_printf(b, "<div class=\"banner unk\" data-down=\"0\">"
				  "<span class=\"sym\">?</span>No targets yet");
	else if (down > 0)
		pr_page_printf(
		    b,
		    "<div class=\"banner bad\" data-down=\"%d\">"
		    "<span class=\"sym\">&#10006;</span>%d of %d down",
		    down, down, n);
	else if (unknown > 0)
		pr_page_printf(
		    b,
		    "<div class=\"banner unk\" data-down=\"0\">"
		    "<span class=\"sym\">?</span>None down, %d of %d not "
		    "checked yet",
		    unknown, n);
	else
		pr_page_printf(b,
			       "<div class=\"banner ok\" data-down=\"0\">"
			       "<span class=\"sym\">&#10004;</span>All %d up",
			       n);
	pr_page_printf(b,
		       "<small>updated <time datetime=\"%s\">%.10s %.5s "
		       "UTC</time></small></div></header>",
		       now, now, now + 11);
	pr_page_legend(b);
}

void
pr_page_foot(struct pr_page_buf *b, const struct pr_page_win *w, int n,
	     int shown)
{
	if (shown < n)
		pr_page_printf(b,
			       "<p class=\"legend\">%d more targets not shown "
			       "(at most %d on one page)</p>",
			       n - shown, PR_PAGE_TARGETS_MAX);
	pr_page_printf(b, "<footer>sov-probe &#183; bars of ");
	pr_page_duration(b, w->every);
	pr_page_printf(b, " over the last ");
	pr_page_duration(b, w->now - w->since);
	pr_page_printf(b, " &#183; the page reloads every minute</footer>"
			  "</main></body></html>\n");
}
