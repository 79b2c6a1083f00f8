/*
 * fs.h - durable file writes, capped reads, directories, and where a tool
 * keeps its state and its cache.
 */
#ifndef SOV_FS_H
#define SOV_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/*
 * Replace path with data, durably: write a temp file in the same directory
 * (O_EXCL, created with mode), fsync it, rename it over path, fsync the
 * directory. On any error the temp file is removed and path is untouched,
 * except when only the final directory fsync fails: then path already holds
 * the new data and the error says "replaced, but". mode is applied exactly
 * (fchmod, the umask is not consulted). A symlink at path is replaced, not
 * followed. ENOSPC/EDQUOT are SOV_EXIT_TEMPFAIL, other I/O errors
 * SOV_EXIT_FAIL.
 */
int sov_file_write_atomic(const char *path, const void *data, size_t len,
			  mode_t mode, struct sov_err *e);

/*
 * Read a whole file, refusing more than max bytes (the error names the file
 * and the cap). *out is malloc'ed and NUL-terminated (caller frees); *len
 * excludes the NUL. path "-" reads stdin (named "stdin" in errors, left
 * open). The cap is checked against fstat's size first and again while
 * reading (pipes, /proc, growing files). A missing or unreadable path and
 * an input over the cap are SOV_EXIT_USAGE.
 */
int sov_file_read(const char *path, size_t max, char **out, size_t *len,
		  struct sov_err *e);

/* fsync a directory (after a rename or unlink inside it). */
int sov_dir_fsync(const char *dir, struct sov_err *e);

/*
 * mkdir -p with mode (less the umask, as mkdir(2)) for every directory it
 * creates; existing directories, or symlinks to them, are left as they are.
 * Anything else in the way is an error naming it.
 */
int sov_mkdir_p(const char *path, mode_t mode, struct sov_err *e);

/*
 * The state directory of a tool, created 0700 if missing:
 *   $SOV_STATE_DIR (as is), else the first entry of $STATE_DIRECTORY (set by
 *   systemd's StateDirectory=), else $XDG_STATE_HOME/sov/TOOL, else
 *   $HOME/.local/state/sov/TOOL.
 * Relative values of these variables are refused; empty ones count as
 * unset. Existing directories are not chmod'ed. TOOL is 1..64 characters
 * without '/'. On error buf holds "".
 */
int sov_state_dir(const char *tool, char *buf, size_t size, struct sov_err *e);

/*
 * The cache directory of a tool (what can be thrown away: losing it only
 * costs time), created 0700 if missing, the same way: $SOV_CACHE_DIR, else
 * the first entry of $CACHE_DIRECTORY (systemd's CacheDirectory=), else
 * $XDG_CACHE_HOME/sov/TOOL, else $HOME/.cache/sov/TOOL.
 */
int sov_cache_dir(const char *tool, char *buf, size_t size, struct sov_err *e);

#endif
