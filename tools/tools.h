/* The launcher's pprof subcommands (issue 13). */
#ifndef RC_TOOLS_TOOLS_H
#define RC_TOOLS_TOOLS_H
int rc_tool_pprof(int argc, char **argv);   /* tools/tool_pprof.c */
int rc_tool_top(int argc, char **argv);     /* tools/tool_top.c */
int rc_tool_list(int argc, char **argv);
#endif
