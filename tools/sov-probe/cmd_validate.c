/*
 * cmd_validate.c - `sov-probe validate PATH...`: load every targets file
 * fully, as the daemon would, and print what each target will check.
 *
 * One record per target on stdout:
 *   {"ts","event":"target","name","type","file","interval",...}
 * and exit 0; or the first error on stderr ("FILE: JSON.PATH: message")
 * and exit 2. Nothing is probed and nothing is connected to.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "jsonl.h"
#include "probe.h"
#include "target.h"

static int
describe_all(const struct pr_set *set, struct sov_jsonl_writer *w,
	     struct sov_err *e)
{
	for (size_t i = 0; i < set->ntargets; i++) {
		jv rec = sov_record_new("target");
		jv d = pr_target_describe(set, &set->targets[i]);

		jv_object_foreach(d, k, v) rec = jv_object_set(rec, k, v);
		jv_free(d);
		if (sov_jsonl_write(w, rec, e) < 0)
			return -1;
	}
	return 0;
}

int
pr_cmd_validate(int argc, char **argv)
{
	static const struct option lo[] = {{NULL, 0, NULL, 0}};
	struct sov_err e = {0};
	struct sov_jsonl_writer *w = NULL;
	int rc = SOV_EXIT_USAGE;

	if (getopt_long(argc, argv, "", lo, NULL) != -1)
		return SOV_EXIT_USAGE;
	if (optind >= argc)
		return sov_cli_usage_error("validate: name a targets file or "
					   "directory");
	w = sov_jsonl_writer_new(stdout, "stdout", 0);
	if (w == NULL)
		return SOV_EXIT_FAIL;
	for (int i = optind; i < argc; i++) {
		struct pr_set set;

		if (pr_set_load(argv[i], 0, &set, &e) < 0) {
			rc = sov_cli_fail(&e);
			goto out;
		}
		if (set.ntargets == 0)
			sov_cli_warn("%s: no targets", argv[i]);
		if (describe_all(&set, w, &e) < 0) {
			pr_set_free(&set);
			rc = sov_cli_fail(&e);
			goto out;
		}
		pr_set_free(&set);
	}
	if (sov_jsonl_writer_close(w, &e) < 0)
		return sov_cli_fail(&e);
	return SOV_EXIT_OK;
out:
	sov_jsonl_writer_close(w, NULL);
	return rc;
}
