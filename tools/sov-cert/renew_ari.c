/*
 * renew_ari.c - renew's session and its ARI polls; see renew.h and ari.h.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "ari.h"
#include "renew.h"
#include "timestamp.h"

static const char *
server_of(jv meta)
{
	jv v = jv_object_get(jv_copy(meta), jv_string("server"));
	const char *s = NULL;

	if (jv_get_kind(v) == JV_KIND_STRING && ct_url_ok(jv_string_value(v)))
		s = jv_string_value(v); /* alive while meta holds it */
	jv_free(v);
	return s;
}

int
ct_renew_session(struct ct_renew_run *r, jv meta, const char *name,
		 struct sov_err *e)
{
	const char *server = server_of(meta);

	if (!r->o.server_given && server != NULL) {
		if (!r->open) {
			snprintf(r->server, sizeof(r->server), "%s",
				 server); /* ct_url_ok: it fits */
			r->o.server = r->server;
		} else if (strcmp(server, r->s.acme.server) != 0) {
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "%s: issued by %s, not %s: renew "
					   "it on its own with --server",
					   name, server, r->s.acme.server);
		}
	}
	if (r->open)
		return 0;
	if (r->random_delay > 0) {
		long d =
		    (long)randombytes_uniform((uint32_t)r->random_delay + 1);

		nanosleep(&(struct timespec){d, 0}, NULL);
		r->random_delay = 0; /* once a run */
	}
	if (ct_session_open(&r->s, &r->o, e) < 0)
		return -1;
	r->open = 1;
	return 0;
}

jv
ct_renew_ari(const struct ct_state *st, const char *name)
{
	struct sov_err e = {0};
	jv meta = ct_state_meta(st, name, &e), ari;

	if (!jv_is_valid(meta)) {
		jv_free(meta);
		return jv_null();
	}
	ari = jv_object_get(meta, jv_string("ari"));
	if (jv_get_kind(ari) != JV_KIND_OBJECT) {
		jv_free(ari);
		return jv_null();
	}
	return ari;
}

int
ct_renew_ari_poll(struct ct_renew_run *r, const char *name, jv *ari,
		  int64_t now, struct sov_err *e)
{
	struct ct_ari info = {0};
	jv meta = jv_invalid(), id = jv_invalid(), rec;
	long retry_ms = -1;
	int rc = -1;

	meta = ct_state_meta(&r->s.st, name, e); /* again, under the lock */
	if (!jv_is_valid(meta))
		goto out;
	if (r->s.acme.dir.renewal_info == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s offers no renewalInfo",
			    r->s.acme.server);
		goto out;
	}
	id = jv_object_get(jv_copy(*ari), jv_string("cert_id"));
	if (jv_get_kind(id) != JV_KIND_STRING) {
		sov_err_set(e, SOV_EXIT_FAIL, "meta.json: ari.cert_id missing");
		goto out;
	}
	if (ct_ari_fetch(&r->s.acme, jv_string_value(id), &info, &retry_ms, e) <
	    0)
		goto out;
	rec = ct_ari_record(jv_copy(*ari), jv_string_value(id), &info, now,
			    retry_ms);
	meta = jv_object_set(meta, jv_string("ari"), jv_copy(rec));
	if (ct_state_meta_save(&r->s.st, name, meta, e) < 0) {
		meta = jv_invalid();
		jv_free(rec);
		goto out;
	}
	meta = jv_invalid();
	jv_free(*ari);
	*ari = rec;
	rc = 0;
out:
	ct_ari_free(&info);
	jv_free(id);
	jv_free(meta);
	return rc;
}

int64_t
ct_renew_held(const struct ct_state *st, const char *name)
{
	struct sov_err e = {0};
	jv meta = ct_state_meta(st, name, &e);
	int64_t until;

	if (!jv_is_valid(meta)) {
		jv_free(meta);
		return -1;
	}
	until = ct_ari_time(meta, "rate_limited_until");
	jv_free(meta);
	return until;
}

int64_t
ct_renew_hold(struct ct_renew_run *r, const char *name, int64_t now,
	      struct sov_err *e)
{
	long ms = r->open ? r->s.acme.err_retry_after_ms : -1;
	char ts[SOV_TIME_RFC3339_LEN];
	int64_t until;
	jv meta;

	if (ms <= 0)
		return -1;
	until = now + (ms + 999) / 1000;
	meta = ct_state_meta(&r->s.st, name, e);
	if (!jv_is_valid(meta))
		return -1;
	sov_time_format(until * 1000, ts);
	meta =
	    jv_object_set(meta, jv_string("rate_limited_until"), jv_string(ts));
	if (ct_state_meta_save(&r->s.st, name, meta, e) < 0)
		return -1;
	return until;
}
