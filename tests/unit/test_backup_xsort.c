/*
 * test_backup_xsort.c - tools/sov-backup/xsort.c: records come back sorted,
 * all of them, whether they fitted in memory or were merged from many runs
 * on disk; the runs live in an unlinked file in $TMPDIR; misuse and a
 * TMPDIR that cannot hold a file are clear errors.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "xsort.h"

/* A prune-sized record: a key and a payload that must travel with it. */
struct rec {
	uint64_t key;
	uint32_t seq; /* order of insertion */
	unsigned char pad[44];
};

static int
cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static uint64_t rng = 88172645463325252ull;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
fill(struct rec *r, uint32_t seq, uint64_t keyspace)
{
	memset(r, 0, sizeof(*r));
	r->key = next_rand() % keyspace;
	r->seq = seq;
	memset(r->pad, (int)(r->key * 7 + seq), sizeof(r->pad));
}

/* Files in dir, not counting . and .. */
static int
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/*
 * Sort n records with this memory and read them back: in order, every one,
 * payload intact (sum of seqs and of a payload byte match what went in).
 */
static void
round_trip(const char *label, size_t n, size_t mem, uint64_t keyspace,
	   size_t want_runs_min, size_t want_runs_max)
{
	struct sov_err e = {0};
	struct bk_xsort *s = bk_xsort_new(sizeof(struct rec), cmp_rec, mem, &e);
	struct rec r, prev;
	uint64_t sum_in = 0, sum_out = 0, got = 0;
	int sorted = 1, payload = 1, k = 0;

	ok(s != NULL, "%s: new", label);
	if (!s)
		return;
	for (size_t i = 0; i < n; i++) {
		fill(&r, (uint32_t)i, keyspace);
		sum_in += r.seq + r.key;
		if (bk_xsort_add(s, &r, &e) < 0)
			break;
	}
	is_int(bk_xsort_count(s), n, "%s: counted", label);
	is_int(bk_xsort_finish(s, &e), 0, "%s: finish", label);
	ok(bk_xsort_runs(s) >= want_runs_min &&
	       bk_xsort_runs(s) <= want_runs_max,
	   "%s: %zu runs on disk (want %zu..%zu)", label, bk_xsort_runs(s),
	   want_runs_min, want_runs_max);
	while ((k = bk_xsort_next(s, &r, &e)) == 1) {
		if (got && cmp_rec(&prev, &r) > 0)
			sorted = 0;
		if (r.pad[0] != (unsigned char)(r.key * 7 + r.seq) ||
		    r.pad[43] != r.pad[0])
			payload = 0;
		sum_out += r.seq + r.key;
		prev = r;
		got++;
	}
	is_int(k, 0, "%s: ends cleanly", label);
	is_int(got, n, "%s: every record back", label);
	ok(sorted, "%s: in order", label);
	ok(payload, "%s: payloads intact", label);
	ok(sum_in == sum_out, "%s: the same records", label);
	is_int(bk_xsort_next(s, &r, &e), 0, "%s: still the end", label);
	bk_xsort_free(s);
}

static void
test_errors(const char *tmp)
{
	struct sov_err e = {0};
	struct bk_xsort *s;
	struct rec r;
	char gone[4200];

	ok(bk_xsort_new(0, cmp_rec, 0, &e) == NULL,
	   "a record of 0 bytes is refused");
	ok(bk_xsort_new(BK_XSORT_REC_MAX + 1, cmp_rec, 0, &e) == NULL,
	   "a record over the maximum is refused");

	s = bk_xsort_new(sizeof(r), cmp_rec, 0, &e);
	fill(&r, 0, 10);
	is_int(bk_xsort_next(s, &r, &e), -1, "next before finish: error");
	is_int(bk_xsort_add(s, &r, &e), 0, "add");
	is_int(bk_xsort_finish(s, &e), 0, "finish");
	is_int(bk_xsort_add(s, &r, &e), -1, "add after finish: error");
	like(e.msg, "after finish", "... says so");
	bk_xsort_free(s);

	/* A TMPDIR that does not exist: fine while it fits in memory, a
	 * clear error naming the directory once a run must go to disk. */
	snprintf(gone, sizeof(gone), "%s/does-not-exist", tmp);
	setenv("TMPDIR", gone, 1);
	s = bk_xsort_new(sizeof(r), cmp_rec, BK_XSORT_MEM_MIN, &e);
	{
		int rc = 0;
		size_t i;

		for (i = 0; i < 100000 && rc == 0; i++) {
			fill(&r, (uint32_t)i, 1000);
			rc = bk_xsort_add(s, &r, &e);
		}
		is_int(rc, -1, "TMPDIR missing: the first spill fails");
		ok(i > BK_XSORT_MEM_MIN / sizeof(r),
		   "... only once the buffer is full (%zu records)", i);
		like(e.msg, gone, "... naming the directory");
		is_int(e.code, SOV_EXIT_FAIL,
		       "... exit 1: retrying will not help");
	}
	bk_xsort_free(s);
	setenv("TMPDIR", tmp, 1);
	bk_xsort_free(NULL);
}

int
main(void)
{
	char tmp[] = "/tmp/test_xsort.XXXXXX";
	size_t per_run = BK_XSORT_MEM_MIN / sizeof(struct rec);

	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 2;
	}
	setenv("TMPDIR", tmp, 1);

	round_trip("empty", 0, 0, 10, 0, 0);
	round_trip("one", 1, 0, 10, 0, 0);
	round_trip("fits in memory", BK_XSORT_MEM / sizeof(struct rec) - 1, 0,
		   1u << 30, 0, 0);
	round_trip("exactly one buffer", per_run, BK_XSORT_MEM_MIN, 1000, 0, 0);
	round_trip("one over a buffer", per_run + 1, BK_XSORT_MEM_MIN, 1000, 2,
		   2);
	/* many runs, and many equal keys across runs */
	round_trip("many runs, duplicates", 50000, BK_XSORT_MEM_MIN, 97,
		   50000 / per_run, 50000 / per_run + 1);
	/* more runs than the budget has read buffers for: each gets the
	 * minimum */
	round_trip("runs past the budget", 200000, BK_XSORT_MEM_MIN, 1u << 20,
		   200000 / per_run, 200000 / per_run + 1);
	is_int(count_files(tmp), 0,
	       "the run file is unlinked: TMPDIR stays empty");
	test_errors(tmp);
	is_int(count_files(tmp), 0, "nothing left in TMPDIR after errors");
	rmdir(tmp);
	return done_testing();
}
