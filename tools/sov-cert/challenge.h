/*
 * challenge.h - publishing the answers to challenges, and taking them
 * down again.
 *
 *   http-01 with a webroot: WEBROOT/.well-known/acme-challenge/TOKEN files
 *           (0644, written atomically), removed at the end;
 *   http-01 standalone: a libmicrohttpd responder on ADDR (":80" all
 *           addresses, "127.0.0.1:5002", "[::1]:80") that answers only
 *           GET /.well-known/acme-challenge/TOKEN for published tokens;
 *   tls-alpn-01: a TLS server on ADDR (":443") answering ALPN
 *           acme-tls/1 with a self-signed certificate per name
 *           (challenge_tlsalpn.c);
 *   dns-01: HOOK set NAME VALUE and, at the end, HOOK unset NAME VALUE,
 *           where NAME is "_acme-challenge.DOMAIN"; the hook is run
 *           directly (no shell), must exit 0 within CT_HOOK_TIMEOUT_MS;
 *           or, with --dns-nsupdate SERVER, an RFC 2136 update signed
 *           with the TSIG key in --tsig-file, by nsupdate(1)
 *           (challenge_nsupdate.c).
 */
#ifndef CT_CHALLENGE_H
#define CT_CHALLENGE_H

#include <pthread.h>
#include <stddef.h>

#include "err.h"

#define CT_HOOK_TIMEOUT_MS 120000
#define CT_CHAL_MAX 100 /* published answers at once */

enum ct_chal_type { CT_HTTP01, CT_DNS01, CT_TLSALPN01 };

struct ct_chal_entry {
	char *token;   /* http-01 */
	char *keyauth; /* http-01: the body served */
	char *path;    /* webroot file written, or NULL */
	char *name;    /* dns-01: _acme-challenge.DOMAIN */
	char *txt;     /* dns-01: the TXT value */
};

struct ct_chal {
	enum ct_chal_type type;
	const char *webroot;                             /* http-01 */
	const char *standalone;                          /* http-01 */
	const char *dns_hook;                            /* dns-01 */
	const char *dns_nsupdate, *tsig_file, *dns_zone; /* dns-01, RFC 2136 */
	struct MHD_Daemon *mhd;
	struct ct_alpn *alpn; /* tls-alpn-01's server */
	pthread_mutex_t lock; /* ents, against the responder's thread */
	struct ct_chal_entry ents[CT_CHAL_MAX];
	size_t n;
};

/* "http-01"/"dns-01" -> type, -1 else. */
int ct_chal_type_parse(const char *s, enum ct_chal_type *t);
const char *ct_chal_type_name(enum ct_chal_type t);

/* Check a --standalone ADDR (":PORT", "IPV4:PORT", "[IPV6]:PORT"). */
int ct_standalone_check(const char *addr, struct sov_err *e);

/* The same, parsed; *any when no address was given (":PORT"). */
struct sockaddr_storage;
int ct_standalone_parse(const char *addr, struct sockaddr_storage *ss, int *any,
			unsigned *port, struct sov_err *e);

/* Start what is needed (the standalone responder). */
int ct_chal_start(struct ct_chal *c, struct sov_err *e);
/* Publish one answer: for http-01 token and keyauth, for dns-01 the domain
 * (a wildcard's base) and keyauth. */
int ct_chal_add(struct ct_chal *c, const char *domain, const char *token,
		const char *keyauth, struct sov_err *e);
/* Take every answer down, stop the responder. Failures are warnings in e
 * (returns -1) but everything is still attempted. */
int ct_chal_stop(struct ct_chal *c, struct sov_err *e);

/* challenge_dns.c: run HOOK with args; 0 when it exited 0. */
int ct_hook_run(const char *hook, const char *const *args, struct sov_err *e);

/*
 * challenge_tlsalpn.c: tls-alpn-01 (RFC 8737) on c->standalone; add one
 * certificate per domain; stop frees everything (c->alpn may be NULL).
 */
int ct_alpn_start(struct ct_chal *c, struct sov_err *e);
int ct_alpn_add(struct ct_chal *c, const char *domain, const char *keyauth,
		struct sov_err *e);
void ct_alpn_stop(struct ct_chal *c);

/*
 * challenge_nsupdate.c: dns-01 by RFC 2136 update. The options are
 * issue's (--dns-nsupdate SERVER[:PORT], --tsig-file FILE, --dns-zone
 * ZONE); ct_nsupdate_take takes one (1), or says it is not one of them
 * (0), or that it is bad (-1, SOV_EXIT_USAGE); ct_nsupdate_check checks
 * them together once all are parsed (and that the key file is private).
 */
enum {
	CT_OPT_DNS_NSUPDATE = 2000, /* apart from any command's own codes */
	CT_OPT_TSIG_FILE,
	CT_OPT_DNS_ZONE,
};
#define CT_NSUPDATE_OPTIONS                                                    \
	{"dns-nsupdate", required_argument, NULL, CT_OPT_DNS_NSUPDATE},        \
	    {"tsig-file", required_argument, NULL, CT_OPT_TSIG_FILE},          \
	{                                                                      \
		"dns-zone", required_argument, NULL, CT_OPT_DNS_ZONE           \
	}
struct ct_issue_args;
int ct_nsupdate_take(struct ct_issue_args *a, int c, const char *arg,
		     struct sov_err *e);
int ct_nsupdate_check(const struct ct_issue_args *a, struct sov_err *e);
/* SERVER[:PORT] -> host (an address or a name) and port (53 if none). */
int ct_nsupdate_server_parse(const char *s, char *host, size_t hostsz,
			     unsigned *port, struct sov_err *e);
/* Add (add != 0) or delete the TXT record name -> txt at c->dns_nsupdate. */
int ct_nsupdate_run(const struct ct_chal *c, int add, const char *name,
		    const char *txt, struct sov_err *e);

#endif
