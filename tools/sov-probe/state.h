/*
 * state.h - what the daemon knows of each target between results, and the
 * state file through which `status` and `page` see it.
 *
 * A target is "unknown" until its first results, then "up" or "down". It
 * changes only after `failures` consecutive failed results (up -> down) or
 * `successes` consecutive good ones (down -> up), so one lost packet is
 * tried again before anyone is woken; from "unknown" the first result
 * decides. Each change is an event record (probe.h) and runs the target's
 * alerts.
 *
 * The state file (STATE/state.json, replaced atomically, at most once a
 * second while results arrive) is one JSON object:
 *
 *   {"ts": "2026-11-23T10:00:00.000Z", "pid": 1234,
 *    "targets": {"web": {"type": "http", "state": "up",
 *                        "since": TS, "streak": 3, "checks": 120,
 *                        "failed": 2,
 *                        "last": {"ts": TS, "up": true, "seconds": 0.012,
 *                                 "error": null, ...the result's fields}}}}
 *
 * "since" is when the current state began (null while unknown), "streak"
 * how many results in a row agree with the last one, "checks" and
 * "failed" count results since the daemon started.
 */
#ifndef PR_STATE_H
#define PR_STATE_H

#include <stdint.h>

#include <jv.h>

#include "err.h"

#define PR_STATE_FILE "state.json"
#define PR_STATE_FILE_MAX (64u << 20)

enum pr_state { PR_UNKNOWN = 0, PR_UP, PR_DOWN };

/* "unknown", "up", "down". */
const char *pr_state_name(enum pr_state s);

/* Read a state file into *out (an object as above). A missing file is
 * SOV_EXIT_USAGE with "no daemon has written ... yet". */
int pr_state_read(const char *path, jv *out, struct sov_err *e);

#endif
