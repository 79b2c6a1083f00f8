/*
 * target_type.c - one target object: its type, the table of types with
 * their fields (target_net.c, target_local.c, target_cmd.c; the shared
 * ones are target_field.c), and what must hold between the fields. The
 * document around it (files, defaults, alerts) is target.c.
 */
#include "target_int.h"

#include <string.h>

static const struct {
	const char *name;
	const struct sov_jfield *fields;
	int (*finish)(struct sov_jcheck *c, struct pr_tctx *tc);
} types[] = {
    [PR_HTTP] = {"http", pr_http_fields, pr_target_net_finish},
    [PR_TCP] = {"tcp", pr_tcp_fields, pr_target_net_finish},
    [PR_TLS] = {"tls", pr_tls_fields, pr_target_net_finish},
    [PR_DNS] = {"dns", pr_dns_fields, pr_target_net_finish},
    [PR_ICMP] = {"icmp", pr_icmp_fields, pr_target_net_finish},
    [PR_DISK] = {"disk", pr_disk_fields, pr_target_local_finish},
    [PR_POSTGRES] = {"postgres", pr_postgres_fields, pr_target_local_finish},
    [PR_SQLITE] = {"sqlite", pr_sqlite_fields, pr_target_local_finish},
    [PR_COMMAND] = {"command", pr_command_fields, pr_target_cmd_finish},
    [PR_SYSTEMD] = {"systemd", pr_systemd_fields, pr_target_local_finish},
    [PR_WIREGUARD] = {"wireguard", pr_wireguard_fields, pr_target_local_finish},
    [PR_BACKUP] = {"backup", pr_backup_fields, pr_target_cmd_finish},
};

const char *
pr_type_name(enum pr_type t)
{
	if ((int)t < PR_HTTP || (int)t > PR_BACKUP)
		return NULL;
	return types[t].name;
}

static enum pr_type
type_from_name(const char *s)
{
	for (int t = PR_HTTP; t <= PR_BACKUP; t++)
		if (strcmp(types[t].name, s) == 0)
			return (enum pr_type)t;
	return 0;
}

int
pr_check_timing(struct sov_jcheck *c, struct pr_tctx *tc)
{
	struct pr_target *t = tc->t;
	char a[32], b[32];

	if (!tc->timeout_given && t->timeout_ms > t->interval_ms)
		t->timeout_ms = t->interval_ms;
	if (t->timeout_ms > t->interval_ms)
		return sov_jcheck_fail(c,
				       "timeout (%s) is longer than "
				       "interval (%s)",
				       sov_jcheck_ms(t->timeout_ms, a),
				       sov_jcheck_ms(t->interval_ms, b));
	return 0;
}

/* What must hold between fields, and the defaults that depend on type. */
static int
finish(struct sov_jcheck *c, struct pr_tctx *tc)
{
	struct pr_target *t = tc->t;

	if (types[t->type].finish(c, tc) < 0)
		return -1;
	if (pr_check_timing(c, tc) < 0)
		return -1;
	if (t->latency_ms > t->timeout_ms)
		return sov_jcheck_fail(c, "latency is longer than timeout: it "
					  "could never be exceeded");
	return 0;
}

int
pr_target_check(struct sov_jcheck *c, jv v, struct pr_tctx *tc)
{
	struct pr_target *t = tc->t;
	jv type;
	size_t old;

	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return sov_jcheck_fail(c, "must be an object, not %s",
				       sov_jcheck_kind(v));
	type = jv_object_get(jv_copy(v), jv_string("type"));
	old = sov_jcheck_push_name(c, "type");
	if (!jv_is_valid(type)) {
		jv_free(type);
		return sov_jcheck_fail(c,
				       "required: one of http, tcp, tls, "
				       "dns, icmp, disk, postgres, sqlite, "
				       "command, systemd, wireguard, backup");
	}
	if (jv_get_kind(type) == JV_KIND_STRING)
		t->type = type_from_name(jv_string_value(type));
	jv_free(type);
	if (t->type == 0)
		return sov_jcheck_fail(c,
				       "must be one of http, tcp, tls, dns, "
				       "icmp, disk, postgres, sqlite, "
				       "command, systemd, wireguard, backup");
	sov_jcheck_pop(c, old);
	if (t->type == PR_DISK) {
		t->u.disk.min_free_percent = -1;
		t->u.disk.min_free_bytes = -1;
		t->u.disk.min_inodes_percent = -1;
	}
	if (sov_jcheck_object(c, v, types[t->type].fields, tc) < 0)
		return -1;
	return finish(c, tc);
}