/*
 * engine.h - run one claimed step (or undo) and decide what it came to:
 * the context of its ancestors' outputs, its "if", its input, the action,
 * and the retry time. Nothing here touches the store except to read a
 * definition the thread has not compiled yet.
 */
#ifndef WF_ENGINE_H
#define WF_ENGINE_H

#include "err.h"
#include "exec.h"
#include "queue.h"
#include "registry.h"

struct wf_engine {
	struct sov_store *st; /* the thread's own connection */
	struct wf_cache *cache;
	struct wf_exec *exec;
};

int wf_engine_init(struct wf_engine *g, struct sov_store *st,
		   struct sov_err *e);
void wf_engine_clear(struct wf_engine *g);

/*
 * Run claim c; fill dn (dn->claim = c). Never fails: a problem of the
 * worker itself (a definition it cannot read) is a RETRY of the step, and
 * one of the step (its input program fails) a FAIL.
 */
void wf_engine_run(struct wf_engine *g, struct wf_claim *c, struct wf_done *dn);

#endif
