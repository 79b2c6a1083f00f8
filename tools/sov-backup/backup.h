/*
 * backup.h - the commands of sov-backup (one file each) and what they share.
 */
#ifndef BK_BACKUP_H
#define BK_BACKUP_H

#include <stdio.h>

#include <jv.h>

#include "err.h"
#include "repo.h"

int bk_cmd_init(int argc, char **argv);
int bk_cmd_backup(int argc, char **argv);
int bk_cmd_snapshots(int argc, char **argv);
int bk_cmd_ls(int argc, char **argv);
int bk_cmd_restore(int argc, char **argv);
int bk_cmd_dump(int argc, char **argv);
int bk_cmd_check(int argc, char **argv);
int bk_cmd_key(int argc, char **argv);
int bk_cmd_forget(int argc, char **argv);
int bk_cmd_unlock(int argc, char **argv);
int bk_cmd_prune(int argc, char **argv);
int bk_cmd_diff(int argc, char **argv);
int bk_cmd_stats(int argc, char **argv);
int bk_cmd_repair(int argc, char **argv);

/* Options every command that opens a repository takes. */
struct bk_common {
	const char *repo;          /* --repo, else $SOV_BACKUP_REPO */
	const char *password_file; /* --password-file */
	const char *metrics;       /* --metrics, else $SOV_METRICS */
	long lock_wait_s;          /* --lock-wait SECONDS */
};

/* getopt_long entries for the common options and their handler: returns 1
 * when opt was one of them, -1 on a bad value (message printed). */
#define BK_COMMON_LONGOPTS                                                     \
	{"repo", required_argument, NULL, 0x1001},                             \
	    {"password-file", required_argument, NULL, 0x1002},                \
	    {"metrics", required_argument, NULL, 0x1003},                      \
	{                                                                      \
		"lock-wait", required_argument, NULL, 0x1004                   \
	}
/* init and key add: the Argon2id cost of the new key file. */
#define BK_KDF_LONGOPTS                                                        \
	{"kdf-memory", required_argument, NULL, 0x1101},                       \
	{                                                                      \
		"kdf-passes", required_argument, NULL, 0x1102                  \
	}
#define BK_KDF_HELP                                                            \
	"  --kdf-memory MIB      Argon2id memory of the new key (default "     \
	"64)\n"                                                                \
	"  --kdf-passes N        Argon2id passes of the new key (default 3)\n"
/* 1 when opt was a KDF option (taken), 0 when not, -1 on a bad value
 * (reported). */
int bk_kdf_opt(int opt, const char *arg);

#define BK_COMMON_HELP                                                         \
	"  --repo DIR            the repository (default $SOV_BACKUP_REPO)\n"  \
	"  --password-file FILE  its password (default "                       \
	"$CREDENTIALS_DIRECTORY/password)\n"                                   \
	"  --lock-wait SECONDS   wait this long for a lock (default 60)\n"
#define BK_BACKUP_HELP                                                         \
	"  --tag TAG             a tag for the snapshot (repeatable)\n"        \
	"  --host NAME           the host name recorded (default: this "       \
	"host)\n"                                                              \
	"  --exclude GLOB        skip matching paths: a GLOB without / "       \
	"matches\n"                                                            \
	"                        a name anywhere, with / the whole path\n"     \
	"  --exclude-file FILE   excludes, one per line, # comments\n"         \
	"  --one-file-system     do not cross into other mounted file "        \
	"systems\n"                                                            \
	"  --stdin NAME          save stdin as the file /NAME\n"               \
	"  --sqlite PATH         an SQLite database, copied consistently\n"    \
	"  --postgres URL        a PostgreSQL database, by pg_dump\n"          \
	"  --threads N           compressing and encrypting threads "          \
	"(default:\n"                                                          \
	"                        one per core)\n"                              \
	"  --compression LEVEL   zstd level 0 (off) to 19 (default 3)\n"       \
	"  --force               read every file, ignore the parent "          \
	"snapshot\n"                                                           \
	"  --cache-dir DIR       the last backup's directories, kept here so " \
	"an\n"                                                                 \
	"                        unchanged one is not read again (default\n"   \
	"                        $SOV_CACHE_DIR, $CACHE_DIRECTORY,\n"          \
	"                        $XDG_CACHE_HOME/sov/sov-backup,\n"            \
	"                        ~/.cache/sov/sov-backup)\n"                   \
	"  --no-cache            neither read nor write that cache\n"          \
	"  --atime               keep access times (off: reading a directory " \
	"sets\n"                                                               \
	"                        its atime, which made every tree new)\n"      \
	"  --metrics URL         where measurements go (default "              \
	"$SOV_METRICS)\n"
int bk_common_opt(struct bk_common *c, int opt, const char *arg);

/* Parse argv for a command that takes only the common options: 0, or the
 * exit code after a usage error (printed). Leaves optind at the first
 * argument. */
int bk_common_only(int argc, char **argv, struct bk_common *c);

/* prune itself (also run by forget --prune); returns the exit code and
 * prints its error. */
#define BK_PRUNE_MAX_UNUSED 5 /* percent: --max-unused by default */
/* sort_mem: bytes of each of the plan's sorts, 0 for the default. */
int bk_prune_run(const struct bk_common *co, long max_unused, size_t sort_mem,
		 int dry);

/* Open the repository named by c (password, keys, config). */
struct bk_repo *bk_open(const struct bk_common *c, struct sov_err *e);

/* The JSON lines writer on stdout, and writing one record (consumed). */
/* dir/name into out (PATH_MAX bytes), "/name" when dir is "/"; -1 when it
 * does not fit. */
int bk_path_join(char *out, const char *dir, const char *name);

int bk_emit(jv rec, struct sov_err *e);
int bk_emit_close(struct sov_err *e);

/* Walk a snapshot's tree to PATH ("/a/b"): the node (the root when PATH is
 * "/"), with the parent directory's name path. */
jv bk_tree_lookup(struct bk_repo *r, jv snap, const char *path,
		  struct sov_err *e);

/* Whether arr (an array, not consumed; anything else is empty) holds the
 * string s: tag and path filters. */
int bk_has_string(jv arr, const char *s);

/* Cut a path into its components, validating ("/a/b" and "a/b" alike). */
jv bk_path_split(const char *path, struct sov_err *e);

/* Parse a hex id member of a node ("subtree"). */
int bk_node_id(jv node, const char *member, unsigned char id[BK_ID_LEN],
	       struct sov_err *e);

#endif
