/*
 * test_backup_lock.c - tools/sov-backup/lock.c on a real local repository:
 * shared and exclusive conflicts, stale locks (a killed process, another
 * host's expired lease, a reused PID), unreadable locks, the renewal
 * thread with a short lease ($SOV_BACKUP_LOCK_LEASE_MS), waiting for a
 * holder, and unlock. Renewal failures run in a child under the
 * fault-injection shim (skipped, saying why, without it).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jv.h>

#include "backend.h"
#include "fault.h"
#include "lock.h"
#include "tap.h"
#include "timestamp.h"

static char dir[PATH_MAX]; /* scratch directory of this run */
static char host[256];

static void
msleep(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static struct bk_backend *
repo(const char *name)
{
	struct sov_err e = {0};
	struct bk_backend *b;
	char p[PATH_MAX];

	xsnprintf(p, sizeof(p), "%s/%s", dir, name);
	b = bk_backend_open(p, 1, &e);
	if (b == NULL || bk_put(b, "config", "c", 1, &e) != 0) {
		fprintf(stderr, "repo %s: %s\n", p, e.msg);
		exit(1);
	}
	return b;
}

/* The lock objects now in the repository. */
struct names {
	int n;
	char name[8][BK_NAME_MAX + 1];
};

static int
add_name(const char *name, uint64_t size, void *arg)
{
	struct names *ns = arg;

	(void)size;
	if (ns->n < 8)
		xsnprintf(ns->name[ns->n], sizeof(ns->name[0]), "%s", name);
	ns->n++;
	return 0;
}

static int
nlocks(struct bk_backend *b, struct names *ns)
{
	struct sov_err e = {0};
	struct names tmp;

	if (ns == NULL)
		ns = &tmp;
	memset(ns, 0, sizeof(*ns));
	if (bk_list(b, "locks", add_name, ns, &e) != 0)
		return -1;
	return ns->n;
}

/* The one lock object as JSON (jv_invalid when not exactly one). */
static jv
only_lock(struct bk_backend *b)
{
	struct sov_err e = {0};
	struct names ns;
	unsigned char *text = NULL;
	size_t len;
	jv v;

	if (nlocks(b, &ns) != 1 ||
	    bk_get(b, ns.name[0], 4096, &text, &len, NULL, &e) != 0)
		return jv_invalid();
	v = jv_parse_sized((const char *)text, (int)len);
	free(text);
	return v;
}

static const char *
str_field(jv o, const char *key, char *buf, size_t size)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));

	buf[0] = '\0';
	if (jv_get_kind(v) == JV_KIND_STRING)
		xsnprintf(buf, size, "%s", jv_string_value(v));
	jv_free(v);
	return buf;
}

static double
num_field(jv o, const char *key)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));
	double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;

	jv_free(v);
	return d;
}

static int64_t
time_field(jv o, const char *key)
{
	struct sov_err e = {0};
	char buf[64];
	int64_t ms = -1;

	if (sov_time_parse(str_field(o, key, buf, sizeof(buf)), &ms, &e) != 0)
		return -1;
	return ms;
}

/* Field 22 of /proc/PID/stat, read here independently of lock.c. */
static unsigned long long
start_of(long pid)
{
	char path[64], buf[4096], *p;
	unsigned long long v = 0;
	FILE *f;
	size_t n;
	int i;

	xsnprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	p += 2; /* field 3 */
	for (i = 3; i < 22 && p; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		v = strtoull(p, NULL, 10);
	return v;
}

/* A lock written by hand. */
static void
put_lock(struct bk_backend *b, const char *id, const char *text)
{
	struct sov_err e = {0};
	char name[BK_NAME_MAX + 1];

	xsnprintf(name, sizeof(name), "locks/%s", id);
	if (bk_put(b, name, text, strlen(text), &e) != 0) {
		fprintf(stderr, "put_lock: %s\n", e.msg);
		exit(1);
	}
}

static void
put_lock_fields(struct bk_backend *b, const char *id, int exclusive,
		const char *lhost, long pid, unsigned long long start,
		int64_t time_ms, int64_t expires_ms)
{
	char ts[SOV_TIME_RFC3339_LEN], ex[SOV_TIME_RFC3339_LEN], text[1024];

	sov_time_format(time_ms, ts);
	sov_time_format(expires_ms, ex);
	xsnprintf(text, sizeof(text),
		  "{\"version\":1,\"exclusive\":%s,\"host\":\"%s\","
		  "\"pid\":%ld,\"pid_start\":%llu,\"user\":\"tester\","
		  "\"purpose\":\"handmade\",\"time\":\"%s\","
		  "\"expires\":\"%s\"}",
		  exclusive ? "true" : "false", lhost, pid, start, ts, ex);
	put_lock(b, id, text);
}

static int
exists(struct bk_backend *b, const char *name)
{
	struct sov_err e = {0};
	int there = 0;

	bk_stat(b, name, NULL, &there, &e);
	return there;
}

/* ---- the child side ------------------------------------------------ */

/* "hold REPO FD": take an exclusive lock, say so on FD, wait to be killed.
 * "renewfail REPO": take a lock whose renewals fail (SOV_FAULT), report
 * bk_lock_lost over time. */
static int
child_main(int argc, char **argv)
{
	struct sov_err e = {0};
	struct bk_backend *b;
	struct bk_lock *l;

	if (argc < 4)
		return 99;
	b = bk_backend_open(argv[3], 0, &e);
	if (b == NULL) {
		printf("open: %s\n", e.msg);
		return 98;
	}
	l = bk_lock_acquire(b, 1, "child", 0, &e);
	if (l == NULL) {
		printf("acquire: %s\n", e.msg);
		return 97;
	}
	if (strcmp(argv[2], "renewfail") == 0) {
		int rc;

		printf("lost@0=%d\n", bk_lock_lost(l));
		msleep(550); /* the lease is 900 ms: renewals from 300 fail */
		printf("lost@550=%d\n", bk_lock_lost(l));
		msleep(700);
		printf("lost@1250=%d\n", bk_lock_lost(l));
		rc = bk_lock_release(l, &e);
		printf("release=%d %s\n", rc, e.msg);
		fflush(stdout);
		bk_backend_close(b);
		return 0;
	}
	if (write(atoi(argv[4]), "r", 1) != 1)
		return 96;
	for (;;)
		pause();
}

/* ---- shared and exclusive ----------------------------------------- */

static void
test_conflicts(void)
{
	struct sov_err e = {0};
	struct bk_backend *b = repo("conflicts");
	struct bk_lock *a, *c, *x;
	char want[512], buf[128];
	jv o;

	a = bk_lock_acquire(b, 0, "backup", 0, &e);
	ok(a != NULL, "shared: first (%s)", e.msg);
	c = bk_lock_acquire(b, 0, "check", 0, &e);
	ok(c != NULL, "shared + shared: second (%s)", e.msg);
	is_int(nlocks(b, NULL), 2, "shared + shared: two lock objects");

	sov_err_clear(&e);
	x = bk_lock_acquire(b, 1, "prune", 0, &e);
	ok(x == NULL, "exclusive vs shared: refused");
	is_int(e.code, SOV_EXIT_TEMPFAIL, "exclusive vs shared: 75");
	like(e.msg, "repository ", "exclusive vs shared: names the repository");
	like(e.msg, "conflicts: locked (shared) by ",
	     "exclusive vs shared: says shared");
	xsnprintf(want, sizeof(want), "on %s (pid %ld, user ", host,
		  (long)getpid());
	like(e.msg, want, "exclusive vs shared: names host and pid");
	like(e.msg, " since 20", "exclusive vs shared: says since when");
	is_int(nlocks(b, NULL), 2,
	       "exclusive vs shared: our attempt left no lock behind");
	bk_lock_release(x, &e);

	is_int(bk_lock_release(c, &e), 0, "release the second");
	is_int(bk_lock_release(a, &e), 0, "release the first");
	is_int(nlocks(b, NULL), 0, "release: the lock objects are gone");

	a = bk_lock_acquire(b, 1, "prune", 0, &e);
	ok(a != NULL, "exclusive alone (%s)", e.msg);
	o = only_lock(b);
	ok(jv_get_kind(o) == JV_KIND_OBJECT, "lock object is JSON");
	is_int((long)num_field(o, "version"), 1, "lock: version 1");
	is_str(str_field(o, "host", buf, sizeof(buf)), host,
	       "lock: host is gethostname");
	is_int((long)num_field(o, "pid"), (long)getpid(), "lock: pid");
	ok((unsigned long long)num_field(o, "pid_start") == start_of(getpid()),
	   "lock: pid_start is field 22 of /proc/self/stat");
	is_str(str_field(o, "purpose", buf, sizeof(buf)), "prune",
	       "lock: purpose");
	ok(str_field(o, "user", buf, sizeof(buf))[0] != '\0', "lock: user");
	{
		jv ex = jv_object_get(jv_copy(o), jv_string("exclusive"));

		ok(jv_get_kind(ex) == JV_KIND_TRUE, "lock: exclusive true");
		jv_free(ex);
	}
	{
		int64_t t = time_field(o, "time"),
			x2 = time_field(o, "expires");

		ok(t > 0 && x2 - t >= BK_LOCK_LEASE_MS - 1000 &&
		       x2 - t <= BK_LOCK_LEASE_MS + 1000,
		   "lock: expires is time + the lease");
		ok(llabs(t - sov_time_now_ms()) < 5000, "lock: time is now");
	}
	jv_free(o);

	sov_err_clear(&e);
	x = bk_lock_acquire(b, 0, "backup", 0, &e);
	ok(x == NULL, "shared vs exclusive: refused");
	is_int(e.code, SOV_EXIT_TEMPFAIL, "shared vs exclusive: 75");
	like(e.msg, "locked exclusively by prune on ",
	     "shared vs exclusive: names the holder's purpose");
	like(e.msg, want, "shared vs exclusive: names host and pid");
	like(e.msg, "(locks/", "shared vs exclusive: names the lock object");
	sov_err_clear(&e);
	x = bk_lock_acquire(b, 1, "forget", 0, &e);
	ok(x == NULL && e.code == SOV_EXIT_TEMPFAIL,
	   "exclusive vs exclusive: refused, 75");
	is_int(nlocks(b, NULL), 1, "refused attempts left no lock behind");
	ok(!bk_lock_lost(a), "held lock is not lost");
	is_int(bk_lock_release(a, &e), 0, "release the exclusive lock");
	is_int(nlocks(b, NULL), 0, "release: gone");

	is_int(bk_lock_release(NULL, &e), 0, "release NULL");
	is_int(bk_lock_lost(NULL), 0, "lost NULL");
	sov_err_clear(&e);
	ok(bk_lock_acquire(b, 0, "", 0, &e) == NULL && e.code == SOV_EXIT_USAGE,
	   "empty purpose refused");
	like(e.msg, "purpose", "empty purpose says so");
	ok(bk_lock_acquire(NULL, 0, "x", 0, &e) == NULL, "no backend refused");
	bk_backend_close(b);
}

/* ---- stale locks -------------------------------------------------- */

static void
test_dead_pid(void)
{
	struct sov_err e = {0};
	struct bk_backend *b = repo("deadpid");
	struct bk_lock *l;
	struct names before, after;
	int fds[2], status;
	char c, fdarg[16];
	pid_t pid;

	/* The child execs this program, so it starts with one thread. */
	if (pipe(fds) != 0) {
		ok(0, "pipe");
		return;
	}
	pid = fork();
	if (pid == 0) {
		char p[PATH_MAX];

		close(fds[0]);
		xsnprintf(p, sizeof(p), "%s/deadpid", dir);
		xsnprintf(fdarg, sizeof(fdarg), "%d", fds[1]);
		execl(fault_self, fault_self, "--child", "hold", p, fdarg,
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	ok(read(fds[0], &c, 1) == 1, "dead pid: child took its lock");
	close(fds[0]);
	is_int(nlocks(b, &before), 1, "dead pid: the child's lock is there");

	sov_err_clear(&e);
	l = bk_lock_acquire(b, 0, "backup", 0, &e);
	ok(l == NULL && e.code == SOV_EXIT_TEMPFAIL,
	   "dead pid: while alive, the child's lock blocks");
	like(e.msg, "locked exclusively by child", "dead pid: names child");

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status), "dead pid: child killed");
	l = bk_lock_acquire(b, 1, "prune", 0, &e);
	ok(l != NULL, "dead pid: its lock is taken over (%s)", e.msg);
	is_int(nlocks(b, &after), 1, "dead pid: only our lock remains");
	ok(strcmp(before.name[0], after.name[0]) != 0,
	   "dead pid: the child's lock object was removed");
	bk_lock_release(l, &e);
	bk_backend_close(b);
}

static void
test_other_host(void)
{
	struct sov_err e = {0};
	struct bk_backend *b = repo("otherhost");
	struct bk_lock *l;
	int64_t now = sov_time_now_ms();
	int removed;

	put_lock_fields(b, "live", 1, "other-host-xyz", 1, 1, now - 10 * 60000,
			now + 60000);
	sov_err_clear(&e);
	l = bk_lock_acquire(b, 0, "backup", 0, &e);
	ok(l == NULL, "other host, lease running: blocks");
	is_int(e.code, SOV_EXIT_TEMPFAIL, "other host, lease running: 75");
	like(e.msg,
	     "locked exclusively by handmade on other-host-xyz (pid 1, "
	     "user tester)",
	     "other host, lease running: names the holder");
	ok(exists(b, "locks/live"), "other host, lease running: kept");

	put_lock_fields(b, "live", 1, "other-host-xyz", 1, 1, now - 10 * 60000,
			now - 1000);
	l = bk_lock_acquire(b, 1, "prune", 0, &e);
	ok(l != NULL, "other host, lease expired: taken over (%s)", e.msg);
	ok(!exists(b, "locks/live"), "other host, lease expired: removed");
	bk_lock_release(l, &e);

	/* unlock: only the stale ones, unless --all. */
	put_lock_fields(b, "expired", 0, "other-host-xyz", 1, 1, now - 60000,
			now - 1000);
	put_lock_fields(b, "running", 0, "other-host-xyz", 1, 1, now - 60000,
			now + 60000);
	l = bk_lock_acquire(b, 0, "backup", 0, &e);
	ok(l != NULL, "unlock: our own shared lock (%s)", e.msg);
	put_lock_fields(b, "expired", 0, "other-host-xyz", 1, 1, now - 60000,
			now - 1000);
	is_int(bk_lock_remove_stale(b, 0, &removed, &e), 0, "unlock");
	is_int(removed, 1, "unlock: removed the expired one");
	ok(!exists(b, "locks/expired") && exists(b, "locks/running"),
	   "unlock: the running one kept");
	is_int(nlocks(b, NULL), 2, "unlock: ours kept");
	is_int(bk_lock_remove_stale(b, 1, &removed, &e), 0, "unlock --all");
	is_int(removed, 2, "unlock --all: removed both");
	is_int(nlocks(b, NULL), 0, "unlock --all: none left");
	is_int(bk_lock_release(l, &e), 0,
	       "release after unlock --all: missing object is fine");
	bk_backend_close(b);
}

static void
test_pid_reuse(void)
{
	struct sov_err e = {0};
	struct bk_backend *b = repo("pidreuse");
	struct bk_lock *l;
	unsigned long long start = start_of(getpid());
	int64_t now = sov_time_now_ms();

	ok(start > 0, "pid reuse: our start time read");
	/* Our own PID and start time: a live holder (this process). */
	put_lock_fields(b, "same", 1, host, getpid(), start, now, now + 60000);
	sov_err_clear(&e);
	l = bk_lock_acquire(b, 0, "backup", 0, &e);
	ok(l == NULL && e.code == SOV_EXIT_TEMPFAIL,
	   "pid reuse: same pid and start time blocks");
	ok(exists(b, "locks/same"), "pid reuse: live holder's lock kept");

	/* Same PID, another start time: the PID was reused. */
	put_lock_fields(b, "same", 1, host, getpid(), start + 1, now,
			now + 60000);
	l = bk_lock_acquire(b, 0, "backup", 0, &e);
	ok(l != NULL, "pid reuse: other start time taken over (%s)", e.msg);
	ok(!exists(b, "locks/same"), "pid reuse: its lock removed");
	bk_lock_release(l, &e);

	/* pid_start 0 means the holder did not know: alive is alive. */
	put_lock_fields(b, "same", 1, host, getpid(), 0, now, now + 60000);
	sov_err_clear(&e);
	l = bk_lock_acquire(b, 0, "backup", 0, &e);
	ok(l == NULL && e.code == SOV_EXIT_TEMPFAIL,
	   "pid reuse: unknown start time and a live pid blocks");
	bk_lock_release(l, &e);

	/* Same host, live pid, but the lease ran out: its renewals broke. */
	put_lock_fields(b, "same", 1, host, getpid(), start, now - 60000,
			now - 1);
	l = bk_lock_acquire(b, 0, "backup", 0, &e);
	ok(l != NULL, "same host, expired lease: taken over (%s)", e.msg);
	bk_lock_release(l, &e);
	bk_backend_close(b);
}

static void
test_unreadable(void)
{
	struct sov_err e = {0};
	struct bk_backend *b = repo("unreadable");
	struct bk_lock *l;
	char text[512], ts[SOV_TIME_RFC3339_LEN];
	int64_t now = sov_time_now_ms();
	int removed;

	put_lock(b, "garbage", "this is not json");
	sov_err_clear(&e);
	l = bk_lock_acquire(b, 0, "backup", 0, &e);
	ok(l == NULL, "unreadable: a shared lock is refused");
	is_int(e.code, SOV_EXIT_TEMPFAIL, "unreadable: 75");
	like(e.msg, "unreadable lock locks/garbage (invalid JSON",
	     "unreadable: names the object and why");
	like(e.msg, "until removed with 'sov-backup unlock --all'",
	     "unreadable: says how to remove it");
	is_int(bk_lock_remove_stale(b, 0, &removed, &e), 0,
	       "unreadable: unlock");
	is_int(removed, 0, "unreadable: unlock keeps it");
	ok(exists(b, "locks/garbage"), "unreadable: never removed silently");
	is_int(bk_lock_remove_stale(b, 1, &removed, &e), 0,
	       "unreadable: unlock --all");
	is_int(removed, 1, "unreadable: unlock --all removes it");

	/* Readable "time" but a field missing: blocks for a lease. */
	sov_time_format(now - 1000, ts);
	xsnprintf(text, sizeof(text),
		  "{\"version\":1,\"exclusive\":false,\"host\":\"h\","
		  "\"time\":\"%s\",\"expires\":\"%s\"}",
		  ts, ts);
	put_lock(b, "nopid", text);
	sov_err_clear(&e);
	l = bk_lock_acquire(b, 0, "backup", 0, &e);
	ok(l == NULL && e.code == SOV_EXIT_TEMPFAIL,
	   "unreadable: recent, without pid: blocks");
	like(e.msg, "locks/nopid (\"pid\" missing or not a process ID)",
	     "unreadable: says which field");
	like(e.msg, "counts as an exclusive lock until 20",
	     "unreadable: says until when");
	is_int(bk_lock_remove_stale(b, 0, &removed, &e), 0, "unlock (recent)");
	is_int(removed, 0, "unlock keeps a recent unreadable lock");

	/* Older than the lease: ignored by acquire, removed by unlock. */
	sov_time_format(now - BK_LOCK_LEASE_MS - 60000, ts);
	xsnprintf(text, sizeof(text),
		  "{\"version\":1,\"time\":\"%s\",\"pid\":\"x\"}", ts);
	put_lock(b, "nopid", text);
	l = bk_lock_acquire(b, 1, "prune", 0, &e);
	ok(l != NULL, "unreadable: older than the lease is ignored (%s)",
	   e.msg);
	ok(exists(b, "locks/nopid"), "unreadable: ignored, not removed");
	bk_lock_release(l, &e);
	is_int(bk_lock_remove_stale(b, 0, &removed, &e), 0, "unlock (old)");
	is_int(removed, 1, "unlock removes an old unreadable lock");

	put_lock(b, "array", "[1,2]");
	sov_err_clear(&e);
	l = bk_lock_acquire(b, 0, "backup", 0, &e);
	ok(l == NULL, "unreadable: an array blocks");
	like(e.msg, "(not a JSON object)", "unreadable: says not an object");
	put_lock(b, "array", "{\"version\":2}");
	sov_err_clear(&e);
	l = bk_lock_acquire(b, 0, "backup", 0, &e);
	ok(l == NULL, "unreadable: version 2 blocks");
	like(e.msg, "\"version\" is not 1", "unreadable: says version");
	bk_backend_close(b);
}

/* ---- lease, renewal, waiting -------------------------------------- */

static void
test_renewal(void)
{
	struct sov_err e = {0};
	struct bk_backend *b = repo("renewal");
	struct bk_lock *l;
	int64_t t1, x1, t2, x2;
	jv o;

	setenv("SOV_BACKUP_LOCK_LEASE_MS", "600", 1);
	l = bk_lock_acquire(b, 0, "backup", 0, &e);
	ok(l != NULL, "renewal: acquire with a 600 ms lease (%s)", e.msg);
	o = only_lock(b);
	t1 = time_field(o, "time");
	x1 = time_field(o, "expires");
	jv_free(o);
	ok(x1 - t1 >= 550 && x1 - t1 <= 700, "renewal: expires = time + 600");
	msleep(1000);
	o = only_lock(b);
	t2 = time_field(o, "time");
	x2 = time_field(o, "expires");
	jv_free(o);
	is_int(t2, t1, "renewal: time kept");
	ok(x2 >= x1 + 600, "renewal: expires moved forward (%lld ms)",
	   (long long)(x2 - x1));
	ok(x2 > sov_time_now_ms(), "renewal: expires still ahead");
	is_int(bk_lock_lost(l), 0, "renewal: not lost after 1.7 leases");

	/* Another process with the 600 ms lease in force sees it live. */
	sov_err_clear(&e);
	ok(bk_lock_acquire(b, 1, "prune", 0, &e) == NULL &&
	       e.code == SOV_EXIT_TEMPFAIL,
	   "renewal: a renewed lock still blocks");
	is_int(bk_lock_release(l, &e), 0, "renewal: release");
	is_int(nlocks(b, NULL), 0, "renewal: gone after release");

	/* Someone removes our lock: the next renewal notices. */
	l = bk_lock_acquire(b, 0, "backup", 0, &e);
	{
		struct names ns;

		nlocks(b, &ns);
		bk_remove(b, ns.name[0], &e);
	}
	msleep(400);
	is_int(bk_lock_lost(l), 1, "renewal: removed lock is lost");
	is_int(nlocks(b, NULL), 0, "renewal: removed lock not written again");
	is_int(bk_lock_release(l, &e), 0, "renewal: release a lost lock");

	setenv("SOV_BACKUP_LOCK_LEASE_MS", "abc", 1);
	sov_err_clear(&e);
	ok(bk_lock_acquire(b, 0, "backup", 0, &e) == NULL &&
	       e.code == SOV_EXIT_USAGE,
	   "lease: a bad value is usage");
	like(e.msg, "$SOV_BACKUP_LOCK_LEASE_MS: 'abc' is not a number",
	     "lease: the message names the variable");
	setenv("SOV_BACKUP_LOCK_LEASE_MS", "50", 1);
	sov_err_clear(&e);
	ok(bk_lock_acquire(b, 0, "backup", 0, &e) == NULL &&
	       e.code == SOV_EXIT_USAGE,
	   "lease: below 100 ms is usage");
	sov_err_clear(&e);
	ok(bk_lock_remove_stale(b, 0, NULL, &e) == -1 &&
	       e.code == SOV_EXIT_USAGE,
	   "lease: unlock also checks it");
	unsetenv("SOV_BACKUP_LOCK_LEASE_MS");
	bk_backend_close(b);
}

static void
test_renewal_fails(void)
{
	char p[PATH_MAX], out[4096];
	const char *args[] = {"renewfail", NULL, NULL};

	if (fault_shim[0] == '\0') {
		skip(5, "faultinject.so not next to this binary (make "
			"build/tests/faultinject.so)");
		return;
	}
	bk_backend_close(repo("renewfail"));
	xsnprintf(p, sizeof(p), "%s/renewfail", dir);
	args[1] = p;
	setenv("SOV_BACKUP_LOCK_LEASE_MS", "900", 1);
	/* The first temp file (acquire) is made; every renewal's fails. */
	fault_run("openat:EIO:path=.tmp-:after=1", args, out, sizeof(out));
	unsetenv("SOV_BACKUP_LOCK_LEASE_MS");
	like(out, "lost@0=0", "renewal fails: not lost at first");
	like(out, "lost@550=0", "renewal fails: not lost within the lease");
	like(out, "lost@1250=1", "renewal fails: lost once the lease ran out");
	like(out, "release=0", "renewal fails: release still removes");
	{
		struct sov_err e = {0};
		struct bk_backend *b = bk_backend_open(p, 0, &e);

		is_int(nlocks(b, NULL), 0, "renewal fails: no lock left");
		bk_backend_close(b);
	}
}

struct holder_arg {
	struct bk_lock *l;
	long after_ms;
};

static void *
release_later(void *arg)
{
	struct holder_arg *h = arg;
	struct sov_err e = {0};

	msleep(h->after_ms);
	bk_lock_release(h->l, &e);
	return NULL;
}

static void
test_wait(void)
{
	struct sov_err e = {0};
	struct bk_backend *b = repo("wait");
	struct holder_arg h;
	struct bk_lock *l;
	pthread_t t;
	int64_t t0, took;

	h.l = bk_lock_acquire(b, 1, "prune", 0, &e);
	ok(h.l != NULL, "wait: holder (%s)", e.msg);
	t0 = sov_time_mono_ms();
	sov_err_clear(&e);
	l = bk_lock_acquire(b, 0, "backup", 700, &e);
	took = sov_time_mono_ms() - t0;
	ok(l == NULL && e.code == SOV_EXIT_TEMPFAIL,
	   "wait: gives up after wait_ms");
	ok(took >= 700 && took < 3000, "wait: waited about 700 ms (%lld)",
	   (long long)took);
	like(e.msg, "; waited 700 ms", "wait: says it waited");
	is_int(nlocks(b, NULL), 1, "wait: only the holder's lock left");

	h.after_ms = 600;
	pthread_create(&t, NULL, release_later, &h);
	t0 = sov_time_mono_ms();
	l = bk_lock_acquire(b, 0, "backup", 10000, &e);
	took = sov_time_mono_ms() - t0;
	pthread_join(t, NULL);
	ok(l != NULL, "wait: acquired once the holder released (%s)", e.msg);
	ok(took >= 500 && took < 5000, "wait: after about 600 ms (%lld)",
	   (long long)took);
	is_int(nlocks(b, NULL), 1, "wait: only our lock");
	bk_lock_release(l, &e);
	bk_backend_close(b);
}

int
main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");

	if (argc > 1 && strcmp(argv[1], "--child") == 0)
		return child_main(argc, argv);
	fault_init(argv[0]);
	unsetenv("SOV_BACKUP_LOCK_LEASE_MS");
	if (gethostname(host, sizeof(host)) != 0)
		return 1;
	host[sizeof(host) - 1] = '\0';
	xsnprintf(dir, sizeof(dir), "%s/test_backup_lock.XXXXXX",
		  tmp && tmp[0] ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_dead_pid(); /* first: fork before any thread exists */
	test_conflicts();
	test_other_host();
	test_pid_reuse();
	test_unreadable();
	test_renewal();
	test_renewal_fails();
	test_wait();
	return done_testing();
}
