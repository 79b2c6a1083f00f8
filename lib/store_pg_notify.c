/*
 * store_pg_notify.c - LISTEN, NOTIFY and waiting for a notification on a
 * PostgreSQL store (store.h: sov_store_listen, _notify, _wait). The channel
 * is checked by store.c: a plain identifier, so it goes into the SQL as is.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "store_impl.h"

int
sov_store_pg_listen(struct sov_store *st, const char *channel,
		    struct sov_err *e)
{
	char sql[16 + SOV_STORE_CHANNEL_MAX];

	/* One channel per connection: the one a reconnect listens on. */
	if (st->pg_listen[0] && strcmp(st->pg_listen, channel) != 0)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "%s: already listening on %s", st->display,
				   st->pg_listen);
	snprintf(sql, sizeof(sql), "LISTEN %s", channel);
	if (sov_store_pg_exec(st, sql, e) < 0)
		return -1;
	/* Kept for a reconnect, which sets the connection up again. */
	snprintf(st->pg_listen, sizeof(st->pg_listen), "%s", channel);
	return 0;
}

int
sov_store_pg_notify(struct sov_store *st, const char *channel,
		    struct sov_err *e)
{
	char sql[16 + SOV_STORE_CHANNEL_MAX];

	/* The server delivers one per transaction anyway: an enqueue of
	 * many executions in one sends it once, not a round trip each. */
	if (st->pg_tx && strcmp(st->pg_notified, channel) == 0)
		return 0;
	snprintf(sql, sizeof(sql), "NOTIFY %s", channel);
	if (sov_store_pg_exec(st, sql, e) < 0)
		return -1;
	if (st->pg_tx)
		snprintf(st->pg_notified, sizeof(st->pg_notified), "%s",
			 channel);
	return 0;
}

/* Take every notification libpq holds; 1 when there was one. */
static int
drain(struct sov_store *st)
{
	PGnotify *n;
	int got = 0;

	while ((n = PQnotifies(st->pg)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	return got;
}

int
sov_store_pg_wait(struct sov_store *st, int timeout_ms, struct sov_err *e)
{
	struct pollfd p;
	int n;

	if (st->pg_tx)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "%s: waiting for a notification inside a "
				   "transaction",
				   st->display);
	if (PQstatus(st->pg) != CONNECTION_OK || PQconsumeInput(st->pg) == 0)
		goto lost;
	if (drain(st))
		return 1;
	if (timeout_ms == 0)
		return 0;
	p.fd = PQsocket(st->pg);
	p.events = POLLIN;
	p.revents = 0;
	if (p.fd < 0)
		goto lost;
	n = poll(&p, 1, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0
				      : sov_err_sys(e, SOV_EXIT_FAIL, "poll");
	if (n == 0)
		return 0;
	if (PQconsumeInput(st->pg) == 0)
		goto lost;
	return drain(st);
lost:
	return sov_err_set(e, SOV_EXIT_TEMPFAIL, "%s: the connection was lost",
			   st->display);
}
