/*
 * walk.h - what `sov-backup backup` saves and how: the tree of targets
 * (PATHs, database sources, the directories on the way to them) and the
 * walk that turns files into chunks and directories into tree blobs.
 *
 *   cmd_backup.c  the command: options, sources, parent, snapshot
 *   targets.c     the target tree, from "/" down to every PATH and source
 *   walk.c        directories, entries, the parent snapshot's nodes
 *   walk_list.c   a directory's entries: names, excludes, stats, the sum
 *   walk_file.c   a file's content: chunks, or the parent's chunk list
 *   walk_tree.c   a directory's tree, made once the workers are done
 *   dirahead.c    the next directories and parent trees, read ahead
 */
#ifndef BK_WALK_H
#define BK_WALK_H

#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <jv.h>

#include "chunker.h"
#include "crypto.h"
#include "err.h"
#include "repo.h"
#include "saver.h"
#include "source.h"

#define MAX_EXCLUDES 1024
/*
 * Bytes asked of read() at a time. A cut is looked for in what has been
 * read, and only when there is none yet is more read: the part of the
 * buffer in use stays near a chunk and a read, a few MiB, where reading a
 * largest chunk (8 MiB) ahead of every cut kept all 16 MiB of the buffer
 * resident, a quarter of a backup's peak memory.
 */
#define BK_WALK_READ_STEP (2u << 20)
#define MAX_TARGETS 256

enum target_kind { T_DIR, T_PATH, T_SQLITE, T_STREAM };

/* The tree of what to save: every PATH and source, and the directories on
 * the way to them. */
struct bk_prefetch;
struct bk_dirahead;
struct bk_dircache;
struct bk_walk_pending;
struct bk_walk_dirend;

struct target {
	char *name;
	enum target_kind kind;
	int fd;        /* T_STREAM, T_SQLITE: the bytes to save */
	char *srcpath; /* T_PATH, T_SQLITE, T_DIR: the real path, or NULL */
	const char *source;    /* "sqlite", "postgres", "stdin" */
	struct bk_child child; /* postgres */
	struct target **kids;
	size_t nkids;
};

struct bk_walk {
	struct bk_repo *r;
	struct bk_saver *sv;
	struct bk_prefetch *pf; /* or NULL */
	struct bk_dirahead *da; /* or NULL */
	struct bk_dircache *dc; /* or NULL: the last run's directories, and
				   this run's */
	struct bk_chunker ck_files, ck_pages;
	const char *excludes[MAX_EXCLUDES];
	size_t nexcludes;
	int one_fs;
	int atime; /* --atime: keep access times in the nodes */
	dev_t dev; /* of the PATH being walked, for --one-file-system */
	dev_t repo_dev;
	ino_t repo_ino;
	int have_repo_stat;
	unsigned char *buf;
	size_t bufcap;
	/* nodes whose last field is on its way, and directories whose
	 * trees are made when it is in (walk_tree.c) */
	struct bk_walk_pending **pend;
	size_t npend, cappend;
	struct bk_walk_dirend *ends;
	int stopped; /* after an error: nothing pending is made */
	uint64_t files, dirs, bytes_read, warnings, vanished, unchanged;
	int64_t last_progress;
	int progress;
	struct target *root;
	/* SQLite sources by path, so a walk meeting one saves the copy */
	struct target *sqlite[MAX_TARGETS];
	size_t nsqlite;
	struct target *loose[MAX_TARGETS]; /* sources inside a PATH */
	size_t nloose;
};

/* walk_list.c */
/*
 * The entries of d but "." and "..", sorted by name, each a C string with
 * readdir's d_type in the byte after its NUL (malloc'ed, freed by
 * bk_walk_free_names). -1 with errno set (ENOMEM, or readdir's).
 */
int bk_walk_read_names(DIR *d, char ***names, size_t *n);
void bk_walk_free_names(char **names, size_t n);
/* Whether --exclude leaves out path (name its last component); safe from
 * any thread while the excludes do not change. */
int bk_walk_excluded(const struct bk_walk *c, const char *path,
		     const char *name);
/* The --sqlite source at path, or NULL. */
struct target *bk_walk_sqlite_source(const struct bk_walk *c, const char *path);

/* What the walk does with an entry. */
enum {
	BK_ENTRY_SAVE,          /* st holds its lstat */
	BK_ENTRY_SAVE_UNSTATED, /* its lstat failed: its save says why */
	BK_ENTRY_SKIP,          /* excluded, an SQLite companion, the repo */
	BK_ENTRY_TOO_LONG,      /* its path is over PATH_MAX: a warning */
};
struct bk_walk_list {
	char **names; /* bk_walk_read_names' */
	size_t n;
	unsigned char *what; /* BK_ENTRY_* */
	struct stat *st;
	/* the listing's sum (dircache.h): every saved entry's name and
	 * stat; summed is 0 when an entry could not be stat'ed or its path
	 * is too long, or one is an SQLite source */
	unsigned char sum[16]; /* BK_DIRSUM_LEN */
	int summed;
};
/* List the directory open as d (path for messages): -1 with e set when it
 * cannot be read. Safe from any thread while c's excludes and sources do
 * not change (the read-ahead lists too). */
int bk_walk_list(const struct bk_walk *c, DIR *d, const char *path,
		 struct bk_walk_list *l, struct sov_err *e);
void bk_walk_list_free(struct bk_walk_list *l);

/* walk.c */
void bk_walk_progress(struct bk_walk *c, int final);
/* bk_node_from_entry, without the access time unless --atime. */
jv bk_walk_node(struct bk_walk *c, int dirfd, const char *name,
		const char *path, int *gone, struct sov_err *e);
/* The parent tree's nodes as an object by name (consumes nodes). */
jv bk_walk_by_name(jv nodes);
jv bk_walk_parent_node(jv pmap, const char *name);
jv bk_walk_parent_subtree(struct bk_walk *c, jv pnode);
int bk_walk_save_entry(struct bk_walk *c, int dirfd, const char *name,
		       const char *path, jv pnodes, jv *nodes,
		       struct sov_err *e);
/* phex: the parent snapshot's tree of this directory (or NULL), reused
 * as it is when every entry's node comes out the same. hex is set on
 * return. */
int bk_walk_save_dir(struct bk_walk *c, int fd, const char *path, jv pnodes,
		     const char *phex, char hex[BK_ID_HEX_LEN],
		     struct sov_err *e);

/* walk_tree.c */
/*
 * A node still waiting for its last field: a file's content (its chunks'
 * ids, appended as the workers hash them), or a subdirectory's tree id
 * (written into hex when that directory's tree is made). idx is the
 * node's place in its directory's nodes.
 */
struct bk_walk_pending {
	size_t idx;
	int dir;
	jv content;
	char hex[BK_ID_HEX_LEN];
};
int bk_walk_push_pending(struct bk_walk *c, struct bk_walk_pending *p,
			 struct sov_err *e);
/*
 * mark is c->npend when a directory began. bk_walk_settle waits for the
 * workers and completes the nodes pending above mark. On an error path,
 * bk_walk_discard drops what is pending above mark (with mark 0, every
 * directory whose tree was still to be made) and stops the walk: nothing
 * pending is made any more.
 */
int bk_walk_settle(struct bk_walk *c, size_t mark, jv *nodes,
		   struct sov_err *e);
void bk_walk_discard(struct bk_walk *c, size_t mark);
/* An error path's stop: the ids still on their way are delivered (so the
 * caller may free what they fill), no pending tree is made any more. */
void bk_walk_stop(struct bk_walk *c);
/*
 * The directory at path is walked: its nodes (consumed), with what is
 * pending above mark, become its tree once the workers are done with it,
 * without waiting: hex is written then, at the latest by the next
 * bk_saver_drain, and the tree recorded in the cache of directories
 * (with sum, when not NULL). pnodes (consumed) and phex: as for
 * bk_walk_save_dir. hex must stay valid until then.
 */
int bk_walk_end_dir(struct bk_walk *c, size_t mark, jv nodes, jv pnodes,
		    const char *phex, const char *path,
		    const unsigned char *sum, char hex[BK_ID_HEX_LEN],
		    struct sov_err *e);
/* The tree of nodes (consumed), now. */
int bk_walk_save_tree(struct bk_walk *c, jv nodes, char hex[BK_ID_HEX_LEN],
		      struct sov_err *e);
/* Record the tree saved for path (hex) in the cache of directories, with
 * its listing's sum when it may be trusted next time (else NULL). */
int bk_walk_cache_add(struct bk_walk *c, const char *path,
		      const unsigned char *sum, const char *hex,
		      struct sov_err *e);

/* walk_file.c */
/* A parent node's content when every chunk of it is still in the index,
 * else invalid. */
jv bk_walk_indexed_content(struct bk_walk *c, jv pnode);
/* 1 when the file is unchanged since the parent snapshot: its node, with
 * the parent's content, appended to nodes (*node consumed). 0 when it
 * must be read (*node kept). */
int bk_walk_save_unchanged(struct bk_walk *c, jv *node, jv pnode, jv *nodes);
/* A file's node with its content (consumes node and pnode, the parent
 * snapshot's node or invalid) appended to nodes. */
int bk_walk_save_file_node(struct bk_walk *c, int fd, jv node, jv pnode,
			   const char *path, int pages, jv *nodes,
			   struct sov_err *e);

/* targets.c */
struct target *bk_target_new(const char *name, enum target_kind kind);
void bk_target_free(struct target *t);
struct target *bk_target_add(struct target *root, const char *abspath,
			     enum target_kind kind, struct sov_err *e);
int bk_target_save_kids(struct bk_walk *c, struct target *t, jv pnodes,
			char hex[BK_ID_HEX_LEN], struct sov_err *e);

#endif
