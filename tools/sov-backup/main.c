/*
 * sov-backup - encrypted, deduplicated, verifiable backups of files and
 * databases into a repository (docs/repository-format.md).
 */
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "backup.h"
#include "cli.h"

#define REPO_HELP BK_COMMON_HELP

static const struct sov_cmd cmds[] = {
    {"init", bk_cmd_init,
     "[--repo DIR] [--password-file FILE] [--kdf-memory MIB] [--kdf-passes N]",
     "create a repository and its first key", REPO_HELP BK_KDF_HELP},
    {"backup", bk_cmd_backup,
     "[OPTIONS] [PATH...] [--sqlite DB]... [--postgres URL]... [--stdin NAME]",
     "save paths and databases as a new snapshot", REPO_HELP BK_BACKUP_HELP},
    {"snapshots", bk_cmd_snapshots,
     "[--host H] [--tag T] [--path P] [--latest N]",
     "list snapshots, oldest first",
     REPO_HELP "  --host H              only snapshots of this host\n"
	       "  --tag T               only snapshots with this tag\n"
	       "  --path P              only snapshots that saved P\n"
	       "  --latest N            only the newest N\n"},
    {"ls", bk_cmd_ls, "SNAPSHOT [PATH...]",
     "list the files of a snapshot (SNAPSHOT: id prefix or latest)", REPO_HELP},
    {"repair", bk_cmd_repair, "index [--dry-run]",
     "rebuild the index from the packs' own headers",
     REPO_HELP "  --dry-run             read the packs, write nothing\n"},
    {"restore", bk_cmd_restore,
     "SNAPSHOT (--target DIR | --postgres-target URL | --sqlite-target PATH) "
     "[--include PATH]...",
     "restore files, or a database into a server or file",
     REPO_HELP
     "  --target DIR          restore files under DIR (full paths kept)\n"
     "  --include PATH        only PATH and what is below it (repeatable)\n"
     "  --postgres-target URL restore the PostgreSQL dump with pg_restore\n"
     "                        into the database URL names\n"
     "  --pg-clean            drop objects before recreating them\n"
     "  --sqlite-target PATH  restore the SQLite database atomically to PATH\n"
     "  --no-owner            do not restore owners (files and PostgreSQL)\n"},
    {"diff", bk_cmd_diff, "SNAPSHOT SNAPSHOT",
     "what was added, removed, modified between two snapshots", REPO_HELP},
    {"dump", bk_cmd_dump, "SNAPSHOT PATH", "write one file to stdout",
     REPO_HELP},
    {"check", bk_cmd_check, "[--read-data | --read-data-subset N%|N/M]",
     "verify the repository's structure, and with --read-data every byte",
     REPO_HELP
     "  --read-data           read and verify every pack\n"
     "  --read-data-subset S  a random S percent of packs (5%) or the Nth of\n"
     "                        M groups (1/7: a week of nights reads all)\n"},
    {"forget", bk_cmd_forget, "--keep-* N... [--dry-run]",
     "remove snapshots that no --keep-* rule keeps",
     REPO_HELP
     "  --keep-last N         the N newest (-1: all)\n"
     "  --keep-hourly N       the newest of each of N hours; also -daily,\n"
     "  --keep-daily N        -weekly, -monthly, -yearly (local time)\n"
     "  --keep-weekly N\n"
     "  --keep-monthly N\n"
     "  --keep-yearly N\n"
     "  --keep-within DUR     all within DUR of the newest (e.g. 30d)\n"
     "  --keep-tag TAG        all with this tag (repeatable)\n"
     "  --host H, --tag T     consider only these snapshots\n"
     "  --group-by LIST       host,paths,tags (default host,paths)\n"
     "  --dry-run             say what would go, remove nothing\n"
     "  --prune               then prune (as `sov-backup prune`)\n"},
    {"prune", bk_cmd_prune,
     "[--max-unused PERCENT] [--sort-memory KIB] [--dry-run]",
     "delete data no snapshot needs; repack partly used packs",
     REPO_HELP
     "  --max-unused PERCENT  repack a pack when more than this share of\n"
     "                        it is unused (default 5)\n"
     "  --sort-memory KIB     buffer of each of prune's sorts, which spill\n"
     "                        to $TMPDIR (default /var/tmp) when full\n"
     "                        (default 1024, at least 16)\n"
     "  --dry-run             count, change nothing\n"},
    {"key", bk_cmd_key, "add --new-password-file FILE | list | remove ID",
     "manage the passwords that open the repository",
     REPO_HELP
     "  --new-password-file F the password of the new key\n" BK_KDF_HELP},
    {"stats", bk_cmd_stats, "",
     "snapshots, packs, unique and stored bytes of the repository", REPO_HELP},
    {"unlock", bk_cmd_unlock, "[--all]",
     "remove locks whose holder is gone (--all: every lock)", REPO_HELP},
    {NULL, NULL, NULL, NULL, NULL},
};

static const struct sov_tool tool = {
    "sov-backup",
    "encrypted, deduplicated, verifiable backups of files and databases",
    cmds,
};

int
main(int argc, char **argv)
{
#ifdef __GLIBC__
	/* Blob buffers of up to a few MiB come and go by the thousand: from
	 * the heap, and kept there, rather than an mmap and its page faults
	 * each. The KDF's 64 MiB still comes and goes as a mapping. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 128 << 20);
#endif
	return sov_cli_main(&tool, argc, argv);
}
