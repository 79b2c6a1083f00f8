/*
 * test_fs.c - lib/fs.c: atomic writes, capped reads, mkdir -p, the state
 * directory.
 *
 * The error paths a real disk will not produce on demand (ENOSPC, EIO on
 * fsync, EXDEV on rename, ...) run in a child: this program re-executes
 * itself with LD_PRELOAD=faultinject.so (found next to this binary, as the
 * Makefile builds both into $(B)/tests) and SOV_FAULT set, the child runs one
 * operation and prints its result, and the parent checks the result and the
 * files left on disk. Without the shim those cases are skipped, saying why.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "fault.h"
#include "tap.h"

static char dir[PATH_MAX]; /* scratch directory of this run */

/* snprintf that stops the test on truncation (and keeps gcc's
 * -Wformat-truncation quiet about test-only buffers). */
static void
path_in(char *buf, size_t size, const char *name)
{
	xsnprintf(buf, size, "%s/%s", dir, name);
}

static int
put(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* The whole file as a string (static buffer), or NULL. */
static const char *
get(const char *path)
{
	static char buf[1 << 16];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* How many entries of dir start with prefix (temp files left behind). */
static int
count_prefix(const char *in, const char *prefix)
{
	DIR *d = opendir(in);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static int
mode_of(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -1;
	return (int)(st.st_mode & 07777);
}

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- the child side of the fault cases ---------------------------- */

static void
report(int rc, const struct sov_err *e)
{
	printf("rc=%d code=%d msg=%s\n", rc, e->code, e->msg);
}

static int
child_main(int argc, char **argv)
{
	struct sov_err e = {0};
	const char *op = argv[2];
	int rc;

	if (argc < 4)
		return 99;
	if (strcmp(op, "write") == 0 && argc == 5) {
		rc = sov_file_write_atomic(argv[3], argv[4], strlen(argv[4]),
					   0644, &e);
		report(rc, &e);
	} else if (strcmp(op, "bigwrite") == 0 && argc == 5) {
		size_t n = strtoul(argv[4], NULL, 10), i;
		char *buf = malloc(n);

		if (buf == NULL)
			return 98;
		for (i = 0; i < n; i++)
			buf[i] = (char)('a' + i % 26);
		rc = sov_file_write_atomic(argv[3], buf, n, 0644, &e);
		free(buf);
		report(rc, &e);
	} else if (strcmp(op, "read") == 0 && argc == 5) {
		char *out = NULL;
		size_t len = 0, i;
		int good = 1;

		rc = sov_file_read(argv[3], strtoul(argv[4], NULL, 10), &out,
				   &len, &e);
		report(rc, &e);
		for (i = 0; out != NULL && i < len; i++)
			good &= out[i] == (char)('a' + i % 26);
		printf("len=%zu pattern=%d null=%d\n", len, good, out == NULL);
		free(out);
	} else if (strcmp(op, "loop") == 0) {
		/* For crash.sh (tests/helpers.bats): rewrite path until killed;
		 * every version is "v=N\n", 8000 times one letter, "\nend\n".
		 */
		static char buf[8100];
		unsigned long i;

		for (i = 1; i < 1000000; i++) {
			int n = snprintf(buf, sizeof(buf), "v=%lu\n", i);

			memset(buf + n, 'a' + (int)(i % 26), 8000);
			memcpy(buf + n + 8000, "\nend\n", 5);
			if (sov_file_write_atomic(argv[3], buf,
						  (size_t)n + 8005, 0644,
						  &e) != 0) {
				report(-1, &e);
				return 1;
			}
		}
		return 0;
	} else if (strcmp(op, "mkdir") == 0) {
		rc = sov_mkdir_p(argv[3], 0755, &e);
		report(rc, &e);
	} else if (strcmp(op, "dirsync") == 0) {
		rc = sov_dir_fsync(argv[3], &e);
		report(rc, &e);
	} else {
		return 99;
	}
	fflush(stdout);
	return 0;
}

/* Run "self --child OP A1 [A2]" under the shim with SOV_FAULT=fault. */
static int
run_child(const char *fault, const char *op, const char *a1, const char *a2,
	  char *out, size_t size)
{
	const char *args[] = {op, a1, a2, NULL};

	return fault_run(fault, args, out, size);
}

/* ---- sov_file_write_atomic ----------------------------------------- */

static void
test_write_atomic(void)
{
	struct sov_err e = {0};
	char p[PATH_MAX], q[PATH_MAX], buf[PATH_MAX + 64];
	struct stat st1, st2;
	char big[5000];
	int cwd;

	path_in(p, sizeof(p), "w1");
	is_int(sov_file_write_atomic(p, "hello\n", 6, 0640, &e), 0,
	       "write_atomic: a new file");
	is_str(get(p), "hello\n", "write_atomic: content");
	is_int(mode_of(p), 0640, "write_atomic: mode 0640 exactly");
	is_int(count_prefix(dir, ".w1.tmp."), 0, "write_atomic: no temp left");

	stat(p, &st1);
	is_int(sov_file_write_atomic(p, "second", 6, 0600, &e), 0,
	       "write_atomic: replace");
	stat(p, &st2);
	is_str(get(p), "second", "write_atomic: replaced content");
	is_int(mode_of(p), 0600, "write_atomic: replaced with mode 0600");
	ok(st1.st_ino != st2.st_ino, "write_atomic: a new inode (renamed)");

	umask(077);
	is_int(sov_file_write_atomic(p, "x", 1, 0644, &e), 0,
	       "write_atomic: under umask 077");
	is_int(mode_of(p), 0644,
	       "write_atomic: the mode is exact, umask "
	       "aside");
	umask(022);

	is_int(sov_file_write_atomic(p, NULL, 0, 0600, &e), 0,
	       "write_atomic: empty data");
	is_str(get(p), "", "write_atomic: empty file");

	memset(big, 0, sizeof(big));
	big[4999] = 'z';
	is_int(sov_file_write_atomic(p, big, sizeof(big), 0600, &e), 0,
	       "write_atomic: binary with NULs");
	stat(p, &st1);
	is_int(st1.st_size, 5000, "write_atomic: every byte written");

	/* A relative name without a directory part: temp in ".". */
	cwd = open(".", O_RDONLY | O_DIRECTORY);
	if (cwd >= 0 && chdir(dir) == 0) {
		is_int(sov_file_write_atomic("rel", "r", 1, 0600, &e), 0,
		       "write_atomic: relative name");
		is_str(get("rel"), "r", "write_atomic: relative content");
		is_int(count_prefix(".", ".rel.tmp."), 0,
		       "write_atomic: relative, no temp left");
		if (fchdir(cwd) != 0)
			perror("fchdir");
	} else {
		ok(0, "chdir to scratch dir");
	}
	if (cwd >= 0)
		close(cwd);

	/* Errors. */
	path_in(q, sizeof(q), "nodir/f");
	sov_err_clear(&e);
	is_int(sov_file_write_atomic(q, "x", 1, 0600, &e), -1,
	       "write_atomic: missing directory fails");
	xsnprintf(buf, sizeof(buf), "write %s: create a temp file in %s/nodir",
		  q, dir);
	like(e.msg, buf, "write_atomic: message names path and directory");
	like(e.msg, "No such file or directory", "write_atomic: and why");
	is_int(e.code, SOV_EXIT_FAIL, "write_atomic: missing dir is code 1");

	sov_err_clear(&e);
	is_int(sov_file_write_atomic("", "x", 1, 0600, &e), -1,
	       "write_atomic: empty path fails");
	is_int(e.code, SOV_EXIT_USAGE, "write_atomic: empty path is usage");
	like(e.msg, "empty path", "write_atomic: empty path message");

	path_in(q, sizeof(q), "sub/");
	sov_err_clear(&e);
	is_int(sov_file_write_atomic(q, "x", 1, 0600, &e), -1,
	       "write_atomic: trailing slash fails");
	like(e.msg, "names a directory, not a file",
	     "write_atomic: trailing slash message");
	sov_err_clear(&e);
	is_int(sov_file_write_atomic("a/..", "x", 1, 0600, &e), -1,
	       "write_atomic: '..' fails");

	sov_err_clear(&e);
	is_int(sov_file_write_atomic(p, NULL, 3, 0600, &e), -1,
	       "write_atomic: NULL data with a length fails");
	like(e.msg, "no data", "write_atomic: NULL data message");

	/* Over an existing directory: rename fails, the temp goes. */
	path_in(q, sizeof(q), "adir");
	mkdir(q, 0700);
	sov_err_clear(&e);
	is_int(sov_file_write_atomic(q, "x", 1, 0600, &e), -1,
	       "write_atomic: over a directory fails");
	like(e.msg, "rename ", "write_atomic: over a directory: rename step");
	like(e.msg, "Is a directory", "write_atomic: over a directory: why");
	is_int(count_prefix(dir, ".adir.tmp."), 0,
	       "write_atomic: over a directory: no temp left");
	ok(is_dir(q), "write_atomic: the directory is untouched");

	/* Over a symlink: the link is replaced, its target is not. */
	path_in(q, sizeof(q), "link");
	path_in(buf, sizeof(buf), "linktarget");
	put(buf, "target", 6);
	if (symlink(buf, q) == 0) {
		is_int(sov_file_write_atomic(q, "new", 3, 0600, &e), 0,
		       "write_atomic: over a symlink");
		is_str(get(buf), "target",
		       "write_atomic: symlink target "
		       "untouched");
		ok(lstat(q, &st1) == 0 && S_ISREG(st1.st_mode),
		   "write_atomic: the link became a regular file");
	} else {
		skip(2, "symlink failed");
	}

	/* A name too long for the temp file. */
	{
		char longp[PATH_MAX + 16];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[0] = '/';
		longp[sizeof(longp) - 1] = '\0';
		sov_err_clear(&e);
		is_int(sov_file_write_atomic(longp, "x", 1, 0600, &e), -1,
		       "write_atomic: path over PATH_MAX fails");
		like(e.msg, "path too long", "write_atomic: too long message");
	}
}

/* ---- faults through the shim --------------------------------------- */

/* rc line from the child output. */
static void
check_child(const char *got, const char *want_rc, const char *want_msg,
	    const char *what)
{
	like(got, want_rc, "%s: result", what);
	if (want_msg != NULL)
		like(got, want_msg, "%s: message", what);
}

static void
test_write_faults(void)
{
	char p[PATH_MAX], out[4096], want[PATH_MAX + 64];
	int st;

	if (fault_shim[0] == '\0') {
		skip(34, "faultinject.so not next to this binary (make "
			 "build/tests/faultinject.so)");
		return;
	}
	path_in(p, sizeof(p), "f");

#define FRESH()                                                                \
	do {                                                                   \
		put(p, "old content", 11);                                     \
	} while (0)
#define INTACT(what)                                                           \
	do {                                                                   \
		is_str(get(p), "old content", "%s: old file intact", what);    \
		is_int(count_prefix(dir, ".f.tmp."), 0,                        \
		       "%s: no temp file left", what);                         \
	} while (0)

	FRESH();
	st = run_child("write:ENOSPC:path=.tmp.", "write", p, "new", out,
		       sizeof(out));
	is_int(st, 0, "ENOSPC on write: child ran");
	xsnprintf(want, sizeof(want), "msg=write %s/.f.tmp.", dir);
	check_child(out, "rc=-1 code=75", want, "ENOSPC on write");
	like(out, ": No space left on device", "ENOSPC on write: strerror");
	INTACT("ENOSPC on write");

	FRESH();
	run_child("write:EDQUOT:path=.tmp.:after=0", "write", p, "new", out,
		  sizeof(out));
	check_child(out, "rc=-1 code=75", "Disk quota exceeded",
		    "EDQUOT on write");
	INTACT("EDQUOT on write");

	FRESH();
	run_child("fsync:EIO:path=.tmp.", "write", p, "new", out, sizeof(out));
	xsnprintf(want, sizeof(want), "msg=fsync %s/.f.tmp.", dir);
	check_child(out, "rc=-1 code=1", want, "EIO on fsync");
	like(out, ": Input/output error", "EIO on fsync: strerror");
	INTACT("EIO on fsync");

	FRESH();
	run_child("rename:EXDEV", "write", p, "new", out, sizeof(out));
	xsnprintf(want, sizeof(want), "msg=rename %s/.f.tmp.", dir);
	check_child(out, "rc=-1 code=1", want, "EXDEV on rename");
	xsnprintf(want, sizeof(want), " to %s: Invalid cross-device link", p);
	like(out, want, "EXDEV on rename: names both paths and why");
	INTACT("EXDEV on rename");

	FRESH();
	run_child("close:EIO:path=.tmp.", "write", p, "new", out, sizeof(out));
	xsnprintf(want, sizeof(want), "msg=close %s/.f.tmp.", dir);
	check_child(out, "rc=-1 code=1", want, "EIO on close");
	INTACT("EIO on close");

	/* The directory fsync comes after the rename: new content, error. */
	FRESH();
	run_child("fsync:EIO:after=1", "write", p, "new", out, sizeof(out));
	xsnprintf(want, sizeof(want),
		  "msg=write %s: replaced, but fsync directory %s: "
		  "Input/output error",
		  p, dir);
	check_child(out, "rc=-1 code=1", want, "EIO on directory fsync");
	is_str(get(p), "new", "EIO on directory fsync: new content in place");
	is_int(count_prefix(dir, ".f.tmp."), 0,
	       "EIO on directory fsync: no temp file left");

	/* Short writes and EINTR: the loop finishes the job. */
	run_child("write:short:path=.tmp.", "bigwrite", p, "100000", out,
		  sizeof(out));
	check_child(out, "rc=0 code=0", NULL, "short writes");
	{
		struct stat st1;

		is_int(stat(p, &st1) == 0 ? st1.st_size : -1, 100000,
		       "short writes: every byte on disk");
	}
	run_child("write:EINTR:path=.tmp.:count=3", "write", p, "after eintr",
		  out, sizeof(out));
	check_child(out, "rc=0 code=0", NULL, "EINTR on write");
	is_str(get(p), "after eintr", "EINTR on write: content");
	run_child("fsync:EINTR:count=1", "write", p, "fsync eintr", out,
		  sizeof(out));
	check_child(out, "rc=0 code=0", NULL, "EINTR on fsync");
	is_str(get(p), "fsync eintr", "EINTR on fsync: content");
#undef FRESH
#undef INTACT
}

static void
test_read_faults(void)
{
	char p[PATH_MAX], out[4096], want[PATH_MAX + 64];
	char big[100000];
	size_t i;

	if (fault_shim[0] == '\0') {
		skip(11, "faultinject.so not next to this binary (make "
			 "build/tests/faultinject.so)");
		return;
	}
	path_in(p, sizeof(p), "r");
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	put(p, big, sizeof(big));

	run_child("read:EIO:path=/r", "read", p, "1000000", out, sizeof(out));
	xsnprintf(want, sizeof(want), "msg=read %s: Input/output error", p);
	check_child(out, "rc=-1 code=1", want, "EIO on read");
	like(out, "null=1", "EIO on read: *out stays NULL");

	run_child("read:short:path=/r", "read", p, "1000000", out, sizeof(out));
	check_child(out, "rc=0 code=0", "len=100000 pattern=1", "short reads");
	run_child("read:EINTR:path=/r:count=2", "read", p, "1000000", out,
		  sizeof(out));
	check_child(out, "rc=0 code=0", "len=100000 pattern=1",
		    "EINTR on read");

	run_child("open:EACCES:path=/r", "read", p, "1000000", out,
		  sizeof(out));
	xsnprintf(want, sizeof(want), "msg=open %s: Permission denied", p);
	check_child(out, "rc=-1 code=2", want, "EACCES on open");
	run_child("open:EMFILE", "read", p, "1000000", out, sizeof(out));
	check_child(out, "rc=-1 code=75", "Too many open files",
		    "EMFILE on open is temporary");
}

static void
test_dir_faults(void)
{
	char p[PATH_MAX], q[PATH_MAX], out[4096], want[PATH_MAX + 64];

	if (fault_shim[0] == '\0') {
		skip(10, "faultinject.so not next to this binary (make "
			 "build/tests/faultinject.so)");
		return;
	}
	path_in(p, sizeof(p), "fa/fb/fc");
	run_child("mkdir:EACCES:path=/fb", "mkdir", p, NULL, out, sizeof(out));
	xsnprintf(want, sizeof(want), "msg=mkdir %s/fa/fb: Permission denied",
		  dir);
	check_child(out, "rc=-1 code=1", want, "EACCES on mkdir");
	path_in(q, sizeof(q), "fa");
	ok(is_dir(q), "EACCES on mkdir: the parent was created");
	path_in(q, sizeof(q), "fa/fb");
	ok(!is_dir(q), "EACCES on mkdir: the failing one was not");
	run_child("mkdir:ENOSPC", "mkdir", p, NULL, out, sizeof(out));
	check_child(out, "rc=-1 code=75", "No space left on device",
		    "ENOSPC on mkdir is temporary");

	run_child("fsync:EIO", "dirsync", dir, NULL, out, sizeof(out));
	xsnprintf(want, sizeof(want),
		  "msg=fsync directory %s: Input/output error", dir);
	check_child(out, "rc=-1 code=1", want, "EIO on directory fsync");
	run_child("open:ENFILE", "dirsync", dir, NULL, out, sizeof(out));
	xsnprintf(want, sizeof(want),
		  "msg=open directory %s: Too many open files in system", dir);
	check_child(out, "rc=-1 code=75", want, "ENFILE opening a directory");
}

/* ---- sov_file_read -------------------------------------------------- */

/* Fork a writer of n pattern bytes into fd; returns its pid. */
static pid_t
writer(int fd, size_t n)
{
	pid_t pid = fork();

	if (pid == 0) {
		char chunk[4096];
		size_t i, done = 0;

		signal(SIGPIPE, SIG_IGN);
		for (i = 0; i < sizeof(chunk); i++)
			chunk[i] = (char)('a' + i % 26);
		while (done < n) {
			size_t k =
			    n - done < sizeof(chunk) ? n - done : sizeof(chunk);
			ssize_t w = write(fd, chunk, k);

			if (w <= 0)
				break;
			done += (size_t)w;
		}
		_exit(0);
	}
	return pid;
}

static void
test_read(void)
{
	struct sov_err e = {0};
	char p[PATH_MAX], want[PATH_MAX + 64];
	char *out = NULL;
	size_t len = 0;
	int fds[2], saved;
	pid_t pid;

	path_in(p, sizeof(p), "in");
	put(p, "abc\ndef", 7);
	is_int(sov_file_read(p, 100, &out, &len, &e), 0, "read: a file");
	is_int(len, 7, "read: length");
	is_str(out, "abc\ndef", "read: content, NUL-terminated");
	free(out);

	is_int(sov_file_read(p, 7, &out, &len, &e), 0, "read: exactly at cap");
	free(out);
	sov_err_clear(&e);
	out = (char *)"junk";
	is_int(sov_file_read(p, 6, &out, &len, &e), -1, "read: one over cap");
	is_int(e.code, SOV_EXIT_USAGE, "read: over cap is code 2");
	xsnprintf(want, sizeof(want), "%s: 7 bytes, over the cap of 6 bytes",
		  p);
	is_str(e.msg, want, "read: over cap refused early, names size and cap");
	ok(out == NULL && len == 0, "read: *out NULL, *len 0 after failure");

	path_in(p, sizeof(p), "empty");
	put(p, "", 0);
	is_int(sov_file_read(p, 10, &out, &len, &e), 0, "read: empty file");
	ok(out != NULL && out[0] == '\0' && len == 0, "read: empty string");
	free(out);
	is_int(sov_file_read(p, 0, &out, &len, &e), 0,
	       "read: empty file under cap 0");
	free(out);

	/* Size 0 in stat, content when read. */
	is_int(sov_file_read("/proc/self/status", 1 << 20, &out, &len, &e), 0,
	       "read: /proc file (st_size 0)");
	like(out, "Pid:", "read: /proc content");
	free(out);

	/* Endless input: the cap holds while reading. */
	sov_err_clear(&e);
	is_int(sov_file_read("/dev/zero", 10000, &out, &len, &e), -1,
	       "read: /dev/zero stops at the cap");
	is_str(e.msg, "/dev/zero: over the cap of 10000 bytes",
	       "read: cap message while reading");
	ok(out == NULL, "read: nothing returned over cap");

	/* A FIFO: the size is unknown, the cap still holds. */
	path_in(p, sizeof(p), "fifo");
	if (mkfifo(p, 0600) == 0) {
		int wfd;

		pid = fork();
		if (pid == 0) {
			wfd = open(p, O_WRONLY);
			waitpid(writer(wfd, 70000), NULL, 0);
			_exit(0);
		}
		is_int(sov_file_read(p, 1 << 20, &out, &len, &e), 0,
		       "read: a FIFO under the cap");
		is_int(len, 70000, "read: every byte of the FIFO");
		ok(out && out[0] == 'a' &&
		       out[69999] == (char)('a' + 69999 % 4096 % 26),
		   "read: FIFO content");
		free(out);
		waitpid(pid, NULL, 0);

		pid = fork();
		if (pid == 0) {
			wfd = open(p, O_WRONLY);
			waitpid(writer(wfd, 70000), NULL, 0);
			_exit(0);
		}
		sov_err_clear(&e);
		is_int(sov_file_read(p, 5000, &out, &len, &e), -1,
		       "read: a FIFO over the cap");
		xsnprintf(want, sizeof(want), "%s: over the cap of 5000 bytes",
			  p);
		is_str(e.msg, want, "read: FIFO cap message");
		waitpid(pid, NULL, 0);
	} else {
		skip(5, "mkfifo failed");
	}

	/* "-" is stdin. */
	saved = dup(0);
	if (saved >= 0 && pipe(fds) == 0) {
		dup2(fds[0], 0);
		close(fds[0]);
		pid = writer(fds[1], 12345);
		close(fds[1]);
		is_int(sov_file_read("-", 1 << 20, &out, &len, &e), 0,
		       "read: '-' reads stdin");
		is_int(len, 12345, "read: all of stdin");
		free(out);
		waitpid(pid, NULL, 0);
		ok(fcntl(0, F_GETFD) == 0, "read: stdin left open");

		if (pipe(fds) == 0) {
			dup2(fds[0], 0);
			close(fds[0]);
			pid = writer(fds[1], 9000);
			close(fds[1]);
			sov_err_clear(&e);
			is_int(sov_file_read("-", 100, &out, &len, &e), -1,
			       "read: stdin over the cap");
			is_str(e.msg, "stdin: over the cap of 100 bytes",
			       "read: stdin named in the message");
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		dup2(saved, 0);
		close(saved);
	} else {
		skip(6, "pipe failed");
	}

	/* Errors naming the path. */
	path_in(p, sizeof(p), "missing");
	sov_err_clear(&e);
	is_int(sov_file_read(p, 10, &out, &len, &e), -1, "read: missing file");
	xsnprintf(want, sizeof(want), "open %s: No such file or directory", p);
	is_str(e.msg, want, "read: missing file message");
	is_int(e.code, SOV_EXIT_USAGE, "read: missing file is code 2");

	sov_err_clear(&e);
	is_int(sov_file_read(dir, 10, &out, &len, &e), -1, "read: a directory");
	xsnprintf(want, sizeof(want), "read %s: Is a directory", dir);
	is_str(e.msg, want, "read: directory message");

	sov_err_clear(&e);
	is_int(sov_file_read("", 10, &out, &len, &e), -1, "read: empty path");
	is_int(e.code, SOV_EXIT_USAGE, "read: empty path is code 2");
}

/* ---- sov_mkdir_p, sov_dir_fsync ------------------------------------ */

static void
test_mkdir(void)
{
	struct sov_err e = {0};
	char p[PATH_MAX], q[PATH_MAX], want[PATH_MAX + 64];

	path_in(p, sizeof(p), "m/a/b/c");
	is_int(sov_mkdir_p(p, 0750, &e), 0, "mkdir_p: nested");
	ok(is_dir(p), "mkdir_p: the leaf exists");
	is_int(mode_of(p), 0750, "mkdir_p: leaf mode");
	path_in(q, sizeof(q), "m/a");
	is_int(mode_of(q), 0750, "mkdir_p: every created directory has mode");
	is_int(sov_mkdir_p(p, 0750, &e), 0, "mkdir_p: existing is fine");

	path_in(p, sizeof(p), "m//x///y//");
	is_int(sov_mkdir_p(p, 0700, &e), 0,
	       "mkdir_p: repeated and trailing "
	       "slashes");
	path_in(q, sizeof(q), "m/x/y");
	ok(is_dir(q), "mkdir_p: slashes collapsed");
	is_int(sov_mkdir_p("/", 0700, &e), 0, "mkdir_p: /");

	/* A file in the way, as leaf and as parent. */
	path_in(q, sizeof(q), "m/file");
	put(q, "x", 1);
	path_in(p, sizeof(p), "m/file/sub");
	sov_err_clear(&e);
	is_int(sov_mkdir_p(p, 0700, &e), -1, "mkdir_p: a file as parent");
	xsnprintf(want, sizeof(want), "mkdir %s: exists and is not a directory",
		  q);
	is_str(e.msg, want, "mkdir_p: names the file in the way");
	sov_err_clear(&e);
	is_int(sov_mkdir_p(q, 0700, &e), -1, "mkdir_p: a file as leaf");
	is_str(e.msg, want, "mkdir_p: names the file (leaf)");

	/* Symlinks: to a directory is fine, dangling is not a directory. */
	path_in(p, sizeof(p), "m/a");
	path_in(q, sizeof(q), "m/linkdir");
	if (symlink(p, q) == 0) {
		path_in(p, sizeof(p), "m/linkdir/new");
		is_int(sov_mkdir_p(p, 0700, &e), 0,
		       "mkdir_p: through a symlink to a directory");
	} else {
		skip(1, "symlink failed");
	}
	path_in(q, sizeof(q), "m/dangling");
	if (symlink("/nonexistent/sov", q) == 0) {
		sov_err_clear(&e);
		is_int(sov_mkdir_p(q, 0700, &e), -1, "mkdir_p: dangling link");
		like(e.msg, "exists and is not a directory",
		     "mkdir_p: dangling link message");
	} else {
		skip(2, "symlink failed");
	}

	sov_err_clear(&e);
	is_int(sov_mkdir_p("", 0700, &e), -1, "mkdir_p: empty path");
	is_int(e.code, SOV_EXIT_USAGE, "mkdir_p: empty path is code 2");
	{
		char longp[PATH_MAX + 8];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[sizeof(longp) - 1] = '\0';
		sov_err_clear(&e);
		is_int(sov_mkdir_p(longp, 0700, &e), -1, "mkdir_p: too long");
		like(e.msg, "path longer than", "mkdir_p: too long message");
	}

	is_int(sov_dir_fsync(dir, &e), 0, "dir_fsync: a directory");
	path_in(p, sizeof(p), "nope");
	sov_err_clear(&e);
	is_int(sov_dir_fsync(p, &e), -1, "dir_fsync: missing");
	xsnprintf(want, sizeof(want),
		  "open directory %s: No such file or directory", p);
	is_str(e.msg, want, "dir_fsync: missing message");
	path_in(p, sizeof(p), "m/file");
	sov_err_clear(&e);
	is_int(sov_dir_fsync(p, &e), -1, "dir_fsync: a file");
	like(e.msg, "Not a directory", "dir_fsync: a file message");
	sov_err_clear(&e);
	is_int(sov_dir_fsync("", &e), -1, "dir_fsync: empty path");
}

/* ---- sov_state_dir --------------------------------------------------- */

static void
clear_env(void)
{
	unsetenv("SOV_STATE_DIR");
	unsetenv("STATE_DIRECTORY");
	unsetenv("XDG_STATE_HOME");
	unsetenv("HOME");
}

/* The cache directory: the same mechanism under its own variables. */
static void
test_cache_dir(void)
{
	static const char *const vars[] = {"SOV_CACHE_DIR", "CACHE_DIRECTORY",
					   "XDG_CACHE_HOME", "HOME"};
	struct sov_err e = {0};
	char buf[PATH_MAX], want[PATH_MAX], v[PATH_MAX], w[PATH_MAX + 8];

	for (size_t i = 0; i < 4; i++)
		unsetenv(vars[i]);
	is_int(sov_cache_dir("sov-backup", buf, sizeof(buf), &e), -1,
	       "cache_dir: nothing set");
	is_str(e.msg,
	       "cache directory: none of $SOV_CACHE_DIR, $CACHE_DIRECTORY, "
	       "$XDG_CACHE_HOME, $HOME is set",
	       "cache_dir: nothing set message");
	path_in(v, sizeof(v), "chome");
	setenv("HOME", v, 1);
	is_int(sov_cache_dir("sov-backup", buf, sizeof(buf), &e), 0,
	       "cache_dir: $HOME");
	xsnprintf(want, sizeof(want), "%s/.cache/sov/sov-backup", v);
	is_str(buf, want, "cache_dir: $HOME/.cache/sov/TOOL");
	is_int(mode_of(buf), 0700, "cache_dir: created 0700");
	path_in(v, sizeof(v), "cxdg");
	setenv("XDG_CACHE_HOME", v, 1);
	is_int(sov_cache_dir("sov-backup", buf, sizeof(buf), &e), 0,
	       "cache_dir: $XDG_CACHE_HOME");
	xsnprintf(want, sizeof(want), "%s/sov/sov-backup", v);
	is_str(buf, want, "cache_dir: $XDG_CACHE_HOME/sov/TOOL over $HOME");
	path_in(v, sizeof(v), "ccd1");
	path_in(want, sizeof(want), "ccd2");
	xsnprintf(w, sizeof(w), "%s:%s", v, want);
	setenv("CACHE_DIRECTORY", w, 1);
	is_int(sov_cache_dir("sov-backup", buf, sizeof(buf), &e), 0,
	       "cache_dir: $CACHE_DIRECTORY");
	is_str(buf, v,
	       "cache_dir: systemd's $CACHE_DIRECTORY, its first entry");
	ok(!is_dir(want), "cache_dir: its second entry untouched");
	path_in(v, sizeof(v), "csov");
	setenv("SOV_CACHE_DIR", v, 1);
	is_int(sov_cache_dir("sov-backup", buf, sizeof(buf), &e), 0,
	       "cache_dir: $SOV_CACHE_DIR");
	is_str(buf, v, "cache_dir: $SOV_CACHE_DIR as is, over all others");
	setenv("SOV_CACHE_DIR", "rel/dir", 1);
	is_int(sov_cache_dir("sov-backup", buf, sizeof(buf), &e), -1,
	       "cache_dir: a relative $SOV_CACHE_DIR refused");
	is_str(e.msg,
	       "cache directory: $SOV_CACHE_DIR is not an absolute path: "
	       "'rel/dir'",
	       "cache_dir: relative message");
	for (size_t i = 0; i < 4; i++)
		unsetenv(vars[i]);
}

static void
test_state_dir(void)
{
	struct sov_err e = {0};
	char buf[PATH_MAX], want[PATH_MAX], v[PATH_MAX], w[PATH_MAX + 8];
	char small[8];

	clear_env();
	sov_err_clear(&e);
	is_int(sov_state_dir("wf", buf, sizeof(buf), &e), -1,
	       "state_dir: nothing set");
	is_str(e.msg,
	       "state directory: none of $SOV_STATE_DIR, $STATE_DIRECTORY, "
	       "$XDG_STATE_HOME, $HOME is set",
	       "state_dir: nothing set message");
	is_int(e.code, SOV_EXIT_USAGE, "state_dir: nothing set is code 2");

	/* Lowest first: each variable added wins over the ones before. */
	path_in(v, sizeof(v), "home");
	setenv("HOME", v, 1);
	is_int(sov_state_dir("wf", buf, sizeof(buf), &e), 0,
	       "state_dir: $HOME");
	xsnprintf(want, sizeof(want), "%s/.local/state/sov/wf", v);
	is_str(buf, want, "state_dir: $HOME/.local/state/sov/TOOL");
	ok(is_dir(buf), "state_dir: created");
	is_int(mode_of(buf), 0700, "state_dir: created 0700");
	xsnprintf(want, sizeof(want), "%s/.local", v);
	is_int(mode_of(want), 0700, "state_dir: parents created 0700");

	path_in(v, sizeof(v), "xdg");
	setenv("XDG_STATE_HOME", v, 1);
	is_int(sov_state_dir("wf", buf, sizeof(buf), &e), 0,
	       "state_dir: $XDG_STATE_HOME");
	xsnprintf(want, sizeof(want), "%s/sov/wf", v);
	is_str(buf, want, "state_dir: $XDG_STATE_HOME/sov/TOOL over $HOME");
	is_int(mode_of(buf), 0700, "state_dir: XDG created 0700");

	path_in(v, sizeof(v), "sd1");
	path_in(want, sizeof(want), "sd2");
	xsnprintf(w, sizeof(w), "%s:%s", v, want);
	setenv("STATE_DIRECTORY", w, 1);
	is_int(sov_state_dir("wf", buf, sizeof(buf), &e), 0,
	       "state_dir: $STATE_DIRECTORY");
	is_str(buf, v, "state_dir: first entry of $STATE_DIRECTORY, as is");
	ok(!is_dir(want), "state_dir: second entry untouched");
	is_int(mode_of(buf), 0700, "state_dir: STATE_DIRECTORY created 0700");

	path_in(v, sizeof(v), "sov");
	setenv("SOV_STATE_DIR", v, 1);
	umask(077);
	is_int(sov_state_dir("wf", buf, sizeof(buf), &e), 0,
	       "state_dir: $SOV_STATE_DIR");
	umask(022);
	is_str(buf, v, "state_dir: $SOV_STATE_DIR as is, over all others");
	is_int(mode_of(buf), 0700, "state_dir: 0700 under umask 077 too");

	setenv("SOV_STATE_DIR", "", 1);
	is_int(sov_state_dir("wf", buf, sizeof(buf), &e), 0,
	       "state_dir: empty $SOV_STATE_DIR is unset");
	path_in(want, sizeof(want), "sd1");
	is_str(buf, want, "state_dir: falls through to $STATE_DIRECTORY");

	/* Relative values are refused, each one. */
	{
		static const char *const vars[] = {"SOV_STATE_DIR",
						   "STATE_DIRECTORY",
						   "XDG_STATE_HOME", "HOME"};
		size_t i;

		for (i = 0; i < 4; i++) {
			char msg[256];

			clear_env();
			setenv(vars[i], "rel/dir", 1);
			sov_err_clear(&e);
			is_int(sov_state_dir("wf", buf, sizeof(buf), &e), -1,
			       "state_dir: relative $%s refused", vars[i]);
			xsnprintf(msg, sizeof(msg),
				  "state directory: $%s is not an absolute "
				  "path: 'rel/dir'",
				  vars[i]);
			is_str(e.msg, msg, "state_dir: relative $%s message",
			       vars[i]);
			is_str(buf, "",
			       "state_dir: buf empty after failure "
			       "($%s)",
			       vars[i]);
		}
	}

	clear_env();
	path_in(v, sizeof(v), "sov");
	setenv("SOV_STATE_DIR", v, 1);
	sov_err_clear(&e);
	is_int(sov_state_dir("wf", small, sizeof(small), &e), -1,
	       "state_dir: buffer too small");
	like(e.msg, "longer than 7 bytes", "state_dir: too small message");

	path_in(v, sizeof(v), "m/file/state");
	setenv("SOV_STATE_DIR", v, 1);
	sov_err_clear(&e);
	is_int(sov_state_dir("wf", buf, sizeof(buf), &e), -1,
	       "state_dir: a file in the way");
	path_in(want, sizeof(want), "m/file");
	xsnprintf(w, sizeof(w), "state directory from $SOV_STATE_DIR: mkdir %s",
		  want);
	like(e.msg, w, "state_dir: names the variable and the file");

	path_in(v, sizeof(v), "sov");
	setenv("SOV_STATE_DIR", v, 1);
	sov_err_clear(&e);
	is_int(sov_state_dir("a/b", buf, sizeof(buf), &e), -1,
	       "state_dir: tool with '/'");
	like(e.msg, "bad tool name 'a/b'", "state_dir: bad tool message");
	is_int(sov_state_dir("", buf, sizeof(buf), &e), -1,
	       "state_dir: empty tool");
	is_int(sov_state_dir("..", buf, sizeof(buf), &e), -1,
	       "state_dir: tool '..'");
	is_int(sov_state_dir(NULL, buf, sizeof(buf), &e), -1,
	       "state_dir: NULL tool");
	is_int(sov_state_dir("wf", NULL, 0, &e), -1, "state_dir: no buffer");
	clear_env();
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
	int n;

	if (argc >= 2 && strcmp(argv[1], "--child") == 0)
		return child_main(argc, argv);
	fault_init(argv[0]);
	umask(022);
	tmp = getenv("TMPDIR");
	n = snprintf(dir, sizeof(dir), "%s/test_fs.XXXXXX",
		     tmp && tmp[0] ? tmp : "/tmp");
	if (n < 0 || (size_t)n >= sizeof(dir) || mkdtemp(dir) == NULL) {
		perror("test_fs: mkdtemp");
		return 1;
	}
	test_write_atomic();
	test_write_faults();
	test_read_faults();
	test_dir_faults();
	test_read();
	test_mkdir();
	test_state_dir();
	test_cache_dir();
	if (getenv("SOV_TEST_KEEP") == NULL)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
