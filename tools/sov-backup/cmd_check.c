/*
 * cmd_check.c - `sov-backup check`: the repository's structure, and with
 * --read-data every byte of it.
 *
 * Structure: every index file opens; every pack the index names exists
 * and is long enough; every snapshot opens; every tree reachable from a
 * snapshot opens and every chunk it names is in the index. --read-data
 * (or a subset of packs) also reads packs: the name matches the bytes, the
 * header opens and agrees with the index, every blob decrypts and matches
 * its id. Problems are records {"event":"error"}; the exit code is 1 when
 * there is any.
 */
#include <getopt.h>
#include <pthread.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "backup.h"
#include "cli.h"
#include "jsonl.h"
#include "lock.h"
#include "node.h"

struct cctx {
	struct bk_repo *r;
	struct bk_index *seen_trees;
	uint64_t errors, trees, blobs_checked, packs_read, bytes_read;
	struct sov_err *e; /* fatal: output failed */
	int fatal;
	pthread_mutex_t mu; /* --read-data threads: output and counters */
	uint32_t *to_read;  /* pack numbers, and the next one to take */
	size_t nto_read, next;
};

static void
problem(struct cctx *c, const char *kind, const char *msg)
{
	jv rec;

	pthread_mutex_lock(&c->mu);
	rec = sov_record_new("error");
	c->errors++;
	rec = jv_object_set(rec, jv_string("kind"), jv_string(kind));
	rec = jv_object_set(rec, jv_string("message"), jv_string(msg));
	if (bk_emit(rec, c->e) < 0)
		c->fatal = 1;
	pthread_mutex_unlock(&c->mu);
}

static void
check_tree(struct cctx *c, const unsigned char id[BK_ID_LEN], int depth)
{
	struct sov_err e = {0};
	struct bk_pack_entry en;
	jv nodes;
	int n;

	if (c->fatal || bk_index_get(c->seen_trees, id))
		return;
	memset(&en, 0, sizeof(en));
	memcpy(en.id, id, BK_ID_LEN);
	if (bk_index_add(c->seen_trees, &en, 0, &e) < 0) {
		problem(c, "memory", e.msg);
		return;
	}
	if (depth > 512) {
		problem(c, "tree", "trees nested too deep");
		return;
	}
	c->trees++;
	nodes = bk_repo_read_tree(c->r, id, &e);
	if (!jv_is_valid(nodes)) {
		jv_free(nodes);
		problem(c, "tree", e.msg);
		return;
	}
	n = jv_array_length(jv_copy(nodes));
	for (int i = 0; i < n && !c->fatal; i++) {
		jv nd = jv_array_get(jv_copy(nodes), i);
		char *nm = bk_node_name(nd, &e);
		const char *type = bk_node_type(nd);
		unsigned char sub[BK_ID_LEN];

		if (!nm) {
			problem(c, "tree", e.msg);
		} else if (strcmp(type, "dir") == 0) {
			if (bk_node_id(nd, "subtree", sub, &e) < 0)
				problem(c, "tree", e.msg);
			else
				check_tree(c, sub, depth + 1);
		} else if (strcmp(type, "file") == 0) {
			jv ct =
			    jv_object_get(jv_copy(nd), jv_string("content"));
			int m = jv_get_kind(ct) == JV_KIND_ARRAY
				    ? jv_array_length(jv_copy(ct))
				    : -1;
			char msg[SOV_ERR_MSG_MAX];

			if (m < 0) {
				snprintf(msg, sizeof(msg),
					 "file %s: no content list", nm);
				problem(c, "tree", msg);
			}
			for (int j = 0; j < m && !c->fatal; j++) {
				jv h = jv_array_get(jv_copy(ct), j);
				const struct bk_blob *b = NULL;

				if (jv_get_kind(h) == JV_KIND_STRING &&
				    bk_unhex(jv_string_value(h), sub) == 0)
					b = bk_index_get(c->r->idx, sub);
				if (!b || b->en.type != BK_BLOB_DATA) {
					snprintf(msg, sizeof(msg),
						 "file %s: chunk %d (%.16s) is "
						 "missing from the repository",
						 nm, j,
						 jv_get_kind(h) ==
							 JV_KIND_STRING
						     ? jv_string_value(h)
						     : "?");
					problem(c, "missing", msg);
				}
				jv_free(h);
			}
			jv_free(ct);
		}
		free(nm);
		jv_free(nd);
	}
	jv_free(nodes);
}

/* The packs in data/, as a set of ids whose entry offset is the position
 * of its size in files.sizes. */
static int
present_packs(struct bk_repo *r, struct bk_names *files,
	      struct bk_index *present, struct sov_err *e)
{
	if (bk_repo_list(r, "data", files, e) < 0)
		return -1;
	for (size_t i = 0; i < files->n; i++) {
		struct bk_pack_entry en;

		memset(&en, 0, sizeof(en));
		if (bk_unhex(strrchr(files->names[i], '/') + 1, en.id) < 0)
			continue;
		en.offset = (uint32_t)i;
		if (bk_index_add(present, &en, 0, e) < 0)
			return -1;
	}
	return 0;
}

/* Pieces in which bytes outside any blob are read and hashed. */
#define PIECE (1u << 20)

/*
 * Read [off, off + len) of name into *buf (grown as needed). -1 with e set
 * when it cannot be read.
 */
static int
read_piece(struct cctx *c, const char *name, uint64_t off, size_t len,
	   unsigned char **buf, size_t *cap, struct sov_err *e)
{
	if (len > *cap) {
		unsigned char *nb = realloc(*buf, len);

		if (!nb)
			return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", name);
		*buf = nb;
		*cap = len;
	}
	if (len && bk_get_range(c->r->be, name, off, len, *buf, e) < 0)
		return -1;
	pthread_mutex_lock(&c->mu);
	c->bytes_read += len;
	pthread_mutex_unlock(&c->mu);
	return 0;
}

/* Hash [from, to) of name in pieces (bytes no blob covers). */
static int
hash_span(struct cctx *c, const char *name, uint64_t from, uint64_t to,
	  unsigned char **buf, size_t *cap, bk_storage_hash *h,
	  struct sov_err *e)
{
	while (from < to) {
		size_t n = to - from < PIECE ? (size_t)(to - from) : PIECE;

		if (read_piece(c, name, from, n, buf, cap, e) < 0)
			return -1;
		bk_storage_hash_update(h, *buf, n);
		from += n;
	}
	return 0;
}

static void
check_entry(struct cctx *c, uint32_t pn, const char *name, uint32_t i,
	    const struct bk_pack_entry *en, const unsigned char *sealed)
{
	const struct bk_blob *b = bk_index_get(c->r->idx, en->id);
	struct sov_err e = {0};
	unsigned char *data = NULL;
	char what[BK_NAME_MAX + 64], msg[SOV_ERR_MSG_MAX];

	snprintf(what, sizeof(what), "%s: blob %u", name, i);
	if (b && b->pack == pn &&
	    (b->en.offset != en->offset || b->en.length != en->length ||
	     b->en.raw != en->raw || b->en.type != en->type)) {
		snprintf(msg, sizeof(msg),
			 "%s: the pack header and the index disagree", what);
		problem(c, "index", msg);
	}
	if (bk_blob_open(c->r->keys, en, sealed, &data, what, &e) < 0) {
		problem(c, "blob", e.msg);
	} else {
		pthread_mutex_lock(&c->mu);
		c->blobs_checked++;
		pthread_mutex_unlock(&c->mu);
	}
	free(data);
}

/*
 * One pack, streamed: its header from the end, then each blob in order
 * (read, its nonce and tag hashed, opened and verified), the bytes between
 * and after them hashed in pieces, so a thread holds one blob rather than
 * a pack. The hash of that skeleton must equal the pack's name
 * (bk_pack_hash_blob); a blob's ciphertext is verified by opening it.
 */
static int
read_pack(struct cctx *c, uint32_t pn)
{
	struct sov_err e = {0}, he = {0};
	const unsigned char *pid = bk_index_pack_id(c->r->idx, pn);
	char name[BK_NAME_MAX], msg[SOV_ERR_MSG_MAX];
	unsigned char *buf = NULL, got[BK_ID_LEN];
	struct bk_pack_entry *ents = NULL;
	bk_storage_hash h;
	uint64_t size = 0, pos = 0;
	size_t cap = 0;
	uint32_t n = 0, i;
	int exists = 0, header_ok;

	bk_pack_name(pid, name);
	if (bk_stat(c->r->be, name, &size, &exists, &e) < 0 || !exists) {
		if (!exists && !e.msg[0])
			snprintf(e.msg, sizeof(e.msg), "%s: missing", name);
		problem(c, "pack", e.msg);
		return 0;
	}
	pthread_mutex_lock(&c->mu);
	c->packs_read++;
	pthread_mutex_unlock(&c->mu);
	header_ok = bk_repo_pack_header(c->r, name, size, &ents, &n, &he) == 0;
	bk_storage_hash_init(&h);
	for (i = 0; i < n && !c->fatal; i++) {
		if (hash_span(c, name, pos, ents[i].offset, &buf, &cap, &h,
			      &e) < 0 ||
		    read_piece(c, name, ents[i].offset, ents[i].length, &buf,
			       &cap, &e) < 0)
			break;
		bk_pack_hash_blob(&h, buf, ents[i].length);
		check_entry(c, pn, name, i, &ents[i], buf);
		pos = (uint64_t)ents[i].offset + ents[i].length;
	}
	if (!e.msg[0] && !c->fatal)
		hash_span(c, name, pos, size, &buf, &cap, &h, &e);
	if (e.msg[0]) {
		problem(c, "pack", e.msg);
	} else if (!c->fatal) {
		bk_storage_hash_final(&h, got);
		if (memcmp(got, pid, BK_ID_LEN) != 0) {
			snprintf(msg, sizeof(msg),
				 "%s: content does not match its name "
				 "(changed or damaged)",
				 name);
			problem(c, "pack", msg);
		}
	}
	if (!header_ok)
		problem(c, "pack", he.msg);
	free(ents);
	free(buf);
	return 0;
}

/* A --read-data thread: take the next pack until none is left. */
static void *
reader(void *arg)
{
	struct cctx *c = arg;

	for (;;) {
		uint32_t p;

		pthread_mutex_lock(&c->mu);
		if (c->next >= c->nto_read || c->fatal) {
			pthread_mutex_unlock(&c->mu);
			return NULL;
		}
		p = c->to_read[c->next++];
		pthread_mutex_unlock(&c->mu);
		read_pack(c, p);
	}
}

/* Read the chosen packs with one thread per core: each pack is read,
 * hashed, and every blob decrypted, decompressed and verified. */
static void
read_packs(struct cctx *c)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t th[64];
	int n = ncpu < 1 ? 1 : ncpu > 64 ? 64 : (int)ncpu, started = 0;

	for (int i = 0; i < n; i++)
		if (pthread_create(&th[started], NULL, reader, c) == 0)
			started++;
	if (started == 0)
		reader(c);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

static int
parse_subset(const char *s, double *pct, long *num, long *den)
{
	char *end;

	*pct = 0;
	*num = *den = 0;
	if (strchr(s, '/')) {
		*num = strtol(s, &end, 10);
		if (*end != '/')
			return -1;
		*den = strtol(end + 1, &end, 10);
		return *end || *den < 1 || *num < 1 || *num > *den ? -1 : 0;
	}
	*pct = strtod(s, &end);
	return strcmp(end, "%") != 0 || !(*pct > 0 && *pct <= 100) ? -1 : 0;
}

int
bk_cmd_check(int argc, char **argv)
{
	static const struct option lo[] = {
	    BK_COMMON_LONGOPTS,
	    {"read-data", no_argument, NULL, 'r'},
	    {"read-data-subset", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	struct bk_common co = {.lock_wait_s = 60};
	struct cctx c;
	struct sov_err e = {0};
	struct bk_lock *lock = NULL;
	struct bk_names packfiles = {0};
	struct bk_index *present = NULL;
	const char *subset = NULL;
	double pct = 0;
	long num = 0, den = 0;
	int read_data = 0, opt, rc = SOV_EXIT_FAIL;
	jv snaps = jv_invalid(), rec;

	memset(&c, 0, sizeof(c));
	c.e = &e;
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		int k = bk_common_opt(&co, opt, optarg);

		if (k < 0)
			return SOV_EXIT_USAGE;
		if (k)
			continue;
		if (opt == 'r')
			read_data = 1;
		else if (opt == 's')
			subset = optarg;
		else
			return sov_cli_usage_error("unknown option");
	}
	if (optind != argc)
		return sov_cli_usage_error("check takes no arguments");
	if (subset && parse_subset(subset, &pct, &num, &den) < 0)
		return sov_cli_usage_error(
		    "--read-data-subset %s: want PERCENT%% (e.g. 5%%) or N/M "
		    "(e.g. 1/7)",
		    subset);
	pthread_mutex_init(&c.mu, NULL);
	c.r = bk_open(&co, &e);
	if (!c.r)
		goto fail;
	lock = bk_lock_acquire(c.r->be, 0, "check", co.lock_wait_s * 1000, &e);
	if (!lock)
		goto fail;
	c.seen_trees = bk_index_new(&e);
	present = bk_index_new(&e);
	if (!c.seen_trees || !present)
		goto fail;
	if (bk_repo_load_index(c.r, &e) < 0) {
		/* Nothing else can be checked without the index. */
		problem(&c, "index", e.msg);
		goto summary;
	}
	if (present_packs(c.r, &packfiles, present, &e) < 0)
		goto fail;
	{
		/* The furthest byte each pack must have, from the index. */
		uint32_t np = bk_index_npacks(c.r->idx);
		uint64_t *need = calloc(np ? np : 1, sizeof(*need));
		char msg[SOV_ERR_MSG_MAX], name[BK_NAME_MAX];
		/* PERCENT%: that share of packs, at least one, a random
		 * contiguous run of pack numbers (a different one each time) */
		uint32_t pick = (uint32_t)((double)np * pct / 100.0 + 0.999999);
		uint32_t start = np ? randombytes_uniform(np) : 0;

		if (pick < 1)
			pick = 1;

		c.to_read = calloc(np ? np : 1, sizeof(*c.to_read));
		if (!need || !c.to_read) {
			free(need);
			sov_err_sys(&e, SOV_EXIT_TEMPFAIL, "check");
			goto fail;
		}
		for (size_t i = 0; i < bk_index_count(c.r->idx); i++) {
			const struct bk_blob *b = bk_index_at(c.r->idx, i);
			uint64_t end = (uint64_t)b->en.offset + b->en.length;

			if (end > need[b->pack])
				need[b->pack] = end;
		}
		for (uint32_t p = 0; p < np && !c.fatal; p++) {
			const struct bk_blob *have = bk_index_get(
			    present, bk_index_pack_id(c.r->idx, p));

			bk_pack_name(bk_index_pack_id(c.r->idx, p), name);
			if (!have) {
				snprintf(msg, sizeof(msg),
					 "%s: missing (the index lists it)",
					 name);
				problem(&c, "pack", msg);
			} else if (packfiles.sizes[have->en.offset] <
				   need[p] + 4) {
				snprintf(msg, sizeof(msg),
					 "%s: truncated (%llu bytes)", name,
					 (unsigned long long)
					     packfiles.sizes[have->en.offset]);
				problem(&c, "pack", msg);
			} else if (read_data ||
				   (subset &&
				    (den ? (long)(p % (uint32_t)den) == num - 1
					 : (p + start) % np < pick))) {
				c.to_read[c.nto_read++] = p;
			}
		}
		free(need);
		read_packs(&c);
	}
	snaps = bk_repo_snapshots(c.r, &e);
	if (!jv_is_valid(snaps)) {
		problem(&c, "snapshot", e.msg);
	} else {
		int n = jv_array_length(jv_copy(snaps));

		for (int i = 0; i < n && !c.fatal; i++) {
			jv s = jv_array_get(jv_copy(snaps), i);
			unsigned char tid[BK_ID_LEN];

			if (bk_node_id(s, "tree", tid, &e) < 0)
				problem(&c, "snapshot", e.msg);
			else
				check_tree(&c, tid, 0);
			jv_free(s);
		}
	}
summary:
	if (c.fatal)
		goto fail;
	rec = sov_record_new("summary");
	rec = jv_object_set(rec, jv_string("errors"),
			    jv_number((double)c.errors));
	rec = jv_object_set(rec, jv_string("snapshots"),
			    jv_is_valid(snaps)
				? jv_number(jv_array_length(jv_copy(snaps)))
				: jv_null());
	rec =
	    jv_object_set(rec, jv_string("trees"), jv_number((double)c.trees));
	rec = jv_object_set(rec, jv_string("blobs"),
			    jv_number((double)bk_index_count(c.r->idx)));
	rec = jv_object_set(rec, jv_string("packs"),
			    jv_number(bk_index_npacks(c.r->idx)));
	rec = jv_object_set(rec, jv_string("packs_read"),
			    jv_number((double)c.packs_read));
	rec = jv_object_set(rec, jv_string("blobs_verified"),
			    jv_number((double)c.blobs_checked));
	rec = jv_object_set(rec, jv_string("bytes_read"),
			    jv_number((double)c.bytes_read));
	if (bk_emit(rec, &e) < 0 || bk_emit_close(&e) < 0)
		goto fail;
	if (c.errors)
		sov_cli_warn("%llu problems found",
			     (unsigned long long)c.errors);
	rc = c.errors ? SOV_EXIT_FAIL : SOV_EXIT_OK;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	free(c.to_read);
	pthread_mutex_destroy(&c.mu);
	jv_free(snaps);
	bk_index_free(c.seen_trees);
	bk_index_free(present);
	bk_names_free(&packfiles);
	bk_lock_release(lock, NULL);
	bk_repo_close(c.r);
	return rc;
}
