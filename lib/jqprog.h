/*
 * jqprog.h - jq programs as filters, conditions and mappings: compiled once,
 * run per record.
 *
 * A compile error is SOV_EXIT_USAGE and its message carries jq's own words
 * and the place the program came from ("steps.score.if: jq: error: ...").
 * A runtime error (".a.b" of a number) is SOV_EXIT_FAIL with jq's message.
 */
#ifndef SOV_JQPROG_H
#define SOV_JQPROG_H

#include <jv.h>

#include "err.h"

#define SOV_JQ_PROGRAM_MAX (64u << 10)

struct sov_jq;

/*
 * Compile src. where names the program's origin for messages (a file and
 * JSON path, an option); NULL means "jq program". vars, when an object,
 * binds each key as $key in the program (consumed; pass jv_invalid() for
 * none). NULL on error.
 */
struct sov_jq *sov_jq_compile(const char *src, const char *where, jv vars,
			      struct sov_err *e);
void sov_jq_free(struct sov_jq *q); /* accepts NULL */

/*
 * Compile n programs at the cost of a few compiles (jqbatch.h says why):
 * out[i] runs like sov_jq_compile(src[i], where[i], vars), vars borrowed.
 * Programs compiled together share one jq state, so they must be run one
 * at a time, by one thread at a time; each is freed on its own. -1 when
 * any does not compile (e then says only which batch; compile them one by
 * one for jq's message) or memory ran out; out[] is then all NULL.
 */
int sov_jq_compile_set(const char *const *src, const char *const *where,
		       size_t n, jv vars, struct sov_jq **out,
		       struct sov_err *e);

/*
 * A program held by a definition while it loads: its text, where it
 * came from ("FILE: PATH", kept until it is compiled) and, once
 * compiled, the program. src NULL: not given.
 */
struct sov_jq_prog {
	char *src;
	char *where;
	struct sov_jq *q;
};

void sov_jq_prog_clear(struct sov_jq_prog *p); /* frees all three */

/*
 * Compile p[0..n) (their src and where) together with
 * sov_jq_compile_set, each into its q, their where freed. -1 (e set)
 * when any does not compile, or out of memory; every q is then NULL.
 */
int sov_jq_prog_compile_all(struct sov_jq_prog *const *p, size_t n,
			    struct sov_err *e);

/*
 * Mapping: the first output of the program on input (consumed) into *out.
 * A program that yields nothing is an error naming where.
 */
int sov_jq_first(struct sov_jq *q, jv input, jv *out, struct sov_err *e);

/* Filter: every output, in order, as one jv array into *out. */
int sov_jq_all(struct sov_jq *q, jv input, jv *out, struct sov_err *e);

/*
 * Condition: *truth is 1 when the first output is neither false nor null,
 * 0 when it is, or when there is no output.
 */
int sov_jq_test(struct sov_jq *q, jv input, int *truth, struct sov_err *e);

#endif
