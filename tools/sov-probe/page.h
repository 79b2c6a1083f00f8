/*
 * page.h - the status page: one self-contained HTML file (inline CSS and
 * SVG, no script, no external asset) with an overall banner and a card per
 * target: its state (up / down / unknown, in colour and in words and a
 * symbol, so it reads without colour too), since when, the last check and
 * its error, the description, uptime bars and a latency line over the
 * window.
 *
 * What it reads, all bounded: the targets set (names, types,
 * descriptions), the state file's object (state.h), and from the store two
 * bucketed queries (series.h), probe.up avg and probe.seconds avg, in
 * PR_PAGE_BARS buckets per target: never the raw rows. At most
 * PR_PAGE_TARGETS_MAX targets are shown (the banner says how many more
 * there are); the page is at most PR_PAGE_MAX bytes. Every text from the
 * targets, the state or the store is HTML-escaped.
 */
#ifndef PR_PAGE_H
#define PR_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "err.h"
#include "store.h"
#include "target.h"

#define PR_PAGE_BARS 48 /* buckets over the window */
#define PR_PAGE_TARGETS_MAX 2000
#define PR_PAGE_MAX (32u << 20)
#define PR_PAGE_FILE "index.html"
#define PR_PAGE_WINDOW_DEFAULT_MS INT64_C(86400000) /* 24h */
#define PR_PAGE_WINDOW_MIN_MS INT64_C(48000)        /* a second a bar */

struct pr_page_opts {
	const struct pr_set *set; /* targets, or NULL: those in the state */
	jv state;                 /* the state file's object (borrowed), or
				   * jv_invalid(): no state file */
	struct sov_store *st;     /* measurements, or NULL: no history */
	int64_t now_ms;           /* 0: the clock */
	int64_t window_ms;        /* 0: PR_PAGE_WINDOW_DEFAULT_MS */
	const char *title;        /* NULL: "Status" */
};

/* The page as text into *html (malloc'd, NUL-terminated; caller frees). */
int pr_page_render(const struct pr_page_opts *o, char **html, size_t *len,
		   struct sov_err *e);

/*
 * Render and replace DIR/index.html atomically (mode 0644; DIR must
 * exist). The daemon calls this every minute; a store that is down
 * (SOV_EXIT_TEMPFAIL) is an error, so the last good page stays.
 */
int pr_page_write(const char *dir, const struct pr_page_opts *o,
		  struct sov_err *e);

#endif
