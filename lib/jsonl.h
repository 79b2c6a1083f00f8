/*
 * jsonl.h - JSON lines in and out, on jv.
 *
 * The reader takes one JSON value per line, caps the line length, refuses
 * invalid UTF-8 and NUL bytes (jq's parser would quietly replace them), skips
 * blank lines, accepts CRLF, and reports a bad record as "FILE:LINE: what".
 * The writer prints compact records, one per line, and reports a failed write
 * (a full disk, a closed pipe) as an error instead of losing it.
 */
#ifndef SOV_JSONL_H
#define SOV_JSONL_H

#include <stddef.h>
#include <stdio.h>

#include <jv.h>

#include "err.h"

#define SOV_JSONL_LINE_MAX (1u << 20) /* default cap: 1 MiB per record */

enum {
	SOV_JSONL_OBJECTS = 1 << 0, /* reader: every record must be an object */
	SOV_JSONL_OWN = 1 << 1,     /* reader/writer: fclose the FILE at free */
	SOV_JSONL_FLUSH = 1 << 2,   /* writer: flush after every record */
};

struct sov_jsonl_reader;

/*
 * Read records from f; name is used in messages ("-" or "stdin" for stdin).
 * max_line 0 means SOV_JSONL_LINE_MAX. NULL only when out of memory. A
 * FILE with a descriptor is read through it with read(2), so that a record
 * is returned as soon as its line has arrived (fread would wait for a whole
 * buffer from a pipe): nothing else may read from f.
 */
struct sov_jsonl_reader *sov_jsonl_reader_new(FILE *f, const char *name,
					      size_t max_line, int flags);

/*
 * The next record into *out (owned by the caller). Returns 1 for a record,
 * 0 at the end of input, -1 on a bad record (SOV_EXIT_USAGE, "NAME:LINE:
 * ...") or a read error (SOV_EXIT_FAIL). After a bad record the reader is
 * positioned at the next line, so a caller may report and go on.
 */
int sov_jsonl_read(struct sov_jsonl_reader *r, jv *out, struct sov_err *e);

/* Whether the reader holds input it has not returned yet (so a caller that
 * waits for input with poll(2) must read first). */
int sov_jsonl_reader_buffered(const struct sov_jsonl_reader *r);

/* Line number of the record last returned (1-based). */
size_t sov_jsonl_reader_line(const struct sov_jsonl_reader *r);

void sov_jsonl_reader_free(struct sov_jsonl_reader *r); /* accepts NULL */

struct sov_jsonl_writer;

/* Write records to f; name is used in messages. NULL only when out of memory.
 */
struct sov_jsonl_writer *sov_jsonl_writer_new(FILE *f, const char *name,
					      int flags);

/* Write one record (consumed). An invalid jv is refused. */
int sov_jsonl_write(struct sov_jsonl_writer *w, jv rec, struct sov_err *e);

/* Write text (len bytes of one JSON value, no newline) as one line. */
int sov_jsonl_write_text(struct sov_jsonl_writer *w, const char *text,
			 size_t len, struct sov_err *e);

/* Flush, check for errors that stdio kept until now. */
int sov_jsonl_flush(struct sov_jsonl_writer *w, struct sov_err *e);

/*
 * Flush, close when owned, free. Returns -1 if any write, the flush or the
 * close failed, so a full disk at the last buffer still fails the run.
 * Accepts NULL (returns 0).
 */
int sov_jsonl_writer_close(struct sov_jsonl_writer *w, struct sov_err *e);

/* {"ts": now in RFC 3339 UTC ms, "event": event}: the start of every record. */
jv sov_record_new(const char *event);

/*
 * Check that s[0..n) is valid UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF). Returns -1 when valid, else the offset of the first
 * bad byte.
 */
long sov_utf8_check(const char *s, size_t n);

/*
 * Check that s[0..n) is exactly one JSON value (RFC 8259; whitespace around
 * it allowed), nested at most SOV_JSON_DEPTH_MAX deep. Returns -1 when it
 * is, else the offset of the first error with *why (when not NULL) saying
 * what was expected. Allocates nothing; the reader runs it before jq.
 */
#define SOV_JSON_DEPTH_MAX 256
long sov_json_check(const char *s, size_t n, const char **why);

/*
 * Parse JSON text that came from outside (a record, an HTTP body): valid
 * UTF-8, no NUL byte, strict RFC 8259, then jq's parser. Returns the value,
 * or jv_invalid() with SOV_EXIT_USAGE and a message that says where
 * ("invalid JSON at line 3, column 7: expected ',' or '}'"); the caller
 * prefixes its own context (file and line, URL).
 */
jv sov_json_parse(const char *s, size_t n, struct sov_err *e);

#endif
