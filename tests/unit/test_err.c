/* test_err.c - the caller-owned error. */
#include <errno.h>
#include <string.h>

#include "err.h"
#include "tap.h"

int
main(void)
{
	struct sov_err e;
	char big[3000];

	sov_err_clear(&e);
	is_int(e.code, 0, "clear");
	is_int(sov_err_exit_code(&e), SOV_EXIT_FAIL, "unset code exits 1");

	is_int(sov_err_set(&e, SOV_EXIT_TEMPFAIL, "store %s down", "x"), -1,
	       "set returns -1");
	is_int(e.code, 75, "code kept");
	is_str(e.msg, "store x down", "message formatted");

	errno = ENOENT;
	sov_err_sys(&e, SOV_EXIT_FAIL, "open %s", "/nope");
	is_str(e.msg, "open /nope: No such file or directory",
	       "errno appended");

	sov_err_at(&e, "wf.json", 12, "steps[2].if", "does not compile");
	is_str(e.msg, "wf.json:12: steps[2].if: does not compile",
	       "file, line and field");
	is_int(e.code, SOV_EXIT_USAGE, "bad input is code 2");
	sov_err_at(&e, "wf.json", 0, NULL, "empty");
	is_str(e.msg, "wf.json: empty", "no line, no field");

	sov_err_set(&e, SOV_EXIT_TEMPFAIL, "connection lost");
	sov_err_prefix(&e, "store %s: ", "pg");
	is_str(e.msg, "store pg: connection lost", "prefix prepended");
	is_int(e.code, 75, "prefix keeps the code");

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sov_err_set(&e, 1, "%s", big);
	is_int(strlen(e.msg), SOV_ERR_MSG_MAX - 1, "long message cut");
	ok(strcmp(e.msg + SOV_ERR_MSG_MAX - 4, "...") == 0, "cut marked ...");

	sov_err_set(&e, 1, "trailing newline\n");
	is_str(e.msg, "trailing newline", "newline stripped");
	is_int(sov_err_set(NULL, 1, "x"), -1, "NULL error accepted");

	is_int(sov_exit_code_errno(ENOSPC), SOV_EXIT_TEMPFAIL, "ENOSPC: retry");
	is_int(sov_exit_code_errno(EDQUOT), SOV_EXIT_TEMPFAIL, "EDQUOT: retry");
	is_int(sov_exit_code_errno(EMFILE), SOV_EXIT_TEMPFAIL, "EMFILE: retry");
	is_int(sov_exit_code_errno(EIO), SOV_EXIT_FAIL, "EIO: failure");
	is_int(sov_exit_code_errno(ENOENT), SOV_EXIT_FAIL,
	       "ENOENT on a write: failure");
	is_int(sov_exit_code_open(ENOENT), SOV_EXIT_USAGE,
	       "ENOENT opening a named path: bad input");
	is_int(sov_exit_code_open(EACCES), SOV_EXIT_USAGE, "EACCES: bad input");
	is_int(sov_exit_code_open(ENFILE), SOV_EXIT_TEMPFAIL, "ENFILE: retry");
	is_int(sov_exit_code_open(EIO), SOV_EXIT_FAIL, "EIO: failure");
	return done_testing();
}
