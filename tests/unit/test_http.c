/*
 * test_http.c - lib/http.c against a real HTTP server: libmicrohttpd on
 * 127.0.0.1 inside this program (and an HTTPS one with a certificate made
 * by the openssl CLI at start), plus the retry arithmetic on its own.
 */
#include "http.h"
#include "tap.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#define UPLOAD_MAX (4u << 20)
#define BIG_LEN (2u << 20)
#define SLOW_MS 1000

static atomic_int n_flaky, n_always503, n_always500, n_429, n_429date;
static atomic_int n_conns;
static char *big_buf;
static unsigned short port;
static char base[64];

struct upload {
	char *data;
	size_t len;
};

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *ctype,
      const char *body, size_t len, const char *hname, const char *hval)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body,
					    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (ctype != NULL)
		MHD_add_response_header(r, "Content-Type", ctype);
	if (hname != NULL)
		MHD_add_response_header(r, hname, hval);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
reply_str(struct MHD_Connection *c, unsigned status, const char *body)
{
	return reply(c, status, "application/json", body, strlen(body), NULL,
		     NULL);
}

static const char *
req_header(struct MHD_Connection *c, const char *name)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

	return v != NULL ? v : "-";
}

static enum MHD_Result
route(struct MHD_Connection *c, const char *url, const char *method,
      struct upload *u)
{
	char buf[1024];
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (strcmp(url, "/ok") == 0)
		return reply(c, 200, "application/json", "{\"ok\":true}", 11,
			     "X-Test", "Hello");
	if (strcmp(url, "/flaky") == 0)
		return atomic_fetch_add(&n_flaky, 1) < 2
			   ? reply_str(c, 503, "busy")
			   : reply_str(c, 200, "{\"ok\":\"flaky\"}");
	if (strcmp(url, "/always503") == 0) {
		atomic_fetch_add(&n_always503, 1);
		return reply_str(c, 503, "busy");
	}
	if (strcmp(url, "/always500") == 0) {
		atomic_fetch_add(&n_always500, 1);
		return reply_str(c, 500, "oops");
	}
	if (strcmp(url, "/429") == 0)
		return atomic_fetch_add(&n_429, 1) == 0
			   ? reply(c, 429, NULL, "", 0, "Retry-After", "1")
			   : reply_str(c, 200, "{}");
	if (strcmp(url, "/429long") == 0)
		return reply(c, 429, NULL, "", 0, "Retry-After", "3600");
	if (strcmp(url, "/429date") == 0)
		return atomic_fetch_add(&n_429date, 1) == 0
			   ? reply(c, 429, NULL, "", 0, "Retry-After",
				   "Thu, 01 Jan 2015 00:00:00 GMT")
			   : reply_str(c, 200, "{}");
	if (strcmp(url, "/big") == 0) {
		r = MHD_create_response_from_buffer(BIG_LEN, big_buf,
						    MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (strcmp(url, "/sized") == 0) {
		const char *n =
		    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "n");
		size_t len = n != NULL ? strtoul(n, NULL, 10) : 0;

		if (len > BIG_LEN)
			len = BIG_LEN;
		r = MHD_create_response_from_buffer(len, big_buf,
						    MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (strcmp(url, "/slow") == 0) {
		usleep(SLOW_MS * 1000);
		return reply_str(c, 200, "{}");
	}
	if (strcmp(url, "/badjson") == 0) /* jq 1.6 leaks on this shape */
		return reply_str(c, 200, "{\"ok\": true,\n \"a\" \"b\"}");
	if (strcmp(url, "/notjson") == 0) {
		static const char page[] =
		    "<html>\x01\"quoted\" and \\ back "
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "TAILMARKER</html>";
		return reply(c, 200, "text/html", page, sizeof(page) - 1, NULL,
			     NULL);
	}
	if (strcmp(url, "/echo") == 0)
		return reply(c, 200, req_header(c, "Content-Type"),
			     u->data != NULL ? u->data : "", u->len, "X-Method",
			     method);
	if (strcmp(url, "/seen") == 0) {
		snprintf(
		    buf, sizeof(buf),
		    "{\"method\":\"%s\",\"accept\":\"%s\",\"ctype\":\"%s\","
		    "\"expect\":\"%s\",\"ua\":\"%s\",\"len\":%zu}",
		    method, req_header(c, "Accept"),
		    req_header(c, "Content-Type"), req_header(c, "Expect"),
		    req_header(c, "User-Agent"), u->len);
		return reply_str(c, 200, buf);
	}
	if (strcmp(url, "/404") == 0)
		return reply_str(c, 404, "{\"error\":\"nope\"}");
	if (strcmp(url, "/redirect") == 0)
		return reply(c, 302, NULL, "", 0, "Location", "/ok");
	if (strcmp(url, "/empty") == 0)
		return reply(c, 204, NULL, "", 0, NULL, NULL);
	if (strcmp(url, "/dup") == 0) {
		r = MHD_create_response_from_buffer(0, (void *)"",
						    MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, "X-Dup", "one");
		MHD_add_response_header(r, "X-DUP", "two");
		MHD_add_response_header(r, "X-Spaced", "a b  ");
		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (strcmp(url, "/manyheaders") == 0) {
		r = MHD_create_response_from_buffer(0, (void *)"",
						    MHD_RESPMEM_PERSISTENT);
		for (int i = 0; i < 300; i++) {
			snprintf(buf, sizeof(buf), "X-H-%d", i);
			MHD_add_response_header(r, buf, "v");
		}
		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	return reply_str(c, 404, "{\"error\":\"no route\"}");
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
	const char *method, const char *version, const char *upload_data,
	size_t *upload_size, void **con_cls)
{
	struct upload *u = *con_cls;
	char *p;

	(void)cls;
	(void)version;
	if (u == NULL) {
		u = calloc(1, sizeof(*u));
		if (u == NULL)
			return MHD_NO;
		*con_cls = u;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (u->len + *upload_size > UPLOAD_MAX)
			return MHD_NO;
		p = realloc(u->data, u->len + *upload_size);
		if (p == NULL)
			return MHD_NO;
		memcpy(p + u->len, upload_data, *upload_size);
		u->data = p;
		u->len += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}
	return route(c, url, method, u);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
	  enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (u != NULL) {
		free(u->data);
		free(u);
	}
	*con_cls = NULL;
}

static void
on_conn(void *cls, struct MHD_Connection *c, void **socket_ctx,
	enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	(void)c;
	(void)socket_ctx;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&n_conns, 1);
}

/* A daemon on 127.0.0.1, any port; key/cert non-NULL for HTTPS. */
static struct MHD_Daemon *
start(const char *key, const char *cert, unsigned short *out_port)
{
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (key != NULL)
		d = MHD_start_daemon(
		    flags | MHD_USE_TLS, 0, NULL, NULL, handler, NULL,
		    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		    MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_HTTPS_MEM_CERT,
		    cert, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
		    MHD_OPTION_END);
	else
		d = MHD_start_daemon(
		    flags, 0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR,
		    (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
		    completed, NULL, MHD_OPTION_NOTIFY_CONNECTION, on_conn,
		    NULL, MHD_OPTION_END);
	if (d == NULL)
		return NULL;
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	*out_port = info != NULL ? info->port : 0;
	return d;
}

static void
url_of(char *buf, size_t size, const char *path)
{
	int n = snprintf(buf, size, "%s%s", base, path);

	if (n < 0 || (size_t)n >= size)
		abort();
}

/* Small delays so that the retries take milliseconds. */
static struct sov_http *
client(int attempts, long timeout_ms)
{
	struct sov_http_opts o;
	struct sov_err e;
	struct sov_http *h;

	sov_http_opts_default(&o);
	o.max_attempts = attempts;
	o.base_delay_ms = 10;
	o.max_delay_ms = 100;
	o.timeout_ms = timeout_ms;
	o.connect_timeout_ms = timeout_ms;
	o.max_body = 1u << 20;
	h = sov_http_new(&o, &e);
	if (h == NULL)
		diag("sov_http_new: %s", e.msg);
	return h;
}

static const char *
hdr(const struct sov_http_resp *r, const char *name, char *buf, size_t size)
{
	jv v = jv_object_get(jv_copy(r->headers), jv_string(name));

	buf[0] = '\0';
	if (jv_get_kind(v) == JV_KIND_STRING)
		snprintf(buf, size, "%s", jv_string_value(v));
	jv_free(v);
	return buf;
}

static void
test_opts(void)
{
	struct sov_http_opts o;
	struct sov_err e;
	struct sov_http *h;

	sov_http_opts_default(&o);
	is_int(o.timeout_ms, 30000, "default timeout_ms");
	is_int(o.connect_timeout_ms, 10000, "default connect_timeout_ms");
	is_int(o.max_attempts, 4, "default max_attempts");
	is_int(o.base_delay_ms, 500, "default base_delay_ms");
	is_int(o.max_delay_ms, 30000, "default max_delay_ms");
	is_int(o.max_retry_after_ms, 60000, "default max_retry_after_ms");
	is_int(o.max_body, 16u << 20, "default max_body");
	ok(o.ca_file == NULL && o.user_agent == NULL && !o.retry_unsafe,
	   "default ca_file, user_agent, retry_unsafe");

	h = sov_http_new(NULL, &e);
	ok(h != NULL, "sov_http_new(NULL) takes the defaults");
	sov_http_free(h);
	sov_http_free(NULL);

	o.max_attempts = 0;
	ok(sov_http_new(&o, &e) == NULL, "max_attempts 0 refused");
	is_int(e.code, SOV_EXIT_USAGE, "max_attempts 0: usage error");
	like(e.msg, "max_attempts 0", "message names max_attempts");
	sov_http_opts_default(&o);
	o.timeout_ms = 0;
	ok(sov_http_new(&o, &e) == NULL, "timeout_ms 0 refused");
	like(e.msg, "timeout_ms 0", "message names timeout_ms");
	sov_http_opts_default(&o);
	o.max_body = 0;
	ok(sov_http_new(&o, &e) == NULL, "max_body 0 refused");
	like(e.msg, "max_body 0", "message names max_body");
	sov_http_opts_default(&o);
	o.base_delay_ms = -1;
	ok(sov_http_new(&o, &e) == NULL, "negative base_delay_ms refused");
	like(e.msg, "base_delay_ms -1", "message names base_delay_ms");
	sov_http_opts_default(&o);
	o.user_agent = "evil\r\nX-Injected: 1";
	ok(sov_http_new(&o, &e) == NULL, "user_agent with CRLF refused");
	like(e.msg, "user_agent", "message names user_agent");
	sov_http_opts_default(&o);
	o.ca_file = "/nonexistent/ca.pem";
	ok(sov_http_new(&o, &e) == NULL, "missing ca_file refused");
	is_int(e.code, SOV_EXIT_FAIL, "missing ca_file: code 1");
	like(e.msg, "/nonexistent/ca.pem: No such file",
	     "message names the ca_file and the reason");
}

static void
test_backoff(void)
{
	struct sov_http_opts o;
	int bad = 0, lo = 0, hi = 0;

	sov_http_opts_default(&o);
	o.base_delay_ms = 10;
	o.max_delay_ms = 100;
	for (int a = 0; a <= 6; a++) {
		long cap = 10L << a > 100 ? 100 : 10L << a;

		lo = hi = 0;
		for (int i = 0; i < 2000; i++) {
			long d = sov_http_backoff_ms(&o, a);

			if (d < 0 || d > cap)
				bad++;
			lo += d <= cap / 4;
			hi += d >= cap - cap / 4;
		}
		ok(lo > 0 && hi > 0,
		   "backoff attempt %d spreads over [0, %ld] (%d low, %d high)",
		   a, cap, lo, hi);
	}
	is_int(bad, 0, "backoff always within [0, min(max, base*2^n)]");
	bad = 0;
	for (int i = 0; i < 1000; i++) {
		long d = sov_http_backoff_ms(&o, 1000);
		long d2 = sov_http_backoff_ms(&o, -5);

		bad += d < 0 || d > 100 || d2 < 0 || d2 > 10;
	}
	is_int(bad, 0, "attempt 1000 stays under max; negative is attempt 0");
	o.base_delay_ms = 3600000;
	o.max_delay_ms = 3600000;
	bad = 0;
	for (int i = 0; i < 100; i++) {
		long d = sov_http_backoff_ms(&o, 62);

		bad += d < 0 || d > 3600000;
	}
	is_int(bad, 0, "large delays and shifts do not overflow");
	o.base_delay_ms = 0;
	is_int(sov_http_backoff_ms(&o, 3), 0, "base 0: no wait");
	is_int(sov_http_backoff_ms(NULL, 3), 0, "NULL opts: no wait");
}

static void
test_retry_after(void)
{
	/* Wed, 21 Oct 2015 07:28:00 GMT */
	const long long t = 1445412480LL * 1000;
	const long cap = SOV_HTTP_RETRY_AFTER_CAP_MS;
	char longs[80];

	is_int(sov_http_parse_retry_after("0", t), 0, "\"0\" is 0 ms");
	is_int(sov_http_parse_retry_after("1", t), 1000, "\"1\" is 1000 ms");
	is_int(sov_http_parse_retry_after(" 120 ", t), 120000,
	       "spaces around delta-seconds");
	is_int(sov_http_parse_retry_after("\t7\t", t), 7000, "tabs around");
	is_int(sov_http_parse_retry_after("007", t), 7000, "leading zeros");
	is_int(sov_http_parse_retry_after("604800", t), cap,
	       "one week is the cap");
	is_int(sov_http_parse_retry_after("604801", t), cap,
	       "over a week is cut to the cap");
	is_int(sov_http_parse_retry_after("99999999999999999999999999", t), cap,
	       "overflowing digits are cut to the cap");
	is_int(sov_http_parse_retry_after("-1", t), -1, "negative refused");
	is_int(sov_http_parse_retry_after("+1", t), -1, "sign refused");
	is_int(sov_http_parse_retry_after("1.5", t), -1, "fraction refused");
	is_int(sov_http_parse_retry_after("10s", t), -1, "unit refused");
	is_int(sov_http_parse_retry_after("1 2", t), -1, "two numbers");
	is_int(sov_http_parse_retry_after("", t), -1, "empty refused");
	is_int(sov_http_parse_retry_after("   ", t), -1, "blank refused");
	is_int(sov_http_parse_retry_after(NULL, t), -1, "NULL refused");
	is_int(sov_http_parse_retry_after("soon", t), -1, "garbage refused");
	is_int(sov_http_parse_retry_after("Wed, 32 Oct 2015 07:28:00 GMT", t),
	       -1, "day 32 refused");
	memset(longs, '1', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	is_int(sov_http_parse_retry_after(longs, t), -1,
	       "a value over 64 bytes is refused");
	is_int(sov_http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT",
					  t - 10000),
	       10000, "IMF-fixdate 10 s ahead");
	is_int(sov_http_parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT",
					  t - 10000),
	       10000, "RFC 850 date 10 s ahead");
	is_int(
	    sov_http_parse_retry_after("Wed Oct 21 07:28:00 2015", t - 10000),
	    10000, "asctime date 10 s ahead");
	is_int(sov_http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT",
					  t + 5000),
	       0, "a date in the past is 0");
	is_int(sov_http_parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", t),
	       cap, "a date far ahead is cut to the cap");
	is_int(sov_http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT",
					  -9000000000000000000LL),
	       cap, "an absurd clock does not overflow");
}

static void
test_bad_requests(struct sov_http *h)
{
	struct sov_http_resp r;
	struct sov_err e;
	char url[256], longurl[9100];
	const char *crlf[] = {"X-A: b\r\nX-Evil: c", NULL};
	const char *noname[] = {": v", NULL};
	const char *nocolon[] = {"Authorization Bearer s3cr3t", NULL};
	const char *many[74];

	memset(&r, 0, sizeof(r));
	url_of(url, sizeof(url), "/ok");
	ok(sov_http_request(NULL, "GET", url, NULL, NULL, 0, &r, &e) < 0,
	   "NULL client refused");
	is_int(e.code, SOV_EXIT_USAGE, "NULL client: usage error");
	ok(sov_http_request(h, "GET", url, NULL, NULL, 5, &r, &e) < 0,
	   "a length without a body refused");
	ok(sov_http_request(h, "get", url, NULL, NULL, 0, &r, &e) < 0,
	   "lower-case method refused");
	like(e.msg, "bad HTTP method", "message says the method is bad");
	like(e.msg, url, "message names the URL");
	ok(sov_http_request(h, "GE T", url, NULL, NULL, 0, &r, &e) < 0,
	   "method with a space refused");
	ok(sov_http_request(h, "", url, NULL, NULL, 0, &r, &e) < 0,
	   "empty method refused");
	ok(sov_http_request(h, "GET", "ftp://127.0.0.1/x", NULL, NULL, 0, &r,
			    &e) < 0,
	   "ftp:// refused");
	is_int(e.code, SOV_EXIT_FAIL, "bad URL: code 1");
	like(e.msg, "GET ftp://127.0.0.1/x: bad URL", "message names the URL");
	ok(sov_http_request(h, "GET", "http://127.0.0.1:1/a\r\nX-Evil: 1", NULL,
			    NULL, 0, &r, &e) < 0,
	   "URL with CRLF refused");
	is_int(e.code, SOV_EXIT_FAIL, "URL with CRLF: code 1");
	like(e.msg, "/a%0D%0AX-Evil", "message shows the CRLF escaped");
	ok(strchr(e.msg, '\r') == NULL, "no raw CR in the message");
	is_int(r.attempts, 1, "a malformed URL is not retried");
	memset(longurl, 'a', sizeof(longurl) - 1);
	memcpy(longurl, "http://", 7);
	longurl[sizeof(longurl) - 1] = '\0';
	ok(sov_http_request(h, "GET", longurl, NULL, NULL, 0, &r, &e) < 0,
	   "URL over the cap refused");
	like(e.msg, "URL over 8192 bytes", "message names the cap");
	ok(strlen(e.msg) < 700, "a long URL is cut in the message");
	ok(sov_http_request(h, "GET", url, crlf, NULL, 0, &r, &e) < 0,
	   "header with CRLF refused");
	is_int(e.code, SOV_EXIT_USAGE, "header with CRLF: usage error");
	like(e.msg, "request header 1", "message names which header");
	ok(strstr(e.msg, "Evil") == NULL, "message does not echo the header");
	ok(sov_http_request(h, "GET", url, noname, NULL, 0, &r, &e) < 0,
	   "header without a name refused");
	ok(sov_http_request(h, "GET", url, nocolon, NULL, 0, &r, &e) < 0,
	   "header without a colon refused");
	ok(strstr(e.msg, "s3cr3t") == NULL, "the header value stays secret");
	for (int i = 0; i < 73; i++)
		many[i] = "X-Many: 1";
	many[73] = NULL;
	ok(sov_http_request(h, "GET", url, many, NULL, 0, &r, &e) < 0,
	   "73 headers refused");
	like(e.msg, "more than 72 request headers", "message names the cap");
	ok(sov_http_request(h, "GET", url, NULL, "x", 1, &r, &e) < 0,
	   "a body on GET refused");
	like(e.msg, "a body on a GET", "message says so");
	sov_http_resp_clear(&r);
	sov_http_resp_clear(&r);
	ok(r.body == NULL && r.retry_after_ms == -1,
	   "resp_clear twice is harmless");
	sov_http_resp_clear(NULL);
}

static void
test_basic(struct sov_http *h)
{
	struct sov_http_resp r;
	struct sov_err e;
	char url[256], b[128];
	int before;

	memset(&r, 0, sizeof(r));
	url_of(url, sizeof(url), "/ok");
	before = atomic_load(&n_conns);
	is_int(sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e), 0,
	       "GET /ok");
	is_int(r.status, 200, "status 200");
	is_str(r.body, "{\"ok\":true}", "body");
	is_int(r.len, 11, "len");
	is_str(r.content_type, "application/json", "content_type");
	is_str(hdr(&r, "x-test", b, sizeof(b)), "Hello",
	       "headers are lower-cased, values kept");
	is_int(r.attempts, 1, "one attempt");
	is_int(r.retry_after_ms, -1, "no Retry-After: -1");
	ok(r.location == NULL, "no Location");
	is_int(sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e), 0,
	       "GET /ok again (resp reused without a clear)");
	is_int(sov_http_request(h, "HEAD", url, NULL, NULL, 0, &r, &e), 0,
	       "HEAD /ok");
	ok(r.status == 200 && r.len == 0 && r.body != NULL && r.body[0] == 0,
	   "HEAD: 200 and an empty, non-NULL body");
	is_int(atomic_load(&n_conns) - before, 1,
	       "three requests on one connection");

	url_of(url, sizeof(url), "/404");
	is_int(sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e), 0,
	       "GET /404 returns 0");
	ok(r.status == 404 && r.attempts == 1, "404 kept, not retried");

	url_of(url, sizeof(url), "/redirect");
	is_int(sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e), 0,
	       "GET /redirect returns 0");
	is_int(r.status, 302, "redirect not followed: 302");
	is_str(r.location, "/ok", "Location given to the caller");

	url_of(url, sizeof(url), "/empty");
	is_int(sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e), 0,
	       "GET /empty");
	ok(r.status == 204 && r.len == 0 && r.body != NULL, "204, empty body");

	url_of(url, sizeof(url), "/dup");
	is_int(sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e), 0,
	       "GET /dup");
	is_str(hdr(&r, "x-dup", b, sizeof(b)), "two",
	       "a repeated header keeps the last value");
	is_str(hdr(&r, "x-spaced", b, sizeof(b)), "a b",
	       "trailing spaces trimmed");

	url_of(url, sizeof(url), "/manyheaders");
	ok(sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e) < 0,
	   "300 response headers refused");
	is_int(e.code, SOV_EXIT_FAIL, "too many headers: code 1");
	like(e.msg, "response headers over", "message names the cap");

	url_of(url, sizeof(url), "/echo");
	is_int(sov_http_request(h, "PUT", url, NULL, "abc", 3, &r, &e), 0,
	       "PUT /echo");
	ok(r.status == 200 && r.len == 3 && memcmp(r.body, "abc", 3) == 0,
	   "PUT body arrived");
	is_str(hdr(&r, "x-method", b, sizeof(b)), "PUT", "method PUT");
	is_int(sov_http_request(h, "DELETE", url, NULL, NULL, 0, &r, &e), 0,
	       "DELETE /echo");
	is_str(hdr(&r, "x-method", b, sizeof(b)), "DELETE", "method DELETE");
	is_int(sov_http_request(h, "PATCH", url, NULL, "{}", 2, &r, &e), 0,
	       "PATCH /echo");
	is_str(hdr(&r, "x-method", b, sizeof(b)), "PATCH", "method PATCH");
	sov_http_resp_clear(&r);
}

static void
test_bodies(void)
{
	struct sov_http *h = client(4, 5000);
	struct sov_http_resp r;
	struct sov_err e;
	char url[256];
	char *big = NULL;
	jv v = jv_invalid();
	long st;
	const size_t blen = 1536u << 10;

	memset(&r, 0, sizeof(r));
	if (h == NULL) {
		skip(13, "no client");
		return;
	}
	url_of(url, sizeof(url), "/big");
	ok(sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e) < 0,
	   "GET /big over max_body fails");
	is_int(e.code, SOV_EXIT_FAIL, "body over the cap: code 1");
	like(e.msg, "/big: response over 1048576 bytes",
	     "message names URL and cap");
	is_int(r.attempts, 1, "body over the cap: not retried");
	ok(r.body == NULL && r.len == 0, "no partial body handed back");
	snprintf(url, sizeof(url), "%s/sized?n=%u", base, 1u << 20);
	is_int(sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e), 0,
	       "a body of exactly max_body passes");
	is_int(r.len, 1u << 20, "all of it");
	snprintf(url, sizeof(url), "%s/sized?n=%u", base, (1u << 20) + 1);
	ok(sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e) < 0,
	   "max_body + 1 fails");

	/* over 1 MiB: curl would send Expect: 100-continue on its own */
	big = malloc(blen);
	if (big == NULL)
		abort();
	memset(big, 'z', blen);
	url_of(url, sizeof(url), "/seen");
	is_int(sov_http_request(h, "POST", url, NULL, big, blen, &r, &e), 0,
	       "POST 1.5 MiB");
	like(r.body, "\"expect\":\"-\"", "no Expect: 100-continue sent");
	like(r.body, "\"ctype\":\"-\"", "no invented form Content-Type");
	like(r.body, "\"len\":1572864", "the whole body arrived");
	is_int(sov_http_json(h, "GET", url, NULL, jv_invalid(), &st, &v, &e), 0,
	       "json GET /seen");
	jv_free(v);
	sov_http_resp_clear(&r);
	free(big);
	sov_http_free(h);
}

static void
test_retries(struct sov_http *h)
{
	struct sov_http_resp r;
	struct sov_err e;
	struct sov_http *h1, *hu;
	struct sov_http_opts o;
	char url[256];
	const char *auth[] = {"Authorization: Bearer s3cr3t-token", NULL};
	long long t0;

	memset(&r, 0, sizeof(r));
	url_of(url, sizeof(url), "/flaky");
	atomic_store(&n_flaky, 0);
	is_int(sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e), 0,
	       "GET /flaky succeeds in the end");
	is_int(r.status, 200, "status 200");
	is_int(r.attempts, 3, "after 3 attempts");
	atomic_store(&n_flaky, 0);
	is_int(sov_http_request(h, "POST", url, NULL, "x", 1, &r, &e), 0,
	       "POST /flaky: 503 is retried for POST too");
	is_int(r.attempts, 3, "after 3 attempts");

	url_of(url, sizeof(url), "/always503");
	atomic_store(&n_always503, 0);
	ok(sov_http_request(h, "GET", url, auth, NULL, 0, &r, &e) < 0,
	   "GET /always503 fails");
	is_int(e.code, SOV_EXIT_TEMPFAIL, "code 75");
	is_int(r.attempts, 4, "attempts == max_attempts");
	is_int(atomic_load(&n_always503), 4, "the server saw 4 requests");
	is_int(r.status, 503, "last status kept");
	is_str(r.body, "busy", "last body kept");
	like(e.msg, "/always503: HTTP 503 (after 4 attempts)", "message");
	ok(strstr(e.msg, "s3cr3t") == NULL, "no Authorization in the message");
	ok(sov_http_request(h, "POST", url, NULL, "SECRETBODY", 10, &r, &e) < 0,
	   "POST /always503 fails");
	ok(e.code == SOV_EXIT_TEMPFAIL && r.attempts == 4,
	   "POST on 503: retried to the end, 75");
	ok(strstr(e.msg, "SECRETBODY") == NULL, "no body in the message");

	url_of(url, sizeof(url), "/always500");
	atomic_store(&n_always500, 0);
	ok(sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e) < 0,
	   "GET /always500 fails");
	ok(e.code == SOV_EXIT_TEMPFAIL && r.attempts == 4,
	   "GET on 500: retried, 75");
	atomic_store(&n_always500, 0);
	is_int(sov_http_request(h, "POST", url, NULL, "x", 1, &r, &e), 0,
	       "POST /always500 returns 0: the server may have acted");
	ok(r.status == 500 && r.attempts == 1, "POST on 500: not retried");
	is_int(atomic_load(&n_always500), 1, "the server saw 1 request");
	is_int(sov_http_request(h, "PATCH", url, NULL, "x", 1, &r, &e), 0,
	       "PATCH /always500 returns 0");
	is_int(r.attempts, 1, "PATCH on 500: not retried");
	ok(sov_http_request(h, "DELETE", url, NULL, NULL, 0, &r, &e) < 0 &&
	       r.attempts == 4,
	   "DELETE on 500: idempotent, retried to the end");
	sov_http_opts_default(&o);
	o.base_delay_ms = 1;
	o.max_delay_ms = 5;
	o.retry_unsafe = 1;
	hu = sov_http_new(&o, &e);
	ok(hu != NULL &&
	       sov_http_request(hu, "POST", url, NULL, "x", 1, &r, &e) < 0 &&
	       r.attempts == 4,
	   "retry_unsafe: POST on 500 retried to the end");
	sov_http_free(hu);

	url_of(url, sizeof(url), "/429");
	atomic_store(&n_429, 0);
	t0 = mono_ms();
	is_int(sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e), 0,
	       "GET /429 then 200");
	ok(mono_ms() - t0 >= 950, "Retry-After: 1 honoured (%lld ms)",
	   mono_ms() - t0);
	is_int(r.attempts, 2, "after 2 attempts");

	url_of(url, sizeof(url), "/429date");
	atomic_store(&n_429date, 0);
	t0 = mono_ms();
	is_int(sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e), 0,
	       "GET /429date then 200");
	ok(r.attempts == 2 && mono_ms() - t0 < 900,
	   "Retry-After date in the past: retried at once");

	url_of(url, sizeof(url), "/429long");
	t0 = mono_ms();
	ok(sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e) < 0,
	   "GET /429long fails");
	ok(mono_ms() - t0 < 1000, "at once, no wait");
	is_int(e.code, SOV_EXIT_TEMPFAIL, "code 75");
	is_int(r.attempts, 1, "one attempt");
	is_int(r.status, 429, "status 429 kept");
	ok(r.retry_after_ms > 3590000 && r.retry_after_ms <= 3600000,
	   "retry_after_ms about 3600000 (%ld)", r.retry_after_ms);
	like(e.msg, "Retry-After 3600000 ms is over the 60000 ms limit",
	     "message names Retry-After and the limit");

	h1 = client(2, 300);
	url_of(url, sizeof(url), "/slow");
	t0 = mono_ms();
	ok(h1 != NULL &&
	       sov_http_request(h1, "GET", url, NULL, NULL, 0, &r, &e) < 0,
	   "GET /slow times out");
	is_int(e.code, SOV_EXIT_TEMPFAIL, "timeout: code 75");
	like(e.msg, "/slow: timed out after 300 ms (after 2 attempts)",
	     "message says timed out");
	ok(mono_ms() - t0 < 1500, "two timeouts took %lld ms", mono_ms() - t0);
	ok(h1 != NULL &&
	       sov_http_request(h1, "POST", url, NULL, "x", 1, &r, &e) < 0,
	   "POST /slow times out");
	ok(e.code == SOV_EXIT_TEMPFAIL && r.attempts == 1,
	   "POST timeout after sending: 75, not retried");
	sov_http_free(h1);

	sov_http_resp_clear(&r);
}

static void
test_refused(struct sov_http *h)
{
	struct sov_http_resp r;
	struct sov_err e;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char url[256];
	int fd;

	memset(&r, 0, sizeof(r));
	/* bound, never listening: connects are refused, the port stays ours */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		skip(7, "cannot bind a socket on 127.0.0.1");
		return;
	}
	snprintf(url, sizeof(url), "http://u:hunter2@127.0.0.1:%u/x",
		 ntohs(sa.sin_port));
	ok(sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e) < 0,
	   "GET on a closed port fails");
	is_int(e.code, SOV_EXIT_TEMPFAIL, "connection refused: code 75");
	is_int(r.attempts, 4, "after 4 attempts");
	is_int(r.status, 0, "no status");
	like(e.msg, "/x: Connection refused (after 4 attempts)", "message");
	like(e.msg, "http://u:***@127.0.0.1", "the password is masked");
	ok(sov_http_request(h, "POST", url, NULL, "x", 1, &r, &e) < 0 &&
	       r.attempts == 4,
	   "POST never connected: retried to the end");
	close(fd);
	sov_http_resp_clear(&r);
}

static void
test_json(struct sov_http *h)
{
	struct sov_err e;
	char url[256];
	jv out = jv_null(), in, want;
	long st;
	const char *acc[] = {"Accept: application/vnd.x+json", NULL};

	url_of(url, sizeof(url), "/ok");
	is_int(sov_http_json(h, "GET", url, NULL, jv_invalid(), &st, &out, &e),
	       0, "json GET /ok");
	is_int(st, 200, "json status 200");
	want = jv_parse("{\"ok\":true}");
	ok(jv_equal(jv_copy(out), want), "json body parsed");
	jv_free(out);

	url_of(url, sizeof(url), "/echo");
	in = jv_parse("{\"a\":[1,2,{\"b\":\"\\u00e9\\n\"}],\"c\":null}");
	is_int(sov_http_json(h, "POST", url, NULL, jv_copy(in), &st, &out, &e),
	       0, "json POST /echo");
	ok(jv_equal(jv_copy(out), in), "JSON round trip through the server");
	jv_free(out);

	url_of(url, sizeof(url), "/seen");
	is_int(
	    sov_http_json(h, "POST", url, NULL, jv_parse("[1]"), &st, &out, &e),
	    0, "json POST /seen");
	want = jv_parse("\"application/json\"");
	ok(jv_equal(jv_object_get(jv_copy(out), jv_string("accept")),
		    jv_copy(want)),
	   "Accept: application/json sent");
	ok(jv_equal(jv_object_get(jv_copy(out), jv_string("ctype")), want),
	   "Content-Type: application/json sent");
	ok(jv_equal(jv_object_get(jv_copy(out), jv_string("ua")),
		    jv_string("sov/" SOV_VERSION)),
	   "User-Agent sov/VERSION");
	jv_free(out);
	is_int(sov_http_json(h, "GET", url, acc, jv_invalid(), &st, &out, &e),
	       0, "json GET /seen with the caller's Accept");
	ok(jv_equal(jv_object_get(jv_copy(out), jv_string("accept")),
		    jv_string("application/vnd.x+json")),
	   "the caller's Accept wins, not doubled");
	jv_free(out);

	url_of(url, sizeof(url), "/404");
	is_int(sov_http_json(h, "GET", url, NULL, jv_invalid(), &st, &out, &e),
	       0, "json GET /404 returns 0");
	is_int(st, 404, "json status 404");
	ok(jv_get_kind(out) == JV_KIND_OBJECT, "404 body parsed");
	jv_free(out);

	url_of(url, sizeof(url), "/empty");
	is_int(sov_http_json(h, "GET", url, NULL, jv_invalid(), &st, &out, &e),
	       0, "json GET /empty");
	ok(st == 204 && jv_get_kind(out) == JV_KIND_NULL, "empty body: null");
	jv_free(out);

	url_of(url, sizeof(url), "/notjson");
	ok(sov_http_json(h, "GET", url, NULL, jv_invalid(), &st, &out, &e) < 0,
	   "json GET /notjson fails");
	is_int(e.code, SOV_EXIT_FAIL, "not JSON: code 1");
	is_int(st, 200, "status still given");
	ok(jv_get_kind(out) == JV_KIND_INVALID, "out is invalid on error");
	like(e.msg, "/notjson: HTTP 200: response is not JSON", "message");
	like(e.msg, "<html>\\x01\\\"quoted\\\" and \\\\ back",
	     "body shown escaped");
	ok(strstr(e.msg, "TAILMARKER") == NULL, "only the first 100 bytes");
	diag("not JSON: %s", e.msg);
	jv_free(out);

	url_of(url, sizeof(url), "/badjson");
	ok(sov_http_json(h, "GET", url, NULL, jv_invalid(), &st, &out, &e) < 0,
	   "json GET /badjson fails (and leaks nothing under ASan)");
	like(e.msg,
	     "invalid JSON at line 2, column 6: expected ':' after the "
	     "key",
	     "the place in the body and what was expected");
	jv_free(out);

	url_of(url, sizeof(url), "/always503");
	ok(sov_http_json(h, "GET", url, NULL, jv_invalid(), &st, &out, &e) < 0,
	   "json GET /always503 fails");
	ok(e.code == SOV_EXIT_TEMPFAIL && st == 503, "75, status 503");
	jv_free(out);
	ok(sov_http_json(h, "GET", url, NULL, jv_invalid(), NULL, &out, &e) < 0,
	   "json without status refused");
	is_int(e.code, SOV_EXIT_USAGE, "usage error");
	jv_free(out);
	ok(sov_http_json(h, "POST", url, NULL,
			 jv_invalid_with_msg(jv_string("upstream failed")), &st,
			 &out, &e) < 0,
	   "json with an invalid-with-message body refused");
	like(e.msg, "invalid JSON value", "message says the body is invalid");
	jv_free(out);
}

/* Run argv with output to /dev/null; its exit status, 127 if not found. */
static int
run(const char *const argv[])
{
	pid_t pid = fork();
	int st, fd;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n;

	if (f == NULL)
		return NULL;
	buf = calloc(1, 65536);
	if (buf != NULL) {
		n = fread(buf, 1, 65535, f);
		buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

#define TLS_TESTS 9

static void
test_tls(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[512], key[600], cert[600], junk[600], url[128];
	char *keypem = NULL, *certpem = NULL;
	struct MHD_Daemon *d = NULL;
	struct sov_http_opts o;
	struct sov_http *h = NULL;
	struct sov_http_resp r;
	struct sov_err e;
	unsigned short tport;
	FILE *f;
	int rc;

	memset(&r, 0, sizeof(r));
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		skip(TLS_TESTS, "libmicrohttpd built without TLS");
		return;
	}
	snprintf(dir, sizeof(dir), "%s/test_http.XXXXXX",
		 tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		skip(TLS_TESTS, "cannot make a directory in $TMPDIR");
		return;
	}
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(junk, sizeof(junk), "%s/junk.pem", dir);
	{
		const char *argv[] = {"openssl",
				      "req",
				      "-x509",
				      "-newkey",
				      "ec",
				      "-pkeyopt",
				      "ec_paramgen_curve:prime256v1",
				      "-nodes",
				      "-days",
				      "2",
				      "-subj",
				      "/CN=127.0.0.1",
				      "-addext",
				      "subjectAltName=IP:127.0.0.1",
				      "-keyout",
				      key,
				      "-out",
				      cert,
				      NULL};
		rc = run(argv);
	}
	if (rc == 127) {
		skip(TLS_TESTS, "openssl CLI not found");
		goto out;
	}
	keypem = slurp(key);
	certpem = slurp(cert);
	ok(rc == 0 && keypem != NULL && certpem != NULL,
	   "openssl made a certificate for 127.0.0.1");
	d = keypem && certpem ? start(keypem, certpem, &tport) : NULL;
	ok(d != NULL, "HTTPS daemon started");
	if (d == NULL) {
		skip(TLS_TESTS - 2, "no HTTPS daemon");
		goto out;
	}
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/ok", tport);
	sov_http_opts_default(&o);
	o.base_delay_ms = 1;
	o.max_delay_ms = 5;
	h = sov_http_new(&o, &e);
	ok(h != NULL &&
	       sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e) < 0,
	   "without ca_file the self-signed certificate is refused");
	is_int(e.code, SOV_EXIT_FAIL, "certificate failure: code 1");
	is_int(r.attempts, 1, "certificate failure: not retried");
	diag("no ca_file: %s", e.msg);
	sov_http_free(h);
	o.ca_file = cert;
	h = sov_http_new(&o, &e);
	ok(h != NULL &&
	       sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e) == 0,
	   "with ca_file the request succeeds");
	ok(r.status == 200 && r.len == 11, "HTTPS 200 with the body");
	sov_http_free(h);
	f = fopen(junk, "w");
	if (f != NULL) {
		fputs("not a certificate\n", f);
		fclose(f);
	}
	o.ca_file = junk;
	h = sov_http_new(&o, &e);
	ok(h != NULL &&
	       sov_http_request(h, "GET", url, NULL, NULL, 0, &r, &e) < 0,
	   "a ca_file without certificates fails");
	ok(e.code == SOV_EXIT_FAIL && r.attempts == 1,
	   "bad ca_file: code 1, not retried (%s)", e.msg);
	sov_http_free(h);
out:
	if (d != NULL)
		MHD_stop_daemon(d);
	sov_http_resp_clear(&r);
	free(keypem);
	free(certpem);
	unlink(key);
	unlink(cert);
	unlink(junk);
	rmdir(dir);
}

int
main(void)
{
	struct MHD_Daemon *d;
	struct sov_http *h;

	signal(SIGPIPE, SIG_IGN);
	/* a proxy from the environment must not catch 127.0.0.1 */
	setenv("no_proxy", "*", 1);
	setenv("NO_PROXY", "*", 1);
	big_buf = malloc(BIG_LEN);
	if (big_buf == NULL)
		return 1;
	memset(big_buf, 'a', BIG_LEN);

	test_opts();
	test_backoff();
	test_retry_after();

	d = start(NULL, NULL, &port);
	ok(d != NULL && port != 0, "HTTP daemon on 127.0.0.1:%u", port);
	if (d == NULL)
		return done_testing();
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", port);
	h = client(4, 5000);
	ok(h != NULL, "client");
	if (h != NULL) {
		test_bad_requests(h);
		test_basic(h);
		test_bodies();
		test_retries(h);
		test_refused(h);
		test_json(h);
	}
	sov_http_free(h);
	MHD_stop_daemon(d);
	test_tls();
	free(big_buf);
	return done_testing();
}
