/*
 * test_json_dump.c - sov_json_dump against jq's printer: the same text for
 * the values the tools write, the same value (parsed back) for all.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_dump.h"
#include "jsonl.h"
#include "tap.h"

/* Ours and jq's text of v (consumed), and whether they read back as v. */
static void
same(jv v, const char *what)
{
	jv ours = sov_json_dump(jv_copy(v)), jqs = jv_dump_string(jv_copy(v), 0);
	jv back = jv_parse(jv_string_value(ours));

	is_str(jv_string_value(ours), jv_string_value(jqs), "%s: as jq prints it",
	       what);
	ok(jv_equal(back, v), "%s: reads back the same", what);
	jv_free(ours);
	jv_free(jqs);
}

/* Only the value must match (jq prints these differently). */
static void
equal_value(jv v, const char *want, const char *what)
{
	jv ours = sov_json_dump(jv_copy(v));

	is_str(jv_string_value(ours), want, "%s", what);
	jv_free(ours);
	jv_free(v);
}

static void
test_text(void)
{
	same(jv_null(), "null");
	same(jv_true(), "true");
	same(jv_false(), "false");
	same(jv_number(0), "zero");
	same(jv_number(42), "an integer");
	same(jv_number(-1234567890123), "a large negative integer");
	same(jv_number(-1), "minus one");
	same(jv_number(1700000000000), "a time in ms");
	equal_value(jv_number(99999999999999984.0), "99999999999999984",
		    "the largest integer under 1e17: every digit");
	equal_value(jv_number(-99999999999999984.0), "-99999999999999984",
		    "its negative");
	same(jv_number(9007199254740993.0), "2^53 + 1 (read as 2^53)");
	same(jv_number(1e17), "1e17, past the integer path");
	equal_value(jv_number(-0.0), "0", "minus zero is 0");
	same(jv_number(0.1), "0.1");
	same(jv_number(1.5e-7), "1.5e-07");
	same(jv_number(1.0920048225671053e-06), "17 digits");
	same(jv_number(1e300), "1e300");
	same(jv_number(3.14159), "pi-ish");
	same(jv_string(""), "the empty string");
	same(jv_string("plain text"), "plain text");
	same(jv_string("quote \" backslash \\ slash /"), "quotes and backslashes");
	same(jv_string("tab\tnewline\ncr\rbs\bff\f"), "the short escapes");
	same(jv_string_sized("nul\0ctl\x01\x1f", 9), "NUL and control bytes");
	same(jv_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
	     "UTF-8 is copied, not escaped");
	same(jv_parse("[1,[2,[3,[]]],{},{\"a\":{\"b\":[null]}}]"), "nesting");
	same(jv_parse("{\"z\":1,\"a\":2,\"m\":{\"y\":true,\"b\":false}}"),
	     "keys in the object's order");
	same(JV_OBJECT(jv_string("ts"), jv_string("2026-11-23T07:26:06.574Z"),
		       jv_string("event"), jv_string("measure"),
		       jv_string("value"), jv_number(15.352),
		       jv_string("tags"),
		       JV_OBJECT(jv_string("undo"), jv_false(),
				 jv_string("host"), jv_string("vm"))),
	     "a measurement record");
}

static void
test_edges(void)
{
	jv deep = jv_array(), big;
	char *text;
	size_t len;
	int good = 1;

	equal_value(jv_number(NAN), "null", "NaN is null, as jq prints it");
	equal_value(jv_number(INFINITY), "1.7976931348623157e+308",
		    "infinity is the largest double, as jq prints it");
	equal_value(jv_number(-INFINITY), "-1.7976931348623157e+308",
		    "and minus infinity the smallest");
	equal_value(jv_string("\x7f"), "\"\\u007f\"", "DEL is escaped");

	/* 20000 levels: past this dumper's limit, jq's takes over. */
	for (int i = 0; i < 20000; i++)
		deep = jv_array_append(jv_array(), deep);
	is_int(sov_json_dump_text(jv_copy(deep), &text, &len), -1,
	       "nesting past 10000 levels is refused by the text form");
	ok(text == NULL, "with no text");
	{
		jv jqs = jv_dump_string(jv_copy(deep), 0);

		big = sov_json_dump(deep);
		ok(jv_equal(big, jqs),
		   "and handed to jq's printer by the jv form");
	}

	/* A long string of every byte that needs no escape, in runs. */
	big = jv_string("");
	for (int i = 0; i < 10000; i++)
		big = jv_string_append_str(big, "abc\"def\\ghi\n");
	is_int(sov_json_dump_text(jv_copy(big), &text, &len), 0,
	       "a 120 KB string");
	for (size_t i = 0; text && i < 10000; i++)
		good &= memcmp(text + 1 + i * 15, "abc\\\"def\\\\ghi\\n", 15) ==
			0;
	ok(good && len == 150002, "every escape in place (%zu bytes)", len);
	free(text);
	jv_free(big);

	is_int(sov_json_dump_text(jv_invalid(), &text, &len), -1,
	       "an invalid value has no text");
}

/* The sorted text of v (consumed) against jq's JV_PRINT_SORTED. */
static void
same_sorted(jv v, const char *what)
{
	jv jqs = jv_dump_string(jv_copy(v), JV_PRINT_SORTED);
	char *text = NULL;
	size_t len = 0;

	is_int(sov_json_dump_text_sorted(v, &text, &len), 0, "%s: dumped",
	       what);
	is_str(text ? text : "(none)", jv_string_value(jqs),
	       "%s: as jq prints it sorted", what);
	ok(text && len == (size_t)jv_string_length_bytes(jv_copy(jqs)),
	   "%s: and as long", what);
	free(text);
	jv_free(jqs);
}

/* A pseudo-random value of the shapes a tree holds, and then some. */
static jv
random_value(unsigned *seed, int depth)
{
	static const char *keys[] = {"a",     "ab",    "b",	 "",
				     "a\x01", "\xc3\xa9", "name", "nodes",
				     "Z",     "mtime", "a b",   "\x7f"};
	unsigned r = (unsigned)rand_r(seed);

	switch (depth > 3 ? r % 5 : r % 7) {
	case 0:
		return jv_null();
	case 1:
		return (r >> 3) & 1 ? jv_true() : jv_false();
	case 2: {
		/* integers of every size, to and past 2^53 */
		double d = (double)(rand_r(seed) % 1000000);

		for (int i = rand_r(seed) % 14; i > 0; i--)
			d *= 31;
		return jv_number((r >> 4) & 1 ? -d : d);
	}
	case 3:
		return jv_number((double)rand_r(seed) / 7.0);
	case 4:
		return jv_string(keys[rand_r(seed) % 12]);
	case 5: {
		jv a = jv_array();

		for (int i = rand_r(seed) % 5; i > 0; i--)
			a = jv_array_append(a, random_value(seed, depth + 1));
		return a;
	}
	default: {
		jv o = jv_object();

		for (int i = rand_r(seed) % 40; i > 0; i--)
			o = jv_object_set(o, jv_string(keys[rand_r(seed) % 12]),
					  random_value(seed, depth + 1));
		return o;
	}
	}
}

static void
test_sorted(void)
{
	unsigned seed = 20261123;
	int bad = 0;

	same_sorted(jv_parse("{\"z\":1,\"a\":2,\"m\":{\"y\":true,\"b\":false}}"),
		    "keys sorted at every level");
	same_sorted(jv_parse("{\"ab\":1,\"a\":2,\"b\":3,\"\":4}"),
		    "a prefix sorts first");
	same_sorted(jv_parse("{\"nodes\":[{\"type\":\"file\",\"name\":\"x\","
			     "\"size\":3,\"mtime\":\"2026-11-23T07:26:06.5Z\","
			     "\"content\":[\"ab\",\"cd\"],\"mode\":420}]}"),
		    "a tree");
	same_sorted(jv_object(), "an empty object");
	{
		/* more keys than the dumper keeps on its stack */
		jv o = jv_object();

		for (int i = 0; i < 100; i++) {
			char k[16];

			snprintf(k, sizeof(k), "k%d", (i * 37) % 100);
			o = jv_object_set(o, jv_string(k), jv_number(i));
		}
		same_sorted(o, "100 keys");
	}
	for (int i = 0; i < 2000; i++) {
		jv v = random_value(&seed, 0);
		jv jqs = jv_dump_string(jv_copy(v), JV_PRINT_SORTED);
		char *text = NULL;
		size_t len = 0;

		if (sov_json_dump_text_sorted(v, &text, &len) < 0 ||
		    strcmp(text, jv_string_value(jqs)) != 0) {
			if (bad++ < 3)
				diag("differs: ours %s\n jq's %s",
				     text ? text : "(none)",
				     jv_string_value(jqs));
		}
		free(text);
		jv_free(jqs);
	}
	is_int(bad, 0, "2000 random values: the same text as jq's sorted dump");
}

int
main(void)
{
	test_text();
	test_edges();
	test_sorted();
	return done_testing();
}
