/*
 * fuzz_wf_def.c - libFuzzer target for sov-wf's workflow definitions, from
 * bytes (no file system): the loader's structure checks, the step order,
 * and the DOT drawn from what it accepts.
 *
 * jq 1.6 takes ~15 ms to compile one program, so inputs are loaded with
 * WF_DEF_NO_COMPILE, except those starting with '!', whose rest (at most
 * COMPILE_MAX bytes, so a few programs) is loaded fully. libjq 1.6's parser
 * leaks a string on some syntax errors (an unterminated string literal,
 * `. and ."`), and libjq has no frame pointers for a suppression to find
 * jq_parse by: leak checking is off while such an input loads. The same
 * code without the compiler is leak-checked on every other input.
 *
 * Checks: a refusal is a usage error of one line that starts with the
 * file name; an accepted definition has its defaults within their limits,
 * an order that is a permutation with every need before its step,
 * ancestors that follow from the needs, and DOT whose quotes all close.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/lsan_interface.h>

#include "def.h"
#include "graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define COMPILE_MAX 2048
#define FILE_NAME "fuzz.json"

static int
has(const uint64_t *bits, size_t i)
{
	return (bits[i / 64] >> (i % 64)) & 1;
}

static void
check_step(const struct wf_def *d, const struct wf_step *s, const size_t *pos)
{
	uint64_t want[WF_STEP_WORDS] = {0};

	if (s->act.kind < WF_KIND_RUN || s->act.kind > WF_KIND_HTTP ||
	    (s->undo &&
	     (s->undo->kind < WF_KIND_RUN || s->undo->kind > WF_KIND_HTTP)))
		__builtin_trap();
	if (s->act.kind == WF_KIND_RUN &&
	    (s->act.argc < 1 || s->act.argv[s->act.argc] != NULL))
		__builtin_trap();
	if (s->timeout_ms < 1 || s->timeout_ms > WF_TIMEOUT_MAX_MS ||
	    s->output_max < 1 || s->output_max > WF_OUTPUT_MAX_LIMIT ||
	    s->retry.attempts < 1 ||
	    s->retry.attempts > WF_RETRY_ATTEMPTS_MAX ||
	    s->retry.max_delay_ms < s->retry.base_ms || s->retry.factor < 1)
		__builtin_trap();
	for (size_t j = 0; j < s->n_needs; j++) {
		size_t k = s->needs[j];

		if (k >= d->n_steps || k == s->index ||
		    (j > 0 && s->needs[j - 1] >= k) || pos[k] >= pos[s->index])
			__builtin_trap();
		want[k / 64] |= UINT64_C(1) << (k % 64);
		for (size_t w = 0; w < WF_STEP_WORDS; w++)
			want[w] |= d->steps[k].ancestors[w];
	}
	if (memcmp(want, s->ancestors, sizeof(want)) != 0 ||
	    has(s->ancestors, s->index))
		__builtin_trap();
}

static void
check_dot(const struct wf_def *d)
{
	struct sov_err e;
	size_t len, quotes = 0;
	char *dot = wf_graph_dot(d, &len, &e);

	if (dot == NULL || len < 2 || strlen(dot) != len ||
	    strcmp(dot + len - 2, "}\n") != 0)
		__builtin_trap();
	for (const char *p = dot; *p; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			quotes++;
		else if (*p == '\n' && quotes % 2 != 0)
			__builtin_trap();
	}
	free(dot);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int flags = WF_DEF_NO_COMPILE;
	struct sov_err e = {0};
	struct wf_def *d;
	size_t *pos;

	if (size > 0 && data[0] == '!') {
		if (size - 1 > COMPILE_MAX)
			return 0;
		flags = 0;
		data++;
		size--;
	}
	if (flags == 0)
		__lsan_disable();
	d = wf_def_from_text((const char *)data, size, FILE_NAME, flags, &e);
	if (flags == 0)
		__lsan_enable();
	if (d == NULL) {
		if (e.code != SOV_EXIT_USAGE ||
		    strncmp(e.msg, FILE_NAME ": ", strlen(FILE_NAME) + 2) !=
			0 ||
		    strchr(e.msg, '\n') != NULL)
			__builtin_trap();
		return 0;
	}
	if (d->n_steps < 1 || d->n_steps > WF_STEPS_MAX || d->version < 1 ||
	    !d->name || strcmp(d->file, FILE_NAME) != 0)
		__builtin_trap();
	pos = malloc(d->n_steps * sizeof(*pos));
	if (pos == NULL)
		__builtin_trap();
	for (size_t i = 0; i < d->n_steps; i++)
		pos[i] = SIZE_MAX;
	for (size_t k = 0; k < d->n_steps; k++) {
		if (d->order[k] >= d->n_steps || pos[d->order[k]] != SIZE_MAX)
			__builtin_trap();
		pos[d->order[k]] = k;
	}
	for (size_t i = 0; i < d->n_steps; i++) {
		if (d->steps[i].index != i ||
		    (i > 0 &&
		     strcmp(d->steps[i - 1].name, d->steps[i].name) >= 0) ||
		    wf_def_find(d, d->steps[i].name) != (long)i)
			__builtin_trap();
		check_step(d, &d->steps[i], pos);
	}
	for (size_t i = 0; i < d->n_triggers; i++)
		if (d->triggers[i].kind < WF_TRIGGER_CRON ||
		    d->triggers[i].kind > WF_TRIGGER_ENQUEUE)
			__builtin_trap();
	check_dot(d);
	free(pos);
	wf_def_free(d);
	return 0;
}
