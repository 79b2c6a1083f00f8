/*
 * fuzz_backup_snapshot_config.c - libFuzzer target for the small JSON
 * objects of a repository: snapshots, the config, and locks.
 *
 * Their validators (snapshot_valid and parse_config in repo.c,
 * holder_parse in lock.c) are static, so they are reached the way the
 * tool reaches them: through a scratch repository made once by
 * bk_repo_init (a throwaway password, SOV_BACKUP_INSECURE_TEST_KDF=1) in
 * $TMPDIR/sov-fuzz-snap.XXXXXX (under /dev/shm when there is one: puts
 * fsync), removed at exit. The first input byte picks what the rest is:
 *
 *   byte % 3 == 0  snapshots: up to SNAP_MAX JSON texts separated by 0x1E
 *                  (RFC 7464's record separator), each sealed and put
 *                  under snapshots/ID; then bk_repo_snapshots and
 *                  bk_repo_find_snapshot ("latest", ids, prefixes).
 *   byte % 3 == 1  config: sealed and put as "config"; then bk_repo_open,
 *                  and the chunker run with the sizes it accepted.
 *   byte % 3 == 2  a lock object, plaintext, put under locks/; then
 *                  bk_lock_acquire (exclusive when (byte / 3) is odd;
 *                  tries once) and bk_lock_remove_stale. A live-looking
 *                  lock for this host names a PID that kill(PID, 0)
 *                  probes: signal 0 sends nothing.
 *
 * libsodium's random source is replaced by a generator reset for every
 * input, so nonces, and with them the snapshot ids (names are hashes of
 * the sealed bytes) and their order, are the same on every run.
 *
 * Checks: accepted snapshots come back with their ids, sorted by time
 * then id, and each is found by its id; refusals name the object
 * ("snapshots/ID: ...", "config: ..."); an accepted config has chunker
 * sizes the chunker takes, and its cuts stay within them; a lock is
 * either taken and released or refused as held.
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "chunker.h"
#include "jsonl.h"
#include "lock.h"
#include "repo.h"
#include "timestamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SNAPSHOT_AD "sov-backup snapshot v1"
#define CONFIG_AD "sov-backup config v1"
#define PASSWORD "fuzz-password"
#define SNAP_MAX 8
#define SEP 0x1e
#define LOCK_NAME                                                              \
	"locks/"                                                               \
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
/* Bytes the chunker runs over with a config's sizes. */
#define CHUNK_BUF (256u << 10)

static struct bk_repo *repo;
static char dir[4096];
static unsigned char *chunk_buf;

/* ---- a deterministic random source for libsodium ---- */

static uint64_t rng_state;

static uint64_t
rng_next(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static const char *
rng_name(void)
{
	return "sov-fuzz-deterministic";
}

static uint32_t
rng_random(void)
{
	return (uint32_t)rng_next();
}

static void
rng_buf(void *const buf, const size_t n)
{
	unsigned char *p = buf;

	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = rng_next();
		size_t m = n - i < 8 ? n - i : 8;

		memcpy(p + i, &v, m);
	}
}

static struct randombytes_implementation rng_impl = {
    .implementation_name = rng_name,
    .random = rng_random,
    .buf = rng_buf,
};

/* ---- the scratch repository ---- */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
cleanup(void)
{
	bk_repo_close(repo);
	repo = NULL;
	free(chunk_buf);
	chunk_buf = NULL;
	if (dir[0])
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
setup(void)
{
	const char *t = getenv("TMPDIR");
	struct sov_err e;
	int n;

	if (randombytes_set_implementation(&rng_impl) != 0 ||
	    setenv("SOV_BACKUP_INSECURE_TEST_KDF", "1", 1) != 0)
		__builtin_trap();
	if (access("/dev/shm", W_OK) == 0)
		t = "/dev/shm";
	else if (!t || !*t)
		t = "/tmp";
	n = snprintf(dir, sizeof(dir), "%s/sov-fuzz-snap.XXXXXX", t);
	if (n < 0 || (size_t)n >= sizeof(dir) || !mkdtemp(dir))
		__builtin_trap();
	atexit(cleanup);
	repo = bk_repo_init(dir, (const unsigned char *)PASSWORD,
			    strlen(PASSWORD), &e);
	if (!repo || !(chunk_buf = malloc(CHUNK_BUF)))
		__builtin_trap();
	for (size_t i = 0; i < CHUNK_BUF; i++)
		chunk_buf[i] = (unsigned char)((i * 2654435761u) >> 13);
}

/* A refusal: a known code, and a message naming what. */
static void
check_err(const struct sov_err *e, const char *what)
{
	if (e->msg[0] == '\0')
		__builtin_trap();
	if (e->code == SOV_EXIT_TEMPFAIL)
		return;
	if ((e->code != SOV_EXIT_FAIL && e->code != SOV_EXIT_USAGE) ||
	    (what && !strstr(e->msg, what)))
		__builtin_trap();
}

/* Seal and put plain under dir/ ("snapshots") or as name ("config"). */
static void
put_sealed(const char *name, const char *ad, const void *plain, size_t len,
	   char hex[BK_ID_HEX_LEN])
{
	unsigned char *s = malloc(len + BK_SEAL_OVERHEAD), id[BK_ID_LEN];
	char full[BK_NAME_MAX];
	struct sov_err e;
	int n;

	if (!s)
		__builtin_trap();
	bk_seal(repo->keys, ad, strlen(ad), plain, len, s);
	if (hex) {
		bk_storage_id(s, len + BK_SEAL_OVERHEAD, id);
		bk_hex(id, hex);
		n = snprintf(full, sizeof(full), "%s/%s", name, hex);
		if (n < 0 || (size_t)n >= sizeof(full))
			__builtin_trap();
		name = full;
	}
	if (bk_put(repo->be, name, s, len + BK_SEAL_OVERHEAD, &e) < 0)
		__builtin_trap();
	free(s);
}

static const char *
member(jv o, const char *key, jv *hold)
{
	*hold = jv_object_get(jv_copy(o), jv_string(key));
	return jv_get_kind(*hold) == JV_KIND_STRING ? jv_string_value(*hold)
						    : NULL;
}

/* bk_repo_find_snapshot(which) is want (or, want invalid, an error). */
static void
find(const char *which, jv want)
{
	struct sov_err e;
	jv got;

	sov_err_clear(&e);
	got = bk_repo_find_snapshot(repo, which, &e);
	if (jv_is_valid(want)) {
		if (!jv_is_valid(got) || !jv_equal(got, want))
			__builtin_trap();
		return;
	}
	if (jv_is_valid(got) || e.code != SOV_EXIT_USAGE ||
	    !strstr(e.msg, which))
		__builtin_trap();
	jv_free(got);
	jv_free(want);
}

static void
mode_snapshots(const uint8_t *data, size_t size)
{
	char names[SNAP_MAX][BK_ID_HEX_LEN], full[BK_NAME_MAX];
	struct sov_err e;
	size_t start = 0, nsnap = 0;
	int n;
	jv all;

	while (start < size) {
		const uint8_t *sep = memchr(data + start, SEP, size - start);
		size_t end =
		    sep && nsnap + 1 < SNAP_MAX ? (size_t)(sep - data) : size;

		put_sealed("snapshots", SNAPSHOT_AD, data + start, end - start,
			   names[nsnap++]);
		start = end + 1;
	}
	sov_err_clear(&e);
	all = bk_repo_snapshots(repo, &e);
	if (!jv_is_valid(all)) {
		check_err(&e, "snapshots/");
		jv_free(all);
		goto out;
	}
	n = jv_array_length(jv_copy(all));
	if ((size_t)n != nsnap)
		__builtin_trap();
	for (int i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(all), i), h1, h2, h3, h4;
		const char *id = member(s, "id", &h1);
		const char *tm = member(s, "time", &h2);
		int known = 0;

		if (!id || !tm || !member(s, "host", &h3) ||
		    !member(s, "tree", &h4))
			__builtin_trap();
		for (size_t j = 0; j < nsnap; j++)
			known |= strcmp(names[j], id) == 0;
		if (!known)
			__builtin_trap();
		if (i > 0) { /* oldest first; ties by id */
			jv p = jv_array_get(jv_copy(all), i - 1), g1, g2;
			const char *pid = member(p, "id", &g1);
			const char *ptm = member(p, "time", &g2);
			int64_t pms = 0, ms = 0;
			int c;

			/* By the instant, as the repository sorts: one
			 * instant may be written in several ways. */
			if (sov_time_parse(ptm, &pms, NULL) < 0 ||
			    sov_time_parse(tm, &ms, NULL) < 0)
				__builtin_trap();
			c = (pms > ms) - (pms < ms);

			if (c > 0 || (c == 0 && strcmp(pid, id) >= 0))
				__builtin_trap();
			jv_free(g1);
			jv_free(g2);
			jv_free(p);
		}
		/* Found by its id; by a short prefix when unique. */
		if (i == 0 || i == n - 1) {
			char pre[5];

			find(id, jv_copy(s));
			memcpy(pre, id, 4);
			pre[4] = '\0';
			int shared = 0;

			for (size_t j = 0; j < nsnap; j++)
				shared += strncmp(names[j], pre, 4) == 0;
			find(pre, shared == 1 ? jv_copy(s) : jv_invalid());
		}
		jv_free(h1);
		jv_free(h2);
		jv_free(h3);
		jv_free(h4);
		jv_free(s);
	}
	find("latest", n ? jv_array_get(jv_copy(all), n - 1) : jv_invalid());
	/* Not an id; and a prefix no snapshot has. */
	find("zz", jv_invalid());
	for (unsigned p = 0; p < 0x10000; p++) {
		char pre[5];
		int used = 0;

		if (snprintf(pre, sizeof(pre), "%04x", p) != 4)
			__builtin_trap();
		for (size_t j = 0; j < nsnap; j++)
			used |= strncmp(names[j], pre, 4) == 0;
		if (!used) {
			find(pre, jv_invalid());
			break;
		}
	}
	jv_free(all);
out:
	for (size_t j = 0; j < nsnap; j++) {
		n = snprintf(full, sizeof(full), "snapshots/%s", names[j]);
		if (n < 0 || (size_t)n >= sizeof(full) ||
		    bk_remove(repo->be, full, &e) < 0)
			__builtin_trap();
	}
}

/* The chunker with sizes a config gave: cuts within them. */
static void
run_chunker(const struct bk_keys *k, const struct bk_chunk_params *p)
{
	struct bk_chunker ck;
	struct sov_err e;
	size_t off = 0;

	if (p->min < BK_CHUNK_MIN_LIMIT || p->min > p->avg || p->avg > p->max ||
	    (p->avg & (p->avg - 1)) != 0 || p->max > BK_CHUNK_MAX_LIMIT)
		__builtin_trap();
	if (bk_chunker_init(&ck, k->chunker, p, &e) < 0)
		__builtin_trap();
	while (off < CHUNK_BUF) {
		size_t left = CHUNK_BUF - off;
		size_t cut = bk_chunker_next(&ck, chunk_buf + off, left, 1);

		if (cut == 0 || cut > left || cut > p->max ||
		    (cut < p->min && cut != left))
			__builtin_trap();
		off += cut;
	}
	sodium_memzero(&ck, sizeof(ck));
}

static void
mode_config(const uint8_t *data, size_t size)
{
	struct bk_repo *r;
	struct sov_err e;

	put_sealed("config", CONFIG_AD, data, size, NULL);
	sov_err_clear(&e);
	r = bk_repo_open(dir, (const unsigned char *)PASSWORD, strlen(PASSWORD),
			 &e);
	if (!r) {
		check_err(&e, "config");
		return;
	}
	if (jv_get_kind(r->config) != JV_KIND_OBJECT)
		__builtin_trap();
	run_chunker(r->keys, &r->files);
	run_chunker(r->keys, &r->pages);
	bk_repo_close(r);
}

static void
mode_lock(int exclusive, const uint8_t *data, size_t size)
{
	struct bk_lock *l;
	struct sov_err e;
	int removed = -1;

	if (bk_put(repo->be, LOCK_NAME, data, size, &e) < 0)
		__builtin_trap();
	sov_err_clear(&e);
	l = bk_lock_acquire(repo->be, exclusive, "fuzz", 0, &e);
	if (l) {
		if (bk_lock_lost(l) || bk_lock_release(l, &e) < 0)
			__builtin_trap();
	} else {
		/* Held: "repository DIR: locked ... (locks/ID)" or
		 * "unreadable lock locks/ID ..."; too large to read: an
		 * error naming it. */
		if (!strstr(e.msg, LOCK_NAME) ||
		    e.code != (size > BK_LOCK_MAX_BYTES ? SOV_EXIT_FAIL
							: SOV_EXIT_TEMPFAIL))
			__builtin_trap();
	}
	sov_err_clear(&e);
	if (bk_lock_remove_stale(repo->be, 0, &removed, &e) < 0) {
		if (size <= BK_LOCK_MAX_BYTES || !strstr(e.msg, LOCK_NAME))
			__builtin_trap();
	} else if (removed < 0 || removed > 1) {
		__builtin_trap();
	}
	if (bk_remove(repo->be, LOCK_NAME, &e) < 0)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!repo)
		setup();
	rng_state = UINT64_C(0x5eed);
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		mode_snapshots(data + 1, size - 1);
		break;
	case 1:
		mode_config(data + 1, size - 1);
		break;
	default:
		mode_lock((data[0] / 3) & 1, data + 1, size - 1);
		break;
	}
	return 0;
}
