/*
 * hook.c - webhook requests become executions (hook.h).
 */
#include "hook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "queue.h"
#include "webhook.h"

struct wf_hook {
	const struct wf_registry *reg;
	struct sov_store *st; /* used on the server's thread only */
	struct wf_webhook_route *routes;
	size_t n_routes;
	struct wf_webhook *server;
};

static int
on_request(void *arg, const char *workflow, jv input, const char *delivery,
	   jv *reply, struct sov_err *e)
{
	struct wf_hook *h = arg;
	long i = wf_registry_find(h->reg, workflow);
	char key[WF_KEY_MAX + 1];
	long long id;
	int dup;

	if (i < 0) {
		jv_free(input);
		return sov_err_set(e, SOV_EXIT_FAIL, "no workflow %s",
				   workflow);
	}
	if (delivery) {
		int n = snprintf(key, sizeof(key), "webhook:%s:%s", workflow,
				 delivery);

		if (n < 0 || (size_t)n >= sizeof(key)) {
			jv_free(input);
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "delivery id too long");
		}
	}
	if (sov_store_begin(h->st, e) < 0) {
		sov_store_rollback(h->st,
				   NULL); /* a BEGIN lost with the link */
		jv_free(input);
		return -1;
	}
	if (wf_registry_put(h->st, h->reg->defs[i], h->reg->ids[i], e) < 0 ||
	    wf_queue_enqueue(h->st, h->reg->defs[i], h->reg->ids[i], input,
			     delivery ? key : NULL, "webhook", &id, &dup,
			     e) < 0 ||
	    sov_store_commit(h->st, e) < 0) {
		sov_store_rollback(h->st, NULL);
		return -1;
	}
	*reply = JV_OBJECT(jv_string("execution"), jv_number((double)id),
			   jv_string("duplicate"), jv_bool(dup));
	return 0;
}

void
wf_hook_stop(struct wf_hook *h)
{
	if (!h)
		return;
	wf_webhook_stop(h->server);
	wf_webhook_routes_free(h->routes, h->n_routes);
	sov_store_close(h->st);
	free(h);
}

struct wf_hook *
wf_hook_start(const char *listen, const char *store_url,
	      const struct wf_registry *reg, struct sov_err *e)
{
	struct wf_hook *h = calloc(1, sizeof(*h));

	if (!h) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		return NULL;
	}
	h->reg = reg;
	if (!reg || reg->n == 0 ||
	    wf_webhook_routes_from_defs(reg->defs, reg->n, &h->routes,
					&h->n_routes, e) < 0)
		goto fail;
	if (h->n_routes == 0) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "--webhook: no workflow has a webhook trigger");
		goto fail;
	}
	if (!(h->st = wf_db_open(store_url, e)) ||
	    !(h->server = wf_webhook_start(listen, h->routes, h->n_routes,
					   on_request, h, e)))
		goto fail;
	return h;
fail:
	if (!e->code)
		sov_err_set(e, SOV_EXIT_USAGE,
			    "--webhook needs workflow definitions");
	wf_hook_stop(h);
	return NULL;
}

int
wf_hook_port(const struct wf_hook *h)
{
	return wf_webhook_port(h->server);
}
