/* common.c - the paths every command agrees on; see common.h. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>

#include "fs.h"
#include "state.h"

static int
in_state_dir(const char *file, char *buf, size_t size, struct sov_err *e)
{
	char dir[4096];
	int n;

	if (sov_state_dir(PR_TOOL, dir, sizeof(dir), e) < 0)
		return -1;
	n = snprintf(buf, size, "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= size)
		return sov_err_set(e, SOV_EXIT_USAGE, "%s: path too long", dir);
	return 0;
}

static int
copy(const char *s, char *buf, size_t size, struct sov_err *e)
{
	int n = snprintf(buf, size, "%s", s);

	if (n < 0 || (size_t)n >= size)
		return sov_err_set(e, SOV_EXIT_USAGE, "path too long");
	return 0;
}

int
pr_targets_path(const char *opt, char *buf, size_t size, struct sov_err *e)
{
	const char *env = getenv("SOV_PROBE_TARGETS");

	if (opt)
		return copy(opt, buf, size, e);
	if (env && *env)
		return copy(env, buf, size, e);
	return in_state_dir("targets.json", buf, size, e);
}

int
pr_state_path(const char *opt, char *buf, size_t size, struct sov_err *e)
{
	if (opt)
		return copy(opt, buf, size, e);
	return in_state_dir(PR_STATE_FILE, buf, size, e);
}
