/*
 * repo.h - an open repository: backend, keys, config, index; reading and
 * writing blobs, index files and snapshots.
 */
#ifndef BK_REPO_H
#define BK_REPO_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "backend.h"
#include "chunker.h"
#include "crypto.h"
#include "err.h"
#include "index.h"
#include "pack.h"

#define BK_FORMAT_VERSION 3
/*
 * zstd level of new blobs unless --compression says otherwise. The 1 GiB
 * bench corpus compressed blob by blob (whole files up to 1 MiB, larger
 * ones in 1 MiB pieces; the 88 bytes of seal and pack header per blob
 * counted):
 *
 *   blobs          raw MB   level 2          level 3          level 4
 *   up to 16 KiB     94.8   41.69 MB 0.43 s  40.95 MB 0.48 s  40.18 MB 0.75 s
 *   up to 128 KiB   201.2   68.50 MB 0.58 s  66.85 MB 0.65 s  66.41 MB 0.69 s
 *   up to 256 KiB    40.9   17.19 MB 0.11 s  17.07 MB 0.12 s  16.74 MB 0.22 s
 *   larger          567.4  328.57 MB 1.13 s 326.05 MB 1.52 s 326.03 MB 1.94 s
 *
 * Level 3 saves 2.5 MB on the small blobs for 0.13 s of CPU, and another
 * 2.5 MB on the rest for 0.39 s. Until format version 3 only the small
 * ones got it (level 2 above 256 KiB): the CPU was spent hashing every
 * pack byte. Cold initial backups of the corpus, alternated, 3 rounds
 * (2026-11-24): that split with whole-pack names 5.29-6.31 s and
 * 441.9-444.2 MB; skeleton names with the split 5.01-5.10 s and
 * 442.3-443.1 MB; skeleton names with level 3 for all 5.12-5.83 s and
 * 439.2-441.5 MB.
 */
#define BK_ZSTD_LEVEL 3
#define BK_CONFIG_MAX (64u << 10)
#define BK_SNAPSHOT_MAX (16u << 20)
#define BK_TREE_MAX (BK_BLOB_MAX)

struct bk_repo {
	struct bk_backend *be;
	struct bk_keys *keys;
	jv config;
	char key_name[BK_NAME_MAX]; /* "keys/ID" that opened it */
	struct bk_chunk_params files, pages;
	struct bk_index *idx;
	int index_loaded;
	unsigned char (*index_files)[BK_ID_LEN]; /* loaded, not superseded,
						  and written */
	size_t nindex_files;
	int zstd_level; /* of new blobs; 0 stores them raw */
};

/* The repository password: --password-file FILE, else
 * $CREDENTIALS_DIRECTORY/password. */
struct sov_secret;
int bk_password_load(const char *file, struct sov_secret *out,
		     struct sov_err *e);

/* Create a repository with a new master key wrapped under password. */
struct bk_repo *bk_repo_init(const char *location,
			     const unsigned char *password, size_t pwlen,
			     struct sov_err *e);

/* Open: find the key file the password unlocks, read the config. */
struct bk_repo *bk_repo_open(const char *location,
			     const unsigned char *password, size_t pwlen,
			     struct sov_err *e);
void bk_repo_close(struct bk_repo *r);

/* Load every index file (once); superseded ones are skipped. */
int bk_repo_load_index(struct bk_repo *r, struct sov_err *e);

/* Read one index file (its name checked against id) through a visitor,
 * appending the ids it supersedes to *sup (index.h). */
int bk_repo_visit_index_file(struct bk_repo *r, const char *name,
			     const unsigned char id[BK_ID_LEN],
			     const struct bk_index_visitor *v,
			     unsigned char (**sup)[BK_ID_LEN], size_t *nsup,
			     struct sov_err *e);

/* Every object under dir ("data", "index", ...) with its size, sorted by
 * name. A failed listing (out of memory too) is an error. */
struct bk_names {
	char (*names)[BK_NAME_MAX];
	uint64_t *sizes;
	size_t n, cap;
};
int bk_repo_list(struct bk_repo *r, const char *dir, struct bk_names *l,
		 struct sov_err *e);
void bk_names_free(struct bk_names *l);

/* "data/ab/abcd..." for a pack id. */
void bk_pack_name(const unsigned char id[BK_ID_LEN], char name[BK_NAME_MAX]);

/*
 * A packer writing straight into a new object under data/: set
 * bk_pack_out_sink with the bk_pack_out as its argument; the object is
 * opened at the first byte. bk_pack_out_commit finishes the pack, names
 * it, fills *pi (ents malloc'ed, the caller frees) and resets the packer;
 * bk_pack_out_abort removes a pack left half-written.
 */
struct bk_pack_out {
	struct bk_backend *be;
	struct bk_writer *w;
};
int bk_pack_out_sink(void *arg, const void *data, size_t len,
		     struct sov_err *e);
int bk_pack_out_commit(struct bk_repo *r, struct bk_packer *p,
		       struct bk_pack_out *o, struct bk_pack_info *pi,
		       struct sov_err *e);
void bk_pack_out_abort(struct bk_pack_out *o);

/* Read, open and verify the blob of entry en in pack. *out malloc'ed. */
int bk_repo_read_entry(struct bk_repo *r, const unsigned char pack[BK_ID_LEN],
		       const struct bk_pack_entry *en, int type,
		       unsigned char **out, size_t *len, struct sov_err *e);

/* Read, open and verify one blob by id (index loaded). *out malloc'ed. */
int bk_repo_read_blob(struct bk_repo *r, const unsigned char id[BK_ID_LEN],
		      int type, unsigned char **out, size_t *len,
		      struct sov_err *e);

/* Seal, name by storage id and put an object under dir ("snapshots", ...);
 * the id in id_out. */
int bk_repo_put_sealed(struct bk_repo *r, const char *dir, const char *ad,
		       const void *plain, size_t len,
		       unsigned char id_out[BK_ID_LEN], struct sov_err *e);

/* Get and unseal dir/hexid; checks the name against the bytes. */
int bk_repo_get_sealed(struct bk_repo *r, const char *name, const char *ad,
		       size_t max, unsigned char **out, size_t *len,
		       struct sov_err *e);

/* Write an index file of these packs (and superseded index ids). */
int bk_repo_put_index(struct bk_repo *r, const struct bk_pack_info *packs,
		      size_t n, const unsigned char (*sup)[BK_ID_LEN],
		      size_t nsup, struct sov_err *e);

/* The same, and add the packs to the in-memory index. */
int bk_repo_write_index(struct bk_repo *r, const struct bk_pack_info *packs,
			size_t n, const unsigned char (*sup)[BK_ID_LEN],
			size_t nsup, struct sov_err *e);

/* Snapshots: save (sealed JSON), and every snapshot as an array of the
 * snapshot objects with "id" added, oldest first. */
int bk_repo_save_snapshot(struct bk_repo *r, jv snap,
			  unsigned char id_out[BK_ID_LEN], struct sov_err *e);
jv bk_repo_snapshots(struct bk_repo *r, struct sov_err *e);

/* One snapshot by "latest", a full id or a unique prefix (>= 4 hex). */
jv bk_repo_find_snapshot(struct bk_repo *r, const char *which,
			 struct sov_err *e);
/* The same within an array bk_repo_snapshots returned (consumed), so a
 * command naming two snapshots lists the repository once. */
jv bk_snapshot_pick(jv all, const char *which, struct sov_err *e);

/* The entries of the pack name (size bytes) from its sealed header at
 * the end, read with one or two ranged reads; *ents malloc'ed. -1 with e
 * set when it cannot be read or does not open. */
int bk_repo_pack_header(struct bk_repo *r, const char *name, uint64_t size,
			struct bk_pack_entry **ents, uint32_t *n,
			struct sov_err *e);

/* A tree blob's nodes (array), validated. */
jv bk_repo_read_tree(struct bk_repo *r, const unsigned char id[BK_ID_LEN],
		     struct sov_err *e);
/* The same, from its entry in pack (no index needed). */
jv bk_repo_read_tree_at(struct bk_repo *r, const unsigned char pack[BK_ID_LEN],
			const struct bk_pack_entry *en, struct sov_err *e);

#endif
