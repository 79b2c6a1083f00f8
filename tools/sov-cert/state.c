/*
 * state.c - the state directory and the atomic install of a certificate.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "fs.h"
#include "jsonl.h"
#include "order.h"
#include "state.h"
#include "timestamp.h"

#define LOCK_WAIT_MS 10000

int
ct_state_path(const struct ct_state *s, const char *rel, char *buf, size_t size,
	      struct sov_err *e)
{
	int n = snprintf(buf, size, "%s/%s", s->root, rel);

	if (n < 0 || (size_t)n >= size)
		return sov_err_set(e, SOV_EXIT_USAGE, "%s/%s: path too long",
				   s->root, rel);
	return 0;
}

int
ct_state_open(const char *dir, int lock, struct ct_state *s, struct sov_err *e)
{
	char p[PATH_MAX];
	int n;

	memset(s, 0, sizeof(*s));
	s->lockfd = -1;
	if (dir != NULL) {
		n = snprintf(s->root, sizeof(s->root), "%s", dir);
		if (n < 0 || (size_t)n >= sizeof(s->root))
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "--state: path too long");
		if (sov_mkdir_p(s->root, 0700, e) < 0)
			return -1;
	} else if (sov_state_dir("sov-cert", s->root, sizeof(s->root), e) < 0) {
		return -1;
	}
	if (ct_state_path(s, "account", p, sizeof(p), e) < 0 ||
	    sov_mkdir_p(p, 0700, e) < 0 ||
	    ct_state_path(s, "certs", p, sizeof(p), e) < 0 ||
	    sov_mkdir_p(p, 0755, e) < 0)
		return -1;
	if (!lock)
		return 0;
	if (ct_state_path(s, "lock", p, sizeof(p), e) < 0)
		return -1;
	s->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lockfd < 0)
		return sov_err_sys(e, sov_exit_code_open(errno), "open %s", p);
	for (int64_t end = sov_time_mono_ms() + LOCK_WAIT_MS;;) {
		if (flock(s->lockfd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			sov_err_sys(e, SOV_EXIT_FAIL, "lock %s", p);
			break;
		}
		if (sov_time_mono_ms() > end) {
			sov_err_set(e, SOV_EXIT_TEMPFAIL,
				    "%s: another sov-cert holds the lock", p);
			break;
		}
		nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
	}
	close(s->lockfd);
	s->lockfd = -1;
	return -1;
}

void
ct_state_close(struct ct_state *s)
{
	if (s->lockfd >= 0)
		close(s->lockfd); /* and the lock with it */
	s->lockfd = -1;
}

int
ct_cert_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= CT_CERT_NAME_MAX && name[0] != '.' &&
	       strspn(name,
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789._-") == n;
}

int
ct_domain_ok(const char *d)
{
	size_t n = strlen(d), label = 0;

	if (strncmp(d, "*.", 2) == 0) {
		d += 2;
		n -= 2;
	}
	if (n == 0 || n > CT_NAME_MAX || d[0] == '.' || d[n - 1] == '.')
		return 0;
	for (const char *p = d; *p; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-'))
			return 0;
		if (label == 0 && *p == '-')
			return 0;
		if (++label > 63)
			return 0;
	}
	return strchr(d, '.') != NULL;
}

/* Remove a directory of plain files (one level). */
static void
rm_flat(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(dir);
}

/* Leftovers of runs that were killed: certs/.NAME.new-* (the lock is
 * held, so none of them is in use). */
static void
clean_leftovers(const char *certs, const char *name)
{
	char prefix[CT_CERT_NAME_MAX + 8], p[PATH_MAX];
	DIR *d = opendir(certs);
	struct dirent *de;
	int n = snprintf(prefix, sizeof(prefix), ".%s.new-", name);

	if (d == NULL || n < 0 || (size_t)n >= sizeof(prefix)) {
		if (d)
			closedir(d);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, (size_t)n) != 0)
			continue;
		n = snprintf(p, sizeof(p), "%s/%s", certs, de->d_name);
		if (n > 0 && (size_t)n < sizeof(p))
			rm_flat(p);
		n = (int)strlen(prefix);
	}
	closedir(d);
}

static char *
pem_certs(const struct ct_chain *c, int from, int to, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out = NULL;
	long n;

	if (b == NULL)
		return NULL;
	for (int i = from; i < to; i++)
		if (!PEM_write_bio_X509(b, sk_X509_value(c->certs, i)))
			goto out;
	n = BIO_get_mem_data(b, &p);
	out = malloc((size_t)n + 1);
	if (out != NULL) {
		memcpy(out, p, (size_t)n);
		out[n] = '\0';
		*len = (size_t)n;
	}
out:
	BIO_free(b);
	return out;
}

static int
write_in(const char *dir, const char *file, const char *data, size_t len,
	 struct sov_err *e)
{
	char p[PATH_MAX];
	int n = snprintf(p, sizeof(p), "%s/%s", dir, file);

	if (n < 0 || (size_t)n >= sizeof(p))
		return sov_err_set(e, SOV_EXIT_USAGE, "%s: too long", dir);
	return sov_file_write_atomic(p, data, len, 0644, e);
}

static jv
time_str(int64_t secs)
{
	char buf[SOV_TIME_RFC3339_LEN];

	sov_time_format(secs * 1000, buf);
	return jv_string(buf);
}

/* Read back what was written and check it as the CA's answer was. */
static int
reverify(const char *dir, const char *const *domains, size_t ndomains,
	 struct sov_err *e)
{
	char p[PATH_MAX], *pem = NULL;
	size_t len;
	struct ct_chain c;
	EVP_PKEY *k = NULL;
	int rc = -1, n;

	memset(&c, 0, sizeof(c));
	n = snprintf(p, sizeof(p), "%s/fullchain.pem", dir);
	if (n < 0 || (size_t)n >= sizeof(p) ||
	    sov_file_read(p, CT_CHAIN_MAX, &pem, &len, e) < 0 ||
	    ct_chain_parse(pem, len, p, &c, e) < 0)
		goto out;
	n = snprintf(p, sizeof(p), "%s/key.pem", dir);
	if (n < 0 || (size_t)n >= sizeof(p) || (k = ct_key_load(p, e)) == NULL)
		goto out;
	if (ct_chain_verify(&c, k, domains, ndomains, (int64_t)time(NULL), e) <
	    0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		sov_err_prefix(e, "written certificate: ");
	EVP_PKEY_free(k);
	ct_chain_free(&c);
	free(pem);
	return rc;
}

int
ct_state_install(const struct ct_state *s, const char *name, const char *pem,
		 size_t len, EVP_PKEY *key, const char *const *domains,
		 size_t ndomains, jv meta, struct ct_chain *out,
		 struct sov_err *e)
{
	char certs[PATH_MAX], tmp[PATH_MAX], final[PATH_MAX], kp[PATH_MAX];
	char *leaf = NULL, *rest = NULL, *full = NULL;
	size_t ll = 0, rl = 0, fl = 0;
	jv dumped = jv_invalid();
	struct ct_chain c;
	struct stat st;
	int rc = -1, made = 0, n, nc;

	memset(&c, 0, sizeof(c));
	memset(out, 0, sizeof(*out));
	if (ct_chain_parse(pem, len, "downloaded chain", &c, e) < 0 ||
	    ct_chain_verify(&c, key, domains, ndomains, (int64_t)time(NULL),
			    e) < 0)
		goto out;
	nc = sk_X509_num(c.certs);
	leaf = pem_certs(&c, 0, 1, &ll);
	rest = nc > 1 ? pem_certs(&c, 1, nc, &rl) : strdup("");
	full = pem_certs(&c, 0, nc, &fl);
	if (leaf == NULL || rest == NULL || full == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	meta = jv_object_set(meta, jv_string("issuer"), jv_string(c.issuer));
	meta = jv_object_set(meta, jv_string("serial"), jv_string(c.serial));
	meta = jv_object_set(meta, jv_string("not_before"),
			     time_str(c.not_before));
	meta =
	    jv_object_set(meta, jv_string("not_after"), time_str(c.not_after));
	dumped = jv_dump_string(meta, 0);
	meta = jv_invalid();

	if (ct_state_path(s, "certs", certs, sizeof(certs), e) < 0)
		goto out;
	clean_leftovers(certs, name);
	n = snprintf(tmp, sizeof(tmp), "%s/.%s.new-%ld", certs, name,
		     (long)getpid());
	nc = snprintf(final, sizeof(final), "%s/%s", certs, name);
	if (n < 0 || (size_t)n >= sizeof(tmp) || nc < 0 ||
	    (size_t)nc >= sizeof(final) ||
	    snprintf(kp, sizeof(kp), "%s/key.pem", tmp) >= (int)sizeof(kp)) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: path too long", certs);
		goto out;
	}
	if (mkdir(tmp, 0755) < 0) {
		sov_err_sys(e, sov_exit_code_errno(errno), "mkdir %s", tmp);
		goto out;
	}
	made = 1;
	if (ct_key_save(kp, key, 1, e) < 0 ||
	    write_in(tmp, "cert.pem", leaf, ll, e) < 0 ||
	    write_in(tmp, "chain.pem", rest, rl, e) < 0 ||
	    write_in(tmp, "fullchain.pem", full, fl, e) < 0 ||
	    write_in(tmp, "meta.json", jv_string_value(dumped),
		     (size_t)jv_string_length_bytes(jv_copy(dumped)), e) < 0 ||
	    sov_dir_fsync(tmp, e) < 0)
		goto out;
	if (reverify(tmp, domains, ndomains, e) < 0)
		goto out;
	ct_crash_point("written");
	if (lstat(final, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: not a directory, left alone", final);
			goto out;
		}
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE) <
		    0) {
			sov_err_sys(e, sov_exit_code_errno(errno), "swap %s",
				    final);
			goto out;
		}
		/* tmp now holds the old directory */
		if (sov_dir_fsync(certs, e) < 0)
			goto out;
		ct_crash_point("swapped");
	} else if (rename(tmp, final) < 0) {
		sov_err_sys(e, sov_exit_code_errno(errno), "rename %s", tmp);
		goto out;
	} else {
		made = 0;
		if (sov_dir_fsync(certs, e) < 0)
			goto out;
	}
	*out = c;
	memset(&c, 0, sizeof(c));
	rc = 0;
out:
	if (made)
		rm_flat(tmp);
	jv_free(meta);
	jv_free(dumped);
	ct_chain_free(&c);
	free(leaf);
	free(rest);
	free(full);
	return rc;
}

jv
ct_state_meta(const struct ct_state *s, const char *name, struct sov_err *e)
{
	char rel[CT_CERT_NAME_MAX + 32], p[PATH_MAX], *buf = NULL;
	size_t len;
	jv v;
	int n = snprintf(rel, sizeof(rel), "certs/%s/meta.json", name);

	if (n < 0 || (size_t)n >= sizeof(rel) ||
	    ct_state_path(s, rel, p, sizeof(p), e) < 0) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: name too long", name);
		return jv_invalid();
	}
	if (sov_file_read(p, CT_META_MAX, &buf, &len, e) < 0)
		return jv_invalid();
	v = sov_json_parse(buf, len, e);
	free(buf);
	if (!jv_is_valid(v)) {
		sov_err_prefix(e, "%s: ", p);
		return v;
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		sov_err_set(e, SOV_EXIT_FAIL, "%s: not a JSON object", p);
		return jv_invalid();
	}
	return v;
}

int
ct_state_meta_save(const struct ct_state *s, const char *name, jv meta,
		   struct sov_err *e)
{
	char rel[CT_CERT_NAME_MAX + 32], p[PATH_MAX];
	jv dumped = jv_dump_string(meta, 0);
	int n = snprintf(rel, sizeof(rel), "certs/%s/meta.json", name), rc = -1;

	if (n < 0 || (size_t)n >= sizeof(rel) ||
	    ct_state_path(s, rel, p, sizeof(p), e) < 0) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: name too long", name);
		goto out;
	}
	if ((size_t)jv_string_length_bytes(jv_copy(dumped)) > CT_META_MAX) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: over %u bytes", p,
			    CT_META_MAX);
		goto out;
	}
	rc = sov_file_write_atomic(
	    p, jv_string_value(dumped),
	    (size_t)jv_string_length_bytes(jv_copy(dumped)), 0644, e);
out:
	jv_free(dumped);
	return rc;
}
