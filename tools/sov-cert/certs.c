/*
 * certs.c - the installed certificates.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "certs.h"
#include "fs.h"

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
ct_certs_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
ct_certs_names(const struct ct_state *s, char ***names, size_t *n,
	       struct sov_err *e)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d;

	*names = NULL;
	*n = 0;
	if (ct_state_path(s, "certs", p, sizeof(p), e) < 0)
		return -1;
	d = opendir(p);
	if (d == NULL)
		return sov_err_sys(e, SOV_EXIT_FAIL, "open %s", p);
	*names = calloc(CT_CERTS_MAX, sizeof(**names));
	if (*names == NULL) {
		closedir(d);
		return sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
	}
	while ((de = readdir(d)) != NULL) {
		if (!ct_cert_name_ok(de->d_name))
			continue; /* ., .., .NAME.new-PID */
		if (*n >= CT_CERTS_MAX) {
			closedir(d);
			ct_certs_names_free(*names, *n);
			*names = NULL;
			*n = 0;
			return sov_err_set(e, SOV_EXIT_FAIL,
					   "%s: over %d certificates", p,
					   CT_CERTS_MAX);
		}
		(*names)[*n] = strdup(de->d_name);
		if ((*names)[*n] == NULL)
			break;
		(*n)++;
	}
	closedir(d);
	qsort(*names, *n, sizeof(**names), cmp);
	return 0;
}

int
ct_certs_load(const struct ct_state *s, const char *name, struct ct_chain *c,
	      struct sov_err *e)
{
	char rel[CT_CERT_NAME_MAX + 32], p[PATH_MAX], *buf = NULL;
	size_t len;
	int n = snprintf(rel, sizeof(rel), "certs/%s/cert.pem", name), rc;

	memset(c, 0, sizeof(*c));
	if (n < 0 || (size_t)n >= sizeof(rel))
		return sov_err_set(e, SOV_EXIT_USAGE, "%s: too long", name);
	if (ct_state_path(s, rel, p, sizeof(p), e) < 0 ||
	    sov_file_read(p, CT_CHAIN_MAX, &buf, &len, e) < 0)
		return -1;
	rc = ct_chain_parse(buf, len, p, c, e);
	free(buf);
	return rc;
}

int
ct_certs_due(const struct ct_chain *c, int64_t now)
{
	int64_t life = c->not_after - c->not_before;

	return now >= c->not_after - life / 3;
}

int
ct_certs_revoked(const struct ct_state *s, const char *name, char *buf,
		 size_t size)
{
	struct sov_err e = {0};
	jv meta = ct_state_meta(s, name, &e), r;
	int yes = 0;

	if (!jv_is_valid(meta)) {
		jv_free(meta);
		return 0;
	}
	r = jv_object_get(meta, jv_string("revoked"));
	if (jv_get_kind(r) == JV_KIND_STRING) {
		int n = snprintf(buf, size, "%s", jv_string_value(r));

		yes = n > 0 && (size_t)n < size;
	}
	jv_free(r);
	return yes;
}

/* Is k a key of type t? */
static int
key_is(EVP_PKEY *k, enum ct_keytype t)
{
	int id = EVP_PKEY_get_base_id(k), bits = EVP_PKEY_get_bits(k);

	switch (t) {
	case CT_EC256:
		return id == EVP_PKEY_EC && bits == 256;
	case CT_EC384:
		return id == EVP_PKEY_EC && bits == 384;
	case CT_RSA2048:
		return id == EVP_PKEY_RSA && bits == 2048;
	case CT_RSA3072:
		return id == EVP_PKEY_RSA && bits == 3072;
	case CT_RSA4096:
		return id == EVP_PKEY_RSA && bits == 4096;
	}
	return 0;
}

EVP_PKEY *
ct_certs_key(const struct ct_state *s, const char *name, enum ct_keytype t,
	     struct sov_err *e)
{
	char rel[CT_CERT_NAME_MAX + 32], p[PATH_MAX];
	struct stat st;
	EVP_PKEY *k;
	int n = snprintf(rel, sizeof(rel), "certs/%s/key.pem", name);

	if (n < 0 || (size_t)n >= sizeof(rel)) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: too long", name);
		return NULL;
	}
	if (ct_state_path(s, rel, p, sizeof(p), e) < 0)
		return NULL;
	if (lstat(p, &st) < 0 && errno == ENOENT)
		return NULL; /* none yet: e stays clear */
	k = ct_key_load(p, e);
	if (k != NULL && !key_is(k, t)) {
		EVP_PKEY_free(k);
		return NULL; /* another type now: a new key */
	}
	return k;
}
