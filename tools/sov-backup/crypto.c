/*
 * crypto.c - keys, ids and sealed objects (libsodium).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto.h"
#include "timestamp.h"

#define KDF_CONTEXT "sovbkup1" /* crypto_kdf: exactly 8 bytes */
#define KEYFILE_AD "sov-backup key v1"

enum { SUBKEY_ENC = 1, SUBKEY_ID = 2, SUBKEY_CHUNKER = 3, SUBKEY_TREE_ID = 4 };

int
bk_crypto_init(struct sov_err *e)
{
	if (sodium_init() < 0)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "libsodium: cannot initialise");
	return 0;
}

struct bk_keys *
bk_keys_new(const unsigned char *master, struct sov_err *e)
{
	struct bk_keys *k = sodium_malloc(sizeof(*k));

	if (!k) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "sodium_malloc");
		return NULL;
	}
	if (master)
		memcpy(k->master, master, BK_KEY_LEN);
	else
		randombytes_buf(k->master, BK_KEY_LEN);
	crypto_kdf_derive_from_key(k->enc, BK_KEY_LEN, SUBKEY_ENC, KDF_CONTEXT,
				   k->master);
	crypto_kdf_derive_from_key(k->id, BK_KEY_LEN, SUBKEY_ID, KDF_CONTEXT,
				   k->master);
	crypto_kdf_derive_from_key(k->chunker, BK_KEY_LEN, SUBKEY_CHUNKER,
				   KDF_CONTEXT, k->master);
	crypto_kdf_derive_from_key(k->tree_id, BK_KEY_LEN, SUBKEY_TREE_ID,
				   KDF_CONTEXT, k->master);
	return k;
}

void
bk_keys_free(struct bk_keys *k)
{
	if (k)
		sodium_free(k); /* zeroes before freeing */
}

void
bk_blob_id(const struct bk_keys *k, const void *data, size_t len,
	   unsigned char out[BK_ID_LEN])
{
	crypto_generichash(out, BK_ID_LEN, data, len, k->id, BK_KEY_LEN);
}

void
bk_tree_id(const struct bk_keys *k, const void *data, size_t len,
	   unsigned char out[BK_ID_LEN])
{
	crypto_generichash(out, BK_ID_LEN, data, len, k->tree_id, BK_KEY_LEN);
}

void
bk_storage_id(const void *data, size_t len, unsigned char out[BK_ID_LEN])
{
	crypto_generichash(out, BK_ID_LEN, data, len, NULL, 0);
}

void
bk_storage_hash_init(bk_storage_hash *h)
{
	crypto_generichash_init(h, NULL, 0, BK_ID_LEN);
}

void
bk_storage_hash_update(bk_storage_hash *h, const void *data, size_t len)
{
	crypto_generichash_update(h, data, len);
}

void
bk_storage_hash_final(bk_storage_hash *h, unsigned char out[BK_ID_LEN])
{
	crypto_generichash_final(h, out, BK_ID_LEN);
}

void
bk_seal(const struct bk_keys *k, const void *ad, size_t adlen,
	const void *plain, size_t len, unsigned char *out)
{
	randombytes_buf(out, BK_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    out + BK_NONCE_LEN, NULL, plain, len, ad, adlen, NULL, out, k->enc);
}

int
bk_unseal(const struct bk_keys *k, const void *ad, size_t adlen,
	  const unsigned char *in, size_t len, unsigned char *out,
	  const char *what, struct sov_err *e)
{
	if (len < BK_SEAL_OVERHEAD)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "%s: too short to be sealed (%zu bytes)",
				   what, len);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		out, NULL, NULL, in + BK_NONCE_LEN, len - BK_NONCE_LEN, ad,
		adlen, in, k->enc) != 0)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "%s: authentication failed: wrong key, "
				   "or the data was changed",
				   what);
	return 0;
}

void
bk_hex(const unsigned char id[BK_ID_LEN], char out[BK_ID_HEX_LEN])
{
	sodium_bin2hex(out, BK_ID_HEX_LEN, id, BK_ID_LEN);
}

int
bk_unhex(const char *s, unsigned char id[BK_ID_LEN])
{
	size_t n = 0;
	const char *end = NULL;

	if (!s || strlen(s) != 2 * BK_ID_LEN)
		return -1;
	if (sodium_hex2bin(id, BK_ID_LEN, s, 2 * BK_ID_LEN, NULL, &n, &end) !=
		0 ||
	    n != BK_ID_LEN || *end)
		return -1;
	return 0;
}

/* Set once by the command line before any key file is made. */
static unsigned long long kdf_passes;
static size_t kdf_memory;

void
bk_kdf_set_cost(unsigned long long passes, size_t memory)
{
	if (passes)
		kdf_passes = passes;
	if (memory)
		kdf_memory = memory;
}

static void
kdf_cost(unsigned long long *ops, size_t *mem)
{
	const char *t = getenv("SOV_BACKUP_INSECURE_TEST_KDF");

	if (t && strcmp(t, "1") == 0) {
		*ops = crypto_pwhash_OPSLIMIT_MIN;
		*mem = crypto_pwhash_MEMLIMIT_MIN;
		return;
	}
	*ops = kdf_passes ? kdf_passes : BK_KDF_OPSLIMIT;
	*mem = kdf_memory ? kdf_memory : BK_KDF_MEMLIMIT;
}

static jv
b64(const unsigned char *p, size_t n)
{
	size_t cap =
	    sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);
	jv r;

	if (!s)
		return jv_invalid_with_msg(jv_string("out of memory"));
	sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
	r = jv_string(s);
	free(s);
	return r;
}

/* Decode base64 member name of o into exactly want bytes. */
static int
unb64(jv o, const char *name, unsigned char *out, size_t want, const char *file,
      struct sov_err *e)
{
	jv v = jv_object_get(jv_copy(o), jv_string(name));
	size_t n = 0;
	int rc = -1;

	if (jv_get_kind(v) != JV_KIND_STRING) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: %s: missing or not a string",
			    file, name);
		goto out;
	}
	if (sodium_base642bin(out, want, jv_string_value(v),
			      (size_t)jv_string_length_bytes(jv_copy(v)), NULL,
			      &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != want) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: %s: not base64 of %zu bytes",
			    file, name, want);
		goto out;
	}
	rc = 0;
out:
	jv_free(v);
	return rc;
}

static int
derive(unsigned char *kek, const unsigned char *pw, size_t pwlen,
       const unsigned char *salt, unsigned long long ops, size_t mem,
       struct sov_err *e)
{
	if (crypto_pwhash(kek, BK_KEY_LEN, (const char *)pw, pwlen, salt, ops,
			  mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return sov_err_set(e, SOV_EXIT_TEMPFAIL,
				   "argon2id: out of memory (%zu bytes)", mem);
	return 0;
}

jv
bk_keyfile_new(const struct bk_keys *k, const unsigned char *password,
	       size_t pwlen, struct sov_err *e)
{
	unsigned char salt[crypto_pwhash_SALTBYTES];
	unsigned char *kek = NULL;
	unsigned char wrapped[BK_KEY_LEN + BK_SEAL_OVERHEAD];
	struct bk_keys wrapkey;
	unsigned long long ops;
	size_t mem;
	char ts[SOV_TIME_RFC3339_LEN], host[256] = "";
	jv r = jv_invalid();

	kdf_cost(&ops, &mem);
	randombytes_buf(salt, sizeof(salt));
	kek = sodium_malloc(BK_KEY_LEN);
	if (!kek) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "sodium_malloc");
		return r;
	}
	if (derive(kek, password, pwlen, salt, ops, mem, e) < 0)
		goto out;
	memcpy(wrapkey.enc, kek, BK_KEY_LEN);
	bk_seal(&wrapkey, KEYFILE_AD, strlen(KEYFILE_AD), k->master, BK_KEY_LEN,
		wrapped);
	sodium_memzero(&wrapkey, sizeof(wrapkey));
	sov_time_format(sov_time_now_ms(), ts);
	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	r = jv_object();
	r = jv_object_set(r, jv_string("version"), jv_number(1));
	r = jv_object_set(r, jv_string("created"), jv_string(ts));
	r = jv_object_set(r, jv_string("host"), jv_string(host));
	r = jv_object_set(r, jv_string("kdf"), jv_string("argon2id13"));
	r = jv_object_set(r, jv_string("opslimit"), jv_number((double)ops));
	r = jv_object_set(r, jv_string("memlimit"), jv_number((double)mem));
	r = jv_object_set(r, jv_string("salt"), b64(salt, sizeof(salt)));
	r = jv_object_set(r, jv_string("wrapped"),
			  b64(wrapped, sizeof(wrapped)));
	if (!jv_is_valid(r)) {
		jv_free(r);
		r = jv_invalid();
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "key file: out of memory");
	}
out:
	sodium_free(kek);
	return r;
}

static int
num_member(jv o, const char *name, double lo, double hi, double *out,
	   const char *file, struct sov_err *e)
{
	jv v = jv_object_get(jv_copy(o), jv_string(name));
	int rc = -1;

	if (jv_get_kind(v) != JV_KIND_NUMBER) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: %s: missing or not a number",
			    file, name);
		goto out;
	}
	*out = jv_number_value(v);
	if (!(*out >= lo && *out <= hi) || *out != (double)(long long)*out) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: %s: want an integer from %.0f to %.0f", file,
			    name, lo, hi);
		goto out;
	}
	rc = 0;
out:
	jv_free(v);
	return rc;
}

struct bk_keys *
bk_keyfile_open(jv kf, const unsigned char *password, size_t pwlen,
		const char *name, struct sov_err *e)
{
	unsigned char salt[crypto_pwhash_SALTBYTES];
	unsigned char wrapped[BK_KEY_LEN + BK_SEAL_OVERHEAD];
	unsigned char *kek = NULL, *master = NULL;
	struct bk_keys *wrapkey = NULL, *r = NULL;
	double ver, ops, mem;
	jv kdf = jv_invalid();

	if (jv_get_kind(kf) != JV_KIND_OBJECT) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: not a JSON object", name);
		goto out;
	}
	if (num_member(kf, "version", 1, 1, &ver, name, e) < 0)
		goto out;
	kdf = jv_object_get(jv_copy(kf), jv_string("kdf"));
	if (jv_get_kind(kdf) != JV_KIND_STRING ||
	    strcmp(jv_string_value(kdf), "argon2id13") != 0) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: kdf: want \"argon2id13\"",
			    name);
		goto out;
	}
	if (num_member(kf, "opslimit", crypto_pwhash_OPSLIMIT_MIN,
		       BK_KDF_OPSLIMIT_MAX, &ops, name, e) < 0 ||
	    num_member(kf, "memlimit", crypto_pwhash_MEMLIMIT_MIN,
		       (double)BK_KDF_MEMLIMIT_MAX, &mem, name, e) < 0 ||
	    unb64(kf, "salt", salt, sizeof(salt), name, e) < 0 ||
	    unb64(kf, "wrapped", wrapped, sizeof(wrapped), name, e) < 0)
		goto out;
	kek = sodium_malloc(BK_KEY_LEN);
	master = sodium_malloc(BK_KEY_LEN);
	wrapkey = sodium_malloc(sizeof(*wrapkey));
	if (!kek || !master || !wrapkey) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "sodium_malloc");
		goto out;
	}
	if (derive(kek, password, pwlen, salt, (unsigned long long)ops,
		   (size_t)mem, e) < 0)
		goto out;
	memcpy(wrapkey->enc, kek, BK_KEY_LEN);
	if (bk_unseal(wrapkey, KEYFILE_AD, strlen(KEYFILE_AD), wrapped,
		      sizeof(wrapped), master, name, e) < 0) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: wrong password", name);
		goto out;
	}
	r = bk_keys_new(master, e);
out:
	jv_free(kdf);
	if (kek)
		sodium_free(kek);
	if (master)
		sodium_free(master);
	if (wrapkey)
		sodium_free(wrapkey);
	return r;
}
