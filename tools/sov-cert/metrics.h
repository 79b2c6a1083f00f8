/*
 * metrics.h - the measurements issue and renew write after their work:
 * cert.days_left (d) and cert.renewal.seconds (s), tagged {"name"} and
 * {"name","outcome"}. Collected as a jv array of [name, value, unit,
 * tags], then written to the store (--metrics URL or $SOV_METRICS) in one
 * go, so that a store that is down never stops a renewal.
 */
#ifndef CT_METRICS_H
#define CT_METRICS_H

#include <jv.h>

#include "err.h"

/* Append one measurement to list (consumed, returned); cert is the
 * certificate's name, outcome NULL for none. */
jv ct_measure(jv list, const char *name, double value, const char *unit,
	      const char *cert, const char *outcome);

/* Write them (m consumed) to url. */
int ct_metrics_write(const char *url, jv m, struct sov_err *e);

/* --metrics, else $SOV_METRICS when set and not empty, else NULL. */
const char *ct_metrics_url(const char *opt);

#endif
