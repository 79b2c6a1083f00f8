/*
 * node.h - a file's metadata as a tree node (JSON), and back onto disk.
 *
 * A node is a jv object, the members in docs/repository-format.md:
 *   name (UTF-8; a name that is not valid UTF-8 is stored as "name_b64",
 *   base64 of its bytes, and "name" is absent), type ("file", "dir",
 *   "symlink", "fifo", "chardev", "blockdev", "socket"), mode (permission
 *   and set-id bits, st_mode & 07777), uid, gid, user, group (names, when
 *   they resolve), mtime, atime, ctime (RFC 3339 with nanoseconds:
 *   "2026-11-22T03:00:00.123456789Z"; years 0000..9999, a time outside is
 *   clamped), size (files), inode, device, links (every type but dir: links
 *   > 1 lets restore link them again), target (symlink; "target_b64" when
 *   not UTF-8), rdev (devices).
 * size, inode, device, links and rdev are JSON numbers up to 2^53 and
 * decimal strings above (a double cannot hold them exactly: overlayfs sets
 * high inode bits); read them with bk_node_u64. Base64 is RFC 4648 with
 * padding. Content ("content": chunk ids, files) and "subtree" (dirs) are
 * added by the caller.
 *
 * User and group names are looked up through NSS once per id and cached
 * for the life of the process; the cache is static and not thread-safe:
 * call bk_node_from_entry, bk_node_owner, and so bk_meta_from_node and
 * bk_node_apply_meta, from one thread at a time.
 */
#ifndef BK_NODE_H
#define BK_NODE_H

#include <stdint.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include <jv.h>

#include "err.h"

#define BK_NAME_BYTES_MAX 4096

/*
 * The node for an entry called name (bytes, one path component) in the
 * directory dirfd: lstat and, for a symlink, readlink, relative to dirfd.
 * st may be passed when already known (else NULL). Errors name path (for
 * messages only; NULL: name). A vanished entry (ENOENT at the lstat or the
 * readlink) is SOV_EXIT_FAIL with *gone set when gone != NULL, so a backup
 * can warn and go on. name must be one component (not empty, no '/'); "."
 * is allowed for a backup root, whose node the caller then renames with
 * bk_node_set_name.
 */
jv bk_node_from_entry(int dirfd, const char *name, const char *path,
		      const struct stat *st, int *gone, struct sov_err *e);
/*
 * 1 when pnode (a file's node with its "content") is exactly the node
 * bk_node_from_entry_atime would make of a regular file called name with
 * this stat, plus that content: the same keys, each the same value. A
 * backup then takes pnode as it is instead of building a node to compare.
 * 0 otherwise (any doubt: another key, another encoding of a value).
 */
int bk_node_same_file(jv pnode, const char *name, const struct stat *st,
		      int atime);
/* The same, with "atime" only when atime is set (a backup keeps it only
 * on request: formatting it to drop it was a tenth of a node's cost). */
jv bk_node_from_entry_atime(int dirfd, const char *name, const char *path,
			    const struct stat *st, int atime, int *gone,
			    struct sov_err *e);

/*
 * The node's name as bytes (decoding name_b64): a malloc'ed NUL-terminated
 * string (caller frees), NULL with e set (SOV_EXIT_USAGE, "node: name...")
 * when the node is no object, both or neither of name and name_b64 are
 * there, either is not a string, name_b64 is not base64, or the name is
 * empty, ".", "..", contains '/' or NUL, or is longer than
 * BK_NAME_BYTES_MAX. Restore calls it on untrusted trees: whatever it
 * returns is one component that stays inside the directory.
 */
char *bk_node_name(jv node, struct sov_err *e);

/* The "name" or "name_b64" members for a byte name (consumes node; the
 * other member is removed). jv_invalid() when node is no object. */
jv bk_node_set_name(jv node, const char *name);

/*
 * Create a node that has no content in dirfd: a directory (mode 0700 until
 * bk_node_apply_meta, so restore can write into it), a symlink, a fifo, a
 * device (needs CAP_MKNOD; else an error the caller may warn about), a
 * socket is skipped (returns 0, nothing created). A "file" node is an error
 * (restore writes files itself). Fifos and devices are made 0600 until
 * bk_node_apply_meta. Something in the way is an error (SOV_EXIT_FAIL)
 * unless replace != 0: then a directory for a dir node is reused (and made
 * 0700), any other non-directory is unlinked first (a symlink is removed,
 * never followed), and a directory for a non-dir node stays an error.
 * mknod without CAP_MKNOD is SOV_EXIT_FAIL (EPERM): the caller may warn.
 * Messages name the entry, not the directory: the caller prefixes it.
 */
int bk_node_create(int dirfd, jv node, int replace, struct sov_err *e);

enum {
	BK_META_OWNER =
	    1 << 0, /* chown to uid/gid (needs root; else skipped) */
	BK_META_BY_NAME = 1 << 1, /* prefer user/group names over numbers */
};

/*
 * Apply mode, owner and times of node to the entry name in dirfd, without
 * following a symlink (lchown; utimensat AT_SYMLINK_NOFOLLOW; no chmod on
 * a symlink). Owner only with BK_META_OWNER; a failed chown when not root
 * is not an error. Set-id bits are applied after chown (chown clears
 * them). With BK_META_BY_NAME, "user"/"group" decide when they exist on
 * this system, else "uid"/"gid". ctime cannot be set. Every member used
 * (name, type, mode, mtime, atime when present, owner when asked) is
 * checked before anything changes: a malformed one is SOV_EXIT_USAGE,
 * "NAME: FIELD: ...". The entry must be of the node's type (lstat'ed
 * first). A socket node is skipped (bk_node_create made none).
 * It is bk_meta_from_node then bk_meta_apply_at (meta.c).
 */
int bk_node_apply_meta(int dirfd, jv node, unsigned flags, struct sov_err *e);

/* The name of user (group 0) or group (group 1) id as nodes get it, NULL
 * when it has none; valid until the next lookup, one thread only. */
const char *bk_node_owner_name(int group, uint32_t id);

/* Type helpers: the node's "type" as a string ("" when missing or node is
 * no object); it lives as long as node is unchanged. */
const char *bk_node_type(jv node);

/*
 * A count member of node (size, inode, device, links, rdev, or any other):
 * a non-negative integer number up to 2^53 or a decimal string. 1 with *out
 * set, 0 when absent (or null), -1 with e set (SOV_EXIT_USAGE) when
 * malformed.
 */
int bk_node_u64(jv node, const char *field, uint64_t *out, struct sov_err *e);

/* ---- member readers (meta.c builds struct bk_meta with them) ---- */

/* Bytes of a name shown in an error message. */
#define BK_SHOW_MAX 128

/*
 * A name or target for messages: control bytes (and, when the text is not
 * UTF-8, every byte >= 0x80) as \xNN, a backslash doubled, at most
 * BK_SHOW_MAX bytes then "...": the text in out.
 */
struct bk_shown {
	char s[BK_SHOW_MAX * 4 + 8];
};
const char *bk_node_show(struct bk_shown *out, const char *s, size_t n);

/*
 * The time member field of node into *ts. Absent (or null): *ts is
 * UTIME_OMIT when !required, else an error. Errors are SOV_EXIT_USAGE,
 * "WHO: FIELD: ...".
 */
int bk_node_time(jv node, const char *field, const char *who, int required,
		 struct timespec *ts, struct sov_err *e);

/*
 * The integer member field, at most max (a number; with strings != 0 a
 * decimal string too): 1 present, 0 absent (or null), -1 malformed
 * (SOV_EXIT_USAGE, "WHO: FIELD: not an integer in 0..MAX").
 */
int bk_node_uint(jv node, const char *field, const char *who, uint64_t max,
		 int strings, uint64_t *out, struct sov_err *e);

/* The node's type as S_IF*, or -1 with e set ("WHO: type: unknown ..."). */
int bk_node_fmt(jv node, const char *who, mode_t *fmt, struct sov_err *e);

/* The type name of an S_IF* mode ("file", ...), NULL when none. */
const char *bk_node_fmt_name(mode_t mode);

/*
 * The uid (group 0) or gid (group 1) to apply: with BK_META_BY_NAME in
 * flags the "user"/"group" name when it exists on this system (NSS, cached:
 * one thread at a time), else "uid"/"gid" (up to 2^32-2). -1 with e set
 * (SOV_EXIT_USAGE) when malformed or missing.
 */
int bk_node_owner(jv node, int group, unsigned flags, const char *who,
		  uint32_t *id, struct sov_err *e);

#endif
