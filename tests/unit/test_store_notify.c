/*
 * test_store_notify.c - sov_store_listen, _notify and _wait (store.h): on
 * the real PostgreSQL in $SOV_TEST_PG_URL a notification sent by another
 * connection wakes a waiter only when its transaction commits, at once,
 * also after the waiter's connection was cut and opened again; on SQLite
 * they do nothing and wait returns at once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "tap.h"
#include "timestamp.h"

#define CHAN "sov_test_wake"
#define PG_TESTS 12

static void
test_sqlite(void)
{
	char path[] = "/tmp/test_store_notify.XXXXXX", url[64];
	struct sov_err e = {0};
	struct sov_store *st;
	int64_t t0;
	int fd = mkstemp(path);

	if (fd < 0)
		exit(99);
	close(fd);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	st = sov_store_open(url, &e);
	if (!st) {
		ok(0, "SQLite: open: %s", e.msg);
		exit(1);
	}
	ok(sov_store_listen(st, CHAN, &e) == 0 &&
	       sov_store_notify(st, CHAN, &e) == 0,
	   "SQLite: listen and notify do nothing");
	t0 = sov_time_mono_ms();
	ok(sov_store_wait(st, 2000, &e) == 0 && sov_time_mono_ms() - t0 < 500,
	   "SQLite: wait returns 0 at once (the caller polls)");
	ok(sov_store_listen(st, "", &e) < 0 &&
	       sov_store_listen(st, "Upper", &e) < 0 &&
	       sov_store_notify(st, "x; DROP TABLE y", &e) < 0 &&
	       sov_store_listen(st,
				"a123456789012345678901234567890123456789"
				"012345678901234567890123",
				&e) < 0,
	   "a channel that is not 1..63 of a-z 0-9 _ is refused");
	ok(sov_store_wait(st, -1, &e) < 0, "a negative timeout is refused");
	sov_store_close(st);
	unlink(path);
}

/* b sends one notification (two NOTIFYs in one transaction). */
static int
send_one(struct sov_store *b, struct sov_err *e)
{
	if (sov_store_begin(b, e) < 0 || sov_store_notify(b, CHAN, e) < 0 ||
	    sov_store_notify(b, CHAN, e) < 0)
		return -1;
	return sov_store_commit(b, e);
}

static void
test_pg(const char *url)
{
	struct sov_err e = {0};
	struct sov_store *a = sov_store_open(url, &e), *b;
	int64_t t0;
	jv rows, pid;

	b = a ? sov_store_open(url, &e) : NULL;
	if (!a || !b) {
		ok(0, "PostgreSQL: open: %s", e.msg);
		skip(PG_TESTS - 1, "PostgreSQL: not reachable");
		sov_store_close(a);
		return;
	}
	ok(sov_store_listen(a, CHAN, &e) == 0 &&
	       sov_store_listen(a, CHAN, &e) == 0 &&
	       sov_store_listen(a, "sov_test_other", &e) < 0,
	   "listen; again on the same channel; not on a second one");
	ok(sov_store_wait(a, 0, &e) == 0, "nothing to take yet");

	ok(sov_store_begin(b, &e) == 0 && sov_store_notify(b, CHAN, &e) == 0,
	   "notify inside a transaction");
	t0 = sov_time_mono_ms();
	ok(sov_store_wait(a, 200, &e) == 0 && sov_time_mono_ms() - t0 >= 150,
	   "not delivered before the commit: wait ran its 200 ms");
	ok(sov_store_commit(b, &e) == 0, "commit");
	t0 = sov_time_mono_ms();
	ok(sov_store_wait(a, 5000, &e) == 1 && sov_time_mono_ms() - t0 < 1000,
	   "delivered at the commit: wait returned 1 in %lld ms",
	   (long long)(sov_time_mono_ms() - t0));

	ok(send_one(b, &e) == 0 &&
	       sov_store_exec(a, "SELECT pg_sleep(0.2)", &e) == 0 &&
	       sov_store_wait(a, 0, &e) == 1 && sov_store_wait(a, 0, &e) == 0,
	   "one that came while the waiter ran a statement is taken at its "
	   "next wait, once (two NOTIFYs of one transaction are one)");

	/* Once per transaction, not once per connection. */
	ok(send_one(b, &e) == 0 && sov_store_wait(a, 2000, &e) == 1 &&
	       send_one(b, &e) == 0 && sov_store_wait(a, 2000, &e) == 1,
	   "a second transaction of the notifier wakes the waiter again");

	ok(sov_store_begin(a, &e) == 0 && sov_store_wait(a, 0, &e) < 0 &&
	       sov_store_rollback(a, NULL) == 0,
	   "wait inside a transaction is refused");

	/* The waiter's connection is cut; it reconnects and listens again. */
	rows = jv_invalid();
	if (sov_store_query(a, "SELECT pg_backend_pid() AS pid", jv_array(),
			    &rows, &e) < 0) {
		ok(0, "pg_backend_pid: %s", e.msg);
		skip(2, "no backend pid");
		goto out;
	}
	pid = jv_object_get(jv_array_get(jv_copy(rows), 0), jv_string("pid"));
	jv_free(rows);
	ok(sov_store_query(b, "SELECT pg_terminate_backend($1)", JV_ARRAY(pid),
			   NULL, &e) == 0,
	   "the waiter's backend terminated");
	usleep(200 * 1000);
	ok(sov_store_wait(a, 1000, &e) < 0, "wait on the cut connection: -1");
	/* The next statement opens it again, and with it the LISTEN. */
	sov_store_exec(a, "SELECT 1", &e);
	ok(sov_store_exec(a, "SELECT 1", &e) == 0 && send_one(b, &e) == 0 &&
	       sov_store_wait(a, 5000, &e) == 1,
	   "after the reconnect the waiter is woken again");
out:
	sov_store_close(a);
	sov_store_close(b);
}

int
main(void)
{
	const char *pg = getenv("SOV_TEST_PG_URL");
	const char *req = getenv("SOV_REQUIRE_PG");

	test_sqlite();
	if (pg && *pg)
		test_pg(pg);
	else if (req && strcmp(req, "1") == 0)
		ok(0, "PostgreSQL: SOV_REQUIRE_PG=1 but SOV_TEST_PG_URL is not "
		      "set");
	else
		skip(PG_TESTS, "PostgreSQL: SOV_TEST_PG_URL not set");
	return done_testing();
}
