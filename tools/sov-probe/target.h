/*
 * target.h - probe targets: what is checked, how often, and what counts as
 * up. The file format is docs/probe-targets.md; in short:
 *
 *   {"defaults": {"interval": "30s", "timeout": "10s", "failures": 2},
 *    "alerts":   {"ops": {"command": ["notify-ops"]}},
 *    "targets":  {"web": {"type": "http", "url": "https://example.com/",
 *                         "status": [200], "cert_days": 14,
 *                         "alerts": ["ops"]}}}
 *
 * A targets PATH is one such file, or a directory whose *.json files are
 * read in name order and merged (a target or alert named twice is an
 * error naming both files). Everything is validated before anything runs;
 * an error is "FILE: JSON.PATH: message" with exit code 2.
 */
#ifndef PR_TARGET_H
#define PR_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "err.h"
#include "jcheck.h"
#include "jqprog.h"

/* Limits; docs/probe-targets.md lists them too. */
#define PR_FILE_MAX (4u << 20)  /* bytes of one targets file */
#define PR_FILES_MAX 4096       /* files in a targets directory */
#define PR_TARGETS_MAX 100000   /* targets in all */
#define PR_ALERTS_MAX 256       /* alert actions in all */
#define PR_NAME_MAX SOV_JCHECK_NAME_MAX
#define PR_URL_MAX 4096
#define PR_HOST_MAX 253
#define PR_PATH_MAX 4096
#define PR_ARGV_MAX 256
#define PR_ARG_MAX 4096
#define PR_HEADERS_MAX 64
#define PR_HEADER_MAX 8192 /* bytes of a header value */
#define PR_BODY_MAX (1u << 20)
#define PR_STATUS_MAX 32 /* expected status codes */
#define PR_EXPECT_MAX 64 /* expected DNS records, WireGuard peers */
#define PR_TAGS_MAX 32
#define PR_TAG_MAX 256
#define PR_TEXT_MAX 4096 /* description, contains, query */
#define PR_JQ_MAX (16u << 10)

/* Defaults and bounds, in ms and bytes. */
#define PR_INTERVAL_DEFAULT_MS INT64_C(30000)
#define PR_INTERVAL_MIN_MS INT64_C(1000)
#define PR_INTERVAL_MAX_MS INT64_C(86400000) /* 1d */
#define PR_TIMEOUT_DEFAULT_MS INT64_C(10000)
#define PR_TIMEOUT_MIN_MS INT64_C(10)
#define PR_FAILURES_DEFAULT 2  /* consecutive failures before "down" */
#define PR_SUCCESSES_DEFAULT 1 /* consecutive successes before "up" */
#define PR_STREAK_MAX 100
#define PR_READ_MAX_DEFAULT (1u << 20) /* bytes of a body or output read */
#define PR_READ_MAX_LIMIT (64u << 20)
#define PR_REDIRECTS_MAX 20
#define PR_HANDSHAKE_AGE_DEFAULT_MS INT64_C(180000) /* WireGuard: 3m */

enum pr_type {
	PR_HTTP = 1,
	PR_TCP,
	PR_TLS,
	PR_DNS,
	PR_ICMP,
	PR_DISK,
	PR_POSTGRES,
	PR_SQLITE,
	PR_COMMAND,
	PR_SYSTEMD,
	PR_WIREGUARD,
	PR_BACKUP,
};

/* "http", "tcp", ...; NULL for a value out of range. */
const char *pr_type_name(enum pr_type t);

/* "A", "AAAA", ... for a DNS record type; "?" for others. */
const char *pr_rrtype_name(int type);

/* What a probe of each type needs; fields not of its type stay zero. */
struct pr_http {
	char *url;
	char *method;   /* "GET" unless given */
	char **headers; /* NULL-terminated "Name: value", or NULL */
	char *body;     /* or NULL */
	size_t body_len;
	int status[PR_STATUS_MAX]; /* accepted codes; none given: 200-399 */
	int nstatus;
	char *contains;       /* substring of the body, or NULL */
	struct sov_jq_prog cond; /* a jq condition on the JSON body (src
				  * NULL: none); compiled with the set's
				  * others (target_jq.c) */
	int redirects;        /* at most this many followed (default 0) */
	int reuse;            /* keep connections between probes */
	char *ca_file;        /* PEM bundle to trust, or NULL: the system's */
	int insecure;         /* skip verification (a self-signed host) */
};

struct pr_tls {
	char *host;        /* tcp and tls */
	int port;          /* tcp and tls; tls default 443 */
	char *server_name; /* tls: SNI and the name checked; default host */
	char *ca_file;
};

struct pr_dns {
	char *name;
	int rrtype;     /* ns_t_a, ns_t_aaaa, ... (arpa/nameser.h) */
	char *server;   /* an IP address, or NULL: the system's resolvers */
	char **expect;  /* NULL-terminated; each must be among the answers */
};

struct pr_disk {
	char *path;
	double min_free_percent;   /* of blocks; -1 not checked */
	double min_free_bytes;     /* -1 not checked */
	double min_inodes_percent; /* -1 not checked */
};

struct pr_db {
	char *url;      /* postgres: a URL; sqlite: the file */
	char *url_file; /* postgres: read the URL from here (it has a password) */
	char *query;    /* postgres: default "SELECT 1" */
	char *jq_src;   /* a condition on the rows (an array of objects) */
	struct sov_jq *jq;
};

struct pr_command {
	char **argv; /* NULL-terminated */
	char *jq_src; /* command: a condition on the JSON output, or NULL;
		       * backup: a filter choosing records (default all) */
	struct sov_jq *jq;
	int64_t max_age_ms; /* backup: the newest record's "ts" at most this
			     * old */
};

struct pr_wireguard {
	char *interface;
	char **peers; /* NULL-terminated public keys, or NULL: every peer */
	int64_t max_age_ms;
};

struct pr_target {
	char *name;
	const char *file; /* where it was defined (the set owns it) */
	enum pr_type type;
	char *description;      /* or NULL */
	int64_t interval_ms;
	int64_t timeout_ms;
	int64_t latency_ms;     /* a budget: slower is down; 0 none */
	int failures;           /* consecutive, before down */
	int successes;          /* consecutive, before up */
	size_t read_max;        /* body or output bytes read at most */
	double cert_days;       /* http(s), tls: fewer days left is down;
				 * 0 not checked */
	jv tags;                /* object of strings, added to measurements */
	size_t *alerts;         /* indexes into the set's alerts */
	size_t nalerts;
	union {
		struct pr_http http;
		struct pr_tls net; /* tcp, tls, icmp (host only) */
		struct pr_dns dns;
		struct pr_disk disk;
		struct pr_db db; /* postgres, sqlite */
		struct pr_command cmd; /* command, backup */
		struct pr_wireguard wg;
		char *unit; /* systemd */
	} u;
};

/* An alert action: run when a target changes state, with the event record
 * (one JSON line) on stdin or as the request body. */
struct pr_alert {
	char *name;
	const char *file;  /* where it was defined (the set owns it) */
	char **command;    /* argv, or NULL */
	char *webhook;     /* URL to POST to, or NULL */
	char **headers;    /* of the webhook, or NULL */
	char *enqueue;     /* a sov-wf workflow name, or NULL */
	int64_t timeout_ms;
};

struct pr_set {
	struct pr_target *targets; /* sorted by name */
	size_t ntargets;
	struct pr_alert *alerts; /* sorted by name */
	size_t nalerts;
	char **files; /* the files read, in order */
	size_t nfiles;
};

enum {
	PR_LOAD_NO_COMPILE = SOV_JCHECK_NO_COMPILE, /* structure only */
};

/* Load and fully validate PATH (a file, "-" for stdin, or a directory) into
 * *set. On error *set is empty. The http targets' jq conditions are
 * compiled together (jqprog.h: sov_jq_compile_set), so they must be run
 * by one thread at a time: the engine runs them on its loop. */
int pr_set_load(const char *path, int flags, struct pr_set *set,
		struct sov_err *e);

/* As pr_set_load for one document already in memory (fuzzing, tests). */
int pr_set_from_text(const char *text, size_t len, const char *file,
		     int flags, struct pr_set *set, struct sov_err *e);

void pr_set_free(struct pr_set *set); /* accepts a zeroed one */

/* The target named name, or NULL. */
const struct pr_target *pr_set_find(const struct pr_set *set,
				    const char *name);

/* A target as a JSON object (for validate and status): name, type, file,
 * interval, timeout and the fields of its type; never a secret. */
jv pr_target_describe(const struct pr_set *set, const struct pr_target *t);

#endif
