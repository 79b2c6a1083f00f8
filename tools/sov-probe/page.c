/*
 * page.c - the status page as one HTML file; see page.h. This file gathers
 * what it shows (the window, the series from the store, the states) and
 * writes the file; page_html.c renders it, page_svg.c draws the charts.
 */
#include "page_int.h"

#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "series.h"
#include "state.h"
#include "timestamp.h"

/* A string field of an object, or NULL (borrowed from o: keep o alive). */
jv
pr_page_field(jv o, const char *k)
{
	if (jv_get_kind(o) != JV_KIND_OBJECT)
		return jv_invalid();
	return jv_object_get(jv_copy(o), jv_string(k));
}

const char *
pr_page_str(jv v, const char *dflt)
{
	return jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : dflt;
}

/* points (an array of series records, all targets) into per-target bars:
 * an object target -> index into *out. */
static int
spread(jv points, const struct pr_page_win *w, jv *index,
       struct pr_page_bars **out, size_t *nout, struct sov_err *e)
{
	int n = jv_array_length(jv_copy(points));

	for (int i = 0; i < n; i++) {
		jv p = jv_array_get(jv_copy(points), i);
		jv t = pr_page_field(p, "target"), ts = pr_page_field(p, "ts"),
		   v = pr_page_field(p, "value"), c = pr_page_field(p, "count");
		int64_t ms;
		struct sov_err ignored;

		if (jv_get_kind(t) == JV_KIND_STRING &&
		    jv_get_kind(v) == JV_KIND_NUMBER &&
		    jv_get_kind(c) == JV_KIND_NUMBER &&
		    sov_time_parse(pr_page_str(ts, ""), &ms, &ignored) == 0) {
			jv k = jv_object_get(jv_copy(*index), jv_copy(t));
			size_t at;
			int64_t bar = (ms - w->first) / w->every;

			if (jv_get_kind(k) != JV_KIND_NUMBER) {
				struct pr_page_bars *nb =
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

static const struct pr_page_bars *
bars_of(jv index, const struct pr_page_bars *all, const char *target)
{
	jv k = jv_object_get(jv_copy(index), jv_string(target));
	const struct pr_page_bars *b = NULL;

	if (jv_get_kind(k) == JV_KIND_NUMBER)
		b = &all[(size_t)jv_number_value(k)];
	jv_free(k);
	return b;
}

/* The names to show: the set's, then any others the state has (sorted). */
static jv
names_of(const struct pr_page_opts *o)
{
	jv names = jv_object(), ts = pr_page_field(o->state, "targets");

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

/* The series of name, avg, over the window; jv_invalid() with no store. */
static int
series(const struct pr_page_opts *o, const struct pr_page_win *w,
       const char *name, jv *pts, struct sov_err *e)
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
	struct pr_page_buf b = {0};
	struct pr_page_win w;
	struct pr_page_bars *ub = NULL, *lb = NULL;
	size_t nub = 0, nlb = 0;
	jv names = jv_invalid(), ups = jv_invalid(), lats = jv_invalid(),
	   uidx = jv_object(), lidx = jv_object(),
	   targets = pr_page_field(o->state, "targets");
	int rc = -1, n, shown, down = 0, unknown = 0;

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
		jv s = pr_page_field(st, "state");
		const char *v = pr_page_str(s, "unknown");

		down += strcmp(v, "down") == 0;
		unknown += strcmp(v, "down") != 0 && strcmp(v, "up") != 0;
		jv_free(s);
		jv_free(st);
		jv_free(nm);
	}
	pr_page_head(&b, o, w.now, n, down, unknown);
	for (int i = 0; i < shown; i++) {
		jv nm = jv_array_get(jv_copy(names), i);
		jv st = jv_get_kind(targets) == JV_KIND_OBJECT
			    ? jv_object_get(jv_copy(targets), jv_copy(nm))
			    : jv_invalid();

		pr_page_card(&b, o, &w, jv_string_value(nm), st,
			     bars_of(uidx, ub, jv_string_value(nm)),
			     bars_of(lidx, lb, jv_string_value(nm)));
		jv_free(st);
		jv_free(nm);
	}
	pr_page_foot(&b, &w, n, shown);
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
