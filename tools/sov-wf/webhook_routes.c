/*
 * webhook_routes.c - what the webhook server is given: its routes, read
 * from the definitions' webhook triggers with their secrets, and the
 * address it listens on; see webhook.h.
 */
#include "webhook.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"

#define PORT_DIGITS_MAX 5

static int
bad_listen(const char *s, struct sov_err *e)
{
	return sov_err_set(e, SOV_EXIT_USAGE,
			   "listen \"%.*s\": must be IPV4:PORT or [IPV6]:PORT "
			   "with a numeric address, e.g. 127.0.0.1:8080",
			   WF_WEBHOOK_LISTEN_MAX, s ? s : "");
}

int
wf_webhook_parse_listen(const char *s, struct sockaddr_storage *ss,
			socklen_t *len, struct sov_err *e)
{
	char host[WF_WEBHOOK_LISTEN_MAX + 1];
	const char *port, *end;
	size_t n, hlen;
	unsigned long p = 0;
	int v6;

	n = s != NULL ? strnlen(s, WF_WEBHOOK_LISTEN_MAX + 1) : 0;
	if (n == 0 || n > WF_WEBHOOK_LISTEN_MAX)
		return bad_listen(s, e);
	v6 = s[0] == '[';
	if (v6) {
		end = strchr(s, ']');
		if (end == NULL || end[1] != ':')
			return bad_listen(s, e);
		hlen = (size_t)(end - s - 1);
		memcpy(host, s + 1, hlen);
		port = end + 2;
	} else {
		end = strrchr(s, ':');
		if (end == NULL)
			return bad_listen(s, e);
		hlen = (size_t)(end - s);
		memcpy(host, s, hlen);
		port = end + 1;
	}
	host[hlen] = '\0';
	for (n = 0; port[n] != '\0'; n++) {
		if (port[n] < '0' || port[n] > '9' || n >= PORT_DIGITS_MAX)
			return bad_listen(s, e);
		p = p * 10 + (unsigned long)(port[n] - '0');
	}
	if (n == 0 || p > 65535)
		return bad_listen(s, e);

	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)p);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return bad_listen(s, e);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)p);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return bad_listen(s, e);
		*len = sizeof(*a);
	}
	return 0;
}

void
wf_webhook_routes_free(struct wf_webhook_route *r, size_t n)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free((char *)r[i].path);
		free((char *)r[i].workflow);
		if (r[i].secret != NULL) {
			sodium_memzero(r[i].secret, r[i].secret_len);
			sodium_free(r[i].secret);
		}
	}
	free(r);
}

/* Load the secret of webhook trigger t of d into route r. */
static int
load_secret(const struct wf_def *d, const struct wf_trigger *t,
	    struct wf_webhook_route *r, struct sov_err *e)
{
	struct sov_secret s = {0};
	struct sov_err le = {0};
	const char *what = t->secret_file;
	const char *file = d->file != NULL ? d->file : d->name;

	if (what == NULL)
		what = t->secret_credential;
	if (sov_secret_load(t->secret_file, t->secret_credential, &s, &le) < 0)
		return sov_err_set(e, le.code, "%s: webhook %s: %s", file,
				   t->path, le.msg);
	if (s.len < WF_WEBHOOK_SECRET_MIN || s.len > WF_WEBHOOK_SECRET_MAX) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "%s: webhook %s: secret %s: %zu bytes; it must "
			    "be %d to %d (e.g. 32 random bytes in hex)",
			    file, t->path, what ? what : "?", s.len,
			    WF_WEBHOOK_SECRET_MIN, WF_WEBHOOK_SECRET_MAX);
		sov_secret_wipe(&s);
		return -1;
	}
	/* The route takes the sodium_malloc'ed buffer over. */
	r->secret = s.data;
	r->secret_len = s.len;
	return 0;
}

int
wf_webhook_routes_from_defs(struct wf_def *const *defs, size_t n,
			    struct wf_webhook_route **out, size_t *n_out,
			    struct sov_err *e)
{
	struct wf_webhook_route *r = NULL;
	size_t count = 0, k = 0;
	int rc = -1;

	*out = NULL;
	*n_out = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; defs[i] != NULL && j < defs[i]->n_triggers;
		     j++)
			count +=
			    defs[i]->triggers[j].kind == WF_TRIGGER_WEBHOOK;
	if (count == 0)
		return 0;
	r = calloc(count, sizeof(*r));
	if (r == NULL) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "webhook routes");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct wf_def *d = defs[i];

		for (size_t j = 0; d != NULL && j < d->n_triggers; j++) {
			const struct wf_trigger *t = &d->triggers[j];

			if (t->kind != WF_TRIGGER_WEBHOOK)
				continue;
			for (size_t m = 0; m < k; m++)
				if (strcmp(r[m].path, t->path) == 0) {
					sov_err_set(e, SOV_EXIT_USAGE,
						    "%s: webhook %s: also the "
						    "webhook of %s",
						    d->file ? d->file : d->name,
						    t->path, r[m].workflow);
					goto out;
				}
			r[k].path = strdup(t->path);
			r[k].workflow = strdup(d->name);
			k++;
			if (r[k - 1].path == NULL ||
			    r[k - 1].workflow == NULL) {
				sov_err_sys(e, SOV_EXIT_TEMPFAIL,
					    "webhook routes");
				goto out;
			}
			if (load_secret(d, t, &r[k - 1], e) < 0)
				goto out;
		}
	}
	*out = r;
	*n_out = k;
	r = NULL;
	rc = 0;
out:
	wf_webhook_routes_free(r, k);
	return rc;
}
