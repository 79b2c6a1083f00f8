/*
 * fuzz_backup_keyfile.c - libFuzzer target for bk_keyfile_open, which
 * reads the key files (keys/ID: plaintext JSON, the master key wrapped
 * under the password) of a repository being opened.
 *
 * The input goes through sov_json_parse as bk_repo_open reads it, then to
 * bk_keyfile_open with a fixed password (the one the seed key file was
 * made with, so the fuzzer starts from a file that opens). Inputs asking
 * for an Argon2id cost above FUZZ_MEMLIMIT / FUZZ_OPSLIMIT, but inside
 * what a key file may ask for, are skipped: up to 4 GiB is allowed by
 * design, and a fuzzer would spend its time hashing.
 *
 * Checks: a refusal is SOV_EXIT_FAIL (malformed) or SOV_EXIT_USAGE (wrong
 * password) with a message that names the key file (TEMPFAIL: out of
 * memory); an accepted file gives keys whose subkeys are the ones
 * bk_keys_new derives from the same master.
 *
 * bk_keyfile_open does not consume its jv argument (it takes copies): the
 * key file is freed here.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "jsonl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "keys/fuzz"
#define PASSWORD "pw-for-seeds"
#define FUZZ_MEMLIMIT (1u << 20)
#define FUZZ_OPSLIMIT 3

/* A number member that passes the key file's own range check but costs
 * more than cap. */
static int
expensive(jv kf, const char *field, double cap, double max)
{
	jv v = jv_object_get(jv_copy(kf), jv_string(field));
	int r = 0;

	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		double d = jv_number_value(v);

		r = d > cap && d <= max && d == floor(d);
	}
	jv_free(v);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bk_keys *k, *again;
	struct sov_err e;
	jv kf;

	if (size > BK_KEYFILE_MAX)
		return 0; /* bk_repo_open reads at most this */
	if (sodium_init() < 0)
		__builtin_trap();
	kf = sov_json_parse((const char *)data, size, &e);
	if (!jv_is_valid(kf)) {
		jv_free(kf);
		return 0;
	}
	if (jv_get_kind(kf) == JV_KIND_OBJECT &&
	    (expensive(kf, "memlimit", FUZZ_MEMLIMIT,
		       (double)BK_KDF_MEMLIMIT_MAX) ||
	     expensive(kf, "opslimit", FUZZ_OPSLIMIT, BK_KDF_OPSLIMIT_MAX))) {
		jv_free(kf);
		return 0;
	}
	sov_err_clear(&e);
	k = bk_keyfile_open(kf, (const unsigned char *)PASSWORD,
			    strlen(PASSWORD), NAME, &e);
	if (!k) {
		if (e.msg[0] == '\0' ||
		    (e.code != SOV_EXIT_TEMPFAIL && !strstr(e.msg, NAME)) ||
		    (e.code != SOV_EXIT_FAIL && e.code != SOV_EXIT_USAGE &&
		     e.code != SOV_EXIT_TEMPFAIL))
			__builtin_trap();
	} else {
		if (!(again = bk_keys_new(k->master, &e)))
			__builtin_trap();
		if (memcmp(again->enc, k->enc, BK_KEY_LEN) != 0 ||
		    memcmp(again->id, k->id, BK_KEY_LEN) != 0 ||
		    memcmp(again->chunker, k->chunker, BK_KEY_LEN) != 0)
			__builtin_trap();
		bk_keys_free(again);
		bk_keys_free(k);
	}
	jv_free(kf);
	return 0;
}
