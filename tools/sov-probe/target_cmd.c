/*
 * target_cmd.c - the fields of the targets that run a program (command,
 * backup), and what must hold between them.
 */
#include "target_int.h"

/* ---- command, backup ---- */

static struct pr_command *
C(void *t)
{
	return &((struct pr_tctx *)t)->t->u.cmd;
}

static int
f_argv(struct sov_jcheck *c, jv v, void *t)
{
	return pr_check_strings(c, v, PR_ARGV_MAX, PR_ARG_MAX, &C(t)->argv);
}

static int
f_cmd_jq(struct sov_jcheck *c, jv v, void *t)
{
	return sov_jcheck_jq(c, v, PR_JQ_MAX, jv_invalid(), &C(t)->jq_src,
			     &C(t)->jq);
}

static int
f_max_age(struct sov_jcheck *c, jv v, void *t)
{
	return pr_check_max_age(c, v, &C(t)->max_age_ms);
}

const struct sov_jfield pr_command_fields[] = {
    PR_COMMON_FIELDS,
    {"argv", f_argv},
    {"jq", f_cmd_jq},
    {"latency", pr_field_latency},
    {"read_max", pr_field_read_max},
    PR_FIELDS_END,
};

const struct sov_jfield pr_backup_fields[] = {
    PR_COMMON_FIELDS,
    {"argv", f_argv},
    {"jq", f_cmd_jq},
    {"max_age", f_max_age},
    {"read_max", pr_field_read_max},
    PR_FIELDS_END,
};

int
pr_target_cmd_finish(struct sov_jcheck *c, struct pr_tctx *tc)
{
	struct pr_target *t = tc->t;

	if (t->u.cmd.argv == NULL)
		return pr_check_required(c, "argv");
	if (t->type == PR_BACKUP && t->u.cmd.max_age_ms == 0)
		return pr_check_required(c, "max_age");
	return 0;
}
