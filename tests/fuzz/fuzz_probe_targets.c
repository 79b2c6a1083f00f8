/*
 * fuzz_probe_targets.c - libFuzzer target for sov-probe's targets files,
 * from bytes: the document, defaults, alerts and all twelve target types,
 * with jq programs checked for structure only (jq 1.6 compiles slowly and
 * leaks on some syntax errors; the wf target covers compiling).
 *
 * Checks: a refusal is a usage error of one line naming the file; an
 * accepted set has its targets sorted by unique name, each with its
 * timing within the limits, alerts that point into the set, and a
 * description that dumps as an object.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sov_err e = {0};
	struct pr_set set;

	if (pr_set_from_text((const char *)data, size, "fuzz.json",
			     PR_LOAD_NO_COMPILE, &set, &e) < 0) {
		if (e.code != SOV_EXIT_USAGE && e.code != SOV_EXIT_FAIL)
			abort();
		if (strchr(e.msg, '\n') || strncmp(e.msg, "fuzz.json", 9))
			abort();
		return 0;
	}
	for (size_t i = 0; i < set.ntargets; i++) {
		const struct pr_target *t = &set.targets[i];
		jv d;

		if (i > 0 && strcmp(set.targets[i - 1].name, t->name) >= 0)
			abort();
		if (t->interval_ms < PR_INTERVAL_MIN_MS ||
		    t->interval_ms > PR_INTERVAL_MAX_MS ||
		    t->timeout_ms > t->interval_ms || t->failures < 1 ||
		    t->successes < 1 || pr_type_name(t->type) == NULL)
			abort();
		for (size_t k = 0; k < t->nalerts; k++)
			if (t->alerts[k] >= set.nalerts)
				abort();
		d = pr_target_describe(&set, t);
		if (jv_get_kind(d) != JV_KIND_OBJECT)
			abort();
		jv_free(d);
	}
	pr_set_free(&set);
	return 0;
}
