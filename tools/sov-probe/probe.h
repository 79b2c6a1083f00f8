/*
 * probe.h - the commands of sov-probe, one file each.
 *
 * Records every command shares (docs/probe-targets.md has them all):
 *   a result  {"ts","event":"probe","target","type","up","seconds","error",
 *              and the type's own fields: "status", "cert_days_left", ...}
 *   a change  {"ts","event":"probe.state","target","type","from","to",
 *              "error","streak"}
 * Measurements (tags {"target","type"} and the target's own tags):
 *   probe.up (1 or 0), probe.seconds (s), probe.cert.days_left (d),
 *   probe.disk.free (%), probe.disk.inodes_free (%), probe.age (s: backup
 *   freshness, WireGuard handshake age; the latter tagged "peer").
 */
#ifndef PR_PROBE_H
#define PR_PROBE_H

int pr_cmd_validate(int argc, char **argv);
int pr_cmd_run(int argc, char **argv);
int pr_cmd_daemon(int argc, char **argv);
int pr_cmd_status(int argc, char **argv);
int pr_cmd_query(int argc, char **argv);
int pr_cmd_rollup(int argc, char **argv);
int pr_cmd_page(int argc, char **argv);

#endif
