/*
 * test_wf_webhook.c - sov-wf's webhook trigger: the signature check on its
 * own (against HMACs computed by the openssl CLI), the listen string, the
 * routes read from definitions with their secrets, then the real server on
 * 127.0.0.1, port 0, driven with libcurl and raw sockets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "def.h"
#include "tap.h"
#include "webhook.h"

#define SECRET "correct horse battery staple!"
#define T0 INT64_C(1700000000)
/* printf '%s' '1700000000.{"lead":"x"}' | openssl dgst -sha256 -hmac SECRET */
#define SIG_LEAD                                                               \
	"sha256="                                                              \
	"02aaeb9229c87a4aef2aec70cfb698ed3edad7aea3117943e0ec2b112dc89d5e"
/* the same over '1700000000.' (an empty body) */
#define SIG_EMPTY                                                              \
	"sha256="                                                              \
	"541c50197f627f3d0c3c560b04595ed97c352f78591e998f925f97e2d573ed5f"
/* '1700000000.{}' with a key of 100 'k's (longer than a block: hashed) */
#define SIG_LONGKEY                                                            \
	"sha256="                                                              \
	"246744db1b92fde5a79e3f247a79cda0568f4bf337d5b4c24a5e8cfa1969b8fd"
#define BODY_LEAD "{\"lead\":\"x\"}"
#define RESP_MAX 8192

static const unsigned char *const secret = (const unsigned char *)SECRET;
static const size_t secret_len = sizeof(SECRET) - 1;

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* verify(ts, sig, body) at now fails, saying want. */
static void
refused(const char *ts, const char *sig, const char *body, int64_t now,
	const char *want, const char *what)
{
	struct sov_err e = {0};
	int rc = wf_webhook_verify(secret, secret_len, ts, sig, body,
				   strlen(body), now, &e);

	ok(rc == -1 && e.code == SOV_EXIT_USAGE, "refused: %s", what);
	ok(strstr(e.msg, want) != NULL, "  saying \"%s\"", want);
	if (strstr(e.msg, want) == NULL)
		diag("  got \"%s\"", e.msg);
}

static void
test_verify(void)
{
	struct sov_err e = {0};
	char sig[WF_WEBHOOK_SIG_LEN + 1], up[WF_WEBHOOK_SIG_LEN + 1];
	char body[] = BODY_LEAD, longsig[200];
	unsigned char longkey[100];

	ok(wf_webhook_sign(secret, secret_len, "1700000000", BODY_LEAD,
			   strlen(BODY_LEAD), sig, &e) == 0,
	   "sign");
	is_str(sig, SIG_LEAD, "sign agrees with openssl dgst -hmac");
	ok(wf_webhook_sign(secret, secret_len, "1700000000", NULL, 0, sig,
			   &e) == 0,
	   "sign an empty body");
	is_str(sig, SIG_EMPTY, "  agrees with openssl");
	memset(longkey, 'k', sizeof(longkey));
	ok(wf_webhook_sign(longkey, sizeof(longkey), "1700000000", "{}", 2, sig,
			   &e) == 0,
	   "sign with a 100-byte key");
	is_str(sig, SIG_LONGKEY, "  agrees with openssl");

	is_int(wf_webhook_verify(secret, secret_len, "1700000000", SIG_LEAD,
				 BODY_LEAD, strlen(BODY_LEAD), T0, &e),
	       0, "a good signature verifies");
	is_int(wf_webhook_verify(secret, secret_len, "1700000000", SIG_EMPTY,
				 "", 0, T0, &e),
	       0, "an empty body verifies");
	is_int(wf_webhook_verify(longkey, sizeof(longkey), "1700000000",
				 SIG_LONGKEY, "{}", 2, T0, &e),
	       0, "a long key verifies");
	/* upper-case hex: accepted, the decoded bytes are compared */
	memcpy(up, SIG_LEAD, sizeof(up));
	for (char *p = up + 7; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	is_int(wf_webhook_verify(secret, secret_len, "1700000000", up,
				 BODY_LEAD, strlen(BODY_LEAD), T0, &e),
	       0, "upper-case hex digits are accepted");

	/* the window, both ways, and its edges */
	is_int(wf_webhook_verify(secret, secret_len, "1700000000", SIG_LEAD,
				 BODY_LEAD, strlen(BODY_LEAD),
				 T0 + WF_WEBHOOK_SKEW_S, &e),
	       0, "300 s old: accepted");
	is_int(wf_webhook_verify(secret, secret_len, "1700000000", SIG_LEAD,
				 BODY_LEAD, strlen(BODY_LEAD),
				 T0 - WF_WEBHOOK_SKEW_S, &e),
	       0, "300 s ahead: accepted");
	refused("1700000000", SIG_LEAD, BODY_LEAD, T0 + 301,
		"301 s in the past", "a stale timestamp");
	refused("1700000000", SIG_LEAD, BODY_LEAD, T0 - 301,
		"301 s in the future", "a timestamp from the future");
	refused("1700000000", SIG_LEAD, BODY_LEAD, INT64_MIN, "in the future",
		"now at INT64_MIN");
	refused("1700000000", SIG_LEAD, BODY_LEAD, INT64_MAX, "in the past",
		"now at INT64_MAX");

	/* what was signed */
	{
		struct sov_err we = {0};

		ok(wf_webhook_verify((const unsigned char *)"another secret!!",
				     16, "1700000000", SIG_LEAD, BODY_LEAD,
				     strlen(BODY_LEAD), T0, &we) == -1,
		   "the wrong secret is refused");
		is_str(we.msg, "signature does not match", "  saying so only");
	}
	{
		int all = 1;

		for (size_t i = 0; i < strlen(body); i++)
			for (int bit = 0; bit < 8; bit++) {
				body[i] ^= (char)(1 << bit);
				if (wf_webhook_verify(secret, secret_len,
						      "1700000000", SIG_LEAD,
						      body, sizeof(body) - 1,
						      T0, &e) == 0)
					all = 0;
				body[i] ^= (char)(1 << bit);
			}
		ok(all, "every flipped bit of the body is refused");
	}
	refused("1700000000", SIG_LEAD, BODY_LEAD "\n", T0,
		"signature does not match", "a body one byte longer");
	refused("1700000001", SIG_LEAD, BODY_LEAD, T0,
		"signature does not match", "another timestamp");
	refused("01700000000", SIG_LEAD, BODY_LEAD, T0,
		"signature does not match",
		"the timestamp's text is signed, not its value");
	memcpy(up, SIG_LEAD, sizeof(up));
	up[WF_WEBHOOK_SIG_LEN - 1] =
	    up[WF_WEBHOOK_SIG_LEN - 1] == '0' ? '1' : '0';
	refused("1700000000", up, BODY_LEAD, T0, "signature does not match",
		"the last digit changed");

	/* malformed headers */
	refused(NULL, SIG_LEAD, BODY_LEAD, T0, "missing X-Sov-Timestamp",
		"no timestamp");
	refused("1700000000", NULL, BODY_LEAD, T0, "missing X-Sov-Signature",
		"no signature");
	refused("", SIG_LEAD, BODY_LEAD, T0,
		"X-Sov-Timestamp: must be the Unix time", "an empty timestamp");
	refused("-1", SIG_LEAD, BODY_LEAD, T0, "must be the Unix time",
		"a negative timestamp");
	refused("+1700000000", SIG_LEAD, BODY_LEAD, T0, "must be the Unix time",
		"a signed timestamp");
	refused(" 1700000000", SIG_LEAD, BODY_LEAD, T0, "must be the Unix time",
		"a blank in the timestamp");
	refused("1700000000.5", SIG_LEAD, BODY_LEAD, T0,
		"must be the Unix time", "a fraction");
	refused("1700000000000000", SIG_LEAD, BODY_LEAD, T0,
		"must be the Unix time", "16 digits");
	refused("999999999999999", SIG_LEAD, BODY_LEAD, T0, "in the future",
		"15 digits parse, far out");
	refused("1700000000", SIG_LEAD + 7, BODY_LEAD, T0,
		"X-Sov-Signature: must start with \"sha256=\"",
		"hex without sha256=");
	memcpy(up, SIG_LEAD, sizeof(up));
	memcpy(up, "SHA256", 6);
	refused("1700000000", up, BODY_LEAD, T0, "must start with",
		"SHA256= in capitals");
	memcpy(up, SIG_LEAD, sizeof(up));
	up[WF_WEBHOOK_SIG_LEN - 1] = '\0';
	refused("1700000000", up, BODY_LEAD, T0, "and 64 hex digits",
		"63 hex digits");
	xsnprintf(longsig, sizeof(longsig), "%s0", SIG_LEAD);
	refused("1700000000", longsig, BODY_LEAD, T0, "and 64 hex digits",
		"65 hex digits");
	xsnprintf(longsig, sizeof(longsig), "%s%s", SIG_LEAD, SIG_LEAD + 7);
	refused("1700000000", longsig, BODY_LEAD, T0, "and 64 hex digits",
		"a signature far too long");
	memcpy(up, SIG_LEAD, sizeof(up));
	up[10] = 'g';
	refused("1700000000", up, BODY_LEAD, T0, "and 64 hex digits",
		"a digit that is not hex");
	xsnprintf(longsig, sizeof(longsig), "%s ", SIG_LEAD);
	refused("1700000000", longsig, BODY_LEAD, T0, "and 64 hex digits",
		"a trailing blank");
	refused("1700000000", "sha256=", BODY_LEAD, T0, "and 64 hex digits",
		"sha256= alone");

	ok(wf_webhook_verify(NULL, 0, "1700000000", SIG_LEAD, BODY_LEAD,
			     strlen(BODY_LEAD), T0, &e) == -1 &&
	       e.code == SOV_EXIT_FAIL,
	   "no secret: a failure of the caller, not of the request");
	is_int(wf_webhook_verify_headers("1700000000", SIG_LEAD, T0, &e), 0,
	       "verify_headers: good");
	ok(wf_webhook_verify_headers("1700000000", SIG_LEAD, T0 + 400, &e) ==
	       -1,
	   "verify_headers: stale");
}

static void
test_delivery(void)
{
	struct sov_err e = {0};
	char id[WF_WEBHOOK_DELIVERY_MAX + 2];

	is_int(wf_webhook_check_delivery(NULL, &e), 0, "delivery: none");
	is_int(wf_webhook_check_delivery("evt_1.a:b-C_9", &e), 0,
	       "delivery: every allowed kind of byte");
	memset(id, 'a', sizeof(id));
	id[WF_WEBHOOK_DELIVERY_MAX] = '\0';
	is_int(wf_webhook_check_delivery(id, &e), 0, "delivery: 128 bytes");
	id[WF_WEBHOOK_DELIVERY_MAX] = 'a';
	id[WF_WEBHOOK_DELIVERY_MAX + 1] = '\0';
	ok(wf_webhook_check_delivery(id, &e) == -1, "delivery: 129 refused");
	like(e.msg, "X-Sov-Delivery: must be 1 to 128 bytes", "  saying so");
	ok(wf_webhook_check_delivery("", &e) == -1, "delivery: empty refused");
	ok(wf_webhook_check_delivery("a/b", &e) == -1, "delivery: / refused");
	ok(wf_webhook_check_delivery("a b", &e) == -1,
	   "delivery: a blank refused");
}

static void
test_listen(void)
{
	static const char *const bad[] = {
	    "localhost:80",
	    "127.0.0.1",
	    "127.0.0.1:",
	    "127.0.0.1:65536",
	    "::1:80",
	    "[::1]80",
	    "[::1]",
	    "1.2.3.4:0x10",
	    "1.2.3.4:123456",
	    ":80",
	    "[]:80",
	    "1.2.3.4:-1",
	    "256.0.0.1:80",
	    "127.0.0.1:8080127.0.0.1:8080127.0.0.1:8080127.0.0.1:8080127.0."};
	struct sockaddr_storage ss;
	socklen_t sl;
	struct sov_err e = {0};

	ok(wf_webhook_parse_listen("127.0.0.1:8080", &ss, &sl, &e) == 0 &&
	       ss.ss_family == AF_INET &&
	       ntohs(((struct sockaddr_in *)&ss)->sin_port) == 8080,
	   "listen 127.0.0.1:8080");
	ok(wf_webhook_parse_listen("[::1]:0", &ss, &sl, &e) == 0 &&
	       ss.ss_family == AF_INET6 && sl == sizeof(struct sockaddr_in6),
	   "listen [::1]:0");
	ok(wf_webhook_parse_listen("0.0.0.0:65535", &ss, &sl, &e) == 0,
	   "listen 0.0.0.0:65535 when written so");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ok(wf_webhook_parse_listen(bad[i], &ss, &sl, &e) == -1 &&
		       e.code == SOV_EXIT_USAGE,
		   "listen \"%s\" refused", bad[i]);
	}
	like(e.msg, "must be IPV4:PORT or [IPV6]:PORT", "  saying what is");
	ok(wf_webhook_parse_listen(NULL, &ss, &sl, &e) == -1, "listen NULL");
}

/* ---- routes from definitions ---- */

static char tmpdir[] = "/tmp/test_wf_webhook.XXXXXX";

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 ||
	    chmod(path, mode) != 0) {
		perror(path);
		exit(1);
	}
}

static struct wf_def *
def_with(const char *name, const char *trigger)
{
	char text[2048];
	struct sov_err e = {0};
	struct wf_def *d;

	xsnprintf(text, sizeof(text),
	    "{\"name\":\"%s\",\"version\":1,\"triggers\":[%s],"
	    "\"steps\":{\"a\":{\"jq\":\".\"}}}",
	    name, trigger);
	d = wf_def_from_text(text, strlen(text), "t.json", WF_DEF_NO_COMPILE,
			     &e);
	if (d == NULL) {
		diag("bad definition in the test: %s", e.msg);
		exit(1);
	}
	return d;
}

static void
test_routes(void)
{
	char good[256], shortf[256], cred[256], trig[512], trig2[512];
	struct wf_def *defs[3];
	struct wf_webhook_route *r = NULL;
	size_t n = 9;
	struct sov_err e = {0};

	xsnprintf(good, sizeof(good), "%s/good", tmpdir);
	xsnprintf(shortf, sizeof(shortf), "%s/short", tmpdir);
	xsnprintf(cred, sizeof(cred), "%s/lead-hook", tmpdir);
	write_file(good, SECRET "\n", 0600);
	write_file(shortf, "0123456789abcde\n", 0600); /* 15 bytes */
	write_file(cred, "0123456789abcdef", 0600);    /* 16 bytes */

	xsnprintf(trig, sizeof(trig),
	    "{\"webhook\":{\"path\":\"/hooks/lead\",\"secret_file\":\"%s\"}},"
	    "{\"cron\":\"@daily\"}",
	    good);
	defs[0] = def_with("lead", trig);
	defs[1] = def_with("quiet", "{\"enqueue\":true}");
	defs[2] = def_with("other", "{\"webhook\":{\"path\":\"/hooks/other\","
				    "\"secret_credential\":\"lead-hook\"}}");
	setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
	ok(wf_webhook_routes_from_defs(defs, 3, &r, &n, &e) == 0 && n == 2,
	   "two webhook routes from three definitions");
	if (n == 2 && r != NULL) {
		is_str(r[0].path, "/hooks/lead", "  the first path");
		is_str(r[0].workflow, "lead", "  its workflow");
		ok(r[0].secret_len == secret_len &&
		       memcmp(r[0].secret, SECRET, secret_len) == 0,
		   "  its secret, the newline dropped");
		is_str(r[1].path, "/hooks/other", "  the second path");
		ok(r[1].secret_len == 16, "  its secret from the credential");
	}
	wf_webhook_routes_free(r, n);
	wf_def_free(defs[2]);

	/* no webhooks */
	r = (void *)&n;
	ok(wf_webhook_routes_from_defs(defs + 1, 1, &r, &n, &e) == 0 &&
	       n == 0 && r == NULL,
	   "no webhook triggers: no routes");

	/* a short secret, named */
	xsnprintf(trig2, sizeof(trig2),
	    "{\"webhook\":{\"path\":\"/hooks/tiny\",\"secret_file\":\"%s\"}}",
	    shortf);
	defs[2] = def_with("tiny", trig2);
	ok(wf_webhook_routes_from_defs(defs, 3, &r, &n, &e) == -1 &&
	       e.code == SOV_EXIT_USAGE && r == NULL && n == 0,
	   "a 15-byte secret is refused");
	like(e.msg, "webhook /hooks/tiny", "  naming the path");
	like(e.msg, "15 bytes", "  and the length");
	wf_def_free(defs[2]);

	/* the same path twice */
	defs[2] = def_with("again", trig);
	ok(wf_webhook_routes_from_defs(defs, 3, &r, &n, &e) == -1,
	   "a path given twice is refused");
	like(e.msg, "also the webhook of lead", "  naming the first");
	wf_def_free(defs[2]);

	/* a credential that is not there */
	unsetenv("CREDENTIALS_DIRECTORY");
	defs[2] = def_with("other", "{\"webhook\":{\"path\":\"/hooks/other\","
				    "\"secret_credential\":\"lead-hook\"}}");
	ok(wf_webhook_routes_from_defs(defs, 3, &r, &n, &e) == -1,
	   "no $CREDENTIALS_DIRECTORY: refused");
	like(e.msg, "webhook /hooks/other", "  naming the path");
	wf_def_free(defs[2]);

	/* a loose file */
	write_file(good, SECRET "\n", 0644);
	ok(wf_webhook_routes_from_defs(defs, 1, &r, &n, &e) == -1,
	   "a secret readable by others is refused");
	like(e.msg, "accessible by others", "  as lib/secret.c says");
	wf_def_free(defs[0]);
	wf_def_free(defs[1]);
	(void)unlink(good);
	(void)unlink(shortf);
	(void)unlink(cred);
}

/* ---- the server ---- */

enum mode { REPLY_OK, REPLY_NONE, REPLY_TEMPFAIL, REPLY_USAGE, REPLY_FAIL };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static enum mode mode;
static int calls;
static char seen_workflow[64], seen_input[256], seen_delivery[160];

static int
on_hook(void *arg, const char *workflow, jv input, const char *delivery,
	jv *reply, struct sov_err *e)
{
	jv text = jv_dump_string(input, 0);
	int rc = 0;

	(void)arg;
	pthread_mutex_lock(&mu);
	calls++;
	xsnprintf(seen_workflow, sizeof(seen_workflow), "%s", workflow);
	xsnprintf(seen_input, sizeof(seen_input), "%.200s", jv_string_value(text));
	xsnprintf(seen_delivery, sizeof(seen_delivery), "%s",
	    delivery ? delivery : "(none)");
	switch (mode) {
	case REPLY_OK:
		*reply = jv_object_set(jv_object(), jv_string("execution"),
				       jv_number(42));
		break;
	case REPLY_NONE:
		break;
	case REPLY_TEMPFAIL:
		rc = sov_err_set(e, SOV_EXIT_TEMPFAIL, "store is busy");
		break;
	case REPLY_USAGE:
		rc = sov_err_set(e, SOV_EXIT_USAGE, "no such workflow");
		break;
	case REPLY_FAIL:
		rc = sov_err_set(e, SOV_EXIT_FAIL, "disk on fire");
		break;
	}
	pthread_mutex_unlock(&mu);
	jv_free(text);
	return rc;
}

static int
n_calls(void)
{
	int n;

	pthread_mutex_lock(&mu);
	n = calls;
	pthread_mutex_unlock(&mu);
	return n;
}

static int port;

struct resp {
	long status;
	char body[RESP_MAX];
	size_t len;
	char allow[64], retry_after[64], ctype[64], auth[128];
};

static size_t
on_body(char *p, size_t size, size_t n, void *u)
{
	struct resp *r = u;
	size_t k = size * n;

	if (k > sizeof(r->body) - 1 - r->len)
		k = sizeof(r->body) - 1 - r->len;
	memcpy(r->body + r->len, p, k);
	r->len += k;
	r->body[r->len] = '\0';
	return size * n;
}

static void
keep_header(const char *line, size_t len, const char *name, char *dst,
	    size_t cap)
{
	size_t nl = strlen(name);

	if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 ||
	    line[nl] != ':')
		return;
	line += nl + 1;
	len -= nl + 1;
	while (len > 0 && *line == ' ')
		line++, len--;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, line, len);
	dst[len] = '\0';
}

static size_t
on_header(char *p, size_t size, size_t n, void *u)
{
	struct resp *r = u;

	keep_header(p, size * n, "Allow", r->allow, sizeof(r->allow));
	keep_header(p, size * n, "Retry-After", r->retry_after,
		    sizeof(r->retry_after));
	keep_header(p, size * n, "Content-Type", r->ctype, sizeof(r->ctype));
	keep_header(p, size * n, "WWW-Authenticate", r->auth, sizeof(r->auth));
	return size * n;
}

/* A chunked upload of `total` bytes: src, then spaces. */
struct upload {
	const char *src;
	size_t src_len, total, off;
};

static size_t
on_read(char *buf, size_t size, size_t n, void *u)
{
	struct upload *up = u;
	size_t k = size * n, i;

	if (k > up->total - up->off)
		k = up->total - up->off;
	if (k > 1000) /* many chunks */
		k = 1000;
	for (i = 0; i < k; i++, up->off++)
		buf[i] = up->off < up->src_len ? up->src[up->off] : ' ';
	return k;
}

struct call {
	const char *method; /* default POST */
	const char *path;   /* default /hooks/lead */
	const char *body;
	size_t len;           /* strlen(body) when 0 and body is set */
	size_t chunked_total; /* > 0: send chunked, padded to this */
	int unsigned_req;     /* no signature headers */
	int expect;           /* let curl send Expect: 100-continue */
	const char *ts;       /* default now */
	const char *sig;      /* default computed */
	const char *delivery;
	CURL *keep; /* reuse this handle (keep-alive) */
};

static void
do_call(const struct call *c, struct resp *r)
{
	CURL *h = c->keep ? c->keep : curl_easy_init();
	struct curl_slist *hl = NULL;
	char url[256], ts[32], sig[WF_WEBHOOK_SIG_LEN + 1], line[512];
	const char *body = c->body ? c->body : "";
	size_t len = c->len ? c->len : strlen(body);
	struct upload up = {body, len, c->chunked_total, 0};
	struct sov_err e = {0};
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	if (h == NULL)
		exit(1);
	xsnprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port,
	    c->path ? c->path : "/hooks/lead");
	xsnprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	if (c->ts)
		xsnprintf(ts, sizeof(ts), "%s", c->ts);
	if (!c->unsigned_req) {
		/* a chunked body is signed as sent, padding and all */
		char *padded = NULL;

		if (c->chunked_total > 0) {
			padded = malloc(c->chunked_total);
			if (padded == NULL)
				exit(1);
			for (size_t i = 0; i < c->chunked_total; i++)
				padded[i] = i < len ? body[i] : ' ';
		}
		if (wf_webhook_sign(
			secret, secret_len, ts, padded ? padded : body,
			padded ? c->chunked_total : len, sig, &e) != 0)
			exit(1);
		free(padded);
		xsnprintf(line, sizeof(line), "X-Sov-Timestamp: %s", ts);
		hl = curl_slist_append(hl, line);
		xsnprintf(line, sizeof(line), "X-Sov-Signature: %s",
		    c->sig ? c->sig : sig);
		hl = curl_slist_append(hl, line);
	}
	if (c->delivery) {
		xsnprintf(line, sizeof(line), "X-Sov-Delivery: %s", c->delivery);
		hl = curl_slist_append(hl, line);
	}
	hl = curl_slist_append(hl, "Content-Type: application/json");
	if (!c->expect)
		hl = curl_slist_append(hl, "Expect:");
	if (c->chunked_total > 0)
		hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	if (c->method && strcmp(c->method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (c->chunked_total > 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, &up);
	} else {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)len);
		if (c->method)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
	}
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK)
		diag("curl: %s", curl_easy_strerror(rc));
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hl);
	if (!c->keep)
		curl_easy_cleanup(h);
	else
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
}

static int
connect_local(int p)
{
	struct sockaddr_in a = {0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)p);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}

/* Read what arrives on fd within ms into buf; the byte count, or -1 for an
 * error (a reset). *eof says whether the peer closed. */
static long
read_for(int fd, char *buf, size_t cap, int ms, int *eof)
{
	int64_t end = mono_ms() + ms;
	size_t got = 0;

	*eof = 0;
	while (got < cap - 1) {
		struct pollfd p = {fd, POLLIN, 0};
		int64_t left = end - mono_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = recv(fd, buf + got, cap - 1 - got, 0);
		if (n < 0)
			return errno == ECONNRESET ? (*eof = 1, (long)got) : -1;
		if (n == 0) {
			*eof = 1;
			break;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	return (long)got;
}

static void
test_server_ok(void)
{
	struct resp r;
	CURL *keep;

	mode = REPLY_OK;
	do_call(&(struct call){.body = "{\"a\": 1}", .delivery = "evt-1"}, &r);
	is_int(r.status, 202, "signed POST: 202");
	is_str(r.body, "{\"execution\":42}", "  the callback's reply");
	is_str(r.ctype, "application/json", "  as JSON");
	is_str(seen_workflow, "lead", "  the callback saw the workflow");
	is_str(seen_input, "{\"a\":1}", "  the input");
	is_str(seen_delivery, "evt-1", "  the delivery id");

	do_call(&(struct call){.path = "/hooks/other", .body = "{}"}, &r);
	is_int(r.status, 202, "the second route: 202");
	is_str(seen_workflow, "other", "  its workflow");
	is_str(seen_delivery, "(none)", "  no delivery id: NULL");

	mode = REPLY_NONE;
	do_call(&(struct call){.body = "{}"}, &r);
	is_int(r.status, 202, "no reply: 202");
	is_str(r.body, "{}", "  with {}");
	mode = REPLY_OK;

	do_call(&(struct call){.body = "{\"b\":[1,2,3]}", .chunked_total = 200},
		&r);
	is_int(r.status, 202, "a chunked body under the cap: 202");
	is_str(seen_input, "{\"b\":[1,2,3]}", "  read whole");

	/* one connection, several requests */
	keep = curl_easy_init();
	do_call(&(struct call){.body = "{\"k\":1}", .keep = keep}, &r);
	is_int(r.status, 202, "keep-alive: first request");
	do_call(&(struct call){.body = "{\"k\":2}", .keep = keep}, &r);
	is_int(r.status, 202, "keep-alive: second request");
	is_str(seen_input, "{\"k\":2}", "  its input");
	curl_easy_cleanup(keep);
}

static void
test_server_refusals(void)
{
	struct resp r;
	char ts[32];
	int before = n_calls();
	int fd, eof;
	long n;
	char buf[2048];
	static char big[WF_WEBHOOK_BODY_MAX + 2];
	static const char huge_head[] =
	    "POST /hooks/lead HTTP/1.1\r\nHost: x\r\n"
	    "X-Sov-Timestamp: %lld\r\nX-Sov-Signature: " SIG_LEAD "\r\n"
	    "Content-Length: 2000000\r\n\r\n";
	char head[sizeof(huge_head) + 32];

	do_call(&(struct call){.body = "{}", .unsigned_req = 1}, &r);
	is_int(r.status, 401, "unsigned: 401");
	like(r.body, "missing X-Sov-Timestamp", "  saying which header");
	like(r.auth, "X-Sov-Signature", "  with a WWW-Authenticate challenge");

	do_call(&(struct call){.body = "{}", .sig = SIG_LEAD}, &r);
	is_int(r.status, 401, "wrong signature: 401");
	is_str(r.body, "{\"error\":\"signature does not match\"}",
	       "  saying only that it does not match");

	do_call(&(struct call){.body = "{}", .sig = "sha256=abc"}, &r);
	is_int(r.status, 401, "malformed signature: 401");
	like(r.body, "64 hex digits", "  saying so");

	xsnprintf(ts, sizeof(ts), "%lld", (long long)time(NULL) - 1000);
	do_call(&(struct call){.body = "{}", .ts = ts}, &r);
	is_int(r.status, 401, "a stale timestamp: 401");
	like(r.body, "in the past", "  saying so");

	do_call(&(struct call){.path = "/hooks/nope", .body = "{}"}, &r);
	is_int(r.status, 404, "unknown path: 404");
	like(r.body, "\"error\"", "  a JSON error");

	do_call(&(struct call){.method = "GET"}, &r);
	is_int(r.status, 405, "GET: 405");
	is_str(r.allow, "POST", "  Allow: POST");
	do_call(&(struct call){.method = "PUT", .body = "{}"}, &r);
	is_int(r.status, 405, "PUT: 405");

	do_call(&(struct call){.body = "{}", .delivery = "a/b"}, &r);
	is_int(r.status, 400, "a bad delivery id: 400");
	like(r.body, "X-Sov-Delivery", "  naming the header");

	do_call(&(struct call){.body = "not json"}, &r);
	is_int(r.status, 400, "a body that is not JSON: 400");
	like(r.body, "body: invalid JSON", "  with the parse error");
	do_call(&(struct call){.body = "[1,2]"}, &r);
	is_int(r.status, 400, "a JSON array: 400");
	like(r.body, "must be a JSON object", "  saying an object");
	do_call(&(struct call){.body = "{} {}"}, &r);
	is_int(r.status, 400, "two JSON values: 400");
	do_call(&(struct call){.body = ""}, &r);
	is_int(r.status, 400, "an empty body: 400");

	/* 413 from Content-Length: the answer comes with no body sent */
	fd = connect_local(port);
	xsnprintf(head, sizeof(head), huge_head, (long long)time(NULL));
	if (send(fd, head, strlen(head), MSG_NOSIGNAL) < 0)
		diag("send: %s", strerror(errno));
	n = read_for(fd, buf, sizeof(buf), 3000, &eof);
	ok(n > 0 && strncmp(buf, "HTTP/1.1 413", 12) == 0,
	   "Content-Length over 1 MiB: 413 before the body is sent");
	like(buf, "body over 1048576 bytes", "  saying the cap");
	ok(eof, "  and the connection is closed");
	close(fd);

	/* the same through curl, body and all */
	memset(big, ' ', sizeof(big));
	big[0] = '{';
	big[WF_WEBHOOK_BODY_MAX] = '}';
	do_call(&(struct call){.body = big,
			       .len = WF_WEBHOOK_BODY_MAX + 1,
			       .expect = 1},
		&r);
	is_int(r.status, 413,
	       "1 MiB + 1 byte, Content-Length, Expect: 100-continue: 413");
	do_call(&(struct call){.body = big, .len = WF_WEBHOOK_BODY_MAX}, &r);
	is_int(r.status, 400, "exactly 1 MiB is read (and parsed)");
	big[WF_WEBHOOK_BODY_MAX - 1] = '}';
	do_call(&(struct call){.body = big, .len = WF_WEBHOOK_BODY_MAX}, &r);
	is_int(r.status, 202, "a 1 MiB object: 202");

	do_call(&(struct call){.body = "{}",
			       .chunked_total = WF_WEBHOOK_BODY_MAX + 1},
		&r);
	is_int(r.status, 413, "chunked, 1 MiB + 1 byte: 413");
	like(r.body, "body over", "  saying so");
	do_call(&(struct call){.body = "{}",
			       .chunked_total = WF_WEBHOOK_BODY_MAX +
						WF_WEBHOOK_DRAIN_MAX + 4096},
		&r);
	is_int(r.status, 0, "chunked, past the drain cap: cut off");

	is_int(n_calls() - before, 1,
	       "the callback ran only for the one good request");
}

static void
test_server_errors(void)
{
	struct resp r;

	mode = REPLY_TEMPFAIL;
	do_call(&(struct call){.body = "{}"}, &r);
	is_int(r.status, 503, "callback TEMPFAIL: 503");
	is_str(r.retry_after, "5", "  Retry-After: 5");
	is_str(r.body, "{\"error\":\"store is busy\"}", "  its message");
	mode = REPLY_USAGE;
	do_call(&(struct call){.body = "{}"}, &r);
	is_int(r.status, 422, "callback USAGE: 422");
	mode = REPLY_FAIL;
	do_call(&(struct call){.body = "{}"}, &r);
	is_int(r.status, 500, "callback FAIL: 500");
	is_str(r.body, "{\"error\":\"disk on fire\"}", "  its message");
	mode = REPLY_OK;
}

static struct wf_webhook_route routes[2] = {
    {"/hooks/lead", "lead", (unsigned char *)SECRET, sizeof(SECRET) - 1},
    {"/hooks/other", "other", (unsigned char *)SECRET, sizeof(SECRET) - 1},
};

/* A client that sends one byte a second is cut off at the deadline. */
static void
test_slow(void)
{
	struct wf_webhook_opts o = {.timeout_ms = 1500};
	struct sov_err e = {0};
	struct wf_webhook *w;
	const char *req = "POST /hooks/lead HTTP/1.1\r\nHost: x\r\n";
	int64_t t0, t;
	int fd, eof = 0;
	char buf[256];

	w = wf_webhook_start_opts("127.0.0.1:0", routes, 2, on_hook, NULL, &o,
				  &e);
	ok(w != NULL, "a server with a 1.5 s timeout");
	if (w == NULL) {
		diag("%s", e.msg);
		return;
	}
	fd = connect_local(wf_webhook_port(w));
	t0 = mono_ms();
	for (size_t i = 0; i < strlen(req) && !eof; i++) {
		if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1)
			break;
		(void)read_for(fd, buf, sizeof(buf), 1000, &eof);
		if (mono_ms() - t0 > 8000)
			break;
	}
	t = mono_ms() - t0;
	ok(eof, "one byte a second: cut off");
	ok(t >= 1400 && t < 3500, "  at the deadline (%lld ms)", (long long)t);
	close(fd);

	/* a slow body too */
	fd = connect_local(wf_webhook_port(w));
	xsnprintf(buf, sizeof(buf),
	    "POST /hooks/lead HTTP/1.1\r\nHost: x\r\nX-Sov-Timestamp: "
	    "%lld\r\nX-Sov-Signature: %s\r\nContent-Length: 100\r\n\r\n",
	    (long long)time(NULL), SIG_LEAD);
	t0 = mono_ms();
	eof = 0;
	if (send(fd, buf, strlen(buf), MSG_NOSIGNAL) < 0)
		diag("send: %s", strerror(errno));
	for (int i = 0; i < 8 && !eof; i++) {
		if (send(fd, "x", 1, MSG_NOSIGNAL) != 1)
			break;
		(void)read_for(fd, buf, sizeof(buf), 1000, &eof);
	}
	t = mono_ms() - t0;
	ok(eof, "a body at one byte a second: cut off");
	ok(t >= 1400 && t < 3500, "  at the deadline (%lld ms)", (long long)t);
	close(fd);

	/* each response gives its connection the whole timeout again */
	{
		CURL *keep = curl_easy_init();
		struct resp r;
		long fresh = 0, all_fresh = 0;
		int old = port;

		port = wf_webhook_port(w);
		for (int i = 0; i < 3; i++) {
			if (i > 0)
				usleep(1000000);
			do_call(&(struct call){.body = "{}", .keep = keep}, &r);
			curl_easy_getinfo(keep, CURLINFO_NUM_CONNECTS, &fresh);
			all_fresh += fresh;
		}
		port = old;
		is_int(r.status, 202, "keep-alive past the timeout: 202");
		is_int(all_fresh, 1,
		       "  one connection for three requests "
		       "2 s apart in all");
		curl_easy_cleanup(keep);
	}
	wf_webhook_stop(w);
}

/* Connections from one address are capped. */
static void
test_per_ip(void)
{
	struct wf_webhook_opts o = {.per_ip = 2};
	struct sov_err e = {0};
	struct wf_webhook *w;
	int fd[3], eof = 0;
	char buf[64];
	struct resp r;
	int old = port;

	w = wf_webhook_start_opts("127.0.0.1:0", routes, 2, on_hook, NULL, &o,
				  &e);
	ok(w != NULL, "a server with 2 connections per address");
	if (w == NULL)
		return;
	fd[0] = connect_local(wf_webhook_port(w));
	fd[1] = connect_local(wf_webhook_port(w));
	(void)read_for(fd[1], buf, sizeof(buf), 200, &eof);
	ok(!eof, "  the second is kept");
	fd[2] = connect_local(wf_webhook_port(w));
	(void)read_for(fd[2], buf, sizeof(buf), 2000, &eof);
	ok(eof, "  the third is closed at once");
	close(fd[0]);
	close(fd[2]);
	usleep(200000);
	port = wf_webhook_port(w);
	do_call(&(struct call){.body = "{}"}, &r);
	is_int(r.status, 202, "  once one is gone, a request goes through");
	port = old;
	wf_webhook_stop(w); /* with a connection open */
	close(fd[1]);
}

static void
test_start_errors(void)
{
	struct sov_err e = {0};
	struct wf_webhook_route bad[2];
	char addr[64];
	struct wf_webhook *w;

	xsnprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	ok(wf_webhook_start(addr, routes, 2, on_hook, NULL, &e) == NULL,
	   "a port in use: refused");
	like(e.msg, "Address already in use", "  saying so");
	like(e.msg, addr, "  naming the address");

	ok(wf_webhook_start("localhost:0", routes, 2, on_hook, NULL, &e) ==
		   NULL &&
	       e.code == SOV_EXIT_USAGE,
	   "a bad listen string: refused");
	like(e.msg, "listen \"localhost:0\"", "  naming it");

	memcpy(bad, routes, sizeof(bad));
	bad[1].secret_len = 15;
	ok(wf_webhook_start("127.0.0.1:0", bad, 2, on_hook, NULL, &e) == NULL &&
	       e.code == SOV_EXIT_USAGE,
	   "a short secret: refused");
	like(e.msg, "webhook /hooks/other", "  naming the path");
	bad[1].secret_len = WF_WEBHOOK_SECRET_MAX + 1;
	ok(wf_webhook_start("127.0.0.1:0", bad, 2, on_hook, NULL, &e) == NULL,
	   "a secret over 4096 bytes: refused");
	memcpy(bad, routes, sizeof(bad));
	bad[1].path = "/hooks/lead";
	ok(wf_webhook_start("127.0.0.1:0", bad, 2, on_hook, NULL, &e) == NULL,
	   "a path given twice: refused");
	like(e.msg, "given twice", "  saying so");
	ok(wf_webhook_start("127.0.0.1:0", routes, 0, on_hook, NULL, &e) ==
	       NULL,
	   "no routes: refused");
	ok(wf_webhook_start("127.0.0.1:0", routes, 2, NULL, NULL, &e) == NULL,
	   "no callback: refused");

	w = wf_webhook_start("[::1]:0", routes, 2, on_hook, NULL, &e);
	if (w == NULL && strstr(e.msg, "Cannot assign") != NULL)
		skip(1, "no IPv6 loopback here");
	else
		ok(w != NULL && wf_webhook_port(w) > 0, "[::1]:0 listens");
	wf_webhook_stop(w);
	wf_webhook_stop(NULL);
	ok(1, "stop(NULL)");
}

int
main(void)
{
	struct sov_err e = {0};
	struct wf_webhook *w;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_verify();
	test_delivery();
	test_listen();
	test_routes();

	curl_global_init(CURL_GLOBAL_DEFAULT);
	w = wf_webhook_start("127.0.0.1:0", routes, 2, on_hook, NULL, &e);
	ok(w != NULL, "start on 127.0.0.1:0");
	if (w == NULL) {
		diag("%s", e.msg);
		return done_testing();
	}
	port = wf_webhook_port(w);
	ok(port > 0, "  a port was chosen (%d)", port);
	test_server_ok();
	test_server_refusals();
	test_server_errors();
	test_start_errors();
	test_slow();
	test_per_ip();
	wf_webhook_stop(w);
	curl_global_cleanup();
	(void)rmdir(tmpdir);
	return done_testing();
}
