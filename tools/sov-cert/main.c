/*
 * sov-cert - ACME (RFC 8555) certificates for the gateway's names.
 *
 * The state directory, its layout and the atomic install: state.h. The
 * records: cert.h. Only the key child (keyproc.c) ever holds the account
 * key. docs/cert.md says what is built and what is not.
 */
#include "cert.h"
#include "cli.h"

#define COMMON_HELP                                                            \
	"  --state DIR       state directory (default $SOV_STATE_DIR, else\n"  \
	"                    /var/lib/sov-cert under systemd, else\n"          \
	"                    ~/.local/state/sov/sov-cert)\n"                   \
	"  --server URL      the CA's directory URL (default "                 \
	"$SOV_CERT_SERVER,\n"                                                  \
	"                    else Let's Encrypt)\n"                            \
	"  --ca-file PEM     trust these CAs for the ACME server's TLS\n"      \
	"  --timeout SECS    give up an order after this long (300)\n"         \
	"  --agree-tos       agree to the CA's terms: create the account\n"    \
	"                    (and its key) when there is none\n"               \
	"  --email ADDR      contact for a new account\n"                      \
	"  --eab-kid ID      External Account Binding key id (new account)\n"  \
	"  --eab-hmac-file F its MAC key, base64url (or the credential\n"      \
	"                    eab-hmac)\n"

static const struct sov_cmd cmds[] = {
    {"account", ct_cmd_account,
     "[--agree-tos] [--email ADDR] [--rollover] [--contact ADDR]... "
     "[--deactivate] [OPTIONS]",
     "create the ACME account, or show the existing one",
     "  --rollover        replace the account key with a new one "
     "(keyChange)\n"
     "  --contact ADDR    replace the account's contact addresses (repeat)\n"
     "  --deactivate      deactivate the account, for good\n" COMMON_HELP
     "\nOne record: {\"event\":\"account\",\"url\",\"status\","
     "\"contact\",\"created\",\"thumbprint\"}.\n"},
    {"issue", ct_cmd_issue, "NAME [--domain D]... [OPTIONS]",
     "issue a certificate and install it as STATE/certs/NAME",
     "  --domain D        a name in the certificate (repeat; default NAME)\n"
     "  --challenge T     http-01 (default), dns-01 or tls-alpn-01\n"
     "  --webroot DIR     http-01: write DIR/.well-known/acme-challenge/*\n"
     "  --standalone ADDR http-01: answer on ADDR (:80, 127.0.0.1:5002);\n"
     "                    the default, on :80, when no --webroot;\n"
     "                    tls-alpn-01: the TLS server's ADDR (:443)\n"
     "  --dns-hook CMD    dns-01: run CMD set|unset _acme-challenge.D VALUE\n"
     "  --dns-nsupdate SERVER[:PORT]  dns-01: an RFC 2136 update there\n"
     "                    (nsupdate), signed with the TSIG key in\n"
     "  --tsig-file FILE  (as tsig-keygen writes it; 0600 or 0640)\n"
     "  --dns-zone ZONE   the zone to update (default: nsupdate finds it)\n"
     "  --key-type T      ec256 (default), ec384, rsa2048, rsa3072, "
     "rsa4096\n"
     "  --deploy-hook CMD run CMD deployed NAME DIR after each install\n"
     "                    (kept for renew; e.g. a script reloading nginx)\n"
     "  --preferred-chain CN  the chain (default or alternate) whose top\n"
     "                    certificate is issued by CN, when the CA offers "
     "it\n"
     "  --profile NAME    the CA's certificate profile (its directory's\n"
     "                    meta.profiles; kept for renew)\n"
     "  --reuse-key       keep the installed key on renewal (kept for "
     "renew)\n"
     "  --metrics URL     write cert.days_left and cert.renewal.seconds\n"
     "                    (default $SOV_METRICS)\n" COMMON_HELP},
    {"list", ct_cmd_list, "[--state DIR]",
     "one record per installed certificate: names, issuer, not_after, "
     "days_left, due, ARI window",
     "  --state DIR       state directory\n"},
    {"renew", ct_cmd_renew, "[NAME...] [--force] [OPTIONS]",
     "issue again every certificate that is due: in the CA's renewal "
     "window (ARI), else with a third of its lifetime left",
     "  --force           renew even when not due\n"
     "  --random-delay N  sleep a random 0..N seconds before asking the CA\n"
     "                    (a timer's spread; nothing asked: no sleep)\n"
     "  --metrics URL     write cert.days_left and cert.renewal.seconds\n"
     "                    there (default $SOV_METRICS; none: not "
     "written)\n" COMMON_HELP},
    {"revoke", ct_cmd_revoke, "NAME [--reason N] [OPTIONS]",
     "revoke the installed certificate NAME; renew then replaces it",
     "  --reason N        RFC 5280 reason code (0-10, not 7)\n"
     "  --with-cert-key   sign with the certificate's own key (ec256)\n"
     "                    instead of the account key\n" COMMON_HELP},
    {"sync", ct_cmd_sync,
     "--config FILE [--force] [--check] [--metrics URL] [OPTIONS]",
     "issue, reissue and renew what a definitions file declares",
     "  --config FILE     the definitions (JSON; docs/cert.md): CA,\n"
     "                    account, certificates by name\n"
     "  --force           renew every declared certificate even when not "
     "due\n"
     "  --check           check the file and stop (exit 0 or 2)\n"
     "  --metrics URL     write cert.days_left and cert.renewal.seconds\n"
     "                    there (default $SOV_METRICS; none: not "
     "written)\n" COMMON_HELP
     "\nIssues what is declared but missing, or whose domains, key type "
     "or CA\nchanged; renews what is due or revoked; leaves undeclared "
     "ones alone.\nThe file's server, ca_file and account apply where the "
     "options give none.\n"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const struct sov_tool tool = {
    "sov-cert",
    "ACME certificates: account, issue, renew, list",
    cmds,
};

int
main(int argc, char **argv)
{
	return sov_cli_main(&tool, argc, argv);
}
