/*
 * meta.h - a node's metadata as a plain struct, and applying it to disk.
 *
 * Restore turns each node into a struct bk_meta on its walk thread, the
 * only thread that touches jv and the NSS owner cache (node.h), and keeps
 * no node: a worker thread applies a file's metadata through the
 * descriptor it wrote the file with (bk_meta_apply_fd), and the walk
 * applies a directory's at the end through a directory descriptor
 * (bk_meta_apply_at). The appliers touch no jv and no NSS: any thread may
 * call them.
 */
#ifndef BK_META_H
#define BK_META_H

#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <jv.h>

#include "err.h"
#include "node.h"

struct bk_meta {
	mode_t fmt;  /* S_IFREG, S_IFDIR, ...: the node's type */
	mode_t mode; /* permission and set-id bits (07777) */
	int chown;   /* apply uid and gid (BK_META_OWNER was given) */
	uid_t uid;
	gid_t gid;
	struct timespec atime; /* tv_nsec UTIME_OMIT when the node has none */
	struct timespec mtime;
};

/*
 * Fill m from node (borrowed, not consumed), with the checks and messages
 * of bk_node_apply_meta: name, type, mode, atime (optional), mtime, and
 * with BK_META_OWNER the owner, "user"/"group" deciding with
 * BK_META_BY_NAME when they exist on this system, else "uid"/"gid". A
 * malformed member is SOV_EXIT_USAGE, "NAME: FIELD: ...". A socket node
 * gives fmt S_IFSOCK and nothing else: the appliers skip it. Uses the NSS
 * cache: one thread at a time (see node.h).
 */
int bk_meta_from_node(jv node, unsigned flags, struct bk_meta *m,
		      struct sov_err *e);

/*
 * Apply m to the open file fd: fstat (the file must be of m's type),
 * fchown when m->chown and the owner differs (EPERM when not root is not
 * an error), then fchmod (after chown, which clears set-id bits), then
 * futimens. A symlink has no such descriptor: an error. Messages name path
 * ("chmod PATH: ..."). A socket is skipped.
 */
int bk_meta_apply_fd(int fd, const struct bk_meta *m, const char *path,
		     struct sov_err *e);

/*
 * Apply m to the entry name in dirfd without following a symlink: lstat
 * (the entry must be of m's type: "WHO: is a file, the node a fifo"),
 * lchown as above, chmod except on a symlink, utimensat
 * AT_SYMLINK_NOFOLLOW. Messages name who ("utimensat WHO: ...").
 */
int bk_meta_apply_at(int dirfd, const char *name, const struct bk_meta *m,
		     const char *who, struct sov_err *e);

/*
 * chmod that never follows a symlink. glibc does it through /proc/self/fd
 * (or fchmodat2); without /proc it says EOPNOTSUPP, and then the caller
 * must have lstat'ed name just before and seen no symlink. 0 or -1 with
 * errno.
 */
int bk_meta_chmod_at(int dirfd, const char *name, mode_t mode);

#endif
