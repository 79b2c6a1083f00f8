/*
 * source_pg.c - pg_dump and pg_restore as child processes, and the
 * database name of a connection string; see source.h.
 *
 * The tool runs as a child (source_child.c): found in $SOV_PG_BINDIR or
 * on PATH, its stdin or stdout a pipe to us, its stderr a file.
 *
 * A password in the URL never reaches the child's argv (which any local
 * user may read in /proc): the connection string is rebuilt without it and
 * the password handed over in a password file that has no name, an
 * unlinked temporary file the child inherits as descriptor 3 and that
 * PGPASSFILE names as /dev/fd/3.
 *
 * pg_dump runs without --serializable-deferrable: its snapshot is already
 * one consistent REPEATABLE READ state; deferrable only adds that no
 * concurrent SERIALIZABLE transaction can see an anomaly relative to it,
 * at the price of waiting for a safe snapshot for as long as a busy server
 * takes, and it fails on a hot standby. A nightly backup wants neither.
 */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source_child.h"

#define BK_PG_URL_MAX 4096
#define BK_PG_DBNAME_MAX 63 /* NAMEDATALEN - 1 */
#define BK_PG_ARGV_MAX 16
/* A larger pipe: fewer switches between pg_dump and us per MiB. */
#define BK_PG_PIPE_BYTES (1 << 20)
#define BK_PG_PASS_ENV "PGPASSFILE=/dev/fd/3"

extern char **environ;

/* How the connection string reaches the child. */
struct conn {
	char *arg;   /* "--dbname=..." (malloc'ed), no password in it */
	int pass_fd; /* the unlinked password file, or -1 */
};

/* Write all of buf to fd. */
static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* A password file matching every server, holding pw; its fd or -1. */
static int
password_file(const char *pw, struct sov_err *e)
{
	size_t len = strlen(pw), n = 0;
	char *line = NULL;
	int fd = -1, rc = -1;

	if (strpbrk(pw, "\r\n") != NULL) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "the password in the postgres connection string "
			    "holds a line break, which no password file can");
		goto out;
	}
	line = malloc(2 * len + sizeof("*:*:*:*:\n"));
	if (line == NULL) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "password file");
		goto out;
	}
	memcpy(line, "*:*:*:*:", 8);
	n = 8;
	for (const char *p = pw; *p; p++) {
		if (*p == ':' || *p == '\\')
			line[n++] = '\\';
		line[n++] = *p;
	}
	line[n++] = '\n';
	fd = bk_child_tmpfile("pgpass", e);
	if (fd < 0)
		goto out;
	if (write_all(fd, line, n) < 0) {
		sov_err_sys(e, sov_exit_code_errno(errno),
			    "write the password file");
		goto out;
	}
	rc = 0;
out:
	if (line != NULL)
		sodium_memzero(line, 2 * len + sizeof("*:*:*:*:\n"));
	free(line);
	if (rc < 0 && fd >= 0) {
		(void)close(fd);
		fd = -1;
	}
	return rc < 0 ? -1 : fd;
}

/* Parse a connection string; NULL with an error that quotes libpq. */
static PQconninfoOption *
parse_conninfo(const char *url, struct sov_err *e)
{
	PQconninfoOption *opts;
	char *msg = NULL;

	if (url == NULL || *url == '\0')
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "empty postgres connection string"),
		       NULL;
	if (strlen(url) > BK_PG_URL_MAX)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "postgres connection string longer than %d "
				   "bytes",
				   BK_PG_URL_MAX),
		       NULL;
	opts = PQconninfoParse(url, &msg);
	if (opts == NULL) {
		/* libpq's message quotes the bad part, never the password. */
		if (msg != NULL)
			bk_child_one_line(msg);
		sov_err_set(e, SOV_EXIT_USAGE, "postgres connection string: %s",
			    msg ? msg : "out of memory");
		PQfreemem(msg);
	}
	return opts;
}

/* Wipe the password libpq parsed, then free. */
static void
free_conninfo(PQconninfoOption *opts)
{
	if (opts == NULL)
		return;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val && strcmp(o->keyword, "password") == 0)
			sodium_memzero(o->val, strlen(o->val));
	PQconninfoFree(opts);
}

/*
 * "--dbname=URL", or, when URL holds a password, "--dbname=k='v' ..."
 * without it and the password in a password file.
 */
static int
conn_prepare(const char *url, struct conn *c, struct sov_err *e)
{
	PQconninfoOption *opts;
	const char *pw = NULL;
	size_t size = sizeof("--dbname=");
	char *w;
	int rc = -1;

	c->arg = NULL;
	c->pass_fd = -1;
	opts = parse_conninfo(url, e);
	if (opts == NULL)
		goto out;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "password") == 0)
			pw = o->val;
		else
			size += strlen(o->keyword) + 2 * strlen(o->val) + 4;
	}
	if (pw == NULL) {
		size = sizeof("--dbname=") + strlen(url);
		c->arg = malloc(size);
		if (c->arg == NULL) {
			sov_err_sys(e, SOV_EXIT_TEMPFAIL, "connection string");
			goto out;
		}
		(void)snprintf(c->arg, size, "--dbname=%s", url);
		rc = 0;
		goto out;
	}
	c->pass_fd = password_file(pw, e);
	if (c->pass_fd < 0)
		goto out;
	c->arg = malloc(size);
	if (c->arg == NULL) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "connection string");
		goto out;
	}
	w = c->arg + sizeof("--dbname=") - 1;
	memcpy(c->arg, "--dbname=", sizeof("--dbname=") - 1);
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (o->val == NULL || strcmp(o->keyword, "password") == 0)
			continue;
		memcpy(w, o->keyword, strlen(o->keyword)); /* sized above */
		w += strlen(o->keyword);
		*w++ = '=';
		*w++ = '\'';
		for (const char *p = o->val; *p; p++) {
			if (*p == '\'' || *p == '\\')
				*w++ = '\\';
			*w++ = *p;
		}
		*w++ = '\'';
		*w++ = ' ';
	}
	*w = '\0';
	rc = 0;
out:
	free_conninfo(opts);
	if (rc < 0) {
		free(c->arg);
		c->arg = NULL;
		if (c->pass_fd >= 0)
			(void)close(c->pass_fd);
		c->pass_fd = -1;
	}
	return rc;
}

/* Is path an executable regular file? */
static int
executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

/* The path of tool: in $SOV_PG_BINDIR when set, else on $PATH. */
static int
find_tool(const char *tool, char *buf, size_t size, struct sov_err *e)
{
	const char *bindir = getenv("SOV_PG_BINDIR"), *p, *end;
	size_t n;

	if (bindir != NULL && *bindir != '\0') {
		if (snprintf(buf, size, "%s/%s", bindir, tool) >= (int)size)
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "SOV_PG_BINDIR %s: too long",
					   bindir);
		if (!executable(buf))
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "SOV_PG_BINDIR: %s is not an "
					   "executable file",
					   buf);
		return 0;
	}
	p = getenv("PATH");
	if (p == NULL || *p == '\0')
		p = "/usr/local/bin:/usr/bin:/bin";
	for (; *p; p = *end ? end + 1 : end) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		n = (size_t)(end - p);
		if (n == 0 || n + strlen(tool) + 2 > size)
			continue;
		memcpy(buf, p, n);
		buf[n] = '/';
		memcpy(buf + n + 1, tool, strlen(tool) + 1);
		if (executable(buf))
			return 0;
	}
	buf[0] = '\0';
	return sov_err_set(e, SOV_EXIT_FAIL,
			   "not found on PATH: install the PostgreSQL client, "
			   "or set SOV_PG_BINDIR");
}

/*
 * The child's environment: ours, with PGPASSFILE pointing at fd 3, and its
 * messages in English (LC_MESSAGES=C, without LC_ALL or LANGUAGE, which
 * would override it): bk_child_finish tells a retryable failure from the
 * others by their text.
 */
static char **
child_env(int pass, struct sov_err *e)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ != NULL && environ[n] != NULL)
		n++;
	env = calloc(n + 3, sizeof(*env));
	if (env == NULL)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "environment"), NULL;
	for (size_t i = 0; i < n; i++) {
		/* The URL's password must win over an inherited one. */
		if (pass && (strncmp(environ[i], "PGPASSFILE=", 11) == 0 ||
			     strncmp(environ[i], "PGPASSWORD=", 11) == 0))
			continue;
		if (strncmp(environ[i], "LC_ALL=", 7) == 0 ||
		    strncmp(environ[i], "LC_MESSAGES=", 12) == 0 ||
		    strncmp(environ[i], "LANGUAGE=", 9) == 0)
			continue;
		env[k++] = environ[i];
	}
	env[k++] = (char *)"LC_MESSAGES=C";
	if (pass)
		env[k++] = (char *)BK_PG_PASS_ENV;
	env[k] = NULL;
	return env;
}

/* Start tool with args, then --dbname; dump: we read, else we write. */
static int
start(const char *tool, const char *const args[], const char *url, int dump,
      struct bk_child *child, struct sov_err *e)
{
	char path[PATH_MAX];
	const char *argv[BK_PG_ARGV_MAX];
	struct conn c = {NULL, -1};
	char **envp = NULL;
	int p[2] = {-1, -1}, errfd = -1, nullfd = -1, fds[BK_CHILD_FDS_MAX],
	    nfds = 3;
	int rc = -1, argc = 0;

	child->pid = -1;
	child->fd = -1;
	child->err_fd = -1;
	(void)snprintf(child->what, sizeof(child->what), "%s", tool);
	if (find_tool(tool, path, sizeof(path), e) < 0)
		goto out;
	if (conn_prepare(url, &c, e) < 0)
		goto out;
	errfd = bk_child_tmpfile("stderr", e);
	if (errfd < 0)
		goto out;
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nullfd < 0) {
		sov_err_sys(e, SOV_EXIT_FAIL, "/dev/null");
		goto out;
	}
	if (pipe2(p, O_CLOEXEC) != 0) {
		sov_err_sys(e, sov_exit_code_errno(errno), "pipe");
		goto out;
	}
	/* Best effort: the pipe works at its default size too. */
	(void)fcntl(p[0], F_SETPIPE_SZ, BK_PG_PIPE_BYTES);
	envp = child_env(c.pass_fd >= 0, e);
	if (envp == NULL)
		goto out;
	argv[argc++] = tool;
	for (int i = 0; args[i] != NULL && argc < BK_PG_ARGV_MAX - 2; i++)
		argv[argc++] = args[i];
	argv[argc++] = c.arg;
	argv[argc] = NULL;
	fds[0] = dump ? nullfd : p[0];
	fds[1] = dump ? p[1] : errfd; /* pg_restore's chatter with its errors */
	fds[2] = errfd;
	if (c.pass_fd >= 0)
		fds[nfds++] = c.pass_fd;
	if (bk_child_spawn(path, (char *const *)argv, envp, fds, nfds,
			   &child->pid, e) < 0)
		goto out;
	child->fd = dump ? p[0] : p[1];
	if (dump)
		p[0] = -1;
	else
		p[1] = -1;
	child->err_fd = errfd;
	errfd = -1;
	rc = 0;
out:
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			(void)close(p[i]);
	if (errfd >= 0)
		(void)close(errfd);
	if (nullfd >= 0)
		(void)close(nullfd);
	if (c.pass_fd >= 0)
		(void)close(c.pass_fd);
	free(c.arg);
	free(envp);
	if (rc < 0)
		sov_err_prefix(e, "%s: ", tool);
	return rc;
}

int
bk_pg_dump_start(const char *url, struct bk_child *child, struct sov_err *e)
{
	static const char *const args[] = {"--format=custom", "--compress=0",
					   "--no-password", NULL};

	return start("pg_dump", args, url, 1, child, e);
}

int
bk_pg_restore_start(const char *url, unsigned flags, struct bk_child *child,
		    struct sov_err *e)
{
	const char *args[BK_PG_ARGV_MAX];
	int n = 0;

	child->pid = -1;
	child->fd = -1;
	child->err_fd = -1;
	(void)snprintf(child->what, sizeof(child->what), "pg_restore");
	if ((flags & BK_PG_CREATE) && (flags & BK_PG_SINGLE_TXN))
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "pg_restore: --create cannot run in a "
				   "single transaction");
	if (flags & ~(unsigned)(BK_PG_CLEAN | BK_PG_CREATE | BK_PG_NO_OWNER |
				BK_PG_SINGLE_TXN))
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "pg_restore: unknown flags %#x", flags);
	args[n++] = "--format=custom";
	args[n++] = "--no-password";
	args[n++] = "--exit-on-error";
	if (flags & BK_PG_CLEAN) {
		args[n++] = "--clean";
		args[n++] = "--if-exists";
	}
	if (flags & BK_PG_CREATE)
		args[n++] = "--create";
	if (flags & BK_PG_NO_OWNER)
		args[n++] = "--no-owner";
	if (flags & BK_PG_SINGLE_TXN)
		args[n++] = "--single-transaction";
	args[n] = NULL;
	return start("pg_restore", args, url, 0, child, e);
}

char *
bk_pg_url_dbname(const char *url, struct sov_err *e)
{
	PQconninfoOption *opts = parse_conninfo(url, e);
	const char *db = NULL;
	char *name = NULL;

	if (opts == NULL)
		return NULL;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
	if (db == NULL || *db == '\0') {
		/* libpq would fall back to $PGDATABASE or the user name: a
		 * snapshot path should not depend on either. */
		sov_err_set(e, SOV_EXIT_USAGE,
			    "the postgres connection string names no "
			    "database: add it (postgresql://HOST/DBNAME, or "
			    "dbname=DBNAME)");
		goto out;
	}
	if (strlen(db) > BK_PG_DBNAME_MAX) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "database name longer than %d bytes",
			    BK_PG_DBNAME_MAX);
		goto out;
	}
	if (strcmp(db, ".") == 0 || strcmp(db, "..") == 0 ||
	    strchr(db, '/') != NULL) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "database name \"%s\": unusable as a file name in "
			    "the snapshot",
			    db);
		goto out;
	}
	for (const char *p = db; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "database name with a control character");
			goto out;
		}
	name = strdup(db);
	if (name == NULL)
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "database name");
out:
	free_conninfo(opts);
	return name;
}
