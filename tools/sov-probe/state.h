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
#include "result.h"
#include "target.h"

#define PR_STATE_FILE "state.json"
#define PR_STATE_FILE_MAX (64u << 20)

enum pr_state { PR_UNKNOWN = 0, PR_UP, PR_DOWN };

/* "unknown", "up", "down". */
const char *pr_state_name(enum pr_state s);

/* One target's state in the daemon. */
struct pr_tstate {
	enum pr_state state;
	int streak;  /* results in a row equal to the last */
	int last_up; /* the last result */
	int64_t since_ms;
	uint64_t checks, failed;
	jv last; /* the last result's record */
};

void pr_tstate_init(struct pr_tstate *s);
void pr_tstate_clear(struct pr_tstate *s);

/*
 * Count a result (its record consumed into s->last). 1 when the state
 * changed, with the old one in *from.
 */
int pr_state_apply(struct pr_tstate *s, const struct pr_target *t,
		   const struct pr_result *r, jv record, enum pr_state *from);

/* The probe.state record of a change. */
jv pr_state_event(const struct pr_target *t, const struct pr_tstate *s,
		  enum pr_state from, const struct pr_result *r);

/* The state file's object, and writing it (atomically, 0644). */
jv pr_state_doc(const struct pr_set *set, const struct pr_tstate *states,
		long pid);
int pr_state_write(const char *path, jv doc, struct sov_err *e);

/* Take each target's state and since from an earlier daemon's file (doc
 * borrowed), when the target kept its type: a restart does not alert
 * again for what was already down. */
void pr_state_restore(const struct pr_set *set, struct pr_tstate *states,
		      jv doc);

/* Read a state file into *out (an object as above). A missing file is
 * SOV_EXIT_USAGE with "no daemon has written ... yet". */
int pr_state_read(const char *path, jv *out, struct sov_err *e);

#endif
