/* test_jqwatch.c - deadlines for jq programs, enforced by a watchdog
 * thread (lib/jqwatch.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "jqprog.h"
#include "jqwatch.h"
#include "tap.h"
#include "timestamp.h"

static struct sov_jq_watch *watch;
static atomic_int stop_dog, halts;

static void *
dog(void *arg)
{
	struct timespec ts = {0, 5 * 1000000L};

	(void)arg;
	while (!atomic_load(&stop_dog)) {
		if (sov_jq_watch_check(watch, sov_time_mono_ms()))
			atomic_fetch_add(&halts, 1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void
count_halt(int i, void *arg)
{
	atomic_fetch_add((atomic_int *)arg, 1 + i * 100);
}

/* sov_jq_watchdog: the library's dog halts the bound watch's program, and
 * names the watch by its index; programs in a set are halted too. */
static void
test_watchdog(void)
{
	struct sov_err e = {0};
	struct sov_jq_watch *w[3] = {NULL, NULL, NULL};
	struct sov_jq_watchdog *d;
	const char *src[2] = {"last(range(1e15))", ".a + .b"};
	const char *where[2] = {"targets.spin.jq", "targets.sum.jq"};
	struct sov_jq *set[2];
	atomic_int n = 0;
	int64_t t0, took;
	jv out;

	w[0] = sov_jq_watch_new(&e);
	w[2] = sov_jq_watch_new(&e);
	ok(w[0] && w[2], "watchdog: two watches, one gap");
	ok(sov_jq_compile_set(src, where, 2, jv_invalid(), set, &e) == 0,
	   "watchdog: a set compiled");
	d = sov_jq_watchdog_start(w, 3, 20, count_halt, &n, &e);
	ok(d != NULL, "watchdog: started");
	if (!d || !w[0] || !w[2])
		return;
	sov_jq_watch_bind(w[2]);
	ok(sov_jq_watch_bound() == w[2],
	   "watchdog: the thread's watch is w[2]");
	t0 = sov_time_mono_ms();
	sov_jq_deadline(t0 + 60);
	ok(sov_jq_first(set[0], jv_null(), &out, &e) < 0 &&
	       e.code == SOV_EXIT_TEMPFAIL,
	   "watchdog: a set's program halted");
	like(e.msg, "targets.spin.jq: timed out", "watchdog: named");
	took = sov_time_mono_ms() - t0;
	ok(took >= 60 && took < 2000, "watchdog: within a tick or so (%lld ms)",
	   (long long)took);
	is_int(atomic_load(&n), 201, "watchdog: the halt reported as watch 2");
	sov_jq_deadline(sov_time_mono_ms() + 60000);
	ok(sov_jq_first(set[1], jv_parse("{\"a\":1,\"b\":2}"), &out, &e) == 0 &&
	       jv_number_value(out) == 3,
	   "watchdog: the set's other program runs after");
	jv_free(out);
	sov_jq_deadline(0);
	sov_jq_watch_bind(NULL);
	ok(sov_jq_watch_bound() == NULL, "watchdog: unbound");
	sov_jq_watchdog_stop(d);
	/* one that looks every 5 s stops at once, not at its next look */
	d = sov_jq_watchdog_start(w, 3, 5000, count_halt, &n, &e);
	ok(d != NULL, "watchdog: a slow one started");
	t0 = sov_time_mono_ms();
	sov_jq_watchdog_stop(d);
	ok(sov_time_mono_ms() - t0 < 1000, "watchdog: stops without a tick");
	sov_jq_watchdog_stop(NULL);
	sov_jq_free(set[0]);
	sov_jq_free(set[1]);
	sov_jq_watch_free(w[0]);
	sov_jq_watch_free(w[2]);
}

int
main(void)
{
	struct sov_err e = {0};
	struct sov_jq *spin, *sum;
	pthread_t tid;
	int64_t t0, took;
	int truth;
	jv out;

	/* A program that never ends on its own, without growing. */
	spin = sov_jq_compile("last(range(1e15))", "steps.spin.jq",
			      jv_invalid(), &e);
	sum = sov_jq_compile(".a + .b", "steps.sum.jq", jv_invalid(), &e);
	ok(spin && sum, "compiled");
	if (!spin || !sum)
		return done_testing();
	watch = sov_jq_watch_new(&e);
	ok(watch != NULL, "a watch");
	ok(pthread_create(&tid, NULL, dog, NULL) == 0, "the watchdog runs");

	/* Not bound: no deadline applies, and none can be set. */
	is_int(sov_jq_deadline(sov_time_mono_ms() - 1), 0,
	       "no deadline without a bound watch");
	ok(sov_jq_first(sum, jv_parse("{\"a\":1,\"b\":2}"), &out, &e) == 0 &&
	       jv_number_value(out) == 3,
	   "unbound: runs");
	jv_free(out);

	sov_jq_watch_bind(watch);
	t0 = sov_time_mono_ms();
	is_int(sov_jq_deadline(t0 + 100), 0, "deadline set, none before");
	ok(sov_jq_first(spin, jv_null(), &out, &e) < 0, "halted");
	took = sov_time_mono_ms() - t0;
	is_int(e.code, SOV_EXIT_TEMPFAIL, "a timeout is temporary");
	like(e.msg, "steps.spin.jq: timed out", "says where and what");
	ok(took >= 100 && took < 2000, "at its deadline (%lld ms)",
	   (long long)took);
	is_int(atomic_load(&halts), 1, "the watchdog halted it once");

	/* Past the deadline nothing starts. */
	ok(sov_jq_first(sum, jv_parse("{\"a\":1,\"b\":2}"), &out, &e) < 0 &&
	       e.code == SOV_EXIT_TEMPFAIL,
	   "a program started late fails at once");
	ok(sov_jq_test(sum, jv_parse("{\"a\":1,\"b\":2}"), &truth, &e) < 0,
	   "so does a condition");
	ok(sov_jq_all(sum, jv_parse("{\"a\":1,\"b\":2}"), &out, &e) < 0,
	   "and a filter");

	/* A new deadline: the same programs run again, the halted one too. */
	is_int(sov_jq_deadline(sov_time_mono_ms() + 60000), t0 + 100,
	       "the old deadline comes back to restore");
	ok(sov_jq_first(sum, jv_parse("{\"a\":1,\"b\":2}"), &out, &e) == 0 &&
	       jv_number_value(out) == 3,
	   "runs within its deadline");
	jv_free(out);
	{
		struct sov_jq *short_loop =
		    sov_jq_compile("last(range(1000))", "f", jv_invalid(), &e);

		ok(short_loop &&
		       sov_jq_first(short_loop, jv_null(), &out, &e) == 0 &&
		       jv_number_value(out) == 999,
		   "a halted state is reset by the next run");
		jv_free(out);
		sov_jq_free(short_loop);
	}
	is_int(atomic_load(&halts), 1, "nothing halted within a deadline");

	/* sov_jq_all halted mid-stream: no partial output. */
	sov_jq_deadline(sov_time_mono_ms() + 50);
	{
		struct sov_jq *many =
		    sov_jq_compile("range(1e15)", "f", jv_invalid(), &e);

		ok(many && sov_jq_all(many, jv_null(), &out, &e) < 0 &&
		       !jv_is_valid(out),
		   "a filter halted gives nothing");
		sov_jq_free(many);
	}
	sov_jq_deadline(0);
	sov_jq_watch_bind(NULL);
	atomic_store(&stop_dog, 1);
	pthread_join(tid, NULL);
	sov_jq_watch_free(watch);
	sov_jq_free(spin);
	sov_jq_free(sum);
	test_watchdog();
	return done_testing();
}
