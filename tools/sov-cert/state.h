/*
 * state.h - the state directory (default: sov_state_dir, i.e.
 * /var/lib/sov-cert under systemd; --state DIR):
 *
 *   lock                      flock(2)ed by every command that writes
 *   account/key.pem           the account key (0600; only the key child
 *                             reads it)
 *   account/account.json      {"server","url","contact","created"}
 *   certs/NAME/cert.pem       the leaf
 *   certs/NAME/chain.pem      the intermediates
 *   certs/NAME/fullchain.pem  both
 *   certs/NAME/key.pem        the certificate key (0600)
 *   certs/NAME/meta.json      how it was issued, and what it is
 *
 * A certificate directory is installed whole: written and verified as
 * certs/.NAME.new-PID, then swapped in with renameat2(RENAME_EXCHANGE)
 * (or renamed when there was none), so a kill at any instant leaves either
 * the old directory or the new one, complete, at certs/NAME.
 */
#ifndef CT_STATE_H
#define CT_STATE_H

#include <limits.h>

#include <jv.h>

#include "crypto.h"

#define CT_CERT_NAME_MAX 64
#define CT_META_MAX (64u << 10)
#define CT_ACCOUNT_JSON_MAX (16u << 10)

struct ct_state {
	char root[PATH_MAX];
	int lockfd;
};

/* Open (creating root, account/, certs/); lock: take the lock, waiting
 * at most a few seconds (then SOV_EXIT_TEMPFAIL). */
int ct_state_open(const char *dir, int lock, struct ct_state *s,
		  struct sov_err *e);
void ct_state_close(struct ct_state *s);

/* root "/" rel into buf. */
int ct_state_path(const struct ct_state *s, const char *rel, char *buf,
		  size_t size, struct sov_err *e);

/* A certificate name: 1..64 of [A-Za-z0-9._-], not starting with '.'. */
int ct_cert_name_ok(const char *name);
/* A DNS name for an order: lower case LDH labels, "*." allowed first. */
int ct_domain_ok(const char *d);

/*
 * Verify the chain (pem as the CA sent it) against key and domains, write
 * it with the key and meta (consumed; "issuer", "serial", "not_before",
 * "not_after" are added) as a new directory, verify what was written, and
 * swap it in. *out describes the installed chain (caller frees).
 */
int ct_state_install(const struct ct_state *s, const char *name,
		     const char *pem, size_t len, EVP_PKEY *key,
		     const char *const *domains, size_t ndomains, jv meta,
		     struct ct_chain *out, struct sov_err *e);

/* certs/NAME/meta.json, or jv_invalid() with e set. */
jv ct_state_meta(const struct ct_state *s, const char *name, struct sov_err *e);
/* Replace certs/NAME/meta.json (atomically) with meta (consumed); the
 * caller holds the lock. */
int ct_state_meta_save(const struct ct_state *s, const char *name, jv meta,
		       struct sov_err *e);

#endif
