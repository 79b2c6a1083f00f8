/*
 * config.h - the certificate definitions file that `sov-cert sync --config
 * FILE` reads (docs/cert.md, "The definitions file"): JSON, as NixOS's
 * services.sov.cert writes it with builtins.toJSON.
 *
 *   {
 *     "server": "https://acme-v02.api.letsencrypt.org/directory",
 *     "ca_file": "/etc/ssl/pebble.pem",
 *     "account": {"email": "ops@example.org", "agree_tos": true,
 *                 "eab_kid": "kid-1", "eab_hmac_file": "/run/keys/eab"},
 *     "certs": {
 *       "web": {"domains": ["example.org", "www.example.org"],
 *               "key_type": "ec256", "challenge": "http-01",
 *               "webroot": "/var/lib/sov-cert/acme-challenge",
 *               "deploy_hook": "/etc/sov-cert/reload",
 *               "preferred_chain": "ISRG Root X1"}
 *     }
 *   }
 *
 * Only "certs" is required. A certificate takes the options of `sov-cert
 * issue`: challenge http-01 (webroot or standalone; standalone ":80" when
 * neither) or dns-01 (dns_hook); paths absolute. null stands for absent.
 * The whole file is checked before anything is used: an error is a usage
 * error "FILE: PATH: message" with the JSON path of the bad field.
 */
#ifndef CT_CONFIG_H
#define CT_CONFIG_H

#include <stddef.h>

#include <jv.h>

#include "challenge.h"
#include "crypto.h"
#include "err.h"

#define CT_CONFIG_FILE_MAX (1u << 20) /* bytes of a definitions file */
#define CT_CONFIG_CERTS_MAX 100       /* certificates in one file */
#define CT_CONFIG_DOMAINS_MAX 100     /* names in one certificate */
#define CT_CONFIG_CHAIN_MAX 255       /* bytes of preferred_chain */

struct ct_cfg_cert {
	char *name;
	char **domains; /* ndomains strings, in the order given */
	size_t ndomains;
	enum ct_chal_type chal;
	enum ct_keytype key_type;
	char *webroot, *standalone, *dns_hook; /* NULL when absent */
	char *deploy_hook, *preferred_chain;
};

struct ct_config {
	char *server; /* the CA's directory URL, or NULL */
	char *ca_file;
	char *email;
	int agree_tos;
	char *eab_kid, *eab_hmac_file;
	struct ct_cfg_cert *certs; /* sorted by name */
	size_t ncerts;
};

/* Parse and check text (file names it in messages); NULL with e set. The
 * result is the caller's: ct_config_free. */
struct ct_config *ct_config_parse(const char *text, size_t len,
				  const char *file, struct sov_err *e);
/* The same from a file ("-": stdin). */
struct ct_config *ct_config_load(const char *path, struct sov_err *e);
void ct_config_free(struct ct_config *c); /* accepts NULL */

/* The declared certificate called name, or NULL. */
const struct ct_cfg_cert *ct_config_find(const struct ct_config *c,
					 const char *name);

/*
 * Why the installed certificate (its meta.json, consumed) no longer is what
 * k declares: "no meta.json" (none, or not an object: a placeholder),
 * "domains changed" (as sets), "key type changed", "CA changed" (meta's
 * server is not server; not checked when server is NULL); NULL when it
 * still is. Other options (challenge, hooks, chain) apply from the next
 * issuance on and change nothing now.
 */
const char *ct_config_changed(const struct ct_cfg_cert *k, jv meta,
			      const char *server);

#endif
