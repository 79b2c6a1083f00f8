/*
 * faultinject.c - an LD_PRELOAD shim that fails libc calls on demand, so
 * tests can reach the error paths of real programs on a real disk.
 *
 *   LD_PRELOAD=build/tests/faultinject.so \
 *   SOV_FAULT='write:ENOSPC:path=.tmp.,fsync:EIO:after=1' prog ...
 *
 * SOV_FAULT is a comma-separated list of rules
 *
 *   CALL:ERRNO[:after=N][:count=M][:path=SUBSTRING]
 *
 *   CALL     write pwrite fsync fdatasync rename renameat open openat close
 *            read unlink unlinkat mkdir. Each name also covers its aliases and
 *            _FORTIFY_SOURCE entry points: open = open, open64, __open_2,
 *            __open64_2; openat = openat, openat64, __openat_2,
 *            __openat64_2; pwrite = pwrite, pwrite64; read = read,
 *            __read_chk; renameat = renameat, renameat2. open and openat
 *            are separate rules (coreutils uses both).
 *   ERRNO    a name: ENOSPC EIO EXDEV EACCES EDQUOT EINTR EAGAIN EPERM
 *            ENOENT EROFS EMFILE ENFILE EFBIG EPIPE EBADF EINVAL ENOMEM
 *            EEXIST ENOTDIR EISDIR ENOTEMPTY ELOOP ENAMETOOLONG EBUSY
 *            ETXTBSY ESTALE ENOLCK ENOSYS ECONNRESET ETIMEDOUT EWOULDBLOCK.
 *            Or "short" (write, pwrite and read only): the call really
 *            happens with half the bytes asked for (at least 1; a call for
 *            0 or 1 byte passes through), to prove that callers loop.
 *   after=N  the first N matching calls succeed (default 0).
 *   count=M  fail only M times, then pass again (default: forever).
 *   path=S   only calls whose path contains S: the path argument (either
 *            one for rename/renameat, the argument as given for the *at
 *            calls, not resolved against the directory fd), or for fd
 *            calls the target of /proc/self/fd/FD. S may not hold ':' or
 *            ','.
 *
 * A call is offered to the rules in order; a rule it matches (call name and
 * path) counts it, and the first rule that decides to fire fails it: rules
 * after that one do not see the call. Without path=, a rule matches every
 * call of its kind, e.g. write:EIO also fails writes to stdout.
 *
 * fd 2 is exempt from every fd rule (write, pwrite, fsync, fdatasync, close,
 * read), so error messages still get out, unless the rule says
 * path=/dev/stderr exactly.
 *
 * An injected fault sets errno and returns -1 without making the call,
 * except: "short" makes the real call with fewer bytes; close really closes
 * the fd first, then reports the error, as Linux does (the descriptor is
 * gone even when close fails, so nobody should retry it). An injected EPIPE
 * raises no SIGPIPE.
 *
 * fd paths are resolved lazily (only when a path= rule for that call
 * reaches them) and cached per fd together with the file's device and inode,
 * re-resolved when those change. A file renamed while open keeps the name it
 * had when first resolved: after sov_file_write_atomic's rename, the temp fd
 * still matches path=.tmp.
 *
 * SOV_FAULT is parsed once, by a constructor. An invalid SOV_FAULT prints
 * one line on stderr naming the bad rule and exits 2 before main() runs.
 * SOV_FAULT_LOG=PATH appends one line per injected fault to PATH.
 *
 * What is NOT caught: only calls that go through the exported symbols above
 * reach the shim. glibc calls its own internal aliases (__write, __close,
 * __open_nocancel, ...) from inside libc, so
 *   - stdio: fflush/fclose/fwrite/printf flush through glibc's internal
 *     write; fopen opens with the internal openat; fclose closes with the
 *     internal close. Tests of stdout writers use /dev/full or a closed pipe
 *     instead (tests/helpers.bats checks that this limit holds).
 *   - mkstemp/mkostemp open with the internal open: a temp file's creation
 *     cannot be failed (its later write/fsync/close can).
 *   - mkdirat, copy_file_range, sendfile, writev, pwritev, rmdir,
 *     syncfs, sync_file_range are not wrapped: cp/cat on regular files
 *     (copy_file_range) bypass write rules; use open rules or a small
 *     program for those. `rm` removes with unlinkat, not unlink.
 *   - direct syscall(2) and statically linked programs.
 * The shim itself is not thread-hostile (counters are atomic, the fd cache
 * is locked), but rules count calls from all threads together.
 */
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define FI_RULES_MAX 32
#define FI_RULE_TEXT_MAX 512
#define FI_PATH_MAX 256
#define FI_FD_CACHE 1024
#define FI_FD_PATH_MAX 512

/* The _FORTIFY_SOURCE entry points, declared only under fortify. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen);
int renameat2(int olddirfd, const char *oldpath, int newdirfd,
	      const char *newpath, unsigned int flags);

enum fi_call {
	FI_WRITE,
	FI_PWRITE,
	FI_FSYNC,
	FI_FDATASYNC,
	FI_RENAME,
	FI_RENAMEAT,
	FI_OPEN,
	FI_OPENAT,
	FI_CLOSE,
	FI_READ,
	FI_UNLINK,
	FI_MKDIR,
	FI_UNLINKAT,
	FI_NCALLS
};

static const char *const fi_call_names[FI_NCALLS] = {
    "write", "pwrite", "fsync", "fdatasync", "rename", "renameat",
    "open",  "openat", "close", "read",      "unlink", "mkdir",
    "unlinkat",
};

static const struct {
	const char *name;
	int value;
} fi_errnos[] = {
    {"ENOSPC", ENOSPC},       {"EIO", EIO},
    {"EXDEV", EXDEV},         {"EACCES", EACCES},
    {"EDQUOT", EDQUOT},       {"EINTR", EINTR},
    {"EAGAIN", EAGAIN},       {"EWOULDBLOCK", EWOULDBLOCK},
    {"EPERM", EPERM},         {"ENOENT", ENOENT},
    {"EROFS", EROFS},         {"EMFILE", EMFILE},
    {"ENFILE", ENFILE},       {"EFBIG", EFBIG},
    {"EPIPE", EPIPE},         {"EBADF", EBADF},
    {"EINVAL", EINVAL},       {"ENOMEM", ENOMEM},
    {"EEXIST", EEXIST},       {"ENOTDIR", ENOTDIR},
    {"EISDIR", EISDIR},       {"ENOTEMPTY", ENOTEMPTY},
    {"ELOOP", ELOOP},         {"ENAMETOOLONG", ENAMETOOLONG},
    {"EBUSY", EBUSY},         {"ETXTBSY", ETXTBSY},
    {"ESTALE", ESTALE},       {"ENOLCK", ENOLCK},
    {"ENOSYS", ENOSYS},       {"ECONNRESET", ECONNRESET},
    {"ETIMEDOUT", ETIMEDOUT},
};

struct fi_rule {
	enum fi_call call;
	int err;      /* errno to inject; 0 with is_short */
	int is_short; /* "short": really call with half the bytes */
	unsigned long after;
	unsigned long count; /* 0: forever */
	char path[FI_PATH_MAX];
	int has_path;
	unsigned long seen;  /* matching calls so far (atomic) */
	unsigned long fired; /* faults injected so far (atomic) */
	char text[FI_RULE_TEXT_MAX];
};

static struct fi_rule fi_rules[FI_RULES_MAX];
static int fi_nrules;
static const char *fi_log_path;
static pthread_once_t fi_once = PTHREAD_ONCE_INIT;

/* Lazily resolved fd targets; validated by device and inode on each use. */
static struct {
	int valid;
	dev_t dev;
	ino_t ino;
	char path[FI_FD_PATH_MAX];
} fi_fd_cache[FI_FD_CACHE];
static pthread_mutex_t fi_fd_lock = PTHREAD_MUTEX_INITIALIZER;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_renameat2)(int, const char *, int, const char *,
			     unsigned int);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_open_2)(const char *, int);
static int (*real_open64_2)(const char *, int);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_openat_2)(int, const char *, int);
static int (*real_openat64_2)(int, const char *, int);
static int (*real_close)(int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_read_chk)(int, void *, size_t, size_t);
static int (*real_unlink)(const char *);
static int (*real_mkdir)(const char *, mode_t);
static int (*real_unlinkat)(int, const char *, int);

/* gcc allows object-to-function pointer casts; POSIX requires they work. */
#define FI_RESOLVE(var, name) (var = (__typeof__(var))dlsym(RTLD_NEXT, name))

static void
fi_resolve(void)
{
	FI_RESOLVE(real_write, "write");
	FI_RESOLVE(real_pwrite, "pwrite");
	FI_RESOLVE(real_pwrite64, "pwrite64");
	FI_RESOLVE(real_fsync, "fsync");
	FI_RESOLVE(real_fdatasync, "fdatasync");
	FI_RESOLVE(real_rename, "rename");
	FI_RESOLVE(real_renameat, "renameat");
	FI_RESOLVE(real_renameat2, "renameat2");
	FI_RESOLVE(real_open, "open");
	FI_RESOLVE(real_open64, "open64");
	FI_RESOLVE(real_open_2, "__open_2");
	FI_RESOLVE(real_open64_2, "__open64_2");
	FI_RESOLVE(real_openat, "openat");
	FI_RESOLVE(real_openat64, "openat64");
	FI_RESOLVE(real_openat_2, "__openat_2");
	FI_RESOLVE(real_openat64_2, "__openat64_2");
	FI_RESOLVE(real_close, "close");
	FI_RESOLVE(real_read, "read");
	FI_RESOLVE(real_read_chk, "__read_chk");
	FI_RESOLVE(real_unlink, "unlink");
	FI_RESOLVE(real_mkdir, "mkdir");
	FI_RESOLVE(real_unlinkat, "unlinkat");
}

static void
fi_write_all(int fd, const char *s, size_t n)
{
	while (n > 0 && real_write != NULL) {
		ssize_t w = real_write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void __attribute__((noreturn))
fi_bad_rule(const char *rule, const char *why)
{
	char line[1024];
	int n =
	    snprintf(line, sizeof(line),
		     "faultinject: SOV_FAULT: bad rule '%s': %s\n", rule, why);

	if (n < 0)
		_exit(2);
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	fi_write_all(2, line, (size_t)n);
	_exit(2);
}

/* A whole decimal number, nothing else. */
static int
fi_parse_ulong(const char *s, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

static void
fi_parse_rule(const char *text, struct fi_rule *r)
{
	char buf[FI_RULE_TEXT_MAX], *field, *save = NULL;
	int have_after = 0, have_count = 0, i;
	char why[FI_RULE_TEXT_MAX + 128];

	if (strlen(text) >= sizeof(buf))
		fi_bad_rule("(too long)", "a rule is at most 511 characters");
	/* strtok_r skips empty fields: refuse "write::EIO" and "write:EIO:". */
	if (text[0] == ':' || strstr(text, "::") != NULL ||
	    text[strlen(text) - 1] == ':')
		fi_bad_rule(text, "empty field");
	memset(r, 0, sizeof(*r));
	memcpy(r->text, text, strlen(text) + 1);
	memcpy(buf, text, strlen(text) + 1);

	field = strtok_r(buf, ":", &save);
	if (field == NULL)
		fi_bad_rule(text, "expected CALL:ERRNO[:after=N][:count=M]"
				  "[:path=S]");
	for (i = 0; i < FI_NCALLS; i++)
		if (strcmp(field, fi_call_names[i]) == 0)
			break;
	if (i == FI_NCALLS) {
		snprintf(why, sizeof(why),
			 "unknown call '%s' (one of write, pwrite, fsync, "
			 "fdatasync, rename, renameat, open, openat, close, "
			 "read, unlink, mkdir, unlinkat)",
			 field);
		fi_bad_rule(text, why);
	}
	r->call = (enum fi_call)i;

	field = strtok_r(NULL, ":", &save);
	if (field == NULL)
		fi_bad_rule(text, "missing ERRNO after the call");
	if (strcmp(field, "short") == 0) {
		if (r->call != FI_WRITE && r->call != FI_PWRITE &&
		    r->call != FI_READ)
			fi_bad_rule(text,
				    "'short' applies to write, pwrite and "
				    "read only");
		r->is_short = 1;
	} else {
		size_t k;

		for (k = 0; k < sizeof(fi_errnos) / sizeof(fi_errnos[0]); k++)
			if (strcmp(field, fi_errnos[k].name) == 0)
				break;
		if (k == sizeof(fi_errnos) / sizeof(fi_errnos[0])) {
			snprintf(why, sizeof(why),
				 "unknown errno '%s' (a name like ENOSPC, EIO, "
				 "EXDEV, or 'short')",
				 field);
			fi_bad_rule(text, why);
		}
		r->err = fi_errnos[k].value;
	}

	while ((field = strtok_r(NULL, ":", &save)) != NULL) {
		if (strncmp(field, "after=", 6) == 0) {
			if (have_after || fi_parse_ulong(field + 6, &r->after))
				fi_bad_rule(text, "after= wants one whole "
						  "number");
			have_after = 1;
		} else if (strncmp(field, "count=", 6) == 0) {
			if (have_count ||
			    fi_parse_ulong(field + 6, &r->count) ||
			    r->count == 0)
				fi_bad_rule(text, "count= wants one number "
						  "of at least 1");
			have_count = 1;
		} else if (strncmp(field, "path=", 5) == 0) {
			size_t n = strlen(field + 5);

			if (r->has_path || n == 0 || n >= sizeof(r->path))
				fi_bad_rule(text, "path= wants one non-empty "
						  "substring (at most 255 "
						  "characters, no ':' or ',')");
			memcpy(r->path, field + 5, n + 1);
			r->has_path = 1;
		} else {
			snprintf(why, sizeof(why),
				 "unknown option '%s' (after=N, count=M or "
				 "path=S)",
				 field);
			fi_bad_rule(text, why);
		}
	}
}

static void
fi_parse(void)
{
	const char *spec = getenv("SOV_FAULT");
	const char *p, *comma;

	fi_log_path = getenv("SOV_FAULT_LOG");
	if (fi_log_path != NULL && fi_log_path[0] == '\0')
		fi_log_path = NULL;
	if (spec == NULL || spec[0] == '\0')
		return;
	for (p = spec;; p = comma + 1) {
		char text[FI_RULE_TEXT_MAX];
		size_t n;

		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == 0) {
			char why[FI_RULE_TEXT_MAX + 64];

			snprintf(why, sizeof(why),
				 "empty rule (stray ',' in "
				 "'%.400s')",
				 spec);
			fi_bad_rule("", why);
		}
		if (n >= sizeof(text))
			fi_bad_rule("(too long)", "a rule is at most 511 "
						  "characters");
		if (fi_nrules == FI_RULES_MAX)
			fi_bad_rule(p, "more than 32 rules");
		memcpy(text, p, n);
		text[n] = '\0';
		fi_parse_rule(text, &fi_rules[fi_nrules++]);
		if (comma == NULL)
			break;
	}
}

static void
fi_init(void)
{
	fi_resolve();
	fi_parse();
}

static void __attribute__((constructor)) fi_constructor(void)
{
	pthread_once(&fi_once, fi_init);
}

/* Every wrapper starts here: someone may call us before our constructor. */
#define FI_READY() pthread_once(&fi_once, fi_init)

/* The target of fd into out (NUL-terminated); 0 or -1 when unknown. */
static int
fi_fd_path(int fd, char *out, size_t size)
{
	char link[64];
	struct stat st;
	ssize_t n;
	int have_st;

	have_st = fstat(fd, &st) == 0;
	if (fd >= 0 && fd < FI_FD_CACHE && have_st) {
		pthread_mutex_lock(&fi_fd_lock);
		if (fi_fd_cache[fd].valid && fi_fd_cache[fd].dev == st.st_dev &&
		    fi_fd_cache[fd].ino == st.st_ino) {
			snprintf(out, size, "%s", fi_fd_cache[fd].path);
			pthread_mutex_unlock(&fi_fd_lock);
			return 0;
		}
		pthread_mutex_unlock(&fi_fd_lock);
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, size - 1);
	if (n < 0) {
		out[0] = '\0';
		return -1;
	}
	out[n] = '\0';
	if (fd >= 0 && fd < FI_FD_CACHE && have_st) {
		pthread_mutex_lock(&fi_fd_lock);
		fi_fd_cache[fd].valid = 1;
		fi_fd_cache[fd].dev = st.st_dev;
		fi_fd_cache[fd].ino = st.st_ino;
		snprintf(fi_fd_cache[fd].path, sizeof(fi_fd_cache[fd].path),
			 "%s", out);
		pthread_mutex_unlock(&fi_fd_lock);
	}
	return 0;
}

static void
fi_fd_forget(int fd)
{
	if (fd < 0 || fd >= FI_FD_CACHE)
		return;
	pthread_mutex_lock(&fi_fd_lock);
	fi_fd_cache[fd].valid = 0;
	pthread_mutex_unlock(&fi_fd_lock);
}

static const char *
fi_errno_name(int err)
{
	size_t k;

	for (k = 0; k < sizeof(fi_errnos) / sizeof(fi_errnos[0]); k++)
		if (fi_errnos[k].value == err)
			return fi_errnos[k].name;
	return "?";
}

static void
fi_log(const struct fi_rule *r, const char *fn, int fd, const char *p1,
       const char *p2)
{
	char line[2048], fdp[FI_FD_PATH_MAX];
	int n, lfd, saved = errno;

	if (fi_log_path == NULL)
		return;
	if (fd >= 0) {
		if (fi_fd_path(fd, fdp, sizeof(fdp)) != 0)
			snprintf(fdp, sizeof(fdp), "?");
		n = snprintf(line, sizeof(line),
			     "faultinject[%ld]: %s(fd %d '%s') -> %s "
			     "(rule '%s')\n",
			     (long)getpid(), fn, fd, fdp,
			     r->is_short ? "short" : fi_errno_name(r->err),
			     r->text);
	} else {
		n = snprintf(line, sizeof(line),
			     "faultinject[%ld]: %s('%s'%s%s%s) -> %s "
			     "(rule '%s')\n",
			     (long)getpid(), fn, p1 ? p1 : "", p2 ? ", '" : "",
			     p2 ? p2 : "", p2 ? "'" : "",
			     r->is_short ? "short" : fi_errno_name(r->err),
			     r->text);
	}
	if (n < 0)
		goto out;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	lfd = real_open(fi_log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			0644);
	if (lfd < 0)
		goto out;
	fi_write_all(lfd, line, (size_t)n);
	real_close(lfd);
out:
	errno = saved;
}

/*
 * The rule that fails this call, or NULL. fd >= 0 for fd calls (p1, p2
 * NULL); otherwise the path arguments.
 */
static struct fi_rule *
fi_match(enum fi_call call, const char *fn, int fd, const char *p1,
	 const char *p2)
{
	char fdp[FI_FD_PATH_MAX];
	int have_fdp = 0, i, saved = errno;

	for (i = 0; i < fi_nrules; i++) {
		struct fi_rule *r = &fi_rules[i];
		unsigned long n;

		if (r->call != call)
			continue;
		if (fd == 2) {
			if (!r->has_path || strcmp(r->path, "/dev/stderr") != 0)
				continue;
		} else if (r->has_path && fd >= 0) {
			if (!have_fdp) {
				if (fi_fd_path(fd, fdp, sizeof(fdp)) != 0)
					fdp[0] = '\0';
				have_fdp = 1;
			}
			if (strstr(fdp, r->path) == NULL)
				continue;
		} else if (r->has_path) {
			if ((p1 == NULL || strstr(p1, r->path) == NULL) &&
			    (p2 == NULL || strstr(p2, r->path) == NULL))
				continue;
		}
		n = __atomic_add_fetch(&r->seen, 1, __ATOMIC_SEQ_CST);
		if (n <= r->after)
			continue;
		if (r->count > 0 &&
		    __atomic_add_fetch(&r->fired, 1, __ATOMIC_SEQ_CST) >
			r->count)
			continue;
		fi_log(r, fn, fd, p1, p2);
		errno = saved;
		return r;
	}
	errno = saved;
	return NULL;
}

/* A short call's byte count: half, at least 1. */
static size_t
fi_half(size_t n)
{
	return n > 1 ? n / 2 : n;
}

static int
fi_fail(const struct fi_rule *r)
{
	errno = r->err;
	return -1;
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	struct fi_rule *r;

	FI_READY();
	r = fi_match(FI_WRITE, "write", fd, NULL, NULL);
	if (r == NULL)
		return real_write(fd, buf, n);
	if (r->is_short)
		return real_write(fd, buf, fi_half(n));
	return fi_fail(r);
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	struct fi_rule *r;

	FI_READY();
	r = fi_match(FI_PWRITE, "pwrite", fd, NULL, NULL);
	if (r == NULL)
		return real_pwrite(fd, buf, n, off);
	if (r->is_short)
		return real_pwrite(fd, buf, fi_half(n), off);
	return fi_fail(r);
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	struct fi_rule *r;

	FI_READY();
	r = fi_match(FI_PWRITE, "pwrite64", fd, NULL, NULL);
	if (r == NULL)
		return real_pwrite64(fd, buf, n, off);
	if (r->is_short)
		return real_pwrite64(fd, buf, fi_half(n), off);
	return fi_fail(r);
}

ssize_t
read(int fd, void *buf, size_t n)
{
	struct fi_rule *r;

	FI_READY();
	r = fi_match(FI_READ, "read", fd, NULL, NULL);
	if (r == NULL)
		return real_read(fd, buf, n);
	if (r->is_short)
		return real_read(fd, buf, fi_half(n));
	return fi_fail(r);
}

ssize_t
__read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	struct fi_rule *r;

	FI_READY();
	r = fi_match(FI_READ, "__read_chk", fd, NULL, NULL);
	if (r == NULL)
		return real_read_chk(fd, buf, n, buflen);
	if (r->is_short)
		return real_read_chk(fd, buf, fi_half(n), buflen);
	return fi_fail(r);
}

int
fsync(int fd)
{
	struct fi_rule *r;

	FI_READY();
	r = fi_match(FI_FSYNC, "fsync", fd, NULL, NULL);
	return r ? fi_fail(r) : real_fsync(fd);
}

int
fdatasync(int fd)
{
	struct fi_rule *r;

	FI_READY();
	r = fi_match(FI_FDATASYNC, "fdatasync", fd, NULL, NULL);
	return r ? fi_fail(r) : real_fdatasync(fd);
}

int
close(int fd)
{
	struct fi_rule *r;
	int rc;

	FI_READY();
	r = fi_match(FI_CLOSE, "close", fd, NULL, NULL);
	fi_fd_forget(fd);
	rc = real_close(fd);
	/* Linux releases the descriptor even when close reports an error. */
	return r ? fi_fail(r) : rc;
}

int
rename(const char *oldpath, const char *newpath)
{
	struct fi_rule *r;

	FI_READY();
	r = fi_match(FI_RENAME, "rename", -1, oldpath, newpath);
	return r ? fi_fail(r) : real_rename(oldpath, newpath);
}

int
renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
	struct fi_rule *r;

	FI_READY();
	r = fi_match(FI_RENAMEAT, "renameat", -1, oldpath, newpath);
	return r ? fi_fail(r)
		 : real_renameat(olddirfd, oldpath, newdirfd, newpath);
}

int
renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
	  unsigned int flags)
{
	struct fi_rule *r;

	FI_READY();
	r = fi_match(FI_RENAMEAT, "renameat2", -1, oldpath, newpath);
	return r ? fi_fail(r)
		 : real_renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}

int
unlink(const char *path)
{
	struct fi_rule *r;

	FI_READY();
	r = fi_match(FI_UNLINK, "unlink", -1, path, NULL);
	return r ? fi_fail(r) : real_unlink(path);
}

/* The path as given: relative to dirfd, not resolved. */
int
unlinkat(int dirfd, const char *path, int flags)
{
	struct fi_rule *r;

	FI_READY();
	r = fi_match(FI_UNLINKAT, "unlinkat", -1, path, NULL);
	return r ? fi_fail(r) : real_unlinkat(dirfd, path, flags);
}

int
mkdir(const char *path, mode_t mode)
{
	struct fi_rule *r;

	FI_READY();
	r = fi_match(FI_MKDIR, "mkdir", -1, path, NULL);
	return r ? fi_fail(r) : real_mkdir(path, mode);
}

/* open's third argument exists only with O_CREAT or O_TMPFILE. */
static int
fi_needs_mode(int flags)
{
	return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

#define FI_MODE_ARG(flags, mode)                                               \
	do {                                                                   \
		if (fi_needs_mode(flags)) {                                    \
			va_list ap;                                            \
			va_start(ap, flags);                                   \
			mode = (mode_t)va_arg(ap, int);                        \
			va_end(ap);                                            \
		}                                                              \
	} while (0)

int
open(const char *path, int flags, ...)
{
	struct fi_rule *r;
	mode_t mode = 0;
	int fd;

	FI_MODE_ARG(flags, mode);
	FI_READY();
	r = fi_match(FI_OPEN, "open", -1, path, NULL);
	if (r)
		return fi_fail(r);
	fd = real_open(path, flags, mode);
	if (fd >= 0)
		fi_fd_forget(fd);
	return fd;
}

int
open64(const char *path, int flags, ...)
{
	struct fi_rule *r;
	mode_t mode = 0;
	int fd;

	FI_MODE_ARG(flags, mode);
	FI_READY();
	r = fi_match(FI_OPEN, "open64", -1, path, NULL);
	if (r)
		return fi_fail(r);
	fd = real_open64(path, flags, mode);
	if (fd >= 0)
		fi_fd_forget(fd);
	return fd;
}

int
__open_2(const char *path, int flags)
{
	struct fi_rule *r;
	int fd;

	FI_READY();
	r = fi_match(FI_OPEN, "__open_2", -1, path, NULL);
	if (r)
		return fi_fail(r);
	fd = real_open_2(path, flags);
	if (fd >= 0)
		fi_fd_forget(fd);
	return fd;
}

int
__open64_2(const char *path, int flags)
{
	struct fi_rule *r;
	int fd;

	FI_READY();
	r = fi_match(FI_OPEN, "__open64_2", -1, path, NULL);
	if (r)
		return fi_fail(r);
	fd = real_open64_2(path, flags);
	if (fd >= 0)
		fi_fd_forget(fd);
	return fd;
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	struct fi_rule *r;
	mode_t mode = 0;
	int fd;

	FI_MODE_ARG(flags, mode);
	FI_READY();
	r = fi_match(FI_OPENAT, "openat", -1, path, NULL);
	if (r)
		return fi_fail(r);
	fd = real_openat(dirfd, path, flags, mode);
	if (fd >= 0)
		fi_fd_forget(fd);
	return fd;
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
	struct fi_rule *r;
	mode_t mode = 0;
	int fd;

	FI_MODE_ARG(flags, mode);
	FI_READY();
	r = fi_match(FI_OPENAT, "openat64", -1, path, NULL);
	if (r)
		return fi_fail(r);
	fd = real_openat64(dirfd, path, flags, mode);
	if (fd >= 0)
		fi_fd_forget(fd);
	return fd;
}

int
__openat_2(int dirfd, const char *path, int flags)
{
	struct fi_rule *r;
	int fd;

	FI_READY();
	r = fi_match(FI_OPENAT, "__openat_2", -1, path, NULL);
	if (r)
		return fi_fail(r);
	fd = real_openat_2(dirfd, path, flags);
	if (fd >= 0)
		fi_fd_forget(fd);
	return fd;
}

int
__openat64_2(int dirfd, const char *path, int flags)
{
	struct fi_rule *r;
	int fd;

	FI_READY();
	r = fi_match(FI_OPENAT, "__openat64_2", -1, path, NULL);
	if (r)
		return fi_fail(r);
	fd = real_openat64_2(dirfd, path, flags);
	if (fd >= 0)
		fi_fd_forget(fd);
	return fd;
}
