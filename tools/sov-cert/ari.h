/*
 * ari.h - ACME Renewal Information (RFC 9773): when the CA would like a
 * certificate renewed.
 *
 * The certificate's ARI CertID is base64url(the Authority Key Identifier's
 * keyIdentifier) "." base64url(the DER content octets of its serial
 * number). GET {renewalInfo}/{CertID} answers a suggestedWindow (start,
 * end) and maybe an explanationURL; the client picks a random instant in
 * the window and renews once it has passed; the Retry-After says when to
 * ask again.
 *
 * What sov-cert keeps in certs/NAME/meta.json as "ari" (lego forgets it
 * between runs; sov-cert does not):
 *
 *   {"cert_id", "window_start", "window_end", "renew_at" (the random
 *    instant), "next_poll" (not asked again before it), "checked",
 *    "explanation_url"}
 *
 * issue writes {"cert_id"} when the directory offers renewalInfo and no
 * "ari" when it does not; the latter certificate is renewed when a third
 * of its lifetime is left, without asking anything.
 */
#ifndef CT_ARI_H
#define CT_ARI_H

#include <stdint.h>

#include <jv.h>
#include <openssl/x509.h>

#include "acme.h"
#include "crypto.h"

#define CT_ARI_CERTID_MAX 200            /* bytes of a CertID */
#define CT_ARI_TIME_MAX 64               /* bytes of a window's timestamp */
#define CT_ARI_DEFAULT_POLL_S (6 * 3600) /* no Retry-After: ask in 6 h */
#define CT_ARI_MIN_POLL_S 60             /* a shorter Retry-After: 1 minute */
#define CT_ARI_MAX_POLL_S (7 * 86400)    /* a longer one: a week */

struct ct_ari {
	int64_t start, end; /* suggestedWindow, seconds since the epoch */
	char *explanation;  /* explanationURL, or NULL */
};

/* The leaf's ARI CertID, malloc'ed; NULL (e set) when it has no AKI
 * keyIdentifier or a serial that does not fit. */
char *ct_ari_certid(X509 *leaf, struct sov_err *e);

/* A renewalInfo response (consumes v): a suggestedWindow whose start and
 * end are RFC 3339 times, end after start; explanationURL optional. */
int ct_ari_parse(jv v, const char *what, struct ct_ari *r, struct sov_err *e);
void ct_ari_free(struct ct_ari *r); /* accepts a zeroed one */

/* A random instant in [start, end] (libsodium's randombytes). */
int64_t ct_ari_pick(int64_t start, int64_t end);

/* Retry-After (ms, -1 when absent) as a delay in seconds, clamped to
 * CT_ARI_MIN_POLL_S .. CT_ARI_MAX_POLL_S. */
int64_t ct_ari_poll_delay(long retry_after_ms);

/*
 * GET the CA's renewal information for cert_id (unsigned, as the RFC
 * says). *retry_after_ms gets the Retry-After (-1 when absent). An error
 * status or a response that does not parse: -1 with e set.
 */
int ct_ari_fetch(struct ct_acme *a, const char *cert_id, struct ct_ari *r,
		 long *retry_after_ms, struct sov_err *e);

/*
 * The "ari" object of meta.json after a successful poll at now (seconds):
 * the window, a new random instant in it (the old one is kept while the
 * window is the same), next_poll. Consumes old.
 */
jv ct_ari_record(jv old, const char *cert_id, const struct ct_ari *r,
		 int64_t now, long retry_after_ms);

/*
 * Whether a certificate is due. ari is meta.json's "ari" (not consumed;
 * anything but an object: none): with a "renew_at", once it has passed (or
 * the certificate has expired); without one, when a third of its lifetime
 * or less is left.
 */
int ct_ari_due(jv ari, const struct ct_chain *c, int64_t now);

/* Should the CA be asked again at now? (ari an object with cert_id, and
 * no next_poll or one that has passed.) */
int ct_ari_poll_due(jv ari, int64_t now);

/* A time member of ari (RFC 3339) in seconds, or -1 when absent or bad. */
int64_t ct_ari_time(jv ari, const char *key);

#endif
