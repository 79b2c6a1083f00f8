/*
 * webhook_int.h - what webhook.c (the loop, connections, start and stop)
 * and webhook_http.c (requests and responses) share; see webhook.h.
 */
#ifndef WF_WEBHOOK_INT_H
#define WF_WEBHOOK_INT_H

#include <pthread.h>
#include <stdint.h>

#include <microhttpd.h>

#include "webhook.h"

/* One TCP connection: libmicrohttpd's socket context. */
struct wf_webhook_conn {
	struct wf_webhook_conn *prev, *next;
	int fd;
	int cut; /* shut down at its deadline */
	int64_t deadline_ms;
};

struct wf_webhook {
	struct MHD_Daemon *d;
	struct wf_webhook_route *routes;
	size_t n;
	wf_webhook_fn fn;
	void *arg;
	long timeout_ms;
	unsigned connections;
	int lfd, epfd;
	int wake[2]; /* a byte on wake[1] stops the thread */
	int port;
	int running; /* the thread was started */
	pthread_t thread;
	struct wf_webhook_conn *conns; /* on this thread only */
	unsigned n_conns;
	int64_t accept_after_ms;
};

/* CLOCK_MONOTONIC in ms. */
int64_t wf_webhook_mono_ms(void);

/* libmicrohttpd's access handler and request-completed callback; cls is
 * the struct wf_webhook. */
enum MHD_Result wf_webhook_handle(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *size, void **ctx);
void wf_webhook_request_done(void *cls, struct MHD_Connection *c, void **ctx,
			     enum MHD_RequestTerminationCode why);

#endif
