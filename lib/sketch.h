/*
 * sketch.h - a mergeable quantile sketch with a relative error bound, for
 * the percentiles of measurements that were rolled up (measure_rollup.h).
 *
 * Values are counted in logarithmic bins (the DDSketch construction): a
 * positive v goes to bin i = ceil(log(v) / log(g)) with g = (1 + a) / (1 - a),
 * a negative one to the same bin of the negative side, and |v| below
 * SOV_SKETCH_ZERO to the zero bin. Every value in bin i lies in
 * (g^(i-1), g^i], and the bin is read back as 2 g^i / (g + 1), which is
 * within a relative a of every value in it. So a quantile read from a
 * sketch is within a relative a (SOV_SKETCH_ALPHA, 1%) of the value of the
 * same rank in the data; interpolating between two ranks (as PostgreSQL's
 * percentile_cont does) keeps that bound for values of one sign. Merging
 * two sketches adds their bins, so a sketch of many rollups answers
 * exactly as one sketch of all their values would: the error does not grow
 * with merging. Values within SOV_SKETCH_ZERO of 0 read back as 0.
 *
 * Text form (stored in measurements_5m.sketch), compact JSON:
 *   {"a":0.01,"z":ZERO_COUNT,"p":[BIN,COUNT,...],"n":[BIN,COUNT,...]}
 * "p" the positive bins, "n" the negative ones, each as flat pairs in
 * increasing bin order. A sketch of one 5-minute rollup of a value measured
 * every 30 s has at most 10 bins; of any data, at most SOV_SKETCH_BINS_MAX.
 */
#ifndef SOV_SKETCH_H
#define SOV_SKETCH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SOV_SKETCH_ALPHA 0.01
#define SOV_SKETCH_ZERO 1e-9
#define SOV_SKETCH_TEXT_MAX (1u << 20) /* bytes of one sketch as text */
#define SOV_SKETCH_BINS_MAX 100000     /* bins on one side (of ~38,000 used) */

struct sov_sketch;

struct sov_sketch *sov_sketch_new(void);    /* NULL when out of memory */
void sov_sketch_free(struct sov_sketch *s); /* accepts NULL */

/* Count v n times; -1 when out of memory or v is not finite. */
int sov_sketch_add(struct sov_sketch *s, double v, uint64_t n);

/* Add what another sketch counted. */
int sov_sketch_merge(struct sov_sketch *s, const struct sov_sketch *o);

/* Add a sketch in text form (len bytes); a bad text is SOV_EXIT_FAIL with a
 * message saying what is wrong, and adds nothing. */
int sov_sketch_merge_text(struct sov_sketch *s, const char *text, size_t len,
			  struct sov_err *e);

/* The text form, malloc'd (caller frees); NULL when out of memory. */
char *sov_sketch_text(const struct sov_sketch *s);

uint64_t sov_sketch_count(const struct sov_sketch *s);

/* The q-quantile (0..1), interpolated between ranks as percentile_cont
 * does; NAN when the sketch is empty. */
double sov_sketch_quantile(const struct sov_sketch *s, double q);

#endif
