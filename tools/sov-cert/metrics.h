/*
 * metrics.h - a run's measurements (sync), collected while it works and
 * written after it, so a store that is down never stops an issuance:
 *
 *   cert.days_left        d  every certificate looked at, tagged {"name"}
 *   cert.renewal.seconds  s  every issuance tried, tagged {"name",
 *                            "outcome": "renewed"|"failed"|"tempfailed"}
 *
 * the names and tags `renew --metrics` writes.
 */
#ifndef CT_METRICS_H
#define CT_METRICS_H

#include <jv.h>

#include "err.h"

/* Append [name, value, unit, tags] to list (consumed, returned). outcome
 * may be NULL. */
jv ct_measure(jv list, const char *name, double value, const char *unit,
	      const char *cert, const char *outcome);

/* Write list (consumed) to the store named by url. */
int ct_metrics_write(const char *url, jv list, struct sov_err *e);

#endif
