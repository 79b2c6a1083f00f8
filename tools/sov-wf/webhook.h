/*
 * webhook.h - the webhook trigger of sov-wf: a small HTTP server, on
 * libmicrohttpd, that turns a signed POST into an execution.
 *
 * A request to a route's path is accepted when
 *   - its method is POST (else 405, with Allow: POST);
 *   - X-Sov-Timestamp is the decimal Unix time, at most WF_WEBHOOK_SKEW_S
 *     from the server's clock either way (else 401);
 *   - X-Sov-Signature is "sha256=" and the 64 hex digits of
 *     HMAC-SHA256(secret, TIMESTAMP "." BODY), TIMESTAMP being the header's
 *     text as sent (else 401); hex digits may be of either case, since it
 *     is the 32 decoded bytes that are compared, in constant time;
 *   - X-Sov-Delivery, when given, is 1 to 128 bytes of [A-Za-z0-9._:-]
 *     (else 400): the sender's id of the delivery, handed to the callback
 *     as the idempotency key, so a replayed delivery is one execution;
 *   - the body is at most WF_WEBHOOK_BODY_MAX bytes (else 413: at once,
 *     from Content-Length, without reading the body; a chunked body is
 *     counted as it comes, the bytes past the cap are dropped and the 413
 *     goes out when it ends, or the connection is cut after another
 *     WF_WEBHOOK_DRAIN_MAX bytes);
 *   - the body is one JSON object (else 400 with the parse error): it is
 *     the execution's input.
 * The signature is checked once the whole body has arrived, before it is
 * parsed; the headers (present, well formed, timestamp in the window) are
 * checked before the body is read. Every response body is JSON:
 * {"error": "..."} for errors, the callback's reply with 202.
 *
 * The server runs on one thread of its own, an epoll loop that drives
 * libmicrohttpd (external polling; no thread per connection). Besides the
 * libmicrohttpd idle timeout, each request must arrive whole within the
 * timeout of its connection's start (or of the previous response): a
 * client that trickles bytes (slowloris) is disconnected. Connections are
 * capped in all and per client address.
 */
#ifndef WF_WEBHOOK_H
#define WF_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jv.h>

#include "def.h"
#include "err.h"

#define WF_WEBHOOK_SKEW_S 300              /* replay window, either way */
#define WF_WEBHOOK_SECRET_MIN 16           /* bytes, after the newline */
#define WF_WEBHOOK_SECRET_MAX 4096         /* bytes */
#define WF_WEBHOOK_BODY_MAX (1u << 20)     /* 1 MiB */
#define WF_WEBHOOK_DRAIN_MAX (1u << 20)    /* chunked bytes dropped past it */
#define WF_WEBHOOK_TIMEOUT_S 10            /* a whole request, and idle */
#define WF_WEBHOOK_CONNECTIONS 64          /* at once */
#define WF_WEBHOOK_PER_IP 16               /* at once from one address */
#define WF_WEBHOOK_DELIVERY_MAX 128        /* bytes of X-Sov-Delivery */
#define WF_WEBHOOK_TIMESTAMP_DIGITS_MAX 15 /* of X-Sov-Timestamp */
#define WF_WEBHOOK_LISTEN_MAX 64           /* bytes of "ADDR:PORT" */
#define WF_WEBHOOK_PATH_MAX (sizeof("/hooks/") - 1 + WF_NAME_MAX)
#define WF_WEBHOOK_RETRY_AFTER_S 5 /* sent with 503 */

#define WF_WEBHOOK_HDR_TIMESTAMP "X-Sov-Timestamp"
#define WF_WEBHOOK_HDR_SIGNATURE "X-Sov-Signature"
#define WF_WEBHOOK_HDR_DELIVERY "X-Sov-Delivery"
#define WF_WEBHOOK_SIG_PREFIX "sha256="
/* "sha256=" and 64 hex digits */
#define WF_WEBHOOK_SIG_LEN (sizeof(WF_WEBHOOK_SIG_PREFIX) - 1 + 64)

/* ---- the signature (webhook_sig.c): pure, no I/O ---- */

/*
 * Whether a request's signature is valid: 0 when it is, else -1 with
 * SOV_EXIT_USAGE and the reason, which names the header ("missing
 * X-Sov-Timestamp", "X-Sov-Signature: must be sha256= and 64 hex
 * digits", "signature does not match", ...). NULL headers are missing
 * ones. now_s is the server's Unix time.
 */
int wf_webhook_verify(const unsigned char *secret, size_t secret_len,
		      const char *timestamp_hdr, const char *signature_hdr,
		      const void *body, size_t len, int64_t now_s,
		      struct sov_err *e);

/* The part of wf_webhook_verify that needs no body and no secret: both
 * headers present and well formed, the timestamp within the window. */
int wf_webhook_verify_headers(const char *timestamp_hdr,
			      const char *signature_hdr, int64_t now_s,
			      struct sov_err *e);

/* X-Sov-Delivery, when not NULL: 0 when well formed, else -1 (USAGE). */
int wf_webhook_check_delivery(const char *delivery, struct sov_err *e);

/*
 * The X-Sov-Signature value for timestamp and body ("sha256=" and 64
 * lower-case hex digits, NUL-terminated) into out: what a sender does.
 */
int wf_webhook_sign(const unsigned char *secret, size_t secret_len,
		    const char *timestamp, const void *body, size_t len,
		    char out[WF_WEBHOOK_SIG_LEN + 1], struct sov_err *e);

/* ---- routes (webhook_routes.c) ---- */

struct wf_webhook_route {
	const char *path;     /* "/hooks/NAME" */
	const char *workflow; /* the definition's name */
	unsigned char *secret;
	size_t secret_len; /* WF_WEBHOOK_SECRET_MIN..WF_WEBHOOK_SECRET_MAX */
};

/*
 * The routes of every webhook trigger of defs, each trigger's secret read
 * with sov_secret_load (secret_file, or $CREDENTIALS_DIRECTORY/
 * secret_credential). A secret shorter than WF_WEBHOOK_SECRET_MIN or
 * longer than WF_WEBHOOK_SECRET_MAX, or a path given twice, is an error
 * (SOV_EXIT_USAGE) naming the trigger's path and file. *out (NULL and 0
 * when there are none) is freed with wf_webhook_routes_free; the strings
 * are malloc'ed and the secrets sodium_malloc'ed.
 */
int wf_webhook_routes_from_defs(struct wf_def *const *defs, size_t n,
				struct wf_webhook_route **out, size_t *n_out,
				struct sov_err *e);

/* Wipe the secrets and free what wf_webhook_routes_from_defs returned. */
void wf_webhook_routes_free(struct wf_webhook_route *r, size_t n);

/* ---- the server (webhook.c, webhook_http.c) ---- */

/*
 * Called on the server's thread for each accepted request, one at a time:
 * input (consumed) is the body, delivery the X-Sov-Delivery header or
 * NULL. On 0, *reply (an object, or left invalid for {}) is sent back with
 * 202. On -1 the error's code picks the status: SOV_EXIT_TEMPFAIL 503
 * with Retry-After, SOV_EXIT_USAGE 422, else 500; the body is
 * {"error": e->msg}.
 */
typedef int (*wf_webhook_fn)(void *arg, const char *workflow, jv input,
			     const char *delivery, jv *reply,
			     struct sov_err *e);

/* Limits a caller may lower (tests); 0 keeps the default. */
struct wf_webhook_opts {
	long timeout_ms;      /* WF_WEBHOOK_TIMEOUT_S * 1000 */
	unsigned connections; /* WF_WEBHOOK_CONNECTIONS */
	unsigned per_ip;      /* WF_WEBHOOK_PER_IP */
};

struct wf_webhook;

/*
 * Listen on listen ("127.0.0.1:8080", "[::1]:8080"; numeric addresses
 * only, port 0 for any free port; "0.0.0.0:PORT" or "[::]:PORT" only when
 * written so) and serve routes (copied, secrets too) on a thread of its
 * own. NULL on error: a bad listen string, a route without a path or
 * workflow, a path given twice or a secret of a bad length is
 * SOV_EXIT_USAGE (naming the path); a failed bind names the address and
 * the reason.
 */
struct wf_webhook *wf_webhook_start(const char *listen,
				    const struct wf_webhook_route *routes,
				    size_t n, wf_webhook_fn fn, void *arg,
				    struct sov_err *e);

/* The same with limits; opts NULL is the defaults. */
struct wf_webhook *wf_webhook_start_opts(const char *listen,
					 const struct wf_webhook_route *routes,
					 size_t n, wf_webhook_fn fn, void *arg,
					 const struct wf_webhook_opts *opts,
					 struct sov_err *e);

/* The port it listens on (the one chosen, for port 0). */
int wf_webhook_port(const struct wf_webhook *w);

/*
 * Stop serving (connections are closed, a callback under way finishes
 * first), wipe the secrets, free. Accepts NULL. Not from the callback.
 */
void wf_webhook_stop(struct wf_webhook *w);

/* Parse "A.B.C.D:PORT" or "[V6]:PORT" into *ss (webhook_routes.c);
 * SOV_EXIT_USAGE naming the string when it is neither. */
int wf_webhook_parse_listen(const char *listen, struct sockaddr_storage *ss,
			    socklen_t *len, struct sov_err *e);

#endif
