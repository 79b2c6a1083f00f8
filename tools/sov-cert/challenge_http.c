/*
 * challenge_http.c - http-01: webroot files and the built-in responder.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "challenge.h"
#include "crypto.h"
#include "fs.h"
#include "jws.h"

#define WELL_KNOWN "/.well-known/acme-challenge/"

int
ct_chal_type_parse(const char *s, enum ct_chal_type *t)
{
	if (strcmp(s, "http-01") == 0)
		*t = CT_HTTP01;
	else if (strcmp(s, "dns-01") == 0)
		*t = CT_DNS01;
	else if (strcmp(s, "tls-alpn-01") == 0)
		*t = CT_TLSALPN01;
	else
		return -1;
	return 0;
}

const char *
ct_chal_type_name(enum ct_chal_type t)
{
	return t == CT_HTTP01  ? "http-01"
	       : t == CT_DNS01 ? "dns-01"
			       : "tls-alpn-01";
}

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url,
       const char *method, const char *version, const char *data,
       size_t *data_len, void **state)
{
	struct ct_chal *c = cls;
	struct MHD_Response *r;
	const char *body = "not found\n";
	char *copy = NULL;
	unsigned status = MHD_HTTP_NOT_FOUND;
	enum MHD_Result ret;

	(void)version;
	(void)data;
	(void)data_len;
	(void)state;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		body = "method not allowed\n";
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (strncmp(url, WELL_KNOWN, sizeof(WELL_KNOWN) - 1) == 0) {
		const char *tok = url + sizeof(WELL_KNOWN) - 1;

		pthread_mutex_lock(&c->lock);
		for (size_t i = 0; i < c->n; i++)
			if (c->ents[i].token &&
			    strcmp(c->ents[i].token, tok) == 0) {
				copy = strdup(c->ents[i].keyauth);
				break;
			}
		pthread_mutex_unlock(&c->lock);
		if (copy != NULL) {
			body = copy;
			status = MHD_HTTP_OK;
		}
	}
	r = MHD_create_response_from_buffer(strlen(body), (void *)body,
					    MHD_RESPMEM_MUST_COPY);
	free(copy);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(
	    r, "Content-Type",
	    status == MHD_HTTP_OK ? "application/octet-stream" : "text/plain");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* ADDR: ":PORT", "IPV4:PORT" or "[IPV6]:PORT". */
static int
parse_addr(const char *s, struct sockaddr_storage *ss, int *any, unsigned *port,
	   struct sov_err *e)
{
	char host[INET6_ADDRSTRLEN + 1] = "";
	const char *colon;
	char *end;
	long p;

	memset(ss, 0, sizeof(*ss));
	*any = 0;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':' ||
		    (size_t)(rb - s - 1) >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, (size_t)(rb - s - 1));
		host[rb - s - 1] = '\0';
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
			goto bad;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno || p < 1 || p > 65535)
		goto bad;
	*port = (unsigned)p;
	if (host[0] == '\0') {
		*any = 1;
		return 0;
	}
	if (s[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			goto bad;
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)p);
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			goto bad;
	}
	return 0;
bad:
	return sov_err_set(e, SOV_EXIT_USAGE,
			   "--standalone: want :PORT, IPV4:PORT or "
			   "[IPV6]:PORT, got \"%.100s\"",
			   s);
}

int
ct_standalone_parse(const char *addr, struct sockaddr_storage *ss, int *any,
		    unsigned *port, struct sov_err *e)
{
	return parse_addr(addr, ss, any, port, e);
}

int
ct_standalone_check(const char *addr, struct sov_err *e)
{
	struct sockaddr_storage ss;
	unsigned port;
	int any;

	return parse_addr(addr, &ss, &any, &port, e);
}

int
ct_chal_start(struct ct_chal *c, struct sov_err *e)
{
	struct sockaddr_storage ss;
	unsigned port = 0;
	int any;

	c->n = 0;
	c->mhd = NULL;
	c->alpn = NULL;
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "mutex");
	if (c->type == CT_TLSALPN01)
		return ct_alpn_start(c, e);
	if (c->type != CT_HTTP01 || c->standalone == NULL)
		return 0;
	if (parse_addr(c->standalone, &ss, &any, &port, e) < 0)
		return -1;
	if (any) {
		c->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
					      MHD_USE_DUAL_STACK,
					  (uint16_t)port, NULL, NULL, answer, c,
					  MHD_OPTION_CONNECTION_TIMEOUT,
					  (unsigned)10, MHD_OPTION_END);
		if (c->mhd == NULL) /* a host without IPv6 */
			c->mhd =
			    MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD,
					     (uint16_t)port, NULL, NULL, answer,
					     c, MHD_OPTION_CONNECTION_TIMEOUT,
					     (unsigned)10, MHD_OPTION_END);
	} else
		c->mhd = MHD_start_daemon(
		    MHD_USE_INTERNAL_POLLING_THREAD |
			(ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
		    (uint16_t)port, NULL, NULL, answer, c, MHD_OPTION_SOCK_ADDR,
		    &ss, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
		    MHD_OPTION_END);
	if (c->mhd == NULL)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL,
				   "--standalone %s: cannot listen (in use, "
				   "or port 80 without CAP_NET_BIND_SERVICE?)",
				   c->standalone);
	return 0;
}

static int
add_http(struct ct_chal *c, struct ct_chal_entry *en, struct sov_err *e)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int n;

	if (c->webroot == NULL)
		return 0; /* the responder serves it */
	n = snprintf(dir, sizeof(dir), "%s/.well-known/acme-challenge",
		     c->webroot);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return sov_err_set(e, SOV_EXIT_USAGE, "--webroot: too long");
	n = snprintf(path, sizeof(path), "%s/%s", dir, en->token);
	if (n < 0 || (size_t)n >= sizeof(path))
		return sov_err_set(e, SOV_EXIT_USAGE, "--webroot: too long");
	if (sov_mkdir_p(dir, 0755, e) < 0 ||
	    sov_file_write_atomic(path, en->keyauth, strlen(en->keyauth), 0644,
				  e) < 0)
		return -1;
	en->path = strdup(path);
	if (en->path == NULL) {
		unlink(path);
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
	}
	return 0;
}

static int
add_dns(struct ct_chal *c, struct ct_chal_entry *en, const char *domain,
	struct sov_err *e)
{
	const char *args[4];
	size_t n;

	if (strncmp(domain, "*.", 2) == 0) /* the record is the base's */
		domain += 2;
	n = strlen(domain) + sizeof("_acme-challenge.");

	en->name = malloc(n);
	en->txt = ct_dns_txt(en->keyauth);
	if (en->name == NULL || en->txt == NULL)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
	if (snprintf(en->name, n, "_acme-challenge.%s", domain) != (int)n - 1)
		return sov_err_set(e, SOV_EXIT_FAIL, "dns name");
	args[0] = "set";
	args[1] = en->name;
	args[2] = en->txt;
	args[3] = NULL;
	if (c->dns_nsupdate != NULL
		? ct_nsupdate_run(c, 1, en->name, en->txt, e) < 0
		: ct_hook_run(c->dns_hook, args, e) < 0) {
		free(en->name); /* not set: nothing to unset */
		en->name = NULL;
		return -1;
	}
	return 0;
}

int
ct_chal_add(struct ct_chal *c, const char *domain, const char *token,
	    const char *keyauth, struct sov_err *e)
{
	struct ct_chal_entry en = {0};
	int rc = -1;

	if (c->n >= CT_CHAL_MAX)
		return sov_err_set(e, SOV_EXIT_FAIL, "over %d challenges",
				   CT_CHAL_MAX);
	en.token = strdup(token);
	en.keyauth = strdup(keyauth);
	if (en.token == NULL || en.keyauth == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	if (c->type == CT_TLSALPN01 ? ct_alpn_add(c, domain, keyauth, e) < 0
	    : c->type == CT_HTTP01  ? add_http(c, &en, e) < 0
				    : add_dns(c, &en, domain, e) < 0)
		goto out;
	pthread_mutex_lock(&c->lock);
	c->ents[c->n++] = en;
	pthread_mutex_unlock(&c->lock);
	return 0;
out:
	free(en.token);
	free(en.keyauth);
	free(en.path);
	free(en.name);
	free(en.txt);
	return rc;
}

int
ct_chal_stop(struct ct_chal *c, struct sov_err *e)
{
	int rc = 0;

	if (c->mhd != NULL)
		MHD_stop_daemon(c->mhd);
	c->mhd = NULL;
	ct_alpn_stop(c);
	for (size_t i = 0; i < c->n; i++) {
		struct ct_chal_entry *en = &c->ents[i];

		if (en->path != NULL && unlink(en->path) < 0 && errno != ENOENT)
			rc = sov_err_sys(e, SOV_EXIT_FAIL, "remove %s",
					 en->path);
		if (en->name != NULL) {
			const char *args[] = {"unset", en->name, en->txt, NULL};

			if (c->dns_nsupdate != NULL
				? ct_nsupdate_run(c, 0, en->name, en->txt, e) <
				      0
				: ct_hook_run(c->dns_hook, args, e) < 0)
				rc = -1;
		}
		free(en->token);
		free(en->keyauth);
		free(en->path);
		free(en->name);
		free(en->txt);
	}
	c->n = 0;
	pthread_mutex_destroy(&c->lock);
	return rc;
}
