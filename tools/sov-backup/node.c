/*
 * node.c - a directory entry as a JSON tree node, and a node back onto
 * disk; see node.h.
 *
 * Restore runs bk_node_name, bk_node_create and the member readers that
 * meta.c builds its struct bk_meta with on trees read from a repository,
 * so every member is checked before it is used and nothing here follows a
 * symlink in the target: names are single components. Applying metadata
 * is meta.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "jsonl.h"
#include "meta.h"
#include "node.h"

#define B64 sodium_base64_VARIANT_ORIGINAL

/* "2026-11-22T03:00:00.123456789Z" and the NUL. */
#define TIME_LEN 31
/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: what RFC 3339 can say. */
#define TIME_SEC_MIN INT64_C(-62167219200)
#define TIME_SEC_MAX INT64_C(253402300799)

/* Largest integer a JSON number (a double in jq) holds exactly. */
#define EXACT_MAX (UINT64_C(1) << 53)
/* Decimal digits of UINT64_MAX. */
#define U64_DIGITS 20

/* Longest symlink target we create or record (bytes, without the NUL). */
#define TARGET_BYTES_MAX (PATH_MAX - 1)
/* Longest user or group name recorded or looked up. */
#define OWNER_NAME_MAX 256
/* Largest buffer handed to getpw*_r/getgr*_r (a group with many members). */
#define NSS_BUF_MAX (1u << 20)
/* Owner lookups remembered (per direction). */
#define OWNER_CACHE_SLOTS 64
/* Tree data is untrusted: it must not reach a terminal raw. */
const char *
bk_node_show(struct bk_shown *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	int utf8 = sov_utf8_check(s, n) < 0;
	size_t o = 0;

	for (size_t i = 0; i < n && i < BK_SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\') {
			out->s[o++] = '\\';
			out->s[o++] = '\\';
		} else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8)) {
			out->s[o++] = '\\';
			out->s[o++] = 'x';
			out->s[o++] = hex[c >> 4];
			out->s[o++] = hex[c & 15];
		} else {
			out->s[o++] = (char)c;
		}
	}
	if (n > BK_SHOW_MAX) {
		memcpy(out->s + o, "...", 3);
		o += 3;
	}
	out->s[o] = '\0';
	return out->s;
}

/* ---- times: RFC 3339 UTC with nanoseconds ---- */

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/*
 * Format ts. A time outside years 0000..9999 (touch -d can make one) is
 * clamped to the nearest end: losing a file over its mtime would be worse.
 */
static int
time_format(const struct timespec *ts, char buf[TIME_LEN])
{
	int64_t sec = (int64_t)ts->tv_sec, days, y;
	long ns = ts->tv_nsec;
	int mo, d, sod, n;

	if (ns < 0 || ns > 999999999L)
		ns = 0;
	if (sec < TIME_SEC_MIN) {
		sec = TIME_SEC_MIN;
		ns = 0;
	} else if (sec > TIME_SEC_MAX) {
		sec = TIME_SEC_MAX;
		ns = 999999999L;
	}
	days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
	sod = (int)(sec - days * 86400);
	civil_from_days(days, &y, &mo, &d);
	n = snprintf(buf, TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ",
		     (int)y, mo, d, sod / 3600, sod / 60 % 60, sod % 60, ns);
	return n == TIME_LEN - 1 ? 0 : -1;
}

static int
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/*
 * Parse exactly the form time_format writes, with 1 to 9 fraction digits
 * or none: "YYYY-MM-DDTHH:MM:SS[.fffffffff]Z". No offsets, no lower case,
 * no leap second: trees only ever hold what we wrote.
 */
static int
time_parse(const char *s, size_t len, struct timespec *ts)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, leap, mdays_mo;
	long ns = 0;
	size_t i = 19;

	if (len < 20 || len > TIME_LEN - 1)
		return -1;
	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || s[10] != 'T' ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
	    s[16] != ':' || digits(s + 17, 2, &sec))
		return -1;
	if (s[i] == '.') {
		int n = 0;

		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, n++)
			ns = ns * 10 + (s[i] - '0');
		if (n < 1 || n > 9)
			return -1;
		for (; n < 9; n++)
			ns *= 10;
	}
	if (i != len - 1 || s[i] != 'Z')
		return -1;
	if (mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59)
		return -1;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	mdays_mo = mo == 2 && leap ? 29 : mdays[mo - 1];
	if (d < 1 || d > mdays_mo)
		return -1;
	ts->tv_sec =
	    (time_t)(((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 +
		     sec);
	ts->tv_nsec = ns;
	return 0;
}

int
bk_node_time(jv node, const char *field, const char *who, int required,
	     struct timespec *ts, struct sov_err *e)
{
	jv v = jv_object_get(jv_copy(node), jv_string(field));
	int rc = -1;

	if (jv_get_kind(v) == JV_KIND_INVALID ||
	    jv_get_kind(v) == JV_KIND_NULL) {
		if (required) {
			sov_err_set(e, SOV_EXIT_USAGE, "%s: %s: missing", who,
				    field);
			goto out;
		}
		ts->tv_sec = 0;
		ts->tv_nsec = UTIME_OMIT;
	} else if (jv_get_kind(v) != JV_KIND_STRING) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: %s: not a string", who,
			    field);
		goto out;
	} else if (time_parse(jv_string_value(v),
			      (size_t)jv_string_length_bytes(jv_copy(v)),
			      ts) < 0) {
		struct bk_shown sh;

		sov_err_set(
		    e, SOV_EXIT_USAGE,
		    "%s: %s: malformed time \"%s\" (want "
		    "2026-11-22T03:00:00.123456789Z)",
		    who, field,
		    bk_node_show(&sh, jv_string_value(v),
				 (size_t)jv_string_length_bytes(jv_copy(v))));
		goto out;
	}
	rc = 0;
out:
	jv_free(v);
	return rc;
}

static jv
put_time(jv node, const char *field, const struct timespec *ts)
{
	char buf[TIME_LEN];

	if (time_format(ts, buf) < 0)
		return node; /* cannot happen: every field has fixed width */
	return jv_object_set(node, jv_string(field), jv_string(buf));
}

/* ---- integers ---- */

/*
 * A 64-bit count (size, inode, device, links, rdev): a JSON number when a
 * double holds it exactly, else a decimal string, so that two inodes that
 * differ only in their low bits (overlayfs sets high ones) never compare
 * equal after a round trip through jq.
 */
static jv
put_u64(jv node, const char *field, uint64_t v)
{
	char buf[U64_DIGITS + 1];
	int n;

	if (v <= EXACT_MAX)
		return jv_object_set(node, jv_string(field),
				     jv_number((double)v));
	n = snprintf(buf, sizeof(buf), "%" PRIu64, v);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return node; /* cannot happen: 20 digits fit */
	return jv_object_set(node, jv_string(field), jv_string(buf));
}

/*
 * Read v as an unsigned integer no larger than max: a number (integral,
 * exact), or with strings != 0 also a decimal string. -1 when it is not.
 */
static int
jv_to_u64(jv v, uint64_t max, int strings, uint64_t *out)
{
	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		double d = jv_number_value(v);

		if (!(d >= 0 && d <= (double)EXACT_MAX) ||
		    d != (double)(uint64_t)d)
			return -1;
		*out = (uint64_t)d;
	} else if (strings && jv_get_kind(v) == JV_KIND_STRING) {
		const char *s = jv_string_value(v);
		int n = jv_string_length_bytes(jv_copy(v));
		uint64_t x = 0;

		if (n < 1 || n > U64_DIGITS || (s[0] == '0' && n > 1))
			return -1;
		for (int i = 0; i < n; i++) {
			if (s[i] < '0' || s[i] > '9' ||
			    x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
				return -1;
			x = x * 10 + (uint64_t)(s[i] - '0');
		}
		*out = x;
	} else {
		return -1;
	}
	return *out <= max ? 0 : -1;
}

int
bk_node_uint(jv node, const char *field, const char *who, uint64_t max,
	     int strings, uint64_t *out, struct sov_err *e)
{
	jv v = jv_object_get(jv_copy(node), jv_string(field));
	int rc = 1;

	if (jv_get_kind(v) == JV_KIND_INVALID || jv_get_kind(v) == JV_KIND_NULL)
		rc = 0;
	else if (jv_to_u64(v, max, strings, out) < 0)
		rc = sov_err_set(e, SOV_EXIT_USAGE,
				 "%s: %s: not an integer in 0..%" PRIu64, who,
				 field, max);
	jv_free(v);
	return rc;
}

int
bk_node_u64(jv node, const char *field, uint64_t *out, struct sov_err *e)
{
	if (jv_get_kind(node) != JV_KIND_OBJECT)
		return sov_err_set(e, SOV_EXIT_USAGE, "node: not an object");
	return bk_node_uint(node, field, "node", UINT64_MAX, 1, out, e);
}

/* ---- owners: uid/gid <-> names, cached ---- */

/*
 * A backup meets thousands of files with the same few owners, and an NSS
 * lookup can be a file read or a socket round trip (sssd, LDAP), so answers
 * are remembered, found or not, for the life of the process. The caches
 * are static and NOT thread-safe: call the functions that look up owners
 * (bk_node_from_entry, bk_node_owner, and so bk_meta_from_node and
 * bk_node_apply_meta with BK_META_BY_NAME) from one thread at a time. A lookup
 * that fails (not "no such user" but ENOMEM, EIO, a dead LDAP server) is not
 * remembered.
 */
struct owner_slot {
	int used, group, found;
	uint32_t id;
	char name[OWNER_NAME_MAX];
};

static struct owner_slot by_id[OWNER_CACHE_SLOTS];
static struct owner_slot by_name[OWNER_CACHE_SLOTS];
static unsigned by_id_next, by_name_next;

/* Keep a name only when it fits and is valid UTF-8 (it goes into JSON). */
static void
slot_take_name(struct owner_slot *s, const char *name)
{
	size_t n = strnlen(name, OWNER_NAME_MAX);

	if (n == 0 || n >= OWNER_NAME_MAX || sov_utf8_check(name, n) >= 0)
		return;
	memcpy(s->name, name, n + 1);
	s->found = 1;
}

/*
 * Fill s (group, and id or name set) from NSS: 0 with s->found set or not,
 * -1 when the lookup itself failed.
 */
static int
nss_lookup(struct owner_slot *s, int want_id)
{
	size_t size = 1024;
	char *buf = NULL, *nb;
	int r = ENOMEM;

	s->found = 0;
	for (;;) {
		if ((nb = realloc(buf, size)) == NULL)
			break;
		buf = nb;
		if (s->group) {
			struct group gr, *res = NULL;

			r = want_id ? getgrnam_r(s->name, &gr, buf, size, &res)
				    : getgrgid_r(s->id, &gr, buf, size, &res);
			if (r == 0 && res != NULL && want_id) {
				s->id = (uint32_t)gr.gr_gid;
				s->found = 1;
			} else if (r == 0 && res != NULL) {
				slot_take_name(s, gr.gr_name);
			}
		} else {
			struct passwd pw, *res = NULL;

			r = want_id ? getpwnam_r(s->name, &pw, buf, size, &res)
				    : getpwuid_r(s->id, &pw, buf, size, &res);
			if (r == 0 && res != NULL && want_id) {
				s->id = (uint32_t)pw.pw_uid;
				s->found = 1;
			} else if (r == 0 && res != NULL) {
				slot_take_name(s, pw.pw_name);
			}
		}
		if (r != ERANGE || size >= NSS_BUF_MAX)
			break;
		size *= 2;
	}
	free(buf);
	/* "Not found" is 0 and a NULL result, or one of these (getpwnam(3)). */
	return r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM
		   ? 0
		   : -1;
}

/* The name of uid/gid id (NULL when it has none); valid until the next
 * lookup. */
static const char *
owner_name(int group, uint32_t id)
{
	struct owner_slot tmp = {0}, *s;

	for (unsigned i = 0; i < OWNER_CACHE_SLOTS; i++) {
		s = &by_id[i];
		if (s->used && s->group == group && s->id == id)
			return s->found ? s->name : NULL;
	}
	tmp.group = group;
	tmp.id = id;
	if (nss_lookup(&tmp, 0) < 0)
		return NULL;
	tmp.used = 1;
	s = &by_id[by_id_next++ % OWNER_CACHE_SLOTS];
	*s = tmp;
	return s->found ? s->name : NULL;
}

const char *
bk_node_owner_name(int group, uint32_t id)
{
	return owner_name(group, id);
}

/* The id of user/group name: 1 found, 0 not (or not a usable name). */
static int
owner_id(int group, const char *name, size_t len, uint32_t *id)
{
	struct owner_slot tmp = {0}, *s;

	if (len == 0 || len >= OWNER_NAME_MAX || memchr(name, '\0', len))
		return 0;
	for (unsigned i = 0; i < OWNER_CACHE_SLOTS; i++) {
		s = &by_name[i];
		if (s->used && s->group == group &&
		    strcmp(s->name, name) == 0) {
			*id = s->id;
			return s->found;
		}
	}
	tmp.group = group;
	memcpy(tmp.name, name, len + 1);
	if (nss_lookup(&tmp, 1) < 0)
		return 0;
	tmp.used = 1;
	by_name[by_name_next++ % OWNER_CACHE_SLOTS] = tmp;
	*id = tmp.id;
	return tmp.found;
}

/* ---- names and byte strings ---- */

/* key (UTF-8) or key_b64 for the bytes s[0..n). */
static jv
put_bytes(jv node, const char *key, const char *key_b64, const char *s,
	  size_t n)
{
	char *b64;
	size_t b64len;

	if (sov_utf8_check(s, n) < 0) {
		if (jv_object_has(jv_copy(node), jv_string(key_b64)))
			node = jv_object_delete(node, jv_string(key_b64));
		return jv_object_set(node, jv_string(key),
				     jv_string_sized(s, (int)n));
	}
	b64len = sodium_base64_encoded_len(n, B64);
	if ((b64 = malloc(b64len)) == NULL) {
		jv_free(node);
		return jv_invalid_with_msg(jv_string("out of memory"));
	}
	sodium_bin2base64(b64, b64len, (const unsigned char *)s, n, B64);
	if (jv_object_has(jv_copy(node), jv_string(key)))
		node = jv_object_delete(node, jv_string(key));
	node = jv_object_set(node, jv_string(key_b64), jv_string(b64));
	free(b64);
	return node;
}

/*
 * The bytes of key or key_b64 (exactly one present): malloc'ed and
 * NUL-terminated into *out, length into *len. Refused: neither or both, not
 * a string, bad base64, empty, a NUL byte, more than max bytes. The error
 * is "who: key: what".
 */
static int
get_bytes(jv node, const char *key, const char *key_b64, size_t max,
	  const char *who, char **out, size_t *len, struct sov_err *e)
{
	jv v = jv_object_get(jv_copy(node), jv_string(key));
	jv b = jv_object_get(jv_copy(node), jv_string(key_b64));
	int has_v = jv_get_kind(v) != JV_KIND_INVALID;
	int has_b = jv_get_kind(b) != JV_KIND_INVALID;
	const char *field = has_b ? key_b64 : key;
	char *buf = NULL;
	size_t n = 0;
	int rc = -1;

	*out = NULL;
	if (has_v == has_b) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: %s: %s", who, key,
			    has_v ? "both it and a base64 form present"
				  : "missing");
		goto out;
	}
	if (jv_get_kind(has_v ? v : b) != JV_KIND_STRING) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: %s: not a string", who,
			    field);
		goto out;
	}
	if (has_v) {
		n = (size_t)jv_string_length_bytes(jv_copy(v));
		if (n > max) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "%s: %s: longer than %zu bytes", who, field,
				    max);
			goto out;
		}
		if ((buf = malloc(n + 1)) == NULL) {
			sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s: %s", who, field);
			goto out;
		}
		memcpy(buf, jv_string_value(v), n);
	} else {
		const char *s = jv_string_value(b), *end = NULL;
		size_t sn = (size_t)jv_string_length_bytes(jv_copy(b));

		if (sn >= sodium_base64_encoded_len(max, B64)) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "%s: %s: longer than %zu bytes", who, field,
				    max);
			goto out;
		}
		/* sn < encoded_len(max) decodes to at most max + 2 bytes. */
		if ((buf = malloc(max + 3)) == NULL) {
			sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s: %s", who, field);
			goto out;
		}
		if (sodium_base642bin((unsigned char *)buf, max + 2, s, sn,
				      NULL, &n, &end, B64) != 0 ||
		    end != s + sn) {
			sov_err_set(e, SOV_EXIT_USAGE, "%s: %s: not base64",
				    who, field);
			goto out;
		}
		if (n > max) {
			sov_err_set(e, SOV_EXIT_USAGE,
				    "%s: %s: longer than %zu bytes", who, field,
				    max);
			goto out;
		}
	}
	buf[n] = '\0';
	if (n == 0) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: %s: empty", who, field);
		goto out;
	}
	if (memchr(buf, '\0', n) != NULL) {
		sov_err_set(e, SOV_EXIT_USAGE, "%s: %s: contains a NUL byte",
			    who, field);
		goto out;
	}
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	jv_free(v);
	jv_free(b);
	return rc;
}

char *
bk_node_name(jv node, struct sov_err *e)
{
	struct bk_shown sh;
	char *name = NULL;
	size_t n;

	if (jv_get_kind(node) != JV_KIND_OBJECT) {
		sov_err_set(e, SOV_EXIT_USAGE, "node: not an object");
		return NULL;
	}
	if (get_bytes(node, "name", "name_b64", BK_NAME_BYTES_MAX, "node",
		      &name, &n, e) < 0)
		return NULL;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    memchr(name, '/', n) != NULL) {
		sov_err_set(e, SOV_EXIT_USAGE,
			    "node: name: \"%s\" is not a file name",
			    bk_node_show(&sh, name, n));
		free(name);
		return NULL;
	}
	return name;
}

jv
bk_node_set_name(jv node, const char *name)
{
	if (jv_get_kind(node) != JV_KIND_OBJECT || name == NULL) {
		jv_free(node);
		return jv_invalid_with_msg(jv_string("bk_node_set_name"));
	}
	return put_bytes(node, "name", "name_b64", name, strlen(name));
}

/* ---- types ---- */

static const struct {
	const char *name;
	mode_t fmt;
} types[] = {
    {"file", S_IFREG},    {"dir", S_IFDIR},     {"symlink", S_IFLNK},
    {"fifo", S_IFIFO},    {"chardev", S_IFCHR}, {"blockdev", S_IFBLK},
    {"socket", S_IFSOCK},
};

const char *
bk_node_fmt_name(mode_t mode)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if ((mode & S_IFMT) == types[i].fmt)
			return types[i].name;
	return NULL;
}

/* S_IF* of a type name, 0 when unknown. */
static mode_t
type_fmt(const char *name)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(name, types[i].name) == 0)
			return types[i].fmt;
	return 0;
}

const char *
bk_node_type(jv node)
{
	const char *s = "";
	jv v;

	if (jv_get_kind(node) != JV_KIND_OBJECT)
		return s;
	v = jv_object_get(jv_copy(node), jv_string("type"));
	/* The string lives on in node, which holds a reference. */
	if (jv_get_kind(v) == JV_KIND_STRING)
		s = jv_string_value(v);
	jv_free(v);
	return s;
}

int
bk_node_fmt(jv node, const char *who, mode_t *fmt, struct sov_err *e)
{
	const char *t = bk_node_type(node);
	struct bk_shown sh;

	if ((*fmt = type_fmt(t)) == 0)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "%s: type: unknown \"%s\"", who,
				   bk_node_show(&sh, t, strlen(t)));
	return 0;
}

/* ---- from disk ---- */

/* The symlink name's target into node (consumed); invalid with e set. */
static jv
put_target(jv node, int dirfd, const char *name, const char *who, int *gone,
	   struct sov_err *e)
{
	char *buf = malloc(PATH_MAX);
	ssize_t len;

	if (buf == NULL) {
		sov_err_sys(e, SOV_EXIT_TEMPFAIL, "readlink %s", who);
		goto bad;
	}
	if ((len = readlinkat(dirfd, name, buf, PATH_MAX)) < 0) {
		int err = errno;

		if (err == ENOENT && gone) /* vanished since the lstat */
			*gone = 1;
		sov_err_sys(
		    e, err == ENOENT ? SOV_EXIT_FAIL : sov_exit_code_errno(err),
		    "readlink %s", who);
		goto bad;
	}
	if ((size_t)len > TARGET_BYTES_MAX) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "readlink %s: target longer than %d bytes", who,
			    TARGET_BYTES_MAX);
		goto bad;
	}
	node = put_bytes(node, "target", "target_b64", buf, (size_t)len);
	if (!jv_is_valid(node))
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "%s: out of memory", who);
	goto out;
bad:
	jv_free(node);
	node = jv_invalid();
out:
	free(buf);
	return node;
}

jv
bk_node_from_entry(int dirfd, const char *name, const char *path,
		   const struct stat *st, int *gone, struct sov_err *e)
{
	return bk_node_from_entry_atime(dirfd, name, path, st, 1, gone, e);
}

jv
bk_node_from_entry_atime(int dirfd, const char *name, const char *path,
			 const struct stat *st, int atime, int *gone,
			 struct sov_err *e)
{
	const char *who = path ? path : name, *tn, *owner;
	jv node = jv_invalid();
	struct stat sb;
	size_t n;

	if (gone)
		*gone = 0;
	if (name == NULL || (n = strlen(name)) == 0 || n > BK_NAME_BYTES_MAX ||
	    strchr(name, '/') != NULL) {
		struct bk_shown sh;

		sov_err_set(
		    e, SOV_EXIT_USAGE, "%s: \"%s\" is not one path component",
		    who ? who : "(null)",
		    name ? bk_node_show(&sh, name, strlen(name)) : "(null)");
		return node;
	}
	if (st == NULL) {
		if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			int err = errno;

			if (err == ENOENT && gone)
				*gone = 1;
			sov_err_sys(e,
				    err == ENOENT ? SOV_EXIT_FAIL
						  : sov_exit_code_errno(err),
				    "lstat %s", who);
			return node;
		}
		st = &sb;
	}
	if ((tn = bk_node_fmt_name(st->st_mode)) == NULL) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: unknown file type 0%o", who,
			    (unsigned)(st->st_mode & S_IFMT));
		return node;
	}
	node = bk_node_set_name(jv_object(), name);
	if (!jv_is_valid(node)) { /* malloc in put_bytes */
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "%s: out of memory", who);
		return node;
	}
	node = jv_object_set(node, jv_string("type"), jv_string(tn));
	node = jv_object_set(node, jv_string("mode"),
			     jv_number((double)(st->st_mode & 07777)));
	node = jv_object_set(node, jv_string("uid"),
			     jv_number((double)st->st_uid));
	node = jv_object_set(node, jv_string("gid"),
			     jv_number((double)st->st_gid));
	if ((owner = owner_name(0, (uint32_t)st->st_uid)) != NULL)
		node = jv_object_set(node, jv_string("user"), jv_string(owner));
	if ((owner = owner_name(1, (uint32_t)st->st_gid)) != NULL)
		node =
		    jv_object_set(node, jv_string("group"), jv_string(owner));
	node = put_time(node, "mtime", &st->st_mtim);
	if (atime)
		node = put_time(node, "atime", &st->st_atim);
	node = put_time(node, "ctime", &st->st_ctim);
	if (S_ISREG(st->st_mode))
		node = put_u64(node, "size", (uint64_t)st->st_size);
	if (!S_ISDIR(st->st_mode)) {
		/* A directory's link count counts its subdirectories. */
		node = put_u64(node, "inode", (uint64_t)st->st_ino);
		node = put_u64(node, "device", (uint64_t)st->st_dev);
		node = put_u64(node, "links", (uint64_t)st->st_nlink);
	}
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		node = put_u64(node, "rdev", (uint64_t)st->st_rdev);
	if (S_ISLNK(st->st_mode))
		return put_target(node, dirfd, name, who, gone, e);
	return node;
}

/* Whether v (borrowed) is the string s. */
static int
is_string(jv v, const char *s)
{
	return jv_get_kind(v) == JV_KIND_STRING &&
	       strcmp(jv_string_value(v), s) == 0;
}

/* Whether v (borrowed) is n as put_u64 writes it. */
static int
is_u64(jv v, uint64_t n)
{
	char buf[U64_DIGITS + 1];

	if (n <= EXACT_MAX)
		return jv_get_kind(v) == JV_KIND_NUMBER &&
		       jv_number_value(v) == (double)n;
	snprintf(buf, sizeof(buf), "%" PRIu64, n);
	return is_string(v, buf);
}

/* Whether v (borrowed) is ts as put_time writes it. */
static int
is_time(jv v, const struct timespec *ts)
{
	char buf[TIME_LEN];

	return time_format(ts, buf) == 0 && is_string(v, buf);
}

int
bk_node_same_file(jv pnode, const char *name, const struct stat *st,
		  int atime)
{
	const char *user, *group;
	int want, seen = 0, ok = 1;

	if (jv_get_kind(pnode) != JV_KIND_OBJECT || !S_ISREG(st->st_mode))
		return 0;
	user = owner_name(0, (uint32_t)st->st_uid);
	/* owner_name's string lives until the next lookup: keep a copy */
	{
		char ubuf[OWNER_NAME_MAX];

		if (user) {
			snprintf(ubuf, sizeof(ubuf), "%s", user);
			user = ubuf;
		}
		group = owner_name(1, (uint32_t)st->st_gid);
		/* name type mode uid gid mtime ctime size inode device links
		 * content, and the optional ones */
		want = 12 + (user != NULL) + (group != NULL) + (atime != 0);
		for (int it = jv_object_iter(pnode);
		     ok && jv_object_iter_valid(pnode, it);
		     it = jv_object_iter_next(pnode, it)) {
			jv k = jv_object_iter_key(pnode, it);
			jv v = jv_object_iter_value(pnode, it);
			const char *key = jv_string_value(k);

			seen++;
			if (strcmp(key, "name") == 0)
				ok = is_string(v, name);
			else if (strcmp(key, "type") == 0)
				ok = is_string(v, "file");
			else if (strcmp(key, "mode") == 0)
				ok = jv_get_kind(v) == JV_KIND_NUMBER &&
				     jv_number_value(v) ==
					 (double)(st->st_mode & 07777);
			else if (strcmp(key, "uid") == 0)
				ok = jv_get_kind(v) == JV_KIND_NUMBER &&
				     jv_number_value(v) == (double)st->st_uid;
			else if (strcmp(key, "gid") == 0)
				ok = jv_get_kind(v) == JV_KIND_NUMBER &&
				     jv_number_value(v) == (double)st->st_gid;
			else if (strcmp(key, "user") == 0)
				ok = user && is_string(v, user);
			else if (strcmp(key, "group") == 0)
				ok = group && is_string(v, group);
			else if (strcmp(key, "mtime") == 0)
				ok = is_time(v, &st->st_mtim);
			else if (strcmp(key, "ctime") == 0)
				ok = is_time(v, &st->st_ctim);
			else if (strcmp(key, "atime") == 0)
				ok = atime && is_time(v, &st->st_atim);
			else if (strcmp(key, "size") == 0)
				ok = is_u64(v, (uint64_t)st->st_size);
			else if (strcmp(key, "inode") == 0)
				ok = is_u64(v, (uint64_t)st->st_ino);
			else if (strcmp(key, "device") == 0)
				ok = is_u64(v, (uint64_t)st->st_dev);
			else if (strcmp(key, "links") == 0)
				ok = is_u64(v, (uint64_t)st->st_nlink);
			else if (strcmp(key, "content") == 0)
				ok = jv_get_kind(v) == JV_KIND_ARRAY;
			else
				ok = 0; /* name_b64, source, anything new */
			jv_free(k);
			jv_free(v);
		}
	}
	return ok && seen == want;
}

/* ---- onto disk ---- */

/*
 * Make the entry once: 0, or -1 with errno (EEXIST when something is in
 * the way). target and rdev only for their types.
 */
static int
make_entry(int dirfd, const char *name, mode_t fmt, const char *target,
	   dev_t rdev)
{
	switch (fmt) {
	case S_IFDIR:
		return mkdirat(dirfd, name, 0700);
	case S_IFLNK:
		return symlinkat(target, dirfd, name);
	case S_IFIFO:
		return mkfifoat(dirfd, name, 0600);
	case S_IFCHR:
	case S_IFBLK:
		return mknodat(dirfd, name, fmt | 0600, rdev);
	}
	errno = EINVAL;
	return -1;
}

/*
 * make_entry, replacing what is in the way when replace: a directory for a
 * directory is reused (made 0700), any other non-directory is unlinked
 * (a symlink in the way is removed, never followed), a directory for
 * anything else is an error (removing a tree is not this function's call).
 * 0 or -1 with e set ("create TYPE NAME: ..."). EEXIST, and EPERM from
 * mknod without CAP_MKNOD, are SOV_EXIT_FAIL: the caller may warn.
 */
static int
make_or_replace(int dirfd, const char *name, const char *who, const char *t,
		mode_t fmt, const char *target, dev_t rdev, int replace,
		struct sov_err *e)
{
	const char *what = "";
	struct stat st;
	int err;

	if (make_entry(dirfd, name, fmt, target, rdev) == 0)
		return 0;
	if (errno != EEXIST || !replace)
		goto sys;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		what = "lstat ";
		goto sys;
	}
	if (S_ISDIR(st.st_mode) && fmt == S_IFDIR) {
		if (bk_meta_chmod_at(dirfd, name, 0700) == 0)
			return 0;
		what = "chmod ";
		goto sys;
	}
	if (S_ISDIR(st.st_mode))
		return sov_err_set(e, SOV_EXIT_FAIL,
				   "create %s %s: a directory is in the way", t,
				   who);
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT) {
		what = "unlink ";
		goto sys;
	}
	if (make_entry(dirfd, name, fmt, target, rdev) == 0)
		return 0;
sys:
	err = errno;
	return sov_err_sys(e, sov_exit_code_errno(err), "create %s %s%s%s", t,
			   who, what[0] ? ": " : "", what);
}

int
bk_node_create(int dirfd, jv node, int replace, struct sov_err *e)
{
	char *name = NULL, *target = NULL;
	struct bk_shown sh;
	const char *who;
	uint64_t rdev = 0;
	size_t tlen;
	mode_t fmt;
	int r, rc = -1;

	if ((name = bk_node_name(node, e)) == NULL)
		goto out;
	who = bk_node_show(&sh, name, strlen(name));
	if (bk_node_fmt(node, who, &fmt, e) < 0)
		goto out;
	if (fmt == S_IFSOCK) { /* a socket belongs to its server */
		rc = 0;
		goto out;
	}
	if (fmt == S_IFREG) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: a file has content: restore writes it, not "
			    "bk_node_create",
			    who);
		goto out;
	}
	if (fmt == S_IFLNK &&
	    get_bytes(node, "target", "target_b64", TARGET_BYTES_MAX, who,
		      &target, &tlen, e) < 0)
		goto out;
	if (fmt == S_IFCHR || fmt == S_IFBLK) {
		if ((r = bk_node_uint(node, "rdev", who, UINT64_MAX, 1, &rdev,
				      e)) == 0)
			sov_err_set(e, SOV_EXIT_USAGE, "%s: rdev: missing",
				    who);
		if (r <= 0)
			goto out;
	}
	rc = make_or_replace(dirfd, name, who, bk_node_type(node), fmt, target,
			     (dev_t)rdev, replace, e);
out:
	free(name);
	free(target);
	return rc;
}

int
bk_node_owner(jv node, int group, unsigned flags, const char *who, uint32_t *id,
	      struct sov_err *e)
{
	const char *nfield = group ? "group" : "user";
	const char *ifield = group ? "gid" : "uid";
	uint64_t v;
	int r;

	if (flags & BK_META_BY_NAME) {
		jv s = jv_object_get(jv_copy(node), jv_string(nfield));
		int found = 0;

		if (jv_get_kind(s) == JV_KIND_STRING)
			found = owner_id(
			    group, jv_string_value(s),
			    (size_t)jv_string_length_bytes(jv_copy(s)), id);
		else if (jv_get_kind(s) != JV_KIND_INVALID &&
			 jv_get_kind(s) != JV_KIND_NULL) {
			jv_free(s);
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "%s: %s: not a string", who, nfield);
		}
		jv_free(s);
		if (found)
			return 0;
	}
	/* (uid_t)-1 means "leave as is" to chown: not an owner. */
	r = bk_node_uint(node, ifield, who, UINT32_MAX - 1, 0, &v, e);
	if (r == 0)
		sov_err_set(e, SOV_EXIT_USAGE, "%s: %s: missing", who, ifield);
	if (r <= 0)
		return -1;
	*id = (uint32_t)v;
	return 0;
}
