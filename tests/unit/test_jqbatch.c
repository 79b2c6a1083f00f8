/* test_jqbatch.c - many jq programs checked together give each one's own
 * answer. */
#include <stdlib.h>
#include <string.h>

#include "jqbatch.h"
#include "jqprog.h"
#include "tap.h"

/* What sov_jq_compile says of src alone: 1 bad, 0 good. */
static int
bad_alone(const char *src, jv vars)
{
	struct sov_err e = {0};
	struct sov_jq *q = sov_jq_compile(src, NULL, jv_copy(vars), &e);

	sov_jq_free(q);
	return q == NULL;
}

static const struct {
	const char *src;
	int contained;
} shapes[] = {
    {".", 1},
    {"{a: [.b, (.c | length)]}", 1},
    {"\"a ) ] } ( [ {\"", 1},               /* brackets in a string */
    {"\"x\\(.a + (\"(\" | length))y\"", 1}, /* a string in \( ) */
    {"\"\\\"(\"", 1},                       /* an escaped quote */
    {"def f: 1; f", 1},
    {".a # a comment", 0},
    {"import \"m\" as m; .", 0},
    {"include \"m\"; .", 0},
    {".module", 0}, /* careful: slower */
    {"__sovjq_0", 0},
    {"1); def g: (1", 0}, /* reaches out */
    {"(1", 0},
    {"1)", 0},
    {"[1}", 0},
    {"\"open", 0},
    {"\"\\(1\"", 0}, /* \( never closed */
    {"\"a\\", 0},    /* trailing backslash */
    {"", 1},
};

/* Programs whose answer the batch must reproduce, good and bad mixed. */
static const char *const mixed[] = {
    ".",
    ".a.b",
    "{score: ((if .free_mail then 0 else 40 end) + (if ((.title // \"\") "
    "| test(\"founder|ceo\"; \"i\")) then 30 else 0 end))}",
    ".steps.score.score >= 70",
    "nosuchfunction",
    "$nosuchvar",
    "$x + 1",
    "if . then 1",
    "1 +",
    "def f: 1;",
    "def f(g): g | g; f(. + 1)",
    "reduce .[] as $i (0; . + $i)",
    "[.[] | select(.n > 1)] | length",
    "\"text \\(.a) and \\(.b | tostring)\"",
    "   ",
    ".a # trailing comment",
    "1); def __sovjq_1: (1",
    "label $out | foreach .[] as $i (0; . + $i; if . > 3 then ., break "
    "$out else empty end)",
    "@base64 \"x\\(.)\"",
    "try error(\"x\") catch .",
    ".[",
    "$__loc__",
    "limit(2; .[])",
    "env.HOME",
    "input",
    "{(.k): .v}",
    "path(..)",
    "getpath([\"a\"]) |= 3",
    "tojson | fromjson",
    "ltrimstr(\"a\") | ascii_downcase",
};

#define N_MIXED (sizeof(mixed) / sizeof(*mixed))

static void
check_against_alone(const char *const *src, size_t n, jv vars,
		    const char *label)
{
	unsigned char *bad = malloc(n);
	struct sov_err e = {0};
	size_t wrong = 0;

	if (bad == NULL)
		abort();
	ok(sov_jq_check_many(src, n, vars, bad, &e) == 0, "%s: checked", label);
	for (size_t i = 0; i < n; i++)
		if (bad[i] != bad_alone(src[i], vars)) {
			diag("  %s: \"%s\": batch says %s", label, src[i],
			     bad[i] ? "bad" : "good");
			wrong++;
		}
	is_int((int)wrong, 0, "%s: every answer is the program's own", label);
	free(bad);
}

/* Programs compiled as a set run as each would alone. */
static void
test_set(void)
{
	const char *src[] = {
	    "{id: .id, double: (.n * 2)}",
	    ".[] | select(. > 1)",
	    ".n > $x",
	    ".a # a comment: compiled alone",
	    "error(\"no \\(.id)\")",
	};
	const char *where[] = {"s.a.input", "s.b.jq", "s.c.if", "s.d.jq",
			       "s.e.jq"};
	struct sov_jq *q[5], *many[250];
	const char *msrc[250], *mwhere[250];
	char text[250][32];
	struct sov_err e = {0};
	jv vars = jv_object_set(jv_object(), jv_string("x"), jv_number(5));
	jv out;
	int truth, right = 0;

	ok(sov_jq_compile_set(src, where, 5, vars, q, &e) == 0,
	   "a set of five compiles");
	ok(sov_jq_first(q[0], jv_parse("{\"id\":1,\"n\":21}"), &out, &e) == 0 &&
	       jv_equal(out, jv_parse("{\"id\":1,\"double\":42}")),
	   "a mapping");
	ok(sov_jq_all(q[1], jv_parse("[0,2,3]"), &out, &e) == 0 &&
	       jv_equal(out, jv_parse("[2,3]")),
	   "a filter, every output");
	ok(sov_jq_test(q[2], jv_parse("{\"n\":6}"), &truth, &e) == 0 &&
	       truth == 1,
	   "a condition with $x");
	ok(sov_jq_test(q[2], jv_parse("{\"n\":4}"), &truth, &e) == 0 &&
	       truth == 0,
	   "and false");
	ok(sov_jq_first(q[3], jv_parse("{\"a\":7}"), &out, &e) == 0 &&
	       jv_equal(out, jv_number(7)),
	   "the one compiled alone");
	ok(sov_jq_first(q[4], jv_parse("{\"id\":3}"), &out, &e) == -1,
	   "a runtime error");
	is_str(e.msg, "s.e.jq: jq: error: no 3", "names its own place");
	ok(sov_jq_first(q[0], jv_parse("{\"id\":2,\"n\":1}"), &out, &e) == 0 &&
	       jv_equal(out, jv_parse("{\"id\":2,\"double\":2}")),
	   "the first again after the others");
	sov_jq_free(q[2]);
	sov_jq_free(q[0]);
	ok(sov_jq_all(q[1], jv_parse("[5]"), &out, &e) == 0 &&
	       jv_equal(out, jv_parse("[5]")),
	   "a member runs after others are freed");
	sov_jq_free(q[1]);
	sov_jq_free(q[3]);
	sov_jq_free(q[4]);

	src[1] = ".[] | nosuch";
	ok(sov_jq_compile_set(src, where, 5, vars, q, &e) == -1,
	   "a set with a bad program fails");
	ok(q[0] == NULL && q[4] == NULL, "and gives nothing");
	jv_free(vars);

	/* past one compile's hundred: each still runs its own */
	for (int i = 0; i < 250; i++) {
		xsnprintf(text[i], sizeof(text[i]), ". + %d", i);
		msrc[i] = text[i];
		mwhere[i] = "many";
	}
	ok(sov_jq_compile_set(msrc, mwhere, 250, jv_invalid(), many, &e) == 0,
	   "250 programs");
	for (int i = 249; i >= 0; i--) {
		if (sov_jq_first(many[i], jv_number(1000), &out, &e) == 0 &&
		    jv_get_kind(out) == JV_KIND_NUMBER &&
		    jv_number_value(out) == 1000 + i)
			right++;
		jv_free(out);
	}
	is_int(right, 250, "each selects its own");
	for (int i = 0; i < 250; i++)
		sov_jq_free(many[i]);
	ok(sov_jq_compile_set(NULL, NULL, 0, jv_invalid(), NULL, &e) == 0,
	   "an empty set");
}

int
main(void)
{
	unsigned char bad[N_MIXED];
	struct sov_err e = {0};
	const char **many;
	char **owned;
	size_t n_bad = 0;
	jv vars;

	for (size_t i = 0; i < sizeof(shapes) / sizeof(*shapes); i++)
		is_int(sov_jq_self_contained(shapes[i].src),
		       shapes[i].contained, "self-contained(%s)",
		       shapes[i].src);
	{
		char deep[200];

		memset(deep, '[', 100);
		memset(deep + 100, ']', 99);
		deep[199] = '\0';
		ok(!sov_jq_self_contained(deep),
		   "nesting past the limit: alone");
	}

	check_against_alone(mixed, N_MIXED, jv_invalid(), "no variables");
	vars = jv_object_set(jv_object(), jv_string("x"), jv_number(1));
	check_against_alone(mixed, N_MIXED, vars, "with $x");
	jv_free(vars);

	/* the ones known bad, so that the comparison above is not two
	 * wrong answers agreeing */
	ok(sov_jq_check_many(mixed, N_MIXED, jv_invalid(), bad, &e) == 0,
	   "mixed");
	for (size_t i = 0; i < N_MIXED; i++)
		n_bad += bad[i];
	is_int((int)n_bad, 7, "seven of the mixed do not compile");
	ok(bad[4] && bad[5] && bad[6] && bad[7] && bad[8] && bad[16] && bad[20],
	   "the seven are the undefined, the incomplete and the escape");
	ok(!bad[9], "jq 1.6 takes definitions with no body as '.'; so does "
		    "the batch");

	/* past one batch, a few bad ones scattered: bisection finds each */
	owned = calloc(1000, sizeof(*owned));
	many = calloc(1000, sizeof(*many));
	if (owned == NULL || many == NULL)
		abort();
	for (size_t i = 0; i < 1000; i++) {
		char buf[96];

		if (i == 0 || i == 417 || i == 418 || i == 999)
			snprintf(buf, sizeof(buf), ".a%zu | nosuch%zu", i, i);
		else
			snprintf(buf, sizeof(buf), "{n%zu: (.x + %zu)}", i, i);
		if ((owned[i] = strdup(buf)) == NULL)
			abort();
		many[i] = owned[i];
	}
	{
		unsigned char *b = malloc(1000);
		size_t found = 0;

		if (b == NULL)
			abort();
		ok(sov_jq_check_many(many, 1000, jv_invalid(), b, &e) == 0,
		   "a thousand programs");
		for (size_t i = 0; i < 1000; i++)
			found += b[i];
		is_int((int)found, 4, "four bad in a thousand");
		ok(b[0] && b[417] && b[418] && b[999], "at their places");
		free(b);
	}
	for (size_t i = 0; i < 1000; i++)
		free(owned[i]);
	free(owned);
	free(many);

	/* a large program is compiled alone, with the same answer */
	{
		size_t len = 20000;
		char *big = malloc(len + 1);
		const char *one[2];
		unsigned char b[2];

		if (big == NULL)
			abort();
		memset(big, ' ', len);
		memcpy(big, "[1", 2);
		for (size_t i = 2; i + 3 < len; i += 3)
			memcpy(big + i, ",1 ", 3);
		big[len - 1] = ']';
		big[len] = '\0';
		one[0] = big;
		one[1] = "nosuch";
		ok(sov_jq_check_many(one, 2, jv_invalid(), b, &e) == 0 &&
		       b[0] == 0 && b[1] == 1,
		   "a 20 KB program and a bad one");
		free(big);
	}
	ok(sov_jq_check_many(NULL, 0, jv_invalid(), NULL, &e) == 0,
	   "nothing to check");
	test_set();
	return done_testing();
}
