/*
 * err.h - the caller-owned error every libsov function fills, and the exit
 * codes every sov tool returns.
 *
 * Library code never prints and never exits: it returns -1 (or NULL) and
 * fills a struct sov_err whose message names what was wrong and where
 * (file, line, field). The tool's main() turns it into "sov-NAME: message"
 * on stderr and returns err.code as its exit status.
 */
#ifndef SOV_ERR_H
#define SOV_ERR_H

#include <stdarg.h>
#include <stddef.h>

/* Exit codes (sysexits-compatible where it matters: 75 is EX_TEMPFAIL). */
#define SOV_EXIT_OK 0
#define SOV_EXIT_FAIL 1      /* the work failed */
#define SOV_EXIT_USAGE 2     /* usage or bad input: the message says where */
#define SOV_EXIT_TEMPFAIL 75 /* temporary failure: worth retrying */

#define SOV_ERR_MSG_MAX 1024

struct sov_err {
	int code; /* one of SOV_EXIT_*; 0 when clear */
	char
	    msg[SOV_ERR_MSG_MAX]; /* NUL-terminated, never a trailing newline */
};

/* Reset to "no error". Accepts NULL. */
void sov_err_clear(struct sov_err *e);

/*
 * Set code and message (printf format). Returns -1 so that library code can
 * write `return sov_err_set(e, SOV_EXIT_USAGE, "...")`. Accepts e == NULL.
 * A message longer than SOV_ERR_MSG_MAX is cut and ends in "...".
 */
int sov_err_set(struct sov_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As sov_err_set, with ": strerror(errno)" appended (errno is read first). */
int sov_err_sys(struct sov_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Bad input at a place: "FILE:LINE: FIELD: message". line 0 omits the
 * line, field NULL omits the field. Code is SOV_EXIT_USAGE.
 */
int sov_err_at(struct sov_err *e, const char *file, size_t line,
	       const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The same two, for a function that takes its own format and arguments. */
int sov_err_vset(struct sov_err *e, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
int sov_err_vat(struct sov_err *e, const char *file, size_t line,
		const char *field, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

/* Prepend context ("open store: " + old message); the code is kept. */
int sov_err_prefix(struct sov_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The exit code an errno deserves. A shortage that may clear up by itself
 * (ENOSPC, EDQUOT, EAGAIN, EINTR, ENOMEM, EMFILE, ENFILE, EBUSY) is
 * SOV_EXIT_TEMPFAIL, so sov-wf retries it; anything else (EIO, EXDEV, ...)
 * is SOV_EXIT_FAIL.
 */
int sov_exit_code_errno(int err);

/*
 * As sov_exit_code_errno, for opening a path the caller named: missing, not
 * a directory, a directory, denied, a loop or too long is SOV_EXIT_USAGE.
 */
int sov_exit_code_open(int err);

/* The code to exit with: e->code, or SOV_EXIT_FAIL when unset. */
int sov_err_exit_code(const struct sov_err *e);

#endif
