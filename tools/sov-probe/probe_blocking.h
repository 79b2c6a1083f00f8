/*
 * probe_blocking.h - the probes that block (a file system, a database, a
 * command, the resolver, an ICMP socket). The daemon runs them on its
 * worker threads, never on the event loop; `run` the same way.
 *
 * Each fills r (initialised by the caller, which also times it) and never
 * takes longer than the target's timeout by more than a few ms.
 */
#ifndef PR_PROBE_BLOCKING_H
#define PR_PROBE_BLOCKING_H

#include "result.h"
#include "target.h"

/* Whether t's type is one of these (else it is http, tcp or tls). */
int pr_is_blocking(const struct pr_target *t);

/* Run the probe of t's type. */
void pr_probe_blocking(const struct pr_target *t, struct pr_result *r);

void pr_probe_disk(const struct pr_target *t, struct pr_result *r);
void pr_probe_sqlite(const struct pr_target *t, struct pr_result *r);
void pr_probe_postgres(const struct pr_target *t, struct pr_result *r);
void pr_probe_command(const struct pr_target *t, struct pr_result *r);
void pr_probe_backup(const struct pr_target *t, struct pr_result *r);
void pr_probe_systemd(const struct pr_target *t, struct pr_result *r);
void pr_probe_wireguard(const struct pr_target *t, struct pr_result *r);
void pr_probe_dns(const struct pr_target *t, struct pr_result *r);
void pr_probe_icmp(const struct pr_target *t, struct pr_result *r);

#endif
