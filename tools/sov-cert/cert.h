/*
 * cert.h - sov-cert's commands (one file each) and what they share: the
 * common options, and a session (state locked, key child forked, CA
 * directory fetched, account known).
 *
 * Records (JSON lines on stdout, every one with "ts" and "event"):
 *   account  {"server","url","status","contact","created","thumbprint"}
 *   issued   {"name","domains","issuer","serial","not_before","not_after",
 *             "days_left","key_type","challenge","profile","key_reused",
 *             "seconds","requests","bad_nonces"}
 *   cert     {"name","domains","issuer","serial","not_before","not_after",
 *             "days_left","due","profile","ari"}  (list)
 *   revoked  {"name","serial","reason","signed_with"}  (revoke)
 *   renew    {"name","action":"renewed"|"skipped"|"failed","not_after",
 *             "days_left","error","ari","ari_error","replaces",
 *             "rate_limited_until"}  (renew)
 *   sync     {"name","action":"issued"|"renewed"|"skipped"|"failed"|
 *             "undeclared","reason","not_after","days_left",
 *             "deploy_error","error"}          (sync)
 */
#ifndef CT_CERT_H
#define CT_CERT_H

#include <jv.h>

#include "acme.h"
#include "challenge.h"
#include "crypto.h"
#include "keyproc.h"
#include "state.h"

#define CT_DEFAULT_SERVER "https://acme-v02.api.letsencrypt.org/directory"
#define CT_EMAIL_MAX 254
#define CT_DEFAULT_TIMEOUT_S 300
#define CT_EAB_KID_MAX 256

struct ct_opts {
	const char *state;
	const char *server;
	int server_given; /* --server was on the command line */
	const char *ca_file;
	long timeout_s;
	const char *email;
	int agree_tos;
	const char *eab_kid;       /* External Account Binding key id */
	const char *eab_hmac_file; /* its MAC key, base64url, in a file */
};

/* getopt_long codes of the common options; ct_opts_take handles them. */
enum {
	CT_OPT_STATE = 1000,
	CT_OPT_SERVER,
	CT_OPT_CA_FILE,
	CT_OPT_TIMEOUT,
	CT_OPT_EMAIL,
	CT_OPT_AGREE_TOS,
	CT_OPT_EAB_KID,
	CT_OPT_EAB_HMAC_FILE,
	CT_OPT_FIRST_OWN, /* a command's own codes start here */
};

#define CT_COMMON_OPTIONS                                                      \
	{"state", required_argument, NULL, CT_OPT_STATE},                      \
	    {"server", required_argument, NULL, CT_OPT_SERVER},                \
	    {"ca-file", required_argument, NULL, CT_OPT_CA_FILE},              \
	    {"timeout", required_argument, NULL, CT_OPT_TIMEOUT},              \
	    {"email", required_argument, NULL, CT_OPT_EMAIL},                  \
	    {"eab-kid", required_argument, NULL, CT_OPT_EAB_KID},              \
	    {"eab-hmac-file", required_argument, NULL, CT_OPT_EAB_HMAC_FILE},  \
	{                                                                      \
		"agree-tos", no_argument, NULL, CT_OPT_AGREE_TOS               \
	}

void ct_opts_init(struct ct_opts *o);
/* 1: taken, 0: not a common option, -1: bad value (e set, usage). */
int ct_opts_take(struct ct_opts *o, int c, const char *arg, struct sov_err *e);

struct ct_session {
	struct ct_state st;
	struct ct_keyproc kp;
	struct ct_acme acme;
	int account_created; /* newAccount made a new one this run */
};

/*
 * Open the state (locked), fork the key child (making the account key
 * only when o->agree_tos is set), fetch the directory, and find or create
 * the account. The fork comes before any network client exists.
 */
int ct_session_open(struct ct_session *s, const struct ct_opts *o,
		    struct sov_err *e);
void ct_session_close(struct ct_session *s);

/*
 * Key rollover (RFC 8555 section 7.3.5): the key child makes a new key
 * (account/key.pem.new), signs the inner JWS with it; the outer one is
 * signed with the old key; when the CA says yes the new key replaces
 * key.pem. A crash between the CA's yes and the rename leaves key.pem.new
 * beside the old key: the next session finds it (ct_account_recover).
 */
int ct_account_rollover(struct ct_session *s, struct sov_err *e);

/*
 * account/key.pem.new left by a rollover that was killed (account_ops.c):
 * when the CA still accepts key.pem it is removed (*what = 2); when it
 * accepts key.pem.new instead, that is renamed over key.pem and used
 * (*what = 1); neither: -1. Nothing to do: *what = 0. ct_session_open
 * runs it.
 */
int ct_account_recover(struct ct_session *s, int *what, struct sov_err *e);
/* Deactivate the account (RFC 8555 section 7.3.6); for good. */
int ct_account_deactivate(struct ct_session *s, struct sov_err *e);
/* Replace the account's contact with these addresses (mailto:). */
#define CT_CONTACTS_MAX 4
int ct_account_contact(struct ct_session *s, const char *const *emails,
		       size_t n, struct sov_err *e);

/* The account's record (a POST-as-GET of its URL). */
int ct_account_show(struct ct_session *s, jv *rec, struct sov_err *e);

/* What one issuance needs; meta holds how it was asked for. */
struct ct_issue_args {
	const char *name;
	const char *const *domains;
	size_t ndomains;
	enum ct_chal_type chal;
	const char *webroot, *standalone, *dns_hook;
	const char *dns_nsupdate, *tsig_file, *dns_zone; /* RFC 2136 */
	enum ct_keytype key_type;
	long timeout_s;
	const char *preferred_chain; /* issuer CN of the chain's top, or NULL */
	const char *deploy_hook;     /* run after install, or NULL */
	const char *profile;  /* the CA's profile (meta.profiles), or NULL */
	int reuse_key;        /* keep certs/NAME/key.pem when it is there */
	const char *replaces; /* ARI CertID of the certificate replaced */
};

/*
 * Issue, verify and install; *rec the "issued" record. Then the deploy
 * hook, if any, as `HOOK deployed NAME DIR`: its failure does not undo the
 * install; it goes to deploy_e (and the record's "deploy_error") while the
 * function still returns 0.
 */
int ct_issue_one(struct ct_session *s, const struct ct_issue_args *a, jv *rec,
		 struct sov_err *deploy_e, struct sov_err *e);
/* Days left (rounded down) from not_after in seconds. */
long ct_days_left(int64_t not_after);

int ct_cmd_account(int argc, char **argv);
int ct_cmd_issue(int argc, char **argv);
int ct_cmd_list(int argc, char **argv);
int ct_cmd_renew(int argc, char **argv);
int ct_cmd_revoke(int argc, char **argv);
int ct_cmd_sync(int argc, char **argv);

#endif
