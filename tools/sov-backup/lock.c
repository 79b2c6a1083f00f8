/*
 * lock.c - repository locks with leases; see lock.h.
 *
 * Write first, then look: every contender puts its own lock before it
 * lists the others, so of two that start together at least one sees the
 * other, and both back off by a random delay before trying again.
 *
 * The renewal thread shares with the caller only what the mutex guards
 * (stop) and two values read and written with __atomic builtins (the
 * monotonic deadline of our lease and the lost flag). The backend is safe
 * for concurrent use, so the thread may put while the caller writes packs.
 */
#include "lock.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jv.h>

#include "fs.h"
#include "jsonl.h"
#include "timestamp.h"

#define LOCK_VERSION 1
#define LOCK_DIR "locks"
#define LOCK_LEASE_ENV "SOV_BACKUP_LOCK_LEASE_MS"
#define LOCK_LEASE_MIN_MS 100
#define LOCK_LEASE_MAX_MS (24 * 3600 * 1000)
/* Back-off between attempts while waiting for a holder. */
#define LOCK_BACKOFF_MIN_MS 50
#define LOCK_BACKOFF_MAX_MS 1000
/* Strings taken from a lock for messages, and our own identity. */
#define LOCK_FIELD_MAX 64
#define LOCK_HOST_MAX 255
#define LOCK_PURPOSE_MAX 32
/* /proc/PID/stat is a few hundred bytes. */
#define LOCK_PROC_STAT_MAX 4096
/* 32 random bytes in hex: "locks/" and 64 digits. */
#define LOCK_ID_BYTES 32
/* Message of a conflict: who holds what. */
#define LOCK_HOLDER_MAX 640

struct ident {
	char host[LOCK_HOST_MAX + 1];
	char user[LOCK_FIELD_MAX + 1];
	long pid;
	unsigned long long pid_start; /* 0: unknown */
};

struct bk_lock {
	struct bk_backend *b;
	char name[BK_NAME_MAX + 1];
	int exclusive;
	char purpose[LOCK_PURPOSE_MAX + 1];
	struct ident me;
	int64_t time_ms;  /* when acquired: kept through renewals */
	int64_t lease_ms; /* our lease and renewal interval (lease / 3) */
	/* __atomic: the monotonic time our lease runs out, and "lost". */
	int64_t deadline_mono;
	int lost;
	pthread_mutex_t mu; /* guards stop */
	pthread_cond_t cv;
	int stop;
	int thread_started;
	pthread_t thread;
};

/* What a lock object says, as far as it could be read. */
struct holder {
	int parsed;    /* all fields valid */
	char why[256]; /* when not parsed: what was wrong */
	int has_time;
	int64_t time_ms;
	int exclusive;
	char host[LOCK_FIELD_MAX + 1];
	char purpose[LOCK_FIELD_MAX + 1];
	char user[LOCK_FIELD_MAX + 1];
	char host_full[LOCK_HOST_MAX + 1]; /* for comparing with ours */
	long long pid;
	unsigned long long pid_start;
	int64_t expires_ms;
};

/* ---- small helpers ------------------------------------------------ */

/* Copy at most max bytes of s, anything outside [ -~] as '?'. */
static void
printable(const char *s, char *out, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < max; i++)
		out[i] = (s[i] >= ' ' && s[i] <= '~') ? s[i] : '?';
	out[i] = '\0';
}

static int
random_bytes(void *buf, size_t n, struct sov_err *e)
{
	ssize_t got;

	do
		got = getrandom(buf, n, 0);
	while (got < 0 && errno == EINTR);
	if (got != (ssize_t)n)
		return sov_err_sys(e, SOV_EXIT_FAIL, "lock: getrandom");
	return 0;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The lease: BK_LOCK_LEASE_MS, or $SOV_BACKUP_LOCK_LEASE_MS for tests. */
static int
lease_ms(int64_t *out, struct sov_err *e)
{
	const char *v = getenv(LOCK_LEASE_ENV);
	char *end;
	long long n;

	*out = BK_LOCK_LEASE_MS;
	if (v == NULL || v[0] == '\0')
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < LOCK_LEASE_MIN_MS ||
	    n > LOCK_LEASE_MAX_MS) {
		char shown[LOCK_FIELD_MAX + 1];

		printable(v, shown, LOCK_FIELD_MAX);
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "$%s: '%s' is not a number of milliseconds "
				   "from %d to %d",
				   LOCK_LEASE_ENV, shown, LOCK_LEASE_MIN_MS,
				   LOCK_LEASE_MAX_MS);
	}
	*out = n;
	return 0;
}

/* Field 22 of /proc/PID/stat (start time in clock ticks since boot). */
static int
proc_start(long pid, unsigned long long *start)
{
	char path[64], *buf = NULL, *p, *end;
	struct sov_err e;
	size_t len;
	int field, rc = -1;

	if (snprintf(path, sizeof(path), "/proc/%ld/stat", pid) >=
	    (int)sizeof(path))
		return -1;
	if (sov_file_read(path, LOCK_PROC_STAT_MAX, &buf, &len, &e) != 0)
		return -1;
	/* The command name (field 2) may hold spaces and ')'. */
	p = strrchr(buf, ')');
	if (p == NULL)
		goto out;
	p++;
	for (field = 3; field < 22; field++) {
		while (*p == ' ')
			p++;
		p = strchr(p, ' ');
		if (p == NULL)
			goto out;
	}
	while (*p == ' ')
		p++;
	errno = 0;
	*start = strtoull(p, &end, 10);
	if (errno != 0 || end == p)
		goto out;
	rc = 0;
out:
	free(buf);
	return rc;
}

static int
ident_fill(struct ident *me, struct sov_err *e)
{
	char host[LOCK_HOST_MAX + 1], pwbuf[4096];
	struct passwd pw, *res = NULL;
	int n;

	memset(me, 0, sizeof(*me));
	if (gethostname(host, sizeof(host)) != 0)
		return sov_err_sys(e, SOV_EXIT_FAIL, "lock: gethostname");
	host[sizeof(host) - 1] = '\0';
	printable(host, me->host, LOCK_HOST_MAX);
	me->pid = (long)getpid();
	/* Without /proc the start time is unknown (0): others on this host
	 * then only ask whether the PID is alive. */
	if (proc_start(me->pid, &me->pid_start) != 0)
		me->pid_start = 0;
	if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 &&
	    res != NULL && res->pw_name != NULL) {
		printable(res->pw_name, me->user, LOCK_FIELD_MAX);
	} else {
		n = snprintf(me->user, sizeof(me->user), "uid %ld",
			     (long)geteuid());
		if (n < 0 || (size_t)n >= sizeof(me->user))
			me->user[0] = '\0';
	}
	return 0;
}

/* ---- the lock object ------------------------------------------------ */

/* Put our lock with "expires" now + lease; on success *t0 is the
 * monotonic time just before the write. */
static int
lock_write(struct bk_lock *l, int64_t *t0, struct sov_err *e)
{
	char ts[SOV_TIME_RFC3339_LEN], exp[SOV_TIME_RFC3339_LEN];
	int64_t now;
	jv o, s;
	int rc;

	*t0 = sov_time_mono_ms();
	now = sov_time_now_ms();
	sov_time_format(l->time_ms, ts);
	sov_time_format(now + l->lease_ms, exp);
	o = jv_object();
	o = jv_object_set(o, jv_string("version"), jv_number(LOCK_VERSION));
	o = jv_object_set(o, jv_string("exclusive"), jv_bool(l->exclusive));
	o = jv_object_set(o, jv_string("host"), jv_string(l->me.host));
	o = jv_object_set(o, jv_string("pid"), jv_number((double)l->me.pid));
	o = jv_object_set(o, jv_string("pid_start"),
			  jv_number((double)l->me.pid_start));
	o = jv_object_set(o, jv_string("user"), jv_string(l->me.user));
	o = jv_object_set(o, jv_string("purpose"), jv_string(l->purpose));
	o = jv_object_set(o, jv_string("time"), jv_string(ts));
	o = jv_object_set(o, jv_string("expires"), jv_string(exp));
	s = jv_dump_string(o, 0);
	rc = bk_put(l->b, l->name, jv_string_value(s),
		    (size_t)jv_string_length_bytes(jv_copy(s)), e);
	jv_free(s);
	return rc;
}

/* A whole non-negative integer from a JSON number field. */
static int
get_uint(jv o, const char *key, unsigned long long max, unsigned long long *out)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));
	double d;
	int rc = -1;

	if (jv_get_kind(v) != JV_KIND_NUMBER)
		goto out;
	d = jv_number_value(v);
	if (!(d >= 0 && d <= (double)max) || d != (double)(unsigned long long)d)
		goto out;
	*out = (unsigned long long)d;
	rc = 0;
out:
	jv_free(v);
	return rc;
}

/* A non-empty string field into out: at most max bytes, printable. */
static int
get_str(jv o, const char *key, char *out, size_t max)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));
	int rc = -1;

	if (jv_get_kind(v) != JV_KIND_STRING ||
	    jv_string_length_bytes(jv_copy(v)) < 1)
		goto out;
	printable(jv_string_value(v), out, max);
	rc = 0;
out:
	jv_free(v);
	return rc;
}

static int
get_time(jv o, const char *key, int64_t *ms)
{
	char buf[LOCK_FIELD_MAX + 1];
	struct sov_err e;

	if (get_str(o, key, buf, LOCK_FIELD_MAX) != 0)
		return -1;
	return sov_time_parse(buf, ms, &e);
}

/* Read what the text of a lock says into h; h->parsed says if all of it
 * made sense, else h->why says what did not. */
static void
holder_parse(const char *text, size_t len, struct holder *h)
{
	unsigned long long version = 0, pid = 0;
	struct sov_err pe;
	const char *bad = NULL;
	jv o, ex;

	memset(h, 0, sizeof(*h));
	sov_err_clear(&pe);
	o = sov_json_parse(text, len, &pe);
	if (!jv_is_valid(o)) {
		/* Cut to fit: the message is informative only. */
		printable(pe.msg, h->why, sizeof(h->why) - 1);
		jv_free(o);
		return;
	}
	if (jv_get_kind(o) != JV_KIND_OBJECT) {
		printable("not a JSON object", h->why, sizeof(h->why) - 1);
		jv_free(o);
		return;
	}
	h->has_time = get_time(o, "time", &h->time_ms) == 0;
	ex = jv_object_get(jv_copy(o), jv_string("exclusive"));
	if (get_uint(o, "version", 1000, &version) != 0)
		bad = "\"version\" missing or not a number";
	else if (version != LOCK_VERSION)
		bad = "\"version\" is not 1";
	else if (!h->has_time)
		bad = "\"time\" missing or not an RFC 3339 time";
	else if (jv_get_kind(ex) != JV_KIND_TRUE &&
		 jv_get_kind(ex) != JV_KIND_FALSE)
		bad = "\"exclusive\" missing or not true/false";
	else if (get_str(o, "host", h->host_full, LOCK_HOST_MAX) != 0)
		bad = "\"host\" missing or not a string";
	else if (get_uint(o, "pid", INT_MAX, &pid) != 0 || pid == 0)
		bad = "\"pid\" missing or not a process ID";
	else if (get_uint(o, "pid_start", ULLONG_MAX >> 11, &h->pid_start) != 0)
		bad = "\"pid_start\" missing or not a whole number";
	else if (get_str(o, "purpose", h->purpose, LOCK_FIELD_MAX) != 0)
		bad = "\"purpose\" missing or not a string";
	else if (get_time(o, "expires", &h->expires_ms) != 0)
		bad = "\"expires\" missing or not an RFC 3339 time";
	if (bad != NULL) {
		printable(bad, h->why, sizeof(h->why) - 1);
	} else {
		h->parsed = 1;
		h->exclusive = jv_get_kind(ex) == JV_KIND_TRUE;
		h->pid = (long long)pid;
		printable(h->host_full, h->host, LOCK_FIELD_MAX);
		if (get_str(o, "user", h->user, LOCK_FIELD_MAX) != 0)
			printable("?", h->user, LOCK_FIELD_MAX);
	}
	jv_free(ex);
	jv_free(o);
}

/* 1 when the holder of a parsed lock is gone: its lease ran out, or it
 * ran on this host and its process is dead or another one by now. */
static int
holder_gone(const struct holder *h, const struct ident *me, int64_t now)
{
	unsigned long long start;

	if (now > h->expires_ms)
		return 1;
	if (strcmp(h->host_full, me->host) != 0)
		return 0;
	if (kill((pid_t)h->pid, 0) != 0 && errno == ESRCH)
		return 1;
	/* Alive: the same process only if it started when the lock says.
	 * pid_start 0 means the holder could not tell. */
	if (h->pid_start != 0 && proc_start((long)h->pid, &start) == 0 &&
	    start != h->pid_start)
		return 1;
	return 0;
}

/* "exclusively by prune on heart (pid 1234, user root) since TIME". */
static void
holder_describe(const struct holder *h, const char *name, char *out,
		size_t size)
{
	char ts[SOV_TIME_RFC3339_LEN];
	int n;

	sov_time_format(h->time_ms, ts);
	n = snprintf(out, size,
		     "locked %s by %s on %s (pid %lld, user %s) since %s "
		     "(%s)",
		     h->exclusive ? "exclusively" : "(shared)", h->purpose,
		     h->host, h->pid, h->user, ts, name);
	if (n < 0 || (size_t)n >= size)
		snprintf(out, size, "locked (%s)", name);
}

/* ---- acquire ------------------------------------------------------ */

struct scan {
	struct bk_lock *l;
	int64_t now;
	int conflict;
	char holder[LOCK_HOLDER_MAX];
	struct sov_err *e;
	int failed;
};

/* Remove a lock whose holder is gone; another may be doing the same. */
static int
scan_one(const char *name, uint64_t size, void *arg)
{
	struct scan *s = arg;
	struct bk_lock *l = s->l;
	struct holder h;
	unsigned char *text = NULL;
	size_t len;
	int missing = 0, conflict = 0;

	(void)size;
	if (strcmp(name, l->name) == 0)
		return 0;
	if (bk_get(l->b, name, BK_LOCK_MAX_BYTES, &text, &len, &missing,
		   s->e) != 0) {
		if (missing) /* released meanwhile */
			return 0;
		s->failed = 1;
		return 1;
	}
	holder_parse((const char *)text, len, &h);
	free(text);
	if (!h.parsed) {
		/* Never removed here: it counts as exclusive until its
		 * "time" (if any) is a lease in the past. */
		if (h.has_time && s->now - h.time_ms > l->lease_ms)
			return 0;
		if (!s->conflict) {
			char since[SOV_TIME_RFC3339_LEN];
			int n;

			sov_time_format(h.time_ms + l->lease_ms, since);
			n = snprintf(s->holder, sizeof(s->holder),
				     "unreadable lock %s (%s) counts as an "
				     "exclusive lock %s%s",
				     name, h.why,
				     h.has_time ? "until "
						: "until removed with "
						  "'sov-backup unlock --all'",
				     h.has_time ? since : "");
			if (n < 0 || (size_t)n >= sizeof(s->holder))
				printable(name, s->holder, LOCK_FIELD_MAX);
		}
		s->conflict = 1;
		return 0;
	}
	if (holder_gone(&h, &l->me, s->now)) {
		if (bk_remove(l->b, name, s->e) != 0) {
			s->failed = 1;
			return 1;
		}
		return 0;
	}
	conflict = l->exclusive || h.exclusive;
	if (conflict && !s->conflict)
		holder_describe(&h, name, s->holder, sizeof(s->holder));
	s->conflict |= conflict;
	return 0;
}

static void *
renew_main(void *arg)
{
	struct bk_lock *l = arg;
	int64_t interval = l->lease_ms / 3, retry = l->lease_ms / 10;
	int64_t next = sov_time_mono_ms() + interval, t0, wait;
	struct timespec ts;
	struct sov_err e;
	int exists, stop;

	for (;;) {
		pthread_mutex_lock(&l->mu);
		while (!l->stop) {
			wait = next - sov_time_mono_ms();
			if (wait <= 0)
				break;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (long)(wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&l->cv, &l->mu, &ts);
		}
		stop = l->stop;
		pthread_mutex_unlock(&l->mu);
		if (stop || bk_lock_lost(l))
			break;
		/* Someone removed our lock ("unlock --all", or a host that
		 * thought us gone): writing it again would hide that. */
		if (bk_stat(l->b, l->name, NULL, &exists, &e) == 0 && !exists) {
			__atomic_store_n(&l->lost, 1, __ATOMIC_SEQ_CST);
			break;
		}
		if (lock_write(l, &t0, &e) != 0) {
			next = sov_time_mono_ms() + retry;
			continue;
		}
		/* A lease already run out stays lost: another may have
		 * taken the repository over meanwhile. */
		if (bk_lock_lost(l))
			break;
		__atomic_store_n(&l->deadline_mono, t0 + l->lease_ms,
				 __ATOMIC_SEQ_CST);
		next = t0 + interval;
	}
	return NULL;
}

static void
lock_free(struct bk_lock *l)
{
	if (l == NULL)
		return;
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static struct bk_lock *
lock_new(struct bk_backend *b, int exclusive, const char *purpose,
	 struct sov_err *e)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char id[LOCK_ID_BYTES];
	pthread_condattr_t ca;
	struct bk_lock *l;
	size_t i, plen;
	int n;

	plen = purpose ? strlen(purpose) : 0;
	if (plen == 0 || plen > LOCK_PURPOSE_MAX) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "lock: purpose must be 1 to %d characters",
			    LOCK_PURPOSE_MAX);
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "lock");
		return NULL;
	}
	if (pthread_mutex_init(&l->mu, NULL) != 0) {
		free(l);
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "lock: pthread_mutex_init");
		return NULL;
	}
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&l->cv, &ca) != 0) {
		pthread_mutex_destroy(&l->mu);
		free(l);
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "lock: pthread_cond_init");
		return NULL;
	}
	pthread_condattr_destroy(&ca);
	l->b = b;
	l->exclusive = exclusive != 0;
	printable(purpose, l->purpose, LOCK_PURPOSE_MAX);
	if (lease_ms(&l->lease_ms, e) != 0 || ident_fill(&l->me, e) != 0 ||
	    random_bytes(id, sizeof(id), e) != 0) {
		lock_free(l);
		return NULL;
	}
	/* "locks/" and 64 hex digits fit BK_NAME_MAX by far. */
	memcpy(l->name, LOCK_DIR "/", sizeof(LOCK_DIR));
	n = (int)sizeof(LOCK_DIR);
	for (i = 0; i < sizeof(id); i++) {
		l->name[n++] = hex[id[i] >> 4];
		l->name[n++] = hex[id[i] & 15];
	}
	l->name[n] = '\0';
	return l;
}

struct bk_lock *
bk_lock_acquire(struct bk_backend *b, int exclusive, const char *purpose,
		int64_t wait_ms, struct sov_err *e)
{
	struct bk_lock *l = NULL, *ret = NULL;
	struct scan s;
	int64_t start, t0, left, delay;
	uint32_t r;
	int rc;

	if (b == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "lock: no repository open");
		goto out;
	}
	l = lock_new(b, exclusive, purpose, e);
	if (l == NULL)
		goto out;
	start = sov_time_mono_ms();
	for (;;) {
		l->time_ms = sov_time_now_ms();
		if (lock_write(l, &t0, e) != 0) {
			sov_err_prefix(e, "lock %s: ", b->display);
			goto out;
		}
		__atomic_store_n(&l->deadline_mono, t0 + l->lease_ms,
				 __ATOMIC_SEQ_CST);
		memset(&s, 0, sizeof(s));
		s.l = l;
		s.now = sov_time_now_ms();
		s.e = e;
		rc = bk_list(b, LOCK_DIR, scan_one, &s, e);
		if (rc != 0 || s.failed) {
			sov_err_prefix(e, "lock %s: ", b->display);
			(void)bk_remove(b, l->name, NULL);
			goto out;
		}
		if (!s.conflict)
			break;
		if (bk_remove(b, l->name, e) != 0) {
			sov_err_prefix(e, "lock %s: ", b->display);
			goto out;
		}
		left = wait_ms - (sov_time_mono_ms() - start);
		if (left <= 0) {
			if (wait_ms > 0)
				sov_err_set(e, SOV_EXIT_TEMPFAIL,
					    "repository %s: %s; waited %lld ms",
					    b->display, s.holder,
					    (long long)wait_ms);
			else
				sov_err_set(e, SOV_EXIT_TEMPFAIL,
					    "repository %s: %s", b->display,
					    s.holder);
			goto out;
		}
		if (random_bytes(&r, sizeof(r), e) != 0)
			goto out;
		delay = LOCK_BACKOFF_MIN_MS +
			(int64_t)(r % (LOCK_BACKOFF_MAX_MS -
				       LOCK_BACKOFF_MIN_MS + 1));
		sleep_ms(delay < left ? delay : left);
	}
	if (pthread_create(&l->thread, NULL, renew_main, l) != 0) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL,
			    "lock %s: cannot start the renewal thread",
			    b->display);
		(void)bk_remove(b, l->name, NULL);
		goto out;
	}
	l->thread_started = 1;
	ret = l;
out:
	if (ret == NULL)
		lock_free(l);
	return ret;
}

int
bk_lock_lost(const struct bk_lock *l)
{
	struct bk_lock *w = (struct bk_lock *)l; /* malloc'ed: not const */

	if (l == NULL)
		return 0;
	if (__atomic_load_n(&w->lost, __ATOMIC_SEQ_CST))
		return 1;
	if (sov_time_mono_ms() >=
	    __atomic_load_n(&w->deadline_mono, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&w->lost, 1, __ATOMIC_SEQ_CST);
		return 1;
	}
	return 0;
}

int
bk_lock_release(struct bk_lock *l, struct sov_err *e)
{
	int rc = -1;

	if (l == NULL)
		return 0;
	if (l->thread_started) {
		pthread_mutex_lock(&l->mu);
		l->stop = 1;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
	}
	if (bk_remove(l->b, l->name, e) != 0) {
		sov_err_prefix(e, "unlock %s: ", l->b->display);
		goto out;
	}
	rc = 0;
out:
	lock_free(l);
	return rc;
}

/* ---- unlock ------------------------------------------------------- */

struct stale {
	struct bk_backend *b;
	struct ident me;
	int all;
	int64_t now, lease_ms;
	int removed;
	int failed;
	struct sov_err *e;
};

static int
stale_one(const char *name, uint64_t size, void *arg)
{
	struct stale *s = arg;
	struct holder h;
	unsigned char *text = NULL;
	size_t len;
	int missing = 0, gone;

	(void)size;
	if (!s->all) {
		if (bk_get(s->b, name, BK_LOCK_MAX_BYTES, &text, &len, &missing,
			   s->e) != 0) {
			if (missing)
				return 0;
			s->failed = 1;
			return 1;
		}
		holder_parse((const char *)text, len, &h);
		free(text);
		if (h.parsed)
			gone = holder_gone(&h, &s->me, s->now);
		else /* unreadable: gone once its time is a lease ago */
			gone = h.has_time && s->now - h.time_ms > s->lease_ms;
		if (!gone)
			return 0;
	}
	if (bk_remove(s->b, name, s->e) != 0) {
		s->failed = 1;
		return 1;
	}
	s->removed++;
	return 0;
}

int
bk_lock_remove_stale(struct bk_backend *b, int all, int *removed,
		     struct sov_err *e)
{
	struct stale s;
	int rc = -1;

	if (removed != NULL)
		*removed = 0;
	memset(&s, 0, sizeof(s));
	if (b == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "unlock: no repository open");
		goto out;
	}
	s.b = b;
	s.all = all;
	s.e = e;
	if (lease_ms(&s.lease_ms, e) != 0 || ident_fill(&s.me, e) != 0)
		goto out;
	s.now = sov_time_now_ms();
	if (bk_list(b, LOCK_DIR, stale_one, &s, e) != 0 || s.failed) {
		sov_err_prefix(e, "unlock %s: ", b->display);
		goto out;
	}
	rc = 0;
out:
	if (removed != NULL)
		*removed = s.removed;
	return rc;
}
