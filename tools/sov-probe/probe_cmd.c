/*
 * probe_cmd.c - the targets that run a command: command (its exit and a
 * jq condition on its JSON), backup (the newest record's "ts" from a
 * command such as `sov-backup snapshots`), systemd (`systemctl show`) and
 * wireguard (`wg show IFACE latest-handshakes`).
 */
#include "probe_blocking.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "child.h"
#include "engine.h"
#include "jqwatch.h"
#include "jsonl.h"
#include "timestamp.h"

/* Run argv; 0 when it exited 0, else r says why, naming the command as
 * `what` (argv[0] when NULL) and adding `hint` when it ran and failed. */
static int
run(const struct pr_target *t, char *const argv[], const char *what,
    const char *hint, struct pr_result *r, struct pr_child_out *o)
{
	char why[128];

	if (pr_child_run(argv, NULL, 0, t->timeout_ms, t->read_max, o) < 0) {
		pr_result_fail(r, "%s", o->err);
		return -1;
	}
	if (WIFEXITED(o->status))
		pr_result_set(r, "exit", jv_number(WEXITSTATUS(o->status)));
	if (o->timed_out || o->too_much || !WIFEXITED(o->status) ||
	    WEXITSTATUS(o->status) != 0) {
		pr_result_fail(r, "%s: %s%s%s%s%s", what ? what : argv[0],
			       pr_child_why(o, t->timeout_ms, why, sizeof(why)),
			       o->err[0] ? ": " : "", o->err,
			       hint && !o->timed_out ? " " : "",
			       hint && !o->timed_out ? hint : "");
		return -1;
	}
	return 0;
}

void
pr_probe_command(const struct pr_target *t, struct pr_result *r)
{
	struct pr_child_out o;
	struct sov_err e = {0};
	jv out;
	int truth = 0;

	if (run(t, t->u.cmd.argv, NULL, NULL, r, &o) < 0 || t->u.cmd.jq == NULL)
		goto out;
	out = sov_json_parse(o.out, o.len, &e);
	if (!jv_is_valid(out)) {
		jv_free(out);
		pr_result_fail(r, "%s: output is not one JSON value: %s",
			       t->u.cmd.argv[0], e.msg);
		goto out;
	}
	if (pr_jq_test(t, t->u.cmd.jq, out, &truth, &e) < 0)
		pr_result_fail(r, "jq: %s", e.msg);
	else if (!truth)
		pr_result_fail(r, "the output does not pass %s",
			       t->u.cmd.jq_src);
out:
	pr_child_out_clear(&o);
}

/* The latest "ts" among the records (JSON lines) the filter keeps. */
static int
newest_ts(const struct pr_target *t, const char *text, int64_t *newest,
	  size_t *n, struct pr_result *r)
{
	struct sov_err e = {0};
	const char *line = text;
	size_t lineno = 0;

	*newest = -1;
	*n = 0;
	while (*line) {
		size_t len = strcspn(line, "\n");
		jv rec, kept = jv_invalid();

		lineno++;
		if (len == 0 || strspn(line, " \t\r") >= len)
			goto next;
		rec = sov_json_parse(line, len, &e);
		if (!jv_is_valid(rec)) {
			jv_free(rec);
			pr_result_fail(r, "%s: line %zu: %s", t->u.cmd.argv[0],
				       lineno, e.msg);
			return -1;
		}
		if (t->u.cmd.jq) {
			if (sov_jq_all(t->u.cmd.jq, rec, &kept, &e) < 0) {
				pr_result_fail(r, "jq: %s", e.msg);
				return -1;
			}
		} else {
			kept = jv_array_append(jv_array(), rec);
		}
		jv_array_foreach(kept, i, k)
		{
			jv ts = jv_get_kind(k) == JV_KIND_OBJECT
				    ? jv_object_get(jv_copy(k), jv_string("ts"))
				    : jv_invalid();
			int64_t ms;

			if (jv_get_kind(ts) == JV_KIND_STRING &&
			    sov_time_parse(jv_string_value(ts), &ms, &e) == 0) {
				(*n)++;
				if (ms > *newest)
					*newest = ms;
			}
			jv_free(ts);
			jv_free(k);
		}
		jv_free(kept);
	next:
		line += len;
		if (*line == '\n')
			line++;
	}
	return 0;
}

void
pr_probe_backup(const struct pr_target *t, struct pr_result *r)
{
	struct pr_child_out o;
	int64_t newest;
	size_t n;
	char ts[SOV_TIME_RFC3339_LEN];
	int64_t old;
	int bad;

	if (run(t, t->u.cmd.argv, NULL, NULL, r, &o) < 0)
		goto out;
	old = pr_jq_limit(t); /* the filter's time for every record at once */
	bad = newest_ts(t, o.out, &newest, &n, r) < 0;
	sov_jq_deadline(old);
	if (bad)
		goto out;
	pr_result_set(r, "records", jv_number((double)n));
	if (newest < 0) {
		pr_result_fail(r, "%s printed no record with a \"ts\"%s",
			       t->u.cmd.argv[0],
			       t->u.cmd.jq ? " that the filter keeps" : "");
		goto out;
	}
	sov_time_format(newest, ts);
	pr_result_set(r, "newest", jv_string(ts));
	pr_result_set(r, "age", jv_number((double)(r->ts_ms - newest) / 1000));
	if (r->ts_ms - newest > t->u.cmd.max_age_ms)
		pr_result_fail(r, "the newest record is %.1f h old (%s), more "
				  "than %.1f h",
			       (double)(r->ts_ms - newest) / 3600000, ts,
			       (double)t->u.cmd.max_age_ms / 3600000);
out:
	pr_child_out_clear(&o);
}

/* The value of "KEY=" in systemctl show's output, into buf. */
static const char *
show_value(const char *text, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p += !!p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t n = strcspn(p + klen + 1, "\n");

			snprintf(buf, size, "%.*s", (int)n, p + klen + 1);
			return buf;
		}
	}
	snprintf(buf, size, "?");
	return buf;
}

void
pr_probe_systemd(const struct pr_target *t, struct pr_result *r)
{
	char *argv[] = {(char *)"systemctl", (char *)"show",
			(char *)"--property=ActiveState,SubState,Result,"
				"LoadState",
			(char *)"--", t->u.unit, NULL};
	char active[64], sub[64], result[64], load[64];
	struct pr_child_out o;

	if (run(t, argv, "systemctl show", NULL, r, &o) < 0)
		goto out;
	show_value(o.out, "ActiveState", active, sizeof(active));
	show_value(o.out, "SubState", sub, sizeof(sub));
	show_value(o.out, "Result", result, sizeof(result));
	show_value(o.out, "LoadState", load, sizeof(load));
	pr_result_set(r, "active_state", jv_string(active));
	pr_result_set(r, "sub_state", jv_string(sub));
	if (strcmp(load, "not-found") == 0)
		pr_result_fail(r, "%s: no such unit", t->u.unit);
	else if (strcmp(active, "active") != 0 &&
		 strcmp(active, "reloading") != 0)
		pr_result_fail(r, "%s is %s (%s, result %s)", t->u.unit, active,
			       sub, result);
out:
	pr_child_out_clear(&o);
}

static int
wanted(const struct pr_target *t, const char *key)
{
	if (t->u.wg.peers == NULL)
		return 1;
	for (char **p = t->u.wg.peers; *p; p++)
		if (strcmp(*p, key) == 0)
			return 1;
	return 0;
}

void
pr_probe_wireguard(const struct pr_target *t, struct pr_result *r)
{
	char *argv[] = {(char *)"wg", (char *)"show", t->u.wg.interface,
			(char *)"latest-handshakes", NULL};
	struct pr_child_out o;
	jv peers = jv_array();
	int seen = 0, stale = 0;
	char first_stale[64] = "", what[32], hint[160];

	/* wg says only "Unable to access interface" whether the interface is
	 * missing or wg may not read it: name both causes. */
	snprintf(what, sizeof(what), "wg show %s", t->u.wg.interface);
	snprintf(hint, sizeof(hint),
		 "(is it up? wg needs CAP_NET_ADMIN, or for a userspace "
		 "WireGuard access to /var/run/wireguard/%s.sock)",
		 t->u.wg.interface);
	if (run(t, argv, what, hint, r, &o) < 0)
		goto out;
	for (char *line = o.out; *line;) {
		char key[64];
		long long epoch;
		size_t len = strcspn(line, "\n");

		if (sscanf(line, "%63s %lld", key, &epoch) == 2 &&
		    wanted(t, key)) {
			double age = epoch > 0
					 ? (double)(r->ts_ms / 1000 - epoch)
					 : NAN;
			jv p = jv_object_set(jv_object(), jv_string("peer"),
					     jv_string(key));

			p = jv_object_set(p, jv_string("age"),
					  isfinite(age) ? jv_number(age)
							: jv_null());
			peers = jv_array_append(peers, p);
			seen++;
			if (!isfinite(age) || age * 1000 > t->u.wg.max_age_ms) {
				if (stale++ == 0)
					snprintf(first_stale,
						 sizeof(first_stale), "%s",
						 key);
			}
		}
		line += len;
		if (*line == '\n')
			line++;
	}
	if (t->u.wg.peers) {
		int want = 0;

		for (char **p = t->u.wg.peers; *p; p++)
			want++;
		if (seen < want)
			pr_result_fail(r, "%s: %d of the %d peers named are "
					  "not configured",
				       t->u.wg.interface, want - seen, want);
	}
	if (stale)
		pr_result_fail(r, "%s: %d of %d peers without a handshake in "
				  "%lld s (first: %s)",
			       t->u.wg.interface, stale, seen,
			       (long long)(t->u.wg.max_age_ms / 1000),
			       first_stale);
	else if (seen == 0)
		pr_result_fail(r, "%s: no peers", t->u.wg.interface);
out:
	pr_result_set(r, "peers", peers);
	pr_child_out_clear(&o);
}
