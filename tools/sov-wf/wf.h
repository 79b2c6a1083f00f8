/*
 * wf.h - the commands of sov-wf, one file each.
 */
#ifndef WF_WF_H
#define WF_WF_H

int wf_cmd_validate(int argc, char **argv);
int wf_cmd_graph(int argc, char **argv);

/* The commands of later slices: say so, exit 2. */
int wf_cmd_todo(int argc, char **argv);

#endif
