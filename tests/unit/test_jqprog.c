/* test_jqprog.c - jq programs compiled once and run per record. */
#include "jqprog.h"
#include "tap.h"

static jv
J(const char *s)
{
	return jv_parse(s);
}

static char *
dump(jv v, char *buf, size_t n)
{
	jv s = jv_dump_string(v, 0);

	snprintf(buf, n, "%s", jv_string_value(s));
	jv_free(s);
	return buf;
}

int
main(void)
{
	struct sov_err e;
	struct sov_jq *q;
	char buf[256];
	int truth;
	jv out;

	/* mapping: compiled once, run on many records */
	q = sov_jq_compile("{id: .id, score: (.n * 2)}", "steps.score.input",
			   jv_invalid(), &e);
	ok(q != NULL, "compile a mapping");
	for (int i = 1; i <= 3; i++) {
		char in[64], want[64];

		snprintf(in, sizeof(in), "{\"id\":%d,\"n\":%d}", i, i * 10);
		snprintf(want, sizeof(want), "{\"id\":%d,\"score\":%d}", i,
			 i * 20);
		ok(sov_jq_first(q, J(in), &out, &e) == 0, "run %d", i);
		is_str(dump(out, buf, sizeof(buf)), want, "result %d", i);
	}
	ok(sov_jq_first(q, J("{\"n\":{}}"), &out, &e) == -1,
	   "runtime error on an object * 2");
	is_int(e.code, SOV_EXIT_FAIL, "runtime error is code 1");
	like(e.msg,
	     "steps.score.input: jq: error:", "runtime error names where");
	ok(sov_jq_first(q, J("{\"id\":9,\"n\":1}"), &out, &e) == 0,
	   "the program still runs after an error");
	jv_free(out);
	sov_jq_free(q);

	/* filter: every output */
	q = sov_jq_compile(".[] | select(. > 1)", NULL, jv_invalid(), &e);
	ok(sov_jq_all(q, J("[1,2,3]"), &out, &e) == 0, "filter runs");
	is_str(dump(out, buf, sizeof(buf)), "[2,3]", "all outputs in order");
	ok(sov_jq_first(q, J("[0]"), &out, &e) == -1, "no output is an error "
						      "for a mapping");
	like(e.msg, "jq program: produced no output", "and says so");
	sov_jq_free(q);

	/* condition */
	q = sov_jq_compile(".score >= $min", "steps.notify.if",
			   J("{\"min\": 50}"), &e);
	ok(q != NULL, "compile a condition with a $variable");
	ok(sov_jq_test(q, J("{\"score\":70}"), &truth, &e) == 0 && truth == 1,
	   "70 >= 50 is true");
	ok(sov_jq_test(q, J("{\"score\":10}"), &truth, &e) == 0 && truth == 0,
	   "10 >= 50 is false");
	sov_jq_free(q);
	q = sov_jq_compile(".missing", NULL, jv_invalid(), &e);
	ok(sov_jq_test(q, J("{}"), &truth, &e) == 0 && truth == 0,
	   "null is false");
	sov_jq_free(q);
	q = sov_jq_compile("empty", NULL, jv_invalid(), &e);
	ok(sov_jq_test(q, J("{}"), &truth, &e) == 0 && truth == 0,
	   "no output is false");
	sov_jq_free(q);
	q = sov_jq_compile("error({code: 7})", "x", jv_invalid(), &e);
	ok(sov_jq_test(q, J("{}"), &truth, &e) == -1, "error(object) fails");
	like(e.msg, "{\"code\":7}", "the object is shown as JSON");
	sov_jq_free(q);

	/* A program that halts, run again and again on the same state: jq
	 * 1.6 would free its message once per reset (a double free that
	 * valgrind and the sanitized pass see). */
	q = sov_jq_compile("if .stop then \"enough\" | halt_error(3) else .n "
			   "end",
			   "steps.h.jq", jv_invalid(), &e);
	for (int i = 0; q && i < 3; i++) {
		ok(sov_jq_first(q, J("{\"stop\":true}"), &out, &e) == -1,
		   "halt_error fails (run %d)", i + 1);
		is_str(e.msg, "steps.h.jq: jq: halted: enough",
		       "with its message (run %d)", i + 1);
		ok(sov_jq_first(q, J("{\"n\":4}"), &out, &e) == 0 &&
		       jv_number_value(out) == 4,
		   "the state runs again after it (run %d)", i + 1);
		jv_free(out);
	}
	sov_jq_free(q);
	q = sov_jq_compile("halt", "f", jv_invalid(), &e);
	ok(q && sov_jq_test(q, J("{}"), &truth, &e) == -1 &&
	       sov_jq_test(q, J("{}"), &truth, &e) == -1,
	   "halt, twice, fails");
	is_str(e.msg, "f: jq: halted", "halt says so");
	sov_jq_free(q);

	/* compile errors: clear, code 2, where named, nothing on stderr */
	q = sov_jq_compile(".a | | .b", "wf.json: steps.score.if", jv_invalid(),
			   &e);
	ok(q == NULL, "syntax error refused");
	is_int(e.code, SOV_EXIT_USAGE, "compile error is code 2");
	like(e.msg, "wf.json: steps.score.if: ", "message names where");
	like(e.msg, "syntax error", "message has jq's words");
	q = sov_jq_compile("nosuchfunction(1)", "f", jv_invalid(), &e);
	ok(q == NULL, "unknown function refused");
	like(e.msg, "nosuchfunction/1 is not defined",
	     "unknown function named");
	q = sov_jq_compile(".x == $undefined", "f", jv_invalid(), &e);
	ok(q == NULL, "undefined variable refused");
	like(e.msg, "$undefined is not defined", "variable named");
	q = sov_jq_compile(".", "f", jv_number(1), &e);
	ok(q == NULL && e.code == SOV_EXIT_USAGE, "variables not an object "
						  "refused");
	q = sov_jq_compile(NULL, "f", jv_invalid(), &e);
	ok(q == NULL && e.code == SOV_EXIT_USAGE, "no program refused");
	return done_testing();
}
