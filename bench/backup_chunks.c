/*
 * backup_chunks.c - the chunk-size study behind BK_CHUNK_FILES and
 * BK_CHUNK_PAGES (docs/backup-chunking.md). Built and run by
 * bench/backup-chunks.sh.
 *
 *   backup_chunks sqlite DIR        write DIR/v1.db (a shop database) and
 *                                   two second versions with 1% of rows
 *                                   updated in place: DIR/v2-uniform.db
 *                                   (rows anywhere), DIR/v2-recent.db (rows
 *                                   among the newest 5%); and of each a
 *                                   text dump in id order, DIR/NAME.db.dump
 *   backup_chunks dedup OLD NEW [OLD NEW]...
 *                                   per candidate (min, avg, max): chunks,
 *                                   mean size, bytes of NEW in chunks that
 *                                   OLD does not have, compressed, and a
 *                                   metadata estimate; summed over pairs
 *   backup_chunks speed [FILE]      chunking throughput per candidate, on
 *                                   256 MiB of random bytes (or FILE)
 *
 * Chunks are compared by BLAKE2b-256 of their bytes. The new chunks are
 * also compressed one by one as the repository stores them (zstd level 3,
 * kept raw unless that saves 1/64, as pack.h does): a small chunk gives
 * zstd less context, so "zstd MB" is what a candidate really costs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>
#include <zstd.h>

#include "chunker.h"

#define FILE_CAP (2ull << 30) /* largest input the study reads */
#define SPEED_BYTES (256u << 20)
#define SPEED_RUNS 5 /* best of: the machine may be shared */
#define HASH_LEN 32
#define PAGE 4096
/*
 * Metadata a chunk costs in the format (pack.h, index.h, crypto.h): a new
 * blob has a pack header entry (48), nonce and tag (40) and an index entry
 * (48); every chunk of a changed file is referenced again by its tree node
 * (a 64-hex id in JSON, about 67 bytes before compression).
 */
#define META_NEW_CHUNK (48 + 40 + 48)
#define META_REF 67
#define ZSTD_LEVEL 3

struct cand {
	const char *name;
	struct bk_chunk_params p;
};

#define K 1024u
#define M (1024u * 1024u)
static const struct cand cands[] = {
    {"4K/16K/64K", {4 * K, 16 * K, 64 * K}},
    {"8K/32K/128K", {8 * K, 32 * K, 128 * K}},
    {"16K/64K/256K", {16 * K, 64 * K, 256 * K}},
    {"32K/64K/256K", {32 * K, 64 * K, 256 * K}},
    {"32K/128K/512K", {32 * K, 128 * K, 512 * K}},
    {"64K/256K/1M", {64 * K, 256 * K, 1 * M}},
    {"256K/1M/8M", {256 * K, 1 * M, 8 * M}},
    {"512K/1M/8M", {512 * K, 1 * M, 8 * M}},
    {"1M/2M/16M", {1 * M, 2 * M, 16 * M}},
    {"2M/4M/16M", {2 * M, 4 * M, 16 * M}},
};
#define NCANDS (sizeof(cands) / sizeof(cands[0]))

/* A fixed seed: the study must be repeatable. */
static const unsigned char seed[BK_CHUNKER_SEED_LEN] =
    "sov-backup chunk-size study 01";

static int
read_file(const char *path, unsigned char **out, size_t *len)
{
	struct stat st;
	unsigned char *b = NULL;
	size_t got = 0;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "backup_chunks: open %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > FILE_CAP) {
		fprintf(stderr, "backup_chunks: %s: unreadable or over %llu\n",
			path, (unsigned long long)FILE_CAP);
		goto out;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b)
		goto out;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "backup_chunks: read %s: %s\n", path,
				n < 0 ? strerror(errno) : "short");
			goto out;
		}
		got += (size_t)n;
	}
	*out = b;
	*len = got;
	b = NULL;
	rc = 0;
out:
	free(b);
	close(fd);
	return rc;
}

struct chunk {
	unsigned char h[HASH_LEN];
	uint32_t len;
	size_t off;
};

static int
cmp_chunk(const void *a, const void *b)
{
	return memcmp(((const struct chunk *)a)->h,
		      ((const struct chunk *)b)->h, HASH_LEN);
}

/* Chunk and hash buf; *out malloc'ed, sorted by hash. */
static int
chunk_list(const struct bk_chunker *c, const unsigned char *buf, size_t len,
	   struct chunk **out, size_t *n)
{
	size_t cap = len / c->p.min + 2, k = 0, off = 0;
	struct chunk *v = malloc(cap * sizeof(*v));

	if (!v)
		return -1;
	while (off < len) {
		size_t cut = bk_chunker_next(c, buf + off, len - off, 1);
		if (cut == 0 || k == cap) {
			free(v);
			return -1;
		}
		crypto_generichash(v[k].h, HASH_LEN, buf + off, cut, NULL, 0);
		v[k].len = (uint32_t)cut;
		v[k].off = off;
		k++;
		off += cut;
	}
	qsort(v, k, sizeof(*v), cmp_chunk);
	*out = v;
	*n = k;
	return 0;
}

#define MAX_PAIRS 8

struct pair {
	unsigned char *a, *b;
	size_t alen, blen;
};

/* New chunks of one pair for one chunker, added to the sums. */
static int
dedup_pair(const struct bk_chunker *c, const struct pair *pr, ZSTD_CCtx *zc,
	   unsigned char *zbuf, size_t zcap, size_t *nb_sum, size_t *nnew,
	   uint64_t *bnew, uint64_t *znew)
{
	struct chunk *ca = NULL, *cb = NULL;
	size_t na, nb;

	if (chunk_list(c, pr->a, pr->alen, &ca, &na) < 0 ||
	    chunk_list(c, pr->b, pr->blen, &cb, &nb) < 0) {
		free(ca);
		fprintf(stderr, "backup_chunks: out of memory\n");
		return -1;
	}
	for (size_t j = 0; j < nb; j++) {
		if (j > 0 && memcmp(cb[j].h, cb[j - 1].h, HASH_LEN) == 0)
			continue; /* stored once */
		if (bsearch(&cb[j], ca, na, sizeof(*ca), cmp_chunk))
			continue;
		size_t z = ZSTD_compressCCtx(zc, zbuf, zcap, pr->b + cb[j].off,
					     cb[j].len, ZSTD_LEVEL);
		if (ZSTD_isError(z) || z > cb[j].len - cb[j].len / 64)
			z = cb[j].len;
		(*nnew)++;
		*bnew += cb[j].len;
		*znew += z;
	}
	*nb_sum += nb;
	free(ca);
	free(cb);
	return 0;
}

/* argv: OLD NEW [OLD NEW]...; the table sums over the pairs. */
static int
cmd_dedup(int n, char **argv)
{
	struct pair prs[MAX_PAIRS] = {{0}};
	size_t npairs = (size_t)n / 2, pages = 0, diff = 0;
	uint64_t total = 0;
	size_t zcap = ZSTD_compressBound(BK_CHUNK_MAX_LIMIT);
	unsigned char *zbuf = NULL;
	ZSTD_CCtx *zc = NULL;
	int rc = 1;

	if (n % 2 != 0 || npairs == 0 || npairs > MAX_PAIRS) {
		fprintf(stderr, "backup_chunks: dedup takes 1 to %d pairs\n",
			MAX_PAIRS);
		return 2;
	}
	for (size_t k = 0; k < npairs; k++) {
		struct pair *pr = &prs[k];
		size_t d = 0, pg = 0;

		if (read_file(argv[2 * k], &pr->a, &pr->alen) < 0 ||
		    read_file(argv[2 * k + 1], &pr->b, &pr->blen) < 0)
			goto out;
		/* What ideal page-aligned dedup would store: changed pages. */
		for (size_t off = 0; off < pr->blen; off += PAGE, pg++) {
			size_t m =
			    pr->blen - off < PAGE ? pr->blen - off : PAGE;
			if (off + m > pr->alen ||
			    memcmp(pr->a + off, pr->b + off, m) != 0)
				d++;
		}
		printf("%s -> %s: %.1f MB -> %.1f MB, %zu of %zu 4 KiB pages "
		       "differ (%.1f MB)\n",
		       argv[2 * k], argv[2 * k + 1], pr->alen / 1e6,
		       pr->blen / 1e6, d, pg, d * (double)PAGE / 1e6);
		pages += pg;
		diff += d;
		total += pr->blen;
	}
	if (npairs > 1)
		printf("sums over the %zu pairs: %.1f MB, %zu of %zu pages "
		       "differ\n",
		       npairs, total / 1e6, diff, pages);
	zbuf = malloc(zcap);
	zc = ZSTD_createCCtx();
	if (!zbuf || !zc)
		goto out;
	printf("%-14s %7s %8s %8s %8s %7s %8s %8s %9s\n", "min/avg/max",
	       "chunks", "mean KiB", "new chks", "new MB", "new %", "zstd MB",
	       "meta KB", "total MB");
	for (size_t i = 0; i < NCANDS; i++) {
		struct bk_chunker c;
		struct sov_err e;
		size_t nb = 0, nnew = 0;
		uint64_t bnew = 0, znew = 0;

		if (bk_chunker_init(&c, seed, &cands[i].p, &e) < 0) {
			fprintf(stderr, "backup_chunks: %s\n", e.msg);
			goto out;
		}
		for (size_t k = 0; k < npairs; k++)
			if (dedup_pair(&c, &prs[k], zc, zbuf, zcap, &nb, &nnew,
				       &bnew, &znew) < 0)
				goto out;
		double meta =
		    (double)nnew * META_NEW_CHUNK + (double)nb * META_REF;
		printf(
		    "%-14s %7zu %8.1f %8zu %8.2f %6.2f%% %8.2f %8.1f %9.2f\n",
		    cands[i].name, nb, (double)total / (double)nb / 1024, nnew,
		    bnew / 1e6, 100.0 * (double)bnew / (double)total,
		    znew / 1e6, meta / 1e3, (znew + meta) / 1e6);
	}
	rc = 0;
out:
	ZSTD_freeCCtx(zc);
	free(zbuf);
	for (size_t k = 0; k < npairs; k++) {
		free(prs[k].a);
		free(prs[k].b);
	}
	return rc;
}

static double
now(void)
{
	struct timespec t;

	/* CPU time of this thread: a shared machine's other jobs do not
	 * count against the chunker. */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int
cmd_speed(const char *path)
{
	unsigned char *b = NULL;
	size_t len;
	uint64_t x = 0x2545f4914f6cdd1dull;

	if (path) {
		if (read_file(path, &b, &len) < 0)
			return 1;
	} else {
		len = SPEED_BYTES;
		b = malloc(len);
		if (!b)
			return 1;
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			b[i] = (unsigned char)(x >> 32);
		}
	}
	printf("chunking %s, %.0f MB in memory, MB per CPU second, best of "
	       "%d\n",
	       path ? path : "random bytes", len / 1e6, SPEED_RUNS);
	printf("%-14s %8s %10s %10s\n", "min/avg/max", "chunks", "MB/s",
	       "hashed MB/s");
	for (size_t i = 0; i < NCANDS; i++) {
		struct bk_chunker c;
		struct sov_err e;
		double best = 1e9;
		size_t nc = 0, skipped = 0;

		if (bk_chunker_init(&c, seed, &cands[i].p, &e) < 0) {
			fprintf(stderr, "backup_chunks: %s\n", e.msg);
			free(b);
			return 1;
		}
		for (int r = 0; r < SPEED_RUNS; r++) {
			double t0 = now();
			size_t off = 0;
			nc = 0;
			skipped = 0;
			while (off < len) {
				size_t cut =
				    bk_chunker_next(&c, b + off, len - off, 1);
				skipped += cut < c.p.min ? cut : c.p.min;
				off += cut;
				nc++;
			}
			double t = now() - t0;
			if (t < best)
				best = t;
		}
		/* "hashed": only the bytes the gear hash saw (min skipped). */
		printf("%-14s %8zu %10.0f %10.0f\n", cands[i].name, nc,
		       len / best / 1e6, (len - skipped) / best / 1e6);
	}
	free(b);
	return 0;
}

/* ---- the SQLite shop database ---- */

#define ORDERS 450000
#define CUSTOMERS 60000
#define RECENT_SHARE 20 /* v2-recent: rows among the newest 1/20 */

static const char *const words[] = {
    "delivery", "invoice",  "express",   "fragile", "gift",     "wrap",
    "return",   "customer", "called",    "asked",   "about",    "the",
    "parcel",   "address",  "changed",   "please",  "ring",     "bell",
    "leave",    "with",     "neighbour", "door",    "code",     "office",
    "hours",    "morning",  "evening",   "weekend", "discount", "applied",
    "coupon",   "spring",   "summer",    "winter",  "sale",     "item",
    "replaced", "colour",   "size",      "large",   "small",    "blue",
    "green",    "red",      "black",     "white",   "cotton",   "wool",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))
static const char *const statuses[] = {"new",     "paid",      "packed",
				       "shipped", "delivered", "returned"};

static uint64_t sq_rng = 42;

static uint64_t
rnd(void)
{
	sq_rng ^= sq_rng << 13;
	sq_rng ^= sq_rng >> 7;
	sq_rng ^= sq_rng << 17;
	return sq_rng;
}

static void
words_into(char *s, size_t cap, unsigned n)
{
	size_t off = 0;

	s[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		int w = snprintf(s + off, cap - off, "%s%s", i ? " " : "",
				 words[rnd() % NWORDS]);
		if (w < 0 || (size_t)w >= cap - off)
			break;
		off += (size_t)w;
	}
}

static int
exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "backup_chunks: sqlite: %s: %s\n", sql,
			msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
step_reset(sqlite3 *db, sqlite3_stmt *st)
{
	int r = sqlite3_step(st);

	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		fprintf(stderr, "backup_chunks: sqlite: %s\n",
			sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

static int
make_v1(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *cu = NULL, *od = NULL;
	char note[256], name[64], buf[64];
	int rc = -1;

	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		goto out;
	if (exec(db,
		 "PRAGMA synchronous=OFF; BEGIN;"
		 "CREATE TABLE customers (id INTEGER PRIMARY KEY, name "
		 "TEXT, email TEXT UNIQUE, city TEXT, created TEXT);"
		 "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id "
		 "INTEGER, created TEXT, status TEXT, total_cents INTEGER, "
		 "note TEXT);"
		 "CREATE INDEX orders_customer ON orders(customer_id);"
		 "CREATE INDEX orders_status ON orders(status, created);") < 0)
		goto out;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO customers VALUES (?1, ?2, ?3, ?4, "
			       "?5)",
			       -1, &cu, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "INSERT INTO orders VALUES (?1, ?2, ?3, ?4, ?5, "
			       "?6)",
			       -1, &od, NULL) != SQLITE_OK)
		goto out;
	for (int i = 1; i <= CUSTOMERS; i++) {
		words_into(name, sizeof(name), 2);
		snprintf(buf, sizeof(buf), "c%d.%llx@example.org", i,
			 (unsigned long long)(rnd() & 0xffffff));
		sqlite3_bind_int(cu, 1, i);
		sqlite3_bind_text(cu, 2, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(cu, 3, buf, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(cu, 4, words[rnd() % NWORDS], -1,
				  SQLITE_STATIC);
		snprintf(buf, sizeof(buf), "2025-%02d-%02dT%02d:%02d:00Z",
			 1 + i * 12 / (CUSTOMERS + 1), 1 + (int)(rnd() % 28),
			 (int)(rnd() % 24), (int)(rnd() % 60));
		sqlite3_bind_text(cu, 5, buf, -1, SQLITE_TRANSIENT);
		if (step_reset(db, cu) < 0)
			goto out;
	}
	for (int i = 1; i <= ORDERS; i++) {
		words_into(note, sizeof(note), 4 + (unsigned)(rnd() % 20));
		sqlite3_bind_int(od, 1, i);
		sqlite3_bind_int(od, 2, 1 + (int)(rnd() % CUSTOMERS));
		snprintf(buf, sizeof(buf), "2026-%02d-%02dT%02d:%02d:%02dZ",
			 1 + i * 11 / (ORDERS + 1), 1 + (int)(rnd() % 28),
			 (int)(rnd() % 24), (int)(rnd() % 60),
			 (int)(rnd() % 60));
		sqlite3_bind_text(od, 3, buf, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(od, 4, statuses[rnd() % 6], -1,
				  SQLITE_STATIC);
		sqlite3_bind_int(od, 5, (int)(rnd() % 100000));
		sqlite3_bind_text(od, 6, note, -1, SQLITE_TRANSIENT);
		if (step_reset(db, od) < 0)
			goto out;
	}
	if (exec(db, "COMMIT;") < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0 && db)
		fprintf(stderr, "backup_chunks: %s: %s\n", path,
			sqlite3_errmsg(db));
	sqlite3_finalize(cu);
	sqlite3_finalize(od);
	if (sqlite3_close(db) != SQLITE_OK)
		rc = -1;
	return rc;
}

static int
copy_file(const char *from, const char *to)
{
	unsigned char *b = NULL;
	size_t len;
	FILE *f;
	int rc = -1;

	if (read_file(from, &b, &len) < 0)
		return -1;
	f = fopen(to, "wb");
	if (f && fwrite(b, 1, len, f) == len)
		rc = 0;
	if (f && fclose(f) != 0)
		rc = -1;
	free(b);
	return rc;
}

/*
 * 1% of the rows of each table updated in place (an order's status, total
 * and note; a customer's city), rows drawn from all ids, or with recent
 * from the newest 1/RECENT_SHARE of them.
 */
static int
make_v2(const char *v1, const char *path, int recent)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *uo = NULL, *uc = NULL;
	char note[256];
	int rc = -1;
	int olo = recent ? ORDERS - ORDERS / RECENT_SHARE : 1;
	int clo = recent ? CUSTOMERS - CUSTOMERS / RECENT_SHARE : 1;

	if (copy_file(v1, path) < 0 || sqlite3_open(path, &db) != SQLITE_OK)
		goto out;
	if (exec(db, "PRAGMA synchronous=OFF; BEGIN;") < 0)
		goto out;
	if (sqlite3_prepare_v2(db,
			       "UPDATE orders SET status = ?2, total_cents = "
			       "total_cents + 1, note = ?3 WHERE id = ?1",
			       -1, &uo, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "UPDATE customers SET city = ?2 WHERE id = ?1",
			       -1, &uc, NULL) != SQLITE_OK)
		goto out;
	for (int i = 0; i < ORDERS / 100; i++) {
		int id = olo + (int)(rnd() % (uint64_t)(ORDERS - olo + 1));
		words_into(note, sizeof(note), 4 + (unsigned)(rnd() % 20));
		sqlite3_bind_int(uo, 1, id);
		sqlite3_bind_text(uo, 2, statuses[rnd() % 6], -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(uo, 3, note, -1, SQLITE_TRANSIENT);
		if (step_reset(db, uo) < 0)
			goto out;
	}
	for (int i = 0; i < CUSTOMERS / 100; i++) {
		int id = clo + (int)(rnd() % (uint64_t)(CUSTOMERS - clo + 1));
		sqlite3_bind_int(uc, 1, id);
		sqlite3_bind_text(uc, 2, words[rnd() % NWORDS], -1,
				  SQLITE_STATIC);
		if (step_reset(db, uc) < 0)
			goto out;
	}
	if (exec(db, "COMMIT;") < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "backup_chunks: %s: %s\n", path,
			db ? sqlite3_errmsg(db) : "cannot copy");
	sqlite3_finalize(uo);
	sqlite3_finalize(uc);
	if (sqlite3_close(db) != SQLITE_OK)
		rc = -1;
	return rc;
}

/*
 * A text dump of a database, rows in id order, tab-separated like the
 * COPY data of a plain pg_dump: a stream where an edited row shifts every
 * byte after it.
 */
static int
dump_db(const char *dbpath, const char *out)
{
	static const char *const q[] = {
	    "SELECT id, name, email, city, created FROM customers ORDER BY id",
	    "SELECT id, customer_id, created, status, total_cents, note FROM "
	    "orders ORDER BY id",
	};
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	FILE *f = NULL;
	int rc = -1, r;

	if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		goto out;
	f = fopen(out, "w");
	if (!f)
		goto out;
	for (size_t t = 0; t < 2; t++) {
		if (sqlite3_prepare_v2(db, q[t], -1, &st, NULL) != SQLITE_OK)
			goto out;
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			int n = sqlite3_column_count(st);
			for (int i = 0; i < n; i++) {
				const unsigned char *v =
				    sqlite3_column_text(st, i);
				fprintf(f, "%s%s", v ? (const char *)v : "\\N",
					i + 1 < n ? "\t" : "\n");
			}
		}
		if (r != SQLITE_DONE)
			goto out;
		sqlite3_finalize(st);
		st = NULL;
		fprintf(f, "\\.\n");
	}
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "backup_chunks: dump %s: %s\n", dbpath,
			db ? sqlite3_errmsg(db) : "cannot open");
	sqlite3_finalize(st);
	if (f && fclose(f) != 0)
		rc = -1;
	sqlite3_close(db);
	return rc;
}

static int
cmd_sqlite(const char *dir)
{
	char v1[4096], u[4096], r[4096];

	if ((size_t)snprintf(v1, sizeof(v1), "%s/v1.db", dir) >= sizeof(v1) ||
	    (size_t)snprintf(u, sizeof(u), "%s/v2-uniform.db", dir) >=
		sizeof(u) ||
	    (size_t)snprintf(r, sizeof(r), "%s/v2-recent.db", dir) >=
		sizeof(r)) {
		fprintf(stderr, "backup_chunks: %s: path too long\n", dir);
		return 1;
	}
	if (make_v1(v1) < 0 || make_v2(v1, u, 0) < 0 || make_v2(v1, r, 1) < 0)
		return 1;
	for (int i = 0; i < 3; i++) {
		const char *db = i == 0 ? v1 : i == 1 ? u : r;
		char out[4096 + 8];
		if ((size_t)snprintf(out, sizeof(out), "%s.dump", db) >=
			sizeof(out) ||
		    dump_db(db, out) < 0)
			return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc == 3 && strcmp(argv[1], "sqlite") == 0)
		return cmd_sqlite(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "dedup") == 0)
		return cmd_dedup(argc - 2, argv + 2);
	if ((argc == 2 || argc == 3) && strcmp(argv[1], "speed") == 0)
		return cmd_speed(argc == 3 ? argv[2] : NULL);
	fprintf(stderr, "usage: backup_chunks sqlite DIR | dedup OLD NEW "
			"[OLD NEW]... | speed [FILE]\n");
	return 2;
}
