/*
 * order.h - one certificate order from newOrder to the downloaded chain
 * (RFC 8555 section 7.4): authorizations answered through a struct
 * ct_chal, polled with Retry-After honoured up to a deadline, finalized
 * with a CSR for the certificate key.
 */
#ifndef CT_ORDER_H
#define CT_ORDER_H

#include <stdint.h>

#include "acme.h"
#include "challenge.h"
#include "crypto.h"

#define CT_POLL_MAX_MS 10000 /* the longest wait between two polls */

struct ct_issue {
	const char *const *domains;
	size_t ndomains;
	struct ct_chal *chal; /* type and where, not started */
	int64_t deadline_ms;  /* sov_time_mono_ms() value */
	/* the chain whose top certificate is issued by this CN, among the
	 * default and the Link rel="alternate" ones; NULL: the default */
	const char *preferred_chain;
	int *chain_index;     /* out: 0 the default, N the Nth alternate */
	const char *profile;  /* newOrder "profile", or NULL */
	const char *replaces; /* newOrder "replaces" (RFC 9773 section 5):
				 the ARI CertID of the certificate this one
				 replaces, or NULL */
};

/* *pem: the chain as the CA sent it, malloc'ed. */
int ct_order_issue(struct ct_acme *a, const struct ct_issue *req,
		   EVP_PKEY *certkey, char **pem, size_t *len,
		   struct sov_err *e);

/* A test hook: SOV_CERT_TEST_CRASH=POINT kills the process at POINT
 * (SIGKILL, as a power cut would), for the crash tests. */
void ct_crash_point(const char *point);

#endif
