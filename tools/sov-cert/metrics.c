/*
 * metrics.c - a run's measurements, written after the work (metrics.h).
 */
#include <stdio.h>

#include "measure.h"
#include "metrics.h"

jv
ct_measure(jv list, const char *name, double value, const char *unit,
	   const char *cert, const char *outcome)
{
	jv tags =
	    jv_object_set(jv_object(), jv_string("name"), jv_string(cert));

	if (outcome != NULL)
		tags = jv_object_set(tags, jv_string("outcome"),
				     jv_string(outcome));
	return jv_array_append(list, JV_ARRAY(jv_string(name), jv_number(value),
					      jv_string(unit), tags));
}

int
ct_metrics_write(const char *url, jv list, struct sov_err *e)
{
	struct sov_metrics *mt;
	int n = jv_array_length(jv_copy(list)), rc = -1;

	mt = sov_metrics_open(url, stdout, e);
	if (mt == NULL)
		goto out;
	for (int i = 0; i < n; i++) {
		jv x = jv_array_get(jv_copy(list), i);
		jv name = jv_array_get(jv_copy(x), 0);
		jv val = jv_array_get(jv_copy(x), 1);
		jv unit = jv_array_get(jv_copy(x), 2);
		int r = sov_metrics_add(
		    mt, jv_string_value(name), jv_number_value(val),
		    jv_string_value(unit), jv_array_get(jv_copy(x), 3), e);

		jv_free(name);
		jv_free(val);
		jv_free(unit);
		jv_free(x);
		if (r < 0) {
			sov_metrics_close(mt, NULL);
			goto out;
		}
	}
	rc = sov_metrics_close(mt, e);
out:
	jv_free(list);
	return rc;
}
