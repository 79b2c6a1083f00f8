/*
 * jqwatch.h - time limits for jq programs run in-process.
 *
 * jq cannot be interrupted from inside a program, but jq_next checks at
 * every instruction whether the program was halted (jq 1.6 and 1.7), so
 * another thread can stop one with jq_halt. A thread whose programs need
 * a limit binds a watch to itself and sets deadlines; a watchdog thread
 * calls sov_jq_watch_check on every watch, often. A program still
 * running at its thread's deadline is then halted and fails with
 * SOV_EXIT_TEMPFAIL, "WHERE: timed out"; one started after the deadline
 * fails the same way at once. A thread without a watch, or without a
 * deadline, runs its programs unlimited.
 *
 * What cannot be stopped: one builtin that runs long inside C (a sort of
 * a huge array); it is halted at its next instruction.
 */
#ifndef SOV_JQWATCH_H
#define SOV_JQWATCH_H

#include <stdint.h>

#include <jq.h>

#include "err.h"

struct sov_jq_watch;

struct sov_jq_watch *sov_jq_watch_new(struct sov_err *e);
void sov_jq_watch_free(struct sov_jq_watch *w); /* unbound; NULL is ok */

/* Bind w to the calling thread (NULL unbinds). */
void sov_jq_watch_bind(struct sov_jq_watch *w);
/* The calling thread's watch, or NULL. */
struct sov_jq_watch *sov_jq_watch_bound(void);

/*
 * The calling thread's deadline on sov_time_mono_ms's clock, 0 for none;
 * returns the deadline it replaces, so a caller can restore it. Without a
 * bound watch it does nothing and returns 0.
 */
int64_t sov_jq_deadline(int64_t deadline_ms);

/* From the watchdog: halt w's program if it runs past its deadline; 1
 * when it did. */
int sov_jq_watch_check(struct sov_jq_watch *w, int64_t now_ms);

/*
 * A watchdog thread: every tick_ms it checks w[0..n) (borrowed; an entry
 * may be NULL) and calls halted(i, arg), from its own thread, for each
 * program it halted. The caller's threads bind the watches. NULL, e set,
 * when the thread cannot start.
 */
struct sov_jq_watchdog;
struct sov_jq_watchdog *sov_jq_watchdog_start(struct sov_jq_watch *const *w,
					      int n, int tick_ms,
					      void (*halted)(int i, void *arg),
					      void *arg, struct sov_err *e);
/* Stop it at once (not at its next tick) and free it; NULL is ok. */
void sov_jq_watchdog_stop(struct sov_jq_watchdog *d);

/*
 * For jqprog.c, around one run of jq: enter says the thread runs jq (-1,
 * e set, when its deadline has passed: do not run); leave says it stopped,
 * and returns 1 when the run was halted for its deadline.
 */
int sov_jq_watch_enter(jq_state *jq, const char *where, struct sov_err *e);
int sov_jq_watch_leave(void);

#endif
