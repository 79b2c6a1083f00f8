/*
 * target_local.c - the fields of the targets that look at this machine
 * (disk, postgres, sqlite, systemd, wireguard), and what must hold
 * between them.
 */
#include "target_int.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
check_percent(struct sov_jcheck *c, jv v, double *out)
{
	return sov_jcheck_number(c, v, 0, 100, out);
}

/* Bytes: a number, or a string with a binary unit ("10GiB", "512M"). */
static int
check_bytes(struct sov_jcheck *c, jv v, double *out)
{
	static const char units[] = "KMGTP";
	const char *s, *u;
	char *end;
	double n;

	if (jv_get_kind(v) == JV_KIND_NUMBER)
		return sov_jcheck_number(c, v, 0, 1e18, out);
	if (jv_get_kind(v) != JV_KIND_STRING)
		return sov_jcheck_fail(c,
				       "must be bytes (a number or \"10GiB\"),"
				       " not %s",
				       sov_jcheck_kind(v));
	s = jv_string_value(v);
	n = strtod(s, &end);
	if (end == s || !isfinite(n) || n < 0)
		return sov_jcheck_fail(c, "not a size: want e.g. \"10GiB\"");
	while (*end == ' ')
		end++;
	if (*end && (u = strchr(units, toupper((unsigned char)*end)))) {
		for (const char *p = units; p <= u; p++)
			n *= 1024;
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || n > 1e18)
		return sov_jcheck_fail(c, "not a size: want e.g. \"10GiB\"");
	*out = n;
	return 0;
}

/* ---- disk ---- */

static struct pr_disk *
K(void *t)
{
	return &((struct pr_tctx *)t)->t->u.disk;
}

static int
f_disk_path(struct sov_jcheck *c, jv v, void *t)
{
	return pr_check_path(c, v, &K(t)->path);
}

static int
f_min_free_percent(struct sov_jcheck *c, jv v, void *t)
{
	return check_percent(c, v, &K(t)->min_free_percent);
}

static int
f_min_free_bytes(struct sov_jcheck *c, jv v, void *t)
{
	return check_bytes(c, v, &K(t)->min_free_bytes);
}

static int
f_min_inodes_percent(struct sov_jcheck *c, jv v, void *t)
{
	return check_percent(c, v, &K(t)->min_inodes_percent);
}

const struct sov_jfield pr_disk_fields[] = {
    PR_COMMON_FIELDS,
    {"min_free_bytes", f_min_free_bytes},
    {"min_free_percent", f_min_free_percent},
    {"min_inodes_percent", f_min_inodes_percent},
    {"path", f_disk_path},
    PR_FIELDS_END,
};

/* ---- postgres, sqlite ---- */

static struct pr_db *
B(void *t)
{
	return &((struct pr_tctx *)t)->t->u.db;
}

/* user:password@ in the authority, or a password= parameter. */
static int
pr_url_has_password(const char *url)
{
	const char *auth = strstr(url, "://"), *end, *at;

	if (strstr(url, "password="))
		return 1;
	if (auth == NULL)
		return 0;
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	at = memchr(auth, '@', (size_t)(end - auth));
	return at && memchr(auth, ':', (size_t)(at - auth)) != NULL;
}

static int
f_pg_url(struct sov_jcheck *c, jv v, void *t)
{
	char **url = &B(t)->url;

	if (pr_check_str(c, v, PR_URL_MAX, url) < 0)
		return -1;
	if (strncmp(*url, "postgres://", 11) != 0 &&
	    strncmp(*url, "postgresql://", 13) != 0)
		return sov_jcheck_fail(c, "must start with postgres:// or "
					  "postgresql://");
	if (pr_url_has_password(*url))
		return sov_jcheck_fail(c, "holds a password: put the URL in a "
					  "file and name it in url_file");
	return 0;
}

static int
f_url_file(struct sov_jcheck *c, jv v, void *t)
{
	return pr_check_str(c, v, PR_PATH_MAX, &B(t)->url_file);
}

static int
f_query(struct sov_jcheck *c, jv v, void *t)
{
	return pr_check_str(c, v, PR_TEXT_MAX, &B(t)->query);
}

static int
f_db_jq(struct sov_jcheck *c, jv v, void *t)
{
	return sov_jcheck_jq(c, v, PR_JQ_MAX, jv_invalid(), &B(t)->jq_src,
			     &B(t)->jq);
}

static int
f_sqlite_path(struct sov_jcheck *c, jv v, void *t)
{
	return pr_check_path(c, v, &B(t)->url);
}

const struct sov_jfield pr_postgres_fields[] = {
    PR_COMMON_FIELDS,   {"jq", f_db_jq},   {"latency", pr_field_latency},
    {"query", f_query}, {"url", f_pg_url}, {"url_file", f_url_file},
    PR_FIELDS_END,
};

const struct sov_jfield pr_sqlite_fields[] = {
    PR_COMMON_FIELDS,
    {"latency", pr_field_latency},
    {"path", f_sqlite_path},
    PR_FIELDS_END,
};

/* ---- systemd, wireguard ---- */

static int
f_unit(struct sov_jcheck *c, jv v, void *t)
{
	char **unit = &((struct pr_tctx *)t)->t->u.unit;

	if (pr_check_str(c, v, 256, unit) < 0)
		return -1;
	for (const char *p = *unit; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(":-_.\\@", *p))
			return sov_jcheck_fail(c, "not a unit name");
	if ((*unit)[0] == '-')
		return sov_jcheck_fail(c, "not a unit name");
	return 0;
}

const struct sov_jfield pr_systemd_fields[] = {
    PR_COMMON_FIELDS,
    {"unit", f_unit},
    PR_FIELDS_END,
};

static int
f_wg_max_age(struct sov_jcheck *c, jv v, void *t)
{
	return pr_check_max_age(c, v,
				&((struct pr_tctx *)t)->t->u.wg.max_age_ms);
}

static int
f_interface(struct sov_jcheck *c, jv v, void *t)
{
	char **ifname = &((struct pr_tctx *)t)->t->u.wg.interface;

	if (pr_check_str(c, v, 15, ifname) < 0)
		return -1;
	for (const char *p = *ifname; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
			return sov_jcheck_fail(c, "not an interface name");
	return 0;
}

static int
f_peers(struct sov_jcheck *c, jv v, void *t)
{
	char ***peers = &((struct pr_tctx *)t)->t->u.wg.peers;

	if (pr_check_strings(c, v, PR_EXPECT_MAX, 64, peers) < 0)
		return -1;
	for (int i = 0; (*peers)[i]; i++) {
		const char *k = (*peers)[i];
		size_t n = strlen(k);
		int ok = n == 44 && k[43] == '=';

		for (size_t j = 0; ok && j < 43; j++)
			ok = isalnum((unsigned char)k[j]) || k[j] == '+' ||
			     k[j] == '/';
		if (!ok) {
			sov_jcheck_push_index(c, i);
			return sov_jcheck_fail(c, "not a WireGuard public key "
						  "(44 characters of base64)");
		}
	}
	return 0;
}

const struct sov_jfield pr_wireguard_fields[] = {
    PR_COMMON_FIELDS,
    {"interface", f_interface},
    {"max_age", f_wg_max_age},
    {"peers", f_peers},
    PR_FIELDS_END,
};

int
pr_target_local_finish(struct sov_jcheck *c, struct pr_tctx *tc)
{
	struct pr_target *t = tc->t;

	switch (t->type) {
	case PR_DISK:
		if (t->u.disk.path == NULL)
			return pr_check_required(c, "path");
		if (t->u.disk.min_free_percent < 0 &&
		    t->u.disk.min_free_bytes < 0 &&
		    t->u.disk.min_inodes_percent < 0) {
			t->u.disk.min_free_percent = PR_DISK_FREE_DEFAULT;
			t->u.disk.min_inodes_percent = PR_DISK_FREE_DEFAULT;
		}
		break;
	case PR_POSTGRES:
		if ((t->u.db.url == NULL) == (t->u.db.url_file == NULL))
			return sov_jcheck_fail(c, "needs exactly one of url "
						  "and url_file");
		if (t->u.db.query == NULL &&
		    (t->u.db.query = strdup("SELECT 1")) == NULL)
			return sov_err_set(c->e, SOV_EXIT_FAIL,
					   "out of memory");
		break;
	case PR_SQLITE:
		if (t->u.db.url == NULL)
			return pr_check_required(c, "path");
		break;
	case PR_SYSTEMD:
		if (t->u.unit == NULL)
			return pr_check_required(c, "unit");
		break;
	case PR_WIREGUARD:
		if (t->u.wg.interface == NULL)
			return pr_check_required(c, "interface");
		if (t->u.wg.max_age_ms == 0)
			t->u.wg.max_age_ms = PR_HANDSHAKE_AGE_DEFAULT_MS;
		break;
	default:
		break;
	}
	return 0;
}
