/*
 * cmd_init.c - `sov-backup init` and `sov-backup key add|list|remove`.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "backup.h"
#include "cli.h"
#include "jsonl.h"
#include "lock.h"
#include "secret.h"

int
bk_kdf_opt(int opt, const char *arg)
{
	struct sov_err e = {0};
	long v;

	if (opt == 0x1101) {
		if (sov_cli_parse_long("--kdf-memory", arg,
				       BK_KDF_MEMORY_MIN_MIB,
				       (long)(BK_KDF_MEMLIMIT_MAX >> 20), &v,
				       &e) < 0)
			return (void)sov_cli_usage_error("%s", e.msg), -1;
		bk_kdf_set_cost(0, (size_t)v << 20);
	} else if (opt == 0x1102) {
		if (sov_cli_parse_long("--kdf-passes", arg, 1,
				       BK_KDF_OPSLIMIT_MAX, &v, &e) < 0)
			return (void)sov_cli_usage_error("%s", e.msg), -1;
		bk_kdf_set_cost((unsigned long long)v, 0);
	} else {
		return 0;
	}
	return 1;
}

int
bk_cmd_init(int argc, char **argv)
{
	static const struct option lo[] = {
	    BK_COMMON_LONGOPTS,
	    BK_KDF_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	struct bk_common co = {.lock_wait_s = 60};
	struct sov_secret pw = {0};
	struct sov_err e = {0};
	struct bk_repo *r = NULL;
	const char *loc;
	jv rec;
	int rc, opt;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		int k = bk_common_opt(&co, opt, optarg);

		if (k == 0)
			k = bk_kdf_opt(opt, optarg);
		if (k < 0)
			return SOV_EXIT_USAGE;
		if (k == 0)
			return sov_cli_usage_error("unknown option");
	}
	if (optind != argc)
		return sov_cli_usage_error("init takes no arguments");
	loc = co.repo ? co.repo : getenv("SOV_BACKUP_REPO");
	if (!loc || !*loc)
		return sov_cli_usage_error(
		    "no repository: give --repo DIR or set SOV_BACKUP_REPO");
	if (bk_password_load(co.password_file, &pw, &e) < 0)
		return sov_cli_fail(&e);
	r = bk_repo_init(loc, pw.data, pw.len, &e);
	sov_secret_wipe(&pw);
	if (!r)
		return sov_cli_fail(&e);
	rec = sov_record_new("init");
	rec = jv_object_set(rec, jv_string("repo"), jv_string(r->be->display));
	rec = jv_object_set(rec, jv_string("id"),
			    jv_object_get(jv_copy(r->config), jv_string("id")));
	rec = jv_object_set(rec, jv_string("key"),
			    jv_string(strchr(r->key_name, '/') + 1));
	rc = bk_emit(rec, &e) < 0 || bk_emit_close(&e) < 0 ? sov_cli_fail(&e)
							   : SOV_EXIT_OK;
	bk_repo_close(r);
	return rc;
}

struct keys_acc {
	struct bk_repo *r;
	jv out;
	struct sov_err *e;
};

static int
key_record(const char *name, uint64_t size, void *arg)
{
	struct keys_acc *a = arg;
	unsigned char *buf = NULL;
	size_t n = 0;
	jv kf, rec;

	(void)size;
	if (bk_get(a->r->be, name, BK_KEYFILE_MAX, &buf, &n, NULL, a->e) < 0)
		return -1;
	kf = sov_json_parse((const char *)buf, n, a->e);
	free(buf);
	rec = sov_record_new("key");
	rec = jv_object_set(rec, jv_string("id"),
			    jv_string(strchr(name, '/') + 1));
	rec = jv_object_set(rec, jv_string("current"),
			    jv_bool(strcmp(name, a->r->key_name) == 0));
	if (jv_get_kind(kf) == JV_KIND_OBJECT) {
		rec = jv_object_set(
		    rec, jv_string("created"),
		    jv_object_get(jv_copy(kf), jv_string("created")));
		rec = jv_object_set(
		    rec, jv_string("host"),
		    jv_object_get(jv_copy(kf), jv_string("host")));
	} else {
		rec = jv_object_set(rec, jv_string("error"),
				    jv_string("unparsable key file"));
	}
	jv_free(kf);
	sov_err_clear(a->e);
	a->out = jv_array_append(a->out, rec);
	return 0;
}

static int
key_add(struct bk_repo *r, const char *newfile, struct sov_err *e)
{
	struct sov_secret pw = {0};
	unsigned char kid[BK_ID_LEN];
	char khex[BK_ID_HEX_LEN], name[BK_NAME_MAX];
	jv kf, s, rec;
	int rc = -1;

	if (!newfile)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "key add: give --new-password-file FILE");
	if (sov_secret_load(newfile, NULL, &pw, e) < 0)
		return sov_err_prefix(e, "new password: ");
	kf = bk_keyfile_new(r->keys, pw.data, pw.len, e);
	sov_secret_wipe(&pw);
	if (!jv_is_valid(kf))
		return -1;
	s = jv_dump_string(kf, 0);
	randombytes_buf(kid, sizeof(kid));
	bk_hex(kid, khex);
	snprintf(name, sizeof(name), "keys/%.16s", khex);
	if (bk_put(r->be, name, jv_string_value(s),
		   (size_t)jv_string_length_bytes(jv_copy(s)), e) < 0)
		goto out;
	rec = sov_record_new("key_added");
	rec = jv_object_set(rec, jv_string("id"), jv_string_sized(khex, 16));
	rc = bk_emit(rec, e);
out:
	jv_free(s);
	return rc;
}

static int
key_remove(struct bk_repo *r, const char *id, struct sov_err *e)
{
	char name[BK_NAME_MAX];
	int exists = 0;
	uint64_t size;
	struct bk_lock *l;
	int rc = -1;

	if (strlen(id) != 16 || strspn(id, "0123456789abcdef") != 16)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "%s: not a key id (16 hex digits, see key "
				   "list)",
				   id);
	snprintf(name, sizeof(name), "keys/%s", id);
	if (strcmp(name, r->key_name) == 0)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "%s: is the key this password opened; "
				   "remove it with another key's password",
				   id);
	if (bk_stat(r->be, name, &size, &exists, e) < 0)
		return -1;
	if (!exists)
		return sov_err_set(e, SOV_EXIT_USAGE, "%s: no such key", id);
	l = bk_lock_acquire(r->be, 1, "key remove", 60000, e);
	if (!l)
		return -1;
	if (bk_remove(r->be, name, e) == 0) {
		jv rec = sov_record_new("key_removed");

		rec = jv_object_set(rec, jv_string("id"), jv_string(id));
		rc = bk_emit(rec, e);
	}
	bk_lock_release(l, NULL);
	return rc;
}

int
bk_cmd_key(int argc, char **argv)
{
	static const struct option lo[] = {
	    BK_COMMON_LONGOPTS,
	    BK_KDF_LONGOPTS,
	    {"new-password-file", required_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	struct bk_common co = {.lock_wait_s = 60};
	struct sov_err e = {0};
	struct bk_repo *r = NULL;
	const char *newfile = NULL, *sub;
	int opt, rc = -1;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		int k = bk_common_opt(&co, opt, optarg);

		if (k == 0)
			k = bk_kdf_opt(opt, optarg);
		if (k < 0)
			return SOV_EXIT_USAGE;
		if (k)
			continue;
		if (opt == 'n')
			newfile = optarg;
		else
			return sov_cli_usage_error("unknown option");
	}
	if (optind >= argc)
		return sov_cli_usage_error("key: want add, list or remove ID");
	sub = argv[optind];
	if (!((strcmp(sub, "add") == 0 && optind + 1 == argc) ||
	      (strcmp(sub, "list") == 0 && optind + 1 == argc) ||
	      (strcmp(sub, "remove") == 0 && optind + 2 == argc)))
		return sov_cli_usage_error("key: want add, list or remove ID");
	r = bk_open(&co, &e);
	if (!r)
		return sov_cli_fail(&e);
	if (strcmp(sub, "add") == 0) {
		rc = key_add(r, newfile, &e);
	} else if (strcmp(sub, "remove") == 0) {
		rc = key_remove(r, argv[optind + 1], &e);
	} else {
		struct keys_acc a = {r, jv_array(), &e};

		rc = bk_list(r->be, "keys", key_record, &a, &e);
		if (rc == 0) {
			int n = jv_array_length(jv_copy(a.out));

			for (int i = 0; i < n && rc == 0; i++)
				rc = bk_emit(jv_array_get(jv_copy(a.out), i),
					     &e);
		}
		jv_free(a.out);
	}
	if (rc == 0)
		rc = bk_emit_close(&e);
	bk_repo_close(r);
	return rc < 0 ? sov_cli_fail(&e) : SOV_EXIT_OK;
}
