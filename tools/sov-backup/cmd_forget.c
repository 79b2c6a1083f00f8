/*
 * cmd_forget.c - `sov-backup forget` (which snapshots go, by policy) and
 * `sov-backup unlock`.
 *
 * forget removes snapshot objects only; the data they alone referenced
 * stays until a prune.
 */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "cli.h"
#include "jsonl.h"
#include "lock.h"
#include "policy.h"
#include "timestamp.h"

int
bk_cmd_forget(int argc, char **argv)
{
	static const struct option lo[] = {
	    BK_COMMON_LONGOPTS,
	    {"keep-last", required_argument, NULL, 'l'},
	    {"keep-hourly", required_argument, NULL, 'h'},
	    {"keep-daily", required_argument, NULL, 'd'},
	    {"keep-weekly", required_argument, NULL, 'w'},
	    {"keep-monthly", required_argument, NULL, 'm'},
	    {"keep-yearly", required_argument, NULL, 'y'},
	    {"keep-within", required_argument, NULL, 'W'},
	    {"keep-tag", required_argument, NULL, 'K'},
	    {"host", required_argument, NULL, 'H'},
	    {"tag", required_argument, NULL, 't'},
	    {"group-by", required_argument, NULL, 'g'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"prune", no_argument, NULL, 'P'},
	    {NULL, 0, NULL, 0},
	};
	struct bk_common co = {.lock_wait_s = 60};
	struct bk_policy p;
	int prune = 0;
	struct sov_err e = {0};
	struct bk_repo *r = NULL;
	struct bk_lock *lock = NULL;
	const char *host = NULL, *tag = NULL;
	int dry = 0, opt, rc = SOV_EXIT_FAIL, any = 0, n;
	long v;
	jv all = jv_invalid(), sel = jv_array(), res = jv_invalid();
	uint64_t removed = 0, kept = 0;

	memset(&p, 0, sizeof(p));
	p.keep_tags = jv_array();
	p.group_by = BK_GROUP_HOST | BK_GROUP_PATHS;
	p.now_ms = sov_time_now_ms(); /* a snapshot dated in the future is never
					 "the newest" */
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		int k = bk_common_opt(&co, opt, optarg);
		int *dst = NULL;

		if (k < 0) {
			rc = SOV_EXIT_USAGE;
			goto out;
		}
		if (k)
			continue;
		switch (opt) {
		case 'l':
			dst = &p.last;
			break;
		case 'h':
			dst = &p.hourly;
			break;
		case 'd':
			dst = &p.daily;
			break;
		case 'w':
			dst = &p.weekly;
			break;
		case 'm':
			dst = &p.monthly;
			break;
		case 'y':
			dst = &p.yearly;
			break;
		case 'W':
			if (sov_duration_parse(optarg, &p.within_ms, &e) < 0)
				goto fail;
			any = 1;
			break;
		case 'K':
			p.keep_tags =
			    jv_array_append(p.keep_tags, jv_string(optarg));
			any = 1;
			break;
		case 'H':
			host = optarg;
			break;
		case 't':
			tag = optarg;
			break;
		case 'g':
			if (bk_policy_parse_group_by(optarg, &p.group_by, &e) <
			    0)
				goto fail;
			break;
		case 'n':
			dry = 1;
			break;
		case 'P':
			prune = 1;
			break;
		default:
			rc = sov_cli_usage_error("unknown option");
			goto out;
		}
		if (dst) {
			char oname[32];

			snprintf(oname, sizeof(oname), "--keep-%s",
				 opt == 'l'   ? "last"
				 : opt == 'h' ? "hourly"
				 : opt == 'd' ? "daily"
				 : opt == 'w' ? "weekly"
				 : opt == 'm' ? "monthly"
					      : "yearly");
			if (sov_cli_parse_long(oname, optarg, -1, INT_MAX, &v,
					       &e) < 0)
				goto fail;
			*dst = (int)v;
			any = 1;
		}
	}
	if (optind != argc) {
		rc = sov_cli_usage_error("forget takes no arguments");
		goto out;
	}
	if (!any) {
		rc = sov_cli_usage_error(
		    "forget: no --keep-* rule given; refusing to forget every "
		    "snapshot");
		goto out;
	}
	r = bk_open(&co, &e);
	if (!r)
		goto fail;
	if (!dry) {
		lock = bk_lock_acquire(r->be, 1, "forget",
				       co.lock_wait_s * 1000, &e);
		if (!lock)
			goto fail;
	}
	all = bk_repo_snapshots(r, &e);
	if (!jv_is_valid(all))
		goto fail;
	n = jv_array_length(jv_copy(all));
	for (int i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(all), i);
		jv h = jv_object_get(jv_copy(s), jv_string("host"));
		jv tg = jv_object_get(jv_copy(s), jv_string("tags"));
		int pick = (!host || strcmp(jv_string_value(h), host) == 0) &&
			   (!tag || bk_has_string(tg, tag));

		jv_free(h);
		jv_free(tg);
		if (pick)
			sel = jv_array_append(sel, s);
		else
			jv_free(s);
	}
	res = bk_policy_apply(&p, jv_copy(sel), &e);
	if (!jv_is_valid(res))
		goto fail;
	n = jv_array_length(jv_copy(res));
	for (int i = 0; i < n; i++) {
		jv d = jv_array_get(jv_copy(res), i);
		jv keep = jv_object_get(jv_copy(d), jv_string("keep"));
		jv id = jv_object_get(jv_copy(d), jv_string("id"));
		int k = jv_get_kind(keep) == JV_KIND_TRUE;
		jv rec = sov_record_new(k ? "keep" : "forget");
		char name[BK_NAME_MAX];

		rec = jv_object_merge(
		    rec, jv_object_delete(jv_copy(d), jv_string("keep")));
		rec = jv_object_set(rec, jv_string("dry_run"), jv_bool(dry));
		jv_free(keep);
		jv_free(d);
		if (!k && !dry) {
			snprintf(name, sizeof(name), "snapshots/%s",
				 jv_string_value(id));
			if (bk_remove(r->be, name, &e) < 0) {
				jv_free(id);
				jv_free(rec);
				goto fail;
			}
		}
		jv_free(id);
		if (k)
			kept++;
		else
			removed++;
		if (bk_emit(rec, &e) < 0)
			goto fail;
	}
	{
		jv rec = sov_record_new("summary");

		rec = jv_object_set(rec, jv_string("kept"),
				    jv_number((double)kept));
		rec = jv_object_set(rec, jv_string("forgotten"),
				    jv_number((double)removed));
		rec = jv_object_set(rec, jv_string("dry_run"), jv_bool(dry));
		if (bk_emit(rec, &e) < 0 || bk_emit_close(&e) < 0)
			goto fail;
	}
	rc = SOV_EXIT_OK;
	if (prune && !dry) {
		/* Our exclusive lock goes first: prune takes its own. */
		bk_lock_release(lock, NULL);
		lock = NULL;
		bk_repo_close(r);
		r = NULL;
		rc = bk_prune_run(&co, BK_PRUNE_MAX_UNUSED, 0, 0);
	}
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	jv_free(p.keep_tags);
	jv_free(all);
	jv_free(sel);
	jv_free(res);
	bk_lock_release(lock, NULL);
	bk_repo_close(r);
	return rc;
}

int
bk_cmd_unlock(int argc, char **argv)
{
	static const struct option lo[] = {
	    BK_COMMON_LONGOPTS,
	    {"all", no_argument, NULL, 'a'},
	    {NULL, 0, NULL, 0},
	};
	struct bk_common co = {.lock_wait_s = 60};
	struct sov_err e = {0};
	struct bk_repo *r;
	int all = 0, removed = 0, opt, rc;
	jv rec;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		int k = bk_common_opt(&co, opt, optarg);

		if (k < 0)
			return SOV_EXIT_USAGE;
		if (k)
			continue;
		if (opt == 'a')
			all = 1;
		else
			return sov_cli_usage_error("unknown option");
	}
	if (optind != argc)
		return sov_cli_usage_error("unlock takes no arguments");
	r = bk_open(&co, &e);
	if (!r)
		return sov_cli_fail(&e);
	rc = bk_lock_remove_stale(r->be, all, &removed, &e);
	bk_repo_close(r);
	if (rc < 0)
		return sov_cli_fail(&e);
	rec = sov_record_new("unlock");
	rec = jv_object_set(rec, jv_string("removed"), jv_number(removed));
	if (bk_emit(rec, &e) < 0 || bk_emit_close(&e) < 0)
		return sov_cli_fail(&e);
	return SOV_EXIT_OK;
}
