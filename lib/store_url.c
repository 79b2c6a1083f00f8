/*
 * store_url.c - parsing and checking store URLs, and the display form
 * that hides passwords. No connection is made here (libpq's own URL parser
 * is used to check PostgreSQL URLs, which also makes this fuzzable).
 */
#include "store.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store_impl.h"

#define ACCEPTED                                                               \
	"accepted: sqlite:PATH, sqlite:///ABS/PATH, sqlite::memory:, "         \
	"postgres://..., postgresql://..."

#define SCHEME_SHOWN_MAX 32

void
sov_store_url_clear(struct sov_store_url *u)
{
	if (u == NULL)
		return;
	free(u->path);
	free(u->conninfo);
	free(u->display);
	memset(u, 0, sizeof(*u));
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Is the query key s[0..n) "password" once percent-decoded (as libpq
 * does)? Case is ignored: libpq would refuse "PASSWORD", but its value is
 * still meant to be secret.
 */
static int
key_is_password(const char *s, size_t n)
{
	static const char want[] = "password";
	size_t k = 0;

	for (size_t i = 0; i < n; i++, k++) {
		int c = (unsigned char)s[i];
		if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
			i += 2;
		}
		if (k >= sizeof(want) - 1 || tolower(c) != want[k])
			return 0;
	}
	return k == sizeof(want) - 1;
}

/* Mark url[at, at + n) and every other place the same bytes stand: a
 * password's text that also appears elsewhere in the URL (a host or a
 * path that happens to hold it) is hidden there too. */
#define SOV_STORE_SECRET_ELSEWHERE_MIN 4
static void
mark_value(const char *url, size_t len, size_t at, size_t n, unsigned char *m)
{
	memset(m + at, 1, n);
	/* Not a text this short: it would mask letters all over the URL,
	 * and one of them tells nothing. */
	if (n < SOV_STORE_SECRET_ELSEWHERE_MIN)
		return;
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(url + i, url + at, n) == 0)
			memset(m + i, 1, n);
}

/*
 * Mark (m[i] = 1) the bytes of a postgres URL that are passwords: the
 * userinfo password and the value of every password=VALUE parameter.
 * libpq takes userinfo up to the first '@' before any '/'; here it is the
 * last, so that an unencoded '@' in a password does not leave its tail
 * shown. Parameters are looked for after every '?' and '&' of the whole
 * URL, as libpq's own query may start past a bracketed host. Marking too
 * much is harmless, missing a byte is not. Each password's text is hidden
 * wherever else it stands in the URL too: once masked, the URL may read
 * differently (a '/' gone inside a masked run), and another copy of the
 * text could then pass for the password.
 */
static void
mark_secrets(const char *url, size_t body, unsigned char *m)
{
	const char *p = url + body, *q, *colon;
	size_t len = strlen(url);

	/* The password up to the last '@' (all of it marked), and up to
	 * the first (libpq's reading, so that its text is hidden elsewhere
	 * too). */
	for (int first = 0; first < 2; first++) {
		q = first ? memchr(p, '@', strcspn(p, "/"))
			  : memrchr(p, '@', strcspn(p, "/"));
		if (q == NULL)
			break;
		colon = memchr(p, ':', (size_t)(q - p));
		if (colon != NULL)
			mark_value(url, len, (size_t)(colon + 1 - url),
				   (size_t)(q - colon - 1), m);
	}
	for (size_t i = body; i < len; i++) {
		const char *k = url + i + 1, *v;
		size_t klen;

		if (url[i] != '?' && url[i] != '&')
			continue;
		klen = strcspn(k, "=&?");
		if (k[klen] != '=' || !key_is_password(k, klen))
			continue;
		v = k + klen + 1;
		mark_value(url, len, (size_t)(v - url), strcspn(v, "&"), m);
	}
}

/* Copies of the masked runs of a URL, to redact them from messages. */
struct secrets {
	char **s;
	size_t n;
};

static void
secrets_free(struct secrets *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->s[i]);
	free(sc->s);
	sc->s = NULL;
	sc->n = 0;
}

/*
 * url with every run of marked bytes replaced by "***" (malloc'ed), and
 * the runs themselves in *sc. NULL when out of memory.
 */
static char *
mask(const char *url, const unsigned char *m, struct secrets *sc)
{
	size_t len = strlen(url), o = 0, runs = 0;
	char *out;

	for (size_t i = 0; i < len; i++)
		runs += m[i] && (i == 0 || !m[i - 1]);
	out = malloc(len + runs * 3 + 1);
	sc->s = calloc(runs + 1, sizeof(*sc->s));
	sc->n = 0;
	if (out == NULL || sc->s == NULL)
		goto oom;
	for (size_t i = 0; i < len;) {
		size_t n = 0;

		if (!m[i]) {
			out[o++] = url[i++];
			continue;
		}
		while (i + n < len && m[i + n])
			n++;
		sc->s[sc->n] = strndup(url + i, n);
		if (sc->s[sc->n++] == NULL)
			goto oom;
		memcpy(out + o, "***", 3);
		o += 3;
		i += n;
	}
	out[o] = '\0';
	return out;
oom:
	free(out);
	secrets_free(sc);
	return NULL;
}

/* s with every occurrence of needle replaced by repl (malloc'ed). */
static char *
replace_all(const char *s, const char *needle, size_t nlen, const char *repl)
{
	size_t rlen = strlen(repl), n = 0, o = 0;
	const char *p;
	char *out;

	if (nlen == 0)
		return strdup(s);
	/* Overlapping matches counted: an upper bound for the size. */
	for (p = s; (p = strstr(p, needle)) != NULL; p++)
		n++;
	if (rlen > nlen && n > (SIZE_MAX - strlen(s) - 1) / (rlen - nlen))
		return NULL;
	out = malloc(strlen(s) + n * (rlen > nlen ? rlen - nlen : 0) + 1);
	if (out == NULL)
		return NULL;
	for (p = s; *p != '\0';) {
		if (strncmp(p, needle, nlen) == 0) {
			memcpy(out + o, repl, rlen);
			o += rlen;
			p += nlen;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

/*
 * s with each secret replaced by "***" (malloc'ed), in one pass so that
 * nothing inserted is scanned again; the longest secret wins.
 */
static char *
redact(const char *s, const struct secrets *sc)
{
	size_t len = strlen(s), o = 0;
	char *out;

	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(len * 3 + 1); /* a 1-byte secret grows to 3 */
	if (out == NULL)
		return NULL;
	for (const char *p = s; *p != '\0';) {
		size_t best = 0;

		for (size_t i = 0; i < sc->n; i++) {
			size_t n = strlen(sc->s[i]);
			if (n > best && strncmp(p, sc->s[i], n) == 0)
				best = n;
		}
		if (best > 0) {
			memcpy(out + o, "***", 3);
			o += 3;
			p += best;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

/* libpq's URL errors quote the URL or a piece of it: hide the passwords. */
static int
pg_parse_error(const char *url, const char *display, const struct secrets *sc,
	       const char *msg, struct sov_err *e)
{
	char *s =
	    replace_all(msg ? msg : "out of memory", url, strlen(url), display);
	char *t = s ? redact(s, sc) : NULL;
	char line[SOV_ERR_MSG_MAX];

	free(s);
	if (t == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "store URL %s: out of memory", display);
	sov_store_oneline(line, sizeof(line), t);
	free(t);
	return sov_err_set(e, SOV_EXIT_USAGE, "store URL %s: %s", display,
			   line);
}

static int
parse_pg(const char *url, size_t body, struct sov_store_url *out,
	 struct sov_err *e)
{
	struct secrets sc = {NULL, 0};
	PQconninfoOption *opts = NULL;
	unsigned char *m = calloc(strlen(url) + 1, 1);
	char *errmsg = NULL;
	int rc = -1;

	out->kind = SOV_STORE_POSTGRES;
	if (m != NULL) {
		mark_secrets(url, body, m);
		out->display = mask(url, m, &sc);
	}
	out->conninfo = strdup(url);
	if (out->display == NULL || out->conninfo == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "store URL: out of memory");
		goto out;
	}
	/* libpq's own parser, so a bad URL is refused here, not at connect. */
	opts = PQconninfoParse(url, &errmsg);
	if (opts == NULL) {
		pg_parse_error(url, out->display, &sc, errmsg, e);
		goto out;
	}
	rc = 0;
out:
	PQconninfoFree(opts);
	PQfreemem(errmsg);
	secrets_free(&sc);
	free(m);
	return rc;
}

static int
parse_sqlite(const char *url, const char *rest, struct sov_store_url *out,
	     struct sov_err *e)
{
	const char *path = rest;

	if (strncmp(rest, "//", 2) == 0) {
		if (rest[2] != '/')
			return sov_err_set(
			    e, SOV_EXIT_USAGE,
			    "store URL: sqlite:// with a host is not "
			    "supported; write sqlite:PATH or "
			    "sqlite:///ABS/PATH");
		path = rest + 2;
	}
	if (*path == '\0')
		return sov_err_set(
		    e, SOV_EXIT_USAGE,
		    "store URL %s: no file path after sqlite:", url);
	if (path[strlen(path) - 1] == '/')
		return sov_err_set(
		    e, SOV_EXIT_USAGE,
		    "store URL %s: names a directory, not a file", url);
	out->kind = SOV_STORE_SQLITE;
	out->path = strdup(path);
	out->display = strdup(url);
	if (out->path == NULL || out->display == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "store URL: out of memory");
	return 0;
}

int
sov_store_url_parse(const char *url, struct sov_store_url *out,
		    struct sov_err *e)
{
	size_t len, n;
	int rc = -1;

	if (out == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "store URL: no output");
	memset(out, 0, sizeof(*out));
	if (url == NULL || url[0] == '\0') {
		sov_err_set(e, SOV_EXIT_USAGE, "store URL is empty (%s)",
			    ACCEPTED);
		goto out;
	}
	len = strnlen(url, SOV_STORE_URL_MAX + 1);
	if (len > SOV_STORE_URL_MAX) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "store URL is longer than %d bytes",
			    SOV_STORE_URL_MAX);
		goto out;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c < 0x20 || c == 0x7f) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "store URL has a control character at "
				    "byte %zu",
				    i + 1);
			goto out;
		}
	}
	if (strncmp(url, "sqlite:", 7) == 0) {
		rc = parse_sqlite(url, url + 7, out, e);
		goto out;
	}
	if (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0) {
		rc = parse_pg(url, url[8] == ':' ? 11 : 13, out, e);
		goto out;
	}
	/* Only the scheme is shown: the rest may hold a password. */
	n = strspn(url, "abcdefghijklmnopqrstuvwxyz"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
	if (n > 0 && url[n] == ':' && isalpha((unsigned char)url[0]))
		sov_err_set(e, SOV_EXIT_USAGE,
			    "store URL: unknown scheme \"%.*s\"%s (%s)",
			    n > SCHEME_SHOWN_MAX ? SCHEME_SHOWN_MAX : (int)n,
			    url, n > SCHEME_SHOWN_MAX ? "..." : "", ACCEPTED);
	else
		sov_err_set(e, SOV_EXIT_USAGE,
			    "store URL has no scheme (%s); for a file write "
			    "sqlite:PATH",
			    ACCEPTED);
out:
	if (rc < 0)
		sov_store_url_clear(out);
	return rc;
}
