/* Stand-in for `reachcheck diff|graph` until core/launcher.c dispatches to
 * rc_tool_diff / rc_tool_graph: `rct_tools diff OLD NEW ...`. */
#include <stdio.h>
#include <string.h>
#include "tool_common.h"

int main(int argc, char **argv)
{
  if (argc > 1 && !strcmp(argv[1], "diff")) return rc_tool_diff(argc - 1, argv + 1);
  if (argc > 1 && !strcmp(argv[1], "graph")) return rc_tool_graph(argc - 1, argv + 1);
  fprintf(stderr, "usage: %s diff|graph ...\n", argv[0]);
  return 2;
}
