/*
 * backup_test_helpers.h - helpers shared by tests/unit/test_backup_repo.c,
 * test_backup_saver.c and test_backup_pack.c, header only (each test
 * program is linked alone, so sharing goes through a header). Everything is
 * static and marked unused: a file takes what it needs.
 *
 * base is the test's scratch directory in $TMPDIR, made by
 * test_base_init(), which also sets SOV_BACKUP_INSECURE_TEST_KDF=1 (key
 * files at Argon2id's minimum cost).
 */
#ifndef SOV_BACKUP_TEST_HELPERS_H
#define SOV_BACKUP_TEST_HELPERS_H

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "pack.h" /* struct bk_pack_entry */
#include "tap.h"  /* xsnprintf */

#define PW "repository password"
#define PWLEN strlen(PW)
#define UPW(s) ((const unsigned char *)(s))

static char base[PATH_MAX];

static void __attribute__((noreturn, unused)) die(const char *what)
{
	fprintf(stderr, "%s: %s\n", program_invocation_short_name, what);
	exit(1);
}

static void *__attribute__((unused)) xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

/* base/name */
static void __attribute__((unused)) repo_path(char *out, const char *name)
{
	xsnprintf(out, PATH_MAX, "%s/%s", base, name);
}

/* $TMPDIR/NAME.XXXXXX as base, and the cheap KDF for key files. */
static void __attribute__((unused)) test_base_init(const char *name)
{
	const char *tmp = getenv("TMPDIR");

	if (setenv("SOV_BACKUP_INSECURE_TEST_KDF", "1", 1) != 0)
		die("setenv");
	xsnprintf(base, sizeof(base), "%s/%s.XXXXXX",
		  tmp && *tmp ? tmp : "/tmp", name);
	if (!mkdtemp(base))
		die("mkdtemp");
}

/* The whole file (NUL-terminated, *len without the NUL), or NULL. */
static __attribute__((unused)) unsigned char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		die("seek");
	buf = xmalloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		die("read");
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static void __attribute__((unused))
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		die("write_file");
}

/* Regular files under dir (recursive); their total size in *bytes. */
static int nfiles_count;
static uint64_t nfiles_bytes;
static int __attribute__((unused))
nfiles_fn(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p;
	(void)f;
	if (flag == FTW_F && S_ISREG(st->st_mode)) {
		nfiles_count++;
		nfiles_bytes += (uint64_t)st->st_size;
	}
	return 0;
}

static int __attribute__((unused)) nfiles(const char *dir, uint64_t *bytes)
{
	nfiles_count = 0;
	nfiles_bytes = 0;
	if (nftw(dir, nfiles_fn, 16, FTW_PHYS) != 0)
		return -1;
	if (bytes)
		*bytes = nfiles_bytes;
	return nfiles_count;
}

static int __attribute__((unused))
rm_fn(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void __attribute__((unused)) rm_rf(const char *dir)
{
	nftw(dir, rm_fn, 16, FTW_DEPTH | FTW_PHYS);
}

/* Deterministic content number i: text-like (compressible) for even i,
 * random for odd i. */
static void __attribute__((unused))
blob_fill(uint32_t i, unsigned char *p, size_t n)
{
	unsigned char seed[randombytes_SEEDBYTES] = {0};

	memcpy(seed, &i, sizeof(i));
	randombytes_buf_deterministic(p, n, seed);
	if (i % 2 == 0)
		for (size_t j = 0; j < n; j++)
			p[j] = (unsigned char)("abcdefgh\n"[p[j] % 9]);
}

/* A pack's name computed from docs/repository-format.md, not from pack.c:
 * the BLAKE2b-256 of the pack's bytes with each listed blob cut to its
 * first 24 and last 16. */
static void __attribute__((unused))
skeleton_id(const unsigned char *pack, size_t len,
	    const struct bk_pack_entry *ents, uint32_t n,
	    unsigned char out[BK_ID_LEN])
{
	crypto_generichash_state h;
	size_t pos = 0;

	crypto_generichash_init(&h, NULL, 0, BK_ID_LEN);
	for (uint32_t i = 0; i < n; i++) {
		crypto_generichash_update(&h, pack + pos, ents[i].offset - pos);
		crypto_generichash_update(&h, pack + ents[i].offset, 24);
		crypto_generichash_update(
		    &h, pack + ents[i].offset + ents[i].length - 16, 16);
		pos = ents[i].offset + ents[i].length;
	}
	crypto_generichash_update(&h, pack + pos, len - pos);
	crypto_generichash_final(&h, out, BK_ID_LEN);
}

#endif
