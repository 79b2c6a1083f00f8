/*
 * challenge_tlsalpn.c - tls-alpn-01 (RFC 8737): a TLS server on the
 * --standalone address that completes a handshake only when the client
 * offers ALPN "acme-tls/1", and then presents, for the name the client
 * asked for by SNI, a self-signed certificate whose only subjectAltName
 * is that name and which carries the critical acmeIdentifier extension
 * (1.3.6.1.5.5.7.1.31): the DER OCTET STRING of SHA-256 of the key
 * authorization. One thread accepts and serves one connection at a time
 * (a validation is a few handshakes), 5 s each; one P-256 key serves
 * every certificate of the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "challenge.h"
#include "crypto.h"

#define ALPN_CERTS CT_CHAL_MAX
#define ACME_ID_OID "1.3.6.1.5.5.7.1.31"

struct ct_alpn {
	int fd;
	int stop[2]; /* a byte on stop[1] ends the thread */
	pthread_t thread;
	int started;
	SSL_CTX *ctx;
	EVP_PKEY *key;
	pthread_mutex_t lock; /* certs, against the thread */
	struct {
		char *name;
		X509 *cert;
	} certs[ALPN_CERTS];
	size_t n;
};

static int
on_sni(SSL *ssl, int *al, void *arg)
{
	struct ct_alpn *s = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	X509 *x = NULL;
	int ok;

	*al = SSL_AD_UNRECOGNIZED_NAME;
	if (name == NULL)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		if (strcasecmp(s->certs[i].name, name) == 0 &&
		    X509_up_ref(s->certs[i].cert) == 1) {
			x = s->certs[i].cert;
			break;
		}
	pthread_mutex_unlock(&s->lock);
	if (x == NULL)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	ok = SSL_use_certificate(ssl, x) == 1 &&
	     SSL_use_PrivateKey(ssl, s->key) == 1;
	X509_free(x);
	*al = SSL_AD_INTERNAL_ERROR;
	return ok ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int
on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
	const unsigned char *in, unsigned inlen, void *arg)
{
	static const unsigned char want[] = "\x0a"
					    "acme-tls/1";
	unsigned char *sel = NULL;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, want, sizeof(want) - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static void *
serve(void *arg)
{
	struct ct_alpn *s = arg;
	sigset_t set;

	/* a peer gone mid-write is its problem, not a SIGPIPE for us */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		struct pollfd p[2] = {{s->fd, POLLIN, 0},
				      {s->stop[0], POLLIN, 0}};
		struct timeval tv = {5, 0};
		SSL *ssl;
		int cfd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents != 0)
			break;
		if ((p[0].revents & POLLIN) == 0)
			continue;
		cfd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		if (setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) <
			0 ||
		    setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) <
			0) {
			close(cfd);
			continue;
		}
		ssl = SSL_new(s->ctx);
		if (ssl != NULL && SSL_set_fd(ssl, cfd) == 1 &&
		    SSL_accept(ssl) == 1)
			SSL_shutdown(ssl);
		SSL_free(ssl);
		close(cfd);
		ERR_clear_error();
	}
	return NULL;
}

static int
listen_on(const char *addr, struct sov_err *e)
{
	struct sockaddr_storage ss;
	unsigned port;
	int any, fd = -1, one = 1, zero = 0;

	if (ct_standalone_parse(addr, &ss, &any, &port, e) < 0)
		return -1;
	if (any) { /* every address: IPv6 and IPv4, else IPv4 */
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;

		memset(&ss, 0, sizeof(ss));
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		a6->sin6_addr = in6addr_any;
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
					  sizeof(zero)) < 0) {
			close(fd);
			fd = -1;
		}
		if (fd < 0) {
			struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;

			memset(&ss, 0, sizeof(ss));
			a4->sin_family = AF_INET;
			a4->sin_port = htons((uint16_t)port);
			a4->sin_addr.s_addr = htonl(INADDR_ANY);
		}
	}
	if (fd < 0)
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss,
		 ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					  : sizeof(struct sockaddr_in)) < 0 ||
	    listen(fd, 16) < 0) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL,
			    "--standalone %s: cannot listen (in use, or port "
			    "443 without CAP_NET_BIND_SERVICE?)",
			    addr);
		close(fd);
		return -1;
	}
	return fd;
}

static void
alpn_free(struct ct_alpn *s)
{
	if (s->started) {
		if (write(s->stop[1], "x", 1) == 1)
			pthread_join(s->thread, NULL);
		else
			pthread_cancel(s->thread);
		pthread_mutex_destroy(&s->lock);
	}
	for (size_t i = 0; i < s->n; i++) {
		free(s->certs[i].name);
		X509_free(s->certs[i].cert);
	}
	if (s->fd >= 0)
		close(s->fd);
	if (s->stop[0] >= 0)
		close(s->stop[0]);
	if (s->stop[1] >= 0)
		close(s->stop[1]);
	SSL_CTX_free(s->ctx);
	EVP_PKEY_free(s->key);
	free(s);
}

int
ct_alpn_start(struct ct_chal *c, struct sov_err *e)
{
	struct ct_alpn *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
	s->fd = s->stop[0] = s->stop[1] = -1;
	s->fd = listen_on(c->standalone, e);
	if (s->fd < 0)
		goto fail;
	if (pipe2(s->stop, O_CLOEXEC) < 0) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "pipe");
		goto fail;
	}
	s->key = ct_key_generate(CT_EC256, e);
	if (s->key == NULL)
		goto fail;
	s->ctx = SSL_CTX_new(TLS_server_method());
	if (s->ctx == NULL ||
	    SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION) != 1) {
		sov_err_set(e, SOV_EXIT_FAIL, "tls-alpn-01: SSL_CTX_new");
		goto fail;
	}
	SSL_CTX_set_tlsext_servername_callback(s->ctx, on_sni);
	SSL_CTX_set_tlsext_servername_arg(s->ctx, s);
	SSL_CTX_set_alpn_select_cb(s->ctx, on_alpn, s);
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "mutex");
		goto fail;
	}
	if (pthread_create(&s->thread, NULL, serve, s) != 0) {
		pthread_mutex_destroy(&s->lock);
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "tls-alpn-01: thread");
		goto fail;
	}
	s->started = 1;
	c->alpn = s;
	return 0;
fail:
	alpn_free(s);
	return -1;
}

/* The RFC 8737 certificate for domain, signed by key itself. */
static X509 *
make_cert(EVP_PKEY *key, const char *domain, const char *keyauth,
	  struct sov_err *e)
{
	unsigned char dig[SHA256_DIGEST_LENGTH], *der = NULL;
	ASN1_OCTET_STRING *inner = NULL, *val = NULL;
	ASN1_OBJECT *oid = NULL;
	X509_EXTENSION *id = NULL, *san = NULL;
	X509_NAME *nm;
	X509 *x = X509_new();
	char sans[300];
	int derlen = -1, n, ok = 0;

	n = snprintf(sans, sizeof(sans), "DNS:%s", domain);
	if (x == NULL || n < 0 || (size_t)n >= sizeof(sans))
		goto out;
	SHA256((const unsigned char *)keyauth, strlen(keyauth), dig);
	inner = ASN1_OCTET_STRING_new();
	val = ASN1_OCTET_STRING_new();
	oid = OBJ_txt2obj(ACME_ID_OID, 1);
	if (inner == NULL || val == NULL || oid == NULL ||
	    ASN1_OCTET_STRING_set(inner, dig, sizeof(dig)) != 1)
		goto out;
	derlen = i2d_ASN1_OCTET_STRING(inner, &der);
	if (derlen <= 0 || ASN1_OCTET_STRING_set(val, der, derlen) != 1)
		goto out;
	id = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, val);
	san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, sans);
	nm = X509_get_subject_name(x);
	if (id == NULL || san == NULL || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL)) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -86400) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 7 * 86400) == NULL ||
	    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
				       (const unsigned char *)domain, -1, -1,
				       0) != 1 ||
	    X509_set_issuer_name(x, nm) != 1 || X509_set_pubkey(x, key) != 1 ||
	    X509_add_ext(x, san, -1) != 1 || X509_add_ext(x, id, -1) != 1 ||
	    X509_sign(x, key, EVP_sha256()) <= 0)
		goto out;
	ok = 1;
out:
	OPENSSL_free(der);
	ASN1_OCTET_STRING_free(inner);
	ASN1_OCTET_STRING_free(val);
	ASN1_OBJECT_free(oid);
	X509_EXTENSION_free(id);
	X509_EXTENSION_free(san);
	if (!ok) {
		X509_free(x);
		sov_err_set(e, SOV_EXIT_FAIL,
			    "tls-alpn-01: the certificate for %s", domain);
		return NULL;
	}
	return x;
}

int
ct_alpn_add(struct ct_chal *c, const char *domain, const char *keyauth,
	    struct sov_err *e)
{
	struct ct_alpn *s = c->alpn;
	X509 *x;
	char *name;

	if (s == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "tls-alpn-01: no server");
	if (s->n >= ALPN_CERTS)
		return sov_err_set(e, SOV_EXIT_FAIL, "over %d challenges",
				   ALPN_CERTS);
	x = make_cert(s->key, domain, keyauth, e);
	if (x == NULL)
		return -1;
	name = strdup(domain);
	if (name == NULL) {
		X509_free(x);
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
	}
	pthread_mutex_lock(&s->lock);
	s->certs[s->n].name = name;
	s->certs[s->n].cert = x;
	s->n++;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void
ct_alpn_stop(struct ct_chal *c)
{
	if (c->alpn != NULL)
		alpn_free(c->alpn);
	c->alpn = NULL;
}
