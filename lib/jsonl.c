/* jsonl.c - JSON lines reader and writer; see jsonl.h. */
#include "jsonl.h"
#include "json_dump.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "timestamp.h"

#define SOV_JSONL_CHUNK (64u << 10)
#define SOV_JSONL_NAME_MAX 512

struct sov_jsonl_reader {
	FILE *f;
	char name[SOV_JSONL_NAME_MAX];
	size_t max_line;
	int flags;
	size_t line;     /* lines consumed so far */
	char *buf;       /* read buffer of SOV_JSONL_CHUNK bytes */
	size_t pos, end; /* unread bytes are buf[pos..end) */
	int eof;
	char *rec; /* the current line, NUL-terminated */
	size_t len, cap;
};

struct sov_jsonl_writer {
	FILE *f;
	char name[SOV_JSONL_NAME_MAX];
	int flags;
	int failed; /* a write failed: every later call fails too */
	int saved_errno;
};

static void
set_name(char *dst, const char *name)
{
	/* A long name is cut, never refused: it is only for messages. */
	snprintf(dst, SOV_JSONL_NAME_MAX, "%s", name ? name : "-");
}

struct sov_jsonl_reader *
sov_jsonl_reader_new(FILE *f, const char *name, size_t max_line, int flags)
{
	struct sov_jsonl_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->buf = malloc(SOV_JSONL_CHUNK);
	if (r->buf == NULL) {
		free(r);
		return NULL;
	}
	r->f = f;
	set_name(r->name, name);
	r->max_line = max_line ? max_line : SOV_JSONL_LINE_MAX;
	r->flags = flags;
	return r;
}

void
sov_jsonl_reader_free(struct sov_jsonl_reader *r)
{
	if (r == NULL)
		return;
	if ((r->flags & SOV_JSONL_OWN) && r->f != NULL)
		fclose(r->f);
	free(r->buf);
	free(r->rec);
	free(r);
}

size_t
sov_jsonl_reader_line(const struct sov_jsonl_reader *r)
{
	return r->line;
}

/* Append n bytes to the current line, unless it is already over the cap. */
static int
append(struct sov_jsonl_reader *r, const char *p, size_t n, int *too_long)
{
	if (*too_long || r->len + n > r->max_line) {
		*too_long = 1;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 256;
		char *nr;

		while (cap < r->len + n + 1)
			cap *= 2;
		nr = realloc(r->rec, cap);
		if (nr == NULL)
			return -1;
		r->rec = nr;
		r->cap = cap;
	}
	memcpy(r->rec + r->len, p, n);
	r->len += n;
	r->rec[r->len] = '\0';
	return 0;
}

/*
 * Refill the buffer with what is there now. A FILE on a descriptor (a pipe,
 * a terminal, a file) is read with read(2), which returns what has arrived:
 * fread would wait for a whole chunk, so a record written into a pipe
 * would wait for the next 64 KiB behind it. r->end 0 is the end of input.
 */
static int
fill(struct sov_jsonl_reader *r)
{
	int fd = fileno(r->f);
	ssize_t k;

	if (fd < 0) { /* fmemopen and the like: no descriptor */
		r->end = fread(r->buf, 1, SOV_JSONL_CHUNK, r->f);
		return r->end == 0 && ferror(r->f) ? -1 : 0;
	}
	do
		k = read(fd, r->buf, SOV_JSONL_CHUNK);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -1;
	r->end = (size_t)k;
	return 0;
}

/*
 * Read the next line into r->rec (without its newline). 1 for a line, 0 at
 * the end of input. A line over the cap is consumed to its end and reported.
 */
static int
next_line(struct sov_jsonl_reader *r, struct sov_err *e)
{
	int too_long = 0, any = 0;

	r->len = 0;
	for (;;) {
		char *nl;
		size_t n;

		if (r->pos == r->end) {
			if (r->eof)
				break;
			r->pos = 0;
			if (fill(r) < 0)
				return sov_err_sys(e, SOV_EXIT_FAIL, "read %s",
						   r->name);
			if (r->end == 0) {
				r->eof = 1;
				break;
			}
		}
		any = 1;
		nl = memchr(r->buf + r->pos, '\n', r->end - r->pos);
		n = (nl ? (size_t)(nl - r->buf) : r->end) - r->pos;
		if (append(r, r->buf + r->pos, n, &too_long) < 0)
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "%s:%zu: out of memory", r->name,
					   r->line + 1);
		r->pos += n;
		if (nl) {
			r->pos++;
			break;
		}
	}
	if (!any)
		return 0;
	r->line++;
	if (too_long)
		return sov_err_at(e, r->name, r->line, NULL,
				  "record longer than %zu bytes", r->max_line);
	return 1;
}

static int
blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

int
sov_jsonl_reader_buffered(const struct sov_jsonl_reader *r)
{
	return r->pos < r->end;
}

int
sov_jsonl_read(struct sov_jsonl_reader *r, jv *out, struct sov_err *e)
{
	jv v;
	int rc;

	*out = jv_invalid();
	do {
		rc = next_line(r, e);
		if (rc <= 0)
			return rc;
	} while (blank(r->rec, r->len));
	if (r->len > 0 && r->rec[r->len - 1] == '\r')
		r->rec[--r->len] = '\0';
	v = sov_json_parse(r->rec, r->len, e);
	if (!jv_is_valid(v))
		return sov_err_prefix(e, "%s:%zu: ", r->name, r->line);
	if ((r->flags & SOV_JSONL_OBJECTS) &&
	    jv_get_kind(v) != JV_KIND_OBJECT) {
		sov_err_at(e, r->name, r->line, NULL,
			   "record is %s %s, want an object",
			   jv_get_kind(v) == JV_KIND_ARRAY ? "an" : "a",
			   jv_kind_name(jv_get_kind(v)));
		jv_free(v);
		return -1;
	}
	*out = v;
	return 1;
}

struct sov_jsonl_writer *
sov_jsonl_writer_new(FILE *f, const char *name, int flags)
{
	struct sov_jsonl_writer *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->f = f;
	w->flags = flags;
	set_name(w->name, name);
	return w;
}

static int
writer_fail(struct sov_jsonl_writer *w, struct sov_err *e)
{
	if (!w->failed) {
		w->failed = 1;
		w->saved_errno = errno ? errno : EIO;
	}
	errno = w->saved_errno;
	return sov_err_sys(e, SOV_EXIT_FAIL, "write %s", w->name);
}

int
sov_jsonl_write(struct sov_jsonl_writer *w, jv rec, struct sov_err *e)
{
	char *text;
	size_t len;

	if (!jv_is_valid(rec)) {
		jv_free(rec);
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "write %s: not a JSON value", w->name);
	}
	if (w->failed) {
		jv_free(rec);
		return writer_fail(w, e);
	}
	if (sov_json_dump_text(rec, &text, &len) < 0)
		return sov_err_set(e, SOV_EXIT_FAIL, "write %s: out of memory",
				   w->name);
	/* The newline goes in the same write: one line, one write(2). */
	text[len] = '\n';
	errno = 0;
	if (fwrite(text, 1, len + 1, w->f) != len + 1) {
		free(text);
		return writer_fail(w, e);
	}
	free(text);
	if ((w->flags & SOV_JSONL_FLUSH) && fflush(w->f) != 0)
		return writer_fail(w, e);
	return 0;
}

int
sov_jsonl_write_text(struct sov_jsonl_writer *w, const char *text, size_t len,
		     struct sov_err *e)
{
	if (w->failed)
		return writer_fail(w, e);
	errno = 0;
	if (fwrite(text, 1, len, w->f) != len || putc('\n', w->f) == EOF)
		return writer_fail(w, e);
	if ((w->flags & SOV_JSONL_FLUSH) && fflush(w->f) != 0)
		return writer_fail(w, e);
	return 0;
}

int
sov_jsonl_flush(struct sov_jsonl_writer *w, struct sov_err *e)
{
	if (w->failed)
		return writer_fail(w, e);
	errno = 0;
	if (fflush(w->f) != 0 || ferror(w->f))
		return writer_fail(w, e);
	return 0;
}

int
sov_jsonl_writer_close(struct sov_jsonl_writer *w, struct sov_err *e)
{
	int rc = 0;

	if (w == NULL)
		return 0;
	if (sov_jsonl_flush(w, e) < 0)
		rc = -1;
	if (w->flags & SOV_JSONL_OWN) {
		errno = 0;
		if (fclose(w->f) != 0 && rc == 0)
			rc = writer_fail(w, e);
	}
	free(w);
	return rc;
}

jv
sov_record_new(const char *event)
{
	char ts[SOV_TIME_RFC3339_LEN];

	sov_time_format(sov_time_now_ms(), ts);
	return jv_object_set(
	    jv_object_set(jv_object(), jv_string("ts"), jv_string(ts)),
	    jv_string("event"), jv_string(event));
}

long
sov_utf8_check(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t len;
		unsigned cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0)
			len = 2, cp = c & 0x1F, min = 0x80;
		else if ((c & 0xF0) == 0xE0)
			len = 3, cp = c & 0x0F, min = 0x800;
		else if ((c & 0xF8) == 0xF0)
			len = 4, cp = c & 0x07, min = 0x10000;
		else
			return (long)i;
		if (i + len > n)
			return (long)i;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return (long)i;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return (long)i;
		i += len;
	}
	return -1;
}
