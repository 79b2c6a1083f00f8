/*
 * renew.h - what renew needs beyond issue: one session opened when the
 * first certificate needs the CA (after the random delay), and the ARI
 * poll that keeps a certificate's renewal window in its meta.json.
 */
#ifndef CT_RENEW_H
#define CT_RENEW_H

#include "cert.h"

#define CT_RANDOM_DELAY_MAX 86400 /* --random-delay: at most a day */

struct ct_renew_run {
	struct ct_opts o;
	struct ct_session s;
	int open;          /* s is open */
	long random_delay; /* --random-delay SECONDS, slept before s opens */
	char server[CT_URL_MAX + 1];
};

/*
 * The session for certificate name, whose meta.json says which CA issued
 * it (unless --server was given): opened the first time, after sleeping a
 * random 0..random_delay seconds; a second CA in the same run is refused
 * (SOV_EXIT_USAGE: renew it on its own with --server).
 */
int ct_renew_session(struct ct_renew_run *r, jv meta, const char *name,
		     struct sov_err *e);

/* meta.json's "ari" of name (not locked: a read), or null. */
jv ct_renew_ari(const struct ct_state *st, const char *name);

/*
 * Ask the CA for name's renewal information (the session open) and keep
 * it in meta.json: *ari (consumed and replaced) becomes the new "ari".
 * Without renewalInfo in the directory, or on any failure, -1 with e set
 * and *ari left as it was.
 */
int ct_renew_ari_poll(struct ct_renew_run *r, const char *name, jv *ari,
		      int64_t now, struct sov_err *e);

/*
 * A rateLimited answer's Retry-After, kept: meta.json's
 * "rate_limited_until" of name (seconds; -1 when none), which renew
 * honours unless --force; and ct_renew_hold, which writes it after a
 * failed renewal when the CA's last error had a Retry-After (the run's
 * session open): the time written, or -1 (none, or e set).
 */
int64_t ct_renew_held(const struct ct_state *st, const char *name);
int64_t ct_renew_hold(struct ct_renew_run *r, const char *name, int64_t now,
		      struct sov_err *e);

#endif
