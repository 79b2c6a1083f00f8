/*
 * test_wf_def.c - workflow definitions of sov-wf: every check has a case
 * that fails it, asserting the file and JSON path the message starts with;
 * valid cases check the defaults filled in, the topological order, and
 * what the fields mean at run time (default inputs, retry delays).
 *
 * JSON is written with ' for " to stay readable. jq 1.6 takes ~15 ms per
 * program (far more under valgrind), so most cases use run steps.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "def.h"
#include "tap.h"

#define JSON_MAX (256u << 10)
#define MIN_STEPS "'steps':{'a':{'run':['x']}}"

/* ' -> " (the JSON never needs a real ': it can say \u0027) */
static const char *
Q(const char *s)
{
	static char buf[JSON_MAX];
	size_t n = strlen(s);

	if (n >= sizeof(buf))
		abort();
	for (size_t i = 0; i <= n; i++)
		buf[i] = s[i] == '\'' ? '"' : s[i];
	return buf;
}

static struct wf_def *
load(const char *json, int flags, struct sov_err *e)
{
	const char *text = Q(json);

	sov_err_clear(e);
	return wf_def_from_text(text, strlen(text), "t.json", flags, e);
}

/* Append to buf[0..size) at *used, as snprintf; a test too big aborts. */
static void __attribute__((format(printf, 4, 5)))
add(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *used, size - *used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *used)
		abort();
	*used += (size_t)n;
}

/* n copies of ch appended, and a NUL. */
static void
add_fill(char *buf, size_t size, size_t *used, char ch, size_t n)
{
	if (n >= size - *used)
		abort();
	memset(buf + *used, ch, n);
	*used += n;
	buf[*used] = '\0';
}

/*
 * json is refused: the message is "t.json: PATH: ..." and contains what.
 * One line, exit code 2.
 */
static void
bad(const char *json, const char *path, const char *what)
{
	struct sov_err e;
	struct wf_def *d = load(json, 0, &e);
	char prefix[512];
	size_t used = 0;

	add(prefix, sizeof(prefix), &used, "t.json: %s: ", path);
	ok(d == NULL && e.code == SOV_EXIT_USAGE &&
	       strncmp(e.msg, prefix, strlen(prefix)) == 0 &&
	       strstr(e.msg, what) != NULL && strchr(e.msg, '\n') == NULL,
	   "%s: %s", path, what);
	if (d != NULL || strncmp(e.msg, prefix, strlen(prefix)) != 0 ||
	    strstr(e.msg, what) == NULL)
		diag("  got \"%s\" (code %d)", d ? "(accepted)" : e.msg,
		     e.code);
	wf_def_free(d);
}

/* A definition with one step whose body is step (an object's inside). */
static const char *
one_step(const char *step)
{
	static char buf[JSON_MAX];
	int n = snprintf(buf, sizeof(buf),
			 "{'name':'w','version':1,'steps':{'a':{%s}}}", step);

	if (n < 0 || (size_t)n >= sizeof(buf))
		abort();
	return buf;
}

/* A definition with the given top-level members besides the minimal. */
static const char *
top(const char *members)
{
	static char buf[JSON_MAX];
	int n = snprintf(buf, sizeof(buf),
			 "{'name':'w','version':1," MIN_STEPS ",%s}", members);

	if (n < 0 || (size_t)n >= sizeof(buf))
		abort();
	return buf;
}

static void
test_document(void)
{
	struct sov_err e;
	char *big;

	/* not JSON at all: the file, then where */
	ok(load("{'name':", 0, &e) == NULL &&
	       strncmp(e.msg, "t.json: invalid JSON at column 9", 32) == 0,
	   "broken JSON names the file and the place");
	bad("[1]", ".", "must be an object, not an array");
	bad("{'nmae':'w','version':1," MIN_STEPS "}", "nmae",
	    "unknown field (did you mean \"name\"?)");
	bad(top("'zzz':1"), "zzz", "unknown field");
	bad(top("'a\\u0000b':1"), "[\"a\\u0000b\"]", "unknown field");
	bad(top("'a\\'b':1"), "[\"a\\\"b\"]", "unknown field");
	bad("{'version':1," MIN_STEPS "}", "name", "required");
	bad("{'name':'w','version':1}", "steps", "required");
	bad("{'name':'w'," MIN_STEPS "}", "version", "required");
	bad("{'name':'Lead','version':1," MIN_STEPS "}", "name",
	    "must be lower-case letters, digits and _ . -");
	bad("{'name':'-lead','version':1," MIN_STEPS "}", "name",
	    "starting with a letter or digit");
	bad("{'name':'','version':1," MIN_STEPS "}", "name",
	    "must be 1 to 64 characters");
	bad("{'name':'"
	    "ab123456789012345678901234567890123456789012345678901234567890123"
	    "','version':1," MIN_STEPS "}",
	    "name", "must be 1 to 64 characters");
	bad("{'name':7,'version':1," MIN_STEPS "}", "name", "must be a string");
	bad("{'name':'w','version':0," MIN_STEPS "}", "version",
	    "must be an integer from 1 to 2147483647");
	bad("{'name':'w','version':1.5," MIN_STEPS "}", "version",
	    "must be an integer");
	bad("{'name':'w','version':'1'," MIN_STEPS "}", "version",
	    "must be an integer from 1 to 2147483647, not a string");
	bad(top("'description':5"), "description",
	    "must be a string, not a number");
	bad(top("'description':''"), "description", "must not be empty");
	bad(top("'concurrency':0"), "concurrency",
	    "must be an integer from 1 to 10000");
	bad(top("'concurrency':true"), "concurrency", "not a boolean");

	/* the file cap */
	big = malloc(WF_DEF_FILE_MAX + 2);
	if (big == NULL)
		abort();
	memset(big, ' ', WF_DEF_FILE_MAX + 1);
	big[WF_DEF_FILE_MAX + 1] = '\0';
	ok(wf_def_from_text(big, WF_DEF_FILE_MAX + 1, "t.json", 0, &e) ==
		   NULL &&
	       strcmp(e.msg, "t.json: larger than 1048576 bytes") == 0,
	   "a file over the cap is refused before parsing");
	free(big);
}

static void
test_steps_object(void)
{
	char *buf = malloc(JSON_MAX);
	size_t used = 0;

	bad("{'name':'w','version':1,'steps':[]}", "steps",
	    "must be an object of step names to steps, not an array");
	bad("{'name':'w','version':1,'steps':{}}", "steps",
	    "must have 1 to 256 steps, not 0");
	if (buf == NULL)
		abort();
	add(buf, JSON_MAX, &used, "{'name':'w','version':1,'steps':{");
	for (int i = 0; i <= WF_STEPS_MAX; i++)
		add(buf, JSON_MAX, &used, "%s's%d':{'run':['x']}", i ? "," : "",
		    i);
	add(buf, JSON_MAX, &used, "}}");
	bad(buf, "steps", "must have 1 to 256 steps, not 257");
	free(buf);

	bad("{'name':'w','version':1,'steps':{'Bad':{'run':['x']}}}",
	    "steps.Bad", "step name must be lower-case");
	bad("{'name':'w','version':1,'steps':{'a b':{'run':['x']}}}",
	    "steps[\"a b\"]", "step name must be lower-case");
	bad("{'name':'w','version':1,'steps':{'a':'run x'}}", "steps.a",
	    "must be an object, not a string");
	bad(one_step("'run':['x'],'retyr':{}"), "steps.a.retyr",
	    "unknown field (did you mean \"retry\"?)");
	bad(one_step(""), "steps.a", "needs one of run, jq, http");
	bad(one_step("'needs':[]"), "steps.a", "needs one of run, jq, http");
	bad(one_step("'run':['x'],'http':{'url':'http://h'}"), "steps.a",
	    "has run and http: a step does one of them");
	bad(one_step("'run':['x'],'jq':'.','http':{'url':'http://h'}"),
	    "steps.a", "has run, jq and http");
	/* a name with - is fine, and shown quoted in paths */
	bad("{'name':'w','version':1,'steps':{'send-mail':{'run':[]}}}",
	    "steps[\"send-mail\"].run", "must have 1 to 256 entries, not 0");
}

static void
test_run(void)
{
	char *buf = malloc(JSON_MAX);
	size_t used = 0;

	bad(one_step("'run':'x'"), "steps.a.run",
	    "must be an array of strings (the command and its arguments), "
	    "not a string");
	bad(one_step("'run':[]"), "steps.a.run", "must have 1 to 256 entries");
	bad(one_step("'run':[1]"), "steps.a.run[0]",
	    "must be a string, not a number");
	bad(one_step("'run':['']"), "steps.a.run[0]", "must name a command");
	bad(one_step("'run':['bin/x']"), "steps.a.run[0]",
	    "must be an absolute path or a command name found in PATH");
	bad(one_step("'run':['./x']"), "steps.a.run[0]", "not a relative");
	bad(one_step("'run':['x','ok','a\\u0000b']"), "steps.a.run[2]",
	    "contains a NUL character");
	if (buf == NULL)
		abort();
	add(buf, JSON_MAX, &used, "'run':['x','");
	add_fill(buf, JSON_MAX, &used, 'y', WF_ARG_MAX + 1);
	add(buf, JSON_MAX, &used, "']");
	bad(one_step(buf), "steps.a.run[1]", "longer than 4096 bytes");
	used = 0;
	add(buf, JSON_MAX, &used, "'run':['x'");
	for (int i = 0; i < WF_ARGV_MAX; i++)
		add(buf, JSON_MAX, &used, ",''");
	add(buf, JSON_MAX, &used, "]");
	bad(one_step(buf), "steps.a.run", "not 257");
	free(buf);
}

static void
test_jq_fields(void)
{
	char *buf = malloc(JSON_MAX);
	size_t used = 0;

	bad(one_step("'jq':5"), "steps.a.jq",
	    "must be a jq program (a string), not a number");
	bad(one_step("'jq':''"), "steps.a.jq", "must not be empty");
	bad(one_step("'jq':'.a |||'"), "steps.a.jq", "jq: error");
	bad(one_step("'run':['x'],'if':'.a == '"), "steps.a.if", "jq: error");
	bad(one_step("'run':['x'],'input':'nosuchfn(1)'"), "steps.a.input",
	    "nosuchfn/1 is not defined");
	if (buf == NULL)
		abort();
	add(buf, JSON_MAX, &used, "'jq':'");
	add_fill(buf, JSON_MAX, &used, ' ', WF_JQ_MAX);
	add(buf, JSON_MAX, &used, ".'");
	bad(one_step(buf), "steps.a.jq", "longer than 16384 bytes");
	free(buf);
}

static void
test_needs(void)
{
	bad(one_step("'run':['x'],'needs':'b'"), "steps.a.needs",
	    "must be an array of step names, not a string");
	bad(one_step("'run':['x'],'needs':['zzz']"), "steps.a.needs[0]",
	    "\"zzz\" names no step");
	bad("{'name':'w','version':1,'steps':{'a':{'run':['x'],"
	    "'needs':['scor']},'score':{'run':['x']}}}",
	    "steps.a.needs[0]",
	    "\"scor\" names no step (did you mean \"score\"?)");
	bad(one_step("'run':['x'],'needs':['a']"), "steps.a.needs[0]",
	    "a step cannot need itself");
	bad("{'name':'w','version':1,'steps':{'a':{'run':['x'],"
	    "'needs':['b','b']},'b':{'run':['x']}}}",
	    "steps.a.needs[1]", "\"b\" is listed twice");
	bad(one_step("'run':['x'],'needs':[5]"), "steps.a.needs[0]",
	    "must be a string");
	bad(one_step("'run':['x'],'needs':['B']"), "steps.a.needs[0]",
	    "must be lower-case");
	/* cycles, named in the direction work flows */
	bad("{'name':'w','version':1,'steps':{"
	    "'a':{'run':['x'],'needs':['c']},'b':{'run':['x'],'needs':['a']},"
	    "'c':{'run':['x'],'needs':['b']}}}",
	    "steps", "cycle a -> b -> c -> a");
	bad("{'name':'w','version':1,'steps':{"
	    "'x':{'run':['x']},'a':{'run':['x'],'needs':['b','x']},"
	    "'b':{'run':['x'],'needs':['a']}}}",
	    "steps", "cycle a -> b -> a");
	bad("{'name':'w','version':1,'steps':{"
	    "'a':{'run':['x'],'needs':['c']},'c':{'run':['x'],'needs':['d']},"
	    "'d':{'run':['x'],'needs':['c']}}}",
	    "steps", "cycle c -> d -> c");
}

static void
test_limits(void)
{
	bad(one_step("'run':['x'],'timeout':'1x'"), "steps.a.timeout",
	    "bad duration \"1x\"");
	bad(one_step("'run':['x'],'timeout':'25h'"), "steps.a.timeout",
	    "must be from 1ms to 24h");
	bad(one_step("'run':['x'],'timeout':'0s'"), "steps.a.timeout",
	    "must be from 1ms");
	bad(one_step("'run':['x'],'timeout':60"), "steps.a.timeout",
	    "must be a duration string such as \"90s\", not a number");
	bad(one_step("'run':['x'],'output_max':0"), "steps.a.output_max",
	    "must be an integer from 1 to 67108864");
	bad(one_step("'run':['x'],'output_max':67108865"), "steps.a.output_max",
	    "from 1 to 67108864");
	bad(one_step("'run':['x'],'output_max':'1MiB'"), "steps.a.output_max",
	    "not a string");
	bad(one_step("'run':['x'],'retry':3"), "steps.a.retry",
	    "must be an object, not a number");
	bad(one_step("'run':['x'],'retry':{'attempts':0}"),
	    "steps.a.retry.attempts", "must be an integer from 1 to 100");
	bad(one_step("'run':['x'],'retry':{'attempts':101}"),
	    "steps.a.retry.attempts", "must be an integer from 1 to 100");
	bad(one_step("'run':['x'],'retry':{'attempts':2.5}"),
	    "steps.a.retry.attempts", "must be an integer from 1 to 100");
	bad(one_step("'run':['x'],'retry':{'base':'0s'}"), "steps.a.retry.base",
	    "must be from 1ms to 24h");
	bad(one_step("'run':['x'],'retry':{'factor':0.5}"),
	    "steps.a.retry.factor", "must be a number from 1 to 100");
	bad(one_step("'run':['x'],'retry':{'factor':'2'}"),
	    "steps.a.retry.factor", "not a string");
	bad(one_step("'run':['x'],'retry':{'jitter':'half'}"),
	    "steps.a.retry.jitter", "must be \"full\" or \"none\"");
	bad(one_step("'run':['x'],'retry':{'max_delay':'8d'}"),
	    "steps.a.retry.max_delay", "must be from 1ms to 7d");
	bad(one_step("'run':['x'],'retry':{'base':'10m'}"),
	    "steps.a.retry.base",
	    "max_delay (5m) must not be less than base (10m)");
	bad(one_step("'run':['x'],'retry':{'base':'10s','max_delay':'5s'}"),
	    "steps.a.retry.max_delay", "must not be less than base");
	bad(one_step("'run':['x'],'retry':{'attempt':2}"),
	    "steps.a.retry.attempt", "did you mean \"attempts\"?");
}

static void
test_undo(void)
{
	bad(one_step("'run':['x'],'undo':['y']"), "steps.a.undo",
	    "must be an object, not an array");
	bad(one_step("'run':['x'],'undo':{}"), "steps.a.undo",
	    "needs one of run, jq, http");
	bad(one_step("'run':['x'],'undo':{'run':['y'],'jq':'.'}"),
	    "steps.a.undo", "has run and jq");
	bad(one_step("'run':['x'],'undo':{'run':['y'],'needs':[]}"),
	    "steps.a.undo.needs", "unknown field");
	bad(one_step("'run':['x'],'undo':{'run':['y'],'retry':{}}"),
	    "steps.a.undo.retry", "unknown field");
	bad(one_step("'run':['x'],'undo':{'run':['rel/y']}"),
	    "steps.a.undo.run[0]", "not a relative path");
	bad(one_step("'run':['x'],'undo':{'run':['y'],'input':'{'}"),
	    "steps.a.undo.input", "jq: error");
}

static void
test_http(void)
{
	bad(one_step("'http':'https://h'"), "steps.a.http",
	    "must be an object, not a string");
	bad(one_step("'http':{}"), "steps.a.http.url",
	    "required (http:// or https://)");
	bad(one_step("'http':{'url':'ftp://h/x'}"), "steps.a.http.url",
	    "must start with http:// or https://");
	bad(one_step("'http':{'url':'https:///x'}"), "steps.a.http.url",
	    "names no host");
	bad(one_step("'http':{'url':'https://h/a b'}"), "steps.a.http.url",
	    "byte 0x20 at offset 11");
	bad(one_step("'http':{'url':'https://h/\\u00e9'}"), "steps.a.http.url",
	    "byte 0xc3");
	bad(one_step("'http':{'url':'https://h','method':'get'}"),
	    "steps.a.http.method",
	    "must be \"GET\", \"POST\", \"PUT\", \"PATCH\" or \"DELETE\"");
	bad(one_step("'http':{'url':'https://h','method':'GET','body':'.'}"),
	    "steps.a.http.body", "a GET request has no body");
	bad(one_step("'http':{'url':'https://h','headers':[]}"),
	    "steps.a.http.headers", "must be an object of header names");
	bad(one_step("'http':{'url':'https://h','headers':{'a b':'x'}}"),
	    "steps.a.http.headers[\"a b\"]", "not a header name");
	bad(one_step("'http':{'url':'https://h','headers':{'X-A':5}}"),
	    "steps.a.http.headers[\"X-A\"]", "must be a string, not a number");
	bad(one_step("'http':{'url':'https://h','headers':{'X-A':'1\\n2'}}"),
	    "steps.a.http.headers[\"X-A\"]", "contains a control character");
	bad(one_step("'http':{'url':'https://h','headers':"
		     "{'Content-Length':'5'}}"),
	    "steps.a.http.headers[\"Content-Length\"]",
	    "is set by sov-wf itself");
	bad(one_step("'http':{'url':'https://h','headers':"
		     "{'X-A':'1','x-a':'2'}}"),
	    "steps.a.http.headers[\"x-a\"]", "given twice (as \"X-A\")");
	bad(one_step("'http':{'url':'https://h','expect':[]}"),
	    "steps.a.http.expect", "must have 1 to 32 status codes");
	bad(one_step("'http':{'url':'https://h','expect':200}"),
	    "steps.a.http.expect", "must be an array of status codes");
	bad(one_step("'http':{'url':'https://h','expect':[99]}"),
	    "steps.a.http.expect[0]", "must be an integer from 100 to 599");
	bad(one_step("'http':{'url':'https://h','expect':[200,201,200]}"),
	    "steps.a.http.expect[2]", "200 is listed twice");
	bad(one_step("'http':{'url':'https://h','body':'{a:'}"),
	    "steps.a.http.body", "jq: error");
	bad(one_step("'http':{'url':'https://h','timeout':'5s'}"),
	    "steps.a.http.timeout", "unknown field");
}

static void
test_triggers(void)
{
	char buf[4096];
	size_t used = 0;

	bad(top("'triggers':{}"), "triggers",
	    "must be an array of triggers, not an object");
	add(buf, sizeof(buf), &used, "'triggers':[{'enqueue':true}");
	for (int i = 0; i < WF_TRIGGERS_MAX; i++)
		add(buf, sizeof(buf), &used, ",{'cron':'@daily'}");
	add(buf, sizeof(buf), &used, "]");
	bad(top(buf), "triggers", "more than 32 triggers");
	bad(top("'triggers':['@daily']"), "triggers[0]",
	    "must be an object, not a string");
	bad(top("'triggers':[{}]"), "triggers[0]",
	    "needs exactly one of cron, webhook, enqueue");
	bad(top("'triggers':[{'cron':'@daily','enqueue':true}]"), "triggers[0]",
	    "needs exactly one of cron, webhook, enqueue");
	bad(top("'triggers':[{'cron':'61 * * * *'}]"), "triggers[0].cron",
	    "minute: \"61\": 61 is out of range 0-59");
	bad(top("'triggers':[{'cron':'0 0 30 2 *'}]"), "triggers[0].cron",
	    "never fires");
	bad(top("'triggers':[{'cron':5}]"), "triggers[0].cron",
	    "must be a string, not a number");
	bad(top("'triggers':[{'enqueue':false}]"), "triggers[0].enqueue",
	    "must be true");
	bad(top("'triggers':[{'enqueue':true,'input':{}}]"),
	    "triggers[0].input", "only a cron trigger takes an input");
	bad(top("'triggers':[{'enqueue':true,'catch_up':true}]"),
	    "triggers[0].catch_up", "only a cron trigger catches up");
	bad(top("'triggers':[{'cron':'@daily','catch_up':1}]"),
	    "triggers[0].catch_up", "must be true or false, not a number");
	bad(top("'triggers':[{'cron':'@daily','input':[1]}]"),
	    "triggers[0].input", "must be an object, not an array");
	bad(top("'triggers':[{'cron':'@daily','inputs':{}}]"),
	    "triggers[0].inputs", "did you mean \"input\"?");
	bad(top("'triggers':[{'webhook':'/hooks/w'}]"), "triggers[0].webhook",
	    "must be an object, not a string");
	bad(top("'triggers':[{'webhook':{'secret_file':'/s'}}]"),
	    "triggers[0].webhook.path", "required (/hooks/NAME)");
	bad(top("'triggers':[{'webhook':{'path':'/w','secret_file':'/s'}}]"),
	    "triggers[0].webhook.path", "must be /hooks/NAME");
	bad(top("'triggers':[{'webhook':{'path':'/hooks/W',"
		"'secret_file':'/s'}}]"),
	    "triggers[0].webhook.path", "NAME in /hooks/NAME must be");
	bad(top("'triggers':[{'webhook':{'path':'/hooks/w'}}]"),
	    "triggers[0].webhook",
	    "needs exactly one of secret_file, secret_credential");
	bad(top("'triggers':[{'webhook':{'path':'/hooks/w',"
		"'secret_file':'/s','secret_credential':'s'}}]"),
	    "triggers[0].webhook", "needs exactly one of secret_file");
	bad(top("'triggers':[{'webhook':{'path':'/hooks/w',"
		"'secret_file':'s'}}]"),
	    "triggers[0].webhook.secret_file", "must be an absolute path");
	bad(top("'triggers':[{'webhook':{'path':'/hooks/w',"
		"'secret_credential':'a/b'}}]"),
	    "triggers[0].webhook.secret_credential",
	    "must be a credential name");
	bad(top("'triggers':[{'enqueue':true},{'enqueue':true}]"),
	    "triggers[1]", "a second enqueue trigger (triggers[0])");
	bad(top("'triggers':[{'webhook':{'path':'/hooks/w',"
		"'secret_file':'/s'}},{'webhook':{'path':'/hooks/w',"
		"'secret_credential':'s'}}]"),
	    "triggers[1].webhook.path", "\"/hooks/w\" is also triggers[0]");
}

static void
test_measure(void)
{
	bad(top("'measure':5"), "measure", "must be an object, not a number");
	bad(top("'measure':{'human_minutes':-1}"), "measure.human_minutes",
	    "must be a number from 0 to 1000000");
	bad(top("'measure':{'human_minutes':'5'}"), "measure.human_minutes",
	    "not a string");
	bad(top("'measure':{'tokens':'.steps[] |'}"), "measure.tokens",
	    "jq: error");
	bad(top("'measure':{'cost':5}"), "measure.cost",
	    "must be a jq program (a string), not a number");
	bad(top("'measure':{'minutes':5}"), "measure.minutes", "unknown field");
}

/* The first error in key order, depth first, whatever else is wrong. */
static void
test_first_error(void)
{
	bad("{'version':0,'name':'Bad'," MIN_STEPS "}", "name",
	    "must be lower-case");
	bad("{'name':'w','version':1,'steps':{"
	    "'b':{'run':['x'],'timeout':'x'},'a':{'run':'x'}}}",
	    "steps.a.run", "must be an array");
	bad("{'name':'w','version':0,'steps':{"
	    "'a':{'run':['x'],'needs':['b']},'b':{'run':['x'],'needs':['a']}}}",
	    "steps", "cycle a -> b -> a");
	bad(one_step("'timeout':'x','needs':['q'],'run':['x']"),
	    "steps.a.needs[0]", "names no step");
	bad(one_step("'zz':1,'run':[]"), "steps.a.run", "must have 1 to 256");
	bad("{'name':'w','version':1,'steps':{'a':{'run':['x']}},"
	    "'triggers':[{'cron':'bad'}],'measure':{'human_minutes':-1}}",
	    "measure.human_minutes", "must be a number");
}

static void
test_defaults(void)
{
	struct sov_err e;
	struct wf_def *d =
	    load("{'name':'w','version':7," MIN_STEPS "}", 0, &e);
	struct wf_step *s;

	ok(d != NULL, "the smallest definition loads");
	if (d == NULL) {
		diag("%s", e.msg);
		return;
	}
	is_str(d->name, "w", "name");
	is_int(d->version, 7, "version");
	is_str(d->file, "t.json", "file");
	ok(d->description == NULL, "no description");
	is_int(d->concurrency, 0, "concurrency: not limited");
	is_int(d->n_triggers, 0, "no triggers");
	ok(d->measure.human_minutes == 0 && !d->measure.tokens.src &&
	       !d->measure.cost.src,
	   "no measure");
	is_int(d->n_steps, 1, "one step");
	s = &d->steps[0];
	is_str(s->name, "a", "its name");
	is_int(s->act.kind, WF_KIND_RUN, "a run step");
	is_int(s->act.argc, 1, "argc");
	is_str(s->act.argv[0], "x", "argv[0]");
	ok(s->act.argv[1] == NULL, "argv ends in NULL");
	is_int(s->timeout_ms, 60000, "timeout defaults to 60s");
	is_int(s->output_max, 1 << 20, "output_max defaults to 1 MiB");
	is_int(s->retry.attempts, 3, "retry.attempts defaults to 3");
	is_int(s->retry.base_ms, 1000, "retry.base defaults to 1s");
	ok(s->retry.factor == 2.0, "retry.factor defaults to 2");
	is_int(s->retry.max_delay_ms, 300000, "retry.max_delay defaults to 5m");
	is_int(s->retry.jitter, WF_JITTER_FULL,
	       "retry.jitter defaults to full");
	ok(s->undo == NULL && s->cond.src == NULL && s->act.input.src == NULL,
	   "no undo, no if, default input");
	is_int(s->n_needs, 0, "no needs");
	is_int(d->order[0], 0, "order");
	ok(jv_get_kind(d->json) == JV_KIND_OBJECT, "the document is kept");
	wf_def_free(d);
}

static const char full[] =
    "{'name':'lead','version':3,'description':'leads','concurrency':4,"
    "'triggers':[{'cron':'*/5 * * * *'},"
    "{'cron':'0 9 * * mon','input':{'batch':true}},"
    "{'webhook':{'path':'/hooks/lead','secret_credential':'lead-hmac'}},"
    "{'enqueue':true}],"
    "'measure':{'human_minutes':12.5,'tokens':'[.steps[]?.tokens?] | add'},"
    "'steps':{"
    "'notify':{'needs':['score'],'http':{'url':'https://hooks.example/x',"
    "'body':'{text: .}','headers':{'X-Team':'sales'},'expect':[200,202]}},"
    "'enrich':{'http':{'url':'http://enrich.example/v1'},"
    "'retry':{'attempts':5,'base':'2s','factor':1.5,'max_delay':'1m',"
    "'jitter':'none'},'timeout':'90s','output_max':4096},"
    "'score':{'needs':['enrich'],'jq':'{score: 50}'},"
    "'write':{'needs':['score','enrich'],'run':['/usr/bin/w','--db','x'],"
    "'input':'.steps.score','undo':{'run':['/usr/bin/d'],"
    "'input':'.step.output'}},"
    "'draft':{'needs':['write'],'if':'.steps.score.score >= 50',"
    "'run':['draft'],'undo':{'http':{'url':'https://h/d',"
    "'method':'DELETE'}}}}}";

static void
test_full(void)
{
	struct sov_err e;
	struct wf_def *d = load(full, 0, &e);
	const struct wf_step *s;
	const struct wf_trigger *t;
	const char *order[] = {"enrich", "score", "notify", "write", "draft"};
	jv v;

	ok(d != NULL, "a full definition loads");
	if (d == NULL) {
		diag("%s", e.msg);
		return;
	}
	is_str(d->description, "leads", "description");
	is_int(d->concurrency, 4, "concurrency");
	ok(d->measure.human_minutes == 12.5, "human_minutes");
	ok(d->measure.tokens.q != NULL && d->measure.cost.src == NULL,
	   "tokens compiled, no cost");

	is_int(d->n_triggers, 4, "four triggers");
	t = &d->triggers[0];
	is_int(t->kind, WF_TRIGGER_CRON, "cron");
	is_str(t->cron_src, "*/5 * * * *", "as written");
	is_int(t->cron.minute, 0x0842108421084210ull >> 4 | 1,
	       "parsed: every fifth minute");
	ok(jv_equal(jv_copy(t->input), jv_object()), "cron input defaults {}");
	v = jv_parse("{\"batch\":true}");
	ok(jv_equal(jv_copy(d->triggers[1].input), v), "cron input given");
	t = &d->triggers[2];
	ok(t->kind == WF_TRIGGER_WEBHOOK &&
	       strcmp(t->path, "/hooks/lead") == 0 &&
	       strcmp(t->secret_credential, "lead-hmac") == 0 &&
	       t->secret_file == NULL,
	   "webhook");
	is_int(d->triggers[3].kind, WF_TRIGGER_ENQUEUE, "enqueue");

	is_int(d->n_steps, 5, "five steps");
	for (size_t i = 0; i < d->n_steps; i++)
		is_str(d->steps[d->order[i]].name, order[i], "order[%zu]", i);
	is_int(wf_def_find(d, "score"), 3, "steps are sorted by name");
	is_int(wf_def_find(d, "nope"), -1, "a name that is not there");

	s = &d->steps[wf_def_find(d, "enrich")];
	is_int(s->act.kind, WF_KIND_HTTP, "enrich: http");
	is_int(s->act.http.method, WF_METHOD_GET, "GET without a body");
	ok(jv_equal(jv_copy(s->act.http.headers), jv_object()),
	   "headers default to {}");
	ok(wf_http_accepts(&s->act.http, 204) &&
	       !wf_http_accepts(&s->act.http, 301),
	   "any 2xx by default");
	is_int(s->retry.attempts, 5, "attempts");
	is_int(s->retry.base_ms, 2000, "base");
	ok(s->retry.factor == 1.5, "factor");
	is_int(s->retry.max_delay_ms, 60000, "max_delay");
	is_int(s->retry.jitter, WF_JITTER_NONE, "jitter");
	is_int(s->timeout_ms, 90000, "timeout 90s");
	is_int(s->output_max, 4096, "output_max");

	s = &d->steps[wf_def_find(d, "notify")];
	is_int(s->act.http.method, WF_METHOD_POST, "POST with a body");
	ok(s->act.http.body.q != NULL, "body compiled");
	ok(wf_http_accepts(&s->act.http, 202) &&
	       !wf_http_accepts(&s->act.http, 201),
	   "expect");
	v = jv_object_get(jv_copy(s->act.http.headers), jv_string("X-Team"));
	is_str(jv_string_value(v), "sales", "headers kept");
	jv_free(v);

	s = &d->steps[wf_def_find(d, "write")];
	is_int(s->act.argc, 3, "argv");
	is_str(s->act.argv[2], "x", "argv[2]");
	is_int(s->n_needs, 2, "two needs");
	ok(s->needs[0] == (size_t)wf_def_find(d, "enrich") &&
	       s->needs[1] == (size_t)wf_def_find(d, "score"),
	   "needs sorted by name, whatever the file's order");
	ok(s->undo && s->undo->kind == WF_KIND_RUN && s->undo->input.q,
	   "undo: run, with its input");

	s = &d->steps[wf_def_find(d, "draft")];
	ok(s->cond.q != NULL, "if compiled");
	ok(s->undo && s->undo->kind == WF_KIND_HTTP &&
	       s->undo->http.method == WF_METHOD_DELETE,
	   "undo: http DELETE");
	ok(s->ancestors[0] == ((1u << 1) | (1u << 3) | (1u << 4)),
	   "draft's ancestors: enrich, score, write (not notify)");
	is_str(wf_kind_name(WF_KIND_JQ), "jq", "kind name");
	is_str(wf_method_name(WF_METHOD_PATCH), "PATCH", "method name");
	wf_def_free(d);
}

static void
test_order(void)
{
	struct sov_err e;
	struct wf_def *d = load(
	    "{'name':'w','version':1,'steps':{"
	    "'e':{'run':['x']},'d':{'run':['x'],'needs':['c','b']},"
	    "'c':{'run':['x'],'needs':['a']},'b':{'run':['x'],'needs':['a']},"
	    "'a':{'run':['x']},'f':{'run':['x'],'needs':['e']}}}",
	    0, &e);
	char got[64] = "";
	size_t used = 0;

	ok(d != NULL, "a diamond and a chain load");
	if (d == NULL) {
		diag("%s", e.msg);
		return;
	}
	for (size_t i = 0; i < d->n_steps; i++)
		add(got, sizeof(got), &used, "%s", d->steps[d->order[i]].name);
	/* the smallest ready name first: a, then b, c (ready), d, e, f */
	is_str(got, "abcdef", "Kahn's order, ties by name");
	ok(d->steps[3].ancestors[0] == 7, "d's ancestors: a, b, c");
	ok(d->steps[5].ancestors[0] == 16, "f's ancestor: e");
	wf_def_free(d);
}

static char *
dump(jv v)
{
	static char buf[256];
	jv s = jv_dump_string(v, 0);
	size_t used = 0;

	add(buf, sizeof(buf), &used, "%s", jv_string_value(s));
	jv_free(s);
	return buf;
}

static void
test_inputs(void)
{
	struct sov_err e;
	struct wf_def *d =
	    load("{'name':'w','version':1,'steps':{"
		 "'a':{'run':['x']},'b':{'run':['x'],'needs':['a']},"
		 "'c':{'run':['x'],'needs':['a','b'],'undo':{'run':['y']}},"
		 "'m':{'run':['x'],'input':'.input.n + 1',"
		 "'undo':{'jq':'.','input':'.step.output.id'}}}}",
		 0, &e);
	jv ctx = jv_parse("{\"input\":{\"n\":1},\"steps\":{\"a\":{\"x\":2},"
			  "\"b\":{\"y\":3}}}"),
	   out;

	ok(d != NULL, "loads");
	if (d == NULL) {
		diag("%s", e.msg);
		jv_free(ctx);
		return;
	}
	ok(wf_step_input(d, &d->steps[0], jv_copy(ctx), &out, &e) == 0,
	   "no needs");
	is_str(dump(out), "{\"n\":1}", "  .input");
	ok(wf_step_input(d, &d->steps[1], jv_copy(ctx), &out, &e) == 0,
	   "one need");
	is_str(dump(out), "{\"x\":2}", "  .steps.a");
	ok(wf_step_input(d, &d->steps[2], jv_copy(ctx), &out, &e) == 0,
	   "two needs");
	ok(jv_equal(out, jv_copy(ctx)), "  all of it");
	ok(wf_step_input(d, &d->steps[3], jv_copy(ctx), &out, &e) == 0,
	   "given input");
	is_str(dump(out), "2", "  .input.n + 1");
	ok(wf_step_input(d, &d->steps[1], jv_parse("{\"input\":1}"), &out,
			 &e) == 0,
	   "a need that was skipped");
	is_str(dump(out), "null", "  is null");
	ok(wf_step_input(d, &d->steps[0], jv_number(1), &out, &e) < 0,
	   "a context that is not an object is an error");
	ok(wf_step_input(d, &d->steps[3], jv_parse("{\"input\":\"s\"}"), &out,
			 &e) < 0,
	   "a failing input program is an error");
	like(e.msg, "t.json: steps.m.input: jq: error", "  naming the step");
	jv_free(ctx);

	ctx = jv_parse("{\"input\":{},\"steps\":{},\"step\":{\"input\":1,"
		       "\"output\":{\"id\":9}}}");
	ok(wf_undo_input(&d->steps[2], jv_copy(ctx), &out, &e) == 0,
	   "undo, default input");
	is_str(dump(out), "{\"input\":1,\"output\":{\"id\":9}}", "  .step");
	ok(wf_undo_input(&d->steps[3], jv_copy(ctx), &out, &e) == 0,
	   "undo, given input");
	is_str(dump(out), "9", "  .step.output.id");
	ok(wf_undo_input(&d->steps[0], jv_copy(ctx), &out, &e) < 0,
	   "a step without undo");
	jv_free(ctx);
	wf_def_free(d);
}

static void
test_retry_delay(void)
{
	struct wf_retry r = {5, 1000, 2.0, 5000, WF_JITTER_NONE};

	is_int(wf_retry_delay_ms(&r, 1, 0.5), 0, "the first attempt waits not");
	is_int(wf_retry_delay_ms(&r, 2, 0.5), 1000, "first retry: base");
	is_int(wf_retry_delay_ms(&r, 3, 0.5), 2000, "then times factor");
	is_int(wf_retry_delay_ms(&r, 4, 0.5), 4000, "and again");
	is_int(wf_retry_delay_ms(&r, 5, 0.5), 5000, "capped at max_delay");
	is_int(wf_retry_delay_ms(&r, 100000, 0.5), 5000,
	       "an overflowing power is capped too");
	r.jitter = WF_JITTER_FULL;
	is_int(wf_retry_delay_ms(&r, 3, 0.5), 1000, "full jitter: a share");
	is_int(wf_retry_delay_ms(&r, 3, 0), 0, "  from 0");
	is_int(wf_retry_delay_ms(&r, 3, 7), 0, "  a bad random number is 0");
	r.factor = 1;
	r.jitter = WF_JITTER_NONE;
	is_int(wf_retry_delay_ms(&r, 50, 0), 1000, "factor 1: constant");
}

static void
test_no_compile(void)
{
	struct sov_err e;
	struct wf_def *d =
	    load(one_step("'jq':'.a |||'"), WF_DEF_NO_COMPILE, &e);
	jv out;

	ok(d != NULL, "WF_DEF_NO_COMPILE: structure only");
	if (d == NULL)
		return;
	ok(d->steps[0].act.jq.src != NULL && d->steps[0].act.jq.q == NULL,
	   "  the text kept, nothing compiled");
	wf_def_free(d);
	d = load(one_step("'run':['x'],'input':'.'"), WF_DEF_NO_COMPILE, &e);
	ok(d && wf_step_input(d, &d->steps[0], jv_object(), &out, &e) < 0,
	   "  running an uncompiled program is an error");
	like(e.msg, "not compiled", "  saying so");
	wf_def_free(d);
}

static void
test_load_file(void)
{
	struct sov_err e;
	const char *tmp = getenv("TMPDIR");
	char path[4096];
	struct wf_def *d;
	size_t used = 0;
	FILE *f;

	add(path, sizeof(path), &used, "%s/wf-def-test.json",
	    tmp && *tmp ? tmp : "/tmp");
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	fputs(Q("{'name':'w','version':1,'steps':{'a':{'run':['/bin/true']}}}"),
	      f);
	fclose(f);
	d = wf_def_load(path, 0, &e);
	ok(d != NULL, "a file loads");
	ok(d && strcmp(d->file, path) == 0, "  and keeps its name");
	wf_def_free(d);
	unlink(path);
	d = wf_def_load(path, 0, &e);
	ok(d == NULL && e.code == SOV_EXIT_USAGE && strstr(e.msg, path),
	   "a missing file is a usage error naming it");
	d = wf_def_from_jv(jv_parse("{\"name\":\"w\"}"), NULL, 0, &e);
	ok(d == NULL && strncmp(e.msg, "-: steps: required", 18) == 0,
	   "a jv with no file name is \"-\"");
}

static void
collect(struct sov_jq_prog *p, void *arg)
{
	char *seen = arg;

	strcat(seen, p->src);
}

/* Every program slot is visited, in run order: sov-wf validate checks
 * only what the walk hands it. */
static void
test_each_prog(void)
{
	struct sov_err e;
	char seen[256] = "";
	struct wf_def *d =
	    load("{'name':'w','version':1,'steps':{"
		 "'b':{'needs':['a'],'http':{'url':'http://h/','body':'.p6'},"
		 "'undo':{'http':{'url':'http://h/','body':'.p7'}}},"
		 "'a':{'if':'.p1','input':'.p2','jq':'.p3',"
		 "'undo':{'input':'.p4','jq':'.p5'}}},"
		 "'measure':{'tokens':'.p8','cost':'.p9'}}",
		 WF_DEF_NO_COMPILE, &e);

	ok(d != NULL, "every program slot filled");
	if (d == NULL) {
		diag("%s", e.msg);
		return;
	}
	wf_def_each_prog(d, collect, seen);
	is_str(seen, ".p1.p2.p3.p4.p5.p6.p7.p8.p9",
	       "each visited once, in "
	       "order");
	wf_def_free(d);
}

/* A definition's programs are compiled together once its structure is
 * good; each runs as its own, and errors are the ones of document order. */
static void
test_compiled_together(void)
{
	struct sov_err e;
	struct wf_def *d =
	    load("{'name':'w','version':1,'steps':{"
		 "'a':{'if':'.go','input':'{n: .n}','jq':'{twice: (.n * 2)}'},"
		 "'b':{'needs':['a'],'jq':'.steps.a.twice + 1'}},"
		 "'measure':{'tokens':'.steps.b'}}",
		 0, &e);
	jv out;
	int truth;

	ok(d != NULL, "five programs load");
	if (d == NULL) {
		diag("%s", e.msg);
		return;
	}
	ok(d->steps[0].cond.q && d->steps[0].act.input.q &&
	       d->steps[0].act.jq.q && d->steps[1].act.jq.q &&
	       d->measure.tokens.q,
	   "each compiled");
	ok(!d->steps[0].cond.where && !d->measure.tokens.where,
	   "the places kept for compiling are gone");
	ok(sov_jq_test(d->steps[0].cond.q, jv_parse("{\"go\":true}"), &truth,
		       &e) == 0 &&
	       truth,
	   "if");
	ok(sov_jq_first(d->steps[0].act.jq.q, jv_parse("{\"n\":4}"), &out,
			&e) == 0 &&
	       jv_equal(out, jv_parse("{\"twice\":8}")),
	   "jq");
	ok(sov_jq_first(d->steps[1].act.jq.q,
			jv_parse("{\"steps\":{\"a\":{\"twice\":\"x\"}}}"), &out,
			&e) == -1,
	   "a runtime error");
	like(e.msg, "t.json: steps.b.jq: jq: error", "names its own place");
	ok(sov_jq_first(d->measure.tokens.q, jv_parse("{\"steps\":{\"b\":17}}"),
			&out, &e) == 0 &&
	       jv_equal(out, jv_number(17)),
	   "measure.tokens");
	wf_def_free(d);

	/* a bad program sorts before a bad name: its error comes first, as
	 * when each program was compiled as it was read */
	bad("{'measure':{'tokens':'.steps "
	    "|'},'name':'Bad','version':1," MIN_STEPS "}",
	    "measure.tokens", "jq: error");
	/* the bad program among good ones is the one named */
	bad(one_step("'if':'.a','input':'.b','jq':'.c | nosuch'"), "steps.a.jq",
	    "nosuch/0 is not defined");
}

int
main(void)
{
	test_document();
	test_steps_object();
	test_run();
	test_jq_fields();
	test_needs();
	test_limits();
	test_undo();
	test_http();
	test_triggers();
	test_measure();
	test_first_error();
	test_defaults();
	test_full();
	test_order();
	test_inputs();
	test_retry_delay();
	test_no_compile();
	test_each_prog();
	test_compiled_together();
	test_load_file();
	return done_testing();
}
