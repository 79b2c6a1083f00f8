/*
 * keyproc.c - the key child and the parent's side of its socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "keyproc.h"

static int
io_all(int fd, void *buf, size_t len, int writing)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n =
		    writing ? send(fd, p, len, MSG_NOSIGNAL) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
frame_send(int fd, const void *a, size_t alen, const void *b, size_t blen)
{
	uint32_t n = (uint32_t)(alen + blen);
	unsigned char hdr[4] = {(unsigned char)(n >> 24),
				(unsigned char)(n >> 16),
				(unsigned char)(n >> 8), (unsigned char)n};

	if (io_all(fd, hdr, 4, 1) < 0 ||
	    (alen && io_all(fd, (void *)a, alen, 1) < 0) ||
	    (blen && io_all(fd, (void *)b, blen, 1) < 0))
		return -1;
	return 0;
}

/* One frame into a malloc'ed buffer; 0 at a clean end of input (no frame),
 * 1 for a frame, -1 on error or one over max. */
static int
frame_recv(int fd, size_t max, unsigned char **out, size_t *len)
{
	unsigned char hdr[4];
	ssize_t r;
	uint32_t n;

	*out = NULL;
	*len = 0;
	do
		r = read(fd, hdr, 1);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	if (r < 0 || io_all(fd, hdr + 1, 3, 0) < 0)
		return -1;
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (n == 0 || n > max)
		return -1;
	*out = malloc(n);
	if (*out == NULL)
		return -1;
	if (io_all(fd, *out, n, 0) < 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*len = n;
	return 1;
}

static void
child_fail(int fd, const struct sov_err *e)
{
	unsigned char hd[2] = {'E', (unsigned char)sov_err_exit_code(e)};

	frame_send(fd, hd, 2, e->msg, strlen(e->msg));
}

/* PATH.new: where a rolled-over key waits for the CA's yes. */
static int
next_path(const char *path, char *buf, size_t size, struct sov_err *e)
{
	int n = snprintf(buf, size, "%s.new", path);

	if (n < 0 || (size_t)n >= size)
		return sov_err_set(e, SOV_EXIT_USAGE, "%s: too long", path);
	return 0;
}

/* One request: 'S' sign with the key, 'T' sign with the next key, 'N' make
 * the next key (written to PATH.new), 'L' load the next key from PATH.new
 * (a rollover that was interrupted), 'C' commit it (renamed over PATH).
 * Answers go back on fd; -1 only when fd is gone. */
static int
serve(int fd, const unsigned char *req, size_t len, const char *path,
      EVP_PKEY **k, EVP_PKEY **next, struct sov_err *e)
{
	unsigned char sig[CT_ES256_SIG_LEN];
	char np[4096];
	char *jwk = NULL;
	int rc = 0;

	sov_err_clear(e);
	switch (req[0]) {
	case 'S':
	case 'T':
		if (req[0] == 'T' && *next == NULL) {
			sov_err_set(e, SOV_EXIT_FAIL, "no next key");
			break;
		}
		if (len < 2 || ct_es256_sign(req[0] == 'S' ? *k : *next,
					     req + 1, len - 1, sig, e) < 0)
			break;
		return frame_send(fd, "S", 1, sig, sizeof(sig));
	case 'N':
		if (next_path(path, np, sizeof(np), e) < 0)
			break;
		unlink(np); /* a rollover that never finished */
		EVP_PKEY_free(*next);
		*next = ct_key_generate(CT_EC256, e);
		if (*next == NULL || ct_key_save(np, *next, 1, e) < 0 ||
		    (jwk = ct_jwk_canonical(*next, e)) == NULL)
			break;
		rc = frame_send(fd, "J", 1, jwk, strlen(jwk));
		free(jwk);
		return rc;
	case 'L':
		if (next_path(path, np, sizeof(np), e) < 0)
			break;
		EVP_PKEY_free(*next);
		*next = ct_key_load(np, e);
		if (*next == NULL)
			break;
		if (!EVP_PKEY_is_a(*next, "EC") ||
		    EVP_PKEY_get_bits(*next) != 256) {
			sov_err_set(e, SOV_EXIT_FAIL, "%s: not EC P-256", np);
			break;
		}
		if ((jwk = ct_jwk_canonical(*next, e)) == NULL)
			break;
		rc = frame_send(fd, "J", 1, jwk, strlen(jwk));
		free(jwk);
		return rc;
	case 'C':
		if (*next == NULL) {
			sov_err_set(e, SOV_EXIT_FAIL, "no next key");
			break;
		}
		if (next_path(path, np, sizeof(np), e) < 0)
			break;
		if (rename(np, path) < 0) {
			sov_err_sys(e, SOV_EXIT_FAIL, "rename %s", np);
			break;
		}
		EVP_PKEY_free(*k);
		*k = *next;
		*next = NULL;
		return frame_send(fd, "K", 1, NULL, 0);
	default:
		sov_err_set(e, SOV_EXIT_FAIL, "unknown request");
	}
	child_fail(fd, e);
	return 0;
}

/* The child: never returns. */
static void __attribute__((noreturn))
child_main(int fd, const char *path, int create)
{
	struct sov_err e = {0};
	EVP_PKEY *k = NULL, *next = NULL;
	char *jwk = NULL;
	unsigned char *req = NULL;
	size_t len;
	int code = 1, made = 0;
	struct stat st;

	prctl(PR_SET_DUMPABLE, 0);
	if (create && lstat(path, &st) < 0 && errno == ENOENT) {
		k = ct_key_generate(CT_EC256, &e);
		if (k == NULL || ct_key_save(path, k, 1, &e) < 0)
			goto fail;
		made = 1;
	} else {
		k = ct_key_load(path, &e);
		if (k == NULL)
			goto fail;
	}
	jwk = ct_jwk_canonical(k, &e);
	if (jwk == NULL)
		goto fail;
	if (!EVP_PKEY_is_a(k, "EC") || EVP_PKEY_get_bits(k) != 256) {
		sov_err_set(&e, SOV_EXIT_USAGE,
			    "%s: the account key must be EC P-256", path);
		goto fail;
	}
	if (frame_send(fd, made ? "N" : "J", 1, jwk, strlen(jwk)) < 0)
		goto out;
	for (;;) {
		int r = frame_recv(fd, CT_JWS_INPUT_MAX + 1, &req, &len);

		if (r == 0) {
			code = 0;
			break;
		}
		if (r < 0)
			goto out;
		if (serve(fd, req, len, path, &k, &next, &e) < 0)
			goto out;
		free(req);
		req = NULL;
	}
	goto out;
fail:
	child_fail(fd, &e);
out:
	free(req);
	free(jwk);
	EVP_PKEY_free(next);
	EVP_PKEY_free(k); /* libcrypto cleanses the private key */
	close(fd);
	_exit(code);
}

/* One request of type t with msg; the reply (not 'E') into *rep. */
static int
request(struct ct_keyproc *kp, char t, const void *msg, size_t len,
	unsigned char **rep, size_t *rlen, struct sov_err *e)
{
	*rep = NULL;
	if (len > CT_JWS_INPUT_MAX)
		return sov_err_set(e, SOV_EXIT_FAIL, "sign: %zu bytes", len);
	if (frame_send(kp->fd, &t, 1, msg, len) < 0 ||
	    frame_recv(kp->fd, CT_KEYPROC_REPLY_MAX, rep, rlen) != 1)
		return sov_err_set(e, SOV_EXIT_FAIL, "the key process is gone");
	if ((*rep)[0] != 'E')
		return 0;
	if (*rlen >= 2)
		sov_err_set(e, (*rep)[1] ? (*rep)[1] : SOV_EXIT_FAIL,
			    "key process: %.*s", (int)(*rlen - 2),
			    (const char *)*rep + 2);
	else
		sov_err_set(e, SOV_EXIT_FAIL, "key process: bad reply");
	free(*rep);
	*rep = NULL;
	return -1;
}

static int
sign_with(struct ct_keyproc *kp, char t, const void *msg, size_t len,
	  unsigned char sig[CT_ES256_SIG_LEN], struct sov_err *e)
{
	unsigned char *rep;
	size_t rlen;
	int rc = -1;

	if (len == 0)
		return sov_err_set(e, SOV_EXIT_FAIL, "sign: nothing");
	if (request(kp, t, msg, len, &rep, &rlen, e) < 0)
		return -1;
	if (rep[0] == 'S' && rlen == 1 + CT_ES256_SIG_LEN) {
		memcpy(sig, rep + 1, CT_ES256_SIG_LEN);
		rc = 0;
	} else {
		sov_err_set(e, SOV_EXIT_FAIL, "key process: bad reply");
	}
	free(rep);
	return rc;
}

static int
remote_sign(void *ctx, const void *msg, size_t len,
	    unsigned char sig[CT_ES256_SIG_LEN], struct sov_err *e)
{
	return sign_with(ctx, 'S', msg, len, sig, e);
}

static int
remote_sign_next(void *ctx, const void *msg, size_t len,
		 unsigned char sig[CT_ES256_SIG_LEN], struct sov_err *e)
{
	return sign_with(ctx, 'T', msg, len, sig, e);
}

/* 'N' or 'L': kp->next from the child's answer. */
static int
next_key(struct ct_keyproc *kp, char t, struct sov_err *e)
{
	unsigned char *rep;
	size_t rlen;

	if (request(kp, t, NULL, 0, &rep, &rlen, e) < 0)
		return -1;
	ct_signer_clear(&kp->next);
	if (rep[0] == 'J' && rlen > 1)
		kp->next.jwk = strndup((const char *)rep + 1, rlen - 1);
	free(rep);
	if (kp->next.jwk == NULL ||
	    ct_jwk_thumbprint(kp->next.jwk, kp->next.thumb) < 0)
		return sov_err_set(e, SOV_EXIT_FAIL, "key process: next JWK");
	kp->next.sign = remote_sign_next;
	kp->next.ctx = kp;
	return 0;
}

int
ct_keyproc_next(struct ct_keyproc *kp, struct sov_err *e)
{
	return next_key(kp, 'N', e);
}

int
ct_keyproc_load_next(struct ct_keyproc *kp, struct sov_err *e)
{
	return next_key(kp, 'L', e);
}

int
ct_keyproc_commit(struct ct_keyproc *kp, struct sov_err *e)
{
	unsigned char *rep;
	size_t rlen;

	if (request(kp, 'C', NULL, 0, &rep, &rlen, e) < 0)
		return -1;
	free(rep);
	ct_signer_clear(&kp->signer);
	kp->signer.jwk = kp->next.jwk;
	memcpy(kp->signer.thumb, kp->next.thumb, sizeof(kp->signer.thumb));
	kp->next.jwk = NULL;
	return 0;
}

int
ct_keyproc_start(struct ct_keyproc *kp, const char *path, int create,
		 struct sov_err *e)
{
	unsigned char *rep = NULL;
	size_t rlen;
	int sv[2];

	memset(kp, 0, sizeof(*kp));
	kp->fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "socketpair");
	fflush(NULL); /* no buffered output twice */
	kp->pid = fork();
	if (kp->pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "fork");
	}
	if (kp->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		close(sv[0]);
		/* no stdin or stdout for the child: only the socket, stderr;
		 * nothing else the parent had open (the state lock, files) */
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			close(null);
		}
		if (dup2(sv[1], 3) < 0)
			_exit(1);
		close_range(4, ~0U, 0);
		child_main(3, path, create);
	}
	close(sv[1]);
	kp->fd = sv[0];
	if (frame_recv(kp->fd, CT_KEYPROC_REPLY_MAX, &rep, &rlen) != 1) {
		sov_err_set(e, SOV_EXIT_FAIL, "the key process ended early");
		goto fail;
	}
	if (rep[0] == 'E' && rlen >= 2) {
		sov_err_set(e, rep[1] ? rep[1] : SOV_EXIT_FAIL, "%.*s",
			    (int)(rlen - 2), (const char *)rep + 2);
		goto fail;
	}
	if ((rep[0] != 'J' && rep[0] != 'N') || rlen < 2) {
		sov_err_set(e, SOV_EXIT_FAIL, "key process: bad first reply");
		goto fail;
	}
	kp->created = rep[0] == 'N';
	kp->signer.jwk = strndup((const char *)rep + 1, rlen - 1);
	if (kp->signer.jwk == NULL ||
	    ct_jwk_thumbprint(kp->signer.jwk, kp->signer.thumb) < 0) {
		sov_err_set(e, SOV_EXIT_FAIL, "key process: JWK");
		goto fail;
	}
	kp->signer.sign = remote_sign;
	kp->signer.ctx = kp;
	free(rep);
	return 0;
fail:
	free(rep);
	ct_keyproc_stop(kp);
	return -1;
}

int
ct_keyproc_stop(struct ct_keyproc *kp)
{
	int status = 0, rc = 0;

	if (kp->fd >= 0)
		close(kp->fd);
	kp->fd = -1;
	if (kp->pid > 0) {
		while (waitpid(kp->pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			rc = -1;
	}
	kp->pid = 0;
	ct_signer_clear(&kp->signer);
	ct_signer_clear(&kp->next);
	return rc;
}
