/* err.c - filling a caller-owned struct sov_err; see err.h. */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
sov_err_clear(struct sov_err *e)
{
	if (e == NULL)
		return;
	e->code = 0;
	e->msg[0] = '\0';
}

/* Mark a cut message so that nobody mistakes it for the whole. */
static void
mark_truncated(struct sov_err *e, int n)
{
	if (n >= (int)sizeof(e->msg))
		memcpy(e->msg + sizeof(e->msg) - 4, "...", 4);
}

static void
strip_newlines(struct sov_err *e)
{
	size_t n = strlen(e->msg);

	while (n > 0 && (e->msg[n - 1] == '\n' || e->msg[n - 1] == '\r'))
		e->msg[--n] = '\0';
}

int
sov_err_vset(struct sov_err *e, int code, const char *fmt, va_list ap)
{
	int n;

	if (e == NULL)
		return -1;
	e->code = code;
	n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (n < 0)
		e->msg[0] = '\0';
	mark_truncated(e, n);
	strip_newlines(e);
	return -1;
}

int
sov_err_set(struct sov_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sov_err_vset(e, code, fmt, ap);
	va_end(ap);
	return -1;
}

int
sov_err_sys(struct sov_err *e, int code, const char *fmt, ...)
{
	int saved = errno;
	char what[SOV_ERR_MSG_MAX];
	va_list ap;
	int n;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (n < 0)
		what[0] = '\0';
	return sov_err_set(e, code, "%s: %s", what, strerror(saved));
}

int
sov_err_vat(struct sov_err *e, const char *file, size_t line, const char *field,
	    const char *fmt, va_list ap)
{
	char where[512], what[SOV_ERR_MSG_MAX];
	int n;

	if (e == NULL)
		return -1;
	if (line > 0)
		n = snprintf(where, sizeof(where),
			     "%s:%zu: ", file ? file : "-", line);
	else
		n = snprintf(where, sizeof(where), "%s: ", file ? file : "-");
	if (n < 0 || (size_t)n >= sizeof(where))
		where[0] = '\0';
	n = vsnprintf(what, sizeof(what), fmt, ap);
	if (n < 0)
		what[0] = '\0';
	if (field != NULL && field[0] != '\0')
		return sov_err_set(e, SOV_EXIT_USAGE, "%s%s: %s", where, field,
				   what);
	return sov_err_set(e, SOV_EXIT_USAGE, "%s%s", where, what);
}

int
sov_err_at(struct sov_err *e, const char *file, size_t line, const char *field,
	   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sov_err_vat(e, file, line, field, fmt, ap);
	va_end(ap);
	return -1;
}

int
sov_err_prefix(struct sov_err *e, const char *fmt, ...)
{
	char pre[SOV_ERR_MSG_MAX], old[SOV_ERR_MSG_MAX];
	va_list ap;
	int n;

	if (e == NULL)
		return -1;
	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	if (n < 0)
		pre[0] = '\0';
	return sov_err_set(e, e->code ? e->code : SOV_EXIT_FAIL, "%s%s", pre,
			   old);
}

int
sov_err_exit_code(const struct sov_err *e)
{
	if (e == NULL || e->code == 0)
		return SOV_EXIT_FAIL;
	return e->code;
}

int
sov_exit_code_errno(int err)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
	case EAGAIN:
	case EINTR:
	case ENOMEM:
	case EMFILE:
	case ENFILE:
	case EBUSY:
		return SOV_EXIT_TEMPFAIL;
	default:
		return SOV_EXIT_FAIL;
	}
}

int
sov_exit_code_open(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
	case EISDIR:
	case EACCES:
	case ELOOP:
	case ENAMETOOLONG:
		return SOV_EXIT_USAGE;
	default:
		return sov_exit_code_errno(err);
	}
}
