/*
 * fuzz_backup_tree.c - libFuzzer target for the tree blobs that ls,
 * restore and check read from a repository.
 *
 * The input is the JSON of a tree blob. It goes the real way: packed as a
 * tree blob (bk_packer_add, zstd when that pays, sealed with a fixed test
 * key), put as a pack into a scratch repository directory, indexed, and
 * read back with bk_repo_read_tree. Then every node is taken apart as the
 * commands do: bk_node_name, bk_node_type, bk_node_u64 on the counts,
 * bk_node_id on "subtree", the "content" ids; and bk_node_create and
 * bk_node_apply_meta, which validate every member (times included: only
 * they reach the time parser) before touching anything. They get dirfd
 * -1 and only a name bk_node_name accepted (one component, checked here
 * first), so every system call they make fails with EBADF: no side
 * effects.
 *
 * Checks: the nodes read back are the input's; a refused tree says
 * "tree ID: ..."; accepted names are single components that survive
 * bk_node_set_name; counts read back as the JSON says; create and
 * apply_meta never succeed except on a socket (which they skip).
 *
 * The scratch repository is $TMPDIR/sov-fuzz-tree.XXXXXX (under /dev/shm
 * when there is one: puts fsync), removed at exit.
 */
#include <ftw.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "backup.h"
#include "jsonl.h"
#include "node.h"
#include "pack.h"
#include "repo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define EXACT_MAX (UINT64_C(1) << 53)

static struct bk_repo *repo;
static struct bk_packer packer;
static char dir[4096];

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
cleanup(void)
{
	if (repo) {
		bk_repo_close(repo);
		repo = NULL;
	}
	bk_packer_free(&packer);
	if (dir[0])
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
setup(void)
{
	unsigned char master[BK_KEY_LEN];
	const char *t = getenv("TMPDIR");
	struct sov_err e;
	int n;

	if (access("/dev/shm", W_OK) == 0)
		t = "/dev/shm";
	else if (!t || !*t)
		t = "/tmp";
	n = snprintf(dir, sizeof(dir), "%s/sov-fuzz-tree.XXXXXX", t);
	if (n < 0 || (size_t)n >= sizeof(dir) || !mkdtemp(dir))
		__builtin_trap();
	atexit(cleanup);
	for (size_t i = 0; i < sizeof(master); i++)
		master[i] = (unsigned char)(0x77 ^ i);
	if (bk_crypto_init(&e) < 0 || !(repo = calloc(1, sizeof(*repo))))
		__builtin_trap();
	repo->config = jv_null();
	/* create: the directory is empty, the layout is made. */
	if (!(repo->keys = bk_keys_new(master, &e)) ||
	    !(repo->be = bk_backend_open(dir, 1, &e)))
		__builtin_trap();
}

/* The failure of bk_node_*: a code and a message. */
static void
check_err(const struct sov_err *e, int code)
{
	if (e->msg[0] == '\0' || (code && e->code != code) ||
	    (!code && e->code != SOV_EXIT_FAIL && e->code != SOV_EXIT_USAGE &&
	     e->code != SOV_EXIT_TEMPFAIL))
		__builtin_trap();
}

/* A count member reads back as the JSON has it. */
static void
check_u64(jv nd, const char *field)
{
	jv v = jv_get_kind(nd) == JV_KIND_OBJECT
		   ? jv_object_get(jv_copy(nd), jv_string(field))
		   : jv_invalid();
	uint64_t x = 0;
	struct sov_err e;
	int r;

	sov_err_clear(&e);
	r = bk_node_u64(nd, field, &x, &e);
	if (r < 0) {
		check_err(&e, SOV_EXIT_USAGE);
	} else if (r == 0) {
		if (jv_get_kind(v) != JV_KIND_INVALID &&
		    jv_get_kind(v) != JV_KIND_NULL)
			__builtin_trap();
	} else if (jv_get_kind(v) == JV_KIND_NUMBER) {
		if (x > EXACT_MAX || (double)x != jv_number_value(v))
			__builtin_trap();
	} else if (jv_get_kind(v) == JV_KIND_STRING) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%" PRIu64, x);

		if (n < 0 || (size_t)n >= sizeof(buf) ||
		    strcmp(buf, jv_string_value(v)) != 0)
			__builtin_trap();
	} else {
		__builtin_trap();
	}
	jv_free(v);
}

/* A name bk_node_name accepts: one component, and it survives the round
 * trip through bk_node_set_name (name or name_b64). */
static void
check_name(const char *name)
{
	size_t n = strlen(name);
	struct sov_err e;
	char *again;
	jv o;

	if (n == 0 || n > BK_NAME_BYTES_MAX || strchr(name, '/') ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		__builtin_trap();
	o = bk_node_set_name(jv_object(), name);
	again = bk_node_name(o, &e);
	if (!again || strcmp(again, name) != 0)
		__builtin_trap();
	free(again);
	jv_free(o);
}

static void
check_node(jv nd, int i)
{
	static const char *counts[] = {"size", "inode", "device", "links",
				       "rdev"};
	static const unsigned metas[] = {0, BK_META_OWNER,
					 BK_META_OWNER | BK_META_BY_NAME};
	unsigned char id[BK_ID_LEN];
	char hex[BK_ID_HEX_LEN];
	struct sov_err e;
	const char *type;
	char *name;
	jv v;

	sov_err_clear(&e);
	name = bk_node_name(nd, &e);
	if (!name) {
		check_err(&e, SOV_EXIT_USAGE);
		if (strncmp(e.msg, "node: ", 6) != 0)
			__builtin_trap();
	} else {
		check_name(name);
	}
	type = bk_node_type(nd);
	(void)strlen(type);
	for (size_t j = 0; j < sizeof(counts) / sizeof(counts[0]); j++)
		check_u64(nd, counts[j]);

	/* What check and restore do with dirs and files, once the name
	 * is good (so the node is an object: bk_node_id and jq's
	 * jv_object_get assume one). */
	if (!name)
		return;
	v = jv_object_get(jv_copy(nd), jv_string("subtree"));
	sov_err_clear(&e);
	if (bk_node_id(nd, "subtree", id, &e) == 0) {
		bk_hex(id, hex);
		if (jv_get_kind(v) != JV_KIND_STRING ||
		    strcasecmp(hex, jv_string_value(v)) != 0)
			__builtin_trap();
	} else {
		check_err(&e, SOV_EXIT_FAIL);
	}
	jv_free(v);
	v = jv_object_get(jv_copy(nd), jv_string("content"));
	if (jv_get_kind(v) == JV_KIND_ARRAY) {
		int m = jv_array_length(jv_copy(v));

		for (int j = 0; j < m; j++) {
			jv h = jv_array_get(jv_copy(v), j);

			if (jv_get_kind(h) == JV_KIND_STRING &&
			    bk_unhex(jv_string_value(h), id) == 0) {
				bk_hex(id, hex);
				if (strcasecmp(hex, jv_string_value(h)) != 0)
					__builtin_trap();
			}
			jv_free(h);
		}
	}
	jv_free(v);

	/* Validation before any system call; dirfd -1 makes every call
	 * fail. Only with a name checked above: never a path. */
	sov_err_clear(&e);
	if (bk_node_create(-1, nd, i & 1, &e) == 0) {
		if (strcmp(type, "socket") != 0)
			__builtin_trap();
	} else {
		check_err(&e, 0);
	}
	sov_err_clear(&e);
	if (bk_node_apply_meta(-1, nd, metas[i % 3], &e) == 0) {
		if (strcmp(type, "socket") != 0)
			__builtin_trap();
	} else {
		check_err(&e, 0);
	}
	free(name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char id[BK_ID_LEN], pack_id[BK_ID_LEN];
	char pack[BK_NAME_MAX], hex[BK_ID_HEX_LEN], want[64];
	struct bk_pack_entry en;
	struct sov_err e, e2;
	jv nodes, t;
	int n;

	if (!repo)
		setup();
	if (size > BK_TREE_MAX)
		return 0;
	/* Pack and index the tree blob as the saver does. */
	bk_packer_reset(&packer);
	bk_tree_id(repo->keys, data, size, id);
	if (bk_packer_add(&packer, repo->keys, BK_BLOB_TREE, id, data, size, 1,
			  &en, &e) < 0 ||
	    bk_packer_finish(&packer, repo->keys, pack_id, &e) < 0)
		__builtin_trap();
	bk_pack_name(pack_id, pack);
	if (bk_put(repo->be, pack, packer.buf, packer.len, &e) < 0 ||
	    !(repo->idx = bk_index_new(&e)) ||
	    bk_index_add(repo->idx, &en, bk_index_pack(repo->idx, pack_id),
			 &e) < 0)
		__builtin_trap();

	sov_err_clear(&e);
	nodes = bk_repo_read_tree(repo, id, &e);
	bk_index_free(repo->idx);
	repo->idx = NULL;
	if (bk_remove(repo->be, pack, &e) < 0)
		__builtin_trap();

	/* What the tree should be: the input's "nodes" array. */
	t = sov_json_parse((const char *)data, size, &e2);
	t = jv_get_kind(t) == JV_KIND_OBJECT
		? jv_object_get(t, jv_string("nodes"))
		: (jv_free(t), jv_invalid());
	if (!jv_is_valid(nodes)) {
		bk_hex(id, hex);
		n = snprintf(want, sizeof(want), "tree %.16s: ", hex);
		if (n < 0 || (size_t)n >= sizeof(want) ||
		    strncmp(e.msg, want, strlen(want)) != 0 ||
		    jv_get_kind(t) == JV_KIND_ARRAY)
			__builtin_trap();
		jv_free(nodes);
		jv_free(t);
		return 0;
	}
	if (jv_get_kind(nodes) != JV_KIND_ARRAY || !jv_equal(jv_copy(nodes), t))
		__builtin_trap();
	n = jv_array_length(jv_copy(nodes));
	for (int i = 0; i < n; i++) {
		jv nd = jv_array_get(jv_copy(nodes), i);

		check_node(nd, i);
		jv_free(nd);
	}
	jv_free(nodes);
	return 0;
}
