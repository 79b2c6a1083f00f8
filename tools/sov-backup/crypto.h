/*
 * crypto.h - the repository's keys, blob ids and sealed objects.
 *
 * One 32-byte master secret per repository. From it, with libsodium's
 * crypto_kdf (BLAKE2b), four subkeys: "enc" for XChaCha20-Poly1305, "id"
 * for keyed BLAKE2b-256 data blob ids, "chunker" for the chunker's gear
 * table, "tree id" for tree blob ids.
 * The master secret is stored only wrapped, in key files: Argon2id of a
 * password, then XChaCha20-Poly1305. docs/repository-format.md is the
 * reference.
 */
#ifndef BK_CRYPTO_H
#define BK_CRYPTO_H

#include <stddef.h>

#include <jv.h>
#include <sodium.h>

#include "err.h"

#define BK_ID_LEN 32
#define BK_ID_HEX_LEN (2 * BK_ID_LEN + 1)
#define BK_KEY_LEN 32
#define BK_NONCE_LEN 24
#define BK_TAG_LEN 16
#define BK_SEAL_OVERHEAD (BK_NONCE_LEN + BK_TAG_LEN)
#define BK_KEYFILE_MAX (16u << 10)

struct bk_keys {
	unsigned char master[BK_KEY_LEN];
	unsigned char enc[BK_KEY_LEN];
	unsigned char id[BK_KEY_LEN];
	unsigned char chunker[BK_KEY_LEN];
	unsigned char tree_id[BK_KEY_LEN];
};

/* libsodium's init; -1 when it cannot start (no entropy source). */
int bk_crypto_init(struct sov_err *e);

/* sodium_malloc'ed keys from a new random master, or from a given one. */
struct bk_keys *bk_keys_new(const unsigned char *master, struct sov_err *e);
void bk_keys_free(struct bk_keys *k);

/* A data blob's id: BLAKE2b-256 of the plaintext keyed with "id". */
void bk_blob_id(const struct bk_keys *k, const void *data, size_t len,
		unsigned char out[BK_ID_LEN]);
/* A tree blob's id: the same keyed with "tree id". Another key, so a file
 * whose bytes equal a tree's JSON never shares that tree's blob. */
void bk_tree_id(const struct bk_keys *k, const void *data, size_t len,
		unsigned char out[BK_ID_LEN]);

/* A storage id (an object's name): unkeyed BLAKE2b-256 of its bytes, so
 * that check can verify a file against its name without the key. A
 * pack's name hashes only its skeleton (bk_pack_hash_blob in pack.h). */
void bk_storage_id(const void *data, size_t len, unsigned char out[BK_ID_LEN]);
/* The same, fed piece by piece (a pack while it is written). */
typedef crypto_generichash_state bk_storage_hash;
void bk_storage_hash_init(bk_storage_hash *h);
void bk_storage_hash_update(bk_storage_hash *h, const void *data, size_t len);
void bk_storage_hash_final(bk_storage_hash *h, unsigned char out[BK_ID_LEN]);

/* Seal: out = nonce || ciphertext || tag, len + BK_SEAL_OVERHEAD bytes. */
void bk_seal(const struct bk_keys *k, const void *ad, size_t adlen,
	     const void *plain, size_t len, unsigned char *out);

/* Open: out gets len - BK_SEAL_OVERHEAD bytes. -1 (SOV_EXIT_FAIL, "what:
 * authentication failed: wrong key, or the data was changed") when the tag
 * does not match, or "what: too short" under the overhead. */
int bk_unseal(const struct bk_keys *k, const void *ad, size_t adlen,
	      const unsigned char *in, size_t len, unsigned char *out,
	      const char *what, struct sov_err *e);

/* Hex of an id, and back (exactly 64 hex digits, lower or upper case). */
void bk_hex(const unsigned char id[BK_ID_LEN], char out[BK_ID_HEX_LEN]);
int bk_unhex(const char *s, unsigned char id[BK_ID_LEN]);

/* Key files. The Argon2id cost: the defaults below, or the smallest
 * libsodium allows when SOV_BACKUP_INSECURE_TEST_KDF=1 (tests only: the
 * key file records what was used, so nothing else changes). */
/* 64 MiB and 3 passes: above OWASP's Argon2id floor (19 MiB, 2 passes)
 * and costlier to guess than restic's scrypt (32 MiB), while every command
 * stays within a small machine's memory: the KDF's buffer is the largest
 * allocation most commands make (measured: 265 MiB peak RSS at 256 MiB). */
#define BK_KDF_OPSLIMIT 3
#define BK_KDF_MEMLIMIT (64u << 20)
/* What an opened key file may ask for, so a hostile one cannot make us
 * allocate without bound. */
#define BK_KDF_OPSLIMIT_MAX 64
#define BK_KDF_MEMLIMIT_MAX (4ull << 30)

/* The cost of key files made from now on in this process (init and key
 * add take --kdf-memory and --kdf-passes); 0 leaves that part as it is
 * (the default until set). Key files
 * record their own cost, so opening never depends on it. */
#define BK_KDF_MEMORY_MIN_MIB 8
void bk_kdf_set_cost(unsigned long long passes, size_t memory);

/* A new key file (a JSON object) wrapping k->master under password. */
jv bk_keyfile_new(const struct bk_keys *k, const unsigned char *password,
		  size_t pwlen, struct sov_err *e);

/* Unwrap: the keys, or NULL. A wrong password is SOV_EXIT_USAGE
 * "wrong password"; a malformed key file SOV_EXIT_FAIL naming the field.
 * name is the key file's name for messages. */
struct bk_keys *bk_keyfile_open(jv keyfile, const unsigned char *password,
				size_t pwlen, const char *name,
				struct sov_err *e);

#endif
