/*
 * jqbatch.h - whether many jq programs compile, at the cost of a few
 * compiles instead of one each.
 *
 * jq 1.6 spends some 16 ms of every compile on its builtins, whatever the
 * program. Checking 3,600 programs (600 workflows) one by one took two
 * minutes. Here programs are compiled together, each as the body of its
 * own function, about a hundred at a time; a batch that fails is split
 * until the programs that fail are found, each then compiled alone.
 *
 * The answer is the one sov_jq_compile gives for each program alone. A
 * program is only batched when it cannot reach outside its own
 * parentheses (sov_jq_self_contained); any other is compiled alone.
 */
#ifndef SOV_JQBATCH_H
#define SOV_JQBATCH_H

#include <stddef.h>

#include <jv.h>

#include "err.h"

/*
 * For each of the n programs, bad[i] = 1 when it does not compile as
 * sov_jq_compile(src[i], ..., vars) would say, else 0. vars as for
 * sov_jq_compile (borrowed here: the same variables for every program).
 * -1 (e set) only when memory ran out; bad is then undefined.
 */
int sov_jq_check_many(const char *const *src, size_t n, jv vars,
		      unsigned char *bad, struct sov_err *e);

/*
 * Whether src can be compiled inside "(" src "\n)" with the same result
 * as alone: brackets and strings (with their \( ) interpolations)
 * balanced, no comment (jq versions end them differently), no module
 * directive, and none of the batch's own function names. 1 or 0.
 */
int sov_jq_self_contained(const char *src);

#endif
