/*
 * profiles.c - certificate profiles (draft-ietf-acme-profiles): the names
 * in the directory's meta.profiles, and the checks on a profile name.
 */
#include <stdlib.h>
#include <string.h>

#include "acme.h"

int
ct_profile_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= CT_PROFILE_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789._-") == n;
}

int
ct_dir_has_profile(const struct ct_dir *d, const char *name)
{
	for (size_t i = 0; i < d->nprofiles; i++)
		if (strcmp(d->profiles[i], name) == 0)
			return 1;
	return 0;
}

int
ct_dir_profiles_parse(jv meta, struct ct_dir *d, const char *what,
		      struct sov_err *e)
{
	jv p = jv_object_get(jv_copy(meta), jv_string("profiles"));
	int rc = -1, n;

	if (jv_get_kind(p) == JV_KIND_INVALID ||
	    jv_get_kind(p) == JV_KIND_NULL) {
		rc = 0;
		goto out;
	}
	if (jv_get_kind(p) != JV_KIND_OBJECT) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: meta.profiles is not an object", what);
		goto out;
	}
	n = jv_object_length(jv_copy(p));
	if (n > CT_PROFILES_MAX) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: meta.profiles: over %d profiles", what,
			    CT_PROFILES_MAX);
		goto out;
	}
	d->profiles = calloc((size_t)n + 1, sizeof(*d->profiles));
	if (d->profiles == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	jv_object_foreach(p, k, val)
	{
		const char *name = jv_string_value(k);
		int good = strlen(name) ==
			       (size_t)jv_string_length_bytes(jv_copy(k)) &&
			   ct_profile_ok(name);

		jv_free(val);
		if (good)
			d->profiles[d->nprofiles] = strdup(name);
		jv_free(k);
		if (!good) {
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: meta.profiles: a name that is not 1 "
				    "to %d of A-Z a-z 0-9 . _ -",
				    what, CT_PROFILE_MAX);
			goto out;
		}
		if (d->profiles[d->nprofiles++] == NULL) {
			sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	jv_free(p);
	return rc;
}
