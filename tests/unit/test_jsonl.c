/* test_jsonl.c - the JSON-lines reader and writer, good and bad input. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonl.h"
#include "tap.h"

/* Read every record of text; returns a summary string like "1 2 E3 4". */
static void
read_all(const char *text, size_t len, size_t max_line, int flags, char *sum,
	 size_t sumlen, char *lasterr, size_t errlen)
{
	FILE *f = fmemopen((void *)text, len, "r");
	struct sov_jsonl_reader *r =
	    sov_jsonl_reader_new(f, "in.jsonl", max_line, flags);
	struct sov_err e;
	jv v;
	int rc;

	sum[0] = lasterr[0] = '\0';
	while ((rc = sov_jsonl_read(r, &v, &e)) != 0) {
		size_t n = strlen(sum);

		if (rc < 0) {
			snprintf(sum + n, sumlen - n, "%sE%zu", n ? " " : "",
				 sov_jsonl_reader_line(r));
			snprintf(lasterr, errlen, "%s", e.msg);
			if (e.code != SOV_EXIT_USAGE)
				break;
			continue;
		}
		jv s = jv_dump_string(v, 0);
		snprintf(sum + n, sumlen - n, "%s%s", n ? " " : "",
			 jv_string_value(s));
		jv_free(s);
	}
	sov_jsonl_reader_free(r);
	fclose(f);
}

#define READ(text, max, flags)                                                 \
	read_all(text, sizeof(text) - 1, max, flags, sum, sizeof(sum), err,    \
		 sizeof(err))

static void
test_reader(void)
{
	char sum[1024], err[SOV_ERR_MSG_MAX];

	READ("{\"a\":1}\n[2]\n\"x\"\n", 0, 0);
	is_str(sum, "{\"a\":1} [2] \"x\"", "three records");

	READ("1\n\n   \n2\r\n3", 0, 0);
	is_str(sum, "1 2 3",
	       "blank lines skipped, CRLF and a last line "
	       "without newline accepted");

	READ("1\n{\"a\":\n3\n", 0, 0);
	is_str(sum, "1 E2 3",
	       "truncated record reported at line 2, reading "
	       "goes on");
	like(err, "in.jsonl:2: invalid JSON", "message names file and line");

	READ("1\n[1,2,3,4,5,6,7,8,9,10]\n3\n", 10, 0);
	is_str(sum, "1 E2 3", "oversized line reported, next line still read");
	like(err, "in.jsonl:2: record longer than 10 bytes",
	     "message names "
	     "the cap");

	READ("\"ok\"\n\"bad \xC3\x28\"\n", 0, 0);
	is_str(sum, "\"ok\" E2", "invalid UTF-8 refused");
	like(err, "in.jsonl:2: invalid UTF-8 at column 6",
	     "column of the bad "
	     "byte");

	READ("\"\xC0\x80\"\n\"\xED\xA0\x80\"\n\"\xF4\x90\x80\x80\"\n\"\xE2\x82"
	     "\"\n",
	     0, 0);
	is_str(sum, "E1 E2 E3 E4",
	       "overlong, surrogate, past U+10FFFF, cut "
	       "sequence all refused");

	READ("\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"\n", 0, 0);
	is_str(sum, "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"",
	       "2-, 3- and 4-byte UTF-8 accepted");

	READ("{\"a\":\"x\0y\"}\n", 0, 0);
	is_str(sum, "E1", "NUL byte refused");
	like(err, "NUL byte at column 8", "NUL column named");

	READ("1 2\n", 0, 0);
	is_str(sum, "E1", "two values on one line refused");

	READ("nan\n\"a\tb\"\n{\"a\" \"b\"}\n[1,]\n01\n", 0, 0);
	is_str(sum, "E1 E2 E3 E4 E5",
	       "not JSON by RFC 8259 though jq 1.6 "
	       "takes some: nan, raw tab, no ':', "
	       "trailing comma, leading zero");
	like(err,
	     "in.jsonl:5: invalid JSON at column 2: unexpected data "
	     "after the value",
	     "the exact column and what was wrong");
	READ("{\"a\" \"b\"}\n", 0, 0);
	like(err, "column 6: expected ':' after the key",
	     "missing colon "
	     "named");
	READ("[1 2]\n", 0, 0);
	like(err, "column 4: expected ',' or ']'", "missing comma named");

	READ("1.7976931348623157e308\n-11e433\n2e308\n0.0001e311\n1e-400\n"
	     "0.05e310\n-0.5e309\n0.01e310\n",
	     0, 0);
	is_str(sum, "1.7976931348623157e+308 E2 E3 1e+307 0 E6 E7 1e+308",
	       "numbers past a double refused, not turned into another number "
	       "(fractions with an exponent too: 0.05e310 is 5e308)");
	like(err, "in.jsonl:7: invalid JSON at column 1: number out of range",
	     "range named");

	READ("{}\n[]\n7\n", 0, SOV_JSONL_OBJECTS);
	is_str(sum, "{} E2 E3", "objects-only reader refuses array and number");
	like(err, "in.jsonl:3: record is a number, want an object",
	     "kind named");

	{
		/* hostile nesting: an error, not a stack overflow */
		static char deep[20001];

		memset(deep, '[', 10000);
		memset(deep + 10000, ']', 10000);
		read_all(deep, 20000, 0, 0, sum, sizeof(sum), err, sizeof(err));
		is_str(sum, "E1", "10000-deep nesting refused");
		like(err, "nested deeper than the limit", "and says why");
	}

	READ("", 0, 0);
	is_str(sum, "", "empty input: no records, no error");
}

static void
test_utf8(void)
{
	is_int(sov_utf8_check("abc", 3), -1, "ASCII valid");
	is_int(sov_utf8_check("ab\xFF", 3), 2, "0xFF at offset 2");
	is_int(sov_utf8_check("\xF0\x9F\x98", 3), 0, "cut 4-byte sequence");
	is_int(sov_utf8_check("\xE0\x80\xAF", 3), 0, "overlong 3-byte form");
}

static void
test_writer(void)
{
	char path[512], buf[256];
	struct sov_jsonl_writer *w;
	struct sov_err e;
	FILE *f;
	size_t n;
	int fds[2];

	snprintf(path, sizeof(path), "%s/out.jsonl",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	f = fopen(path, "w");
	w = sov_jsonl_writer_new(f, path, SOV_JSONL_OWN);
	ok(sov_jsonl_write(w, jv_parse("{\"a\": [1, 2], \"b\": \"\xC3\xA9\"}"),
			   &e) == 0,
	   "write a record");
	ok(sov_jsonl_write(w, jv_number(3), &e) == 0, "write a number");
	is_int(sov_jsonl_write(w, jv_invalid(), &e), -1, "invalid jv refused");
	ok(sov_jsonl_writer_close(w, &e) == 0, "close");
	f = fopen(path, "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	is_str(buf, "{\"a\":[1,2],\"b\":\"\xC3\xA9\"}\n3\n",
	       "compact UTF-8 lines");

	/* A full disk: stdio keeps the error until the flush. */
	f = fopen("/dev/full", "w");
	w = sov_jsonl_writer_new(f, "/dev/full", SOV_JSONL_OWN);
	ok(sov_jsonl_write(w, jv_number(1), &e) == 0,
	   "buffered write succeeds");
	is_int(sov_jsonl_writer_close(w, &e), -1,
	       "close reports the full disk");
	like(e.msg, "write /dev/full: No space left on device", "ENOSPC named");

	/* With SOV_JSONL_FLUSH the failing record itself reports it. */
	f = fopen("/dev/full", "w");
	w = sov_jsonl_writer_new(f, "/dev/full",
				 SOV_JSONL_OWN | SOV_JSONL_FLUSH);
	is_int(sov_jsonl_write(w, jv_number(1), &e), -1,
	       "flushing write fails");
	is_int(sov_jsonl_write(w, jv_number(2), &e), -1, "and every later one");
	is_int(sov_jsonl_writer_close(w, &e), -1, "and the close");

	/* A closed pipe (the reader went away): EPIPE, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	if (pipe(fds) == 0) {
		close(fds[0]);
		f = fdopen(fds[1], "w");
		w = sov_jsonl_writer_new(f, "stdout",
					 SOV_JSONL_OWN | SOV_JSONL_FLUSH);
		is_int(sov_jsonl_write(w, jv_string("x"), &e), -1,
		       "closed pipe "
		       "fails");
		like(e.msg, "write stdout: Broken pipe", "EPIPE named");
		sov_jsonl_writer_close(w, NULL);
	} else {
		skip(2, "pipe() failed");
	}
}

static void
test_record(void)
{
	jv r = sov_record_new("measure");
	jv ts = jv_object_get(jv_copy(r), jv_string("ts"));
	jv ev = jv_object_get(r, jv_string("event"));

	is_int(jv_string_length_bytes(jv_copy(ts)), 24, "ts is 24 characters");
	ok(jv_string_value(ts)[23] == 'Z' && jv_string_value(ts)[10] == 'T',
	   "ts is RFC 3339 UTC");
	is_str(jv_string_value(ev), "measure", "event set");
	jv_free(ts);
	jv_free(ev);
}

int
main(void)
{
	test_reader();
	test_utf8();
	test_writer();
	test_record();
	return done_testing();
}
