/*
 * lock.h - repository locks: shared for backup, restore and check,
 * exclusive for prune, forget and key removal.
 *
 * A lock is an object "locks/ID" holding plaintext JSON:
 *   {"version":1,"exclusive":false,"host":"heart","pid":1234,
 *    "pid_start":98765,"user":"root","purpose":"backup",
 *    "time":"2026-11-22T03:00:00.000Z","expires":"2026-11-22T03:05:00.000Z"}
 * pid_start is the process start time (field 22 of /proc/PID/stat), so a
 * reused PID is not taken for the holder.
 *
 * Acquire writes our lock, then lists the others: an exclusive lock
 * conflicts with any other, a shared one only with exclusive ones. A lock
 * whose holder is gone is removed and ignored: same host and the PID is
 * dead (or alive with another start time), or any host and "expires" is
 * past (a lease, renewed by a thread every BK_LOCK_LEASE_MS / 3 while the
 * lock is held). On conflict our lock is removed and acquire retries with
 * a random delay until wait_ms has passed, then fails with
 * SOV_EXIT_TEMPFAIL naming the holder ("locked exclusively by prune on
 * heart (pid 1234) since ..."). Unparsable lock objects are reported,
 * never silently removed: they count as a conflicting exclusive lock
 * until their "time" field is a lease in the past; one without a readable
 * "time" blocks until `sov-backup unlock --all` removes it, and the
 * message says so.
 *
 * Leases compare wall clocks across hosts: hosts sharing a repository need
 * clocks that agree to well within the lease (NTP). Hosts are told apart
 * by gethostname(): containers sharing a host name but not a PID
 * namespace would take each other's live locks for dead ones.
 *
 * SOV_BACKUP_LOCK_LEASE_MS (100 to 86400000), when set, replaces
 * BK_LOCK_LEASE_MS for our own locks and for judging unreadable ones: it
 * exists so that tests can see renewal and expiry within seconds. A bad
 * value is SOV_EXIT_USAGE naming the variable.
 */
#ifndef BK_LOCK_H
#define BK_LOCK_H

#include <stdint.h>

#include "backend.h"
#include "err.h"

#define BK_LOCK_LEASE_MS (5 * 60 * 1000)
#define BK_LOCK_MAX_BYTES 4096

struct bk_lock;

/*
 * Take a lock; purpose ("backup", "prune", 1 to 32 characters) is shown to
 * whoever conflicts with it. wait_ms <= 0 tries once. Starts the renewal
 * thread. Free with bk_lock_release.
 */
struct bk_lock *bk_lock_acquire(struct bk_backend *b, int exclusive,
				const char *purpose, int64_t wait_ms,
				struct sov_err *e);

/* Non-zero once the renewal thread failed to renew the lease in time, or
 * found our lock object removed by someone else: the caller must stop
 * writing (another host may take the lock over). Sticky: a later renewal
 * does not make a lost lock ours again. Safe to call from any thread. */
int bk_lock_lost(const struct bk_lock *l);

/* Stop renewing, remove the lock object, free. Accepts NULL. */
int bk_lock_release(struct bk_lock *l, struct sov_err *e);

/*
 * `sov-backup unlock`: remove the locks whose holder is gone (all != 0:
 * every lock, for an operator who knows better). *removed counts them.
 */
int bk_lock_remove_stale(struct bk_backend *b, int all, int *removed,
			 struct sov_err *e);

#endif
