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

#include <jq.h>
#include <jv.h>

#include "err.h"

/* Past ~100 functions a compile grows faster than its programs: 100 of
 * the lead workflow's programs took 62 ms together, 300 took 208 ms and
 * 1,000 1.2 s (jq 1.6, this VM). */
#define SOV_JQ_BATCH_PROGRAMS 100
#define SOV_JQ_BATCH_BYTES (32u << 10)
#define SOV_JQ_BATCH_PROGRAM_MAX (8u << 10) /* larger: alone, gains little */

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

/* Whether src may share a compile: self-contained and not too large. */
int sov_jq_batchable(const char *src);

/*
 * Split src[0..n) into batches, in order: alone(i, arg) for each program
 * that may not share a compile, together(idx, k, arg) for each batch of
 * the others (1 <= k <= SOV_JQ_BATCH_PROGRAMS, idx ascending). Stops at
 * the first callback that returns -1 and returns -1; e only for the
 * batches' own memory.
 */
int sov_jq_batches(const char *const *src, size_t n,
		   int (*alone)(size_t i, void *arg),
		   int (*together)(const size_t *idx, size_t k, void *arg),
		   void *arg, struct sov_err *e);

/*
 * The text of one jq program holding src[idx[0..k)] as the functions
 * __sovjq_0.. (malloc'ed; NULL when out of memory). dispatch 0: its body
 * calls each (jq checks only the functions that are called), for
 * checking. dispatch 1: its input is [I, INPUT] and it runs function I on
 * INPUT, for running; k must be at least 1.
 */
char *sov_jq_batch_text(const char *const *src, const size_t *idx, size_t k,
			int dispatch);

/* Compile text with vars (borrowed), jq's messages dropped: 1 and *out
 * the state, 0 when it does not compile, -1 out of memory. */
int sov_jq_batch_compile(const char *text, jv vars, jq_state **out);

#endif
