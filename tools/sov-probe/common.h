/* common.h - where the commands find the targets and the state file. */
#ifndef PR_COMMON_H
#define PR_COMMON_H

#include <stddef.h>

#include "err.h"

#define PR_TOOL "probe"

/* opt, else $SOV_PROBE_TARGETS, else STATE/targets.json, into buf. */
int pr_targets_path(const char *opt, char *buf, size_t size,
		    struct sov_err *e);

/* opt, else STATE/state.json, into buf. */
int pr_state_path(const char *opt, char *buf, size_t size, struct sov_err *e);

#endif
