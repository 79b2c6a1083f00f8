/*
 * test_secret.c - lib/secret.c: secrets from a file or
 * $CREDENTIALS_DIRECTORY, the refusals, and the wipe.
 *
 * Read errors run in a child re-executed with LD_PRELOAD=faultinject.so
 * (next to this binary) and SOV_FAULT set; skipped, saying why, without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "secret.h"
#include "fault.h"
#include "tap.h"

static char dir[PATH_MAX];

/* Write a file with an exact mode (umask aside); returns its path. */
static const char *
mk(const char *name, const void *data, size_t len, mode_t mode)
{
	static char p[PATH_MAX];
	int fd;

	xsnprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || (len > 0 && write(fd, data, len) != (ssize_t)len) ||
	    fchmod(fd, mode) != 0 || close(fd) != 0) {
		perror(p);
		exit(1);
	}
	return p;
}

/* Load a secret from a file; returns rc, fills s and e. */
static int
load(const char *file, const char *id, struct sov_secret *s, struct sov_err *e)
{
	sov_err_clear(e);
	return sov_secret_load(file, id, s, e);
}

/* ---- the fault child ------------------------------------------------- */

static int
child_main(int argc, char **argv)
{
	struct sov_secret s = {0};
	struct sov_err e = {0};
	int rc;

	if (argc != 3)
		return 99;
	rc = sov_secret_load(argv[2], NULL, &s, &e);
	printf("rc=%d code=%d msg=%s len=%zu data=%s\n", rc, e.code, e.msg,
	       s.len, s.data ? (const char *)s.data : "(null)");
	fflush(stdout);
	sov_secret_wipe(&s);
	return 0;
}

/* Run "self --child FILE" under the shim with SOV_FAULT=fault. */
static int
run_child(const char *fault, const char *file, char *out, size_t size)
{
	const char *args[] = {file, NULL};

	return fault_run(fault, args, out, size);
}

/* ---- tests ------------------------------------------------------------ */

static void
test_file(void)
{
	struct sov_secret s = {0};
	struct sov_err e = {0};
	const char *p;
	char big[SOV_SECRET_MAX + 2], want[PATH_MAX + 128];

	p = mk("pw", "hunter2\n", 8, 0600);
	is_int(load(p, NULL, &s, &e), 0, "file: loads");
	is_int(s.len, 7, "file: one trailing newline dropped");
	is_str((const char *)s.data, "hunter2",
	       "file: content, NUL-terminated");
	sov_secret_wipe(&s);
	ok(s.data == NULL && s.len == 0, "wipe: data NULL, len 0");

	p = mk("crlf", "abc\r\n", 5, 0400);
	is_int(load(p, NULL, &s, &e), 0, "file: CRLF");
	is_str((const char *)s.data, "abc", "file: \\r\\n dropped");
	sov_secret_wipe(&s);

	p = mk("two", "abc\n\n", 5, 0600);
	is_int(load(p, NULL, &s, &e), 0, "file: two newlines");
	is_str((const char *)s.data, "abc\n", "file: only one newline dropped");
	sov_secret_wipe(&s);

	p = mk("cr", "abc\r", 4, 0600);
	is_int(load(p, NULL, &s, &e), 0, "file: lone \\r");
	is_int(s.len, 4, "file: a lone \\r is kept");
	sov_secret_wipe(&s);

	p = mk("bin", "a\0b", 3, 0600);
	is_int(load(p, NULL, &s, &e), 0, "file: binary");
	ok(s.len == 3 && memcmp(s.data, "a\0b", 3) == 0 && s.data[3] == '\0',
	   "file: bytes after a NUL kept, length exact");
	sov_secret_wipe(&s);

	p = mk("grp", "g", 1, 0640);
	is_int(load(p, NULL, &s, &e), 0, "file: group-readable 0640 allowed");
	sov_secret_wipe(&s);

	/* Loose permissions. */
	p = mk("world", "w", 1, 0644);
	ok(load(p, NULL, &s, &e) == -1 && s.data == NULL,
	   "file: world-readable refused");
	xsnprintf(want, sizeof(want),
		  "secret %s: accessible by others (mode 0644): refused; run: "
		  "chmod o-rwx %s",
		  p, p);
	is_str(e.msg, want, "file: message names the file and the chmod");
	is_int(e.code, SOV_EXIT_USAGE, "file: loose mode is code 2");
	p = mk("owrite", "w", 1, 0602);
	is_int(load(p, NULL, &s, &e), -1, "file: writable by others refused");
	like(e.msg, "(mode 0602)", "file: others-writable mode shown");
	p = mk("oexec", "w", 1, 0601);
	is_int(load(p, NULL, &s, &e), -1, "file: any bit for others refused");
	p = mk("gwrite", "w", 1, 0660);
	is_int(load(p, NULL, &s, &e), -1, "file: group-writable refused");
	like(e.msg,
	     "writable by its group (mode 0660): refused; run: chmod "
	     "g-w ",
	     "file: group-writable message");

	/* Symlink to a good file: refused by O_NOFOLLOW. */
	p = mk("target", "t", 1, 0600);
	xsnprintf(want, sizeof(want), "%s/link", dir);
	if (symlink(p, want) == 0) {
		is_int(load(want, NULL, &s, &e), -1, "file: symlink refused");
		like(e.msg, "a symbolic link: refused",
		     "file: symlink message");
		like(e.msg, want, "file: symlink message names the link");
	} else {
		skip(3, "symlink failed");
	}

	/* Not regular files. */
	is_int(load(dir, NULL, &s, &e), -1, "file: a directory refused");
	like(e.msg, "not a regular file", "file: directory message");
	xsnprintf(want, sizeof(want), "%s/fifo", dir);
	if (mkfifo(want, 0600) == 0) {
		is_int(load(want, NULL, &s, &e), -1,
		       "file: a FIFO refused without blocking");
		like(e.msg, "not a regular file", "file: FIFO message");
	} else {
		skip(2, "mkfifo failed");
	}
	is_int(load("/dev/null", NULL, &s, &e), -1, "file: /dev/null refused");

	/* Empty, and only a newline. */
	p = mk("empty", "", 0, 0600);
	is_int(load(p, NULL, &s, &e), -1, "file: empty refused");
	xsnprintf(want, sizeof(want), "secret %s: empty", p);
	is_str(e.msg, want, "file: empty message");
	p = mk("nl", "\n", 1, 0600);
	is_int(load(p, NULL, &s, &e), -1, "file: a lone newline is empty");
	p = mk("crnl", "\r\n", 2, 0600);
	is_int(load(p, NULL, &s, &e), -1, "file: a lone CRLF is empty");

	/* The cap. */
	memset(big, 'k', sizeof(big));
	p = mk("max", big, SOV_SECRET_MAX, 0600);
	is_int(load(p, NULL, &s, &e), 0, "file: exactly SOV_SECRET_MAX");
	is_int(s.len, SOV_SECRET_MAX, "file: all of it");
	sov_secret_wipe(&s);
	p = mk("over", big, SOV_SECRET_MAX + 1, 0600);
	is_int(load(p, NULL, &s, &e), -1, "file: one byte over refused");
	xsnprintf(want, sizeof(want),
		  "secret %s: %u bytes, over the cap of %u bytes", p,
		  SOV_SECRET_MAX + 1, SOV_SECRET_MAX);
	is_str(e.msg, want, "file: over cap message");
	ok(s.data == NULL, "file: nothing returned over cap");

	/* Missing, "-", empty name. */
	xsnprintf(want, sizeof(want), "%s/nope", dir);
	is_int(load(want, NULL, &s, &e), -1, "file: missing");
	like(e.msg, "No such file or directory", "file: missing message");
	like(e.msg, want, "file: missing names the path");
	is_int(e.code, SOV_EXIT_USAGE, "file: missing is code 2");
	is_int(load("-", NULL, &s, &e), -1, "file: '-' refused");
	like(e.msg, "not read from stdin", "file: '-' message");
	is_int(load("", NULL, &s, &e), -1, "file: empty name refused");
}

static void
test_credentials(void)
{
	struct sov_secret s = {0};
	struct sov_err e = {0};
	char cd[PATH_MAX], want[PATH_MAX + 64];
	const char *p;

	xsnprintf(cd, sizeof(cd), "%s/creds", dir);
	mkdir(cd, 0700);
	mk("creds/db", "from-cred\n", 10, 0400);
	p = mk("file", "from-file", 9, 0600);

	unsetenv("CREDENTIALS_DIRECTORY");
	is_int(load(NULL, "db", &s, &e), -1, "neither: refused");
	is_str(e.msg,
	       "no secret given: neither a file nor $CREDENTIALS_DIRECTORY/db "
	       "($CREDENTIALS_DIRECTORY is not set)",
	       "neither: message names both ways");
	is_int(e.code, SOV_EXIT_USAGE, "neither: code 2");
	is_int(load(NULL, NULL, &s, &e), -1, "neither, no id: refused");
	like(e.msg,
	     "no secret given: neither a file nor "
	     "$CREDENTIALS_DIRECTORY/ID",
	     "neither, no id: message");

	setenv("CREDENTIALS_DIRECTORY", cd, 1);
	is_int(load(NULL, "db", &s, &e), 0, "credential: loads");
	is_str((const char *)s.data, "from-cred",
	       "credential: $CREDENTIALS_DIRECTORY/ID, newline dropped");
	sov_secret_wipe(&s);
	is_int(load(p, "db", &s, &e), 0, "file and credential: loads");
	is_str((const char *)s.data, "from-file",
	       "a file wins over a credential");
	sov_secret_wipe(&s);

	is_int(load(NULL, NULL, &s, &e), -1,
	       "credential dir set, no id: refused");
	like(e.msg, "(no credential id)", "no id: message says so");
	is_int(load(NULL, "missing", &s, &e), -1, "credential: missing id");
	xsnprintf(want, sizeof(want), "open %s/missing: No such file", cd);
	like(e.msg, want, "credential: missing names the path");
	is_int(load(NULL, "../creds/db", &s, &e), -1,
	       "credential: id with '/' refused");
	like(e.msg, "bad credential id", "credential: bad id message");
	is_int(load(NULL, "", &s, &e), -1, "credential: empty id refused");

	setenv("CREDENTIALS_DIRECTORY", "", 1);
	is_int(load(NULL, "db", &s, &e), -1,
	       "credential: empty $CREDENTIALS_DIRECTORY is unset");
	unsetenv("CREDENTIALS_DIRECTORY");

	/* Wipe edge cases. */
	sov_secret_wipe(NULL);
	memset(&s, 0, sizeof(s));
	sov_secret_wipe(&s);
	sov_secret_wipe(&s);
	ok(s.data == NULL, "wipe: NULL, zeroed and twice are fine");
	is_int(sov_secret_load("x", NULL, NULL, &e), -1, "load: NULL out");
}

static void
test_faults(void)
{
	char out[4096], want[PATH_MAX + 64];
	const char *p;

	if (fault_shim[0] == '\0') {
		skip(6, "faultinject.so not next to this binary (make "
			"build/tests/faultinject.so)");
		return;
	}
	p = mk("fault", "s3cret\n", 7, 0600);
	is_int(run_child("read:EIO:path=/fault", p, out, sizeof(out)), 0,
	       "EIO on read: child ran");
	xsnprintf(want, sizeof(want),
		  "rc=-1 code=1 msg=read %s: Input/output error len=0 "
		  "data=(null)",
		  p);
	like(out, want, "EIO on read: refused, named, nothing returned");
	run_child("read:short:path=/fault", p, out, sizeof(out));
	like(out, "rc=0 code=0 msg= len=6 data=s3cret", "short reads: loops");
	run_child("read:EINTR:path=/fault:count=2", p, out, sizeof(out));
	like(out, "rc=0 code=0 msg= len=6 data=s3cret", "EINTR: retried");
	run_child("open:EMFILE:path=/fault", p, out, sizeof(out));
	like(out, "rc=-1 code=75", "EMFILE on open: temporary");
	like(out, "Too many open files", "EMFILE on open: message");
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int
main(int argc, char **argv)
{
	const char *tmp;

	if (argc >= 2 && strcmp(argv[1], "--child") == 0)
		return child_main(argc, argv);
	fault_init(argv[0]);
	tmp = getenv("TMPDIR");
	xsnprintf(dir, sizeof(dir), "%s/test_secret.XXXXXX",
		  tmp && tmp[0] ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("test_secret: mkdtemp");
		return 1;
	}
	test_file();
	test_credentials();
	test_faults();
	if (getenv("SOV_TEST_KEEP") == NULL)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
