/* Allocations from inlined code, built with -O2: make_node is inlined into
 * fill, fill into build. The profile's location must carry the whole chain
 * (make_node at its malloc line, fill at its call, build at its call). */
#include <stdlib.h>

void *g_nodes[100];

static inline __attribute__((always_inline)) void *make_node(int i)
{
  return malloc(16 + i % 2);   /* make_node's line */
}

static inline __attribute__((always_inline)) void fill(int n)
{
  for (int i = 0; i < n; i++) g_nodes[i] = make_node(i);   /* fill's line */
}

__attribute__((noinline)) void build(void)
{
  fill(100);   /* build's line */
}

int main(void)
{
  build();
  return 0;
}
