/* Workload 2: exit-time check over N live 16-byte blocks (default 1M).
 * usage: live leaked|reachable [N]
 *   leaked:    every block is dropped (N direct leaks, one allocation stack);
 *   reachable: an array held by a global points to every block. */
#include "bench.h"

void **bench_roots;   /* global root */

int main(int argc, char **argv)
{
  BENCH_INIT();
  int reachable = argc > 1 && !strcmp(argv[1], "reachable");
  long n = bench_arg(argc, argv, 2, 1000000);
  if (reachable) bench_roots = bench_alloc((size_t)n * sizeof(void *));
  for (long i = 0; i < n; i++) {
    long *p = bench_alloc(16);
    p[0] = i;
    p[1] = ~i;
    if (reachable) bench_roots[i] = p;
  }
  printf("%ld blocks %s\n", n, reachable ? "reachable" : "leaked");
  BENCH_RETURN(0);
}
