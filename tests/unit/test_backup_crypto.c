/*
 * test_backup_crypto.c - tools/sov-backup/crypto.c: subkey derivation, blob
 * and storage ids, sealing (every bit of a sealed object is authenticated),
 * hex ids, and key files (the master secret wrapped under a password), with
 * every way a key file can be malformed.
 *
 * Key files are made with SOV_BACKUP_INSECURE_TEST_KDF=1 so Argon2id runs
 * at libsodium's minimum cost.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "crypto.h"
#include "tap.h"

#define KEYFILE_AD "sov-backup key v1" /* docs/repository-format.md */
#define KF_NAME "keys/0123456789abcdef"
#define PW "correct horse battery staple"

static void
die(const char *what)
{
	fprintf(stderr, "test_backup_crypto: %s\n", what);
	exit(1);
}

static struct bk_keys *
keys_from_byte(unsigned char b)
{
	unsigned char m[BK_KEY_LEN];
	struct sov_err e = {0};
	struct bk_keys *k;

	memset(m, b, sizeof(m));
	k = bk_keys_new(m, &e);
	if (!k)
		die(e.msg);
	return k;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_keys(void)
{
	unsigned char m[BK_KEY_LEN], want[BK_KEY_LEN];
	struct sov_err e = {0};
	struct bk_keys *a, *b, *c, *r1, *r2;

	for (size_t i = 0; i < sizeof(m); i++)
		m[i] = (unsigned char)(i * 7 + 1);
	a = bk_keys_new(m, &e);
	b = bk_keys_new(m, &e);
	m[31] ^= 1;
	c = bk_keys_new(m, &e);
	m[31] ^= 1;
	r1 = bk_keys_new(NULL, &e);
	r2 = bk_keys_new(NULL, &e);
	if (!a || !b || !c || !r1 || !r2)
		die("bk_keys_new");
	ok(memcmp(a->master, m, BK_KEY_LEN) == 0, "keys: master copied");
	ok(memcmp(a->enc, b->enc, BK_KEY_LEN) == 0 &&
	       memcmp(a->id, b->id, BK_KEY_LEN) == 0 &&
	       memcmp(a->chunker, b->chunker, BK_KEY_LEN) == 0,
	   "keys: same master, same three subkeys");
	ok(memcmp(a->enc, c->enc, BK_KEY_LEN) != 0 &&
	       memcmp(a->id, c->id, BK_KEY_LEN) != 0 &&
	       memcmp(a->chunker, c->chunker, BK_KEY_LEN) != 0,
	   "keys: one bit of master changed, every subkey changes");
	ok(memcmp(a->enc, a->id, BK_KEY_LEN) != 0 &&
	       memcmp(a->enc, a->chunker, BK_KEY_LEN) != 0 &&
	       memcmp(a->id, a->chunker, BK_KEY_LEN) != 0 &&
	       memcmp(a->enc, a->master, BK_KEY_LEN) != 0,
	   "keys: the subkeys differ from each other and from master");
	/* The derivation is part of the format: a third-party reader derives
	 * the same subkeys (context "sovbkup1", ids 1, 2, 3). */
	crypto_kdf_derive_from_key(want, BK_KEY_LEN, 1, "sovbkup1", m);
	ok(memcmp(a->enc, want, BK_KEY_LEN) == 0,
	   "keys: enc is crypto_kdf subkey 1 of \"sovbkup1\"");
	crypto_kdf_derive_from_key(want, BK_KEY_LEN, 2, "sovbkup1", m);
	ok(memcmp(a->id, want, BK_KEY_LEN) == 0,
	   "keys: id is crypto_kdf subkey 2");
	crypto_kdf_derive_from_key(want, BK_KEY_LEN, 3, "sovbkup1", m);
	ok(memcmp(a->chunker, want, BK_KEY_LEN) == 0,
	   "keys: chunker is crypto_kdf subkey 3");
	ok(memcmp(r1->master, r2->master, BK_KEY_LEN) != 0 &&
	       !sodium_is_zero(r1->master, BK_KEY_LEN),
	   "keys: NULL master gives a fresh random one each time");
	bk_keys_free(a);
	bk_keys_free(b);
	bk_keys_free(c);
	bk_keys_free(r1);
	bk_keys_free(r2);
	bk_keys_free(NULL);
	ok(1, "keys: bk_keys_free(NULL) is a no-op");
}

static void
test_ids(void)
{
	struct bk_keys *a = keys_from_byte(1), *b = keys_from_byte(2);
	unsigned char i1[BK_ID_LEN], i2[BK_ID_LEN], i3[BK_ID_LEN],
	    want[BK_ID_LEN];
	const unsigned char *d = (const unsigned char *)"some chunk of a file";

	bk_blob_id(a, d, strlen((const char *)d), i1);
	bk_blob_id(a, d, strlen((const char *)d), i2);
	bk_blob_id(b, d, strlen((const char *)d), i3);
	ok(memcmp(i1, i2, BK_ID_LEN) == 0, "blob id: deterministic");
	ok(memcmp(i1, i3, BK_ID_LEN) != 0,
	   "blob id: keyed (another repository's key gives another id)");
	crypto_generichash(want, BK_ID_LEN, d, strlen((const char *)d), a->id,
			   BK_KEY_LEN);
	ok(memcmp(i1, want, BK_ID_LEN) == 0,
	   "blob id: BLAKE2b-256 keyed with the id subkey");
	bk_blob_id(a, d, strlen((const char *)d) - 1, i2);
	ok(memcmp(i1, i2, BK_ID_LEN) != 0, "blob id: other data, other id");
	bk_blob_id(a, "", 0, i2);
	crypto_generichash(want, BK_ID_LEN, NULL, 0, a->id, BK_KEY_LEN);
	ok(memcmp(i2, want, BK_ID_LEN) == 0, "blob id: of empty data");

	bk_tree_id(a, d, strlen((const char *)d), i2);
	crypto_generichash(want, BK_ID_LEN, d, strlen((const char *)d),
			   a->tree_id, BK_KEY_LEN);
	ok(memcmp(i2, want, BK_ID_LEN) == 0,
	   "tree id: BLAKE2b-256 keyed with the tree id subkey");
	bk_blob_id(a, d, strlen((const char *)d), i1);
	ok(memcmp(i1, i2, BK_ID_LEN) != 0,
	   "tree id: differs from the data id of the same bytes");
	{
		unsigned char sub[BK_KEY_LEN];

		crypto_kdf_derive_from_key(sub, BK_KEY_LEN, 4, "sovbkup1",
					   a->master);
		ok(memcmp(sub, a->tree_id, BK_KEY_LEN) == 0,
		   "tree id subkey: crypto_kdf subkey 4 of the master, "
		   "context sovbkup1 (the format document)");
	}

	bk_storage_id(d, strlen((const char *)d), i1);
	crypto_generichash(want, BK_ID_LEN, d, strlen((const char *)d), NULL,
			   0);
	ok(memcmp(i1, want, BK_ID_LEN) == 0,
	   "storage id: unkeyed BLAKE2b-256 (checkable without the key)");
	bk_blob_id(a, d, strlen((const char *)d), i2);
	ok(memcmp(i1, i2, BK_ID_LEN) != 0,
	   "storage id differs from the blob id of the same bytes");
	bk_keys_free(a);
	bk_keys_free(b);
}

static void
test_seal(void)
{
	struct bk_keys *k = keys_from_byte(3), *other = keys_from_byte(4);
	unsigned char plain[100], sealed[100 + BK_SEAL_OVERHEAD],
	    again[100 + BK_SEAL_OVERHEAD], out[100];
	const char *ad = "sov-backup test v1";
	struct sov_err e = {0};
	int bad = 0, badmsg = 0;
	size_t lens[] = {0, 1, 15, 16, 17, 100};

	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (unsigned char)(i * 31);
	for (size_t t = 0; t < sizeof(lens) / sizeof(lens[0]); t++) {
		size_t n = lens[t];
		int r;

		memset(out, 0xee, sizeof(out));
		bk_seal(k, ad, strlen(ad), plain, n, sealed);
		r = bk_unseal(k, ad, strlen(ad), sealed, n + BK_SEAL_OVERHEAD,
			      out, "obj", &e);
		if (r != 0 || memcmp(out, plain, n) != 0)
			bad++;
	}
	is_int(bad, 0, "seal/unseal round trip at 0, 1, 15, 16, 17, 100 bytes");

	bk_seal(k, ad, strlen(ad), plain, sizeof(plain), sealed);
	bk_seal(k, ad, strlen(ad), plain, sizeof(plain), again);
	ok(memcmp(sealed, again, BK_NONCE_LEN) != 0 &&
	       memcmp(sealed + BK_NONCE_LEN, again + BK_NONCE_LEN,
		      sizeof(plain)) != 0,
	   "seal: a fresh random nonce each time, so a fresh ciphertext");
	ok(memcmp(sealed + BK_NONCE_LEN, plain, sizeof(plain)) != 0,
	   "seal: the plaintext does not appear in the output");

	/* Every bit of nonce, ciphertext and tag is covered. */
	bad = badmsg = 0;
	for (size_t i = 0; i < sizeof(sealed); i++) {
		for (int bit = 0; bit < 8; bit++) {
			sov_err_clear(&e);
			sealed[i] ^= (unsigned char)(1u << bit);
			if (bk_unseal(k, ad, strlen(ad), sealed, sizeof(sealed),
				      out, "snapshots/xyz", &e) != -1 ||
			    e.code != SOV_EXIT_FAIL)
				bad++;
			else if (!strstr(e.msg, "snapshots/xyz: authentication "
						"failed"))
				badmsg++;
			sealed[i] ^= (unsigned char)(1u << bit);
		}
	}
	is_int(bad, 0,
	       "unseal: each of the %zu bits of nonce|ciphertext|tag flipped "
	       "fails with code 1",
	       sizeof(sealed) * 8);
	is_int(badmsg, 0,
	       "unseal: ... and says \"NAME: authentication failed\"");
	is_int(bk_unseal(k, ad, strlen(ad), sealed, sizeof(sealed), out, "obj",
			 &e),
	       0, "unseal: the unflipped object still opens");

	sov_err_clear(&e);
	is_int(bk_unseal(k, "sov-backup test v2", strlen(ad), sealed,
			 sizeof(sealed), out, "obj", &e),
	       -1, "unseal: wrong associated data fails");
	is_int(e.code, SOV_EXIT_FAIL, "unseal: wrong AD: code 1");
	like(e.msg, "obj: authentication failed", "unseal: wrong AD: message");
	sov_err_clear(&e);
	is_int(bk_unseal(k, ad, strlen(ad) - 1, sealed, sizeof(sealed), out,
			 "obj", &e),
	       -1, "unseal: associated data cut by one byte fails");
	sov_err_clear(&e);
	is_int(bk_unseal(k, NULL, 0, sealed, sizeof(sealed), out, "obj", &e),
	       -1, "unseal: no associated data fails");
	sov_err_clear(&e);
	is_int(bk_unseal(other, ad, strlen(ad), sealed, sizeof(sealed), out,
			 "obj", &e),
	       -1, "unseal: wrong key fails");
	like(e.msg, "authentication failed", "unseal: wrong key: message");
	like(e.msg, "wrong key, or the data was changed",
	     "unseal: the message says what it may mean");

	bad = 0;
	for (size_t n = BK_SEAL_OVERHEAD; n < sizeof(sealed); n++) {
		sov_err_clear(&e);
		if (bk_unseal(k, ad, strlen(ad), sealed, n, out, "obj", &e) !=
			-1 ||
		    e.code != SOV_EXIT_FAIL ||
		    !strstr(e.msg, "authentication failed"))
			bad++;
	}
	is_int(bad, 0,
	       "unseal: every truncation down to the overhead fails "
	       "(authentication failed)");
	sov_err_clear(&e);
	is_int(bk_unseal(k, ad, strlen(ad), sealed + 1, sizeof(sealed) - 1, out,
			 "obj", &e),
	       -1, "unseal: first byte cut off fails");
	bad = 0;
	for (size_t n = 0; n < BK_SEAL_OVERHEAD; n++) {
		sov_err_clear(&e);
		if (bk_unseal(k, ad, strlen(ad), sealed, n, out, "pack p",
			      &e) != -1 ||
		    e.code != SOV_EXIT_FAIL ||
		    !strstr(e.msg, "pack p: too short"))
			bad++;
	}
	is_int(bad, 0,
	       "unseal: 0..39 bytes (under the overhead) is \"NAME: too "
	       "short\", code 1");
	sov_err_clear(&e);
	bk_unseal(k, ad, strlen(ad), sealed, 10, out, "pack p", &e);
	like(e.msg, "(10 bytes)", "unseal: too short: says how long it was");
	bk_keys_free(k);
	bk_keys_free(other);
}

static void
test_hex(void)
{
	unsigned char id[BK_ID_LEN], back[BK_ID_LEN];
	char hex[BK_ID_HEX_LEN], buf[80];
	int bad = 0;

	for (size_t i = 0; i < BK_ID_LEN; i++)
		id[i] = (unsigned char)(0xf0 + i * 13);
	memset(hex, 'x', sizeof(hex));
	bk_hex(id, hex);
	is_int((long long)strlen(hex), 64, "hex: 64 digits, NUL-terminated");
	is_int((long long)strspn(hex, "0123456789abcdef"), 64,
	       "hex: lower case");
	is_int(bk_unhex(hex, back), 0, "unhex: its own output");
	ok(memcmp(id, back, BK_ID_LEN) == 0, "hex/unhex: round trip");
	for (int t = 0; t < 200; t++) {
		randombytes_buf(id, sizeof(id));
		bk_hex(id, hex);
		if (bk_unhex(hex, back) != 0 ||
		    memcmp(id, back, BK_ID_LEN) != 0)
			bad++;
	}
	is_int(bad, 0, "hex/unhex: 200 random ids round trip");

	for (size_t i = 0; i < 64; i++)
		buf[i] = (char)(hex[i] >= 'a' ? hex[i] - 'a' + 'A' : hex[i]);
	buf[64] = '\0';
	memset(back, 0, sizeof(back));
	is_int(bk_unhex(buf, back), 0, "unhex: upper case accepted");
	ok(memcmp(id, back, BK_ID_LEN) == 0, "unhex: upper case, same id");

	snprintf(buf, sizeof(buf), "%.63s", hex);
	is_int(bk_unhex(buf, back), -1, "unhex: 63 digits refused");
	snprintf(buf, sizeof(buf), "%s0", hex);
	is_int(bk_unhex(buf, back), -1, "unhex: 65 digits refused");
	snprintf(buf, sizeof(buf), "%s", hex);
	buf[17] = 'g';
	is_int(bk_unhex(buf, back), -1, "unhex: a 'g' refused");
	buf[17] = ' ';
	is_int(bk_unhex(buf, back), -1, "unhex: a space refused");
	buf[17] = ':';
	is_int(bk_unhex(buf, back), -1, "unhex: a ':' refused");
	snprintf(buf, sizeof(buf), "%s", hex);
	buf[63] = '\n';
	is_int(bk_unhex(buf, back), -1, "unhex: a trailing newline refused");
	is_int(bk_unhex("", back), -1, "unhex: empty refused");
	is_int(bk_unhex(NULL, back), -1, "unhex: NULL refused");
}

/* A key file with member name set to v (jv_null() deletes it). */
static jv
kf_with(jv kf, const char *name, jv v)
{
	if (jv_get_kind(v) == JV_KIND_NULL) {
		jv_free(v);
		return jv_object_delete(kf, jv_string(name));
	}
	return jv_object_set(kf, jv_string(name), v);
}

static jv
b64_of(const unsigned char *p, size_t n)
{
	char s[256];

	sodium_bin2base64(s, sizeof(s), p, n, sodium_base64_VARIANT_ORIGINAL);
	return jv_string(s);
}

/* Open a mutated copy of kf; code and message back in e. */
static struct bk_keys *
open_mut(jv kf, const char *name, jv v, struct sov_err *e)
{
	jv m = kf_with(jv_copy(kf), name, v);
	struct bk_keys *k;

	sov_err_clear(e);
	k = bk_keyfile_open(m, (const unsigned char *)PW, strlen(PW), KF_NAME,
			    e);
	jv_free(m);
	return k;
}

struct bad_case {
	const char *member, *json, *want;
};

static void
test_keyfile(void)
{
	struct bk_keys *k = keys_from_byte(9), *o;
	struct sov_err e = {0};
	jv kf, kf2, v;
	unsigned char salt[crypto_pwhash_SALTBYTES];
	unsigned char wrapped[BK_KEY_LEN + BK_SEAL_OVERHEAD], kek[BK_KEY_LEN],
	    master[BK_KEY_LEN];
	size_t n = 0;
	double t0;

	kf = bk_keyfile_new(k, (const unsigned char *)PW, strlen(PW), &e);
	ok(jv_get_kind(kf) == JV_KIND_OBJECT, "keyfile: new gives an object");
	if (jv_get_kind(kf) != JV_KIND_OBJECT)
		die(e.msg);
	v = jv_object_get(jv_copy(kf), jv_string("version"));
	ok(jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) == 1,
	   "keyfile: version 1");
	jv_free(v);
	v = jv_object_get(jv_copy(kf), jv_string("kdf"));
	ok(jv_get_kind(v) == JV_KIND_STRING &&
	       strcmp(jv_string_value(v), "argon2id13") == 0,
	   "keyfile: kdf argon2id13");
	jv_free(v);
	v = jv_object_get(jv_copy(kf), jv_string("opslimit"));
	ok(jv_get_kind(v) == JV_KIND_NUMBER &&
	       jv_number_value(v) == crypto_pwhash_OPSLIMIT_MIN,
	   "keyfile: SOV_BACKUP_INSECURE_TEST_KDF=1 records the minimum "
	   "opslimit");
	jv_free(v);
	v = jv_object_get(jv_copy(kf), jv_string("memlimit"));
	ok(jv_get_kind(v) == JV_KIND_NUMBER &&
	       jv_number_value(v) == crypto_pwhash_MEMLIMIT_MIN,
	   "keyfile: ... and the minimum memlimit");
	jv_free(v);
	v = jv_object_get(jv_copy(kf), jv_string("created"));
	ok(jv_get_kind(v) == JV_KIND_STRING &&
	       strlen(jv_string_value(v)) == 24 &&
	       jv_string_value(v)[23] == 'Z',
	   "keyfile: created is an RFC 3339 UTC time");
	jv_free(v);
	v = jv_object_get(jv_copy(kf), jv_string("host"));
	ok(jv_get_kind(v) == JV_KIND_STRING, "keyfile: host is a string");
	jv_free(v);

	/* The format by hand: Argon2id of the password with the salt, then
	 * the master sealed with AD "sov-backup key v1". */
	v = jv_object_get(jv_copy(kf), jv_string("salt"));
	ok(jv_get_kind(v) == JV_KIND_STRING &&
	       sodium_base642bin(salt, sizeof(salt), jv_string_value(v),
				 strlen(jv_string_value(v)), NULL, &n, NULL,
				 sodium_base64_VARIANT_ORIGINAL) == 0 &&
	       n == sizeof(salt),
	   "keyfile: salt is base64 of 16 bytes");
	jv_free(v);
	v = jv_object_get(jv_copy(kf), jv_string("wrapped"));
	ok(jv_get_kind(v) == JV_KIND_STRING &&
	       sodium_base642bin(wrapped, sizeof(wrapped), jv_string_value(v),
				 strlen(jv_string_value(v)), NULL, &n, NULL,
				 sodium_base64_VARIANT_ORIGINAL) == 0 &&
	       n == sizeof(wrapped),
	   "keyfile: wrapped is base64 of 72 bytes");
	jv_free(v);
	ok(crypto_pwhash(kek, sizeof(kek), PW, strlen(PW), salt,
			 crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN,
			 crypto_pwhash_ALG_ARGON2ID13) == 0 &&
	       crypto_aead_xchacha20poly1305_ietf_decrypt(
		   master, NULL, NULL, wrapped + BK_NONCE_LEN,
		   sizeof(wrapped) - BK_NONCE_LEN,
		   (const unsigned char *)KEYFILE_AD, strlen(KEYFILE_AD),
		   wrapped, kek) == 0 &&
	       memcmp(master, k->master, BK_KEY_LEN) == 0,
	   "keyfile: a third-party reader unwraps the master as documented");

	o = bk_keyfile_open(kf, (const unsigned char *)PW, strlen(PW), KF_NAME,
			    &e);
	ok(o != NULL, "keyfile: opens with the right password");
	ok(o && memcmp(o->master, k->master, BK_KEY_LEN) == 0 &&
	       memcmp(o->enc, k->enc, BK_KEY_LEN) == 0 &&
	       memcmp(o->id, k->id, BK_KEY_LEN) == 0 &&
	       memcmp(o->chunker, k->chunker, BK_KEY_LEN) == 0,
	   "keyfile: ... giving the same master and subkeys");
	bk_keys_free(o);
	/* bk_repo_open and the fuzz target rely on this: the key file is
	 * the caller's to free (crypto.h does not say so). */
	is_int(jv_get_refcnt(kf), 1,
	       "keyfile: open takes copies, the caller keeps the key file");

	kf2 = bk_keyfile_new(k, (const unsigned char *)"other", 5, &e);
	o = bk_keyfile_open(kf2, (const unsigned char *)"other", 5, KF_NAME,
			    &e);
	ok(o && memcmp(o->master, k->master, BK_KEY_LEN) == 0,
	   "keyfile: a second key file under another password gives the "
	   "same master");
	bk_keys_free(o);
	v = jv_object_get(jv_copy(kf2), jv_string("salt"));
	{
		jv v1 = jv_object_get(jv_copy(kf), jv_string("salt"));

		ok(strcmp(jv_string_value(v), jv_string_value(v1)) != 0,
		   "keyfile: each key file has its own salt");
		jv_free(v1);
	}
	jv_free(v);
	jv_free(kf2);

	sov_err_clear(&e);
	o = bk_keyfile_open(kf, (const unsigned char *)"wrong", 5, KF_NAME, &e);
	ok(o == NULL, "keyfile: wrong password refused");
	is_int(e.code, SOV_EXIT_USAGE, "keyfile: wrong password is code 2");
	like(e.msg, KF_NAME ": wrong password",
	     "keyfile: wrong password names the key file");
	sov_err_clear(&e);
	o = bk_keyfile_open(kf, (const unsigned char *)PW, strlen(PW) - 1,
			    KF_NAME, &e);
	ok(o == NULL && e.code == SOV_EXIT_USAGE,
	   "keyfile: the password minus its last byte is wrong");
	sov_err_clear(&e);
	o = bk_keyfile_open(kf, (const unsigned char *)"", 0, KF_NAME, &e);
	ok(o == NULL && e.code == SOV_EXIT_USAGE,
	   "keyfile: the empty password is wrong");

	/* Changed salt or wrapped bytes: the unwrap cannot tell this from a
	 * wrong password, and says so as one. */
	salt[0] ^= 1;
	o = open_mut(kf, "salt", b64_of(salt, sizeof(salt)), &e);
	ok(o == NULL && e.code == SOV_EXIT_USAGE &&
	       strstr(e.msg, "wrong password"),
	   "keyfile: another salt: wrong password");
	salt[0] ^= 1;
	wrapped[40] ^= 0x80;
	o = open_mut(kf, "wrapped", b64_of(wrapped, sizeof(wrapped)), &e);
	ok(o == NULL && e.code == SOV_EXIT_USAGE,
	   "keyfile: a bit of wrapped flipped: refused as a wrong password");
	wrapped[40] ^= 0x80;
	o = open_mut(kf, "opslimit", jv_number(2), &e);
	ok(o == NULL && e.code == SOV_EXIT_USAGE,
	   "keyfile: another opslimit derives another key: refused");
	o = open_mut(kf, "wrapped", b64_of(wrapped, sizeof(wrapped)), &e);
	ok(o != NULL, "keyfile: re-encoded members still open (control)");
	bk_keys_free(o);

	{
		static const struct bad_case cases[] = {
		    {"version", NULL, "version: missing or not a number"},
		    {"version", "\"1\"", "version: missing or not a number"},
		    {"version", "2", "version: want an integer from 1 to 1"},
		    {"version", "0", "version: want an integer from 1 to 1"},
		    {"version", "1.5", "version: want an integer"},
		    {"kdf", NULL, "kdf: want \"argon2id13\""},
		    {"kdf", "\"argon2i13\"", "kdf: want \"argon2id13\""},
		    {"kdf", "\"scrypt\"", "kdf: want \"argon2id13\""},
		    {"kdf", "13", "kdf: want \"argon2id13\""},
		    {"opslimit", NULL, "opslimit: missing or not a number"},
		    {"opslimit", "\"3\"", "opslimit: missing or not a number"},
		    {"opslimit", "0", "opslimit: want an integer from 1 to 64"},
		    {"opslimit", "-1", "opslimit: want an integer"},
		    {"opslimit", "65",
		     "opslimit: want an integer from 1 to 64"},
		    {"opslimit", "2.5", "opslimit: want an integer"},
		    {"opslimit", "1e300", "opslimit: want an integer"},
		    {"memlimit", NULL, "memlimit: missing or not a number"},
		    {"memlimit", "true", "memlimit: missing or not a number"},
		    {"memlimit", "8191", "memlimit: want an integer from 8192"},
		    {"memlimit", "4294967297", "memlimit: want an integer"},
		    {"memlimit", "1099511627776", "memlimit: want an integer"},
		    {"memlimit", "1e20", "memlimit: want an integer"},
		    {"memlimit", "8192.5", "memlimit: want an integer"},
		    {"salt", NULL, "salt: missing or not a string"},
		    {"salt", "16", "salt: missing or not a string"},
		    {"salt", "\"!!!!\"", "salt: not base64 of 16 bytes"},
		    {"salt", "\"\"", "salt: not base64 of 16 bytes"},
		    /* 15 and 17 bytes */
		    {"salt", "\"AAAAAAAAAAAAAAAAAAAA\"",
		     "salt: not base64 of 16 bytes"},
		    {"salt", "\"AAAAAAAAAAAAAAAAAAAAAAA=\"",
		     "salt: not base64 of 16 bytes"},
		    /* 16 bytes, but without padding / url-safe alphabet */
		    {"salt", "\"AAAAAAAAAAAAAAAAAAAAAA\"",
		     "salt: not base64 of 16 bytes"},
		    {"salt", "\"-_AAAAAAAAAAAAAAAAAAAA==\"",
		     "salt: not base64 of 16 bytes"},
		    {"salt", "\"AAAAAAAAAAAAAAAAAAAAAA==x\"",
		     "salt: not base64 of 16 bytes"},
		    {"wrapped", NULL, "wrapped: missing or not a string"},
		    {"wrapped", "[]", "wrapped: missing or not a string"},
		    {"wrapped", "\"AAAA\"", "wrapped: not base64 of 72 bytes"},
		};
		int bad = 0;

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			jv val =
			    cases[i].json ? jv_parse(cases[i].json) : jv_null();

			if (!jv_is_valid(val))
				die("bad JSON in a test case");
			t0 = now_s();
			o = open_mut(kf, cases[i].member, val, &e);
			if (o || e.code != SOV_EXIT_FAIL ||
			    !strstr(e.msg, KF_NAME ": ") ||
			    !strstr(e.msg, cases[i].want) ||
			    now_s() - t0 > 0.5) {
				bad++;
				diag("%s = %s: code %d, \"%s\"",
				     cases[i].member,
				     cases[i].json ? cases[i].json : "(none)",
				     e.code, e.msg);
			}
			bk_keys_free(o);
		}
		is_int(bad, 0,
		       "keyfile: %zu malformed members are refused, code 1, "
		       "the message naming file and member",
		       sizeof(cases) / sizeof(cases[0]));
	}
	/* wrapped of 71 and 73 bytes */
	o = open_mut(kf, "wrapped", b64_of(wrapped, sizeof(wrapped) - 1), &e);
	ok(o == NULL && e.code == SOV_EXIT_FAIL &&
	       strstr(e.msg, "wrapped: not base64 of 72 bytes"),
	   "keyfile: wrapped of 71 bytes refused");
	{
		unsigned char big[BK_KEY_LEN + BK_SEAL_OVERHEAD + 1] = {0};

		o = open_mut(kf, "wrapped", b64_of(big, sizeof(big)), &e);
		ok(o == NULL && e.code == SOV_EXIT_FAIL &&
		       strstr(e.msg, "wrapped: not base64 of 72 bytes"),
		   "keyfile: wrapped of 73 bytes refused");
	}

	/* A hostile cost is refused before Argon2 runs: 4 GiB + 1 would
	 * take seconds (or fail with ENOMEM, code 75) if it ran. */
	t0 = now_s();
	o = open_mut(kf, "memlimit", jv_number(4294967296.0 + 1), &e);
	ok(o == NULL && e.code == SOV_EXIT_FAIL && now_s() - t0 < 0.2,
	   "keyfile: memlimit 4 GiB + 1 refused at once (%.3f s), code %d",
	   now_s() - t0, e.code);
	o = open_mut(kf, "opslimit", jv_number(1e9), &e);
	ok(o == NULL && e.code == SOV_EXIT_FAIL,
	   "keyfile: opslimit 1e9 refused");

	{
		const char *notobj[] = {"[]", "\"x\"", "null", "1"};
		int bad = 0;

		for (size_t i = 0; i < 4; i++) {
			jv val = jv_parse(notobj[i]);

			sov_err_clear(&e);
			o = bk_keyfile_open(val, (const unsigned char *)PW,
					    strlen(PW), KF_NAME, &e);
			if (o || e.code != SOV_EXIT_FAIL ||
			    !strstr(e.msg, KF_NAME ": not a JSON object"))
				bad++;
			bk_keys_free(o);
			jv_free(val);
		}
		is_int(bad, 0,
		       "keyfile: array, string, null, number: \"not a "
		       "JSON object\"");
		sov_err_clear(&e);
		o = bk_keyfile_open(jv_invalid(), (const unsigned char *)PW,
				    strlen(PW), KF_NAME, &e);
		ok(o == NULL && e.code == SOV_EXIT_FAIL,
		   "keyfile: an invalid jv is refused");
	}
	jv_free(kf);
	bk_keys_free(k);
}

/* Without SOV_BACKUP_INSECURE_TEST_KDF=1 (exactly "1"), the real cost:
 * one Argon2id at 64 MiB. */
static void
test_default_cost(void)
{
	struct bk_keys *k = keys_from_byte(5);
	struct sov_err e = {0};
	jv kf, v;

	if (setenv("SOV_BACKUP_INSECURE_TEST_KDF", "yes", 1) != 0)
		die("setenv");
	kf = bk_keyfile_new(k, (const unsigned char *)PW, strlen(PW), &e);
	v = jv_object_get(jv_copy(kf), jv_string("opslimit"));
	ok(jv_get_kind(v) == JV_KIND_NUMBER &&
	       jv_number_value(v) == BK_KDF_OPSLIMIT,
	   "keyfile: SOV_BACKUP_INSECURE_TEST_KDF=yes is not 1: opslimit %d",
	   BK_KDF_OPSLIMIT);
	jv_free(v);
	v = jv_object_get(jv_copy(kf), jv_string("memlimit"));
	ok(jv_get_kind(v) == JV_KIND_NUMBER &&
	       jv_number_value(v) == (double)BK_KDF_MEMLIMIT,
	   "keyfile: ... and memlimit %u", BK_KDF_MEMLIMIT);
	jv_free(v);
	jv_free(kf);
	bk_keys_free(k);
	if (setenv("SOV_BACKUP_INSECURE_TEST_KDF", "1", 1) != 0)
		die("setenv");
}

int
main(void)
{
	struct sov_err e = {0};

	if (setenv("SOV_BACKUP_INSECURE_TEST_KDF", "1", 1) != 0)
		die("setenv");
	is_int(bk_crypto_init(&e), 0, "bk_crypto_init");
	is_int(bk_crypto_init(&e), 0, "bk_crypto_init twice");
	test_keys();
	test_ids();
	test_seal();
	test_hex();
	test_keyfile();
	test_default_cost();
	return done_testing();
}
