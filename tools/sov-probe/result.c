/* result.c - a probe's outcome as a record and as measurements. */
#include "result.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "timestamp.h"

void
pr_result_init(struct pr_result *r)
{
	memset(r, 0, sizeof(*r));
	r->up = 1;
	r->ts_ms = sov_time_now_ms();
	r->fields = jv_object();
}

void
pr_result_clear(struct pr_result *r)
{
	jv_free(r->fields);
	r->fields = jv_invalid();
}

/* Control characters and invalid UTF-8 out, so a record stays one line. */
static void
clean(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		int n, ok;

		if (*p < 0x20 || *p == 0x7f) {
			*p++ = ' ';
			continue;
		}
		if (*p < 0x80) {
			p++;
			continue;
		}
		n = (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
		ok = n > 0;
		for (int i = 1; ok && i < n; i++) /* a NUL ends it: not 10xxxxxx */
			ok = (p[i] & 0xc0) == 0x80;
		if (!ok) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

void
pr_result_fail(struct pr_result *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!r->up && r->error[0])
		return;
	r->up = 0;
	va_start(ap, fmt);
	n = vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(r->error))
		memcpy(r->error + sizeof(r->error) - 4, "...", 4);
	clean(r->error);
	if (r->error[0] == '\0')
		snprintf(r->error, sizeof(r->error), "failed");
}

void
pr_result_set(struct pr_result *r, const char *key, jv v)
{
	r->fields = jv_object_set(r->fields, jv_string(key), v);
}

jv
pr_result_record(const struct pr_target *t, const struct pr_result *r)
{
	char ts[SOV_TIME_RFC3339_LEN];
	jv rec = jv_object();

	sov_time_format(r->ts_ms, ts);
	rec = jv_object_set(rec, jv_string("ts"), jv_string(ts));
	rec = jv_object_set(rec, jv_string("event"), jv_string("probe"));
	rec = jv_object_set(rec, jv_string("target"), jv_string(t->name));
	rec = jv_object_set(rec, jv_string("type"),
			    jv_string(pr_type_name(t->type)));
	rec = jv_object_set(rec, jv_string("up"), jv_bool(r->up));
	rec = jv_object_set(rec, jv_string("seconds"),
			    jv_number(round(r->seconds * 1e6) / 1e6));
	rec = jv_object_set(rec, jv_string("error"),
			    r->up ? jv_null() : jv_string(r->error));
	jv_object_foreach(r->fields, k, v) rec =
	    jv_object_set(rec, k, v);
	return rec;
}

static jv
tags_of(const struct pr_target *t)
{
	jv tags = jv_copy(t->tags);

	if (jv_get_kind(tags) != JV_KIND_OBJECT) {
		jv_free(tags);
		tags = jv_object();
	}
	tags = jv_object_set(tags, jv_string("target"), jv_string(t->name));
	return jv_object_set(tags, jv_string("type"),
			     jv_string(pr_type_name(t->type)));
}

char *
pr_result_tags(struct sov_metrics *m, const struct pr_target *t,
	       struct sov_err *e)
{
	return sov_metrics_tags_text(m, "probe.up", tags_of(t), e);
}

/* A field that is a number, as a measurement. */
static int
measure_field(struct sov_metrics *m, const char *tags,
	      const struct pr_result *r, const char *field, const char *name,
	      const char *unit, struct sov_err *e)
{
	jv v = jv_object_get(jv_copy(r->fields), jv_string(field));
	int rc = 0;

	if (jv_get_kind(v) == JV_KIND_NUMBER && isfinite(jv_number_value(v)))
		rc = sov_metrics_add_text(m, r->ts_ms, name, jv_number_value(v),
					  unit, tags, e);
	jv_free(v);
	return rc;
}

/* WireGuard: one probe.age per peer that ever shook hands. */
static int
measure_peers(struct sov_metrics *m, const struct pr_target *t,
	      const struct pr_result *r, struct sov_err *e)
{
	jv peers = jv_object_get(jv_copy(r->fields), jv_string("peers"));
	jv tags = tags_of(t);
	int rc = 0;

	if (jv_get_kind(peers) == JV_KIND_ARRAY) {
		jv_array_foreach(peers, i, p)
		{
			jv age = jv_object_get(jv_copy(p), jv_string("age"));
			jv key = jv_object_get(p, jv_string("peer"));

			if (rc == 0 && jv_get_kind(age) == JV_KIND_NUMBER &&
			    jv_get_kind(key) == JV_KIND_STRING)
				rc = sov_metrics_add_at(
				    m, r->ts_ms, "probe.age",
				    jv_number_value(age), "s",
				    jv_object_set(jv_copy(tags), jv_string("peer"),
						  jv_copy(key)),
				    e);
			jv_free(age);
			jv_free(key);
		}
	}
	jv_free(peers);
	jv_free(tags);
	return rc;
}

int
pr_result_measure(struct sov_metrics *m, const struct pr_target *t,
		  const char *tags, const struct pr_result *r,
		  struct sov_err *e)
{
	char *own = NULL;
	int rc = -1;

	if (tags == NULL && (tags = own = pr_result_tags(m, t, e)) == NULL)
		return -1;
	if (sov_metrics_add_text(m, r->ts_ms, "probe.up", r->up ? 1 : 0, "",
				 tags, e) < 0 ||
	    sov_metrics_add_text(m, r->ts_ms, "probe.seconds", r->seconds, "s",
				 tags, e) < 0 ||
	    measure_field(m, tags, r, "cert_days_left", "probe.cert.days_left",
			  "d", e) < 0 ||
	    measure_field(m, tags, r, "free_percent", "probe.disk.free", "%",
			  e) < 0 ||
	    measure_field(m, tags, r, "inodes_free_percent",
			  "probe.disk.inodes_free", "%", e) < 0 ||
	    measure_field(m, tags, r, "age", "probe.age", "s", e) < 0)
		goto out;
	rc = t->type == PR_WIREGUARD ? measure_peers(m, t, r, e) : 0;
out:
	free(own);
	return rc;
}
