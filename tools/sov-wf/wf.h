/*
 * wf.h - the commands of sov-wf, one file each (or a few small ones
 * together).
 */
#ifndef WF_WF_H
#define WF_WF_H

int wf_cmd_validate(int argc, char **argv);
int wf_cmd_graph(int argc, char **argv);
int wf_cmd_enqueue(int argc, char **argv);
int wf_cmd_run(int argc, char **argv);
int wf_cmd_worker(int argc, char **argv);
int wf_cmd_status(int argc, char **argv);
int wf_cmd_history(int argc, char **argv);
int wf_cmd_show(int argc, char **argv);
int wf_cmd_logs(int argc, char **argv);
int wf_cmd_cancel(int argc, char **argv);
int wf_cmd_dlq(int argc, char **argv);
int wf_cmd_purge(int argc, char **argv);

#endif
