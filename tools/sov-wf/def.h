/*
 * def.h - a workflow definition, loaded and validated fully before anything
 * runs (docs/workflow-format.md is the format; this is its memory).
 *
 * wf_def_load reads a JSON file, checks every field, compiles every jq
 * program and orders the steps; the first error, found in a fixed order
 * (object keys sorted, depth first), is returned as
 *   "FILE: JSON.PATH: what is wrong"
 * e.g. "lead.json: steps.score.retry.attempts: must be an integer from 1
 * to 100". Everything the engine needs is then in struct wf_def with the
 * defaults filled in: steps in a topological order, each step's kind,
 * compiled programs, retry policy, timeout and undo, and the measure.
 */
#ifndef WF_DEF_H
#define WF_DEF_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "cron.h"
#include "err.h"
#include "jcheck.h"
#include "jqprog.h"

/* Limits; docs/workflow-format.md lists them too. */
#define WF_DEF_FILE_MAX (1u << 20) /* bytes of a definition file */
#define WF_NAME_MAX SOV_JCHECK_NAME_MAX /* workflow and step names */
#define WF_STEPS_MAX 256
#define WF_TRIGGERS_MAX 32
#define WF_ARGV_MAX 256               /* entries of a run argv */
#define WF_ARG_MAX 4096               /* bytes of one argv entry */
#define WF_JQ_MAX (16u << 10)         /* bytes of one jq program */
#define WF_DESCRIPTION_MAX 4096       /* bytes */
#define WF_URL_MAX 2048               /* bytes */
#define WF_HEADERS_MAX 64             /* headers of an http step */
#define WF_HEADER_NAME_MAX SOV_JCHECK_HEADER_NAME_MAX /* bytes */
#define WF_HEADER_VALUE_MAX 8192      /* bytes */
#define WF_EXPECT_MAX 32              /* status codes in expect */
#define WF_FILE_PATH_MAX 4096         /* bytes of secret_file */
#define WF_CREDENTIAL_MAX 64          /* bytes of secret_credential */
#define WF_CONCURRENCY_MAX 10000      /* executions at once */
#define WF_VERSION_MAX 2147483647     /* the workflow's own version */
#define WF_HUMAN_MINUTES_MAX 1000000. /* per execution */

/* Defaults and bounds of a step, in ms and bytes. */
#define WF_TIMEOUT_DEFAULT_MS INT64_C(60000)
#define WF_TIMEOUT_MAX_MS INT64_C(86400000) /* 24h */
#define WF_OUTPUT_MAX_DEFAULT (1u << 20)    /* 1 MiB */
#define WF_OUTPUT_MAX_LIMIT (64u << 20)     /* 64 MiB */
#define WF_RETRY_ATTEMPTS_DEFAULT 3
#define WF_RETRY_ATTEMPTS_MAX 100
#define WF_RETRY_BASE_DEFAULT_MS INT64_C(1000) /* 1s */
#define WF_RETRY_BASE_MAX_MS INT64_C(86400000) /* 24h */
#define WF_RETRY_FACTOR_DEFAULT 2.0
#define WF_RETRY_FACTOR_MAX 100.0
#define WF_RETRY_MAX_DELAY_DEFAULT_MS INT64_C(300000) /* 5m */
#define WF_RETRY_MAX_DELAY_MAX_MS INT64_C(604800000)  /* 7d */

/* Bit words for a set of steps (ancestors). */
#define WF_STEP_WORDS ((WF_STEPS_MAX + 63) / 64)

enum {
	/* Check the structure only, compile no jq program (every program's
	 * q stays NULL). jq 1.6 takes some 15 ms per program: for listing
	 * many definitions quickly, and for fuzzing the structure. */
	WF_DEF_NO_COMPILE = 1 << 0, /* SOV_JCHECK_NO_COMPILE */
};

enum wf_kind { WF_KIND_RUN = 1, WF_KIND_JQ, WF_KIND_HTTP };

enum wf_jitter { WF_JITTER_FULL = 1, WF_JITTER_NONE };

/* A jq program (jqprog.h: struct sov_jq_prog): its text and, unless
 * WF_DEF_NO_COMPILE, compiled. Its runtime errors name "FILE: JSON.PATH"
 * too. A definition's programs are compiled together, after its structure
 * is checked (jq 1.6 spends ~16 ms of each compile on its builtins); they
 * share a jq state, so one definition is run by one thread at a time. */

enum wf_method {
	WF_METHOD_GET = 1,
	WF_METHOD_POST,
	WF_METHOD_PUT,
	WF_METHOD_PATCH,
	WF_METHOD_DELETE,
};

struct wf_http {
	char *url;                 /* http:// or https:// */
	enum wf_method method;     /* default POST with a body, else GET */
	jv headers;                /* object of string -> string; {} default */
	struct sov_jq_prog body;   /* src NULL: no body */
	int expect[WF_EXPECT_MAX]; /* acceptable statuses */
	size_t n_expect;           /* 0: any 2xx */
};

/* What a step (or its undo) does: exactly one of run, jq, http. */
struct wf_action {
	enum wf_kind kind;
	char **argv; /* run: argc strings and a NULL */
	size_t argc;
	struct sov_jq_prog jq; /* jq */
	struct wf_http http;
	/* The input mapping; src NULL: the default (see wf_step_input). */
	struct sov_jq_prog input;
};

struct wf_retry {
	int attempts; /* in all, the first one included */
	int64_t base_ms;
	double factor;
	int64_t max_delay_ms;
	enum wf_jitter jitter;
};

struct wf_step {
	char *name;
	size_t index;  /* in def->steps, which is sorted by name */
	size_t *needs; /* indices into def->steps, ascending */
	size_t n_needs;
	uint64_t ancestors[WF_STEP_WORDS]; /* bit i: steps[i], transitively */
	struct sov_jq_prog cond;           /* "if"; src NULL: always runs */
	struct wf_action act;
	struct wf_action *undo; /* NULL: nothing to undo */
	struct wf_retry retry;
	int64_t timeout_ms;
	size_t output_max; /* bytes */
};

enum wf_trigger_kind {
	WF_TRIGGER_CRON = 1,
	WF_TRIGGER_WEBHOOK,
	WF_TRIGGER_ENQUEUE,
};

struct wf_trigger {
	enum wf_trigger_kind kind;
	char *cron_src; /* cron: as written */
	struct wf_cron cron;
	jv input;                /* cron: the execution's input, {} default */
	int catch_up; /* cron: a worker starting late runs the last missed */
	char *path;              /* webhook: "/hooks/NAME" */
	char *secret_file;       /* webhook: one of these two is set */
	char *secret_credential; /* a systemd credential name */
};

struct wf_measure {
	double human_minutes;  /* saved per execution; 0 when not given */
	struct sov_jq_prog tokens; /* src NULL: not given */
	struct sov_jq_prog cost;
};

struct wf_def {
	char *file; /* as given to the loader, for messages */
	char *name;
	long version;
	char *description; /* NULL: none */
	long concurrency;  /* 0: not limited */
	struct wf_trigger *triggers;
	size_t n_triggers;
	struct wf_step *steps; /* sorted by name */
	size_t n_steps;
	size_t *order; /* n_steps indices into steps: needs come first, ties
			  by name (Kahn's algorithm) */
	struct wf_measure measure;
	jv json; /* the definition as parsed, for the store */
};

/*
 * Read path ("-": stdin) and load it. NULL on error: SOV_EXIT_USAGE for
 * bad input, naming the file and the JSON path; SOV_EXIT_FAIL or
 * SOV_EXIT_TEMPFAIL when reading or memory failed.
 */
struct wf_def *wf_def_load(const char *path, int flags, struct sov_err *e);

/* Load a parsed definition (consumed); file names it in messages. */
struct wf_def *wf_def_from_jv(jv json, const char *file, int flags,
			      struct sov_err *e);

/* Load from bytes (not NUL-terminated), as wf_def_load after reading. */
struct wf_def *wf_def_from_text(const char *text, size_t len, const char *file,
				int flags, struct sov_err *e);

void wf_def_free(struct wf_def *d); /* accepts NULL */

/* fn on every jq program the definition gives (src not NULL): steps in
 * run order, each's if, input, jq or body, its undo's; then measure. */
void wf_def_each_prog(struct wf_def *d,
		      void (*fn)(struct sov_jq_prog *, void *), void *arg);

/* The index of the step called name, or -1. */
long wf_def_find(const struct wf_def *d, const char *name);

/* "run", "jq" or "http". */
const char *wf_kind_name(enum wf_kind k);

/* "GET", "POST", ... */
const char *wf_method_name(enum wf_method m);

/* Whether an http action accepts status (its expect, else 200-299). */
int wf_http_accepts(const struct wf_http *h, long status);

/*
 * The input of step s, from ctx = {"input": workflow input, "steps":
 * {NAME: output of each ancestor of s, null when it was skipped}}
 * (consumed): its "input" program, else the default: ".input" for a step
 * without needs, ".steps[NEED]" for a step with one need, "." (all of
 * ctx) for a step with more. -1 with the program's error (SOV_EXIT_FAIL),
 * or when ctx (or its "steps") is neither an object nor null.
 */
int wf_step_input(const struct wf_def *d, const struct wf_step *s, jv ctx,
		  jv *out, struct sov_err *e);

/*
 * The input of the undo of step s: ctx is {"input", "steps" (as the step
 * saw them), "step": {"input": what the step got, "output": what it
 * returned}} (consumed); the undo's "input" program, else ".step".
 */
int wf_undo_input(const struct wf_step *s, jv ctx, jv *out, struct sov_err *e);

/*
 * The delay before attempt number `attempt` (2 is the first retry):
 * base * factor^(attempt - 2), at most max_delay; with full jitter a
 * uniform share of it, r01 in [0, 1) being the caller's random number.
 */
int64_t wf_retry_delay_ms(const struct wf_retry *r, int attempt, double r01);

#endif
