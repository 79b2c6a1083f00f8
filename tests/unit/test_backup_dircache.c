/*
 * test_backup_dircache.c - tools/sov-backup/dircache.c: the listing sum
 * (every field a node is made of moves it, nothing else does), the file's
 * checks (each damage refused with its reason). Where the cache lives is
 * lib/fs.c's sov_cache_dir, tested in test_fs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "dircache.h"
#include "pack.h"
#include "tap.h"

static void
sum_of(const char *const *names, const struct stat *st, size_t n, int atime,
       unsigned char out[BK_DIRSUM_LEN])
{
	bk_dirsum s;

	bk_dirsum_init(&s);
	for (size_t i = 0; i < n; i++)
		bk_dirsum_add(&s, names[i], &st[i], atime);
	bk_dirsum_final(&s, out);
}

static struct stat
base_stat(void)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0644;
	st.st_uid = 1000;
	st.st_gid = 100;
	st.st_size = 4096;
	st.st_mtim.tv_sec = 1700000000;
	st.st_mtim.tv_nsec = 123;
	st.st_ctim.tv_sec = 1700000001;
	st.st_ctim.tv_nsec = 456;
	st.st_atim.tv_sec = 1700000002;
	st.st_ino = 77;
	st.st_dev = 2049;
	st.st_nlink = 1;
	return st;
}

/* Field which of st changed; its name, or NULL past the last. */
static const char *
change(struct stat *x, int which)
{
	switch (which) {
	case 0:
		x->st_mode = S_IFREG | 0600;
		return "mode";
	case 1:
		x->st_mode = S_IFLNK | 0644;
		return "type";
	case 2:
		x->st_uid = 1001;
		return "uid";
	case 3:
		x->st_gid = 101;
		return "gid";
	case 4:
		x->st_size = 4097;
		return "size";
	case 5:
		x->st_mtim.tv_sec++;
		return "mtime";
	case 6:
		x->st_mtim.tv_nsec++;
		return "mtime's nanoseconds";
	case 7:
		x->st_ctim.tv_sec++;
		return "ctime";
	case 8:
		x->st_ctim.tv_nsec++;
		return "ctime's nanoseconds";
	case 9:
		x->st_ino++;
		return "inode";
	case 10:
		x->st_dev++;
		return "device";
	case 11:
		x->st_nlink++;
		return "link count";
	case 12:
		x->st_rdev++;
		return "rdev";
	default:
		return NULL;
	}
}

static void
test_sum(void)
{
	const char *one[] = {"f"}, *what;
	struct stat b = base_stat(), st;
	unsigned char s0[BK_DIRSUM_LEN], s1[BK_DIRSUM_LEN];
	static const unsigned char zero[BK_DIRSUM_LEN];

	sum_of(one, &b, 1, 0, s0);
	ok(memcmp(s0, zero, sizeof(zero)) != 0, "a sum is never all zero");
	for (int i = 0; st = b, (what = change(&st, i)) != NULL; i++) {
		sum_of(one, &st, 1, 0, s1);
		ok(memcmp(s0, s1, sizeof(s0)) != 0, "the %s moves the sum",
		   what);
	}
	st = b;
	st.st_atim.tv_sec++;
	st.st_blocks = 99;
	st.st_blksize = 512;
	sum_of(one, &st, 1, 0, s1);
	ok(memcmp(s0, s1, sizeof(s0)) == 0,
	   "atime, blocks and block size do not, without --atime");
	sum_of(one, &b, 1, 1, s0);
	sum_of(one, &st, 1, 1, s1);
	ok(memcmp(s0, s1, sizeof(s0)) != 0, "with --atime the atime does");
	{
		const char *ab[] = {"ab", "c"}, *a_bc[] = {"a", "bc"};
		const char *x[] = {"g"}, *two[] = {"f", "g"};
		struct stat pair[2] = {b, b};

		sum_of(ab, pair, 2, 0, s0);
		sum_of(a_bc, pair, 2, 0, s1);
		ok(memcmp(s0, s1, sizeof(s0)) != 0,
		   "names are delimited: ab+c is not a+bc");
		sum_of(one, &b, 1, 0, s0);
		sum_of(x, &b, 1, 0, s1);
		ok(memcmp(s0, s1, sizeof(s0)) != 0, "a rename moves the sum");
		sum_of(two, pair, 2, 0, s1);
		ok(memcmp(s0, s1, sizeof(s0)) != 0, "a new entry moves it");
		sum_of(one, &b, 0, 0, s0);
		ok(memcmp(s0, s1, sizeof(s0)) != 0 &&
		       memcmp(s0, zero, sizeof(zero)) != 0,
		   "an empty directory has a sum of its own");
	}
}

/* A file as dircache.c writes it: nindex index ids, one owner, ndirs
 * directories (path hashes 1, 2, ...), under key. */
static unsigned char *
build(const unsigned char key[BK_KEY_LEN], uint64_t nindex, uint64_t ndirs,
      size_t *lenp)
{
	uint64_t nowners = 1;
	size_t len = 104 + nindex * 32 + nowners * 24 + ndirs * 64 + 32;
	unsigned char *b = calloc(1, len), *p;
	memcpy(b, "SOVBKDC1", 8);
	bk_put_u32(b + 8, 1);
	memset(b + 16, 0xaa, 32); /* snapshot */
	memset(b + 48, 0xbb, 32); /* selection */
	bk_put_u64(b + 80, nindex);
	bk_put_u64(b + 88, nowners);
	bk_put_u64(b + 96, ndirs);
	p = b + 104 + nindex * 32 + nowners * 24;
	for (uint64_t i = 0; i < ndirs; i++)
		p[i * 64 + 15] = (unsigned char)(i + 1);
	crypto_generichash(b + len - 32, 32, b, len - 32, key, BK_KEY_LEN);
	*lenp = len;
	return b;
}

static void
remac(const unsigned char key[BK_KEY_LEN], unsigned char *b, size_t len)
{
	crypto_generichash(b + len - 32, 32, b, len - 32, key, BK_KEY_LEN);
}

static void
test_parse(void)
{
	unsigned char key[BK_KEY_LEN], other[BK_KEY_LEN];
	struct bk_dircache_file f;
	const char *why = NULL;
	size_t len, bad = 0;
	unsigned char *b;
	int rc;
	uint64_t lie;

	memset(key, 7, sizeof(key));
	memset(other, 8, sizeof(other));
	b = build(key, 2, 3, &len);
	rc = bk_dircache_parse(key, b, len, &f, &why);
	ok(rc == 0 && f.nindex == 2 && f.nowners == 1 && f.ndirs == 3 &&
	       f.dirs == b + 104 + 64 + 24 && f.snapshot[0] == 0xaa &&
	       f.selection[0] == 0xbb,
	   "a well-formed file parses, every part where it belongs");
	rc = bk_dircache_parse(other, b, len, &f, &why);
	ok(rc < 0 && strstr(why, "MAC"), "another key: refused by the MAC (%s)",
	   why ? why : "");
	for (size_t i = 0; i < len; i++) {
		b[i] ^= 0x01;
		if (bk_dircache_parse(key, b, len, &f, &why) == 0)
			bad++;
		b[i] ^= 0x01;
	}
	is_int((int)bad, 0, "any one bit flipped, anywhere: refused");
	rc = bk_dircache_parse(key, b, len - 1, &f, &why);
	ok(rc < 0, "one byte short: refused (%s)", why);
	rc = bk_dircache_parse(key, b, 20, &f, &why);
	ok(rc < 0 && strcmp(why, "damaged (size)") == 0,
	   "shorter than a header: refused (%s)", why);
	free(b);

	b = build(key, 0, 0, &len);
	rc = bk_dircache_parse(key, b, len, &f, &why);
	ok(rc == 0 && f.ndirs == 0, "an empty cache parses");
	free(b);

	/* what a file with the right MAC may still say wrong */
	b = build(key, 1, 2, &len);
	lie = 3;
	bk_put_u64(b + 96, lie);
	remac(key, b, len);
	rc = bk_dircache_parse(key, b, len, &f, &why);
	ok(rc < 0 && strcmp(why, "damaged (counts)") == 0,
	   "a count past the end: refused (%s)", why);
	lie = UINT64_MAX / 8;
	bk_put_u64(b + 80, lie);
	remac(key, b, len);
	rc = bk_dircache_parse(key, b, len, &f, &why);
	ok(rc < 0 && strcmp(why, "damaged (counts)") == 0,
	   "a count that would wrap: refused (%s)", why);
	free(b);
	b = build(key, 1, 2, &len);
	memcpy(b + 104 + 32 + 24, b + 104 + 32 + 24 + 64, 16);
	remac(key, b, len);
	rc = bk_dircache_parse(key, b, len, &f, &why);
	ok(rc < 0 && strcmp(why, "damaged (order)") == 0,
	   "two directories with one path hash: refused (%s)", why);
	free(b);
	b = build(key, 1, 2, &len);
	b[8] = 2;
	remac(key, b, len);
	rc = bk_dircache_parse(key, b, len, &f, &why);
	ok(rc < 0 && strcmp(why, "another version") == 0,
	   "another version: refused (%s)", why);
	free(b);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 2;
	test_sum();
	test_parse();
	return done_testing();
}
