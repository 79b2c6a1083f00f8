/* demo.h - the commands of sov-demo, one file each. */
#ifndef SOV_DEMO_H
#define SOV_DEMO_H

int demo_cmd_run(int argc, char **argv);
int demo_cmd_cat(int argc, char **argv);
int demo_cmd_measure(int argc, char **argv);
int demo_cmd_query(int argc, char **argv);

#endif
