/*
 * meta.c - a node's metadata as a struct bk_meta, and applying it; see
 * meta.h.
 *
 * Nothing here follows a symlink in the target: the *at forms act on the
 * entry itself (AT_SYMLINK_NOFOLLOW), and a descriptor is the file it was
 * opened on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meta.h"

int
bk_meta_chmod_at(int dirfd, const char *name, mode_t mode)
{
	if (fchmodat(dirfd, name, mode, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -1;
	return fchmodat(dirfd, name, mode, 0);
}

/* bk_meta_from_node once who (the node's shown name) is known. The order
 * of the checks is bk_node_apply_meta's, so is the first message. */
static int
meta_fill(jv node, unsigned flags, const char *who, struct bk_meta *m,
	  struct sov_err *e)
{
	uint32_t uid = 0, gid = 0;
	uint64_t mode = 0;
	int r;

	memset(m, 0, sizeof(*m));
	if (bk_node_fmt(node, who, &m->fmt, e) < 0)
		return -1;
	if (m->fmt == S_IFSOCK) /* bk_node_create made none */
		return 0;
	if ((r = bk_node_uint(node, "mode", who, 07777, 0, &mode, e)) <= 0) {
		if (r == 0)
			sov_err_set(e, SOV_EXIT_USAGE, "%s: mode: missing",
				    who);
		return -1;
	}
	if (bk_node_time(node, "atime", who, 0, &m->atime, e) < 0 ||
	    bk_node_time(node, "mtime", who, 1, &m->mtime, e) < 0)
		return -1;
	if ((flags & BK_META_OWNER) &&
	    (bk_node_owner(node, 0, flags, who, &uid, e) < 0 ||
	     bk_node_owner(node, 1, flags, who, &gid, e) < 0))
		return -1;
	m->mode = (mode_t)mode;
	m->chown = (flags & BK_META_OWNER) != 0;
	m->uid = (uid_t)uid;
	m->gid = (gid_t)gid;
	return 0;
}

int
bk_meta_from_node(jv node, unsigned flags, struct bk_meta *m, struct sov_err *e)
{
	struct bk_shown sh;
	char *name;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((name = bk_node_name(node, e)) == NULL)
		return -1;
	rc =
	    meta_fill(node, flags, bk_node_show(&sh, name, strlen(name)), m, e);
	free(name);
	return rc;
}

/* "WHO: is a file, the node a fifo" when st is not of m's type. */
static int
check_type(const struct stat *st, const struct bk_meta *m, const char *who,
	   struct sov_err *e)
{
	const char *t, *want;

	if ((st->st_mode & S_IFMT) == m->fmt)
		return 0;
	t = bk_node_fmt_name(st->st_mode);
	want = bk_node_fmt_name(m->fmt);
	return sov_err_set(e, SOV_EXIT_FAIL, "%s: is a %s, the node a %s", who,
			   t ? t : "thing of unknown type",
			   want ? want : "thing of unknown type");
}

/* An owner change the kernel refused to someone not root is no error. */
static int
chown_refused(int err)
{
	return err == EPERM && geteuid() != 0;
}

int
bk_meta_apply_fd(int fd, const struct bk_meta *m, const char *path,
		 struct sov_err *e)
{
	struct timespec ts[2] = {m->atime, m->mtime}; /* futimens' order */
	struct stat st;

	if (m->fmt == S_IFSOCK)
		return 0;
	if (m->fmt == S_IFLNK)
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "%s: a symlink's metadata is applied by "
				   "name, not through a descriptor",
				   path);
	if (fstat(fd, &st) < 0)
		return sov_err_sys(e, sov_exit_code_errno(errno), "fstat %s",
				   path);
	if (check_type(&st, m, path, e) < 0)
		return -1;
	if (m->chown && (st.st_uid != m->uid || st.st_gid != m->gid) &&
	    fchown(fd, m->uid, m->gid) < 0 && !chown_refused(errno))
		return sov_err_sys(e, sov_exit_code_errno(errno), "chown %s",
				   path);
	/* After chown, which clears set-id bits. */
	if (fchmod(fd, m->mode) < 0)
		return sov_err_sys(e, sov_exit_code_errno(errno), "chmod %s",
				   path);
	/* ctime cannot be set: the kernel stamps it. */
	if (futimens(fd, ts) < 0)
		return sov_err_sys(e, sov_exit_code_errno(errno), "futimens %s",
				   path);
	return 0;
}

int
bk_meta_apply_at(int dirfd, const char *name, const struct bk_meta *m,
		 const char *who, struct sov_err *e)
{
	struct timespec ts[2] = {m->atime, m->mtime}; /* utimensat's order */
	struct stat st;

	if (m->fmt == S_IFSOCK)
		return 0;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return sov_err_sys(e, sov_exit_code_errno(errno), "lstat %s",
				   who);
	if (check_type(&st, m, who, e) < 0)
		return -1;
	if (m->chown && (st.st_uid != m->uid || st.st_gid != m->gid) &&
	    fchownat(dirfd, name, m->uid, m->gid, AT_SYMLINK_NOFOLLOW) < 0 &&
	    !chown_refused(errno))
		return sov_err_sys(e, sov_exit_code_errno(errno), "chown %s",
				   who);
	/* After chown, which clears set-id bits; a symlink has no mode. */
	if (m->fmt != S_IFLNK && bk_meta_chmod_at(dirfd, name, m->mode) < 0)
		return sov_err_sys(e, sov_exit_code_errno(errno), "chmod %s",
				   who);
	if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return sov_err_sys(e, sov_exit_code_errno(errno),
				   "utimensat %s", who);
	return 0;
}

int
bk_node_apply_meta(int dirfd, jv node, unsigned flags, struct sov_err *e)
{
	struct bk_meta m;
	struct bk_shown sh;
	const char *who;
	char *name;
	int rc = -1;

	/* Check every member before changing anything. */
	if ((name = bk_node_name(node, e)) == NULL)
		return -1;
	who = bk_node_show(&sh, name, strlen(name));
	if (meta_fill(node, flags, who, &m, e) < 0)
		goto out;
	rc = bk_meta_apply_at(dirfd, name, &m, who, e);
out:
	free(name);
	return rc;
}
