/*
 * certs.h - walking the installed certificates (list, renew).
 */
#ifndef CT_CERTS_H
#define CT_CERTS_H

#include "cert.h"

#define CT_CERTS_MAX 1000 /* certificate directories looked at */

/* The installed names, sorted; *names malloc'ed (free each and it). */
int ct_certs_names(const struct ct_state *s, char ***names, size_t *n,
		   struct sov_err *e);
void ct_certs_names_free(char **names, size_t n);

/* Parse certs/NAME/cert.pem. */
int ct_certs_load(const struct ct_state *s, const char *name,
		  struct ct_chain *c, struct sov_err *e);

/* Due for renewal: a third of its lifetime or less left. */
int ct_certs_due(const struct ct_chain *c, int64_t now);

/* meta.json's "revoked" time (revoke sets it) into buf, or 0 when none. */
int ct_certs_revoked(const struct ct_state *s, const char *name, char *buf,
		     size_t size);

/*
 * The installed key of NAME for reuse (issue --reuse-key): NULL with e
 * clear when there is none or it is not of type t (a new key is made
 * then), NULL with e set when it cannot be read.
 */
EVP_PKEY *ct_certs_key(const struct ct_state *s, const char *name,
		       enum ct_keytype t, struct sov_err *e);

#endif
