/*
 * policy.h - which snapshots `forget` keeps.
 *
 * Snapshots are grouped (by host and paths by default; see group_by), and
 * within each group, newest first, a snapshot is kept when any rule keeps
 * it, with every reason recorded:
 *   last N      the N newest
 *   hourly N    the newest of each of the N newest hours that have one
 *   daily, weekly (ISO week), monthly, yearly  likewise
 *   within D    every snapshot younger than D before the newest snapshot of
 *               its group (as restic: a repository that stopped getting
 *               backups does not lose its last ones as the clock runs)
 *   tags        every snapshot carrying one of these tags
 * Calendar units are in local time (TZ). A policy with no rule keeps
 * everything (forget then refuses to run without --keep-*, see main).
 * Ties in time keep the order given.
 *
 * The details, as restic's current forget does them:
 * - A bucket rule (last, hourly ... yearly) that still has count left when
 *   it reaches the oldest snapshot of the group keeps that one too, even in
 *   a bucket already kept ("oldest daily 2026-11-01"): with fewer days of
 *   snapshots than --keep-daily asks for, the longest history survives.
 *   So N = -1 (unlimited) always keeps the oldest snapshot as well.
 * - A keep_tags entry is a comma-separated list: a snapshot must carry all
 *   of its tags ("a,b"); the entry "" keeps snapshots without tags.
 * - When now_ms is set, snapshots dated after it never count as "the newest"
 *   for within, and within keeps them (a clock set years ahead on one host
 *   cannot make within forget the real history); bucket rules still count
 *   them.
 * - Paths and tags in the group key are compared as sets (sorted, without
 *   duplicates) and shown that way in "group".
 * - A group can lose every snapshot (keep_tags alone, and none carries
 *   them): restic's forget then refuses to run; main decides.
 *
 * Reasons: "last", "hourly 2026-11-22T03", "daily 2026-11-22",
 * "weekly 2026-W47", "monthly 2026-11", "yearly 2026" (local time, the
 * bucket kept), "within 30d", "tag TAG" ("untagged" for the entry ""),
 * "oldest <rule> <bucket>", and "empty policy" when no rule is set.
 */
#ifndef BK_POLICY_H
#define BK_POLICY_H

#include <stdint.h>

#include <jv.h>

#include "err.h"

struct bk_policy {
	int last, hourly, daily, weekly, monthly, yearly; /* 0: rule off;
							     -1: unlimited */
	int64_t within_ms;                                /* 0: off */
	jv keep_tags;      /* array of strings, or jv_null() (or zeroed) */
	unsigned group_by; /* BK_GROUP_* bits; 0 groups everything together */
	int64_t now_ms;    /* ms since the epoch, sov_time_now_ms(); 0: every
			      snapshot may be the newest (see above) */
};

enum {
	BK_GROUP_HOST = 1 << 0,
	BK_GROUP_PATHS = 1 << 1,
	BK_GROUP_TAGS = 1 << 2,
};

/* Parse "host,paths,tags" (any subset, "" for none; restic's "hosts",
 * "path" and "tag" too). */
int bk_policy_parse_group_by(const char *s, unsigned *out, struct sov_err *e);

/*
 * snaps: an array of objects with at least "id" (string), "time" (RFC 3339
 * string), "host" (string), "paths" (array of strings), "tags" (array of
 * strings; missing or null is no tags). Returns an array, in the input
 * order, of
 *   {"id", "keep": true|false, "group": {"host"?,"paths"?,"tags"?},
 *    "reasons": ["last", "daily 2026-11-21", ...]}
 * or jv_invalid() with e set (SOV_EXIT_USAGE) on a malformed policy or
 * input, naming the snapshot index (0-based), its id and the field:
 *   snapshot 3 (id 4f2a...): time: bad timestamp "x": want RFC 3339, ...
 * Consumes snaps; does not consume p->keep_tags.
 */
jv bk_policy_apply(const struct bk_policy *p, jv snaps, struct sov_err *e);

#endif
