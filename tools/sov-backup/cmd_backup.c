/*
 * cmd_backup.c - `sov-backup backup`: walk paths and database sources into
 * trees of nodes and chunks, save a snapshot.
 *
 * The snapshot's tree mirrors the file system from "/". Each PATH is saved
 * whole under its absolute path; directories on the way to it are saved
 * with their own metadata but only the entries leading to a PATH. Database
 * sources are files in the same tree: an SQLite database at its own path
 * (a consistent copy, not the live bytes), a PostgreSQL dump at
 * /postgresql/DBNAME.pgdump, stdin at /NAME.
 *
 * Unchanged files are not read again: a file whose type, size, mtime,
 * ctime and inode equal those in the parent snapshot (the newest one of
 * the same host and paths) keeps its chunk list, when every chunk is still
 * in the index.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "backup.h"
#include "chunker.h"
#include "dirahead.h"
#include "dircache.h"
#include "cli.h"
#include "fs.h"
#include "jsonl.h"
#include "lock.h"
#include "measure.h"
#include "node.h"
#include "prefetch.h"
#include "source.h"
#include "timestamp.h"
#include "walk.h"

#define EXCLUDE_FILE_MAX (1u << 20)

/* The command. */

static int
load_exclude_file(struct bk_walk *c, const char *file, char **keep,
		  struct sov_err *e)
{
	char *buf = NULL, *p, *save = NULL;
	size_t len = 0;

	if (sov_file_read(file, EXCLUDE_FILE_MAX, &buf, &len, e) < 0)
		return -1;
	for (p = strtok_r(buf, "\n", &save); p;
	     p = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(p);

		if (n && p[n - 1] == '\r')
			p[--n] = '\0';
		if (!n || p[0] == '#')
			continue;
		if (c->nexcludes == MAX_EXCLUDES) {
			free(buf);
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "%s: more than %d excludes", file,
					   MAX_EXCLUDES);
		}
		c->excludes[c->nexcludes++] = p;
	}
	*keep = buf;
	return 0;
}

/* The parent: the newest snapshot of this host with the same paths
 * (consumes paths). */
static jv
find_parent(struct bk_repo *r, const char *host, jv paths)
{
	struct sov_err e = {0};
	jv all = bk_repo_snapshots(r, &e), found = jv_invalid();
	int n;

	if (!jv_is_valid(all)) {
		jv_free(paths);
		return all;
	}
	n = jv_array_length(jv_copy(all));
	for (int i = n - 1; i >= 0 && !jv_is_valid(found); i--) {
		jv s = jv_array_get(jv_copy(all), i);
		jv h = jv_object_get(jv_copy(s), jv_string("host"));
		jv p = jv_object_get(jv_copy(s), jv_string("paths"));
		int same_host = jv_get_kind(h) == JV_KIND_STRING &&
				strcmp(jv_string_value(h), host) == 0;

		/* jv_equal consumes both */
		if (same_host && jv_equal(p, jv_copy(paths)))
			found = jv_copy(s);
		else if (!same_host)
			jv_free(p);
		jv_free(h);
		jv_free(s);
	}
	jv_free(all);
	jv_free(paths);
	return found;
}

static struct target *
add_stream(struct bk_walk *c, const char *path, const char *source, int fd,
	   struct sov_err *e)
{
	struct target *t = bk_target_add(c->root, path, T_STREAM, e);

	if (!t)
		return NULL;
	t->source = source;
	t->fd = fd;
	return t;
}

/* The directory read-ahead over every path of the snapshot (the sources'
 * paths that are no directories are passed over by it), and over the
 * parent snapshot's trees of them. */
static int
start_dirahead(struct bk_walk *c, jv paths, jv parent, struct sov_err *e)
{
	int n = jv_array_length(jv_copy(paths));
	unsigned char proot[BK_ID_LEN];
	int have_root = jv_is_valid(parent) && !bk_dircache_loaded(c->dc) &&
			bk_node_id(parent, "tree", proot, NULL) == 0;
	const char **list = calloc(n > 0 ? (size_t)n : 1, sizeof(*list));

	if (!list)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "dirahead");
	for (int i = 0; i < n; i++) {
		jv p = jv_array_get(jv_copy(paths), i);

		/* paths holds its own reference: the string outlives p */
		list[i] = jv_string_value(p);
		jv_free(p);
	}
	c->da =
	    bk_dirahead_new(c, list, (size_t)n, have_root ? proot : NULL, e);
	free(list);
	return c->da ? 0 : -1;
}

int
bk_cmd_backup(int argc, char **argv)
{
	static const struct option lo[] = {
	    BK_COMMON_LONGOPTS,
	    {"tag", required_argument, NULL, 't'},
	    {"host", required_argument, NULL, 'H'},
	    {"exclude", required_argument, NULL, 'e'},
	    {"exclude-file", required_argument, NULL, 'E'},
	    {"one-file-system", no_argument, NULL, 'x'},
	    {"stdin", required_argument, NULL, 's'},
	    {"sqlite", required_argument, NULL, 'q'},
	    {"postgres", required_argument, NULL, 'p'},
	    {"threads", required_argument, NULL, 'T'},
	    {"compression", required_argument, NULL, 'z'},
	    {"force", no_argument, NULL, 'f'},
	    {"atime", no_argument, NULL, 'a'},
	    {"cache-dir", required_argument, NULL, 'C'},
	    {"no-cache", no_argument, NULL, 'N'},
	    {NULL, 0, NULL, 0},
	};
	struct bk_common co = {.lock_wait_s = 60};
	struct bk_walk c;
	struct sov_err e = {0};
	struct bk_lock *lock = NULL;
	struct sov_metrics *m = NULL;
	const char *stdin_name = NULL, *sqlite[MAX_TARGETS], *pg[MAX_TARGETS];
	size_t nsq = 0, npg = 0;
	char *exclude_bufs[8] = {0};
	size_t nexbuf = 0;
	jv tags = jv_array(), paths = jv_array(), sources = jv_array();
	jv parent = jv_invalid(), proot = jv_invalid(), snap = jv_invalid();
	char host[256] = "", hex[BK_ID_HEX_LEN], ts[SOV_TIME_RFC3339_LEN];
	const char *hostopt = NULL, *cache_dir = NULL, *cache_why = NULL;
	char cache_root[PATH_MAX] = "";
	int no_cache = 0;
	long threads = sysconf(_SC_NPROCESSORS_ONLN), level = BK_ZSTD_LEVEL;
	int force = 0, opt, rc = SOV_EXIT_FAIL;
	int64_t t0 = sov_time_mono_ms(), started = sov_time_now_ms();
	unsigned char sid[BK_ID_LEN];
	struct bk_saver_stats st;

	memset(&c, 0, sizeof(c));
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		int k = bk_common_opt(&co, opt, optarg);

		if (k < 0) {
			rc = SOV_EXIT_USAGE;
			goto out;
		}
		if (k)
			continue;
		switch (opt) {
		case 't':
			tags = jv_array_append(tags, jv_string(optarg));
			break;
		case 'H':
			hostopt = optarg;
			break;
		case 'e':
			if (c.nexcludes == MAX_EXCLUDES) {
				rc = sov_cli_usage_error("too many --exclude");
				goto out;
			}
			c.excludes[c.nexcludes++] = optarg;
			break;
		case 'E':
			if (nexbuf == 8) {
				rc = sov_cli_usage_error(
				    "too many --exclude-file");
				goto out;
			}
			if (load_exclude_file(&c, optarg, &exclude_bufs[nexbuf],
					      &e) < 0) {
				rc = sov_cli_fail(&e);
				goto out;
			}
			nexbuf++;
			break;
		case 'x':
			c.one_fs = 1;
			break;
		case 's':
			stdin_name = optarg;
			break;
		case 'q':
		case 'p':
			if ((opt == 'q' ? nsq : npg) == MAX_TARGETS) {
				rc = sov_cli_usage_error("too many sources");
				goto out;
			}
			if (opt == 'q')
				sqlite[nsq++] = optarg;
			else
				pg[npg++] = optarg;
			break;
		case 'T':
			if (sov_cli_parse_long("--threads", optarg, 1, 64,
					       &threads, &e) < 0) {
				rc = sov_cli_fail(&e);
				goto out;
			}
			break;
		case 'z':
			if (sov_cli_parse_long("--compression", optarg, 0, 19,
					       &level, &e) < 0) {
				rc = sov_cli_fail(&e);
				goto out;
			}
			break;
		case 'f':
			force = 1;
			break;
		case 'a':
			c.atime = 1;
			break;
		case 'C':
			if (optarg[0] != '/') {
				rc = sov_cli_usage_error(
				    "--cache-dir: an absolute path");
				goto out;
			}
			cache_dir = optarg;
			break;
		case 'N':
			no_cache = 1;
			break;
		default: {
			rc = sov_cli_usage_error("unknown option");
			goto out;
		}
		}
	}
	if (optind == argc && !stdin_name && nsq == 0 && npg == 0) {
		rc = sov_cli_usage_error(
		    "nothing to back up: give PATHs, --sqlite, --postgres or "
		    "--stdin");
		goto out;
	}
	if (threads < 1)
		threads = 1;
	c.progress = isatty(2);
	c.root = bk_target_new("/", T_DIR);
	if (!c.root || !(c.root->srcpath = strdup("/"))) {
		sov_err_sys(&e, SOV_EXIT_TEMPFAIL, "targets");
		goto fail;
	}
	if (hostopt)
		snprintf(host, sizeof(host), "%s", hostopt);
	else if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "unknown");

	/* Open the repository before starting any dump. */
	c.r = bk_open(&co, &e);
	if (!c.r)
		goto fail;
	c.r->zstd_level = (int)level;
	{
		struct stat rst;

		if (stat(c.r->be->display, &rst) == 0) {
			c.repo_dev = rst.st_dev;
			c.repo_ino = rst.st_ino;
			c.have_repo_stat = 1;
		}
	}
	if (bk_chunker_init(&c.ck_files, c.r->keys->chunker, &c.r->files, &e) <
		0 ||
	    bk_chunker_init(&c.ck_pages, c.r->keys->chunker, &c.r->pages, &e) <
		0)
		goto fail;
	/* The largest chunk twice, and a read beyond one largest chunk at
	 * least (walk.c, save_content): what is left without a cut is under
	 * one largest chunk, so a read always has room. Only the part in use
	 * is ever touched. */
	{
		size_t most = c.ck_files.p.max > c.ck_pages.p.max
				  ? c.ck_files.p.max
				  : c.ck_pages.p.max;

		c.bufcap = 2 * most > most + BK_WALK_READ_STEP
			       ? 2 * most
			       : most + BK_WALK_READ_STEP;
	}
	c.buf = malloc(c.bufcap);
	if (!c.buf) {
		sov_err_sys(&e, SOV_EXIT_TEMPFAIL, "read buffer");
		goto fail;
	}
	lock = bk_lock_acquire(c.r->be, 0, "backup", co.lock_wait_s * 1000, &e);
	if (!lock)
		goto fail;
	if (bk_repo_load_index(c.r, &e) < 0)
		goto fail;

	for (int i = optind; i < argc; i++) {
		char abs[PATH_MAX];
		struct target *t;
		struct stat pst;

		if (lstat(argv[i], &pst) < 0) {
			sov_err_sys(&e, sov_exit_code_open(errno), "%s",
				    argv[i]);
			goto fail;
		}
		if (!realpath(argv[i], abs)) {
			sov_err_sys(&e, sov_exit_code_open(errno), "%s",
				    argv[i]);
			goto fail;
		}
		t = bk_target_add(c.root, abs, T_PATH, &e);
		if (!t)
			goto fail;
		paths = jv_array_append(paths, jv_string(abs));
	}
	for (size_t i = 0; i < nsq; i++) {
		char abs[PATH_MAX];
		struct target *t;
		int fd = -1;

		if (!realpath(sqlite[i], abs)) {
			sov_err_sys(&e, sov_exit_code_open(errno),
				    "--sqlite %s", sqlite[i]);
			goto fail;
		}
		if (bk_sqlite_snapshot(abs, NULL, 30000, &fd, &e) < 0)
			goto fail;
		t = bk_target_add(c.root, abs, T_SQLITE, &e);
		if (t && t->kind != T_SQLITE) {
			/* Inside a PATH: the walk meets it by its path. */
			t = bk_target_new(abs, T_SQLITE);
			if (t)
				c.loose[c.nloose++] = t;
			else
				sov_err_sys(&e, SOV_EXIT_TEMPFAIL, "targets");
			if (t && !(t->srcpath = strdup(abs))) {
				sov_err_sys(&e, SOV_EXIT_TEMPFAIL, "targets");
				t = NULL;
			}
		}
		if (!t) {
			close(fd);
			goto fail;
		}
		t->fd = fd;
		c.sqlite[c.nsqlite++] = t;
		sources = jv_array_append(
		    sources,
		    jv_object_set(jv_object_set(jv_object(), jv_string("kind"),
						jv_string("sqlite")),
				  jv_string("path"), jv_string(abs)));
		paths = jv_array_append(paths, jv_string(abs));
	}
	for (size_t i = 0; i < npg; i++) {
		char *db = bk_pg_url_dbname(pg[i], &e);
		char spath[PATH_MAX];
		struct target *t;

		if (!db)
			goto fail;
		snprintf(spath, sizeof(spath), "/postgresql/%s.pgdump", db);
		sources = jv_array_append(
		    sources,
		    jv_object_set(
			jv_object_set(jv_object_set(jv_object(),
						    jv_string("kind"),
						    jv_string("postgres")),
				      jv_string("database"), jv_string(db)),
			jv_string("path"), jv_string(spath)));
		paths = jv_array_append(paths, jv_string(spath));
		free(db);
		t = add_stream(&c, spath, "postgres", -1, &e);
		if (!t || bk_pg_dump_start(pg[i], &t->child, &e) < 0)
			goto fail;
		t->fd = t->child.fd;
	}
	if (stdin_name) {
		char spath[PATH_MAX];

		if (!*stdin_name || strchr(stdin_name, '/') ||
		    strcmp(stdin_name, ".") == 0 ||
		    strcmp(stdin_name, "..") == 0) {
			rc = sov_cli_usage_error(
			    "--stdin NAME: a file name, without /");
			goto out;
		}
		snprintf(spath, sizeof(spath), "/%s", stdin_name);
		if (!add_stream(&c, spath, "stdin", 0, &e))
			goto fail;
		sources = jv_array_append(
		    sources,
		    jv_object_set(jv_object_set(jv_object(), jv_string("kind"),
						jv_string("stdin")),
				  jv_string("path"), jv_string(spath)));
		paths = jv_array_append(paths, jv_string(spath));
	}
	paths = jv_sort(paths, jv_copy(paths));

	if (!force) {
		parent = find_parent(c.r, host, jv_copy(paths));
		if (jv_is_valid(parent)) {
			unsigned char pid[BK_ID_LEN];

			if (bk_node_id(parent, "tree", pid, NULL) == 0)
				proot = bk_walk_by_name(
				    bk_repo_read_tree(c.r, pid, NULL));
		}
	}
	if (no_cache) {
		cache_why = "--no-cache";
	} else {
		unsigned char pid[BK_ID_LEN];
		jv ph = jv_is_valid(parent)
			    ? jv_object_get(jv_copy(parent), jv_string("id"))
			    : jv_invalid();
		int have_pid = jv_get_kind(ph) == JV_KIND_STRING &&
			       bk_unhex(jv_string_value(ph), pid) == 0;

		jv_free(ph);
		if (cache_dir) {
			if (strlen(cache_dir) >= sizeof(cache_root))
				sov_cli_warn("cache: --cache-dir is longer "
					     "than a path may be");
			else
				snprintf(cache_root, sizeof(cache_root), "%s",
					 cache_dir);
		} else if (sov_cache_dir("sov-backup", cache_root,
					 sizeof(cache_root), &e) < 0) {
			/* the backup goes on without it, only slower */
			sov_cli_warn("cache: %s", e.msg);
			sov_err_clear(&e);
		}
		c.dc = bk_dircache_open(c.r, cache_root, host, paths, c.atime,
					have_pid ? pid : NULL, &cache_why, &e);
		if (!c.dc)
			goto fail;
		if (force)
			cache_why = "--force";
	}
	c.sv = bk_saver_new(c.r, (int)threads, &e);
	if (!c.sv)
		goto fail;
	c.pf = bk_prefetch_new(&e);
	if (!c.pf)
		goto fail;
	bk_saver_set_lock(c.sv, lock);
	if (start_dirahead(&c, paths, parent, &e) < 0)
		goto fail;
	if (c.root->kind == T_PATH) {
		int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct stat rst;

		if (fd < 0) {
			sov_err_sys(&e, SOV_EXIT_FAIL, "/");
			goto fail;
		}
		if (fstat(fd, &rst) == 0)
			c.dev = rst.st_dev;
		if (bk_walk_save_dir(&c, fd, "/", proot, NULL, hex, &e) < 0)
			goto fail;
	} else if (bk_target_save_kids(&c, c.root, proot, hex, &e) < 0) {
		goto fail;
	}
	bk_dirahead_free(c.da);
	c.da = NULL;
	if (bk_saver_finish(c.sv, &e) < 0)
		goto fail;
	bk_walk_progress(&c, 1);
	bk_saver_stats(c.sv, &st);

	sov_time_format(started, ts);
	snap = jv_object();
	snap = jv_object_set(snap, jv_string("version"), jv_number(1));
	snap = jv_object_set(snap, jv_string("time"), jv_string(ts));
	snap = jv_object_set(snap, jv_string("host"), jv_string(host));
	snap = jv_object_set(snap, jv_string("paths"), jv_copy(paths));
	snap = jv_object_set(snap, jv_string("tags"),
			     jv_sort(jv_copy(tags), jv_copy(tags)));
	snap = jv_object_set(snap, jv_string("tree"), jv_string(hex));
	snap = jv_object_set(snap, jv_string("sources"), jv_copy(sources));
	snap = jv_object_set(snap, jv_string("program"),
			     jv_string("sov-backup " SOV_VERSION));
	if (jv_is_valid(parent))
		snap = jv_object_set(
		    snap, jv_string("parent"),
		    jv_object_get(jv_copy(parent), jv_string("id")));
	{
		double secs = (sov_time_mono_ms() - t0) / 1000.0;
		jv sum = jv_object();

		sum = jv_object_set(sum, jv_string("files"),
				    jv_number((double)c.files));
		sum = jv_object_set(sum, jv_string("dirs"),
				    jv_number((double)c.dirs));
		sum = jv_object_set(sum, jv_string("unchanged"),
				    jv_number((double)c.unchanged));
		sum = jv_object_set(sum, jv_string("bytes_read"),
				    jv_number((double)c.bytes_read));
		sum = jv_object_set(sum, jv_string("bytes_new"),
				    jv_number((double)st.new_bytes));
		sum = jv_object_set(sum, jv_string("blobs_new"),
				    jv_number((double)st.new_blobs));
		sum = jv_object_set(sum, jv_string("bytes_stored"),
				    jv_number((double)st.stored_bytes));
		sum = jv_object_set(sum, jv_string("packs"),
				    jv_number((double)st.packs));
		sum = jv_object_set(sum, jv_string("warnings"),
				    jv_number((double)c.warnings));
		sum = jv_object_set(sum, jv_string("vanished"),
				    jv_number((double)c.vanished));
		sum = jv_object_set(sum, jv_string("seconds"), jv_number(secs));
		snap = jv_object_set(snap, jv_string("summary"), sum);
	}
	if (bk_lock_lost(lock)) {
		sov_err_set(&e, SOV_EXIT_TEMPFAIL,
			    "the repository lock was lost (its lease could "
			    "not be renewed): no snapshot saved");
		goto fail;
	}
	if (bk_repo_save_snapshot(c.r, jv_copy(snap), sid, &e) < 0)
		goto fail;
	if (bk_dircache_save(c.dc, sid, &e) < 0) {
		/* the snapshot is saved: the next run is only slower */
		sov_cli_warn("cache: %s", e.msg);
		sov_err_clear(&e);
	}
	{
		char shex[BK_ID_HEX_LEN];
		jv rec = sov_record_new("snapshot");
		jv sum = jv_object_get(jv_copy(snap), jv_string("summary"));
		double secs = jv_number_value(
		    jv_object_get(jv_copy(sum), jv_string("seconds")));
		double ratio = st.new_bytes
				   ? (double)c.bytes_read / (double)st.new_bytes
				   : 0;

		bk_hex(sid, shex);
		rec = jv_object_set(rec, jv_string("id"), jv_string(shex));
		rec = jv_object_set(rec, jv_string("short_id"),
				    jv_string_sized(shex, 8));
		rec = jv_object_set(rec, jv_string("host"), jv_string(host));
		rec = jv_object_set(rec, jv_string("paths"), jv_copy(paths));
		rec = jv_object_set(rec, jv_string("tags"), jv_copy(tags));
		{
			int nk = 0;
			jv keys = jv_keys(jv_copy(sum));

			nk = jv_array_length(jv_copy(keys));
			for (int i = 0; i < nk; i++) {
				jv k = jv_array_get(jv_copy(keys), i);

				rec = jv_object_set(
				    rec, jv_copy(k),
				    jv_object_get(jv_copy(sum), k));
			}
			jv_free(keys);
		}
		rec = jv_object_set(rec, jv_string("dedup_ratio"),
				    jv_number(ratio));
		rec = jv_object_set(rec, jv_string("cache"),
				    jv_string(cache_why ? cache_why : "used"));
		jv_free(sum);
		if (bk_emit(rec, &e) < 0)
			goto fail;
		m = sov_metrics_open(co.metrics, NULL, &e);
		if (m) {
			jv tg = jv_object_set(
			    jv_object_set(jv_object(), jv_string("repo"),
					  jv_string(c.r->be->display)),
			    jv_string("host"), jv_string(host));
			struct {
				const char *name;
				double v;
				const char *unit;
			} ms[] = {
			    {"backup.bytes_read", (double)c.bytes_read,
			     "bytes"},
			    {"backup.bytes_new", (double)st.new_bytes, "bytes"},
			    {"backup.bytes_stored", (double)st.stored_bytes,
			     "bytes"},
			    {"backup.files", (double)c.files, "count"},
			    {"backup.seconds", secs, "s"},
			    {"backup.dedup_ratio", ratio, ""},
			    {"backup.warnings", (double)c.warnings, "count"},
			};
			for (size_t i = 0; i < sizeof(ms) / sizeof(*ms); i++)
				if (sov_metrics_add(m, ms[i].name, ms[i].v,
						    ms[i].unit, jv_copy(tg),
						    &e) < 0)
					break;
			jv_free(tg);
			if (sov_metrics_close(m, &e) < 0)
				sov_cli_warn("measurements: %s", e.msg);
			m = NULL;
		} else if (co.metrics || getenv("SOV_METRICS")) {
			sov_cli_warn("measurements: %s", e.msg);
		}
		sov_err_clear(&e);
	}
	rc = c.warnings > c.vanished ? SOV_EXIT_FAIL : SOV_EXIT_OK;
	if (rc != SOV_EXIT_OK)
		sov_cli_warn("snapshot saved, but %llu files or directories "
			     "could not be read (see above)",
			     (unsigned long long)(c.warnings - c.vanished));
	if (bk_emit_close(&e) < 0)
		rc = sov_cli_fail(&e);
	goto out;
fail:
	if (c.progress)
		fputc('\n', stderr);
	rc = sov_cli_fail(&e);
out:
	bk_dirahead_free(c.da);
	if (c.sv) {
		bk_walk_discard(&c, 0);
		bk_saver_finish(c.sv, NULL);
		bk_saver_free(c.sv);
	}
	bk_prefetch_free(c.pf);
	bk_dircache_free(c.dc);
	bk_target_free(c.root);
	for (size_t i = 0; i < c.nloose; i++)
		bk_target_free(c.loose[i]);
	bk_lock_release(lock, NULL);
	bk_repo_close(c.r);
	free(c.buf);
	free(c.pend);
	for (size_t i = 0; i < nexbuf; i++)
		free(exclude_bufs[i]);
	jv_free(tags);
	jv_free(paths);
	jv_free(sources);
	jv_free(parent);
	jv_free(proot);
	jv_free(snap);
	sodium_memzero(&c.ck_files, sizeof(c.ck_files));
	sodium_memzero(&c.ck_pages, sizeof(c.ck_pages));
	return rc;
}
