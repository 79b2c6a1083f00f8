/*
 * acme.h - the ACME protocol (RFC 8555) as sov-cert speaks it: the CA's
 * resources parsed from JSON (parse.c, pure and fuzzed), and the signed
 * transport with its nonces (acme.c).
 *
 * Every CA response is untrusted input: sizes, counts, URLs and tokens are
 * capped and checked before use; a response that does not fit is a
 * failure (1) that names the URL, never a crash.
 */
#ifndef CT_ACME_H
#define CT_ACME_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "err.h"
#include "http.h"
#include "jws.h"

#define CT_RESP_MAX (1u << 20) /* bytes of any CA response */
#define CT_URL_MAX 2048        /* bytes of a URL from the CA */
#define CT_NONCE_MAX 256       /* bytes of a Replay-Nonce */
#define CT_DETAIL_MAX 1024     /* bytes of a problem detail shown */
#define CT_SUBPROBLEMS_MAX 16  /* subproblems shown */
#define CT_CHALLENGES_MAX 16   /* challenges in one authorization */
#define CT_BADNONCE_RETRIES 8  /* fresh nonces after badNonce */
#define CT_PROFILES_MAX 32     /* names in meta.profiles */
#define CT_PROFILE_MAX 64      /* bytes of a profile name */
#define CT_ERR_RATE_LIMITED "urn:ietf:params:acme:error:rateLimited"
#define CT_ERR_BAD_NONCE "urn:ietf:params:acme:error:badNonce"
#define CT_ERR_ALREADY_REPLACED "urn:ietf:params:acme:error:alreadyReplaced"

struct ct_dir {
	char *new_nonce, *new_account, *new_order;     /* required */
	char *revoke_cert, *key_change, *renewal_info; /* or NULL */
	char *terms;      /* meta.termsOfService, or NULL */
	int eab_required; /* meta.externalAccountRequired */
	char **profiles;  /* the names in meta.profiles (draft-ietf-acme-
			     profiles) */
	size_t nprofiles;
};

enum ct_status {
	CT_ST_OTHER = 0,
	CT_ST_PENDING,
	CT_ST_READY,
	CT_ST_PROCESSING,
	CT_ST_VALID,
	CT_ST_INVALID,
};

struct ct_order {
	enum ct_status status;
	char **authzs; /* URLs */
	size_t nauthzs;
	char *finalize;
	char *certificate; /* or NULL */
	jv error;          /* a problem object, or null */
};

struct ct_challenge {
	char *type, *url, *token; /* token NULL when absent */
	enum ct_status status;
};

struct ct_authz {
	enum ct_status status;
	char *domain; /* identifier value */
	int wildcard;
	struct ct_challenge *chals;
	size_t nchals;
	jv error; /* the first challenge error found, or null */
};

/* parse.c (profiles.c): what names the URL or file in errors. All consume
 * v. */
int ct_dir_parse(jv v, const char *what, struct ct_dir *d, struct sov_err *e);
void ct_dir_free(struct ct_dir *d);
int ct_order_parse(jv v, const char *what, struct ct_order *o,
		   struct sov_err *e);
void ct_order_free(struct ct_order *o);
int ct_authz_parse(jv v, const char *what, struct ct_authz *a,
		   struct sov_err *e);
void ct_authz_free(struct ct_authz *a);
/* An http(s) URL of at most CT_URL_MAX bytes with no control characters. */
int ct_url_ok(const char *s);
/* A profile name: 1..CT_PROFILE_MAX of [A-Za-z0-9._-]. */
int ct_profile_ok(const char *s);
/* Does the directory offer the profile name? */
int ct_dir_has_profile(const struct ct_dir *d, const char *name);
/* meta.profiles (an object of name -> description; the descriptions are
 * not kept) into d->profiles; absent: none. Does not consume meta. */
int ct_dir_profiles_parse(jv meta, struct ct_dir *d, const char *what,
			  struct sov_err *e);
/* A Replay-Nonce: base64url, 1..CT_NONCE_MAX bytes. */
int ct_nonce_ok(const char *s);
/*
 * A problem document (RFC 7807 / RFC 8555 section 6.7) into e: "what:
 * HTTP status: detail (type); subproblem: detail (type) ...". The code:
 * rateLimited, HTTP 429 and 5xx are SOV_EXIT_TEMPFAIL (the Retry-After,
 * when known, is said), everything else SOV_EXIT_FAIL. Consumes prob; not
 * an object: the status alone. Returns -1.
 */
int ct_problem_err(jv prob, const char *what, long status, long retry_after_ms,
		   struct sov_err *e);
/* The type string of a problem ("" when none); does not consume. */
const char *ct_problem_type(jv prob);
enum ct_status ct_status_parse(const char *s);
/*
 * The URLs of Link header entries with rel="alternate" (RFC 8555 section
 * 7.4.2), in order, at most max; each checked with ct_url_ok. Returns how
 * many (malloc'ed into urls), or -1 when out of memory.
 */
#define CT_ALTERNATES_MAX 4
int ct_link_alternates(const char *links, char **urls, int max);

/* acme.c: one client for one CA and one account. */
struct ct_acme {
	struct sov_http *http;
	const struct ct_signer *signer;
	struct ct_dir dir;
	char *server;   /* the directory URL */
	char *nonce;    /* the next nonce to use, or NULL */
	char *kid;      /* the account URL, once known */
	int requests;   /* counted, for the record */
	int bad_nonces; /* badNonce answers retried */
	/* the last failed ct_acme_post's answer: HTTP status and Retry-After
	 * (ms, -1 when none), e.g. for a rateLimited hold */
	long err_status, err_retry_after_ms;
};

struct ct_resp {
	long status;
	jv body;    /* parsed JSON, or jv_null() */
	char *text; /* the raw body (PEM downloads) */
	size_t len;
	char *location;      /* or NULL */
	char *links;         /* the Link header(s), or NULL */
	long retry_after_ms; /* -1 when absent */
};

/* Fetch the directory once. ca_file NULL: the system's trust. */
int ct_acme_open(struct ct_acme *a, const char *server, const char *ca_file,
		 long timeout_ms, const struct ct_signer *s, struct sov_err *e);
void ct_acme_close(struct ct_acme *a); /* accepts a zeroed one */

/*
 * A signed POST to url: payload is JSON text, or NULL for POST-as-GET.
 * With no kid yet the JWS carries the jwk. A badNonce answer is retried
 * with a fresh nonce up to CT_BADNONCE_RETRIES times. An error status
 * becomes ct_problem_err's message; the CA unreachable is
 * SOV_EXIT_TEMPFAIL. pem: the body is a certificate chain, not JSON.
 */
int ct_acme_post(struct ct_acme *a, const char *url, const char *payload,
		 int pem, struct ct_resp *r, struct sov_err *e);
void ct_resp_clear(struct ct_resp *r);

#endif
