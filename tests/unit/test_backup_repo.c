/*
 * test_backup_repo.c - tools/sov-backup/repo.c on real repositories in
 * $TMPDIR: init and open (passwords, several key files, damaged config),
 * sealed objects checked against their names, reading blobs through the
 * index, index files (loading, superseding), snapshots and finding one by
 * id prefix. The saver (saver.c) is tested in test_backup_saver.c; the
 * helpers both use are in backup_test_helpers.h.
 *
 * Key files are made with SOV_BACKUP_INSECURE_TEST_KDF=1 (Argon2id at its
 * minimum cost).
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "backup_test_helpers.h"
#include "index_batch.h"
#include "repo.h"
#include "secret.h"
#include "tap.h"

/* docs/repository-format.md */
#define CONFIG_AD "sov-backup config v1"
#define SNAPSHOT_AD "sov-backup snapshot v1"
#define INDEX_AD "sov-backup index v1"

static void
flip_byte(const char *path, size_t at)
{
	size_t n;
	unsigned char *b = read_file(path, &n);

	if (!b || at >= n)
		die("flip_byte");
	b[at] ^= 0x20;
	write_file(path, b, n);
	free(b);
}

/* The one file in dir (a name, not a path) into out; -1 unless exactly
 * one. */
static int
only_file(const char *dir, char *out, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			n++;
			xsnprintf(out, size, "%s", de->d_name);
		}
	closedir(d);
	return n == 1 ? 0 : -1;
}

/* A name in dir that is not in the NULL-terminated list of names. */
static int
new_file(const char *dir, char names[][80], int nnames, char *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = -1;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		int known = de->d_name[0] == '.';

		for (int i = 0; i < nnames && !known; i++)
			known = strcmp(names[i], de->d_name) == 0;
		if (!known) {
			xsnprintf(out, 80, "%s", de->d_name);
			found = 0;
		}
	}
	closedir(d);
	return found;
}

static jv
snap_json(const char *time, const char *host)
{
	unsigned char tree[BK_ID_LEN];
	char hex[BK_ID_HEX_LEN];
	jv s = jv_object();

	randombytes_buf(tree, sizeof(tree));
	bk_hex(tree, hex);
	s = jv_object_set(s, jv_string("version"), jv_number(1));
	s = jv_object_set(s, jv_string("time"), jv_string(time));
	s = jv_object_set(s, jv_string("host"), jv_string(host));
	s = jv_object_set(s, jv_string("tree"), jv_string(hex));
	s = jv_object_set(s, jv_string("paths"),
			  jv_array_append(jv_array(), jv_string("/srv")));
	return s;
}

static const char *
jstr(jv o, const char *key, char *buf, size_t size)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));

	if (jv_get_kind(v) == JV_KIND_STRING)
		xsnprintf(buf, size, "%s", jv_string_value(v));
	else
		xsnprintf(buf, size, "(none)");
	jv_free(v);
	return buf;
}

static void
test_init_open(void)
{
	char path[PATH_MAX], p2[PATH_MAX], name[80];
	struct sov_err e = {0};
	struct bk_repo *r, *o;
	unsigned char master[BK_KEY_LEN];
	jv cfg, v;
	char buf[128];

	repo_path(path, "r1");
	r = bk_repo_init(path, UPW(PW), PWLEN, &e);
	ok(r != NULL, "init: a new repository in $TMPDIR");
	if (!r)
		die(e.msg);
	memcpy(master, r->keys->master, BK_KEY_LEN);
	cfg = jv_copy(r->config);
	ok(r->index_loaded && bk_index_count(r->idx) == 0,
	   "init: an empty index counts as loaded");
	bk_repo_close(r);

	xsnprintf(p2, sizeof(p2), "%s/config", path);
	ok(access(p2, F_OK) == 0, "init: config written");
	xsnprintf(p2, sizeof(p2), "%s/keys", path);
	is_int(nfiles(p2, NULL), 1, "init: one key file");
	ok(only_file(p2, name, sizeof(name)) == 0 && strlen(name) == 16 &&
	       strspn(name, "0123456789abcdef") == 16,
	   "init: the key file is named by 16 hex digits (%s)", name);
	{
		const char *dirs[] = {"data", "index", "snapshots", "locks"};
		int bad = 0;

		for (int i = 0; i < 4; i++) {
			xsnprintf(p2, sizeof(p2), "%s/%s", path, dirs[i]);
			if (access(p2, F_OK) != 0)
				bad++;
		}
		is_int(bad, 0, "init: data, index, snapshots, locks exist");
	}
	v = jv_object_get(jv_copy(cfg), jv_string("version"));
	ok(jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) == 3,
	   "init: config version 3");
	jv_free(v);
	jstr(cfg, "id", buf, sizeof(buf));
	ok(strlen(buf) == 32 && strspn(buf, "0123456789abcdef") == 32,
	   "init: config id is 32 hex digits");

	sov_err_clear(&e);
	o = bk_repo_init(path, UPW(PW), PWLEN, &e);
	ok(o == NULL, "init: refused where a repository is");
	like(e.msg, "already", "init: ... says it is already one");
	bk_repo_close(o);

	o = bk_repo_open(path, UPW(PW), PWLEN, &e);
	ok(o != NULL, "open: the right password");
	ok(o && memcmp(o->keys->master, master, BK_KEY_LEN) == 0,
	   "open: ... the same master secret");
	ok(o && jv_equal(jv_copy(o->config), jv_copy(cfg)),
	   "open: ... the same config");
	xsnprintf(p2, sizeof(p2), "keys/%s", name);
	is_str(o ? o->key_name : NULL, p2,
	       "open: key_name says which key file");
	ok(o && o->files.min == BK_CHUNK_FILES.min &&
	       o->files.avg == BK_CHUNK_FILES.avg &&
	       o->files.max == BK_CHUNK_FILES.max &&
	       o->pages.min == BK_CHUNK_PAGES.min &&
	       o->pages.avg == BK_CHUNK_PAGES.avg &&
	       o->pages.max == BK_CHUNK_PAGES.max,
	   "open: chunker sizes from the config");
	ok(o && !o->index_loaded, "open: the index is not loaded yet");
	bk_repo_close(o);
	jv_free(cfg);

	sov_err_clear(&e);
	o = bk_repo_open(path, UPW("Repository password"), PWLEN, &e);
	ok(o == NULL, "open: wrong password refused");
	is_int(e.code, SOV_EXIT_USAGE, "open: wrong password is code 2");
	like(e.msg, "wrong password (no key file of 1 opens with it)",
	     "open: wrong password: message");
	like(e.msg, path, "open: ... names the repository");
	sov_err_clear(&e);
	o = bk_repo_open(path, UPW(PW), PWLEN - 1, &e);
	ok(o == NULL && e.code == SOV_EXIT_USAGE,
	   "open: the password without its last byte is wrong");

	repo_path(p2, "empty");
	if (mkdir(p2, 0700) != 0)
		die("mkdir");
	sov_err_clear(&e);
	o = bk_repo_open(p2, UPW(PW), PWLEN, &e);
	ok(o == NULL, "open: an empty directory refused");
	is_int(e.code, SOV_EXIT_USAGE, "open: ... code 2");
	like(e.msg, "not a sov-backup repository", "open: ... message");
	repo_path(p2, "does-not-exist");
	sov_err_clear(&e);
	o = bk_repo_open(p2, UPW(PW), PWLEN, &e);
	ok(o == NULL && e.code == SOV_EXIT_USAGE,
	   "open: a missing directory refused, code 2 (%s)", e.msg);

	/* Regression (found here, fixed in 453b372): bk_repo_open parsed
	 * each key file into a jv that bk_keyfile_open does not consume and
	 * never freed it, leaking the key file on every open. The heap must
	 * not grow over 20 opens (mallinfo2 says nothing under ASan and
	 * valgrind, which find such a leak themselves: skipped there). */
	{
		struct mallinfo2 m0, m1;

		o = bk_repo_open(path, UPW(PW), PWLEN, &e);
		bk_repo_close(o);
		m0 = mallinfo2();
		for (int i = 0; i < 20; i++) {
			o = bk_repo_open(path, UPW(PW), PWLEN, &e);
			bk_repo_close(o);
		}
		m1 = mallinfo2();
		if (m0.uordblks == 0)
			skip(1, "mallinfo2 says nothing under this allocator");
		else
			ok(m1.uordblks <= m0.uordblks + 1024,
			   "open: 20 opens and closes do not grow the heap "
			   "(%zu bytes more)",
			   m1.uordblks - m0.uordblks);
	}

	/* No key files at all */
	{
		char moved[PATH_MAX];

		xsnprintf(p2, sizeof(p2), "%s/keys/%s", path, name);
		repo_path(moved, "keyfile.moved");
		if (rename(p2, moved) != 0)
			die("rename");
		sov_err_clear(&e);
		o = bk_repo_open(path, UPW(PW), PWLEN, &e);
		ok(o == NULL, "open: no key files refused");
		like(e.msg, "no key files in keys/", "open: ... message");
		if (rename(moved, p2) != 0)
			die("rename back");
	}
}

/* Write a key file for master under password as keys/NAME. */
static void
put_keyfile(struct bk_repo *r, const char *name, const char *pw)
{
	struct sov_err e = {0};
	jv kf = bk_keyfile_new(r->keys, UPW(pw), strlen(pw), &e), s;
	char obj[BK_NAME_MAX];

	if (!jv_is_valid(kf))
		die(e.msg);
	s = jv_dump_string(kf, 0);
	xsnprintf(obj, sizeof(obj), "keys/%s", name);
	if (bk_put(r->be, obj, jv_string_value(s), strlen(jv_string_value(s)),
		   &e) < 0)
		die(e.msg);
	jv_free(s);
}

static void
test_key_files(void)
{
	char path[PATH_MAX], p2[PATH_MAX], name[80];
	struct sov_err e = {0};
	struct bk_repo *r, *o;
	unsigned char master[BK_KEY_LEN];

	repo_path(path, "keys2");
	r = bk_repo_init(path, UPW("init-pw"), 7, &e);
	if (!r)
		die(e.msg);
	memcpy(master, r->keys->master, BK_KEY_LEN);
	xsnprintf(p2, sizeof(p2), "%s/keys", path);
	if (only_file(p2, name, sizeof(name)) != 0)
		die("one key file");
	xsnprintf(p2, sizeof(p2), "%s/keys/%s", path, name);
	if (unlink(p2) != 0)
		die("unlink");
	/* Opened in name order: 0000... first, 1111... second. */
	put_keyfile(r, "0000000000000000", "pw-A");
	put_keyfile(r, "1111111111111111", "pw-B");
	bk_repo_close(r);

	o = bk_repo_open(path, UPW("pw-B"), 4, &e);
	ok(o != NULL, "two key files: the second one opens");
	is_str(o ? o->key_name : NULL, "keys/1111111111111111",
	       "two key files: ... and is the one named");
	ok(o && memcmp(o->keys->master, master, BK_KEY_LEN) == 0,
	   "two key files: ... the same master");
	bk_repo_close(o);
	o = bk_repo_open(path, UPW("pw-A"), 4, &e);
	is_str(o ? o->key_name : NULL, "keys/0000000000000000",
	       "two key files: the first one opens with its password");
	bk_repo_close(o);
	sov_err_clear(&e);
	o = bk_repo_open(path, UPW("init-pw"), 7, &e);
	ok(o == NULL && e.code == SOV_EXIT_USAGE,
	   "two key files: a removed key's password no longer opens");
	like(e.msg, "no key file of 2 opens with it",
	     "two key files: ... counting both");

	/* BUG: repo.c, bk_repo_open: it skips a key file the password does
	 * not open only when `e && e->code == SOV_EXIT_USAGE`, so a caller
	 * that passes no error struct (e == NULL, which sov_err_set and
	 * every bk_ function accept) cannot open a repository whose first
	 * key file is another password's. Fix: keep a local struct sov_err
	 * for the key file attempts (or test the return of bk_keyfile_open
	 * against a local error) and copy it to e only when giving up. */
	o = bk_repo_open(path, UPW("pw-B"), 4, NULL);
	ok(o != NULL, "two key files: the second opens with e == NULL too");
	bk_repo_close(o);

	/* A malformed key file is an error naming it, not skipped. */
	xsnprintf(p2, sizeof(p2), "%s/keys/2222222222222222", path);
	write_file(p2, "{\"version\":", 11);
	sov_err_clear(&e);
	o = bk_repo_open(path, UPW("nobody"), 6, &e);
	ok(o == NULL, "key files: an unparsable one is an error");
	/* BUG (minor): repo.c, bk_repo_open (and parse_config,
	 * bk_repo_snapshots, bk_repo_read_tree) pass sov_json_parse's
	 * SOV_EXIT_USAGE through: a damaged object in the repository exits
	 * 2 ("usage or bad input") while every other kind of damage (a
	 * malformed key file member, a failed authentication) exits 1.
	 * Fix: set e->code = SOV_EXIT_FAIL after the sov_err_prefix. */
	is_int(e.code, SOV_EXIT_FAIL,
	       "key files: an unparsable one is code 1 like other damage");
	like(e.msg, "keys/2222222222222222", "key files: ... naming it");
	write_file(p2, "{\"version\":2}", 13);
	sov_err_clear(&e);
	o = bk_repo_open(path, UPW("nobody"), 6, &e);
	ok(o == NULL && e.code == SOV_EXIT_FAIL,
	   "key files: version 2 is an error, code 1");
	like(e.msg, "keys/2222222222222222: version",
	     "key files: ... naming it");
	o = bk_repo_open(path, UPW("pw-B"), 4, &e);
	ok(o != NULL, "key files: a key file before the bad one still opens");
	bk_repo_close(o);
	unlink(p2);

	/* A key file of another repository under the same password: it
	 * opens, and then the config does not. */
	{
		struct bk_repo *x;
		char p3[PATH_MAX];

		repo_path(p3, "keys2-other");
		x = bk_repo_init(p3, UPW("pw-C"), 4, &e);
		if (!x)
			die(e.msg);
		/* its key, written into the first repository */
		bk_backend_close(x->be);
		x->be = bk_backend_open(path, 0, &e);
		if (!x->be)
			die(e.msg);
		put_keyfile(x, "0000000000000001", "pw-C");
		bk_repo_close(x);
		sov_err_clear(&e);
		o = bk_repo_open(path, UPW("pw-C"), 4, &e);
		ok(o == NULL && e.code == SOV_EXIT_FAIL,
		   "key files: another repository's key: refused, code 1");
		like(e.msg, "config: authentication failed",
		     "key files: ... the config does not open with it");
		xsnprintf(p3, sizeof(p3), "%s/keys/0000000000000001", path);
		unlink(p3);
	}

	/* More key files than bk_repo_open reads (KEYS_MAX, 64). */
	{
		char kn[32];
		struct bk_repo *w = bk_repo_open(path, UPW("pw-A"), 4, &e);

		if (!w)
			die(e.msg);
		for (int i = 0; i < 65; i++) {
			xsnprintf(kn, sizeof(kn), "a%015d", i);
			put_keyfile(w, kn, "decoy");
		}
		bk_repo_close(w);
		sov_err_clear(&e);
		o = bk_repo_open(path, UPW("nobody"), 6, &e);
		ok(o == NULL && e.code == SOV_EXIT_FAIL,
		   "67 key files, none opens: refused as too many (code 1)");
		/* BUG: repo.c, collect_key sets kl->over past KEYS_MAX (64)
		 * key files and bk_repo_open never looks at it: the others
		 * are silently not tried (which ones depends on the
		 * directory's listing order, before the sort), so a password
		 * whose key file was dropped gets "wrong password", and the
		 * count is wrong. Fix: refuse with "more than 64 key files"
		 * when kl->over is set, or grow the list. */
		ok(strstr(e.msg, "of 67 ") || strstr(e.msg, "more than"),
		   "67 key files: the error counts them all or says there "
		   "are too many (%s)",
		   e.msg);
	}
}

/* Seal plain with ad and write it as the config. */
static void
put_config(struct bk_repo *r, const char *ad, const char *plain)
{
	size_t n = strlen(plain);
	unsigned char *s = xmalloc(n + BK_SEAL_OVERHEAD);
	struct sov_err e = {0};

	bk_seal(r->keys, ad, strlen(ad), plain, n, s);
	if (bk_put(r->be, "config", s, n + BK_SEAL_OVERHEAD, &e) < 0)
		die(e.msg);
	free(s);
}

static void
test_config(void)
{
	char path[PATH_MAX], cfgpath[PATH_MAX];
	struct sov_err e = {0};
	struct bk_repo *r, *o;
	unsigned char *orig;
	size_t olen;

	repo_path(path, "cfg");
	r = bk_repo_init(path, UPW(PW), PWLEN, &e);
	if (!r)
		die(e.msg);
	xsnprintf(cfgpath, sizeof(cfgpath), "%s/config", path);
	orig = read_file(cfgpath, &olen);
	if (!orig)
		die("read config");

	flip_byte(cfgpath, olen / 2);
	sov_err_clear(&e);
	o = bk_repo_open(path, UPW(PW), PWLEN, &e);
	ok(o == NULL, "config: a changed byte refused");
	is_int(e.code, SOV_EXIT_FAIL, "config: ... code 1");
	like(e.msg, "config: authentication failed",
	     "config: ... authentication error naming config");
	flip_byte(cfgpath, 3); /* in the nonce */
	flip_byte(cfgpath, olen / 2);
	o = bk_repo_open(path, UPW(PW), PWLEN, &e);
	ok(o == NULL && strstr(e.msg, "config: authentication failed"),
	   "config: a changed nonce byte refused");
	write_file(cfgpath, orig, olen - 1);
	o = bk_repo_open(path, UPW(PW), PWLEN, &e);
	ok(o == NULL && strstr(e.msg, "config: authentication failed"),
	   "config: one byte short refused");
	write_file(cfgpath, orig, 20);
	sov_err_clear(&e);
	o = bk_repo_open(path, UPW(PW), PWLEN, &e);
	ok(o == NULL && e.code == SOV_EXIT_FAIL, "config: 20 bytes refused");
	like(e.msg, "config: truncated", "config: ... truncated");
	write_file(cfgpath, orig, olen);
	o = bk_repo_open(path, UPW(PW), PWLEN, &e);
	ok(o != NULL, "config: restored, it opens (control)");
	bk_repo_close(o);

	{
		static const struct {
			const char *ad, *plain, *want, *what;
		} c[] = {
		    {SNAPSHOT_AD,
		     "{\"version\":1,\"chunker\":{\"files\":{\"min\":524288,"
		     "\"avg\":1048576,\"max\":8388608},\"pages\":{\"min\":"
		     "16384,\"avg\":65536,\"max\":262144}}}",
		     "config: authentication failed", "sealed as a snapshot"},
		    {CONFIG_AD,
		     "{\"version\":4,\"chunker\":{\"files\":{\"min\":524288,"
		     "\"avg\":1048576,\"max\":8388608},\"pages\":{\"min\":"
		     "16384,\"avg\":65536,\"max\":262144}}}",
		     "config: repository format version 4, this sov-backup "
		     "reads "
		     "version 3 only: a newer sov-backup wrote it",
		     "version 4"},
		    {CONFIG_AD,
		     "{\"version\":1,\"chunker\":{\"files\":{\"min\":524288,"
		     "\"avg\":1048576,\"max\":8388608},\"pages\":{\"min\":"
		     "16384,\"avg\":65536,\"max\":262144}}}",
		     "version 3 only: a development build wrote it; init a new "
		     "repository",
		     "version 1 (never released)"},
		    {CONFIG_AD,
		     "{\"version\":2,\"chunker\":{\"files\":{\"min\":524288,"
		     "\"avg\":1048576,\"max\":8388608},\"pages\":{\"min\":"
		     "16384,\"avg\":65536,\"max\":262144}}}",
		     "version 3 only: a development build wrote it; init a new "
		     "repository",
		     "version 2 (never released)"},
		    {CONFIG_AD, "{\"chunker\":{}}", "config: no format version",
		     "no version"},
		    /* BUG (minor): code 2, see "unparsable" key files */
		    {CONFIG_AD, "{\"version\":2", "config: ", "not JSON"},
		    {CONFIG_AD, "[1]", "config: not an object", "an array"},
		    {CONFIG_AD, "{\"version\":3}",
		     "config: chunker.files: missing", "no chunker"},
		    {CONFIG_AD,
		     "{\"version\":3,\"chunker\":{\"files\":{\"min\":524288,"
		     "\"avg\":1048576,\"max\":8388608}}}",
		     "config: chunker.pages: missing", "no pages sizes"},
		    {CONFIG_AD,
		     "{\"version\":3,\"chunker\":{\"files\":{\"min\":524288,"
		     "\"avg\":1048576,\"max\":8388608},\"pages\":{\"min\":"
		     "\"x\",\"avg\":65536,\"max\":262144}}}",
		     "config: chunker.pages.min: not a size", "a string size"},
		    {CONFIG_AD,
		     "{\"version\":3,\"chunker\":{\"files\":{\"min\":524288,"
		     "\"avg\":1048576,\"max\":-1},\"pages\":{\"min\":"
		     "16384,\"avg\":65536,\"max\":262144}}}",
		     "config: chunker.files.max: not a size",
		     "a negative size"},
		    {CONFIG_AD,
		     "{\"version\":3,\"chunker\":{\"files\":{\"min\":524288,"
		     "\"avg\":1048576,\"max\":8388608},\"pages\":{\"min\":"
		     "16384.5,\"avg\":65536,\"max\":262144}}}",
		     "config: chunker.pages.min: not a size",
		     "a fractional size"},
		    {CONFIG_AD,
		     "{\"version\":3,\"chunker\":{\"files\":{\"min\":524288,"
		     "\"avg\":1048576,\"max\":1e300},\"pages\":{\"min\":"
		     "16384,\"avg\":65536,\"max\":262144}}}",
		     "config: chunker.files.max: not a size", "a huge size"},
		    {CONFIG_AD,
		     "{\"version\":3,\"chunker\":{\"files\":{\"min\":524288,"
		     "\"avg\":1000000,\"max\":8388608},\"pages\":{\"min\":"
		     "16384,\"avg\":65536,\"max\":262144}}}",
		     "config: chunker.files: unusable sizes",
		     "avg not a power of two"},
		    {CONFIG_AD,
		     "{\"version\":3,\"chunker\":{\"files\":{\"min\":524288,"
		     "\"avg\":1048576,\"max\":8388608},\"pages\":{\"min\":"
		     "262144,\"avg\":65536,\"max\":16384}}}",
		     "config: chunker.pages: unusable sizes", "min over max"},
		};
		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			put_config(r, c[i].ad, c[i].plain);
			sov_err_clear(&e);
			o = bk_repo_open(path, UPW(PW), PWLEN, &e);
			ok(o == NULL && e.code == SOV_EXIT_FAIL,
			   "config: %s refused, code 1", c[i].what);
			like(e.msg, c[i].want, "config: ... %s: message",
			     c[i].what);
			bk_repo_close(o);
		}
	}
	write_file(cfgpath, orig, olen);
	free(orig);
	bk_repo_close(r);
	sov_err_clear(&e);
	if (unlink(cfgpath) != 0)
		die("unlink");
	o = bk_repo_open(path, UPW(PW), PWLEN, &e);
	ok(o == NULL && e.code == SOV_EXIT_USAGE &&
	       strstr(e.msg, "not a sov-backup repository"),
	   "config: missing, it is not a repository");
}

/*
 * An empty repository: load_index, the snapshot list and "latest" over
 * empty directories. In a child, so that a crash there is one failure
 * here and the other tests still run.
 *
 * Regression (found here, fixed in 453b372): list_names called
 * qsort(NULL, 0, ...) on an empty directory, which UBSan (SANITIZE=1,
 * no recovery) aborts on: every command on a repository without
 * snapshots or index files died there.
 */
static void
test_empty(void)
{
	char path[PATH_MAX];
	struct sov_err e = {0};
	struct bk_repo *r;
	pid_t pid;
	int st = 0, mask = -1;
	static const char *what[] = {
	    "empty: load_index of no index files", "empty: no blobs",
	    "empty: snapshots is []",
	    "empty: latest of none refused, code 2, \"no snapshots\""};

	repo_path(path, "empty-repo");
	r = bk_repo_init(path, UPW(PW), PWLEN, &e);
	if (!r)
		die(e.msg);
	bk_repo_close(r);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		jv v;
		int m = 0;

		r = bk_repo_open(path, UPW(PW), PWLEN, &e);
		if (!r)
			_exit(99);
		if (bk_repo_load_index(r, &e) != 0)
			m |= 1;
		if (bk_index_count(r->idx) != 0 || !r->index_loaded)
			m |= 2;
		v = bk_repo_snapshots(r, &e);
		if (jv_get_kind(v) != JV_KIND_ARRAY ||
		    jv_array_length(jv_copy(v)) != 0)
			m |= 4;
		jv_free(v);
		sov_err_clear(&e);
		v = bk_repo_find_snapshot(r, "latest", &e);
		if (jv_is_valid(v) || e.code != SOV_EXIT_USAGE ||
		    !strstr(e.msg, "no snapshots"))
			m |= 8;
		jv_free(v);
		bk_repo_close(r);
		_exit(100 + m);
	}
	if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) >= 100 && WEXITSTATUS(st) < 116)
		mask = WEXITSTATUS(st) - 100;
	else if (WIFSIGNALED(st))
		diag("the child died of signal %d", WTERMSIG(st));
	else
		diag("the child exited %d", WEXITSTATUS(st));
	for (int i = 0; i < 4; i++)
		ok(mask >= 0 && !(mask & (1 << i)), "%s", what[i]);
}

static void
test_sealed(void)
{
	char path[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX], name[BK_NAME_MAX],
	    hex[BK_ID_HEX_LEN];
	struct sov_err e = {0};
	struct bk_repo *r;
	unsigned char id[BK_ID_LEN], want[BK_ID_LEN], *out = NULL, *file;
	size_t len = 0, flen;

	repo_path(path, "sealed");
	r = bk_repo_init(path, UPW(PW), PWLEN, &e);
	if (!r)
		die(e.msg);
	is_int(
	    bk_repo_put_sealed(r, "snapshots", "test ad", "hello", 5, id, &e),
	    0, "put_sealed: ok");
	bk_hex(id, hex);
	xsnprintf(p2, sizeof(p2), "%s/snapshots/%s", path, hex);
	file = read_file(p2, &flen);
	ok(file != NULL && flen == 5 + BK_SEAL_OVERHEAD,
	   "put_sealed: the file is dir/hex id, 45 bytes");
	if (file)
		bk_storage_id(file, flen, want);
	ok(file && memcmp(want, id, BK_ID_LEN) == 0,
	   "put_sealed: the id is the storage id of the file's bytes");
	xsnprintf(name, sizeof(name), "snapshots/%s", hex);
	is_int(bk_repo_get_sealed(r, name, "test ad", 100, &out, &len, &e), 0,
	       "get_sealed: ok");
	ok(len == 5 && out && memcmp(out, "hello", 6) == 0,
	   "get_sealed: the plaintext, NUL-terminated");
	free(out);
	sov_err_clear(&e);
	is_int(bk_repo_get_sealed(r, name, "other ad", 100, &out, &len, &e), -1,
	       "get_sealed: another AD refused");
	like(e.msg, "authentication failed", "get_sealed: ... authentication");
	like(e.msg, name, "get_sealed: ... naming the object");
	ok(out == NULL && len == 0, "get_sealed: ... nothing out");
	sov_err_clear(&e);
	is_int(bk_repo_get_sealed(r, name, "test ad", 4, &out, &len, &e), -1,
	       "get_sealed: over max refused");
	like(e.msg, "over the cap", "get_sealed: ... message");

	/* The same bytes under another (valid hex) name */
	id[0] ^= 1;
	bk_hex(id, hex);
	xsnprintf(p3, sizeof(p3), "%s/snapshots/%s", path, hex);
	write_file(p3, file, flen);
	xsnprintf(name, sizeof(name), "snapshots/%s", hex);
	sov_err_clear(&e);
	is_int(bk_repo_get_sealed(r, name, "test ad", 100, &out, &len, &e), -1,
	       "get_sealed: content that does not match its name refused");
	is_int(e.code, SOV_EXIT_FAIL, "get_sealed: ... code 1");
	like(e.msg, "content does not match its name",
	     "get_sealed: ... message");
	like(e.msg, hex, "get_sealed: ... naming the object");
	unlink(p3);
	sov_err_clear(&e);
	is_int(bk_repo_get_sealed(r, name, "test ad", 100, &out, &len, &e), -1,
	       "get_sealed: a missing object refused");
	ok(e.code != 0 && strstr(e.msg, hex), "get_sealed: ... naming it (%s)",
	   e.msg);
	free(file);

	is_int(bk_repo_put_sealed(r, "index", "test ad", NULL, 0, id, &e), 0,
	       "put_sealed: empty plaintext");
	bk_hex(id, hex);
	xsnprintf(name, sizeof(name), "index/%s", hex);
	is_int(bk_repo_get_sealed(r, name, "test ad", 0, &out, &len, &e), 0,
	       "get_sealed: empty plaintext back, max 0");
	is_int(len, 0, "get_sealed: ... 0 bytes");
	free(out);
	xsnprintf(p2, sizeof(p2), "%s/index/%s", path, hex);
	unlink(p2);
	bk_repo_close(r);
}

/* A pack of the given blobs written into r; its info in *pi (ents
 * malloc'ed). */
static void
make_pack(struct bk_repo *r, const unsigned char *const *data,
	  const size_t *sizes, const int *types, int n, struct bk_pack_info *pi)
{
	struct bk_packer p;
	struct sov_err e = {0};
	char name[BK_NAME_MAX];

	memset(&p, 0, sizeof(p));
	memset(pi, 0, sizeof(*pi));
	for (int i = 0; i < n; i++) {
		unsigned char id[BK_ID_LEN];

		bk_typed_id(r->keys, types[i], data[i], sizes[i], id);
		if (bk_packer_add(&p, r->keys, types[i], id, data[i], sizes[i],
				  1, NULL, &e) < 0)
			die(e.msg);
	}
	if (bk_packer_finish(&p, r->keys, pi->id, &e) < 0)
		die(e.msg);
	bk_pack_name(pi->id, name);
	if (bk_put(r->be, name, p.buf, p.len, &e) < 0)
		die(e.msg);
	pi->n = p.n;
	pi->size = p.len;
	pi->ents = xmalloc(p.n * sizeof(*pi->ents));
	memcpy(pi->ents, p.ents, p.n * sizeof(*pi->ents));
	bk_packer_free(&p);
}

static void
test_blobs(void)
{
	char path[PATH_MAX], p2[PATH_MAX], name[BK_NAME_MAX],
	    hex[BK_ID_HEX_LEN], ixname[80];
	struct sov_err e = {0};
	struct bk_repo *r, *o;
	struct bk_pack_info pi;
	unsigned char *d[4], ids[4][BK_ID_LEN], *out = NULL, *raw;
	size_t sizes[4] = {30000, 5000, 0, 0}, len = 0, rlen;
	int types[4] = {BK_BLOB_DATA, BK_BLOB_DATA, BK_BLOB_TREE, BK_BLOB_TREE};
	const char *tree1 = "{\"nodes\":[{\"name\":\"a\",\"type\":\"file\"}]}";
	const char *tree2 = "{\"nodes\":1}";
	int bad = 0;
	jv t;

	repo_path(path, "blobs");
	r = bk_repo_init(path, UPW(PW), PWLEN, &e);
	if (!r)
		die(e.msg);
	d[0] = xmalloc(sizes[0]);
	blob_fill(0, d[0], sizes[0]); /* compressible */
	d[1] = xmalloc(sizes[1]);
	blob_fill(1, d[1], sizes[1]); /* random */
	d[2] = (unsigned char *)strdup(tree1);
	sizes[2] = strlen(tree1);
	d[3] = (unsigned char *)strdup(tree2);
	sizes[3] = strlen(tree2);
	for (int i = 0; i < 4; i++)
		bk_typed_id(r->keys, types[i], d[i], sizes[i], ids[i]);

	bk_hex(ids[0], hex);
	sov_err_clear(&e);
	is_int(bk_repo_read_blob(r, ids[0], BK_BLOB_DATA, &out, &len, &e), -1,
	       "read_blob: not yet stored");
	is_int(e.code, SOV_EXIT_FAIL, "read_blob: ... code 1");
	like(e.msg, "not in the index", "read_blob: ... \"not in the index\"");
	like(e.msg, hex, "read_blob: ... naming the blob");

	make_pack(r, (const unsigned char *const *)d, sizes, types, 4, &pi);
	bk_pack_name(pi.id, name);
	bk_hex(pi.id, hex);
	ok(strncmp(name, "data/", 5) == 0 && strncmp(name + 5, hex, 2) == 0 &&
	       name[7] == '/' && strcmp(name + 8, hex) == 0,
	   "pack name: data/XX/ID");
	is_int(bk_repo_write_index(r, NULL, 0, NULL, 0, &e), 0,
	       "write_index: nothing to write is fine");
	xsnprintf(p2, sizeof(p2), "%s/index", path);
	is_int(nfiles(p2, NULL), 0, "write_index: ... and writes nothing");
	is_int(bk_repo_write_index(r, &pi, 1, NULL, 0, &e), 0,
	       "write_index: one pack");
	is_int(nfiles(p2, NULL), 1, "write_index: one index file");
	is_int(bk_index_count(r->idx), 4, "write_index: blobs in the index");

	bad = 0;
	for (int i = 0; i < 4; i++) {
		if (bk_repo_read_blob(r, ids[i], types[i], &out, &len, &e) !=
			0 ||
		    len != sizes[i] || memcmp(out, d[i], len) != 0)
			bad++;
		free(out);
	}
	is_int(bad, 0, "read_blob: each of four blobs reads back");
	sov_err_clear(&e);
	bk_hex(ids[2], hex);
	is_int(bk_repo_read_blob(r, ids[2], BK_BLOB_DATA, &out, &len, &e), -1,
	       "read_blob: a tree read as data refused");
	like(e.msg, "is a tree blob, wanted data", "read_blob: ... message");
	like(e.msg, hex, "read_blob: ... naming the blob");
	sov_err_clear(&e);
	is_int(bk_repo_read_blob(r, ids[0], BK_BLOB_TREE, &out, &len, &e), -1,
	       "read_blob: data read as a tree refused");
	like(e.msg, "is a data blob, wanted tree", "read_blob: ... message");

	t = bk_repo_read_tree(r, ids[2], &e);
	ok(jv_get_kind(t) == JV_KIND_ARRAY && jv_array_length(jv_copy(t)) == 1,
	   "read_tree: the nodes array");
	jv_free(t);
	sov_err_clear(&e);
	t = bk_repo_read_tree(r, ids[3], &e);
	ok(!jv_is_valid(t) && strstr(e.msg, "no \"nodes\" array"),
	   "read_tree: nodes not an array refused");
	jv_free(t);
	sov_err_clear(&e);
	t = bk_repo_read_tree(r, ids[1], &e);
	ok(!jv_is_valid(t) && strstr(e.msg, "wanted tree"),
	   "read_tree: a data blob refused");
	jv_free(t);

	/* A damaged pack: the blob inside no longer authenticates. */
	xsnprintf(p2, sizeof(p2), "%s/%s", path, name);
	raw = read_file(p2, &rlen);
	flip_byte(p2, pi.ents[1].offset + 30);
	sov_err_clear(&e);
	is_int(bk_repo_read_blob(r, ids[1], BK_BLOB_DATA, &out, &len, &e), -1,
	       "read_blob: a damaged blob refused");
	like(e.msg, "authentication failed", "read_blob: ... authentication");
	like(e.msg, name, "read_blob: ... naming the pack");
	is_int(bk_repo_read_blob(r, ids[0], BK_BLOB_DATA, &out, &len, &e), 0,
	       "read_blob: the other blobs of the pack still read");
	free(out);
	unlink(p2);
	sov_err_clear(&e);
	is_int(bk_repo_read_blob(r, ids[0], BK_BLOB_DATA, &out, &len, &e), -1,
	       "read_blob: a missing pack refused");
	like(e.msg, name + 8, "read_blob: ... naming the pack");
	write_file(p2, raw, rlen);
	free(raw);
	bk_repo_close(r);

	/* A fresh open finds them through the index file. */
	o = bk_repo_open(path, UPW(PW), PWLEN, &e);
	if (!o)
		die(e.msg);
	is_int(bk_index_count(o->idx), 0, "load_index: nothing before loading");
	is_int(bk_repo_load_index(o, &e), 0, "load_index: ok");
	is_int(bk_index_count(o->idx), 4, "load_index: four blobs");
	is_int(o->nindex_files, 1, "load_index: one index file loaded");
	is_int(bk_repo_load_index(o, &e), 0, "load_index: again is a no-op");
	is_int(bk_index_count(o->idx), 4, "load_index: ... still four");
	bad = 0;
	for (int i = 0; i < 4; i++) {
		if (bk_repo_read_blob(o, ids[i], types[i], &out, &len, &e) !=
			0 ||
		    len != sizes[i] || memcmp(out, d[i], len) != 0)
			bad++;
		free(out);
	}
	is_int(bad, 0, "load_index: each blob reads back after a fresh open");
	bk_repo_close(o);

	/* Damaged index files */
	xsnprintf(p2, sizeof(p2), "%s/index", path);
	if (only_file(p2, ixname, sizeof(ixname)) != 0)
		die("one index file");
	{
		char from[PATH_MAX], to[PATH_MAX];
		unsigned char iid[BK_ID_LEN];

		xsnprintf(from, sizeof(from), "%s/index/%s", path, ixname);
		if (bk_unhex(ixname, iid) != 0)
			die("index name");
		iid[31] ^= 1;
		bk_hex(iid, hex);
		xsnprintf(to, sizeof(to), "%s/index/%s", path, hex);
		if (rename(from, to) != 0)
			die("rename");
		o = bk_repo_open(path, UPW(PW), PWLEN, &e);
		sov_err_clear(&e);
		is_int(o ? bk_repo_load_index(o, &e) : 0, -1,
		       "load_index: an index file under another name refused");
		like(e.msg, "does not match its name",
		     "load_index: ... message");
		like(e.msg, hex, "load_index: ... naming the file");
		bk_repo_close(o);
		xsnprintf(from, sizeof(from), "%s/index/not-an-id", path);
		if (rename(to, from) != 0)
			die("rename");
		o = bk_repo_open(path, UPW(PW), PWLEN, &e);
		is_int(o ? bk_repo_load_index(o, &e) : -1, 0,
		       "load_index: a file whose name is not an id is skipped");
		is_int(o ? bk_index_count(o->idx) : 99, 0,
		       "load_index: ... so nothing is loaded");
		bk_repo_close(o);
		xsnprintf(to, sizeof(to), "%s/index/%s", path, ixname);
		if (rename(from, to) != 0)
			die("rename");
	}
	/* Authentic for another key, named by its bytes. */
	{
		struct bk_keys *k2;
		unsigned char *enc = NULL, sid[BK_ID_LEN];
		size_t elen = 0;
		char other[PATH_MAX];

		k2 = bk_keys_new(NULL, &e);
		if (!k2 || bk_indexfile_encode(k2, &pi, 1, NULL, 0, &enc, &elen,
					       &e) < 0)
			die(e.msg);
		bk_storage_id(enc, elen, sid);
		bk_hex(sid, hex);
		xsnprintf(other, sizeof(other), "%s/index/%s", path, hex);
		write_file(other, enc, elen);
		o = bk_repo_open(path, UPW(PW), PWLEN, &e);
		sov_err_clear(&e);
		is_int(o ? bk_repo_load_index(o, &e) : 0, -1,
		       "load_index: an index file of another key refused");
		like(e.msg, "authentication failed", "load_index: ... message");
		like(e.msg, hex, "load_index: ... naming the file");
		ok(o && !o->index_loaded, "load_index: ... not marked loaded");
		bk_repo_close(o);
		unlink(other);
		free(enc);
		bk_keys_free(k2);
	}
	free(pi.ents);
	for (int i = 0; i < 4; i++)
		free(d[i]);
}

static void
test_supersede(void)
{
	char path[PATH_MAX], idir[PATH_MAX], known[4][80], nA[80], nB[80],
	    nC[80];
	struct sov_err e = {0};
	struct bk_repo *r, *o;
	struct bk_pack_info p1, p2, p1x;
	unsigned char *d[3], ids[3][BK_ID_LEN], supA[1][BK_ID_LEN], *out = NULL;
	size_t sizes[3] = {1000, 2000, 3000}, len = 0;
	int types[2] = {BK_BLOB_DATA, BK_BLOB_DATA};

	repo_path(path, "supersede");
	xsnprintf(idir, sizeof(idir), "%s/index", path);
	r = bk_repo_init(path, UPW(PW), PWLEN, &e);
	if (!r)
		die(e.msg);
	for (int i = 0; i < 3; i++) {
		d[i] = xmalloc(sizes[i]);
		blob_fill(100 + (uint32_t)i, d[i], sizes[i]);
		bk_blob_id(r->keys, d[i], sizes[i], ids[i]);
	}
	/* pack 1: x, y; pack 2: z */
	make_pack(r, (const unsigned char *const *)d, sizes, types, 2, &p1);
	make_pack(r, (const unsigned char *const *)d + 2, sizes + 2, types, 1,
		  &p2);
	if (bk_repo_write_index(r, &p1, 1, NULL, 0, &e) < 0 ||
	    new_file(idir, known, 0, nA) < 0)
		die("index A");
	xsnprintf(known[0], 80, "%s", nA);
	if (bk_repo_write_index(r, &p2, 1, NULL, 0, &e) < 0 ||
	    new_file(idir, known, 1, nB) < 0)
		die("index B");
	xsnprintf(known[1], 80, "%s", nB);
	bk_repo_close(r);

	o = bk_repo_open(path, UPW(PW), PWLEN, &e);
	if (!o || bk_repo_load_index(o, &e) < 0)
		die(e.msg);
	ok(bk_index_get(o->idx, ids[1]) != NULL && o->nindex_files == 2,
	   "supersede: before, y is found in index A (control)");
	/* What prune does: a new index for pack 1 with x only, replacing
	 * A. */
	p1x = p1;
	p1x.n = 1;
	if (bk_unhex(nA, supA[0]) != 0)
		die("unhex");
	is_int(bk_repo_write_index(
		   o, &p1x, 1, (const unsigned char(*)[BK_ID_LEN])supA, 1, &e),
	       0, "supersede: write index C superseding A");
	if (new_file(idir, known, 2, nC) < 0)
		die("index C");
	bk_repo_close(o);

	o = bk_repo_open(path, UPW(PW), PWLEN, &e);
	if (!o)
		die(e.msg);
	is_int(bk_repo_load_index(o, &e), 0, "supersede: load_index");
	ok(bk_index_get(o->idx, ids[0]) != NULL,
	   "supersede: x (in C) is found");
	ok(bk_index_get(o->idx, ids[1]) == NULL,
	   "supersede: y (only in the superseded A) is gone");
	ok(bk_index_get(o->idx, ids[2]) != NULL,
	   "supersede: z (in B) is found");
	is_int(bk_index_count(o->idx), 2, "supersede: two blobs");
	is_int(o->nindex_files, 2, "supersede: two index files in use");
	{
		char h0[BK_ID_HEX_LEN] = "", h1[BK_ID_HEX_LEN] = "";

		if (o->nindex_files == 2) {
			bk_hex(o->index_files[0], h0);
			bk_hex(o->index_files[1], h1);
		}
		ok((strcmp(h0, nB) == 0 && strcmp(h1, nC) == 0) ||
		       (strcmp(h0, nC) == 0 && strcmp(h1, nB) == 0),
		   "supersede: ... B and C, not A");
	}
	is_int(bk_repo_read_blob(o, ids[0], BK_BLOB_DATA, &out, &len, &e), 0,
	       "supersede: x still reads");
	ok(out && len == sizes[0] && memcmp(out, d[0], len) == 0,
	   "supersede: ... its bytes");
	free(out);
	bk_repo_close(o);

	/* Superseding an index that does not exist changes nothing. */
	o = bk_repo_open(path, UPW(PW), PWLEN, &e);
	if (!o)
		die(e.msg);
	memset(supA, 0x77, sizeof(supA));
	if (bk_repo_write_index(
		o, NULL, 0, (const unsigned char(*)[BK_ID_LEN])supA, 1, &e) < 0)
		die(e.msg);
	bk_repo_close(o);
	o = bk_repo_open(path, UPW(PW), PWLEN, &e);
	is_int(o ? bk_repo_load_index(o, &e) : -1, 0,
	       "supersede: an index superseding only an unknown id loads");
	is_int(o ? bk_index_count(o->idx) : 0, 2,
	       "supersede: ... same two blobs");
	is_int(o ? o->nindex_files : 0, 3,
	       "supersede: ... three index files in use");
	bk_repo_close(o);
	free(p1.ents);
	free(p2.ents);
	for (int i = 0; i < 3; i++)
		free(d[i]);
}

/*
 * bk_index_batch: a new index in several files, the superseded ids in the
 * last; a crash before that last file leaves the old index in force
 * beside the new files.
 */
static void
test_index_batch(void)
{
	enum { NP = 6 };
	char path[PATH_MAX], idir[PATH_MAX], known[1][80], nA[80];
	struct sov_err e = {0};
	struct bk_repo *r, *o;
	struct bk_pack_info p[NP], a;
	struct bk_index_batch b;
	unsigned char *d[2 * NP], ids[2 * NP][BK_ID_LEN], sup[1][BK_ID_LEN];
	size_t sizes[2 * NP];
	int types[2] = {BK_BLOB_DATA, BK_BLOB_DATA}, found = 0;

	repo_path(path, "index-batch");
	xsnprintf(idir, sizeof(idir), "%s/index", path);
	r = bk_repo_init(path, UPW(PW), PWLEN, &e);
	if (!r)
		die(e.msg);
	for (int i = 0; i < 2 * NP; i++) {
		sizes[i] = 500 + (size_t)i;
		d[i] = xmalloc(sizes[i]);
		blob_fill(300 + (uint32_t)i, d[i], sizes[i]);
		bk_blob_id(r->keys, d[i], sizes[i], ids[i]);
	}
	for (int i = 0; i < NP; i++)
		make_pack(r, (const unsigned char *const *)d + 2 * i,
			  sizes + 2 * i, types, 2, &p[i]);
	/* the old index: the first three packs */
	if (bk_repo_write_index(r, p, 3, NULL, 0, &e) < 0 ||
	    new_file(idir, known, 0, nA) < 0 || bk_unhex(nA, sup[0]) != 0)
		die("index A");
	xsnprintf(known[0], 80, "%s", nA);

	/* files of five entries' worth: a file every three packs */
	memset(&b, 0, sizeof(b));
	b.r = r;
	b.max_bytes = 5 * BK_PACK_ENTRY_LEN;
	for (int i = 0; i < NP; i++) {
		struct bk_pack_info c = p[i];

		c.ents = xmalloc(c.n * sizeof(*c.ents));
		memcpy(c.ents, p[i].ents, c.n * sizeof(*c.ents));
		is_int(bk_index_batch_add(&b, &c, &e), 0,
		       "index batch: add pack %d", i);
		ok(c.ents == NULL, "index batch: ... its entries taken over");
	}
	is_int((int)b.files, 2, "index batch: two files written on the way");
	is_int(bk_index_batch_finish(
		   &b, (const unsigned char(*)[BK_ID_LEN])sup, 1, &e),
	       0, "index batch: finish, superseding the old index");
	is_int((int)b.files, 3,
	       "index batch: ... a third file: nothing left but the "
	       "superseded id");
	bk_index_batch_free(&b);
	bk_repo_close(r);
	o = bk_repo_open(path, UPW(PW), PWLEN, &e);
	if (!o || bk_repo_load_index(o, &e) < 0)
		die(e.msg);
	for (int i = 0; i < 2 * NP; i++)
		found += bk_index_get(o->idx, ids[i]) != NULL;
	is_int(found, 2 * NP, "index batch: every blob is found after a reload");
	is_int((int)o->nindex_files, 3,
	       "index batch: three files in force, the old one superseded");
	bk_repo_close(o);

	/* A crash after the first file: the old index and it, both in
	 * force, nothing lost. */
	o = bk_repo_open(path, UPW(PW), PWLEN, &e);
	if (!o)
		die(e.msg);
	memset(&b, 0, sizeof(b));
	b.r = o;
	b.max_bytes = 5 * BK_PACK_ENTRY_LEN;
	for (int i = 0; i < 3; i++) {
		a = p[i];
		a.ents = xmalloc(a.n * sizeof(*a.ents));
		memcpy(a.ents, p[i].ents, a.n * sizeof(*a.ents));
		if (bk_index_batch_add(&b, &a, &e) < 0)
			die(e.msg);
	}
	is_int((int)b.files, 1, "index batch, crash: one file written");
	bk_index_batch_free(&b); /* and no finish */
	bk_repo_close(o);
	o = bk_repo_open(path, UPW(PW), PWLEN, &e);
	if (!o || bk_repo_load_index(o, &e) < 0)
		die(e.msg);
	found = 0;
	for (int i = 0; i < 2 * NP; i++)
		found += bk_index_get(o->idx, ids[i]) != NULL;
	is_int(found, 2 * NP, "index batch, crash: every blob still found");
	is_int((int)o->nindex_files, 4,
	       "index batch, crash: the new file is in force beside the "
	       "others");
	bk_repo_close(o);
	for (int i = 0; i < NP; i++)
		free(p[i].ents);
	for (int i = 0; i < 2 * NP; i++)
		free(d[i]);
}

/* Two sealed snapshots whose ids share their first 4 hex digits (and no
 * other snapshot's); written into r. Their ids in a, b. */
static void
put_colliding(struct bk_repo *r, jv known, char a[BK_ID_HEX_LEN],
	      char b[BK_ID_HEX_LEN])
{
	enum { TRIES = 20000 };
	static int slot[65536];
	const char *json = NULL;
	jv snap, str;
	size_t n;
	unsigned char(*bufs)[512] = xmalloc((size_t)TRIES * 512);
	unsigned char id[BK_ID_LEN];
	struct sov_err e = {0};
	int found = -1, other = -1;

	memset(slot, 0, sizeof(slot));
	for (int i = 0; i < jv_array_length(jv_copy(known)); i++) {
		jv s = jv_array_get(jv_copy(known), i);
		char h[80];
		unsigned char kid[BK_ID_LEN];

		if (bk_unhex(jstr(s, "id", h, sizeof(h)), kid) == 0)
			slot[kid[0] << 8 | kid[1]] = -1; /* taken */
		jv_free(s);
	}
	snap = snap_json("2025-06-01T00:00:00.000Z", "collide");
	str = jv_dump_string(snap, 0);
	json = jv_string_value(str);
	n = strlen(json);
	if (n + BK_SEAL_OVERHEAD > 512)
		die("snapshot too long");
	for (int i = 0; i < TRIES && found < 0; i++) {
		int sl;

		bk_seal(r->keys, SNAPSHOT_AD, strlen(SNAPSHOT_AD), json, n,
			bufs[i]);
		bk_storage_id(bufs[i], n + BK_SEAL_OVERHEAD, id);
		sl = id[0] << 8 | id[1];
		if (slot[sl] > 0) {
			found = i;
			other = slot[sl] - 1;
		} else if (slot[sl] == 0) {
			slot[sl] = i + 1;
		}
	}
	if (found < 0)
		die("no colliding pair");
	{
		int w[2] = {other, found};
		char *out[2] = {a, b};

		for (int k = 0; k < 2; k++) {
			char name[BK_NAME_MAX];

			bk_storage_id(bufs[w[k]], n + BK_SEAL_OVERHEAD, id);
			bk_hex(id, out[k]);
			xsnprintf(name, sizeof(name), "snapshots/%s", out[k]);
			if (bk_put(r->be, name, bufs[w[k]],
				   n + BK_SEAL_OVERHEAD, &e) < 0)
				die(e.msg);
		}
	}
	jv_free(str);
	free(bufs);
}

static void
test_snapshots(void)
{
	char path[PATH_MAX], p2[PATH_MAX], buf[128], pre[80];
	char hex[3][BK_ID_HEX_LEN], ca[BK_ID_HEX_LEN], cb[BK_ID_HEX_LEN];
	const char *times[3] = {"2026-01-02T00:00:00.000Z",
				"2026-01-01T00:00:00.000Z",
				"2026-01-03T00:00:00.000Z"};
	struct sov_err e = {0};
	struct bk_repo *r;
	unsigned char id[BK_ID_LEN];
	jv all, one;
	int bad = 0;

	repo_path(path, "snaps");
	r = bk_repo_init(path, UPW(PW), PWLEN, &e);
	if (!r)
		die(e.msg);
	for (int i = 0; i < 3; i++) {
		if (bk_repo_save_snapshot(r, snap_json(times[i], "heart"), id,
					  &e) != 0)
			bad++;
		bk_hex(id, hex[i]);
	}
	is_int(bad, 0, "snapshots: three saved");
	xsnprintf(p2, sizeof(p2), "%s/snapshots", path);
	is_int(nfiles(p2, NULL), 3, "snapshots: three files");
	all = bk_repo_snapshots(r, &e);
	is_int(jv_get_kind(all) == JV_KIND_ARRAY ? jv_array_length(jv_copy(all))
						 : -1,
	       3, "snapshots: three listed");
	{
		int order[3] = {1, 0, 2}; /* by time */

		bad = 0;
		for (int i = 0; i < 3 && jv_get_kind(all) == JV_KIND_ARRAY;
		     i++) {
			jv s = jv_array_get(jv_copy(all), i);

			if (strcmp(jstr(s, "time", buf, sizeof(buf)),
				   times[order[i]]) != 0)
				bad++;
			if (strcmp(jstr(s, "id", buf, sizeof(buf)),
				   hex[order[i]]) != 0)
				bad++;
			if (strcmp(jstr(s, "host", buf, sizeof(buf)),
				   "heart") != 0)
				bad++;
			jv_free(s);
		}
		is_int(bad, 0, "snapshots: oldest first, each with its \"id\"");
	}

	one = bk_repo_find_snapshot(r, "latest", &e);
	is_str(jv_is_valid(one) ? jstr(one, "id", buf, sizeof(buf)) : "",
	       hex[2], "find: latest is the newest by time");
	jv_free(one);
	one = bk_repo_find_snapshot(r, hex[0], &e);
	is_str(jv_is_valid(one) ? jstr(one, "time", buf, sizeof(buf)) : "",
	       times[0], "find: by full id");
	jv_free(one);
	xsnprintf(pre, sizeof(pre), "%.10s", hex[1]);
	one = bk_repo_find_snapshot(r, pre, &e);
	is_str(jv_is_valid(one) ? jstr(one, "id", buf, sizeof(buf)) : "",
	       hex[1], "find: by a unique prefix");
	jv_free(one);

	{
		static const struct {
			const char *which, *want, *what;
		} c[] = {
		    {"abc", "abc: not a snapshot id", "three digits"},
		    {"", "not a snapshot id", "empty"},
		    {"zzzzzz", "zzzzzz: not a snapshot id", "not hex"},
		    {"latest1", "not a snapshot id", "latest1"},
		    {"LATEST", "not a snapshot id", "LATEST"},
		    {"0000 ", "not a snapshot id", "a trailing space"},
		};
		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			sov_err_clear(&e);
			one = bk_repo_find_snapshot(r, c[i].which, &e);
			ok(!jv_is_valid(one) && e.code == SOV_EXIT_USAGE &&
			       strstr(e.msg, c[i].want),
			   "find: %s refused, code 2 (%s)", c[i].what, e.msg);
			jv_free(one);
		}
	}
	xsnprintf(pre, sizeof(pre), "%s0", hex[0]);
	sov_err_clear(&e);
	one = bk_repo_find_snapshot(r, pre, &e);
	ok(!jv_is_valid(one) && e.code == SOV_EXIT_USAGE,
	   "find: 65 digits refused");
	jv_free(one);
	{
		char up[BK_ID_HEX_LEN];

		for (int i = 0; i < 64; i++)
			up[i] = (char)(hex[0][i] >= 'a' ? hex[0][i] - 32
							: hex[0][i]);
		up[64] = '\0';
		sov_err_clear(&e);
		one = bk_repo_find_snapshot(r, up, &e);
		ok(!jv_is_valid(one) && e.code == SOV_EXIT_USAGE,
		   "find: an upper-case id is refused (ids are lower case)");
		jv_free(one);
	}
	{
		unsigned char nid[BK_ID_LEN];
		char nh[BK_ID_HEX_LEN];

		bk_unhex(hex[0], nid);
		nid[31] ^= 0xff;
		bk_hex(nid, nh);
		sov_err_clear(&e);
		one = bk_repo_find_snapshot(r, nh, &e);
		ok(!jv_is_valid(one) && e.code == SOV_EXIT_USAGE,
		   "find: an id that is not there refused, code 2");
		like(e.msg, "no such snapshot", "find: ... message");
		jv_free(one);
	}

	/* Two snapshots sharing 4 hex digits */
	put_colliding(r, all, ca, cb);
	jv_free(all);
	xsnprintf(pre, sizeof(pre), "%.4s", ca);
	sov_err_clear(&e);
	one = bk_repo_find_snapshot(r, pre, &e);
	ok(!jv_is_valid(one) && e.code == SOV_EXIT_USAGE,
	   "find: an ambiguous prefix refused, code 2");
	like(e.msg, "matches 2", "find: ... \"matches 2\"");
	like(e.msg, pre, "find: ... naming the prefix");
	jv_free(one);
	{
		size_t k = 4;

		while (ca[k] == cb[k])
			k++;
		xsnprintf(pre, sizeof(pre), "%.*s", (int)k + 1, cb);
		one = bk_repo_find_snapshot(r, pre, &e);
		is_str(jv_is_valid(one) ? jstr(one, "id", buf, sizeof(buf))
					: "",
		       cb, "find: one more digit tells them apart");
		jv_free(one);
	}
	all = bk_repo_snapshots(r, &e);
	is_int(jv_is_valid(all) ? jv_array_length(jv_copy(all)) : -1, 5,
	       "snapshots: five now");
	if (jv_is_valid(all) && jv_array_length(jv_copy(all)) == 5) {
		jv s0 = jv_array_get(jv_copy(all), 0);
		jv s1 = jv_array_get(jv_copy(all), 1);
		char i0[80], i1[80];

		jstr(s0, "id", i0, sizeof(i0));
		jstr(s1, "id", i1, sizeof(i1));
		ok(strcmp(i0, i1) < 0 &&
		       strcmp(jstr(s1, "host", buf, sizeof(buf)), "collide") ==
			   0,
		   "snapshots: the same time sorts by id");
		jv_free(s0);
		jv_free(s1);
	}
	jv_free(all);
	one = bk_repo_find_snapshot(r, "latest", &e);
	is_str(jv_is_valid(one) ? jstr(one, "id", buf, sizeof(buf)) : "",
	       hex[2], "find: latest still the newest by time");
	jv_free(one);

	/* Damaged snapshots */
	{
		char from[PATH_MAX], to[PATH_MAX];
		unsigned char wid[BK_ID_LEN];
		char wh[BK_ID_HEX_LEN];
		size_t n;
		unsigned char *bytes;

		xsnprintf(from, sizeof(from), "%s/snapshots/%s", path, hex[0]);
		bytes = read_file(from, &n);
		bk_unhex(hex[0], wid);
		wid[0] ^= 1;
		bk_hex(wid, wh);
		xsnprintf(to, sizeof(to), "%s/snapshots/%s", path, wh);
		write_file(to, bytes, n);
		free(bytes);
		sov_err_clear(&e);
		all = bk_repo_snapshots(r, &e);
		ok(!jv_is_valid(all) && e.code == SOV_EXIT_FAIL,
		   "snapshots: a file whose name does not match refused");
		like(e.msg, "does not match its name",
		     "snapshots: ... message");
		like(e.msg, wh, "snapshots: ... naming the file");
		jv_free(all);
		sov_err_clear(&e);
		one = bk_repo_find_snapshot(r, "latest", &e);
		ok(!jv_is_valid(one) &&
		       strstr(e.msg, "does not match its name"),
		   "find: fails the same way");
		jv_free(one);
		unlink(to);

		xsnprintf(to, sizeof(to), "%s/snapshots/readme.txt", path);
		write_file(to, "hello", 5);
		all = bk_repo_snapshots(r, &e);
		is_int(jv_is_valid(all) ? jv_array_length(jv_copy(all)) : -1, 5,
		       "snapshots: a file whose name is not an id is skipped");
		jv_free(all);
		unlink(to);
	}
	{
		static const struct {
			const char *ad, *plain, *want, *what;
		} c[] = {
		    {INDEX_AD,
		     "{\"time\":\"2026-01-01T00:00:00.000Z\",\"host\":\"h\","
		     "\"tree\":\"0000000000000000000000000000000000000000000000"
		     "000000000000000000\"}",
		     "authentication failed", "sealed as an index"},
		    {SNAPSHOT_AD,
		     "{\"time\":\"2026-01-01T00:00:00.000Z\",\"host\":\"h\"}",
		     "tree: missing or malformed", "no tree"},
		    {SNAPSHOT_AD,
		     "{\"time\":\"2026-01-01T00:00:00.000Z\",\"host\":\"h\","
		     "\"tree\":\"00\"}",
		     "tree: missing or malformed", "a short tree id"},
		    {SNAPSHOT_AD,
		     "{\"time\":\"yesterday\",\"host\":\"h\","
		     "\"tree\":\"0000000000000000000000000000000000000000000000"
		     "000000000000000000\"}",
		     "time: missing or malformed", "a bad time"},
		    {SNAPSHOT_AD,
		     "{\"time\":\"2026-01-01T00:00:00.000Z\",\"host\":7,"
		     "\"tree\":\"0000000000000000000000000000000000000000000000"
		     "000000000000000000\"}",
		     "host: missing or malformed", "a numeric host"},
		    {SNAPSHOT_AD, "[]", "not an object", "an array"},
		    /* BUG (minor): code 2, see "unparsable" key files */
		    {SNAPSHOT_AD, "{\"time\":", "snapshots/", "not JSON"},
		};
		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			char h[BK_ID_HEX_LEN], fp[PATH_MAX];

			if (bk_repo_put_sealed(r, "snapshots", c[i].ad,
					       c[i].plain, strlen(c[i].plain),
					       id, &e) < 0)
				die(e.msg);
			bk_hex(id, h);
			sov_err_clear(&e);
			all = bk_repo_snapshots(r, &e);
			ok(!jv_is_valid(all) && e.code == SOV_EXIT_FAIL &&
			       strstr(e.msg, c[i].want) && strstr(e.msg, h),
			   "snapshots: %s refused, naming the file (%s)",
			   c[i].what, e.msg);
			jv_free(all);
			xsnprintf(fp, sizeof(fp), "%s/snapshots/%s", path, h);
			unlink(fp);
		}
	}
	all = bk_repo_snapshots(r, &e);
	is_int(jv_is_valid(all) ? jv_array_length(jv_copy(all)) : -1, 5,
	       "snapshots: all five again once the bad ones are gone");
	jv_free(all);
	bk_repo_close(r);
}

/*
 * BUG (minor): repo.c, cmp_time orders snapshots by the text of "time",
 * but snapshot_valid accepts any RFC 3339 time sov_time_parse takes: an
 * offset ("+05:00") or no fraction. Text order is time order only for
 * the fixed-width UTC form sov-backup writes, so a snapshot from another
 * writer (the format document is meant for third parties) sorts wrong
 * and "latest" can name an older one. Fix: sort by the parsed ms (then
 * id), or refuse any "time" that is not the 24-byte UTC form.
 */
static void
test_snapshot_time_order(void)
{
	char path[PATH_MAX], buf[128];
	struct sov_err e = {0};
	struct bk_repo *r;
	unsigned char id[BK_ID_LEN];
	/* in time order */
	const char *times[4] = {"2026-01-01T10:00:00.000+05:00", /* 05:00Z */
				"2026-01-01T06:00:00.000Z",
				"2026-01-02T00:00:00Z",
				"2026-01-02T00:00:00.500Z"};
	jv all, one;
	int bad = 0;

	repo_path(path, "snaps-tz");
	r = bk_repo_init(path, UPW(PW), PWLEN, &e);
	if (!r)
		die(e.msg);
	for (int i = 0; i < 2; i++)
		if (bk_repo_save_snapshot(r, snap_json(times[i], "h"), id,
					  &e) != 0)
			die(e.msg);
	one = bk_repo_find_snapshot(r, "latest", &e);
	is_str(jv_is_valid(one) ? jstr(one, "time", buf, sizeof(buf)) : "",
	       times[1], "time order: latest of 05:00Z (as +05:00) and 06:00Z");
	jv_free(one);
	for (int i = 2; i < 4; i++)
		if (bk_repo_save_snapshot(r, snap_json(times[i], "h"), id,
					  &e) != 0)
			die(e.msg);
	all = bk_repo_snapshots(r, &e);
	for (int i = 0; i < 4 && jv_is_valid(all); i++) {
		jv sn = jv_array_get(jv_copy(all), i);

		if (strcmp(jstr(sn, "time", buf, sizeof(buf)), times[i]) != 0)
			bad++;
		jv_free(sn);
	}
	ok(jv_is_valid(all) && bad == 0,
	   "time order: offsets and fractions sort by time, not by text");
	jv_free(all);
	bk_repo_close(r);
}

static void
test_password(void)
{
	char p[PATH_MAX];
	struct sov_secret sec = {0};
	struct sov_err e = {0};
	int fd;

	repo_path(p, "pwfile");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "s3cret\n", 7) != 7 || close(fd) != 0)
		die("pwfile");
	is_int(bk_password_load(p, &sec, &e), 0, "password: from a file");
	ok(sec.len == 6 && memcmp(sec.data, "s3cret", 6) == 0,
	   "password: ... without the newline");
	sov_secret_wipe(&sec);
	repo_path(p, "no-pwfile");
	sov_err_clear(&e);
	is_int(bk_password_load(p, &sec, &e), -1, "password: missing file");
	ok(strncmp(e.msg, "password: ", 10) == 0 && strstr(e.msg, "no-pwfile"),
	   "password: ... message names it (%s)", e.msg);
}

int
main(void)
{
	test_base_init("test_backup_repo");
	test_init_open();
	test_key_files();
	test_config();
	test_empty();
	test_sealed();
	test_blobs();
	test_supersede();
	test_index_batch();
	test_snapshots();
	test_snapshot_time_order();
	test_password();
	rm_rf(base);
	return done_testing();
}
