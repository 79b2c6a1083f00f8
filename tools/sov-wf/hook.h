/*
 * hook.h - the worker's webhook triggers: the server of webhook.h, whose
 * callback starts an execution of the workflow a signed request names,
 * through its own store connection. A delivery id makes the start
 * idempotent (key "webhook:NAME:DELIVERY"): a replayed request gets the
 * execution the first one started.
 */
#ifndef WF_HOOK_H
#define WF_HOOK_H

#include "err.h"
#include "registry.h"

struct wf_hook;

/* Serve the webhook triggers of reg on listen ("127.0.0.1:8080"). A
 * registry with no webhook trigger is an error: nothing would be served. */
struct wf_hook *wf_hook_start(const char *listen, const char *store_url,
			      const struct wf_registry *reg, struct sov_err *e);
void wf_hook_stop(struct wf_hook *h); /* accepts NULL */

/* The port bound (for listen with port 0). */
int wf_hook_port(const struct wf_hook *h);

#endif
