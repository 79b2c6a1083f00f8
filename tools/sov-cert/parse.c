/*
 * parse.c - the CA's JSON resources, checked field by field: directory,
 * order, authorization and its challenges, problem documents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme.h"

int
ct_url_ok(const char *s)
{
	size_t n = strlen(s);

	if (n > CT_URL_MAX)
		return 0;
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return 0;
	return strlen(strchr(s, ':') + 3) > 0;
}

int
ct_nonce_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= CT_NONCE_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789-_") == n;
}

enum ct_status
ct_status_parse(const char *s)
{
	static const struct {
		const char *n;
		enum ct_status s;
	} t[] = {{"pending", CT_ST_PENDING},
		 {"ready", CT_ST_READY},
		 {"processing", CT_ST_PROCESSING},
		 {"valid", CT_ST_VALID},
		 {"invalid", CT_ST_INVALID}};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].n) == 0)
			return t[i].s;
	return CT_ST_OTHER;
}

/* o[key] as a malloc'ed string: 0 ok (NULL when absent and optional), -1
 * wrong kind, too long, or not a URL when url is set. Does not consume o. */
static int
get_str(jv o, const char *key, int required, int url, size_t max, char **out,
	const char *what, struct sov_err *e)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));
	int rc = -1;

	*out = NULL;
	if (jv_get_kind(v) == JV_KIND_INVALID ||
	    jv_get_kind(v) == JV_KIND_NULL) {
		if (!required)
			rc = 0;
		else
			sov_err_set(e, SOV_EXIT_FAIL, "%s: %s is missing", what,
				    key);
		goto out;
	}
	if (jv_get_kind(v) != JV_KIND_STRING) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: %s is not a string", what,
			    key);
		goto out;
	}
	if ((size_t)jv_string_length_bytes(jv_copy(v)) > max ||
	    strlen(jv_string_value(v)) !=
		(size_t)jv_string_length_bytes(jv_copy(v))) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: %s over %zu bytes", what,
			    key, max);
		goto out;
	}
	if (url && !ct_url_ok(jv_string_value(v))) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: %s is not an http(s) URL",
			    what, key);
		goto out;
	}
	*out = strdup(jv_string_value(v));
	if (*out == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	jv_free(v);
	return rc;
}

static enum ct_status
get_status(jv o)
{
	jv v = jv_object_get(jv_copy(o), jv_string("status"));
	enum ct_status s = CT_ST_OTHER;

	if (jv_get_kind(v) == JV_KIND_STRING)
		s = ct_status_parse(jv_string_value(v));
	jv_free(v);
	return s;
}

/* CA text for a message: printable ASCII, others as '?', cut to size. */
static void
printable(char *dst, size_t size, const char *src)
{
	size_t k = 0;

	for (; *src && k + 1 < size; src++)
		dst[k++] = (*src >= ' ' && *src < 0x7f) ? *src : '?';
	dst[k] = '\0';
}

static int
need_object(jv v, const char *what, struct sov_err *e)
{
	if (jv_get_kind(v) == JV_KIND_OBJECT)
		return 0;
	return sov_err_set(e, SOV_EXIT_FAIL, "%s: want a JSON object", what);
}

int
ct_dir_parse(jv v, const char *what, struct ct_dir *d, struct sov_err *e)
{
	jv meta = jv_invalid();
	int rc = -1;

	memset(d, 0, sizeof(*d));
	if (need_object(v, what, e) < 0)
		goto out;
	if (get_str(v, "newNonce", 1, 1, CT_URL_MAX, &d->new_nonce, what, e) ||
	    get_str(v, "newAccount", 1, 1, CT_URL_MAX, &d->new_account, what,
		    e) ||
	    get_str(v, "newOrder", 1, 1, CT_URL_MAX, &d->new_order, what, e) ||
	    get_str(v, "revokeCert", 0, 1, CT_URL_MAX, &d->revoke_cert, what,
		    e) ||
	    get_str(v, "keyChange", 0, 1, CT_URL_MAX, &d->key_change, what,
		    e) ||
	    get_str(v, "renewalInfo", 0, 1, CT_URL_MAX, &d->renewal_info, what,
		    e))
		goto out;
	meta = jv_object_get(jv_copy(v), jv_string("meta"));
	if (jv_get_kind(meta) == JV_KIND_OBJECT) {
		jv eab = jv_object_get(jv_copy(meta),
				       jv_string("externalAccountRequired"));

		d->eab_required = jv_get_kind(eab) == JV_KIND_TRUE;
		jv_free(eab);
		if (get_str(meta, "termsOfService", 0, 0, CT_URL_MAX, &d->terms,
			    what, e) ||
		    ct_dir_profiles_parse(meta, d, what, e) < 0)
			goto out;
	}
	rc = 0;
out:
	jv_free(meta);
	jv_free(v);
	if (rc < 0)
		ct_dir_free(d);
	return rc;
}

void
ct_dir_free(struct ct_dir *d)
{
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	free(d->revoke_cert);
	free(d->key_change);
	free(d->renewal_info);
	free(d->terms);
	for (size_t i = 0; i < d->nprofiles; i++)
		free(d->profiles[i]);
	free(d->profiles);
	memset(d, 0, sizeof(*d));
}

static jv
get_problem(jv o)
{
	jv v = jv_object_get(jv_copy(o), jv_string("error"));

	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return jv_null();
	}
	return v;
}

int
ct_order_parse(jv v, const char *what, struct ct_order *o, struct sov_err *e)
{
	jv list = jv_invalid();
	int rc = -1, n;

	memset(o, 0, sizeof(*o));
	o->error = jv_null();
	if (need_object(v, what, e) < 0)
		goto out;
	o->status = get_status(v);
	if (o->status == CT_ST_OTHER) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: order status missing or "
			    "unknown",
			    what);
		goto out;
	}
	if (get_str(v, "finalize", 1, 1, CT_URL_MAX, &o->finalize, what, e) ||
	    get_str(v, "certificate", 0, 1, CT_URL_MAX, &o->certificate, what,
		    e))
		goto out;
	list = jv_object_get(jv_copy(v), jv_string("authorizations"));
	if (jv_get_kind(list) != JV_KIND_ARRAY) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: authorizations is not an "
			    "array",
			    what);
		goto out;
	}
	n = jv_array_length(jv_copy(list));
	if (n < 1 || n > 100) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: %d authorizations (want 1 "
			    "to 100)",
			    what, n);
		goto out;
	}
	o->authzs = calloc((size_t)n, sizeof(*o->authzs));
	if (o->authzs == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		jv u = jv_array_get(jv_copy(list), i);

		if (jv_get_kind(u) != JV_KIND_STRING ||
		    !ct_url_ok(jv_string_value(u))) {
			jv_free(u);
			sov_err_set(e, SOV_EXIT_FAIL,
				    "%s: authorizations[%d] "
				    "is not a URL",
				    what, i);
			goto out;
		}
		o->authzs[i] = strdup(jv_string_value(u));
		jv_free(u);
		if (o->authzs[i] == NULL) {
			sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
			goto out;
		}
		o->nauthzs++;
	}
	o->error = get_problem(v);
	rc = 0;
out:
	jv_free(list);
	jv_free(v);
	if (rc < 0)
		ct_order_free(o);
	return rc;
}

void
ct_order_free(struct ct_order *o)
{
	for (size_t i = 0; i < o->nauthzs; i++)
		free(o->authzs[i]);
	free(o->authzs);
	free(o->finalize);
	free(o->certificate);
	jv_free(o->error);
	memset(o, 0, sizeof(*o));
	o->error = jv_null();
}

int
ct_authz_parse(jv v, const char *what, struct ct_authz *a, struct sov_err *e)
{
	jv id = jv_invalid(), list = jv_invalid(), wc;
	char *type = NULL;
	int rc = -1, n;

	memset(a, 0, sizeof(*a));
	a->error = jv_null();
	if (need_object(v, what, e) < 0)
		goto out;
	a->status = get_status(v);
	if (a->status == CT_ST_OTHER || a->status == CT_ST_READY ||
	    a->status == CT_ST_PROCESSING) {
		/* deactivated, expired, revoked: none can be used */
		jv s = jv_object_get(jv_copy(v), jv_string("status"));
		char shown[33];

		printable(shown, sizeof(shown),
			  jv_get_kind(s) == JV_KIND_STRING ? jv_string_value(s)
							   : "missing");
		sov_err_set(e, SOV_EXIT_FAIL, "%s: authorization status %s",
			    what, shown);
		jv_free(s);
		goto out;
	}
	id = jv_object_get(jv_copy(v), jv_string("identifier"));
	if (need_object(id, what, e) < 0 ||
	    get_str(id, "type", 1, 0, 16, &type, what, e) ||
	    get_str(id, "value", 1, 0, CT_URL_MAX, &a->domain, what, e))
		goto out;
	if (strcmp(type, "dns") != 0 || strlen(a->domain) > 253 ||
	    a->domain[0] == '\0' ||
	    strspn(a->domain,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789.-_*") != strlen(a->domain)) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: identifier is not a DNS "
			    "name",
			    what);
		goto out;
	}
	wc = jv_object_get(jv_copy(v), jv_string("wildcard"));
	a->wildcard = jv_get_kind(wc) == JV_KIND_TRUE;
	jv_free(wc);
	list = jv_object_get(jv_copy(v), jv_string("challenges"));
	if (jv_get_kind(list) != JV_KIND_ARRAY) {
		sov_err_set(e, SOV_EXIT_FAIL,
			    "%s: challenges is not an "
			    "array",
			    what);
		goto out;
	}
	n = jv_array_length(jv_copy(list));
	if (n > CT_CHALLENGES_MAX) {
		sov_err_set(e, SOV_EXIT_FAIL, "%s: over %d challenges", what,
			    CT_CHALLENGES_MAX);
		goto out;
	}
	a->chals = calloc((size_t)n + 1, sizeof(*a->chals));
	if (a->chals == NULL) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		jv c = jv_array_get(jv_copy(list), i);
		struct ct_challenge *ch = &a->chals[a->nchals];
		char cw[CT_URL_MAX + 32];
		int k = snprintf(cw, sizeof(cw), "%s: challenges[%d]", what, i);

		if (k < 0 || (size_t)k >= sizeof(cw) ||
		    need_object(c, cw, e) < 0) {
			if (k < 0 || (size_t)k >= sizeof(cw))
				sov_err_set(e, SOV_EXIT_FAIL,
					    "%s: name too "
					    "long",
					    what);
			jv_free(c);
			goto out;
		}
		a->nchals++;
		if (get_str(c, "type", 1, 0, 64, &ch->type, cw, e) ||
		    get_str(c, "url", 1, 1, CT_URL_MAX, &ch->url, cw, e) ||
		    get_str(c, "token", 0, 0, 256, &ch->token, cw, e)) {
			jv_free(c);
			goto out;
		}
		ch->status = get_status(c);
		if (jv_get_kind(a->error) == JV_KIND_NULL) {
			jv_free(a->error);
			a->error = get_problem(c);
		}
		jv_free(c);
	}
	rc = 0;
out:
	free(type);
	jv_free(id);
	jv_free(list);
	jv_free(v);
	if (rc < 0)
		ct_authz_free(a);
	return rc;
}

void
ct_authz_free(struct ct_authz *a)
{
	for (size_t i = 0; i < a->nchals; i++) {
		free(a->chals[i].type);
		free(a->chals[i].url);
		free(a->chals[i].token);
	}
	free(a->chals);
	free(a->domain);
	jv_free(a->error);
	memset(a, 0, sizeof(*a));
	a->error = jv_null();
}

const char *
ct_problem_type(jv prob)
{
	const char *s = "";

	if (jv_get_kind(prob) == JV_KIND_OBJECT) {
		jv t = jv_object_get(jv_copy(prob), jv_string("type"));

		/* the string lives as long as prob holds it */
		if (jv_get_kind(t) == JV_KIND_STRING)
			s = jv_string_value(t);
		jv_free(t);
	}
	return s;
}

/* Append " " + key's text of o, cut to max, printable ASCII only. */
static void
append_field(char *buf, size_t size, jv o, const char *key, const char *pre,
	     const char *post)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));
	size_t n = strlen(buf);
	char clean[CT_DETAIL_MAX + 1];
	size_t k = 0;

	if (jv_get_kind(v) == JV_KIND_STRING) {
		for (const unsigned char *p =
			 (const unsigned char *)jv_string_value(v);
		     *p && k < CT_DETAIL_MAX; p++)
			clean[k++] = (*p >= ' ' && *p < 0x7f) ? (char)*p : '?';
		clean[k] = '\0';
		if (n + 4 < size) {
			int w = snprintf(buf + n, size - n, "%s%s%s", pre,
					 clean, post);

			if (w < 0 || (size_t)w >= size - n) /* cut: say so */
				memcpy(buf + size - 4, "...", 4);
		}
	}
	jv_free(v);
}

int
ct_problem_err(jv prob, const char *what, long status, long retry_after_ms,
	       struct sov_err *e)
{
	char msg[SOV_ERR_MSG_MAX] = "";
	int code = SOV_EXIT_FAIL, rate = 0;
	jv subs = jv_invalid();

	if (jv_get_kind(prob) == JV_KIND_OBJECT) {
		rate = strcmp(ct_problem_type(prob), CT_ERR_RATE_LIMITED) == 0;
		append_field(msg, sizeof(msg), prob, "detail", " ", "");
		append_field(msg, sizeof(msg), prob, "type", " (", ")");
		subs = jv_object_get(jv_copy(prob), jv_string("subproblems"));
		if (jv_get_kind(subs) == JV_KIND_ARRAY) {
			int n = jv_array_length(jv_copy(subs));

			for (int i = 0; i < n && i < CT_SUBPROBLEMS_MAX; i++) {
				jv s = jv_array_get(jv_copy(subs), i);
				jv id =
				    jv_get_kind(s) == JV_KIND_OBJECT
					? jv_object_get(jv_copy(s),
							jv_string("identifier"))
					: jv_invalid();

				if (jv_get_kind(id) == JV_KIND_OBJECT)
					append_field(msg, sizeof(msg), id,
						     "value", "; ", ":");
				if (jv_get_kind(s) == JV_KIND_OBJECT) {
					append_field(msg, sizeof(msg), s,
						     "detail", " ", "");
					append_field(msg, sizeof(msg), s,
						     "type", " (", ")");
				}
				jv_free(id);
				jv_free(s);
			}
		}
	}
	if (rate || status == 429 || status >= 500)
		code = SOV_EXIT_TEMPFAIL;
	if (status > 0)
		sov_err_set(e, code, "%s: HTTP %ld:%s", what, status,
			    msg[0] ? msg : " (no problem document)");
	else
		sov_err_set(e, code, "%s:%s", what, msg[0] ? msg : " failed");
	if (code == SOV_EXIT_TEMPFAIL && retry_after_ms >= 0) {
		size_t n = strlen(e->msg);

		snprintf(e->msg + n, sizeof(e->msg) - n, "; retry after %ld s",
			 (retry_after_ms + 999) / 1000);
	}
	jv_free(subs);
	jv_free(prob);
	return -1;
}

/* Is there rel="alternate" (or rel=alternate) in the parameters p..end? */
static int
rel_alternate(const char *p, const char *end)
{
	static const char *const forms[] = {"rel=\"alternate\"",
					    "rel=alternate"};

	for (size_t f = 0; f < 2; f++) {
		size_t n = strlen(forms[f]);

		for (const char *q = p; q + n <= end; q++)
			if (strncasecmp(q, forms[f], n) == 0 &&
			    (q + n == end || q[n] == ';' || q[n] == ' ' ||
			     q[n] == ','))
				return 1;
	}
	return 0;
}

int
ct_link_alternates(const char *links, char **urls, int max)
{
	const char *p = links;
	int n = 0;

	while (n < max && (p = strchr(p, '<')) != NULL) {
		const char *gt = strchr(p, '>'), *next;

		if (gt == NULL)
			break;
		next = strchr(gt, '<');
		if (next == NULL)
			next = gt + strlen(gt);
		if (rel_alternate(gt + 1, next) &&
		    (size_t)(gt - p - 1) <= CT_URL_MAX) {
			char *u = strndup(p + 1, (size_t)(gt - p - 1));

			if (u == NULL) {
				while (n > 0)
					free(urls[--n]);
				return -1;
			}
			if (ct_url_ok(u))
				urls[n++] = u;
			else
				free(u);
		}
		p = gt + 1;
	}
	return n;
}
