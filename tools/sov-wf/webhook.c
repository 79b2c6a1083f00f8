/*
 * webhook.c - the webhook server: libmicrohttpd driven by an epoll loop on
 * a thread of its own; see webhook.h for what it accepts.
 *
 * Why not libmicrohttpd's own polling thread: its connection timeout is an
 * idle timeout, which a client sending one byte a second never reaches,
 * and it offers no hook to end a connection from outside. So this thread
 * owns the listening socket, accepts (MHD_add_connection), runs
 * libmicrohttpd between polls (MHD_run), and in between shuts down every
 * connection whose request is not in by its deadline. Everything of a
 * connection happens on this one thread, so a descriptor it shuts down is
 * still that connection's.
 */
#include "webhook_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#define LISTEN_BACKLOG 64
#define ACCEPT_BATCH 16     /* connections taken per turn of the loop */
#define ACCEPT_PAUSE_MS 100 /* after accept ran out of descriptors */

int64_t
wf_webhook_mono_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- connections ---- */

static void
on_conn(void *cls, struct MHD_Connection *c, void **sctx,
	enum MHD_ConnectionNotificationCode code)
{
	struct wf_webhook *w = cls;
	struct wf_webhook_conn *k = *sctx;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		    c, MHD_CONNECTION_INFO_CONNECTION_FD);

		if (ci == NULL)
			return;
		k = calloc(1, sizeof(*k));
		if (k == NULL) {
			/* untracked, it would escape the deadline: end it */
			(void)shutdown(ci->connect_fd, SHUT_RDWR);
			return;
		}
		k->fd = ci->connect_fd;
		k->deadline_ms = wf_webhook_mono_ms() + w->timeout_ms;
		k->next = w->conns;
		if (w->conns != NULL)
			w->conns->prev = k;
		w->conns = k;
		w->n_conns++;
		*sctx = k;
		return;
	}
	if (k == NULL)
		return;
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		w->conns = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	w->n_conns--;
	free(k);
	*sctx = NULL;
}

/* Shut down the connections past their deadline; libmicrohttpd then reads
 * the end of the stream and closes them. Returns the ms until the next
 * deadline, or -1 when there is none. */
static long
cut_late(struct wf_webhook *w)
{
	int64_t now = wf_webhook_mono_ms(), next = -1;

	for (struct wf_webhook_conn *k = w->conns; k != NULL; k = k->next) {
		if (k->cut)
			continue;
		if (k->deadline_ms <= now) {
			(void)shutdown(k->fd, SHUT_RDWR);
			k->cut = 1;
		} else if (next < 0 || k->deadline_ms - now < next) {
			next = k->deadline_ms - now;
		}
	}
	return (long)next;
}

static void
accept_some(struct wf_webhook *w)
{
	for (int i = 0; i < ACCEPT_BATCH && w->n_conns < w->connections; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(w->lfd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* out of descriptors or memory: the listening socket
			 * stays readable, so wait instead of spinning */
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				w->accept_after_ms =
				    wf_webhook_mono_ms() + ACCEPT_PAUSE_MS;
			return;
		}
		/* On MHD_NO (a limit, no memory) it has closed fd itself. */
		(void)MHD_add_connection(w->d, fd, (struct sockaddr *)&ss, sl);
	}
}

static void *
serve(void *arg)
{
	struct wf_webhook *w = arg;

	for (;;) {
		struct pollfd p[3];
		nfds_t np = 2;
		MHD_UNSIGNED_LONG_LONG mt;
		long t = cut_late(w);
		int64_t now = wf_webhook_mono_ms();
		int listening = w->n_conns < w->connections;

		if (MHD_get_timeout(w->d, &mt) == MHD_YES &&
		    (t < 0 || mt < (MHD_UNSIGNED_LONG_LONG)t))
			t = mt > INT_MAX ? INT_MAX : (long)mt;
		if (listening && w->accept_after_ms > now) {
			listening = 0;
			if (t < 0 || w->accept_after_ms - now < t)
				t = (long)(w->accept_after_ms - now);
		}
		p[0] = (struct pollfd){.fd = w->wake[0], .events = POLLIN};
		p[1] = (struct pollfd){.fd = w->epfd, .events = POLLIN};
		if (listening)
			p[np++] =
			    (struct pollfd){.fd = w->lfd, .events = POLLIN};
		if (poll(p, np, t > INT_MAX ? INT_MAX : (int)t) < 0) {
			struct timespec pause = {0, ACCEPT_PAUSE_MS * 1000000L};

			/* EINTR, or ENOMEM that may pass: never spin */
			if (errno != EINTR)
				(void)nanosleep(&pause, NULL);
			continue;
		}
		if (p[0].revents != 0)
			break;
		if (np == 3 && p[2].revents != 0)
			accept_some(w);
		(void)MHD_run(w->d);
	}
	return NULL;
}

/* ---- start and stop ---- */

/* Check and copy routes into w->routes (secrets into sodium_malloc). */
static int
copy_routes(struct wf_webhook *w, const struct wf_webhook_route *routes,
	    size_t n, struct sov_err *e)
{
	if (n == 0)
		return sov_err_set(e, SOV_EXIT_USAGE, "webhook: no routes");
	w->routes = calloc(n, sizeof(*w->routes));
	if (w->routes == NULL)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "webhook routes");
	for (size_t i = 0; i < n; i++) {
		const struct wf_webhook_route *r = &routes[i];
		struct wf_webhook_route *c = &w->routes[i];
		size_t plen = r->path != NULL
				  ? strnlen(r->path, WF_WEBHOOK_PATH_MAX + 1)
				  : 0;

		if (plen == 0 || plen > WF_WEBHOOK_PATH_MAX ||
		    r->path[0] != '/')
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "webhook route %zu: the path must "
					   "be /hooks/NAME",
					   i);
		if (r->workflow == NULL || r->workflow[0] == '\0')
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "webhook %s: no workflow", r->path);
		if (r->secret == NULL ||
		    r->secret_len < WF_WEBHOOK_SECRET_MIN ||
		    r->secret_len > WF_WEBHOOK_SECRET_MAX)
			return sov_err_set(
			    e, SOV_EXIT_USAGE,
			    "webhook %s: the secret is %zu "
			    "bytes; it must be %d to %d",
			    r->path, r->secret ? r->secret_len : 0,
			    WF_WEBHOOK_SECRET_MIN, WF_WEBHOOK_SECRET_MAX);
		for (size_t j = 0; j < i; j++)
			if (strcmp(w->routes[j].path, r->path) == 0)
				return sov_err_set(e, SOV_EXIT_USAGE,
						   "webhook %s: path given "
						   "twice",
						   r->path);
		c->path = strdup(r->path);
		c->workflow = strdup(r->workflow);
		c->secret = sodium_malloc(r->secret_len);
		w->n = i + 1; /* so that stop frees what is there */
		if (c->path == NULL || c->workflow == NULL || c->secret == NULL)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL,
					   "webhook routes");
		memcpy(c->secret, r->secret, r->secret_len);
		c->secret_len = r->secret_len;
	}
	return 0;
}

static int
open_listener(struct wf_webhook *w, const char *listen_at, struct sov_err *e)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	int one = 1;

	if (wf_webhook_parse_listen(listen_at, &ss, &sl, e) < 0)
		return -1;
	w->lfd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (w->lfd < 0)
		return sov_err_sys(e, sov_exit_code_errno(errno),
				   "listen %s: socket", listen_at);
	/* A restart must not wait for the old connections' TIME_WAIT; a
	 * socket listening on the port still makes bind fail. */
	if (setsockopt(w->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) !=
		0 ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(w->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) !=
		 0))
		return sov_err_sys(e, SOV_EXIT_FAIL, "listen %s: setsockopt",
				   listen_at);
	/* An address not (yet) on this host is worth a retry: at boot the
	 * mesh interface may come up after the worker, and exit 2 would stop
	 * systemd from restarting it. A port in use, likewise. */
	if (bind(w->lfd, (struct sockaddr *)&ss, sl) != 0)
		return sov_err_sys(e,
				   errno == EACCES ? SOV_EXIT_USAGE
				   : errno == EADDRNOTAVAIL ||
					   errno == EADDRINUSE
				       ? SOV_EXIT_TEMPFAIL
				       : SOV_EXIT_FAIL,
				   "listen %s: bind", listen_at);
	if (listen(w->lfd, LISTEN_BACKLOG) != 0)
		return sov_err_sys(e, SOV_EXIT_FAIL, "listen %s", listen_at);
	sl = sizeof(ss);
	if (getsockname(w->lfd, (struct sockaddr *)&ss, &sl) != 0)
		return sov_err_sys(e, SOV_EXIT_FAIL, "listen %s: getsockname",
				   listen_at);
	w->port = ss.ss_family == AF_INET6
		      ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
		      : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

static int
start_daemon(struct wf_webhook *w, unsigned per_ip, struct sov_err *e)
{
	const union MHD_DaemonInfo *di;
	/* libmicrohttpd's idle timeout, in whole seconds, rounded up */
	unsigned idle_s = (unsigned)((w->timeout_ms + 999) / 1000);

	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) != MHD_YES)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "webhook: libmicrohttpd was built without "
				   "epoll");
	w->d = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL,
	    wf_webhook_handle, w, MHD_OPTION_CONNECTION_LIMIT, w->connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, idle_s, MHD_OPTION_NOTIFY_COMPLETED,
	    wf_webhook_request_done, (void *)w, MHD_OPTION_NOTIFY_CONNECTION,
	    on_conn, (void *)w, MHD_OPTION_END);
	if (w->d == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "webhook: libmicrohttpd failed to start");
	di = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (di == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "webhook: libmicrohttpd has no epoll "
				   "descriptor");
	w->epfd = di->epoll_fd;
	return 0;
}

/* The signals sent to the process are the caller's to handle: the thread
 * blocks them. Not the ones a fault raises in the thread itself: blocked,
 * those would kill the process without its handlers (ASan's too). */
static int
start_thread(struct wf_webhook *w, struct sov_err *e)
{
	static const int faults[] = {SIGSEGV, SIGBUS,  SIGFPE, SIGILL,
				     SIGTRAP, SIGABRT, SIGSYS};
	sigset_t all, old;
	int rc;

	if (sigfillset(&all) != 0)
		return sov_err_sys(e, SOV_EXIT_FAIL, "sigfillset");
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		if (sigdelset(&all, faults[i]) != 0)
			return sov_err_sys(e, SOV_EXIT_FAIL, "sigdelset");
	rc = pthread_sigmask(SIG_SETMASK, &all, &old);
	if (rc != 0)
		return sov_err_set(e, SOV_EXIT_FAIL, "pthread_sigmask: %s",
				   strerror(rc));
	rc = pthread_create(&w->thread, NULL, serve, w);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL,
				   "webhook: pthread_create: %s", strerror(rc));
	w->running = 1;
	return 0;
}

struct wf_webhook *
wf_webhook_start_opts(const char *listen_at,
		      const struct wf_webhook_route *routes, size_t n,
		      wf_webhook_fn fn, void *arg,
		      const struct wf_webhook_opts *opts, struct sov_err *e)
{
	struct wf_webhook *w = NULL, *ret = NULL;
	unsigned per_ip = WF_WEBHOOK_PER_IP;

	if (fn == NULL) {
		sov_err_set(e, SOV_EXIT_USAGE, "webhook: no callback");
		goto out;
	}
	if (routes == NULL)
		n = 0; /* copy_routes refuses it */
	if (sodium_init() < 0) {
		sov_err_set(e, SOV_EXIT_FAIL, "libsodium failed to initialise");
		goto out;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "webhook");
		goto out;
	}
	w->lfd = w->epfd = w->wake[0] = w->wake[1] = -1;
	w->fn = fn;
	w->arg = arg;
	w->timeout_ms = WF_WEBHOOK_TIMEOUT_S * 1000L;
	w->connections = WF_WEBHOOK_CONNECTIONS;
	if (opts != NULL && opts->timeout_ms > 0)
		w->timeout_ms = opts->timeout_ms;
	if (opts != NULL && opts->connections > 0)
		w->connections = opts->connections;
	if (opts != NULL && opts->per_ip > 0)
		per_ip = opts->per_ip;
	if (copy_routes(w, routes, n, e) < 0 ||
	    open_listener(w, listen_at, e) < 0)
		goto out;
	if (pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		sov_err_sys(e, sov_exit_code_errno(errno), "webhook: pipe");
		goto out;
	}
	if (start_daemon(w, per_ip, e) < 0 || start_thread(w, e) < 0)
		goto out;
	ret = w;
	w = NULL;
out:
	wf_webhook_stop(w);
	return ret;
}

struct wf_webhook *
wf_webhook_start(const char *listen_at, const struct wf_webhook_route *routes,
		 size_t n, wf_webhook_fn fn, void *arg, struct sov_err *e)
{
	return wf_webhook_start_opts(listen_at, routes, n, fn, arg, NULL, e);
}

int
wf_webhook_port(const struct wf_webhook *w)
{
	return w != NULL ? w->port : -1;
}

void
wf_webhook_stop(struct wf_webhook *w)
{
	if (w == NULL)
		return;
	if (w->running) {
		char b = 1;
		ssize_t n;

		/* The only byte ever written: the empty pipe takes it. */
		do
			n = write(w->wake[1], &b, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1)
			(void)pthread_join(w->thread, NULL);
		/* else the thread cannot be told; it is left running, and
		 * so are its daemon and routes (never seen in practice) */
		if (n != 1)
			return;
	}
	/* Closes every connection; the notifications free conns and reqs. */
	if (w->d != NULL)
		MHD_stop_daemon(w->d);
	if (w->lfd >= 0)
		(void)close(w->lfd);
	if (w->wake[0] >= 0)
		(void)close(w->wake[0]);
	if (w->wake[1] >= 0)
		(void)close(w->wake[1]);
	wf_webhook_routes_free(w->routes, w->n);
	free(w);
}
